#!/usr/bin/env bash
# The same evidence every run (issue #11 §3): `quill check --json --no-timings` and `quill check --explain
# --no-timings` print the same bytes on every run, at one thread and at two, for every file of the shared
# corpus and for generated histories (anomalies, operations without a response).
#
# Usage: scripts/determinism.sh [QUILL] [RUNS]   (default: target/release/quill, 10 runs per thread count)
# Prints one line per file and mode with the number of distinct outputs (1 is right), and exits 1 if any
# file gave more than one.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
quill=${1:-$here/target/release/quill}
runs=${2:-10}
corpus=$here/../shared/corpus
[ -d "$corpus" ] || { echo "the shared corpus is missing: $corpus" >&2; exit 3; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=("$corpus"/etcd/*.log "$corpus"/porcupine-kv/*.txt)
gen() { local name=$1; shift; "$quill" gen "$@" -o "$work/$name" >/dev/null; files+=("$work/$name"); }
gen kv-lost-write.json --model kv --keys 12 --ops 1500 --anomaly lost-write --seed 3
gen kv-stale-read.json --model kv --keys 6 --ops 1200 --clients 12 --anomaly stale-read
gen cas-pending.json --model cas-register --ops 300 --clients 6 --pending-rate 0.15
gen register-pending-bad.json --model register --ops 80 --clients 5 --pending-rate 0.15 --anomaly stale-read --seed 2
gen cas-stale-read.json --model cas-register --ops 200 --clients 5 --anomaly stale-read --seed 4
bad=0
for file in "${files[@]}"; do
    for mode in --json --explain; do
        for threads in 1 2; do
            for ((run = 0; run < runs; run++)); do
                { RAYON_NUM_THREADS=$threads "$quill" check "$mode" --no-timings "$file" || echo "exit=$?"; } | md5sum
            done
        done | sort -u >"$work/sums"
        n=$(wc -l <"$work/sums")
        echo "$n $mode $(basename "$file")"
        [ "$n" = 1 ] || bad=1
    done
done
echo "files: ${#files[@]}, runs per file and mode: $((2 * runs)), all identical: $([ $bad = 0 ] && echo yes || echo NO)"
exit $bad
