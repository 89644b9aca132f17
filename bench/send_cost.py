#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd's sending cost against a bare fan-out floor, in one run with one load tool.

    bench/send_cost.py --mjpegd build/mjpegd --floor build/bench/floor --loadgen build/bench/loadgen \\
        [--scenarios v100,v500,v1000] [--servers mjpegd,mjpegd-copy,copy,sendfile,splice] [--repeat 3]

First it captures --capture parts from mjpegd's /stream into a frame pack, so the floor
(bench/floor.c) sends the same frames. Then, for each repetition, scenario and server in turn:
a fresh server on 127.0.0.1 (ephemeral port), its CPU time (utime + stime, /proc/PID/stat)
over --idle seconds with no viewer, then the load generator, and the server's CPU over the load
generator's measured window (less 0.5 s at each end). The sending cost is

    (CPU in the window - idle CPU) / viewer-frames received in the window

in microseconds per viewer-frame, where idle CPU is the idle rate x the window for the floor and,
for mjpegd, whose idle CPU is drawing and encoding, the idle CPU per frame encoded x the frames
encoded in the window (read from /state), so that a source slowed down by a busy machine is not
subtracted at its full rate. The ratio is mjpegd's cost over the copy floor's (floor
`--mode copy`: one sendmsg per viewer per frame), each repetition's ratio taken from runs minutes
apart, then the median over repetitions. The floor's `--mode sendfile` sends each part from a
sealed memfd instead, `--mode splice` by tee + splice from a pipe holding the part.
Every viewer must keep >= 29 fps; stuck viewers (500 + 5 scenario) are read
after the window (loadgen --stuck-drain) and must show one skip to the newest frame.
The 1-minute load average is recorded before each run: the machine may be shared.
Standard library only.
"""
import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mjpegd_bench import Server, cpu_seconds, raise_nofile  # noqa: E402

RAMP = ["--connect-rate", "1000"]
# name: (description, loadgen args, extra mjpegd args)
SCENARIOS = {
    "v100": ("100 viewers", ["--viewers", "100"] + RAMP, []),
    "v500": ("500 viewers + 5 stuck", ["--viewers", "500", "--stuck", "5", "--stuck-drain", "2"] + RAMP,
             ["--send-timeout", "120"]),
    "v1000": ("1000 viewers", ["--viewers", "1000"] + RAMP, []),
}
# mjpegd runs with its default --send (auto); mjpegd-copy is the same binary with --send copy.
SERVERS = ("mjpegd", "mjpegd-copy", "copy", "sendfile", "splice")


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def capture_pack(a, path):
    """Reads a.capture parts from a fresh mjpegd's /stream into a pack (u32 LE length + JPEG)."""
    srv = Server(a.mjpegd, ["--size", a.size, "--fps", str(a.fps)]).start()
    sizes = []
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/stream", timeout=10) as r, \
                open(path, "wb") as out:
            while len(sizes) < a.capture:
                line = r.readline()
                if not line:
                    raise RuntimeError("stream ended during capture")
                if not line.lower().startswith(b"content-length:"):
                    continue
                n = int(line.split(b":", 1)[1])
                while r.readline() not in (b"\r\n", b"\n", b""):
                    pass
                jpeg = r.read(n)
                if len(jpeg) != n or jpeg[:2] != b"\xff\xd8":
                    raise RuntimeError("bad part during capture")
                out.write(struct.pack("<I", n) + jpeg)
                sizes.append(n)
    finally:
        srv.stop()
    return sizes


def get_state(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=10) as r:
        return json.loads(r.read())


def sample(pid, port):
    """CPU seconds, monotonic time and (mjpegd only) frames published so far."""
    c, t = cpu_seconds(pid), time.monotonic()
    enc = get_state(port)["frames_published"] if port else None
    return c, t, enc


def server_for(kind, a, pack, scen_args):
    if kind.startswith("mjpegd"):
        args = ["--size", a.size, "--fps", str(a.fps), "--max-clients", str(a.max_clients)] + scen_args
        if kind == "mjpegd-copy":
            args += ["--send", "copy"]
        return Server(a.mjpegd, args + (a.server_args.split() if a.server_args else []))
    srv = Server(a.floor, [])
    srv.cmd = [a.floor, "--frames", pack, "--fps", str(a.fps), "--mode", kind]
    return srv


