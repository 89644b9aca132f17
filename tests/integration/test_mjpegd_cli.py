#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd's command line: errors that name the problem, secrets kept out of errors and ps,
and --help, --dump-options and the man page from the one option table (issue 7, fault 9)."""
import os
import re
import subprocess
import tempfile

from harness import MULT, ROOT, binary, check, check_eq, main, test
from mjpegd_fixture import Mjpegd, basic

PYTHON = "/usr/bin/python3"


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


def roff(text):
    """Text as scripts/gen-manpage escapes it (hyphens as \\-), without the bold options."""
    return text.replace("\\", "\\e").replace("-", "\\-")


@test(timeout=60)
def test_help_dump_options_and_man_page_list_every_option_the_parser_knows():
    dump = run("--dump-options")
    check_eq(dump.returncode, 0, "--dump-options status")
    rows = [ln.split("\t") for ln in dump.stdout.splitlines()]
    check(len(rows) >= 15 and all(len(r) == 3 for r in rows), f"--dump-options: {dump.stdout[:300]!r}")
    helptext = run("--help").stdout
    listed = re.findall(r"^  (--[a-z][a-z0-9-]*)", helptext, re.M)
    check_eq([r[0] for r in rows], listed, "--dump-options lists what --help lists")
    check("--dump-options" not in helptext, "--dump-options is in --help")
    page = subprocess.run([PYTHON, os.path.join(ROOT, "scripts", "gen-manpage"), binary("mjpegd")],
                          capture_output=True, text=True, timeout=60 * MULT)
    check_eq(page.returncode, 0, f"gen-manpage: {page.stderr}")
    plain = re.sub(r"\\f[BIR]", "", page.stdout)
    for name, metavar, text in rows:
        r = run(f"{name}=") if metavar else run(f"{name}=x")
        check("unknown option" not in r.stderr, f"the parser does not know {name}: {r.stderr!r}")
        # The man page has each option with its value name and the help text of the table.
        entry = roff(name) + (" " + roff(metavar) if metavar else "") + "\n" + roff(text) + "\n"
        check(entry in plain, f"the man page lacks {name} as the table words it: {entry!r}")


if __name__ == "__main__":
    main()
