# SPDX-License-Identifier: MIT
# mjpegd's part of `make bench` (included by bench/bench.mk): the C load generator and the
# scenarios of docs/bench/mjpegd.md. Never part of `make test`.
ifeq ($(origin WARNINGS),undefined)
include mk/flags.mk
endif
PYTHON ?= /usr/bin/python3
MJPEGD_BENCH_ARGS ?=

$(B)/bench/loadgen: bench/loadgen.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -pthread $(WARNINGS) -o $@ $< -lm

.PHONY: bench-mjpegd
bench-mjpegd: $(B)/bench/loadgen $(B)/mjpegd
	$(PYTHON) bench/mjpegd_bench.py --mjpegd $(B)/mjpegd --loadgen $(B)/bench/loadgen $(MJPEGD_BENCH_ARGS)

BENCH_TARGETS += bench-mjpegd
