"""g-set and broadcast. Correct by default: every node gossips its whole set to the others (broadcast:
to its neighbours) every 50 ms, so it heals after partitions. With `--once` an element is sent to the
other nodes once, when added, and never again: lost across a partition."""
import sys

from node import Node

node = Node()
once = "--once" in sys.argv
elements = set()
neighbours = []


def peers():
    return neighbours or node.others()


def add(value):
    new = value not in elements
    elements.add(value)
    if once and new:
        for other in peers():
            node.send(other, {"type": "gossip", "elements": [value]})


@node.handler("add")
def add_handler(msg):
    add(msg["body"]["element"])
    node.reply(msg, {"type": "add_ok"})


@node.handler("broadcast")
def broadcast(msg):
    add(msg["body"]["message"])
    node.reply(msg, {"type": "broadcast_ok"})


@node.handler("topology")
def topology(msg):
    neighbours.extend(msg["body"]["topology"][node.id])
    node.reply(msg, {"type": "topology_ok"})


@node.handler("read")
def read(msg):
    field = "messages" if broadcast_mode[0] else "value"
    node.reply(msg, {"type": "read_ok", field: sorted(elements)})


@node.handler("gossip")
def gossip(msg):
    for e in msg["body"]["elements"]:
        if e not in elements:
            elements.add(e)
            if once:
                pass


broadcast_mode = ["--broadcast" in sys.argv]


def tick():
    if not once and node.id is not None:
        for other in peers():
            node.send(other, {"type": "gossip", "elements": sorted(elements)})


node.every(0.05, tick)
node.run()
