#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runs each tests/browser/test_*.py as its own process under a timeout; prints TAP.

The files use tests/integration's harness and fixtures. Screenshots and downloads go to
$BUILD_DIR/test-output/browser/. Arguments filter files by substring.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    files = sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    if len(sys.argv) > 1:
        files = [f for f in files if any(a in f for a in sys.argv[1:])]
    mult = int(os.environ.get("TEST_TIMEOUT_MULTIPLIER", "1"))
    bad = 0
    for f in files:
        timeout = 600 * mult
        try:
            r = subprocess.run(["/usr/bin/python3", os.path.join(HERE, f)], timeout=timeout,
                               stdout=sys.stdout, stderr=sys.stdout)
            if r.returncode != 0:
                bad += 1
                print(f"# {f} exited {r.returncode}", flush=True)
        except subprocess.TimeoutExpired:
            bad += 1
            print(f"not ok - {f}: file overran {timeout} s", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
