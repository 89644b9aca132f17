#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The pipeline's window (issue 10, items 1, 3, 4): archives are formed from the next N
converted symbols, so a slow download holds one place, not a batch; --batch does not cap
concurrency; the spool is bounded in places and bytes; small files cost no per-symbol file
operations in the spool; .tar.zst entries are compressed on the converters (a frame each)."""
import os
import re
import shutil
import subprocess
import tempfile

from harness import MULT, binary, check, check_eq, main, test, wait_for
from qp_fixture import Fixture, archives, catalog, gen, leftovers, run_qp, write_symbols


def archived(out, names):
    try:
        cat = catalog(out)
    except Exception:  # noqa: BLE001 - not created yet
        return 0
    return sum(1 for n in names if cat.get(n, {}).get("state") == "archived")


@test(timeout=120)
def test_one_slow_download_does_not_hold_back_the_others():
    """Item 1: SLOWa trickles its body until released; every other symbol is archived
    meanwhile (before, its batch and the window of two batches waited for it)."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=100) as fx:
        others = [f"OKw{i:02d}" for i in range(40)]
        out = os.path.join(tmp, "out")
        p = subprocess.Popen([binary("quotepack"), "--source", fx.template, "--out", out,
                              "--batch", "5", "--connections", "4", "SLOWa", *others],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            done = wait_for(lambda: archived(out, others) == len(others), timeout=30)
            count = archived(out, others)
            slow_state = catalog(out).get("SLOWa", {}).get("state") if done else None
        finally:
            fx.release.set()
            _, err = p.communicate(timeout=60 * MULT)
        check(done, f"only {count} of {len(others)} archived while one download was slow")
        check(slow_state != "archived", "the slow symbol was not slow")
        check_eq(p.returncode, 0, err)
        members = sorted(m for ms in archives(out).values() for m in ms)
        check_eq(members, sorted(s + ".xml" for s in others + ["SLOWa"]), "members")
        check_eq(run_qp("verify", out).returncode, 0, "verify")


@test(timeout=120)
def test_a_small_batch_does_not_cap_concurrency():
    """Item 1: with --batch 1 and --connections 4, four downloads run at once (the fixture
    holds each BAR request until four are in; before, two batches of one were the limit)."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=20, barrier=4,
                                                     barrier_wait=3 * MULT) as fx:
        syms = [f"BAR{i}" for i in range(8)]
        out = os.path.join(tmp, "out")
        r = run_qp("--source", fx.template, "--out", out, "--batch", "1", "--connections", "4",
                   *syms)
        check_eq(r.returncode, 0, r.stderr)
        check(fx.max_inside >= 4, f"at most {fx.max_inside} downloads at once")
        check_eq(fx.barrier_met, 8, "requests that found four at once")
        check_eq(len(archives(out)), 8, "one archive per symbol")


@test(timeout=120)
def test_the_spool_is_bounded_in_places_and_in_bytes():
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        names = gen.write_quotes(src, 40, rows=200)
        out = os.path.join(tmp, "out")
        r = run_qp("--source", src, "--out", out, "--batch", "3", "--spool-files", "6",
                   "--connections", "4", *names, env={"QUOTEPACK_LOG": "debug"})
        check_eq(r.returncode, 0, r.stderr)
        m = re.search(r"spool: at most (\d+) converted entries and (\d+) bytes waiting", r.stderr)
        check(m is not None, "no spool report: " + r.stderr[-500:])
        check(1 <= int(m.group(1)) <= 6, f"spool held {m.group(1)} entries with --spool-files 6")
        check_eq(sorted(len(v) for v in archives(out).values()), [1] + [3] * 13, "archive sizes")
        # A byte bound of 1: the packer packs what it has as soon as anything waits.
        out2 = os.path.join(tmp, "out2")
        r = run_qp("--source", src, "--out", out2, "--batch", "100", "--spool-size", "1",
                   "--connections", "2", "--jobs", "1", *names)
        check_eq(r.returncode, 0, r.stderr)
        sizes = [len(v) for v in archives(out2).values()]
        check(len(sizes) > 1 and sum(sizes) == 40, f"archive sizes with --spool-size 1: {sizes}")
        check_eq(leftovers(out2), [], "leftovers")
        check_eq(run_qp("verify", out2).returncode, 0, "verify")


def file_ops(tmp, src, names):
    """open/creat/rename/unlink calls of a run over names, counted by strace."""
    out = os.path.join(tmp, f"out-{len(names)}")
    log = os.path.join(tmp, f"strace-{len(names)}.txt")
    lst = write_symbols(os.path.join(tmp, f"syms-{len(names)}.txt"), names)
    cmd = ["strace", "-f", "-c", "-o", log, "-e",
           "trace=open,openat,creat,rename,renameat,renameat2,unlink,unlinkat",
           binary("quotepack"), "--source", src, "--out", out, "--symbols", lst]
    env = dict(os.environ)
    # LeakSanitizer cannot run under ptrace; the other test runs check for leaks.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=150 * MULT, env=env)
    check_eq(r.returncode, 0, r.stderr)
    check_eq(archived(out, names), len(names), "archived")
    calls = {}
    with open(log) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                calls[parts[-1]] = int(parts[3])
    return calls


@test(timeout=180)
def test_small_files_cost_no_per_symbol_file_operations_in_the_spool():
    """Item 3: per symbol, the spool adds no open, rename or unlink (one segment per
    converter); only the source file is opened. Counted with strace at two sizes, so what
    every run does once cancels out; nothing is timed."""
    if shutil.which("strace") is None:
        print("ok - test_quotepack_window.py: syscalls # skip: no strace")
        return
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        names = gen.write_quotes(src, 500, rows=3)
        small = file_ops(tmp, src, names[:100])
        large = file_ops(tmp, src, names)
        per = {k: (large.get(k, 0) - small.get(k, 0)) / 400 for k in set(small) | set(large)}
        total = sum(per.values())
        # 1 for the source file, and per archive of 100: create, rename, two fsync opens.
        check(total < 1.2, f"{total:.2f} file operations per symbol: {per}")


def zstd_frames(path):
    """Counts the zstd frames in a file (RFC 8878 frame and block headers)."""
    data = open(path, "rb").read()
    i = frames = 0
    while i < len(data):
        magic = int.from_bytes(data[i:i + 4], "little")
        if 0x184D2A50 <= magic <= 0x184D2A5F:
            i += 8 + int.from_bytes(data[i + 4:i + 8], "little")
            continue
        check_eq(magic, 0xFD2FB528, f"frame magic at {i}")
        fhd = data[i + 4]
        single = (fhd >> 5) & 1
        fcs = [1 if single else 0, 2, 4, 8][fhd >> 6]
        did = [0, 1, 2, 4][fhd & 3]
        i += 5 + (0 if single else 1) + did + fcs
        while True:
            bh = int.from_bytes(data[i:i + 3], "little")
            last, btype, size = bh & 1, (bh >> 1) & 3, bh >> 3
            i += 3 + (1 if btype == 1 else size)
            if last:
                break
        if (fhd >> 2) & 1:
            i += 4
        frames += 1
    return frames


@test(timeout=120)
def test_tzst_entries_are_compressed_by_the_converters_one_frame_each():
    """Item 4: each member of a .tar.zst is a zstd frame made on a converter thread (before,
    libarchive compressed the whole archive as one frame on the packer thread)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        names = gen.write_quotes(src, 12, rows=100)
        for extra in ([], ["--isolate"]):
            out = os.path.join(tmp, "out" + "".join(extra))
            r = run_qp("--source", src, "--out", out, "--format", "tzst", "--level", "best",
                       "--batch", "5", *extra, *names)
            check_eq(r.returncode, 0, r.stderr)
            files = sorted(n for n in os.listdir(out) if n.endswith(".tar.zst"))
            check_eq(len(files), 3, "archives")
            members = 0
            for fn in files:
                t = subprocess.run(["tar", "--zstd", "-tf", os.path.join(out, fn)],
                                   capture_output=True, text=True)
                check_eq(t.returncode, 0, t.stderr)
                n = len(t.stdout.split())  # the manifest (a frame of its own) included
                members += n - 1
                check_eq(zstd_frames(os.path.join(out, fn)), n + 1, f"{fn}: frames")
            check_eq(members, 12, "members")
            check_eq(run_qp("verify", out).returncode, 0, "verify")


if __name__ == "__main__":
    main()
