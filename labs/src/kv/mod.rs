//! What the key/value labs (kvsrv, kvraft 4A/4B) share: clerk bookkeeping that records every
//! operation in the run's history, the end-of-run check of that history, and the Go testers'
//! value checks.
//!
//! # Histories
//! A lab's world records each clerk operation through [`Clerks`]: its input at the call, its
//! output at the return (no return when the client never finished), stamped as
//! [`crate::history`] describes. Faults are annotations written by the run itself
//! ([`crate::run::Core::apply`]).
//!
//! At the end of a run [`conclude`] checks the history with [`checker::models::Kv`] (per-key
//! partitions, checked in parallel) under a budget of explored configurations
//! ([`CHECK_BUDGET`], or [`crate::runner::RunOptions::check_budget`]), never a wall-clock limit,
//! so a seed's verdict is the same on any machine. A violation fails the run; a check that
//! exhausts its budget is **Unknown**: the run passes (as in the Go tester) but carries a warning
//! starting with [`CHECK_UNKNOWN`], which `quill test` counts in its summary. Failing runs attach
//! `history.json` (the checker's JSON format, model `"kv"`), `timeline.html` and `timeline.svg`;
//! with [`crate::runner::RunOptions::keep_histories`] every run attaches its `history.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use checker::models::{Kv, KvInput, KvOutput};
use checker::{CheckResult, History, HistoryView, Options, Verdict};
use sim::{Noted, Time};

use crate::failure::Failure;
use crate::history::Recorder;
use crate::run::Conclusion;
use crate::runner::{Artifact, RunOptions};

/// The prefix of the warning a run carries when its linearizability check ran out of budget.
pub const CHECK_UNKNOWN: &str = "linearizability check undecided";

/// How many configurations one partition of a history may explore before its check gives up.
pub const CHECK_BUDGET: u64 = 2_000_000;

/// `checkTimeout`: a kv test fails after 120 s of virtual time.
pub const TEST_TIME_LIMIT: Time = 120_000;

/// A kv lab's history.
pub type KvRecorder = Recorder<KvInput, KvOutput>;

/// A system's clerk operation, built from the history's input (kvsrv and kvraft each have their
/// own `Op` of the same three shapes).
pub trait ClerkOp {
    fn get(key: String) -> Self;
    fn put(key: String, value: String) -> Self;
    fn append(key: String, value: String) -> Self;

    /// The operation a recorded input asks for.
    fn of(input: &KvInput) -> Self
    where
        Self: Sized,
    {
        match input {
            KvInput::Get { key } => Self::get(key.to_string()),
            KvInput::Put { key, value } => Self::put(key.to_string(), value.to_string()),
            KvInput::Append { key, value } => Self::append(key.to_string(), value.to_string()),
        }
    }
}

impl ClerkOp for kvsrv::Op {
    fn get(key: String) -> Self {
        kvsrv::Op::Get { key }
    }
    fn put(key: String, value: String) -> Self {
        kvsrv::Op::Put { key, value }
    }
    fn append(key: String, value: String) -> Self {
        kvsrv::Op::Append { key, value }
    }
}

impl ClerkOp for kvraft::Op {
    fn get(key: String) -> Self {
        kvraft::Op::Get { key }
    }
    fn put(key: String, value: String) -> Self {
        kvraft::Op::Put { key, value }
    }
    fn append(key: String, value: String) -> Self {
        kvraft::Op::Append { key, value }
    }
}

/// A finished clerk operation, noted by a clerk's host to the world driving the run.
#[derive(Debug)]
pub struct Done<O> {
    pub clerk: usize,
    pub outcome: O,
}

/// The clerks' side of a kv run: which history operation each busy clerk is running, and the
/// outcomes not yet collected by the tasks waiting for them.
pub struct Clerks<O> {
    running: BTreeMap<usize, usize>,
    done: BTreeMap<usize, O>,
}

impl<O> Default for Clerks<O> {
    fn default() -> Self {
        Clerks {
            running: BTreeMap::new(),
            done: BTreeMap::new(),
        }
    }
}

impl<O> Clerks<O> {
    /// Records the call of `input` by `clerk` at `now`.
    pub fn begin(&mut self, history: &mut KvRecorder, clerk: usize, now: Time, input: KvInput) {
        let op = history.call(clerk as u64, now, input);
        self.running.insert(clerk, op);
    }

