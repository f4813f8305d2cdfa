//! Porcupine's key/value lines: `{:process 3, :type :invoke, :f :append, :key "7", :value "x 3 12 y"}`.
//!
//! Lines are in real-time order: a line's number is its time. A get's invocation has `:value nil` and its
//! `:ok` carries the value read; put and append carry their argument in both. A get's `:ok` with `:value
//! nil` read a key never written, which holds the empty string (Porcupine's initial state).
//!
//! Every line that is not blank or a `;` comment must be one such map, or it is an error naming the line;
//! a file with no operation is an error too.

use std::io::BufRead;

use serde_json::{json, Value as Json};

use super::lines::for_each_line;
use super::{Complete, Format, Pairing, RawHistory};
use crate::error::{FormatError, Location};

pub(super) fn read(reader: impl BufRead) -> Result<RawHistory, FormatError> {
    let mut pairing = Pairing::new();
    let mut lines = 0usize;
    for_each_line(reader, |number, line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') {
            return Ok(());
        }
        lines += 1;
        operation(number, line, &mut pairing)
    })?;
    let ops = pairing.finish();
    if ops.is_empty() {
        let why = if lines == 0 {
            "empty file (no operation lines)"
        } else {
            "no operations found"
        };
        return Err(FormatError::invalid(Location::File, why));
    }
    Ok(RawHistory::loaded(
        Format::PorcupineKv,
        Some("kv".to_string()),
        ops,
    ))
}

/// One line, `{:process 3, :type :invoke, ...}`, of number `number`.
fn operation(number: usize, line: &str, pairing: &mut Pairing) -> Result<(), FormatError> {
    {
        let map = parse_map(line).map_err(|m| FormatError::syntax(Location::Line(number), m))?;
        let get = |k: &str| map.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        let missing =
            |k: &str| FormatError::invalid(Location::Line(number), format!("missing :{k}"));
        let process = get("process")
            .and_then(|p| p.as_u64())
            .ok_or_else(|| missing("process"))?;
        let kind = get("type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| missing("type"))?;
        let f = get("f")
            .and_then(|t| t.as_str())
            .ok_or_else(|| missing("f"))?;
        let key = get("key").ok_or_else(|| missing("key"))?;
        let key = match key {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let value = get("value").cloned().unwrap_or(Json::Null);
        if kind != ":invoke" {
            // A completion must be of the operation its process invoked.
            let invoked = pairing
                .outstanding(process)
                .and_then(|input| input.get("op"))
                .and_then(Json::as_str);
            if let Some(invoked) = invoked {
                if f.strip_prefix(':') != Some(invoked) {
                    return Err(FormatError::invalid(
                        Location::Line(number),
                        format!("process {process} completes {f} but its pending operation is :{invoked}"),
                    ));
                }
            }
        }
        match kind {
            ":invoke" => {
                let input = match f {
                    ":get" => json!({"op": "get", "key": key}),
                    ":put" | ":append" => {
                        let Json::String(v) = value else {
                            return Err(FormatError::invalid(
                                Location::Line(number),
                                "a put or append needs a string :value",
                            ));
                        };
                        json!({"op": &f[1..], "key": key, "value": v})
                    }
                    other => {
                        return Err(FormatError::invalid(
                            Location::Line(number),
                            format!("unknown operation {other}"),
                        ))
                    }
                };
                pairing.call(number, process, input)
            }
            ":ok" => {
                let is_get = pairing
                    .outstanding(process)
                    .and_then(|i| i.get("op"))
                    .and_then(Json::as_str)
                    == Some("get");
                let output = if is_get {
                    json!({"value": if value.is_null() { Json::String(String::new()) } else { value }})
                } else {
                    json!({})
                };
                pairing.complete(number, process, Complete::Ok(output))
            }
            ":fail" => pairing.complete(number, process, Complete::Failed),
            ":info" => pairing.complete(number, process, Complete::Unknown),
            other => Err(FormatError::invalid(
                Location::Line(number),
                format!("unknown type {other}"),
            )),
        }
    }
}

/// Reads a flat EDN map of keywords to nil, integers, keywords and strings, as JSON: keywords keep their
/// colon (`":ok"`).
fn parse_map(line: &str) -> Result<Vec<(String, Json)>, String> {
    let inner = line
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .ok_or_else(|| "expected a map `{...}`".to_string())?;
    let mut chars = inner.chars().peekable();
    let mut out = Vec::new();
    let mut pending_key: Option<String> = None;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let token = if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some(other) => s.push(other),
                        None => return Err("unterminated string".into()),
                    },
                    Some(ch) => s.push(ch),
                    None => return Err("unterminated string".into()),
                }
            }
            Json::String(s)
        } else {
            let mut word = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == ',' {
                    break;
                }
                word.push(ch);
                chars.next();
            }
            if word == "nil" {
                Json::Null
            } else if let Ok(i) = word.parse::<i64>() {
                Json::from(i)
            } else if word.starts_with(':') {
                Json::String(word)
            } else {
                return Err(format!("unexpected `{word}`"));
            }
        };
        match pending_key.take() {
            None => match token {
                Json::String(k) if k.starts_with(':') => pending_key = Some(k[1..].to_string()),
                other => return Err(format!("expected a keyword key, found {other}")),
            },
            Some(k) => out.push((k, token)),
        }
    }
    if let Some(k) = pending_key {
        return Err(format!("key :{k} has no value"));
    }
    Ok(out)
}
