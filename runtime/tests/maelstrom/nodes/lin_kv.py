"""lin-kv. `python3 lin_kv.py` proxies every request to the runner's lin-kv service: linearizable.
`--forward` makes n0 the only replica: the other nodes forward each request to it unchanged (the client
stays the `src`), and n0 answers the client directly; linearizable, with messages between nodes, and
requests lost in a partition time out.
`--service lww-kv` (or `seq-kv`) proxies to that service instead, as a node that mistakes it for
lin-kv: not linearizable (stale reads, lost cas).
`--gossip` keeps a map per node, applies writes locally and tells the other nodes once, serving reads from
the local map: not linearizable (a read on another node misses a write that completed, and a partition
makes it worse)."""
import json
import sys

from node import Node

node = Node()
gossip = "--gossip" in sys.argv
service = sys.argv[sys.argv.index("--service") + 1] if "--service" in sys.argv else "lin-kv"
store = {}


def proxy(msg):
    body = dict(msg["body"])
    body.pop("msg_id", None)

    def answer(reply):
        out = dict(reply["body"])
        out.pop("msg_id", None)
        out.pop("in_reply_to", None)
        node.reply(msg, out)

    node.rpc(service, body, answer)


def local(msg):
    body = msg["body"]
    key = str(body["key"])
    kind = body["type"]
    if kind == "read":
        if key in store:
            node.reply(msg, {"type": "read_ok", "value": store[key]})
        else:
            node.reply(msg, {"type": "error", "code": 20, "text": "not found"})
        return
    if kind == "write":
        store[key] = body["value"]
        if gossip:
            for other in node.others():
                node.send(other, {"type": "set", "key": key, "value": body["value"]})
        node.reply(msg, {"type": "write_ok"})
        return
    if key not in store:
        node.reply(msg, {"type": "error", "code": 20, "text": "not found"})
    elif store[key] != body["from"]:
        node.reply(msg, {"type": "error", "code": 22, "text": "mismatch"})
    else:
        store[key] = body["to"]
        if gossip:
            for other in node.others():
                node.send(other, {"type": "set", "key": key, "value": body["to"]})
        node.reply(msg, {"type": "cas_ok"})


@node.handler("set")
def set_(msg):
    store[msg["body"]["key"]] = msg["body"]["value"]


forward = "--forward" in sys.argv


def leader(msg):
    if node.id == "n0":
        local(msg)
    else:
        forward_to_leader(msg)


def forward_to_leader(msg):
    # Sent as if by the client, so n0's reply goes straight back to it.
    with node.out:
        sys.stdout.write(json.dumps({"src": msg["src"], "dest": "n0", "body": msg["body"]}) + "\n")
        sys.stdout.flush()


for kind in ["read", "write", "cas"]:
    node.handlers[kind] = local if gossip else leader if forward else proxy

node.run()
