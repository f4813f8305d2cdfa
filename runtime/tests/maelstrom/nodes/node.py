"""A tiny Maelstrom node library for the runner's tests: read messages from stdin, reply on stdout."""
import json
import sys
import threading
import time


class Node:
    def __init__(self):
        self.id = None
        self.ids = []
        self.handlers = {}
        self.lock = threading.RLock()
        self.out = threading.Lock()
        self.next_id = 0
        self.callbacks = {}
        self.on_init = None

    def handler(self, kind):
        def register(fn):
            self.handlers[kind] = fn
            return fn
        return register

    def log(self, *args):
        print(*args, file=sys.stderr, flush=True)

    def send(self, dest, body):
        with self.out:
            sys.stdout.write(json.dumps({"src": self.id, "dest": dest, "body": body}) + "\n")
            sys.stdout.flush()

    def reply(self, request, body):
        body = dict(body)
        body["in_reply_to"] = request["body"]["msg_id"]
        self.send(request["src"], body)

    def rpc(self, dest, body, callback):
        with self.lock:
            self.next_id += 1
            msg_id = self.next_id
            self.callbacks[msg_id] = callback
        body = dict(body)
        body["msg_id"] = msg_id
        self.send(dest, body)

    def every(self, seconds, fn):
        def loop():
            while True:
                time.sleep(seconds)
                with self.lock:
                    fn()
        threading.Thread(target=loop, daemon=True).start()

    def others(self):
        return [n for n in self.ids if n != self.id]

    def run(self):
        for line in sys.stdin:
            msg = json.loads(line)
            body = msg["body"]
            with self.lock:
                if body["type"] == "init":
                    self.id = body["node_id"]
                    self.ids = body["node_ids"]
                    if self.on_init:
                        self.on_init()
                    self.reply(msg, {"type": "init_ok"})
                    continue
                reply_to = body.get("in_reply_to")
                if reply_to is not None and reply_to in self.callbacks:
                    self.callbacks.pop(reply_to)(msg)
                    continue
                fn = self.handlers.get(body["type"])
                if fn is None:
                    if "msg_id" in body:
                        self.reply(msg, {"type": "error", "code": 10, "text": "not supported"})
                    continue
                fn(msg)
