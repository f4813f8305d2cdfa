//! The key/value labs under the simulator: kvsrv (lab 2) and kvraft (4A/4B), with every client
//! history checked for linearizability.
//!
//! # Histories
//! Scenario code calls clerks through a world ([`kvsrv::World`], [`kvraft::World`]) that records
//! each operation in a [`Recorder`]: its input at the call, its output at the return (no return
//! when the client never finished), and the faults the scenario injects (partition and heal, crash,
//! restart) as annotations on a lane tagged `"faults"`.
//!
//! Times are **virtual nanoseconds**: the millisecond of the simulator's clock times 10^6, plus a
//! counter that orders the records made within that millisecond. A reliable network delivers in
//! zero virtual time, so many calls and returns share a millisecond; the counter keeps the order
//! in which the simulator actually ran them, which is a causal order (a server executes a request
//! after its call was recorded and before its reply is recorded), so the history is exact rather
//! than coarsened into overlapping intervals.
//!
//! At the end of a run [`check_history`] checks the history with [`checker::models::Kv`] (per-key
//! partitions, checked in parallel) under a time limit. A violation fails the run; a check that hits
//! the limit is **Unknown**: the run passes (as in the Go tester) but carries a warning starting
//! with [`CHECK_UNKNOWN`], which `quill test` counts in its summary. Failing runs attach
//! `history.json` (the checker's JSON format, model `"kv"`), `timeline.html` and `timeline.svg`;
//! with [`set_keep_histories`] every run attaches its `history.json`.

pub mod kvraft;
pub mod kvsrv;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::LocalKey;
use std::time::Duration;

use checker::models::{Kv, KvInput, KvOutput};
use checker::{Annotation, CheckResult, History, HistoryView, Operation, Options, Verdict};

use crate::runner::{Artifact, RunStats, ScenarioOutcome};
use sim::exec::RunEnd;
use sim::{Process, Sim, Time};

/// The prefix of the warning a run carries when its linearizability check timed out.
pub const CHECK_UNKNOWN: &str = "linearizability check timed out";

/// How long one history may be checked (the Go tester allows 1 s; our histories are longer).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

// A process-wide switch rather than a `RunOptions` field: `RunOptions` is built with struct
// literals elsewhere, and the switch only decides which artifacts a run attaches, never what it does.
static KEEP_HISTORIES: AtomicBool = AtomicBool::new(false);

thread_local! {
    static LAST_VERDICT: std::cell::Cell<Option<Verdict>> = const { std::cell::Cell::new(None) };
}

/// The linearizability verdict of the last kv run on this thread (for the mutation tests).
pub fn last_verdict() -> Option<Verdict> {
    LAST_VERDICT.with(|v| v.get())
}

/// Ends a run: checks its history and merges the verdict with the scenario's own `failure`.
/// Returns the run's failure, warnings and artifacts.
pub fn conclude(
    failure: Option<String>,
    rec: Recorder,
    now: Time,
) -> (Option<String>, Vec<String>, Vec<Artifact>) {
    let history = rec.finish(now);
    let checked = check_history(&history, failure.is_some());
    LAST_VERDICT.with(|v| v.set(Some(checked.verdict)));
    let failure = match (checked.failure, failure) {
        (Some(f), Some(prev)) => Some(format!("{f}; also: {prev}")),
        (Some(f), None) => Some(f),
        (None, prev) => prev,
    };
    (
        failure,
        checked.warning.into_iter().collect(),
        checked.artifacts,
    )
}

/// `checkTimeout`: a kv test fails after 120 s of virtual time.
pub const TEST_TIME_LIMIT: Time = 120_000;

/// Packages the end of a kv run, for both labs: the scenario's failure (how its body ended, or a failure
/// recorded on the way), the check of its history (see [`conclude`]), its statistics and its trace.
pub(crate) fn finish_run<P: Process>(
    end: RunEnd<Result<(), String>>,
    recorded: Option<String>,
    rec: Recorder,
    sim: &mut Sim<P>,
    peers: usize,
) -> ScenarioOutcome {
    let failure = match end {
        RunEnd::Done(Ok(())) => recorded,
        RunEnd::Done(Err(msg)) => Some(recorded.unwrap_or(msg)),
        RunEnd::Halted => Some(recorded.unwrap_or_else(|| "halted".into())),
        RunEnd::TimedOut => Some(format!(
            "test took longer than {} seconds",
            TEST_TIME_LIMIT / 1000
        )),
        RunEnd::Stuck => Some("the simulation ran out of events while the test was waiting".into()),
    };
    let now = sim.now();
    let commands = rec.len() as u64;
    let (failure, warnings, artifacts) = conclude(failure, rec, now);
    if let Some(f) = &failure {
        sim.trace_line(|| format!("FAILED: {f}"));
    }
    let stats = RunStats {
        virtual_ms: now,
        peers,
        rpcs: sim.stats().rpcs,
        bytes: sim.stats().bytes,
        commands,
    };
    let trace = sim.tracing().then(|| sim.take_trace());
    ScenarioOutcome {
        failure,
        stats,
        warnings,
        trace,
        artifacts,
    }
}

