#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd --listen: [::] is dual-stack, --listen may be repeated, and a name listens on every
address it resolves to (issue 7, fault 10)."""
import os
import re
import socket
import subprocess
import tempfile
import threading

from harness import MULT, binary, check, check_eq, main, test, wait_for
from mjpegd_fixture import SANITIZER_RE

LISTEN_LINE = re.compile(r"listening on (\S+):(\d+)")


def has_ipv6():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


class Server:
    """mjpegd started with a command prefix (may be empty); waits for `count` 'listening on'
    lines (they come together, once the first frame is there). stop() rereads them all."""

    def __init__(self, args, count, prefix=()):
        self.proc = subprocess.Popen([*prefix, binary("mjpegd"), "--size", "320x240", *args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        wait_for(lambda: len(self.addrs()) >= count or self.proc.poll() is not None, 10)
        check(len(self.addrs()) >= count, f"listening lines: {self.text()!r}")

    def _read(self):
        for line in self.proc.stderr:
            with self.lock:
                self.lines.append(line)

    def text(self):
        with self.lock:
            return "".join(self.lines)

    def addrs(self):
        return [(m.group(1).strip("[]"), int(m.group(2))) for m in LISTEN_LINE.finditer(self.text())]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10 * MULT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(10)
        check(not SANITIZER_RE.search(self.text()), f"sanitizer report: {self.text()[-2000:]}")
        return self.proc.returncode


def answers(host, port):
    """True if GET /state on host:port is answered 200."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(10 * MULT)
            s.connect((host, port))
            s.sendall(b"GET /state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200 ")
    except OSError:
        return False


@test(timeout=60)
def test_ipv6_wildcard_is_dual_stack():
    if not has_ipv6():
        print("# skipped: no IPv6 loopback here")
        return
    srv = Server(["--listen", "[::]:0"], 1)
    try:
        check_eq(len(srv.addrs()), 1, f"addresses: {srv.addrs()}")
        port = srv.addrs()[0][1]
        check(answers("::1", port), "[::] does not answer on ::1")
        check(answers("127.0.0.1", port), "[::] does not answer on 127.0.0.1 (IPv6 only?)")
    finally:
        check_eq(srv.stop(), 0, "exit status")


@test(timeout=60)
def test_listen_may_be_repeated():
    args = ["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"]
    if has_ipv6():
        args += ["--listen", "[::1]:0"]
    srv = Server(args, len(args) // 2)
    try:
        addrs = srv.addrs()
        check_eq(len(addrs), len(args) // 2, f"addresses: {addrs}")
        check_eq(len({p for _, p in addrs}), len(addrs), "two options with port 0 got one port")
        for host, port in addrs:
            check(answers(host, port), f"no answer on {host}:{port}")
    finally:
        check_eq(srv.stop(), 0, "exit status")


def can_fake_hosts():
    """True if a private mount namespace with our own /etc/hosts works here (unshare -r -m)."""
    try:
        r = subprocess.run(["unshare", "-r", "-m", "true"], capture_output=True, timeout=10 * MULT)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@test(timeout=60)
def test_a_name_listens_on_every_address_it_resolves_to():
    """localhost names 127.0.0.1 and ::1 in the /etc/hosts the server sees: both answer."""
    with tempfile.TemporaryDirectory() as d:
        prefix = ()
        expect = {a[4][0] for a in socket.getaddrinfo("localhost", 0, 0, socket.SOCK_STREAM, 0,
                                                      socket.AI_PASSIVE)}
        if has_ipv6() and can_fake_hosts():
            hosts = os.path.join(d, "hosts")
            with open(hosts, "w") as f:
                f.write("127.0.0.1 localhost\n::1 localhost\n")
            # Its own mount namespace, where /etc/hosts is ours; the network is the same.
            prefix = ("unshare", "-r", "-m", "sh", "-c",
                      f"mount --bind {hosts} /etc/hosts && exec \"$0\" \"$@\"")
            expect = {"127.0.0.1", "::1"}
        else:
            print(f"# no private /etc/hosts here: localhost resolves to {sorted(expect)} only")
        srv = Server(["--listen", "localhost:0"], len(expect), prefix=prefix)
        try:
            addrs = srv.addrs()
            check_eq({h for h, _ in addrs}, expect, "addresses listened on")
            check_eq(len({p for _, p in addrs}), 1, f"one port for one option: {addrs}")
            for host, port in addrs:
                check(answers(host, port), f"no answer on {host}:{port}")
        finally:
            check_eq(srv.stop(), 0, "exit status")


if __name__ == "__main__":
    main()
