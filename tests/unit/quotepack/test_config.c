// SPDX-License-Identifier: MIT
/* Unit tests for option parsing, symbol lists and URL templating. */
#include "../testlib.h"
#include "config_args.h"

#include <errno.h>

#include "quotepack/config.h"

static int parse(struct qp_config *cfg, const char *const *args, char *err)
{
    return qp_test_parse_args(cfg, args, err);
}

TEST(url_template_expands_and_encodes)
{
    char out[64];
    ASSERT_OK(qp_config_url("http://h/q?s={symbol}&x={symbol}", "AB.L", out, sizeof(out)));
    ASSERT_EQ_STR(out, "http://h/q?s=AB.L&x=AB.L");
    ASSERT_OK(qp_config_url("http://h/{symbol}", "^GSPC", out, sizeof(out)));
    ASSERT_EQ_STR(out, "http://h/%5EGSPC");
    ASSERT_OK(qp_config_url("http://h/{symbol}", "EURUSD=X", out, sizeof(out)));
    ASSERT_EQ_STR(out, "http://h/EURUSD%3DX");
    ASSERT_OK(qp_config_url("{symbo}", "A", out, sizeof(out)));
    ASSERT_EQ_STR(out, "{symbo}");
    ASSERT_EQ_INT(qp_config_url("http://h/{symbol}", "ABCDEFGH", out, 12), -ENAMETOOLONG);
}

TEST(symbols_are_safe_file_names)
{
    ASSERT_TRUE(qp_symbol_valid("000001.SZ"));
    ASSERT_TRUE(qp_symbol_valid("^GSPC"));
    ASSERT_TRUE(qp_symbol_valid("BRK-B"));
    ASSERT_FALSE(qp_symbol_valid(""));
    ASSERT_FALSE(qp_symbol_valid(".hidden"));
    ASSERT_FALSE(qp_symbol_valid("-x"));
    ASSERT_FALSE(qp_symbol_valid("a/b"));
    ASSERT_FALSE(qp_symbol_valid("a b"));
    ASSERT_FALSE(qp_symbol_valid(
            "0123456789012345678901234567890123456789012345678901234567890123456789"));
}

TEST(source_paths_become_file_urls)
{
    char *t = qp_config_source_template("/data/csv");
    ASSERT_EQ_STR(t, "file:///data/csv/{symbol}.csv");
    free(t);
    t = qp_config_source_template("/data/{symbol}.txt");
    ASSERT_EQ_STR(t, "file:///data/{symbol}.txt");
    free(t);
    t = qp_config_source_template("https://h/{symbol}");
    ASSERT_EQ_STR(t, "https://h/{symbol}");
    free(t);
}

TEST(source_paths_are_percent_encoded)
{
    // Item 9: a space, '#' or '%' in a directory name would end or garble the file:// URL.
    char *t = qp_config_source_template("/data/my quotes#2/100%/{symbol}.csv");
    ASSERT_EQ_STR(t, "file:///data/my%20quotes%232/100%25/{symbol}.csv");
    free(t);
    t = qp_config_source_template("/d/caf\xC3\xA9~x");
    ASSERT_EQ_STR(t, "file:///d/caf%C3%A9~x/{symbol}.csv");
    free(t);
    char url[256];
    ASSERT_OK(qp_config_url("file:///a%20b/{symbol}.csv", "^GSPC", url, sizeof(url)));
    ASSERT_EQ_STR(url, "file:///a%20b/%5EGSPC.csv");
}

TEST(words_that_look_like_commands_are_not_symbols)
{
    struct qp_config cfg;
    char err[256];
    ASSERT_TRUE(qp_config_looks_like_command("list"));
    ASSERT_TRUE(qp_config_looks_like_command("status"));
    ASSERT_FALSE(qp_config_looks_like_command("AAPL"));
    ASSERT_FALSE(qp_config_looks_like_command("x"));
    ASSERT_FALSE(qp_config_looks_like_command("brk-b"));
    const char *a1[] = { "quotepack", "--out", "o", "status", NULL };
    ASSERT_EQ_INT(parse(&cfg, a1, err), -EINVAL);
    ASSERT_TRUE(strstr(err, "looks like a command") != NULL);
    const char *a2[] = { "quotepack", "--out", "o", "--", "status", NULL };
    ASSERT_OK(parse(&cfg, a2, err));
    ASSERT_EQ_STR(cfg.symbols[0], "status");
    qp_config_release(&cfg);
}

