// SPDX-License-Identifier: MIT
/* The command-line option table: one row per option drives parsing, errors, --help and man. */
#ifndef MJD_OPTIONS_H
#define MJD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mjpegd/config.h"

/* How an option's value is read. */
enum mjd_opt_kind {
    MJD_OPT_ACTION,  /* no value: does what action says (--help, --version) */
    MJD_OPT_FLAG,    /* no value: sets the bool at offset to true (--wait-for-source) */
    MJD_OPT_UINT,    /* an unsigned integer in [min, max] */
    MJD_OPT_SECONDS, /* decimal seconds, > 0 and <= max */
    MJD_OPT_STRING,  /* copied into a char array of size bytes */
    MJD_OPT_CUSTOM,  /* read by the row's parse function */
};

/* What the value is stored into: offset is relative to the struct the scope names. */
enum mjd_opt_scope {
    MJD_OPT_GLOBAL, /* struct mjd_config */
    MJD_OPT_SOURCE, /* struct mjd_source_config of the --source it follows (or the defaults) */
};

enum mjd_opt_flags {
    MJD_OPT_SECRET = 1 << 0,     /* the value is never echoed and is scrubbed from argv */
    MJD_OPT_REPEAT = 1 << 1,     /* may be given more than once, each adds a value */
    MJD_OPT_HIDDEN = 1 << 2,     /* not listed by --help, --dump-options or the man page */
    MJD_OPT_NEW_SOURCE = 1 << 3, /* starts a source: the source options after it apply to it */
    MJD_OPT_ZERO_OFF = 1 << 4,   /* MJD_OPT_SECONDS: 0 is allowed too, and means off */
};

enum mjd_opt_action {
    MJD_OPT_ACT_NONE,
    MJD_OPT_ACT_HELP,
    MJD_OPT_ACT_DUMP,
    MJD_OPT_ACT_VERSION,
};

struct mjd_option;

/**
 * Reads value (borrowed) into base, the struct the row's scope names (cfg itself for a global
 * option, a struct mjd_source_config for a source option). Returns 0 or -EINVAL; may write a
 * short reason (never the value) into why.
 */
typedef int (*mjd_opt_parse_fn)(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                                const char *value, char *why, size_t why_cap);

/* One row of the table. Immutable. */
struct mjd_option {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* the value in help ("N", "WxH"); NULL for an action */
    enum mjd_opt_kind kind;
    enum mjd_opt_scope scope;
    unsigned flags;              /* enum mjd_opt_flags */
    enum mjd_opt_action action;  /* for MJD_OPT_ACTION */
    unsigned long long min, max; /* UINT: inclusive range; SECONDS: max only */
    size_t offset;               /* UINT, SECONDS, STRING, FLAG: the field in the scope's struct */
    size_t size;                 /* STRING: the field's size */
    mjd_opt_parse_fn parse;      /* CUSTOM: reads the value */
    const char *expect;          /* CUSTOM and STRING: what a valid value looks like */
    const char *def;             /* the default as shown, NULL if none */
    const char *help;            /* one sentence, without the default */
};

/** Every row, in --help order: *n of them. Any thread. */
const struct mjd_option *mjd_options_table(size_t *n);

/** What a valid value of o looks like ("an integer 1..16"), for errors, help and the man page. */
void mjd_option_describe(const struct mjd_option *o, char *buf, size_t cap);

/** The row named name[0..len) (without "--"), or NULL. Any thread. */
const struct mjd_option *mjd_option_find(const char *name, size_t len);

/**
 * Reads value (borrowed) as opt says (any kind but ACTION) into base, the struct of the row's
 * scope inside cfg. Returns 0 or -EINVAL with a description of a valid value in why (never
 * the value itself). Not thread-safe (the config being filled).
 */
int mjd_option_read(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                    const char *value, char *why, size_t why_cap);

/** Prints --help from the table (options_help.c). */
void mjd_options_print_help(FILE *out);

/**
 * Prints the options --help lists, one a line, for scripts/gen-manpage (--dump-options):
 * "--name", the value name (empty for a flag) and the help text as --help words it (ranges
 * and default included), separated by tabs. So the man page comes from the same table.
 */
void mjd_options_dump(FILE *out);

#endif
