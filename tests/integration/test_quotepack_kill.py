#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""SIGKILL quotepack at random moments, 20 times; then every symbol is in exactly one archive."""
import os
import random
import signal
import subprocess
import tempfile
import time

from harness import MULT, binary, check, check_eq, main, test
from qp_fixture import Fixture, archives, catalog, leftovers, run_qp, write_symbols


def check_consistent(out, names):
    """What must hold after any kill: each archived symbol is in the archive the catalog names,
    and no symbol is in two recorded archives."""
    if not os.path.exists(os.path.join(out, "catalog.sqlite")):
        return 0
    try:
        cat = catalog(out)
    except Exception:  # noqa: BLE001 - killed before the schema existed
        return 0
    arch = archives(out)
    where = {}
    for name, members in arch.items():
        for m in members:
            where.setdefault(m[:-4], []).append(name)
    archived = 0
    for s, row in cat.items():
        if row["state"] == "archived":
            archived += 1
            check(row["archive"] in where.get(s, []),
                  f"{s} archived in {row['archive']} but not found there ({where.get(s)})")
    recorded = {r["archive"] for r in cat.values() if r["archive"]}
    for s, names_ in where.items():
        check(len([n for n in names_ if n in recorded]) <= 1, f"{s} in two recorded archives")
    return archived


@test(timeout=300)
def test_sigkill_at_random_moments_loses_and_duplicates_nothing():
    rnd = random.Random(int(os.environ.get("QP_KILL_SEED", "4242")))
    # A whole run needs about 5 s of fetching (400 x 0.05 s over 4 connections), more than
    # the 20 kills give it in total on average, so most kills land mid-way in every build: the
    # kill moments are not scaled by the sanitizer multiplier (that made runs finish by
    # themselves under ASan).
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=80, delay=0.05) as fx:
        names = [f"OK{i:04d}" for i in range(400)]
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), names)
        out = os.path.join(tmp, "out")
        args = [binary("quotepack"), "--source", fx.template, "--out", out, "--symbols", lst,
                "--batch", "12", "--connections", "4", "--jobs", "2"]
        kills = 0
        progress = []
        for i in range(20):
            extra = ["--isolate"] if i % 4 == 3 else []
            p = subprocess.Popen(args + extra, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(rnd.uniform(0.0, 0.5))
            p.send_signal(signal.SIGKILL)
            _, err = p.communicate(timeout=30 * MULT)
            if p.returncode == -signal.SIGKILL:
                kills += 1
            else:
                check_eq(p.returncode, 0, f"run {i} ended by itself with {p.returncode}: {err!r}")
            progress.append(check_consistent(out, names))
        check(kills >= 10, f"only {kills} of 20 runs were killed mid-way")
        r = run_qp("--source", fx.template, "--out", out, "--symbols", lst, "--batch", "12")
        check_eq(r.returncode, 0, r.stderr)
        members = sorted(m for ms in archives(out).values() for m in ms)
        check_eq(members, sorted(n + ".xml" for n in names), "every symbol exactly once")
        cat = catalog(out)
        check(all(row["state"] == "archived" for row in cat.values()), "all archived")
        check_eq(leftovers(out), [], "leftovers")
        v = run_qp("verify", out)
        check_eq(v.returncode, 0, v.stdout)
        print(f"# archived after each kill: {progress}")



@test(timeout=120)
def test_sigint_stops_cleanly_and_a_rerun_completes():
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=20, delay=0.02) as fx:
        names = [f"OKi{i:03d}" for i in range(200)]
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), names)
        out = os.path.join(tmp, "out")
        args = [binary("quotepack"), "--source", fx.template, "--out", out, "--symbols", lst,
                "--batch", "10", "--connections", "2"]
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30 * MULT)
        check_eq(p.returncode, 130, "exit status after SIGINT: " + err)
        check("interrupted" in err, err)
        check_consistent(out, names)
        check_eq([n for n in leftovers(out) if n != ".spool"], [], "leftovers after SIGINT")
        r = run_qp("--source", fx.template, "--out", out, "--symbols", lst, "--batch", "10")
        check_eq(r.returncode, 0, r.stderr)
        members = sorted(m for ms in archives(out).values() for m in ms)
        check_eq(members, sorted(n + ".xml" for n in names), "every symbol exactly once")
        v = run_qp("verify", out)
        check_eq(v.returncode, 0, v.stdout)


if __name__ == "__main__":
    main()
