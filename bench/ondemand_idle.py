#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""CPU of mjpegd with its test source idle under --on-demand, against the same source open.

Usage: bench/ondemand_idle.py [--binary build/mjpegd] [--seconds 10] [--size 1280x720]
Prints the CPU share of one core (user+system from /proc/PID/stat) over the window, for the
source closed by --on-demand (nobody watching) and for the same source without it.
"""
import argparse
import json
import os
import re
import subprocess
import time
import urllib.request


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(binary, extra):
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", *extra], stderr=subprocess.PIPE,
                         text=True)
    for line in p.stderr:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            return p, int(m.group(1))
    raise SystemExit("mjpegd did not start")


def state(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=5) as r:
        return json.loads(r.read())


def measure(binary, extra, seconds, wait_idle):
    p, port = start(binary, extra)
    try:
        if wait_idle:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                s = state(port)
                if s.get("status") == "idle":
                    break
                time.sleep(0.2)
            else:
                raise SystemExit("the source never went idle")
        else:
            time.sleep(2)
        c0, t0 = cpu_seconds(p.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(p.pid), time.monotonic()
        return 100.0 * (c1 - c0) / (t1 - t0)
    finally:
        p.terminate()
        p.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/mjpegd")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--size", default="1280x720")
    a = ap.parse_args()
    common = ["--source", "test", "--size", a.size, "--fps", "30"]
    idle = measure(a.binary, common + ["--on-demand", "1"], a.seconds, True)
    open_ = measure(a.binary, common, a.seconds, False)
    print(f"test source {a.size} 30 fps, no viewer, {a.seconds:.0f} s window:")
    print(f"  --on-demand 1 (idle):  {idle:6.2f} % of one core")
    print(f"  always open:           {open_:6.2f} % of one core")


if __name__ == "__main__":
    main()
