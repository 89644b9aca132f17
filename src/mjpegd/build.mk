# SPDX-License-Identifier: MIT
# mjpegd's part of the Makefile: its libraries and generated sources.
MJD_LIBS += $(shell pkg-config --libs libturbojpeg 2>/dev/null || echo -lturbojpeg)
# The recordings catalog (--record, src/mjpegd/record/catalog.c), which playback reads too
# (playback.c, recordings.c).
MJD_LIBS += $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3)
# The http:// relay source.
MJD_LIBS += $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

# web/index.html is embedded into the binary: a generated C file under $(B)/gen, compiled by
# the generic rule into $(B)/obj/$(B)/gen/ and archived into libmjpegd.a.
MJD_GEN_SRC += $(B)/gen/mjd_web_index.c

$(B)/gen/mjd_web_index.c: web/index.html src/mjpegd/build.mk
	@mkdir -p $(dir $@)
	@{ echo '/* Generated from web/index.html by src/mjpegd/build.mk: do not edit. */'; \
	  echo '#include "mjpegd/web.h"'; \
	  echo 'const unsigned char mjd_web_index_html[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; \
	  echo 'const size_t mjd_web_index_html_len = sizeof(mjd_web_index_html) - 1;'; \
	} > $@.tmp && mv $@.tmp $@
