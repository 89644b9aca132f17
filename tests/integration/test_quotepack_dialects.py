#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""CSV files as other tools write them (issue 10, items 5-8): Excel and LibreOffice exports from
a European locale (semicolon, Windows-1252, CRLF), tab-separated text, Python's csv dialects,
pandas' to_csv layout, a hand-typed file with a stray quote and a last line of spaces. Each is
converted by `quotepack convert` and compared with Python's csv module reading the same file;
then the pipeline archives a directory of them and says what it detected.

The files are written here the way those tools write them (neither Excel, LibreOffice nor pandas
runs in the tests): the layout of each is described next to it.
"""
import csv
import io
import os
import random
import subprocess
import tempfile

from csv_ref import py_records, xml_records
from harness import binary, check, check_eq, main, test
from qp_fixture import archives, catalog, member_data, run_qp

QP = binary("quotepack")


def convert(*args):
    return subprocess.run([QP, "convert", *args], capture_output=True, timeout=60)


def write(path, text, encoding):
    with open(path, "wb") as f:
        f.write(text.encode(encoding))
    return path


def rows_text(rows, **fmt):
    buf = io.StringIO(newline="")
    csv.writer(buf, **fmt).writerows(rows)
    return buf.getvalue()


# A table with what trips readers up: decimal commas, the delimiters as data, quotes, line
# breaks inside a cell, accents, the euro sign, typographic quotes, an empty cell.
TABLE = [
    ["Datum", "Er\u00f6ffnung", "Schluss \u20ac", "Bemerkung"],
    ["02.01.2024", "1.234,56", "1.240,00", "Q1; vorl\u00e4ufig"],
    ["03.01.2024", "1.240,00", "", "sagt \"hallo\""],
    ["04.01.2024", "1.238,5", "1.250", "\u201eGr\u00f6\u00dfe\u201c, zwei\r\nZeilen"],
    ["05.01.2024", "0,99", "1,01", "\u0160koda \u2013 \u2122"],
]


def check_file(path, delimiter, encoding, *extra):
    """Converts path (detecting the delimiter, then with it given) and compares with Python's
    csv module reading the file with that delimiter and encoding."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8-sig" if encoding == "utf-8" else encoding)
    want = py_records(text, delimiter=delimiter)
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    enc = [] if encoding == "utf-8" else ["--encoding", encoding]
    for given in (False, True):
        args = enc + list(extra) + (["--delimiter", names[delimiter]] if given else [])
        r = convert(*args, path)
        err = r.stderr.decode(errors="replace")
        check_eq(r.returncode, 0, f"{path} {args}: {err}")
        check_eq(xml_records(r.stdout), want[1:], f"{path} {args}: records")
        note = f"note: read as {names[delimiter]}-separated (detected from the header line"
        if not given and delimiter != ",":
            check(note in err, f"{path}: no note about the delimiter: {err!r}")
        else:
            check("note:" not in err, f"{path} {args}: unexpected note {err!r}")
    return want


@test
def test_excel_semicolon_csv_in_windows_1252_from_a_european_locale():
    # Excel "CSV (Trennzeichen-getrennt)" with German regional settings: the list separator
    # ';', the ANSI code page (Windows-1252), CRLF, quotes only where needed, no BOM.
    with tempfile.TemporaryDirectory() as tmp:
        text = rows_text(TABLE, delimiter=";", lineterminator="\r\n")
        path = write(os.path.join(tmp, "excel_de.csv"), text, "cp1252")
        want = check_file(path, ";", "cp1252")
        check_eq(want[3][3], "\u201eGr\u00f6\u00dfe\u201c, zwei\r\nZeilen", "the table itself")
        # Without --encoding the first byte that is not UTF-8 is reported, with the remedy.
        r = convert(path)
        err = r.stderr.decode(errors="replace")
        check_eq(r.returncode, 1, err)
        check(err.startswith(f"quotepack: {path}:1:9: bad-csv: invalid UTF-8"), err)
        check("--encoding" in err, err)
        # Latin-1 reads the same file too, except the signs Windows-1252 adds at 0x80..0x9F.
        r = convert("--encoding", "latin-1", path)
        check_eq(r.returncode, 0, r.stderr)
        got = xml_records(r.stdout)
        check_eq(got[0], TABLE[1], "ASCII and Latin-1 letters are the same")
        check_eq(got[3][3], "\u008akoda \u0096 \u0099", "0x8A 0x96 0x99 are C1 controls in Latin-1")


