// SPDX-License-Identifier: MIT
/* The `quotepack convert [OPTIONS] FILE.csv|-` subcommand: one CSV file to XML on stdout. */
#include "quotepack/convert_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quotepack/convert.h"

/* The largest CSV file the subcommand reads. */
#define MAX_INPUT ((size_t)1 << 30)

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

/* Reads all of fd into a malloc'd buffer; returns 0 or a negative errno (-EFBIG past cap). */
static int read_all(int fd, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    size_t cap = 1 << 16, len = 0;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
        if ((uint64_t)sb.st_size > MAX_INPUT) {
            return -EFBIG;
        }
        cap = (size_t)sb.st_size + 1;
    }
    char *buf = malloc(cap);
    if (buf == NULL) {
        return -ENOMEM;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_INPUT) {
                free(buf);
                return -EFBIG;
            }
            size_t ncap = cap * 2 > MAX_INPUT ? MAX_INPUT : cap * 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            int e = errno;
            if (e == EINTR) {
                continue;
            }
            free(buf);
            return -e;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    *out = buf;
    *out_len = len;
    return 0;
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
    char *csv = NULL;
    size_t len = 0;
    int rc = read_all(fd, &csv, &len);
    if (fd != 0) {
        close(fd);
    }
    if (rc < 0) {
        fprintf(stderr, "quotepack: %s: %s\n", name,
                rc == -EFBIG ? "file is larger than the 1 GiB cap" : strerror(-rc));
        return 1;
    }
    struct qp_convert_result res;
    struct qp_convert_error err;
    enum qp_convert_status st = qp_convert(csv, len, &opts, &res, &err);
    free(csv);
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
    rc = write_all(STDOUT_FILENO, res.xml, res.xml_len);
    free(res.xml);
    if (rc < 0) {
        fprintf(stderr, "quotepack: convert: writing the XML: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}
