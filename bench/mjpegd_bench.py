#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runs mjpegd and bench/loadgen through the issue's scenarios and prints a markdown table.

    bench/mjpegd_bench.py --mjpegd build/mjpegd --loadgen build/bench/loadgen [--scenarios v100,v500]

Each scenario starts a fresh server on 127.0.0.1 (ephemeral port, 1280x720 at 30 fps by default),
waits for it to settle, runs the load generator, samples the server's fd count and CPU time during
the run, reads its peak RSS (VmHWM) at the end, then checks that its fd count returns to the
baseline once the load generator has closed everything. Standard library only.
"""
import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.request

LISTEN_RE = re.compile(r"listening on (\S+):(\d+)")

# name: (description, loadgen args, extra server args)
# Viewers connect at 1000/s (a burst of 1000 connects at once is its own scenario: connections
# that have not sent their request yet count against the server's pending cap).
RAMP = ["--connect-rate", "1000"]
SCENARIOS = {
    "v100": ("100 viewers (latency)", ["--viewers", "100"] + RAMP, []),
    "v500": ("500 viewers + 5 that never read", ["--viewers", "500", "--stuck", "5"] + RAMP,
             ["--send-timeout", "120"]),
    "v1000": ("1000 viewers (stretch)", ["--viewers", "1000"] + RAMP, []),
    "v1000burst": ("1000 viewers connecting at once", ["--viewers", "1000"], []),
    "flood": ("3000 idle/slowloris + 20 viewers",
              ["--viewers", "20", "--idle", "1500", "--slowloris", "1500"], []),
}


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(n, hard) if hard != resource.RLIM_INFINITY else hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith(key + ":"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


NICE = 0


def preexec():
    if NICE:
        os.nice(NICE)


class Server:
    def __init__(self, binary, args):
        self.cmd = [binary, "--listen", "127.0.0.1:0"] + args
        self.proc = None
        self.port = None
        self.lines = []
        self.ready = threading.Event()

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=preexec)
        threading.Thread(target=self._drain, daemon=True).start()
        if not self.ready.wait(15) or self.port is None:
            self.stop()
            raise RuntimeError(f"server did not start: {' '.join(self.cmd)}\n" + "\n".join(self.lines[-20:]))
        return self

    def _drain(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append(line)
            if self.port is None:
                m = LISTEN_RE.search(line)
                if m:
                    self.port = int(m.group(2))
                    self.ready.set()
        self.ready.set()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None


def stable_fds(pid, settle=0.5, limit=10.0):
    last, since, t0 = fd_count(pid), time.monotonic(), time.monotonic()
    while time.monotonic() - t0 < limit:
        time.sleep(0.1)
        n = fd_count(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= settle:
            break
    return last


def run_scenario(name, a):
    desc, lg_args, srv_args = SCENARIOS[name]
    server_args = ["--size", a.size, "--fps", str(a.fps), "--max-clients", str(a.max_clients)]
    server_args += srv_args + (a.server_args.split() if a.server_args else [])
    srv = Server(a.mjpegd, server_args).start()
    res = {"scenario": name, "desc": desc, "server_cmd": " ".join(srv.cmd)}
    try:
        pid = srv.proc.pid
        time.sleep(1.0)
        with open("/proc/loadavg") as f:
            res["loadavg"] = f.read().split()[0]
        res["fd_base"] = stable_fds(pid)
        peak = {"fds": res["fd_base"], "clients": []}
        stop = threading.Event()

        def sample():
            n = 0
            while not stop.wait(0.25):
                peak["fds"] = max(peak["fds"], fd_count(pid))
                n += 1
                if n % 4 == 0:  # the server's own count of streaming clients, once a second
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/state", timeout=2) as resp:
                            peak["clients"].append((time.monotonic(), json.loads(resp.read())["clients"]))
                    except (OSError, ValueError, KeyError):
                        pass
        sampler = threading.Thread(target=sample, daemon=True)
        cmd = [a.loadgen, "--port", str(srv.port), "--duration", str(a.duration), "--warmup", str(a.warmup),
               "--threads", str(a.loadgen_threads)] + lg_args
        res["loadgen_cmd"] = " ".join(cmd)
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        sampler.start()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.warmup + a.duration + 120,
                           preexec_fn=preexec)
        stop.set()
        sampler.join()
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # only the load generator was reaped
        res["loadgen_cpu_pct"] = 100.0 * ((ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)) / (t1 - t0)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/state", timeout=10) as resp:
                res["state"] = json.loads(resp.read())
        except (OSError, ValueError) as e:
            res["state"] = {"error": str(e)}
        if a.verbose:
            sys.stderr.write(r.stdout + r.stderr)
        m = re.search(r"^JSON (\{.*\})$", r.stdout, re.M)
        if r.returncode != 0 or not m:
            raise RuntimeError(f"loadgen failed ({r.returncode}): {r.stdout[-2000:]} {r.stderr[-2000:]}")
        res.update(json.loads(m.group(1)))
        res["cpu_pct"] = 100.0 * (cpu1 - cpu0) / (t1 - t0)
        res["rss_peak_mb"] = status_kb(pid, "VmHWM") / 1024.0
        res["fd_peak"] = peak["fds"]
        # Streaming clients the server counted in the last 3 s of the measured window.
        late = [n for t, n in peak["clients"] if t1 - 4.0 <= t <= t1 - 1.0]
        res["clients_end"] = min(late) if late else None
        # The load generator has exited, so every client socket is closed: fds must come back.
        t2 = time.monotonic()
        while fd_count(pid) > res["fd_base"] and time.monotonic() - t2 < a.fd_wait:
            time.sleep(0.1)
        res["fd_after"] = fd_count(pid)
        res["fd_back_s"] = time.monotonic() - t2
        res["server_alive"] = srv.proc.poll() is None
    finally:
        res["exit_status"] = srv.stop()
    return res


def table(results, a):
    out = [f"Server: `--size {a.size} --fps {a.fps}`{f', nice {a.nice}' if a.nice else ''}; "
           f"load generator: {a.loadgen_threads} thread(s), "
           f"{a.warmup:g} s warm-up + {a.duration:g} s measured. fps = frames fully received in the "
           "measured window / its length; latency = from the part's X-Timestamp (capture time) to the receipt "
           "of the part's last byte, and of its head; load = the 1-minute load average before the run.", "",
           "| scenario | viewers ok | slowest fps | p1 / median fps | viewers < 27 fps | latency p50 / p99 / max ms "
           "| head latency p50 / p99 ms | server peak RSS | server CPU | fds base / peak / after | load | notes |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            out.append(f"| {r['desc']} | error: {r['error']} |||||||||||")
            continue
        notes = []
        if r.get("clients_end") is not None:
            notes.append(f"server counted {r['clients_end']} streaming clients near the end")
        if r.get("idle") or r.get("slowloris"):
            notes.append(f"flood: {r['flood_open']} open at the end, {r['flood_closed']} closed by the server")
        if r.get("refused") or r.get("failed") or r.get("no_response"):
            notes.append(f"{r['refused']} refused (503), {r.get('no_response', 0)} closed before a response, "
                         f"{r['failed']} other")
        st = r.get("state", {})
        if "fps" in st:
            notes.append(f"/state after: fps {st['fps']}, {st.get('frames_dropped')} frames dropped")
        if r.get("dropped"):
            notes.append(f"{r['dropped']} viewers dropped")
        if r.get("connect_errors"):
            notes.append(f"{r['connect_errors']} connect errors")
        notes.append(f"fds back in {r['fd_back_s']:.1f} s" if r["fd_after"] <= r["fd_base"]
                     else f"fds NOT back after {r['fd_back_s']:.0f} s")
        notes.append(f"exit {r['exit_status']}")
        out.append(f"| {r['desc']} | {r['ok']}/{r['viewers']} | {r['fps_min']:.2f} | {r['fps_p1']:.2f} / "
                   f"{r['fps_median']:.2f} | {r['below27']} | {r['lat_p50_ms']:.2f} / {r['lat_p99_ms']:.2f} / "
                   f"{r['lat_max_ms']:.1f} | {r['head_lat_p50_ms']:.2f} / {r['head_lat_p99_ms']:.2f} | "
                   f"{r['rss_peak_mb']:.1f} MB | {r['cpu_pct']:.0f}% (loadgen {r['loadgen_cpu_pct']:.0f}%) | "
                   f"{r['fd_base']} / {r['fd_peak']} / {r['fd_after']} | {r['loadavg']} | {'; '.join(notes)} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mjpegd", default="build/mjpegd")
    ap.add_argument("--loadgen", default="build/bench/loadgen")
    ap.add_argument("--scenarios", default="v100,v500,v1000,v1000burst,flood",
                    help="comma-separated: " + ", ".join(SCENARIOS))
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--max-clients", type=int, default=2000)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--loadgen-threads", type=int, default=1)
    ap.add_argument("--fd-wait", type=float, default=20.0, help="seconds to wait for fds to return")
    ap.add_argument("--server-args", default="", help="extra mjpegd arguments")
    ap.add_argument("--json", help="also write the raw results to this file")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the server and the load generator at this nice value (negative: root only), "
                         "to measure on a machine shared with other work")
    ap.add_argument("-v", "--verbose", action="store_true", help="echo the load generator's output")
    a = ap.parse_args()
    global NICE
    NICE = a.nice
    raise_nofile(65536)
    results = []
    for name in a.scenarios.split(","):
        if name not in SCENARIOS:
            ap.error(f"unknown scenario {name!r}")
        print(f"# running {name}: {SCENARIOS[name][0]}", file=sys.stderr, flush=True)
        try:
            results.append(run_scenario(name, a))
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
            results.append({"scenario": name, "desc": SCENARIOS[name][0], "error": str(e)[:300]})
        r = results[-1]
        if "error" not in r:
            print(f"#   server: {r['server_cmd']}\n#   loadgen: {r['loadgen_cmd']}", file=sys.stderr, flush=True)
    print(table(results, a))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
