// SPDX-License-Identifier: MIT
/* Benchmarks of the core: core_queue throughput and core_procpool round-trip latency. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/procpool.h"
#include "core/queue.h"

/*
 * Usage: core_bench [--items N] [--calls N] [--rounds K] [--only queue|procpool]
 *
 * queue: one thread pushes N items into a queue that holds them all and pops them again (no
 * thread ever waits: the cost of push and pop themselves); then P producers push N items in total
 * through a queue of capacity C to Q consumers, for (P, Q, C) in (1, 1, 1024), (1, 1, 1) (on N/50
 * items), (2, 2, 1024); prints the median Mitems/s of K rounds. procpool: one caller thread sends N
 * echo requests of 16 B and of 4 KiB to a pool of one worker and prints the p50 and p99 round trip
 * of every call, in microseconds, and calls/s.
 */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- queue ------------------------------------------------------------------------------- */

struct qrun {
    struct core_queue *q;
    size_t per_producer;
    uint64_t sum; /* consumer: sum of the items it popped */
};

static void *producer(void *arg)
{
    struct qrun *r = arg;
    for (size_t i = 1; i <= r->per_producer; i++) {
        if (core_queue_push(r->q, (void *)(uintptr_t)i) != 0) {
            fprintf(stderr, "push failed\n");
            exit(1);
        }
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct qrun *r = arg;
    void *item;
    while (core_queue_pop(r->q, &item) == 0) {
        r->sum += (uintptr_t)item;
    }
    return NULL;
}

static double queue_round(size_t producers, size_t consumers, size_t capacity, size_t items)
{
    struct core_queue *q;
    if (core_queue_create(&q, capacity) != 0) {
        fprintf(stderr, "core_queue_create failed\n");
        exit(1);
    }
    struct qrun pr = { .q = q, .per_producer = items / producers };
    struct qrun cr[8];
    pthread_t pt[8], ct[8];
    double t0 = now_s();
    for (size_t i = 0; i < consumers; i++) {
        cr[i] = (struct qrun){ .q = q };
        pthread_create(&ct[i], NULL, consumer, &cr[i]);
    }
    for (size_t i = 0; i < producers; i++) {
        pthread_create(&pt[i], NULL, producer, &pr);
    }
    for (size_t i = 0; i < producers; i++) {
        pthread_join(pt[i], NULL);
    }
    core_queue_close(q);
    uint64_t sum = 0;
    for (size_t i = 0; i < consumers; i++) {
        pthread_join(ct[i], NULL);
        sum += cr[i].sum;
    }
    double dt = now_s() - t0;
    uint64_t n = pr.per_producer;
    if (sum != producers * (n * (n + 1) / 2)) {
        fprintf(stderr, "queue lost items\n");
        exit(1);
    }
    core_queue_destroy(q);
    return (double)(n * producers) / dt / 1e6;
}

/* One thread pushes items into a queue that holds them all, then pops them: nobody ever waits. */
static double queue_uncontended_round(size_t items)
{
    struct core_queue *q;
    if (core_queue_create(&q, items) != 0) {
        fprintf(stderr, "core_queue_create failed\n");
        exit(1);
    }
    double t0 = now_s();
    for (size_t i = 1; i <= items; i++) {
        if (core_queue_push(q, (void *)(uintptr_t)i) != 0) {
            exit(1);
        }
    }
    uint64_t sum = 0;
    void *item;
    while (core_queue_try_pop(q, &item) == 0) {
        sum += (uintptr_t)item;
    }
    double dt = now_s() - t0;
    if (sum != (uint64_t)items * (items + 1) / 2) {
        fprintf(stderr, "queue lost items\n");
        exit(1);
    }
    core_queue_destroy(q);
    return (double)items / dt / 1e6;
}

static void bench_queue(size_t items, int rounds)
{
    double u[64];
    for (int r = 0; r < rounds; r++) {
        u[r] = queue_uncontended_round(items);
    }
    double umed = median(u, (size_t)rounds);
    printf("queue 1T uncontended  %8.2f Mitems/s (median of %d, min %.2f, max %.2f)\n", umed,
           rounds, u[0], u[rounds - 1]);
    // {producers, consumers, capacity, share of the items}: capacity 1 hands over one item
    // per context switch, so it runs on a 50th of the items.
    static const size_t shapes[][4] = { { 1, 1, 1024, 1 }, { 1, 1, 1, 50 }, { 2, 2, 1024, 1 } };
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        double v[64];
        for (int r = 0; r < rounds; r++) {
            v[r] = queue_round(shapes[s][0], shapes[s][1], shapes[s][2], items / shapes[s][3]);
        }
        double med = median(v, (size_t)rounds);
        printf("queue %zuP%zuC capacity %-5zu %8.2f Mitems/s (median of %d, min %.2f, max %.2f)\n",
               shapes[s][0], shapes[s][1], shapes[s][2], med, rounds, v[0], v[rounds - 1]);
    }
}

