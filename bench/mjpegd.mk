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

# The sending-cost floor of bench/send_cost.py: a bare one-thread fan-out server.
$(B)/bench/floor: bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARNINGS) -o $@ $<

.PHONY: bench-mjpegd
bench-mjpegd: $(B)/bench/loadgen $(B)/mjpegd
	$(PYTHON) bench/mjpegd_bench.py --mjpegd $(B)/mjpegd --loadgen $(B)/bench/loadgen $(MJPEGD_BENCH_ARGS)

BENCH_TARGETS += bench-mjpegd

# Issue 11: mjpegd's sending cost per viewer-frame against bench/floor (copy and sendfile).
SEND_COST_ARGS ?=
.PHONY: bench-send-cost
bench-send-cost: $(B)/bench/loadgen $(B)/bench/floor $(B)/mjpegd
	$(PYTHON) bench/send_cost.py --mjpegd $(B)/mjpegd --floor $(B)/bench/floor --loadgen $(B)/bench/loadgen $(SEND_COST_ARGS)

BENCH_TARGETS += bench-send-cost

# Issue 8: the pipe source's JPEG splitter throughput over an ffmpeg MJPEG stream (1280x720).
$(B)/bench/jpeg_split_bench: bench/jpeg_split_bench.c $(B)/libmjpegd.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -pthread -Isrc $(WARNINGS) -o $@ $< $(B)/libmjpegd.a $(B)/libcore.a

$(B)/bench/split_input.mjpeg:
	@mkdir -p $(dir $@)
	ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -t 10 -q:v 3 -f mjpeg $@

.PHONY: bench-jpeg-split
bench-jpeg-split: $(B)/bench/jpeg_split_bench $(B)/bench/split_input.mjpeg
	$(B)/bench/jpeg_split_bench $(B)/bench/split_input.mjpeg 20

BENCH_TARGETS += bench-jpeg-split

# Issue 8: the v4l2 source's cost per frame on one core, against the unit tests' fake device:
# YUYV read + convert + encode, MJPEG passthrough, and the capture-to-publish path with one
# encoder (docs/BENCHMARKS.md).
V4L2_BENCH_ARGS ?= 1280x720 300 150
$(B)/bench/v4l2_bench: bench/v4l2_bench.c tests/unit/mjpegd/fake_v4l2.c tests/unit/mjpegd/fake_v4l2.h $(B)/libmjpegd.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -pthread -Isrc $(WARNINGS) -o $@ bench/v4l2_bench.c tests/unit/mjpegd/fake_v4l2.c $(B)/libmjpegd.a $(B)/libarchive_w.a $(B)/libcore.a -lturbojpeg -lcurl -lm

.PHONY: bench-v4l2
bench-v4l2: $(B)/bench/v4l2_bench
	$(B)/bench/v4l2_bench $(V4L2_BENCH_ARGS)

BENCH_TARGETS += bench-v4l2

# Issue 8: the http:// source's multipart parser alone (MB/s, us per part) over the JPEGs of the
# splitter bench's input, fed in 16 KiB chunks as curl delivers them.
$(B)/bench/multipart_bench: bench/multipart_bench.c $(B)/libmjpegd.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -pthread -Isrc $(WARNINGS) -o $@ $< $(B)/libmjpegd.a $(B)/libcore.a

.PHONY: bench-multipart
bench-multipart: $(B)/bench/multipart_bench $(B)/bench/split_input.mjpeg
	$(B)/bench/multipart_bench $(B)/bench/split_input.mjpeg 20

BENCH_TARGETS += bench-multipart

# Issue 8: the http:// source's CPU per relayed frame (no viewer) against file: and pipe: fed the
# same JPEGs (bench/relay_cost.py).
RELAY_COST_ARGS ?=
.PHONY: bench-relay
bench-relay: $(B)/mjpegd $(B)/bench/split_input.mjpeg
	$(PYTHON) bench/relay_cost.py --mjpegd $(B)/mjpegd --frames $(B)/bench/split_input.mjpeg $(RELAY_COST_ARGS)

