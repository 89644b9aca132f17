#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""quotepack against the fault-injecting HTTP fixture: each failure mode ends as it should."""
import os
import tempfile

from harness import check, check_eq, main, test
from qp_fixture import Fixture, archives, catalog, leftovers, run_qp, write_symbols

OK = ["OK1", "OK2", "OK3", "OK4"]
RECOVER = ["E500a", "R429a", "R429Db", "TRUNC1a", "RESET1a"]
FAIL = {
    "E404a": "HTTP 404",
    "E500Xa": "HTTP 500",
    "TRUNCa": "curl error 18",
    "RESETa": "curl error",
    "HANGa": "curl error 28",
    "HTMLa": "not CSV",
    "EMPTYa": "not CSV",
}


@test(timeout=120)
def test_fault_fixture_cases():
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=40, hang=8) as fx:
        syms = OK + RECOVER + list(FAIL)
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), syms)
        out = os.path.join(tmp, "out")
        r = run_qp("--source", fx.template, "--out", out, "--symbols", lst, "--retries", "2",
                   "--timeout", "1", "--batch", "5", "--connections", "4")
        check_eq(r.returncode, 1, "exit status with failed symbols\n" + r.stderr)
        cat = catalog(out)
        for s in OK + RECOVER:
            check_eq(cat[s]["state"], "archived", f"{s} state ({cat[s]['error']})")
        for s, why in FAIL.items():
            check_eq(cat[s]["state"], "failed", f"{s} state")
            check(why in (cat[s]["error"] or ""), f"{s}: error {cat[s]['error']!r} lacks {why!r}")
            check(s in r.stderr, f"the summary does not name {s}")
        # No retry on 404 or on a 200 that is not CSV; transient errors are retried.
        check_eq(len(fx.hits["E404a"]), 1, "requests for a 404")
        check_eq(len(fx.hits["HTMLa"]), 1, "requests for an HTML page")
        check_eq(len(fx.hits["E500Xa"]), 3, "requests for a permanent 500 with --retries 2")
        check_eq(len(fx.hits["TRUNCa"]), 3, "requests for a truncated body")
        check_eq(len(fx.hits["E500a"]), 2, "requests for a 500 then success")
        # Retry-After: 1 was honoured (a lower bound on the gap, not a speed assertion).
        h = fx.hits["R429a"]
        check(len(h) == 2 and h[1] - h[0] >= 0.9, f"Retry-After ignored: {h}")
        h = fx.hits["R429Db"]
        check(len(h) == 2 and h[1] - h[0] >= 0.9, f"Retry-After (date) ignored: {h}")
        members = sorted(m for ms in archives(out).values() for m in ms)
        check_eq(members, sorted(s + ".xml" for s in OK + RECOVER), "archive members")
        check_eq(leftovers(out), [], "leftovers")
        v = run_qp("verify", out)
        check_eq(v.returncode, 0, "verify: " + v.stdout + v.stderr)


@test(timeout=60)
def test_rerun_fetches_only_what_is_not_archived():
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=20) as fx:
        out = os.path.join(tmp, "out")
        r = run_qp("--source", fx.template, "--out", out, "--batch", "2", "OK1", "OK2", "OK3",
                   "E404x")
        check_eq(r.returncode, 1, r.stderr)
        before = {k: len(v) for k, v in fx.hits.items()}
        r = run_qp("--source", fx.template, "--out", out, "--batch", "2", "OK1", "OK2", "OK3",
                   "E404x")
        check_eq(r.returncode, 1, r.stderr)
        for s in ("OK1", "OK2", "OK3"):
            check_eq(len(fx.hits[s]), before[s], f"{s} fetched again after it was archived")
        # Item 14: a 404 is permanent: not fetched again unless asked.
        check_eq(len(fx.hits["E404x"]), before["E404x"], "a 404 fetched again by a rerun")
        r = run_qp("retry", out)
        check_eq(r.returncode, 1, r.stderr)
        check_eq(len(fx.hits["E404x"]), before["E404x"] + 1, "retry did not fetch the 404 again")
        check_eq(sum(len(v) for v in fx.hits.values()), sum(before.values()) + 1,
                 "retry fetched more than the failed symbol")


@test(timeout=60)
def test_rate_cap_spaces_requests():
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=5) as fx:
        out = os.path.join(tmp, "out")
        syms = [f"OKr{i}" for i in range(6)]
        r = run_qp("--source", fx.template, "--out", out, "--rate", "10", *syms)
        check_eq(r.returncode, 0, r.stderr)
        times = sorted(t for s in syms for t in fx.hits[s])
        # 6 requests at 10/s span at least 0.5 s (a lower bound only).
        check(times[-1] - times[0] >= 0.45, f"--rate 10 not honoured: span {times[-1] - times[0]:.3f}s")



@test(timeout=60)
def test_connections_are_reused_and_bounded():
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=5) as fx:
        out = os.path.join(tmp, "out")
        syms = [f"OKc{i}" for i in range(60)]
        r = run_qp("--source", fx.template, "--out", out, "--connections", "3", *syms)
        check_eq(r.returncode, 0, r.stderr)
        check(len(fx.peers) <= 3, f"{len(fx.peers)} connections for --connections 3")


@test(timeout=60)
def test_progress_line_on_a_terminal():
    import pty
    import subprocess
    from harness import binary
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=5, delay=0.01) as fx:
        out = os.path.join(tmp, "out")
        syms = [f"OKp{i}" for i in range(80)]
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
        p.wait(timeout=60)
        os.close(master)
        text = data.decode(errors="replace")
        check_eq(p.returncode, 0, text)
        check("done," in text and "MB/s" in text and "ETA" in text, f"no progress line: {text!r}")
        check("80 symbols: 80 archived" in text, f"no summary: {text!r}")


if __name__ == "__main__":
    main()
