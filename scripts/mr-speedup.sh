#!/usr/bin/env bash
# wc on the eight books as real processes with 1, 2 and 4 workers, beside the sequential
# reference: wall time (coordinator start to the last worker's exit), the CPU time (user+sys) of
# all the job's processes together, and whether each output equals the reference.
#   scripts/mr-speedup.sh [INPUTS_DIR] [ROUNDS]   (QUILL=path/to/quill to use another binary)
# With ROUNDS > 1 every configuration runs that many times, interleaved, one line each.
# CPU time is what a busy machine cannot inflate much; wall time only shows a speed-up when
# there are idle cores for the workers (see docs/mapreduce.md, "Measured").
set -euo pipefail
QUILL=${QUILL:-$PWD/target/release/quill}
IN=$(cd "${1:-../shared/mapreduce/inputs}" && pwd)
ROUNDS=${2:-1}
WORK=$(mktemp -d /tmp/quill-mr-speedup.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp "$IN"/pg-*.txt "$WORK"/
cd "$WORK"
now() { date +%s.%N; }
# Runs "$@" and appends its user+sys seconds to $WORK/cpu.
timed() { /usr/bin/time -a -o "$WORK/cpu" -f '%U %S' "$@"; }
cpu_sum() { awk '{s += $1 + $2} END {printf "%.2f", s}' "$WORK/cpu"; }
echo "$(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  : > "$WORK/cpu"
  t0=$(now)
  timed "$QUILL" mr sequential --app wc --out expected pg-*.txt
  t1=$(now)
  sort expected | grep . > expected.sorted
  printf 'sequential  %6.2f s wall  %5s s cpu\n' "$(echo "$t1 - $t0" | bc)" "$(cpu_sum)"
  for n in 1 2 4; do
    rm -f mr-* "$WORK/cpu"
    : > "$WORK/cpu"
    t0=$(now)
    timed "$QUILL" mr coordinator --socket "$WORK/s.sock" pg-*.txt &
    coord=$!
    while [ ! -S "$WORK/s.sock" ]; do sleep 0.01; done
    pids=()
    for _ in $(seq "$n"); do timed "$QUILL" mr worker --app wc --socket "$WORK/s.sock" & pids+=($!); done
    # Workers exit when the coordinator answers Exit, so their end marks the job's end; the
    # coordinator lingers up to 2 s more (its 1 s Done() poll and 1 s linger, as in the lab).
    wait "${pids[@]}"
    t1=$(now)
    wait "$coord"
    if sort mr-out-* | grep . | cmp -s - expected.sorted; then same=same; else same=DIFFERENT; fi
    printf '%d workers   %6.2f s wall  %5s s cpu  (%s as the sequential output)\n' \
      "$n" "$(echo "$t1 - $t0" | bc)" "$(cpu_sum)" "$same"
  done
done
