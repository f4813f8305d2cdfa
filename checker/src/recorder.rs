//! Recording a history from real clients: for anyone who tests a system of their own.
//!
//! A [`Recorder`] is shared by every client of a test (it is `Clone`, `Send` and `Sync`; a clone is a
//! handle to the same history). Before a client sends a request it calls [`Recorder::call`] and gets a
//! [`Ticket`]; when the response comes it calls [`Ticket::ok`] with what it saw. [`Ticket::fail`] says the
//! operation is known to have had no effect (the server rejected it before doing anything). Dropping a
//! ticket without either (a timeout, a lost connection, a panic in the client, a task cancelled by
//! `tokio::time::timeout`) records the operation as *unknown*: it may have taken effect at any instant after
//! its call, or never, which is exactly what the checker assumes of an operation with no return.
//!
//! Times are nanoseconds since the recorder was made, read from a monotonic clock ([`Instant`]), taken as
//! late as possible for a call (after the ticket is registered, just before the caller sends) and as early
//! as possible for a return (the first thing `ok` does); so each recorded interval contains the real one.
//!
//! With [`Recorder::jsonl`] the history is also streamed as JSON Lines (`docs/history-format.md`): a header
//! line naming the model, then one line per operation written and flushed when the operation completes (or
//! its ticket is dropped). Every line is whole when written, so if the test process dies, the file holds
//! every operation that completed before, and `quill check` reads it as it is. Operations still in flight
//! at that moment are missing from the file, which is safe: a missing operation that had no response could
//! only have added possibilities.
//!
//! The recorder uses only `std` synchronization (one short critical section per event), so it works in
//! threads and tokio tasks alike, with no dependence on a runtime.
//!
//! ```
//! use checker::models::{CasInput, CasOutput, CasRegister, Value};
//! use checker::recorder::Recorder;
//! use checker::Verdict;
//!
//! let recorder = Recorder::<CasInput, CasOutput>::new();
//! let write = recorder.call(0, CasInput::Write { value: Some(Value::int(1)) });
//! write.ok(CasOutput::default());
//! let read = recorder.call(1, CasInput::Read);
//! read.ok(CasOutput { value: Some(Value::int(1)), ok: None });
//! let lost = recorder.call(2, CasInput::Write { value: Some(Value::int(2)) });
//! drop(lost); // timed out: unknown
//! let result = recorder.check(&CasRegister::new(None), &Default::default()).unwrap();
//! assert_eq!(result.verdict, Verdict::Ok);
//! assert_eq!(recorder.history().operations[2].ret, None);
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;
use thiserror::Error;

use crate::check::{check, Options};
use crate::error::HistoryError;
use crate::history::{Annotation, ClientId, History, Operation};
use crate::model::Model;
use crate::verdict::CheckResult;

/// Why the recorder could not stream or check its history.
#[derive(Debug, Error)]
pub enum RecorderError {
    #[error("cannot create the history file {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing failed at this operation (its index in the history); the file is whole up to the line
    /// before it, and nothing more was written after.
    #[error("writing operation {operation} to the history file failed: {source}")]
    Write {
        operation: usize,
        source: std::io::Error,
    },
    #[error(
        "an input or output could not be serialized as JSON (operation {operation}): {source}"
    )]
    Serialize {
        operation: usize,
        source: serde_json::Error,
    },
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// A shared, thread-safe history being recorded. See the [module guide](self).
pub struct Recorder<I, O> {
    shared: Arc<Shared<I, O>>,
}

