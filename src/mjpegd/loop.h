// SPDX-License-Identifier: MIT
/* One network loop: an epoll thread with its listeners, its frame wake-up and its connections. */
#ifndef MJD_LOOP_H
#define MJD_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/compiler.h"
#include "mjpegd/config.h"
#include "mjpegd/limits.h"
#include "mjpegd/list.h"
#include "mjpegd/listen.h"
#include "mjpegd/part_send.h"
#include "mjpegd/pending.h"
#include "mjpegd/report.h"
#include "mjpegd/server.h"
#include "mjpegd/stream.h"

struct mjd_conn;
struct mjd_playback;

/** Fills a report with the server's numbers. Any thread. */
typedef void (*mjd_loop_report_fn)(void *ctx, struct mjd_report *out);

/* What every loop of a server shares: set up before the loops start, then read-only. */
struct mjd_loop_shared {
    const struct mjd_config *cfg;            /* immutable */
    const struct mjd_server_source *sources; /* immutable array; each hub is thread-safe */
    size_t nsources;                         /* immutable, >= 1 */
    struct mjd_limits *limits;               /* thread-safe */
    struct mjd_pending_set *pending;         /* thread-safe */
    struct mjd_playback *playback;           /* thread-safe: the recordings' reader pool */
    atomic_bool stop;                        /* atomic: set once to end every loop */
    mjd_loop_report_fn report;               /* thread-safe */
    void *report_ctx;
};

/*
 * A loop ("net/N") accepts on its own SO_REUSEPORT sockets (one per listening address), owns
 * every connection it accepts until it closes, and is woken by the hubs through its eventfd.
 * The struct is embedded by the server; init/start/join/release belong to the owner thread,
 * and every other field is loop thread only unless marked. The server's own files (conn,
 * respond, stream) read and update the fields their comments name.
 */
struct mjd_loop {
    const struct mjd_loop_shared *shared; /* immutable */
    unsigned index;                       /* immutable */
    pthread_t thread;                     /* owner thread only */
    bool started;                         /* owner thread only */
    int epfd;
    int efd; /* written by the hubs (any thread), read by the loop */
    int pfd; /* eventfd written by playback readers (any thread), read by the loop */
    int lfds[MJD_LISTEN_MAX_ADDRS];
    size_t nlfds;
    int spare_fd; /* released to shed a connection at EMFILE */
    /* Out of fds with nothing to shed: the listeners are out of the epoll set until then. */
    bool accept_paused;
    int64_t accept_resume_ns;
    uint64_t fd_failures;      /* EMFILE/ENFILE from accept since the last warning */
    int64_t fd_warned_ns;      /* when that warning was logged */
    int64_t now;               /* time of the current iteration (conn reads it) */
    int64_t last_sweep;        /* when the last sweep ran */
    time_t date_sec;           /* the wall-clock second date_hdr shows */
    char date_hdr[64];         /* "Date: <IMF-fixdate>\r\n", formatted once a second */
    struct mjd_link heads;     /* connections reading a head (conn moves them) */
    struct mjd_link active;    /* responding or lingering */
    struct mjd_link streams;   /* streaming */
    struct mjd_link snapwaits; /* snapshots parked for a fresh frame (respond.c) */
    struct mjd_link plays;     /* playbacks and /recordings listings (playback.c) */
    int64_t play_due_ns;       /* earliest time a playback's next frame is due, 0: none */
    struct mjd_link runq;      /* connections with work left for the next turn, oldest first */
    struct mjd_conn *dead;     /* closed, freed after the event batch */
    struct mjd_stream_frame *frames; /* [shared->nsources]: newest frame of each source */
    atomic_uint_fast64_t bytes_sent; /* atomic: bytes written to clients */
    /* atomic, written by this loop's thread only (conn.c), read by the report: the snapshots
       parked now (in snapwaits) and those answered 503 at --snapshot-timeout since start */
    atomic_uint_fast64_t snapwaits_now;
    atomic_uint_fast64_t snap_timeouts;
    struct mjd_part_sender *sender; /* loop thread (stats: any thread): sends stream parts */
};

/**
 * Sets up l (caller storage): its epoll set, eventfd and one listening socket per address of
 * addrs[0..naddrs). Registers nothing with the hubs (see l->efd). 0 or a negative errno;
 * mjd_loop_release cleans up either way. Owner thread.
 */
int mjd_loop_init(struct mjd_loop *l, const struct mjd_loop_shared *shared, unsigned index,
                  const struct mjd_listen_addr *addrs, size_t naddrs) CORE_MUST_CHECK;

/** Starts the loop's thread. 0 or a negative errno. Owner thread. */
int mjd_loop_start(struct mjd_loop *l) CORE_MUST_CHECK;

/** Wakes the loop (after shared->stop is set) and joins it if started. Owner thread. */
void mjd_loop_join(struct mjd_loop *l);

/** Closes every fd and frees what l holds. After join. Owner thread. */
void mjd_loop_release(struct mjd_loop *l);

/**
 * Asks for the loop's playbacks to run again at due_ns (monotonic) at the latest: the loop's
 * epoll timeout is cut to the earliest time asked. Loop thread.
 */
void mjd_loop_play_due(struct mjd_loop *l, int64_t due_ns);

/** Sets l->now and, once a second, l->date_hdr. Loop thread. */
void mjd_loop_tick(struct mjd_loop *l);

/**
 * Test hooks (tests/fuzz/mjpegd_conn.c drives a loop without its thread): one turn of the
 * loop's body, waiting at most timeout_ms for events, in the caller's thread, which then owns
 * the loop; and the loop's end, closing and freeing every connection. Never with a started loop.
 */
void mjd_loop_test_turn(struct mjd_loop *l, int timeout_ms);
void mjd_loop_test_close_all(struct mjd_loop *l);

/** Adds this loop's per-path send counters to *out. Any thread. */
void mjd_loop_send_stats(struct mjd_loop *l, struct mjd_part_send_stats *out);

/** Whether this loop's sender has its pipes (the splice path; it may give them up). Any thread. */
bool mjd_loop_can_splice(const struct mjd_loop *l);

/** Bytes sent to clients by this loop. Any thread. */
uint64_t mjd_loop_bytes_sent(struct mjd_loop *l);

/** Adds this loop's parked snapshots now and its snapshot timeouts since start. Any thread. */
void mjd_loop_snapshot_stats(struct mjd_loop *l, uint64_t *waiting, uint64_t *timeouts);

#endif