TEST(network_and_spool_options)
{
    struct qp_config cfg;
    char err[256];
    const char *a1[] = { "quotepack",
                         "--max-body",
                         "3G",
                         "--spool-size",
                         "512M",
                         "--connect-timeout",
                         "2.5",
                         "--max-time",
                         "60",
                         "--speed-limit",
                         "100",
                         "--header",
                         "X-Key: 1",
                         "--header",
                         "Accept: text/csv",
                         "--user-agent",
                         "me/1",
                         "--cacert",
                         "/ca.pem",
                         "--insecure",
                         "--host-failures",
                         "3",
                         "--batch",
                         "7",
                         "A",
                         NULL };
    ASSERT_OK(parse(&cfg, a1, err));
    ASSERT_EQ_U64(cfg.max_body, (uint64_t)3 << 30);
    ASSERT_EQ_U64(cfg.spool_bytes, (uint64_t)512 << 20);
    ASSERT_EQ_U64(cfg.spool_files, 2 * 7 + 16); // the default follows --batch
    ASSERT_TRUE(cfg.connect_timeout_s == 2.5 && cfg.max_time_s == 60);
    ASSERT_EQ_INT(cfg.speed_limit, 100);
    ASSERT_EQ_INT(cfg.nheaders, 2);
    ASSERT_EQ_STR(cfg.headers[1], "Accept: text/csv");
    ASSERT_EQ_STR(cfg.user_agent, "me/1");
    ASSERT_EQ_STR(cfg.cacert, "/ca.pem");
    ASSERT_TRUE(cfg.insecure);
    ASSERT_EQ_INT(cfg.host_failures, 3);
    qp_config_release(&cfg);
    const char *a2[] = { "quotepack", "--batch", "10", "--spool-files", "5", "A", NULL };
    ASSERT_EQ_INT(parse(&cfg, a2, err), -EINVAL);
    const char *a3[] = { "quotepack", "--only-failed", NULL }; // no symbols needed
    ASSERT_OK(parse(&cfg, a3, err));
    ASSERT_TRUE(cfg.only_failed && cfg.retry_failed);
    qp_config_release(&cfg);
}

TEST(defaults_dedup_and_shard)
{
    struct qp_config cfg;
    char err[256];
    const char *argv[] = { "quotepack", "A", "B", "A", "C", NULL };
    ASSERT_OK(parse(&cfg, argv, err));
    ASSERT_EQ_INT(cfg.batch, 100);
    ASSERT_EQ_INT(cfg.connections, 16);
    ASSERT_EQ_INT(cfg.retries, 3);
    ASSERT_EQ_STR(cfg.out, "quotes");
    ASSERT_EQ_INT(cfg.format, QP_FORMAT_TGZ);
    ASSERT_EQ_INT(cfg.level, QP_LEVEL_FAST);
    ASSERT_CMP_INT(cfg.jobs, >=, 1);
    ASSERT_EQ_INT(cfg.nsymbols, 3);
    ASSERT_EQ_STR(cfg.symbols[0], "A");
    ASSERT_EQ_STR(cfg.symbols[1], "B");
    ASSERT_EQ_STR(cfg.symbols[2], "C");
    qp_config_release(&cfg);

    const char *argv2[] = { "quotepack",
                            "--shard",
                            "1/2",
                            "--batch",
                            "7",
                            "--format",
                            "tzst",
                            "--level",
                            "best",
                            "--rate",
                            "2.5",
                            "--timeout",
                            "0.5",
                            "--compact",
                            "--isolate",
                            "--source",
                            "http://x/{symbol}",
                            "S1",
                            "S2",
                            "S3",
                            "S4",
                            "S5",
                            "S6",
                            NULL };
    ASSERT_OK(parse(&cfg, argv2, err));
    ASSERT_EQ_INT(cfg.batch, 7);
    ASSERT_EQ_INT(cfg.format, QP_FORMAT_TZST);
    ASSERT_EQ_INT(cfg.level, QP_LEVEL_BEST);
    ASSERT_TRUE(cfg.compact && cfg.isolate);
    ASSERT_TRUE(cfg.rate == 2.5);
    ASSERT_EQ_INT(cfg.nsymbols_input, 6);
    ASSERT_CMP_INT(cfg.nsymbols, <, 6);
    qp_config_release(&cfg);
}

