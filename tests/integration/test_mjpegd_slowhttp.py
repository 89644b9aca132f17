#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd under slowhttptest (slowloris, slow read, slow body), each bounded in time and
connections, with a real viewer streaming meanwhile: the viewer keeps receiving frames and the
server's fd count is back to its baseline afterwards. Prints the figures as TAP comments."""
import re
import shutil
import subprocess
import time

from harness import MULT, check, check_eq, main, test
from mjpegd_fixture import Mjpegd, PartParser, read_streams

SECONDS = 10       # length of each attack (slowhttptest -l)
CONNECTIONS = 200  # slowhttptest -c (modest: the machine is shared)
SLICE = 2.0        # the viewer must get a frame in every slice of this many seconds


def run_attack(name, mode_args, path="/", extra=()):
    if shutil.which("slowhttptest") is None:
        print(f"# {name}: SKIP slowhttptest is not installed (scripts/deps test)", flush=True)
        return None
    with Mjpegd("--header-timeout", "2") as srv:
        viewer, head = srv.open_stream()
        check_eq(head.status, 200, "viewer before the attack")
        parser = PartParser(status=200)
        url = f"http://{srv.host}:{srv.port}{path}"
        cmd = ["slowhttptest", *mode_args, "-c", str(CONNECTIONS), "-r", "100", "-i", "1",
               "-l", str(SECONDS), "-p", "3", "-u", url, *extra]
        att = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        slices, peak_fds = [], srv.fds()
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < SECONDS:
                before = parser.frames
                read_streams([viewer], SLICE, [parser])
                peak_fds = max(peak_fds, srv.fds())
                slices.append(parser.frames - before)
                check(not parser.eof, f"{name}: the viewer's stream ended during the attack")
            try:
                out, _ = att.communicate(timeout=(SECONDS + 30) * MULT)
            except subprocess.TimeoutExpired:
                att.kill()
                out, _ = att.communicate()
        finally:
            if att.poll() is None:
                att.kill()
                att.wait()
        text = re.sub(r"\x1b\[[0-9;]*m", "", out.decode(errors="replace"))
        stats = re.findall(r"(pending|connected|error|closed|service available):\s+(\S+)", text)
        last = {}
        for k, v in stats:
            last[k] = v
        print(f"# {name}: {CONNECTIONS} connections asked, slowhttptest's last "
              f"stats {last}; server fds peak {peak_fds} (baseline {srv.baseline}); viewer frames "
              f"per {SLICE:.0f} s slice: {slices}", flush=True)
        check(all(n > 0 for n in slices), f"{name}: a {SLICE} s slice without a frame: {slices}")
        viewer.close()
        srv.check_fds(timeout=15)
        check_eq(srv.get("/state").status, 200, "server answers after the attack")
    return slices


@test(timeout=120)
def test_slowloris_viewer_keeps_streaming():
    run_attack("slowloris", ["-H"])


@test(timeout=120)
def test_slow_read_viewer_keeps_streaming():
    # Slow readers of snapshots: tiny advertised windows, 5 bytes read a second.
    run_attack("slow read", ["-X"], path="/snapshot",
               extra=["-k", "2", "-n", "1", "-w", "1", "-y", "64", "-z", "5"])


@test(timeout=120)
def test_slow_body_viewer_keeps_streaming():
    run_attack("slow body", ["-B"], extra=["-s", "8192"])


if __name__ == "__main__":
    main()
