#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 14: what recording (--record) costs per frame.

    bench/record_cost.py --mjpegd build/mjpegd [--size 1280x720] [--fps 30] [--window 10]
        [--repeat 3] [--dir DIR] [--segment 10] [--sources 1]

Starts `mjpegd --source test --size S --fps F --record DIR --segment SEC` (no viewer), waits 2 s,
then over --window seconds reads the run time of the recorder's two threads (`record/0`, the
writer, and `rec-tap/0`, the hub client) from /proc/PID/task/TID/schedstat (nanoseconds) and
the frames and bytes they wrote (`mjpegd_record_frames_total`,
`mjpegd_record_bytes_written_total` in /metrics), and prints CPU per recorded frame, bytes/s and
the frames dropped. With --sources N, N test sources are recorded at once and the figures are
per source (each source's threads against its own frames, averaged). The same run without --record gives the whole process's CPU per frame for
comparison (utime+stime is too coarse at 30 fps; schedstat of every thread summed is used).
DIR defaults to a temporary directory under /tmp (say where it lives: tmpfs or a disk). The
1-minute load average is printed: the machine may be shared. Standard library only.
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mjpegd_bench import Server  # noqa: E402


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def threads(pid):
    """{thread name: run time in ns} of every thread of pid (names made unique with #n)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except OSError:
            continue
        key, n = name, 1
        while key in out:
            n += 1
            key = f"{name}#{n}"
        out[key] = ns
    return out


def metric(port, name, label=""):
    """The sum of name's samples (those whose labels contain label)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    total = 0.0
    for m in re.finditer(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", text, re.M):
        if label in (m.group(1) or ""):
            total += float(m.group(2))
    return total


def fs_type(path):
    best, kind = "", "?"
    with open("/proc/mounts") as f:
        for ln in f:
            parts = ln.split()
            mnt, typ = parts[1], parts[2]
            if path.startswith(mnt) and len(mnt) > len(best):
                best, kind = mnt, typ
    return kind


def run(args, record_dir):
    srv_args = ["--size", args.size, "--fps", str(args.fps), "--encoders", "2", "--workers", "1"]
    if record_dir is not None:
        srv_args += ["--record", record_dir, "--segment", str(args.segment)]
    # Given before the --source options, they apply to every source.
    srv_args += ["--source", "test"] * args.sources
    srv = Server(args.mjpegd, srv_args).start()
    try:
        time.sleep(2.0)
        t0 = threads(srv.proc.pid)
        published0 = metric(srv.port, "mjpegd_frames_published_total")
        frames0 = metric(srv.port, "mjpegd_record_frames_total") if record_dir else 0
        bytes0 = metric(srv.port, "mjpegd_record_bytes_written_total") if record_dir else 0
        w0 = time.monotonic()
        time.sleep(args.window)
        wall = time.monotonic() - w0
        t1 = threads(srv.proc.pid)
        published = metric(srv.port, "mjpegd_frames_published_total") - published0
        res = {"published": published, "wall": wall,
               "process_ns": sum(t1.values()) - sum(t0.get(k, 0) for k in t1)}
        if record_dir:
            res["frames"] = metric(srv.port, "mjpegd_record_frames_total") - frames0
            res["bytes"] = metric(srv.port, "mjpegd_record_bytes_written_total") - bytes0
            res["dropped"] = metric(srv.port, "mjpegd_record_dropped_total")
            res["dropped_by"] = {k: metric(srv.port, "mjpegd_record_dropped_total", f'reason="{k}"')
                                 for k in ("queue", "missed", "error")}
            # Per source: the threads of every recorded source, averaged.
            res["writer_ns"] = sum(t1.get(f"record/{i}", 0) - t0.get(f"record/{i}", 0)
                                   for i in range(args.sources)) / args.sources
            res["tap_ns"] = sum(t1.get(f"rec-tap/{i}", 0) - t0.get(f"rec-tap/{i}", 0)
                                for i in range(args.sources)) / args.sources
            res["frames"] /= args.sources
            res["bytes"] /= args.sources
        return res
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mjpegd", default="build/mjpegd")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--segment", type=float, default=10.0)
    ap.add_argument("--sources", type=int, default=1, help="test sources, each recorded")
    ap.add_argument("--dir", default=None, help="where to record (default: a temporary directory)")
    args = ap.parse_args()

    base = args.dir or tempfile.mkdtemp(prefix="record-bench-")
    print(f"# recording into {base} ({fs_type(os.path.realpath(base))}); {args.sources} source(s), "
          f"{args.size} at {args.fps} fps, "
          f"--segment {args.segment}, window {args.window} s, load {loadavg():.1f}")
    rows = {"off": [], "on": []}
    for i in range(args.repeat):
        for mode in ("off", "on"):
            rec = os.path.join(base, f"run{i}") if mode == "on" else None
            r = run(args, rec)
            rows[mode].append(r)
            if mode == "on":
                print(f"# run {i}: recorded {r['frames']:.0f} frames ({r['frames'] / r['wall']:.1f}/s), "
                      f"{r['bytes'] / r['wall'] / 1e6:.2f} MB/s, writer {r['writer_ns'] / max(r['frames'], 1) / 1e3:.1f} us/frame, "
                      f"tap {r['tap_ns'] / max(r['frames'], 1) / 1e3:.1f} us/frame, dropped {r['dropped']:.0f} {r['dropped_by']}, "
                      f"process {r['process_ns'] / max(r['published'], 1) / 1e3:.0f} us/frame, load {loadavg():.1f}")
            else:
                print(f"# run {i}: without --record: process {r['process_ns'] / max(r['published'], 1) / 1e3:.0f} us/frame, "
                      f"load {loadavg():.1f}")

    def med(mode, f):
        return statistics.median(f(r) for r in rows[mode])

    print("| measure | median | runs |")
    print("|---|---|---|")
    on = rows["on"]

    def runs(f, fmt="{:.2f}"):
        return ", ".join(fmt.format(f(r)) for r in on)

    for label, f in (
        ("writer (`record/N`) CPU per recorded frame, per source", lambda r: r["writer_ns"] / max(r["frames"], 1) / 1e3),
        ("tap (`rec-tap/N`) CPU per recorded frame, per source", lambda r: r["tap_ns"] / max(r["frames"], 1) / 1e3),
        ("recorder threads of one source, % of a core", lambda r: (r["writer_ns"] + r["tap_ns"]) / r["wall"] / 1e7),
    ):
        unit = "" if "core" in label else " us"
        print(f"| {label} | {med('on', f):.1f}{unit} | {runs(f, '{:.1f}')} |")
    def mbps(r):
        return r["bytes"] / r["wall"] / 1e6

    def dropped(r):
        return r["dropped"]

    print(f"| bytes written per second | {med('on', mbps):.2f} MB/s | {runs(mbps)} |")
    per_frame = med("on", lambda r: r["bytes"] / max(r["frames"], 1)) / 1e3
    print(f"| bytes per frame | {per_frame:.1f} KB | |")
    print(f"| frames dropped (whole run) | {med('on', dropped):.0f} | {runs(dropped, '{:.0f}')} |")
    for mode in ("off", "on"):
        f = lambda r: r["process_ns"] / max(r["published"], 1) / 1e3  # noqa: E731
        vals = ", ".join("{:.0f}".format(f(r)) for r in rows[mode])
        print(f"| whole process CPU per published frame, --record {mode} | {med(mode, f):.0f} us | {vals} |")
    if args.dir is None:
        import shutil
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
