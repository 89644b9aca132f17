// SPDX-License-Identifier: MIT
/* One --source as the program runs it: its hub, its capture thread and who watches it. */
#include "mjpegd/feed.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

int mjd_feed_open(struct mjd_feed *f, const struct mjd_source_config *conf, bool may_start_down)
{
    memset(f, 0, sizeof(*f));
    f->conf = conf;
    f->params = (struct mjd_source_params){ .width = conf->width,
                                            .height = conf->height,
                                            .fps = conf->fps,
                                            .format = conf->format,
                                            .flip = conf->flip,
                                            .controls = conf->controls };
    int rc = mjd_demand_init(&f->demand, conf->on_demand_ns);
    if (rc != 0) {
        return rc;
    }
    f->demand_ready = true;
    rc = mjd_hub_create(&f->hub);
    if (rc != 0) {
        LOG_ERROR("cannot create the frame hub: %s", strerror(-rc));
        return rc;
    }
    rc = mjd_source_create(&f->source, conf->spec, &f->params);
    if (rc != 0 && may_start_down && rc != -EINVAL) {
        // One camera unplugged must not keep the others from serving, nor (--wait-for-source)
        // the server from listening: this source starts down (no-signal frames at --size) and
        // is retried like one that failed later.
        LOG_WARN("cannot open source '%s': %s; serving no signal and retrying it", conf->shown,
                 strerror(-rc));
        f->start_error = rc;
        size_t n = strcspn(conf->spec, ":");
        snprintf(f->kind, sizeof(f->kind), "%.*s", (int)n, conf->spec);
        f->info = (struct mjd_source_info){ .kind = f->kind,
                                            .width = conf->width,
                                            .height = conf->height,
                                            .format = MJD_PIX_JPEG,
                                            .self_paced = true };
        return 0;
    }
    if (rc != 0) {
        LOG_ERROR("cannot open source '%s': %s", conf->shown, strerror(-rc));
        return rc;
    }
    f->info = *mjd_source_get_info(f->source);
    return 0;
}

int mjd_feed_start(struct mjd_feed *f, size_t encoders, bool exit_on_end)
{
    struct mjd_capture_config cc = {
        .source = f->source,
        .start_error = f->start_error,
        .hub = f->hub,
        .fps = f->conf->fps,
        .quality = (int)f->conf->quality,
        .drop_same = f->conf->drop_same,
        .stall_ns = f->conf->source_timeout_ns,
        .encoder_threads = encoders,
        .demand = &f->demand,
        .spec = f->conf->spec,
        .params = f->params,
        .exit_on_end = exit_on_end,
    };
    int rc = mjd_capture_start(&f->capture, &cc);
    f->source = cc.source; // NULL once the capture owns it
    if (rc != 0) {
        LOG_ERROR("cannot start capture of '%s': %s", f->conf->shown, strerror(-rc));
    }
    return rc;
}

void mjd_feed_stop(struct mjd_feed *f)
{
    mjd_capture_stop(f->capture);
    f->capture = NULL;
}

void mjd_feed_close(struct mjd_feed *f)
{
    mjd_feed_stop(f);
    mjd_source_destroy(f->source);
    f->source = NULL;
    mjd_hub_destroy(f->hub);
    f->hub = NULL;
    if (f->demand_ready) {
        mjd_demand_release(&f->demand);
        f->demand_ready = false;
    }
}