    /// Records the return a clerk's host noted, stamped at the note's virtual time (so returns
    /// are in the order the simulator made them); `output` is what the history records for the
    /// outcome. Returns the clerk and its outcome.
    pub fn returned(
        &mut self,
        history: &mut KvRecorder,
        noted: Noted<Done<O>>,
        output: impl Fn(&O) -> KvOutput,
    ) -> (usize, O) {
        let Done { clerk, outcome } = noted.note;
        let op = self
            .running
            .remove(&clerk)
            .expect("a clerk finished an operation it did not begin");
        history.ret(op, noted.time, output(&outcome));
        (clerk, outcome)
    }

    /// Keeps `outcome` for the task waiting on `clerk`.
    pub fn deliver(&mut self, clerk: usize, outcome: O) {
        self.done.insert(clerk, outcome);
    }

    /// The outcome of `clerk`'s operation, once it has returned.
    pub fn take(&mut self, clerk: usize) -> Option<O> {
        self.done.remove(&clerk)
    }
}

/// The history in the checker's JSON document format (`quill check history.json`).
pub fn history_json(history: &History<KvInput, KvOutput>) -> Vec<u8> {
    let ops: Vec<serde_json::Value> = history
        .operations
        .iter()
        .map(|op| {
            let output = match (&op.ret, &op.output) {
                (Some(_), Some(KvOutput { value: Some(v) })) => serde_json::json!({ "value": v }),
                _ => serde_json::Value::Null,
            };
            serde_json::json!({
                "client": op.client,
                "call": op.call,
                "return": op.ret,
                "input": op.input,
                "output": output,
            })
        })
        .collect();
    let doc =
        serde_json::json!({ "model": "kv", "operations": ops, "annotations": history.annotations });
    serde_json::to_vec(&doc).expect("a JSON value always serializes")
}

/// Checks a kv run's history at its end; `failed` says whether the run already failed for another
/// reason (then the evidence is attached whatever the verdict, so the failure can be looked at).
pub fn conclude(
    history: History<KvInput, KvOutput>,
    opts: &RunOptions,
    failed: bool,
) -> Conclusion {
    let budget = opts.check_budget.unwrap_or(CHECK_BUDGET);
    // States are described only for a timeline, which only a failing run draws; checking once more
    // with them costs a failing run little and spares every passing one (whose states can be
    // megabytes each: TestMemManyAppends' value grows to 1 MB over 1,000 steps).
    let options = Options {
        max_configurations: Some(budget),
        describe_states: false,
        ..Options::default()
    };
    let history_artifact = |h: &History<KvInput, KvOutput>| Artifact {
        name: "history.json".into(),
        contents: history_json(h),
    };
    let result = match checker::check(&Kv, &history, &options) {
        Ok(r) => r,
        Err(e) => {
            return Conclusion {
                failure: Some(Failure::MalformedHistory {
                    message: e.to_string(),
                }),
                artifacts: vec![history_artifact(&history)],
                ..Conclusion::default()
            }
        }
    };
    let verdict = result.verdict;
    let (failure, warning) = match verdict {
        Verdict::Ok => (None, None),
        Verdict::Illegal => {
            let keys: Vec<&str> = result.illegal().map(|p| p.label.as_str()).collect();
            let detail = format!("key {}", keys.join(", "));
            (Some(Failure::NotLinearizable { detail }), None)
        }
        Verdict::Unknown => (
            None,
            Some(format!(
                "{CHECK_UNKNOWN} after {budget} configurations per key ({} operations): assumed ok",
                history.len()
            )),
        ),
    };
    let mut artifacts = Vec::new();
    let failing = failed || failure.is_some();
    if failing || opts.keep_histories {
        artifacts.push(history_artifact(&history));
    }
    if failing {
        let described = Options {
            describe_states: true,
            ..options
        };
        match checker::check(&Kv, &history, &described) {
            Ok(mut result) => {
                // The artifacts of a failure must be the same bytes every time its seed is
                // replayed: drop the one thing in them that is measured, not computed.
                result.micros = 0;
                result.partitions.iter_mut().for_each(|p| p.micros = 0);
                artifacts.extend(timeline_artifacts(&history, &result))
            }
            Err(e) => artifacts.push(Artifact {
                name: "timeline-error.txt".into(),
                contents: e.to_string().into_bytes(),
            }),
        }
    }
    Conclusion {
        failure,
        warnings: warning.into_iter().collect(),
        artifacts,
        verdict: Some(verdict),
    }
}

