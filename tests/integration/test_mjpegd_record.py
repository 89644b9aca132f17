#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""--record: segment archives readable by tarfile and listed in the catalog, SIGKILL at several
moments then a restart that recovers, a full disk that stops recording while viewers still get
frames, retention that deletes the oldest first (docs/RECORDING.md)."""
import os
import random
import re
import signal
import sqlite3
import subprocess
import tarfile
import tempfile
import time

from harness import MULT, binary, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd

FAST = ("--size", "160x120", "--fps", "60")


def final_segments(srcdir):
    """The .tar files under their final names, in time order (their names sort so)."""
    if not os.path.isdir(srcdir):
        return []
    return sorted(f for f in os.listdir(srcdir) if f.endswith(".tar") and not f.startswith("."))


def temp_files(srcdir):
    if not os.path.isdir(srcdir):
        return []
    return sorted(f for f in os.listdir(srcdir) if f.startswith("."))


def read_segment(path):
    """Checks one archive as docs/RECORDING.md says; returns its frames' wall_us, in order."""
    raw = open(path, "rb").read()
    with tarfile.open(path) as t:
        members = t.getmembers()
        check(len(members) >= 2, f"{path}: {len(members)} members")
        check_eq(members[-1].name, "index.tsv", f"{path}: last member")
        index = t.extractfile(members[-1]).read().decode().splitlines()
    frames = members[:-1]
    check_eq(len(index), len(frames), f"{path}: index lines vs frames")
    check(re.match(r"^\d{8}T\d{6}Z-\d{12}\.tar$", os.path.basename(path)), f"name of {path}")
    walls = []
    for m, line in zip(frames, index):
        wall, off, length = line.split("\t")
        check_eq(m.name, wall + ".jpg", f"{path}: member name vs index")
        check_eq(m.offset_data, int(off), f"{path}: {m.name} offset")
        check_eq(m.size, int(length), f"{path}: {m.name} length")
        data = raw[int(off):int(off) + int(length)]
        check(data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9", f"{path}: {m.name} is no JPEG")
        check(len(wall) >= 16, f"{path}: {wall} not 16+ digits")
        walls.append(int(wall))
    check_eq(walls, sorted(set(walls)), f"{path}: frames not in capture order")
    return walls, members[-1].offset_data, len(raw)


def catalog(top):
    """The catalog's rows by name (opened read-only: the recorder is the only writer)."""
    path = os.path.join(top, "recordings.sqlite")
    if not os.path.exists(path):
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT name, source, start_us, end_us, frames, bytes, index_offset, "
                          "reason FROM segments").fetchall()
    except sqlite3.OperationalError:
        return {}  # the table is created by the recorder's first start
    finally:
        db.close()
    keys = ("name", "source", "start_us", "end_us", "frames", "bytes", "index_offset", "reason")
    return {r[0]: dict(zip(keys, r)) for r in rows}


def check_all(top, source="0", allow_temp=False, allow_unlisted=False):
    """Every final segment complete and (unless allowed) listed; no frame in two segments."""
    srcdir = os.path.join(top, source)
    cat = catalog(top)
    seen = {}
    for name in final_segments(srcdir):
        walls, index_off, size = read_segment(os.path.join(srcdir, name))
        for w in walls:
            check(w not in seen, f"frame {w} in {name} and {seen.get(w)}")
            seen[w] = name
        row = cat.get(name)
        if row is None or row["source"] != source:
            check(allow_unlisted, f"{name} is not in the catalog: {sorted(cat)}")
            continue
        check_eq(row["source"], source, f"{name} source")
        check_eq(row["frames"], len(walls), f"{name} frames")
        check_eq(row["start_us"], walls[0], f"{name} start")
        check_eq(row["end_us"], walls[-1], f"{name} end")
        check_eq(row["bytes"], size, f"{name} bytes")
        check_eq(row["index_offset"], index_off, f"{name} index offset")
        check_eq(row["reason"], "always", f"{name} reason")
    for name in (n for n, r in cat.items() if r["source"] == source):
        check(os.path.exists(os.path.join(srcdir, name)), f"catalog lists {name}, not on disk")
    if not allow_temp:
        check_eq(temp_files(srcdir), [], "temp files left")
    return seen


