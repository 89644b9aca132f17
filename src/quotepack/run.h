// SPDX-License-Identifier: MIT
/* The state one run shares between its stages: symbols, the spool window, the ready queue. */
#ifndef QP_RUN_H
#define QP_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/catalog.h"
#include "quotepack/config.h"
#include "quotepack/fetch.h"
#include "quotepack/rowsplit.h"
#include "quotepack/spool.h"

struct qp_body;

struct core_event;

/*
 * The contract between the stages (docs/quotepack.md, "Stages and threads"):
 *   fetch (stage_fetch.c)    takes symbols with qp_run_admit, in input order, while the spool
 *                            window has room; reports download failures;
 *   convert (stage_convert.c) reports each symbol converted (its entry is in the spool) or
 *                            failed;
 *   pack (stage_pack.c)      takes converted symbols from the ready queue in the order they
 *                            were converted, N at a time, archives them, and owns the catalog
 *                            during the run (it writes every change the others queue).
 * The window: a symbol is admitted only while admitted-but-not-converted symbols plus
 * converted-but-not-archived ones number fewer than cfg->spool_files and the waiting entries
 * take fewer than cfg->spool_bytes. A symbol holds one place from admission to archive (or
 * failure), so a slow one holds one place, never the others.
 *
 * One mutex (mu) guards the fields marked so; it is a leaf lock, never held across I/O, a
 * catalog call, a curl call, a pool submit or a call out (the spool's own lock is never taken
 * under it either).
 */

/* What an archive's manifest (manifest.h) says of an entry besides its rows, size and CRC. */
struct qp_entry_facts {
    unsigned char sha256[32]; /* of the XML */
    char first[32];           /* qp_convert_result's first and last */
    char last[32];
};

struct qp_sym {
    const char *name; /* immutable */
    bool this_run;    /* immutable after recover: fetched or reused by this run */
    /* immutable after recover: archived before, fetched again by this refresh (--refresh,
     * `update`). Its catalog row stays archived in its old archive until a changed body is
     * archived again (qp_catalog_rearchive); an unchanged body or a failure leaves it so. */
    bool refresh;
    enum qp_state state;     /* guarded by mu */
    enum qp_failure failure; /* guarded by mu */
    bool fetched;            /* guarded by mu: downloaded by this run */
    bool dirty;              /* guarded by mu: in run->dirty, not yet in the catalog */
    uint64_t rows;           /* guarded by mu */
    uint64_t csv_bytes;      /* guarded by mu */
    uint64_t xml_bytes;      /* guarded by mu */
    uint32_t crc;            /* guarded by mu */
    char delimiter;          /* guarded by mu: the delimiter its CSV was read with by this run's
                                conversion (detected or given), 0 if this run did not convert it */
    struct qp_spool_rec rec; /* guarded by mu: converted only */
    char *error;             /* guarded by mu */
    char archive[128];       /* guarded by mu: archived */
    /* guarded by mu: the validators of the body this run downloaded ("" otherwise) */
    char etag[192];
    char last_modified[64];
    char body_sha256[65];
    /* guarded by mu: for the manifest. have_facts: converted by this run (a conversion an
     * earlier run left in the spool has none, and the packer reads them back from it);
     * fetched_at: the Unix time this run downloaded it, 0 otherwise */
    bool have_facts;
    struct qp_entry_facts facts;
    int64_t fetched_at;
    /* guarded by mu, refreshes: how the body this run converts relates to the archived one
     * (rowsplit.h): APPEND/PREPEND when only its new rows were converted (a row-level
     * generation), CHANGED when it is archived again whole */
    enum qp_split_kind split;
    /* guarded by mu: the first field of the first and last rows of the member it has (the
     * archived one, then the one this run converts), for {from} and the catalog */
    char first_row[QP_ROW_KEY_MAX];
    char last_row[QP_ROW_KEY_MAX];
    uint64_t gen; /* immutable after recover: the archived member's generation (catalog) */
    bool at_top;  /* immutable after recover: that member's rows go before the earlier ones */
};

struct qp_run {
    const struct qp_config *cfg; /* immutable */
    const char *source;          /* immutable: the URL template fetched from */
    struct qp_spool *spool;      /* thread-safe */
    struct qp_sym *syms;         /* the array is immutable; fields as marked */
    size_t nsyms;
    char **owned_names; /* names the run made (retry): freed with it */
    size_t *todo;       /* immutable after recover: symbols to fetch, in input order */
    size_t ntodo;
    struct core_event *wake_main;  /* set when the packer exits or the run must stop */
    void (*wake_fetch)(void *ctx); /* called (outside mu) when the window opens */
    void *wake_ctx;

