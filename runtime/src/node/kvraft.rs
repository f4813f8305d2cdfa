//! `quill node kvraft`: the sans-IO [`kvraft::KvServer`] as a Maelstrom lin-kv node.
//!
//! # What the driver does
//! - **Time**: milliseconds since the process started are the core's `now`; the loop wakes at
//!   [`kvraft::KvServer::next_deadline`] (and at least every 100 ms) to feed it a `Tick`.
//! - **Persistence**: every `Persist` the core emits is saved through a [`FilePersister`] (fsync'd,
//!   atomic rename) *before* the outputs that follow it in the same step are carried out, as Raft
//!   requires: a vote or an acknowledgement is never sent for state that a kill could lose. A node
//!   killed and restarted gets `init` again and comes back from what it persisted.
//! - **Peers**: a Raft message to peer `i` is a Maelstrom message to `node_ids[i]` whose body is
//!   `{"type": "raft", "raft": <the message, serde-encoded>}` (`Peers`: the runner's network, or
//!   TCP, see [`super::tcp`]).
//! - **Clients**: `read`, `write` and `cas` become [`kvraft::Op`]s (keys and values stored as their
//!   JSON text, so "" means a key never written), with the client's name as its [`kvraft::ClientId`]
//!   and its `msg_id` as the sequence number, so the duplicate table absorbs a request delivered twice.
//!   A node that is not the leader forwards the request to the leader it knows of (`forward` /
//!   `forward_ok`, answered through it); knowing none, it answers error 11.
//!
//! # Error codes (Maelstrom's, definite vs indefinite)
//! - 20 key-does-not-exist: a read or cas of a key never written (definite: it observed absence).
//! - 22 precondition-failed: a cas whose `from` did not match (definite).
//! - 11 temporarily-unavailable: not proposed at all (no leader known; a forward that reached a
//!   non-leader). Definite: nothing entered the log, so the client may retry elsewhere.
//! - 0 timeout: proposed but not known to have committed (leadership lost, the entry did not commit
//!   in time). Indefinite: the entry may still commit later.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use kvraft::{ClientId, Input, KvServer, Op, Output, Reply, Request};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value as Json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::persister::FilePersister;
use super::{NodeError, Options, Peers, Stdout};
use crate::maelstrom::protocol::{code, error_body, Message};

/// A forwarded request is forgotten after this long (its client has timed out by then).
const FORWARD_TTL: Duration = Duration::from_secs(3);

/// The operation a client asked for, to shape its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Cas,
}

impl Kind {
    fn of(op: &Op) -> Kind {
        match op {
            Op::Get { .. } => Kind::Read,
            Op::Cas { .. } => Kind::Cas,
            Op::Put { .. } | Op::Append { .. } => Kind::Write,
        }
    }
}

/// Who waits for a request's answer.
#[derive(Debug)]
enum Waiter {
    /// A client of this node.
    Client {
        src: String,
        msg_id: Option<u64>,
        kind: Kind,
    },
    /// A peer that forwarded its client's request here.
    Peer {
        from: String,
        fwd_id: u64,
        kind: Kind,
    },
}

/// One node: the core, its persister, and the requests in flight.
struct Node {
    server: KvServer,
    persister: FilePersister,
    me: usize,
    names: Vec<String>,
    out: Stdout,
    peers: Peers,
    start: Instant,
    next_token: u64,
    waiting: BTreeMap<u64, Waiter>,
    /// Requests forwarded to the leader: their client, and when they were sent.
    forwarded: BTreeMap<u64, (Waiter, Instant)>,
    leader_seen: Option<(u64, bool)>,
}

/// Serves as a kvraft node until stdin closes.
pub async fn serve(options: Options) -> Result<(), NodeError> {
    let out = Stdout::new();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let (init, me, names) = super::await_init(&mut lines, &out).await?;
    let dir = options.data_dir_for(&names[me]);
    let (persister, state, snapshot) = FilePersister::open(&dir)?;
    let mut cfg = kvraft::Config::new(me, names.len());
    cfg.rsm.maxraftstate = Some(options.max_raft_state);
    let rng = Box::new(ChaCha8Rng::seed_from_u64(
        options.seed ^ (me as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    ));
    let restored = !state.is_empty() || !snapshot.is_empty();
    let server = if restored {
        KvServer::restore(cfg, 0, rng, &state, &snapshot).map_err(|source| NodeError::Restore {
            dir: dir.clone(),
            source,
        })?
    } else {
        KvServer::new(cfg, 0, rng)
    };
    eprintln!(
        "{}: kvraft node {me} of {}, state in {} ({})",
        names[me],
        names.len(),
        dir.display(),
        if restored {
            format!(
                "restored: term {}, {} log entries, snapshot through {}",
                server.raft().term(),
                server.raft().last_log_index(),
                server.raft().snapshot_index()
            )
        } else {
            "fresh".into()
        }
    );
    let (peer_tx, mut peer_rx) = mpsc::unbounded_channel::<Message>();
    let peers = Peers::start(&options, me, &names, peer_tx).await?;
    out.reply(&init, json!({"type": "init_ok"}));
    let mut node = Node {
        server,
        persister,
        me,
        names,
        out,
        peers,
        start: Instant::now(),
        next_token: 0,
        waiting: BTreeMap::new(),
        forwarded: BTreeMap::new(),
        leader_seen: None,
    };
    loop {
        let now = node.now();
        let wake = node.server.next_deadline().clamp(now, now + 100);
        let wake = tokio::time::Instant::from_std(node.start + Duration::from_millis(wake));
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => match Message::parse(&line) {
                    Ok(m) => node.on_message(m)?,
                    Err(reason) => eprintln!("{}: ignoring a line that is not a message ({reason}): {line}", node.names[node.me]),
                },
                Ok(None) => return Ok(()),
                Err(source) => return Err(NodeError::Io { what: "reading stdin", source }),
            },
            Some(m) = peer_rx.recv() => node.on_message(m)?,
            _ = tokio::time::sleep_until(wake) => {
                node.step(Input::Tick)?;
                node.expire_forwards();
            }
        }
    }
}

