#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd under a service manager: sd_notify READY=1, WATCHDOG=1 and STOPPING=1.

A fixture plays systemd's part: it listens on a unix datagram socket (a path, or an abstract
name) and starts the server with NOTIFY_SOCKET (and WATCHDOG_USEC) pointing at it.
"""
import os
import socket
import tempfile
import threading
import time

from harness import check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd


class NotifyListener:
    """Collects the datagrams sent to NOTIFY_SOCKET, with the time each arrived."""

    def __init__(self, path=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path is None:
            name = f"mjpegd-test-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.sock.bind(path)
            self.address = path
        self.sock.settimeout(0.2)
        self.messages = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append((time.monotonic(), data.decode("utf-8", "replace")))

    def count(self, prefix):
        with self._lock:
            return sum(1 for _, m in self.messages if any(ln.startswith(prefix) for ln in m.split("\n")))

    def first(self, prefix):
        with self._lock:
            for _, m in self.messages:
                if any(ln.startswith(prefix) for ln in m.split("\n")):
                    return m
        return None

    def close(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()


def with_env(env, fn):
    """Runs fn() with extra environment variables set for the servers it starts."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return fn()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@test(timeout=60)
def test_ready_after_listening_and_stopping_on_shutdown():
    with tempfile.TemporaryDirectory() as tmp:
        nl = NotifyListener(os.path.join(tmp, "notify"))
        try:
            def run():
                with Mjpegd() as srv:
                    msg = wait_for(lambda: nl.first("READY=1"), 10)
                    check(msg is not None, f"no READY=1; got {nl.messages}")
                    check(f"STATUS=listening on 127.0.0.1:{srv.port}" in msg.split("\n"),
                          f"READY message without the address: {msg!r}")
                    # READY=1 means serving: the port answers.
                    check_eq(srv.get("/state").status, 200, "/state after READY=1")
                    check_eq(nl.count("STOPPING=1"), 0, "STOPPING=1 before any signal")
                    check_eq(nl.count("WATCHDOG=1"), 0, "WATCHDOG=1 without WATCHDOG_USEC")
                    check_eq(srv.stop(), 0, "exit status")
                    check(wait_for(lambda: nl.count("STOPPING=1") == 1, 10), f"no STOPPING=1: {nl.messages}")
            with_env({"NOTIFY_SOCKET": nl.address}, run)
        finally:
            nl.close()


@test(timeout=60)
def test_watchdog_pings_on_an_abstract_socket_while_frames_flow():
    nl = NotifyListener()
    try:
        def run():
            with Mjpegd("--fps", "20") as srv:
                check(wait_for(lambda: nl.count("READY=1") == 1, 10), f"no READY=1: {nl.messages}")
                # WATCHDOG_USEC=200 ms: a wake-up every 100 ms, a ping each time frames came.
                check(wait_for(lambda: nl.count("WATCHDOG=1") >= 5, 20),
                      f"fewer than 5 WATCHDOG=1 pings: {nl.messages}")
                check(srv.alive(), "server died")
        with_env({"NOTIFY_SOCKET": nl.address, "WATCHDOG_USEC": "200000"}, run)
    finally:
        nl.close()


@test(timeout=60)
def test_a_watchdog_meant_for_another_process_is_ignored():
    nl = NotifyListener()
    try:
        def run():
            with Mjpegd("--fps", "20") as srv:
                check(wait_for(lambda: nl.count("READY=1") == 1, 10), f"no READY=1: {nl.messages}")
                # Frames flow (so a watchdog would have pinged many times by the time 3 are seen).
                first = srv.state()["frames_published"]
                check(wait_for(lambda: srv.state()["frames_published"] >= first + 20, 20), "frames stopped")
                check_eq(nl.count("WATCHDOG=1"), 0, "pings for a WATCHDOG_PID that is not ours")
        with_env({"NOTIFY_SOCKET": nl.address, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"}, run)
    finally:
        nl.close()


if __name__ == "__main__":
    main()
