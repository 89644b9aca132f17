// SPDX-License-Identifier: MIT
/*
 * An LD_PRELOAD shim that makes the mjpegd binary see a V4L2 camera where there is none: the
 * path in $MJPEGD_FAKE_V4L2 opens the fake device of tests/unit/mjpegd/fake_v4l2.c, whose
 * ioctls, mmap and munmap are served from memory; every other file goes to libc. The fd handed
 * out is a timerfd ticking at $MJPEGD_FAKE_V4L2_FPS (default 30), so poll() on it is the real
 * poll and DQBUF gives a frame per tick. Frames: the JPEG file $MJPEGD_FAKE_V4L2_JPEG as
 * MJPEG (sent as it is, padded like UVC), or else a YUYV pattern. $MJPEGD_FAKE_V4L2_MAX=WxH
 * caps the size the "driver" grants. $MJPEGD_FAKE_V4L2_UNPLUG_AFTER=N: after N frames every
 * DQBUF fails with ENODEV, as an unplugged camera's; the next open streams again, for good.
 * $MJPEGD_FAKE_V4L2_MPLANE=1: a device with only the multi-planar API (as an SoC camera
 * pipeline or an HDMI bridge); $MJPEGD_FAKE_V4L2_FORMAT=nv12m (two planes) or yuyv picks the
 * raw format (yuyv by default), $MJPEGD_FAKE_V4L2_PAD=N pads each line by N bytes and
 * $MJPEGD_FAKE_V4L2_DATA_OFFSET=N puts each plane's data N bytes in (multi-planar only).
 * $MJPEGD_FAKE_V4L2_CONTROLS set: the camera has a UVC webcam's Brightness (0..255) and
 * Horizontal/Vertical Flip controls (mjpegd logs each value it sets).
 * $MJPEGD_FAKE_V4L2_PRESENT_IF=FILE: the device is absent (open fails with ENOENT, as for a
 * /dev/videoN not there yet) until FILE exists: a camera plugged in after the server started.
 * Without _CONTROLS the camera has no controls (so --flip is done in software) unless
 * $MJPEGD_FAKE_V4L2_FLIP=1 gives it HFLIP and VFLIP (which it takes but does not apply: frames stay
 * as they are). One fake device at a time; a mutex guards it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../unit/mjpegd/fake_v4l2.c"

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_v4l2 dev;        /* guarded by lock */
static struct mjd_v4l2_ops dev_ops; /* guarded by lock */
static int fake_fd = -1;            /* the timerfd standing for the device, -1 when closed */
static unsigned char *jpeg;         /* the MJPEG frame, read once */
static size_t jpeg_len;
static unsigned char *pattern;  /* the raw frame (YUYV, or NV12M's Y plane), made after S_FMT */
static unsigned char *pattern1; /* NV12M's U V plane */
static unsigned delivered;      /* frames DQBUF gave since the device was opened */
static bool unplugged;          /* this open has been "unplugged": DQBUF fails with ENODEV */
static bool replugged;          /* the unplug happened once: the next opens stream for good */

static void *real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (f == NULL) {
        fprintf(stderr, "fake_v4l2_shim: no %s\n", name);
        abort();
    }
    return f;
}

static bool is_fake(const char *path)
{
    const char *want = getenv("MJPEGD_FAKE_V4L2");
    return want != NULL && path != NULL && strcmp(path, want) == 0;
}

static bool load_jpeg(void)
{
    const char *p = getenv("MJPEGD_FAKE_V4L2_JPEG");
    if (p == NULL || jpeg != NULL) {
        return true;
    }
    FILE *f = fopen(p, "rb");
    if (f == NULL) {
        return false;
    }
    unsigned char *buf = malloc(8 << 20);
    size_t n = buf != NULL ? fread(buf, 1, 8 << 20, f) : 0;
    fclose(f);
    if (n == 0) {
        free(buf);
        return false;
    }
    jpeg = buf;
    jpeg_len = n;
    return true;
}

