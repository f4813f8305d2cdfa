//! # checker: is this history linearizable?
//!
//! A linearizability checker in the manner of Porcupine (Go) and Knossos (Clojure), with typed models,
//! evidence with every verdict, and partitions checked in parallel.
//!
//! A history is what clients saw: each [`Operation`] has a call time, a return time (or none, when no
//! response came), an input and an output. A [`Model`] is the sequential specification. [`check()`] searches
//! for a linearization: an order of the operations, consistent with real time, in which the model accepts
//! every output. The [`CheckResult`] says [`Verdict::Ok`] with a linearization, [`Verdict::Illegal`] with the
//! longest linearizable prefixes found and the operations that could not follow them, or
//! [`Verdict::Unknown`] when the time limit passed, with the partitions that were decided.
//!
//! ```
//! use checker::models::{Kv, KvInput, KvOutput};
//! use checker::{check, History, Operation, Options, Verdict};
//!
//! let put = KvInput::Put { key: "x".into(), value: "1".into() };
//! let get = KvInput::Get { key: "x".into() };
//! let history = History::new(vec![
//!     Operation::new(0, 0, 10, put, KvOutput::default()),
//!     // Called after the put returned, yet it saw the initial value: a stale read.
//!     Operation::new(1, 20, 30, get, KvOutput { value: Some("".into()) }),
//! ]);
//! let result = check(&Kv, &history, &Options::default()).unwrap();
//! assert_eq!(result.verdict, Verdict::Illegal);
//! let evidence = &result.partitions[0].partial[0];
//! assert_eq!(evidence.blocking, 1); // the get could not be placed after the put
//! ```
//!
//! Histories in files (JSON, JSON Lines, Jepsen's EDN and logs, Porcupine's logs) are read by [`formats`] and checked
//! against a model named at run time by [`dynamic`]. A model of one's own implements [`Model`] (or
//! [`NondeterministicModel`]); `checker/examples/bank_account.rs` is a complete, documented one
//! (`cargo run -p quill-checker --example bank_account`): a model, a history, its verdicts, its evidence, and a
//! minimal counterexample from [`explain`](mod@explain).
//!
//! ## Map
//! - [`history`]: operations, events, annotations; closed intervals.
//! - [`model`]: the [`Model`] and [`NondeterministicModel`] traits, partitions (P-compositionality).
//! - [`models`]: the built-in models (`register`, `cas-register`, `kv`, and more).
//! - `search` (private): the just-in-time linearization search with memoization, resumable.
//! - [`check`](mod@check): partitions in parallel on rayon, time limit, cancellation, evidence.
//! - [`verdict`] and [`view`]: results and described histories, serializable, for display.
//! - [`formats`] and [`dynamic`]: reading files and checking with a model chosen by name.
//! - [`explain`](mod@explain): shrinking an illegal history to a minimal illegal sub-history, with a story.
//! - [`gen`]: synthetic histories, reproducible by seed, optionally with an injected anomaly.
//! - [`recorder`]: recording a history from real clients (threads or tokio tasks), streamed as JSON Lines;
//!   `checker/examples/recorder.rs` is a complete example.
pub mod check;
pub mod dynamic;
pub mod error;
pub mod explain;
pub mod formats;
pub mod gen;
pub mod history;
pub mod model;
pub mod models;
pub mod recorder;
mod search;
pub mod verdict;
pub mod view;

pub use check::{check, check_nondeterministic, CancelHandle, Options, Progress};
pub use error::{FormatError, HistoryError, Location};
pub use history::{Annotation, ClientId, Event, EventKind, History, Operation};
pub use model::{
    Model, NondeterministicModel, Partition, PowerSet, RuledOut, SharedStrings, StateSet,
    ValueOrder, ValueReason,
};
pub use verdict::{
    CheckResult, Counterexample, CycleEdge, PartialLinearization, PartitionResult, Step, Undecided,
    Verdict, Why,
};
pub use view::{HistoryView, OpJson, OpView, StreamedView};
