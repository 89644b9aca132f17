// SPDX-License-Identifier: MIT
/* --control NAME=VALUE and --flip for the v4l2 source: controls found by name and set. */
#include "mjpegd/sources/v4l2_ctrl.h"

#include <ctype.h>
#include <errno.h>
#include <linux/videodev2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/log.h"

#define MAX_CTRLS 128
#define KEY_BYTES 40

/* One control the device has (what VIDIOC_QUERYCTRL said). */
struct ctrl {
    uint32_t id;
    uint32_t type;
    int32_t min, max;
    char key[KEY_BYTES]; /* mjd_v4l2_ctrl_key of its name */
};

/* Names users know from v4l2-ctl and mjpg-streamer that some drivers spell otherwise
 * ("Exposure Time, Absolute", "White Balance, Automatic"): matched by control id. */
static const struct {
    const char *key;
    uint32_t id;
} aliases[] = {
    { "brightness", V4L2_CID_BRIGHTNESS },
    { "contrast", V4L2_CID_CONTRAST },
    { "saturation", V4L2_CID_SATURATION },
    { "hue", V4L2_CID_HUE },
    { "gain", V4L2_CID_GAIN },
    { "gamma", V4L2_CID_GAMMA },
    { "sharpness", V4L2_CID_SHARPNESS },
    { "white_balance_temperature", V4L2_CID_WHITE_BALANCE_TEMPERATURE },
    { "white_balance_temperature_auto", V4L2_CID_AUTO_WHITE_BALANCE },
    { "white_balance_automatic", V4L2_CID_AUTO_WHITE_BALANCE },
    { "power_line_frequency", V4L2_CID_POWER_LINE_FREQUENCY },
    { "backlight_compensation", V4L2_CID_BACKLIGHT_COMPENSATION },
    { "exposure_absolute", V4L2_CID_EXPOSURE_ABSOLUTE },
    { "exposure_time_absolute", V4L2_CID_EXPOSURE_ABSOLUTE },
    { "exposure_auto", V4L2_CID_EXPOSURE_AUTO },
    { "auto_exposure", V4L2_CID_EXPOSURE_AUTO },
    { "focus_absolute", V4L2_CID_FOCUS_ABSOLUTE },
    { "focus_auto", V4L2_CID_FOCUS_AUTO },
    { "focus_automatic_continuous", V4L2_CID_FOCUS_AUTO },
    { "zoom_absolute", V4L2_CID_ZOOM_ABSOLUTE },
};

void mjd_v4l2_ctrl_key(const char *name, char *out, size_t cap)
{
    if (cap == 0) {
        return;
    }
    size_t o = 0;
    bool gap = false;
    for (const char *p = name; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (!isalnum(c)) {
            gap = o > 0;
            continue;
        }
        if (gap && o + 1 < cap) {
            out[o++] = '_';
        }
        gap = false;
        if (o + 1 < cap) {
            out[o++] = (char)tolower(c);
        }
    }
    out[o] = '\0';
}

static void add(struct ctrl *list, size_t *n, const struct v4l2_queryctrl *q)
{
    if ((q->flags & V4L2_CTRL_FLAG_DISABLED) || q->type == V4L2_CTRL_TYPE_CTRL_CLASS) {
        return;
    }
    char name[sizeof(q->name) + 1];
    memcpy(name, q->name, sizeof(q->name)); // not always NUL-terminated by drivers
    name[sizeof(q->name)] = '\0';
    struct ctrl *c = &list[(*n)++];
    c->id = q->id;
    c->type = q->type;
    c->min = q->minimum;
    c->max = q->maximum;
    mjd_v4l2_ctrl_key(name, c->key, sizeof(c->key));
}

/* The device's controls: the V4L2_CTRL_FLAG_NEXT_CTRL walk, or the classic user range for
 * drivers without it. */
static size_t enumerate(const struct mjd_v4l2_ops *ops, int fd, struct ctrl *list)
{
    size_t n = 0;
    struct v4l2_queryctrl q;
    memset(&q, 0, sizeof(q));
    q.id = V4L2_CTRL_FLAG_NEXT_CTRL;
    uint32_t last = 0;
    while (n < MAX_CTRLS && mjd_v4l2_xioctl(ops, fd, VIDIOC_QUERYCTRL, &q) == 0) {
        if (q.id <= last) {
            break; // a driver that does not move on: stop rather than loop
        }
        last = q.id;
        add(list, &n, &q);
        q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
    }
    if (n == 0) {
        for (uint32_t id = V4L2_CID_BASE; id < V4L2_CID_LASTP1 && n < MAX_CTRLS; id++) {
            memset(&q, 0, sizeof(q));
            q.id = id;
            if (mjd_v4l2_xioctl(ops, fd, VIDIOC_QUERYCTRL, &q) == 0) {
                add(list, &n, &q);
            }
        }
    }
    return n;
}

static const struct ctrl *find(const struct ctrl *list, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].key, key) == 0) {
            return &list[i];
        }
    }
    for (size_t a = 0; a < CORE_ARRAY_SIZE(aliases); a++) {
        if (strcmp(aliases[a].key, key) != 0) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (list[i].id == aliases[a].id) {
                return &list[i];
            }
        }
    }
    return NULL;
}

static const struct ctrl *find_id(const struct ctrl *list, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i].id == id) {
            return &list[i];
        }
    }
    return NULL;
}

