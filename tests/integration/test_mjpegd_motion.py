#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""--record-on motion: on a test pattern that moves and then holds still (test:move=M,still=S),
a segment starts with the motion (its pre-roll from before it), stops once the picture holds
still, and the next motion starts the next one; /state and /metrics show the score
(docs/RECORDING.md, "Motion"). No wall-clock asserts: frames are told apart by their capture
sequence numbers (segment names) and the pattern's known period."""
import os
import re
import sqlite3
import subprocess
import tarfile
import tempfile

from harness import MULT, binary, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd

MOVE, STILL = 40, 100  # frames; at 20 fps two seconds of motion, then five held
PERIOD = MOVE + STILL
FPS = 20
PRE_ROLL = 1.0  # seconds: at most FPS frames (plus one) before the motion started
NAME_RE = re.compile(r"^\d{8}T\d{6}Z-(\d+)\.tar$")


def catalog(top):
    path = os.path.join(top, "recordings.sqlite")
    if not os.path.exists(path):
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT name, source, frames, reason FROM segments "
                          "ORDER BY start_us").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def frames_in(path):
    """The JPEG members of a segment (index.tsv last, one line per frame)."""
    with tarfile.open(path) as t:
        members = t.getmembers()
        check_eq(members[-1].name, "index.tsv", f"{path}: last member")
        lines = t.extractfile(members[-1]).read().decode().splitlines()
    check_eq(len(lines), len(members) - 1, f"{path}: index lines")
    return len(members) - 1


def state(srv):
    s = srv.state()
    return s.get("motion"), s.get("recording")


@test(timeout=240)
def test_motion_recording_starts_with_motion_and_stops_when_it_holds_still():
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "rec")
        args = ("--source", f"test:move={MOVE},still={STILL}", "--size", "640x480", "--fps", FPS,
                "--record", top, "--record-on", "motion", "--pre-roll", PRE_ROLL,
                "--post-roll", "0.5", "--segment", "600")
        with Mjpegd(*args, small=False) as srv:
            # The pattern moves from its first frames: motion, and a segment open.
            check(wait_for(lambda: (lambda m, r: m is not None and m["active"]
                                    and r["segment"] is not None)(*state(srv)), 60),
                  f"no motion segment opened: {state(srv)}")
            # Then it holds still: motion off, the segment committed, none open.
            check(wait_for(lambda: (lambda m, r: not m["active"] and r["segment"] is None
                                    and r["segments"] >= 1)(*state(srv)), 60),
                  f"recording did not stop while the picture held still: {state(srv)}")
            held = state(srv)
            check(held[0]["score"] < 1.0, f"score while still: {held}")
            metrics = srv.get("/metrics").body.decode()
            check(re.search(r'^mjpegd_motion_score\{source="0"\} [0-9.]+$', metrics, re.M),
                  metrics[-1500:])
            check('mjpegd_motion_active{source="0"} ' in metrics, metrics[-1500:])
            # Two more rounds of motion, each its own segment.
            check(wait_for(lambda: state(srv)[1]["segments"] >= 3, 120),
                  f"no 3 motion segments: {state(srv)}")
            srv.stop()
            check_eq(srv.returncode, 0, "exit status")
        rows = catalog(top)
        check(len(rows) >= 3, f"segments: {rows}")
        cycles = []
        for i, (name, source, frames, reason) in enumerate(rows):
            check_eq(source, "0", f"{name} source")
            check_eq(reason, "motion", f"{name} reason")
            check_eq(frames_in(os.path.join(top, "0", name)), frames, f"{name} frames")
            if i >= 3:
                continue  # committed by the stop, maybe in the middle of its motion
            m = NAME_RE.match(name)
            check(m is not None, f"segment name {name}")
            first = int(m.group(1))  # the capture sequence number of its first frame
            # Cycle k moves in frames k*PERIOD+1 .. k*PERIOD+MOVE and holds still after.
            k = (first - 1) // PERIOD + 1 if first > 10 else 0
            start = k * PERIOD + 1
            if k == 0:
                check(first <= 10, f"{name}: the first segment starts at frame {first}")
            else:
                # The pre-roll: frames from before the motion began, at most PRE_ROLL seconds.
                check(start - (FPS * PRE_ROLL + 5) <= first < start,
                      f"{name}: starts at frame {first}, the motion at {start}")
            # All the motion is in, and the segment ended during the still part, before the
            # next motion (a segment per motion, none spanning two).
            check(MOVE - 2 <= frames < PERIOD, f"{name}: {frames} frames")
            cycles.append(k)
        # One segment per cycle of the pattern.
        check_eq(cycles, list(range(cycles[0], cycles[0] + len(cycles))), "cycles")
        check(not [f for f in os.listdir(os.path.join(top, "0")) if f.startswith(".")],
              "temp files left")


@test(timeout=120)
def test_motion_threshold_with_record_always_scores_and_records_every_frame():
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "rec")
        with Mjpegd("--source", "test", "--size", "320x240", "--fps", "20", "--record", top,
                    "--motion-threshold", "0.5", "--segment", "0.5", small=False) as srv:
            check(wait_for(lambda: state(srv)[0] is not None and state(srv)[1]["segments"] >= 2,
                           60), f"/state: {state(srv)}")
            m = state(srv)[0]
            check(0.0 <= m["score"] <= 100.0 and isinstance(m["active"], bool), f"motion: {m}")
            srv.stop()
        rows = catalog(top)
        check(rows and all(r[3] == "always" for r in rows), f"reasons: {rows}")
    # Without recording nothing scores frames: no motion key (docs/RECORDING.md).
    with Mjpegd("--motion-threshold", "2") as srv:
        check(wait_for(lambda: srv.state().get("frames_captured", 1) > 0, 30), "no frames")
        check("motion" not in srv.state(), f"/state: {srv.state()}")


@test(timeout=60)
def test_bad_motion_values_are_usage_errors():
    for bad in (["--motion-threshold", "0"], ["--motion-threshold", "100.5"],
                ["--motion-threshold", "x"], ["--pre-roll", "-1"], ["--pre-roll", "61"],
                ["--post-roll", "1s"], ["--source", "test:move=0,still=5"]):
        r = subprocess.run([binary("mjpegd"), "--listen", "127.0.0.1:0", *bad],
                           capture_output=True, text=True, timeout=30 * MULT)
        check(r.returncode in (1, 2), f"{bad}: exit {r.returncode}: {r.stderr}")
        check(r.returncode == 1 or bad[0] in r.stderr, f"{bad}: {r.stderr}")


if __name__ == "__main__":
    main()
