// SPDX-License-Identifier: MIT
/* JPEG completeness check and standard Huffman table insertion (see jpeg.h). */
#include "mjpegd/sources/jpeg.h"

#include <errno.h>
#include <string.h>

/*
 * The standard DHT segment: the four tables of ITU-T T.81 Annex K.3 (Tables K.3 to K.6), each as
 * class/id, 16 code-length counts, then the symbol values. Most UVC cameras omit them and rely on
 * the decoder knowing them (Motion-JPEG's AVI1 convention); browsers such as Safari do not.
 */
static const unsigned char std_dht[MJD_JPEG_STD_DHT_BYTES] = {
    0xff,
    0xc4,
    0x01,
    0xa2, /* DHT, length 418 */
    /* Table K.3: luminance DC */
    0x00,
    0,
    1,
    5,
    1,
    1,
    1,
    1,
    1,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0, /* counts */
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    /* Table K.5: luminance AC */
    0x10,
    0,
    2,
    1,
    3,
    3,
    2,
    4,
    3,
    5,
    5,
    4,
    4,
    0,
    0,
    1,
    0x7d, /* counts */
    0x01,
    0x02,
    0x03,
    0x00,
    0x04,
    0x11,
    0x05,
    0x12,
    0x21,
    0x31,
    0x41,
    0x06,
    0x13,
    0x51,
    0x61,
    0x07,
    0x22,
    0x71,
    0x14,
    0x32,
    0x81,
    0x91,
    0xa1,
    0x08,
    0x23,
    0x42,
    0xb1,
    0xc1,
    0x15,
    0x52,
    0xd1,
    0xf0,
    0x24,
    0x33,
    0x62,
    0x72,
    0x82,
    0x09,
    0x0a,
    0x16,
    0x17,
    0x18,
    0x19,
    0x1a,
    0x25,
    0x26,
    0x27,
    0x28,
    0x29,
    0x2a,
    0x34,
    0x35,
    0x36,
    0x37,
    0x38,
    0x39,
    0x3a,
    0x43,
    0x44,
    0x45,
    0x46,
    0x47,
    0x48,
    0x49,
    0x4a,
    0x53,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5a,
    0x63,
    0x64,
    0x65,
    0x66,
    0x67,
    0x68,
    0x69,
    0x6a,
    0x73,
    0x74,
    0x75,
    0x76,
    0x77,
    0x78,
    0x79,
    0x7a,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8a,
    0x92,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9a,
    0xa2,
    0xa3,
    0xa4,
    0xa5,
    0xa6,
    0xa7,
    0xa8,
    0xa9,
    0xaa,
    0xb2,
    0xb3,
    0xb4,
    0xb5,
    0xb6,
    0xb7,
    0xb8,
    0xb9,
    0xba,
    0xc2,
    0xc3,
    0xc4,
    0xc5,
    0xc6,
    0xc7,
    0xc8,
    0xc9,
    0xca,
    0xd2,
    0xd3,
    0xd4,
    0xd5,
    0xd6,
    0xd7,
    0xd8,
    0xd9,
    0xda,
    0xe1,
    0xe2,
    0xe3,
    0xe4,
    0xe5,
    0xe6,
    0xe7,
    0xe8,
    0xe9,
    0xea,
    0xf1,
    0xf2,
    0xf3,
    0xf4,
    0xf5,
    0xf6,
    0xf7,
    0xf8,
    0xf9,
    0xfa,
    /* Table K.4: chrominance DC */
    0x01,
    0,
    3,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    0,
    0,
    0,
    0,
    0, /* counts */
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    /* Table K.6: chrominance AC */
    0x11,
    0,
    2,
    1,
    2,
    4,
    4,
    3,
    4,
    7,
    5,
    4,
    4,
    0,
    1,
    2,
    0x77, /* counts */
    0x00,
    0x01,
    0x02,
    0x03,
    0x11,
    0x04,
    0x05,
    0x21,
    0x31,
    0x06,
    0x12,
    0x41,
    0x51,
    0x07,
    0x61,
    0x71,
    0x13,
    0x22,
    0x32,
    0x81,
    0x08,
    0x14,
    0x42,
    0x91,
    0xa1,
    0xb1,
    0xc1,
    0x09,
    0x23,
    0x33,
    0x52,
    0xf0,
    0x15,
    0x62,
    0x72,
    0xd1,
    0x0a,
    0x16,
    0x24,
    0x34,
    0xe1,
    0x25,
    0xf1,
    0x17,
    0x18,
    0x19,
    0x1a,
    0x26,
    0x27,
    0x28,
    0x29,
    0x2a,
    0x35,
    0x36,
    0x37,
    0x38,
    0x39,
    0x3a,
    0x43,
    0x44,
    0x45,
    0x46,
    0x47,
    0x48,
    0x49,
    0x4a,
    0x53,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5a,
    0x63,
    0x64,
    0x65,
    0x66,
    0x67,
    0x68,
    0x69,
    0x6a,
    0x73,
    0x74,
    0x75,
    0x76,
    0x77,
    0x78,
    0x79,
    0x7a,
    0x82,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8a,
    0x92,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9a,
    0xa2,
    0xa3,
    0xa4,
    0xa5,
    0xa6,
    0xa7,
    0xa8,
    0xa9,
    0xaa,
    0xb2,
    0xb3,
    0xb4,
    0xb5,
    0xb6,
    0xb7,
    0xb8,
    0xb9,
    0xba,
    0xc2,
    0xc3,
    0xc4,
    0xc5,
    0xc6,
    0xc7,
    0xc8,
    0xc9,
    0xca,
    0xd2,
    0xd3,
    0xd4,
    0xd5,
    0xd6,
    0xd7,
    0xd8,
    0xd9,
    0xda,
    0xe2,
    0xe3,
    0xe4,
    0xe5,
    0xe6,
    0xe7,
    0xe8,
    0xe9,
    0xea,
    0xf2,
    0xf3,
    0xf4,
    0xf5,
    0xf6,
    0xf7,
    0xf8,
    0xf9,
    0xfa,
};