impl<I, O> Clone for Recorder<I, O> {
    fn clone(&self) -> Self {
        Recorder {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<I, O> {
    start: Instant,
    state: Mutex<State<I, O>>,
}

struct State<I, O> {
    history: History<I, O>,
    sink: Option<Box<dyn Write + Send>>,
    /// The first failure to stream; the sink is dropped then, so the file stays whole.
    error: Option<RecorderError>,
    in_flight: usize,
}

/// One operation in flight. Complete it with [`ok`](Ticket::ok) or [`fail`](Ticket::fail); dropping it
/// records an unknown outcome.
#[must_use = "dropping a ticket records the operation as unknown; call ok() or fail()"]
pub struct Ticket<I: Serialize, O: Serialize> {
    shared: Arc<Shared<I, O>>,
    index: usize,
    done: bool,
}

impl<I, O> Default for Recorder<I, O>
where
    I: Serialize + Clone,
    O: Serialize + Clone,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<I, O> Recorder<I, O>
where
    I: Serialize + Clone,
    O: Serialize + Clone,
{
    /// A recorder that keeps the history in memory only.
    pub fn new() -> Self {
        Self::with_sink(None)
    }

    /// A recorder that also streams JSON Lines to `path` (created or truncated), with a header line naming
    /// `model` (a name `quill check` knows, or any name of your own).
    pub fn jsonl(path: &Path, model: &str) -> Result<Self, RecorderError> {
        let file = File::create(path).map_err(|source| RecorderError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        Self::to_writer(BufWriter::new(file), model)
    }

    /// A recorder that streams JSON Lines to `writer`, flushing after every line.
    pub fn to_writer(
        writer: impl Write + Send + 'static,
        model: &str,
    ) -> Result<Self, RecorderError> {
        let recorder = Self::with_sink(Some(Box::new(writer)));
        let header = serde_json::json!({ "model": model });
        let error = {
            let mut state = recorder.lock();
            state.write_line(0, &header);
            state.error.take()
        };
        match error {
            Some(err) => Err(err),
            None => Ok(recorder),
        }
    }

    fn with_sink(sink: Option<Box<dyn Write + Send>>) -> Self {
        Recorder {
            shared: Arc::new(Shared {
                start: Instant::now(),
                state: Mutex::new(State {
                    history: History::default(),
                    sink,
                    error: None,
                    in_flight: 0,
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<I, O>> {
        self.shared.lock()
    }

    /// Nanoseconds since the recorder was made (monotonic).
    pub fn now(&self) -> i64 {
        self.shared.now()
    }

    /// Records the call of an operation by `client`, now. A client should have one operation in flight at
    /// a time; after an unknown outcome, a client that goes on should take a new id (as Jepsen's processes
    /// do), since its unknown operation may still take effect later.
    pub fn call(&self, client: ClientId, input: I) -> Ticket<I, O> {
        // The time is read before the operation is registered: an earlier call time only widens the
        // interval, which can never make a correct history look wrong.
        let call = self.now();
        let mut state = self.lock();
        state.in_flight += 1;
        state
            .history
            .operations
            .push(Operation::pending(client, call, input));
        Ticket {
            shared: Arc::clone(&self.shared),
            index: state.history.operations.len() - 1,
            done: false,
        }
    }

    /// Adds a note to the timeline (a fault injected, a partition), from `start` to `end` (see
    /// [`now`](Self::now)). Annotations are kept in memory and in the result, not streamed.
    pub fn annotate(&self, annotation: Annotation) {
        self.lock().history.annotations.push(annotation);
    }

    /// How many operations are in flight (called, not yet completed or dropped).
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// A copy of the history so far; operations still in flight appear without a return.
    pub fn history(&self) -> History<I, O> {
        self.lock().history.clone()
    }

    /// The first error met while streaming, if any (taken: later calls return `None`).
    pub fn take_error(&self) -> Option<RecorderError> {
        self.lock().error.take()
    }

    /// Checks the history so far against `model`.
    pub fn check<M>(&self, model: &M, options: &Options) -> Result<CheckResult, RecorderError>
    where
        M: Model<Input = I, Output = O>,
    {
        let history = self.history();
        Ok(check(model, &history, options)?)
    }
}

impl<I, O> Shared<I, O> {
    fn lock(&self) -> MutexGuard<'_, State<I, O>> {
        // A client that panicked while holding the lock left the history whole (every update is one
        // assignment), so a poisoned lock is still good to use.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> i64 {
        i64::try_from(self.start.elapsed().as_nanos()).unwrap_or(i64::MAX)
    }
}

impl<I: Serialize, O: Serialize> State<I, O> {
    fn write_line(&mut self, operation: usize, value: &impl Serialize) {
        if self.sink.is_none() {
            return;
        }
        match serde_json::to_vec(value) {
            Ok(line) => self.emit(operation, line),
            Err(source) => {
                self.error
                    .get_or_insert(RecorderError::Serialize { operation, source });
            }
        }
    }

    fn emit(&mut self, operation: usize, mut line: Vec<u8>) {
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        line.push(b'\n');
        if let Err(source) = sink.write_all(&line).and_then(|()| sink.flush()) {
            // Stop at the first failure, so the file ends with a whole line.
            self.sink = None;
            self.error
                .get_or_insert(RecorderError::Write { operation, source });
        }
    }

    fn complete(&mut self, index: usize, ret: Option<i64>, output: Option<O>, failed: bool) {
        self.in_flight -= 1;
        let op = &mut self.history.operations[index];
        op.ret = ret;
        op.output = output;
        op.failed = failed;
        if self.sink.is_none() {
            return;
        }
        let op = &self.history.operations[index];
        let line = serde_json::to_vec(&Line {
            client: op.client,
            call: op.call,
            ret: op.ret,
            input: &op.input,
            output: op.output.as_ref(),
            failed: op.failed,
        });
        match line {
            Ok(line) => self.emit(index, line),
            Err(source) => {
                self.error.get_or_insert(RecorderError::Serialize {
                    operation: index,
                    source,
                });
            }
        }
    }
}

/// One operation as a JSON Lines line, in the shape `quill check` reads.
#[derive(Serialize)]
struct Line<'a, I, O> {
    client: ClientId,
    call: i64,
    #[serde(rename = "return")]
    ret: Option<i64>,
    input: &'a I,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a O>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    failed: bool,
}

impl<I: Serialize, O: Serialize> Ticket<I, O> {
    /// The index of this operation in the recorded history.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The response arrived with `output`.
    pub fn ok(mut self, output: O) {
        let ret = self.shared.now();
        self.done = true;
        self.shared
            .lock()
            .complete(self.index, Some(ret), Some(output), false);
    }

    /// The operation is known to have had no effect.
    pub fn fail(mut self) {
        let ret = self.shared.now();
        self.done = true;
        self.shared
            .lock()
            .complete(self.index, Some(ret), None, true);
    }

    /// The outcome is unknown (the same as dropping the ticket, said out loud).
    pub fn unknown(self) {}
}

impl<I: Serialize, O: Serialize> Drop for Ticket<I, O> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.lock().complete(self.index, None, None, false);
        }
    }
}