/* Opens the fake device: a fresh state, a timerfd at the asked rate. */
static int fake_open(void)
{
    pthread_mutex_lock(&lock);
    int fd = -1;
    if (fake_fd >= 0 || !load_jpeg()) {
        errno = fake_fd >= 0 ? EBUSY : ENOENT;
        goto out;
    }
    const char *mp = getenv("MJPEGD_FAKE_V4L2_MPLANE");
    if (mp != NULL && strcmp(mp, "1") == 0) {
        fake_v4l2_init_mplane(&dev);
        const char *off = getenv("MJPEGD_FAKE_V4L2_DATA_OFFSET");
        dev.data_offset = off != NULL ? (unsigned)strtoul(off, NULL, 10) : 0;
    } else {
        fake_v4l2_init(&dev);
    }
    const char *pad = getenv("MJPEGD_FAKE_V4L2_PAD");
    dev.pad_stride = pad != NULL ? (unsigned)strtoul(pad, NULL, 10) : 0;
    dev_ops = fake_v4l2_ops(&dev);
    unsigned w = 0, h = 0;
    const char *max = getenv("MJPEGD_FAKE_V4L2_MAX");
    if (max != NULL && sscanf(max, "%ux%u", &w, &h) == 2 && w > 0 && h > 0) {
        dev.max_w = w;
        dev.max_h = h;
    }
    if (jpeg != NULL) {
        dev.formats[0] = V4L2_PIX_FMT_MJPEG;
        fake_v4l2_push(&dev, jpeg, jpeg_len, -1, 0, 0);
    } else {
        const char *fmt = getenv("MJPEGD_FAKE_V4L2_FORMAT");
        bool nv12m = fmt != NULL && strcmp(fmt, "nv12m") == 0;
        dev.formats[0] = nv12m ? V4L2_PIX_FMT_NV12M : V4L2_PIX_FMT_YUYV;
    }
    dev.nformats = 1;
    const char *flip = getenv("MJPEGD_FAKE_V4L2_FLIP");
    if (flip != NULL && strcmp(flip, "1") == 0) {
        dev.ctrls[0] = (struct fake_v4l2_ctrl){ V4L2_CID_HFLIP, "Horizontal Flip", 0, 1, 0, 0 };
        dev.ctrls[1] = (struct fake_v4l2_ctrl){ V4L2_CID_VFLIP, "Vertical Flip", 0, 1, 0, 0 };
        dev.nctrls = 2;
    }
    dev.loop = true;
    if (getenv("MJPEGD_FAKE_V4L2_CONTROLS") != NULL) {
        static const struct fake_v4l2_ctrl ctrls[] = {
            { V4L2_CID_BRIGHTNESS, "Brightness", 0, 255, 128, 0 },
            { V4L2_CID_HFLIP, "Horizontal Flip", 0, 1, 0, 0 },
            { V4L2_CID_VFLIP, "Vertical Flip", 0, 1, 1, 0 },
        };
        memcpy(dev.ctrls, ctrls, sizeof(ctrls));
        dev.nctrls = sizeof(ctrls) / sizeof(ctrls[0]);
    }
    delivered = 0;
    if (unplugged) {
        unplugged = false;
        replugged = true;
    }
    fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) {
        goto out;
    }
    const char *fps_s = getenv("MJPEGD_FAKE_V4L2_FPS");
    long fps = fps_s != NULL ? strtol(fps_s, NULL, 10) : 30;
    fps = fps < 1 ? 1 : fps > 1000 ? 1000 : fps;
    struct itimerspec its = { .it_interval = { 0, 1000000000L / fps },
                              .it_value = { 0, 1000000000L / fps } };
    timerfd_settime(fd, 0, &its, NULL);
    dev_ops.open(dev_ops.ctx, "", 0);
    fake_fd = fd;
out:
    pthread_mutex_unlock(&lock);
    return fd;
}

/* $MJPEGD_FAKE_V4L2_PRESENT_IF: is the camera plugged in yet? (Always, without it.) */
static bool plugged_in(void)
{
    const char *flag = getenv("MJPEGD_FAKE_V4L2_PRESENT_IF");
    return flag == NULL || access(flag, F_OK) == 0;
}

