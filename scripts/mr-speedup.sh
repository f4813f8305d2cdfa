#!/usr/bin/env bash
# wc on the eight books as real processes with 1, 2 and 4 workers, beside the sequential
# reference: wall times in seconds, and whether each output equals the reference.
#   scripts/mr-speedup.sh [INPUTS_DIR]      (QUILL=path/to/quill to use another binary)
set -euo pipefail
QUILL=${QUILL:-$PWD/target/release/quill}
IN=$(cd "${1:-../shared/mapreduce/inputs}" && pwd)
WORK=$(mktemp -d /tmp/quill-mr-speedup.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp "$IN"/pg-*.txt "$WORK"/
cd "$WORK"
now() { date +%s.%N; }
t0=$(now)
"$QUILL" mr sequential --app wc --out expected pg-*.txt
t1=$(now)
sort expected | grep . > expected.sorted
printf 'sequential  %6.2f s\n' "$(echo "$t1 - $t0" | bc)"
for n in 1 2 4; do
  rm -f mr-*
  t0=$(now)
  "$QUILL" mr coordinator --socket "$WORK/s.sock" pg-*.txt &
  while [ ! -S "$WORK/s.sock" ]; do sleep 0.01; done
  coord=$!
  pids=()
  for _ in $(seq "$n"); do "$QUILL" mr worker --app wc --socket "$WORK/s.sock" & pids+=($!); done
  # Workers exit when the coordinator answers Exit (they ask every 200 ms while waiting), so
  # their end marks the job's end; the coordinator lingers up to 2 s more (1 s Done() poll, 1 s).
  wait "${pids[@]}"
  t1=$(now)
  wait "$coord"
  if sort mr-out-* | grep . | cmp -s - expected.sorted; then same=same; else same=DIFFERENT; fi
  printf '%d workers   %6.2f s  (%s as the sequential output)\n' "$n" "$(echo "$t1 - $t0" | bc)" "$same"
done
