//! `register`: a single read/write register. It starts absent (JSON null) unless given an initial value.
//!
//! JSON: `{"op":"write","value":V}` and `{"op":"read"}` -> `{"value":V}`; a read of null means the
//! register was absent.

use serde::{Deserialize, Serialize};

use super::orders::{register_orders, Access};
use super::value::{describe, Value};
use crate::history::Operation;
use crate::model::{Model, ValueOrder};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum RegisterInput {
    Read,
    Write { value: Option<Value> },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RegisterOutput {
    /// The value a read returned; null (absent) when the register held nothing.
    #[serde(default)]
    pub value: Option<Value>,
}

/// The register model.
#[derive(Debug, Clone, Default)]
pub struct Register {
    pub init: Option<Value>,
}

impl Register {
    pub fn new(init: Option<Value>) -> Self {
        Register { init }
    }
}

impl Model for Register {
    type State = Option<Value>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Self::State {
        self.init.clone()
    }

    fn step(
        &self,
        state: &Self::State,
        input: &RegisterInput,
        output: Option<&RegisterOutput>,
    ) -> Option<Self::State> {
        match input {
            RegisterInput::Write { value } => Some(value.clone()),
            RegisterInput::Read => match output {
                Some(out) if out.value != *state => None,
                _ => Some(state.clone()),
            },
        }
    }

    fn same_operation(&self, a: &RegisterInput, b: &RegisterInput) -> bool {
        a == b
    }

    fn is_read_only(&self, input: &RegisterInput, _output: Option<&RegisterOutput>) -> bool {
        matches!(input, RegisterInput::Read)
    }

    /// A register's value orders (see `models::orders`): reads after the one write of their value, and
    /// before the writes that came after it.
    fn value_orders(
        &self,
        operations: &[Operation<RegisterInput, RegisterOutput>],
        subset: &[usize],
    ) -> Vec<ValueOrder> {
        register_orders(&self.init, operations, subset, |op| match &op.input {
            RegisterInput::Read => Access {
                reads: op.output.as_ref().map(|o| o.value.clone()),
                writes: None,
                certain: false,
            },
            RegisterInput::Write { value } => Access {
                reads: None,
                writes: Some(value.clone()),
                certain: true,
            },
        })
    }

    fn describe_input(&self, input: &RegisterInput) -> String {
        match input {
            RegisterInput::Read => "read()".to_string(),
            RegisterInput::Write { value } => format!("write({})", describe(value)),
        }
    }

    fn describe_output(&self, input: &RegisterInput, output: &RegisterOutput) -> String {
        match input {
            RegisterInput::Read => describe(&output.value),
            RegisterInput::Write { .. } => String::new(),
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        describe(state)
    }
}
