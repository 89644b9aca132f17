// SPDX-License-Identifier: MIT
/* Unit tests for command-line parsing. */
#include "../testlib.h"

#include <errno.h>

#include "core/clock.h"
#include "mjpegd/config.h"

static enum mjd_config_result parse(struct mjd_config *cfg, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    static char prog[] = "mjpegd";
    argv[argc++] = prog;
    for (; *args != NULL; args++) {
        argv[argc++] = (char *)(uintptr_t)*args;
    }
    mjd_config_defaults(cfg);
    FILE *devnull = fopen("/dev/null", "w");
    enum mjd_config_result r = mjd_config_parse(cfg, argc, argv, devnull, devnull);
    fclose(devnull);
    return r;
}

TEST(config_defaults)
{
    struct mjd_config cfg;
    const char *args[] = { NULL };
    ASSERT_EQ_INT(parse(&cfg, args), MJD_CONFIG_RUN);
    ASSERT_EQ_STR(cfg.source, "test");
    ASSERT_EQ_INT(cfg.width, 1280);
    ASSERT_EQ_INT(cfg.height, 720);
    ASSERT_EQ_INT(cfg.fps, 30);
    ASSERT_EQ_STR(cfg.listen_host, "127.0.0.1");
    ASSERT_EQ_STR(cfg.listen_port, "8080");
    ASSERT_EQ_INT(cfg.max_clients, 1000);
    ASSERT_EQ_INT(cfg.max_pending, MJD_DEFAULT_MAX_PENDING);
    ASSERT_EQ_INT(cfg.header_timeout_ns, 10 * CORE_NS_PER_SEC);
    ASSERT_EQ_INT(cfg.send_timeout_ns, 10 * CORE_NS_PER_SEC);
    ASSERT_CMP_INT(cfg.workers, >=, 1);
}

TEST(config_all_options)
{
    struct mjd_config cfg;
    const char *args[] = { "--source", "test",
                           "--size",   "640x480",
                           "--fps=15", "--quality",
                           "90",       "--listen",
                           "[::1]:0",  "--workers",
                           "3",        "--max-clients",
                           "7",        "--max-clients-per-ip",
                           "2",        "--auth",
                           "u:p:w",    "--header-timeout",
                           "0.5",      "--send-timeout",
                           "3",        "--max-pending",
                           "9",        "--log-level",
                           "debug",    NULL };
    ASSERT_EQ_INT(parse(&cfg, args), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.width, 640);
    ASSERT_EQ_INT(cfg.height, 480);
    ASSERT_EQ_INT(cfg.fps, 15);
    ASSERT_EQ_INT(cfg.quality, 90);
    ASSERT_EQ_STR(cfg.listen_host, "::1");
    ASSERT_EQ_STR(cfg.listen_port, "0");
    ASSERT_EQ_INT(cfg.workers, 3);
    ASSERT_EQ_INT(cfg.max_clients, 7);
    ASSERT_EQ_INT(cfg.max_clients_per_ip, 2);
    ASSERT_EQ_STR(cfg.auth, "u:p:w");
    ASSERT_EQ_INT(cfg.header_timeout_ns, CORE_NS_PER_SEC / 2);
    ASSERT_EQ_INT(cfg.send_timeout_ns, 3 * CORE_NS_PER_SEC);
    ASSERT_EQ_INT(cfg.max_pending, 9);
    ASSERT_EQ_INT(cfg.log_level, CORE_LOG_DEBUG);
}

TEST(config_usage_errors)
{
    const char *bad[][3] = {
        { "--size", "640", NULL },
        { "--size", "641x480", NULL },
        { "--size", "0x0", NULL },
        { "--fps", "0", NULL },
        { "--fps", "abc", NULL },
        { "--quality", "101", NULL },
        { "--quality", "0", NULL },
        { "--listen", "nohost", NULL },
        { "--listen", "1.2.3.4:99999", NULL },
        { "--listen", "::1:80", NULL },
        { "--workers", "0", NULL },
        { "--auth", "nocolon", NULL },
        { "--header-timeout", "-1", NULL },
        { "--source", "bogus", NULL },
        { "--bogus", "1", NULL },
        { "--fps", NULL, NULL },
        { "stray", NULL, NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mjd_config cfg;
        if (parse(&cfg, bad[i]) != MJD_CONFIG_USAGE) {
            test_fail(__FILE__, __LINE__, "%s %s was accepted", bad[i][0],
                      bad[i][1] ? bad[i][1] : "");
        }
    }
}

TEST(config_help_and_version_exit)
{
    struct mjd_config cfg;
    const char *h[] = { "--help", NULL };
    const char *v[] = { "--fps", "5", "--version", NULL };
    ASSERT_EQ_INT(parse(&cfg, h), MJD_CONFIG_EXIT);
    ASSERT_EQ_INT(parse(&cfg, v), MJD_CONFIG_EXIT);
}
