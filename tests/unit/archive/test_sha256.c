// SPDX-License-Identifier: MIT
/* Unit tests for SHA-256: the FIPS 180-4 examples, a million 'a's, and every split point. */
#include "../testlib.h"

#include <stdlib.h>
#include <string.h>

#include "archive/sha256.h"

static void check(const void *data, size_t len, const char *want)
{
    unsigned char d[ARC_SHA256_LEN];
    char hex[ARC_SHA256_HEX];
    arc_sha256(data, len, d);
    arc_sha256_hex(d, hex);
    ASSERT_EQ_STR(hex, want);
}

TEST(sha256_known_answers)
{
    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; // 56 bytes
    check(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    size_t n = 1000000;
    char *a = malloc(n);
    ASSERT_NOT_NULL(a);
    memset(a, 'a', n);
    check(a, n, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

TEST(sha256_pieces_give_the_digest_of_the_whole)
{
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)(i * 7 + 3);
    }
    for (size_t len = 0; len <= sizeof(buf); len += 13) {
        unsigned char whole[ARC_SHA256_LEN];
        arc_sha256(buf, len, whole);
        for (size_t cut = 0; cut <= len; cut++) {
            struct arc_sha256 s;
            unsigned char d[ARC_SHA256_LEN];
            arc_sha256_init(&s);
            arc_sha256_update(&s, buf, cut);
            arc_sha256_update(&s, buf + cut, len - cut);
            arc_sha256_final(&s, d);
            ASSERT_EQ_MEM(d, whole, sizeof(d));
        }
    }
}

TEST(sha256_lengths_around_the_padding_boundary_match_a_byte_at_a_time)
{
    unsigned char buf[130];
    memset(buf, 0x5a, sizeof(buf));
    for (size_t len = 50; len < sizeof(buf); len++) {
        unsigned char whole[ARC_SHA256_LEN], bytes[ARC_SHA256_LEN];
        arc_sha256(buf, len, whole);
        struct arc_sha256 s;
        arc_sha256_init(&s);
        for (size_t i = 0; i < len; i++) {
            arc_sha256_update(&s, buf + i, 1);
        }
        arc_sha256_final(&s, bytes);
        ASSERT_EQ_MEM(bytes, whole, sizeof(whole));
    }
    // Known answers (Python's hashlib) at the lengths where the padding spills a block.
    check(buf, 55, "5f25f149aa92e3e13093aed8216072fae623f35e26ca605b6cce17e04b7ccf44");
    check(buf, 56, "301c69927f1603720c9f847b7e5e3bef77a7b9f75344490fe9039f13c36b842a");
    check(buf, 63, "939765b120205cbedae2ed31256b1967c38b6bdd9b0220535224cbc0b906d333");
    check(buf, 64, "cc7321cce5e4409bd8077d58422e1214969059bbd40b4eeb0de0a642f40f7282");
    check(buf, 119, "a96851d641310ce032ff832b6f08125878deed2a825fe515dd1ba414afe95f7e");
}

TEST(sha256_cpu_extensions_and_portable_code_agree)
{
    // On a CPU with SHA-NI the default path uses it: every length up to a few blocks, and a
    // large buffer in odd pieces, must digest the same as the portable code. (Elsewhere both
    // runs are the portable code, and the test still passes.)
    size_t n = 70000;
    unsigned char *buf = malloc(n);
    ASSERT_NOT_NULL(buf);
    for (size_t i = 0; i < n; i++) {
        buf[i] = (unsigned char)((i * 2654435761u) >> 13);
    }
    for (size_t len = 0; len <= 600; len++) {
        unsigned char fast[ARC_SHA256_LEN], slow[ARC_SHA256_LEN];
        arc_sha256_force_portable(false);
        arc_sha256(buf + (len % 7), len, fast);
        arc_sha256_force_portable(true);
        arc_sha256(buf + (len % 7), len, slow);
        ASSERT_EQ_MEM(fast, slow, sizeof(fast));
    }
    unsigned char fast[ARC_SHA256_LEN], slow[ARC_SHA256_LEN];
    struct arc_sha256 s;
    arc_sha256_force_portable(false);
    arc_sha256_init(&s);
    for (size_t o = 0; o < n; o += 4099) {
        arc_sha256_update(&s, buf + o, n - o < 4099 ? n - o : 4099);
    }
    arc_sha256_final(&s, fast);
    arc_sha256_force_portable(true);
    arc_sha256(buf, n, slow);
    arc_sha256_force_portable(false);
    ASSERT_EQ_MEM(fast, slow, sizeof(fast));
    free(buf);
}
