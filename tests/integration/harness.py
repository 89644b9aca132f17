# SPDX-License-Identifier: MIT
"""A tiny test harness for integration tests (standard library only).

    from harness import test, main, check, ...
    @test
    def test_something(): ...
    if __name__ == "__main__": main()

Each test runs under a SIGALRM timeout (scaled by TEST_TIMEOUT_MULTIPLIER) and prints one TAP
line; the file exits non-zero if any test failed. Arguments filter tests by substring.
"""
import os
import signal
import sys
import time
import traceback

_TESTS = []
MULT = max(1, int(os.environ.get("TEST_TIMEOUT_MULTIPLIER", "1")))
VARIANT = os.environ.get("VARIANT", "default")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test(fn=None, *, timeout=60):
    """Registers fn as a test with a timeout in seconds (before the multiplier)."""
    def wrap(f):
        _TESTS.append((f, timeout))
        return f
    return wrap(fn) if fn is not None else wrap


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout("test timed out")


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def check_eq(a, b, what=""):
    if a != b:
        raise AssertionError(f"{what}: {a!r} != {b!r}" if what else f"{a!r} != {b!r}")


def binary(name):
    """Path of a binary under test: $MJPEGD / $QUOTEPACK, else build/<name>."""
    env = os.environ.get(name.upper())
    return env if env else os.path.join(ROOT, "build", name)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_for(pred, timeout=5.0, interval=0.02):
    """Polls pred() until true or timeout (scaled); returns the last value."""
    deadline = time.monotonic() + timeout * MULT
    v = pred()
    while not v and time.monotonic() < deadline:
        time.sleep(interval)
        v = pred()
    return v


def main():
    name = os.path.basename(sys.argv[0])
    wanted = sys.argv[1:]
    signal.signal(signal.SIGALRM, _alarm)
    failed = 0
    for fn, timeout in _TESTS:
        if wanted and not any(w in fn.__name__ for w in wanted):
            continue
        t0 = time.monotonic()
        signal.alarm(timeout * MULT)
        try:
            fn()
            signal.alarm(0)
            print(f"ok - {name}: {fn.__name__} ({time.monotonic() - t0:.2f}s)", flush=True)
        except BaseException as e:  # noqa: BLE001 - a test failure of any kind
            signal.alarm(0)
            failed += 1
            for line in traceback.format_exc().rstrip().splitlines():
                print(f"# {line}", flush=True)
            print(f"not ok - {name}: {fn.__name__} # {type(e).__name__}: {e}", flush=True)
            if isinstance(e, KeyboardInterrupt):
                break
    sys.exit(1 if failed else 0)
