//! The Maelstrom wire protocol: one JSON message per line, `{"src", "dest", "body": {"type", ...}}`.
//!
//! A node's stdout carries messages only, so a line that is not such an object breaks the protocol and
//! ends the run (exit 3, with the line). Unknown fields are kept and passed on untouched: Maelstrom adds
//! its own `id`, and nodes may add anything.

use serde_json::{Map, Value as Json};

/// One message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub src: String,
    pub dest: String,
    pub body: Map<String, Json>,
}

/// Why a line is not a Maelstrom message.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("not JSON ({0})")]
    NotJson(serde_json::Error),
    #[error("not a JSON object")]
    NotObject,
    #[error("\"{field}\" must be {want}, not {found}")]
    WrongType {
        field: &'static str,
        want: &'static str,
        found: Json,
    },
    #[error("missing \"{0}\"")]
    Missing(&'static str),
}

impl Message {
    pub fn new(src: &str, dest: &str, body: Json) -> Self {
        let body = match body {
            Json::Object(map) => map,
            _ => Map::new(),
        };
        Message {
            src: src.to_string(),
            dest: dest.to_string(),
            body,
        }
    }

    pub fn kind(&self) -> &str {
        self.body.get("type").and_then(Json::as_str).unwrap_or("")
    }

    pub fn msg_id(&self) -> Option<u64> {
        self.body.get("msg_id").and_then(Json::as_u64)
    }

    pub fn in_reply_to(&self) -> Option<u64> {
        self.body.get("in_reply_to").and_then(Json::as_u64)
    }

    /// The line to write to a node's stdin.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(&serde_json::json!({
            "src": self.src,
            "dest": self.dest,
            "body": self.body,
        }))
        .expect("a JSON object always serializes");
        line.push('\n');
        line
    }

    /// A node's stdout line, or why it breaks the protocol.
    pub fn parse(line: &str) -> Result<Self, LineError> {
        let value: Json = serde_json::from_str(line).map_err(LineError::NotJson)?;
        let Json::Object(mut map) = value else {
            return Err(LineError::NotObject);
        };
        let mut text = |field: &'static str| match map.remove(field) {
            Some(Json::String(s)) => Ok(s),
            Some(found) => Err(LineError::WrongType {
                field,
                want: "a string",
                found,
            }),
            None => Err(LineError::Missing(field)),
        };
        let src = text("src")?;
        let dest = text("dest")?;
        let body = match map.remove("body") {
            Some(Json::Object(body)) => body,
            Some(found) => {
                return Err(LineError::WrongType {
                    field: "body",
                    want: "an object",
                    found,
                })
            }
            None => return Err(LineError::Missing("body")),
        };
        match body.get("type") {
            Some(Json::String(_)) => {}
            Some(found) => {
                return Err(LineError::WrongType {
                    field: "body.type",
                    want: "a string",
                    found: found.clone(),
                })
            }
            None => return Err(LineError::Missing("body.type")),
        }
        Ok(Message { src, dest, body })
    }
}

/// Error codes (Maelstrom's doc/protocol.md).
pub mod code {
    pub const TIMEOUT: i64 = 0;
    pub const NODE_NOT_FOUND: i64 = 1;
    pub const NOT_SUPPORTED: i64 = 10;
    pub const TEMPORARILY_UNAVAILABLE: i64 = 11;
    pub const MALFORMED_REQUEST: i64 = 12;
    pub const CRASH: i64 = 13;
    pub const ABORT: i64 = 14;
    pub const KEY_DOES_NOT_EXIST: i64 = 20;
    pub const KEY_ALREADY_EXISTS: i64 = 21;
    pub const PRECONDITION_FAILED: i64 = 22;
    pub const TXN_CONFLICT: i64 = 30;
}

/// Whether an error code says the operation certainly did not happen.
pub fn is_definite(code: i64) -> bool {
    use code::*;
    matches!(
        code,
        NODE_NOT_FOUND
            | NOT_SUPPORTED
            | TEMPORARILY_UNAVAILABLE
            | MALFORMED_REQUEST
            | ABORT
            | KEY_DOES_NOT_EXIST
            | KEY_ALREADY_EXISTS
            | PRECONDITION_FAILED
            | TXN_CONFLICT
    )
}

/// An error body replying to `in_reply_to`.
pub fn error_body(in_reply_to: Option<u64>, code: i64, text: &str) -> Json {
    serde_json::json!({"type": "error", "in_reply_to": in_reply_to, "code": code, "text": text})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_message_and_keeps_unknown_fields() {
        let m = Message::parse(
            r#"{"src":"n0","dest":"c1","id":7,"body":{"type":"echo_ok","in_reply_to":3,"x":[1]}}"#,
        )
        .unwrap();
        assert_eq!(
            (m.src.as_str(), m.dest.as_str(), m.kind()),
            ("n0", "c1", "echo_ok")
        );
        assert_eq!(m.in_reply_to(), Some(3));
        assert!(m.to_line().contains(r#""x":[1]"#));
    }

    #[test]
    fn says_why_a_line_breaks_the_protocol() {
        let why = |line: &str| Message::parse(line).unwrap_err().to_string();
        assert!(why("hello").starts_with("not JSON"));
        assert_eq!(why("[1]"), "not a JSON object");
        assert_eq!(
            why(r#"{"src":"n0","body":{"type":"x"}}"#),
            "missing \"dest\""
        );
        assert_eq!(
            why(r#"{"src":"n0","dest":"n1","body":{}}"#),
            "missing \"body.type\""
        );
        assert_eq!(why(r#"{"src":1}"#), "\"src\" must be a string, not 1");
    }

    #[test]
    fn timeouts_and_crashes_are_indefinite() {
        assert!(!is_definite(code::TIMEOUT));
        assert!(!is_definite(code::CRASH));
        assert!(!is_definite(1000));
        assert!(is_definite(code::PRECONDITION_FAILED));
    }
}
