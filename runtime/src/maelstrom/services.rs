//! The services nodes may call as if they were nodes: `lin-kv`, `seq-kv`, `lww-kv` and `lin-tso`.
//!
//! - `lin-kv` is one linearizable map: every request sees the latest state.
//! - `seq-kv` is sequentially consistent. All writes form one log; each caller (by `src`) sees a prefix of
//!   it that never shrinks and always holds the caller's own writes. A read is served from a prefix chosen
//!   at random (seeded) between the caller's last view and the latest, so it may be stale; writes and cas
//!   apply to the latest state and move the caller's view to it. That is a legal sequentially consistent
//!   behaviour, and the staleness is what catches nodes that assume more.
//! - `lww-kv` is [`LWW_REPLICAS`] replicas merged last-write-wins, as Maelstrom's: each request goes to
//!   a replica chosen at random (seeded), which first merges the state of another replica with
//!   probability one half. Each key holds the value with the newest timestamp the replica has seen. A
//!   read may be stale and a later read may go back in time; a cas compares with the replica's value,
//!   so two concurrent cas from the same value can both succeed and one of them is then lost. That is
//!   what catches a node that uses lww-kv as if it were linearizable.
//! - `lin-tso` answers `ts` with `ts_ok{ts}`, strictly increasing.
//!
//! The kv API: `read{key}` -> `read_ok{value}` or error 20; `write{key,value}` -> `write_ok`;
//! `cas{key,from,to,create_if_not_exists?}` -> `cas_ok`, error 20 (absent, unless created) or 22
//! (`from` does not match). Anything else is answered with error 10 (not supported).

use std::collections::HashMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value as Json};

use super::protocol::{code, error_body, Message};

/// A key's writes: `(log position, value)`, in log order; `None` is absent.
type Versions = Vec<(u64, Option<Json>)>;

#[derive(Default)]
struct Store {
    keys: HashMap<String, Versions>,
    /// Writes so far (the latest log position).
    latest: u64,
    /// Each caller's view (log position), for seq-kv.
    views: HashMap<String, u64>,
}

impl Store {
    fn value_at(&self, key: &str, position: u64) -> Option<Json> {
        let versions = self.keys.get(key)?;
        let i = versions.partition_point(|(p, _)| *p <= position);
        if i == 0 {
            return None;
        }
        versions[i - 1].1.clone()
    }

    fn write(&mut self, caller: &str, key: String, value: Option<Json>) {
        self.latest += 1;
        let latest = self.latest;
        self.keys.entry(key).or_default().push((latest, value));
        self.views.insert(caller.to_string(), latest);
    }

    /// Answers a kv request; `stale` chooses the read position for seq-kv.
    fn handle(&mut self, request: &Message, stale: Option<&mut ChaCha8Rng>) -> Json {
        let body = &request.body;
        let msg_id = request.msg_id();
        let Some(key) = body.get("key") else {
            return error_body(msg_id, code::MALFORMED_REQUEST, "missing key");
        };
        let key = key.to_string();
        let caller = request.src.as_str();
        let latest = self.latest;
        match request.kind() {
            "read" => {
                let position = match stale {
                    Some(rng) => {
                        let floor = self.views.get(caller).copied().unwrap_or(0).min(latest);
                        let p = rng.gen_range(floor..=latest);
                        self.views.insert(caller.to_string(), p);
                        p
                    }
                    None => latest,
                };
                match self.value_at(&key, position) {
                    Some(value) => {
                        json!({"type": "read_ok", "in_reply_to": msg_id, "value": value})
                    }
                    None => error_body(msg_id, code::KEY_DOES_NOT_EXIST, "key does not exist"),
                }
            }
            "write" => {
                let value = body.get("value").cloned().unwrap_or(Json::Null);
                self.write(caller, key, Some(value));
                json!({"type": "write_ok", "in_reply_to": msg_id})
            }
            "cas" => {
                let from = body.get("from").cloned().unwrap_or(Json::Null);
                let to = body.get("to").cloned().unwrap_or(Json::Null);
                let create = body
                    .get("create_if_not_exists")
                    .and_then(Json::as_bool)
                    .unwrap_or(false);
                match self.value_at(&key, latest) {
                    None if create => {
                        self.write(caller, key, Some(to));
                        json!({"type": "cas_ok", "in_reply_to": msg_id})
                    }
                    None => error_body(msg_id, code::KEY_DOES_NOT_EXIST, "key does not exist"),
                    Some(current) if current == from => {
                        self.write(caller, key, Some(to));
                        json!({"type": "cas_ok", "in_reply_to": msg_id})
                    }
                    Some(current) => error_body(
                        msg_id,
                        code::PRECONDITION_FAILED,
                        &format!("expected {from}, but had {current}"),
                    ),
                }
            }
            other => error_body(
                msg_id,
                code::NOT_SUPPORTED,
                &format!("{} does not support {other}", request.dest),
            ),
        }
    }
}