def recording(srv):
    return srv.state().get("recording")


@test(timeout=120)
def test_segments_are_complete_tar_archives_listed_in_the_catalog():
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "rec")
        with Mjpegd(*FAST, "--record", top, "--segment", "0.5", small=False) as srv:
            check(wait_for(lambda: len(catalog(top)) >= 3, 30), f"no 3 segments: {catalog(top)}")
            rec = recording(srv)
            check(rec is not None, "no recording in /state")
            check_eq(rec["dir"], top, "dir")
            check_eq(rec["error"], None, "error")
            check(rec["segments"] >= 3 and rec["bytes"] > 0, f"/state recording: {rec}")
            metrics = srv.get("/metrics").body.decode()
            check('mjpegd_record_dropped_total{source="0",reason="queue"}' in metrics, metrics[-1500:])
            check('mjpegd_record_up{source="0"} 1' in metrics, "record up")
            check_all(top, allow_temp=True, allow_unlisted=True)
            srv.stop()
            check_eq(srv.returncode, 0, "exit status")
        # An orderly stop commits the open segment: everything is listed, nothing is left.
        seen = check_all(top)
        check(len(seen) >= 3, f"only {len(seen)} frames")


@test(timeout=300)
def test_sigkill_at_several_moments_then_a_restart_recovers_and_continues():
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "rec")
        srcdir = os.path.join(top, "0")
        args = (*FAST, "--record", top, "--segment", "0.4")
        before = 0
        temps_after_kill = 0
        seed = int(os.environ.get("RECORD_KILL_SEED", str(int(time.time()))))
        rng = random.Random(seed)
        print(f"# kill seed {seed} (RECORD_KILL_SEED reruns it)", flush=True)
        # Killed: before the first commit, mid-segment, right after a commit, again mid-segment,
        # and twice at a random moment.
        for moment in ("early", "mid", "after-commit", "mid", "random", "random"):
            srv = Mjpegd(*args, small=False).start()
            try:
                # A restart recovers first: the previous run's temp files go, its committed but
                # unlisted archives are listed.
                check(wait_for(lambda: temp_files(srcdir) == [] or recording(srv)["frames"] > 0, 30),
                      "recovery did not run")
                if moment == "early":
                    wait_for(lambda: recording(srv)["frames"] > 0, 30)
                elif moment == "random":
                    time.sleep(rng.uniform(0.0, 1.5))  # a moment, not a synchronisation
                elif moment == "mid":
                    n = len(final_segments(srcdir))
                    check(wait_for(lambda: len(final_segments(srcdir)) >= n + 2, 60), "no commits")
                    wait_for(lambda: recording(srv)["segment"] is not None, 30)
                else:
                    n = len(final_segments(srcdir))
                    check(wait_for(lambda: len(final_segments(srcdir)) > n, 60, interval=0.002),
                          "no commit")
                srv.stop(signal.SIGKILL)
            finally:
                srv.stop()
            check_eq(srv.returncode, -signal.SIGKILL, "killed")
            temps_after_kill += len(temp_files(srcdir))
            # Whatever moment it died at: every final segment is complete.
            seen = check_all(top, allow_temp=True, allow_unlisted=True)
            check(len(seen) >= before, "frames lost from committed segments")
            before = len(seen)
        check(temps_after_kill > 0, "no kill left a segment being written: recovery untested")
        # The last restart lists everything and removes the temp files; it goes on recording.
        with Mjpegd(*args, small=False) as srv:
            check(wait_for(lambda: temp_files(srcdir) in ([], [f".{recording(srv)['segment']}.tmp"]), 30),
                  f"temp files not recovered: {temp_files(srcdir)}")
            committed = set(final_segments(srcdir))
            check(wait_for(lambda: set(catalog(top)) >= committed, 30),
                  f"not all listed: {committed - set(catalog(top))}")
            check(wait_for(lambda: len(final_segments(srcdir)) > len(committed), 60), "no new segment")
            srv.stop()
        seen = check_all(top)
        check(len(seen) > before, "the restart did not continue recording")


