#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Soak: N minutes of churn against mjpegd on its test source, RSS and fd count sampled every
second into a CSV; reports whether both are flat after the warm-up.

    nice -n 10 bench/soak.py [--minutes 10] [--csv soak.csv] [--mjpegd build/mjpegd]

Churn (modest, for a shared machine): viewers that connect, read a random 0.5-3 s and leave
(some with a reset), snapshot requests, and stuck viewers that never read (shed by the server's
--send-timeout). --relay would add a relay of a second mjpegd: it needs the http source, not on
main yet, so the flag only reports that. Flat: after dropping the warm-up (the first tenth),
the median of the last third is within 10 % (+2 MiB RSS, +4 fds) of the first third's.
"""
import argparse
import csv
import os
import random
import socket
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from mjpegd_fixture import Mjpegd  # noqa: E402

stop = threading.Event()
counts = {"viewer_sessions": 0, "viewer_bytes": 0, "snapshots": 0, "stuck": 0, "errors": 0}
lock = threading.Lock()


def bump(key, n=1):
    with lock:
        counts[key] += n


def connect(srv, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect((srv.host, srv.port))
    return s


def viewer(srv, rng):
    while not stop.is_set():
        try:
            s = connect(srv)
            s.sendall(b"GET /stream HTTP/1.1\r\nHost: soak\r\n\r\n")
            end = time.monotonic() + rng.uniform(0.5, 3.0)
            while time.monotonic() < end and not stop.is_set():
                d = s.recv(65536)
                if not d:
                    break
                bump("viewer_bytes", len(d))
            if rng.random() < 0.3:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
            bump("viewer_sessions")
        except OSError:
            bump("errors")
            time.sleep(0.2)


def snapshots(srv, rng):
    while not stop.is_set():
        try:
            s = connect(srv)
            s.sendall(b"GET /snapshot HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
            while s.recv(65536):
                pass
            s.close()
            bump("snapshots")
        except OSError:
            bump("errors")
        stop.wait(rng.uniform(0.1, 0.4))


def stuck(srv, rng):
    while not stop.is_set():
        try:
            s = connect(srv, rcvbuf=4096)
            s.sendall(b"GET /stream HTTP/1.1\r\nHost: soak\r\n\r\n")
            stop.wait(rng.uniform(3, 8))  # never reads; the server sheds it at --send-timeout
            s.close()
            bump("stuck")
        except OSError:
            bump("errors")
            time.sleep(0.2)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def flat(values, abs_slack):
    n = len(values)
    warm = n // 10
    rest = values[warm:]
    third = max(1, len(rest) // 3)
    first, last = statistics.median(rest[:third]), statistics.median(rest[-third:])
    return first, last, last <= first * 1.10 + abs_slack


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--csv", default="soak.csv")
    ap.add_argument("--mjpegd", default=os.path.join(ROOT, "build", "mjpegd"))
    ap.add_argument("--viewers", type=int, default=4)
    ap.add_argument("--stuck", type=int, default=2)
    ap.add_argument("--relay", action="store_true",
                    help="also relay a second mjpegd (needs the http source: not available yet)")
    ap.add_argument("--plot", help="write a PNG plot here (needs python3-matplotlib)")
    a = ap.parse_args()
    if a.relay:
        print("soak: --relay needs mjpegd's http source, which this tree does not have yet",
              file=sys.stderr)
        return 2
    os.environ["MJPEGD"] = a.mjpegd
    rng = random.Random(1)
    with Mjpegd("--send-timeout", "2", "--header-timeout", "5") as srv:
        threads = [threading.Thread(target=viewer, args=(srv, random.Random(rng.random())))
                   for _ in range(a.viewers)]
        threads += [threading.Thread(target=stuck, args=(srv, random.Random(rng.random())))
                    for _ in range(a.stuck)]
        threads.append(threading.Thread(target=snapshots, args=(srv, random.Random(rng.random()))))
        for t in threads:
            t.start()
        rows = []
        t0 = time.monotonic()
        try:
            with open(a.csv, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["t_s", "rss_kb", "fds", *counts.keys()])
                while time.monotonic() - t0 < a.minutes * 60:
                    time.sleep(1 - (time.monotonic() - t0) % 1)
                    if not srv.alive():
                        print("soak: the server died", file=sys.stderr)
                        return 1
                    with lock:
                        c = dict(counts)
                    row = [round(time.monotonic() - t0), rss_kb(srv.pid), srv.fds(), *c.values()]
                    rows.append(row)
                    w.writerow(row)
                    f.flush()
        finally:
            stop.set()
            for t in threads:
                t.join()
    rss = [r[1] for r in rows]
    fds = [r[2] for r in rows]
    r1, r2, rss_ok = flat(rss, 2048)
    f1, f2, fds_ok = flat(fds, 4)
    print(f"soak: {a.minutes:g} min, {len(rows)} samples -> {a.csv}")
    print(f"soak: churn {counts}")
    print(f"soak: RSS median first third {r1:.0f} KiB, last third {r2:.0f} KiB, max {max(rss)} KiB:"
          f" {'flat' if rss_ok else 'GROWING'}")
    print(f"soak: fds median first third {f1:.0f}, last third {f2:.0f}, max {max(fds)}:"
          f" {'flat' if fds_ok else 'GROWING'}")
    if a.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("soak: no matplotlib, no plot", file=sys.stderr)
        else:
            fig, ax1 = plt.subplots(figsize=(8, 3))
            ax1.plot([r[0] for r in rows], [v / 1024 for v in rss], label="RSS MiB")
            ax1.set_xlabel("s")
            ax1.set_ylabel("RSS (MiB)")
            ax2 = ax1.twinx()
            ax2.plot([r[0] for r in rows], fds, color="tab:orange", label="fds")
            ax2.set_ylabel("fds")
            fig.tight_layout()
            fig.savefig(a.plot, dpi=80)
    return 0 if rss_ok and fds_ok else 1


if __name__ == "__main__":
    sys.exit(main())
