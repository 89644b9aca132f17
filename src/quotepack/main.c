// SPDX-License-Identifier: MIT
/* quotepack: parses options and wires the pipeline together. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/log.h"
#include "quotepack/config.h"
#include "quotepack/convert_cli.h"
#include "quotepack/pipeline.h"
#include "quotepack/verify.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int run_verify(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: quotepack verify DIR\n");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: quotepack verify DIR\n");
        return 2;
    }
    int rc = qp_verify(argv[1], stdout);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct qp_config cfg;
    struct qp_pipeline_stats stats;
    char err[512];
    core_log_set_ident("quotepack");
    const char *lv = getenv("QUOTEPACK_LOG"); // error, warn, info or debug
    enum core_log_level level;
    if (lv != NULL && core_log_parse_level(lv, &level) == 0) {
        core_log_set_level(level);
    }
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
        return run_verify(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "convert") == 0) {
        return qp_convert_cli(argc - 1, argv + 1);
    }
    int rc = qp_config_parse(&cfg, argc, argv, err, sizeof(err));
    if (rc == 1) {
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "quotepack: %s\nTry 'quotepack --help'.\n", err);
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
    qp_pipeline_print_summary(&cfg, &stats);
    int status = 0;
    if (rc != 0) {
        fprintf(stderr,
                "quotepack: stopped: %s; nothing archived is lost, and a rerun with the "
                "same arguments resumes\n",
                strerror(-rc));
        status = 1;
    } else if (stats.interrupted) {
        status = 130;
    } else if (stats.failed > 0) {
        status = 1;
    }
    curl_global_cleanup();
    qp_config_release(&cfg);
    return status;
}
