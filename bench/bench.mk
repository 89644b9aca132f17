# SPDX-License-Identifier: MIT
# `make bench`: builds the benchmark tools (-O2) and runs each program's benchmarks.
# Never part of `make test`. Each program's part lives in its own fragment.
B ?= build
BENCH_TARGETS :=
-include bench/mjpegd.mk
-include bench/quotepack.mk
-include bench/core.mk

.PHONY: bench
bench: $(BENCH_TARGETS)
