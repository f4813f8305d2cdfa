"""g-counter kept in the runner's seq-kv service under one key, updated by read and cas. seq-kv may serve
stale reads, so a read of the counter may miss adds other nodes made. By default a read first writes a key
of its own, which moves this node's view of seq-kv to the latest state, and then reads: correct. With
`--naive` it just reads, and its final read can be stale."""
import sys

from node import Node

node = Node()
naive = "--naive" in sys.argv
KEY = "counter"
syncs = [0]


def add(msg):
    delta = msg["body"]["delta"]

    def attempt():
        def got(reply):
            current = reply["body"].get("value", 0) if reply["body"]["type"] == "read_ok" else 0

            def done(cas_reply):
                if cas_reply["body"]["type"] == "cas_ok":
                    node.reply(msg, {"type": "add_ok"})
                else:
                    attempt()

            node.rpc("seq-kv", {"type": "cas", "key": KEY, "from": current, "to": current + delta,
                                "create_if_not_exists": True}, done)

        node.rpc("seq-kv", {"type": "read", "key": KEY}, got)

    attempt()


def read(msg):
    def got(reply):
        value = reply["body"].get("value", 0) if reply["body"]["type"] == "read_ok" else 0
        node.reply(msg, {"type": "read_ok", "value": value})

    if naive:
        node.rpc("seq-kv", {"type": "read", "key": KEY}, got)
        return
    syncs[0] += 1
    node.rpc("seq-kv", {"type": "write", "key": f"sync-{node.id}", "value": syncs[0]},
             lambda _: node.rpc("seq-kv", {"type": "read", "key": KEY}, got))


node.handlers["add"] = add
node.handlers["read"] = read
node.run()
