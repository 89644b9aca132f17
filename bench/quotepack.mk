# SPDX-License-Identifier: MIT
# quotepack's benchmarks, included by bench/bench.mk: conversion alone (bench/convert_bench.c).
QP_BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -pthread -Isrc -Wall -Wextra

$(B)/bench/convert_bench: bench/convert_bench.c $(B)/libquotepack.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(QP_BENCH_CFLAGS) -o $@ $< $(B)/libquotepack.a $(B)/libcore.a -lm

.PHONY: bench-quotepack-convert
bench-quotepack-convert: $(B)/bench/convert_bench
	$(B)/bench/convert_bench --symbols 100 --rows 5000 --jobs $$(nproc) --rounds 3

BENCH_TARGETS += bench-quotepack-convert

# End to end against a private nginx on loopback, beside the seed design ported to Python 3.
.PHONY: bench-quotepack-e2e
bench-quotepack-e2e:
	/usr/bin/python3 bench/quotepack_e2e.py --quotepack $(B)/quotepack

BENCH_TARGETS += bench-quotepack-e2e

# Many small files (symbols/s, system calls per symbol) and one 1 GB file (peak RSS).
.PHONY: bench-quotepack-scale
bench-quotepack-scale:
	/usr/bin/python3 bench/quotepack_scale.py --quotepack $(B)/quotepack --strace

BENCH_TARGETS += bench-quotepack-scale

# The daily refresh (issue 15): `quotepack update` after one new row per symbol against a full
# refetch, 5,000 symbols from a loopback fixture server (bench/quotepack_daily.py).
.PHONY: bench-quotepack-daily
bench-quotepack-daily:
	/usr/bin/python3 bench/quotepack_daily.py --quotepack $(B)/quotepack --symbols 5000

BENCH_TARGETS += bench-quotepack-daily

# Wide CSV headers fed a byte at a time and in 16 KiB pieces (bench/wide_header_bench.c).
$(B)/bench/wide_header_bench: bench/wide_header_bench.c $(B)/libquotepack.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(QP_BENCH_CFLAGS) -o $@ $< $(B)/libquotepack.a $(B)/libcore.a -lm

.PHONY: bench-quotepack-wide
bench-quotepack-wide: $(B)/bench/wide_header_bench
	$(B)/bench/wide_header_bench
	$(B)/bench/wide_header_bench --detect
	$(B)/bench/wide_header_bench --no-newline --pieces 1
	$(B)/bench/wide_header_bench --convert --columns 3000,6000,12000,16000
	$(B)/bench/wide_header_bench --convert --same-names --columns 3000,6000,12000,16000 --pieces 16384

BENCH_TARGETS += bench-quotepack-wide
