// SPDX-License-Identifier: MIT
/* quotepack: picks the subcommand, parses options and runs it. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/alloc.h"
#include "core/log.h"
#include "quotepack/catalog.h"
#include "quotepack/commands.h"
#include "quotepack/compact.h"
#include "quotepack/config.h"
#include "quotepack/convert_cli.h"
#include "quotepack/failpoint.h"
#include "quotepack/pipeline.h"
#include "quotepack/settings.h"
#include "quotepack/verify.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int run_verify(int argc, char **argv)
{
    static const char usage[] = "usage: quotepack verify DIR\n"
                                "       quotepack verify --no-catalog ARCHIVE...\n";
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("%s", usage);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "--no-catalog") == 0) {
        return qp_verify_files(argv + 2, (size_t)argc - 2, stdout) == 0 ? 0 : 1;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    int rc = qp_verify(argv[1], stdout);
    return rc == 0 ? 0 : 1;
}

/* The pipeline, for a run or for `retry DIR [options]` (argv rewritten by the caller). */
static int run_pipeline(int argc, char **argv)
{
    struct qp_config cfg;
    struct qp_pipeline_stats stats;
    char err[512];
    int rc = qp_config_parse(&cfg, argc, argv, err, sizeof(err));
    if (rc == 1) {
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "quotepack: %s\nTry 'quotepack --help'.\n", err);
        return 2;
    }
    if (qp_failpoint_init() != 0) {
        qp_config_release(&cfg);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "quotepack: cannot initialise libcurl\n");
        qp_config_release(&cfg);
        return 1;
    }
    rc = qp_pipeline_run(&cfg, &stop_flag, &stats);
    int status = 0;
    if (stats.setup_failed) {
        status = 1; // already said, and nothing else happened
    } else {
        qp_pipeline_print_summary(&cfg, &stats);
        if (rc != 0) {
            fprintf(stderr,
                    "quotepack: stopped: %s; nothing archived is lost, and a rerun with the "
                    "same arguments resumes\n",
                    strerror(-rc));
            status = 1;
        } else if (stats.interrupted) {
            status = 130;
        } else if (stats.failed > 0 || stats.skipped > 0 || stats.refresh_failed > 0) {
            status = 1;
        }
    }
    curl_global_cleanup();
    qp_config_release(&cfg);
    return status;
}

/* quotepack retry DIR [options] = quotepack --out DIR --only-failed [options]. */
static int run_retry(int argc, char **argv, const char *prog)
{
    if (argc < 2 || argv[1][0] == '-') {
        bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: quotepack retry DIR [options]\n"
                "Fetches the symbols that failed in DIR again (permanent failures included),\n"
                "from the --source its last run used unless one is given.\n");
        return help ? 0 : 2;
    }
    char **av = core_xcalloc((size_t)argc + 4, sizeof(char *));
    char out_opt[] = "--out";
    char only[] = "--only-failed";
    int n = 0;
    av[n++] = (char *)(uintptr_t)prog;
    av[n++] = out_opt;
    av[n++] = argv[1];
    av[n++] = only;
    for (int i = 2; i < argc; i++) {
        av[n++] = argv[i];
    }
    int rc = run_pipeline(n, av);
    free(av);
    return rc;
}

/*
 * quotepack update DIR [options] = quotepack --out DIR --refresh --catalog-symbols <the options
 * recorded in DIR's catalog> [options]: every symbol of the catalog, refreshed with the source
 * and options its runs recorded (settings.h); options given here override them for this run.
 */
static int run_update(int argc, char **argv, const char *prog)
{
    bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(help ? stdout : stderr,
                "usage: quotepack update DIR [options]\n"
                "Refreshes every symbol in DIR's catalog from the source and with the options\n"
                "recorded there (--source, --format, --level, --batch, --compact, --delimiter,\n"
                "--encoding, --strict, --max-body; options given here override them): archived\n"
                "symbols are fetched conditionally (--refresh), the others as a rerun would.\n"
                "--header and --user-agent are not recorded: give them again.\n");
        return help ? 0 : 2;
    }
    struct qp_catalog *cat = NULL;
    int rc = qp_catalog_open(&cat, argv[1], true);
    if (rc != 0) {
        fprintf(stderr, "quotepack update: cannot read the catalog in %s: %s\n", argv[1],
                rc == -ENOENT ? "there is none (run quotepack on it first)" : strerror(-rc));
        return 1;
    }
    char **rec = NULL;
    size_t nrec = 0;
    rc = qp_settings_args(cat, &rec, &nrec);
    qp_catalog_close(cat);
    if (rc != 0) {
        fprintf(stderr, "quotepack update: cannot read the options recorded in %s: %s\n", argv[1],
                strerror(-rc));
        return 1;
    }
    char **av = core_xcalloc((size_t)argc + nrec + 6, sizeof(char *));
    char out_opt[] = "--out";
    char refresh[] = "--refresh";
    char all[] = "--catalog-symbols";
    int n = 0;
    av[n++] = (char *)(uintptr_t)prog;
    for (size_t i = 0; i < nrec; i++) {
        av[n++] = rec[i];
    }
    av[n++] = out_opt;
    av[n++] = argv[1];
    av[n++] = refresh;
    av[n++] = all;
    for (int i = 2; i < argc; i++) {
        av[n++] = argv[i];
    }
    rc = run_pipeline(n, av);
    free(av);
    qp_settings_free(rec, nrec);
    return rc;
}

int main(int argc, char **argv)
{
    core_log_set_ident("quotepack");
    const char *lv = getenv("QUOTEPACK_LOG"); // error, warn, info or debug
    enum core_log_level level;
    if (lv != NULL && core_log_parse_level(lv, &level) == 0) {
        core_log_set_level(level);
    }
    const char *cmd = argc >= 2 ? argv[1] : "";
    if (strcmp(cmd, "verify") == 0) {
        return run_verify(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "convert") == 0) {
        return qp_convert_cli(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "ls") == 0) {
        return qp_cmd_ls(argc - 1, argv + 1, stdout);
    }
    if (strcmp(cmd, "cat") == 0) {
        return qp_cmd_cat(argc - 1, argv + 1, stdout);
    }
    if (strcmp(cmd, "retry") == 0) {
        return run_retry(argc - 1, argv + 1, argv[0]);
    }
    if (strcmp(cmd, "compact") == 0) {
        return qp_cmd_compact(argc - 1, argv + 1, stdout);
    }
    if (strcmp(cmd, "update") == 0) {
        return run_update(argc - 1, argv + 1, argv[0]);
    }
    if (strcmp(cmd, "help") == 0) {
        qp_config_usage(stdout);
        return 0;
    }
    if (qp_config_looks_like_command(cmd)) {
        fprintf(stderr,
                "quotepack: unknown command \"%s\" (commands: verify, ls, cat, retry, update, compact, convert, "
                "help). To fetch a symbol of that name, put it after -- or in --symbols FILE.\n",
                cmd);
        return 2;
    }
    return run_pipeline(argc, argv);
}
