#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Soak: N minutes of churn against three long-lived mjpegd and one that comes and goes, RSS
and fd count of every mjpegd sampled every second; reports whether both are flat after the
warm-up, and writes the samples (CSV, JSON) and a plot (SVG, and ASCII on stdout).

    nice -n 10 bench/soak.py [--minutes 10] [--out-dir docs/bench] [--mjpegd build/mjpegd]

The servers (loopback only, each stopped by its pid, SIGTERM then SIGKILL):
  main      the test source at 320x240, 30 fps, --send-timeout 2
  relay     an http source relaying main's /stream (a second mjpegd)
  flapper   a test source at 15 fps that is stopped and restarted on the same port: up for a
            random 20-40 s, down for 3-8 s (the source that comes and goes)
  relay2    an http source relaying flapper: its supervision retries while flapper is down;
            after each restart the script waits for relay2 to publish frames again (counted)
Churn (modest, for a shared machine), each client its own thread with its own seeded RNG:
  viewers that connect to /stream, read a random 0.5-3 s and leave (30 % with a reset),
  snapshots every 0.1-0.4 s, stuck viewers that never read for 3-8 s (a 4 KiB receive buffer:
  the server sheds them at --send-timeout). On main: --viewers, --stuck and one snapshotter;
  on relay: 2 viewers, 1 stuck viewer, one snapshotter; on relay2: 1 viewer, one snapshotter.

Flat (per long-lived server, main, relay, relay2; flapper is restarted, so it is reported but
not judged): drop the warm-up (the first 20 % of the samples); over the remaining 80 %,
  RSS: max <= median + max(5 % of the median, 1024 KiB), and the median of the last tenth of
       the run <= the median of the first tenth after the warm-up + the same slack (no trend);
  fds: max <= median + the clients that may be connected to it at once (+ 4 for the relay's
       upstream connection and part memfds in flight), and the last-tenth median <= the
       first-tenth median + 2.
The fd count is every entry of /proc/PID/fd, the frames' part memfds included.
"""
import argparse
import csv
import json
import os
import random
import socket
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from mjpegd_fixture import Mjpegd, ServerDied  # noqa: E402

stop = threading.Event()
lock = threading.Lock()
counts = {}  # "server.kind" -> n


def bump(key, n=1):
    with lock:
        counts[key] = counts.get(key, 0) + n


class Target:
    """A server the clients talk to; flapper's Mjpegd object is replaced on each restart."""

    def __init__(self, name, srv):
        self.name = name
        self.srv = srv
        self.host, self.port = srv.host, srv.port