/// A finished clerk operation, noted by a clerk's host to the world driving the run.
#[derive(Debug)]
pub struct Done<O> {
    pub clerk: usize,
    pub outcome: O,
}

/// Runs the next event of a kv run's simulator and records in `rec` the return of each clerk
/// operation it finished (`running` maps each busy clerk to its operation in `rec`). Shared by both
/// labs' worlds so that a return is always stamped the same way: at the note's virtual time, in the
/// order the simulator made the notes. `output` is what the history records for an outcome; the
/// outcomes are returned, with their clerks, for the world to hand to the tasks waiting on them.
pub(crate) fn step_recording_returns<P, O>(
    sim: &mut Sim<P>,
    rec: &mut Recorder,
    running: &mut BTreeMap<usize, usize>,
    output: impl Fn(&O) -> KvOutput,
) -> Vec<(usize, O)>
where
    P: Process<Note = Done<O>>,
{
    if sim.step().is_none() {
        return Vec::new();
    }
    sim.take_notes()
        .into_iter()
        .map(|noted| {
            let Done { clerk, outcome } = noted.note;
            let op = running
                .remove(&clerk)
                .expect("a clerk finished an operation it did not begin");
            rec.ret(op, noted.time, output(&outcome));
            (clerk, outcome)
        })
        .collect()
}

/// Runs `f` with `slot` holding `mutation`, and empties it when `f` returns or panics. Both labs'
/// `with_mutation` go through it so that a mutation test, even a failing one, never leaves its bug
/// in the servers that later runs on the same thread build.
pub(crate) fn with_mutation_in<M: 'static, R>(
    slot: &'static LocalKey<Cell<Option<M>>>,
    mutation: M,
    f: impl FnOnce() -> R,
) -> R {
    struct Reset<M: 'static>(&'static LocalKey<Cell<Option<M>>>);
    impl<M> Drop for Reset<M> {
        fn drop(&mut self) {
            self.0.with(|m| m.set(None));
        }
    }
    slot.with(|m| m.set(Some(mutation)));
    let _reset = Reset(slot);
    f()
}

/// Makes every kv run attach its `history.json`, passing or not (`quill test --keep-histories`).
pub fn set_keep_histories(on: bool) {
    KEEP_HISTORIES.store(on, Ordering::Relaxed);
}

fn keep_histories() -> bool {
    KEEP_HISTORIES.load(Ordering::Relaxed)
}

/// Whether every run attaches its histories (for labs that record more than the kv history).
pub(crate) fn keep_histories_on() -> bool {
    keep_histories()
}

/// The history of one run as it is being recorded (of kv operations unless told otherwise: the
/// shard controller's history records the configuration service's).
pub struct Recorder<I = KvInput, O = KvOutput> {
    ops: Vec<Operation<I, O>>,
    annotations: Vec<Annotation>,
    /// Faults that last (a partition) until healed: lane text and start.
    open: BTreeMap<&'static str, (i64, String)>,
    last_ms: Time,
    tick: i64,
}

impl<I, O> Default for Recorder<I, O> {
    fn default() -> Self {
        Recorder {
            ops: Vec::new(),
            annotations: Vec::new(),
            open: BTreeMap::new(),
            last_ms: 0,
            tick: 0,
        }
    }
}

impl<I, O> Recorder<I, O> {
    /// The history time of a record made now: see the module documentation.
    fn stamp(&mut self, now: Time) -> i64 {
        if now != self.last_ms {
            self.last_ms = now;
            self.tick = 0;
        }
        self.tick += 1;
        assert!(
            self.tick < 1_000_000,
            "more than a million records in one virtual millisecond"
        );
        now as i64 * 1_000_000 + self.tick
    }

    /// Records a call; returns the operation's index for [`Recorder::ret`].
    pub fn call(&mut self, client: u64, now: Time, input: I) -> usize {
        let call = self.stamp(now);
        self.ops.push(Operation::pending(client, call, input));
        self.ops.len() - 1
    }

    /// Records the return of operation `op`.
    pub fn ret(&mut self, op: usize, now: Time, output: O) {
        let t = self.stamp(now);
        let o = &mut self.ops[op];
        o.ret = Some(t);
        o.output = Some(output);
    }

    /// A fault that happens at one instant (a crash, a restart).
    pub fn fault(&mut self, now: Time, text: impl Into<String>) {
        let t = self.stamp(now);
        self.annotations.push(Annotation {
            client: None,
            tag: Some("faults".into()),
            start: t,
            end: t,
            text: text.into(),
        });
    }