impl Node {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn on_message(&mut self, m: Message) -> Result<(), NodeError> {
        match m.kind() {
            "raft" => {
                let Some(from) = self.names.iter().position(|n| *n == m.src) else {
                    eprintln!("raft message from {}, not a node", m.src);
                    return Ok(());
                };
                match serde_json::from_value::<raft::Message>(m.body["raft"].clone()) {
                    Ok(msg) => self.step(Input::Raft { from, msg })?,
                    Err(e) => eprintln!("a bad raft message from {}: {e}", m.src),
                }
            }
            "read" | "write" | "cas" => {
                let waiter = Waiter::Client {
                    src: m.src.clone(),
                    msg_id: m.msg_id(),
                    kind: match m.kind() {
                        "read" => Kind::Read,
                        "write" => Kind::Write,
                        _ => Kind::Cas,
                    },
                };
                match client_request(&m) {
                    Ok(req) => self.submit(req, waiter, true)?,
                    Err(e) => {
                        let text = e.to_string();
                        self.answer(waiter, error_body(None, code::MALFORMED_REQUEST, &text))
                    }
                }
            }
            "forward" => {
                let fwd_id = m.body.get("fwd_id").and_then(Json::as_u64).unwrap_or(0);
                match serde_json::from_value::<Request>(m.body["req"].clone()) {
                    Ok(req) => {
                        let waiter = Waiter::Peer {
                            from: m.src.clone(),
                            fwd_id,
                            kind: Kind::of(&req.op),
                        };
                        self.submit(req, waiter, false)?;
                    }
                    Err(e) => eprintln!("a bad forward from {}: {e}", m.src),
                }
            }
            "forward_ok" => {
                let fwd_id = m.body.get("fwd_id").and_then(Json::as_u64).unwrap_or(0);
                if let Some((waiter, _)) = self.forwarded.remove(&fwd_id) {
                    self.answer(waiter, m.body["reply"].clone());
                }
            }
            "init" => self.out.reply(&m, json!({"type": "init_ok"})),
            _ => {
                if m.msg_id().is_some() {
                    let text = format!("kvraft serves read, write and cas, not {}", m.kind());
                    self.out
                        .reply(&m, error_body(None, code::NOT_SUPPORTED, &text));
                }
            }
        }
        Ok(())
    }

    /// Proposes `req` if this node leads; else forwards it to the leader (`may_forward`), or says no.
    fn submit(&mut self, req: Request, waiter: Waiter, may_forward: bool) -> Result<(), NodeError> {
        if self.server.is_leader() {
            self.next_token += 1;
            let token = self.next_token;
            self.waiting.insert(token, waiter);
            return self.step(Input::Request { token, req });
        }
        match self.server.raft().leader_hint() {
            Some(leader) if may_forward && leader != self.me => {
                self.next_token += 1;
                let fwd_id = self.next_token;
                let body = json!({"type": "forward", "fwd_id": fwd_id, "req": req});
                self.peers
                    .send(&self.out, &self.names[self.me], &self.names[leader], body);
                self.forwarded.insert(fwd_id, (waiter, Instant::now()));
            }
            _ => self.answer(
                waiter,
                error_body(None, code::TEMPORARILY_UNAVAILABLE, "not the leader"),
            ),
        }
        Ok(())
    }

    /// Feeds the core one input and carries out its outputs in order.
    fn step(&mut self, input: Input) -> Result<(), NodeError> {
        let mut out = Vec::new();
        let now = self.now();
        self.server.step(now, input, &mut out);
        for o in out {
            match o {
                Output::Raft(raft::Output::Persist { state, snapshot }) => {
                    self.persister.save(&state, snapshot)?;
                }
                Output::Raft(raft::Output::Send { to, msg }) => {
                    let body = json!({"type": "raft", "raft": msg});
                    self.peers
                        .send(&self.out, &self.names[self.me], &self.names[to], body);
                }
                Output::Raft(raft::Output::Apply(_)) => {
                    unreachable!("a KvServer applies its entries itself")
                }
                Output::Reply { token, reply } => {
                    if let Some(waiter) = self.waiting.remove(&token) {
                        let kind = match &waiter {
                            Waiter::Client { kind, .. } | Waiter::Peer { kind, .. } => *kind,
                        };
                        self.answer(waiter, reply_body(kind, reply));
                    }
                }
            }
        }
        let seen = Some(self.server.raft().state());
        if seen != self.leader_seen {
            let (term, leader) = self.server.raft().state();
            if leader {
                eprintln!("{}: leader of term {term}", self.names[self.me]);
            }
            self.leader_seen = seen;
        }
        Ok(())
    }

