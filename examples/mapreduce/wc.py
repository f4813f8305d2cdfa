#!/usr/bin/env python3
"""Word count for `quill mr worker --app external`, in the manner of Hadoop Streaming.

    python3 wc.py map      stdin: one input file's contents; stdout: "word<TAB>1" per word
    python3 wc.py reduce   stdin: "key<TAB>value" lines sorted by key; stdout: "word<TAB>count"

A word is a maximal run of letters, as in the lab's wc.go. The map task's file name is in the
environment variable MR_INPUT_FILE (unused here).
"""

import itertools
import re
import sys

# Letters: word characters that are neither digits nor the underscore.
WORD = re.compile(r"[^\W\d_]+")


def map_records(text):
    for word in WORD.findall(text):
        yield word, "1"


def reduce_records(lines):
    records = (line.rstrip("\n").split("\t", 1) for line in lines if line.strip("\n"))
    for key, group in itertools.groupby(records, key=lambda kv: kv[0]):
        yield key, str(sum(1 for _ in group))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    out = sys.stdout
    if mode == "map":
        text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
        for k, v in map_records(text):
            out.write(f"{k}\t{v}\n")
    elif mode == "reduce":
        for k, v in reduce_records(sys.stdin):
            out.write(f"{k}\t{v}\n")
    else:
        sys.exit("usage: wc.py map|reduce")


if __name__ == "__main__":
    main()
