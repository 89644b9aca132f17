# SPDX-License-Identifier: MIT
"""Checks shared by the quotepack crash tests (failpoints, syscall fault injection).

check_recorded(out): what must hold at any instant, even right after a crash or an injected
error: every archive the catalog records exists, is a valid archive, and holds exactly the
symbols the catalog says are archived in it, each member with its recorded size and CRC-32.
check_complete(out, names): what must hold after a run that ended with status 0: that, plus
every name archived exactly once, nothing left over, and `quotepack verify` agreeing.
"""
import os
import sqlite3
import tarfile
import zlib
from xml.etree import ElementTree

from harness import check, check_eq
from qp_fixture import catalog, leftovers, run_qp


def recorded_archives(out):
    """{archive name: members} from the catalog's archives table ({} before the schema)."""
    path = os.path.join(out, "catalog.sqlite")
    if not os.path.exists(path):
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            return {n: m for n, m in db.execute("SELECT name, members FROM archives")}
        except sqlite3.OperationalError:  # no schema yet: killed while creating it
            return {}
    finally:
        db.close()


def read_archive(path):
    """{member name: bytes}, reading every member to its end (so the gzip CRCs are checked);
    the manifest member is read but not returned."""
    res = {}
    with tarfile.open(path, "r:*") as t:
        for m in t:
            check(m.isfile(), f"{path}: {m.name} is not a regular file")
            if m.name == "MANIFEST.tsv":
                t.extractfile(m).read()
                continue
            check(m.name not in res, f"{path}: {m.name} twice")
            res[m.name] = t.extractfile(m).read()
    return res


def check_recorded(out):
    """Every recorded archive is complete; returns {symbol: archive} of the archived ones."""
    rec = recorded_archives(out)
    cat = catalog(out) if rec else {}
    where = {}
    for name, nmembers in rec.items():
        path = os.path.join(out, name)
        check(os.path.exists(path), f"{name} is recorded but missing")
        data = read_archive(path)
        check_eq(len(data), nmembers, f"{name}: members on disk vs recorded")
        for member, xml in data.items():
            sym = member[:-4]
            check(member.endswith(".xml") and sym in cat, f"{name}: unknown member {member}")
            row = cat[sym]
            check_eq((row["state"], row["archive"]), ("archived", name), f"{sym}'s row")
            check_eq(len(xml), row["xml_bytes"], f"{name}: {member} size")
            check_eq(zlib.crc32(xml), row["crc32"], f"{name}: {member} CRC-32")
            ElementTree.fromstring(xml)  # well-formed: the whole document
            check(sym not in where, f"{sym} in {where.get(sym)} and {name}")
            where[sym] = name
    for sym, row in cat.items():
        if row["state"] == "archived":
            check(sym in where, f"{sym} recorded in {row['archive']}, which does not hold it")
    return where


def check_complete(out, names):
    """After a run that succeeded: every name in exactly one archive, nothing left over."""
    where = check_recorded(out)
    check_eq(sorted(where), sorted(names), "archived symbols")
    on_disk = sorted(n for n in os.listdir(out) if n.startswith("quotes-"))
    check_eq(on_disk, sorted(set(where.values())), "archives on disk vs recorded")
    check_eq(leftovers(out), [], "leftovers")
    v = run_qp("verify", out)
    check_eq(v.returncode, 0, "verify: " + v.stdout + v.stderr)
