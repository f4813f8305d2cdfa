//! The JSON document format: `{"model", "init", "operations" | "events", "annotations"}`.
//!
//! The document is parsed from the stream as it is read (see [`super::stream`]). Every key of the
//! document, of an operation, of an event and of an annotation must be one this format defines: an
//! unknown key is an error naming it (see [`super::keys`]). An operation's output follows one rule for
//! `null` (`docs/history-format.md`): `"output": null` or no `"output"` means "nothing to report", which
//! the model's typing accepts only for operations that report nothing; `"output": "unknown"` says that the
//! result was not recorded, and the operation is then read as one without a response.

use std::io::Read;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::stream::{self, Tracking};
use super::{keys, Format, RawHistory, RawOp};
use crate::error::{FormatError, Location};
use crate::history::Annotation;

/// The keys of a document.
pub(super) const DOCUMENT_KEYS: &[&str] = &["model", "init", "operations", "events", "annotations"];
/// The keys of an operation object (in a document or on a line of JSON Lines).
pub(super) const OPERATION_KEYS: &[&str] =
    &["client", "call", "return", "input", "output", "failed"];
const CALL_KEYS: &[&str] = &["kind", "id", "client", "input"];
const RETURN_KEYS: &[&str] = &["kind", "id", "output", "failed"];
const ANNOTATION_KEYS: &[&str] = &["client", "tag", "start", "end", "text"];

/// Reads a document from a stream; the first bad byte ends the reading.
pub(super) fn read<R: Read>(reader: R) -> Result<RawHistory, FormatError> {
    let mut tracking = Tracking::new(reader);
    let doc = {
        let mut de = serde_json::Deserializer::from_reader(&mut tracking);
        Json::deserialize(&mut de).and_then(|doc| de.end().map(|()| doc))
    };
    let doc = doc.map_err(|e| stream::syntax_error(e, &tracking))?;
    document(doc)
}

fn document(doc: Json) -> Result<RawHistory, FormatError> {
    let Json::Object(mut doc) = doc else {
        return Err(FormatError::invalid(
            Location::File,
            format!(
                "the document is {}; a history is a JSON object with \"operations\" or \"events\"",
                keys::kind(&doc)
            ),
        ));
    };
    keys::check(&doc, "the document", DOCUMENT_KEYS)
        .map_err(|m| FormatError::invalid(Location::File, m))?;
    let model = match doc.remove("model") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s),
        Some(other) => {
            return Err(FormatError::invalid(
                Location::File,
                format!("\"model\" must be a string, not {other}"),
            ))
        }
    };
    let init = doc.remove("init");
    let annotations = match doc.remove("annotations") {
        None | Some(Json::Null) => Vec::new(),
        Some(a) => annotations(a, &Location::File)?,
    };
    let operations = match (doc.remove("operations"), doc.remove("events")) {
        (Some(Json::Array(ops)), None) => ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| operation(op, Location::Operation(i)))
            .collect::<Result<Vec<_>, _>>()?,
        (None, Some(Json::Array(events))) => from_events(events)?,
        (Some(_), Some(_)) => {
            return Err(FormatError::invalid(
                Location::File,
                "give \"operations\" or \"events\", not both",
            ))
        }
        (Some(other), None) | (None, Some(other)) => {
            return Err(FormatError::invalid(
                Location::File,
                format!(
                    "\"operations\" (or \"events\") must be an array, not {}",
                    keys::kind(&other)
                ),
            ))
        }
        (None, None) => {
            return Err(FormatError::invalid(
                Location::File,
                "missing \"operations\" (or \"events\") array",
            ))
        }
    };
    let mut raw = RawHistory::loaded(Format::Json, model, operations);
    // An explicit empty array is a history of nothing, which is linearizable; every other way of
    // reading no operation is an error.
    raw.operations.allow_empty();
    raw.init = init;
    raw.annotations = annotations;
    Ok(raw)
}

/// `"annotations"`: an array of `{client?, tag?, start, end, text}`.
pub(super) fn annotations(value: Json, at: &Location) -> Result<Vec<Annotation>, FormatError> {
    let invalid = |m: String| FormatError::invalid(at.clone(), format!("\"annotations\": {m}"));
    let Json::Array(items) = value else {
        return Err(invalid(format!(
            "must be an array, not {}",
            keys::kind(&value)
        )));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let Json::Object(object) = &item else {
                return Err(invalid(format!(
                    "annotation {i} is {}, not an object",
                    keys::kind(&item)
                )));
            };
            keys::check(object, &format!("annotation {i}"), ANNOTATION_KEYS)
                .map_err(|r| invalid(r.into()))?;
            serde_json::from_value::<Annotation>(item)
                .map_err(|e| invalid(format!("annotation {i}: {e}")))
        })
        .collect()
}

fn field<'a>(
    op: &'a Map<String, Json>,
    name: &str,
    at: &Location,
) -> Result<&'a Json, FormatError> {
    op.get(name)
        .ok_or_else(|| FormatError::invalid(at.clone(), format!("missing field \"{name}\"")))
}

fn integer(value: &Json, name: &str, at: &Location) -> Result<i64, FormatError> {
    value.as_i64().ok_or_else(|| {
        FormatError::invalid(
            at.clone(),
            format!("\"{name}\" must be an integer, not {value}"),
        )
    })
}

