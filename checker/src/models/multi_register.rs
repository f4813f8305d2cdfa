//! `multi-register`: registers by key, read and written by transactions (Knossos's multi-register).
//!
//! A transaction is a sequence of micro-operations applied in order, atomically: a write sets its key; a
//! read is legal when its value is null (the result is unknown) or equals the key's current value, and a
//! key never written reads null. If any read is illegal the transaction is. Keys start as the initial map
//! gives them (`{"x": 0, "y": 0}`), or absent.
//!
//! A history partitions by key only when every transaction touches a single key: a transaction over two
//! keys ties them together, and then the whole history is one partition.
//!
//! JSON: `{"op":"txn","ops":[{"f":"read","key":"x","value":1},{"f":"write","key":"y","value":2}]}` ->
//! `{"ops":[..]}` or `{}`/null. The output's `ops`, when given, is the transaction as it completed and
//! replaces the input's (that is how Jepsen reports what the reads saw); without it the input's are used.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::value::{describe, Value};
use crate::history::Operation;
use crate::model::{Model, Partition};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MicroKind {
    Read,
    Write,
}

/// One micro-operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MicroOp {
    pub f: MicroKind,
    pub key: Arc<str>,
    /// For a write, the value written; for a read, the value seen (null: unknown).
    #[serde(default)]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum MultiInput {
    Txn { ops: Vec<MicroOp> },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MultiOutput {
    /// The transaction as completed, replacing the input's micro-operations when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<MicroOp>>,
}

/// The state: every key that holds a value.
pub type MultiState = BTreeMap<Arc<str>, Value>;

/// The multi-register model.
#[derive(Debug, Clone, Default)]
pub struct MultiRegister {
    pub init: MultiState,
}

impl MultiRegister {
    pub fn new(init: MultiState) -> Self {
        MultiRegister { init }
    }
}

impl MultiInput {
    fn ops(&self) -> &[MicroOp] {
        match self {
            MultiInput::Txn { ops } => ops,
        }
    }
}

fn describe_ops(ops: &[MicroOp]) -> String {
    let parts: Vec<String> = ops
        .iter()
        .map(|op| {
            let f = match op.f {
                MicroKind::Read => "r",
                MicroKind::Write => "w",
            };
            let value = match (&op.value, op.f) {
                (None, MicroKind::Read) => "?".to_string(),
                (v, _) => describe(v),
            };
            format!("{f} {} {value}", op.key)
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

impl Model for MultiRegister {
    type State = MultiState;
    type Input = MultiInput;
    type Output = MultiOutput;

    fn init(&self) -> MultiState {
        self.init.clone()
    }

    fn step(
        &self,
        state: &MultiState,
        input: &MultiInput,
        output: Option<&MultiOutput>,
    ) -> Option<MultiState> {
        let ops = output.and_then(|o| o.ops.as_deref()).unwrap_or(input.ops());
        // Without a response, what the reads saw is unknown: only the writes count.
        let check_reads = output.is_some();
        let mut next = state.clone();
        for op in ops {
            match (op.f, &op.value) {
                (MicroKind::Write, Some(v)) => {
                    next.insert(op.key.clone(), v.clone());
                }
                (MicroKind::Write, None) => {
                    next.remove(&op.key);
                }
                (MicroKind::Read, Some(seen)) if check_reads => {
                    if next.get(&op.key) != Some(seen) {
                        return None;
                    }
                }
                (MicroKind::Read, _) => {}
            }
        }
        Some(next)
    }

    fn partition(&self, operations: &[Operation<MultiInput, MultiOutput>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in operations.iter().enumerate() {
            let ops = op
                .output
                .as_ref()
                .and_then(|o| o.ops.as_deref())
                .unwrap_or(op.input.ops());
            let mut keys = op.input.ops().iter().chain(ops).map(|m| &*m.key);
            let Some(first) = keys.next() else {
                return vec![Partition::whole(operations.len())];
            };
            if keys.any(|k| k != first) {
                return vec![Partition::whole(operations.len())];
            }
            by_key.entry(first).or_default().push(i);
        }
        Partition::by_key(by_key)
    }

    fn describe_input(&self, input: &MultiInput) -> String {
        format!("txn{}", describe_ops(input.ops()))
    }

    fn describe_output(&self, _input: &MultiInput, output: &MultiOutput) -> String {
        output.ops.as_deref().map(describe_ops).unwrap_or_default()
    }

    fn describe_state(&self, state: &MultiState) -> String {
        let parts: Vec<String> = state.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("{{{}}}", parts.join(", "))
    }
}
