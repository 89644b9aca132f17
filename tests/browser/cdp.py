# SPDX-License-Identifier: MIT
"""Headless Chromium driven over the DevTools protocol, standard library only.

    with Chromium(profile_dir) as browser:
        page = browser.new_page()
        page.call("Page.navigate", url="http://127.0.0.1:8080/")
        page.evaluate("document.title")
        png = page.screenshot(clip)

- Chromium is started with --remote-debugging-port=0 and a fresh --user-data-dir; the port is
  read from DevToolsActivePort in that folder. It runs in its own process group, which is
  stopped by its id on exit (Browser.close first, then SIGTERM, then SIGKILL).
- WebSocket is a minimal RFC 6455 client (masked frames out, fragments and pings in), enough
  for the DevTools protocol.
- Page sends commands on one page target's socket and keeps the events it receives.
"""
import base64
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import time

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
         "--disable-features=Translate,MediaRouter,OptimizationHints",
         "--password-store=basic", "--use-mock-keychain", "--mute-audio", "--hide-scrollbars"]


class CdpError(Exception):
    pass


class WebSocket:
    """A blocking WebSocket client for ws:// URLs on loopback."""

    def __init__(self, host, port, path, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        self.buf = bytearray()
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(4096)
            if not d:
                raise CdpError("WebSocket handshake: connection closed")
            self.buf += d
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise CdpError(f"WebSocket handshake refused: {head[:200]!r}")
        self.buf = bytearray(rest)

    def close(self):
        if self.sock is not None:
            try:
                self._send_frame(0x8, b"")
            except OSError:
                pass
            self.sock.close()
            self.sock = None

    def _send_frame(self, opcode, payload):
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask(payload, mask)
        self.sock.sendall(head + mask + masked)

    def send_text(self, text):
        self._send_frame(0x1, text.encode())

    def _need(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(max(65536, n - len(self.buf)))
            if not d:
                raise CdpError("WebSocket closed by the browser")
            self.buf += d

    def _take(self, n):
        self._need(n)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def recv_text(self):
        """Returns the next whole text message (answers pings, joins fragments)."""
        parts = []
        while True:
            b0, b1 = self._take(2)
            opcode, fin, n = b0 & 0x0F, b0 & 0x80, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._take(8))[0]
            mask = self._take(4) if b1 & 0x80 else None
            payload = self._take(n)
            if mask:
                payload = _mask(payload, mask)
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                raise CdpError("WebSocket closed by the browser")
            parts.append(payload)
            if fin:
                return b"".join(parts).decode("utf-8", "replace")


def _mask(data, mask):
    """XORs data with the 4-byte mask, fast for large payloads."""
    n = len(data)
    m = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(data, "big") ^ m).to_bytes(n, "big") if n else b""


class Page:
    """One page target: commands, their results, and the events seen so far."""

    def __init__(self, port, ws_path, timeout):
        self.timeout = timeout
        self.ws = WebSocket("127.0.0.1", port, ws_path, timeout)
        self.next_id = 0
        self.events = []

    def close(self):
        self.ws.close()

    def call(self, method, timeout=None, **params):
        """Sends one command and returns its result; raises CdpError on a protocol error."""
        self.next_id += 1
        my_id = self.next_id
        self.ws.send_text(json.dumps({"id": my_id, "method": method, "params": params}))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError(f"{method}: no answer within {timeout or self.timeout:.0f} s")
            self.ws.sock.settimeout(left)
            msg = json.loads(self.ws.recv_text())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def pump(self, seconds):
        """Reads events for up to seconds; returns the list of events read."""
        got = []
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            self.ws.sock.settimeout(left)
            try:
                msg = json.loads(self.ws.recv_text())
            except socket.timeout:
                return got
            if "method" in msg:
                self.events.append(msg)
                got.append(msg)

    def evaluate(self, expr, user_gesture=False):
        """Evaluates a JavaScript expression in the page; returns its JSON value."""
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True,
                      userGesture=user_gesture)
        if "exceptionDetails" in r:
            raise CdpError(f"exception in {expr[:80]!r}: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def screenshot(self, clip=None):
        """A PNG of the viewport, or of clip = {x, y, width, height} in CSS pixels."""
        params = {"format": "png"}
        if clip is not None:
            params["clip"] = dict(clip, scale=1)
        return base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])


class Chromium:
    """A headless Chromium with its own profile folder. Use as a context manager."""

    def __init__(self, profile_dir, timeout=30.0, window="1024,768"):
        self.profile_dir = profile_dir
        self.timeout = timeout
        self.window = window
        self.proc = None
        self.port = None
        self.browser_path = None
        self.log_path = os.path.join(profile_dir, "chromium.log")
        self.pages = []

    def start(self):
        os.makedirs(self.profile_dir, exist_ok=True)
        active = os.path.join(self.profile_dir, "DevToolsActivePort")
        if os.path.exists(active):
            os.unlink(active)
        args = [CHROMIUM] + FLAGS + [f"--user-data-dir={self.profile_dir}", "--remote-debugging-port=0",
                                     f"--window-size={self.window}", "about:blank"]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CdpError(f"chromium exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with open(active) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].strip().isdigit() and lines[1].startswith("/devtools/"):
                    self.port, self.browser_path = int(lines[0]), lines[1].strip()
                    return self
            except FileNotFoundError:
                pass
            time.sleep(0.1)
        self.stop()
        raise CdpError(f"no DevToolsActivePort within {self.timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def _http(self, method, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            c.request(method, path)
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise CdpError(f"{method} {path}: {r.status} {body[:200]!r}")
            return json.loads(body)
        finally:
            c.close()

    def new_page(self):
        """Opens a new blank tab and connects to it."""
        info = self._http("PUT", "/json/new?about:blank")
        ws_url = info["webSocketDebuggerUrl"]
        path = ws_url.split(f":{self.port}", 1)[1]
        page = Page(self.port, path, self.timeout)
        self.pages.append(page)
        return page

    def close_page(self, page):
        """Closes a tab opened by new_page (and its connection)."""
        try:
            page.call("Page.close", timeout=10)
        except (OSError, CdpError):
            pass
        page.close()
        if page in self.pages:
            self.pages.remove(page)

    def browser(self):
        """A connection to the browser target (Browser.* commands)."""
        page = Page(self.port, self.browser_path, self.timeout)
        self.pages.append(page)
        return page

    def stop(self):
        if self.proc is None:
            return
        for p in self.pages:
            try:
                p.close()
            except OSError:
                pass
        self.pages = []
        if self.proc.poll() is None and self.port is not None:
            try:
                b = Page(self.port, self.browser_path, 5)
                b.ws.send_text(json.dumps({"id": 1, "method": "Browser.close", "params": {}}))
                b.close()
                self.proc.wait(10)
            except (OSError, CdpError, subprocess.TimeoutExpired):
                pass
        # The whole group (renderer, GPU and zygote children), by the group id we created.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.2)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
