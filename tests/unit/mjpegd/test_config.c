// SPDX-License-Identifier: MIT
/* Unit tests for command-line parsing. */
#include "../testlib.h"
#include "config_args.h"

#include <errno.h>

#include "core/clock.h"
#include "mjpegd/config.h"
#include "mjpegd/sources/source.h"

/* Parses args with what goes to stdout and stderr collected into out and err (may be NULL). */
static enum mjd_config_result parse_capture(struct mjd_config *cfg, const char *const *args,
                                            char **out, char **err)
{
    char *argv[32];
    int argc = 0;
    static char prog[] = "mjpegd";
    argv[argc++] = prog;
    for (; *args != NULL; args++) {
        argv[argc++] = (char *)(uintptr_t)*args;
    }
    mjd_config_defaults(cfg);
    size_t olen = 0;
    size_t elen = 0;
    char *obuf = NULL;
    char *ebuf = NULL;
    FILE *o = open_memstream(&obuf, &olen);
    FILE *e = open_memstream(&ebuf, &elen);
    enum mjd_config_result r = mjd_config_parse(cfg, argc, argv, o, e);
    fclose(o);
    fclose(e);
    if (out != NULL) {
        *out = obuf;
    } else {
        free(obuf);
    }
    if (err != NULL) {
        *err = ebuf;
    } else {
        free(ebuf);
    }
    return r;
}

static enum mjd_config_result parse(struct mjd_config *cfg, const char *const *args)
{
    return mjd_test_parse_args(cfg, args);
}

