#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The viewer page (web/index.html) in headless Chromium, driven over the DevTools protocol.

Live picture (two screenshots a second apart differ inside the image), the fps from /state on
the page, "reconnecting" when the server stops and recovery without a reload when it starts
again on the same port; the snapshot button downloads a JPEG; fullscreen; one tile per source
from a `sources` array; the phone layout. Screenshots go to $BUILD_DIR/test-output/browser/.
Every wait polls a condition under a deadline scaled by TEST_TIMEOUT_MULTIPLIER.
"""
import base64
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from cdp import Chromium  # noqa: E402
from harness import MULT, ROOT, check, check_eq, main, test  # noqa: E402
from mjpegd_fixture import Mjpegd, ffprobe  # noqa: E402
import rec_writer  # noqa: E402

BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
OUT = os.path.join(BUILD, "test-output", "browser")
ARGS = ("--size", "640x360", "--fps", "15")

_browser = None


def browser():
    """One Chromium for the whole file (started on first use, stopped at exit)."""
    global _browser
    if _browser is None:
        os.makedirs(OUT, exist_ok=True)
        profile = os.path.join(OUT, "profile")
        shutil.rmtree(profile, ignore_errors=True)
        _browser = Chromium(profile, timeout=30 * MULT).start()
    return _browser


def save(name, png):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(png)


def until(what, pred, timeout=20.0, interval=0.2):
    """Polls pred() until it returns a true value; fails with `what` after timeout (scaled)."""
    deadline = time.monotonic() + timeout * MULT
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout * MULT:.0f} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def open_page(url, width=1024, height=768, mobile=False):
    page = browser().new_page()
    page.call("Page.enable")
    page.call("Runtime.enable")
    page.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
              deviceScaleFactor=1, mobile=mobile)
    page.call("Page.navigate", url=url)
    return page


def tile_info(page, i=0):
    return page.evaluate(f"""(() => {{
        const t = document.querySelectorAll('.tile')[{i}];
        if (!t) return null;
        const img = t.querySelector('img.live'), ov = t.querySelector('.overlay');
        const r = img.getBoundingClientRect();
        return {{phase: t.dataset.phase, natural: img.naturalWidth, overlay: !ov.hidden &&
                 getComputedStyle(ov).display !== 'none', overlayText: ov.innerText,
                 fps: t.querySelector('.fps').textContent, size: t.querySelector('.size').textContent,
                 viewers: t.querySelector('.viewers').textContent,
                 status: t.querySelector('.status').textContent,
                 error: t.querySelector('.error').textContent,
                 conn: document.getElementById('conn').dataset.state,
                 connText: document.getElementById('conn').innerText,
                 rect: {{x: r.x, y: r.y, width: r.width, height: r.height}}}};
    }})()""")


def image_shot(page, i=0):
    info = tile_info(page, i)
    check(info is not None and info["rect"]["width"] > 0, f"no image area: {info}")
    return page.screenshot(info["rect"])


def shots_differ(page, first_name, second_name, timeout=20.0):
    """Two screenshots of the image at least a second apart that differ (retried until a deadline)."""
    a = image_shot(page)
    save(first_name, a)
    deadline = time.monotonic() + timeout * MULT
    while True:
        time.sleep(1.0)
        b = image_shot(page)
        if b != a:
            save(second_name, b)
            return a, b
        check(time.monotonic() < deadline, f"the picture did not change within {timeout * MULT:.0f} s")


@test(timeout=240)
def test_live_picture_fps_and_reconnect_without_reload():
    with Mjpegd(*ARGS, small=False) as srv:
        port = srv.port
        page = open_page(f"http://127.0.0.1:{port}/")
        until("the stream to show a picture",
              lambda: (lambda t: t and t["phase"] == "live" and t["natural"] == 640)(tile_info(page)))
        _, live = shots_differ(page, "live-1.png", "live-2.png")
        save("live-page.png", page.screenshot())

        # The fps on the page is the one in the /state answer the page last read.
        def fps_shown():
            v = page.evaluate("""(() => { const s = window.mjpegd.state;
                const t = document.querySelector('.tile .fps').textContent;
                return s && s.fps > 0 ? {state: s, text: t} : null; })()""")
            return v
        v = until("a positive fps from /state on the page", fps_shown)
        check_eq(v["text"], f"{v['state']['fps']:.1f} fps", "fps shown vs. /state")
        real = srv.state()
        check_eq((v["state"]["source"], v["state"]["width"], v["state"]["height"]),
                 (real["source"], real["width"], real["height"]), "page's /state vs. the server's")
        info = tile_info(page)
        check_eq(info["size"], "640\u00d7360", "size shown")
        check(info["viewers"].endswith("viewer") or info["viewers"].endswith("viewers"),
              f"viewers shown: {info['viewers']!r}")
        check_eq(info["status"], "ok", "source status shown")
        check_eq(info["conn"], "live", "connection indicator")
        page.evaluate("window.__noReload = 'still here'")
        navigations = sum(1 for e in page.events if e["method"] == "Page.frameNavigated")
        srv.stop()
        check_eq(srv.returncode, 0, "server exit status")
        srv.check_no_sanitizer_report()

    # Server gone: the page says so, over the last picture.
    info = until("the page to show 'reconnecting'",
                 lambda: (lambda t: t if t and t["phase"] == "reconnecting" and t["overlay"]
                          and t["conn"] == "reconnecting" else None)(tile_info(page)))
    check("reconnecting" in info["overlayText"], f"overlay text: {info['overlayText']!r}")
    check("reconnecting" in info["connText"], f"header text: {info['connText']!r}")
    save("reconnecting.png", page.screenshot())
    frozen = image_shot(page)

    # Same port again: the picture comes back by itself.
    with Mjpegd(*ARGS, small=False, listen=f"127.0.0.1:{port}") as srv2:
        until("the picture to recover",
              lambda: (lambda t: t and t["phase"] == "live" and not t["overlay"]
                       and t["conn"] == "live")(tile_info(page)), timeout=30)
        a, b = shots_differ(page, "recovered-1.png", "recovered-2.png")
        check(b != frozen, "the recovered picture is still the frozen one")
        save("recovered-page.png", page.screenshot())
        check_eq(page.evaluate("window.__noReload"), "still here", "page state (a reload would clear it)")
        check_eq(sum(1 for e in page.events if e["method"] == "Page.frameNavigated"), navigations,
                 "navigations since the first load")
        until("a viewer counted by the new server", lambda: srv2.state()["clients"] >= 1)
        browser().close_page(page)


@test(timeout=180)
def test_snapshot_button_downloads_a_jpeg_and_fullscreen_fills_the_screen():
    downloads = os.path.join(OUT, "downloads")
    shutil.rmtree(downloads, ignore_errors=True)
    os.makedirs(downloads)
    with Mjpegd(*ARGS, small=False) as srv:
        b = browser().browser()
        b.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=downloads, eventsEnabled=True)
        page = open_page(f"http://127.0.0.1:{srv.port}/")
        until("the stream to show a picture", lambda: (lambda t: t and t["phase"] == "live")(tile_info(page)))

        # Fullscreen before the download: with the download just made, headless Chromium left
        # fullscreen by itself 0.1-0.4 s after entering it (a fullscreenchange to null; 4 runs
        # in 15 on a loaded machine, none in 15 in this order), so the label never came.
        page.evaluate("document.querySelector('.tile .full').click()", user_gesture=True)
        until("the tile to go fullscreen", lambda: page.evaluate(
            "document.fullscreenElement === document.querySelector('.tile') || "
            "document.querySelector('.tile').classList.contains('pseudo-full')"))
        vw = page.evaluate("[innerWidth, innerHeight]")
        r = until("the picture to fill the screen", lambda: (lambda t: t if t["rect"]["width"] >= vw[0] - 2
                                                             else None)(tile_info(page)))["rect"]
        check(r["height"] >= vw[1] * 0.6, f"fullscreen picture {r} in a {vw} viewport")
        save("fullscreen.png", page.screenshot())
        # The label follows the fullscreenchange event, which fires after fullscreenElement is
        # set: wait for it rather than read it once (it raced on a loaded machine).
        until("the button to say Exit fullscreen", lambda: page.evaluate(
            "document.querySelector('.tile .full').textContent") == "Exit fullscreen")
        page.evaluate("document.querySelector('.tile .full').click()", user_gesture=True)
        until("fullscreen to end", lambda: page.evaluate(
            "!document.fullscreenElement && !document.querySelector('.tile').classList.contains('pseudo-full')"))
        until("the button to say Fullscreen", lambda: page.evaluate(
            "document.querySelector('.tile .full').textContent") == "Fullscreen")

        page.evaluate("document.querySelector('.tile .snap').click()", user_gesture=True)

        def done():
            names = [n for n in os.listdir(downloads) if n.endswith(".jpg")]
            return names if names and not any(n.endswith(".crdownload") for n in os.listdir(downloads)) else None
        names = until("a downloaded snapshot", done, timeout=30)
        check_eq(len(names), 1, "downloaded files")
        check(names[0].startswith("mjpegd-0-"), f"file name {names[0]!r}")
        with open(os.path.join(downloads, names[0]), "rb") as f:
            data = f.read()
        check(data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9", f"not a JPEG: {data[:8]!r}")
        st = ffprobe(data)
        check_eq((st["codec_name"], st["width"], st["height"]), ("mjpeg", 640, 360), "snapshot")
        browser().close_page(page)


def fake_state(srv, sources):
    """A /state body with a `sources` array (the multi-source contract in docs/mjpegd.md)."""
    st = srv.state()
    st["sources"] = sources
    return json.dumps(st).encode()


def serve_fake_state(page, body, pred, what, timeout=20.0):
    """Answers the page's paused /state requests with body() until pred() holds."""
    deadline = time.monotonic() + timeout * MULT
    while True:
        for e in list(page.events):
            if e["method"] == "Fetch.requestPaused":
                page.events.remove(e)
                page.call("Fetch.fulfillRequest", requestId=e["params"]["requestId"], responseCode=200,
                          responseHeaders=[{"name": "Content-Type", "value": "application/json"},
                                           {"name": "Cache-Control", "value": "no-store"}],
                          body=base64.b64encode(body()).decode())
        v = pred()
        if v:
            return v
        check(time.monotonic() < deadline, f"timed out after {timeout * MULT:.0f} s waiting for {what}")
        page.pump(0.2)