TEST(symbols_file_with_comments)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/list", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("# a list\nAAA\n\n  BBB  \r\nAAA\n", f);
    fclose(f);
    struct qp_config cfg;
    char err[256];
    const char *argv[] = { "quotepack", "--symbols", path, "CCC", NULL };
    ASSERT_OK(parse(&cfg, argv, err));
    ASSERT_EQ_INT(cfg.nsymbols, 3);
    ASSERT_EQ_STR(cfg.symbols[1], "BBB");
    qp_config_release(&cfg);

    f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("OK\nbad symbol\n", f);
    fclose(f);
    ASSERT_EQ_INT(parse(&cfg, argv, err), -EINVAL);
    ASSERT_TRUE(strstr(err, ":2:") != NULL);
}

TEST(usage_errors_say_what_is_wrong)
{
    struct qp_config cfg;
    char err[256];
    const char *a1[] = { "quotepack", NULL };
    ASSERT_EQ_INT(parse(&cfg, a1, err), -EINVAL);
    ASSERT_TRUE(strstr(err, "no symbols") != NULL);
    const char *a2[] = { "quotepack", "--batch", "x", "A", NULL };
    ASSERT_EQ_INT(parse(&cfg, a2, err), -EINVAL);
    ASSERT_TRUE(strstr(err, "--batch") != NULL);
    const char *a3[] = { "quotepack", "--source", "http://nokey", "A", NULL };
    ASSERT_EQ_INT(parse(&cfg, a3, err), -EINVAL);
    const char *a4[] = { "quotepack", "--frobnicate", "A", NULL };
    ASSERT_EQ_INT(parse(&cfg, a4, err), -EINVAL);
    ASSERT_TRUE(strstr(err, "--frobnicate") != NULL);
}

TEST(config_dialect_options)
{
    struct qp_config cfg;
    char err[256];
    static const char *const dflt[] = { "quotepack", "A", NULL };
    ASSERT_OK(parse(&cfg, dflt, err));
    ASSERT_TRUE(cfg.dialect.detect);
    ASSERT_FALSE(cfg.dialect.strict);
    ASSERT_EQ_INT(cfg.dialect.encoding, QP_ENCODING_UTF8);
    qp_config_release(&cfg);
    static const char *const given[] = { "quotepack",    "--delimiter", "semicolon", "--encoding",
                                         "Windows-1252", "--strict",    "A",         NULL };
    ASSERT_OK(parse(&cfg, given, err));
    ASSERT_FALSE(cfg.dialect.detect);
    ASSERT_EQ_INT(cfg.dialect.delimiter, ';');
    ASSERT_TRUE(cfg.dialect.strict);
    ASSERT_EQ_INT(cfg.dialect.encoding, QP_ENCODING_CP1252);
    qp_config_release(&cfg);
    static const char *const tab[] = { "quotepack", "--delimiter", "\\t", "--delimiter",
                                       "auto",      "--delimiter", "tab", "--encoding",
                                       "latin1",    "A",           NULL };
    ASSERT_OK(parse(&cfg, tab, err));
    ASSERT_FALSE(cfg.dialect.detect);
    ASSERT_EQ_INT(cfg.dialect.delimiter, '\t');
    ASSERT_EQ_INT(cfg.dialect.encoding, QP_ENCODING_LATIN1);
    qp_config_release(&cfg);
    static const char *const bad_d[] = { "quotepack", "--delimiter", ";;", "A", NULL };
    ASSERT_EQ_INT(parse(&cfg, bad_d, err), -EINVAL);
    ASSERT_EQ_STR(err, "invalid value \";;\" for --delimiter");
    static const char *const bad_e[] = { "quotepack", "--encoding", "utf-16", "A", NULL };
    ASSERT_EQ_INT(parse(&cfg, bad_e, err), -EINVAL);
    ASSERT_EQ_STR(err, "invalid value \"utf-16\" for --encoding");
}