@test(timeout=300)
def test_killed_right_before_each_durable_step_of_a_commit_then_recovered():
    # MJPEGD_FAILPOINT: the process kills itself right before that step. A segment's commit is
    # fsync (file), rename, fsync (directory), then its catalog row.
    cases = {
        "fsync:3": "temp",       # second segment: written, not fsynced
        "rename:2": "temp",      # fsynced, not renamed
        "fsync:4": "unlisted",   # renamed, directory not fsynced, not listed
        "catalog:2": "unlisted",  # durable, not listed
    }
    for spec, left in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            top = os.path.join(tmp, "rec")
            srcdir = os.path.join(top, "0")
            args = [binary("mjpegd"), "--listen", "127.0.0.1:0", *FAST, "--record", top,
                    "--segment", "0.3"]
            r = subprocess.run(args, env={**os.environ, "MJPEGD_FAILPOINT": spec},
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=120 * MULT)
            check_eq(r.returncode, -signal.SIGKILL, f"{spec}: {r.stderr[-1500:]!r}")
            seen = check_all(top, allow_temp=True, allow_unlisted=True)
            finals = final_segments(srcdir)
            listed = set(catalog(top))
            check_eq(len(listed), 1, f"{spec}: listed {listed}")
            if left == "temp":
                check_eq(len(finals), 1, f"{spec}: {finals}")
                check(temp_files(srcdir), f"{spec}: no temp file")
            else:
                check_eq(len(finals), 2, f"{spec}: {finals}")
                check(finals[1] not in listed, f"{spec}: {finals[1]} listed already")
            with Mjpegd(*FAST, "--record", top, "--segment", "0.3", small=False) as srv:
                check(wait_for(lambda: set(catalog(top)) >= set(finals), 30),
                      f"{spec}: not listed after the restart: {catalog(top)}")
                check(wait_for(lambda: len(final_segments(srcdir)) > len(finals), 60),
                      f"{spec}: the restart records nothing")
                srv.stop()
            after = check_all(top)
            check(set(seen) <= set(after), f"{spec}: committed frames lost by the restart")


def mount_tmpfs(path, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()


@test(timeout=180)
def test_full_disk_stops_recording_with_a_clear_error_while_viewers_get_frames():
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "rec")
        os.makedirs(top)
        ok, why = mount_tmpfs(top, "1m")
        if not ok:
            print(f"ok - test_mjpegd_record.py: full disk # skip: cannot mount a tmpfs ({why})")
            return
        args = ("--size", "320x240", "--fps", "30", "--record", top, "--segment", "1")
        try:
            with Mjpegd(*args, small=False) as srv:
                full = lambda: (recording(srv)["error"] or "")  # noqa: E731
                check(wait_for(lambda: "No space left on device" in full(), 60),
                      f"no ENOSPC error: {recording(srv)}")
                check("recording stopped" in full(), full())
                check(wait_for(lambda: "No space left on device" in srv.stderr_text(), 10),
                      "no error in the log")
                live_stream_goes_on(srv)
                metrics = srv.get("/metrics").body.decode()
                check('mjpegd_record_up{source="0"} 0' in metrics, "record up while full")
                check(wait_for(lambda: recording(srv)["dropped"] > 0, 30), "no frame counted dropped")
                # What was committed before the disk filled is complete and listed.
                check_all(top, allow_temp=True)
                srv.stop(signal.SIGKILL)
            # A restart on the full disk serves, and says why it does not record.
            with Mjpegd(*args, small=False) as srv:
                full = lambda: (recording(srv)["error"] or "")  # noqa: E731
                check(wait_for(lambda: "No space left on device" in full(), 60),
                      f"no ENOSPC error after the restart: {recording(srv)}")
                live_stream_goes_on(srv)
                # Room again: the recorder resumes by itself (it retries every 5 s).
                subprocess.run(["mount", "-o", "remount,size=64m", top], check=True)
                n = len(final_segments(os.path.join(top, "0")))
                check(wait_for(lambda: recording(srv)["error"] is None, 60), f"not resumed: {recording(srv)}")
                check(wait_for(lambda: len(final_segments(os.path.join(top, "0"))) > n, 60),
                      "no segment after resuming")
                check(wait_for(lambda: "resumed" in srv.stderr_text(), 10), "no resumed line")
                srv.stop()
            check_all(top)
        finally:
            subprocess.run(["umount", "-l", top], capture_output=True)