@test
def test_excel_csv_utf8_with_a_byte_order_mark():
    # Excel "CSV UTF-8": a byte order mark, then as above; the mark wins over --encoding.
    with tempfile.TemporaryDirectory() as tmp:
        text = "\ufeff" + rows_text(TABLE, delimiter=";", lineterminator="\r\n")
        path = write(os.path.join(tmp, "excel_utf8.csv"), text, "utf-8")
        check_file(path, ";", "utf-8")
        for enc in ("cp1252", "latin-1"):
            r = convert("--encoding", enc, path)
            check_eq(r.returncode, 0, r.stderr)
            check_eq(xml_records(r.stdout), TABLE[1:], f"--encoding {enc} with a BOM")


@test
def test_tab_separated_text_from_excel_and_libreoffice():
    with tempfile.TemporaryDirectory() as tmp:
        # Excel "Text (Tab delimited)": Windows-1252, CRLF, quotes around cells with a quote,
        # a tab or a line break.
        text = rows_text(TABLE, delimiter="\t", lineterminator="\r\n")
        check_file(write(os.path.join(tmp, "excel.txt"), text, "cp1252"), "\t", "cp1252")
        # LibreOffice Calc "Text CSV" with the tab separator: UTF-8, LF.
        text = rows_text(TABLE, delimiter="\t", lineterminator="\n")
        check_file(write(os.path.join(tmp, "calc.tsv"), text, "utf-8"), "\t", "utf-8")


