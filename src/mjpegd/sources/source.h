// SPDX-License-Identifier: MIT
/* The frame-source interface: every --source kind (test now; camera, file, pipe, relay later). */
#ifndef MJD_SOURCE_H
#define MJD_SOURCE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* What a source hands the capture thread. Raw formats go to the encoder pool; JPEG is
 * published as is (camera MJPEG passthrough, files, pipes, relays). */
enum mjd_pixfmt {
    MJD_PIX_YUV420P, /* planar Y, then U and V at half width and height (rounded up) */
    MJD_PIX_JPEG,    /* a complete JPEG image */
};

/* --format: the pixel format asked of a camera (v4l2); other sources ignore it. */
enum mjd_capture_format {
    MJD_CAPTURE_AUTO = 0, /* MJPEG if the camera has it, else YUYV, NV12, RGB24 */
    MJD_CAPTURE_MJPEG,
    MJD_CAPTURE_YUYV,
    MJD_CAPTURE_NV12,
    MJD_CAPTURE_RGB24,
};

/* --flip bits: h, v, both (a 180-degree turn). A v4l2 camera is asked first (V4L2_CID_HFLIP /
 * V4L2_CID_VFLIP); whatever no source did itself is done in software (mjpegd/flip.h). */
#define MJD_FLIP_H 1u
#define MJD_FLIP_V 2u

/** What the user asked for; a source may only approximate it (a camera's nearest mode). */
struct mjd_source_params {
    unsigned width;
    unsigned height;
    unsigned fps;
    unsigned format;      /* enum mjd_capture_format; 0 (auto) when not set */
    unsigned flip;        /* MJD_FLIP_* bits; 0: no flip */
    const char *controls; /* --control: "name=value" items joined by ','; NULL or "" for none.
                             Borrowed: points into the immutable config */
};

/** What the source actually delivers; fixed between create and destroy. */
struct mjd_source_info {
    const char *kind; /* "test", ... (static string) */
    unsigned width;
    unsigned height;
    enum mjd_pixfmt format;
    bool self_paced;        /* read() waits for the next frame itself (a camera); otherwise the
                               capture thread paces the calls at the asked rate */
    size_t max_frame_bytes; /* the capacity a frame buffer needs */
    unsigned flip_done;     /* MJD_FLIP_* bits of params->flip the source applies itself (a
                               v4l2 camera's HFLIP/VFLIP controls took them); the capture
                               thread has the rest done in software. 0 for other sources */
};

/** One frame buffer, owned by the capture thread and lent to an encoder. */
struct mjd_raw_frame {
    unsigned char *data; /* capacity cap */
    size_t cap;
    size_t len;             /* bytes used, set by read() */
    unsigned width;         /* set by read() */
    unsigned height;        /* set by read() */
    enum mjd_pixfmt format; /* set by read() */
    uint64_t seq;           /* set by the capture thread before read(), starting at 1 */
    int64_t wall_ns;        /* capture time: set by the capture thread, a source may refine it */
    unsigned flip;          /* MJD_FLIP_* bits the encoder applies in software: set by the
                               capture thread after read() */
    void *encoder_;         /* private: the encoder holding the frame */
};

struct mjd_source;

/* What read() returns when the input ended for good (a pipe's writer closed it): the stream is
 * over, not failed, so it is not retried. */
#define MJD_SOURCE_EOF (-ENODATA)
/* The largest JPEG a file, pipe or relay source accepts; bigger frames are dropped (counted). */
#define MJD_SOURCE_MAX_JPEG ((size_t)8 << 20)

/**
 * Opens the source named by spec ("test", "file:PATH", "pipe:-", "pipe:PATH", "http://...",
 * "v4l2:/dev/videoN"),
 * borrowed. Returns 0, -ENOENT for an unknown kind, -EINVAL for bad parameters, or the source's
 * error. *out is NULL on failure. The source belongs to the thread that reads it.
 */
int mjd_source_create(struct mjd_source **out, const char *spec,
                      const struct mjd_source_params *params) CORE_MUST_CHECK;
/** Closes the source. Accepts NULL. */
void mjd_source_destroy(struct mjd_source *src);
/** What the source delivers. */
const struct mjd_source_info *mjd_source_get_info(const struct mjd_source *src);
/**
 * Writes to out (cap bytes, truncated) spec as the log and /state show it: the password of a
 * URL's USER:PASS@ ("http://admin:secret@cam/video") replaced by "***", everything else as it
 * is. Pure, any thread.
 */
void mjd_source_spec_shown(const char *spec, char *out, size_t cap);
/** Where the password of a URL's USER:PASS@ is in spec: *off and the returned length (0: none).
 * Pure, any thread. */
size_t mjd_source_spec_password(const char *spec, size_t *off);
/** True if spec names a known kind (for option checking). */
bool mjd_source_known(const char *spec);

/**
 * Fills frame->data with the next frame. A self-paced source may block until deadline_ns
 * (monotonic) at most. Returns 0, -EAGAIN when no frame came before the deadline,
 * MJD_SOURCE_EOF when the input ended (pipe), or another negative errno when the source failed.
 * Capture thread only.
 */
int mjd_source_read(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns);

/**
 * Frames the source received and refused itself since create, never handed to read()'s caller:
 * not one complete JPEG (a truncated relay part, a camera's cut frame), over the size cap, a
 * short camera buffer. The capture thread counts them as captured and dropped (`invalid`), so
 * they show in /state and /metrics. 0 for a source that refuses nothing. Capture thread only.
 */
uint64_t mjd_source_rejected(const struct mjd_source *src);

#endif
