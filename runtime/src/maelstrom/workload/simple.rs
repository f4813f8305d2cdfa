//! echo (the reply carries the same value) and unique-ids (every generated id is distinct).

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value as Json};

use super::{verdict_of, Analysis, BadReply, JsonHistory, Outcome, Request};

pub fn echo(node: String, rng: &mut ChaCha8Rng) -> Request {
    let value = format!("Please echo {}", rng.gen_range(0..128));
    Request {
        input: json!({"f": "echo", "value": value, "node": node}),
        body: json!({"type": "echo", "echo": value}),
        idempotent: true,
    }
}

pub fn echo_output(body: Map<String, Json>) -> Result<Outcome, BadReply> {
    match body.get("echo") {
        Some(echo) => Ok(Outcome::Ok(json!({"echo": echo}))),
        None => Err(BadReply("an echo_ok without \"echo\"".into())),
    }
}

pub fn generate(node: String) -> Request {
    Request {
        input: json!({"f": "generate", "node": node}),
        body: json!({"type": "generate"}),
        idempotent: false,
    }
}

pub fn generate_output(body: Map<String, Json>) -> Result<Outcome, BadReply> {
    match body.get("id") {
        Some(id) => Ok(Outcome::Ok(json!({"id": id}))),
        None => Err(BadReply("a generate_ok without \"id\"".into())),
    }
}

/// Every completed echo returned the value it was sent.
pub fn check_echo(history: &JsonHistory) -> Analysis {
    let mut wrong = Vec::new();
    let mut ok = 0;
    for (index, op) in history.operations.iter().enumerate() {
        let Some(output) = op.output.as_ref().filter(|_| op.is_complete()) else {
            continue;
        };
        ok += 1;
        if output["echo"] != op.input["value"] {
            wrong.push(json!({"op": index, "sent": op.input["value"], "received": output["echo"]}));
        }
    }
    let mut summary = vec![format!("{ok} echoes completed, {} wrong", wrong.len())];
    if let Some(first) = wrong.first() {
        summary.push(format!("first wrong echo: {first}"));
    }
    Analysis {
        verdict: verdict_of(!wrong.is_empty(), true),
        summary,
        evidence: json!({"ok": ok, "wrong": wrong}),
        checked: None,
    }
}

/// No id was generated twice.
pub fn check_unique(history: &JsonHistory) -> Analysis {
    let mut by_id: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, op) in history.operations.iter().enumerate() {
        if let Some(output) = op.output.as_ref().filter(|_| op.is_complete()) {
            by_id
                .entry(output["id"].to_string())
                .or_default()
                .push(index);
        }
    }
    let generated: usize = by_id.values().map(Vec::len).sum();
    let duplicated: Vec<Json> = by_id
        .iter()
        .filter(|(_, ops)| ops.len() > 1)
        .map(|(id, ops)| json!({"id": serde_json::from_str::<Json>(id).unwrap_or(Json::Null), "ops": ops}))
        .collect();
    let mut summary = vec![format!(
        "{generated} ids generated, {} distinct, {} generated more than once",
        by_id.len(),
        duplicated.len()
    )];
    if let Some(first) = duplicated.first() {
        summary.push(format!("first duplicate: {first}"));
    }
    Analysis {
        verdict: verdict_of(!duplicated.is_empty(), true),
        summary,
        evidence: json!({"generated": generated, "distinct": by_id.len(), "duplicated": duplicated}),
        checked: None,
    }
}
