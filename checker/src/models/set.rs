//! `set`: a grow-only set, empty at first (or holding the given initial elements). `add` inserts; `read`
//! returns the whole set, which must equal the state exactly. A read with no response (or, in EDN, a nil
//! read) constrains nothing.
//!
//! JSON: `{"op":"add","value":V}`; `{"op":"read"}` -> `{"value":[V, ..]}` (order and duplicates ignored).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::value::Value;
use crate::model::Model;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum SetInput {
    Add { value: Value },
    Read,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SetOutput {
    /// What a read returned; absent for an add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<BTreeSet<Value>>,
}

/// The set model.
#[derive(Debug, Clone, Default)]
pub struct Set {
    pub init: BTreeSet<Value>,
}

impl Set {
    pub fn new(init: BTreeSet<Value>) -> Self {
        Set { init }
    }
}

fn describe_set(set: &BTreeSet<Value>) -> String {
    let parts: Vec<String> = set.iter().map(Value::to_string).collect();
    format!("{{{}}}", parts.join(", "))
}

impl Model for Set {
    type State = BTreeSet<Value>;
    type Input = SetInput;
    type Output = SetOutput;

    fn init(&self) -> Self::State {
        self.init.clone()
    }

    fn step(
        &self,
        state: &Self::State,
        input: &SetInput,
        output: Option<&SetOutput>,
    ) -> Option<Self::State> {
        match input {
            SetInput::Add { value } => {
                let mut next = state.clone();
                next.insert(value.clone());
                Some(next)
            }
            SetInput::Read => match output.and_then(|o| o.value.as_ref()) {
                Some(seen) if seen != state => None,
                _ => Some(state.clone()),
            },
        }
    }

    fn describe_input(&self, input: &SetInput) -> String {
        match input {
            SetInput::Add { value } => format!("add({value})"),
            SetInput::Read => "read()".to_string(),
        }
    }

    fn describe_output(&self, _input: &SetInput, output: &SetOutput) -> String {
        output.value.as_ref().map(describe_set).unwrap_or_default()
    }

    fn describe_state(&self, state: &Self::State) -> String {
        describe_set(state)
    }
}
