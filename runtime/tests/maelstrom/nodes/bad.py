"""Nodes that misbehave, for the runner's robustness tests: `bad.py MODE` where MODE is
- `garbage`: answers init, then prints a line that is not JSON at the first request;
- `no-init`: never answers init;
- `crash`: answers init, then exits at the first request;
- `flood`: answers init, then floods stdout with one line that never ends;
- `hang`: answers init, then never answers anything;
- `spawn`: like `hang`, but first starts a child process (`sleep`) in its group, which must die too."""
import json
import subprocess
import sys
import time

mode = sys.argv[1]
if mode == "spawn":
    child = subprocess.Popen(["sleep", "300"])
    print(f"child {child.pid}", file=sys.stderr, flush=True)
for line in sys.stdin:
    msg = json.loads(line)
    body = msg["body"]
    if body["type"] == "init":
        if mode == "no-init":
            continue
        out = {"src": body["node_id"], "dest": msg["src"],
               "body": {"type": "init_ok", "in_reply_to": body["msg_id"]}}
        print(json.dumps(out), flush=True)
        continue
    if mode == "garbage":
        print("hello, I am not JSON", flush=True)
    elif mode == "crash":
        sys.exit(7)
    elif mode == "flood":
        chunk = "x" * 65536
        while True:
            sys.stdout.write(chunk)
            sys.stdout.flush()
    elif mode in ("hang", "spawn"):
        time.sleep(0.01)