    pthread_mutex_t mu;
    pthread_cond_t cond;       /* the packer waits here */
    size_t next_todo;          /* guarded by mu */
    size_t in_flight;          /* guarded by mu: admitted, not yet converted or failed */
    size_t *ready;             /* guarded by mu: ring of nsyms slots, converted in order */
    size_t ready_head;         /* guarded by mu */
    size_t ready_n;            /* guarded by mu */
    uint64_t ready_bytes;      /* guarded by mu: spool bytes of the ready entries */
    size_t packing;            /* guarded by mu: taken by the packer, not yet released */
    uint64_t packing_bytes;    /* guarded by mu */
    size_t *dirty;             /* guarded by mu: nsyms slots */
    size_t ndirty;             /* guarded by mu */
    int fatal;                 /* guarded by mu: the first run-level error */
    bool stopping;             /* guarded by mu */
    bool upstream_done;        /* guarded by mu: fetch and convert are finished */
    size_t peak_files;         /* guarded by mu: most spool places taken at once */
    uint64_t peak_bytes;       /* guarded by mu: most spool bytes at once */
    atomic_bool packer_exited; /* atomic */

    atomic_uint_fast64_t done;         /* atomic: symbols that ended in this run */
    atomic_uint_fast64_t failed;       /* atomic */
    atomic_uint_fast64_t host_skipped; /* atomic: failed because their host was given up */
    atomic_uint_fast64_t archived;     /* atomic */
    atomic_uint_fast64_t archives;     /* atomic */
    atomic_uint_fast64_t archived_csv; /* atomic: CSV bytes of symbols fetched and archived */
    atomic_uint_fast64_t xml_bytes;    /* atomic: XML made by this run */
    /* atomic, refreshes: 304 answers; bodies equal to the archived one (SHA-256); changed
     * bodies archived again; refreshes that failed (the archived body stays) */
    atomic_uint_fast64_t not_modified;
    atomic_uint_fast64_t unchanged;
    atomic_uint_fast64_t rearchived;
    atomic_uint_fast64_t new_rows_only; /* atomic: of rearchived, packed as a row-level gen */
    atomic_uint_fast64_t refresh_failed;
};

/** Prepares an empty run for cfg (borrowed). Main thread. 0 or -errno. */
int qp_run_init(struct qp_run *run, const struct qp_config *cfg) CORE_MUST_CHECK;
/** Frees everything. Accepts a zeroed run. Main thread, after every thread ended. */
void qp_run_release(struct qp_run *run);
/** Sizes the symbol table (recover.c). Main thread, before the threads. */
void qp_run_alloc_symbols(struct qp_run *run, size_t n);

/** The next symbol to download, or WAIT (the window is full) or DONE. Fetch thread. */
enum qp_fetch_admit qp_run_admit(struct qp_run *run, size_t *idx, const char **symbol);
/**
 * The download of idx finished (body is borrowed). Returns true when the body is to be
 * converted (its size and validators are then the symbol's); false when it is a refresh whose
 * body did not change (a 304, the SHA-256 of the archived body, or the archived rows and no
 * new one; or a {from} body with a row not after the archived ones, a failure): idx then
 * ended, archived as it was, and the caller releases the body. A refresh
 * whose in-memory body holds the archived rows plus new ones is cut, in place, to the header
 * and the new rows (a row-level generation, rowsplit.h). Fetch thread.
 */
bool qp_run_fetched(struct qp_run *run, size_t idx, struct qp_body *body);
/**
 * The value of {from} for idx: the day after the last archived row (the later of its member's
 * first and last row dates), in fmt; 1970-01-01 when none is known (never archived, or a first
 * field that is not a YYYY-MM-DD date). Fetch thread.
 */
void qp_run_from(struct qp_run *run, size_t idx, const char *fmt, char *out, size_t size);
/** The validators to send for idx (a refresh): see qp_fetch_validators_fn. Fetch thread. */
void qp_run_validators(struct qp_run *run, size_t idx, char *etag, size_t etag_size,
                       char *last_modified, size_t lm_size);
/**
 * idx was converted; its entry (rec, xml_bytes, crc, facts) is in the spool; its CSV was read
 * with delimiter (for the end-of-run notes). Any thread.
 */
void qp_run_converted(struct qp_run *run, size_t idx, uint64_t rows, uint64_t xml_bytes,
                      uint32_t crc, char delimiter, const struct qp_spool_rec *rec,
                      const struct qp_entry_facts *facts);
/**
 * idx failed: message (copied) is printed once, unless quiet, and recorded. Any thread.
 */
void qp_run_failed(struct qp_run *run, size_t idx, const char *message, enum qp_failure failure,
                   bool quiet);
/** A run-level failure (rc < 0), or a stop (rc 0): the first is kept, everything stops. */
void qp_run_fail(struct qp_run *run, int rc);
/** Whether the run is stopping. Any thread. */
bool qp_run_stopping(struct qp_run *run);
/** The fetch and convert stages are finished: the packer may pack the rest and end. */
void qp_run_upstream_done(struct qp_run *run);

/* For the packer (stage_pack.c), with mu held. */
/** Queues idx's row for the catalog. */
void qp_run_mark_dirty_locked(struct qp_run *run, size_t idx);
/** Fills row from the symbol's fields. */
void qp_run_row_locked(const struct qp_run *run, size_t idx, struct qp_catalog_row *row);
/** Whether no symbol will become ready any more (all admitted ones ended, or upstream done). */
bool qp_run_nothing_more_locked(const struct qp_run *run);

#endif
