// SPDX-License-Identifier: MIT
/* Test helper: qp_config_parse on copies of a NULL-terminated argument list. */
#ifndef QP_TEST_CONFIG_ARGS_H
#define QP_TEST_CONFIG_ARGS_H

#include "quotepack/config.h"

/**
 * Parses args (args[0] the program name, at most 63, borrowed) with qp_config_parse on
 * strdup'd copies, since getopt may permute its argv; err holds 256 bytes. Its return value.
 */
int qp_test_parse_args(struct qp_config *cfg, const char *const *args, char *err);

#endif
