// SPDX-License-Identifier: MIT
/* Unit tests for the options a directory records for `quotepack update` (settings.c). */
#include "../testlib.h"
#include "config_args.h"

#include <stdlib.h>
#include <string.h>

#include "quotepack/catalog.h"
#include "quotepack/config.h"
#include "quotepack/settings.h"

static int parse(struct qp_config *cfg, const char *const *args, char *err)
{
    return qp_test_parse_args(cfg, args, err);
}

TEST(recorded_options_come_back_as_the_arguments_that_give_the_same_config)
{
    const char *const argv[] = { "quotepack",  "--source",    "http://h/q/{symbol}",
                                 "--format",   "tzst",        "--level",
                                 "best",       "--batch",     "7",
                                 "--compact",  "--delimiter", "semicolon",
                                 "--encoding", "cp1252",      "--strict",
                                 "--max-body", "1M",          "--connections",
                                 "3",          "A",           NULL };
    struct qp_config cfg;
    char err[256];
    ASSERT_OK(parse(&cfg, argv, err));
    struct qp_catalog *cat = NULL;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_settings_store(cat, &cfg));
    char **args = NULL;
    size_t n = 0;
    ASSERT_OK(qp_settings_args(cat, &args, &n));
    qp_catalog_close(cat);

    // Parse them back (plus a symbol): every recorded option is the same; --connections
    // (not recorded) is back at its default.
    const char *av[32];
    int ac = 0;
    av[ac++] = "quotepack";
    for (size_t i = 0; i < n && i < 28; i++) {
        av[ac++] = args[i];
    }
    av[ac++] = "A";
    av[ac] = NULL;
    struct qp_config back;
    ASSERT_OK(parse(&back, av, err));
    ASSERT_EQ_STR(back.source, cfg.source);
    ASSERT_EQ_INT(back.format, QP_FORMAT_TZST);
    ASSERT_EQ_INT(back.level, QP_LEVEL_BEST);
    ASSERT_EQ_U64(back.batch, 7);
    ASSERT_TRUE(back.compact);
    ASSERT_EQ_INT(back.dialect.delimiter, ';');
    ASSERT_TRUE(!back.dialect.detect);
    ASSERT_EQ_INT(back.dialect.encoding, cfg.dialect.encoding);
    ASSERT_TRUE(back.dialect.strict);
    ASSERT_EQ_U64(back.max_body, (uint64_t)1 << 20);
    ASSERT_EQ_U64(back.connections, 16);
    qp_config_release(&back);
    qp_settings_free(args, n);
    qp_config_release(&cfg);
}

TEST(delimiter_settings_name_what_the_command_line_parses)
{
    char buf[8];
    ASSERT_EQ_STR(qp_settings_delimiter(0, true, buf, sizeof(buf)), "auto");
    ASSERT_EQ_STR(qp_settings_delimiter('\t', false, buf, sizeof(buf)), "tab");
    ASSERT_EQ_STR(qp_settings_delimiter(' ', false, buf, sizeof(buf)), "space");
    ASSERT_EQ_STR(qp_settings_delimiter(0, false, buf, sizeof(buf)), ",");
    ASSERT_EQ_STR(qp_settings_delimiter('|', false, buf, sizeof(buf)), "|");
}

TEST(a_catalog_with_no_recorded_options_gives_no_arguments)
{
    struct qp_catalog *cat = NULL;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    char **args = NULL;
    size_t n = 99;
    ASSERT_OK(qp_settings_args(cat, &args, &n));
    ASSERT_EQ_U64(n, 0);
    qp_settings_free(args, n);
    qp_catalog_close(cat);
}
