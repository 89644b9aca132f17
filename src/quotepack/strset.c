// SPDX-License-Identifier: MIT
/* A set of borrowed strings, each with a size_t value: open addressing on the symbol hash. */
#include "quotepack/strset.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "quotepack/shard.h"

void qp_strset_init(struct qp_strset *s, size_t n)
{
    s->cap = 16;
    while (s->cap < n * 2) {
        s->cap *= 2;
    }
    s->count = 0;
    s->keys = core_xcalloc(s->cap, sizeof(*s->keys));
    s->vals = core_xcalloc(s->cap, sizeof(*s->vals));
}

void qp_strset_release(struct qp_strset *s)
{
    free(s->keys);
    free(s->vals);
    memset(s, 0, sizeof(*s));
}

static size_t slot(const struct qp_strset *s, const char *key)
{
    size_t i = (size_t)qp_shard_hash(key) & (s->cap - 1);
    while (s->keys[i] != NULL && strcmp(s->keys[i], key) != 0) {
        i = (i + 1) & (s->cap - 1);
    }
    return i;
}

bool qp_strset_add(struct qp_strset *s, const char *key, size_t val)
{
    if (s->count * 2 >= s->cap) {
        CORE_BUG("qp_strset: more strings than it was made for");
    }
    size_t i = slot(s, key);
    if (s->keys[i] != NULL) {
        return false;
    }
    s->keys[i] = key;
    s->vals[i] = val;
    s->count++;
    return true;
}

bool qp_strset_find(const struct qp_strset *s, const char *key, size_t *val)
{
    if (s->cap == 0) {
        return false;
    }
    size_t i = slot(s, key);
    if (s->keys[i] == NULL) {
        return false;
    }
    if (val != NULL) {
        *val = s->vals[i];
    }
    return true;
}
