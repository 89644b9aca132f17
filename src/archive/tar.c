// SPDX-License-Identifier: MIT
/* Plain (uncompressed) tar members on an arc_writer, and the ustar header every writer uses. */
#include "archive/tar.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "archive/writer.h"

static const unsigned char zeros[2 * ARC_TAR_BLOCK];

static void octal(unsigned char *field, size_t width, uint64_t v)
{
    // width - 1 digits, zero-padded, then NUL
    for (size_t i = width - 1; i-- > 0;) {
        field[i] = (unsigned char)('0' + (v & 7));
        v >>= 3;
    }
    field[width - 1] = '\0';
}

int arc_tar_header(unsigned char hdr[ARC_TAR_BLOCK], const char *name, uint64_t size, int64_t mtime)
{
    size_t n = strlen(name);
    if (n == 0 || n > 99) {
        return -ENAMETOOLONG;
    }
    memset(hdr, 0, ARC_TAR_BLOCK);
    memcpy(hdr, name, n + 1);
    octal(hdr + 100, 8, 0644);
    octal(hdr + 108, 8, 0);
    octal(hdr + 116, 8, 0);
    if (size < ((uint64_t)1 << 33)) {
        octal(hdr + 124, 12, size);
    } else {
        // Base-256: the high bit of the first byte set, the value big-endian in the rest.
        hdr[124] = 0x80;
        for (int i = 11; i >= 4; i--) {
            hdr[124 + i] = (unsigned char)(size & 0xff);
            size >>= 8;
        }
    }
    octal(hdr + 136, 12, mtime > 0 ? (uint64_t)mtime : 0);
    memset(hdr + 148, ' ', 8);
    hdr[156] = '0';
    memcpy(hdr + 257, "ustar", 6); // magic, with its NUL
    hdr[263] = '0';                // version "00", no NUL
    hdr[264] = '0';
    memcpy(hdr + 265, "root", 5);
    memcpy(hdr + 297, "root", 5);
    octal(hdr + 329, 8, 0);
    octal(hdr + 337, 8, 0);
    unsigned sum = 0;
    for (size_t i = 0; i < ARC_TAR_BLOCK; i++) {
        sum += hdr[i];
    }
    octal(hdr + 148, 7, sum);
    hdr[155] = ' ';
    return 0;
}

static size_t padding(uint64_t size)
{
    return (size_t)((ARC_TAR_BLOCK - size % ARC_TAR_BLOCK) % ARC_TAR_BLOCK);
}

int arc_tar_add(struct arc_writer *w, const char *name, const void *data, size_t len, int64_t mtime)
{
    unsigned char hdr[ARC_TAR_BLOCK];
    int rc = arc_tar_header(hdr, name, len, mtime);
    if (rc == 0) {
        rc = arc_writer_write(w, hdr, sizeof(hdr));
    }
    if (rc == 0) {
        rc = arc_writer_write(w, data, len);
    }
    if (rc == 0) {
        rc = arc_writer_write(w, zeros, padding(len));
    }
    return rc;
}

int arc_tar_begin(struct arc_writer *w, struct arc_tar_member *m, const char *name, int64_t mtime)
{
    size_t n = strlen(name);
    if (n == 0 || n > 99) {
        return -ENAMETOOLONG;
    }
    memcpy(m->name, name, n + 1);
    m->mtime = mtime;
    m->size = 0;
    m->hdr_off = arc_writer_bytes(w);
    return arc_writer_write(w, zeros, ARC_TAR_BLOCK); // the header's place
}

int arc_tar_data(struct arc_writer *w, struct arc_tar_member *m, const void *data, size_t len)
{
    int rc = arc_writer_write(w, data, len);
    if (rc == 0) {
        m->size += len;
    }
    return rc;
}

int arc_tar_end(struct arc_writer *w, struct arc_tar_member *m)
{
    unsigned char hdr[ARC_TAR_BLOCK];
    int rc = arc_writer_write(w, zeros, padding(m->size));
    if (rc == 0) {
        rc = arc_tar_header(hdr, m->name, m->size, m->mtime);
    }
    if (rc == 0) {
        rc = arc_writer_pwrite(w, hdr, sizeof(hdr), m->hdr_off);
    }
    return rc;
}

int arc_tar_finish(struct arc_writer *w)
{
    return arc_writer_write(w, zeros, sizeof(zeros));
}
