"""g-counter and pn-counter as a state-based CRDT: each node counts its own adds and gossips its whole
vector every 50 ms. With `--lossy` a node drops every third add it acknowledges."""
import sys

from node import Node

node = Node()
lossy = "--lossy" in sys.argv
counts = {}
seen = [0]


@node.handler("add")
def add(msg):
    seen[0] += 1
    if not (lossy and seen[0] % 3 == 0):
        counts[node.id] = counts.get(node.id, 0) + msg["body"]["delta"]
    node.reply(msg, {"type": "add_ok"})


@node.handler("read")
def read(msg):
    node.reply(msg, {"type": "read_ok", "value": sum(counts.values())})


@node.handler("gossip")
def gossip(msg):
    # A node's own count only grows in g-counter; pn-counter needs the latest, so keep a version.
    for n, (version, value) in msg["body"]["counts"].items():
        if n != node.id and version >= versions.get(n, -1):
            versions[n] = version
            counts[n] = value


versions = {}
clock = [0]


def tick():
    if node.id is None:
        return
    clock[0] += 1
    mine = {node.id: [clock[0], counts.get(node.id, 0)]}
    for n, v in counts.items():
        if n != node.id:
            mine[n] = [versions.get(n, 0), v]
    for other in node.others():
        node.send(other, {"type": "gossip", "counts": mine})


node.every(0.05, tick)
node.run()
