//! Jepsen's etcd test log lines: `INFO  jepsen.util - <process> <type> <f> <value>`, a compare-and-set
//! register whose key starts absent.
//!
//! Lines are in real-time order and carry no timestamps: a line's number is its time. `:ok :read nil`
//! means the key was absent. `:fail :cas` did not swap (the register did not hold the expected value), so it
//! is a completed cas returning false. `:info` (and a `:fail :read` timeout) got no answer: the operation may
//! have taken effect at any point after its call, or never. A `:fail :write` had no effect.

use serde_json::{json, Value as Json};

use super::{Complete, Format, Pairing, RawHistory};
use crate::error::{FormatError, Location};

/// True for a line that is a bare `<process> <type> <f> <value>` record.
pub(super) fn looks_like(line: &str) -> bool {
    let mut words = line.split_whitespace();
    matches!(
        (words.next(), words.next()),
        (Some(p), Some(":invoke" | ":ok" | ":fail" | ":info")) if p.parse::<u64>().is_ok()
    )
}

pub(super) fn parse(text: &str) -> Result<RawHistory, FormatError> {
    let mut pairing = Pairing::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let record = match line.find("jepsen.util - ") {
            Some(at) => &line[at + "jepsen.util - ".len()..],
            None if looks_like(line) => line,
            None if line.trim().is_empty() => continue,
            // Other log lines (the test's own chatter) carry no operations.
            None => continue,
        };
        let mut words = record.split_whitespace();
        let (Some(process), Some(kind), Some(f)) = (words.next(), words.next(), words.next())
        else {
            return Err(FormatError::syntax(
                Location::Line(number),
                "expected `<process> <type> <f> <value>`",
            ));
        };
        let value_text: String = words.collect::<Vec<_>>().join(" ");
        let Ok(process) = process.parse::<u64>() else {
            // Nemesis records (`:nemesis :info :start ...`) are not client operations.
            continue;
        };
        let value = parse_value(&value_text).ok_or_else(|| {
            FormatError::syntax(
                Location::Line(number),
                format!("cannot read value `{value_text}`"),
            )
        })?;
        match kind {
            ":invoke" => {
                let input = match (f, &value) {
                    (":read", _) => json!({"op": "read"}),
                    (":write", v) => json!({"op": "write", "value": v}),
                    (":cas", Json::Array(pair)) if pair.len() == 2 => {
                        json!({"op": "cas", "from": pair[0], "to": pair[1]})
                    }
                    (":cas", v) => {
                        return Err(FormatError::invalid(
                            Location::Line(number),
                            format!("a cas needs [from to], not {v}"),
                        ))
                    }
                    (other, _) => {
                        return Err(FormatError::invalid(
                            Location::Line(number),
                            format!("unknown operation {other}"),
                        ))
                    }
                };
                pairing.call(number, process, input)?;
            }
            ":ok" => {
                let output = match f {
                    ":read" => json!({"value": value}),
                    ":cas" => json!({"ok": true}),
                    _ => json!({}),
                };
                pairing.complete(number, process, Complete::Ok(output))?;
            }
            ":fail" => {
                let how = match f {
                    ":cas" => Complete::Ok(json!({"ok": false})),
                    ":read" => Complete::Unknown,
                    _ => Complete::Failed,
                };
                pairing.complete(number, process, how)?;
            }
            ":info" => pairing.complete(number, process, Complete::Unknown)?,
            other => {
                return Err(FormatError::invalid(
                    Location::Line(number),
                    format!("unknown type {other}"),
                ))
            }
        }
    }
    Ok(RawHistory::loaded(
        Format::JepsenLog,
        Some("cas-register".to_string()),
        pairing.finish(),
    ))
}

/// `nil`, an integer, a keyword, a string, or a vector of those.
fn parse_value(text: &str) -> Option<Json> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner
            .split([' ', ','])
            .filter(|w| !w.is_empty())
            .map(parse_value)
            .collect::<Option<Vec<_>>>()
            .map(Json::Array);
    }
    match text {
        "nil" | "" => Some(Json::Null),
        _ if text.starts_with(':') => Some(Json::String(text.to_string())),
        _ if text.starts_with('"') => serde_json::from_str(text).ok(),
        _ => text.parse::<i64>().ok().map(Json::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_value("nil"), Some(Json::Null));
        assert_eq!(parse_value("4"), Some(json!(4)));
        assert_eq!(parse_value("[3 0]"), Some(json!([3, 0])));
        assert_eq!(parse_value(":timed-out"), Some(json!(":timed-out")));
        assert_eq!(parse_value("[x"), None);
    }
}
