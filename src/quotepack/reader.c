// SPDX-License-Identifier: MIT
/* Reading archives back (libarchive): entries, their data and CRC-32; a spooled entry too. */
#include "quotepack/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <libdeflate.h>

#include "core/alloc.h"
#include "quotepack/spool.h"

#define PIECE ((size_t)256 << 10)

struct qp_reader {
    struct archive *ar;
    /* a spooled record: its header frame, then its data frames */
    struct qp_spool *sp;
    struct qp_spool_rec rec;
    uint64_t pos; /* bytes of the record served so far, in archive order */
    char *buf;
    int64_t mtime; /* of the current entry */
};

static struct qp_reader *reader_new(void)
{
    struct qp_reader *r = core_xcalloc(1, sizeof(*r));
    r->ar = archive_read_new();
    if (r->ar == NULL) {
        free(r);
        return NULL;
    }
    archive_read_support_filter_gzip(r->ar);
    archive_read_support_filter_zstd(r->ar);
    archive_read_support_format_tar(r->ar);
    return r;
}

int qp_reader_open_file(struct qp_reader **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    struct qp_reader *r = reader_new();
    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (archive_read_open_filename(r->ar, path, PIECE) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s", archive_error_string(r->ar));
        qp_reader_close(r);
        return -EIO;
    }
    *out = r;
    return 0;
}

static la_ssize_t record_read(struct archive *a, void *ctx, const void **buf)
{
    struct qp_reader *r = ctx;
    const struct qp_spool_rec *rec = &r->rec;
    uint64_t total = rec->data_len + rec->hdr_len;
    if (r->pos >= total) {
        return 0;
    }
    // Archive order: the header frame (stored after the data), then the data frames.
    uint64_t off;
    uint64_t left;
    if (r->pos < rec->hdr_len) {
        off = rec->off + rec->data_len + r->pos;
        left = rec->hdr_len - r->pos;
    } else {
        off = rec->off + (r->pos - rec->hdr_len);
        left = total - r->pos;
    }
    size_t n = left < PIECE ? (size_t)left : PIECE;
    int rc = qp_spool_pread(r->sp, rec->seg, off, r->buf, n);
    if (rc != 0) {
        archive_set_error(a, -rc, "reading the spool: %s", strerror(-rc));
        return -1;
    }
    r->pos += n;
    *buf = r->buf;
    return (la_ssize_t)n;
}

int qp_reader_open_record(struct qp_reader **out, struct qp_spool *sp,
                          const struct qp_spool_rec *rec)
{
    *out = NULL;
    struct qp_reader *r = reader_new();
    if (r == NULL) {
        return -ENOMEM;
    }
    r->sp = sp;
    r->rec = *rec;
    r->buf = core_xmalloc(PIECE);
    if (archive_read_open(r->ar, r, NULL, record_read, NULL) != ARCHIVE_OK) {
        qp_reader_close(r);
        return -EIO;
    }
    *out = r;
    return 0;
}

void qp_reader_close(struct qp_reader *r)
{
    if (r == NULL) {
        return;
    }
    archive_read_free(r->ar);
    free(r->buf);
    free(r);
}

int qp_reader_next(struct qp_reader *r, const char **name, int64_t *size)
{
    struct archive_entry *e = NULL;
    int rc = archive_read_next_header(r->ar, &e);
    if (rc == ARCHIVE_EOF) {
        return 0;
    }
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
        return -EIO;
    }
    *name = archive_entry_pathname(e);
    *size = archive_entry_size(e);
    r->mtime = (int64_t)archive_entry_mtime(e);
    if (*name == NULL) {
        *name = "";
    }
    return 1;
}

int64_t qp_reader_mtime(const struct qp_reader *r)
{
    return r->mtime;
}

int qp_reader_data(struct qp_reader *r, FILE *out, uint64_t *size, uint32_t *crc)
{
    const void *buf = NULL;
    size_t len = 0;
    la_int64_t off = 0;
    *size = 0;
    *crc = 0;
    int rc;
    while ((rc = archive_read_data_block(r->ar, &buf, &len, &off)) == ARCHIVE_OK) {
        *crc = (uint32_t)libdeflate_crc32(*crc, buf, len);
        *size += len;
        if (out != NULL && len > 0 && fwrite(buf, 1, len, out) != len) {
            return -errno;
        }
    }
    return rc == ARCHIVE_EOF ? 0 : -EIO;
}

const char *qp_reader_error(struct qp_reader *r)
{
    const char *s = archive_error_string(r->ar);
    return s != NULL ? s : "unknown error";
}

int qp_reader_data_each(struct qp_reader *r, qp_reader_piece_fn fn, void *ctx, uint64_t *size,
                        uint32_t *crc)
{
    const void *buf = NULL;
    size_t len = 0;
    la_int64_t off = 0;
    *size = 0;
    *crc = 0;
    int rc;
    while ((rc = archive_read_data_block(r->ar, &buf, &len, &off)) == ARCHIVE_OK) {
        *crc = (uint32_t)libdeflate_crc32(*crc, buf, len);
        *size += len;
        if (len > 0) {
            int frc = fn(ctx, buf, len);
            if (frc != 0) {
                return frc;
            }
        }
    }
    return rc == ARCHIVE_EOF ? 0 : -EIO;
}
