#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd --auth USER:PASS: HTTP basic auth on every path."""
import base64

from harness import check, check_eq, main, test
from mjpegd_fixture import Mjpegd, basic

USER, PASS = "alice", "s3cret-pass"
PATHS = ("/", "/stream", "/?action=stream", "/snapshot", "/?action=snapshot", "/state", "/metrics", "/nope")


def status_with(srv, path, auth, method="GET"):
    """Status of one request; for streams only the head is read."""
    c = srv.connect()
    try:
        extra = f"Authorization: {auth}\r\n" if auth is not None else ""
        c.send(f"{method} {path} HTTP/1.1\r\nHost: t\r\n{extra}Connection: close\r\n\r\n")
        r = c.read_head()
        return r
    finally:
        c.close()


@test(timeout=90)
def test_auth_required_on_every_path():
    with Mjpegd("--auth", f"{USER}:{PASS}") as srv:
        mismatches = []
        for path in PATHS:
            for method in ("GET", "HEAD"):
                r = status_with(srv, path, None, method)
                if r.status != 401:
                    mismatches.append(f"{method} {path} without credentials: {r.status}, want 401")
                elif not (r.header("www-authenticate") or "").lower().startswith("basic"):
                    mismatches.append(f"{method} {path}: WWW-Authenticate {r.header('www-authenticate')!r}")
        check(not mismatches, "\n  ".join(mismatches))
        srv.check_fds()


@test(timeout=90)
def test_auth_wrong_credentials_are_refused():
    wrong = [
        ("wrong password", basic(USER, "nope")),
        ("wrong user", basic("bob", PASS)),
        ("password prefix", basic(USER, PASS[:-1])),
        ("password with extra char", basic(USER, PASS + "x")),
        ("empty password", basic(USER, "")),
        ("user only", "Basic " + base64.b64encode(USER.encode()).decode()),
        ("swapped", basic(PASS, USER)),
        ("not base64", "Basic !!!notbase64!!!"),
        ("empty", "Basic "),
        ("bearer", "Bearer " + base64.b64encode(f"{USER}:{PASS}".encode()).decode()),
        ("raw credentials", f"Basic {USER}:{PASS}"),
        ("NUL inside", "Basic " + base64.b64encode(f"{USER}:{PASS}\0".encode()).decode()),
    ]
    with Mjpegd("--auth", f"{USER}:{PASS}") as srv:
        mismatches = []
        for name, auth in wrong:
            for path in ("/snapshot", "/stream"):
                r = status_with(srv, path, auth)
                if r.status not in (401, 400):
                    mismatches.append(f"{name} on {path}: {r.status}, want 401")
                elif r.status == 401 and not r.header("www-authenticate"):
                    mismatches.append(f"{name} on {path}: 401 without WWW-Authenticate")
        check(not mismatches, "\n  ".join(mismatches))
        srv.check_fds()


@test(timeout=90)
def test_auth_right_credentials_are_accepted():
    with Mjpegd("--auth", f"{USER}:{PASS}") as srv:
        good = basic(USER, PASS)
        for path in PATHS[:-1]:
            r = status_with(srv, path, good)
            check_eq(r.status, 200, f"GET {path} with the right credentials")
        r = status_with(srv, "/nope", good)
        check_eq(r.status, 404, "unknown path with the right credentials")
        c, r = srv.open_stream(headers=f"Authorization: {good}\r\n")
        try:
            check_eq(r.status, 200, "stream status")
            hdrs, data = c.read_part()
            check(data[:2] == b"\xff\xd8", "stream part is not a JPEG")
        finally:
            c.close()
        r = srv.get("/snapshot", headers={"Authorization": good})
        check(r.body[:2] == b"\xff\xd8", "snapshot is not a JPEG")
        srv.check_fds()


@test(timeout=60)
def test_auth_scheme_is_case_insensitive():
    """RFC 7235: the auth-scheme token is case-insensitive."""
    with Mjpegd("--auth", f"{USER}:{PASS}") as srv:
        token = base64.b64encode(f"{USER}:{PASS}".encode()).decode()
        for scheme in ("basic", "BASIC"):
            r = status_with(srv, "/state", f"{scheme} {token}")
            check_eq(r.status, 200, f"scheme {scheme!r}")


@test(timeout=60)
def test_password_containing_colon():
    """Only the first colon of --auth separates the user from the password (RFC 7617)."""
    with Mjpegd("--auth", "bob:pa:ss") as srv:
        check_eq(status_with(srv, "/state", basic("bob", "pa:ss")).status, 200, "right credentials")
        check_eq(status_with(srv, "/state", basic("bob", "pa")).status, 401, "password cut at the colon")


@test(timeout=60)
def test_no_auth_means_open():
    with Mjpegd() as srv:
        check_eq(status_with(srv, "/state", None).status, 200, "no --auth, no credentials")
        check_eq(status_with(srv, "/state", basic("x", "y")).status, 200, "no --auth, any credentials")


if __name__ == "__main__":
    main()
