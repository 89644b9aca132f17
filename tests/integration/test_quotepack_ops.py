#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Operating quotepack (issue 10, items 9 and 13-17): ls, cat, retry and command words; the
lock message; the progress line and the summary; verify while a run writes; shards under GNU
parallel; a source directory whose path needs percent-encoding."""
import fcntl
import os
import pty
import re
import shutil
import subprocess
import tempfile

from harness import MULT, binary, check, check_eq, main, test
from qp_fixture import Fixture, archives, catalog, gen, leftovers, member_data, run_qp, \
    write_symbols


@test(timeout=60)
def test_a_source_directory_with_space_hash_and_percent():
    """Item 9: the path is percent-encoded into the file:// URL."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "my quotes #2 100%")
        names = gen.write_quotes(src, 4, rows=5)
        out = os.path.join(tmp, "out")
        r = run_qp("--source", src, "--out", out, *names)
        check_eq(r.returncode, 0, r.stderr)
        check_eq(sorted(m for ms in archives(out).values() for m in ms),
                 sorted(n + ".xml" for n in names), "members")


@test(timeout=60)
def test_ls_cat_and_command_words():
    """Item 13: ls shows where each symbol is and why one failed; cat gives the XML back;
    a word that looks like a command is a usage error, never a symbol."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        names = gen.write_quotes(src, 3, rows=7)
        out = os.path.join(tmp, "out")
        r = run_qp("--source", src, "--out", out, *names, "NOFILE")
        check_eq(r.returncode, 1, r.stderr)
        ls = run_qp("ls", out)
        check_eq(ls.returncode, 0, ls.stderr)
        lines = {ln.split()[0]: ln for ln in ls.stdout.splitlines()[1:]}
        check_eq(sorted(lines), sorted(names + ["NOFILE"]), "ls lists every symbol")
        a = catalog(out)[names[0]]["archive"]
        check(re.match(rf"{re.escape(names[0])}\s+archived\s+7\s+{a}$", lines[names[0]]),
              lines[names[0]])
        check("failed" in lines["NOFILE"] and "permanent" in lines["NOFILE"], lines["NOFILE"])
        one = run_qp("ls", out, names[1], "NOSUCH")
        check_eq(one.returncode, 1, "ls of an unknown symbol")
        check_eq(len(one.stdout.splitlines()), 2, one.stdout)
        check("NOSUCH is not in the catalog" in one.stderr, one.stderr)
        c = subprocess.run([binary("quotepack"), "cat", out, names[2]], capture_output=True)
        check_eq(c.returncode, 0, c.stderr)
        check_eq(c.stdout, member_data(out, catalog(out)[names[2]]["archive"], names[2] + ".xml"),
                 "cat")
        c = run_qp("cat", out, "NOFILE")
        check_eq(c.returncode, 1, "cat of a failed symbol")
        check("failed, not archived" in c.stderr, c.stderr)
        for args in (["list", out], ["status"], ["--out", out, "status"], ["ls"], ["cat", out]):
            r = run_qp(*args)
            check_eq(r.returncode, 2, f"{args}: {r.stdout} {r.stderr}")
            check(r.stderr.strip() != "", f"{args}: no message")
        # After --, such a word is a symbol (here a missing file: a symbol failure, not usage).
        r = run_qp("--source", src, "--out", out, "--", "list")
        check_eq(r.returncode, 1, r.stderr)
        check_eq(catalog(out)["list"]["state"], "failed", "the symbol list")


@test(timeout=60)
def test_a_locked_directory_says_so_and_nothing_else():
    """Item 13: a setup failure prints that one line (no summary, no "rerun resumes")."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        with open(os.path.join(out, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            r = run_qp("--source", tmp, "--out", out, "A")
        check_eq(r.returncode, 1, r.stderr)
        check_eq(r.stderr.splitlines(),
                 [f"quotepack: {out}: another quotepack run is using this directory (try again "
                  "when it ends)"], "stderr")


