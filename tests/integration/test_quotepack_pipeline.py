#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""quotepack end to end on file:// sources: archives, catalog, resume, shards, isolation."""
import csv
import io
import os
import shutil
import sqlite3
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from harness import check, check_eq, main, test
from qp_fixture import archives, catalog, gen, leftovers, member_data, run_qp, write_symbols


def make_source(tmp, count, rows=60):
    src = os.path.join(tmp, "src")
    names = gen.write_quotes(src, count, rows)
    return src, names


def file_template(src):
    return "file://" + src + "/{symbol}.csv"


def all_members(out):
    return sorted(m for ms in archives(out).values() for m in ms)


@test(timeout=120)
def test_file_source_packs_every_symbol_once_with_faithful_xml():
    with tempfile.TemporaryDirectory() as tmp:
        src, names = make_source(tmp, 45)
        out = os.path.join(tmp, "out")
        r = run_qp("--source", file_template(src), "--out", out, "--batch", "10",
                   "--symbols", os.path.join(src, "symbols.txt"))
        check_eq(r.returncode, 0, r.stderr)
        arch = archives(out)
        check_eq(sorted(arch), [f"quotes-{i:06d}.tgz" for i in range(5)], "archive names")
        check_eq([len(v) for _, v in sorted(arch.items())], [10, 10, 10, 10, 5], "batch sizes")
        check_eq(all_members(out), sorted(n + ".xml" for n in names), "members")
        # Each archive is the next 10 symbols to finish converting (not a fixed batch).
        cat = catalog(out)
        for n in names:
            check_eq(cat[n]["state"], "archived", n)
        # XML: well-formed (xmllint), and field by field equal to Python's csv reading.
        for n in names[:3]:
            a = cat[n]["archive"]
            data = member_data(out, a, n + ".xml")
            check_eq(len(data), cat[n]["xml_bytes"], f"{n} size vs catalog")
            x = subprocess.run(["xmllint", "--noout", "-"], input=data, capture_output=True)
            check_eq(x.returncode, 0, f"xmllint {n}: {x.stderr!r}")
            root = ET.fromstring(data)
            check_eq(root.tag, "Data", "root")
            with open(os.path.join(src, n + ".csv"), newline="") as f:
                rows = list(csv.reader(f))
            tags = [h.replace(" ", "") for h in rows[0]]
            check_eq(len(root), len(rows) - 1, f"{n} rows")
            check_eq(cat[n]["rows"], len(rows) - 1, f"{n} rows in catalog")
            for el, row in zip(root, rows[1:]):
                check_eq([c.tag for c in el], tags, "element names")
                check_eq([c.text or "" for c in el], row, "values")
        check_eq(leftovers(out), [], "leftovers")
        v = run_qp("verify", out)
        check_eq(v.returncode, 0, v.stdout + v.stderr)
        # A rerun does nothing and still exits 0.
        r = run_qp("--source", file_template(src), "--out", out, "--batch", "10",
                   "--symbols", os.path.join(src, "symbols.txt"))
        check_eq(r.returncode, 0, r.stderr)
        check("45 earlier" in r.stderr, "rerun summary: " + r.stderr)
        check_eq(len(archives(out)), 5, "archives after a rerun")


