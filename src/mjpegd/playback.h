// SPDX-License-Identifier: MIT
/* Playback of recordings: /recordings and /recordings/SEGMENT, read off the network loops. */
#ifndef MJD_PLAYBACK_H
#define MJD_PLAYBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "mjpegd/config.h"
#include "mjpegd/route.h"

struct mjd_conn;

/*
 * The network loops never touch the disk. Each playback or listing is a job (struct mjd_play,
 * one per connection) served by a small pool of reader threads ("play/N"): a job's first task
 * looks its segment up in the catalogs, opens the file and loads its index (or renders the
 * /recordings JSON); later tasks read frames ahead with pread, each into its own refcounted
 * part (part.h: head with X-Timestamp + JPEG + boundary, the live stream's bytes), at most
 * MJD_PLAY_AHEAD_FRAMES and MJD_PLAY_AHEAD_BYTES per job, and wake the connection's loop
 * through the loop's playback eventfd. The loop takes the parts in order and sends each when
 * it is due (the recorded gaps between capture times, by the loop's own timer: its epoll
 * timeout), with the loop's part sender, as a stream's. A task ends when the job's read-ahead
 * is full and the loop submits the next one once it has taken a part, so a job has at most
 * one task queued or running, no reader waits for a client, and a stalled client holds at
 * most its read-ahead until --send-timeout closes it.
 *
 * At most --max-playbacks jobs (streams and listings) run at once, server-wide; past it 503.
 */
struct mjd_playback;
struct mjd_play;

#define MJD_PLAY_READERS      2
#define MJD_PLAY_AHEAD_FRAMES 8
#define MJD_PLAY_AHEAD_BYTES  ((size_t)4 * 1024 * 1024)

/**
 * Starts the reader pool for cfg (borrowed, outlives it): the catalogs of every source's
 * --record DIR and of every --recordings DIR (each folder once).
 * *out is NULL on failure. Owner (main) thread.
 */
int mjd_playback_create(struct mjd_playback **out, const struct mjd_config *cfg) CORE_MUST_CHECK;

/**
 * Cancels what is queued, waits for the running reads and joins the readers. After the loops
 * are joined (no job is started any more), before their eventfds close. Idempotent. Owner.
 */
void mjd_playback_stop(struct mjd_playback *pb);

/** Stops and frees. Accepts NULL. Owner thread. */
void mjd_playback_destroy(struct mjd_playback *pb);

/** Jobs holding a slot now (streams being played, listings being read). Any thread. */
unsigned mjd_playback_active(const struct mjd_playback *pb);

/** The cap on jobs at once (--max-playbacks). Any thread. */
unsigned mjd_playback_max(const struct mjd_playback *pb);

/** Requests refused with 503 because --max-playbacks jobs ran, since start. Any thread. */
uint64_t mjd_playback_refused(const struct mjd_playback *pb);

/**
 * Answers a /recordings or /recordings/SEGMENT route on c (output just reset): true when a job
 * was started (c->play set: c is to be run as MJD_CONN_PLAY, nothing to send yet; a segment's
 * playback sets close_after and frees c's request buffer, a listing keeps both); false with a
 * 503 in c's output when --max-playbacks jobs run already (a 404 on a loop without a
 * playback, shared->playback NULL, as the fuzz target's). Loop thread.
 */
bool mjd_play_begin(struct mjd_conn *c, const struct mjd_route *route);

enum mjd_play_next {
    MJD_PLAY_WAIT, /* nothing to send now: the reader or the pacing timer wakes the loop */
    MJD_PLAY_SEND, /* c's output and/or c->stream.part hold the next bytes */
    MJD_PLAY_DONE, /* the response is complete: a playback closes (linger); a listing is
                      done as any response (keep-alive unless close_after) */
};

/** What c sends next, once all its previous output is sent. Loop thread. */
enum mjd_play_next mjd_play_next(struct mjd_conn *c);

/** Ends c's job (c closes): cancels its reads, drops its parts and its slot. Loop thread. */
void mjd_play_end(struct mjd_conn *c);

#endif
