#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A full disk (a 2 MB tmpfs) gives a clear error and loses nothing; a rerun with space completes."""
import os
import subprocess
import tempfile

from harness import check, check_eq, main, test
from qp_crash import check_complete
from qp_fixture import archives, catalog, gen, leftovers, run_qp


def mount_tmpfs(path, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()


def full_disk_case(extra):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        names = gen.write_quotes(src, 120, rows=1000)
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        ok, why = mount_tmpfs(out, "2m")
        if not ok:
            print(f"ok - test_quotepack_disk.py: full disk # skip: cannot mount a tmpfs ({why})")
            return
        try:
            args = ["--source", "file://" + src + "/{symbol}.csv", "--out", out, "--batch", "20",
                    "--symbols", os.path.join(src, "symbols.txt"), *extra]
            r = run_qp(*args)
            check_eq(r.returncode, 1, "exit status on a full disk: " + r.stderr)
            check("No space left on device" in r.stderr, "no clear error: " + r.stderr[-2000:])
            check("rerun" in r.stderr, "no advice to rerun: " + r.stderr[-500:])
            # Nothing recorded as archived is missing, and nothing half-written is left.
            v = run_qp("verify", out)
            check_eq(v.returncode, 0, "verify after ENOSPC: " + v.stdout + v.stderr)
            before = archives(out)
            subprocess.run(["mount", "-o", "remount,size=64m", out], check=True)
            r = run_qp(*args)
            check_eq(r.returncode, 0, "rerun with space: " + r.stderr)
            after = archives(out)
            for a, members in before.items():
                check_eq(after.get(a), members, f"{a} changed by the rerun")
            allm = sorted(m for ms in after.values() for m in ms)
            check_eq(allm, sorted(n + ".xml" for n in names), "every symbol exactly once")
            check(all(r["state"] == "archived" for r in catalog(out).values()), "all archived")
            check_eq(leftovers(out), [], "leftovers")
            v = run_qp("verify", out)
            check_eq(v.returncode, 0, v.stdout)
        finally:
            subprocess.run(["umount", "-l", out], capture_output=True)


@test(timeout=180)
def test_full_disk_is_reported_and_a_rerun_with_space_completes():
    full_disk_case([])


@test(timeout=180)
def test_full_disk_with_isolate_workers_writing_the_spool():
    full_disk_case(["--isolate"])


@test(timeout=180)
def test_full_disk_while_spilling_a_large_body_stops_the_run():
    # Regression: a spill file's write error failed only that symbol (transiently) and the run
    # fetched on, failing every large body, instead of stopping like any other write error.
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        names = gen.write_quotes(src, 6, rows=100)
        with open(os.path.join(src, "BIG.csv"), "w") as f:
            f.write(gen.make_csv("BIG", 90000))  # about 5 MB: past the 4 MiB spill threshold
        names = ["BIG", *names]
        lst = os.path.join(tmp, "symbols.txt")
        with open(lst, "w") as f:
            f.write("".join(n + "\n" for n in names))
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        ok, why = mount_tmpfs(out, "2m")
        if not ok:
            print(f"# SKIP cannot mount a tmpfs ({why})")
            return
        try:
            args = ["--source", "file://" + src + "/{symbol}.csv", "--out", out, "--batch", "3",
                    "--connections", "1", "--symbols", lst]
            r = run_qp(*args)
            check_eq(r.returncode, 1, "exit status on a full disk: " + r.stderr)
            check("cannot store the body: No space left on device" in r.stderr, r.stderr[-2000:])
            check("stopped: No space left on device" in r.stderr, "the run went on: " +
                  r.stderr[-2000:])
            check_eq(catalog(out)["BIG"]["failure"], "transient", "BIG's failure")
            subprocess.run(["mount", "-o", "remount,size=64m", out], check=True)
            r = run_qp(*args)
            check_eq(r.returncode, 0, "rerun with space: " + r.stderr)
            check_complete(out, names)
        finally:
            subprocess.run(["umount", "-l", out], capture_output=True)


if __name__ == "__main__":
    main()
