//! [`Value`]: an arbitrary JSON value held as canonical text, so that it can be compared and hashed.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON value in canonical form (object keys sorted, no insignificant white space). Two values are
/// equal iff their JSON is. Cloning is cheap.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(Arc<str>);

impl Value {
    pub fn from_json(value: &serde_json::Value) -> Self {
        // serde_json's map is ordered by key (no `preserve_order`), so `to_string` is canonical.
        Value(value.to_string().into())
    }

    /// A JSON string value.
    pub fn string(s: &str) -> Self {
        Self::from_json(&serde_json::Value::String(s.to_string()))
    }

    /// A JSON integer value.
    pub fn int(i: i64) -> Self {
        Value(i.to_string().into())
    }

    /// The canonical JSON text.
    pub fn as_json_text(&self) -> &str {
        &self.0
    }

    /// The value as parsed JSON. A value nested deeper than serde_json parses (128 levels; EDN
    /// histories may nest up to 200) comes back as its JSON text in a string, never a panic.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.0)
            .unwrap_or_else(|_| serde_json::Value::String(self.0.to_string()))
    }
}

impl fmt::Display for Value {
    /// Strings without their quotes (`a`, not `"a"`), everything else as JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::from_str::<serde_json::Value>(&self.0) {
            Ok(serde_json::Value::String(s)) => f.write_str(&s),
            _ => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Value::from_json(&serde_json::Value::deserialize(
            deserializer,
        )?))
    }
}

/// Describes an optional register value: the value, or `absent`.
pub(crate) fn describe(value: &Option<Value>) -> String {
    match value {
        Some(v) => v.to_string(),
        None => "absent".to_string(),
    }
}