def run_one(kind, scen, a, pack):
    desc, lg_args, scen_args = SCENARIOS[scen]
    srv = server_for(kind, a, pack, scen_args).start()
    res = {"server": kind, "scenario": scen, "server_cmd": " ".join(srv.cmd)}
    try:
        pid = srv.proc.pid
        sport = srv.port if kind.startswith("mjpegd") else None
        time.sleep(1.0)
        res["load"] = loadavg()
        c0, t0, e0 = sample(pid, sport)
        time.sleep(a.idle)
        c1, t1, e1 = sample(pid, sport)
        idle_rate = (c1 - c0) / (t1 - t0)
        res["idle_cpu_pct"] = 100.0 * idle_rate
        # mjpegd's idle CPU is drawing and encoding, paid per frame: subtract it per frame
        # encoded, so a source slowed down by a busy machine is not subtracted at full rate.
        idle_per_frame = (c1 - c0) / (e1 - e0) if sport and e1 > e0 else None
        cmd = [a.loadgen, "--port", str(srv.port), "--duration", str(a.duration), "--warmup",
               str(a.warmup), "--threads", str(a.loadgen_threads)] + lg_args
        res["loadgen_cmd"] = " ".join(cmd)
        ts = time.monotonic()
        lg = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(max(0.0, ts + a.warmup + 0.5 - time.monotonic()))
            ca, ta, ea = sample(pid, sport)
            time.sleep(max(0.0, ts + a.warmup + a.duration - 0.5 - time.monotonic()))
            cb, tb, eb = sample(pid, sport)
            out, err = lg.communicate(timeout=a.warmup + a.duration + 120)
        finally:
            if lg.poll() is None:
                lg.kill()
                lg.wait()
        if kind.startswith("mjpegd"):
            st = get_state(srv.port)
            res["send_path"] = st.get("send_path", "copy (before issue 11)")
            res["encoded_fps"] = (eb - ea) / (tb - ta)
        line = [ln for ln in out.splitlines() if ln.startswith("JSON ")]
        if lg.returncode != 0 or not line:
            raise RuntimeError(f"loadgen failed ({lg.returncode}): {out[-1500:]} {err[-500:]}")
        lgr = json.loads(line[-1][5:])
        res["loadgen"] = lgr
        win = tb - ta
        vframes = lgr["frames"] * win / a.duration
        res["window_s"] = win
        res["cpu_pct"] = 100.0 * (cb - ca) / win
        res["viewer_frames"] = vframes
        base = idle_per_frame * (eb - ea) if idle_per_frame is not None else idle_rate * win
        res["cost_us"] = 1e6 * ((cb - ca) - base) / vframes if vframes > 0 else float("nan")
        res["fps_min"] = lgr["fps_min"]
        res["below29"] = lgr["below29"]
        res["ok"] = f"{lgr['ok']}/{lgr['viewers']}"
        if lgr.get("stuck"):
            res["stuck_ok"] = stuck_ok(lgr, a.duration)
    finally:
        res["exit"] = srv.stop()
    return res


def stuck_ok(lgr, duration):
    """Every stuck viewer stayed connected and, read at last, jumped over most of the run: one
    step of at least duration / 2 in X-Timestamp between two parts (a server that queued its
    frames would show only frame-interval steps). How many fresh parts the short drain gets
    depends on the machine's load, so it is reported, not required."""
    return (lgr["stuck_open"] == lgr["stuck"] and lgr["stuck_drained"] == lgr["stuck"]
            and lgr["stuck_skip_min_s"] >= duration / 2)


def fmt_stuck(rs):
    s = [r for r in rs if "stuck_ok" in r]
    if not s:
        return ""
    ok = all(r["stuck_ok"] for r in s)
    stale = max(r["loadgen"]["stuck_stale_max"] for r in s)
    skip = min(r["loadgen"]["stuck_skip_min_s"] for r in s)
    return (f"{'yes' if ok else 'NO'} (skip >= {skip:.1f} s, <= {stale} backlog parts)")


