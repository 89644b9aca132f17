// SPDX-License-Identifier: MIT
/* A test hook: mjpegd kills itself right before a chosen durable step of the recorder. */
#include "mjpegd/record/failpoint.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/writer.h"

/* Written by init before any thread starts, read-only afterwards. */
static bool enabled;
static char target_kind[16];
static unsigned long long target_n;
/* Steps of the chosen kind so far (any thread). */
static atomic_ullong seen;

void mjd_rec_failpoint(const char *kind)
{
    if (!enabled || strcmp(kind, target_kind) != 0) {
        return;
    }
    if (atomic_fetch_add(&seen, 1) + 1 == target_n) {
        raise(SIGKILL);
    }
}

int mjd_rec_failpoint_init(void)
{
    const char *v = getenv("MJPEGD_FAILPOINT");
    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    const char *colon = strchr(v, ':');
    static const char *const kinds[] = { "fsync", "rename", "unlink", "catalog" };
    bool known = false;
    for (size_t i = 0; colon != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        known = known || ((size_t)(colon - v) == strlen(kinds[i]) &&
                          strncmp(v, kinds[i], strlen(kinds[i])) == 0);
    }
    char *end = NULL;
    errno = 0;
    unsigned long long n = known ? strtoull(colon + 1, &end, 10) : 0;
    if (!known || end == colon + 1 || *end != '\0' || errno != 0 || n == 0 || colon[1] == '-') {
        fprintf(stderr,
                "mjpegd: MJPEGD_FAILPOINT=%s: expected KIND:N with N >= 1 and KIND one "
                "of fsync, rename, unlink, catalog\n",
                v);
        return -1;
    }
    snprintf(target_kind, sizeof(target_kind), "%.*s", (int)(colon - v), v);
    target_n = n;
    atomic_init(&seen, 0);
    enabled = true;
    arc_set_step_hook(mjd_rec_failpoint);
    return 0;
}
