//! `kv`: a key/value store with get, put and append, partitioned by key.
//!
//! Every key starts as the empty string, so a get of a key never written returns `""`. put replaces,
//! append concatenates. An append whose output carries `{"value": previous}` is checked against the value
//! it replaced, as the kvsrv lab's Append returns the old value; an append with a null output is not.
//!
//! JSON: `{"op":"get","key":K}` -> `{"value":V}`; `{"op":"put","key":K,"value":V}`;
//! `{"op":"append","key":K,"value":V}` -> null or `{"value":previous}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::history::Operation;
use crate::model::{Model, Partition};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum KvInput {
    Get { key: Arc<str> },
    Put { key: Arc<str>, value: Arc<str> },
    Append { key: Arc<str>, value: Arc<str> },
}

impl KvInput {
    pub fn key(&self) -> &Arc<str> {
        match self {
            KvInput::Get { key } | KvInput::Put { key, .. } | KvInput::Append { key, .. } => key,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvOutput {
    /// What a get returned, or the value an append replaced; absent when not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Arc<str>>,
}

/// The state: every key with a non-empty value (a missing key reads as `""`).
pub type KvState = BTreeMap<Arc<str>, Arc<str>>;

/// The key/value model.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

fn current<'a>(state: &'a KvState, key: &str) -> &'a str {
    state.get(key).map_or("", |v| v)
}

fn set(state: &KvState, key: &Arc<str>, value: Arc<str>) -> KvState {
    let mut next = state.clone();
    if value.is_empty() {
        // A key holding "" is indistinguishable from an absent one: keep one representation so that the
        // memo table sees them as one state.
        next.remove(key);
    } else {
        next.insert(key.clone(), value);
    }
    next
}

impl Model for Kv {
    type State = KvState;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> KvState {
        KvState::new()
    }

    fn step(&self, state: &KvState, input: &KvInput, output: Option<&KvOutput>) -> Option<KvState> {
        match input {
            KvInput::Get { key } => match output.and_then(|o| o.value.as_deref()) {
                Some(seen) if seen != current(state, key) => None,
                _ => Some(state.clone()),
            },
            KvInput::Put { key, value } => Some(set(state, key, value.clone())),
            KvInput::Append { key, value } => {
                let old = current(state, key);
                if let Some(seen) = output.and_then(|o| o.value.as_deref()) {
                    if seen != old {
                        return None;
                    }
                }
                Some(set(state, key, format!("{old}{value}").into()))
            }
        }
    }

    fn is_read_only(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        matches!(input, KvInput::Get { .. })
    }

    fn partition(&self, operations: &[Operation<KvInput, KvOutput>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in operations.iter().enumerate() {
            by_key.entry(op.input.key()).or_default().push(i);
        }
        by_key
            .into_iter()
            .map(|(key, operations)| Partition { label: key.to_string(), operations })
            .collect()
    }

    fn describe_input(&self, input: &KvInput) -> String {
        match input {
            KvInput::Get { key } => format!("get({key})"),
            KvInput::Put { key, value } => format!("put({key}, {value})"),
            KvInput::Append { key, value } => format!("append({key}, {value})"),
        }
    }

    fn describe_output(&self, input: &KvInput, output: &KvOutput) -> String {
        match (input, &output.value) {
            (KvInput::Get { .. }, Some(v)) => format!("{v:?}"),
            (KvInput::Append { .. }, Some(v)) => format!("was {v:?}"),
            _ => String::new(),
        }
    }

    fn describe_state(&self, state: &KvState) -> String {
        let parts: Vec<String> = state.iter().map(|(k, v)| format!("{k}: {v:?}")).collect();
        format!("{{{}}}", parts.join(", "))
    }
}
