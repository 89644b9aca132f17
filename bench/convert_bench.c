// SPDX-License-Identifier: MIT
/* Benchmark of qp_convert alone: MB/s of Yahoo-layout CSV, one thread and --jobs threads. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quotepack/convert.h"

/*
 * Usage: convert_bench [--symbols N] [--rows R] [--jobs J] [--rounds K] [--compact]
 *                      [--delimiter C] [--detect] [--encoding E]
 * Generates N documents of R rows in the original layout (Date,Open,High,Low,Close,Volume,
 * Adj Close, newest first), converts every one K times on 1 thread, then on J threads, and
 * prints the input MB/s (1 MB = 1e6 bytes) overall and per thread. --delimiter writes the
 * documents with C (and tells the parser, unless --detect has it find C in the header);
 * --encoding converts them as latin-1 or cp1252 (they are ASCII: the cost of transcoding).
 */

struct doc {
    char *csv;
    size_t len;
};

struct shared {
    struct doc *docs;
    size_t ndocs;
    int rounds;
    bool compact;
    struct qp_csv_dialect dialect;
    atomic_size_t next;
    atomic_ullong out_bytes;
    atomic_int failures;
    atomic_ullong cpu_ns; /* CPU time the workers spent, summed */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void gen_doc(struct doc *d, size_t rows, uint64_t seed, char delim)
{
    size_t cap = 64 + rows * 96;
    char *b = malloc(cap);
    if (b == NULL) {
        perror("malloc");
        exit(1);
    }
    size_t n = (size_t)sprintf(b, "Date,Open,High,Low,Close,Volume,Adj Close\n");
    double price = 20.0 + (double)(seed % 400);
    int y = 2016, m = 12, day = 28;
    for (size_t r = 0; r < rows; r++) {
        double o = price, h = o * 1.02, l = o * 0.98,
               c = o * (0.99 + (double)(rng_next(&seed) % 200) / 10000.0);
        unsigned long vol = (unsigned long)(rng_next(&seed) % 90000000 + 100000);
        n += (size_t)sprintf(b + n, "%04d-%02d-%02d,%.6f,%.6f,%.6f,%.6f,%lu,%.6f\n", y, m, day, o,
                             h, l, c, vol, c * 0.97);
        price = c > 1.0 ? c : 1.0;
        if (--day == 0) {
            day = 28;
            if (--m == 0) {
                m = 12;
                y--;
            }
        }
    }
    for (size_t i = 0; delim != ',' && i < n; i++) {
        b[i] = b[i] == ',' ? delim : b[i];
    }
    d->csv = b;
    d->len = n;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg)
{
    struct shared *sh = arg;
    uint64_t cpu0 = thread_cpu_ns();
    struct qp_convert_opts opts = { .compact = sh->compact, .dialect = sh->dialect };
    size_t total = sh->ndocs * (size_t)sh->rounds;
    for (;;) {
        size_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= total) {
            break;
        }
        const struct doc *d = &sh->docs[i % sh->ndocs];
        struct qp_convert_result res;
        struct qp_convert_error err;
        if (qp_convert(d->csv, d->len, &opts, &res, &err) != QP_CONVERT_OK) {
            atomic_fetch_add(&sh->failures, 1);
            continue;
        }
        atomic_fetch_add(&sh->out_bytes, res.xml_len);
        free(res.xml);
    }
    atomic_fetch_add(&sh->cpu_ns, thread_cpu_ns() - cpu0);
    return NULL;
}

