#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: bench/idle_cpu.sh BINARY SECONDS -> % of a core, 1280x720 30 fps test pattern, 0 viewers
$1 --listen 127.0.0.1:0 --size 1280x720 --fps 30 >/dev/null 2>&1 &
pid=$!
sleep 2
a=$(awk '{print $14+$15}' /proc/$pid/stat)
sleep $2
b=$(awk '{print $14+$15}' /proc/$pid/stat)
kill $pid; wait $pid 2>/dev/null
echo "$1: $(echo "($b-$a)*100/$(getconf CLK_TCK)/$2" | bc -l | cut -c1-5) % of a core"
