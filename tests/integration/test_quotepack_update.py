#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 15 groundwork: every archived symbol keeps the validators of the body it came from.

The fixture server serves a history that grows by one row per "day" (under the test's
control), sends ETag and Last-Modified or neither, honours If-None-Match / If-Modified-Since
or ignores them, and counts requests, body bytes and 304s per symbol.
"""
import calendar
import hashlib
import os
import subprocess
import tempfile
import sqlite3
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import MULT, check, check_eq, main, test
from qp_fixture import archives, binary, catalog, run_qp, write_symbols

LAST_MODIFIED = "Tue, 01 Jul 2025 00:00:00 GMT"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        fx = self.server.fixture
        path, _, query = self.path.partition("?")
        sym = path.rsplit("/", 1)[-1]
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if fx.ignore_from:
            params = {}
        body, etag = fx.body(sym, params.get("from"), params.get("to"))
        last_modified = fx.last_modified(sym)
        with fx.lock:
            fx.requests[sym] = fx.requests.get(sym, 0) + 1
            fx.conditional[sym] = (self.headers.get("If-None-Match"),
                                   self.headers.get("If-Modified-Since"))
            fx.queries[sym] = query
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        fresh = inm == etag if inm is not None else ims == last_modified
        if fx.validators and fx.honour and (inm is not None or ims is not None) and fresh:
            with fx.lock:
                fx.not_modified[sym] = fx.not_modified.get(sym, 0) + 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        if fx.validators:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
        self.end_headers()
        self.wfile.write(body)
        with fx.lock:
            fx.bytes_sent += len(body)
            fx.rows_sent += body.count(b"\n") - 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client the test killed mid-request


class History:
    """with History(validators=True, honour=True) as h: h.template; h.next_day("A")"""

    def __init__(self, validators=True, honour=True, rows=5, newest_first=False, daily=False):
        self.validators = validators
        self.honour = honour
        self.rows = rows
        self.newest_first = newest_first
        self.daily = daily  # one row a calendar day from 1970-01-01 (else 2025-01-01..28 again)
        self.days = {}  # symbol -> extra rows added by next_day
        self.revisions = {}  # symbol -> times revise() changed its first row
        self.requests = {}
        self.not_modified = {}
        self.conditional = {}  # symbol -> (If-None-Match, If-Modified-Since) of its last request
        self.queries = {}  # symbol -> the query string of its last request
        self.bytes_sent = 0
        self.rows_sent = 0  # data rows in the bodies served
        self.ignore_from = False  # serve the whole history whatever {from} says
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fixture = self
        port = self.server.server_address[1]
        self.template = f"http://127.0.0.1:{port}/q/{{symbol}}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def body(self, sym, since=None, until=None):
        """The history (rows dated from `since` to `until` when given, as {from} and {to})."""
        with self.lock:
            n = self.rows + self.days.get(sym, 0)
            rev = self.revisions.get(sym, 0)
        rows = []
        for i in range(n):
            volume = 1000 + i + (100 * rev if i == 0 else 0)
            if self.daily:
                day = time.strftime("%Y-%m-%d", time.gmtime(86400 * i))
                rows.append(f"{day},{10 + i}.0,{11 + i}.0,{9 + i}.5,{10 + i}.5,{volume}")
                continue
            rows.append(f"2025-01-{1 + i % 28:02d},{10 + i}.0,{11 + i}.0,{9 + i}.5,{10 + i}.5,"
                        f"{volume}")
        rows = [r for r in rows if (since is None or r[:10] >= since)
                and (until is None or r[:10] <= until)]
        if self.newest_first:
            rows.reverse()
        data = ("\n".join(["Date,Open,High,Low,Close,Volume"] + rows) + "\n").encode()
        return data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"'

    def last_modified(self, sym):
        """LAST_MODIFIED for the first history, a day later for each row added since."""
        with self.lock:
            extra = self.days.get(sym, 0)
        return time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                             time.gmtime(calendar.timegm(time.strptime(
                                 LAST_MODIFIED, "%a, %d %b %Y %H:%M:%S GMT")) + 86400 * extra))

    def served(self):
        """(requests, 304s, body bytes) so far."""
        with self.lock:
            return sum(self.requests.values()), sum(self.not_modified.values()), self.bytes_sent

    def next_day(self, sym):
        with self.lock:
            self.days[sym] = self.days.get(sym, 0) + 1

    def revise(self, sym):
        """Changes an archived row (the first day's volume): the next body is changed whole."""
        with self.lock:
            self.revisions[sym] = self.revisions.get(sym, 0) + 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        return False


SYMS = ["AAA", "BBB", "CCC"]


def first_run(h, tmp):
    out = os.path.join(tmp, "out")
    lst = write_symbols(os.path.join(tmp, "symbols.txt"), SYMS)
    r = run_qp("--source", h.template, "--out", out, "--symbols", lst)
    check_eq(r.returncode, 0, "first run: " + r.stderr)
    return out


@test(timeout=60)
def test_archived_symbols_keep_the_servers_validators_and_the_body_checksum():
    with tempfile.TemporaryDirectory() as tmp, History(validators=True) as h:
        out = first_run(h, tmp)
        cat = catalog(out)
        for s in SYMS:
            body, etag = h.body(s)
            check_eq(cat[s]["state"], "archived", s)
            check_eq(cat[s]["etag"], etag, f"{s} etag")
            check_eq(cat[s]["last_modified"], LAST_MODIFIED, f"{s} last_modified")
            check_eq(cat[s]["body_sha256"], hashlib.sha256(body).hexdigest(), f"{s} sha256")
        check_eq(sum(h.requests.values()), len(SYMS), "requests")
        v = run_qp("verify", out)
        check_eq(v.returncode, 0, "verify: " + v.stdout + v.stderr)


@test(timeout=60)
def test_a_server_without_validators_leaves_only_the_body_checksum():
    with tempfile.TemporaryDirectory() as tmp, History(validators=False) as h:
        out = first_run(h, tmp)
        cat = catalog(out)
        for s in SYMS:
            body, _ = h.body(s)
            check_eq(cat[s]["etag"], None, f"{s} etag")
            check_eq(cat[s]["last_modified"], None, f"{s} last_modified")
            check_eq(cat[s]["body_sha256"], hashlib.sha256(body).hexdigest(), f"{s} sha256")
        members = sorted(m for ms in archives(out).values() for m in ms)
        check_eq(members, sorted(s + ".xml" for s in SYMS), "archive members")


@test(timeout=60)
def test_a_rerun_keeps_the_validators_of_archived_symbols():
    with tempfile.TemporaryDirectory() as tmp, History(validators=True) as h:
        out = first_run(h, tmp)
        before = catalog(out)
        r = run_qp("--source", h.template, "--out", out, "--symbols",
                   os.path.join(tmp, "symbols.txt"))
        check_eq(r.returncode, 0, "rerun: " + r.stderr)
        after = catalog(out)
        for s in SYMS:
            for k in ("etag", "last_modified", "body_sha256"):
                check_eq(after[s][k], before[s][k], f"{s} {k} after a rerun")
        check_eq(sum(h.requests.values()), len(SYMS), "a rerun fetches nothing archived")


def refresh(h, tmp, *extra):
    out = os.path.join(tmp, "out")
    r = run_qp("--source", h.template, "--out", out, "--symbols",
               os.path.join(tmp, "symbols.txt"), "--refresh", *extra)
    return r


def generations(out):
    db = sqlite3.connect(f"file:{os.path.join(out, 'catalog.sqlite')}?mode=ro", uri=True)
    try:
        return sorted(db.execute("SELECT symbol, archive, replaced FROM generations"))
    finally:
        db.close()


def generation_rows(out, sym):
    """[(gen, rows, replaced, at_top)] of sym's earlier generations, then its current member."""
    db = sqlite3.connect(f"file:{os.path.join(out, 'catalog.sqlite')}?mode=ro", uri=True)
    try:
        gens = list(db.execute("SELECT gen, rows, replaced, at_top FROM generations"
                               " WHERE symbol = ? ORDER BY gen", (sym,)))
        cur = list(db.execute("SELECT gen, rows, 0, at_top FROM symbols WHERE symbol = ?",
                              (sym,)))
        return gens + cur
    finally:
        db.close()


def single_conversion(tmp, body):
    """What `quotepack convert` makes of the body: the XML one conversion gives."""
    path = os.path.join(tmp, "full.csv")
    with open(path, "wb") as f:
        f.write(body)
    r = subprocess.run([binary("quotepack"), "convert", path], capture_output=True, timeout=60)
    check_eq(r.returncode, 0, "convert: " + r.stderr.decode())
    return r.stdout


def cat_xml(out, sym):
    r = subprocess.run([binary("quotepack"), "cat", out, sym], capture_output=True, timeout=60)
    check_eq(r.returncode, 0, f"cat {sym}: " + r.stderr.decode())
    return r.stdout


def verify_clean(out):
    v = run_qp("verify", out)
    check_eq(v.returncode, 0, "verify: " + v.stdout + v.stderr)
    return v.stdout


@test(timeout=90)
def test_a_refresh_sends_the_catalogs_validators_and_a_304_costs_nothing():
    with tempfile.TemporaryDirectory() as tmp, History(validators=True, honour=True) as h:
        out = first_run(h, tmp)
        files = sorted(archives(out))
        before = catalog(out)
        req0, nm0, bytes0 = h.served()
        r = refresh(h, tmp)
        check_eq(r.returncode, 0, "refresh: " + r.stderr)
        req, nm, sent = h.served()
        check_eq(req - req0, len(SYMS), "one conditional request per archived symbol")
        check_eq(nm - nm0, len(SYMS), "all answered 304")
        check_eq(sent - bytes0, 0, "no body bytes served")
        for s in SYMS:
            check_eq(h.conditional[s][0], before[s]["etag"], f"{s} If-None-Match")
            check_eq(h.conditional[s][1], before[s]["last_modified"], f"{s} If-Modified-Since")
        check_eq(sorted(archives(out)), files, "no new archive")
        check_eq(catalog(out), before, "the catalog is unchanged")
        check("3 not modified (304)" in r.stderr, "summary counts the 304s: " + r.stderr)
        verify_clean(out)


@test(timeout=90)
def test_a_refresh_packs_only_the_new_rows_and_cat_gives_the_full_history():
    for newest_first in (False, True):
        refreshes_of_bbb_pack_only_its_new_rows(newest_first)


def refreshes_of_bbb_pack_only_its_new_rows(newest_first):
    with tempfile.TemporaryDirectory() as tmp, History(validators=True, honour=True,
                                                       newest_first=newest_first) as h:
        out = first_run(h, tmp)
        old = catalog(out)
        for day in range(3):
            h.next_day("BBB")
            req0, nm0, bytes0 = h.served()
            r = refresh(h, tmp)
            check_eq(r.returncode, 0, f"day {day}: " + r.stderr)
            req, nm, sent = h.served()
            body, etag = h.body("BBB")
            check_eq(req - req0, len(SYMS), f"day {day}: requests")
            check_eq(nm - nm0, len(SYMS) - 1, f"day {day}: 304s for the unchanged")
            check_eq(sent - bytes0, len(body), f"day {day}: only BBB's body was served")
            cat = catalog(out)
            check_eq(cat["BBB"]["etag"], etag, f"day {day}: BBB's new etag")
            check_eq(cat["BBB"]["last_modified"], h.last_modified("BBB"), f"day {day}: Last-Mod")
            check_eq(cat["BBB"]["rows"], 1, f"day {day}: BBB's new member holds the new row")
            check(cat["BBB"]["archive"] != old["BBB"]["archive"], f"day {day}: a new archive")
            for s in ("AAA", "CCC"):
                check_eq(cat[s], old[s], f"day {day}: {s} untouched")
            check_eq(cat_xml(out, "BBB"), single_conversion(tmp, body), f"day {day}: cat BBB")
            check("1 changed and archived again" in r.stderr, r.stderr)
            verify_clean(out)
        # A range: the conversion of those rows alone.
        body, _ = h.body("BBB")
        lines = body.decode().splitlines(keepends=True)
        part = "".join([lines[0]] + [ln for ln in lines[1:]
                                     if "2025-01-03" <= ln[:10] <= "2025-01-06"]).encode()
        check_eq(part.count(b"\n"), 5, "four rows in the range")
        r = subprocess.run([binary("quotepack"), "cat", out, "BBB", "--from", "2025-01-03",
                            "--to", "2025-01-06"], capture_output=True, timeout=60)
        check_eq(r.returncode, 0, r.stderr.decode())
        check_eq(r.stdout, single_conversion(tmp, part), "cat --from --to")
        r = subprocess.run([binary("quotepack"), "cat", out, "BBB", "--from", "2030-01-01"],
                           capture_output=True, timeout=60)
        check_eq(r.stdout, single_conversion(tmp, lines[0].encode()), "an empty range")
        r = subprocess.run([binary("quotepack"), "cat", out, "BBB", "--from", "Jan 3"],
                           capture_output=True, timeout=60)
        check_eq(r.returncode, 2, "a date that is not YYYY-MM-DD")
        top = 1 if newest_first else 0
        check_eq(generation_rows(out, "BBB"), [(0, 5, 0, 0), (1, 1, 0, top), (2, 1, 0, top),
                                               (3, 1, 0, top)], "BBB's four generations")
        # A changed archived row: the whole body again, every earlier generation replaced.
        h.revise("BBB")
        h.next_day("BBB")
        r = refresh(h, tmp)
        check_eq(r.returncode, 0, r.stderr)
        check("archived again whole" in r.stderr, r.stderr)
        check("1 changed and archived again (0 of them only their new rows)" in r.stderr,
              r.stderr)
        check_eq(generation_rows(out, "BBB"), [(0, 5, 1, 0), (1, 1, 1, top), (2, 1, 1, top),
                                               (3, 1, 1, top), (4, 9, 0, 0)], "replaced")
        check_eq(cat_xml(out, "BBB"), single_conversion(tmp, h.body("BBB")[0]), "cat, revised")
        verify_clean(out)


@test(timeout=90)
def test_a_server_that_ignores_conditional_headers_costs_a_download_but_no_archive():
    with tempfile.TemporaryDirectory() as tmp, History(validators=True, honour=False) as h:
        out = first_run(h, tmp)
        files = sorted(archives(out))
        before = catalog(out)
        _, _, bytes0 = h.served()
        r = refresh(h, tmp)
        check_eq(r.returncode, 0, "refresh: " + r.stderr)
        _, nm, sent = h.served()
        check_eq(nm, 0, "no 304")
        check_eq(sent - bytes0, sum(len(h.body(s)[0]) for s in SYMS), "full bodies served")
        check_eq(sorted(archives(out)), files, "no new archive: the SHA-256 is the archived one")
        check_eq(catalog(out), before, "the catalog is unchanged")
        check("3 unchanged (same SHA-256)" in r.stderr, r.stderr)


@test(timeout=90)
def test_without_validators_the_body_checksum_decides():
    with tempfile.TemporaryDirectory() as tmp, History(validators=False) as h:
        out = first_run(h, tmp)
        files = sorted(archives(out))
        r = refresh(h, tmp)
        check_eq(r.returncode, 0, "refresh: " + r.stderr)
        for s in SYMS:
            check_eq(h.conditional[s], (None, None), f"{s}: nothing to send")
        check_eq(sorted(archives(out)), files, "no new archive")
        h.next_day("CCC")
        r = refresh(h, tmp)
        check_eq(r.returncode, 0, "refresh: " + r.stderr)
        check_eq(len(archives(out)), len(files) + 1, "one new archive for CCC")
        check_eq(cat_xml(out, "CCC"), single_conversion(tmp, h.body("CCC")[0]), "cat CCC")
        check_eq(catalog(out)["CCC"]["body_sha256"], hashlib.sha256(h.body("CCC")[0]).hexdigest(),
                 "CCC sha256")
        verify_clean(out)


@test(timeout=120)
def test_sigkill_while_a_refresh_packs_loses_nothing_and_packs_nothing_twice():
    for point in ("pack-write", "pack-rename", "pack-commit"):
        with tempfile.TemporaryDirectory() as tmp, History(validators=True) as h:
            out = first_run(h, tmp)
            old = catalog(out)
            h.next_day("AAA")
            e = dict(os.environ)
            e["QUOTEPACK_TEST_CRASH_AT"] = point
            r = subprocess.run([binary("quotepack"), "--source", h.template, "--out", out,
                                "--symbols", os.path.join(tmp, "symbols.txt"), "--refresh"],
                               capture_output=True, text=True, env=e, timeout=60 * MULT)
            check_eq(r.returncode, -9, f"{point}: killed")
            cat = catalog(out)
            if point != "pack-commit":
                check_eq(cat["AAA"], old["AAA"], f"{point}: AAA still in its old archive")
            r = refresh(h, tmp)
            check_eq(r.returncode, 0, f"{point}: the refresh after: " + r.stderr)
            body, etag = h.body("AAA")
            cat = catalog(out)
            check_eq(cat["AAA"]["etag"], etag, f"{point}: AAA's new etag")
            check_eq(cat_xml(out, "AAA"), single_conversion(tmp, body), f"{point}: cat AAA")
            check_eq(len(generations(out)), 1, f"{point}: one replaced generation")
            members = [m for ms in archives(out).values() for m in ms if m == "AAA.xml"]
            check_eq(len(members), 2, f"{point}: the old and the new member, no third")
            verify_clean(out)


def settings(out):
    db = sqlite3.connect(f"file:{os.path.join(out, 'catalog.sqlite')}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT key, value FROM settings"))
    finally:
        db.close()


