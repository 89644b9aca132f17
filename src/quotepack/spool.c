// SPDX-License-Identifier: MIT
/* The spool: compressed archive entries waiting in DIR/.spool segment files to be packed. */
#include "quotepack/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "quotepack/failpoint.h"

#define SEGMENT_BYTES ((uint64_t)64 << 20)

struct segment {
    uint64_t id;
    int fd;      /* read-write for our own segments, read-only for adopted ones */
    size_t live; /* records not yet released */
    bool active; /* a writer appends to it */
};

struct qp_spool {
    char *dir;            /* immutable */
    pthread_mutex_t mu;   /* guards everything below; a leaf lock */
    struct segment *segs; /* guarded by mu */
    size_t nsegs, cap;    /* guarded by mu */
    size_t peak;          /* guarded by mu */
    uint64_t next_id;     /* guarded by mu */
};

struct qp_spool_writer {
    struct qp_spool *sp;
    uint64_t seg; /* valid when fd >= 0 */
    int fd;
    uint64_t start; /* where the current record starts */
    uint64_t pos;   /* where the next byte goes */
};

void qp_spool_segment_path(const struct qp_spool *sp, uint64_t seg, char *buf, size_t size)
{
    snprintf(buf, size, "%s/seg-%" PRIu64, sp->dir, seg);
}

/* "seg-<id>": 1 and the id, else 0. */
static int parse_segment_name(const char *n, uint64_t *id)
{
    if (strncmp(n, "seg-", 4) != 0 || n[4] < '0' || n[4] > '9') {
        return 0;
    }
    char *end = NULL;
    unsigned long long v = strtoull(n + 4, &end, 10);
    if (*end != '\0') {
        return 0;
    }
    *id = v;
    return 1;
}

int qp_spool_open(struct qp_spool **out, const char *dir)
{
    struct qp_spool *sp = core_xcalloc(1, sizeof(*sp));
    size_t n = strlen(dir) + sizeof(QP_SPOOL_DIR) + 2;
    sp->dir = core_xmalloc(n);
    snprintf(sp->dir, n, "%s/%s", dir, QP_SPOOL_DIR);
    pthread_mutex_init(&sp->mu, NULL);
    *out = NULL;
    if (mkdir(sp->dir, 0755) != 0 && errno != EEXIST) {
        int rc = -errno;
        qp_spool_close(sp);
        return rc;
    }
    DIR *d = opendir(sp->dir);
    if (d == NULL) {
        int rc = -errno;
        qp_spool_close(sp);
        return rc;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t id = 0;
        if (parse_segment_name(de->d_name, &id) && id >= sp->next_id) {
            sp->next_id = id + 1;
        }
    }
    closedir(d);
    *out = sp;
    return 0;
}

void qp_spool_close(struct qp_spool *sp)
{
    if (sp == NULL) {
        return;
    }
    for (size_t i = 0; i < sp->nsegs; i++) {
        close(sp->segs[i].fd);
    }
    free(sp->segs);
    pthread_mutex_destroy(&sp->mu);
    free(sp->dir);
    free(sp);
}

static struct segment *find_locked(struct qp_spool *sp, uint64_t id)
{
    for (size_t i = 0; i < sp->nsegs; i++) {
        if (sp->segs[i].id == id) {
            return &sp->segs[i];
        }
    }
    return NULL;
}

static void add_locked(struct qp_spool *sp, uint64_t id, int fd, bool active)
{
    if (sp->nsegs == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 16;
        sp->segs = core_xrealloc(sp->segs, sp->cap * sizeof(*sp->segs));
    }
    sp->segs[sp->nsegs++] = (struct segment){ id, fd, 0, active };
    if (sp->nsegs > sp->peak) {
        sp->peak = sp->nsegs;
    }
}

/* Removes the segment if nothing holds it; returns the fd to close (or -1) after unlocking. */
static int drop_if_unused_locked(struct qp_spool *sp, struct segment *s, char *path, size_t size)
{
    if (s->live > 0 || s->active) {
        return -1;
    }
    int fd = s->fd;
    qp_spool_segment_path(sp, s->id, path, size);
    *s = sp->segs[--sp->nsegs];
    return fd;
}