/// The timeline of a failing run, as HTML and SVG.
fn timeline_artifacts(history: &History<KvInput, KvOutput>, result: &CheckResult) -> Vec<Artifact> {
    let view = HistoryView::new(&Kv, "kv", history);
    let mut artifacts = vec![Artifact {
        name: "timeline.html".into(),
        contents: viz::render_html(&view, result).into_bytes(),
    }];
    match viz::render_svg(&view, result) {
        Ok(svg) => artifacts.push(Artifact {
            name: "timeline.svg".into(),
            contents: svg.into_bytes(),
        }),
        Err(e) => artifacts.push(Artifact {
            name: "timeline-error.txt".into(),
            contents: e.to_string().into_bytes(),
        }),
    }
    artifacts
}

// ----- the Go testers' value checks ---------------------------------------------------------------

/// `NextValue(prev, val)`: the value after appending.
pub fn next_value(prev: &str, val: &str) -> String {
    format!("{prev}{val}")
}

/// `inHistory(s, h)`.
pub fn in_history(s: &str, h: &str) -> bool {
    h.contains(s)
}

/// The value client `cli`'s `j`-th append adds (`"x cli j y"`).
pub fn append_value(cli: usize, j: usize) -> String {
    format!("x {cli} {j} y")
}

/// What `checkClntAppends` found wrong with a value built by appends.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppendsError {
    #[error("{clnt} missing element {wanted} in Append result {value}")]
    Missing {
        clnt: usize,
        wanted: String,
        value: String,
    },
    #[error("duplicate element {wanted} in Append result")]
    Duplicate { wanted: String },
    #[error("wrong order for element {wanted} in Append result")]
    WrongOrder { wanted: String },
}

/// `checkClntAppends`: `v` holds each of client `clnt`'s `count` appends exactly once, in order.
pub fn check_clnt_appends(clnt: usize, v: &str, count: usize) -> Result<(), AppendsError> {
    let mut lastoff = None;
    for j in 0..count {
        let wanted = append_value(clnt, j);
        let Some(off) = v.find(&wanted) else {
            return Err(AppendsError::Missing {
                clnt,
                wanted,
                value: v.to_string(),
            });
        };
        if v.rfind(&wanted) != Some(off) {
            return Err(AppendsError::Duplicate { wanted });
        }
        if lastoff.is_some_and(|l| off <= l) {
            return Err(AppendsError::WrongOrder { wanted });
        }
        lastoff = Some(off);
    }
    Ok(())
}

/// `checkConcurrentAppends`: every client's appends present once each and in order.
pub fn check_concurrent_appends(v: &str, counts: &[usize]) -> Result<(), AppendsError> {
    for (i, &n) in counts.iter().enumerate() {
        check_clnt_appends(i, v, n)?;
    }
    Ok(())
}

/// Interns strings recorded in histories, so that a value written by 100,000 clients is held once.
pub fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_order_records_within_a_millisecond() {
        let mut r: Recorder<KvInput, KvOutput> = Recorder::default();
        let a = r.call(1, 5, KvInput::Get { key: arc("k") });
        r.ret(
            a,
            5,
            KvOutput {
                value: Some(arc("")),
            },
        );
        let b = r.call(1, 7, KvInput::Get { key: arc("k") });
        let h = r.finish(8);
        assert_eq!(h.operations[a].call, 5_000_001);
        assert_eq!(h.operations[a].ret, Some(5_000_002));
        assert_eq!(h.operations[b].call, 7_000_001);
        assert_eq!(h.operations[b].ret, None);
    }

    #[test]
    fn appends_checks() {
        let v = format!(
            "{}{}{}",
            append_value(0, 0),
            append_value(1, 0),
            append_value(0, 1)
        );
        assert!(check_clnt_appends(0, &v, 2).is_ok());
        assert!(matches!(
            check_clnt_appends(0, &v, 3),
            Err(AppendsError::Missing { clnt: 0, .. })
        ));
        let dup = format!("{v}{}", append_value(0, 1));
        assert_eq!(
            check_clnt_appends(0, &dup, 2).unwrap_err().to_string(),
            "duplicate element x 0 1 y in Append result"
        );
        let swapped = format!("{}{}", append_value(0, 1), append_value(0, 0));
        assert!(matches!(
            check_clnt_appends(0, &swapped, 2),
            Err(AppendsError::WrongOrder { .. })
        ));
    }
}
