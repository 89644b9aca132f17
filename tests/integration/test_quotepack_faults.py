#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""quotepack's packer under syscall fault injection (strace -e inject=, -P one file): ENOSPC
on the writes of an archive, the spool (also from --isolate workers) and the catalog, EIO on
an archive's fsync and on the directory's fsync after the rename, EMFILE creating an archive.
Each run must stop with status 1 and a clear error, leave no temp file, no unrecorded archive
and no recorded archive short of a member; a rerun without injection completes. Skipped when
strace cannot trace here. (mjpegd's fault injection is test_mjpegd_faults.py.)
"""
import os
import shutil
import subprocess
import tempfile

from harness import MULT, binary, check, check_eq, main, test
from qp_crash import check_complete, check_recorded, recorded_archives
from qp_fixture import Fixture, run_qp, write_symbols

NAMES = [f"OKfi{i:02d}" for i in range(10)]  # 4 archives: 3, 3, 3, 1
ENOSPC = "No space left on device"
EIO = "Input/output error"


def skip_reason():
    if shutil.which("strace") is None:
        return "strace is not installed (scripts/deps test)"
    r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        return f"strace cannot trace here: {r.stderr.strip()[-200:]}"
    return None


def inject_case(path_of, syscalls, error, when, message, names=NAMES, setup=False, extra=()):
    """A run with error injected into the when-th of syscalls on the file path_of(out) (or
    any of the list it returns), in each thread (strace counts per thread); setup: it fails
    before the stages start."""
    reason = skip_reason()
    if reason:
        print(f"# SKIP {reason}", flush=True)  # the harness prints the ok line
        return
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=60) as fx:
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), names)
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        args = ["--source", fx.template, "--out", out, "--symbols", lst, "--batch", "3",
                "--connections", "2", "--jobs", "2", *extra]
        paths = path_of(out)
        paths = [paths] if isinstance(paths, str) else paths
        cmd = ["strace", "-f", "-qq", "-o", os.path.join(tmp, "strace.txt"),
               *[a for p in paths for a in ("-P", p)],
               "-e", f"trace={syscalls}", "-e", f"inject={syscalls}:error={error}:when={when}",
               binary("quotepack"), *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120 * MULT)
        check_eq(r.returncode, 1, f"status under {error}: {r.stderr}")
        check(message in r.stderr, f"no {message!r} in: {r.stderr}")
        if not setup:
            check("stopped:" in r.stderr and "rerun" in r.stderr, "no advice to rerun: " + r.stderr)
        with open(os.path.join(tmp, "strace.txt")) as f:
            check("(INJECTED)" in f.read(), "strace injected nothing")
        check_recorded(out)
        recorded = set(recorded_archives(out))
        for n in os.listdir(out):
            check(not n.endswith(".tmp"), f"temp file left: {n}")
            check(not n.startswith("quotes-") or n in recorded, f"unrecorded archive left: {n}")
        r = run_qp(*args)
        check_eq(r.returncode, 0, "rerun: " + r.stderr)
        check_complete(out, names)


@test(timeout=120)
def test_enospc_writing_an_archive():
    inject_case(lambda out: os.path.join(out, ".quotes-000001.tgz.tmp"),
                "write,pwrite64,copy_file_range", "ENOSPC", 2, ENOSPC)


@test(timeout=120)
def test_eio_on_an_archive_fsync():
    inject_case(lambda out: os.path.join(out, ".quotes-000001.tgz.tmp"), "fsync", "EIO", 1, EIO)


@test(timeout=120)
def test_eio_on_the_directory_fsync_after_the_rename():
    # Regression: the archive was left renamed into place but never recorded.
    inject_case(lambda out: out, "fsync", "EIO", 2, EIO)


@test(timeout=120)
def test_emfile_creating_an_archive():
    inject_case(lambda out: os.path.join(out, ".quotes-000001.tgz.tmp"), "openat", "EMFILE", 1,
                "Too many open files")


@test(timeout=120)
def test_enospc_writing_the_spool():
    # Each of the 2 converters appends to its own segment, about one write per entry: traced
    # on both segments, the one that converted 5 or more of the 10 symbols reaches its 3rd
    # write whatever the scheduling (on seg-0 alone, a converter that got 2 would escape).
    inject_case(lambda out: [os.path.join(out, ".spool", f"seg-{i}") for i in (0, 1)],
                "pwrite64", "ENOSPC", 3, ENOSPC)


@test(timeout=120)
def test_enospc_writing_the_spool_from_an_isolate_worker():
    # Every write of the workers fails ("1+", not "2"): strace counts per process, and how many
    # writes each worker makes depends on how the symbols fall between them (a worker that made
    # only one write escaped the injection once, under load).
    inject_case(lambda out: os.path.join(out, ".spool", "seg-0"), "pwrite64", "ENOSPC", "1+",
                ENOSPC, extra=["--isolate"])


@test(timeout=120)
def test_enospc_writing_the_catalog_while_packing():
    # The main thread writes the new catalog's WAL 23 times before the stages start, the pack
    # thread about 8 times per archive: the 40th write of a thread is the pack thread's.
    many = [f"OKfc{i:02d}" for i in range(30)]
    inject_case(lambda out: os.path.join(out, "catalog.sqlite-wal"), "write,pwrite64", "ENOSPC",
                40, ENOSPC, names=many)


@test(timeout=120)
def test_enospc_creating_the_catalog():
    inject_case(lambda out: os.path.join(out, "catalog.sqlite-wal"), "write,pwrite64", "ENOSPC",
                3, ENOSPC, setup=True)


if __name__ == "__main__":
    main()
