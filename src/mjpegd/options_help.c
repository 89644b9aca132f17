// SPDX-License-Identifier: MIT
/* --help and --dump-options (the man page's source), rendered from the option table. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mjpegd/options.h"

static const char summary[] = "Serves an MJPEG stream to many clients at once.";

static const char endpoints[] =
        "Endpoints: / (viewer), /stream, /snapshot, /state (JSON), /metrics (Prometheus), "
        "/?action=stream, /?action=snapshot. /stream?fps=N caps one client's rate.";

/* ---- --help -------------------------------------------------------------------------------- */

#define HELP_COL   28
#define HELP_WIDTH 79

/* Prints text word-wrapped from column col (the cursor is at col) to HELP_WIDTH. */
static void wrap(FILE *out, const char *text, int col)
{
    int at = col;
    const char *p = text;
    while (*p != '\0') {
        const char *e = strchr(p, ' ');
        int len = e != NULL ? (int)(e - p) : (int)strlen(p);
        if (at > col && at + 1 + len > HELP_WIDTH) {
            fprintf(out, "\n%*s", col, "");
            at = col;
        } else if (at > col) {
            fputc(' ', out);
            at++;
        }
        fprintf(out, "%.*s", len, p);
        at += len;
        p += len;
        while (*p == ' ') {
            p++;
        }
    }
    fputc('\n', out);
}

/* The help sentence plus the valid values and the default. */
static void full_help(const struct mjd_option *o, char *buf, size_t cap)
{
    char what[128] = "";
    if (o->kind == MJD_OPT_UINT || o->kind == MJD_OPT_SECONDS) {
        mjd_option_describe(o, what, sizeof(what));
    }
    int n = snprintf(buf, cap, "%s", o->help);
    if (what[0] != '\0' && n >= 0 && (size_t)n < cap) {
        what[0] = (char)toupper((unsigned char)what[0]);
        n += snprintf(buf + n, cap - (size_t)n, " %s.", what);
    }
    if (o->flags & MJD_OPT_REPEAT && n >= 0 && (size_t)n < cap) {
        n += snprintf(buf + n, cap - (size_t)n, " May be repeated.");
    }
    if (o->def != NULL && n >= 0 && (size_t)n < cap) {
        snprintf(buf + n, cap - (size_t)n, " Default: %s.", o->def);
    }
}

void mjd_options_print_help(FILE *out)
{
    fprintf(out, "usage: mjpegd [options]\n%s\n\n", summary);
    size_t n = 0;
    const struct mjd_option *table = mjd_options_table(&n);
    for (size_t i = 0; i < n; i++) {
        const struct mjd_option *o = &table[i];
        if (o->flags & MJD_OPT_HIDDEN) {
            continue;
        }
        char text[512];
        full_help(o, text, sizeof(text));
        int col = fprintf(out, "  --%s%s%s", o->name, o->metavar != NULL ? " " : "",
                          o->metavar != NULL ? o->metavar : "");
        if (col >= HELP_COL) {
            fprintf(out, "\n%*s", HELP_COL, "");
        } else {
            fprintf(out, "%*s", HELP_COL - col, "");
        }
        wrap(out, text, HELP_COL);
    }
    fputc('\n', out);
    wrap(out, endpoints, 0);
}

/* ---- --dump-options ------------------------------------------------------------------------ */

void mjd_options_dump(FILE *out)
{
    size_t n = 0;
    const struct mjd_option *table = mjd_options_table(&n);
    for (size_t i = 0; i < n; i++) {
        const struct mjd_option *o = &table[i];
        if (o->flags & MJD_OPT_HIDDEN) {
            continue;
        }
        char text[512];
        full_help(o, text, sizeof(text));
        fprintf(out, "--%s\t%s\t%s\n", o->name, o->metavar != NULL ? o->metavar : "", text);
    }
}