TEST(config_defaults)
{
    struct mjd_config cfg;
    const char *args[] = { NULL };
    ASSERT_EQ_INT(parse(&cfg, args), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nsources, 1);
    ASSERT_EQ_STR(cfg.sources[0].spec, "test");
    ASSERT_EQ_INT(cfg.sources[0].width, 1280);
    ASSERT_EQ_INT(cfg.sources[0].height, 720);
    ASSERT_EQ_INT(cfg.sources[0].fps, 30);
    ASSERT_EQ_INT(cfg.nlisten, 1);
    ASSERT_EQ_STR(cfg.listen[0].host, "127.0.0.1");
    ASSERT_EQ_STR(cfg.listen[0].port, "8080");
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
    ASSERT_EQ_INT(cfg.sources[0].width, 640);
    ASSERT_EQ_INT(cfg.sources[0].height, 480);
    ASSERT_EQ_INT(cfg.sources[0].fps, 15);
    ASSERT_EQ_INT(cfg.sources[0].quality, 90);
    ASSERT_EQ_INT(cfg.nlisten, 1);
    ASSERT_EQ_STR(cfg.listen[0].host, "::1");
    ASSERT_EQ_STR(cfg.listen[0].port, "0");
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

TEST(config_source_options_apply_to_the_source_they_follow)
{
    struct mjd_config cfg;
    // Before any --source: the defaults of every source.
    const char *before[] = { "--fps", "12", "--size", "320x240", "--source", "test", NULL };
    ASSERT_EQ_INT(parse(&cfg, before), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nsources, 1);
    ASSERT_EQ_INT(cfg.sources[0].fps, 12);
    ASSERT_EQ_INT(cfg.sources[0].width, 320);
    // After it: that source.
    const char *after[] = { "--quality", "40", "--source", "test", "--fps", "7", NULL };
    ASSERT_EQ_INT(parse(&cfg, after), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nsources, 1);
    ASSERT_EQ_INT(cfg.sources[0].fps, 7);
    ASSERT_EQ_INT(cfg.sources[0].quality, 40);
    ASSERT_EQ_INT(cfg.sources[0].width, 1280);
    // No --source at all: one test source with the options given.
    const char *none[] = { "--fps", "5", NULL };
    ASSERT_EQ_INT(parse(&cfg, none), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nsources, 1);
    ASSERT_EQ_STR(cfg.sources[0].spec, "test");
    ASSERT_EQ_INT(cfg.sources[0].fps, 5);
}

TEST(config_listen_may_be_repeated)
{
    struct mjd_config cfg;
    const char *args[] = { "--listen", "127.0.0.1:0", "--listen=[::]:8081",
                           "--listen", "localhost:9", NULL };
    ASSERT_EQ_INT(parse(&cfg, args), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nlisten, 3);
    ASSERT_EQ_STR(cfg.listen[0].host, "127.0.0.1");
    ASSERT_EQ_STR(cfg.listen[1].host, "::");
    ASSERT_EQ_STR(cfg.listen[1].port, "8081");
    ASSERT_EQ_STR(cfg.listen[2].host, "localhost");
}

TEST(config_errors_name_the_problem)
{
    struct mjd_config cfg;
    char *err = NULL;
    // An unknown option is called unknown, even without a value after it.
    const char *unknown[] = { "--bogus", NULL };
    ASSERT_EQ_INT(parse_capture(&cfg, unknown, NULL, &err), MJD_CONFIG_USAGE);
    ASSERT_NOT_NULL(strstr(err, "unknown option '--bogus'"));
    free(err);
    const char *unknown_eq[] = { "--bogus=1", NULL };
    ASSERT_EQ_INT(parse_capture(&cfg, unknown_eq, NULL, &err), MJD_CONFIG_USAGE);
    ASSERT_NOT_NULL(strstr(err, "unknown option '--bogus'"));
    free(err);
    const char *missing[] = { "--fps", NULL };
    ASSERT_EQ_INT(parse_capture(&cfg, missing, NULL, &err), MJD_CONFIG_USAGE);
    ASSERT_NOT_NULL(strstr(err, "'--fps' needs a value"));
    free(err);
    const char *range[] = { "--fps", "999", NULL };
    ASSERT_EQ_INT(parse_capture(&cfg, range, NULL, &err), MJD_CONFIG_USAGE);
    ASSERT_NOT_NULL(strstr(err, "invalid value '999' for --fps: expected an integer 1..240"));
    free(err);
    // A secret is never repeated back.
    const char *secret[] = { "--auth", "hunter2-no-colon", NULL };
    ASSERT_EQ_INT(parse_capture(&cfg, secret, NULL, &err), MJD_CONFIG_USAGE);
    ASSERT_NULL(strstr(err, "hunter2"));
    ASSERT_NOT_NULL(strstr(err, "--auth"));
    free(err);
}

TEST(config_auth_file_reads_the_first_line)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/auth", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("viewer:s3cret\r\nignored\n", f);
    fclose(f);
    struct mjd_config cfg;
    const char *args[] = { "--auth-file", path, NULL };
    ASSERT_EQ_INT(parse(&cfg, args), MJD_CONFIG_RUN);
    ASSERT_EQ_STR(cfg.auth, "viewer:s3cret");
    f = fopen(path, "w");
    fputs("no colon here\n", f);
    fclose(f);
    char *err = NULL;
    ASSERT_EQ_INT(parse_capture(&cfg, args, NULL, &err), MJD_CONFIG_USAGE);
    ASSERT_NULL(strstr(err, "colon here"));
    free(err);
}

TEST(config_zero_turns_on_demand_and_source_timeout_off_per_source)
{
    // --help says "0 keeps it open" and "0: off": a source after a default must be able to
    // say so (the parser refused 0 for every option in seconds).
    struct mjd_config cfg;
    const char *const args[] = { "--on-demand", "30",   "--source-timeout", "2",
                                 "--source",    "test", "--source",         "test",
                                 "--on-demand", "0",    "--source-timeout", "0",
                                 NULL };
    ASSERT_EQ_INT(mjd_test_parse_args(&cfg, args), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nsources, 2);
    ASSERT_EQ_U64((uint64_t)cfg.sources[0].on_demand_ns, 30 * CORE_NS_PER_SEC);
    ASSERT_EQ_U64((uint64_t)cfg.sources[0].source_timeout_ns, 2 * CORE_NS_PER_SEC);
    ASSERT_EQ_U64((uint64_t)cfg.sources[1].on_demand_ns, 0);
    ASSERT_EQ_U64((uint64_t)cfg.sources[1].source_timeout_ns, 0);
    const char *const seg0[] = { "--segment", "0", NULL };
    ASSERT_EQ_INT(mjd_test_parse_args(&cfg, seg0), MJD_CONFIG_USAGE); // no "off" for these
    const char *const neg[] = { "--on-demand", "-1", NULL };
    ASSERT_EQ_INT(mjd_test_parse_args(&cfg, neg), MJD_CONFIG_USAGE);
}

