// SPDX-License-Identifier: MIT
/* The frame hub: holds the newest published JPEG, wakes the network loops, counts frames. */
#include "mjpegd/hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/thread.h"
#include "mjpegd/part.h"

#define RATE_RING   256
#define RATE_WINDOW (2 * CORE_NS_PER_SEC)

struct mjd_hub {
    pthread_mutex_t mu;
    pthread_cond_t first;         /* signalled on the first publish */
    struct core_buf *latest;      /* guarded by mu: the hub's reference */
    struct mjd_part *latest_part; /* guarded by mu: the hub's reference, NULL if none made */
    unsigned part_flags;          /* immutable once publishing starts: MJD_PART_* */
    /* Set (under mu) when a reader asks for the newest frame's part, cleared by each publish;
       read by the publisher before it takes mu, so atomic: whether to make the next part. */
    atomic_bool part_asked;
    int64_t latest_wall_ns;       /* guarded by mu */
    uint64_t latest_seq;          /* guarded by mu */
    int64_t pub_times[RATE_RING]; /* guarded by mu: monotonic publish times */
    size_t pub_count;             /* guarded by mu: entries ever written to pub_times */
    /* The last `history` published frames, slot number % history (guarded by mu; one
       reference each): for readers woken late (mjd_hub_since). */
    struct mjd_frame hist[MJD_HUB_MAX_HISTORY];
    size_t history;                 /* immutable once publishing starts */
    int wakers[MJD_HUB_MAX_WAKERS]; /* immutable once publishing starts */
    size_t nwakers;                 /* immutable once publishing starts */
    /* Counters (atomic, sequentially consistent: a fate is counted after its capture, and a
       snapshot reads the fates before the captures, so in_flight is never negative). */
    atomic_uint_fast64_t captured;
    atomic_uint_fast64_t published;
    atomic_uint_fast64_t dropped_by[MJD_DROP_REASONS];
    atomic_uint_fast64_t skipped;
};

int mjd_hub_create(struct mjd_hub **out)
{
    *out = NULL;
    struct mjd_hub *hub = calloc(1, sizeof(*hub));
    if (hub == NULL) {
        return -ENOMEM;
    }
    int rc = core_cond_init_monotonic(&hub->first);
    if (rc != 0) {
        free(hub);
        return rc;
    }
    pthread_mutex_init(&hub->mu, NULL);
    atomic_init(&hub->captured, 0);
    atomic_init(&hub->published, 0);
    for (size_t i = 0; i < MJD_DROP_REASONS; i++) {
        atomic_init(&hub->dropped_by[i], 0);
    }
    atomic_init(&hub->skipped, 0);
    atomic_init(&hub->part_asked, false);
    *out = hub;
    return 0;
}

void mjd_hub_destroy(struct mjd_hub *hub)
{
    if (hub == NULL) {
        return;
    }
    core_buf_unref(hub->latest);
    mjd_part_unref(hub->latest_part);
    for (size_t i = 0; i < hub->history; i++) {
        core_buf_unref(hub->hist[i].jpeg);
    }
    pthread_cond_destroy(&hub->first);
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}

int mjd_hub_add_waker(struct mjd_hub *hub, int efd)
{
    if (hub->nwakers == MJD_HUB_MAX_WAKERS) {
        return -ENOSPC;
    }
    hub->wakers[hub->nwakers++] = efd;
    return 0;
}

void mjd_hub_keep_history(struct mjd_hub *hub, size_t n)
{
    hub->history = n < MJD_HUB_MAX_HISTORY ? n : MJD_HUB_MAX_HISTORY;
}

void mjd_hub_set_part_flags(struct mjd_hub *hub, unsigned flags)
{
    hub->part_flags = flags;
}

