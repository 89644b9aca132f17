#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Both programs answer --help and --version, and reject unknown options with status 2."""
import subprocess

from harness import binary, check, check_eq, main, test


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


@test
def test_version_and_help():
    for prog in ("mjpegd", "quotepack"):
        r = run(binary(prog), "--version")
        check_eq(r.returncode, 0, f"{prog} --version status")
        check(r.stdout.startswith(prog + " "), f"{prog} --version printed {r.stdout!r}")
        r = run(binary(prog), "--help")
        check_eq(r.returncode, 0, f"{prog} --help status")
        check("usage" in (r.stdout + r.stderr).lower(), f"{prog} --help has no usage line")


@test
def test_unknown_option_is_a_usage_error():
    for prog in ("mjpegd", "quotepack"):
        r = run(binary(prog), "--no-such-option")
        check_eq(r.returncode, 2, f"{prog} --no-such-option status")
        check(r.stderr.strip() != "", f"{prog} said nothing on a usage error")


if __name__ == "__main__":
    main()