BENCH_TARGETS += bench-relay

# Issue 14: motion detection's cost per frame (1/8-scale luma decode + compare against the
# background) at 1280x720 and 1920x1080, against a full-size grey decode (docs/BENCHMARKS.md).
MOTION_BENCH_PASSES ?= 5
$(B)/bench/motion_bench: bench/motion_bench.c bench/bench_frames.h $(B)/libmjpegd.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -pthread -Isrc $(WARNINGS) -o $@ $< $(B)/libmjpegd.a $(B)/libcore.a -lturbojpeg -lm

$(B)/bench/motion_1080.mjpeg:
	@mkdir -p $(dir $@)
	ffmpeg -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 5 -q:v 3 -f mjpeg $@

.PHONY: bench-motion
bench-motion: $(B)/bench/motion_bench $(B)/bench/split_input.mjpeg $(B)/bench/motion_1080.mjpeg
	$(B)/bench/motion_bench $(B)/bench/split_input.mjpeg $(MOTION_BENCH_PASSES)
	$(B)/bench/motion_bench $(B)/bench/motion_1080.mjpeg $(MOTION_BENCH_PASSES)

BENCH_TARGETS += bench-motion

# Issue 14: what --record costs per frame (the recorder's threads' CPU, bytes/s, drops), with
# the whole process with and without --record beside it (docs/BENCHMARKS.md).
RECORD_COST_ARGS ?= --size 1280x720 --fps 30 --window 10 --repeat 3
.PHONY: bench-record
bench-record: $(B)/mjpegd
	$(PYTHON) bench/record_cost.py --mjpegd $(B)/mjpegd $(RECORD_COST_ARGS)

BENCH_TARGETS += bench-record

# Issue 14: the recorder's writer thread per frame with --record-on motion (moving and still
# pattern) against --record-on always (bench/motion_record_cost.py, docs/BENCHMARKS.md).
MOTION_RECORD_ARGS ?= --size 1280x720 --fps 30 --window 10 --repeat 3
.PHONY: bench-motion-record
bench-motion-record: $(B)/mjpegd
	$(PYTHON) bench/motion_record_cost.py --mjpegd $(B)/mjpegd $(MOTION_RECORD_ARGS)

BENCH_TARGETS += bench-motion-record
# Issue 14: what playing recordings back costs per frame (the play/N readers, the loop) and
# that a live viewer on the same loop keeps its rate (docs/BENCHMARKS.md).
PLAYBACK_COST_ARGS ?= --size 1280x720 --fps 30 --segment 5 --clients 1,8,32
.PHONY: bench-playback
bench-playback: $(B)/mjpegd
	$(PYTHON) bench/playback_cost.py --mjpegd $(B)/mjpegd $(PLAYBACK_COST_ARGS)

BENCH_TARGETS += bench-playback

# The software --flip's CPU per frame (src/mjpegd/flip.c) at 1280x720 and 1920x1080: lossless
# tjTransform, the decode + mirror + encode fallback, and the YUV420P plane flip
# (docs/BENCHMARKS.md, "Software flip").
FLIP_BENCH_PASSES ?= 3
$(B)/bench/flip_bench: bench/flip_bench.c bench/bench_frames.h $(B)/libmjpegd.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -pthread -Isrc $(WARNINGS) -o $@ $< $(B)/libmjpegd.a $(B)/libcore.a -lturbojpeg -lm

.PHONY: bench-flip
bench-flip: $(B)/bench/flip_bench $(B)/bench/split_input.mjpeg $(B)/bench/motion_1080.mjpeg
	$(B)/bench/flip_bench $(B)/bench/split_input.mjpeg $(FLIP_BENCH_PASSES)
	$(B)/bench/flip_bench $(B)/bench/motion_1080.mjpeg $(FLIP_BENCH_PASSES)

BENCH_TARGETS += bench-flip
