// SPDX-License-Identifier: MIT
/* Unit tests for percent-decoding, path normalisation, query lookup and routing. */
#include "../testlib.h"

#include <errno.h>

#include "mjpegd/route.h"
#include "mjpegd/url.h"

static int decode(const char *in, char *out, size_t cap)
{
    return mjd_url_decode(out, cap, in, strlen(in), false);
}

TEST(url_decode_valid)
{
    char out[64];
    ASSERT_EQ_INT(decode("/a%20b", out, sizeof(out)), 4);
    ASSERT_EQ_STR(out, "/a b");
    ASSERT_EQ_INT(decode("%2e%2E%2f", out, sizeof(out)), 3);
    ASSERT_EQ_STR(out, "../");
    ASSERT_EQ_INT(decode("a+b", out, sizeof(out)), 3);
    ASSERT_EQ_STR(out, "a+b");
    ASSERT_EQ_INT(mjd_url_decode(out, sizeof(out), "a+b", 3, true), 3);
    ASSERT_EQ_STR(out, "a b");
    ASSERT_EQ_INT(decode("", out, sizeof(out)), 0);
    ASSERT_EQ_STR(out, "");
}

TEST(url_decode_rejects_bad_escapes)
{
    char out[64];
    ASSERT_EQ_INT(decode("%", out, sizeof(out)), -EINVAL);
    ASSERT_EQ_INT(decode("%4", out, sizeof(out)), -EINVAL);
    ASSERT_EQ_INT(decode("%g0", out, sizeof(out)), -EINVAL);
    ASSERT_EQ_INT(decode("%0g", out, sizeof(out)), -EINVAL);
    ASSERT_EQ_INT(decode("a%00b", out, sizeof(out)), -EINVAL);
    ASSERT_EQ_INT(decode("abcdef", out, 4), -ENAMETOOLONG);
}

static const char *norm(const char *in, char *buf)
{
    strcpy(buf, in);
    int n = mjd_path_normalize(buf, strlen(buf));
    return n < 0 ? "(error)" : buf;
}

TEST(path_normalize)
{
    char b[256];
    ASSERT_EQ_STR(norm("/", b), "/");
    ASSERT_EQ_STR(norm("/stream", b), "/stream");
    ASSERT_EQ_STR(norm("//stream", b), "/stream");
    ASSERT_EQ_STR(norm("/./stream", b), "/stream");
    ASSERT_EQ_STR(norm("/a/../stream", b), "/stream");
    ASSERT_EQ_STR(norm("/a/b/../../state", b), "/state");
    ASSERT_EQ_STR(norm("/a/..", b), "/");
    ASSERT_EQ_STR(norm("/a/", b), "/a/");
    ASSERT_EQ_STR(norm("/a/./", b), "/a/");
    ASSERT_EQ_STR(norm("/...", b), "/...");
    ASSERT_EQ_STR(norm("/..a", b), "/..a");
}

TEST(path_normalize_never_escapes_the_root)
{
    char b[256];
    ASSERT_EQ_STR(norm("/..", b), "(error)");
    ASSERT_EQ_STR(norm("/../etc/passwd", b), "(error)");
    ASSERT_EQ_STR(norm("/a/../../x", b), "(error)");
    ASSERT_EQ_STR(norm("/./../x", b), "(error)");
    ASSERT_EQ_STR(norm("relative", b), "(error)");
}

TEST(query_lookup)
{
    char v[32];
    const char *q = "action=stream&fps=5&empty=&flag&sp=a+b%21";
    ASSERT_EQ_INT(mjd_query_get(q, strlen(q), "action", v, sizeof(v)), 6);
    ASSERT_EQ_STR(v, "stream");
    ASSERT_EQ_INT(mjd_query_get(q, strlen(q), "fps", v, sizeof(v)), 1);
    ASSERT_EQ_STR(v, "5");
    ASSERT_EQ_INT(mjd_query_get(q, strlen(q), "empty", v, sizeof(v)), 0);
    ASSERT_EQ_INT(mjd_query_get(q, strlen(q), "flag", v, sizeof(v)), 0);
    ASSERT_EQ_INT(mjd_query_get(q, strlen(q), "sp", v, sizeof(v)), 4);
    ASSERT_EQ_STR(v, "a b!");
    ASSERT_EQ_INT(mjd_query_get(q, strlen(q), "missing", v, sizeof(v)), -ENOENT);
    ASSERT_EQ_INT(mjd_query_get(q, strlen(q), "act", v, sizeof(v)), -ENOENT);
    ASSERT_EQ_INT(mjd_query_get("", 0, "x", v, sizeof(v)), -ENOENT);
}

static int route(const char *target, struct mjd_route *r)
{
    return mjd_route_resolve(target, strlen(target), r);
}

