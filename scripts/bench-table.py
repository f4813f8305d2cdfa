#!/usr/bin/env python3
"""Joins `cargo bench -p quill-checker --bench corpus` output with the corpus's reference times.

Usage: cargo bench -p quill-checker --bench corpus | tee bench.log; scripts/bench-table.py bench.log
Prints a Markdown table (our median beside the reference, and the ratio) and the issue #3 targets' status.
"""
import re
import sys
from pathlib import Path

UNITS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
REFERENCE = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "reference-times.tsv"


def ours(log):
    times = {}
    # criterion: "<id>   time:   [low unit mid unit high unit]"; a long id puts "time:" on the next line.
    text = re.sub(r"\n\s+time:", " time:", log)
    for m in re.finditer(r"^(\S.*?)\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", text, re.M):
        times[m.group(1).strip()] = float(m.group(2)) * UNITS[m.group(3)]
    return times


def main():
    times = ours(Path(sys.argv[1]).read_text())
    ref = {}
    for line in REFERENCE.read_text().splitlines()[1:]:
        name, ms = line.rsplit("\t", 1)
        ref[name] = float(ms)
    print("| file | reference (ms) | quill (ms) | reference / quill |")
    print("|---|---:|---:|---:|")
    for name, r in ref.items():
        q = times.get(name)
        shown = f"{q:.3f}" if q is not None else "not measured"
        ratio = f"{r / q:.1f}x" if q else "-"
        print(f"| {name} | {r:.3f} | {shown} | {ratio} |")
    for name, q in times.items():
        if name not in ref:
            print(f"| {name} | - | {q:.3f} | - |")
    measured = [n for n in ref if n in times]
    slower = [n for n in measured if times[n] > ref[n]]
    etcd = [n for n in ref if n.startswith("etcd/")]
    etcd_ratio = sum(ref[n] for n in etcd) / sum(times[n] for n in etcd) if all(n in times for n in etcd) else None
    print()
    print(f"- files slower than the reference: {len(slower)} of {len(measured)} {slower}")
    if etcd_ratio:
        print(f"- etcd, all 50 together: {etcd_ratio:.1f}x faster (target 5x)")
    for n, target in [("porcupine-kv/c10-ok.txt (unpartitioned)", 10), ("porcupine-kv/c10-bad.txt (unpartitioned)", 10),
                      ("porcupine-kv/c50-ok.txt", 5)]:
        if n in times:
            print(f"- {n}: {ref[n] / times[n]:.1f}x faster (target {target}x)")


if __name__ == "__main__":
    main()
