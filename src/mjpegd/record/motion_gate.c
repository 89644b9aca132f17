// SPDX-License-Identifier: MIT
/* --record-on motion: which frames a recorder writes (motion, pre-roll, post-roll). */
#include "mjpegd/record/motion_gate.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "mjpegd/motion.h"

struct mjd_motion_gate {
    /* immutable after create */
    int64_t pre_roll_ns;
    int64_t post_roll_ns;
    size_t cap; /* ring slots */

    /* owner thread only */
    struct mjd_motion *motion;
    struct mjd_gate_frame *ring; /* the pre-roll, oldest at head; each slot holds a reference */
    size_t head, count;
    bool in_event;          /* writing: from START to END */
    int64_t last_active_ns; /* mono time of the last frame with the detector active */

    /* written by the owner, read by any thread */
    _Atomic double score;
    atomic_bool active;
};

int mjd_motion_gate_create(struct mjd_motion_gate **out, double threshold, int64_t pre_roll_ns,
                           int64_t post_roll_ns, size_t max_frames)
{
    *out = NULL;
    if (pre_roll_ns < 0 || post_roll_ns < 0 || max_frames < 1 ||
        max_frames > MJD_GATE_MAX_PREROLL_FRAMES) {
        return -EINVAL;
    }
    struct mjd_motion_gate *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        return -ENOMEM;
    }
    g->pre_roll_ns = pre_roll_ns;
    g->post_roll_ns = post_roll_ns;
    g->cap = max_frames;
    atomic_init(&g->score, 0.0);
    atomic_init(&g->active, false);
    int rc = mjd_motion_create(&g->motion, threshold);
    if (rc == 0) {
        g->ring = calloc(max_frames, sizeof(*g->ring));
        rc = g->ring != NULL ? 0 : -ENOMEM;
    }
    if (rc != 0) {
        mjd_motion_gate_destroy(g);
        return rc;
    }
    *out = g;
    return 0;
}

bool mjd_motion_gate_pop_preroll(struct mjd_motion_gate *g, struct mjd_gate_frame *out)
{
    if (g->count == 0) {
        return false;
    }
    *out = g->ring[g->head];
    g->ring[g->head].jpeg = NULL;
    g->head = (g->head + 1) % g->cap;
    g->count--;
    return true;
}

void mjd_motion_gate_destroy(struct mjd_motion_gate *g)
{
    if (g == NULL) {
        return;
    }
    struct mjd_gate_frame f;
    while (g->ring != NULL && mjd_motion_gate_pop_preroll(g, &f)) {
        core_buf_unref(f.jpeg);
    }
    free(g->ring);
    mjd_motion_destroy(g->motion);
    free(g);
}

/* Drops the pre-roll frames taken more than pre_roll_ns before now_ns. */
static void trim(struct mjd_motion_gate *g, int64_t now_ns)
{
    while (g->count > 0 && now_ns - g->ring[g->head].mono_ns > g->pre_roll_ns) {
        struct mjd_gate_frame old = { 0 };
        (void)mjd_motion_gate_pop_preroll(g, &old);
        core_buf_unref(old.jpeg);
    }
}

/* Keeps a reference to f in the pre-roll (the oldest goes when it is full). */
static void keep(struct mjd_motion_gate *g, const struct mjd_gate_frame *f)
{
    trim(g, f->mono_ns);
    if (g->pre_roll_ns == 0) {
        return;
    }
    assert(g->cap > 0); // create refuses max_frames 0
    if (g->count == g->cap) {
        struct mjd_gate_frame old = { 0 };
        (void)mjd_motion_gate_pop_preroll(g, &old);
        core_buf_unref(old.jpeg);
    }
    struct mjd_gate_frame *slot = &g->ring[(g->head + g->count) % g->cap];
    *slot = *f;
    slot->jpeg = core_buf_ref(f->jpeg);
    g->count++;
}

enum mjd_motion_gate_action mjd_motion_gate_feed(struct mjd_motion_gate *g,
                                                 const struct mjd_gate_frame *f)
{
    double s = mjd_motion_feed(g->motion, f->jpeg->data, f->jpeg->len, f->mono_ns);
    if (s >= 0.0) {
        atomic_store(&g->score, s);
    }
    bool active = mjd_motion_active(g->motion);
    atomic_store(&g->active, active);
    if (active) {
        g->last_active_ns = f->mono_ns;
    }
    if (!g->in_event) {
        if (active) {
            g->in_event = true;
            trim(g, f->mono_ns);
            return MJD_GATE_START;
        }
        keep(g, f);
        return MJD_GATE_HOLD;
    }
    if (active || f->mono_ns - g->last_active_ns <= g->post_roll_ns) {
        return MJD_GATE_WRITE;
    }
    g->in_event = false;
    keep(g, f);
    return MJD_GATE_END;
}

void mjd_motion_gate_get(struct mjd_motion_gate *g, double *score, bool *active)
{
    *score = atomic_load(&g->score);
    *active = atomic_load(&g->active);
}