def single_conversion_compact(tmp, body):
    path = os.path.join(tmp, "full.csv")
    with open(path, "wb") as f:
        f.write(body)
    r = subprocess.run([binary("quotepack"), "convert", "--compact", path], capture_output=True,
                       timeout=60)
    check_eq(r.returncode, 0, "convert: " + r.stderr.decode())
    return r.stdout


@test(timeout=120)
def test_update_refreshes_every_symbol_with_the_options_recorded_by_the_first_run():
    with tempfile.TemporaryDirectory() as tmp, History(validators=True, honour=True) as h:
        out = os.path.join(tmp, "out")
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), SYMS)
        r = run_qp("--source", h.template, "--out", out, "--symbols", lst, "--compact",
                   "--batch", "2", "--level", "best", "--delimiter", "comma")
        check_eq(r.returncode, 0, "first run: " + r.stderr)
        st = settings(out)
        check_eq(st["source"], h.template, "recorded source")
        check_eq((st["compact"], st["batch"], st["level"], st["delimiter"], st["format"]),
                 ("1", "2", "best", ",", "tgz"), "recorded options")
        for day in range(3):
            h.next_day("AAA")
            h.next_day("CCC")
            req0, nm0, bytes0 = h.served()
            files = set(archives(out))
            r = run_qp("update", out)
            check_eq(r.returncode, 0, f"update {day}: " + r.stderr)
            req, nm, sent = h.served()
            check_eq(req - req0, 3, f"update {day}: one request per symbol of the catalog")
            check_eq(nm - nm0, 1, f"update {day}: BBB answered 304")
            check_eq(sent - bytes0, len(h.body("AAA")[0]) + len(h.body("CCC")[0]),
                     f"update {day}: only the changed bodies were served")
            new = set(archives(out)) - files
            check_eq(len(new), 1, f"update {day}: AAA and CCC in one archive (--batch 2)")
            check_eq(sorted(archives(out)[new.pop()]), ["AAA.xml", "CCC.xml"], f"update {day}")
            for s_ in ("AAA", "CCC"):
                check_eq(cat_xml(out, s_), single_conversion_compact(tmp, h.body(s_)[0]),
                         f"update {day}: cat {s_} (recorded --compact)")
            verify_clean(out)
        check_eq(settings(out), st, "update records nothing")


