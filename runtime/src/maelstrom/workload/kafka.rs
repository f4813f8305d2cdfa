//! kafka: Maelstrom's replicated log workload (Gossip Glomers' challenge 5).
//!
//! Generator: `send{key, msg}` (a fresh integer message, over a few keys), `poll{offsets}` from the
//! client's own positions (after a poll a client's position on a key moves past the last offset it
//! received), `commit_offsets{offsets}` of those positions, and `list_committed_offsets{keys}`. Each
//! operation's input records the client thread (`worker`) so that its positions can follow its polls.
//!
//! Checker, on the operations that completed:
//! - **duplicate offsets**: two different messages acknowledged (send_ok) or polled at one offset of a key;
//! - **non-monotonic polls**: a poll whose messages of a key are not in strictly increasing offset order;
//! - **lost messages**: a send acknowledged at offset `o` before a poll was called, where that poll
//!   started at or below `o` on that key and returned a larger offset but not `o`;
//! - **committed offsets not honoured**: `list_committed_offsets` returning for a key less than an
//!   offset whose `commit_offsets` completed before it was called.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value as Json};

use super::{verdict_of, Analysis, BadReply, JsonHistory, Outcome, Request};

/// How many keys the clients use.
const KEYS: u64 = 4;

/// The generator's state: the next message, and each client thread's positions.
#[derive(Default)]
pub struct Logs {
    next_msg: Mutex<u64>,
    positions: Mutex<BTreeMap<u64, BTreeMap<String, u64>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Logs {
    pub fn next(&self, worker: usize, node: String, rng: &mut ChaCha8Rng) -> Request {
        let worker = worker as u64;
        let key = format!("k{}", rng.gen_range(0..KEYS));
        let positions = lock(&self.positions)
            .get(&worker)
            .cloned()
            .unwrap_or_default();
        match rng.gen_range(0..10) {
            0..=4 => {
                let msg = {
                    let mut next = lock(&self.next_msg);
                    *next += 1;
                    *next
                };
                Request {
                    input: json!({"f": "send", "key": key, "msg": msg, "worker": worker, "node": node}),
                    body: json!({"type": "send", "key": key, "msg": msg}),
                    idempotent: false,
                }
            }
            5..=7 => {
                let offsets: Map<String, Json> = (0..KEYS)
                    .map(|k| {
                        let k = format!("k{k}");
                        let at = positions.get(&k).copied().unwrap_or(0);
                        (k, json!(at))
                    })
                    .collect();
                Request {
                    input: json!({"f": "poll", "offsets": offsets, "worker": worker, "node": node}),
                    body: json!({"type": "poll", "offsets": offsets}),
                    idempotent: true,
                }
            }
            8 => Request {
                input: json!({"f": "commit_offsets", "offsets": positions, "worker": worker, "node": node}),
                body: json!({"type": "commit_offsets", "offsets": positions}),
                idempotent: false,
            },
            _ => {
                let keys: Vec<String> = (0..KEYS).map(|k| format!("k{k}")).collect();
                Request {
                    input: json!({"f": "list_committed_offsets", "keys": keys, "worker": worker, "node": node}),
                    body: json!({"type": "list_committed_offsets", "keys": keys}),
                    idempotent: true,
                }
            }
        }
    }

    /// The output of a completed request (moving the client's positions past what it polled).
    pub fn output(&self, request: &Request, body: Map<String, Json>) -> Result<Outcome, BadReply> {
        let f = request.input["f"].as_str().unwrap_or_default();
        match f {
            "send" => match body.get("offset").and_then(Json::as_u64) {
                Some(offset) => Ok(Outcome::Ok(json!({"offset": offset}))),
                None => Err(BadReply("a send_ok without an integer \"offset\"".into())),
            },
            "poll" => {
                let Some(msgs) = body.get("msgs").and_then(Json::as_object) else {
                    return Err(BadReply("a poll_ok without a \"msgs\" object".into()));
                };
                let parsed = parse_msgs(msgs)?;
                let worker = request.input["worker"].as_u64().unwrap_or(0);
                let mut positions = lock(&self.positions);
                let mine = positions.entry(worker).or_default();
                for (key, list) in &parsed {
                    if let Some((last, _)) = list.last() {
                        let at = mine.entry(key.clone()).or_default();
                        *at = (*at).max(last + 1);
                    }
                }
                Ok(Outcome::Ok(json!({"msgs": msgs})))
            }
            "list_committed_offsets" => match body.get("offsets").and_then(Json::as_object) {
                Some(offsets) => Ok(Outcome::Ok(json!({"offsets": offsets}))),
                None => Err(BadReply(
                    "a list_committed_offsets_ok without an \"offsets\" object".into(),
                )),
            },
            _ => Ok(Outcome::Ok(json!({}))),
        }
    }
}

type Polled = BTreeMap<String, Vec<(u64, Json)>>;

fn parse_msgs(msgs: &Map<String, Json>) -> Result<Polled, BadReply> {
    let bad = || BadReply("poll_ok msgs must map keys to lists of [offset, msg] pairs".into());
    let mut out = BTreeMap::new();
    for (key, list) in msgs {
        let list = list.as_array().ok_or_else(bad)?;
        let mut pairs = Vec::new();
        for pair in list {
            match pair.as_array().map(Vec::as_slice) {
                Some([offset, msg]) => pairs.push((offset.as_u64().ok_or_else(bad)?, msg.clone())),
                _ => return Err(bad()),
            }
        }
        out.insert(key.clone(), pairs);
    }
    Ok(out)
}

/// The checks of the module guide.
pub fn check(history: &JsonHistory) -> Analysis {
    let ops = &history.operations;
    let done = |i: usize| ops[i].output.as_ref().filter(|_| ops[i].is_complete());
    // Where each (key, offset) is claimed to hold which message, and by which operations.
    let mut at: BTreeMap<(String, u64), BTreeMap<String, Vec<usize>>> = BTreeMap::new();
    let mut duplicates = Vec::new();
    let mut unordered = Vec::new();
    let mut lost = Vec::new();
    let mut uncommitted = Vec::new();
    let mut polls = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let Some(out) = done(i) else { continue };
        match op.input["f"].as_str().unwrap_or_default() {
            "send" => {
                let key = op.input["key"].as_str().unwrap_or_default().to_string();
                let offset = out["offset"].as_u64().unwrap_or(0);
                at.entry((key, offset))
                    .or_default()
                    .entry(op.input["msg"].to_string())
                    .or_default()
                    .push(i);
            }
            "poll" => {
                let Some(msgs) = out["msgs"].as_object() else {
                    continue;
                };
                let Ok(parsed) = parse_msgs(msgs) else {
                    continue;
                };
                for (key, list) in &parsed {
                    if list.windows(2).any(|w| w[0].0 >= w[1].0) {
                        unordered.push(json!({"op": i, "key": key, "offsets": list.iter().map(|p| p.0).collect::<Vec<_>>()}));
                    }
                    for (offset, msg) in list {
                        at.entry((key.clone(), *offset))
                            .or_default()
                            .entry(msg.to_string())
                            .or_default()
                            .push(i);
                    }
                }
                polls.push((i, parsed));
            }
            _ => {}
        }
    }
    for ((key, offset), msgs) in &at {
        if msgs.len() > 1 {
            duplicates.push(json!({"key": key, "offset": offset, "msgs": msgs}));
        }
    }
    // Acknowledged sends per key, by offset.
    let mut sent: BTreeMap<String, Vec<(u64, usize)>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        if op.input["f"] == "send" {
            if let Some(out) = done(i) {
                let key = op.input["key"].as_str().unwrap_or_default().to_string();
                sent.entry(key)
                    .or_default()
                    .push((out["offset"].as_u64().unwrap_or(0), i));
            }
        }
    }
    for (p, parsed) in &polls {
        let poll = &ops[*p];
        for (key, list) in parsed {
            let from = poll.input["offsets"][key].as_u64().unwrap_or(0);
            let Some(&(top, _)) = list.last() else {
                continue;
            };
            let seen: std::collections::BTreeSet<u64> = list.iter().map(|x| x.0).collect();
            for &(o, s) in sent.get(key).into_iter().flatten() {
                let acked_before = ops[s].ret.is_some_and(|r| r < poll.call);
                if acked_before && from <= o && o < top && !seen.contains(&o) {
                    lost.push(json!({"key": key, "offset": o, "send": s, "poll": p}));
                }
            }
        }
    }
    // Committed offsets: a list must not go below a commit that completed before it was called.
    let commits: Vec<(usize, &Map<String, Json>)> = ops
        .iter()
        .enumerate()
        .filter(|(i, op)| op.input["f"] == "commit_offsets" && done(*i).is_some())
        .filter_map(|(i, op)| op.input["offsets"].as_object().map(|o| (i, o)))
        .collect();
    for (l, op) in ops.iter().enumerate() {
        if op.input["f"] != "list_committed_offsets" {
            continue;
        }
        let Some(listed) = done(l).and_then(|o| o["offsets"].as_object()) else {
            continue;
        };
        for (c, offsets) in &commits {
            if ops[*c].ret.is_none_or(|r| r >= op.call) {
                continue;
            }
            for (key, committed) in offsets.iter() {
                let committed = committed.as_u64().unwrap_or(0);
                let got = listed.get(key).and_then(Json::as_u64);
                if got.is_none_or(|g| g < committed) {
                    uncommitted.push(json!({"key": key, "committed": committed, "commit": c, "list": l, "listed": got}));
                }
            }
        }
    }
    let sends = sent.values().map(Vec::len).sum::<usize>();
    let mut summary = vec![format!(
        "{sends} sends acknowledged, {} polls; {} duplicate offsets, {} unordered polls, {} lost messages, {} committed offsets not honoured",
        polls.len(),
        duplicates.len(),
        unordered.len(),
        lost.len(),
        uncommitted.len()
    )];
    for (name, list) in [
        ("duplicate offset", &duplicates),
        ("unordered poll", &unordered),
        ("lost message", &lost),
        ("committed offset not honoured", &uncommitted),
    ] {
        if let Some(first) = list.first() {
            summary.push(format!("first {name}: {first}"));
        }
    }
    let problems = !(duplicates.is_empty()
        && unordered.is_empty()
        && lost.is_empty()
        && uncommitted.is_empty());
    Analysis {
        verdict: verdict_of(problems, true),
        summary,
        evidence: json!({
            "sends": sends,
            "polls": polls.len(),
            "duplicate_offsets": duplicates,
            "unordered_polls": unordered,
            "lost": lost,
            "uncommitted": uncommitted,
        }),
        checked: None,
    }
}
