//! Checking a history whose model is known only by name at run time (the command line, the harness).
//!
//! [`check_raw`] types the operations of a [`RawHistory`] for the named built-in model, reporting the
//! location of the first one that does not fit, then checks it and describes it for display.
//!
//! Histories in the JSON formats are also checked against the shape of the model's operations
//! (`shapes`): unknown keys, and completed operations that do not report the result their model needs,
//! are errors naming the operation. JSON Lines are typed in parallel, straight from the line where the
//! line is ordinary (see `formats::jsonl`).
//!
//! The history is described for people ([`HistoryView`]: a string per input and output, and with
//! [`Checked::view_with_data`] their JSON too) only when a caller asks, to print or draw it, and
//! [`Checked::view_json`] writes it for `--json` one operation at a time: on a big
//! history the description is several times the size of the typed operations (a million kv operations
//! take about 190 MB typed, and their described view with data about 1 GB), and a check that prints
//! only its verdict never needs it.

mod shapes;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;

use crate::check::{check, Options};
use crate::error::{FormatError, Location};
use crate::explain::{explain, ExplainOptions};
use crate::formats::{fast_operation, Format, RawHistory, RawOp};
use crate::history::{Annotation, History, Operation};
use crate::model::{Model, SharedStrings};
use crate::models::{
    CasRegister, KeyedCasRegister, Kv, MultiRegister, Mutex, Queue, Register, Set, ShardConfig,
    Value,
};
use crate::verdict::{CheckResult, Step};
use crate::view::{HistoryView, OpView, StreamedView};

/// The names of the built-in models.
pub const MODELS: &[&str] = &[
    "register",
    "cas-register",
    "keyed-cas-register",
    "kv",
    "mutex",
    "multi-register",
    "queue",
    "set",
    "shard-config",
];

/// A checked history: the verdict with its evidence, and the typed history, which is described for
/// display when asked ([`Checked::view`]).
#[derive(Clone)]
pub struct Checked {
    pub model: String,
    pub result: CheckResult,
    /// The number of operations of the history.
    pub operations: usize,
    history: Arc<dyn Describe>,
}

impl Checked {
    /// The history described for display: what `viz` draws.
    pub fn view(&self) -> HistoryView {
        self.history.view(false)
    }

    /// [`Checked::view`], with every input and output also kept as JSON.
    pub fn view_with_data(&self) -> HistoryView {
        self.history.view(true)
    }

    /// What `--json` prints as the history: the JSON of [`Checked::view_with_data`], each operation
    /// described as it is written, so that the whole view is never held.
    pub fn view_json(&self) -> StreamedView<'_, impl Fn(usize) -> OpView + '_> {
        let history = &*self.history;
        StreamedView::new(
            history.name(),
            history.annotations(),
            None,
            self.operations,
            move |i| history.operation_with_data(i),
        )
    }

    /// The state after each of `steps` (a linearization or a prefix of this history's evidence),
    /// described: what the check leaves out under [`Options::describe_states`] `false`, for a caller
    /// that writes the steps one partition at a time and so never holds them all described.
    pub fn describe_steps(&self, steps: &[Step]) -> Vec<String> {
        self.history.describe_steps(steps)
    }
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked")
            .field("model", &self.model)
            .field("result", &self.result)
            .field("operations", &self.operations)
            .finish_non_exhaustive()
    }
}

/// A typed history with its model, which can describe it; the model's types are erased, so that
/// [`Checked`] does not depend on them.
trait Describe: Send + Sync {
    fn view(&self, with_data: bool) -> HistoryView;
    fn name(&self) -> &str;
    fn annotations(&self) -> &[Annotation];
    /// The `index`-th operation described, with its data.
    fn operation_with_data(&self, index: usize) -> OpView;
    /// The state after each of `steps`, described ([`Checked::describe_steps`]).
    fn describe_steps(&self, steps: &[Step]) -> Vec<String>;
}

struct Typed<M: Model> {
    model: M,
    name: String,
    history: History<M::Input, M::Output>,
}

