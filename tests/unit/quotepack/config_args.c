// SPDX-License-Identifier: MIT
/* Test helper: qp_config_parse on copies of a NULL-terminated argument list. */
#include "config_args.h"

#include <stdlib.h>
#include <string.h>

int qp_test_parse_args(struct qp_config *cfg, const char *const *args, char *err)
{
    char *argv[64];
    int argc = 0;
    while (args[argc] != NULL && argc < 63) {
        argv[argc] = strdup(args[argc]);
        argc++;
    }
    argv[argc] = NULL;
    int rc = qp_config_parse(cfg, argc, argv, err, 256);
    for (int i = 0; i < argc; i++) {
        free(argv[i]);
    }
    return rc;
}