static void close_and_unlink(int fd, const char *path)
{
    if (fd >= 0) {
        qp_failpoint("unlink");
        unlink(path);
        close(fd);
    }
}

int qp_spool_writer_create(struct qp_spool *sp, struct qp_spool_writer **out)
{
    struct qp_spool_writer *w = core_xcalloc(1, sizeof(*w));
    w->sp = sp;
    w->fd = -1;
    *out = w;
    return 0;
}

/* The writer leaves its segment. */
static void writer_leave(struct qp_spool_writer *w)
{
    if (w->fd < 0) {
        return;
    }
    char path[4096];
    int fd = -1;
    pthread_mutex_lock(&w->sp->mu);
    struct segment *s = find_locked(w->sp, w->seg);
    if (s != NULL) {
        s->active = false;
        fd = drop_if_unused_locked(w->sp, s, path, sizeof(path));
    }
    pthread_mutex_unlock(&w->sp->mu);
    close_and_unlink(fd, path);
    w->fd = -1;
}

void qp_spool_writer_destroy(struct qp_spool_writer *w)
{
    if (w == NULL) {
        return;
    }
    writer_leave(w);
    free(w);
}

int qp_spool_writer_begin(struct qp_spool_writer *w, uint64_t *seg, uint64_t *off)
{
    if (w->fd >= 0 && w->pos >= SEGMENT_BYTES) {
        writer_leave(w);
    }
    if (w->fd < 0) {
        char path[4096];
        pthread_mutex_lock(&w->sp->mu);
        uint64_t id = w->sp->next_id++;
        pthread_mutex_unlock(&w->sp->mu);
        qp_spool_segment_path(w->sp, id, path, sizeof(path));
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            return -errno;
        }
        pthread_mutex_lock(&w->sp->mu);
        add_locked(w->sp, id, fd, true);
        pthread_mutex_unlock(&w->sp->mu);
        w->fd = fd;
        w->seg = id;
        w->pos = 0;
    }
    w->start = w->pos;
    *seg = w->seg;
    *off = w->pos;
    return 0;
}

int qp_spool_writer_append(void *arg, const void *data, size_t len)
{
    struct qp_spool_writer *w = arg;
    const char *p = data;
    qp_failpoint("spool-write");
    while (len > 0) {
        ssize_t n = pwrite(w->fd, p, len, (off_t)w->pos);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
        w->pos += (uint64_t)n;
    }
    return 0;
}

void qp_spool_writer_commit(struct qp_spool_writer *w, uint64_t data_len, uint32_t hdr_len,
                            struct qp_spool_rec *rec)
{
    rec->seg = w->seg;
    rec->off = w->start;
    rec->data_len = data_len;
    rec->hdr_len = hdr_len;
    w->pos = w->start + data_len + hdr_len;
    pthread_mutex_lock(&w->sp->mu);
    struct segment *s = find_locked(w->sp, w->seg);
    if (s != NULL) {
        s->live++;
    }
    pthread_mutex_unlock(&w->sp->mu);
}

void qp_spool_writer_abort(struct qp_spool_writer *w)
{
    w->pos = w->start;
}

static int segment_fd(struct qp_spool *sp, uint64_t seg)
{
    pthread_mutex_lock(&sp->mu);
    struct segment *s = find_locked(sp, seg);
    int fd = s != NULL ? s->fd : -1;
    pthread_mutex_unlock(&sp->mu);
    return fd;
}

