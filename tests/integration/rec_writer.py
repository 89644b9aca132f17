# SPDX-License-Identifier: MIT
"""A recording writer for the playback tests, exactly per the recording contract
(docs/RECORDING.md, "On disk"), standard library only (tarfile + sqlite3):

    DIR/<source>/<YYYYmmddTHHMMSS>Z-<seq>.tar   one ustar member per frame, "<wall_us>.jpg",
                                               then "index.tsv": "<wall_us>\t<data_offset>\t<len>\n"
    DIR/recordings.sqlite                      (WAL) table segments(name, source, start_us,
                                               end_us, frames, bytes, index_offset, reason)

It stands in for the recorder (the `rec` branch) so playback can be tested on its own; the
end-to-end test records with the real one.
"""
import io
import os
import sqlite3
import tarfile
import time

SCHEMA = ("CREATE TABLE IF NOT EXISTS segments(name TEXT PRIMARY KEY, source TEXT NOT NULL, "
          "start_us INTEGER NOT NULL, end_us INTEGER NOT NULL, frames INTEGER NOT NULL, "
          "bytes INTEGER NOT NULL, index_offset INTEGER NOT NULL, reason TEXT NOT NULL)")


def segment_name(start_us, seq):
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(start_us // 1000000)) + f"Z-{seq:012d}.tar"


def write_segment(root, source, frames, seq=1, index_offset="header", reason="always",
                  catalog=True):
    """frames: [(wall_us, jpeg bytes)] in capture order. index_offset: "header" (the index.tsv
    member's header), "data" (its first data byte) or an int written as is (a bad one makes a
    reader walk the tar). Returns the segment name."""
    d = os.path.join(root, source)
    os.makedirs(d, exist_ok=True)
    name = segment_name(frames[0][0], seq)
    path = os.path.join(d, name)
    tmp = os.path.join(d, "." + name + ".tmp")
    lines = []
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tf:
        for wall_us, jpeg in frames:
            ti = tarfile.TarInfo(f"{wall_us}.jpg")
            ti.size = len(jpeg)
            ti.mtime = wall_us // 1000000
            tf.addfile(ti, io.BytesIO(jpeg))
            m = tf.getmembers()[-1]
            lines.append(f"{wall_us}\t{m.offset_data}\t{len(jpeg)}\n")
        index = "".join(lines).encode()
        ti = tarfile.TarInfo("index.tsv")
        ti.size = len(index)
        ti.mtime = frames[-1][0] // 1000000
        tf.addfile(ti, io.BytesIO(index))
        im = tf.getmembers()[-1]
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.rename(tmp, path)
    size = os.path.getsize(path)
    if index_offset == "header":
        ioff = im.offset
    elif index_offset == "data":
        ioff = im.offset_data
    else:
        ioff = int(index_offset)
    if catalog:
        add_row(root, name, source, frames[0][0], frames[-1][0], len(frames), size, ioff, reason)
    return name


def add_row(root, name, source, start_us, end_us, nframes, size, ioff, reason="always"):
    db = sqlite3.connect(os.path.join(root, "recordings.sqlite"))
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(SCHEMA)
        db.execute("INSERT INTO segments VALUES (?,?,?,?,?,?,?,?)",
                   (name, source, start_us, end_us, nframes, size, ioff, reason))
        db.commit()
    finally:
        db.close()