TEST(config_scrub_hides_secrets_in_argv)
{
    char a0[] = "mjpegd";
    char a1[] = "--auth";
    char a2[] = "u:pw";
    char a3[] = "--auth=v:pw2";
    char a4[] = "--fps";
    char a5[] = "9";
    char *argv[] = { a0, a1, a2, a3, a4, a5, NULL };
    mjd_config_scrub_argv(6, argv);
    ASSERT_EQ_STR(a2, "****");
    ASSERT_EQ_STR(a3, "--auth=*****");
    ASSERT_EQ_STR(a5, "9");
}

TEST(config_scrub_hides_relay_passwords_in_argv_and_shown_specs)
{
    char a0[] = "mjpegd";
    char a1[] = "--source";
    char a2[] = "http://admin:s3cr@t@192.0.2.1:8080/video";
    char a3[] = "--source=http://cam/stream";
    char a4[] = "--source";
    char a5[] = "http://user@cam/a:b@c";
    char *argv[] = { a0, a1, a2, a3, a4, a5, NULL };
    struct mjd_config cfg;
    mjd_config_defaults(&cfg);
    ASSERT_EQ_INT(mjd_config_parse(&cfg, 6, argv, NULL, NULL), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nsources, 3);
    ASSERT_EQ_STR(cfg.sources[0].spec, "http://admin:s3cr@t@192.0.2.1:8080/video");
    ASSERT_EQ_STR(cfg.sources[0].shown, "http://admin:***@192.0.2.1:8080/video");
    ASSERT_EQ_STR(cfg.sources[1].shown, "http://cam/stream");
    ASSERT_EQ_STR(cfg.sources[2].shown, "http://user@cam/a:b@c"); // no password, '@' in the path
    mjd_config_scrub_argv(6, argv);
    ASSERT_EQ_STR(a2, "http://admin:******@192.0.2.1:8080/video");
    ASSERT_EQ_STR(a3, "--source=http://cam/stream");
    ASSERT_EQ_STR(a5, "http://user@cam/a:b@c");
    char shown[64];
    mjd_source_spec_shown("test", shown, sizeof(shown));
    ASSERT_EQ_STR(shown, "test");
    mjd_source_spec_shown("http://:pw@h/", shown, sizeof(shown));
    ASSERT_EQ_STR(shown, "http://:***@h/");
}

/* The lines of --help that start an option ("  --name ..."). */
static size_t help_option_lines(const char *help)
{
    size_t n = 0;
    for (const char *p = help; (p = strstr(p, "\n  --")) != NULL; p++) {
        n++;
    }
    return n;
}

TEST(config_help_and_dump_options_come_from_the_table)
{
    struct mjd_config cfg;
    char *help = NULL;
    char *dump = NULL;
    const char *h[] = { "--help", NULL };
    const char *d[] = { "--dump-options", NULL };
    ASSERT_EQ_INT(parse_capture(&cfg, h, &help, NULL), MJD_CONFIG_EXIT);
    ASSERT_EQ_INT(parse_capture(&cfg, d, &dump, NULL), MJD_CONFIG_EXIT);
    // --dump-options (what scripts/gen-manpage reads) lists what --help lists, and is hidden.
    ASSERT_NULL(strstr(help, "--dump-options"));
    ASSERT_NULL(strstr(dump, "--dump-options"));
    size_t lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(dump, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        lines++;
        char *tab1 = strchr(line, '\t');
        char *tab2 = tab1 != NULL ? strchr(tab1 + 1, '\t') : NULL;
        if (tab2 == NULL || strncmp(line, "--", 2) != 0 || strchr(tab2 + 1, '\t') != NULL) {
            test_fail(__FILE__, __LINE__, "bad --dump-options line: %s", line);
        }
        *tab1 = '\0';
        *tab2 = '\0';
        const char *name = line;
        const char *metavar = tab1 + 1;
        const char *text = tab2 + 1;
        ASSERT_CMP_INT(strlen(text), >, 10);
        char want[96];
        snprintf(want, sizeof(want), "\n  %s%s%s ", name, metavar[0] ? " " : "", metavar);
        if (strstr(help, want) == NULL) {
            test_fail(__FILE__, __LINE__, "'%s' is not in --help", want + 1);
        }
        // The first words of the help text are --help's too.
        char words[24];
        snprintf(words, sizeof(words), "%s", text);
        char *cut = strrchr(words, ' ');
        if (cut != NULL) {
            *cut = '\0';
        }
        ASSERT_NOT_NULL(strstr(help, words));
        // And the parser knows it: an option with a value asks for one, a flag refuses one.
        char arg[64];
        snprintf(arg, sizeof(arg), "%s%s", name, metavar[0] ? "" : "=x");
        const char *args[] = { arg, NULL };
        char *err = NULL;
        ASSERT_EQ_INT(parse_capture(&cfg, args, NULL, &err), MJD_CONFIG_USAGE);
        if (strstr(err, metavar[0] ? "needs a value" : "takes no value") == NULL) {
            test_fail(__FILE__, __LINE__, "%s: %s", arg, err);
        }
        free(err);
    }
    ASSERT_CMP_INT(lines, >=, 15);
    ASSERT_EQ_INT(lines, help_option_lines(help));
    free(help);
    free(dump);
}

