#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runs two builds of bench/core_bench alternately and prints the median of each figure.

Usage: core_compare.py --before BIN --after BIN [--runs N] [--only queue|procpool]
The 1-minute load average is printed too: the numbers mean little on a busy machine.
"""
import argparse
import os
import re
import statistics
import subprocess

PATTERNS = (
    (re.compile(r"procpool round trip\s+(\d+) B: p50\s+([\d.]+) us\s+p99\s+([\d.]+) us\s+(\d+) calls/s"),
     lambda m: {f"{m[1]} B p50 us": m[2], f"{m[1]} B p99 us": m[3], f"{m[1]} B calls/s": m[4]}),
    (re.compile(r"queue (\S+) (?:capacity )?(\S+)\s+([\d.]+) Mitems/s"),
     lambda m: {f"queue {m[1]} {m[2]} Mitems/s": m[3]}),
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", choices=["queue", "procpool"])
    args = ap.parse_args()
    bins = {"before": args.before, "after": args.after}
    res = {k: {} for k in bins}
    loads = []
    for _ in range(args.runs):
        for name, path in bins.items():
            loads.append(os.getloadavg()[0])
            cmd = [path] + (["--only", args.only] if args.only else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                for rx, fields in PATTERNS:
                    m = rx.match(line)
                    if m:
                        for key, val in fields(m).items():
                            res[name].setdefault(key, []).append(float(val))
    for key, before in res["before"].items():
        after = res["after"].get(key, [])
        print(f"{key:32s} before {statistics.median(before):10.2f}  after "
              f"{statistics.median(after) if after else float('nan'):10.2f}   "
              f"(runs: before {before}, after {after})")
    print(f"1-minute load during the runs: {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
