//! The JSON document format: `{"model", "init", "operations" | "events", "annotations"}`.

use serde_json::{Map, Value as Json};

use super::{Format, RawHistory, RawOp};
use crate::error::{FormatError, Location};
use crate::history::Annotation;

pub(super) fn parse(text: &str) -> Result<RawHistory, FormatError> {
    let doc: Json = serde_json::from_str(text).map_err(|e| {
        FormatError::syntax(Location::LineColumn(e.line(), e.column()), e.to_string())
    })?;
    let Json::Object(mut doc) = doc else {
        return Err(FormatError::invalid(
            Location::File,
            "expected a JSON object with \"operations\" or \"events\"",
        ));
    };
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
        Some(a) => serde_json::from_value::<Vec<Annotation>>(a)
            .map_err(|e| FormatError::invalid(Location::File, format!("\"annotations\": {e}")))?,
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
        _ => {
            return Err(FormatError::invalid(
                Location::File,
                "missing \"operations\" (or \"events\") array",
            ))
        }
    };
    let mut raw = RawHistory::loaded(Format::Json, model, operations);
    raw.init = init;
    raw.annotations = annotations;
    Ok(raw)
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
            "an operation must be a JSON object",
        ));
    };
    let client = field(&op, "client", &at)?;
    let client = client.as_u64().ok_or_else(|| {
        FormatError::invalid(
            at.clone(),
            format!("\"client\" must be a non-negative integer, not {client}"),
        )
    })?;
    let call = integer(field(&op, "call", &at)?, "call", &at)?;
    let ret = match field(&op, "return", &at)? {
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
    // A completed operation's output may be null (a put has nothing to say); with no response there is
    // nothing to check whatever the file says.
    let output = ret.map(|_| op.remove("output").unwrap_or(Json::Null));
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
    let mut ops: Vec<RawOp> = Vec::new();
    for (position, event) in events.into_iter().enumerate() {
        let at = Location::Event(position);
        let Json::Object(mut event) = event else {
            return Err(FormatError::invalid(at, "an event must be a JSON object"));
        };
        let id = field(&event, "id", &at)?.as_u64().ok_or_else(|| {
            FormatError::invalid(at.clone(), "\"id\" must be a non-negative integer")
        })?;
        let kind = field(&event, "kind", &at)?
            .as_str()
            .unwrap_or_default()
            .to_string();
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
                if op.ret.is_some() {
                    return Err(FormatError::invalid(
                        at,
                        format!("a second return for id {id}"),
                    ));
                }
                op.ret = Some(time);
                op.output = Some(event.remove("output").unwrap_or(Json::Null));
                op.failed = matches!(event.get("failed"), Some(Json::Bool(true)));
                busy.remove(&op.client);
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
