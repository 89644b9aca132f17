#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`quotepack convert`: XML checked by xmllint and compared field by field with Python's csv
module on good files; each malformed file in data/csv/expected.txt gives its status and line:col.
"""
import csv
import io
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import xml.parsers.expat

from csv_ref import py_records
from harness import binary, check, check_eq, main, test

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "csv")
QP = binary("quotepack")
DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def convert(*args, stdin=None):
    return subprocess.run([QP, "convert", *args], input=stdin, capture_output=True, timeout=60)


def good_files():
    return sorted(f for f in os.listdir(DATA) if f.startswith("good_") and f.endswith(".csv"))


# An independent Python version of the documented name rule (docs/quotepack-xml.md): a name
# character is one that expat, the parser behind xml.etree, accepts (':' excluded).
def _expat_ok(doc):
    p = xml.parsers.expat.ParserCreate()
    try:
        p.Parse(doc.encode("utf-8"), True)
        return True
    except xml.parsers.expat.ExpatError:
        return False


def _start(c):
    return c != ":" and _expat_ok(f"<{c}/>")


def _more(c):
    return c != ":" and _expat_ok(f"<a{c}/>")


def element_name(header):
    s = "".join(c if _more(c) else "_" for c in header.replace(" ", ""))
    if not s:
        return "_"
    if not _start(s[0]) or s[:3].lower() == "xml":
        s = "_" + s
    return s


def element_names(headers):
    base = [element_name(h) for h in headers]
    reserved, taken, out = set(base), set(), []
    for b in base:
        name, k = b, 2
        if b in taken:
            while f"{b}_{k}" in reserved or f"{b}_{k}" in taken:
                k += 1
            name = f"{b}_{k}"
        taken.add(name)
        out.append(name)
    return out


def csv_records(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8-sig")
    rows = py_records(text)
    return rows[0], rows[1:]


def xmllint(path):
    r = subprocess.run(["xmllint", "--noout", path], capture_output=True, text=True)
    check_eq(r.returncode, 0, f"xmllint {path}: {r.stderr}")


@test
def test_good_files_are_valid_xml_with_the_csv_modules_values():
    check(shutil.which("xmllint") is not None, "xmllint missing (apt-get install libxml2-utils)")
    with tempfile.TemporaryDirectory() as tmp:
        for name in good_files():
            path = os.path.join(DATA, name)
            header, records = csv_records(path)
            for compact in (False, True):
                r = convert(*(["--compact"] if compact else []), path)
                check_eq(r.returncode, 0, f"{name}: {r.stderr.decode(errors='replace')}")
                want_err = b""
                if not records:  # archived, with a warning (issue 10, item 8)
                    want_err = f"quotepack: {path}: warning: a header and no rows\n".encode()
                check_eq(r.stderr, want_err, f"{name}: stderr")
                check(r.stdout.startswith(DECL), f"{name}: no XML declaration")
                out = os.path.join(tmp, name + (".compact" if compact else "") + ".xml")
                with open(out, "wb") as f:
                    f.write(r.stdout)
                xmllint(out)
                root = ET.fromstring(r.stdout)
                check_eq(root.tag, "Data", name)
                rows = list(root)
                check_eq(len(rows), len(records), f"{name}: rows")
                names = element_names(header)
                check_eq(len(set(names)), len(names), f"{name}: names not distinct")
                for i, (row, rec) in enumerate(zip(rows, records)):
                    check_eq(row.tag, "Row", name)
                    check_eq([e.tag for e in row], names, f"{name}: row {i} tags")
                    check_eq([e.text or "" for e in row], rec, f"{name}: row {i} values")
                    check(all(len(e) == 0 for e in row), f"{name}: nested elements")
                if compact:
                    body = r.stdout[len(DECL):]
                    check(b">\n<" not in body and b">\t" not in body, f"{name}: compact has whitespace")


@test
def test_pretty_layout_is_the_originals():
    # The original pretty(): a tab per level, each element on its own line, empty values <X />.
    r = convert(os.path.join(DATA, "good_yahoo.csv"))
    lines = r.stdout.decode().split("\n")
    check_eq(lines[1], "<Data>")
    check_eq(lines[2], "\t<Row>")
    check(re.fullmatch(r"\t\t<Date>\d{4}-\d\d-\d\d</Date>", lines[3]) is not None, lines[3])
    check(lines[9].startswith("\t\t<AdjClose>"), lines[9])
    check_eq(lines[10], "\t</Row>")
    check_eq(lines[-2:], ["</Data>", ""])
    r = convert(os.path.join(DATA, "good_header_only.csv"))
    check_eq(r.stdout, DECL + b"<Data />\n")
    r = convert(os.path.join(DATA, "good_quotes.csv"))
    check(b"\t\t<Empty />\n" in r.stdout, "empty value is not <Empty />")
    check(b"a&#13;b" in r.stdout, "CR is not kept as &#13;")
    check(b"&lt;tags&gt; &amp; ampersands &gt; here" in r.stdout, "escaping")


@test
def test_real_headers_get_documented_names():
    r = convert("--compact", os.path.join(DATA, "good_headers.csv"))
    check_eq(r.returncode, 0, r.stderr)
    row = ET.fromstring(r.stdout)[0]
    check_eq([e.tag for e in row], ["_52-weekhigh", "P_L", "AdjClose", "Close", "Close_3",
                                    "Close_2", "_", "_xmlid", "_1st", "a_b", "_chg"])


def expected_errors():
    out = []
    with open(os.path.join(DATA, "expected.txt")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, status, pos = line.split()
                out.append((name, status, pos))
    return out


@test
def test_malformed_files_report_status_and_position():
    bad = expected_errors()
    check(len(bad) >= 15, "malformed corpus too small")
    listed = {b[0] for b in bad}
    on_disk = {f for f in os.listdir(DATA) if f.startswith("bad_")}
    check_eq(on_disk, listed, "every bad_ file has an expected error")
    for name, status, pos in bad:
        path = os.path.join(DATA, name)
        r = convert(path)
        err = r.stderr.decode(errors="replace")
        check_eq(r.returncode, 1, f"{name}: exit status ({err})")
        check_eq(r.stdout, b"", f"{name}: stdout")
        prefix = f"quotepack: {path}:{pos}: {status}: "
        check(err.startswith(prefix) and err.endswith("\n") and err.count("\n") == 1,
              f"{name}: got {err!r}, want {prefix!r}...")
        check(len(err) > len(prefix) + 5, f"{name}: no message")


@test
def test_strict_rejects_the_stray_quote_that_is_data_by_default():
    # good_stray_quote.csv: `1,say "hi"`, read literally (as Python's csv and pandas do) by
    # default, tested with the good files; --strict rejects it with line and column.
    path = os.path.join(DATA, "good_stray_quote.csv")
    r = convert("--strict", path)
    check_eq(r.returncode, 1, r.stderr)
    err = r.stderr.decode()
    check(err.startswith(f"quotepack: {path}:2:7: bad-csv: quote inside an unquoted field"), err)


@test
def test_invalid_utf8_suggests_an_encoding_that_then_reads_it():
    path = os.path.join(DATA, "bad_latin1.csv")
    r = convert(path)
    check("--encoding" in r.stderr.decode(), r.stderr)
    r = convert("--encoding", "latin-1", path)
    check_eq(r.returncode, 0, r.stderr)
    check_eq(_xml_records(r.stdout), [["Jos\u00e9"]], "latin-1 values")


@test
def test_not_csv_messages_are_clear():
    msgs = {"bad_html.csv": "body is an HTML page, not CSV", "bad_empty.csv": "body is empty",
            "bad_json.csv": "JSON", "bad_blank.csv": "whitespace"}
    for name, part in msgs.items():
        r = convert(os.path.join(DATA, name))
        check(part in r.stderr.decode(), f"{name}: {r.stderr!r}")


@test
def test_stdin_and_usage():
    with open(os.path.join(DATA, "good_quotes.csv"), "rb") as f:
        data = f.read()
    r = convert("-", stdin=data)
    check_eq(r.returncode, 0, r.stderr)
    check_eq(r.stdout, convert(os.path.join(DATA, "good_quotes.csv")).stdout, "stdin vs file")
    r = convert("-", stdin=b"a,b\n1\n")
    check_eq(r.stderr.decode(), "quotepack: <stdin>:2:2: bad-csv: record has 1 field but the "
             "header has 2\n")
    check_eq(convert().returncode, 2, "no file")
    check_eq(convert("--nope", "x.csv").returncode, 2, "unknown option")
    r = convert("/nonexistent/x.csv")
    check_eq(r.returncode, 1)
    check("No such file" in r.stderr.decode(), r.stderr)


@test
def test_random_unicode_headers_give_names_expat_accepts():
    # Headers of random characters from all over Unicode: the output must parse with expat
    # (xml.etree) and libxml2 (xmllint), and the names must follow the documented rule.
    import random
    rnd = random.Random(7)
    pools = [(0x20, 0x7E), (0xA0, 0x2FF), (0x300, 0x36F), (0x370, 0x1FFF), (0x2000, 0x2BFF),
             (0x3000, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xFFFD), (0x10000, 0x10FFFF)]

    def char():
        while True:
            lo, hi = rnd.choice(pools)
            c = chr(rnd.randint(lo, hi))
            if c not in "\ufffe\uffff":
                return c

    header = ["".join(char() for _ in range(rnd.randint(0, 6))) for _ in range(400)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "unicode_headers.csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerow([str(i) for i in range(len(header))])
        r = convert(path)
        check_eq(r.returncode, 0, r.stderr)
        out = os.path.join(tmp, "out.xml")
        with open(out, "wb") as f:
            f.write(r.stdout)
        xmllint(out)
        row = ET.fromstring(r.stdout)[0]
        check_eq([e.tag for e in row], element_names(header), "names")
        check_eq([e.text for e in row], [str(i) for i in range(len(header))], "values")


def _random_table(rnd):
    alphabet = ["a", "b", "Z", "1", " ", ",", '"', "\n", "\r", "\r\n", "&", "<", ">", "\u00e9",
                "\u6771", "\U0001F600", "\t", ";"]
    ncols = rnd.randint(1, 5)

    def field():
        return "".join(rnd.choice(alphabet) for _ in range(rnd.choice([0, 1, 2, 5, 20])))

    header = [field() for _ in range(ncols)]
    rows = [[field() for _ in range(ncols)] for _ in range(rnd.randint(0, 6))]
    return header, rows


def _serialize(rnd, header, rows):
    # Quotes what must be quoted and, at random, what need not be; random line ends.
    out = []
    for rec in [header] + rows:
        cells = []
        for v in rec:
            # A lone empty field or one of only spaces/tabs would be a blank line: quote it.
            must = any(c in v for c in ',"\r\n') or (len(rec) == 1 and v.strip(" \t") == "")
            if must or rnd.random() < 0.3:
                cells.append('"' + v.replace('"', '""') + '"')
            else:
                cells.append(v)
        out.append(",".join(cells) + rnd.choice(["\n", "\r\n", "\r"]))
        if rnd.random() < 0.1:
            out.append(rnd.choice(["\n", "\r\n"]))  # a blank line, skipped
    text = "".join(out)
    if rnd.random() < 0.3:
        text = text.rstrip("\r\n")  # no line end after the last record
    return text


def _xml_records(stdout):
    return [[e.text or "" for e in row] for row in ET.fromstring(stdout)]


@test(timeout=120)
def test_random_tables_round_trip_and_agree_with_csv_module():
    # Random tables serialised as CSV come back field for field; then the same texts with a
    # random byte changed: whenever quotepack accepts one, Python's csv module (strict) must
    # read the same records, and whatever Python rejects, quotepack rejects too.
    import random
    rnd = random.Random(2026)
    accepted = rejected = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.csv")
        for case in range(300):
            header, rows = _random_table(rnd)
            text = _serialize(rnd, header, rows)
            mutated = case % 2 == 1
            if mutated and text:
                k = rnd.randrange(len(text))
                text = text[:k] + rnd.choice(['"', ",", "\n", "\r", "a", ""]) + text[k + 1:]
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            r = convert("--compact", "--delimiter", ",", path)
            err = r.stderr.decode(errors="replace")
            if " not-csv: " in err:
                continue  # an empty or blank text: nothing to compare
            try:
                py = py_records(text)
            except csv.Error:
                py = None
            if r.returncode == 0:
                accepted += 1
                got = _xml_records(r.stdout)
                check(py is not None, f"case {case}: accepted what Python rejects: {text!r}")
                check_eq(got, py[1:], f"case {case}: records of {text!r}")
                if not mutated:
                    check_eq(got, rows, f"case {case}: round trip of {text!r}")
            else:
                rejected += 1
                check_eq(r.returncode, 1, f"case {case}: {err}")
                check(" bad-csv: " in err or " bad-xml: " in err, f"case {case}: {err}")
                check(not (not mutated and py is not None and all(len(x) == len(header) for x in py)),
                      f"case {case}: rejected a well-formed table {text!r}: {err}")
    check(accepted > 100 and rejected > 20, f"{accepted} accepted, {rejected} rejected")


@test
def test_large_generated_file_matches_csv_module():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(["Date", "Open", "Note, with comma", "Adj Close"])
            for i in range(20000):
                w.writerow([f"2016-01-{i % 28 + 1:02d}", f"{i * 1.5:.6f}",
                            'q"uo\nte' if i % 97 == 0 else "", str(i)])
        r = convert(path)
        check_eq(r.returncode, 0, r.stderr)
        root = ET.fromstring(r.stdout)
        header, records = csv_records(path)
        check_eq(len(root), len(records))
        for row, rec in zip(root, records):
            check_eq([e.text or "" for e in row], rec)


if __name__ == "__main__":
    main()