@test(timeout=120)
def test_permanent_failures_wait_for_retry_and_then_go_into_a_new_archive():
    """Item 14: a missing file or a page that is not CSV is not fetched again by a rerun;
    `quotepack retry DIR` fetches exactly the failed ones (from the source the catalog kept)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, names = make_source(tmp, 6)
        out = os.path.join(tmp, "out")
        os.rename(os.path.join(src, names[1] + ".csv"), os.path.join(tmp, "held"))
        with open(os.path.join(src, names[2] + ".csv"), "w") as f:
            f.write("<html><body>rate limited</body></html>\n")
        r = run_qp("--source", src, "--out", out, "--batch", "3", *names)
        check_eq(r.returncode, 1, r.stderr)
        cat = catalog(out)
        check_eq(cat[names[1]]["state"], "failed", "missing file")
        check_eq(cat[names[2]]["state"], "failed", "html body")
        check_eq(cat[names[1]]["failure"], "permanent", "missing file")
        check("not CSV" in cat[names[2]]["error"], cat[names[2]]["error"])
        # Archives are formed from the successes as they come: 3, then the last 1.
        arch = archives(out)
        check_eq(sorted(len(v) for v in arch.values()), [1, 3], f"archive sizes {arch}")
        check_eq(all_members(out), sorted(n + ".xml" for n in names if n not in names[1:3]),
                 "members")
        # Fix the sources. A rerun does not fetch the permanent failures again...
        os.rename(os.path.join(tmp, "held"), os.path.join(src, names[1] + ".csv"))
        with open(os.path.join(src, names[2] + ".csv"), "w") as f:
            f.write(gen.make_csv(names[2], 10))
        r = run_qp("--source", src, "--out", out, "--batch", "3", *names)
        check_eq(r.returncode, 1, r.stderr)
        check("2 failed permanently before" in r.stderr and "quotepack retry" in r.stderr,
              r.stderr)
        check_eq(len(archives(out)), 2, "a rerun made an archive")
        # ...retry does, without being told the source again, into a new archive.
        r = run_qp("retry", out)
        check_eq(r.returncode, 0, r.stderr)
        arch = archives(out)
        check_eq(sorted(arch["quotes-000002.tgz"]), sorted([names[1] + ".xml", names[2] + ".xml"]),
                 "the retried ones")
        check_eq(all_members(out), sorted(n + ".xml" for n in names), "members")
        v = run_qp("verify", out)
        check_eq(v.returncode, 0, v.stdout)
        # --retry-failed on a normal run does the same; nothing is failed now.
        r = run_qp("--source", src, "--out", out, "--retry-failed", *names)
        check_eq(r.returncode, 0, r.stderr)
        check("6 earlier" in r.stderr, r.stderr)


@test(timeout=180)
def test_recovers_from_every_crash_point():
    """A SIGKILL at each step of packing (test hook), then a rerun: every symbol is archived
    exactly once, nothing is left over, and entries already converted are not fetched again."""
    from qp_fixture import Fixture
    for point in ("pack-write", "pack-rename", "pack-commit"):
        with tempfile.TemporaryDirectory() as tmp, Fixture(rows=40) as fx:
            names = [f"OKc{i}" for i in range(9)]
            out = os.path.join(tmp, "out")
            args = ["--source", fx.template, "--out", out, "--batch", "3", *names]
            r = run_qp(*args, env={"QUOTEPACK_TEST_CRASH_AT": point})
            check_eq(r.returncode, -9, f"{point}: {r.stderr}")
            before = {k: len(v) for k, v in fx.hits.items()}
            cat = catalog(out)
            converted = [n for n in names if cat[n]["state"] == "converted"]
            if point != "pack-commit":
                check(len(converted) >= 3, f"{point}: converted before the crash: {converted}")
            r = run_qp(*args)
            check_eq(r.returncode, 0, f"{point}: {r.stderr}")
            check_eq(all_members(out), sorted(n + ".xml" for n in names), f"{point}: members")
            check_eq(leftovers(out), [], f"{point}: leftovers")
            v = run_qp("verify", out)
            check_eq(v.returncode, 0, f"{point}: {v.stdout}")
            for n in converted:  # their spooled entries were intact: packed as they were
                check_eq(len(fx.hits[n]), before[n], f"{point}: {n} fetched again")
            if point == "pack-commit":
                check(any(catalog(out)[n]["archive"] == "quotes-000000.tgz" for n in names),
                      "the recorded archive was kept")


@test(timeout=60)
def test_a_damaged_spooled_entry_is_fetched_again():
    with tempfile.TemporaryDirectory() as tmp:
        src, names = make_source(tmp, 3, rows=20)
        out = os.path.join(tmp, "out")
        args = ["--source", file_template(src), "--out", out, "--batch", "10", *names]
        r = run_qp(*args, env={"QUOTEPACK_TEST_CRASH_AT": "pack-write"})
        check_eq(r.returncode, -9, r.stderr)
        spool = os.path.join(out, ".spool")
        segs = [n for n in os.listdir(spool) if n.startswith("seg-")]
        check(len(segs) >= 1, f"spool: {os.listdir(spool)}")
        for n in segs:  # flip a byte in every entry: none may be packed as it is
            p = os.path.join(spool, n)
            data = bytearray(open(p, "rb").read())
            for i in range(20, len(data), 97):
                data[i] ^= 0x55
            open(p, "wb").write(bytes(data))
        r = run_qp(*args)
        check_eq(r.returncode, 0, r.stderr)
        check_eq(all_members(out), sorted(n + ".xml" for n in names), "members")
        check_eq(run_qp("verify", out).returncode, 0, "verify")


@test(timeout=120)
def test_shards_partition_the_symbols():
    with tempfile.TemporaryDirectory() as tmp:
        src, names = make_source(tmp, 60, rows=5)
        lst = os.path.join(src, "symbols.txt")
        seen = []
        for k in range(3):
            out = os.path.join(tmp, f"out{k}")
            r = run_qp("--source", file_template(src), "--out", out, "--shard", f"{k}/3",
                       "--symbols", lst, "--batch", "7")
            check_eq(r.returncode, 0, r.stderr)
            got = [m[:-4] for m in all_members(out)]
            check(len(got) > 5, f"shard {k} has only {len(got)} symbols")
            seen.extend(got)
            # Stable: the same shard again from a shuffled list selects the same symbols.
            lst2 = write_symbols(os.path.join(tmp, f"rev{k}.txt"), list(reversed(names)))
            out2 = os.path.join(tmp, f"again{k}")
            r = run_qp("--source", file_template(src), "--out", out2, "--shard", f"{k}/3",
                       "--symbols", lst2)
            check_eq(sorted(m[:-4] for m in all_members(out2)), sorted(got), "stable shard")
        check_eq(sorted(seen), sorted(names), "shards are complete and disjoint")


@test(timeout=60)
def test_usage_errors_exit_2():
    for args in (["--bogus"], [], ["--shard", "3/3", "A"], ["--shard", "x", "A"],
                 ["--format", "zip", "A"], ["--level", "max", "A"], ["--batch", "0", "A"],
                 ["--source", "ftp://h/{symbol}", "A"], ["--source", "http://h/x", "A"],
                 ["bad/symbol"], ["--jobs"], ["verify"]):
        r = run_qp(*args)
        check_eq(r.returncode, 2, f"{args}: {r.stderr}")
        check(r.stderr.strip() != "", f"{args}: no message")


@test(timeout=120)
def test_isolate_survives_a_converter_crash():
    with tempfile.TemporaryDirectory() as tmp:
        src, names = make_source(tmp, 6, rows=10)
        with open(os.path.join(src, names[3] + ".csv"), "a") as f:
            f.write("2000-01-01,1,1,1,1,1,CRASHME\n")
        out = os.path.join(tmp, "out")
        r = run_qp("--source", file_template(src), "--out", out, "--isolate", "--jobs", "2",
                   *names, env={"QUOTEPACK_TEST_CRASH_MARKER": "CRASHME"})
        check_eq(r.returncode, 1, r.stderr)
        cat = catalog(out)
        err = cat[names[3]]["error"] or ""
        check_eq(cat[names[3]]["state"], "failed", "crashed symbol")
        check("SIGSEGV" in err or "signal 11" in err, f"crash not named: {err!r}")
        others = [n for n in names if n != names[3]]
        check_eq(all_members(out), sorted(n + ".xml" for n in others), "the rest is archived")


@test(timeout=120)
def test_formats_and_levels_round_trip():
    with tempfile.TemporaryDirectory() as tmp:
        src, names = make_source(tmp, 12, rows=800)
        for fmt, level in (("tgz", "default"), ("tgz", "best"), ("tzst", "fast"),
                           ("tgz", "fast")):
            out = os.path.join(tmp, f"out-{fmt}-{level}")
            r = run_qp("--source", file_template(src), "--out", out, "--format", fmt,
                       "--level", level, "--batch", "5", "--compact", *names)
            check_eq(r.returncode, 0, r.stderr)
            v = run_qp("verify", out)
            check_eq(v.returncode, 0, f"{fmt}/{level}: {v.stdout}")
            ext = ".tgz" if fmt == "tgz" else ".tar.zst"
            files = sorted(n for n in os.listdir(out) if n.startswith("quotes-"))
            check_eq(files, [f"quotes-{i:06d}{ext}" for i in range(3)], "names")
            if fmt == "tgz":
                check_eq(all_members(out), sorted(n + ".xml" for n in names), "members")
                # Archives take symbols in the order they finish converting: ask the catalog.
                data = member_data(out, catalog(out)[names[0]]["archive"], names[0] + ".xml")
                check(b"\n\t" not in data, "--compact output is indented")
            else:
                got = []
                for fn in files:
                    t = subprocess.run(["tar", "--zstd", "-tf", os.path.join(out, fn)],
                                       capture_output=True, text=True)
                    check_eq(t.returncode, 0, f"tar --zstd -tf {fn}: {t.stderr}")
                    got += [m for m in t.stdout.split() if m != "MANIFEST.tsv"]
                check_eq(sorted(got), sorted(n + ".xml" for n in names), "tzst members")


@test(timeout=60)
def test_verify_detects_tampering():
    with tempfile.TemporaryDirectory() as tmp:
        src, names = make_source(tmp, 4, rows=10)
        out = os.path.join(tmp, "out")
        r = run_qp("--source", file_template(src), "--out", out, "--batch", "2", *names)
        check_eq(r.returncode, 0, r.stderr)
        shutil.copy(os.path.join(out, "quotes-000000.tgz"), os.path.join(out, "quotes-000009.tgz"))
        v = run_qp("verify", out)
        check_eq(v.returncode, 1, v.stdout)
        check("not recorded" in v.stdout, v.stdout)
        os.unlink(os.path.join(out, "quotes-000009.tgz"))
        db = sqlite3.connect(os.path.join(out, "catalog.sqlite"))
        db.execute("UPDATE symbols SET crc32 = crc32 + 1 WHERE symbol = ?", (names[0],))
        db.commit()
        db.close()
        v = run_qp("verify", out)
        check_eq(v.returncode, 1, v.stdout)
        check(names[0] in v.stdout, v.stdout)



@test(timeout=60)
def test_spool_of_symbols_outside_this_run_is_not_left_behind():
    with tempfile.TemporaryDirectory() as tmp:
        src, names = make_source(tmp, 4, rows=10)
        out = os.path.join(tmp, "out")
        r = run_qp("--source", file_template(src), "--out", out, "--batch", "2", *names)
        check_eq(r.returncode, 0, r.stderr)
        # An earlier run converted names[1] but was killed before packing it.
        spool = os.path.join(out, ".spool")
        os.makedirs(spool, exist_ok=True)
        a = catalog(out)[names[1]]["archive"]
        with open(os.path.join(spool, names[1] + ".xml"), "wb") as f:
            f.write(member_data(out, a, names[1] + ".xml"))
        db = sqlite3.connect(os.path.join(out, "catalog.sqlite"))
        db.execute("UPDATE symbols SET state='converted', archive=NULL WHERE archive=?", (a,))
        db.execute("DELETE FROM archives WHERE name=?", (a,))
        db.commit()
        db.close()
        os.unlink(os.path.join(out, a))
        # This run names other symbols only.
        r = run_qp("--source", file_template(src), "--out", out, "--batch", "2", names[2])
        check_eq(r.returncode, 0, r.stderr)
        check_eq(leftovers(out), [], "leftovers")
        check_eq(catalog(out)[names[1]]["state"], "pending", "foreign converted symbol")
        r = run_qp("--source", file_template(src), "--out", out, "--batch", "2", *names)
        check_eq(r.returncode, 0, r.stderr)
        check_eq(all_members(out), sorted(n + ".xml" for n in names), "members")
        check_eq(run_qp("verify", out).returncode, 0, "verify")


if __name__ == "__main__":
    main()
