// SPDX-License-Identifier: MIT
/* The stream writer: the multipart/x-mixed-replace head, and one part per new frame. */
#ifndef MJD_STREAM_H
#define MJD_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/hub.h"
#include "mjpegd/part.h"
#include "mjpegd/part_send.h"
#include "mjpegd/route.h"

struct mjd_conn;

/* The multipart boundary (without the leading "--"). */
#define MJD_STREAM_BOUNDARY "boundarydonotcross"

/*
 * A loop's view of one source: the newest frame it has seen and that frame's part (head + JPEG
 * + boundary, made once by the publisher and shared by every client). Loop thread only.
 */
struct mjd_stream_frame {
    struct mjd_frame frame; /* holds one reference to frame.jpeg (NULL before the first) */
    struct mjd_part *part;  /* one reference, or NULL: before the first frame, or while the
                               loop streamed nothing of this source when the frame came */
};

/*
 * A streaming connection's own state. Loop thread only. While a part is being sent the
 * connection holds a reference to it (so its memfd pages stay as they are until the last
 * socket is done with them) and the offset reached: a partial send resumes there, on any path.
 */
struct mjd_stream_state {
    unsigned source;     /* index of the source it watches */
    uint64_t seq;        /* last frame started */
    int64_t interval_ns; /* ?fps=N cap, 0 when none */
    int64_t next_due_ns;
    struct mjd_part *part;   /* the part being sent (one reference), or NULL */
    size_t part_off;         /* bytes of part already sent */
    enum mjd_send_path path; /* the best path this socket accepts (lowered on refusal) */
};

/**
 * Takes the newest frame of hub into sf if it is newer than the one sf holds, with its part if
 * want_part (the loop streams this source; else sf->part is NULL until mjd_stream_next_part
 * asks the hub for it). Returns true if sf changed. Loop thread.
 */
bool mjd_stream_frame_update(struct mjd_stream_frame *sf, struct mjd_hub *hub, bool want_part);

/** Drops c's part reference, if any. Loop thread. */
void mjd_stream_drop_part(struct mjd_conn *c);

/** Drops sf's frame reference. */
void mjd_stream_frame_release(struct mjd_stream_frame *sf);

/**
 * Answers a stream request on c, whose output was just reset: the response head of the
 * stream (true: c is now streaming and holds a slot in the limits), or, for HEAD, the same
 * head alone, or a 503 when a limit is reached (false: a plain response). Loop thread.
 */
bool mjd_stream_begin(struct mjd_conn *c, const struct mjd_route *route);

/**
 * Starts c's next part if its source has a frame newer than the last one c sent and c's rate
 * cap allows it now: true and c's output holds the part, false when there is nothing to send.
 * Call only when c's previous output is all sent. Loop thread.
 */
bool mjd_stream_next_part(struct mjd_conn *c);

#endif
