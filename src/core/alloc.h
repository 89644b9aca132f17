// SPDX-License-Identifier: MIT
/* Allocation wrappers that abort on failure, for small fixed-size allocations only. */
#ifndef CORE_ALLOC_H
#define CORE_ALLOC_H

#include <stddef.h>

/*
 * OOM policy (STYLE.md section 3): sizes known at compile time or bounded by configuration go
 * through these and abort when memory is exhausted. Any size taken from input is checked
 * against a cap first and allocated with plain malloc, and its failure is returned.
 * All are callable from any thread. The result is owned by the caller (free(3) it).
 */
void *core_xmalloc(size_t size);
void *core_xcalloc(size_t n, size_t size);
void *core_xrealloc(void *ptr, size_t size);
char *core_xstrdup(const char *s);

#endif
