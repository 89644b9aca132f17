// SPDX-License-Identifier: MIT
/* --shard K/N: a stable partition of symbols by a hash of the symbol name. */
#include "quotepack/shard.h"

#include <errno.h>
#include <stdlib.h>

uint64_t qp_shard_hash(const char *symbol)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)symbol; *p != '\0'; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    // FNV-1a's low bits are weak for short keys; the finaliser spreads every bit so that
    // h % n is close to uniform for any n.
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

bool qp_shard_selects(const char *symbol, unsigned k, unsigned n)
{
    if (n <= 1) {
        return true;
    }
    return qp_shard_hash(symbol) % n == k;
}

int qp_shard_parse(const char *text, unsigned *k, unsigned *n)
{
    char *end = NULL;
    errno = 0;
    unsigned long kk = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '/' || text[0] == '-' || text[0] == '+') {
        return -EINVAL;
    }
    const char *ns = end + 1;
    unsigned long nn = strtoul(ns, &end, 10);
    if (errno != 0 || end == ns || *end != '\0' || ns[0] == '-' || ns[0] == '+') {
        return -EINVAL;
    }
    if (nn < 1 || nn > 65536 || kk >= nn) {
        return -EINVAL;
    }
    *k = (unsigned)kk;
    *n = (unsigned)nn;
    return 0;
}