    /// Sends an answer (a body without `in_reply_to`) to whoever waits for it.
    fn answer(&self, waiter: Waiter, mut body: Json) {
        match waiter {
            Waiter::Client { src, msg_id, .. } => {
                body["in_reply_to"] = msg_id.map_or(Json::Null, Json::from);
                self.out.send(&self.names[self.me], &src, body);
            }
            Waiter::Peer { from, fwd_id, .. } => {
                let body = json!({"type": "forward_ok", "fwd_id": fwd_id, "reply": body});
                self.peers
                    .send(&self.out, &self.names[self.me], &from, body);
            }
        }
    }

    fn expire_forwards(&mut self) {
        self.forwarded
            .retain(|_, (_, sent)| sent.elapsed() < FORWARD_TTL);
    }
}

/// A client's request that lacks a field its kind needs.
#[derive(Debug, thiserror::Error)]
#[error("{kind} without \"{field}\"")]
struct MissingField {
    kind: String,
    field: &'static str,
}

/// A client's `read`, `write` or `cas` as a kvraft request.
fn client_request(m: &Message) -> Result<Request, MissingField> {
    let field = |field: &'static str| {
        m.body
            .get(field)
            .map(Json::to_string)
            .ok_or_else(|| MissingField {
                kind: m.kind().to_string(),
                field,
            })
    };
    let key = field("key")?;
    let op = match m.kind() {
        "read" => Op::Get { key },
        "write" => Op::Put {
            key,
            value: field("value")?,
        },
        _ => Op::Cas {
            key,
            from: field("from")?,
            to: field("to")?,
        },
    };
    Ok(Request {
        client: client_id(&m.src),
        seq: m.msg_id().unwrap_or(0),
        op,
    })
}

/// `c12` is client 12; any other name is hashed (above every `cN`).
fn client_id(name: &str) -> ClientId {
    if let Some(n) = name.strip_prefix('c').and_then(|n| n.parse::<u32>().ok()) {
        return u64::from(n);
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    h.finish() | (1 << 63)
}

/// The Maelstrom body answering a request of `kind` that the core answered with `reply`.
fn reply_body(kind: Kind, reply: Reply) -> Json {
    let parse = |text: &str| serde_json::from_str::<Json>(text).unwrap_or(Json::Null);
    match (kind, reply) {
        (Kind::Read, Reply::Value(v)) if v.is_empty() => {
            error_body(None, code::KEY_DOES_NOT_EXIST, "key does not exist")
        }
        (Kind::Read, Reply::Value(v)) => json!({"type": "read_ok", "value": parse(&v)}),
        (Kind::Write, Reply::Done) => json!({"type": "write_ok"}),
        (Kind::Cas, Reply::Done) => json!({"type": "cas_ok"}),
        (Kind::Cas, Reply::CasFailed { current }) if current.is_empty() => {
            error_body(None, code::KEY_DOES_NOT_EXIST, "key does not exist")
        }
        (Kind::Cas, Reply::CasFailed { current }) => error_body(
            None,
            code::PRECONDITION_FAILED,
            &format!("the key holds {current}"),
        ),
        (_, Reply::WrongLeader) => error_body(
            None,
            code::TIMEOUT,
            "proposed, but leadership was lost before it committed",
        ),
        (_, Reply::Timeout) => error_body(None, code::TIMEOUT, "proposed, did not commit in time"),
        (_, Reply::Stale) => error_body(None, code::TIMEOUT, "a stale retransmission"),
        (kind, reply) => error_body(
            None,
            code::CRASH,
            &format!("the core answered a {kind:?} with {reply:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_carry_maelstrom_codes() {
        let code_of = |b: Json| b["code"].as_i64();
        assert_eq!(
            code_of(reply_body(Kind::Read, Reply::Value("".into()))),
            Some(20)
        );
        assert_eq!(
            reply_body(Kind::Read, Reply::Value("3".into()))["value"],
            json!(3)
        );
        assert_eq!(
            code_of(reply_body(
                Kind::Cas,
                Reply::CasFailed {
                    current: "1".into()
                }
            )),
            Some(22)
        );
        assert_eq!(
            code_of(reply_body(
                Kind::Cas,
                Reply::CasFailed { current: "".into() }
            )),
            Some(20)
        );
        assert_eq!(
            code_of(reply_body(Kind::Write, Reply::WrongLeader)),
            Some(0)
        );
        assert_eq!(client_id("c12"), 12);
        assert!(client_id("lin-kv") >= 1 << 63);
    }
}
