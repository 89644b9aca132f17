# SPDX-License-Identifier: MIT
"""Shared helpers for the mjpegd integration tests (standard library only).

    with Mjpegd("--fps", "30") as srv:
        c = srv.connect()
        r = c.request("GET /snapshot HTTP/1.1\r\nHost: x\r\n\r\n")
        srv.check_fds()

- Mjpegd starts the binary under test ($MJPEGD) on 127.0.0.1:0, parses the port from its stderr
  line "listening on HOST:PORT", drains stderr in a thread, records an fd baseline, and always
  stops the process on exit (SIGTERM, then SIGKILL). A sanitizer report in its stderr fails the
  test that started it.
- Conn is a raw-socket HTTP/1.1 client with its own read buffer, so pipelined responses and
  multipart parts can be read one by one.
- PartParser parses a multipart/x-mixed-replace body incrementally (for many viewers at once).
- read_streams() reads many streaming connections at once with a selector.
"""
import base64
import errno
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import MULT, binary, check, fd_count, wait_for

BOUNDARY = b"boundarydonotcross"
LISTEN_RE = re.compile(r"listening on (\S+):(\d+)")
SANITIZER_RE = re.compile(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer"
                          r"|runtime error:|ERROR: UndefinedBehaviorSanitizer)")
SMALL = ("--size", "320x240", "--fps", "30")


class ServerDied(Exception):
    pass


