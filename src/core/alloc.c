// SPDX-License-Identifier: MIT
/* Allocation wrappers that abort on failure. */
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static void *check(void *p)
{
    if (p == NULL) {
        CORE_BUG("out of memory");
    }
    return p;
}

void *core_xmalloc(size_t size)
{
    return check(malloc(size ? size : 1));
}

void *core_xcalloc(size_t n, size_t size)
{
    return check(calloc(n ? n : 1, size ? size : 1));
}

void *core_xrealloc(void *ptr, size_t size)
{
    return check(realloc(ptr, size ? size : 1));
}

char *core_xstrdup(const char *s)
{
    return check(strdup(s));
}