static int open_common(const char *name, const char *path, int flags, mode_t mode)
{
    if (is_fake(path)) {
        if (!plugged_in()) {
            errno = ENOENT;
            return -1;
        }
        return fake_open();
    }
    int (*f)(const char *, int, ...);
    *(void **)&f = real(name); // POSIX's idiom: ISO C has no object-to-function pointer cast
    return f(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return open_common("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return open_common("open64", path, flags, mode);
}

int __open_2(const char *path, int flags)
{
    return open_common("open", path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
    return open_common("open64", path, flags, 0);
}

int close(int fd)
{
    int (*f)(int);
    *(void **)&f = real("close");
    pthread_mutex_lock(&lock);
    if (fd >= 0 && fd == fake_fd) {
        dev_ops.close(dev_ops.ctx, FAKE_V4L2_FD);
        fake_fd = -1;
    }
    pthread_mutex_unlock(&lock);
    return f(fd);
}

/* After S_FMT to NV12M: a Y ramp and a U V plane that varies with the line. */
static void make_nv12m(void)
{
    free(pattern);
    free(pattern1);
    pattern = malloc(dev.sizeimage);
    pattern1 = malloc(dev.sizeimage1 != 0 ? dev.sizeimage1 : 1);
    if (pattern == NULL || pattern1 == NULL) {
        return;
    }
    for (unsigned y = 0; y < dev.h; y++) {
        for (unsigned x = 0; x < dev.bpl; x++) {
            pattern[(size_t)y * dev.bpl + x] =
                    (unsigned char)(16 + (x * 200) / (dev.w ? dev.w : 1));
        }
    }
    for (unsigned y = 0; y < (dev.h + 1) / 2; y++) {
        for (unsigned x = 0; x + 1 < dev.bpl1; x += 2) {
            pattern1[(size_t)y * dev.bpl1 + x] = (unsigned char)(y * 2 * 255 / (dev.h ? dev.h : 1));
            pattern1[(size_t)y * dev.bpl1 + x + 1] = 128;
        }
    }
    dev.nframes = 0;
    fake_v4l2_push(&dev, pattern, dev.sizeimage, -1, 0, 0);
    dev.frames[0].data1 = pattern1;
    dev.frames[0].len1 = dev.sizeimage1;
    dev.frames[0].bytesused1 = -1;
}

/* After S_FMT to a raw format: the frame the camera sends, sized as granted. */
static void make_pattern(void)
{
    if (dev.fmt == V4L2_PIX_FMT_NV12M && dev.sizeimage != 0) {
        make_nv12m();
        return;
    }
    if (dev.fmt != V4L2_PIX_FMT_YUYV || dev.sizeimage == 0) {
        return;
    }
    free(pattern);
    pattern = malloc(dev.sizeimage);
    if (pattern == NULL) {
        return;
    }
    for (unsigned y = 0; y < dev.h; y++) {
        unsigned char *row = pattern + (size_t)y * dev.bpl;
        for (unsigned x = 0; x + 3 < dev.bpl; x += 4) {
            row[x] = (unsigned char)(16 + (x / 2 * 200) / (dev.w ? dev.w : 1));
            row[x + 1] = (unsigned char)(y * 255 / (dev.h ? dev.h : 1));
            row[x + 2] = row[x];
            row[x + 3] = 128;
        }
    }
    dev.nframes = 0;
    fake_v4l2_push(&dev, pattern, dev.sizeimage, -1, 0, 0);
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    pthread_mutex_lock(&lock);
    if (fd < 0 || fd != fake_fd) {
        pthread_mutex_unlock(&lock);
        int (*f)(int, unsigned long, ...);
        *(void **)&f = real("ioctl");
        return f(fd, request, arg);
    }
    int rc;
    const char *after = getenv("MJPEGD_FAKE_V4L2_UNPLUG_AFTER");
    if (request == VIDIOC_DQBUF && !replugged && after != NULL &&
        delivered >= strtoul(after, NULL, 10)) {
        unplugged = true;
        pthread_mutex_unlock(&lock);
        errno = ENODEV;
        return -1;
    }
    if (request == VIDIOC_DQBUF) {
        uint64_t ticks = 0;
        ssize_t (*rd)(int, void *, size_t);
        *(void **)&rd = real("read");
        if (rd(fd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks)) {
            pthread_mutex_unlock(&lock);
            errno = EAGAIN; // no tick yet: no frame yet
            return -1;
        }
    }
    rc = dev_ops.ioctl(dev_ops.ctx, FAKE_V4L2_FD, request, arg);
    int e = errno;
    if (rc == 0 && request == VIDIOC_S_FMT) {
        make_pattern();
    }
    if (rc == 0 && request == VIDIOC_DQBUF) {
        delivered++;
    }
    pthread_mutex_unlock(&lock);
    errno = e;
    return rc;
}

static void *mmap_common(const char *name, void *addr, size_t len, int prot, int flags, int fd,
                         off_t off)
{
    pthread_mutex_lock(&lock);
    if (fd >= 0 && fd == fake_fd) {
        void *p = dev_ops.mmap(dev_ops.ctx, len, prot, flags, FAKE_V4L2_FD, off);
        pthread_mutex_unlock(&lock);
        return p;
    }
    pthread_mutex_unlock(&lock);
    void *(*f)(void *, size_t, int, int, int, off_t);
    *(void **)&f = real(name);
    return f(addr, len, prot, flags, fd, off);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap_common("mmap", addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap_common("mmap64", addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < dev.nbufs; i++) {
        for (unsigned p = 0; p < FAKE_V4L2_PLANES; p++) {
            if (addr != NULL && dev.mem[i][p] == addr) {
                pthread_mutex_unlock(&lock);
                return 0; // the fake's memory: freed by REQBUFS 0 or close
            }
        }
    }
    pthread_mutex_unlock(&lock);
    int (*f)(void *, size_t);
    *(void **)&f = real("munmap");
    return f(addr, len);
}
