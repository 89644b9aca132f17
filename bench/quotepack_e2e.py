#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""End-to-end benchmark: quotepack against the seed's Python design, both fetching from nginx.

Generates SYMBOLS CSVs of ROWS rows in the original Yahoo layout (newest first), serves them
from a private nginx on 127.0.0.1, runs bench/baseline/seed_quotepack.py and then
build/quotepack on the same URLs, and prints a markdown table: wall time, MB/s of CSV, peak
RSS. A second scenario runs quotepack alone on 10,000 symbols for its peak RSS.

usage: bench/quotepack_e2e.py [--quotepack build/quotepack] [--symbols 400] [--rows 5000]
                              [--big 10000] [--skip-baseline]
Everything runs on loopback and every process started here is stopped before exit.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gen_csv(path, rows, seed):
    rnd = random.Random(seed)
    price = rnd.uniform(5, 500)
    day = 20000  # days since the epoch, counted backwards: newest first
    lines = ["Date,Open,High,Low,Close,Volume,Adj Close\n"]
    for _ in range(rows):
        o = price
        c = max(0.01, o * (1 + rnd.gauss(0, 0.02)))
        h = max(o, c) * (1 + abs(rnd.gauss(0, 0.01)))
        lo = min(o, c) * (1 - abs(rnd.gauss(0, 0.01)))
        v = rnd.randint(10_000, 50_000_000)
        t = time.gmtime(day * 86400)
        lines.append(f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d},{o:.2f},{h:.2f},{lo:.2f},"
                     f"{c:.2f},{v},{c * 0.98:.2f}\n")
        price = c
        day -= 1
    with open(path, "w") as f:
        f.writelines(lines)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(root, work):
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off;
master_process off;
worker_processes 1;
error_log {work}/nginx-error.log;
pid {work}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path {work}/tmp;
    proxy_temp_path {work}/tmp;
    fastcgi_temp_path {work}/tmp;
    uwsgi_temp_path {work}/tmp;
    scgi_temp_path {work}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
    os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("nginx did not start")


def timed(cmd, cwd=None):
    """Runs cmd; returns (seconds, peak RSS in MB, exit status)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    dt = time.monotonic() - t0
    proc.stderr.close()
    rc = os.waitstatus_to_exitcode(status)
    return dt, ru.ru_maxrss / 1024.0, rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quotepack", default=os.path.join(ROOT, "build", "quotepack"))
    ap.add_argument("--symbols", type=int, default=400)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--big", type=int, default=10000)
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="qp-bench-")
    nginx = None
    try:
        data = os.path.join(work, "csv")
        os.makedirs(data)
        syms = [f"S{i:05d}" for i in range(args.symbols)]
        for i, s in enumerate(syms):
            gen_csv(os.path.join(data, s + ".csv"), args.rows, i)
        total = sum(os.path.getsize(os.path.join(data, s + ".csv")) for s in syms)
        # The big run reuses the same files under 10,000 names (symlinks served by nginx).
        big = [f"B{i:05d}" for i in range(args.big)]
        for i, s in enumerate(big):
            os.symlink(os.path.join(data, syms[i % len(syms)] + ".csv"),
                       os.path.join(data, s + ".csv"))
        big_total = sum(os.path.getsize(os.path.join(data, syms[i % len(syms)] + ".csv"))
                        for i in range(args.big))
        nginx, port = start_nginx(data, work)
        url = f"http://127.0.0.1:{port}/{{symbol}}.csv"
        mb = total / 1e6
        rows = []

        if not args.skip_baseline:
            out = os.path.join(work, "out-seed")
            dt, rss, rc = timed(["/usr/bin/python3",
                                 os.path.join(ROOT, "bench", "baseline", "seed_quotepack.py"),
                                 url, "100", out] + syms)
            rows.append(("seed design (Python 3 port)", args.symbols, mb, dt, rss, rc))
            base_dt = dt
        for label, extra in (("quotepack (default: tgz, fast)", []),
                             ("quotepack --isolate", ["--isolate"]),
                             ("quotepack --format tzst", ["--format", "tzst"])):
            out = os.path.join(work, "out-qp")
            shutil.rmtree(out, ignore_errors=True)
            dt, rss, rc = timed([args.quotepack, "--source", url, "--out", out,
                                 "--batch", "100"] + extra + syms)
            rows.append((label, args.symbols, mb, dt, rss, rc))
        if args.big:
            out = os.path.join(work, "out-big")
            listf = os.path.join(work, "big.txt")
            with open(listf, "w") as f:
                f.write("\n".join(big) + "\n")
            dt, rss, rc = timed([args.quotepack, "--source", url, "--out", out,
                                 "--batch", "100", "--symbols", listf])
            rows.append(("quotepack, 10,000 symbols", args.big, big_total / 1e6, dt, rss, rc))
            shutil.rmtree(out, ignore_errors=True)

        print(f"\n{args.symbols} CSVs x {args.rows} rows = {mb:.1f} MB, nginx on loopback, "
              f"{os.cpu_count()} cores\n")
        print("| run | symbols | CSV MB | seconds | MB/s | x seed | peak RSS MB | exit |")
        print("|---|---|---|---|---|---|---|---|")
        for label, n, m, dt, rss, rc in rows:
            speed = m / dt if dt > 0 else 0
            ratio = f"{base_dt / dt:.0f}x" if not args.skip_baseline and n == args.symbols else "-"
            print(f"| {label} | {n} | {m:.1f} | {dt:.2f} | {speed:.1f} | {ratio} | {rss:.0f} | {rc} |")
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGTERM)
            try:
                nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
