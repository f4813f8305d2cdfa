//! The workloads: what the clients ask (Maelstrom's generators) and how the history is judged (its
//! checkers).
//!
//! Every operation is recorded with a JSON input that says what was asked (`{"f":"add","element":3,
//! "node":"n1"}`) and, when it completed, a JSON output with what the node answered (the reply body less
//! `type`, `msg_id` and `in_reply_to`). lin-kv's operations are recorded in the `keyed-cas-register`
//! format instead, so `quill check history.jsonl` checks them again. A checker is a function of that
//! history alone: final reads are the reads whose input says `"final": true`.
//!
//! A reply is classified as in Maelstrom: the expected `*_ok` type completes the operation; an error with
//! a definite code (the operation did not happen) fails it; an indefinite error or no reply leaves it
//! unknown, except for idempotent operations (reads), which then fail. Any other reply type breaks the
//! protocol.

pub mod counter;
pub mod kafka;
pub mod lin_kv;
pub mod sets;
pub mod simple;
pub mod topology;

use checker::{CheckResult, History, HistoryView, Verdict};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value as Json};

use super::config::{Config, Workload};
use super::protocol::{is_definite, Message};

pub type JsonHistory = History<Json, Json>;

/// A request a client is about to send.
pub struct Request {
    /// What is recorded in the history.
    pub input: Json,
    /// The message body (without `msg_id`, which the client sets).
    pub body: Json,
    /// Whether an unknown outcome counts as a failure (reads).
    pub idempotent: bool,
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok(Json),
    /// It certainly did not happen.
    Fail,
    /// It may have happened.
    Info,
}

/// A reply that breaks the protocol.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct BadReply(pub String);

/// The verdict of a workload's checker, with its evidence.
pub struct Analysis {
    pub verdict: Verdict,
    /// What a person reads first: one line per finding.
    pub summary: Vec<String>,
    /// The findings as data (lost elements, duplicate ids, the checker's result...).
    pub evidence: Json,
    /// For lin-kv: the described history and the linearizability result, for the timeline.
    pub checked: Option<(HistoryView, CheckResult)>,
}

/// A workload's generator state, shared by the clients.
pub enum Generator {
    Echo,
    UniqueIds,
    LinKv(lin_kv::Keys),
    GSet(sets::Elements),
    Counter { negative: bool },
    Broadcast(sets::Elements),
    Kafka(kafka::Logs),
}

impl Generator {
    pub fn new(config: &Config) -> Self {
        match config.workload {
            Workload::Echo => Generator::Echo,
            Workload::UniqueIds => Generator::UniqueIds,
            Workload::LinKv => Generator::LinKv(lin_kv::Keys::new(config)),
            Workload::GSet => Generator::GSet(sets::Elements::default()),
            Workload::GCounter => Generator::Counter { negative: false },
            Workload::PnCounter => Generator::Counter { negative: true },
            Workload::Broadcast => Generator::Broadcast(sets::Elements::default()),
            Workload::Kafka => Generator::Kafka(kafka::Logs::default()),
        }
    }

    /// The next request of client thread `worker` (whose current process id is `process`), to `node`.
    pub fn next(&self, worker: usize, process: u64, node: usize, rng: &mut ChaCha8Rng) -> Request {
        let node = format!("n{node}");
        match self {
            Generator::Echo => simple::echo(node, rng),
            Generator::UniqueIds => simple::generate(node),
            Generator::LinKv(keys) => keys.next(worker, process, rng),
            Generator::GSet(elements) => sets::gset(elements, node, rng),
            Generator::Counter { negative } => counter::next(*negative, node, rng),
            Generator::Broadcast(elements) => sets::broadcast(elements, node, rng),
            Generator::Kafka(logs) => logs.next(worker, node, rng),
        }
    }

    /// The final read of `node`, for workloads that have one.
    pub fn final_read(&self, node: usize) -> Option<Request> {
        let node = format!("n{node}");
        match self {
            Generator::GSet(_) | Generator::Counter { .. } | Generator::Broadcast(_) => {
                Some(Request {
                    input: json!({"f": "read", "final": true, "node": node}),
                    body: json!({"type": "read"}),
                    idempotent: true,
                })
            }
            _ => None,
        }
    }

    /// Classifies the reply to `request`.
    pub fn complete(&self, request: &Request, reply: &Message) -> Result<Outcome, BadReply> {
        if let Generator::LinKv(_) = self {
            return lin_kv::complete(request, reply);
        }
        let expected = format!("{}_ok", request.body["type"].as_str().unwrap_or_default());
        let body = match classify(reply, &expected, request.idempotent)? {
            Ok(body) => body,
            Err(outcome) => return Ok(outcome),
        };
        match self {
            Generator::Echo => simple::echo_output(body),
            Generator::UniqueIds => simple::generate_output(body),
            Generator::GSet(_) | Generator::Counter { .. } | Generator::Broadcast(_) => {
                Ok(Outcome::Ok(Json::Object(body)))
            }
            Generator::Kafka(logs) => logs.output(request, body),
            Generator::LinKv(_) => unreachable!("handled above"),
        }
    }
}

/// Checks a history of `workload`.
pub fn analyse(workload: Workload, history: &JsonHistory, node_count: usize) -> Analysis {
    match workload {
        Workload::Echo => simple::check_echo(history),
        Workload::UniqueIds => simple::check_unique(history),
        Workload::LinKv => lin_kv::check(history),
        Workload::GSet => sets::check(history, node_count, "element", "value"),
        Workload::Broadcast => sets::check(history, node_count, "message", "messages"),
        Workload::GCounter | Workload::PnCounter => counter::check(history, node_count),
        Workload::Kafka => kafka::check(history),
    }
}

/// The reply's body less the protocol fields when it is `expected`; otherwise the outcome of an error.
pub(crate) fn classify(
    reply: &Message,
    expected: &str,
    idempotent: bool,
) -> Result<Result<Map<String, Json>, Outcome>, BadReply> {
    let kind = reply.kind();
    if kind == "error" {
        let code = error_code(reply)?;
        let outcome = if is_definite(code) || idempotent {
            Outcome::Fail
        } else {
            Outcome::Info
        };
        return Ok(Err(outcome));
    }
    if kind != expected {
        return Err(BadReply(format!(
            "a reply of type {kind:?} to a request that expects {expected:?} or an error"
        )));
    }
    let mut body = reply.body.clone();
    for field in ["type", "msg_id", "in_reply_to"] {
        body.remove(field);
    }
    Ok(Ok(body))
}

pub(crate) fn error_code(reply: &Message) -> Result<i64, BadReply> {
    reply
        .body
        .get("code")
        .and_then(Json::as_i64)
        .ok_or_else(|| BadReply("an error reply without an integer \"code\"".into()))
}

/// The operations whose input has `"f": f`.
pub(crate) fn ops_of<'a>(
    history: &'a JsonHistory,
    f: &'a str,
) -> impl Iterator<Item = (usize, &'a checker::Operation<Json, Json>)> + 'a {
    history
        .operations
        .iter()
        .enumerate()
        .filter(move |(_, op)| op.input["f"] == f)
}

/// Verdict for a checker that found `problems` (and is sure of its answer only when `complete`).
pub(crate) fn verdict_of(problems: bool, complete: bool) -> Verdict {
    match (problems, complete) {
        (true, _) => Verdict::Illegal,
        (false, true) => Verdict::Ok,
        (false, false) => Verdict::Unknown,
    }
}
