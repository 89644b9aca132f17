// SPDX-License-Identifier: MIT
/* An intrusive doubly linked list with a sentinel, for the network loops' connection lists. */
#ifndef MJD_LIST_H
#define MJD_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* The struct that embeds member `member` and whose address ptr points at. */
#define MJD_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* A list head (sentinel) or a link embedded in an element. Not thread-safe. */
struct mjd_link {
    struct mjd_link *prev;
    struct mjd_link *next;
};

/** Makes head an empty list. */
static inline void mjd_list_init(struct mjd_link *head)
{
    head->prev = head;
    head->next = head;
}

static inline bool mjd_list_empty(const struct mjd_link *head)
{
    return head->next == head;
}

/** True if the link n is in a list (links start zeroed and are cleared by mjd_list_del). */
static inline bool mjd_list_linked(const struct mjd_link *n)
{
    return n->next != NULL;
}

/** Appends n, which must not be in a list, at the end of head. */
static inline void mjd_list_add_tail(struct mjd_link *head, struct mjd_link *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

/** Moves every element of src, in order, to the empty list dst; src is left empty. */
static inline void mjd_list_move_all(struct mjd_link *dst, struct mjd_link *src)
{
    if (src->next == src) {
        dst->next = dst;
        dst->prev = dst;
        return;
    }
    dst->next = src->next;
    dst->prev = src->prev;
    dst->next->prev = dst;
    dst->prev->next = dst;
    src->next = src;
    src->prev = src;
}

/** Removes n from its list; does nothing if it is in none. */
static inline void mjd_list_del(struct mjd_link *n)
{
    if (n->next != NULL) {
        n->prev->next = n->next;
        n->next->prev = n->prev;
        n->prev = NULL;
        n->next = NULL;
    }
}

#endif
