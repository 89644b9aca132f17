// SPDX-License-Identifier: MIT
/* One segment archive being written: a plain tar of JPEG frames, then index.tsv. */
#include "mjpegd/record/segment.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "archive/tar.h"
#include "archive/writer.h"

void mjd_rec_segment_name(char buf[MJD_REC_NAME_MAX], int64_t wall_us, uint64_t seq)
{
    time_t t = (time_t)(wall_us / 1000000);
    if (wall_us < 0) {
        t = 0;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(buf, MJD_REC_NAME_MAX, "%s-%012" PRIu64 ".tar", when, seq);
}

/*
 * Serialises the choice of a name and the creation of its temp file across every recorder of
 * the process: sources recording into one DIR share its catalog, where a name must be unique.
 * A leaf lock, taken only by record/N threads, held for a directory scan and one open.
 */
static pthread_mutex_t name_mu = PTHREAD_MUTEX_INITIALIZER;

static bool exists_in(const char *dir, const char *sub, const char *name)
{
    char path[1400];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    if (stat(path, &st) == 0) {
        return true;
    }
    snprintf(path, sizeof(path), "%s/%s/.%s.tmp", dir, sub, name);
    return stat(path, &st) == 0;
}

/* Whether name is an archive (or a segment being written) of any source under top. */
static bool taken(const char *top, const char *name)
{
    DIR *d = opendir(top);
    if (d == NULL) {
        return false;
    }
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            found = exists_in(top, e->d_name, name);
        }
    }
    closedir(d);
    return found;
}

int mjd_rec_segment_open(struct mjd_rec_segment *s, const char *top, const char *dir,
                         int64_t wall_us, uint64_t seq)
{
    char name[MJD_REC_NAME_MAX];
    mjd_rec_segment_name(name, wall_us, seq);
    pthread_mutex_lock(&name_mu);
    // Sequence numbers restart with the process, and every source has its own: a run that
    // started in the same second as the previous one's first segment, or another source's
    // segment of the same second, would otherwise get the same name.
    for (uint64_t n = seq + 1; taken(top, name) && n < seq + 1000000; n++) {
        mjd_rec_segment_name(name, wall_us, n);
    }
    int rc = arc_writer_open(&s->w, dir, name);
    pthread_mutex_unlock(&name_mu);
    if (rc != 0) {
        return rc;
    }
    memcpy(s->name, name, sizeof(name));
    s->start_us = wall_us;
    s->end_us = wall_us;
    s->nindex = 0;
    return 0;
}

int mjd_rec_segment_add(struct mjd_rec_segment *s, const void *jpeg, size_t len, int64_t wall_us)
{
    if (s->nindex > 0 && wall_us <= s->end_us) {
        wall_us = s->end_us + 1;
    }
    if (s->nindex == s->cap) {
        size_t cap = s->cap > 0 ? s->cap * 2 : 256;
        struct mjd_rec_index_entry *n = realloc(s->index, cap * sizeof(*n));
        if (n == NULL) {
            return -ENOMEM;
        }
        s->index = n;
        s->cap = cap;
    }
    char member[32];
    snprintf(member, sizeof(member), "%016" PRId64 ".jpg", wall_us);
    uint64_t off = arc_writer_bytes(s->w) + ARC_TAR_BLOCK;
    int rc = arc_tar_add(s->w, member, jpeg, len, wall_us / 1000000);
    if (rc != 0) {
        return rc;
    }
    if (s->nindex == 0) {
        s->start_us = wall_us;
    }
    s->index[s->nindex++] = (struct mjd_rec_index_entry){ wall_us, off, len };
    s->end_us = wall_us;
    return 0;
}

/* index.tsv as one buffer. */
static char *index_text(const struct mjd_rec_segment *s, size_t *len)
{
    size_t cap = s->nindex * 64 + 1;
    char *buf = malloc(cap);
    if (buf == NULL) {
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->nindex; i++) {
        const struct mjd_rec_index_entry *e = &s->index[i];
        int k = snprintf(buf + n, cap - n, "%016" PRId64 "\t%" PRIu64 "\t%" PRIu64 "\n", e->wall_us,
                         e->offset, e->len);
        if (k < 0 || (size_t)k >= cap - n) {
            free(buf);
            return NULL;
        }
        n += (size_t)k;
    }
    *len = n;
    return buf;
}

int mjd_rec_segment_commit(struct mjd_rec_segment *s, struct mjd_rec_row *row)
{
    size_t len = 0;
    char *text = index_text(s, &len);
    int rc = text != NULL ? 0 : -ENOMEM;
    uint64_t index_off = arc_writer_bytes(s->w) + ARC_TAR_BLOCK;
    if (rc == 0) {
        rc = arc_tar_add(s->w, "index.tsv", text, len, s->end_us / 1000000);
    }
    free(text);
    if (rc == 0) {
        rc = arc_tar_finish(s->w);
    }
    if (rc == 0) {
        rc = arc_writer_commit(s->w);
    }
    if (rc == 0) {
        memset(row, 0, sizeof(*row));
        memcpy(row->name, s->name, sizeof(row->name));
        row->start_us = s->start_us;
        row->end_us = s->end_us;
        row->frames = s->nindex;
        row->bytes = arc_writer_bytes(s->w);
        row->index_offset = index_off;
    }
    arc_writer_close(s->w);
    s->w = NULL;
    s->nindex = 0;
    return rc;
}

void mjd_rec_segment_abort(struct mjd_rec_segment *s)
{
    arc_writer_close(s->w);
    s->w = NULL;
    s->nindex = 0;
}

void mjd_rec_segment_release(struct mjd_rec_segment *s)
{
    free(s->index);
    s->index = NULL;
    s->cap = 0;
}
