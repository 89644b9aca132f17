// SPDX-License-Identifier: MIT
/* What a source implementation provides; private to src/mjpegd/sources/. */
#ifndef MJD_SOURCE_IMPL_H
#define MJD_SOURCE_IMPL_H

#include "mjpegd/sources/source.h"

/* Each implementation embeds struct mjd_source as its first member. */
struct mjd_source_ops {
    const char *kind; /* the part of --source before ':' */
    /* arg is the part after ':' ("" when none); borrowed. */
    int (*create)(struct mjd_source **out, const char *arg, const struct mjd_source_params *p);
    void (*destroy)(struct mjd_source *src);
    int (*read)(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns);
    uint64_t (*rejected)(const struct mjd_source *src); /* optional: mjd_source_rejected */
};

struct mjd_source {
    const struct mjd_source_ops *ops;
    struct mjd_source_info info;
};

extern const struct mjd_source_ops mjd_source_test_ops;
extern const struct mjd_source_ops mjd_source_file_ops;
extern const struct mjd_source_ops mjd_source_pipe_ops;
extern const struct mjd_source_ops mjd_source_http_ops;
extern const struct mjd_source_ops mjd_source_v4l2_ops;

#endif