impl<M> Describe for Typed<M>
where
    M: Model + Send,
    M::Input: Serialize + Send + Sync,
    M::Output: Serialize + Send + Sync,
{
    fn view(&self, with_data: bool) -> HistoryView {
        if with_data {
            HistoryView::with_data(&self.model, &self.name, &self.history)
        } else {
            HistoryView::new(&self.model, &self.name, &self.history)
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn annotations(&self) -> &[Annotation] {
        &self.history.annotations
    }

    fn operation_with_data(&self, index: usize) -> OpView {
        OpView::with_data_of(&self.model, &self.history.operations[index])
    }

    /// The steps replayed from the initial state, as the check describes them.
    fn describe_steps(&self, steps: &[Step]) -> Vec<String> {
        let mut states = Vec::with_capacity(steps.len());
        crate::check::replay(
            &self.model,
            steps.iter().map(|step| step.op),
            |i| &self.history.operations[i],
            |_, state| states.push(self.model.describe_state(state)),
        );
        states
    }
}

/// Checks `raw` with the model `model` (or the one the file names, or its format implies).
pub fn check_raw(
    raw: RawHistory,
    model: Option<&str>,
    options: &Options,
) -> Result<Checked, FormatError> {
    check_named(raw, model, options, None)
}

/// Checks `raw` like [`check_raw`]; when the history is not linearizable, also shrinks its first illegal
/// partition to a minimal illegal sub-history and tells why in `result.counterexample`
/// (`quill check --explain`; see [`crate::explain`]).
pub fn check_raw_explained(
    raw: RawHistory,
    model: Option<&str>,
    options: &Options,
    explain: &ExplainOptions,
) -> Result<Checked, FormatError> {
    check_named(raw, model, options, Some(explain))
}

fn check_named(
    raw: RawHistory,
    model: Option<&str>,
    options: &Options,
    explain: Option<&ExplainOptions>,
) -> Result<Checked, FormatError> {
    let name = model
        .map(str::to_string)
        .or_else(|| raw.model.clone())
        .or_else(|| raw.format.default_model().map(str::to_string))
        .ok_or_else(|| {
            FormatError::invalid(
                Location::File,
                "no model named: give --model or a \"model\" field",
            )
        })?;
    let init = raw
        .init
        .as_ref()
        .filter(|v| !v.is_null())
        .map(Value::from_json);
    match name.as_str() {
        "register" => run(&Register::new(init), &name, raw, options, explain),
        "cas-register" => run(&CasRegister::new(init), &name, raw, options, explain),
        "keyed-cas-register" if init.is_some() => Err(FormatError::invalid(
            Location::File,
            "the keyed-cas-register model takes no initial value (every key starts absent)",
        )),
        "keyed-cas-register" => run(&KeyedCasRegister, &name, raw, options, explain),
        "kv" => run(&Kv, &name, raw, options, explain),
        "mutex" if init.is_some() => Err(FormatError::invalid(
            Location::File,
            "the mutex model takes no initial value (it starts unlocked)",
        )),
        "mutex" => run(&Mutex, &name, raw, options, explain),
        "multi-register" => {
            let init = init_map(raw.init.as_ref())?;
            run(&MultiRegister::new(init), &name, raw, options, explain)
        }
        "queue" => {
            let init = init_list(raw.init.as_ref(), &name)?;
            run(&Queue::new(init), &name, raw, options, explain)
        }
        "set" => {
            let init = init_list(raw.init.as_ref(), &name)?;
            run(
                &Set::new(init.into_iter().collect()),
                &name,
                raw,
                options,
                explain,
            )
        }
        "shard-config" => run(&ShardConfig::default(), &name, raw, options, explain),
        _ => Err(FormatError::UnknownModel {
            name,
            known: MODELS.join(", "),
        }),
    }
}

/// Types every operation of `raw` for the model `M`, named `model_name`. A file that yields no
/// operation is an error unless it says explicitly that it has none.
pub fn typed<M>(
    raw: RawHistory,
    model_name: &str,
) -> Result<History<M::Input, M::Output>, FormatError>
where
    M: Model,
    M::Input: DeserializeOwned,
    M::Output: DeserializeOwned,
{
    typed_with::<M>(raw, model_name, &mut |_| {})
}

/// [`typed`], with equal strings of the operations sharing one allocation ([`Model::share`]), block
/// by block as they are typed, so that the copies are never all held at once.
fn typed_shared<M>(
    model: &M,
    raw: RawHistory,
    model_name: &str,
) -> Result<History<M::Input, M::Output>, FormatError>
where
    M: Model,
    M::Input: DeserializeOwned,
    M::Output: DeserializeOwned,
{
    let mut strings = SharedStrings::default();
    typed_with::<M>(raw, model_name, &mut |ops| model.share(ops, &mut strings))
}

/// A block of operations typed for the model `M`.
type TypedOps<M> = [Operation<<M as Model>::Input, <M as Model>::Output>];

fn typed_with<M>(
    raw: RawHistory,
    model_name: &str,
    share: &mut dyn FnMut(&mut TypedOps<M>),
) -> Result<History<M::Input, M::Output>, FormatError>
where
    M: Model,
    M::Input: DeserializeOwned,
    M::Output: DeserializeOwned,
{
    let shape = match raw.format {
        Format::Json | Format::Jsonl => shapes::of(model_name),
        _ => None,
    };
    let slow = |op: RawOp| type_op::<M>(op, model_name, shape);
    let fast = |line: &[u8]| {
        let shape = shape.filter(|s| s.fast())?;
        fast_operation::<M::Input, M::Output>(line, &|op, input, output, completed| {
            shape.check(op, input, output, completed).is_ok()
        })
    };
    let operations = raw.operations.typed(&fast, &slow, share)?;
    Ok(History {
        operations,
        annotations: raw.annotations,
    })
}

fn type_op<M>(
    op: RawOp,
    model_name: &str,
    shape: Option<&shapes::ModelShape>,
) -> Result<Operation<M::Input, M::Output>, FormatError>
where
    M: Model,
    M::Input: DeserializeOwned,
    M::Output: DeserializeOwned,
{
    if let Some(shape) = shape {
        let completed = op.ret.is_some() && !op.failed;
        shape
            .check_json(&op.input, op.output.as_ref(), completed)
            .map_err(|m| FormatError::invalid(op.at.clone(), m))?;
    }
    let input = serde_json::from_value::<M::Input>(op.input.clone()).map_err(|e| {
        FormatError::invalid(
            op.at.clone(),
            format!("input {} is not a {model_name} operation: {e}", op.input),
        )
    })?;
    let output = match op.output {
        // A completed operation with nothing to report reads as an empty object, so that every
        // field of the model's output takes its default.
        Some(Json::Null) => Some(empty_output::<M>(&op.at)?),
        Some(out) => Some(
            serde_json::from_value::<M::Output>(out.clone()).map_err(|e| {
                FormatError::invalid(
                    op.at.clone(),
                    format!("output {out} is not a {model_name} output: {e}"),
                )
            })?,
        ),
        None => None,
    };
    let output = if op.failed { None } else { output };
    Ok(Operation {
        client: op.client,
        call: op.call,
        ret: op.ret,
        input,
        output,
        failed: op.failed,
    })
}

fn empty_output<M>(at: &Location) -> Result<M::Output, FormatError>
where
    M: Model,
    M::Output: DeserializeOwned,
{
    serde_json::from_value::<M::Output>(Json::Object(Default::default())).map_err(|e| {
        FormatError::invalid(
            at.clone(),
            format!("output is null but this model needs one: {e}"),
        )
    })
}

/// A multi-register's initial values: a map of keys to values (`{"x": 0}`), or none.
fn init_map(init: Option<&Json>) -> Result<crate::models::multi_register::MultiState, FormatError> {
    match init {
        None | Some(Json::Null) => Ok(Default::default()),
        Some(Json::Object(map)) => Ok(map.iter().map(|(k, v)| (k.as_str().into(), Value::from_json(v))).collect()),
        Some(other) => Err(FormatError::invalid(
            Location::File,
            format!("a multi-register's initial value must be a map of keys to values, such as {{:x 0}}, not {other}"),
        )),
    }
}

/// A queue's or set's initial elements: a list of values, or none.
fn init_list(init: Option<&Json>, model: &str) -> Result<Vec<Value>, FormatError> {
    match init {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => Ok(items.iter().map(Value::from_json).collect()),
        Some(other) => Err(FormatError::invalid(
            Location::File,
            format!("a {model}'s initial value must be a list of elements, not {other}"),
        )),
    }
}

fn run<M>(
    model: &M,
    name: &str,
    raw: RawHistory,
    options: &Options,
    explain_with: Option<&ExplainOptions>,
) -> Result<Checked, FormatError>
where
    M: Model + Clone + Send + 'static,
    M::Input: DeserializeOwned + Serialize + Send + Sync + 'static,
    M::Output: DeserializeOwned + Serialize + Send + Sync + 'static,
{
    let history = typed_shared(model, raw, name)?;
    let mut result = check(model, &history, options)
        .map_err(|e| FormatError::invalid(Location::File, e.to_string()))?;
    if let Some(how) = explain_with {
        result.counterexample = explain(model, &history, &result, how);
    }
    Ok(Checked {
        model: name.to_string(),
        result,
        operations: history.len(),
        history: Arc::new(Typed {
            model: model.clone(),
            name: name.to_string(),
            history,
        }),
    })
}