/// How many replicas lww-kv has.
pub const LWW_REPLICAS: usize = 3;

/// One lww-kv replica: per key, the newest `(timestamp, value)` it has seen.
#[derive(Default, Clone)]
struct Replica {
    keys: HashMap<String, (u64, Json)>,
}

/// lww-kv: replicas merged last-write-wins (module guide).
struct Lww {
    replicas: Vec<Replica>,
    clock: u64,
}

impl Lww {
    fn new() -> Self {
        Lww {
            replicas: vec![Replica::default(); LWW_REPLICAS],
            clock: 0,
        }
    }

    fn handle(&mut self, request: &Message, rng: &mut ChaCha8Rng) -> Json {
        let r = rng.gen_range(0..self.replicas.len());
        if rng.gen_bool(0.5) {
            let other = rng.gen_range(0..self.replicas.len());
            let theirs = self.replicas[other].keys.clone();
            let mine = &mut self.replicas[r].keys;
            for (key, (ts, value)) in theirs {
                if mine.get(&key).is_none_or(|(t, _)| *t < ts) {
                    mine.insert(key, (ts, value));
                }
            }
        }
        let body = &request.body;
        let msg_id = request.msg_id();
        let Some(key) = body.get("key") else {
            return error_body(msg_id, code::MALFORMED_REQUEST, "missing key");
        };
        let key = key.to_string();
        let current = self.replicas[r].keys.get(&key).map(|(_, v)| v.clone());
        let mut write = |value: Json| {
            self.clock += 1;
            self.replicas[r]
                .keys
                .insert(key.clone(), (self.clock, value));
        };
        match request.kind() {
            "read" => match current {
                Some(value) => json!({"type": "read_ok", "in_reply_to": msg_id, "value": value}),
                None => error_body(msg_id, code::KEY_DOES_NOT_EXIST, "key does not exist"),
            },
            "write" => {
                write(body.get("value").cloned().unwrap_or(Json::Null));
                json!({"type": "write_ok", "in_reply_to": msg_id})
            }
            "cas" => {
                let from = body.get("from").cloned().unwrap_or(Json::Null);
                let to = body.get("to").cloned().unwrap_or(Json::Null);
                let create = body
                    .get("create_if_not_exists")
                    .and_then(Json::as_bool)
                    .unwrap_or(false);
                match current {
                    None if !create => {
                        error_body(msg_id, code::KEY_DOES_NOT_EXIST, "key does not exist")
                    }
                    Some(current) if current != from => error_body(
                        msg_id,
                        code::PRECONDITION_FAILED,
                        &format!("expected {from}, but had {current}"),
                    ),
                    _ => {
                        write(to);
                        json!({"type": "cas_ok", "in_reply_to": msg_id})
                    }
                }
            }
            other => error_body(
                msg_id,
                code::NOT_SUPPORTED,
                &format!("{} does not support {other}", request.dest),
            ),
        }
    }
}

/// The four services.
pub struct Services {
    lin: Store,
    seq: Store,
    lww: Lww,
    tso: u64,
    rng: ChaCha8Rng,
}