@test(timeout=60)
def test_update_needs_a_catalog_and_takes_no_symbols():
    with tempfile.TemporaryDirectory() as tmp:
        r = run_qp("update", os.path.join(tmp, "none"))
        check_eq(r.returncode, 1, r.stderr)
        check("there is none" in r.stderr, r.stderr)
    with tempfile.TemporaryDirectory() as tmp, History() as h:
        out = first_run(h, tmp)
        r = run_qp("update", out, "ZZZ")
        check_eq(r.returncode, 2, r.stderr)
        check("--catalog-symbols" in r.stderr, r.stderr)


@test(timeout=90)
def test_to_in_the_template_is_today_in_the_recorded_date_format():
    with tempfile.TemporaryDirectory() as tmp, History(validators=True) as h:
        out = os.path.join(tmp, "out")
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), SYMS)
        tmpl = h.template + "?to={to}"
        r = run_qp("--source", tmpl, "--out", out, "--symbols", lst, "--date-format", "%d/%m/%Y",
                   env={"QUOTEPACK_TODAY": "2025-07-04"})
        check_eq(r.returncode, 0, "first run: " + r.stderr)
        check_eq(sorted(h.queries.values()), ["to=04%2F07%2F2025"] * 3, "today, encoded")
        check_eq(settings(out)["date-format"], "%d/%m/%Y", "recorded")
        h.next_day("AAA")
        r = run_qp("update", out, env={"QUOTEPACK_TODAY": "2025-07-05"})
        check_eq(r.returncode, 0, "update: " + r.stderr)
        check_eq(sorted(h.queries.values()), ["to=05%2F07%2F2025"] * 3, "the next day")
        r = run_qp("update", out, env={"QUOTEPACK_TODAY": "someday"})
        check_eq(r.returncode, 1, "a bad QUOTEPACK_TODAY: " + r.stderr)
        check("QUOTEPACK_TODAY=someday" in r.stderr, r.stderr)
        verify_clean(out)


