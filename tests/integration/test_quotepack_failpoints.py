#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""quotepack killed at its durable steps (QUOTEPACK_FAILPOINT), then rerun: nothing lost,
nothing twice, nothing left over.

A clean run with QUOTEPACK_FAILPOINT=count says how many steps of each kind a run takes
(spool-write, archive-write, fsync, rename, unlink, catalog-commit, archive-commit); each
point is KIND:K for K in 1..count. `make test` walks a rotating slice of about SLICE points,
chosen by a seed (QP_FAILPOINT_SEED, default the day number, printed), so that consecutive
days cover every point; QP_FAILPOINT_ALL=1 walks all of them (scripts/qp-failpoint-walk).
For each point: a run that must die there (SIGKILL), the catalog's archives checked at once,
a rerun that dies at the same point of its own steps if it gets there (a crash during
recovery), then a clean rerun, and every symbol must be in exactly one valid archive.
"""
import os
import re
import shutil
import signal
import tempfile
import time

from harness import check, check_eq, main, test
from qp_crash import check_complete, check_recorded
from qp_fixture import Fixture, gen, run_qp, write_symbols

SLICE = 8
NAMES = [f"OKfp{i:02d}" for i in range(14)]  # 4 archives of 4, the last of 2


def qp_args(fx, out, lst, extra):
    return ["--source", fx.template, "--out", out, "--symbols", lst, "--batch", "4",
            "--connections", "2", "--jobs", "2", *extra]


def count_steps(fx, tmp, lst, extra):
    """{kind: steps} of a clean run."""
    out = os.path.join(tmp, "count")
    shutil.rmtree(out, ignore_errors=True)
    r = run_qp(*qp_args(fx, out, lst, extra), env={"QUOTEPACK_FAILPOINT": "count"})
    check_eq(r.returncode, 0, "clean run: " + r.stderr)
    counts = steps_of(r.stderr)
    total = int(re.search(r"failpoint steps: total=(\d+)", r.stderr).group(1))
    check_eq(sum(counts.values()), total, "total vs kinds")
    check_complete(out, NAMES)
    return counts


def points_of(counts):
    """Every point, in an order whose every stride takes some of each kind."""
    pts = [(k, i) for k, n in counts.items() for i in range(1, n + 1)]
    pts.sort(key=lambda p: (p[1] / (counts[p[0]] + 1), p[0]))
    return pts


def walk_point(fx, tmp, lst, extra, kind, k):
    """Returns whether the first run reached the point (a run can take a step fewer: catalog
    flushes are also timed)."""
    out = os.path.join(tmp, f"{kind}-{k}")
    spec = f"{kind}:{k}"
    r = run_qp(*qp_args(fx, out, lst, extra), env={"QUOTEPACK_FAILPOINT": spec})
    if r.returncode == 0 and "not reached" in r.stderr:
        check_complete(out, NAMES)
        return False
    check_eq(r.returncode, -signal.SIGKILL, f"{spec}: the run did not die there: {r.stderr}")
    check(f"({kind} #{k})" in r.stderr, f"{spec}: {r.stderr}")
    check_recorded(out)
    r = run_qp(*qp_args(fx, out, lst, extra), env={"QUOTEPACK_FAILPOINT": spec})
    check(r.returncode in (0, -signal.SIGKILL), f"{spec}: second run: {r.returncode} {r.stderr}")
    check_recorded(out)
    r = run_qp(*qp_args(fx, out, lst, extra))
    check_eq(r.returncode, 0, f"{spec}: rerun: {r.stderr}")
    check_complete(out, NAMES)
    return True


def walk(extra, size, required):
    """Walks a slice of about size points of a run with the options extra (all of them with
    QP_FAILPOINT_ALL=1)."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=40) as fx:
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), NAMES)
        counts = count_steps(fx, tmp, lst, extra)
        for kind in required:
            check(counts.get(kind, 0) > 0, f"a clean run took no {kind} step: {counts}")
        pts = points_of(counts)
        seed = int(os.environ.get("QP_FAILPOINT_SEED", str(int(time.time() // 86400))))
        if os.environ.get("QP_FAILPOINT_ALL") == "1":
            chosen, what = pts, "all"
        else:
            nslices = max(1, -(-len(pts) // size))
            chosen = pts[seed % nslices::nslices]
            what = f"seed {seed}: slice {seed % nslices} of {nslices}"
        print(f"# failpoints ({' '.join(extra) or 'plain'}): {len(pts)} points {counts}; walking "
              f"{len(chosen)} ({what}; QP_FAILPOINT_SEED=N picks a slice, QP_FAILPOINT_ALL=1 "
              "walks all)", flush=True)
        missed = []
        for kind, k in chosen:
            if not walk_point(fx, tmp, lst, extra, kind, k):
                missed.append(f"{kind}:{k}")
        print(f"# failpoints walked: {len(chosen) - len(missed)} died there, not reached "
              f"(a run of fewer steps): {missed}", flush=True)
        check(len(missed) * 2 <= len(chosen), f"most points not reached: {missed}")


WALK_TIMEOUT = 3600 if os.environ.get("QP_FAILPOINT_ALL") == "1" else 300
ALL_KINDS = ("spool-write", "archive-write", "fsync", "rename", "catalog-commit",
             "archive-commit", "unlink")


@test(timeout=WALK_TIMEOUT)
def test_failpoint_walk_loses_duplicates_and_leaves_nothing():
    walk([], SLICE, ALL_KINDS)


@test(timeout=WALK_TIMEOUT)
def test_failpoint_walk_with_isolate_workers():
    # The workers write the spool (their steps are not counted); the parent does the rest.
    walk(["--isolate"], SLICE // 2, [k for k in ALL_KINDS if k != "spool-write"])


def steps_of(stderr):
    m = re.search(r"failpoint steps: total=(\d+)((?: [a-z-]+=\d+)+)", stderr)
    check(m is not None, "no step counts: " + stderr)
    return {k: int(v) for k, v in re.findall(r"([a-z-]+)=(\d+)", m.group(2))}


def walk_pairs(extra):
    """Every pair: killed at point A, then the rerun killed at each point B of its own steps
    (a crash during recovery or while resuming), then a clean rerun. Thousands of runs: only
    with QP_FAILPOINT_PAIRS=1 (scripts/qp-failpoint-walk --pairs)."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=40) as fx:
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), NAMES)
        pairs = 0
        for kind, k in points_of(count_steps(fx, tmp, lst, extra)):
            first = os.path.join(tmp, "first")
            shutil.rmtree(first, ignore_errors=True)
            r = run_qp(*qp_args(fx, first, lst, extra), env={"QUOTEPACK_FAILPOINT": f"{kind}:{k}"})
            if r.returncode != -signal.SIGKILL:
                continue
            probe = os.path.join(tmp, "probe")
            shutil.rmtree(probe, ignore_errors=True)
            shutil.copytree(first, probe)
            r = run_qp(*qp_args(fx, probe, lst, extra), env={"QUOTEPACK_FAILPOINT": "count"})
            check_eq(r.returncode, 0, f"{kind}:{k}: rerun: {r.stderr}")
            for kind2, k2 in points_of(steps_of(r.stderr)):
                out = os.path.join(tmp, "pair")
                shutil.rmtree(out, ignore_errors=True)
                shutil.copytree(first, out)
                spec = f"{kind}:{k} then {kind2}:{k2}"
                r = run_qp(*qp_args(fx, out, lst, extra),
                           env={"QUOTEPACK_FAILPOINT": f"{kind2}:{k2}"})
                check(r.returncode in (0, -signal.SIGKILL), f"{spec}: {r.stderr}")
                check_recorded(out)
                r = run_qp(*qp_args(fx, out, lst, extra))
                check_eq(r.returncode, 0, f"{spec}: last rerun: {r.stderr}")
                check_complete(out, NAMES)
                pairs += 1
        print(f"# failpoint pairs ({' '.join(extra) or 'plain'}): {pairs} walked", flush=True)


@test(timeout=7200)
def test_failpoint_pairs():
    if os.environ.get("QP_FAILPOINT_PAIRS") != "1":
        print("# SKIP pairs of failpoints: QP_FAILPOINT_PAIRS=1 (scripts/qp-failpoint-walk "
              "--pairs)", flush=True)
        return
    walk_pairs([])
    walk_pairs(["--isolate"])


@test(timeout=3600)
def test_failpoint_walk_with_a_spilled_body():
    # A 5 MB body goes to a spill file (its writes and its unlink are steps too). Slow (each
    # run converts it): only in the whole walk, every 7th spool write.
    if os.environ.get("QP_FAILPOINT_ALL") != "1":
        print("# SKIP a spilled body: QP_FAILPOINT_ALL=1 (scripts/qp-failpoint-walk)", flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        names = ["BIG", *gen.write_quotes(src, 6, rows=100)]
        with open(os.path.join(src, "BIG.csv"), "w") as f:
            f.write(gen.make_csv("BIG", 90000))
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), names)

        def args(out):
            return ["--source", "file://" + src + "/{symbol}.csv", "--out", out, "--batch", "3",
                    "--symbols", lst]
        r = run_qp(*args(os.path.join(tmp, "count")), env={"QUOTEPACK_FAILPOINT": "count"})
        check_eq(r.returncode, 0, r.stderr)
        counts = steps_of(r.stderr)
        pts = [p for p in points_of(counts)
               if p[0] != "spool-write" or p[1] % 7 == 1 or p[1] == counts["spool-write"]]
        print(f"# failpoints (spilled body): {counts}; walking {len(pts)}", flush=True)
        for kind, k in pts:
            out = os.path.join(tmp, f"{kind}-{k}")
            r = run_qp(*args(out), env={"QUOTEPACK_FAILPOINT": f"{kind}:{k}"})
            check(r.returncode == -signal.SIGKILL or "not reached" in r.stderr,
                  f"{kind}:{k}: {r.returncode} {r.stderr}")
            check_recorded(out)
            r = run_qp(*args(out))
            check_eq(r.returncode, 0, f"{kind}:{k}: rerun: {r.stderr}")
            check_complete(out, names)
            shutil.rmtree(out)


@test(timeout=120)
def test_failpoint_counted_over_every_kind():
    # QUOTEPACK_FAILPOINT=N: the Nth step whatever its kind (the steps of all threads).
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=40) as fx:
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), NAMES)
        total = sum(count_steps(fx, tmp, lst, []).values())
        for n in (1, total // 2, total - 1):
            out = os.path.join(tmp, f"n{n}")
            r = run_qp(*qp_args(fx, out, lst, []), env={"QUOTEPACK_FAILPOINT": str(n)})
            if r.returncode == 0 and "not reached" in r.stderr:
                continue  # a run of fewer steps (timed catalog flushes)
            check_eq(r.returncode, -signal.SIGKILL, f"{n}: {r.stderr}")
            check(f"dying before step {n} (" in r.stderr, r.stderr)
            check_recorded(out)
            r = run_qp(*qp_args(fx, out, lst, []))
            check_eq(r.returncode, 0, f"{n}: rerun: {r.stderr}")
            check_complete(out, NAMES)


@test(timeout=60)
def test_failpoint_variable_is_checked():
    with tempfile.TemporaryDirectory() as tmp:
        for bad in ("0", "x", "rename:", "nosuch:3", "-1"):
            r = run_qp("--source", "file://" + tmp + "/{symbol}.csv", "--out", tmp, "A",
                       env={"QUOTEPACK_FAILPOINT": bad})
            check_eq(r.returncode, 2, f"{bad}: {r.stderr}")
            check("QUOTEPACK_FAILPOINT" in r.stderr, r.stderr)


if __name__ == "__main__":
    main()