def connect(t, rcvbuf=None, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((t.host, t.port))
    return s


def viewer(t, rng):
    while not stop.is_set():
        s = None
        try:
            s = connect(t)
            s.sendall(b"GET /stream HTTP/1.1\r\nHost: soak\r\n\r\n")
            end = time.monotonic() + rng.uniform(0.5, 3.0)
            while time.monotonic() < end and not stop.is_set():
                d = s.recv(65536)
                if not d:
                    break
                bump(f"{t.name}.viewer_bytes", len(d))
            if rng.random() < 0.3:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
            bump(f"{t.name}.viewer_sessions")
        except socket.timeout:
            bump(f"{t.name}.viewer_stalls")  # no frame for 5 s (relay2 while flapper is down)
        except OSError:
            bump(f"{t.name}.errors")
            stop.wait(0.2)
        finally:
            if s is not None:
                s.close()


def snapshots(t, rng):
    while not stop.is_set():
        s = None
        try:
            s = connect(t, timeout=10)
            s.sendall(b"GET /snapshot HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
            head = s.recv(65536)
            while s.recv(65536):
                pass
            bump(f"{t.name}.snapshots" if head.startswith(b"HTTP/1.1 200")
                 else f"{t.name}.snapshots_not_200")
        except OSError:
            bump(f"{t.name}.errors")
        finally:
            if s is not None:
                s.close()
        stop.wait(rng.uniform(0.1, 0.4))


def stuck(t, rng):
    while not stop.is_set():
        s = None
        try:
            s = connect(t, rcvbuf=4096)
            s.sendall(b"GET /stream HTTP/1.1\r\nHost: soak\r\n\r\n")
            stop.wait(rng.uniform(3, 8))  # never reads; the server sheds it at --send-timeout
            bump(f"{t.name}.stuck")
        except OSError:
            bump(f"{t.name}.errors")
            stop.wait(0.2)
        finally:
            if s is not None:
                s.close()


def flap(flapper, relay2, rng, args):
    """Stops and restarts flapper on its port until the end; counts relay2's recoveries."""
    port = flapper.port
    while not stop.wait(rng.uniform(20, 40)):
        flapper.srv.stop()
        bump("flapper.stops")
        if stop.wait(rng.uniform(3, 8)):
            return
        try:
            before = relay2.srv.state()["frames_published"]
        except Exception:  # noqa: BLE001 (a relay that does not answer is reported below)
            before = None
        for _ in range(20):  # the port may still be held for a moment
            try:
                flapper.srv = Mjpegd(*args, listen=f"127.0.0.1:{port}").start()
                break
            except ServerDied:
                if stop.wait(0.5):
                    return
        else:
            bump("flapper.restart_failures")
            continue
        bump("flapper.starts")
        deadline = time.monotonic() + 60
        while before is not None and not stop.is_set() and time.monotonic() < deadline:
            try:
                if relay2.srv.state()["frames_published"] > before + 5:
                    bump("relay2.recoveries")
                    break
            except Exception:  # noqa: BLE001
                pass
            stop.wait(0.5)


def proc_sample(pid):
    """(RSS KiB, fds) of pid, or (None, None) if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return None, None


def verdict(rss, fds, fd_slack):
    """The flat test of the module docstring over one server's samples."""
    n = len(rss)
    warm = n // 5
    r, f = rss[warm:], fds[warm:]
    tenth = max(1, n // 10)
    rmed = statistics.median(r)
    rslack = max(0.05 * rmed, 1024)
    fmed = statistics.median(f)
    out = {
        "samples": n, "warmup_samples": warm,
        "rss_kb": {"first": rss[0], "median": rmed, "max": max(r), "min": min(r),
                   "first_tenth_median": statistics.median(r[:tenth]),
                   "last_tenth_median": statistics.median(rss[-tenth:]), "slack": rslack},
        "fds": {"first": fds[0], "median": fmed, "max": max(f), "min": min(f),
                "first_tenth_median": statistics.median(f[:tenth]),
                "last_tenth_median": statistics.median(fds[-tenth:]), "slack": fd_slack},
    }
    R, F = out["rss_kb"], out["fds"]
    R["flat"] = R["max"] <= rmed + rslack and R["last_tenth_median"] <= R["first_tenth_median"] + rslack
    F["flat"] = F["max"] <= fmed + fd_slack and F["last_tenth_median"] <= F["first_tenth_median"] + 2
    return out


COLORS = {"main": "#1f77b4", "relay": "#d62728", "relay2": "#2ca02c", "flapper": "#999999"}


def svg_plot(path, t, series, warm_t, title):
    """Two panels (RSS MiB, fds) of every server against time; standard library only."""
    W, H, L, R, T, B, GAP = 760, 420, 56, 110, 28, 30, 36
    ph = (H - T - B - GAP) / 2
    tmax = max(t) if t else 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{L}" y="16" font-size="13">{title}</text>']
    for k, (key, label) in enumerate((("rss", "RSS (MiB)"), ("fds", "fds"))):
        top = T + k * (ph + GAP)
        vals = [v for s in series.values() for v in s[key] if v is not None]
        vmax = max(vals) * (1 / 1024 if key == "rss" else 1) if vals else 1
        ymax = vmax * 1.15 if vmax > 0 else 1

        def X(x):
            return L + (W - L - R) * x / tmax

        def Y(y, top=top, ymax=ymax):
            return top + ph - ph * y / ymax
        out.append(f'<rect x="{L}" y="{top}" width="{W - L - R}" height="{ph}" fill="none" '
                   f'stroke="#444"/>')
        out.append(f'<text x="8" y="{top + ph / 2}" transform="rotate(-90 14 {top + ph / 2})">'
                   f'{label}</text>')
        for i in range(5):
            y = ymax * i / 4
            out.append(f'<text x="{L - 4}" y="{Y(y) + 4:.1f}" text-anchor="end">{y:.0f}</text>')
            out.append(f'<line x1="{L}" x2="{W - R}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" '
                       f'stroke="#eee"/>')
        out.append(f'<line x1="{X(warm_t):.1f}" x2="{X(warm_t):.1f}" y1="{top}" y2="{top + ph}" '
                   f'stroke="#888" stroke-dasharray="4 3"/>')
        for name, s in series.items():
            pts, segs = [], []
            for x, v in zip(t, s[key]):
                if v is None:
                    if pts:
                        segs.append(pts)
                    pts = []
                    continue
                pts.append(f"{X(x):.1f},{Y(v / 1024 if key == 'rss' else v):.1f}")
            if pts:
                segs.append(pts)
            for p in segs:
                out.append(f'<polyline fill="none" stroke="{COLORS.get(name, "black")}" '
                           f'stroke-width="1.2" points="{" ".join(p)}"/>')
    for i in range(6):
        x = tmax * i / 5
        out.append(f'<text x="{L + (W - L - R) * x / tmax:.1f}" y="{H - 10}" '
                   f'text-anchor="middle">{x:.0f} s</text>')
    for i, name in enumerate(series):
        out.append(f'<rect x="{W - R + 12}" y="{T + 10 + 16 * i}" width="12" height="3" '
                   f'fill="{COLORS.get(name, "black")}"/>')
        out.append(f'<text x="{W - R + 28}" y="{T + 15 + 16 * i}">{name}</text>')
    out.append(f'<text x="{W - R + 12}" y="{T + 15 + 16 * len(series) + 8}" fill="#888">'
               f'- - warm-up end</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def ascii_plot(t, values, width=60, height=6):
    """A small text chart of values (None: gap), one column per bucket (its max), the y axis
    zoomed to the values' range (labels are absolute: a flat line stays on one or two rows)."""
    n = len(values)
    cols = []
    for c in range(width):
        b = [v for v in values[c * n // width:(c + 1) * n // width] if v is not None]
        cols.append(max(b) if b else None)
    seen = [v for v in cols if v is not None] or [0]
    lo, hi = min(seen), max(seen)
    pad = max((hi - lo) * 0.1, hi * 0.01, 1)
    lo, hi = lo - pad, hi + pad
    lines = []
    for row in range(height - 1, -1, -1):
        top = lo + (hi - lo) * (row + 1) / height
        bot = lo + (hi - lo) * row / height
        cells = "".join("*" if v is not None and bot <= v < top else " " for v in cols)
        fmt = "9.1f" if hi - lo < 50 else "9.0f"
        lines.append(f"{top:{fmt}} |{cells}")
    lines.append(f"{lo:{'9.1f' if hi - lo < 50 else '9.0f'}} +" + "-" * width)
    lines.append(" " * 11 + f"0 s{' ' * (width - 10)}{t[-1] if t else 0} s")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--out-dir", default=".", help="soak.csv, soak.json and soak.svg go here")
    ap.add_argument("--mjpegd", default=os.path.join(ROOT, "build", "mjpegd"))
    ap.add_argument("--viewers", type=int, default=4, help="churning viewers on main")
    ap.add_argument("--stuck", type=int, default=2, help="stuck viewers on main")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.environ["MJPEGD"] = a.mjpegd
    os.makedirs(a.out_dir, exist_ok=True)
    rng = random.Random(a.seed)
    common = ("--send-timeout", "2", "--header-timeout", "5")
    flap_args = ("--fps", "15", *common)
    started = []
    threads = []
    rows = []
    try:
        main_srv = Mjpegd(*common).start()
        started.append(main_srv)
        relay_srv = Mjpegd("--source", f"http://127.0.0.1:{main_srv.port}/stream", *common).start()
        started.append(relay_srv)
        flap_srv = Mjpegd(*flap_args).start()
        started.append(flap_srv)
        relay2_srv = Mjpegd("--source", f"http://127.0.0.1:{flap_srv.port}/stream",
                            *common).start()
        started.append(relay2_srv)
        tg = {"main": Target("main", main_srv), "relay": Target("relay", relay_srv),
              "flapper": Target("flapper", flap_srv), "relay2": Target("relay2", relay2_srv)}
        # The clients each server may have at once, for the fd slack of the verdict.
        clients = {"main": a.viewers + a.stuck + 1 + 1, "relay": 2 + 1 + 1, "relay2": 1 + 1}

        def spawn(fn, *args):
            threads.append(threading.Thread(target=fn, args=(*args, random.Random(rng.random()))))
        for _ in range(a.viewers):
            spawn(viewer, tg["main"])
        for _ in range(a.stuck):
            spawn(stuck, tg["main"])
        spawn(snapshots, tg["main"])
        for _ in range(2):
            spawn(viewer, tg["relay"])
        spawn(stuck, tg["relay"])
        spawn(snapshots, tg["relay"])
        spawn(viewer, tg["relay2"])
        spawn(snapshots, tg["relay2"])
        threads.append(threading.Thread(target=flap, args=(tg["flapper"], tg["relay2"],
                                                           random.Random(rng.random()),
                                                           flap_args)))
        for th in threads:
            th.start()
        t0 = time.monotonic()
        names = ["main", "relay", "relay2", "flapper"]
        with open(os.path.join(a.out_dir, "soak.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t_s"] + [f"{n}_{k}" for n in names for k in ("rss_kb", "fds")])
            while time.monotonic() - t0 < a.minutes * 60:
                time.sleep(1 - (time.monotonic() - t0) % 1)
                for n in ("main", "relay", "relay2"):
                    if not tg[n].srv.alive():
                        print(f"soak: {n} died; stderr tail: {tg[n].srv.stderr_text()[-2000:]}",
                              file=sys.stderr)
                        return 2
                row = [round(time.monotonic() - t0)]
                for n in names:
                    srv = tg[n].srv
                    row += list(proc_sample(srv.pid) if srv.alive() else (None, None))
                rows.append(row)
                w.writerow(["" if v is None else v for v in row])
                f.flush()
    finally:
        stop.set()
        for th in threads:
            th.join()
        if "tg" in locals():
            started.append(tg["flapper"].srv)
        for srv in started:
            srv.stop()
    t = [r[0] for r in rows]
    series = {n: {"rss": [r[1 + 2 * i] for r in rows], "fds": [r[2 + 2 * i] for r in rows]}
              for i, n in enumerate(names)}
    result = {"minutes": a.minutes, "seed": a.seed, "viewers": a.viewers, "stuck": a.stuck,
              "counts": dict(sorted(counts.items())), "servers": {}}
    ok = True
    for n in ("main", "relay", "relay2"):
        v = verdict(series[n]["rss"], series[n]["fds"], clients[n] + 4)
        result["servers"][n] = v
        ok = ok and v["rss_kb"]["flat"] and v["fds"]["flat"]
    fl = [x for x in series["flapper"]["rss"] if x is not None]
    ff = [x for x in series["flapper"]["fds"] if x is not None]
    result["servers"]["flapper"] = {"judged": False, "up_samples": len(fl),
                                    "rss_kb_max": max(fl, default=None),
                                    "fds_max": max(ff, default=None)}
    result["flat"] = ok
    result["samples"] = {"t_s": t, **{f"{n}_{k}": series[n][k] for n in names
                                      for k in ("rss", "fds")}}
    with open(os.path.join(a.out_dir, "soak.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    warm_t = t[len(t) // 5] if t else 0
    svg_plot(os.path.join(a.out_dir, "soak.svg"), t, series, warm_t,
             f"mjpegd soak, {a.minutes:g} min: RSS and fds every second")
    print(f"soak: {a.minutes:g} min, {len(rows)} samples -> {a.out_dir}/soak.{{csv,json,svg}}")
    print(f"soak: churn {json.dumps(result['counts'])}")
    for n in ("main", "relay", "relay2"):
        R, F = result["servers"][n]["rss_kb"], result["servers"][n]["fds"]
        print(f"soak: {n:7s} RSS first {R['first']} KiB, after warm-up median {R['median']:.0f} "
              f"max {R['max']} (slack {R['slack']:.0f}), first/last tenth "
              f"{R['first_tenth_median']:.0f}/{R['last_tenth_median']:.0f}: "
              f"{'flat' if R['flat'] else 'GROWING'}")
        print(f"soak: {n:7s} fds first {F['first']}, after warm-up median {F['median']:.0f} "
              f"max {F['max']} (slack {F['slack']}), first/last tenth "
              f"{F['first_tenth_median']:.0f}/{F['last_tenth_median']:.0f}: "
              f"{'flat' if F['flat'] else 'GROWING'}")
    print(f"soak: flapper (restarted, not judged) {result['servers']['flapper']}")
    for n in ("main", "relay", "relay2"):
        print(f"\n{n} RSS (KiB, max per {max(1, len(t) // 60)} s)")
        print(ascii_plot(t, series[n]["rss"]))
        print(f"{n} fds")
        print(ascii_plot(t, series[n]["fds"], height=4))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