/* Seconds, rolls and percentages share one decimal reader (options_values.c): each keeps its range.
 */
TEST(config_decimal_values_keep_their_ranges)
{
    struct mjd_config cfg;
    const char *ok[] = { "--header-timeout",   ".5",  "--pre-roll",     "0",   "--post-roll", "60",
                         "--motion-threshold", "100", "--send-timeout", "1e1", NULL };
    ASSERT_EQ_INT(parse(&cfg, ok), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.header_timeout_ns, 500 * CORE_NS_PER_MS);
    ASSERT_EQ_INT(cfg.send_timeout_ns, 10 * CORE_NS_PER_SEC);
    ASSERT_EQ_INT(cfg.sources[0].pre_roll_ns, 0);
    ASSERT_EQ_INT(cfg.sources[0].post_roll_ns, 60 * CORE_NS_PER_SEC);
    ASSERT_TRUE(cfg.sources[0].motion_threshold == 100.0);
    const char *bad[][3] = {
        { "--header-timeout", "0", NULL },       { "--header-timeout", "86401", NULL },
        { "--header-timeout", "+1", NULL },      { "--header-timeout", "1s", NULL },
        { "--header-timeout", "1e999", NULL },   { "--header-timeout", ".", NULL },
        { "--pre-roll", "-0.5", NULL },          { "--pre-roll", "60.01", NULL },
        { "--post-roll", "nan", NULL },          { "--motion-threshold", "0", NULL },
        { "--motion-threshold", "100.5", NULL }, { "--motion-threshold", " 5", NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(&cfg, bad[i]) != MJD_CONFIG_USAGE) {
            test_fail(__FILE__, __LINE__, "%s %s was accepted", bad[i][0], bad[i][1]);
        }
    }
}

/* --wait-for-source is a flag: off by default, on when given (before or after a --source, it
 * is global), and never eats the next argument as its value. */
TEST(config_wait_for_source_is_a_flag)
{
    struct mjd_config cfg;
    const char *none[] = { "--source", "v4l2:/dev/video0", NULL };
    ASSERT_EQ_INT(parse(&cfg, none), MJD_CONFIG_RUN);
    ASSERT_FALSE(cfg.wait_for_source);
    const char *after[] = {
        "--source", "v4l2:/dev/video0", "--wait-for-source", "--fps", "5", NULL
    };
    ASSERT_EQ_INT(parse(&cfg, after), MJD_CONFIG_RUN);
    ASSERT_TRUE(cfg.wait_for_source);
    ASSERT_EQ_INT(cfg.sources[0].fps, 5);
    const char *before[] = { "--wait-for-source", "--source", "http://127.0.0.1:1/stream", NULL };
    ASSERT_EQ_INT(parse(&cfg, before), MJD_CONFIG_RUN);
    ASSERT_TRUE(cfg.wait_for_source);
    ASSERT_EQ_INT(cfg.nsources, 1);
    const char *valued[] = { "--wait-for-source=yes", NULL };
    ASSERT_EQ_INT(parse(&cfg, valued), MJD_CONFIG_USAGE);
}
