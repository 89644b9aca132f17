# SPDX-License-Identifier: MIT
# mjpegd's part of the Makefile: its libraries and generated sources.
MJD_LIBS += $(shell pkg-config --libs libturbojpeg 2>/dev/null || echo -lturbojpeg)
