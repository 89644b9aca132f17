#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 15, self-describing archives: every archive's first member is MANIFEST.tsv (symbol,
source URL, fetch time, rows, first and last date, size and SHA-256 of each member), so an
archive copied away from its catalog can be verified (`verify --no-catalog FILE`) and listed
(`ls FILE`). Tampering, truncation, a missing member and a manifest that lies are each found
with a clear message and a non-zero exit; archives from before the manifest still verify."""
import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import zlib

from harness import check, check_eq, main, test
from qp_fixture import MANIFEST, Fixture, catalog, gen, run_qp

SYMS = [f"OK{i}" for i in range(6)]
ROWS = 40


def pack(tmp, fx, *extra, syms=SYMS):
    out = os.path.join(tmp, "out")
    r = run_qp("--source", fx.template, "--out", out, "--batch", "3", *extra, *syms)
    check_eq(r.returncode, 0, r.stderr)
    return out


def archive_files(out, ext=".tgz"):
    return sorted(os.path.join(out, n) for n in os.listdir(out)
                  if n.startswith("quotes-") and n.endswith(ext))


def read_members(path):
    """[(TarInfo, bytes)] in archive order."""
    res = []
    with tarfile.open(path, "r:gz") as t:
        for m in t:
            res.append((m, t.extractfile(m).read()))
    return res


def write_members(path, members):
    """Rewrites path as one .tgz of members [(TarInfo, bytes)], in that order."""
    with tarfile.open(path, "w:gz", format=tarfile.USTAR_FORMAT) as t:
        for info, data in members:
            ti = tarfile.TarInfo(info.name)
            ti.size = len(data)
            ti.mtime = info.mtime
            ti.mode = info.mode
            t.addfile(ti, io.BytesIO(data))


def gzip_members(data):
    """Offsets where each gzip member of data starts (quotepack writes a member per frame)."""
    starts, off = [], 0
    while off < len(data):
        starts.append(off)
        d = zlib.decompressobj(31)
        d.decompress(data[off:])
        check(d.eof, f"gzip member at {off} is complete")
        off = len(data) - len(d.unused_data)
    return starts


def parse_manifest(text):
    """(header dict, [member dict]) of a manifest's text."""
    head, members, fields = {}, [], None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if cols[0] == "fields":
            fields = cols[1:]
        elif cols[0] == "member":
            members.append(dict(zip(fields, cols[1:])))
        else:
            head[cols[0]] = cols[1]
    return head, members


def verify_nc(*paths):
    return run_qp("verify", "--no-catalog", *paths)


def expect_failure(path, pattern, what):
    r = verify_nc(path)
    check_eq(r.returncode, 1, f"{what}: exit status; {r.stdout}")
    check(re.search(pattern, r.stdout), f"{what}: no /{pattern}/ in: {r.stdout}")
    check("DIFFERENCES FOUND" in r.stdout, r.stdout)
    return r


@test(timeout=120)
def test_manifest_is_the_first_member_and_says_what_each_member_is():
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=ROWS) as fx:
        out = pack(tmp, fx)
        cat = catalog(out)
        files = archive_files(out)
        check_eq(len(files), 2, "archives of 3")
        seen = []
        for path in files:
            members = read_members(path)
            check_eq(members[0][0].name, MANIFEST, "the manifest comes first")
            head, listed = parse_manifest(members[0][1].decode())
            check_eq(head["manifest"], "1", "manifest version")
            check(re.match(r"\d+\.\d+\.\d+", head["quotepack"]), head)
            check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", head["created"]), head)
            check_eq(int(head["members"]), len(members) - 1, "members line")
            check_eq([m["name"] for m in listed], [m.name for m, _ in members[1:]], "order")
            for (info, data), m in zip(members[1:], listed):
                sym = m["symbol"]
                seen.append(sym)
                check_eq(info.name, sym + ".xml", "name")
                check_eq(m["sha256"], hashlib.sha256(data).hexdigest(), f"{sym}: sha256")
                check_eq(int(m["bytes"]), len(data), f"{sym}: bytes")
                check_eq(int(m["rows"]), ROWS, f"{sym}: rows")
                check_eq(int(m["rows"]), cat[sym]["rows"], f"{sym}: rows vs catalog")
                check_eq(cat[sym]["archive"], os.path.basename(path), f"{sym}: archive")
                csv = gen.make_csv(sym, ROWS).splitlines()
                check_eq(m["first"], csv[1].split(",")[0], f"{sym}: first date")
                check_eq(m["last"], csv[-1].split(",")[0], f"{sym}: last date")
                check_eq(m["source"], fx.template.replace("{symbol}", sym), f"{sym}: source")
                check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", m["fetched"]), m)
        check_eq(sorted(seen), sorted(SYMS), "every symbol listed once")
        v = run_qp("verify", out)
        check_eq(v.returncode, 0, v.stdout)
        check("(2 with a manifest)" in v.stdout, v.stdout)


