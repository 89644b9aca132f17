// SPDX-License-Identifier: MIT
/* The `quotepack convert [OPTIONS] FILE.csv|-` subcommand: one CSV file to XML on stdout. */
#include "quotepack/convert_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quotepack/convert.h"
#include "quotepack/dialect.h"

/* The input is read in pieces of this size. */
#define PIECE ((size_t)1 << 20)
/*
 * The XML of a small file is held back until the conversion succeeded, so an error leaves
 * stdout empty; past this size it is written as it is made, so memory stays flat for a file
 * of any size (and an error then leaves a partial document; the exit status says so).
 */
#define HOLD ((size_t)8 << 20)

static void usage(FILE *f)
{
    fprintf(f, "usage: quotepack convert [--compact] [--delimiter D] [--encoding E] [--strict]\n"
               "                         FILE.csv|-\n"
               "Converts one CSV file (or stdin) to XML on stdout.\n"
               "  --compact       XML without indentation\n"
               "  --delimiter D   comma, semicolon, tab, pipe, space or one character\n"
               "                  (default auto: from the header line)\n"
               "  --encoding E    utf-8 (default), latin-1 or cp1252\n"
               "  --strict        a quote inside an unquoted field is an error, not data\n");
}

struct input {
    int fd;
    char *buf;
};

static int read_piece(void *ctx, const char **data, size_t *len)
{
    struct input *in = ctx;
    for (;;) {
        ssize_t n = read(in->fd, in->buf, PIECE);
        if (n >= 0) {
            *data = in->buf;
            *len = (size_t)n;
            return 0;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0) {
            int e = errno;
            if (e == EINTR) {
                continue;
            }
            return -e;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

struct output {
    char *held; /* the XML so far while it is under HOLD, NULL once streaming */
    size_t len;
    bool streaming;
};

static int write_stdout(void *ctx, const char *data, size_t len)
{
    struct output *o = ctx;
    if (!o->streaming && o->len + len <= HOLD) {
        if (o->held == NULL) {
            o->held = malloc(HOLD);
            if (o->held == NULL) {
                return -ENOMEM;
            }
        }
        memcpy(o->held + o->len, data, len);
        o->len += len;
        return 0;
    }
    if (!o->streaming) {
        o->streaming = true;
        int rc = write_all(STDOUT_FILENO, o->held, o->len);
        free(o->held);
        o->held = NULL;
        if (rc != 0) {
            return rc;
        }
    }
    return write_all(STDOUT_FILENO, data, len);
}

int qp_convert_cli(int argc, char **argv)
{
    struct qp_convert_opts opts = { .dialect = { .detect = true } };
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--compact") == 0) {
            opts.compact = true;
        } else if (strcmp(a, "--strict") == 0) {
            opts.dialect.strict = true;
        } else if (strcmp(a, "--delimiter") == 0 || strcmp(a, "--encoding") == 0) {
            bool delim = a[2] == 'd';
            int rc = -EINVAL;
            if (i + 1 < argc) {
                rc = delim ? qp_dialect_parse_delimiter(argv[i + 1], &opts.dialect)
                           : qp_encoding_parse(argv[i + 1], &opts.dialect.encoding);
            }
            if (rc != 0) {
                fprintf(stderr, "quotepack: convert: invalid value \"%s\" for %s\n",
                        i + 1 < argc ? argv[i + 1] : "", a);
                usage(stderr);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--") == 0 && i + 1 < argc && path == NULL) {
            path = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "quotepack: convert: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else if (path == NULL) {
            path = a;
        } else {
            fprintf(stderr, "quotepack: convert: only one file may be given\n");
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    int fd = 0;
    if (strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            fprintf(stderr, "quotepack: %s: %s\n", name, strerror(e));
            return 1;
        }
    }
    struct input in = { fd, malloc(PIECE) };
    if (in.buf == NULL) {
        fprintf(stderr, "quotepack: %s: out of memory\n", name);
        if (fd != 0) {
            close(fd);
        }
        return 1;
    }
    struct qp_convert_result res;
    struct qp_convert_error err;
    struct output o = { NULL, 0, false };
    enum qp_convert_status st =
            qp_convert_stream(read_piece, &in, write_stdout, &o, &opts, &res, &err);
    free(in.buf);
    if (fd != 0) {
        close(fd);
    }
    int wrc = st == QP_CONVERT_OK && !o.streaming ? write_all(STDOUT_FILENO, o.held, o.len) : 0;
    free(o.held);
    if (wrc != 0) {
        fprintf(stderr, "quotepack: convert: writing the XML: %s\n", strerror(-wrc));
        return 1;
    }
    if (st == QP_CONVERT_IO) {
        fprintf(stderr, "quotepack: %s: %s\n", name, err.message);
        return 1;
    }
    if (st != QP_CONVERT_OK) {
        fprintf(stderr, "quotepack: %s:%llu:%llu: %s: %s\n", name, (unsigned long long)err.line,
                (unsigned long long)err.column, qp_convert_status_name(st), err.message);
        return 1;
    }
    if (opts.dialect.detect && res.delimiter != ',') {
        char d[24];
        fprintf(stderr,
                "quotepack: %s: note: read as %s-separated (detected from the header line; "
                "--delimiter sets it)\n",
                name, qp_dialect_delimiter_name(res.delimiter, d, sizeof(d)));
    }
    if (res.rows == 0) {
        fprintf(stderr, "quotepack: %s: warning: a header and no rows\n", name);
    }
    return 0;
}
