#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 14: what playing recordings back (/recordings/SEGMENT) costs, and that it leaves the
live stream alone.

    bench/playback_cost.py --mjpegd build/mjpegd [--size 1280x720] [--fps 30] [--segment 5]
        [--clients 0,1,8] [--dir DIR]

Starts `mjpegd --source test --size S --fps F --record DIR --segment SEC --workers 1
--max-playbacks 64`, waits for the first committed segment, then for each N of --clients plays
that segment to N clients at once (each reads it to its end) while one viewer reads /stream on
the same network loop, and prints: the run time of the playback readers (`play/N`) and of the
network loop (`net/0`, less its rate with the live viewer alone, N = 0 always runs first) from
/proc/PID/task/TID/schedstat, per frame played; how long each
playback took against the segment's recorded span; the live viewer's frames over the window.
The machine may be shared: the 1-minute load average is printed. Standard library only.
"""
import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mjpegd_bench import Server  # noqa: E402

BOUNDARY = b"--boundarydonotcross\r\n"


def run_ns(pid, prefix):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if not f.read().startswith(prefix):
                    continue
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            continue
    return total


def get_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return json.loads(r.read())


def read_all(port, path, out, stop=None):
    """Reads a multipart response to its end (or until stop is set): appends (parts, seconds)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: b\r\n\r\n".encode())
    t0 = time.monotonic()
    parts = 0
    tail = b""
    while stop is None or not stop.is_set():
        b = s.recv(1 << 20)
        if not b:
            break
        # tail is shorter than a boundary: each match found takes at least one new byte.
        parts += (tail + b).count(BOUNDARY)
        tail = (tail + b)[-(len(BOUNDARY) - 1):]
    s.close()
    out.append((parts - 1, time.monotonic() - t0))  # the first boundary ends the head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mjpegd", default="build/mjpegd")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--segment", type=float, default=5)
    ap.add_argument("--clients", default="0,1,8")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        srv = Server(args.mjpegd, ["--source", "test", "--size", args.size, "--fps",
                                   str(args.fps), "--record", d, "--segment", str(args.segment),
                                   "--workers", "1", "--max-playbacks", "64"]).start()
        try:
            deadline = time.monotonic() + 10 * args.segment + 30
            seg = None
            while seg is None and time.monotonic() < deadline:
                js = get_json(srv.port, "/recordings")
                if js["sources"] and js["sources"][0]["segments"]:
                    seg = js["sources"][0]["segments"][0]
                else:
                    time.sleep(0.2)
            if seg is None:
                sys.exit("no segment was committed")
            span = seg["end"] - seg["start"]
            print(f"# {args.size} at {args.fps} fps, segment {seg['name']}: {seg['frames']} "
                  f"frames, {seg['bytes']} bytes, {span:.3f} s recorded; load "
                  f"{os.getloadavg()[0]:.2f}")
            base_net = None  # the loop's ns per second with the live viewer alone (N = 0)
            for n in [0] + [int(x) for x in args.clients.split(",") if int(x) > 0]:
                play0, net0 = run_ns(srv.proc.pid, "play/"), run_ns(srv.proc.pid, "net/")
                done, live, stop = [], [], threading.Event()
                viewer = threading.Thread(target=read_all, args=(srv.port, "/stream", live, stop))
                viewer.start()
                t0 = time.monotonic()
                ths = [threading.Thread(target=read_all,
                                        args=(srv.port, f"/recordings/{seg['name']}", done))
                       for _ in range(n)]
                for t in ths:
                    t.start()
                for t in ths:
                    t.join()
                if n == 0:
                    time.sleep(span)
                stop.set()
                viewer.join()
                window = time.monotonic() - t0
                play = run_ns(srv.proc.pid, "play/") - play0
                net = run_ns(srv.proc.pid, "net/") - net0
                frames = sum(p for p, _ in done)
                if n == 0:
                    base_net = net / window
                extra = max(0.0, net - base_net * window)  # the live viewer's share taken out
                per = f"{play / frames / 1000:.0f} us readers + {extra / frames / 1000:.0f} us " \
                      f"loop per frame played" if frames else \
                      f"the loop alone (live viewer): {net / window / 1e6:.1f} ms/s"
                took = ", ".join(f"{s:.3f}" for _, s in done[:4]) + (" ..." if n > 4 else "")
                print(f"{n:3d} playbacks: {frames} frames played, {per}; each took [{took}] s "
                      f"for {span:.3f} s recorded; live viewer: {live[0][0]} frames in "
                      f"{window:.2f} s ({live[0][0] / window:.1f} fps)")
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