impl Services {
    pub const NAMES: &'static [&'static str] = &["lin-kv", "seq-kv", "lww-kv", "lin-tso"];

    pub fn new(rng: ChaCha8Rng) -> Self {
        Services {
            lin: Store::default(),
            seq: Store::default(),
            lww: Lww::new(),
            tso: 0,
            rng,
        }
    }

    /// The reply to `request`, addressed to its sender.
    pub fn handle(&mut self, request: &Message) -> Option<Message> {
        let body = match request.dest.as_str() {
            "lin-kv" => self.lin.handle(request, None),
            "lww-kv" => self.lww.handle(request, &mut self.rng),
            "seq-kv" => self.seq.handle(request, Some(&mut self.rng)),
            "lin-tso" if request.kind() == "ts" => {
                self.tso += 1;
                json!({"type": "ts_ok", "in_reply_to": request.msg_id(), "ts": self.tso})
            }
            "lin-tso" => error_body(
                request.msg_id(),
                code::NOT_SUPPORTED,
                "lin-tso answers ts only",
            ),
            _ => return None,
        };
        Some(Message::new(&request.dest, &request.src, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn request(src: &str, dest: &str, body: Json) -> Message {
        Message::new(src, dest, body)
    }

    #[test]
    fn lin_kv_reads_writes_and_cas_with_error_codes() {
        let mut s = Services::new(ChaCha8Rng::seed_from_u64(0));
        let r = |s: &mut Services, body: Json| s.handle(&request("n0", "lin-kv", body)).unwrap();
        let read = r(&mut s, json!({"type":"read","msg_id":1,"key":"x"}));
        assert_eq!(read.body["code"], 20);
        assert_eq!(read.dest, "n0");
        let cas = r(
            &mut s,
            json!({"type":"cas","msg_id":2,"key":"x","from":0,"to":1,"create_if_not_exists":true}),
        );
        assert_eq!(cas.kind(), "cas_ok");
        let cas = r(
            &mut s,
            json!({"type":"cas","msg_id":3,"key":"x","from":0,"to":2}),
        );
        assert_eq!(cas.body["code"], 22);
        let read = r(&mut s, json!({"type":"read","msg_id":4,"key":"x"}));
        assert_eq!((read.kind(), &read.body["value"]), ("read_ok", &json!(1)));
        assert_eq!(read.body["in_reply_to"], 4);
    }

    #[test]
    fn seq_kv_reads_may_be_stale_but_never_go_back_and_see_own_writes() {
        let mut s = Services::new(ChaCha8Rng::seed_from_u64(7));
        for v in 0..50 {
            s.handle(&request(
                "n1",
                "seq-kv",
                json!({"type":"write","msg_id":v,"key":"k","value":v}),
            ));
        }
        let mut seen = Vec::new();
        for i in 0..50 {
            let read = s
                .handle(&request(
                    "n0",
                    "seq-kv",
                    json!({"type":"read","msg_id":i,"key":"k"}),
                ))
                .unwrap();
            seen.push(read.body.get("value").and_then(Json::as_i64).unwrap_or(-1));
        }
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert!(
            seen[0] < 49,
            "the first read is stale with this seed: {seen:?}"
        );
        s.handle(&request(
            "n0",
            "seq-kv",
            json!({"type":"write","msg_id":99,"key":"k","value":100}),
        ));
        let read = s
            .handle(&request(
                "n0",
                "seq-kv",
                json!({"type":"read","msg_id":100,"key":"k"}),
            ))
            .unwrap();
        assert_eq!(read.body["value"], 100);
    }
    #[test]
    fn lww_kv_reads_go_stale_and_concurrent_cas_from_one_value_both_succeed() {
        let mut s = Services::new(ChaCha8Rng::seed_from_u64(5));
        let mut r = |body: Json| s.handle(&request("n0", "lww-kv", body)).unwrap();
        let mut stale = 0;
        let mut both = 0;
        for v in 0..200 {
            r(json!({"type":"write","msg_id":1,"key":v,"value":0}));
            let a = r(json!({"type":"cas","msg_id":2,"key":v,"from":0,"to":1}));
            let b = r(json!({"type":"cas","msg_id":3,"key":v,"from":0,"to":2}));
            if a.kind() == "cas_ok" && b.kind() == "cas_ok" {
                both += 1;
            }
            let read = r(json!({"type":"read","msg_id":4,"key":v}));
            if read.body.get("value") != Some(&json!(2)) && b.kind() == "cas_ok" {
                stale += 1;
            }
        }
        assert!(both > 0, "no lost cas in 200 tries");
        assert!(stale > 0, "no stale read in 200 tries");
    }
}
