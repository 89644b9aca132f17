// SPDX-License-Identifier: MIT
/* Unit tests for the fetch stage over file:// URLs (its retry policy: test_fetch_policy.c). */
#include "../testlib.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>

#include "quotepack/body.h"
#include "quotepack/fetch.h"
#include "quotepack/fetch_host.h"

struct run_ctx {
    const char *syms[4];
    size_t next;
    int done[4];
    size_t len[4];
    size_t read_back[4];
    bool spilled[4];
    bool permanent[4];
    char err[4][256];
};

static enum qp_fetch_admit admit_cb(void *ctx, size_t *idx, const char **symbol)
{
    struct run_ctx *c = ctx;
    if (c->next == 4) {
        return QP_FETCH_ADMIT_DONE;
    }
    *idx = c->next;
    *symbol = c->syms[c->next++];
    return QP_FETCH_ADMIT_OK;
}

static void done_cb(void *ctx, size_t idx, struct qp_body *body,
                    const struct qp_fetch_failure *fail)
{
    struct run_ctx *c = ctx;
    c->done[idx]++;
    c->len[idx] = body != NULL ? body->size : 0;
    c->spilled[idx] = body != NULL && qp_body_spilled(body);
    c->permanent[idx] = fail != NULL && fail->permanent;
    snprintf(c->err[idx], sizeof(c->err[idx]), "%s", fail ? fail->message : "");
    if (body != NULL) {
        // A spilled body reads back whole from its file.
        const char *d = NULL;
        size_t n = 0, total = 0;
        while (qp_body_read(body, &d, &n) == 0 && n > 0) {
            total += n;
        }
        c->read_back[idx] = total;
        qp_body_release(body);
        free(body);
    }
}

TEST(fetch_runs_file_urls_and_reports_each_symbol_once)
{
    char tmpl[512];
    char path[512];
    struct run_ctx c;
    memset(&c, 0, sizeof(c));
    const char *names[] = { "A", "B", "MISSING", "BIG" };
    memcpy(c.syms, names, sizeof(names));
    snprintf(path, sizeof(path), "%s/A.csv", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("Date,Open\n2020-01-01,1\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/B.csv", test_tmpdir());
    f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/BIG.csv", test_tmpdir());
    f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    for (int i = 0; i < 3000; i++) {
        fputs("0123456789", f);
    }
    fclose(f);
    snprintf(tmpl, sizeof(tmpl), "file://%s/{symbol}.csv", test_tmpdir());
    ASSERT_EQ_INT(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    struct qp_fetch *fx = NULL;
    struct qp_fetch_config cfg = {
        .url_template = tmpl,
        .connections = 2,
        .rate = 0,
        .retries = 1,
        .timeout_s = 5,
        .max_body = 20000,
        .spill_dir = test_tmpdir(),
        .spill_at = 10,
        .admit = admit_cb,
        .done = done_cb,
        .ctx = &c,
    };
    ASSERT_OK(qp_fetch_create(&fx, &cfg));
    ASSERT_OK(qp_fetch_run(fx));
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ_INT(c.done[i], 1);
    }
    ASSERT_EQ_INT(c.len[0], 23);
    ASSERT_EQ_INT(c.read_back[0], 23);
    ASSERT_TRUE(c.spilled[0]); // past spill_at: in a file
    ASSERT_EQ_STR(c.err[0], "");
    ASSERT_EQ_INT(c.len[1], 0);
    ASSERT_EQ_STR(c.err[1], "");
    ASSERT_TRUE(c.err[2][0] != '\0');
    ASSERT_TRUE(c.permanent[2]); // a missing file is not fetched again by a rerun
    ASSERT_TRUE(strstr(c.err[3], "cap") != NULL);
    ASSERT_TRUE(c.permanent[3]);
    ASSERT_EQ_INT(qp_fetch_requests(fx), 4); // local errors are not retried
    qp_fetch_destroy(fx);
    curl_global_cleanup();
}

TEST(host_keys_name_scheme_host_and_port)
{
    char k[320];
    qp_fetch_host_key("http://127.0.0.1:8080/q/A", k, sizeof(k));
    ASSERT_EQ_STR(k, "http://127.0.0.1:8080");
    qp_fetch_host_key("https://Example.com/x?s=1", k, sizeof(k));
    ASSERT_EQ_STR(k, "https://Example.com:443");
    qp_fetch_host_key("http://[::1]:9/x", k, sizeof(k));
    ASSERT_EQ_STR(k, "http://[::1]:9");
    qp_fetch_host_key("file:///tmp/a%20b/A.csv", k, sizeof(k));
    ASSERT_EQ_STR(k, "file://");
    struct qp_fetch_hosts h;
    memset(&h, 0, sizeof(h));
    ASSERT_EQ_INT(qp_fetch_hosts_find(&h, "http://a:1/x"), 0);
    ASSERT_EQ_INT(qp_fetch_hosts_find(&h, "http://b:1/x"), 1);
    ASSERT_EQ_INT(qp_fetch_hosts_find(&h, "http://a:1/y"), 0);
    qp_fetch_hosts_release(&h);
}
