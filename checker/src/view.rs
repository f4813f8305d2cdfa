//! A history as people read it: every operation's input and output described by its model.
//!
//! This is what `viz` draws and what `--json` prints beside a verdict; it needs no model types.

use serde::{Deserialize, Serialize};

use crate::history::{Annotation, ClientId, History};
use crate::model::Model;

/// One operation, described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpView {
    pub client: ClientId,
    pub call: i64,
    #[serde(rename = "return")]
    pub ret: Option<i64>,
    /// The input as the model describes it, e.g. `put(x, a)`.
    pub input: String,
    /// The output as the model describes it, e.g. `a`; `None` when there was no response.
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

impl OpView {
    /// `get(x) -> a`, `put(x, a)`, `append(x, b) -> ?` for no response.
    pub fn label(&self) -> String {
        match (&self.output, self.ret) {
            (_, None) => format!("{} -> ?", self.input),
            (Some(out), _) if !out.is_empty() => format!("{} -> {}", self.input, out),
            _ => self.input.clone(),
        }
    }
}

/// A described history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryView {
    /// The model's name.
    pub model: String,
    pub operations: Vec<OpView>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
}

impl HistoryView {
    /// Describes every operation of `history` with `model`.
    pub fn new<M: Model>(model: &M, name: &str, history: &History<M::Input, M::Output>) -> Self {
        let operations = history
            .operations
            .iter()
            .map(|op| OpView {
                client: op.client,
                call: op.call,
                ret: op.ret,
                input: model.describe_input(&op.input),
                output: op
                    .output
                    .as_ref()
                    .map(|o| model.describe_output(&op.input, o)),
                failed: op.failed,
            })
            .collect();
        HistoryView {
            model: name.to_string(),
            operations,
            annotations: history.annotations.clone(),
        }
    }
}
