// SPDX-License-Identifier: MIT
/* Test helper: parses a NULL-terminated argument list as mjpegd's command line. */
#ifndef MJD_TEST_CONFIG_ARGS_H
#define MJD_TEST_CONFIG_ARGS_H

#include "mjpegd/config.h"

/**
 * Sets *cfg to the defaults, then parses "mjpegd" followed by args (at most 30, borrowed),
 * with the parser's messages sent to /dev/null. Returns the parser's verdict.
 */
enum mjd_config_result mjd_test_parse_args(struct mjd_config *cfg, const char *const *args);

#endif