def report(results, a, sizes):
    med = statistics.median
    out = [f"Frames: {len(sizes)} parts captured from mjpegd /stream (`--size {a.size} --fps {a.fps}`), "
           f"JPEG {min(sizes)}-{max(sizes)} bytes, mean {statistics.mean(sizes):.0f}. "
           f"{a.repeat} repetition(s) x ({a.idle:g} s idle + {a.warmup:g} s warm-up + {a.duration:g} s measured) "
           f"per scenario and server; load average {min(r['load'] for r in results):.2f}-"
           f"{max(r['load'] for r in results):.2f}.", ""]
    servers = [k for k in SERVERS if k in a.servers]
    others = [k for k in servers if k != "copy"]
    head = (["scenario"] + [f"{k} us/viewer-frame" if k.startswith("mjpegd") else f"{k} floor" for k in servers]
            + [f"{k} / copy floor" for k in others if "copy" in servers]
            + [f"slowest viewer fps ({' / '.join(servers)})", "stuck skip to newest", "mjpegd send path"])
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scen in a.scenarios:
        by = {k: [r for r in results if r["scenario"] == scen and r["server"] == k and "cost_us" in r]
              for k in servers}
        row = [SCENARIOS[scen][0]]
        row += [f"{med([r['cost_us'] for r in by[k]]):.1f}" if by[k] else "-" for k in servers]
        if "copy" in servers:
            for k in others:
                # Each repetition's ratio pairs runs minutes apart; the median is over repetitions.
                per = [x["cost_us"] / y["cost_us"] for x, y in zip(by[k], by["copy"]) if y["cost_us"] > 0]
                row.append(f"{med(per):.2f} ({', '.join(f'{p:.2f}' for p in per)})" if per else "-")
        row.append(" / ".join(f"{min(r['fps_min'] for r in by[k]):.2f}" if by[k] else "-" for k in servers))
        row.append(fmt_stuck([r for v in by.values() for r in v]))
        row.append(", ".join(sorted({r.get("send_path", "") for k in ("mjpegd", "mjpegd-copy")
                                     for r in by.get(k, [])})))
        out.append("| " + " | ".join(row) + " |")
    idle = [r["idle_cpu_pct"] for r in results if r["server"].startswith("mjpegd")]
    if idle:
        out += ["", f"mjpegd with no viewer (test pattern, {a.idle:g} s each): median {med(idle):.1f} % of a core "
                f"(runs: {', '.join(f'{x:.1f}' for x in idle)})."]
    out += ["", "Every run:", "",
            "| rep | scenario | server | load | idle CPU | CPU in window | viewer-frames | us/viewer-frame "
            "| viewers ok | slowest fps | < 29 fps | mjpegd encoded fps | stuck |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "cost_us" not in r:
            out.append(f"| {r['rep']} | {r['scenario']} | {r['server']} | error: {r.get('error', '?')} ||||||||||")
            continue
        st = "" if "stuck_ok" not in r else ("ok" if r["stuck_ok"] else "NOT skipped")
        enc = f"{r['encoded_fps']:.2f}" if "encoded_fps" in r else ""
        out.append(f"| {r['rep']} | {r['scenario']} | {r['server']} | {r['load']:.2f} | {r['idle_cpu_pct']:.1f} % | "
                   f"{r['cpu_pct']:.1f} % | {r['viewer_frames']:.0f} | {r['cost_us']:.1f} | {r['ok']} | "
                   f"{r['fps_min']:.2f} | {r['below29']} | {enc} | {st} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mjpegd", default="build/mjpegd")
    ap.add_argument("--floor", default="build/bench/floor")
    ap.add_argument("--loadgen", default="build/bench/loadgen")
    ap.add_argument("--scenarios", default="v100,v500,v1000", help="comma-separated: " + ", ".join(SCENARIOS))
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma-separated: " + ", ".join(SERVERS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--max-clients", type=int, default=2000)
    ap.add_argument("--capture", type=int, default=90, help="parts captured for the floor's frame pack")
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of CPU measured with no viewer")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--loadgen-threads", type=int, default=1)
    ap.add_argument("--server-args", default="", help="extra mjpegd arguments")
    ap.add_argument("--json", help="also write the raw results to this file")
    ap.add_argument("--from-json", metavar="FILE", help="print the report of a --json file; run nothing")
    a = ap.parse_args()
    a.scenarios = a.scenarios.split(",")
    a.servers = a.servers.split(",")
    for s in a.scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s!r}")
    for s in a.servers:
        if s not in SERVERS:
            ap.error(f"unknown server {s!r}")
    if a.from_json:
        with open(a.from_json) as f:
            saved = json.load(f)
        results, sizes = saved["results"], saved["sizes"]
        for k, v in saved.get("args", {}).items():
            setattr(a, k, v)
        for r in results:
            if "loadgen" in r and r["loadgen"].get("stuck"):
                r["stuck_ok"] = stuck_ok(r["loadgen"], a.duration)
        print(report(results, a, sizes))
        return 0
    raise_nofile(65536)
    results = []
    with tempfile.TemporaryDirectory(prefix="send_cost.") as tmp:
        pack = os.path.join(tmp, "frames.pack")
        sizes = capture_pack(a, pack)
        print(f"# captured {len(sizes)} frames, mean {statistics.mean(sizes):.0f} bytes", file=sys.stderr)
        for rep in range(1, a.repeat + 1):
            for scen in a.scenarios:
                for kind in a.servers:
                    print(f"# rep {rep} {scen} {kind} (load {loadavg():.2f})", file=sys.stderr, flush=True)
                    try:
                        r = run_one(kind, scen, a, pack)
                    except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
                        r = {"server": kind, "scenario": scen, "error": str(e)[:300], "load": loadavg()}
                    r["rep"] = rep
                    results.append(r)
                    if "cost_us" in r:
                        print(f"#   {r['cost_us']:.1f} us/viewer-frame, cpu {r['cpu_pct']:.1f} % "
                              f"(idle {r['idle_cpu_pct']:.1f} %), slowest {r['fps_min']:.2f} fps",
                              file=sys.stderr, flush=True)
                    else:
                        print(f"#   error: {r['error']}", file=sys.stderr, flush=True)
    print(report(results, a, sizes))
    if a.json:
        args = {k: getattr(a, k) for k in ("scenarios", "servers", "repeat", "size", "fps", "idle",
                                            "warmup", "duration")}
        with open(a.json, "w") as f:
            json.dump({"args": args, "sizes": sizes, "results": results}, f, indent=1)
    ok = all("cost_us" in r and r["below29"] == 0 and r.get("stuck_ok", True) for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
