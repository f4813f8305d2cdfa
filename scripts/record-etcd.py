#!/usr/bin/env python3
"""Record a history from a real 3-member etcd cluster under faults, in Quill's JSON format.

Starts three etcd members on 127.0.0.1 (client ports BASE..BASE+2, peer ports BASE+10..BASE+12, data in
a temporary directory), runs concurrent clients against random members through etcd's HTTP/JSON gateway
(the v3 API: /v3/kv/range, /v3/kv/put, /v3/kv/txn), and meanwhile pauses members (SIGSTOP, then
SIGCONT) and kills them (SIGKILL, then restarts them on the same data).

What each client records:
- an operation that got a response is completed, with its output;
- a request refused at connect time (the member is down) never reached etcd: it is recorded as
  `failed` (known to have had no effect);
- a request that timed out, or failed in any other way, may or may not have taken effect: it is
  recorded with no response (`"return": null`), and the client goes on under a new client id, since
  a client may have only one operation outstanding.

Workloads:
- kv: get and put of several keys (`--keys`), each put with a value never written before;
- cas-register: one key, read, write and compare-and-set (a txn comparing the value) of small
  integers, as Jepsen's etcd test does.

Times are nanoseconds since the start of the run (time.monotonic_ns). Every process the script starts
is killed, and its data removed, on success, on failure and on Ctrl-C.

    scripts/record-etcd.py --workload kv --ops 20000 -o checker/tests/data/etcd-kv.json
    scripts/record-etcd.py --workload cas-register --ops 4000 -o checker/tests/data/etcd-cas.json
"""

import argparse
import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

MEMBERS = 3


def b64(text):
    return base64.b64encode(text.encode()).decode()


def unb64(text):
    return base64.b64decode(text).decode()