enum {
    M_SOI = 0xd8,
    M_EOI = 0xd9,
    M_SOS = 0xda,
    M_DHT = 0xc4,
    M_TEM = 0x01,
};

static bool is_rst(unsigned m)
{
    return m >= 0xd0 && m <= 0xd7;
}

/* A start-of-frame marker: C0..CF except DHT (C4), JPG (C8) and DAC (CC). */
static bool is_sof(unsigned m)
{
    return m >= 0xc0 && m <= 0xcf && m != M_DHT && m != 0xc8 && m != 0xcc;
}

/* Skips entropy-coded data from p; returns the offset of the next marker's FF, or len. */
static size_t skip_scan(const unsigned char *buf, size_t len, size_t p)
{
    while (p + 1 < len) {
        if (buf[p] == 0xff && buf[p + 1] != 0x00 && buf[p + 1] != 0xff && !is_rst(buf[p + 1])) {
            return p;
        }
        p++;
    }
    return len;
}

int mjd_jpeg_check(const unsigned char *buf, size_t len, struct mjd_jpeg_info *info)
{
    if (len < 4 || buf[0] != 0xff || buf[1] != M_SOI) {
        return -EBADMSG;
    }
    bool have_sof = false;
    bool have_sos = false;
    bool dht_before_sos = false;
    size_t sos_off = 0;
    size_t p = 2;
    for (;;) {
        if (p >= len || buf[p] != 0xff) {
            return -EBADMSG;
        }
        while (p < len && buf[p] == 0xff) { /* fill bytes before a marker */
            p++;
        }
        if (p >= len) {
            return -EBADMSG;
        }
        unsigned m = buf[p];
        size_t at = p - 1; /* the FF before the marker code */
        p++;
        if (m == M_EOI) {
            if (!have_sos) {
                return -EBADMSG;
            }
            for (size_t i = p; i < len; i++) {
                if (buf[i] != 0) {
                    return -EBADMSG;
                }
            }
            info->len = p;
            info->sos_off = sos_off;
            info->has_dht = dht_before_sos;
            return 0;
        }
        if (m == 0x00 || m == M_SOI || is_rst(m) || m == M_TEM) {
            return -EBADMSG; /* stray standalone markers outside a scan */
        }
        if (len - p < 2) {
            return -EBADMSG;
        }
        size_t seg = ((size_t)buf[p] << 8) | buf[p + 1];
        if (seg < 2 || seg > len - p) {
            return -EBADMSG;
        }
        if (is_sof(m)) {
            have_sof = true;
        } else if (m == M_DHT && !have_sos) {
            dht_before_sos = true;
        }
        p += seg;
        if (m == M_SOS) {
            if (!have_sof) {
                return -EBADMSG;
            }
            if (!have_sos) {
                sos_off = at;
            }
            have_sos = true;
            p = skip_scan(buf, len, p);
        }
    }
}

long mjd_jpeg_insert_dht(const unsigned char *in, const struct mjd_jpeg_info *info,
                         unsigned char *out, size_t cap)
{
    if (cap < info->len || cap - info->len < sizeof(std_dht)) {
        return -ENOSPC;
    }
    memcpy(out, in, info->sos_off);
    memcpy(out + info->sos_off, std_dht, sizeof(std_dht));
    memcpy(out + info->sos_off + sizeof(std_dht), in + info->sos_off, info->len - info->sos_off);
    return (long)(info->len + sizeof(std_dht));
}
