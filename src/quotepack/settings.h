// SPDX-License-Identifier: MIT
/* The run options a directory keeps in its catalog, so that `quotepack update DIR` reuses them. */
#ifndef QP_SETTINGS_H
#define QP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

struct qp_catalog;
struct qp_config;

/*
 * Recorded (settings table, key = option name without "--", value = its argument as the
 * command line takes it) by every run that names its symbols (not by `retry` or `update`):
 * source, format, level, batch, compact, delimiter, encoding, strict, max-body, date-format:
 * what decides what an archive holds. Not recorded: --header and --user-agent (they may carry
 * secrets: give them to `update` again), the network and spool tuning (--connections, --rate,
 * --retries, timeouts...: options of the machine, not of the data), --jobs, --isolate, --shard.
 */

/** Records cfg's options (inside or outside a transaction). 0 or -errno. */
int qp_settings_store(struct qp_catalog *cat, const struct qp_config *cfg) CORE_MUST_CHECK;

/**
 * The recorded options as command-line arguments ("--format", "tgz", "--compact", ...):
 * *argv (malloc'd array of malloc'd strings, *n of them; free with qp_settings_free). An
 * option never recorded is left out. 0 or -errno.
 */
int qp_settings_args(struct qp_catalog *cat, char ***argv, size_t *n) CORE_MUST_CHECK;
void qp_settings_free(char **argv, size_t n);

/** The value of a delimiter setting for d's delimiter and detect ("auto", "tab", ","...). */
const char *qp_settings_delimiter(char delimiter, bool detect, char *buf, size_t size);

#endif
