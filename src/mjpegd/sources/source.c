// SPDX-License-Identifier: MIT
/* Picks a source implementation by the kind named in --source. */
#include "mjpegd/sources/source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mjpegd/sources/source_impl.h"
#include "mjpegd/sources/v4l2_ops.h"

static const struct mjd_source_ops *const kinds[] = {
    &mjd_source_test_ops, &mjd_source_file_ops, &mjd_source_pipe_ops,
    &mjd_source_http_ops, &mjd_source_v4l2_ops,
};

static const struct mjd_source_ops *find(const char *spec, const char **arg)
{
    const char *colon = strchr(spec, ':');
    size_t klen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
    *arg = colon != NULL ? colon + 1 : "";
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strlen(kinds[i]->kind) == klen && memcmp(kinds[i]->kind, spec, klen) == 0) {
            return kinds[i];
        }
    }
    return NULL;
}

size_t mjd_source_spec_password(const char *spec, size_t *off)
{
    *off = 0;
    const char *auth = strstr(spec, "://");
    if (auth == NULL) {
        return 0;
    }
    auth += 3;
    size_t hostpart = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', hostpart); // the last '@': a password may hold one
    const char *colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon == NULL) {
        return 0;
    }
    *off = (size_t)(colon + 1 - spec);
    return (size_t)(at - colon - 1);
}

void mjd_source_spec_shown(const char *spec, char *out, size_t cap)
{
    size_t off;
    size_t n = mjd_source_spec_password(spec, &off);
    if (n == 0) {
        snprintf(out, cap, "%s", spec);
    } else {
        snprintf(out, cap, "%.*s***%s", (int)off, spec, spec + off + n);
    }
}

bool mjd_source_known(const char *spec)
{
    const char *arg;
    return find(spec, &arg) != NULL;
}

int mjd_source_create(struct mjd_source **out, const char *spec,
                      const struct mjd_source_params *params)
{
    *out = NULL;
    const char *arg;
    const struct mjd_source_ops *ops = find(spec, &arg);
    if (ops == NULL) {
        return -ENOENT;
    }
    int rc = ops->create(out, arg, params);
    if (rc != 0) {
        *out = NULL;
        return rc;
    }
    (*out)->ops = ops;
    return 0;
}

void mjd_source_destroy(struct mjd_source *src)
{
    if (src != NULL) {
        src->ops->destroy(src);
    }
}

const struct mjd_source_info *mjd_source_get_info(const struct mjd_source *src)
{
    return &src->info;
}

int mjd_source_read(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns)
{
    return src->ops->read(src, frame, deadline_ns);
}

uint64_t mjd_source_rejected(const struct mjd_source *src)
{
    if (src->ops->rejected != NULL) {
        return src->ops->rejected(src);
    }
    if (src->ops == &mjd_source_v4l2_ops) {
        // v4l2.c counts its drops in its stats (read here so that v4l2.c needs no hook).
        struct mjd_v4l2_stats st;
        mjd_v4l2_get_stats(src, &st);
        return st.incomplete + st.short_frames;
    }
    return 0;
}
