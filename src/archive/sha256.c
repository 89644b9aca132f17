// SPDX-License-Identifier: MIT
/* SHA-256 (FIPS 180-4), for the members' digests in archive manifests. */
#include "archive/sha256.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ARC_SHA256_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void compress_portable(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (size_t i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    }
    for (size_t i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (size_t i = 0; i < 64; i++) {
        uint32_t t1 =
                hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

#ifdef ARC_SHA256_X86
/*
 * The x86 SHA extensions (SHA-NI: sha256rnds2, sha256msg1, sha256msg2), about ten times the
 * portable code: the manifest hashes every byte of XML on the converters, beside the CRC-32
 * and the compressor. The state is kept as the instructions want it: ABEF and CDGH. Each
 * group of four rounds g uses message vector m[g % 4] (W[4g..4g+3]); the schedule for the
 * vectors of groups 4..15 is made in place as the groups go.
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void
compress_shani(uint32_t h[8], const unsigned char *p, size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)(const void *)&h[0]);    /* A B C D */
    __m128i state1 = _mm_loadu_si128((const __m128i *)(const void *)&h[4]); /* E F G H */
    tmp = _mm_shuffle_epi32(tmp, 0xB1);
    state1 = _mm_shuffle_epi32(state1, 0x1B);
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8); /* ABEF */
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);      /* CDGH */
    for (; blocks > 0; blocks--, p += 64) {
        __m128i save0 = state0;
        __m128i save1 = state1;
        __m128i m[4];
#pragma GCC unroll 16
        for (size_t g = 0; g < 16; g++) {
            if (g < 4) {
                m[g] = _mm_shuffle_epi8(
                        _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * g)), bswap);
            }
            __m128i msg = _mm_add_epi32(m[g & 3],
                                        _mm_loadu_si128((const __m128i *)(const void *)&k[4 * g]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
            if (g >= 3 && g < 15) {
                // W[4(g+1)..]: sigma0 part (msg1, done three groups ago) + W[-7] + sigma1.
                size_t n = (g + 1) & 3;
                __m128i w7 = _mm_alignr_epi8(m[g & 3], m[(g - 1) & 3], 4);
                m[n] = _mm_sha256msg2_epu32(_mm_add_epi32(m[n], w7), m[g & 3]);
            }
            msg = _mm_shuffle_epi32(msg, 0x0E);
            state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
            if (g >= 1 && g <= 12) {
                m[(g - 1) & 3] = _mm_sha256msg1_epu32(m[(g - 1) & 3], m[g & 3]);
            }
        }
        state0 = _mm_add_epi32(state0, save0);
        state1 = _mm_add_epi32(state1, save1);
    }
    tmp = _mm_shuffle_epi32(state0, 0x1B);       /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1);    /* DCHG */
    state0 = _mm_blend_epi16(tmp, state1, 0xF0); /* DCBA */
    state1 = _mm_alignr_epi8(state1, tmp, 8);    /* HGFE */
    _mm_storeu_si128((__m128i *)(void *)&h[0], state0);
    _mm_storeu_si128((__m128i *)(void *)&h[4], state1);
}

/* 1: the CPU has SHA-NI and SSE4.1, -1: it has not, 0: not asked yet (any thread may ask;
 * they all find the same answer; arc_sha256_force_portable sets -1). */
static atomic_int have_shani;

static bool use_shani(void)
{
    int v = atomic_load_explicit(&have_shani, memory_order_relaxed);
    if (v == 0) {
        unsigned a = 0, b = 0, c = 0, d = 0;
        bool sse41 = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_1) && (c & bit_SSSE3);
        bool sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
        v = sse41 && sha ? 1 : -1;
        atomic_store_explicit(&have_shani, v, memory_order_relaxed);
    }
    return v > 0;
}
#endif

void arc_sha256_force_portable(bool portable)
{
#ifdef ARC_SHA256_X86
    atomic_store_explicit(&have_shani, portable ? -1 : 0, memory_order_relaxed);
#else
    (void)portable;
#endif
}

static void compress_blocks(uint32_t h[8], const unsigned char *p, size_t blocks)
{
#ifdef ARC_SHA256_X86
    if (use_shani()) {
        compress_shani(h, p, blocks);
        return;
    }
#endif
    for (; blocks > 0; blocks--, p += 64) {
        compress_portable(h, p);
    }
}

static void compress(uint32_t h[8], const unsigned char *p)
{
    compress_blocks(h, p, 1);
}

void arc_sha256_init(struct arc_sha256 *s)
{
    static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, iv, sizeof(iv));
    s->len = 0;
    s->fill = 0;
}

void arc_sha256_update(struct arc_sha256 *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    s->len += len;
    if (s->fill > 0) {
        size_t n = 64 - s->fill < len ? 64 - s->fill : len;
        memcpy(s->block + s->fill, p, n);
        s->fill += n;
        p += n;
        len -= n;
        if (s->fill < 64) {
            return;
        }
        compress(s->h, s->block);
        s->fill = 0;
    }
    if (len >= 64) {
        compress_blocks(s->h, p, len / 64);
        p += len / 64 * 64;
        len %= 64;
    }
    memcpy(s->block, p, len);
    s->fill = len;
}

void arc_sha256_final(struct arc_sha256 *s, unsigned char out[ARC_SHA256_LEN])
{
    uint64_t bits = s->len * 8;
    s->block[s->fill++] = 0x80;
    if (s->fill > 56) {
        memset(s->block + s->fill, 0, 64 - s->fill);
        compress(s->h, s->block);
        s->fill = 0;
    }
    memset(s->block + s->fill, 0, 56 - s->fill);
    for (size_t i = 0; i < 8; i++) {
        s->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    }
    compress(s->h, s->block);
    for (size_t i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(s->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)s->h[i];
    }
}

void arc_sha256(const void *data, size_t len, unsigned char out[ARC_SHA256_LEN])
{
    struct arc_sha256 s;
    arc_sha256_init(&s);
    arc_sha256_update(&s, data, len);
    arc_sha256_final(&s, out);
}

void arc_sha256_hex(const unsigned char digest[ARC_SHA256_LEN], char out[ARC_SHA256_HEX])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < ARC_SHA256_LEN; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[ARC_SHA256_HEX - 1] = '\0';
}