TEST(route_endpoints)
{
    struct {
        const char *target;
        enum mjd_route_kind kind;
        unsigned fps;
    } cases[] = {
        { "/", MJD_ROUTE_INDEX, 0 },
        { "/index.html", MJD_ROUTE_INDEX, 0 },
        { "/stream", MJD_ROUTE_STREAM, 0 },
        { "/stream?fps=5", MJD_ROUTE_STREAM, 5 },
        { "/?action=stream", MJD_ROUTE_STREAM, 0 },
        { "/?action=stream&fps=12", MJD_ROUTE_STREAM, 12 },
        { "/?action=snapshot", MJD_ROUTE_SNAPSHOT, 0 },
        { "/snapshot", MJD_ROUTE_SNAPSHOT, 0 },
        { "/snapshot?t=123", MJD_ROUTE_SNAPSHOT, 0 },
        { "/state", MJD_ROUTE_STATE, 0 },
        { "/metrics", MJD_ROUTE_METRICS, 0 },
        { "/%73tream", MJD_ROUTE_STREAM, 0 },
        { "/x/../state", MJD_ROUTE_STATE, 0 },
        { "//state", MJD_ROUTE_STATE, 0 },
        { "/nope", MJD_ROUTE_NOT_FOUND, 0 },
        { "/stream/", MJD_ROUTE_NOT_FOUND, 0 },
        { "/?action=other", MJD_ROUTE_NOT_FOUND, 0 },
        { "/?action=stream_0", MJD_ROUTE_STREAM, 0 },
        { "/?action=snapshot_0", MJD_ROUTE_SNAPSHOT, 0 },
        { "/?action=stream_0&fps=3", MJD_ROUTE_STREAM, 3 },
        { "/?action=stream_00", MJD_ROUTE_NOT_FOUND, 0 },
        { "/?action=stream_", MJD_ROUTE_NOT_FOUND, 0 },
        { "/?action=stream_x", MJD_ROUTE_NOT_FOUND, 0 },
        { "/?action=streams", MJD_ROUTE_NOT_FOUND, 0 },
        // Unknown parameters are ignored: cache-busters, a bare value, fps where it means nothing.
        { "/?action=snapshot&1683812", MJD_ROUTE_SNAPSHOT, 0 },
        { "/?action=stream&timestamp=", MJD_ROUTE_STREAM, 0 },
        { "/stream?123", MJD_ROUTE_STREAM, 0 },
        { "/snapshot?fps=abc", MJD_ROUTE_SNAPSHOT, 0 },
        { "/state?_=1&x", MJD_ROUTE_STATE, 0 },
        { "/?1234", MJD_ROUTE_INDEX, 0 },
        { "/etc/passwd", MJD_ROUTE_NOT_FOUND, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mjd_route r;
        if (route(cases[i].target, &r) != 0 || r.kind != cases[i].kind || r.fps != cases[i].fps) {
            test_fail(__FILE__, __LINE__, "%s: kind %d fps %u", cases[i].target, (int)r.kind,
                      r.fps);
        }
    }
}

TEST(route_action_number_picks_the_source)
{
    struct mjd_route r;
    ASSERT_EQ_INT(route("/?action=stream_7", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_STREAM);
    ASSERT_EQ_INT(r.source, 7);
    ASSERT_EQ_INT(route("/?action=snapshot_12", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_SNAPSHOT);
    ASSERT_EQ_INT(r.source, 12);
    ASSERT_EQ_INT(route("/stream", &r), 0);
    ASSERT_EQ_INT(r.source, 0);
    ASSERT_EQ_INT(route("/?action=stream_100", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_NOT_FOUND);
}

TEST(route_numbered_path_picks_the_source)
{
    struct mjd_route r;
    ASSERT_EQ_INT(route("/1/stream", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_STREAM);
    ASSERT_EQ_INT(r.source, 1);
    ASSERT_EQ_INT(route("/15/snapshot?t=1", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_SNAPSHOT);
    ASSERT_EQ_INT(r.source, 15);
    ASSERT_EQ_INT(route("/0/stream?fps=5", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_STREAM);
    ASSERT_EQ_INT(r.source, 0);
    ASSERT_EQ_INT(r.fps, 5);
    const char *bad[] = { "/01/stream", "/100/stream", "/1/state",   "/1/",           "/1",
                          "/x/stream",  "/1/stream/x", "/-1/stream", "/1000/snapshot" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ_INT(route(bad[i], &r), 0);
        ASSERT_EQ_INT(r.kind, MJD_ROUTE_NOT_FOUND);
        ASSERT_EQ_INT(r.source, 0);
    }
}

TEST(route_dot_dot_in_any_spelling_is_400)
{
    const char *cases[] = {
        "/..",           "/../etc/passwd",     "/%2e%2e/etc/passwd",     "/%2E%2E/x", "/%2E./x",
        "/.%2e/x",       "/a/%2e%2e/%2e%2e/x", "/%2e%2e%2fetc%2fpasswd", "/a/../..",  "/%00",
        "/stream?fps=0", "/stream?fps=abc",    "/stream?fps=99999"
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mjd_route r;
        int status = route(cases[i], &r);
        if (status != 400) {
            test_fail(__FILE__, __LINE__, "%s: status %d, expected 400", cases[i], status);
        }
    }
}