@test(timeout=120)
def test_an_archive_copied_away_verifies_and_lists_without_its_catalog():
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=ROWS) as fx:
        out = pack(tmp, fx)
        away = os.path.join(tmp, "away")
        os.makedirs(away)
        copies = []
        for path in archive_files(out):
            copies.append(shutil.copy(path, away))
        r = verify_nc(*copies)
        check_eq(r.returncode, 0, r.stdout)
        check_eq(r.stdout.count(": 3 members: OK"), 2, r.stdout)
        check("2 archives (without a catalog), 6 members: OK" in r.stdout, r.stdout)
        ls = run_qp("ls", *copies)
        check_eq(ls.returncode, 0, ls.stderr)
        rows = [ln.split() for ln in ls.stdout.splitlines()]
        syms = [c[0] for c in rows if c[0] in SYMS]
        check_eq(sorted(syms), sorted(SYMS), ls.stdout)
        for c in rows:
            if c[0] in SYMS:
                check_eq(c[1], str(ROWS), f"rows column: {c}")
                check_eq(c[-1], fx.template.replace("{symbol}", c[0]), f"source column: {c}")
        check(re.search(r"3 members, manifest 1, written by quotepack \S+ at \S+Z", ls.stdout),
              ls.stdout)
        # ls DIR is still the catalog's listing.
        d = run_qp("ls", out)
        check_eq(d.returncode, 0, d.stderr)
        check(d.stdout.startswith("SYMBOL"), d.stdout)