@test(timeout=180)
def test_one_tile_per_source_from_a_sources_array():
    with Mjpegd(*ARGS, small=False) as srv:
        two = [
            {"index": 0, "source": "test", "stream": "/stream", "snapshot": "/snapshot", "width": 640,
             "height": 360, "fps": 12.5, "target_fps": 15, "clients": 1, "status": "ok", "last_error": None},
            {"index": 1, "source": "v4l2:/dev/video9", "stream": "/?action=stream",
             "snapshot": "/?action=snapshot", "width": 640, "height": 360, "fps": 0.0, "target_fps": 30,
             "clients": 0, "status": "retrying", "last_error": "open /dev/video9: No such device"},
        ]
        sources = {"list": two}
        page = browser().new_page()
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=1280, height=720, deviceScaleFactor=1, mobile=False)
        page.call("Fetch.enable", patterns=[{"urlPattern": "*/state*", "requestStage": "Request"}])
        page.call("Page.navigate", url=f"http://127.0.0.1:{srv.port}/")

        def both_live():
            n = page.evaluate("document.querySelectorAll('.tile').length")
            if n != 2:
                return None
            t0, t1 = tile_info(page, 0), tile_info(page, 1)
            return (t0, t1) if t0["phase"] == "live" and t1["phase"] == "live" else None
        t0, t1 = serve_fake_state(page, lambda: fake_state(srv, sources["list"]), both_live, "two live tiles")
        check_eq((t0["fps"], t1["fps"]), ("12.5 fps", "0.0 fps"), "fps per tile")
        check_eq((t0["viewers"], t1["viewers"]), ("1 viewer", "0 viewers"), "viewers per tile")
        check_eq((t0["status"], t1["status"]), ("ok", "retrying"), "status per tile")
        check_eq(t1["error"], "open /dev/video9: No such device", "last_error shown")
        check(abs(t0["rect"]["y"] - t1["rect"]["y"]) < 1 and t1["rect"]["x"] > t0["rect"]["x"],
              f"two tiles side by side on a wide screen: {t0['rect']} {t1['rect']}")
        check(srv.state()["clients"] >= 2, "each tile opens its own stream")
        save("two-sources.png", page.screenshot())

        sources["list"] = two[:1]
        serve_fake_state(page, lambda: fake_state(srv, sources["list"]),
                         lambda: page.evaluate("document.querySelectorAll('.tile').length") == 1,
                         "the second tile to go when its source goes")
        page.call("Fetch.disable")
        browser().close_page(page)


