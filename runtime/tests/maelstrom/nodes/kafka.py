"""kafka. `python3 kafka.py`: n0 holds every log and every committed offset; the other nodes forward
each request to it unchanged (the client stays the `src`, so n0 answers the client directly). Correct:
offsets are assigned by one node, in order, and never reused.
`--local`: every node keeps its own logs and offsets, as if they were one: two nodes hand out the same
offset of a key to different messages, and a poll on one node misses what was sent to another."""
import json
import sys

from node import Node

node = Node()
local = "--local" in sys.argv
logs = {}
committed = {}


def serve(msg):
    body = msg["body"]
    kind = body["type"]
    if kind == "send":
        log = logs.setdefault(body["key"], [])
        offset = len(log)
        log.append(body["msg"])
        node.reply(msg, {"type": "send_ok", "offset": offset})
    elif kind == "poll":
        out = {}
        for key, start in body["offsets"].items():
            log = logs.get(key, [])
            out[key] = [[o, log[o]] for o in range(start, min(len(log), start + 5))]
        node.reply(msg, {"type": "poll_ok", "msgs": out})
    elif kind == "commit_offsets":
        for key, offset in body["offsets"].items():
            committed[key] = max(committed.get(key, 0), offset)
        node.reply(msg, {"type": "commit_offsets_ok"})
    else:
        offsets = {k: committed[k] for k in body["keys"] if k in committed}
        node.reply(msg, {"type": "list_committed_offsets_ok", "offsets": offsets})


def handle(msg):
    if local or node.id == "n0":
        serve(msg)
        return
    with node.out:
        sys.stdout.write(json.dumps({"src": msg["src"], "dest": "n0", "body": msg["body"]}) + "\n")
        sys.stdout.flush()


for kind in ["send", "poll", "commit_offsets", "list_committed_offsets"]:
    node.handlers[kind] = handle

node.run()
