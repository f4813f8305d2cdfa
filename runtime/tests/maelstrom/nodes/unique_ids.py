"""unique-ids: `python3 unique_ids.py` is correct (node id and a counter); with `--bad` every node counts
from 0 alone, so two nodes hand out the same ids."""
import sys

from node import Node

node = Node()
bad = "--bad" in sys.argv
count = [0]


@node.handler("generate")
def generate(msg):
    count[0] += 1
    ident = count[0] if bad else f"{node.id}-{count[0]}"
    node.reply(msg, {"type": "generate_ok", "id": ident})


node.run()
