//! A history as people read it: every operation's input and output described by its model.
//!
//! This is what `viz` draws and what `--json` prints beside a verdict; it needs no model types. The
//! descriptions are for people and can be ambiguous (`put(x, y, a)` may be a put of `y, a` to `x` or of `a`
//! to `x, y`), so a view built with [`HistoryView::with_data`] also keeps every input and output as the
//! JSON the model's types serialize to.

mod streamed;

use serde::{Deserialize, Serialize};

use crate::history::{Annotation, ClientId, History, Operation};
use crate::model::Model;

pub use streamed::StreamedView;

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
    /// The input and output as JSON, when the view was built with [`HistoryView::with_data`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<OpJson>,
}

/// An operation's input and output as JSON, in the model's own terms (`{"op": "put", "key": "x, y",
/// "value": "a"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpJson {
    pub input: serde_json::Value,
    /// `None` (JSON null) when there was no response, or the operation failed.
    pub output: Option<serde_json::Value>,
}

impl OpView {
    /// `op` described by `model`.
    pub fn of<M: Model>(model: &M, op: &Operation<M::Input, M::Output>) -> Self {
        OpView {
            client: op.client,
            call: op.call,
            ret: op.ret,
            input: model.describe_input(&op.input),
            output: op
                .output
                .as_ref()
                .map(|o| model.describe_output(&op.input, o)),
            failed: op.failed,
            json: None,
        }
    }

    /// [`OpView::of`], with the input and output also kept as JSON.
    pub fn with_data_of<M: Model>(model: &M, op: &Operation<M::Input, M::Output>) -> Self
    where
        M::Input: Serialize,
        M::Output: Serialize,
    {
        // The models' inputs and outputs are plain data: serializing them does not fail, and if a
        // model's did, null says "not known" rather than stopping the check.
        let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or_default();
        OpView {
            json: Some(OpJson {
                input: json(serde_json::to_value(&op.input)),
                output: op.output.as_ref().map(|o| json(serde_json::to_value(o))),
            }),
            ..Self::of(model, op)
        }
    }

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
    /// The unit of the times (`ns`, `us`, `ms` or `s`), when the history says; `None`: unitless (event
    /// positions, or timestamps of unknown unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_unit: Option<String>,
}

impl HistoryView {
    /// Describes every operation of `history` with `model`.
    pub fn new<M: Model>(model: &M, name: &str, history: &History<M::Input, M::Output>) -> Self {
        Self::described(name, history, |op| OpView::of(model, op))
    }

    /// [`HistoryView::new`], with every input and output also kept as JSON (`--json`).
    pub fn with_data<M: Model>(
        model: &M,
        name: &str,
        history: &History<M::Input, M::Output>,
    ) -> Self
    where
        M::Input: Serialize,
        M::Output: Serialize,
    {
        Self::described(name, history, |op| OpView::with_data_of(model, op))
    }

    fn described<I, O>(
        name: &str,
        history: &History<I, O>,
        describe: impl Fn(&Operation<I, O>) -> OpView,
    ) -> Self {
        HistoryView {
            model: name.to_string(),
            operations: history.operations.iter().map(describe).collect(),
            annotations: history.annotations.clone(),
            time_unit: None,
        }
    }
}