static double run(struct shared *sh, int jobs)
{
    pthread_t th[256];
    atomic_store(&sh->next, 0);
    atomic_store(&sh->out_bytes, 0);
    atomic_store(&sh->cpu_ns, 0);
    double t0 = now_s();
    for (int j = 0; j < jobs; j++) {
        if (pthread_create(&th[j], NULL, worker, sh) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    for (int j = 0; j < jobs; j++) {
        pthread_join(th[j], NULL);
    }
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    size_t symbols = 100, rows = 5000;
    int jobs = 2, rounds = 3, repeat = 5;
    bool compact = false;
    struct qp_csv_dialect dialect = { 0 };
    char delim = ',';
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--symbols") == 0 && i + 1 < argc) {
            symbols = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
            rows = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            jobs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--compact") == 0) {
            compact = true;
        } else if (strcmp(argv[i], "--detect") == 0) {
            dialect.detect = true;
        } else if (strcmp(argv[i], "--delimiter") == 0 && i + 1 < argc &&
                   qp_dialect_parse_delimiter(argv[++i], &dialect) == 0 && !dialect.detect) {
            delim = dialect.delimiter;
        } else if (strcmp(argv[i], "--encoding") == 0 && i + 1 < argc &&
                   qp_encoding_parse(argv[++i], &dialect.encoding) == 0) {
            continue;
        } else {
            fprintf(stderr, "usage: convert_bench [--symbols N] [--rows R] [--jobs J] [--rounds K] "
                            "[--repeat T] [--compact] [--delimiter C] [--detect] "
                            "[--encoding E]\n");
            return 2;
        }
    }
    if (symbols == 0 || rows == 0 || jobs < 1 || jobs > 256 || rounds < 1 || repeat < 1) {
        fprintf(stderr, "convert_bench: bad arguments\n");
        return 2;
    }
    struct shared sh = {
        .ndocs = symbols, .rounds = rounds, .compact = compact, .dialect = dialect
    };
    sh.docs = calloc(symbols, sizeof(*sh.docs));
    if (sh.docs == NULL) {
        perror("calloc");
        return 1;
    }
    size_t in_bytes = 0;
    for (size_t i = 0; i < symbols; i++) {
        gen_doc(&sh.docs[i], rows, 0x9E3779B97F4A7C15ull + i * 7919, delim);
        in_bytes += sh.docs[i].len;
    }
    double total = (double)in_bytes * rounds;
    char dname[24];
    printf("convert_bench: %zu symbols x %zu rows, %.1f MB of CSV, %d round(s), %s XML, %s%s, %s\n",
           symbols, rows, (double)in_bytes / 1e6, rounds, compact ? "compact" : "pretty",
           qp_dialect_delimiter_name(delim, dname, sizeof(dname)),
           dialect.detect ? " (detected)" : "", qp_encoding_name(dialect.encoding));
    /* Warm-up: page in the inputs and the allocator. */
    struct shared warm = sh;
    warm.rounds = 1;
    run(&warm, 1);
    /*
     * Each measurement is taken `repeat` times and the best kept, since other work on the
     * machine only ever slows a run down. Wall-clock MB/s is the throughput; MB per CPU-second
     * of the converting threads is the speed per core, which other load barely changes.
     */
    for (int pass = 0; pass < 2; pass++) {
        int nthreads = pass == 0 ? 1 : jobs;
        if (pass == 1 && jobs == 1) {
            break;
        }
        double best_wall = 1e30, best_cpu = 1e30;
        unsigned long long out = 0;
        for (int r = 0; r < repeat; r++) {
            double t = run(&sh, nthreads);
            double cpu = (double)atomic_load(&sh.cpu_ns) / 1e9;
            out = atomic_load(&sh.out_bytes);
            best_wall = t < best_wall ? t : best_wall;
            best_cpu = cpu < best_cpu ? cpu : best_cpu;
        }
        printf("%d thread%s: %8.1f MB/s of CSV wall-clock (%.1f MB/s of XML), %8.1f MB/s per core "
               "(CPU time), best of %d\n",
               nthreads, nthreads == 1 ? " " : "s", total / best_wall / 1e6,
               (double)out / best_wall / 1e6, total / best_cpu / 1e6, repeat);
    }
    int failures = atomic_load(&sh.failures);
    for (size_t i = 0; i < symbols; i++) {
        free(sh.docs[i].csv);
    }
    free(sh.docs);
    if (failures != 0) {
        fprintf(stderr, "convert_bench: %d conversions failed\n", failures);
        return 1;
    }
    return 0;
}