@test(timeout=120)
def test_warnings_clear_the_progress_line_and_the_summary_counts_only_archived():
    """Item 15: every warning starts on a cleared line, each failure is printed once, and the
    summary's MB and MB/s count only what was archived."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=5, delay=0.02) as fx:
        out = os.path.join(tmp, "out")
        syms = [f"OKp{i}" for i in range(40)] + ["E404p1", "HTMLp2", "E404p3"]
        master, slave = pty.openpty()
        p = subprocess.Popen([binary("quotepack"), "--source", fx.template, "--out", out,
                              "--connections", "2", *syms], stdout=subprocess.DEVNULL,
                             stderr=slave)
        os.close(slave)
        data = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        p.wait(timeout=60 * MULT)
        os.close(master)
        text = data.decode(errors="replace")
        check_eq(p.returncode, 1, text)
        check("ETA" in text, f"no progress line: {text!r}")
        for line in text.split("\n"):
            visible = line.split("\r")[-1]  # what a terminal shows of that line
            if "warn" in visible:
                check("ETA" not in visible, f"a warning on the progress line: {line!r}")
        for s in ("E404p1", "HTMLp2", "E404p3"):
            check_eq(text.count(s), 1, f"times {s} was printed")
    # MB: a 3 MB body that is not CSV is downloaded but not archived.
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        names = gen.write_quotes(src, 5, rows=50)
        with open(os.path.join(src, "JUNK.csv"), "w") as f:
            f.write("a,b\n" + "1,2,3\n" * 500000)
        out = os.path.join(tmp, "out")
        r = run_qp("--source", src, "--out", out, *names, "JUNK")
        check_eq(r.returncode, 1, r.stderr)
        cat = catalog(out)
        mb = sum(cat[n]["csv_bytes"] for n in names) / 1e6
        m = re.search(r"([\d.]+) MB of CSV archived", r.stderr)
        check(m is not None, r.stderr)
        check_eq(m.group(1), f"{mb:.1f}", "MB in the summary")


@test(timeout=180)
def test_verify_while_a_run_writes_sees_one_snapshot():
    """Item 16: verify on a directory a run is writing reads one consistent snapshot and does
    not count the run's newest files as differences; with no run, the same files are."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=30, delay=0.02) as fx:
        out = os.path.join(tmp, "out")
        syms = [f"OKv{i:03d}" for i in range(150)]
        lst = write_symbols(os.path.join(tmp, "s.txt"), syms)
        p = subprocess.Popen([binary("quotepack"), "--source", fx.template, "--out", out,
                              "--symbols", lst, "--batch", "2", "--connections", "4"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        results = []
        try:
            while p.poll() is None and len(results) < 40:
                if os.path.exists(os.path.join(out, "catalog.sqlite")):
                    v = run_qp("verify", out)
                    results.append((v.returncode, v.stdout))
        finally:
            _, err = p.communicate(timeout=120 * MULT)
        check_eq(p.returncode, 0, err)
        check(len(results) >= 2, f"only {len(results)} verify runs during the run")
        bad = [o for rc, o in results if rc != 0]
        check_eq(bad, [], f"verify during the run ({len(results)} runs)")
        check_eq(run_qp("verify", out).returncode, 0, "verify after the run")
        # A run's files not yet in the catalog (made by hand here), while a run holds the lock:
        shutil.copy(os.path.join(out, "quotes-000000.tgz"), os.path.join(out, "quotes-999999.tgz"))
        with open(os.path.join(out, ".quotes-999998.tgz.tmp"), "wb") as f:
            f.write(b"\x1f\x8b")
        with open(os.path.join(out, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            v = run_qp("verify", out)
        check_eq(v.returncode, 0, v.stdout)
        check("a run is writing" in v.stdout, v.stdout)
        v = run_qp("verify", out)  # no run: now they are differences
        check_eq(v.returncode, 1, v.stdout)
        check("not recorded" in v.stdout and "leftover temporary" in v.stdout, v.stdout)


@test(timeout=60)
def test_verify_while_a_run_creates_the_catalog():
    """Item 16: a run takes the lock, creates catalog.sqlite, then commits its schema; verify
    in between reads an empty snapshot (nothing archived yet), not an error."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        with open(os.path.join(out, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for made in (False, True):  # before the file exists, then with no schema in it
                if made:
                    open(os.path.join(out, "catalog.sqlite"), "wb").close()
                v = run_qp("verify", out)
                check_eq(v.returncode, 0, v.stdout + v.stderr)
                check("a run is creating the catalog" in v.stdout, v.stdout)
                check_eq(v.stderr, "", "verify's stderr")
        v = run_qp("verify", out)  # no run: an empty file is no catalog
        check_eq(v.returncode, 1, v.stdout + v.stderr)
        check("cannot open the catalog" in v.stdout, v.stdout)


@test(timeout=180)
def test_four_shards_under_gnu_parallel_cover_every_symbol_once():
    """Item 17: `parallel` runs 4 shards of one list; their union is every symbol once."""
    if shutil.which("parallel") is None:
        print("ok - test_quotepack_ops.py: parallel # skip: GNU parallel is not installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        names = gen.write_quotes(src, 80, rows=5)
        lst = os.path.join(src, "symbols.txt")
        cmd = ["parallel", "--will-cite", "--halt", "now,fail=1", "-j4", binary("quotepack"),
               "--source", src, "--symbols", lst, "--shard", "{}/4", "--out",
               os.path.join(tmp, "out{}"), "--batch", "7", "--jobs", "1", ":::", "0", "1", "2",
               "3"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=150 * MULT,
                           env=dict(os.environ, HOME=tmp))
        check_eq(r.returncode, 0, r.stdout + r.stderr)
        seen = []
        for k in range(4):
            out = os.path.join(tmp, f"out{k}")
            got = [m[:-4] for ms in archives(out).values() for m in ms]
            check(len(got) > 0, f"shard {k} is empty")
            seen += got
            check_eq(leftovers(out), [], f"leftovers of shard {k}")
            check_eq(run_qp("verify", out).returncode, 0, f"verify shard {k}")
        check_eq(sorted(seen), sorted(names), "the union of the shards")


if __name__ == "__main__":
    main()