bool mjd_hub_publish(struct mjd_hub *hub, struct core_buf *jpeg, uint64_t seq, int64_t wall_ns)
{
    struct core_buf *old = NULL;
    struct mjd_part *old_part = NULL;
    // The part (and its sealed memfd) is made here, by the publishing thread, outside the lock,
    // if a reader asked for the previous frame's (someone streams this source): once published
    // it is never written again. Otherwise it is made on the first ask (mjd_hub_part), so a
    // source nobody streams pays for no memfd. Without memory it stays NULL.
    struct mjd_part *part = NULL;
    if (jpeg->len > 0 && atomic_load_explicit(&hub->part_asked, memory_order_relaxed) &&
        mjd_part_create(&part, jpeg, wall_ns, hub->part_flags) != 0) {
        part = NULL;
    }
    // The history's reference, taken before the lock (an atomic increment).
    struct core_buf *hist_ref = hub->history > 0 ? core_buf_ref(jpeg) : NULL;
    struct core_buf *hist_old = NULL;
    pthread_mutex_lock(&hub->mu);
    if (seq <= hub->latest_seq) {
        pthread_mutex_unlock(&hub->mu);
        mjd_part_unref(part);
        core_buf_unref(hist_ref);
        core_buf_unref(jpeg);
        atomic_fetch_add(&hub->dropped_by[MJD_DROP_STALE], 1);
        return false;
    }
    old = hub->latest;
    old_part = hub->latest_part;
    bool first = old == NULL;
    hub->latest = jpeg;
    hub->latest_part = part;
    atomic_store_explicit(&hub->part_asked, false, memory_order_relaxed);
    hub->latest_wall_ns = wall_ns;
    hub->latest_seq = seq;
    hub->pub_times[hub->pub_count % RATE_RING] = core_now_ns();
    hub->pub_count++;
    if (hub->history > 0) {
        struct mjd_frame *slot = &hub->hist[hub->pub_count % hub->history];
        hist_old = slot->jpeg;
        *slot = (struct mjd_frame){
            .jpeg = hist_ref, .seq = seq, .wall_ns = wall_ns, .number = hub->pub_count
        };
    }
    if (first) {
        pthread_cond_broadcast(&hub->first);
    }
    pthread_mutex_unlock(&hub->mu);
    atomic_fetch_add(&hub->published, 1);
    // The old frame may be the last reference: free it outside the lock.
    core_buf_unref(old);
    core_buf_unref(hist_old);
    mjd_part_unref(old_part);
    uint64_t one = 1;
    for (size_t i = 0; i < hub->nwakers; i++) {
        // Non-blocking eventfd: a full counter (impossible in practice) only loses a wake-up
        // that is already pending.
        ssize_t w = write(hub->wakers[i], &one, sizeof(one));
        (void)w;
    }
    return true;
}

/* Fills *out with a new reference to the newest frame. Holding mu. */
static bool latest_locked(struct mjd_hub *hub, struct mjd_frame *out)
{
    bool have = hub->latest != NULL;
    if (have) {
        out->jpeg = core_buf_ref(hub->latest);
        out->seq = hub->latest_seq;
        out->wall_ns = hub->latest_wall_ns;
        out->number = hub->pub_count;
    } else {
        out->jpeg = NULL;
        out->seq = 0;
        out->wall_ns = 0;
        out->number = 0;
    }
    return have;
}

bool mjd_hub_latest(struct mjd_hub *hub, struct mjd_frame *out)
{
    pthread_mutex_lock(&hub->mu);
    bool have = latest_locked(hub, out);
    pthread_mutex_unlock(&hub->mu);
    return have;
}

size_t mjd_hub_since(struct mjd_hub *hub, uint64_t after, struct mjd_frame *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&hub->mu);
    uint64_t newest = hub->pub_count;
    if (hub->history == 0) {
        if (max > 0 && newest > after && latest_locked(hub, &out[0])) {
            n = 1;
        }
    } else if (newest > after) {
        uint64_t count = newest - after;
        uint64_t keep = CORE_MIN((uint64_t)hub->history, (uint64_t)max);
        uint64_t first = newest - CORE_MIN(count, keep) + 1;
        for (uint64_t k = first; k <= newest; k++) {
            const struct mjd_frame *slot = &hub->hist[k % hub->history];
            out[n] = *slot;
            out[n].jpeg = core_buf_ref(slot->jpeg);
            n++;
        }
    }
    pthread_mutex_unlock(&hub->mu);
    return n;
}