class Cluster:
    """Three etcd members, started and stopped by this script only."""

    def __init__(self, base_port, etcd, log):
        self.dir = tempfile.mkdtemp(prefix="quill-etcd-")
        self.base = base_port
        self.etcd = etcd
        self.log = log
        self.procs = [None] * MEMBERS
        self.paused = [False] * MEMBERS
        self.lock = threading.Lock()
        self.initial = ",".join(
            f"m{i}=http://127.0.0.1:{self.peer_port(i)}" for i in range(MEMBERS)
        )

    def client_port(self, i):
        return self.base + i

    def peer_port(self, i):
        return self.base + 10 + i

    def start(self, i):
        args = [
            self.etcd,
            "--name", f"m{i}",
            "--data-dir", os.path.join(self.dir, f"m{i}"),
            "--listen-client-urls", f"http://127.0.0.1:{self.client_port(i)}",
            "--advertise-client-urls", f"http://127.0.0.1:{self.client_port(i)}",
            "--listen-peer-urls", f"http://127.0.0.1:{self.peer_port(i)}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_port(i)}",
            "--initial-cluster", self.initial,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", "quill-record",
            "--heartbeat-interval", "50",
            "--election-timeout", "500",
        ]
        with self.lock:
            self.procs[i] = subprocess.Popen(
                args, stdout=self.log, stderr=self.log, start_new_session=True
            )
            self.paused[i] = False

    def start_all(self):
        for i in range(MEMBERS):
            self.start(i)

    def pause(self, i):
        with self.lock:
            proc = self.procs[i]
            if proc and proc.poll() is None and not self.paused[i]:
                proc.send_signal(signal.SIGSTOP)
                self.paused[i] = True

    def resume(self, i):
        with self.lock:
            proc = self.procs[i]
            if proc and proc.poll() is None and self.paused[i]:
                proc.send_signal(signal.SIGCONT)
            self.paused[i] = False

    def kill(self, i):
        with self.lock:
            proc = self.procs[i]
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait()
            self.procs[i] = None
            self.paused[i] = False

    def stop_all(self):
        for i in range(MEMBERS):
            try:
                self.kill(i)
            except Exception as err:  # keep cleaning up the others
                print(f"record-etcd: stopping member {i}: {err}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                post(self.client_port(0), "/v3/kv/put", {"key": b64("health"), "value": b64("ok")}, 1.0)
                return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError("the etcd cluster did not become healthy")


class Refused(Exception):
    """The connection was refused: the request never reached etcd."""


def post(port, path, body, timeout):
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.URLError as err:
        if isinstance(err.reason, ConnectionRefusedError):
            raise Refused() from err
        raise


class Recorder:
    """The shared history and client ids."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []
        self.next_client = 0
        self.next_value = 0
        self.t0 = time.monotonic_ns()

    def now(self):
        return time.monotonic_ns() - self.t0

    def new_client(self):
        with self.lock:
            self.next_client += 1
            return self.next_client - 1

    def fresh_value(self):
        with self.lock:
            self.next_value += 1
            return self.next_value

    def add(self, op):
        with self.lock:
            self.ops.append(op)
            return len(self.ops)


def kv_op(rng, recorder, keys):
    key = f"k{rng.randrange(keys)}"
    if rng.random() < 0.5:
        return {"op": "get", "key": key}, ("/v3/kv/range", {"key": b64(key)})
    value = f"v{recorder.fresh_value()}"
    return {"op": "put", "key": key, "value": value}, (
        "/v3/kv/put",
        {"key": b64(key), "value": b64(value)},
    )


def kv_output(input, response):
    if input["op"] == "get":
        kvs = response.get("kvs") or []
        return {"value": unb64(kvs[0]["value"]) if kvs else ""}
    return None


def cas_op(rng, recorder, _keys):
    key = b64("r")
    roll = rng.random()
    if roll < 0.4:
        return {"op": "read"}, ("/v3/kv/range", {"key": key})
    if roll < 0.7:
        value = rng.randrange(5)
        return {"op": "write", "value": value}, ("/v3/kv/put", {"key": key, "value": b64(str(value))})
    old, new = rng.randrange(5), rng.randrange(5)
    txn = {
        "compare": [
            {"key": key, "target": "VALUE", "result": "EQUAL", "value": b64(str(old))}
        ],
        "success": [{"requestPut": {"key": key, "value": b64(str(new))}}],
    }
    return {"op": "cas", "from": old, "to": new}, ("/v3/kv/txn", txn)


def cas_output(input, response):
    if input["op"] == "read":
        kvs = response.get("kvs") or []
        return {"value": int(unb64(kvs[0]["value"])) if kvs else None}
    if input["op"] == "cas":
        return {"ok": bool(response.get("succeeded", False))}
    return None


WORKLOADS = {"kv": (kv_op, kv_output), "cas-register": (cas_op, cas_output)}


def client_loop(seed, args, cluster, recorder, stop):
    rng = random.Random(seed)
    make, output_of = WORKLOADS[args.workload]
    client = recorder.new_client()
    while not stop.is_set():
        input, (path, body) = make(rng, recorder, args.keys)
        member = rng.randrange(MEMBERS)
        call = recorder.now()
        op = {"client": client, "call": call, "return": None, "input": input, "output": None}
        try:
            response = post(cluster.client_port(member), path, body, args.request_timeout)
            op["return"] = recorder.now()
            op["output"] = output_of(input, response)
        except Refused:
            op["return"] = recorder.now()
            op["failed"] = True
        except Exception:
            # Timed out or broke off: it may have taken effect. The client goes on under a new id.
            client = recorder.new_client()
        if recorder.add(op) >= args.ops:
            stop.set()


def nemesis_loop(seed, args, cluster, stop, faults, recorder):
    rng = random.Random(seed)
    while not stop.wait(rng.uniform(0.3, 1.0) * args.fault_every):
        member = rng.randrange(MEMBERS)
        start = recorder.now()
        if rng.random() < 0.6:
            cluster.pause(member)
            stop.wait(rng.uniform(0.5, 1.5))
            cluster.resume(member)
            text = f"paused m{member}"
        else:
            cluster.kill(member)
            stop.wait(rng.uniform(0.5, 1.5))
            if not stop.is_set():
                cluster.start(member)
            text = f"killed m{member}"
        faults.append({"tag": "nemesis", "start": start, "end": recorder.now(), "text": text})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="kv")
    parser.add_argument("--ops", type=int, default=2000, help="operations to record")
    parser.add_argument("--clients", type=int, default=10, help="concurrent client threads")
    parser.add_argument("--keys", type=int, default=5, help="keys of the kv workload")
    parser.add_argument("--request-timeout", type=float, default=0.5, help="seconds")
    parser.add_argument("--fault-every", type=float, default=3.0, help="mean seconds between faults")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-port", type=int, default=23790)
    parser.add_argument("--etcd", default=shutil.which("etcd") or "/usr/bin/etcd")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()

    log = open(os.devnull, "wb")
    cluster = Cluster(args.base_port, args.etcd, log)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        cluster.start_all()
        cluster.wait_healthy(30)
        recorder = Recorder()
        faults = []
        threads = [
            threading.Thread(target=client_loop, args=(args.seed * 1000 + c, args, cluster, recorder, stop), daemon=True)
            for c in range(args.clients)
        ]
        threads.append(
            threading.Thread(target=nemesis_loop, args=(args.seed, args, cluster, stop, faults, recorder), daemon=True)
        )
        for t in threads:
            t.start()
        while not stop.wait(0.5):
            pass
        for t in threads:
            t.join(timeout=args.request_timeout + 5)
        ops = sorted(recorder.ops, key=lambda op: op["call"])
        history = {"model": args.workload, "operations": ops, "annotations": faults}
        with open(args.output, "w") as out:
            out.write("{\"model\": %s,\n \"operations\": [\n" % json.dumps(args.workload))
            out.write(",\n".join("  " + json.dumps(op) for op in ops))
            out.write("\n ],\n \"annotations\": [\n")
            out.write(",\n".join("  " + json.dumps(f) for f in faults))
            out.write("\n ]}\n")
        pending = sum(1 for op in ops if op["return"] is None)
        failed = sum(1 for op in ops if op.get("failed"))
        print(
            f"record-etcd: {len(ops)} operations, {pending} without a response, {failed} refused, "
            f"{recorder.next_client} clients, {len(faults)} faults -> {args.output}"
        )
        del history
    except KeyboardInterrupt:
        print("record-etcd: interrupted, cleaning up", file=sys.stderr)
        stop.set()
        return 130
    finally:
        stop.set()
        cluster.stop_all()
        signal.signal(signal.SIGTERM, previous)
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