def live_stream_goes_on(srv):
    c, head = srv.open_stream()
    check_eq(head.status, 200, "stream status")
    for _ in range(5):
        _, data = c.read_part()
        check(data[:2] == b"\xff\xd8", "no JPEG")
    c.close()
    check_eq(srv.get("/snapshot").status, 200, "snapshot")


@test(timeout=120)
def test_two_sources_record_into_one_dir_with_one_catalog():
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "rec")
        with Mjpegd("--record", top, "--segment", "0.5", *FAST, "--source", "test", "--source",
                    "test", "--fps", "30", small=False) as srv:
            def both():
                cat = catalog(top)
                return {r["source"] for r in cat.values()} == {"0", "1"} and len(cat) >= 4
            check(wait_for(both, 60), f"not both sources: {catalog(top)}")
            st = srv.state()
            check_eq([s["recording"]["dir"] for s in st["sources"]], [top, top], "dirs")
            srv.stop()
        check_all(top, "0")
        check_all(top, "1")


@test(timeout=180)
def test_retention_deletes_the_oldest_first_and_never_the_open_segment():
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "rec")
        srcdir = os.path.join(top, "0")
        keep = 200 * 1024  # about two segments of 0.3 s (100 KB each at most here)
        with Mjpegd(*FAST, "--record", top, "--segment", "0.3", "--keep-size", str(keep),
                    small=False) as srv:
            names = set()
            open_seen = set()

            def progress():
                names.update(final_segments(srcdir))
                seg = recording(srv)["segment"]
                if seg is not None:
                    open_seen.add(seg)
                return recording(srv)["deleted"] >= 4

            check(wait_for(progress, 60), f"retention deleted nothing: {recording(srv)}")
            srv.stop()
        cat = catalog(top)
        left = final_segments(srcdir)
        check_eq(sorted(cat), left, "catalog vs files")
        check(sum(r["bytes"] for r in cat.values()) <= keep, f"over --keep-size: {cat}")
        # The ones left are the newest ones: every deleted segment started before every kept one.
        order = sorted(names | set(left))  # names sort by time (the sequence is zero-padded)
        gone = [n for n in order if n not in left]
        check(gone, "nothing deleted")
        check_eq(order[-len(left):] if left else [], left, "kept segments are not the newest")
        # The segment that was open at the end was committed at shutdown, not deleted.
        check(left and left[-1] == order[-1], f"the last segment is gone: {left} of {order}")
        check_all(top)


@test(timeout=120)
def test_a_recorded_source_never_sleeps_under_on_demand():
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "rec")
        with Mjpegd(*FAST, "--on-demand", "0.5", "--record", top, "--segment", "0.3",
                    small=False) as srv:
            check("--on-demand is ignored" in srv.stderr_text(), srv.stderr_text()[-1500:])
            # Nobody watches, yet segments keep coming and the source is not idle.
            check(wait_for(lambda: len(catalog(top)) >= 4, 60), f"not recording: {recording(srv)}")
            check_eq(srv.state()["status"], "ok", "status")
            srv.stop()
        check_all(top)


@test(timeout=60)
def test_record_on_motion_is_refused_until_motion_detection_exists_and_bad_values_are_usage_errors():
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([binary("mjpegd"), "--listen", "127.0.0.1:0", "--record", tmp,
                            "--record-on", "motion"], capture_output=True, text=True,
                           timeout=30 * MULT)
        check_eq(r.returncode, 1, "exit status: " + r.stderr)
        check("motion" in r.stderr, r.stderr)
        for bad in (["--keep-size", "12Q"], ["--record-on", "sometimes"], ["--segment", "0"]):
            r = subprocess.run([binary("mjpegd"), *bad], capture_output=True, text=True,
                               timeout=30 * MULT)
            check_eq(r.returncode, 2, f"{bad}: {r.stderr}")
            check(bad[0] in r.stderr, r.stderr)


if __name__ == "__main__":
    main()