int qp_spool_pread(struct qp_spool *sp, uint64_t seg, uint64_t off, void *buf, size_t len)
{
    int fd = segment_fd(sp, seg);
    if (fd < 0) {
        return -ENOENT;
    }
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            return -EIO;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Appends len bytes of fd at off to out_fd: copy_file_range, else read and write. */
static int copy_range(int fd, uint64_t off, uint64_t len, int out_fd)
{
    char *buf = NULL;
    int rc = 0;
    while (len > 0) {
        size_t want = len > ((uint64_t)1 << 30) ? (size_t)1 << 30 : (size_t)len;
        if (buf == NULL) {
            loff_t o = (loff_t)off;
            ssize_t n = copy_file_range(fd, &o, out_fd, NULL, want, 0);
            if (n > 0) {
                off += (uint64_t)n;
                len -= (uint64_t)n;
                continue;
            }
            if (n == 0) {
                rc = -EIO;
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
                rc = -errno;
                break;
            }
            buf = core_xmalloc((size_t)1 << 20);
        }
        size_t chunk = want < ((size_t)1 << 20) ? want : (size_t)1 << 20;
        ssize_t n = pread(fd, buf, chunk, (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n == 0 ? -EIO : -errno;
            break;
        }
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out_fd, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR) {
                continue;
            }
            if (k < 0) {
                rc = -errno;
                goto out;
            }
            w += k;
        }
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
out:
    free(buf);
    return rc;
}

int qp_spool_copy(struct qp_spool *sp, const struct qp_spool_rec *rec, int out_fd, uint64_t *bytes)
{
    int fd = segment_fd(sp, rec->seg);
    if (fd < 0) {
        return -ENOENT;
    }
    int rc = rec->hdr_len > 0 ? copy_range(fd, rec->off + rec->data_len, rec->hdr_len, out_fd) : 0;
    if (rc == 0) {
        rc = copy_range(fd, rec->off, rec->data_len, out_fd);
    }
    if (rc == 0) {
        *bytes += rec->data_len + rec->hdr_len;
    }
    return rc;
}

void qp_spool_release(struct qp_spool *sp, const struct qp_spool_rec *rec)
{
    char path[4096];
    int fd = -1;
    pthread_mutex_lock(&sp->mu);
    struct segment *s = find_locked(sp, rec->seg);
    if (s != NULL && s->live > 0) {
        s->live--;
        fd = drop_if_unused_locked(sp, s, path, sizeof(path));
    }
    pthread_mutex_unlock(&sp->mu);
    close_and_unlink(fd, path);
}

int qp_spool_adopt(struct qp_spool *sp, const struct qp_spool_rec *rec)
{
    pthread_mutex_lock(&sp->mu);
    struct segment *s = find_locked(sp, rec->seg);
    if (s == NULL) {
        char path[4096];
        pthread_mutex_unlock(&sp->mu);
        qp_spool_segment_path(sp, rec->seg, path, sizeof(path));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return -errno;
        }
        pthread_mutex_lock(&sp->mu);
        s = find_locked(sp, rec->seg);
        if (s == NULL) {
            add_locked(sp, rec->seg, fd, false);
            s = &sp->segs[sp->nsegs - 1];
        } else {
            close(fd);
        }
    }
    struct stat st;
    int rc = 0;
    if (fstat(s->fd, &st) != 0) {
        rc = -errno;
    } else if ((uint64_t)st.st_size < rec->off + rec->data_len + rec->hdr_len) {
        rc = -ENOENT;
    } else {
        s->live++;
    }
    int unused = -1;
    if (rc != 0 && s->live == 0) {
        unused = s->fd; // nothing of it is kept: prune deletes the file
        *s = sp->segs[--sp->nsegs];
    }
    pthread_mutex_unlock(&sp->mu);
    if (unused >= 0) {
        close(unused);
    }
    return rc;
}

int qp_spool_prune(struct qp_spool *sp)
{
    DIR *d = opendir(sp->dir);
    int rc = 0;
    if (d == NULL) {
        return -errno;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) {
            continue;
        }
        uint64_t id = 0;
        bool keep = false;
        if (parse_segment_name(n, &id)) {
            pthread_mutex_lock(&sp->mu);
            struct segment *s = find_locked(sp, id);
            keep = s != NULL && s->live > 0;
            pthread_mutex_unlock(&sp->mu);
        }
        if (!keep) {
            qp_failpoint("unlink");
        }
        if (!keep && unlinkat(dirfd(d), n, 0) != 0 && errno != ENOENT) {
            rc = -errno;
            break;
        }
    }
    closedir(d);
    return rc;
}

void qp_spool_finish(struct qp_spool *sp)
{
    rmdir(sp->dir);
}

void qp_spool_counts(struct qp_spool *sp, size_t *segments, size_t *peak)
{
    pthread_mutex_lock(&sp->mu);
    *segments = sp->nsegs;
    *peak = sp->peak;
    pthread_mutex_unlock(&sp->mu);
}