@test(timeout=180)
def test_recordings_timeline_plays_a_segment_on_click():
    import tempfile
    with tempfile.TemporaryDirectory() as d, Mjpegd(*ARGS, "--recordings", d, small=False) as srv:
        jpegs = []
        while len(jpegs) < 20:
            r = srv.get("/snapshot")
            if not jpegs or r.body != jpegs[-1]:
                jpegs.append(r.body)
        t0 = 1764754567_000000
        # Two segments of source 0 a minute apart, 20 frames 0.2 s apart each.
        names = [rec_writer.write_segment(d, "0", [(t0 + k * 60_000000 + i * 200000, j)
                                                    for i, j in enumerate(jpegs)], seq=1 + k * 20)
                 for k in range(2)]
        page = open_page(f"http://127.0.0.1:{srv.port}/", height=1300)
        segs = until("the timeline's segments", lambda: page.evaluate(
            "Array.from(document.querySelectorAll('#recordings .rec-seg')).map(b => b.title)"))
        check_eq(len(segs), 2, f"one button per segment: {segs}")
        check(segs[0].startswith(names[0]) and segs[1].startswith(names[1]), f"titles {segs}")
        check(page.evaluate("!document.getElementById('recordings').hidden"), "timeline hidden")
        page.evaluate("document.querySelectorAll('#recordings .rec-seg')[1].click()")
        until("the clicked segment to play", lambda: page.evaluate(
            "(() => { const p = document.getElementById('rec-player');"
            " return !p.hidden && p.naturalWidth === 640 && p.src.endsWith('" + names[1] + "'); })()"))
        save("recordings-page.png", page.screenshot())


