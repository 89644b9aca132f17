// SPDX-License-Identifier: MIT
/* Tests for core/buf: creation, copies, wrapping, and concurrent ref/unref. */
#include "../testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "core/thread.h"

TEST(buf_from_copies_and_frees_on_last_unref)
{
    struct core_buf *b;
    ASSERT_OK(core_buf_from(&b, "hello", 5));
    ASSERT_EQ_INT(b->len, 5);
    ASSERT_EQ_MEM(b->data, "hello", 5);
    ASSERT_EQ_INT(core_buf_refcount(b), 1);
    ASSERT_TRUE(core_buf_ref(b) == b);
    ASSERT_EQ_INT(core_buf_refcount(b), 2);
    core_buf_unref(b);
    ASSERT_EQ_INT(core_buf_refcount(b), 1);
    core_buf_unref(b); // ASan reports a leak or double free if this is wrong
    core_buf_unref(NULL);
}

TEST(buf_create_zero_length)
{
    struct core_buf *b;
    ASSERT_OK(core_buf_create(&b, 0));
    ASSERT_EQ_INT(b->len, 0);
    core_buf_unref(b);
}

TEST(buf_create_refuses_impossible_size)
{
    struct core_buf *b = (void *)1;
    ASSERT_EQ_INT(core_buf_create(&b, SIZE_MAX - 8), -ENOMEM);
    ASSERT_NULL(b);
}

static atomic_int released;
static int release_ctx;

static void release_hook(void *ctx, void *p)
{
    ASSERT_TRUE(ctx == &release_ctx);
    free(p);
    atomic_fetch_add(&released, 1);
}

TEST(buf_wrap_calls_release_once_at_last_unref)
{
    char *mem = strdup("wrapped");
    struct core_buf *b;
    ASSERT_OK(core_buf_wrap(&b, mem, 7, release_hook, &release_ctx));
    ASSERT_TRUE(b->data == (unsigned char *)mem); // no copy
    core_buf_ref(b);
    core_buf_unref(b);
    ASSERT_EQ_INT(atomic_load(&released), 0);
    core_buf_unref(b);
    ASSERT_EQ_INT(atomic_load(&released), 1);
}

struct sharer {
    struct core_buf *frame;
    atomic_uint_fast64_t checksum;
};

static void *share_loop(void *arg)
{
    struct sharer *s = arg;
    uint64_t sum = 0;
    for (int i = 0; i < 100000; i++) {
        struct core_buf *mine = core_buf_ref(s->frame);
        sum += mine->data[i % mine->len];
        core_buf_unref(mine);
    }
    atomic_fetch_add(&s->checksum, sum);
    return NULL;
}

/* Many threads take and drop references to one frame: TSan checks the atomics and ordering. */
TEST_WITH_TIMEOUT(buf_concurrent_ref_unref, 60)
{
    static struct sharer s;
    ASSERT_OK(core_buf_create(&s.frame, 256));
    for (int i = 0; i < 256; i++) {
        s.frame->data[i] = (unsigned char)i;
    }
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(core_thread_start(&t[i], "sharer", share_loop, &s));
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    ASSERT_EQ_INT(core_buf_refcount(s.frame), 1);
    uint64_t one = 0;
    for (int i = 0; i < 100000; i++) {
        one += (uint64_t)(i % 256);
    }
    ASSERT_EQ_U64(atomic_load(&s.checksum), 4 * one);
    core_buf_unref(s.frame);
}

struct handoff {
    struct core_buf *slots[4];
};

static void *drop_later(void *arg)
{
    struct core_buf *b = arg;
    uint64_t sum = 0;
    for (size_t i = 0; i < b->len; i++) {
        sum += b->data[i];
    }
    ASSERT_EQ_U64(sum, 4096ull * 7);
    core_buf_unref(b);
    return NULL;
}

/* The last reference may be dropped by any thread; the creator's writes must be visible. */
TEST_WITH_TIMEOUT(buf_last_unref_on_another_thread, 60)
{
    for (int round = 0; round < 200; round++) {
        struct core_buf *b;
        ASSERT_OK(core_buf_create(&b, 4096));
        memset(b->data, 7, b->len);
        pthread_t t[3];
        for (int i = 0; i < 3; i++) {
            ASSERT_OK(core_thread_start(&t[i], "dropper", drop_later, core_buf_ref(b)));
        }
        core_buf_unref(b);
        for (int i = 0; i < 3; i++) {
            pthread_join(t[i], NULL);
        }
    }
}
