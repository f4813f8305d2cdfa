//! `cas-register`: a register with compare-and-set. It starts absent unless given an initial value.
//!
//! JSON: the register's read and write, plus `{"op":"cas","from":A,"to":B}` -> `{"ok":true|false}`. A cas
//! that returned false did not swap because, at its linearization point, the register did not hold A: it
//! is a completed operation that constrains the state (unlike an operation marked `failed`, which had no
//! effect at all). A cas with no response may have swapped or not.

use serde::{Deserialize, Serialize};

use super::orders::{register_orders, Access};
use super::value::{describe, Value};
use crate::history::Operation;
use crate::model::{Model, ValueOrder};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum CasInput {
    Read,
    Write {
        value: Option<Value>,
    },
    Cas {
        from: Option<Value>,
        to: Option<Value>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CasOutput {
    /// What a read returned (null: absent).
    #[serde(default)]
    pub value: Option<Value>,
    /// Whether a cas swapped; absent means unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
}

/// The compare-and-set register model.
#[derive(Debug, Clone, Default)]
pub struct CasRegister {
    pub init: Option<Value>,
}

impl CasRegister {
    pub fn new(init: Option<Value>) -> Self {
        CasRegister { init }
    }
}

impl Model for CasRegister {
    type State = Option<Value>;
    type Input = CasInput;
    type Output = CasOutput;

    fn init(&self) -> Self::State {
        self.init.clone()
    }

    fn step(
        &self,
        state: &Self::State,
        input: &CasInput,
        output: Option<&CasOutput>,
    ) -> Option<Self::State> {
        match input {
            CasInput::Write { value } => Some(value.clone()),
            CasInput::Read => match output {
                Some(out) if out.value != *state => None,
                _ => Some(state.clone()),
            },
            CasInput::Cas { from, to } => {
                let swaps = state == from;
                match output.and_then(|o| o.ok) {
                    Some(ok) if ok != swaps => None,
                    _ if swaps => Some(to.clone()),
                    _ => Some(state.clone()),
                }
            }
        }
    }

    fn same_operation(&self, a: &CasInput, b: &CasInput) -> bool {
        a == b
    }

    fn is_read_only(&self, input: &CasInput, output: Option<&CasOutput>) -> bool {
        // A cas known not to have swapped only checks the value, like a read.
        match input {
            CasInput::Read => true,
            CasInput::Cas { .. } => output.and_then(|o| o.ok) == Some(false),
            CasInput::Write { .. } => false,
        }
    }

    /// A register's value orders (see `models::orders`); a cas that swapped reads its `from` and writes its
    /// `to`, one of unknown outcome may have written its `to`, and one that did not swap tells nothing.
    fn value_orders(
        &self,
        operations: &[Operation<CasInput, CasOutput>],
        subset: &[usize],
    ) -> Vec<ValueOrder> {
        register_orders(&self.init, operations, subset, |op| match &op.input {
            CasInput::Read => Access {
                reads: op.output.as_ref().map(|o| o.value.clone()),
                writes: None,
                certain: false,
            },
            CasInput::Write { value } => Access {
                reads: None,
                writes: Some(value.clone()),
                certain: true,
            },
            CasInput::Cas { from, to } => match op.output.as_ref().and_then(|o| o.ok) {
                Some(true) => Access {
                    reads: Some(from.clone()),
                    writes: Some(to.clone()),
                    certain: true,
                },
                Some(false) => Access {
                    reads: None,
                    writes: None,
                    certain: false,
                },
                None => Access {
                    reads: None,
                    writes: Some(to.clone()),
                    certain: false,
                },
            },
        })
    }

    fn describe_input(&self, input: &CasInput) -> String {
        match input {
            CasInput::Read => "read()".to_string(),
            CasInput::Write { value } => format!("write({})", describe(value)),
            CasInput::Cas { from, to } => format!("cas({}, {})", describe(from), describe(to)),
        }
    }

    fn describe_output(&self, input: &CasInput, output: &CasOutput) -> String {
        match input {
            CasInput::Read => describe(&output.value),
            CasInput::Write { .. } => String::new(),
            CasInput::Cas { .. } => match output.ok {
                Some(true) => "ok".to_string(),
                Some(false) => "fail".to_string(),
                None => "?".to_string(),
            },
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        describe(state)
    }
}