@test(timeout=60)
def test_an_empty_date_format_is_refused():
    with tempfile.TemporaryDirectory() as tmp:
        r = run_qp("--date-format", "", "--out", os.path.join(tmp, "out"), "A")
        check_eq(r.returncode, 2, r.stderr)


def from_runs(newest_first):
    """A {from} template: a first run, then three daily updates with one new row a day."""
    with tempfile.TemporaryDirectory() as tmp, History(validators=False,
                                                       newest_first=newest_first) as h:
        tmpl = h.template + "?from={from}&to={to}"
        out = os.path.join(tmp, "out")
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), SYMS)
        env = dict(os.environ)
        env["QUOTEPACK_TODAY"] = "2025-01-05"
        r = subprocess.run([binary("quotepack"), "--source", tmpl, "--out", out, "--symbols",
                            lst], capture_output=True, text=True, env=env, timeout=60 * MULT)
        check_eq(r.returncode, 0, "first run: " + r.stderr)
        check_eq(h.queries["AAA"], "from=1970-01-01&to=2025-01-05", "first run: the whole history")
        check_eq(h.rows_sent, 15, "five rows a symbol")
        for day in range(3):
            today = f"2025-01-{6 + day:02d}"
            env["QUOTEPACK_TODAY"] = today
            for sym in SYMS:
                h.next_day(sym)
            _, _, bytes0 = h.served()
            rows0 = h.rows_sent
            r = subprocess.run([binary("quotepack"), "update", out], capture_output=True,
                               text=True, env=env, timeout=60 * MULT)
            check_eq(r.returncode, 0, f"day {day}: " + r.stderr)
            check_eq(h.queries["BBB"], f"from={today}&to={today}", f"day {day}: the new day only")
            check_eq(h.rows_sent - rows0, len(SYMS), f"day {day}: one new row a symbol served")
            _, _, sent = h.served()
            new_bodies = sum(len(h.body(s, today, today)[0]) for s in SYMS)
            check_eq(sent - bytes0, new_bodies, f"day {day}: bytes served: the new rows alone")
            check("3 changed and archived again (3 of them only their new rows)" in r.stderr,
                  r.stderr)
            for s in SYMS:
                check_eq(cat_xml(out, s), single_conversion(tmp, h.body(s)[0]),
                         f"day {day}: cat {s} is the conversion of the full history")
            verify_clean(out)
        top = 1 if newest_first else 0
        check_eq(generation_rows(out, "CCC"), [(0, 5, 0, 0), (1, 1, 0, top), (2, 1, 0, top),
                                               (3, 1, 0, top)], "CCC's generations")
        # A day without a new row: the body has none, nothing is packed.
        env["QUOTEPACK_TODAY"] = "2025-01-09"
        files = sorted(archives(out))
        r = subprocess.run([binary("quotepack"), "update", out], capture_output=True, text=True,
                           env=env, timeout=60 * MULT)
        check_eq(r.returncode, 0, r.stderr)
        check_eq(sorted(archives(out)), files, "no new row: no new archive")
        # A server that ignores {from} and sends rows already archived: refused, nothing lost.
        h.revise("AAA")
        h.next_day("AAA")
        h.ignore_from = True
        r = subprocess.run([binary("quotepack"), "update", out], capture_output=True, text=True,
                           env=env, timeout=60 * MULT)
        check_eq(r.returncode, 1, r.stderr)
        check("not after the last archived row" in r.stderr, r.stderr)
        check_eq(cat_xml(out, "BBB"), single_conversion(tmp, h.body("BBB")[0]), "BBB kept")
        verify_clean(out)


