// SPDX-License-Identifier: MIT
/* SHA-256 (FIPS 180-4), for the members' digests in archive manifests. */
#ifndef ARC_SHA256_H
#define ARC_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARC_SHA256_LEN 32
#define ARC_SHA256_HEX (2 * ARC_SHA256_LEN + 1)

/*
 * Incremental: init, update with the data in any pieces, final. A plain struct the caller
 * owns (no allocation); one context per thread. Written here rather than linking libcrypto,
 * which neither program otherwise needs (docs/DECISIONS.md).
 */
struct arc_sha256 {
    uint32_t h[8];
    uint64_t len; /* bytes so far */
    unsigned char block[64];
    size_t fill;
};

void arc_sha256_init(struct arc_sha256 *s);
void arc_sha256_update(struct arc_sha256 *s, const void *data, size_t len);
/** Writes the digest; the context must be initialised again before reuse. */
void arc_sha256_final(struct arc_sha256 *s, unsigned char out[ARC_SHA256_LEN]);

/**
 * On x86-64 the SHA extensions are used when the CPU has them (checked once); portable=true
 * makes every later call use the portable code (false: check again). For tests and benches.
 */
void arc_sha256_force_portable(bool portable);

/** One call: digest of len bytes. */
void arc_sha256(const void *data, size_t len, unsigned char out[ARC_SHA256_LEN]);
/** Lower-case hex of a digest, NUL-terminated. */
void arc_sha256_hex(const unsigned char digest[ARC_SHA256_LEN], char out[ARC_SHA256_HEX]);

#endif
