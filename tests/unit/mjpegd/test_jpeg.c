// SPDX-License-Identifier: MIT
/* Unit tests for the JPEG completeness check and standard Huffman table insertion. */
#include "../testlib.h"

#include <errno.h>
#include <turbojpeg.h>

#include "mjpegd/sources/jpeg.h"

enum {
    W = 96,
    H = 64
};

/* A libjpeg-turbo JPEG of gradients plus noise (noise uses most Huffman codes); *len gets its size.
 * Caller frees with tjFree. */
static unsigned char *make_jpeg(unsigned long *len)
{
    static unsigned char rgb[W * H * 3];
    unsigned s = 1;
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            unsigned char *p = rgb + ((size_t)y * W + (size_t)x) * 3;
            p[0] = (unsigned char)(x * 255 / W);
            p[1] = (unsigned char)(y * 255 / H);
            s = s * 1103515245u + 12345u;
            p[2] = (unsigned char)(s >> 16);
            p[0] = (unsigned char)(p[0] ^ ((s >> 8) & 0x3f));
        }
    }
    tjhandle tj = tjInitCompress();
    ASSERT_TRUE(tj != NULL);
    unsigned char *out = NULL;
    ASSERT_EQ_INT(tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &out, len, TJSAMP_420, 80, 0), 0);
    tjDestroy(tj);
    return out;
}

/* Copies in to out without its DHT segments (which all come before the first SOS here). */
static size_t strip_dht(const unsigned char *in, size_t len, unsigned char *out)
{
    size_t p = 2;
    size_t o = 2;
    memcpy(out, in, 2);
    while (p + 4 <= len && !(in[p] == 0xff && in[p + 1] == 0xda)) {
        size_t seg = 2 + (((size_t)in[p + 2] << 8) | in[p + 3]);
        if (in[p + 1] != 0xc4) {
            memcpy(out + o, in + p, seg);
            o += seg;
        }
        p += seg;
    }
    memcpy(out + o, in + p, len - p);
    return o + len - p;
}

static void decode(const unsigned char *jpeg, size_t len, unsigned char *rgb)
{
    tjhandle tj = tjInitDecompress();
    ASSERT_TRUE(tj != NULL);
    ASSERT_EQ_INT(tjDecompress2(tj, jpeg, (unsigned long)len, rgb, W, 0, H, TJPF_RGB, 0), 0);
    tjDestroy(tj);
}

TEST(jpeg_check_accepts_complete_and_padded)
{
    unsigned long len = 0;
    unsigned char *j = make_jpeg(&len);
    struct mjd_jpeg_info info;
    ASSERT_EQ_INT(mjd_jpeg_check(j, len, &info), 0);
    ASSERT_EQ_U64(info.len, len);
    ASSERT_TRUE(info.has_dht);
    // UVC drivers hand over whole buffers: zero padding after EOI is fine, anything else is not.
    unsigned char *pad = calloc(len + 64, 1);
    ASSERT_TRUE(pad != NULL);
    memcpy(pad, j, len);
    ASSERT_EQ_INT(mjd_jpeg_check(pad, len + 64, &info), 0);
    ASSERT_EQ_U64(info.len, len);
    pad[len + 10] = 0x55;
    ASSERT_EQ_INT(mjd_jpeg_check(pad, len + 64, &info), -EBADMSG);
    free(pad);
    tjFree(j);
}

TEST(jpeg_check_rejects_truncated_and_garbage)
{
    unsigned long len = 0;
    unsigned char *j = make_jpeg(&len);
    struct mjd_jpeg_info info;
    // Every truncation loses the EOI (or more) and must be refused.
    for (size_t cut = 0; cut < len; cut++) {
        if (mjd_jpeg_check(j, cut, &info) != -EBADMSG) {
            test_fail(__FILE__, __LINE__, "truncated at %zu of %lu accepted", cut, len);
        }
    }
    unsigned char junk[256];
    unsigned s = 12345;
    for (size_t i = 0; i < sizeof(junk); i++) {
        s = s * 1103515245u + 12345u;
        junk[i] = (unsigned char)(s >> 16);
    }
    ASSERT_EQ_INT(mjd_jpeg_check(junk, sizeof(junk), &info), -EBADMSG);
    junk[0] = 0xff;
    junk[1] = 0xd8;
    ASSERT_EQ_INT(mjd_jpeg_check(junk, sizeof(junk), &info), -EBADMSG);
    // SOI then EOI at once: no frame, no scan.
    static const unsigned char empty[] = { 0xff, 0xd8, 0xff, 0xd9 };
    ASSERT_EQ_INT(mjd_jpeg_check(empty, sizeof(empty), &info), -EBADMSG);
    // A segment length running past the end.
    unsigned char *bad = malloc(len);
    ASSERT_TRUE(bad != NULL);
    memcpy(bad, j, len);
    bad[4] = 0xff; /* first segment after SOI (APP0 from libjpeg-turbo) now claims ~64 KiB */
    ASSERT_EQ_INT(mjd_jpeg_check(bad, len, &info), -EBADMSG);
    free(bad);
    tjFree(j);
}

TEST(jpeg_insert_dht_decodes_to_same_pixels)
{
    unsigned long len = 0;
    unsigned char *j = make_jpeg(&len);
    unsigned char *stripped = malloc(len);
    ASSERT_TRUE(stripped != NULL);
    size_t slen = strip_dht(j, len, stripped);
    ASSERT_TRUE(slen < len);
    struct mjd_jpeg_info info;
    ASSERT_EQ_INT(mjd_jpeg_check(stripped, slen, &info), 0);
    ASSERT_FALSE(info.has_dht);
    ASSERT_EQ_INT(stripped[info.sos_off], 0xff);
    ASSERT_EQ_INT(stripped[info.sos_off + 1], 0xda);

    size_t cap = slen + MJD_JPEG_STD_DHT_BYTES;
    unsigned char *fixed = malloc(cap);
    ASSERT_TRUE(fixed != NULL);
    ASSERT_EQ_INT(mjd_jpeg_insert_dht(stripped, &info, fixed, cap - 1), -ENOSPC);
    long n = mjd_jpeg_insert_dht(stripped, &info, fixed, cap);
    ASSERT_EQ_INT(n, (long)cap);
    struct mjd_jpeg_info info2;
    ASSERT_EQ_INT(mjd_jpeg_check(fixed, (size_t)n, &info2), 0);
    ASSERT_TRUE(info2.has_dht);

    static unsigned char a[W * H * 3];
    static unsigned char b[W * H * 3];
    decode(j, len, a);
    decode(fixed, (size_t)n, b);
    ASSERT_TRUE(memcmp(a, b, sizeof(a)) == 0);
    free(fixed);
    free(stripped);
    tjFree(j);
}
