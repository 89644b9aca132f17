#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd's command line: errors that name the problem, secrets kept out of errors and ps,
and --help and the man page from the one option table (issue 7, fault 9)."""
import os
import re
import subprocess
import tempfile

from harness import MULT, binary, check, check_eq, main, test
from mjpegd_fixture import Mjpegd, basic


def run(*args):
    return subprocess.run([binary("mjpegd"), *args], capture_output=True, text=True, timeout=30 * MULT)


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode("utf-8", "replace")


@test
def test_unknown_option_is_called_unknown():
    for args in (["--no-such-option"], ["--no-such-option", "1"], ["--no-such-option=1"]):
        r = run(*args)
        check_eq(r.returncode, 2, f"{args} status")
        check("unknown option '--no-such-option'" in r.stderr, f"{args}: {r.stderr!r}")
        check("needs a value" not in r.stderr, f"{args}: {r.stderr!r}")
    r = run("--fps")
    check_eq(r.returncode, 2, "--fps without a value")
    check("needs a value" in r.stderr, f"--fps alone: {r.stderr!r}")


@test
def test_bad_auth_value_is_not_echoed():
    secret = "Sup3rS3cretNoColon"
    for args in (["--auth", secret], [f"--auth={secret}"]):
        r = run(*args)
        check_eq(r.returncode, 2, f"{args} status")
        check(secret not in r.stderr + r.stdout, f"the bad --auth value was echoed: {r.stderr!r}")
        check("--auth" in r.stderr, f"the error does not name --auth: {r.stderr!r}")


@test(timeout=60)
def test_auth_file_keeps_the_password_out_of_ps():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "auth")
        with open(path, "w") as f:
            f.write("viewer:Fil3dPassw0rd\n")
        with Mjpegd("--auth-file", path) as srv:
            check("Fil3dPassw0rd" not in cmdline(srv.pid), "password in the command line")
            check_eq(srv.get("/state").status, 401, "/state without credentials")
            r = srv.get("/state", headers={"Authorization": basic("viewer", "Fil3dPassw0rd")})
            check_eq(r.status, 200, "/state with the credentials of the file")


@test(timeout=60)
def test_auth_value_is_scrubbed_from_ps():
    with Mjpegd("--auth", "viewer:Cmdl1nePassw0rd") as srv:
        check("Cmdl1nePassw0rd" not in cmdline(srv.pid), f"password visible in ps: {cmdline(srv.pid)!r}")
        r = srv.get("/state", headers={"Authorization": basic("viewer", "Cmdl1nePassw0rd")})
        check_eq(r.status, 200, "the scrubbed password still works")


@test
def test_help_and_man_page_list_every_option_the_parser_knows():
    man = run("--help-man")
    check_eq(man.returncode, 0, "--help-man status")
    check(man.stdout.startswith(".TH MJPEGD 1"), f"not a man page: {man.stdout[:80]!r}")
    names = [n.replace("\\-", "-") for n in re.findall(r"^\.B \\-\\-(\S+)", man.stdout, re.M)]
    check(len(names) >= 15, f"man page options: {names}")
    helptext = run("--help").stdout
    for name in names:
        if name == "help-man":
            continue
        check(f"--{name}" in helptext, f"--{name} is in the man page but not in --help")
        r = run(f"--{name}=")
        check("unknown option" not in r.stderr, f"the parser does not know --{name}: {r.stderr!r}")


if __name__ == "__main__":
    main()
