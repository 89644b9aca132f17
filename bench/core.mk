# SPDX-License-Identifier: MIT
# The core's benchmarks, included by bench/bench.mk: core_queue throughput and core_procpool
# round trip (bench/core_bench.c; numbers and commands in docs/BENCHMARKS.md). Never in make test.
CORE_BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -pthread -Isrc -Wall -Wextra
CORE_BENCH_ARGS ?=

$(B)/bench/core_bench: bench/core_bench.c $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CORE_BENCH_CFLAGS) -o $@ $< $(B)/libcore.a -lm

.PHONY: bench-core
bench-core: $(B)/bench/core_bench
	$(B)/bench/core_bench $(CORE_BENCH_ARGS)

BENCH_TARGETS += bench-core