@test(timeout=120)
def test_phone_layout_fits_the_screen():
    with Mjpegd(*ARGS, small=False) as srv:
        page = open_page(f"http://127.0.0.1:{srv.port}/", width=390, height=844, mobile=True)
        until("the stream to show a picture", lambda: (lambda t: t and t["phase"] == "live")(tile_info(page)))
        m = page.evaluate("""(() => { const b = [...document.querySelectorAll('button')]
            .map(e => e.getBoundingClientRect());
            return {vw: document.documentElement.clientWidth,
                    sw: document.documentElement.scrollWidth,
                    meta: document.querySelector('meta[name=viewport]').content,
                    buttons: b.map(r => [r.left, r.right, r.height])}; })()""")
        check("width=device-width" in m["meta"], f"viewport meta: {m['meta']!r}")
        check(m["sw"] <= m["vw"], f"page wider than the phone screen: {m}")
        r = tile_info(page)["rect"]
        check(r["x"] >= 0 and r["x"] + r["width"] <= m["vw"] + 0.5 and r["width"] >= m["vw"] * 0.9,
              f"picture {r} on a {m['vw']} px screen")
        for left, right, h in m["buttons"]:
            check(left >= 0 and right <= m["vw"] + 0.5 and h >= 36, f"button {left}..{right} h={h}: {m}")
        save("phone.png", page.screenshot())
        browser().close_page(page)


if __name__ == "__main__":
    try:
        main()
    finally:
        if _browser is not None:
            _browser.stop()
