#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd behind Debian's nginx on loopback, configured as the README says.

nginx runs from its own config in a temporary folder (prefix, pid file, logs and temp paths
there), on an ephemeral loopback port, in front of mjpegd under /cam/, with basic auth at the
proxy and a TLS listener (a throw-away self-signed certificate). The stream and a snapshot are
fetched and decoded through it with ffprobe. nginx is stopped by the pid in its pid file.
"""
import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, ffprobe

NGINX = "/usr/sbin/nginx"
USER, PASSWORD = "viewer", "s3cret"

CONF = """
{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    upstream mjpegd {{
        server 127.0.0.1:{upstream};
        keepalive 4;
    }}
    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;
        server_name localhost;

        location /cam/ {{
            auth_basic "camera";
            auth_basic_user_file {tmp}/htpasswd;
            proxy_pass http://mjpegd/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }}
    }}
}}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Nginx:
    """nginx in the foreground (daemon off) with everything under tmp; stop() by its pid file."""

    def __init__(self, upstream, tmp):
        self.tmp = tmp
        self.upstream = upstream
        self.proc = None
        self.port = self.tls_port = None

    def start(self):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout",
                        os.path.join(self.tmp, "key.pem"), "-out", os.path.join(self.tmp, "cert.pem")],
                       check=True, capture_output=True, timeout=30 * MULT)
        with open(os.path.join(self.tmp, "htpasswd"), "w") as f:
            f.write(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        # Root's workers would run as nobody, who cannot read a private temp folder.
        user = "user root;" if os.geteuid() == 0 else ""
        for attempt in range(5):  # another process may take the free port first: try another
            self.port, self.tls_port = free_port(), free_port()
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(CONF.format(user=user, tmp=self.tmp, upstream=self.upstream, port=self.port,
                                    tls_port=self.tls_port))
            self.proc = subprocess.Popen([NGINX, "-p", self.tmp, "-e", os.path.join(self.tmp, "error.log"),
                                          "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            if wait_for(lambda: self.proc.poll() is not None or (port_open(self.port) and port_open(self.tls_port)),
                        20) and self.proc.poll() is None:
                return self
            self.stop()
        raise AssertionError(f"nginx did not start: {self.error_log()[-2000:]}")

    def error_log(self):
        try:
            with open(os.path.join(self.tmp, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            pid = self.proc.pid
            try:
                with open(os.path.join(self.tmp, "nginx.pid")) as f:
                    pid = int(f.read().strip() or pid)
            except (OSError, ValueError):
                pass
            check_eq(pid, self.proc.pid, "nginx pid file names the process we started")
            os.kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(10 * MULT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def auth_header():
    return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def http_get(port, path, auth=True, tls=False):
    """One GET through nginx (HTTP/1.1, Connection: close); returns (status, headers, body)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20 * MULT)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    hdr = f"Authorization: {auth_header()}\r\n" if auth else ""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{hdr}Connection: close\r\n\r\n".encode())
    data = b""
    while True:
        d = sock.recv(65536)
        if not d:
            break
        data += d
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size.split(b";")[0], 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return int(lines[0].split()[1]), headers, body


def ffprobe_stream(url, frames=5):
    """Decodes the first `frames` frames of an MJPEG stream URL; returns ffprobe's JSON."""
    r = subprocess.run(["ffprobe", "-v", "error", "-rw_timeout", str(20 * 1000000 * MULT),
                        "-headers", f"Authorization: {auth_header()}\r\n",
                        "-tls_verify", "0", "-f", "mpjpeg", "-read_intervals", f"%+#{frames}",
                        "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
                        "-show_entries", "frame=width,height,pict_type", "-of", "json", url],
                       capture_output=True, timeout=60 * MULT)
    check(r.returncode == 0, f"ffprobe {url} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    return json.loads(r.stdout)


@test(timeout=180)
def test_stream_and_snapshot_decode_through_nginx_with_auth_and_tls():
    with Mjpegd() as srv, tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        with Nginx(srv.port, tmp) as ngx:
            # Auth at the proxy: nothing without the password.
            status, headers, _ = http_get(ngx.port, "/cam/snapshot", auth=False)
            check_eq(status, 401, "no credentials")
            check("basic" in headers.get("www-authenticate", "").lower(), f"401 headers: {headers}")

            for tls, port in ((False, ngx.port), (True, ngx.tls_port)):
                what = "https" if tls else "http"
                status, headers, body = http_get(port, "/cam/snapshot", tls=tls)
                check_eq(status, 200, f"{what} snapshot status")
                check_eq(headers.get("content-type"), "image/jpeg", f"{what} snapshot type")
                st = ffprobe(body)
                check_eq((st["codec_name"], st["width"], st["height"]), ("mjpeg", 320, 240), f"{what} snapshot")

                out = ffprobe_stream(f"{what}://127.0.0.1:{port}/cam/stream")
                check_eq([(s["codec_name"], s["width"], s["height"]) for s in out["streams"]],
                         [("mjpeg", 320, 240)], f"{what} stream")
                frames = out.get("frames", [])
                check(len(frames) >= 5, f"{what}: decoded {len(frames)} frames, want 5")
                check(all((f["width"], f["height"]) == (320, 240) for f in frames), f"{what} frame sizes")

            # The page and its relative URLs work under the /cam/ prefix.
            status, headers, body = http_get(ngx.port, "/cam/")
            check_eq(status, 200, "viewer page through the proxy")
            check(b'fetch("state"' in body, "the page fetches a relative state URL")
            status, _, body = http_get(ngx.port, "/cam/state")
            check_eq(status, 200, "/cam/state")
            check_eq(json.loads(body)["width"], 320, "state through the proxy")
            check("[emerg]" not in ngx.error_log() and "[alert]" not in ngx.error_log(),
                  f"nginx errors: {ngx.error_log()[-2000:]}")
        srv.check_fds()


if __name__ == "__main__":
    main()