/* ---- procpool ---------------------------------------------------------------------------- */

static int echo(void *ctx, const void *in, size_t len, struct core_procpool_out *out)
{
    (void)ctx;
    return core_procpool_out_append(out, in, len);
}

static void bench_procpool(size_t calls)
{
    struct core_procpool *pp;
    struct core_procpool_config cfg = { .workers = 1, .handler = echo };
    if (core_procpool_create(&pp, &cfg) != 0) {
        fprintf(stderr, "core_procpool_create failed\n");
        exit(1);
    }
    static const size_t sizes[] = { 16, 4096 };
    double *lat = malloc(calls * sizeof(*lat));
    char *req = malloc(4096);
    if (lat == NULL || req == NULL) {
        exit(1);
    }
    memset(req, 'r', 4096);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (size_t i = 0; i < calls / 10; i++) { // warm-up
            struct core_procpool_result res;
            if (core_procpool_call(pp, req, sizes[s], 10000, &res) != 0) {
                exit(1);
            }
            core_buf_unref(res.reply);
        }
        double t0 = now_s();
        for (size_t i = 0; i < calls; i++) {
            struct core_procpool_result res;
            double c0 = now_s();
            int rc = core_procpool_call(pp, req, sizes[s], 10000, &res);
            lat[i] = (now_s() - c0) * 1e6;
            if (rc != 0 || res.reply == NULL || res.reply->len != sizes[s]) {
                fprintf(stderr, "call failed: %d\n", rc);
                exit(1);
            }
            core_buf_unref(res.reply);
        }
        double dt = now_s() - t0;
        qsort(lat, calls, sizeof(*lat), cmp_double);
        printf("procpool round trip %5zu B: p50 %6.1f us  p99 %6.1f us  %8.0f calls/s (%zu calls)\n",
               sizes[s], lat[calls / 2], lat[calls * 99 / 100], (double)calls / dt, calls);
    }
    free(req);
    free(lat);
    core_procpool_destroy(pp);
}

int main(int argc, char **argv)
{
    size_t items = 2000000, calls = 20000;
    int rounds = 5;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--items") == 0) {
            items = strtoul(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--calls") == 0) {
            calls = strtoul(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--rounds") == 0) {
            rounds = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--only") == 0) {
            only = argv[i + 1];
        } else {
            fprintf(stderr, "usage: core_bench [--items N] [--calls N] [--rounds K] "
                            "[--only queue|procpool]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > 64 || items < 100 || calls < 10) {
        fprintf(stderr, "core_bench: --rounds 1..64, --items >= 100, --calls >= 10\n");
        return 2;
    }
    // The procpool forks its spawner first, before this process starts any thread.
    if (only == NULL || strcmp(only, "procpool") == 0) {
        bench_procpool(calls);
    }
    if (only == NULL || strcmp(only, "queue") == 0) {
        bench_queue(items, rounds);
    }
    return 0;
}