    /// A fault that lasts until [`Recorder::fault_end`] with the same `kind` (or the next begin).
    pub fn fault_begin(&mut self, now: Time, kind: &'static str, text: impl Into<String>) {
        self.fault_end(now, kind);
        let t = self.stamp(now);
        self.open.insert(kind, (t, text.into()));
    }

    pub fn fault_end(&mut self, now: Time, kind: &'static str) {
        if let Some((start, text)) = self.open.remove(kind) {
            let end = self.stamp(now);
            self.annotations.push(Annotation {
                client: None,
                tag: Some("faults".into()),
                start,
                end,
                text,
            });
        }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The finished history; faults still open end at `now`.
    pub fn finish(mut self, now: Time) -> History<I, O> {
        let kinds: Vec<&'static str> = self.open.keys().copied().collect();
        for k in kinds {
            self.fault_end(now, k);
        }
        History {
            operations: self.ops,
            annotations: self.annotations,
        }
    }
}

/// The verdict on one run's history and what to attach to its outcome.
pub struct Checked {
    pub verdict: Verdict,
    /// A failure message when the history is not linearizable (or malformed).
    pub failure: Option<String>,
    /// A warning starting with [`CHECK_UNKNOWN`] when the check timed out.
    pub warning: Option<String>,
    pub artifacts: Vec<Artifact>,
    pub result: Option<CheckResult>,
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

/// Checks `history`; `failed` says whether the run already failed for another reason (then the
/// evidence is attached whatever the verdict, so the failure can be looked at).
pub fn check_history(history: &History<KvInput, KvOutput>, failed: bool) -> Checked {
    let options = Options {
        timeout: Some(CHECK_TIMEOUT),
        ..Options::default()
    };
    let result = match checker::check(&Kv, history, &options) {
        Ok(r) => r,
        Err(e) => {
            return Checked {
                verdict: Verdict::Unknown,
                failure: Some(format!("the recorded history is malformed: {e}")),
                warning: None,
                artifacts: vec![Artifact {
                    name: "history.json".into(),
                    contents: history_json(history),
                }],
                result: None,
            }
        }
    };
    let verdict = result.verdict;
    let (failure, warning) = match verdict {
        Verdict::Ok => (None, None),
        Verdict::Illegal => {
            let keys: Vec<&str> = result.illegal().map(|p| p.label.as_str()).collect();
            (
                Some(format!(
                    "history is not linearizable (key {})",
                    keys.join(", ")
                )),
                None,
            )
        }
        Verdict::Unknown => (
            None,
            Some(format!(
                "{CHECK_UNKNOWN} after {} s ({} operations): assumed ok",
                CHECK_TIMEOUT.as_secs(),
                history.len()
            )),
        ),
    };
    let mut artifacts = Vec::new();
    if failed || failure.is_some() || keep_histories() {
        artifacts.push(Artifact {
            name: "history.json".into(),
            contents: history_json(history),
        });
    }
    if failed || failure.is_some() {
        let view = HistoryView::new(&Kv, "kv", history);
        artifacts.push(Artifact {
            name: "timeline.html".into(),
            contents: viz::render_html(&view, &result).into_bytes(),
        });
        match viz::render_svg(&view, &result) {
            Ok(svg) => artifacts.push(Artifact {
                name: "timeline.svg".into(),
                contents: svg.into_bytes(),
            }),
            Err(e) => artifacts.push(Artifact {
                name: "timeline-error.txt".into(),
                contents: e.to_string().into_bytes(),
            }),
        }
    }
    Checked {
        verdict,
        failure,
        warning,
        artifacts,
        result: Some(result),
    }
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

/// `checkClntAppends`: `v` holds each of client `clnt`'s `count` appends exactly once, in order.
pub fn check_clnt_appends(clnt: usize, v: &str, count: usize) -> Result<(), String> {
    let mut lastoff = None;
    for j in 0..count {
        let wanted = append_value(clnt, j);
        let Some(off) = v.find(&wanted) else {
            return Err(format!(
                "{clnt} missing element {wanted} in Append result {v}"
            ));
        };
        if v.rfind(&wanted) != Some(off) {
            return Err(format!("duplicate element {wanted} in Append result"));
        }
        if lastoff.is_some_and(|l| off <= l) {
            return Err(format!("wrong order for element {wanted} in Append result"));
        }
        lastoff = Some(off);
    }
    Ok(())
}

/// `checkConcurrentAppends`: every client's appends present once each and in order.
pub fn check_concurrent_appends(v: &str, counts: &[usize]) -> Result<(), String> {
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
        let mut r = Recorder::default();
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
        assert!(check_clnt_appends(0, &v, 3).is_err());
        let dup = format!("{v}{}", append_value(0, 1));
        assert!(check_clnt_appends(0, &dup, 2)
            .unwrap_err()
            .contains("duplicate"));
    }
}
