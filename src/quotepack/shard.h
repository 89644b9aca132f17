// SPDX-License-Identifier: MIT
/* --shard K/N: a stable partition of symbols by a hash of the symbol name. */
#ifndef QP_SHARD_H
#define QP_SHARD_H

#include <stdbool.h>
#include <stdint.h>

/** A 64-bit hash of the symbol (FNV-1a, then a splitmix64 finaliser). Pure; any thread. */
uint64_t qp_shard_hash(const char *symbol);

/**
 * Whether symbol belongs to shard k of n (0 <= k < n): hash % n == k. The answer depends on
 * the symbol alone, never on its position in the list, so every machine given the same n
 * agrees on the partition. n == 0 or 1 selects everything. Pure; any thread.
 */
bool qp_shard_selects(const char *symbol, unsigned k, unsigned n);

/** Parses "K/N" with 0 <= K < N <= 65536 into *k and *n. Returns 0 or -EINVAL. */
int qp_shard_parse(const char *text, unsigned *k, unsigned *n);

#endif