@test(timeout=180)
def test_from_in_the_template_fetches_and_packs_only_the_new_rows():
    for newest_first in (False, True):
        from_runs(newest_first)


def check_history(out, h, tmp, what):
    """Every symbol's cat is the conversion of its full history; each member once; verify."""
    for s in SYMS:
        check_eq(cat_xml(out, s), single_conversion(tmp, h.body(s)[0]), f"{what}: cat {s}")
        gens = [g for g in generation_rows(out, s) if g[2] == 0]
        members = [m for ms in archives(out).values() for m in ms if m == s + ".xml"]
        check_eq(len(members), len(gens), f"{what}: {s}: one member per generation, no more")
    verify_clean(out)


@test(timeout=300)
def test_sigkill_during_an_update_with_from_loses_no_row_and_packs_none_twice():
    import re
    points = [("crash", p) for p in ("pack-write", "pack-rename", "pack-commit")]
    # Every durable step of the update's commit too (QUOTEPACK_FAILPOINT=N kills at the Nth).
    with tempfile.TemporaryDirectory() as tmp, History(validators=False) as h:
        tmpl = h.template + "?from={from}"
        out = os.path.join(tmp, "out")
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), SYMS)
        check_eq(run_qp("--source", tmpl, "--out", out, "--symbols", lst).returncode, 0, "first")
        for sym in SYMS:
            h.next_day(sym)
        e = dict(os.environ)
        e["QUOTEPACK_FAILPOINT"] = "count"
        r = subprocess.run([binary("quotepack"), "update", out], capture_output=True, text=True,
                           env=e, timeout=60 * MULT)
        check_eq(r.returncode, 0, r.stderr)
        total = int(re.search(r"failpoint steps: total=(\d+)", r.stderr).group(1))
    points += [("failpoint", str(n)) for n in range(1, total + 1)]
    for kind, point in points:
        with tempfile.TemporaryDirectory() as tmp, History(validators=False) as h:
            tmpl = h.template + "?from={from}"
            out = os.path.join(tmp, "out")
            lst = write_symbols(os.path.join(tmp, "symbols.txt"), SYMS)
            check_eq(run_qp("--source", tmpl, "--out", out, "--symbols", lst).returncode, 0,
                     "first run")
            for day in range(2):
                for sym in SYMS:
                    h.next_day(sym)
                e = dict(os.environ)
                e["QUOTEPACK_TEST_CRASH_AT" if kind == "crash" else "QUOTEPACK_FAILPOINT"] = point
                if day == 0:
                    r = subprocess.run([binary("quotepack"), "update", out], capture_output=True,
                                       text=True, env=e, timeout=60 * MULT)
                    # A run can take a step fewer (catalog flushes are also timed): then it
                    # ends normally, "not reached", and the checks below hold all the same.
                    if not (kind == "failpoint" and r.returncode == 0
                            and "not reached" in r.stderr):
                        check_eq(r.returncode, -9, f"{point}: killed: " + r.stderr)
                r = run_qp("update", out)
                check_eq(r.returncode, 0, f"{point}: the update after: " + r.stderr)
                check_history(out, h, tmp, f"{point}, day {day}")


