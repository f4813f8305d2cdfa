//! `queue`: a FIFO queue, empty at first (or holding the given initial elements, front first).
//! `enqueue` appends; `dequeue` removes the front element and returns it, or returns null when the queue
//! is empty. A dequeue with no response removes the front element if there is one.
//!
//! JSON: `{"op":"enqueue","value":V}`; `{"op":"dequeue"}` -> `{"value":V}` (null: the queue was empty).

use serde::{Deserialize, Serialize};

use super::value::{describe, Value};
use crate::model::Model;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum QueueInput {
    Enqueue { value: Value },
    Dequeue,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueueOutput {
    /// What a dequeue returned; null when the queue was empty.
    #[serde(default)]
    pub value: Option<Value>,
}

/// The FIFO queue model.
#[derive(Debug, Clone, Default)]
pub struct Queue {
    pub init: Vec<Value>,
}

impl Queue {
    pub fn new(init: Vec<Value>) -> Self {
        Queue { init }
    }
}

impl Model for Queue {
    /// The elements, front first.
    type State = Vec<Value>;
    type Input = QueueInput;
    type Output = QueueOutput;

    fn init(&self) -> Vec<Value> {
        self.init.clone()
    }

    fn step(
        &self,
        state: &Vec<Value>,
        input: &QueueInput,
        output: Option<&QueueOutput>,
    ) -> Option<Vec<Value>> {
        match input {
            QueueInput::Enqueue { value } => {
                let mut next = state.clone();
                next.push(value.clone());
                Some(next)
            }
            QueueInput::Dequeue => {
                let front = state.first();
                match output {
                    Some(out) if out.value.as_ref() != front => None,
                    _ => Some(state.get(1..).unwrap_or_default().to_vec()),
                }
            }
        }
    }

    fn describe_input(&self, input: &QueueInput) -> String {
        match input {
            QueueInput::Enqueue { value } => format!("enqueue({value})"),
            QueueInput::Dequeue => "dequeue()".to_string(),
        }
    }

    fn describe_output(&self, input: &QueueInput, output: &QueueOutput) -> String {
        match (input, &output.value) {
            (QueueInput::Dequeue, None) => "empty".to_string(),
            (QueueInput::Dequeue, value) => describe(value),
            (QueueInput::Enqueue { .. }, _) => String::new(),
        }
    }

    fn describe_state(&self, state: &Vec<Value>) -> String {
        let parts: Vec<String> = state.iter().map(Value::to_string).collect();
        format!("[{}]", parts.join(", "))
    }
}
