// SPDX-License-Identifier: MIT
/* --log-file: the log (stderr, fd 2) goes to a file, reopened on SIGHUP for log rotation. */
#include "mjpegd/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int mjd_logfile_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) {
        return -errno;
    }
    int rc = 0;
    if (fd != STDERR_FILENO) {
        while (dup2(fd, STDERR_FILENO) < 0) {
            if (errno != EINTR) {
                rc = -errno;
                break;
            }
        }
        close(fd);
    }
    return rc;
}