class Mjpegd:
    """The server under test. Use as a context manager; stop() is idempotent."""

    def __init__(self, *args, small=True, listen="127.0.0.1:0", start_timeout=10.0,
                 stdin=subprocess.DEVNULL):
        self.stdin = stdin  # what the server reads as its stdin (a pipe: source)
        self.args = [binary("mjpegd")]
        if small:
            self.args += list(SMALL)
        if listen is not None:
            self.args += ["--listen", listen]
        self.args += [str(a) for a in args]
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.host = "127.0.0.1"
        self.stderr_lines = []
        self._lock = threading.Lock()
        self._port_ready = threading.Event()
        self._reader = None
        self.baseline = None
        self.returncode = None

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self):
        self.proc = subprocess.Popen(self.args, stdin=self.stdin,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        if not self._port_ready.wait(self.start_timeout * MULT):
            self.stop()
            raise ServerDied(f"no 'listening on HOST:PORT' line on stderr of {self.args}; "
                             f"stderr: {self.stderr_text()[-2000:]!r}")
        if self.port is None:
            self.stop()
            raise ServerDied(f"server exited before listening (status {self.returncode}); "
                             f"stderr: {self.stderr_text()[-2000:]!r}")
        self.baseline = self._stable_fd_count()
        return self

    def _drain(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.stderr_lines.append(line)
            if self.port is None:
                m = LISTEN_RE.search(line)
                if m:
                    self.host = m.group(1).strip("[]")
                    self.port = int(m.group(2))
                    self._port_ready.set()
        self._port_ready.set()  # EOF: the process is gone (port stays None if it never listened)

    def stderr_text(self):
        # Once the process has exited, its last lines may still be in the pipe: wait for the
        # reader to reach EOF, so that a check right after proc.wait() sees everything.
        if self.proc is not None and self.proc.poll() is not None and self._reader is not None \
                and self._reader is not threading.current_thread():
            self._reader.join(10 * MULT)
        with self._lock:
            return "\n".join(self.stderr_lines)

    def _stable_fd_count(self):
        """The fd count once it has not changed for 0.3 s (threads may still be starting)."""
        # One request first, so that anything opened lazily on the first connection is counted.
        try:
            c = self.connect()
            c.request("GET /state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            c.close()
        except (OSError, HttpError):
            pass
        last, stable_since = self.fds(), time.monotonic()
        deadline = time.monotonic() + 5 * MULT
        while time.monotonic() < deadline:
            time.sleep(0.05)
            n = self.fds()
            if n != last:
                last, stable_since = n, time.monotonic()
            elif time.monotonic() - stable_since >= 0.3:
                break
        return last

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Stops the server (sig, then SIGKILL after timeout*MULT); returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout * MULT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        if self._reader is not None:
            self._reader.join(5)
        return self.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if exc_type is None:
            self.check_no_sanitizer_report()
        return False

    def check_no_sanitizer_report(self):
        text = self.stderr_text()
        m = SANITIZER_RE.search(text)
        check(m is None, f"sanitizer report in the server's stderr: {text[m.start():m.start() + 3000] if m else ''}")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- fds ----------------------------------------------------------------------------
    def fds(self):
        """Open fds, less the frames' part memfds: the hub, each loop and each loop's sender
        hold one of a recent frame, so how many there are depends on which frame each holds."""
        n = 0
        for f in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                if os.readlink(f"/proc/{self.pid}/fd/{f}").startswith("/memfd:mjpegd-part"):
                    continue
            except OSError:
                continue
            n += 1
        return n

    def check_fds(self, timeout=5.0):
        """Fails unless the server's fd count returns to its baseline (closes are asynchronous)."""
        check(self.alive(), f"server died (status {self.proc.poll()}); stderr: {self.stderr_text()[-2000:]}")
        ok = wait_for(lambda: self.fds() <= self.baseline, timeout)
        if not ok:
            fds = sorted(os.readlink(f"/proc/{self.pid}/fd/{f}") for f in os.listdir(f"/proc/{self.pid}/fd"))
            raise AssertionError(f"server fd count {self.fds()} did not return to baseline "
                                 f"{self.baseline} within {timeout * MULT:.0f} s: {fds}")

    # ---- clients ------------------------------------------------------------------------
    def connect(self, rcvbuf=None, source=None, timeout=10.0):
        return Conn(self.host, self.port, rcvbuf=rcvbuf, source=source, timeout=timeout)

    def get(self, path, headers=None, method="GET"):
        """One request on a fresh connection; returns the Response (body read)."""
        c = self.connect()
        try:
            hdrs = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
            return c.request(f"{method} {path} HTTP/1.1\r\nHost: test\r\n{hdrs}Connection: close\r\n\r\n",
                             method=method)
        finally:
            c.close()

    def state(self):
        r = self.get("/state")
        check(r.status == 200, f"/state answered {r.status}")
        return json.loads(r.body)

    def open_stream(self, path="/stream", rcvbuf=None, source=None, headers=""):
        """Opens a stream and reads its response head; returns (Conn, Response)."""
        c = self.connect(rcvbuf=rcvbuf, source=source)
        c.send(f"GET {path} HTTP/1.1\r\nHost: test\r\n{headers}\r\n")
        return c, c.read_head()


class HttpError(Exception):
    pass


class Response:
    def __init__(self, version, status, reason, headers):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), in order
        self.body = b""

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def __repr__(self):
        return f"<Response {self.status} {self.reason} {self.headers} body={len(self.body)}B>"


class Conn:
    """A raw TCP connection with a read buffer. Timeouts raise socket.timeout."""

    def __init__(self, host, port, rcvbuf=None, source=None, timeout=10.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source is not None:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout * MULT)
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.eof = False
        self.head_status = None  # status of the last response head read, if any

    def close(self, reset=False):
        if self.sock is None:
            return
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()
        self.sock = None

    def fileno(self):
        return self.sock.fileno()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def send_tolerant(self, data):
        """Sends what the peer accepts; a reset or EPIPE (the server answered early) is fine."""
        try:
            self.send(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _fill(self, n=65536):
        if self.eof:
            return False
        try:
            d = self.sock.recv(n)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def read_until(self, sep, limit=1 << 20):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out = bytes(self.buf[:i + len(sep)])
                del self.buf[:i + len(sep)]
                return out
            if len(self.buf) > limit:
                raise HttpError(f"no {sep!r} within {limit} bytes")
            if not self._fill():
                raise HttpError(f"connection closed before {sep!r} (have {bytes(self.buf[:200])!r})")

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill(max(65536, n - len(self.buf))):
                raise HttpError(f"connection closed after {len(self.buf)} of {n} bytes")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_to_eof(self, limit=1 << 24):
        while self._fill():
            if len(self.buf) > limit:
                raise HttpError("body too long")
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def read_head(self):
        """Reads a status line and headers; returns a Response with an empty body."""
        head = self.read_until(b"\r\n\r\n", limit=65536).decode("latin-1")
        lines = head.split("\r\n")[:-2]
        m = re.match(r"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise HttpError(f"bad status line {lines[0]!r}")
        headers = []
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if not sep:
                raise HttpError(f"bad header line {ln!r}")
            headers.append((k, v.strip()))
        self.head_status = int(m.group(2))
        return Response(m.group(1), int(m.group(2)), m.group(3) or "", headers)

    def read_response(self, method="GET"):
        """Reads one full response (Content-Length body, or to EOF without one)."""
        r = self.read_head()
        if method == "HEAD" or r.status in (204, 304) or 100 <= r.status < 200:
            return r
        cl = r.header("content-length")
        if cl is not None:
            r.body = self.read_exact(int(cl))
        elif (r.header("transfer-encoding") or "").lower() == "chunked":
            raise HttpError("chunked response (unexpected from mjpegd)")
        else:
            r.body = self.read_to_eof()
        return r

    def request(self, raw, method=None):
        if method is None:
            method = (raw if isinstance(raw, str) else raw.decode("latin-1")).split(" ", 1)[0]
        self.send(raw)
        return self.read_response(method)

    def closed_within(self, seconds):
        """True if the peer closes (EOF or reset) within seconds (scaled); data read is kept."""
        deadline = time.monotonic() + seconds * MULT
        old = self.sock.gettimeout()
        try:
            while not self.eof:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                try:
                    self._fill()
                except socket.timeout:
                    return False
                if len(self.buf) > (1 << 24):
                    self.buf.clear()
            return True
        finally:
            if self.sock is not None:
                self.sock.settimeout(old)

    def is_open_now(self):
        """True if the connection is neither closed nor reset (non-blocking peek)."""
        if self.eof:
            return False
        old = self.sock.gettimeout()
        self.sock.setblocking(False)
        try:
            return len(self.sock.recv(1, socket.MSG_PEEK)) > 0
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        finally:
            self.sock.settimeout(old)

    def read_part(self, strict=False):
        """Reads one multipart part; returns (headers dict lowercased, data)."""
        line = self.read_until(b"\r\n", limit=4096)
        skipped = 0
        while line == b"\r\n" and not strict:
            skipped += 1
            check(skipped < 4, "too many blank lines between parts")
            line = self.read_until(b"\r\n", limit=4096)
        if line.rstrip(b"\r\n") != b"--" + BOUNDARY:
            raise HttpError(f"expected boundary line, got {line[:100]!r}")
        hdrs = {}
        while True:
            ln = self.read_until(b"\r\n", limit=4096)
            if ln == b"\r\n":
                break
            k, sep, v = ln.decode("latin-1").partition(":")
            if not sep:
                raise HttpError(f"bad part header {ln!r}")
            hdrs[k.strip().lower()] = v.strip()
        if "content-length" not in hdrs:
            raise HttpError(f"part without Content-Length: {hdrs}")
        data = self.read_exact(int(hdrs["content-length"]))
        if strict:
            tail = self.read_exact(2)
            if tail != b"\r\n":
                raise HttpError(f"part data not followed by CRLF: {tail!r}")
        return hdrs, data


class PartParser:
    """Incremental multipart/x-mixed-replace parser: feed() bytes, count parts.

    Starts with the HTTP response head. Records each part's length, X-Timestamp and receive time;
    raises HttpError on a malformed stream. Keeps no frame bytes unless keep=True.
    """

    def __init__(self, keep=False, status=None):
        self.buf = bytearray()
        # With a status, the response head was already read (by Conn.read_head).
        self.state = "head" if status is None else ("part" if status == 200 else "done")
        self.status = status
        self.eof = False
        self.remaining = 0
        self.frames = 0
        self.timestamps = []
        self.recv_times = []
        self.keep = keep
        self.datas = []
        self.cur = bytearray()
        self.bytes = 0

    def feed(self, data, now=None):
        self.bytes += len(data)
        self.buf += data
        while True:
            if self.state == "head":
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    if len(self.buf) > 65536:
                        raise HttpError("response head too long")
                    return
                head = bytes(self.buf[:i]).decode("latin-1")
                del self.buf[:i + 4]
                m = re.match(r"^HTTP/1\.[01] (\d{3})", head)
                if not m:
                    raise HttpError(f"bad status line {head[:80]!r}")
                self.status = int(m.group(1))
                if self.status != 200:
                    self.state = "done"
                    return
                self.state = "part"
            elif self.state == "part":
                while self.buf[:2] == b"\r\n":
                    del self.buf[:2]
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    if len(self.buf) > 4096:
                        raise HttpError(f"part head too long: {bytes(self.buf[:100])!r}")
                    return
                head = bytes(self.buf[:i]).decode("latin-1").split("\r\n")
                del self.buf[:i + 4]
                if head[0] != "--" + BOUNDARY.decode():
                    raise HttpError(f"expected boundary, got {head[0][:80]!r}")
                hd = {}
                for ln in head[1:]:
                    k, _, v = ln.partition(":")
                    hd[k.strip().lower()] = v.strip()
                if "content-length" not in hd:
                    raise HttpError(f"part without Content-Length: {hd}")
                self.remaining = int(hd["content-length"])
                ts = hd.get("x-timestamp")
                self.timestamps.append(float(ts) if ts else None)
                self.state = "data"
            elif self.state == "data":
                n = min(self.remaining, len(self.buf))
                if self.keep:
                    self.cur += self.buf[:n]
                del self.buf[:n]
                self.remaining -= n
                if self.remaining > 0:
                    return
                self.frames += 1
                self.recv_times.append(now if now is not None else time.time())
                if self.keep:
                    self.datas.append(bytes(self.cur))
                    self.cur = bytearray()
                self.state = "part"
            else:
                self.buf.clear()
                return


def read_streams(conns, seconds, parsers=None, stop=None):
    """Reads every connection for `seconds` (not scaled), feeding one PartParser each.

    Returns the parsers. A connection that closes is marked eof on its parser (parser.eof=True).
    """
    if parsers is None:
        parsers = [PartParser(status=c.head_status) for c in conns]
    sel = selectors.DefaultSelector()
    for c, p in zip(conns, parsers):
        c.sock.setblocking(False)
        p.eof = getattr(p, "eof", False)
        if c.buf:
            p.feed(bytes(c.buf))
            c.buf.clear()
        sel.register(c.sock, selectors.EVENT_READ, (c, p))
    deadline = time.monotonic() + seconds
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (stop is not None and stop()):
                break
            for key, _ in sel.select(min(left, 0.2)):
                c, p = key.data
                try:
                    d = c.sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionResetError:
                    d = b""
                if not d:
                    p.eof = True
                    sel.unregister(c.sock)
                    continue
                p.feed(d)
    finally:
        sel.close()
        for c in conns:
            if c.sock is not None:
                c.sock.setblocking(True)
                c.sock.settimeout(10 * MULT)
    return parsers


def read_frames(conns, n, seconds):
    """Reads every connection until each has n parts, or for at most `seconds` (not scaled).

    For checks that only ask for at least n parts: the same check as after a fixed window of
    `seconds`, without waiting out the window once it holds. Returns the parsers.
    """
    ps = [PartParser(status=c.head_status) for c in conns]
    return read_streams(conns, seconds, parsers=ps, stop=lambda: all(p.frames >= n for p in ps))


def read_relayed_frames(relay, frames, count=40):
    """Reads count parts of relay's /stream; each must be one of frames (the upstream's JPEGs)
    byte for byte, and at least two different ones must come. Returns the indexes seen."""
    c, head = relay.open_stream()
    check(head.status == 200, f"stream status {head.status}")
    seen = set()
    for i in range(count):
        data = c.read_part()[1]
        check(data in frames, f"part {i} ({len(data)} bytes) is not a whole camera frame")
        seen.add(frames.index(data))
    check(len(seen) >= 2, f"only frames {seen} came through")
    c.close()
    return seen


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def ffprobe(data, fmt=None):
    """Runs ffprobe on bytes; returns the first video stream's dict (codec_name, width, height)."""
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(data)
        f.flush()
        cmd = ["ffprobe", "-v", "error"]
        if fmt:
            cmd += ["-f", fmt]
        cmd += ["-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
                "-of", "json", f.name]
        r = subprocess.run(cmd, capture_output=True, timeout=30 * MULT)
        check(r.returncode == 0, f"ffprobe failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
        streams = json.loads(r.stdout).get("streams", [])
        check(len(streams) == 1, f"ffprobe found no video stream: {r.stdout!r}")
        return streams[0]


def ffprobe_count_frames(data, fmt):
    """Number of frames ffprobe decodes from bytes in the given container format."""
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(data)
        f.flush()
        r = subprocess.run(["ffprobe", "-v", "error", "-f", fmt, "-count_frames", "-select_streams", "v:0",
                            "-show_entries", "stream=nb_read_frames,codec_name,width,height", "-of", "json",
                            f.name], capture_output=True, timeout=60 * MULT)
        check(r.returncode == 0, f"ffprobe failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
        streams = json.loads(r.stdout).get("streams", [])
        check(len(streams) == 1, f"ffprobe found no video stream: {r.stdout!r}")
        return streams[0]


def gray_pixels(jpeg):
    """Decodes one JPEG with ffmpeg; returns (width, height, its luma as bytes, row by row)."""
    info = ffprobe(jpeg)
    w, h = int(info["width"]), int(info["height"])
    r = subprocess.run(["ffmpeg", "-v", "error", "-f", "image2pipe", "-c:v", "mjpeg", "-i", "-",
                        "-f", "rawvideo", "-pix_fmt", "gray", "-"], input=jpeg, capture_output=True,
                       timeout=30 * MULT)
    check(r.returncode == 0, f"ffmpeg failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    check(len(r.stdout) == w * h, f"ffmpeg decoded {len(r.stdout)} bytes, not {w}x{h}")
    return w, h, r.stdout


def mirror_diff(got, want, w, h, flip, rows=None):
    """Mean absolute difference between luma got and want mirrored by flip ("h", "v", "hv",
    "" for none), over rows (a range; all of them by default)."""
    total, n = 0, 0
    for y in rows if rows is not None else range(h):
        sy = h - 1 - y if "v" in flip else y
        a = got[y * w:(y + 1) * w]
        b = want[sy * w:(sy + 1) * w]
        if "h" in flip:
            b = b[::-1]
        total += sum(abs(p - q) for p, q in zip(a, b))
        n += w
    return total / n


def raise_nofile(n):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard) if hard != resource.RLIM_INFINITY else n, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def help_text():
    r = subprocess.run([binary("mjpegd"), "--help"], capture_output=True, timeout=10 * MULT)
    return (r.stdout + r.stderr).decode("utf-8", "replace")


def open_idle(srv, n, payload=b""):
    """Opens n connections that send payload (possibly nothing) and then stay silent."""
    out = []
    try:
        for _ in range(n):
            c = srv.connect()
            if payload:
                c.send(payload)
            out.append(c)
    except BaseException:
        close_all(out)
        raise
    return out


def close_all(conns, reset=False):
    for c in conns:
        try:
            c.close(reset=reset)
        except OSError:
            pass


ERRNO_CLOSED = (errno.ECONNRESET, errno.EPIPE)