@test
def test_libreoffice_comma_csv_quoting_every_text_cell():
    # LibreOffice "Text CSV" with "Quote all text cells": numbers bare, text quoted, LF.
    with tempfile.TemporaryDirectory() as tmp:
        rows = [["Date", "Open", "Note"], ["2024-01-02", 1.5, "a, b"], ["2024-01-03", 2, ""]]
        text = rows_text(rows, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        check(text.startswith('"Date","Open","Note"\n"2024-01-02",1.5,"a, b"\n'), text)
        check_file(write(os.path.join(tmp, "calc.csv"), text, "utf-8"), ",", "utf-8")


@test
def test_python_csv_dialects():
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(csv.list_dialects()):
            d = csv.get_dialect(name)
            text = rows_text(TABLE, dialect=name)
            path = write(os.path.join(tmp, name + ".csv"), text, "utf-8")
            check_file(path, d.delimiter, "utf-8")


@test
def test_pandas_to_csv_layout():
    # DataFrame.to_csv(): the index as a first column with an empty header, NaN as an empty
    # cell, LF, minimal quoting; then to_csv(sep=";", decimal=",") for a European audience.
    with tempfile.TemporaryDirectory() as tmp:
        text = (",Date,Open,Close,Note\n"
                "0,2024-01-02,1.5,,\n"
                "1,2024-01-03,1.25,1.75,\"he said \"\"buy\"\"\"\n"
                "2,2024-01-04,,2.0,\"multi\nline\"\n")
        check_file(write(os.path.join(tmp, "pandas.csv"), text, "utf-8"), ",", "utf-8")
        r = convert("--compact", os.path.join(tmp, "pandas.csv"))
        check(r.stdout.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Data><Row><_>0</_>'),
              r.stdout[:80])
        text = (";Date;Open;Close\n"
                "0;2024-01-02;1,5;\n"
                "1;2024-01-03;1,25;1,75\n")
        check_file(write(os.path.join(tmp, "pandas_eu.csv"), text, "cp1252"), ";", "cp1252")


@test
def test_hand_typed_coordinates_with_a_stray_quote_and_a_last_line_of_spaces():
    # What people type: seconds marked with ", a final line of spaces (items 6 and 8).
    with tempfile.TemporaryDirectory() as tmp:
        text = "Place,Latitude\nMoscow,55\u00b045'21\"N\nKremlin,55\u00b045'06.0\"N\n   "
        path = write(os.path.join(tmp, "typed.csv"), text, "utf-8")
        want = check_file(path, ",", "utf-8")
        check_eq(want[1:], [["Moscow", "55\u00b045'21\"N"], ["Kremlin", "55\u00b045'06.0\"N"]])
        r = convert("--strict", path)
        check_eq(r.returncode, 1, r.stderr)
        err = r.stderr.decode()
        check(err.startswith(f"quotepack: {path}:2:17: bad-csv: quote inside an unquoted field"),
              err)


# ---- random tables in random dialects, against Python's csv module -----------------------------

ALPHABETS = {
    "utf-8": ["a", "Z", "1", " ", ",", ";", "\t", "|", '"', "\n", "\r\n", "&", "<", "\u00e9",
              "\u20ac", "\u6771", "\U0001F600"],
    "cp1252": ["a", "Z", "1", " ", ",", ";", "\t", "|", '"', "\n", "\r", "&", "\u00e9", "\u20ac",
               "\u201c", "\u2122", "\u00ff"],
    "latin-1": ["a", "Z", "1", " ", ",", ";", "\t", "|", '"', "\r\n", ">", "\u00e9", "\u00a0",
                "\u00bf", "\u00ff"],
}
DELIMS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _random_case(rnd):
    enc = rnd.choice(list(ALPHABETS))
    delim = rnd.choice(list(DELIMS))
    ncols = rnd.randint(1, 5)

    def field():
        return "".join(rnd.choice(ALPHABETS[enc]) for _ in range(rnd.choice([0, 1, 3, 8])))

    def name():  # most headers are plain names, as real ones are
        return "".join(rnd.choice("abcXYZ09 _\u00e9") for _ in range(rnd.randint(1, 8)))

    header = [name() if rnd.random() < 0.7 else field() for _ in range(ncols)]
    rows = [header] + [[field() for _ in range(ncols)] for _ in range(rnd.randint(0, 5))]
    fmt = dict(delimiter=delim, lineterminator=rnd.choice(["\n", "\r\n", "\r"]),
               quoting=rnd.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    return enc, delim, rows, rows_text(rows, **fmt)


def _outside_quotes(line, c):
    """Occurrences of c in a CSV line outside quoted fields (for a clear-cut header)."""
    n, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == c and not quoted:
            n += 1
    return n


@test(timeout=180)
def test_random_tables_in_random_dialects_agree_with_csv_module():
    rnd = random.Random(1010)
    compared = detected = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.csv")
        for case in range(150):
            enc, delim, rows, text = _random_case(rnd)
            write(path, text, enc)
            try:
                want = py_records(text, delimiter=delim)
            except csv.Error:
                continue
            if not want or any(len(r) != len(want[0]) for r in want):
                continue  # quotepack rejects ragged tables; Python does not check
            args = ["--encoding", enc, "--compact"]
            r = convert(*args, "--delimiter", DELIMS[delim], path)
            err = r.stderr.decode(errors="replace")
            if " not-csv: " in err:
                continue  # it starts with '<' or '{': taken for an HTML or JSON error page
            check_eq(r.returncode, 0, f"case {case} ({enc}, {delim!r}): {text!r}: {err}")
            check_eq(xml_records(r.stdout), want[1:], f"case {case}: {text!r}")
            compared += 1
            # Detection, where the header leaves no doubt: the delimiter occurs in it and no
            # other candidate does.
            header = text.splitlines()[0] if text else ""
            others = [c for c in DELIMS if c != delim and _outside_quotes(header, c) > 0]
            clear = header.strip(" \t") != "" and '"' not in header
            if clear and _outside_quotes(header, delim) > 0 and not others:
                r2 = convert(*args, path)
                check_eq(r2.stdout, r.stdout, f"case {case}: detected {text!r}: {r2.stderr!r}")
                detected += 1
    print(f"# {compared} compared, {detected} detected")
    check(compared > 80 and detected > 20, f"{compared} compared, {detected} detected")


# ---- the pipeline ---------------------------------------------------------------------------------

def _pipeline_source(tmp):
    src = os.path.join(tmp, "src")
    os.mkdir(src)
    files = {
        "SEMI": rows_text(TABLE, delimiter=";", lineterminator="\r\n"),
        "TABS": rows_text(TABLE, delimiter="\t", lineterminator="\r\n"),
        "COMMA": rows_text(TABLE, lineterminator="\r\n"),
        "EMPTY": "Date,Open,Close\r\n",
        "SPACES": "Date,Open\r\n2024-01-02,1\r\n   \r\n",
        "STRAY": "Place,Latitude\r\nMoscow,55\u00b045'21\"N\r\n",
    }
    for name, text in files.items():
        write(os.path.join(src, name + ".csv"), text, "cp1252")
    return src, files


@test(timeout=120)
def test_pipeline_detects_delimiters_reads_cp1252_and_warns_about_empty_files():
    with tempfile.TemporaryDirectory() as tmp:
        src, files = _pipeline_source(tmp)
        for isolate in ([], ["--isolate", "--jobs", "2"]):
            out = os.path.join(tmp, "out" + str(len(isolate)))
            r = run_qp("--source", src, "--out", out, "--encoding", "cp1252", *isolate,
                       *sorted(files))
            check_eq(r.returncode, 0, r.stderr)
            err = r.stderr
            check("note: 1 symbol read as semicolon-separated (detected from the header line; "
                  "--delimiter sets it): SEMI\n" in err, err)
            check("note: 1 symbol read as tab-separated" in err and ": TABS\n" in err, err)
            check("warning: 1 symbol had a header and no rows (archived as an empty document): "
                  "EMPTY\n" in err, err)
            check("6 symbols: 6 archived now (1 with a header and no rows), 0 earlier, 0 failed"
                  in err, err)
            cat = catalog(out)
            check_eq(sorted(cat), sorted(files), "catalog")
            check(all(v["state"] == "archived" for v in cat.values()), cat)
            for name in files:
                xml = member_data(out, cat[name]["archive"], name + ".xml")
                want = py_records(files[name], delimiter=";" if name == "SEMI" else
                                  "\t" if name == "TABS" else ",")
                check_eq(xml_records(xml), want[1:], f"{name} values")
                c = convert("--encoding", "cp1252", os.path.join(src, name + ".csv"))
                check_eq(xml, c.stdout, f"{name}: the pipeline's XML is the convert command's")
        # --strict: the stray quote fails that symbol, with its position.
        out = os.path.join(tmp, "strict")
        r = run_qp("--source", src, "--out", out, "--encoding", "cp1252", "--strict", "STRAY",
                   "COMMA")
        check_eq(r.returncode, 1, r.stderr)
        check("failed: STRAY: bad CSV (bad-csv) at line 2, column 16: quote inside an unquoted "
              "field" in r.stderr, r.stderr)
        check_eq(sorted(m for ms in archives(out).values() for m in ms), ["COMMA.xml"])
        # A --delimiter given explicitly is used as given: no note; the semicolon file, read
        # with commas, has rows wider than its header (its decimal commas).
        out = os.path.join(tmp, "comma")
        r = run_qp("--source", src, "--out", out, "--encoding", "cp1252", "--delimiter", ",",
                   "SEMI", "COMMA")
        check_eq(r.returncode, 1, r.stderr)
        check("failed: SEMI: bad CSV (bad-csv) at line 2, column 18: record has more fields"
              in r.stderr, r.stderr)
        check("note:" not in r.stderr, r.stderr)
        # Usage errors.
        for bad in (["--delimiter", "ab"], ["--delimiter", '"'], ["--encoding", "utf-16"]):
            r = run_qp("--source", src, "--out", out, *bad, "SEMI")
            check_eq(r.returncode, 2, f"{bad}: {r.stderr}")
            check(f'invalid value "{bad[1]}" for --{bad[0][2:]}' in r.stderr, r.stderr)


if __name__ == "__main__":
    main()
