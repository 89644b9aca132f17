# SPDX-License-Identifier: MIT
# One non-recursive GNU make for the whole project. See docs/DECISIONS.md for the layout.
#
#   make                      build build/mjpegd and build/quotepack
#   make run                  install what is missing, build, run mjpegd on the test source
#   make test                 install what is missing, build, run every test
#   make SANITIZE=address,undefined test | make SANITIZE=thread test
#   make format | format-check | analyze | check-deps | fuzz | bench | clean
#   make install [PREFIX=/usr/local] [DESTDIR=]   mjpegd, its man page, unit and docs (mk/install.mk)

.DEFAULT_GOAL := all
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
NPROC := $(shell nproc 2>/dev/null || echo 2)

include mk/flags.mk

# ---- sources -------------------------------------------------------------------------------
CORE_SRC := $(sort $(wildcard src/core/*.c))
# The shared crash-safe archive writer (src/archive, docs/ARCHITECTURE.md): both programs link it.
ARC_SRC := $(sort $(wildcard src/archive/*.c))
MJD_SRC := $(sort $(filter-out src/mjpegd/main.c,$(shell find src/mjpegd -name '*.c' 2>/dev/null)))
QP_SRC := $(sort $(filter-out src/quotepack/main.c,$(shell find src/quotepack -name '*.c' 2>/dev/null)))

# Each program adds its libraries and any generated sources in its own fragment.
MJD_LIBS :=
QP_LIBS :=
MJD_GEN_SRC :=
QP_GEN_SRC :=
-include src/mjpegd/build.mk
-include src/quotepack/build.mk

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

CORE_OBJ := $(call obj,$(CORE_SRC))
ARC_OBJ := $(call obj,$(ARC_SRC))
MJD_OBJ := $(call obj,$(MJD_SRC) $(MJD_GEN_SRC))
QP_OBJ := $(call obj,$(QP_SRC) $(QP_GEN_SRC))

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libcore.a: $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^
$(B)/libarchive_w.a: $(ARC_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^
$(B)/libmjpegd.a: $(MJD_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^
$(B)/libquotepack.a: $(QP_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/mjpegd: $(call obj,src/mjpegd/main.c) $(B)/libmjpegd.a $(B)/libarchive_w.a $(B)/libcore.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MJD_LIBS) -lm
$(B)/quotepack: $(call obj,src/quotepack/main.c) $(B)/libquotepack.a $(B)/libarchive_w.a $(B)/libcore.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(QP_LIBS) -lm

PROGRAMS := $(B)/mjpegd $(B)/quotepack

# ---- unit tests: one binary per program, every test forked under a timeout ----------------
UNIT_CORE_SRC := $(sort $(wildcard tests/unit/core/*.c))
UNIT_MJD_SRC := $(sort $(wildcard tests/unit/mjpegd/*.c))
UNIT_QP_SRC := $(sort $(wildcard tests/unit/quotepack/*.c))
UNIT_ARC_SRC := $(sort $(wildcard tests/unit/archive/*.c))
RUNNER_OBJ := $(call obj,tests/unit/runner.c)

$(B)/tests/unit_core: $(RUNNER_OBJ) $(call obj,$(UNIT_CORE_SRC)) $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lm
$(B)/tests/unit_mjpegd: $(RUNNER_OBJ) $(call obj,$(UNIT_MJD_SRC)) $(B)/libmjpegd.a $(B)/libarchive_w.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MJD_LIBS) -lm
$(B)/tests/unit_quotepack: $(RUNNER_OBJ) $(call obj,$(UNIT_QP_SRC)) $(B)/libquotepack.a $(B)/libarchive_w.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(QP_LIBS) -lm
# The writer itself needs libc only; its tests read archives back with libarchive.
$(B)/tests/unit_archive: $(RUNNER_OBJ) $(call obj,$(UNIT_ARC_SRC)) $(B)/libarchive_w.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell pkg-config --libs libarchive 2>/dev/null) -lm

# The LD_PRELOAD fake camera of tests/integration/test_mjpegd_v4l2.py, built without sanitizers
# (it is loaded into the binary under test before anything else).
FAKE_V4L2_SHIM := $(B)/tests/libfake_v4l2.so
$(FAKE_V4L2_SHIM): tests/integration/fake_v4l2_shim.c tests/unit/mjpegd/fake_v4l2.c tests/unit/mjpegd/fake_v4l2.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -pthread -g -O2 -Isrc $(WARNINGS) -fPIC -shared -o $@ $< -ldl

UNIT_BINS := $(B)/tests/unit_core
ifneq ($(UNIT_MJD_SRC),)
UNIT_BINS += $(B)/tests/unit_mjpegd
endif
ifneq ($(UNIT_QP_SRC),)
UNIT_BINS += $(B)/tests/unit_quotepack
endif
ifneq ($(UNIT_ARC_SRC),)
UNIT_BINS += $(B)/tests/unit_archive
endif

# ---- fuzz targets: tests/fuzz/<program>_<name>.c, corpus in tests/fuzz/corpus/<target>/ -----
# `make test` replays each corpus through the target (built with the variant's sanitizers);
# `make fuzz` builds real libFuzzer binaries with clang and runs each for FUZZ_SECONDS, with the
# dictionary tests/fuzz/dict/<target>.dict; FUZZ_TARGETS="a b" picks targets (default: all).
FUZZ_SRC := $(sort $(wildcard tests/fuzz/mjpegd_*.c tests/fuzz/quotepack_*.c))
FUZZ_NAMES := $(notdir $(basename $(FUZZ_SRC)))
REPLAY_BINS := $(addprefix $(B)/fuzz/,$(FUZZ_NAMES))
fuzzlibs = $(if $(filter mjpegd_%,$(1)),$(B)/libmjpegd.a $(B)/libarchive_w.a $(B)/libcore.a $(MJD_LIBS),$(B)/libquotepack.a $(B)/libarchive_w.a $(B)/libcore.a $(QP_LIBS))
# Test objects a target links besides its own: mjpegd_v4l2 drives the unit tests' fake device.
FUZZ_FAKE_V4L2_OBJ := $(call obj,tests/unit/mjpegd/fake_v4l2.c)
fuzzextra = $(if $(filter mjpegd_v4l2,$(1)),$(FUZZ_FAKE_V4L2_OBJ))

$(B)/fuzz/mjpegd_v4l2: $(FUZZ_FAKE_V4L2_OBJ)
$(B)/fuzz/%: $(call obj,tests/fuzz/replay.c) $(B)/obj/tests/fuzz/%.o $(B)/libcore.a $(B)/libarchive_w.a $(B)/libmjpegd.a $(B)/libquotepack.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,tests/fuzz/replay.c) $(B)/obj/tests/fuzz/$*.o $(call fuzzextra,$*) $(call fuzzlibs,$*) -lm

FUZZ_SECONDS ?= 60
# Every binary is built first (-j$(NPROC)), then each target fuzzes for FUZZ_SECONDS, FUZZ_JOBS
# targets at a time, each on its own corpus copy (-Otarget prints each target's whole output
# once it is done, so no two interleave). One at a time by default: libFuzzer uses one core, and
# on a shared machine two side by side got about half the executions each (docs/BENCHMARKS.md);
# FUZZ_JOBS=2 halves the wall time where two cores are free.
FUZZ_JOBS ?= 1
FUZZ_RUN := $(or $(FUZZ_TARGETS),$(FUZZ_NAMES))
FUZZ_VARS = FUZZER=1 CC=clang B=build/libfuzzer \
	SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
.PHONY: fuzz
fuzz: scripts-deps-test
	@if [ "$(FUZZER)" != 1 ]; then \
		$(MAKE) --no-print-directory $(FUZZ_VARS) -j$(NPROC) fuzz-bins && \
		$(MAKE) --no-print-directory $(FUZZ_VARS) -j$(FUZZ_JOBS) -Otarget fuzz-run; \
	fi
.PHONY: fuzz-bins fuzz-run
fuzz-bins: $(addprefix $(B)/bin/,$(FUZZ_RUN))
fuzz-run: $(addprefix fuzz-target/,$(FUZZ_RUN))
# Kept: make would delete them as intermediate files of the pattern rules below.
.SECONDARY: $(addprefix $(B)/bin/,$(FUZZ_NAMES)) $(addprefix $(B)/obj/tests/fuzz/,$(addsuffix .o,$(FUZZ_NAMES)))
$(B)/bin/%: $(B)/obj/tests/fuzz/%.o $(B)/libcore.a $(B)/libarchive_w.a $(B)/libmjpegd.a $(B)/libquotepack.a $(FUZZ_FAKE_V4L2_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer,address,undefined -pthread -o $@ $< $(call fuzzextra,$*) $(call fuzzlibs,$*) -lm
# Not a file: each run fuzzes again (after fuzz-bins, so no fuzzer shares a core with the compiler).
fuzz-target/%: $(B)/bin/%
	@mkdir -p $(B)/corpus/$*
	@echo "fuzzing $* for $(FUZZ_SECONDS)s"
	@dict=; [ -f tests/fuzz/dict/$*.dict ] && dict=-dict=tests/fuzz/dict/$*.dict; \
		$(B)/bin/$* -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict \
			$(B)/corpus/$* tests/fuzz/corpus/$*

# ---- main targets ---------------------------------------------------------------------------
.PHONY: all
all: $(PROGRAMS)

.PHONY: test-bins
test-bins: $(PROGRAMS) $(UNIT_BINS) $(REPLAY_BINS) $(FAKE_V4L2_SHIM)

.PHONY: scripts-deps-build scripts-deps-test
scripts-deps-build:
	@scripts/deps build
scripts-deps-test:
	@scripts/deps test

# The dependency check runs first, in its own make invocation, so that pkg-config and the
# libraries it reports exist before any rule that needs them is read.
.PHONY: test
test: scripts-deps-test
	@$(MAKE) --no-print-directory -j$(NPROC) test-bins
	@$(MAKE) --no-print-directory check-deps
	@$(PYTHON) scripts/run-tests --build $(B) --variant $(VARIANT)

.PHONY: run
run: scripts-deps-build
	@$(MAKE) --no-print-directory -j$(NPROC) $(B)/mjpegd
	$(B)/mjpegd --source test --listen 127.0.0.1:8080

.PHONY: bench
bench:
	@scripts/deps bench
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -f bench/bench.mk B=$(B) bench

.PHONY: demo
demo: scripts-deps-build
	@$(MAKE) --no-print-directory $(B)/quotepack
	@scripts/demo $(B)/quotepack

# ---- hygiene --------------------------------------------------------------------------------
ALL_C_FILES = $(shell find src tests bench -name '*.c' -o -name '*.h' 2>/dev/null | grep -v '/corpus/' | sort)

.PHONY: format format-check
format:
	clang-format -i $(ALL_C_FILES)
format-check:
	@clang-format --dry-run --Werror $(ALL_C_FILES) && echo "format-check: $(words $(ALL_C_FILES)) files clean"

# clang-tidy (analyzer, bugprone, braces) and gcc -fanalyzer over every source file. One make
# target per file, run -j$(NPROC): the two analysers of a file run one after the other, files
# side by side (each analyser is single-threaded). The targets are never files, so every run
# analyses everything again; a finding fails its file's target and make stops the others.
TIDY_CHECKS := -*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-narrowing-conversions,-bugprone-assignment-in-if-condition,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,readability-braces-around-statements
ANALYZE_SRC ?= $(CORE_SRC) $(ARC_SRC) $(MJD_SRC) $(QP_SRC) src/mjpegd/main.c src/quotepack/main.c
ANALYZE_TARGETS := $(addprefix analyze-file/,$(wildcard $(ANALYZE_SRC)))
.PHONY: analyze analyze-files
analyze:
	@$(MAKE) --no-print-directory -j$(NPROC) analyze-files && echo "analyze: no findings"
analyze-files: $(ANALYZE_TARGETS)
analyze-file/%:
	@clang-tidy --quiet --warnings-as-errors='*' -checks='$(TIDY_CHECKS)' $* -- \
		-std=c11 -D_GNU_SOURCE -Isrc -I$(B)/gen $(MJD_CFLAGS) $(QP_CFLAGS) 2>/dev/null
	@gcc -std=c11 -D_GNU_SOURCE -Isrc -I$(B)/gen $(MJD_CFLAGS) $(QP_CFLAGS) -fanalyzer -Werror -fsyntax-only -O1 $*

# Programs depend on archive and core, archive on core, core on libc and pthreads only, and
# the programs never on each other.
.PHONY: check-deps
check-deps:
	@bad=0; \
	if grep -rnE '#include "(mjpegd|quotepack|archive)/' src/core; then bad=1; fi; \
	if grep -rnE '#include "(mjpegd|quotepack)/' src/archive; then bad=1; fi; \
	if grep -rnE '#include "quotepack/' src/mjpegd; then bad=1; fi; \
	if grep -rnE '#include "mjpegd/' src/quotepack; then bad=1; fi; \
	if grep -rnE '#include <(curl|archive|sqlite3|turbojpeg|zstd|zlib|libdeflate)' src/core; then bad=1; fi; \
	if [ $$bad -ne 0 ]; then echo "check-deps: forbidden include above" >&2; exit 1; fi; \
	echo "check-deps: dependencies flow programs -> archive -> core -> libc"

# ---- install (mjpegd's binary, man page, systemd unit, docs) ----------------------------
include mk/install.mk

.PHONY: clean
clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