def four_generations_each(h, tmp):
    """A {from} directory where every symbol has four row-level generations."""
    tmpl = h.template + "?from={from}"
    out = os.path.join(tmp, "out")
    lst = write_symbols(os.path.join(tmp, "symbols.txt"), SYMS)
    check_eq(run_qp("--source", tmpl, "--out", out, "--symbols", lst).returncode, 0, "first run")
    for _ in range(3):
        for sym in SYMS:
            h.next_day(sym)
        check_eq(run_qp("update", out).returncode, 0, "update")
    for s in SYMS:
        check_eq(len(generation_rows(out, s)), 4, f"{s}: four generations")
    return out


def check_self_describing(out, h, what):
    """Every archive in out verifies against its own manifest (verify --no-catalog), and the
    one holding a symbol's merged member lists it with its full history's rows and dates."""
    arcs = archives(out)
    v = run_qp("verify", "--no-catalog", *[os.path.join(out, n) for n in arcs])
    check_eq(v.returncode, 0, f"{what}: verify --no-catalog: {v.stdout}{v.stderr}")
    for s in SYMS:
        (name,) = [n for n, ms in arcs.items() if s + ".xml" in ms]
        ls = run_qp("ls", os.path.join(out, name))
        check_eq(ls.returncode, 0, f"{what}: ls {name}: {ls.stderr}")
        listed = [line.split() for line in ls.stdout.splitlines() if line.split()[:1] == [s]]
        data = h.body(s)[0].decode().splitlines()[1:]
        check_eq(len(listed), 1, f"{what}: {s} listed once: {ls.stdout}")
        check_eq(int(listed[0][1]), len(data), f"{what}: {s}: the full history's rows")
        check_eq(listed[0][2:4], [data[0][:10], data[-1][:10]], f"{what}: {s}: first, last")


