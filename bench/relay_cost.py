#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 8: what the http:// source (relay) costs per relayed frame, against the floor.

    bench/relay_cost.py --mjpegd build/mjpegd --frames build/bench/split_input.mjpeg \\
        [--fps 30,240] [--window 10] [--repeat 3] [--count 30]

The first --count JPEGs of --frames (an MJPEG file: JPEGs back to back) are written to a
temporary folder. For each rate, three mjpegd setups are measured, one after the other, with no
viewer on the measured process:

- relay: an upstream `mjpegd --source file:DIR --fps F` and the measured
  `mjpegd --source http://127.0.0.1:UP/stream` (libcurl + the multipart parser);
- file: the measured `mjpegd --source file:DIR --fps F` (the same frames, no HTTP, no parsing);
- pipe: the measured `mjpegd --source pipe:-`, this script writing the same frames into its
  stdin at F per second (the JPEG splitter, no HTTP).

The measured figure is the process's utime + stime (/proc/PID/stat) over --window seconds, after
a 2 s warm-up, divided by the frames it published in that window (frames_published in /state),
so a source slowed down by a busy machine is not flattered; the same from the threads' schedstat
run time (nanoseconds, so not limited to 10 ms ticks) is printed beside it. The upstream and the pipe writer are
other processes and are not counted. The 1-minute load average is printed before each run: the
machine may be shared. Standard library only.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mjpegd_bench import Server, cpu_seconds  # noqa: E402


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def get_state(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=10) as r:
        return json.loads(r.read())


def published(port):
    return get_state(port)["frames_published"]


def split_jpegs(path, count):
    with open(path, "rb") as f:
        data = f.read()
    parts = [b"\xff\xd8" + p for p in data.split(b"\xff\xd8")[1:]]
    parts = [p for p in parts if p.endswith(b"\xff\xd9")][:count]
    if not parts:
        raise RuntimeError(f"no JPEG in {path}")
    return parts


class PipeServer(Server):
    """mjpegd --source pipe:- fed by a thread writing frames at fps (not counted)."""

    def __init__(self, binary, frames, fps):
        super().__init__(binary, ["--source", "pipe:-"])
        self.frames, self.fps, self.stopping = frames, fps, threading.Event()

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        threading.Thread(target=self._drain, daemon=True).start()
        threading.Thread(target=self._feed, daemon=True).start()
        if not self.ready.wait(15) or self.port is None:
            self.stop()
            raise RuntimeError("pipe server did not start:\n" + "\n".join(self.lines[-20:]))
        return self

    def _feed(self):
        period, nxt, i = 1.0 / self.fps, time.monotonic(), 0
        try:
            while not self.stopping.is_set():
                self.proc.stdin.write(self.frames[i % len(self.frames)])
                self.proc.stdin.flush()
                i += 1
                nxt += period
                d = nxt - time.monotonic()
                if d > 0:
                    time.sleep(d)
        except (BrokenPipeError, OSError, ValueError):
            pass

    def stop(self):
        self.stopping.set()
        return super().stop()


def run_ns(pid):
    """Nanoseconds on CPU of every live thread (/proc/PID/task/*/schedstat): finer than ticks."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return total


def measure(srv, window):
    time.sleep(2)
    pid = srv.proc.pid
    c0, r0, p0, t0 = cpu_seconds(pid), run_ns(pid), published(srv.port), time.monotonic()
    time.sleep(window)
    c1, r1, p1, t1 = cpu_seconds(pid), run_ns(pid), published(srv.port), time.monotonic()
    n = p1 - p0
    if n <= 0:
        raise RuntimeError("nothing published in the window:\n" + "\n".join(srv.lines[-20:]))
    return {"cpu_us": 1e6 * (c1 - c0) / n, "run_us": (r1 - r0) / 1e3 / n, "fps": n / (t1 - t0),
            "cpu_pct": 100 * (c1 - c0) / (t1 - t0)}


def run_one(kind, a, folder, frames, fps):
    upstream = None
    try:
        if kind == "relay":
            upstream = Server(a.mjpegd, ["--source", f"file:{folder}", "--fps", str(fps)]).start()
            srv = Server(a.mjpegd, ["--source", f"http://127.0.0.1:{upstream.port}/stream"])
        elif kind == "file":
            srv = Server(a.mjpegd, ["--source", f"file:{folder}", "--fps", str(fps)])
        else:
            srv = PipeServer(a.mjpegd, frames, fps)
        srv.start()
        try:
            return measure(srv, a.window)
        finally:
            srv.stop()
    finally:
        if upstream is not None:
            upstream.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mjpegd", required=True)
    ap.add_argument("--frames", required=True, help="an MJPEG file (JPEGs back to back)")
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--fps", default="30,240")
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kinds", default="relay,file,pipe")
    a = ap.parse_args()
    frames = split_jpegs(a.frames, a.count)
    folder = tempfile.mkdtemp(prefix="relay_cost.")
    try:
        for i, fr in enumerate(frames):
            with open(os.path.join(folder, f"f{i:04d}.jpg"), "wb") as f:
                f.write(fr)
        mean_kb = sum(len(f) for f in frames) / len(frames) / 1024
        print(f"{len(frames)} JPEGs of {mean_kb:.1f} KB on average from {a.frames}; "
              f"window {a.window:g} s, {a.repeat} repeat(s)")
        results = {}
        for fps in [int(x) for x in a.fps.split(",")]:
            for r in range(a.repeat):
                for kind in a.kinds.split(","):
                    la = loadavg()
                    m = run_one(kind, a, folder, frames, fps)
                    results.setdefault((fps, kind), []).append(m)
                    print(f"  {fps} fps {kind:5s} run {r + 1}: load {la:.2f}, published {m['fps']:.1f} fps, "
                          f"{m['cpu_pct']:.1f} % of a core, {m['cpu_us']:.0f} us CPU per frame "
                          f"({m['run_us']:.0f} us by schedstat)", flush=True)
        print()
        print("| rate | source | published | CPU per frame, utime+stime (median; runs) | "
              "by schedstat (median) | % of a core |")
        print("|---|---|---|---|---|---|")
        for (fps, kind), ms in results.items():
            us = [m["cpu_us"] for m in ms]
            print(f"| {fps} fps | {kind} | {statistics.median(m['fps'] for m in ms):.1f} fps | "
                  f"{statistics.median(us):.0f} us ({', '.join(f'{u:.0f}' for u in us)}) | "
                  f"{statistics.median(m['run_us'] for m in ms):.0f} us | "
                  f"{statistics.median(m['cpu_pct'] for m in ms):.1f} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
