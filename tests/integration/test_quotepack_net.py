#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""quotepack as a network client (issue 10, items 10-12): timeouts that spare a steady slow
body, a Retry-After honoured for the whole host, giving up an unreachable host, and the TLS
and header options curl users expect. Servers on 127.0.0.1 only."""
import os
import re
import socket
import subprocess
import tempfile

from harness import check, check_eq, main, test
from qp_fixture import Fixture, archives, catalog, run_qp


@test(timeout=120)
def test_a_steady_slow_body_is_not_cut_and_max_time_cuts_any():
    """Item 10: --timeout is a low-speed limit (less than --speed-limit bytes/s for that
    long), not a total: a body sent steadily over 4 s passes --timeout 2 in one request.
    --max-time is the optional total."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=60, trickle=4) as fx:
        out = os.path.join(tmp, "out")
        r = run_qp("--source", fx.template, "--out", out, "--timeout", "2", "--retries", "1",
                   "TRICKLEa")
        check_eq(r.returncode, 0, r.stderr)
        check_eq(len(fx.hits["TRICKLEa"]), 1, "requests for a steady slow body")
        check_eq(catalog(out)["TRICKLEa"]["state"], "archived", "state")
        r = run_qp("--source", fx.template, "--out", out, "--max-time", "1", "--retries", "0",
                   "TRICKLEb")
        check_eq(r.returncode, 1, r.stderr)
        row = catalog(out)["TRICKLEb"]
        check("curl error 28" in row["error"], row["error"])
        check_eq(row["failure"], "transient", "a timeout is transient")


@test(timeout=60)
def test_connect_timeout_is_its_own_option():
    """Item 10: a listener whose accept queue is full drops the SYN; --connect-timeout ends
    the attempt (curl reports "Connection timed out after ... milliseconds")."""
    with tempfile.TemporaryDirectory() as tmp:
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(0)
        port = ls.getsockname()[1]
        fillers = []
        try:
            for _ in range(3):  # fill the accept queue (never accepted)
                c = socket.socket()
                c.setblocking(False)
                c.connect_ex(("127.0.0.1", port))
                fillers.append(c)
            out = os.path.join(tmp, "out")
            r = run_qp("--source", f"http://127.0.0.1:{port}/{{symbol}}", "--out", out,
                       "--connect-timeout", "1", "--retries", "0", "CT1")
        finally:
            for c in fillers:
                c.close()
            ls.close()
        check_eq(r.returncode, 1, r.stderr)
        err = catalog(out)["CT1"]["error"]
        # libcurl words it two ways: "Connection timed out after N milliseconds" and, when
        # the timeout fires between its connect attempts, "Connection timeout after N ms"
        # (seen once under ASan on a loaded machine).
        check(any(m in err for m in ("Connection timed out after", "Connection timeout after",
                                     "Failed to connect")), err)


@test(timeout=120)
def test_retry_after_pauses_the_whole_host():
    """Item 11: after "429, Retry-After: 4" no request goes to that host for 4 s, whichever
    symbol it is for (before, the other symbols kept hitting it). Lower bound only."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=5, delay=0.25, retry_after=4) as fx:
        syms = ["R429Ha"] + [f"Wh{i:02d}" for i in range(12)]  # sorted after R429Ha too
        out = os.path.join(tmp, "out")
        r = run_qp("--source", fx.template, "--out", out, "--connections", "2", *syms)
        check_eq(r.returncode, 0, r.stderr)
        t429 = fx.hits["R429Ha"][0] + fx.delay  # when the 429 was sent
        # Requests the client had started before it read the 429 may land just after it;
        # from 1.5 s on, and until the pause ends, none may.
        inside = [(round(t - t429, 2), s) for t, s in fx.starts if t429 + 1.5 < t < t429 + 3.8]
        check_eq(inside, [], "requests during the pause")
        check(fx.hits["R429Ha"][1] - t429 >= 3.8, "the symbol itself was retried too early")
        check_eq(len(sum(archives(out).values(), [])), 13, "members")


@test(timeout=120)
def test_a_host_that_refuses_every_connection_is_given_up():
    """Item 11: after --host-failures connection failures in a row the host is given up: the
    run ends with one clear message instead of a request (and retries) per symbol."""
    with tempfile.TemporaryDirectory() as tmp:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))  # bound, never listening: every connect is refused
        port = s.getsockname()[1]
        try:
            syms = [f"DEAD{i:03d}" for i in range(60)]
            out = os.path.join(tmp, "out")
            r = run_qp("--source", f"http://127.0.0.1:{port}/q/{{symbol}}", "--out", out,
                       "--connections", "4", "--retries", "3", "--host-failures", "4", *syms)
        finally:
            s.close()
        check_eq(r.returncode, 1, r.stderr)
        m = re.search(r"(\d+) requests", r.stderr)
        check(m is not None and int(m.group(1)) <= 8, f"requests: {r.stderr[-600:]}")
        check_eq(r.stderr.count("giving up on http://127.0.0.1:"), 1, r.stderr[-1500:])
        check(r.stderr.count("DEAD0") <= 4, "each failure of a given-up host printed")
        cat = catalog(out)
        check(all(cat[x]["state"] == "failed" and cat[x]["failure"] == "transient"
                  for x in syms), "all failed, transient (a rerun tries again)")


def make_cert(tmp):
    key = os.path.join(tmp, "key.pem")
    cert = os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


@test(timeout=120)
def test_tls_and_header_options():
    """Item 12: --cacert FILE trusts a private CA, --insecure skips the check, --header adds
    request headers (an API key), --user-agent replaces quotepack's."""
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_cert(tmp)
        with Fixture(rows=5, tls=(cert, key)) as fx:
            out = os.path.join(tmp, "out")
            r = run_qp("--source", fx.template, "--out", out, "--retries", "0", "OKt1")
            check_eq(r.returncode, 1, r.stderr)
            check("certificate" in (catalog(out)["OKt1"]["error"] or "").lower(),
                  catalog(out)["OKt1"]["error"])
            r = run_qp("--source", fx.template, "--out", out, "--cacert", cert, "OKt1",
                       "--header", "X-Api-Key: s3cret", "--header", "Accept: text/csv",
                       "--user-agent", "qp-test/1.0")
            check_eq(r.returncode, 0, r.stderr)
            h = fx.headers["OKt1"]
            check_eq(h.get("x-api-key"), "s3cret", "header")
            check_eq(h.get("accept"), "text/csv", "header replacing curl's")
            check_eq(h.get("user-agent"), "qp-test/1.0", "user agent")
            r = run_qp("--source", fx.template, "--out", out, "--insecure", "OKt2")
            check_eq(r.returncode, 0, r.stderr)
            check("quotepack/" in fx.headers["OKt2"].get("user-agent", ""), "default agent")
        for bad in (["--header", "NoColon"], ["--header", ": v"], ["--user-agent", "a\nb"]):
            r = run_qp("--source", "http://127.0.0.1:9/{symbol}", "--out", out, *bad, "A")
            check_eq(r.returncode, 2, f"{bad}: {r.stderr}")


if __name__ == "__main__":
    main()
