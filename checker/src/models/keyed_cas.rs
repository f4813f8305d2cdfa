//! `keyed-cas-register`: independent compare-and-set registers by key, each absent at first (Jepsen's
//! "independent" cas-registers, Maelstrom's `lin-kv` workload).
//!
//! JSON: a `cas-register` operation with a `key` beside it: `{"key":K,"op":"read"}` -> `{"value":V}`,
//! `{"key":K,"op":"write","value":V}`, `{"key":K,"op":"cas","from":A,"to":B}` -> `{"ok":true|false}`.
//! Keys are any JSON values. The history partitions by key, and operations on different keys are
//! independent, so each key is checked on its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cas_register::{CasInput, CasOutput, CasRegister};
use super::value::Value;
use crate::history::Operation;
use crate::model::{Model, Partition};

/// An operation on the register at `key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyedCasInput {
    pub key: Value,
    #[serde(flatten)]
    pub op: CasInput,
}

/// The state: the value of every key that holds one (absent keys are left out).
pub type KeyedCasState = BTreeMap<Value, Value>;

/// Compare-and-set registers by key.
#[derive(Debug, Clone, Default)]
pub struct KeyedCasRegister;

impl Model for KeyedCasRegister {
    type State = KeyedCasState;
    type Input = KeyedCasInput;
    type Output = CasOutput;

    fn init(&self) -> KeyedCasState {
        BTreeMap::new()
    }

    fn step(
        &self,
        state: &KeyedCasState,
        input: &KeyedCasInput,
        output: Option<&CasOutput>,
    ) -> Option<KeyedCasState> {
        let current = state.get(&input.key).cloned();
        let next = CasRegister::new(None).step(&current, &input.op, output)?;
        if next == current {
            return Some(state.clone());
        }
        let mut state = state.clone();
        match next {
            Some(value) => state.insert(input.key.clone(), value),
            None => state.remove(&input.key),
        };
        Some(state)
    }

    fn is_read_only(&self, input: &KeyedCasInput, output: Option<&CasOutput>) -> bool {
        CasRegister::new(None).is_read_only(&input.op, output)
    }

    fn independent(&self, a: &KeyedCasInput, b: &KeyedCasInput) -> bool {
        a.key != b.key
    }

    fn partition(&self, operations: &[Operation<KeyedCasInput, CasOutput>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, op) in operations.iter().enumerate() {
            by_key
                .entry(op.input.key.to_string())
                .or_default()
                .push(index);
        }
        Partition::by_key(by_key)
    }

    fn describe_input(&self, input: &KeyedCasInput) -> String {
        let op = CasRegister::new(None).describe_input(&input.op);
        format!("{}:{op}", input.key)
    }

    fn describe_output(&self, input: &KeyedCasInput, output: &CasOutput) -> String {
        CasRegister::new(None).describe_output(&input.op, output)
    }

    fn describe_state(&self, state: &KeyedCasState) -> String {
        if state.is_empty() {
            return "{}".to_string();
        }
        let entries: Vec<String> = state.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("{{{}}}", entries.join(", "))
    }
}