static bool set(const struct mjd_v4l2_ops *ops, int fd, const char *path, const struct ctrl *c,
                long long value)
{
    bool ranged = c->type == V4L2_CTRL_TYPE_INTEGER || c->type == V4L2_CTRL_TYPE_BOOLEAN ||
                  c->type == V4L2_CTRL_TYPE_MENU || c->type == V4L2_CTRL_TYPE_INTEGER_MENU;
    if (ranged && c->min <= c->max && (value < c->min || value > c->max)) {
        long long clamped = value < c->min ? c->min : c->max;
        LOG_WARN("v4l2 source: %s: %s=%lld is outside %d..%d; using %lld", path, c->key, value,
                 (int)c->min, (int)c->max, clamped);
        value = clamped;
    }
    struct v4l2_control ctl = { .id = c->id, .value = (int32_t)value };
    if (mjd_v4l2_xioctl(ops, fd, VIDIOC_S_CTRL, &ctl) != 0) {
        LOG_WARN("v4l2 source: %s: cannot set %s=%lld: %s", path, c->key, value, strerror(errno));
        return false;
    }
    LOG_INFO("v4l2 source: %s: %s=%lld", path, c->key, value);
    return true;
}

/* "a, b, c": the names --control accepts on this device. */
static void names(const struct ctrl *list, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < cap; i++) {
        int w = snprintf(buf + o, cap - o, "%s%s", i > 0 ? ", " : "", list[i].key);
        if (w < 0) {
            break;
        }
        o += (size_t)w;
    }
    if (n == 0) {
        snprintf(buf, cap, "none");
    }
}

/* One "name=value" item (NUL-terminated, modified in place). */
static bool apply_item(const struct mjd_v4l2_ops *ops, int fd, const char *path,
                       const struct ctrl *list, size_t n, char *item)
{
    char *eq = strchr(item, '=');
    if (eq == NULL) {
        LOG_WARN("v4l2 source: %s: ignoring control '%s' (not NAME=VALUE)", path, item);
        return false;
    }
    *eq = '\0';
    errno = 0;
    char *end = NULL;
    long long value = strtoll(eq + 1, &end, 10);
    if (errno != 0 || end == eq + 1 || *end != '\0') {
        LOG_WARN("v4l2 source: %s: ignoring control '%s': '%s' is not an integer", path, item,
                 eq + 1);
        return false;
    }
    char key[KEY_BYTES];
    mjd_v4l2_ctrl_key(item, key, sizeof(key));
    const struct ctrl *c = find(list, n, key);
    if (c == NULL) {
        char avail[2048];
        names(list, n, avail, sizeof(avail));
        LOG_WARN("v4l2 source: %s has no control '%s'; its controls: %s", path, key, avail);
        return false;
    }
    return set(ops, fd, path, c, value);
}

/* Sets the flip control id on (asked) or off. True when the driver accepted the value; *done
 * says whether the camera now flips (on asked, and the control can be 1 and took it). */
static bool flip(const struct mjd_v4l2_ops *ops, int fd, const char *path, const struct ctrl *list,
                 size_t n, uint32_t id, bool on, const char *what, bool *done)
{
    *done = false;
    const struct ctrl *c = find_id(list, n, id);
    if (c == NULL || (on && c->min <= c->max && (c->min > 1 || c->max < 1))) {
        if (on) {
            LOG_WARN("v4l2 source: %s cannot flip %s in hardware; flipping in software", path,
                     what);
        }
        return false;
    }
    bool ok = set(ops, fd, path, c, on ? 1 : 0);
    if (on && !ok) {
        LOG_WARN("v4l2 source: %s refused to flip %s; flipping in software", path, what);
    }
    *done = on && ok;
    return ok;
}

unsigned mjd_v4l2_ctrl_apply(const struct mjd_v4l2_ops *ops, int fd, const char *path,
                             const char *list, unsigned flips, unsigned *flipped)
{
    *flipped = 0;
    bool any = list != NULL && list[0] != '\0';
    if (!any && flips == 0) {
        return 0;
    }
    struct ctrl *ctrls = calloc(MAX_CTRLS, sizeof(*ctrls));
    char *copy = any ? strdup(list) : NULL;
    if (ctrls == NULL || (any && copy == NULL)) {
        LOG_WARN("v4l2 source: %s: out of memory; controls not set", path);
        free(ctrls);
        free(copy);
        return 0;
    }
    size_t n = enumerate(ops, fd, ctrls);
    unsigned ok = 0;
    if (any) {
        char *save = NULL;
        for (char *item = strtok_r(copy, ",", &save); item != NULL;
             item = strtok_r(NULL, ",", &save)) {
            ok += apply_item(ops, fd, path, ctrls, n, item) ? 1 : 0;
        }
    }
    if (flips != 0) {
        bool h = false, v = false;
        ok += flip(ops, fd, path, ctrls, n, V4L2_CID_HFLIP, flips & MJD_FLIP_H, "horizontally", &h)
                      ? 1
                      : 0;
        ok += flip(ops, fd, path, ctrls, n, V4L2_CID_VFLIP, flips & MJD_FLIP_V, "vertically", &v)
                      ? 1
                      : 0;
        *flipped = (h ? MJD_FLIP_H : 0) | (v ? MJD_FLIP_V : 0);
    }
    free(copy);
    free(ctrls);
    return ok;
}
