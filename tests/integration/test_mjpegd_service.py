#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd as a service: --log-format json, the systemd unit, make install, the man page."""
import json
import re
import subprocess

from harness import MULT, binary, check, check_eq, main, test
from mjpegd_fixture import Mjpegd


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


if __name__ == "__main__":
    main()
