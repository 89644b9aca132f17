// SPDX-License-Identifier: MIT
/* Test helper: parses a NULL-terminated argument list as mjpegd's command line. */
#include "config_args.h"

#include <stdint.h>
#include <stdio.h>

enum mjd_config_result mjd_test_parse_args(struct mjd_config *cfg, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    static char prog[] = "mjpegd";
    argv[argc++] = prog;
    for (; *args != NULL && argc < 31; args++) {
        argv[argc++] = (char *)(uintptr_t)*args;
    }
    argv[argc] = NULL;
    mjd_config_defaults(cfg);
    FILE *devnull = fopen("/dev/null", "w");
    enum mjd_config_result r = mjd_config_parse(cfg, argc, argv, devnull, devnull);
    if (devnull != NULL) {
        fclose(devnull);
    }
    return r;
}