/// One operation object: `{client, call, return, input, output, failed?}`.
pub(super) fn operation(op: Json, at: Location) -> Result<RawOp, FormatError> {
    let Json::Object(mut op) = op else {
        return Err(FormatError::invalid(
            at,
            format!(
                "an operation must be a JSON object, not {}",
                keys::kind(&op)
            ),
        ));
    };
    keys::check(&op, "an operation", OPERATION_KEYS)
        .map_err(|m| FormatError::invalid(at.clone(), m))?;
    let client = field(&op, "client", &at)?;
    let client = client.as_u64().ok_or_else(|| {
        FormatError::invalid(
            at.clone(),
            format!("\"client\" must be a non-negative integer, not {client}"),
        )
    })?;
    let call = integer(field(&op, "call", &at)?, "call", &at)?;
    let mut ret = match field(&op, "return", &at)? {
        Json::Null => None,
        value => Some(integer(value, "return", &at)?),
    };
    if let Some(ret) = ret {
        if ret < call {
            return Err(FormatError::invalid(
                at,
                format!("returns at {ret}, before its call at {call}"),
            ));
        }
    }
    let failed = match op.get("failed") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(other) => {
            return Err(FormatError::invalid(
                at,
                format!("\"failed\" must be true or false, not {other}"),
            ))
        }
    };
    let input = op
        .remove("input")
        .ok_or_else(|| FormatError::invalid(at.clone(), "missing field \"input\""))?;
    let output = op.remove("output").unwrap_or(Json::Null);
    let output = match (ret, output) {
        // Said explicitly: the result was not recorded, so the operation may or may not have taken
        // effect, as one without a response.
        (_, Json::String(s)) if s == "unknown" => {
            ret = None;
            None
        }
        (None, Json::Null) => None,
        (None, output) => {
            return Err(FormatError::invalid(
                at,
                format!("has the output {output} but no return time (\"return\": null means no response); give its return time"),
            ))
        }
        // Null: nothing to report; whether the operation may report nothing is the model's to say.
        (Some(_), output) => Some(output),
    };
    Ok(RawOp {
        at,
        client,
        call,
        ret,
        input,
        output,
        failed,
    })
}

/// Ordered events `{kind: "call"|"return", id, client, input|output}`; an event's position is its time.
fn from_events(events: Vec<Json>) -> Result<Vec<RawOp>, FormatError> {
    use std::collections::HashMap;
    let mut by_id: HashMap<u64, usize> = HashMap::new();
    let mut busy: HashMap<u64, u64> = HashMap::new();
    let mut returned = std::collections::HashSet::new();
    let mut ops: Vec<RawOp> = Vec::new();
    for (position, event) in events.into_iter().enumerate() {
        let at = Location::Event(position);
        let Json::Object(mut event) = event else {
            return Err(FormatError::invalid(
                at,
                format!("an event must be a JSON object, not {}", keys::kind(&event)),
            ));
        };
        let id = field(&event, "id", &at)?.as_u64().ok_or_else(|| {
            FormatError::invalid(at.clone(), "\"id\" must be a non-negative integer")
        })?;
        let kind = field(&event, "kind", &at)?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let known = match kind.as_str() {
            "return" => RETURN_KEYS,
            _ => CALL_KEYS,
        };
        keys::check(&event, &format!("a {kind} event"), known)
            .map_err(|m| FormatError::invalid(at.clone(), m))?;
        let time = position as i64;
        match kind.as_str() {
            "call" => {
                let client = field(&event, "client", &at)?.as_u64().ok_or_else(|| {
                    FormatError::invalid(at.clone(), "\"client\" must be a non-negative integer")
                })?;
                if by_id.contains_key(&id) {
                    return Err(FormatError::invalid(
                        at,
                        format!("a second call with id {id}"),
                    ));
                }
                if let Some(other) = busy.get(&client) {
                    return Err(FormatError::invalid(
                        at,
                        format!("client {client} calls while its operation with id {other} is still outstanding"),
                    ));
                }
                let input = event
                    .remove("input")
                    .ok_or_else(|| FormatError::invalid(at.clone(), "missing field \"input\""))?;
                busy.insert(client, id);
                by_id.insert(id, ops.len());
                ops.push(RawOp::called(at, client, time, input));
            }
            "return" => {
                let Some(&index) = by_id.get(&id) else {
                    return Err(FormatError::invalid(
                        at,
                        format!("a return for id {id}, which was never called"),
                    ));
                };
                let op = &mut ops[index];
                if !returned.insert(id) {
                    return Err(FormatError::invalid(
                        at,
                        format!("a second return for id {id}"),
                    ));
                }
                op.failed = match event.get("failed") {
                    None | Some(Json::Null) => false,
                    Some(Json::Bool(b)) => *b,
                    Some(other) => {
                        return Err(FormatError::invalid(
                            at,
                            format!("\"failed\" must be true or false, not {other}"),
                        ))
                    }
                };
                busy.remove(&op.client);
                match event.remove("output").unwrap_or(Json::Null) {
                    // The result was not recorded: as if there had been no response.
                    Json::String(s) if s == "unknown" => {}
                    output => {
                        op.ret = Some(time);
                        op.output = Some(output);
                    }
                }
            }
            other => {
                return Err(FormatError::invalid(
                    at,
                    format!("\"kind\" must be \"call\" or \"return\", not {other:?}"),
                ))
            }
        }
    }
    Ok(ops)
}
