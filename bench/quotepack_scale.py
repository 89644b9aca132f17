#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""quotepack at the two ends of the size range: many small files, and one very large file.

  small: N symbols of R rows each from a file:// directory (default 30,000 x 10 rows);
         prints symbols/s, wall and CPU seconds, peak RSS and, with --strace, the system calls
         per symbol (strace -c -f, counted, not timed).
  big:   one CSV of about MB megabytes (default 1,000) from a file:// directory; prints the
         peak RSS of the whole run and of `quotepack convert` alone.

usage: bench/quotepack_scale.py [--quotepack build/quotepack] [--small 30000] [--rows 10]
                                [--big-mb 1000] [--strace] [--extra ARG...] [--keep DIR]
Data is generated once into --keep DIR (default a temporary directory, removed at the end).
Every process started here is waited for; nothing touches the network.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HEADER = "Date,Open,High,Low,Close,Volume,Adj Close\n"


def rows_text(n, seed):
    rnd = random.Random(seed)
    price = rnd.uniform(5, 500)
    out = []
    day = 20000
    for _ in range(n):
        o = price
        c = max(0.01, o * (1 + rnd.gauss(0, 0.02)))
        h = max(o, c) * (1 + abs(rnd.gauss(0, 0.01)))
        lo = min(o, c) * (1 - abs(rnd.gauss(0, 0.01)))
        t = time.gmtime(day * 86400)
        out.append(f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d},{o:.2f},{h:.2f},{lo:.2f},"
                   f"{c:.2f},{rnd.randint(10_000, 50_000_000)},{c * 0.98:.2f}\n")
        price = c
        day -= 1
    return "".join(out)


def timed(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (wall s, user+sys s, peak RSS MB, exit status, stderr text)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    dt = time.monotonic() - t0
    proc.stderr.close()
    return (dt, (ru.ru_utime, ru.ru_stime), ru.ru_maxrss / 1024.0,
            os.waitstatus_to_exitcode(status), err.decode(errors="replace"))


def small(args, work):
    src = os.path.join(work, f"small-{args.small}x{args.rows}")
    names = [f"S{i:06d}" for i in range(args.small)]
    if not os.path.exists(os.path.join(src, "symbols.txt")):
        os.makedirs(src, exist_ok=True)
        body = HEADER + rows_text(args.rows, 1)
        for s in names:
            with open(os.path.join(src, s + ".csv"), "w") as f:
                f.write(body)
        with open(os.path.join(src, "symbols.txt"), "w") as f:
            f.write("\n".join(names) + "\n")
    out = os.path.join(work, "out-small")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [args.quotepack, "--source", src, "--out", out, "--symbols",
           os.path.join(src, "symbols.txt")] + args.extra
    dt, cpu, rss, rc, err = timed(cmd)
    print(f"small: {args.small} symbols x {args.rows} rows: {dt:.2f} s wall, {cpu[0]:.2f} s user, "
          f"{cpu[1]:.2f} s sys, {args.small / dt:.0f} symbols/s, peak RSS {rss:.0f} MB, exit {rc}")
    if rc != 0:
        print(err[-2000:])
    if args.strace:
        shutil.rmtree(out, ignore_errors=True)
        log = os.path.join(work, "strace.txt")
        subprocess.run(["strace", "-c", "-f", "-o", log] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(log) as f:
            lines = f.read().splitlines()
        total = 0
        top = []
        for line in lines:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                calls = int(parts[3])
                total += calls
                top.append((calls, parts[-1]))
        top.sort(reverse=True)
        print(f"small: {total} system calls, {total / args.small:.1f} per symbol; most: " +
              ", ".join(f"{n} {c / args.small:.2f}" for c, n in top[:8]))
    shutil.rmtree(out, ignore_errors=True)


def big(args, work):
    src = os.path.join(work, f"big-{args.big_mb}")
    path = os.path.join(src, "BIG.csv")
    if not os.path.exists(path):
        os.makedirs(src, exist_ok=True)
        block = rows_text(20000, 7)
        target = args.big_mb * 1_000_000
        with open(path, "w") as f:
            f.write(HEADER)
            size = len(HEADER)
            while size < target:
                f.write(block)
                size += len(block)
    size = os.path.getsize(path)
    out = os.path.join(work, "out-big")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [args.quotepack, "--source", src, "--out", out] + args.extra + ["BIG"]
    dt, cpu, rss, rc, err = timed(cmd)
    print(f"big: one {size / 1e6:.0f} MB CSV through the pipeline: {dt:.2f} s wall, "
          f"{cpu[0]:.2f} s user, {cpu[1]:.2f} s sys, peak RSS {rss:.0f} MB, exit {rc}")
    if rc != 0:
        print("  " + err.strip().splitlines()[-1] if err.strip() else "")
        for line in err.splitlines():
            if "failed:" in line:
                print("  " + line.strip())
    shutil.rmtree(out, ignore_errors=True)
    dt, cpu, rss, rc, err = timed([args.quotepack, "convert", path])
    print(f"big: `quotepack convert` of the same file: {dt:.2f} s wall, peak RSS {rss:.0f} MB, "
          f"exit {rc}")
    base = timed([args.quotepack, "--version"])[2]
    print(f"big: baseline RSS of the binary (--version): {base:.0f} MB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quotepack", default="build/quotepack")
    ap.add_argument("--small", type=int, default=30000)
    ap.add_argument("--rows", type=int, default=10)
    ap.add_argument("--big-mb", type=int, default=1000)
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--keep", default=None, help="directory for the generated data (kept)")
    ap.add_argument("--extra", nargs="*", default=[], help="more quotepack options")
    args = ap.parse_args()
    args.quotepack = os.path.abspath(args.quotepack)
    work = args.keep or tempfile.mkdtemp(prefix="qp-scale-")
    os.makedirs(work, exist_ok=True)
    try:
        if args.small:
            small(args, work)
        if args.big_mb:
            big(args, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
