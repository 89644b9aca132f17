#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 14: what --record-on motion costs the recorder's writer thread per frame, in a running
mjpegd (no viewer), against --record-on always.

    bench/motion_record_cost.py --mjpegd build/mjpegd [--size 1280x720] [--fps 30]
        [--window 10] [--repeat 3]

Three runs, each `mjpegd --size S --fps F --record DIR --segment 10`:
- always: `--source test`, every frame written, no detector;
- motion, moving: `--source test --record-on motion`: the pattern always moves, so every frame
  is scored and written;
- motion, still: `--source test:move=1,still=1000000 --record-on motion`: the pattern holds
  still from its first frame, so every frame is scored and kept in the pre-roll, none written.
After 3 s, over --window seconds: the run time of the `record/0` thread (schedstat, ns) per
published frame, and the frames it wrote. Standard library only; the load average is printed
(the machine may be shared). Uses bench/record_cost.py's helpers.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mjpegd_bench import Server  # noqa: E402
from record_cost import loadavg, metric, threads  # noqa: E402

MODES = (
    ("always", ["--source", "test"]),
    ("motion, moving", ["--source", "test", "--record-on", "motion"]),
    ("motion, still", ["--source", "test:move=1,still=1000000", "--record-on", "motion"]),
)


def run(args, extra, record_dir):
    srv = Server(args.mjpegd, [*extra, "--size", args.size, "--fps", str(args.fps),
                               "--encoders", "2", "--workers", "1", "--record", record_dir,
                               "--segment", "10"]).start()
    try:
        time.sleep(3.0)
        t0 = threads(srv.proc.pid)
        pub0 = metric(srv.port, "mjpegd_frames_published_total")
        frames0 = metric(srv.port, "mjpegd_record_frames_total")
        time.sleep(args.window)
        t1 = threads(srv.proc.pid)
        pub = metric(srv.port, "mjpegd_frames_published_total") - pub0
        frames = metric(srv.port, "mjpegd_record_frames_total") - frames0
        writer = t1.get("record/0", 0) - t0.get("record/0", 0)
        return writer / max(pub, 1) / 1e3, pub, frames
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mjpegd", default="build/mjpegd")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"# {args.size} at {args.fps} fps, {args.window:.0f} s windows, load {loadavg():.2f}")
    results = {name: [] for name, _ in MODES}
    for i in range(args.repeat):
        for name, extra in MODES:
            with tempfile.TemporaryDirectory(prefix="motion-bench-") as tmp:
                us, pub, frames = run(args, extra, tmp)
            results[name].append(us)
            print(f"# run {i}: {name}: record/0 {us:.0f} us per published frame, {pub:.0f} "
                  f"published, {frames:.0f} written, load {loadavg():.2f}")
    print("| mode | record/0 CPU per frame, median | runs |")
    print("|---|---|---|")
    for name, _ in MODES:
        vals = ", ".join(f"{v:.0f}" for v in results[name])
        print(f"| {name} | {statistics.median(results[name]):.0f} us | {vals} |")


if __name__ == "__main__":
    main()