@test(timeout=180)
def test_compact_merges_row_level_generations_into_one_member():
    for newest_first in (False, True):
        with tempfile.TemporaryDirectory() as tmp, History(validators=False,
                                                           newest_first=newest_first) as h:
            out = four_generations_each(h, tmp)
            r = run_qp("compact", out, "--max-generations", "4")
            check_eq(r.returncode, 0, r.stderr)
            check("0 merged into one member" in r.stdout, r.stdout)
            r = run_qp("compact", out, "--max-generations", "3")
            check_eq(r.returncode, 0, r.stderr)
            check("3 merged into one member, 12 earlier members dropped, 0 archives rewritten, "
                  "4 deleted" in r.stdout, r.stdout)
            check_eq(generations(out), [], "every earlier generation dropped")
            for s in SYMS:
                check_eq([g[1] for g in generation_rows(out, s)], [8], f"{s}: one member")
            check_history(out, h, tmp, "after merging")
            check_self_describing(out, h, "after merging")
            # Updates go on from the merged member.
            for sym in SYMS:
                h.next_day(sym)
            r = run_qp("update", out)
            check_eq(r.returncode, 0, r.stderr)
            check_eq([g[1] for g in generation_rows(out, "AAA")], [8, 1],
                     f"a new row-level one: {generation_rows(out, 'AAA')} {h.queries} {r.stderr}")
            check_history(out, h, tmp, "an update after merging")


@test(timeout=300)
def test_sigkill_while_compact_merges_loses_no_row_and_keeps_none_twice():
    for point in ("merge-rename", "compact-rename", "compact-commit"):
        with tempfile.TemporaryDirectory() as tmp, History(validators=False) as h:
            out = four_generations_each(h, tmp)
            e = dict(os.environ)
            e["QUOTEPACK_TEST_CRASH_AT"] = point
            r = subprocess.run([binary("quotepack"), "compact", out, "--max-generations", "2"],
                               capture_output=True, text=True, env=e, timeout=60 * MULT)
            check_eq(r.returncode, -9, f"{point}: killed: " + r.stderr)
            for s in SYMS:  # the catalog still reads every symbol whole
                check_eq(cat_xml(out, s), single_conversion(tmp, h.body(s)[0]), f"{point}: {s}")
            r = run_qp("compact", out, "--max-generations", "2")
            check_eq(r.returncode, 0, f"{point}: compact again: " + r.stderr)
            check_eq(generations(out), [], f"{point}: no earlier generation left")
            check_history(out, h, tmp, point)


@test(timeout=120)
def test_verify_and_cat_check_every_generation():
    with tempfile.TemporaryDirectory() as tmp, History(validators=False) as h:
        out = four_generations_each(h, tmp)
        db = sqlite3.connect(os.path.join(out, "catalog.sqlite"))
        try:
            (gen1,) = db.execute("SELECT archive FROM generations WHERE symbol = 'BBB'"
                                 " AND gen = 1").fetchone()
        finally:
            db.close()
        os.unlink(os.path.join(out, gen1))  # an earlier generation's archive is lost
        v = run_qp("verify", out)
        check_eq(v.returncode, 1, "verify finds the lost generation: " + v.stdout + v.stderr)
        check("BBB" in v.stdout + v.stderr, v.stdout + v.stderr)
        r = subprocess.run([binary("quotepack"), "cat", out, "BBB"], capture_output=True,
                           timeout=60)
        check_eq(r.returncode, 1, "cat refuses a history with a member missing")
        check_eq(r.stdout, b"", "and writes nothing of it")


