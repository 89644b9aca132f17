// SPDX-License-Identifier: MIT
/* A set of borrowed strings, each with a size_t value: open addressing on the symbol hash. */
#ifndef QP_STRSET_H
#define QP_STRSET_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The one string set of quotepack (de-duplicating the symbol list, finding a symbol's index,
 * verify's catalog lookup). Sized once for the number of strings it will hold; never grows.
 * Not thread-safe.
 */
struct qp_strset {
    const char **keys; /* cap slots, NULL = empty; borrowed strings */
    size_t *vals;
    size_t cap; /* a power of two, at least twice the count it was made for */
    size_t count;
};

/** Makes room for n strings. */
void qp_strset_init(struct qp_strset *s, size_t n);
/** Frees the table (not the strings). Accepts a zeroed set. */
void qp_strset_release(struct qp_strset *s);
/** Adds key with val: true, or false (and nothing changes) when key is already there. */
bool qp_strset_add(struct qp_strset *s, const char *key, size_t val);
/** The value of key: true and *val, or false. val may be NULL. */
bool qp_strset_find(const struct qp_strset *s, const char *key, size_t *val);

#endif
