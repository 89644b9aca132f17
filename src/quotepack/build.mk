# SPDX-License-Identifier: MIT
# quotepack's part of the Makefile: its libraries and generated sources.
# -lisal: ISA-L's igzip, the fastest gzip encoder measured (docs/quotepack.md).
QP_LIBS += $(shell pkg-config --libs libcurl libarchive sqlite3 zlib libzstd 2>/dev/null) -ldeflate -lisal
