// SPDX-License-Identifier: MIT
/* libFuzzer target: the JPEG completeness check and standard Huffman table insertion. Property:
 * whatever the check accepts has an EOI in bounds; an accepted frame without DHT that
 * libturbojpeg decodes still decodes once the standard tables are inserted. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/sources/jpeg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes jpeg to grey pixels if its size is small enough to stay fast; 1 if it decoded. */
static int decodes(tjhandle tj, const unsigned char *jpeg, size_t len)
{
    int w = 0;
    int h = 0;
    int sub = 0;
    int cs = 0;
    if (tjDecompressHeader3(tj, jpeg, (unsigned long)len, &w, &h, &sub, &cs) != 0 || w <= 0 ||
        h <= 0 || (long)w * h > 256L * 256L) {
        return 0;
    }
    unsigned char *px = malloc((size_t)w * (size_t)h);
    if (px == NULL) {
        return 0;
    }
    int rc = tjDecompress2(tj, jpeg, (unsigned long)len, px, w, 0, h, TJPF_GRAY, 0);
    free(px);
    return rc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mjd_jpeg_info info;
    if (mjd_jpeg_check(data, size, &info) != 0) {
        return 0;
    }
    if (info.len > size || info.len < 4 || data[info.len - 2] != 0xff ||
        data[info.len - 1] != 0xd9 || info.sos_off + 2 > info.len || data[info.sos_off] != 0xff ||
        data[info.sos_off + 1] != 0xda) {
        abort();
    }
    if (info.has_dht) {
        return 0;
    }
    size_t cap = info.len + MJD_JPEG_STD_DHT_BYTES;
    unsigned char *out = malloc(cap);
    if (out == NULL) {
        return 0;
    }
    long n = mjd_jpeg_insert_dht(data, &info, out, cap);
    struct mjd_jpeg_info again;
    if (n != (long)cap || mjd_jpeg_check(out, (size_t)n, &again) != 0 || !again.has_dht) {
        abort();
    }
    tjhandle tj = tjInitDecompress();
    if (tj != NULL) {
        if (decodes(tj, data, info.len) && !decodes(tj, out, (size_t)n)) {
            abort();
        }
        tjDestroy(tj);
    }
    free(out);
    return 0;
}
