//! Known keys: in the JSON formats every key of every object has a meaning, and a key that has none is an
//! error naming it, with the known key it was probably meant to be.
//!
//! A misspelled key is the commonest way to write a history that says nothing: `"operatoins": [..]`
//! leaves the operations out, `"ouput"` leaves a read unconstrained. Ignoring such keys would turn a typo
//! into a pass, so no JSON reader ignores a key.

use serde_json::{Map, Value as Json};

/// The known key nearest to `key`, when it is near enough to be the one meant: at most one edit (an
/// insertion, a deletion, a substitution or a swap of neighbours) for short keys, two for longer ones.
pub(crate) fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = if key.len() <= 4 { 1 } else { 2 };
    known
        .iter()
        .map(|&k| (strsim::osa_distance(key, k), k))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// `unknown key "operatoins" in the document (did you mean "operations"?; known: ...)`.
pub(crate) fn unknown(key: &str, what: &str, known: &[&str]) -> String {
    let hint = match nearest(key, known) {
        Some(k) => format!(" (did you mean \"{k}\"?)"),
        None => String::new(),
    };
    let list = if known.is_empty() {
        "it has no keys".to_string()
    } else {
        format!("known: {}", known.join(", "))
    };
    format!("unknown key \"{key}\" in {what}{hint}; {list}")
}

/// Why an object's keys or an operation's shape were not accepted, in words for the user; the
/// reader that asked adds the place (file, line, operation).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Rejected(pub(crate) String);

impl From<Rejected> for String {
    fn from(r: Rejected) -> String {
        r.0
    }
}

/// The first key of `object` that is not one of `known`.
pub(crate) fn check(
    object: &Map<String, Json>,
    what: &str,
    known: &[&str],
) -> Result<(), Rejected> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(Rejected(unknown(key, what, known))),
        None => Ok(()),
    }
}

/// A short description of a JSON value's kind, for messages ("a string", "null").
pub(crate) fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_keys_are_suggested_and_far_ones_are_not() {
        let top = ["model", "init", "operations", "events", "annotations"];
        assert_eq!(nearest("operatoins", &top), Some("operations"));
        assert_eq!(nearest("modle", &top), Some("model"));
        assert_eq!(nearest("evnts", &top), Some("events"));
        assert_eq!(nearest("history", &top), None);
        assert_eq!(nearest("ops", &top), None);
    }
}