@test(timeout=300)
def test_from_reads_the_dates_of_a_body_spilled_to_a_file():
    # 100,000 daily rows: about 5 MB, past the 4 MiB a body keeps in memory.
    with tempfile.TemporaryDirectory() as tmp, History(validators=False, rows=100000,
                                                       daily=True) as h:
        tmpl = h.template + "?from={from}"
        out = os.path.join(tmp, "out")
        lst = write_symbols(os.path.join(tmp, "symbols.txt"), ["AAA"])
        check(len(h.body("AAA")[0]) > 4 << 20, "the body spills")
        r = run_qp("--source", tmpl, "--out", out, "--symbols", lst)
        check_eq(r.returncode, 0, "first run: " + r.stderr)
        db = sqlite3.connect(f"file:{os.path.join(out, 'catalog.sqlite')}?mode=ro", uri=True)
        try:
            dates = db.execute("SELECT first_row, last_row FROM symbols").fetchone()
        finally:
            db.close()
        last = time.strftime("%Y-%m-%d", time.gmtime(86400 * 99999))
        check_eq(dates, ("1970-01-01", last), "the dates of the spilled body")
        h.next_day("AAA")
        rows0 = h.rows_sent
        r = run_qp("update", out)
        check_eq(r.returncode, 0, "update: " + r.stderr)
        check_eq(h.rows_sent - rows0, 1, "the new row only")
        check_eq(generation_rows(out, "AAA"), [(0, 100000, 0, 0), (1, 1, 0, 0)], "generations")
        check_eq(cat_xml(out, "AAA"), single_conversion(tmp, h.body("AAA")[0]), "cat AAA")
        verify_clean(out)


def member_mtimes(out):
    """{member: mtime} of the members of the archives the catalog records them in."""
    cat = catalog(out)
    res = {}
    for s, row in cat.items():
        with tarfile.open(os.path.join(out, row["archive"]), "r:gz") as t:
            res[s + ".xml"] = t.getmember(s + ".xml").mtime
    return res


def three_refreshes_of_bbb(h, tmp):
    out = first_run(h, tmp)
    for _ in range(3):
        h.revise("BBB")  # an archived row changes: each body is archived again whole
        h.next_day("BBB")
        r = refresh(h, tmp)
        check_eq(r.returncode, 0, "refresh: " + r.stderr)
    check_eq(len(generations(out)), 3, "BBB has three replaced generations")
    return out


def check_each_symbol_once(out, h, tmp, what):
    members = sorted(m for ms in archives(out).values() for m in ms)
    check_eq(members, sorted(s + ".xml" for s in SYMS), what + ": every symbol once, no more")
    for s in SYMS:
        check_eq(cat_xml(out, s), single_conversion(tmp, h.body(s)[0]), f"{what}: cat {s}")
    verify_clean(out)


@test(timeout=120)
def test_compact_drops_the_replaced_generations_and_keeps_every_row():
    with tempfile.TemporaryDirectory() as tmp, History(validators=True) as h:
        out = three_refreshes_of_bbb(h, tmp)
        before = sorted(archives(out))
        r = run_qp("compact", out, "--max-generations", "4")
        check_eq(r.returncode, 0, r.stderr)
        check_eq(sorted(archives(out)), before, "4 generations are allowed: nothing to do")
        mtimes = member_mtimes(out)
        r = run_qp("compact", out, "--max-generations", "2")
        check_eq(r.returncode, 0, r.stderr)
        check_eq(member_mtimes(out), {k: mtimes[k] for k in ("AAA.xml", "CCC.xml")} | {
            "BBB.xml": member_mtimes(out)["BBB.xml"]}, "a rewritten member keeps its mtime")
        check("3 earlier members dropped, 1 archives rewritten, 2 deleted" in r.stdout, r.stdout)
        check_eq(generations(out), [], "no earlier generation left")
        check_each_symbol_once(out, h, tmp, "after compact")
        check_eq(len(archives(out)), 2, "AAA and CCC rewritten together, BBB's current archive")
        # An update after a compaction goes on as before.
        h.next_day("AAA")
        r = run_qp("update", out)
        check_eq(r.returncode, 0, r.stderr)
        check_eq(cat_xml(out, "AAA"), single_conversion(tmp, h.body("AAA")[0]), "AAA updated")
        verify_clean(out)
        r = run_qp("compact", out, "--max-generations", "0")
        check_eq(r.returncode, 2, "N >= 1")


@test(timeout=180)
def test_sigkill_during_compact_loses_nothing_and_keeps_nothing_twice():
    for point in ("compact-rename", "compact-commit"):
        with tempfile.TemporaryDirectory() as tmp, History(validators=True) as h:
            out = three_refreshes_of_bbb(h, tmp)
            e = dict(os.environ)
            e["QUOTEPACK_TEST_CRASH_AT"] = point
            r = subprocess.run([binary("quotepack"), "compact", out], capture_output=True,
                               text=True, env=e, timeout=60 * MULT)
            check_eq(r.returncode, -9, f"{point}: killed")
            for s in SYMS:  # the catalog still reads every symbol whole
                check_eq(cat_xml(out, s), single_conversion(tmp, h.body(s)[0]), f"{point}: {s}")
            r = run_qp("compact", out)
            check_eq(r.returncode, 0, f"{point}: compact again: " + r.stderr)
            check_eq(generations(out), [], f"{point}: no earlier generation left")
            check_each_symbol_once(out, h, tmp, point)


if __name__ == "__main__":
    main()
