#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd as a service: --log-format json, the systemd unit, make install, the man page."""
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

from harness import MULT, ROOT, VARIANT, binary, check, check_eq, main, test
from mjpegd_fixture import Mjpegd, help_text

UNIT_MUST_SAY = ["Type=notify", "WatchdogSec=", "Restart=on-failure", "DynamicUser=yes",
                 "SupplementaryGroups=video", "DevicePolicy=closed", "DeviceAllow=char-video4linux rw",
                 "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes",
                 "ExecReload=/bin/kill -HUP $MAINPID"]


def make_install(**variables):
    """Runs `make install` with the build folder of the variant under test; returns the output."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    args = ["make", "-s", "--no-print-directory", "-C", ROOT, "install"]
    if VARIANT != "default":  # the same build folder (and flags) as the binaries under test
        args.append("SANITIZE=" + VARIANT.replace("-", ","))
    args += [f"{k}={v}" for k, v in variables.items()]
    r = subprocess.run(args, env=env, capture_output=True, timeout=120 * MULT)
    check_eq(r.returncode, 0, f"make install {variables}: {r.stderr.decode(errors='replace')[-2000:]}")
    return r


def help_options():
    opts = re.findall(r"^  (--[a-z][a-z0-9-]*)", help_text(), re.M)
    check(len(opts) >= 10, f"options in --help: {opts}")
    return opts


@test(timeout=60)
def test_log_format_json_writes_one_object_per_line():
    with Mjpegd("--log-format", "json", "--log-level", "debug") as srv:
        check_eq(srv.get("/nope").status, 404, "a request, to get some debug lines")
        srv.stop()
    lines = [ln for ln in srv.stderr_text().split("\n") if ln.strip()]
    check(len(lines) >= 3, f"too few log lines: {lines}")
    msgs = []
    for ln in lines:
        try:
            obj = json.loads(ln)
        except ValueError as e:
            raise AssertionError(f"not a JSON line ({e}): {ln!r}")
        check_eq(sorted(obj), ["ident", "level", "msg", "thread", "time"], f"keys of {ln!r}")
        check_eq(obj["ident"], "mjpegd", "ident")
        check(obj["level"] in ("error", "warn", "info", "debug"), f"level {obj['level']!r}")
        check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", obj["time"]), f"time {obj['time']!r}")
        msgs.append(obj["msg"])
    check(any(re.match(r"^listening on 127\.0\.0\.1:\d+$", m) for m in msgs), f"no listening line: {msgs}")
    check(any(m.startswith("caught signal") for m in msgs), f"no shutdown line: {msgs}")
    r = subprocess.run([binary("mjpegd"), "--log-format", "xml"], capture_output=True, timeout=10 * MULT)
    check_eq(r.returncode, 2, "--log-format xml exit status")
    check(b"--log-format" in r.stderr, f"error message: {r.stderr!r}")


@test(timeout=180)
def test_make_install_with_destdir_puts_binary_man_page_unit_and_docs_under_prefix():
    with tempfile.TemporaryDirectory() as dest:
        make_install(DESTDIR=dest, PREFIX="/usr")
        want = {"usr/bin/mjpegd": 0o755, "usr/share/man/man1/mjpegd.1": 0o644,
                "usr/lib/systemd/system/mjpegd.service": 0o644, "usr/share/doc/mjpegd/README.md": 0o644,
                "usr/share/doc/mjpegd/integrations.md": 0o644,
                "usr/share/doc/mjpegd/examples/mjpegd.default": 0o644}
        for rel, mode in want.items():
            path = os.path.join(dest, rel)
            check(os.path.isfile(path), f"{rel} not installed")
            check_eq(stat.S_IMODE(os.stat(path).st_mode), mode, f"mode of {rel}")
        leftovers = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs if f.endswith(".tmp")]
        check(not leftovers, f"temporary files left: {leftovers}")
        r = subprocess.run([os.path.join(dest, "usr/bin/mjpegd"), "--version"], capture_output=True,
                           timeout=10 * MULT)
        check_eq(r.returncode, 0, "installed binary --version")
        with open(os.path.join(dest, "usr/lib/systemd/system/mjpegd.service")) as f:
            unit = f.read()
        check("ExecStart=/usr/bin/mjpegd $MJPEGD_WAIT $MJPEGD_ARGS" in unit, f"ExecStart in {unit!r}")
        check('Environment="MJPEGD_WAIT=--wait-for-source"' in unit, "the unit does not wait for its camera")
        # The binary installed with the unit knows the flag the unit passes.
        r = subprocess.run([os.path.join(dest, "usr/bin/mjpegd"), "--wait-for-source", "--version"],
                           capture_output=True, timeout=10 * MULT)
        check_eq(r.returncode, 0, f"installed binary --wait-for-source: {r.stderr!r}")
        check("@BINDIR@" not in unit, "unit template not filled in")
        for line in UNIT_MUST_SAY:
            check(re.search(r"^" + re.escape(line), unit, re.M), f"the unit lacks {line!r}")


@test(timeout=120)
def test_man_page_lists_every_option_of_help_and_renders_cleanly():
    with tempfile.TemporaryDirectory() as dest:
        make_install(DESTDIR=dest, PREFIX="/usr")
        with open(os.path.join(dest, "usr/share/man/man1/mjpegd.1")) as f:
            page = f.read()
    check(page.startswith(".\\\" Generated by scripts/gen-manpage"), page[:100])
    check(".TH MJPEGD 1" in page, "no .TH line")
    missing = [o for o in help_options() if "\\fB" + o.replace("-", "\\-") + "\\fR" not in page]
    check(not missing, f"options in --help but not in the man page: {missing}")
    for section in ("NAME", "SYNOPSIS", "OPTIONS", "ENDPOINTS", "ENVIRONMENT", "EXIT STATUS", "FILES"):
        check(f".SH {section}\n" in page, f"no {section} section")
    check("/usr/lib/systemd/system/mjpegd.service" in page, "FILES does not name the installed unit")
    with tempfile.NamedTemporaryFile("w", suffix=".1") as f:
        f.write(page)
        f.flush()
        r = subprocess.run(["groff", "-man", "-ww", "-z", "-K", "utf8", f.name], capture_output=True,
                           timeout=30 * MULT)
    check_eq((r.returncode, r.stderr.decode(errors="replace")), (0, ""), "groff -ww warnings")


@test(timeout=180)
def test_installed_systemd_unit_passes_systemd_analyze_verify():
    if shutil.which("systemd-analyze") is None:
        print("# systemd-analyze not installed (scripts/deps test installs systemd): skipped", flush=True)
        return
    with tempfile.TemporaryDirectory() as prefix:
        # No DESTDIR: ExecStart names the binary just installed, which verify checks for, and
        # MANPATH lets it find man:mjpegd(1) from Documentation=.
        make_install(PREFIX=prefix)
        unit = os.path.join(prefix, "lib/systemd/system/mjpegd.service")
        env = dict(os.environ, MANPATH=os.path.join(prefix, "share/man"), SYSTEMD_LOG_COLOR="0")
        r = subprocess.run(["systemd-analyze", "verify", unit], env=env, capture_output=True,
                           timeout=60 * MULT)
        out = (r.stdout + r.stderr).decode(errors="replace")
        check_eq(r.returncode, 0, f"systemd-analyze verify: {out}")
        ours = [ln for ln in out.splitlines() if "mjpegd" in ln]
        check(not ours, f"systemd-analyze verify complains about the unit: {ours}")
        # The sandboxing keeps its score: "exposure" 2.5 or less on systemd's 0-10 scale.
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=25", unit], env=env,
                           capture_output=True, timeout=60 * MULT)
        last = (r.stdout + r.stderr).decode(errors="replace").strip().splitlines()[-1:]
        check_eq(r.returncode, 0, f"systemd-analyze security: {last}")


if __name__ == "__main__":
    main()