@test(timeout=180)
def test_tampering_truncation_missing_members_and_lying_manifests_are_found():
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=ROWS) as fx:
        out = pack(tmp, fx)
        orig = archive_files(out)[0]
        members = read_members(orig)
        work = os.path.join(tmp, "work")
        os.makedirs(work)

        def variant(name, ms):
            p = os.path.join(work, name)
            write_members(p, ms)
            return p

        clean = variant("clean.tgz", members)
        check_eq(verify_nc(clean).returncode, 0, "a rewritten but unchanged archive is clean")

        # One byte of a member's XML changed, the size kept: only the SHA-256 shows it.
        info, data = members[2]
        i = data.index(b"<Close>") + len(b"<Close>")
        bad = data[:i] + (b"7" if data[i:i + 1] != b"7" else b"8") + data[i + 1:]
        p = variant("tampered.tgz", members[:2] + [(info, bad)] + members[3:])
        expect_failure(p, rf"{re.escape(info.name)}: SHA-256 differs from the manifest", "tamper")

        # A byte flipped in the compressed data of a member (the middle of its gzip member, so
        # never in the gzip header's MTIME/OS bytes, which no reader checks): the gzip CRC or
        # the SHA-256 catches it.
        raw = bytearray(open(orig, "rb").read())
        starts = gzip_members(bytes(raw))
        raw[(starts[2] + starts[3]) // 2] ^= 0x40
        p = os.path.join(work, "flipped.tgz")
        open(p, "wb").write(bytes(raw))
        expect_failure(p, r"damaged \(truncated or corrupt\)|SHA-256 differs|bytes, the manifest "
                          r"says|not well-formed", "flipped byte")

        # Truncated: mid-stream, and at a frame boundary (a whole member gone, the gzip
        # stream still valid: only the manifest can tell).
        p = os.path.join(work, "truncated.tgz")
        open(p, "wb").write(bytes(open(orig, "rb").read())[: len(raw) * 2 // 3])
        expect_failure(p, r"damaged \(truncated or corrupt\)", "truncated")
        expect_failure(os.path.join(work, "no-such.tgz"), r"no-such\.tgz: cannot open: ", "missing")
        check_eq(len(starts), len(members) + 1, "a gzip member per tar member, and the end")
        p = os.path.join(work, "cut-at-frame.tgz")
        open(p, "wb").write(open(orig, "rb").read()[: starts[-2]])
        expect_failure(p, rf"{re.escape(members[-1][0].name)} is in the manifest but not in the "
                          r"archive \(member missing or truncated\)", "cut at a frame")

        # A member dropped.
        info = members[3][0]
        p = variant("dropped.tgz", members[:3])
        expect_failure(p, rf"{re.escape(info.name)} is in the manifest but not in the archive",
                       "dropped member")

        # A member added that the manifest does not list.
        extra = tarfile.TarInfo("EXTRA.xml")
        extra.mtime, extra.mode = members[1][0].mtime, 0o644
        p = variant("extra.tgz", members + [(extra, members[1][1])])
        expect_failure(p, r"member EXTRA\.xml is not in the manifest", "extra member")

        # The manifest lies: rows, size, SHA-256; a member line removed; the manifest gone.
        text = members[0][1].decode()
        lines = text.splitlines(keepends=True)
        mline = next(i for i, ln in enumerate(lines) if ln.startswith("member\t"))
        cols = lines[mline].rstrip("\n").split("\t")
        name = cols[1]

        def lie(tag, idx, value):
            c = list(cols)
            c[idx] = value
            t = "".join(lines[:mline] + ["\t".join(c) + "\n"] + lines[mline + 1:])
            return variant(f"lie-{tag}.tgz", [(members[0][0], t.encode())] + members[1:])

        expect_failure(lie("rows", 3, str(ROWS + 1)),
                       rf"{re.escape(name)} has {ROWS} rows, the manifest says {ROWS + 1}", "rows")
        expect_failure(lie("bytes", 4, "12"), rf"{re.escape(name)} has \d+ bytes, the manifest says 12",
                       "bytes")
        expect_failure(lie("symbol", 2, "OTHER"), rf"the manifest gives {re.escape(name)} the "
                       r"symbol OTHER", "symbol")
        expect_failure(lie("sha", 5, "0" * 64), rf"{re.escape(name)}: SHA-256 differs", "sha256")
        expect_failure(lie("shabad", 5, "xyz"), r"bad manifest: manifest line \d+: sha256", "bad sha")
        t = "".join(lines[:mline] + lines[mline + 1:])
        p = variant("lie-count.tgz", [(members[0][0], t.encode())] + members[1:])
        expect_failure(p, r"bad manifest: .*member lines where the members line gives", "count")
        p = variant("no-manifest.tgz", members[1:])
        expect_failure(p, r"has no MANIFEST\.tsv member", "manifest removed")
        p = variant("two-manifests.tgz", members[:1] + members)
        expect_failure(p, r"more than one MANIFEST\.tsv", "two manifests")

        # XML that is not well formed, with a manifest that agrees with it byte for byte.
        info, data = members[1]
        broken = data.replace(b"</Data>", b"</Dat>")
        t = text.replace(hashlib.sha256(data).hexdigest(), hashlib.sha256(broken).hexdigest())
        t = t.replace(f"\t{len(data)}\t", f"\t{len(broken)}\t")
        p = variant("broken-xml.tgz", [(members[0][0], t.encode()), (info, broken)] + members[2:])
        expect_failure(p, rf"{re.escape(info.name)} is not well-formed XML: an end tag that does "
                          r"not match", "xml")

        # In its directory, verify (with the catalog) reports the tampered member too.
        write_members(orig, members[:2] + [(members[2][0], bad)] + members[3:])
        v = run_qp("verify", out)
        check_eq(v.returncode, 1, v.stdout)
        check("SHA-256 differs from the manifest" in v.stdout, v.stdout)
        check("differs from the catalog (size or CRC-32)" in v.stdout, v.stdout)


@test(timeout=120)
def test_archives_without_a_manifest_still_verify_with_their_catalog():
    """Archives written before the manifest: verify DIR is clean; without the catalog there is
    nothing to check them against, which is said."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=ROWS) as fx:
        out = pack(tmp, fx)
        for path in archive_files(out):
            ms = read_members(path)
            write_members(path, [m for m in ms if m[0].name != MANIFEST])
        v = run_qp("verify", out)
        check_eq(v.returncode, 0, v.stdout)
        check("2 archives (0 with a manifest), 6 members, 6 symbols archived" in v.stdout, v.stdout)
        c = run_qp("cat", out, SYMS[0])
        check_eq(c.returncode, 0, c.stderr)
        expect_failure(archive_files(out)[0], r"has no MANIFEST\.tsv member", "old archive")
        ls = run_qp("ls", archive_files(out)[0])
        check_eq(ls.returncode, 1, ls.stdout)
        check("has no MANIFEST.tsv" in ls.stderr, ls.stderr)


@test(timeout=120)
def test_tzst_and_isolated_conversions_carry_the_same_manifest():
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=ROWS) as fx:
        out = pack(tmp, fx, "--format", "tzst", "--isolate")
        files = archive_files(out, ".tar.zst")
        check_eq(len(files), 2, "archives")
        r = verify_nc(*files)
        check_eq(r.returncode, 0, r.stdout)
        ls = run_qp("ls", *files)
        check_eq(ls.returncode, 0, ls.stderr)
        check_eq(sum(1 for ln in ls.stdout.splitlines() if ln.split()[0] in SYMS), 6, ls.stdout)
        for ln in ls.stdout.splitlines():
            c = ln.split()
            if c[0] in SYMS:
                check(re.match(r"[0-9a-f]{64}$", c[6]), c)
                check(c[2] != "-" and c[3] != "-", f"first/last dates: {c}")


@test(timeout=180)
def test_entries_a_crashed_run_left_in_the_spool_get_their_sha256_read_back():
    """A run killed while packing leaves converted entries in the spool; the rerun packs them
    without converting them again, reading their SHA-256 back from the spool (their fetch time
    and dates are not known: listed as "-")."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=ROWS) as fx:
        out = os.path.join(tmp, "out")
        r = run_qp("--source", fx.template, "--out", out, "--batch", "3", *SYMS,
                   env={"QUOTEPACK_TEST_CRASH_AT": "pack-write"})
        check(r.returncode < 0 or r.returncode == 137, f"killed: {r.returncode} {r.stderr}")
        r = run_qp("--source", fx.template, "--out", out, "--batch", "3", *SYMS)
        check_eq(r.returncode, 0, r.stderr)
        files = archive_files(out)
        v = verify_nc(*files)
        check_eq(v.returncode, 0, v.stdout)
        check_eq(run_qp("verify", out).returncode, 0, "verify DIR")
        listed = {}
        for path in files:
            ms = read_members(path)
            _, entries = parse_manifest(ms[0][1].decode())
            for e in entries:
                listed[e["symbol"]] = e
        check_eq(sorted(listed), sorted(SYMS), "every symbol listed")
        reused = [s for s, e in listed.items() if e["fetched"] == ""]
        fresh = [s for s, e in listed.items() if e["fetched"] != ""]
        check(len(reused) >= 3, f"the first archive's entries were reused: {reused}")
        check_eq(sum(len(fx.hits.get(s, [])) for s in reused), len(reused), "fetched once")
        for s in reused:
            check_eq((listed[s]["first"], listed[s]["last"]), ("", ""), f"{s}: unknown dates")
        for s in fresh:
            check(listed[s]["first"] != "", f"{s}: dates")


@test(timeout=240)
def test_update_and_compact_keep_every_archive_self_describing():
    """A daily update packs the changed symbols into new archives, each with its manifest;
    compaction rewrites the old archives without the replaced members and lists them again
    without those: every archive verifies with and without the catalog at each step."""
    with tempfile.TemporaryDirectory() as tmp, Fixture(rows=ROWS) as fx:
        out = pack(tmp, fx)
        fx.rows = ROWS + 1  # a new day: every body has one more row
        r = run_qp("update", out)
        check_eq(r.returncode, 0, r.stderr)
        files = archive_files(out)
        check_eq(len(files), 4, "two archives, and two for the refreshed symbols")
        for step in ("after update", "after compact"):
            v = verify_nc(*files)
            check_eq(v.returncode, 0, f"{step}: {v.stdout}")
            d = run_qp("verify", out)
            check_eq(d.returncode, 0, f"{step}: {d.stdout}")
            if step == "after update":
                c = run_qp("compact", out, "--max-generations", "1")
                check_eq(c.returncode, 0, c.stderr)
                files = archive_files(out)
        listed = {}
        for path in files:
            ms = read_members(path)
            check_eq(ms[0][0].name, MANIFEST, f"{path}: the manifest comes first")
            _, entries = parse_manifest(ms[0][1].decode())
            check_eq([e["name"] for e in entries], [m.name for m, _ in ms[1:]], path)
            for e in entries:
                check(e["symbol"] not in listed, f"{e['symbol']} listed twice after compaction")
                listed[e["symbol"]] = e
        check_eq(sorted(listed), sorted(SYMS), "every symbol once")
        for s, e in listed.items():
            check_eq(int(e["rows"]), ROWS + 1, f"{s}: the refreshed history")
            check_eq(e["first"], gen.make_csv(s, ROWS + 1).splitlines()[1].split(",")[0], s)


if __name__ == "__main__":
    main()