struct mjd_part *mjd_hub_part(struct mjd_hub *hub, const struct mjd_frame *f)
{
    struct mjd_part *part = NULL;
    pthread_mutex_lock(&hub->mu);
    bool newest = hub->latest != NULL && hub->latest_seq == f->seq;
    if (newest) {
        atomic_store_explicit(&hub->part_asked, true, memory_order_relaxed);
        part = hub->latest_part != NULL ? mjd_part_ref(hub->latest_part) : NULL;
    }
    pthread_mutex_unlock(&hub->mu);
    if (part != NULL) {
        return part;
    }
    // Made outside the lock; kept as the hub's if f is still the newest frame and no other
    // reader has made its part meanwhile (then that one is used, ours dropped).
    if (f->jpeg == NULL || f->jpeg->len == 0 ||
        mjd_part_create(&part, f->jpeg, f->wall_ns, hub->part_flags) != 0) {
        return NULL;
    }
    struct mjd_part *extra = NULL;
    pthread_mutex_lock(&hub->mu);
    if (hub->latest != NULL && hub->latest_seq == f->seq) {
        if (hub->latest_part == NULL) {
            hub->latest_part = mjd_part_ref(part);
        } else {
            extra = part;
            part = mjd_part_ref(hub->latest_part);
        }
    }
    pthread_mutex_unlock(&hub->mu);
    mjd_part_unref(extra);
    return part;
}

bool mjd_hub_latest_part(struct mjd_hub *hub, struct mjd_frame *out, struct mjd_part **part)
{
    bool have = mjd_hub_latest(hub, out);
    *part = have ? mjd_hub_part(hub, out) : NULL;
    return have;
}

int mjd_hub_wait_first(struct mjd_hub *hub, int64_t deadline_ns)
{
    int rc = 0;
    pthread_mutex_lock(&hub->mu);
    while (hub->latest == NULL && rc == 0) {
        rc = core_cond_wait_until(&hub->first, &hub->mu, deadline_ns);
    }
    if (hub->latest != NULL) {
        rc = 0;
    }
    pthread_mutex_unlock(&hub->mu);
    return rc;
}

void mjd_hub_count_captured(struct mjd_hub *hub)
{
    atomic_fetch_add(&hub->captured, 1);
}

void mjd_hub_count_dropped(struct mjd_hub *hub, enum mjd_drop_reason why)
{
    if ((unsigned)why >= MJD_DROP_REASONS) {
        why = MJD_DROP_ERROR;
    }
    atomic_fetch_add(&hub->dropped_by[why], 1);
}

void mjd_hub_count_skipped(struct mjd_hub *hub)
{
    atomic_fetch_add_explicit(&hub->skipped, 1, memory_order_relaxed);
}

const char *mjd_hub_drop_reason_name(enum mjd_drop_reason why)
{
    static const char *const names[MJD_DROP_REASONS] = { "busy", "stale", "error", "same",
                                                         "invalid" };
    return (unsigned)why < MJD_DROP_REASONS ? names[why] : "error";
}

void mjd_hub_get_stats(struct mjd_hub *hub, struct mjd_hub_stats *out)
{
    // Fates first, then captures: every fate read has its capture counted before it.
    out->published = atomic_load(&hub->published);
    out->dropped = 0;
    for (size_t i = 0; i < MJD_DROP_REASONS; i++) {
        out->dropped_by[i] = atomic_load(&hub->dropped_by[i]);
        out->dropped += out->dropped_by[i];
    }
    out->captured = atomic_load(&hub->captured);
    out->in_flight = out->captured - out->published - out->dropped;
    out->skipped = atomic_load_explicit(&hub->skipped, memory_order_relaxed);
    int64_t now = core_now_ns();
    pthread_mutex_lock(&hub->mu);
    out->last_publish_ns =
            hub->pub_count > 0 ? hub->pub_times[(hub->pub_count - 1) % RATE_RING] : 0;
    size_t n = hub->pub_count < RATE_RING ? hub->pub_count : RATE_RING;
    size_t k = 0;
    int64_t oldest = 0;
    int64_t newest = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t t = hub->pub_times[(hub->pub_count - 1 - i) % RATE_RING];
        if (now - t > RATE_WINDOW) {
            break;
        }
        if (k == 0) {
            newest = t;
        }
        oldest = t;
        k++;
    }
    pthread_mutex_unlock(&hub->mu);
    out->fps = 0.0;
    if (k >= 2 && newest > oldest) {
        out->fps = (double)(k - 1) * (double)CORE_NS_PER_SEC / (double)(newest - oldest);
    }
}
