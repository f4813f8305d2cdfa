//! Fuzzing every reader (JSON, JSON Lines, events, EDN, both Jepsen log layouts, Porcupine's lines) and
//! the check behind them, on the stable toolchain: proptest drives structured and byte-level mutations of
//! valid histories, and random bytes.
//!
//! For every input, whatever it is:
//! - no reader and no check panics (proptest catches a panic and shrinks the input that caused it);
//! - nothing hangs: each case runs on a worker thread that must answer within [`HANG`] (a generous guard,
//!   not a speed test);
//! - memory stays bounded: inputs are at most a few KiB, and the readers' own limits (EDN's depth and
//!   token size, the logs' line length) bound what a reader can build from them;
//! - the in-memory reader and the streamed one (a file through `read_path`) agree on whether the input is
//!   a history;
//! - an accepted input round-trips to a verdict: it checks without error or gives a typed error naming a
//!   place, and when it checks, the operations as read, written out in the JSON format and read back, get
//!   the same verdict.
//!
//! The run is bounded for CI (`DEFAULT_CASES` per strategy, a fixed seed, so every run is the same); set
//! `QUILL_FUZZ_CASES` for a long session and `QUILL_FUZZ_SEED` (an integer) to explore other inputs.
//! Inputs that once broke a reader are kept in `regressions` below.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use checker::dynamic::check_raw;
use checker::formats::{parse, read_path, Format};
use checker::{Options, Verdict};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value as Json};

/// Cases per strategy in a default (CI) run.
const DEFAULT_CASES: u32 = 512;

/// How long one case may take before it counts as a hang: far beyond any real case (a few ms).
const HANG: Duration = Duration::from_secs(60);

/// The formats a history can be written in, each fuzzed.
const FORMATS: &[Format] = &[
    Format::Json,
    Format::Jsonl,
    Format::Edn,
    Format::JepsenLog,
    Format::PorcupineKv,
];

fn cases() -> u32 {
    std::env::var("QUILL_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn runner() -> TestRunner {
    let seed: u64 = std::env::var("QUILL_FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(11);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// What a client does next in a generated history.
#[derive(Debug, Clone)]
struct Step {
    client: u8,
    /// 0 read, 1 write, 2 cas (kv: get, put, append); other models in EDN use it too.
    op: u8,
    value: u8,
    other: u8,
    /// 0 ok, 1 fail, 2 info.
    outcome: u8,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0u8..4,
        0u8..3,
        0u8..4,
        0u8..4,
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
        .prop_map(|(client, op, value, other, outcome)| Step {
            client,
            op,
            value,
            other,
            outcome,
        })
}

/// One event of a generated history: `invoke` or a completion, of a client's operation.
#[derive(Debug, Clone)]
struct Event {
    process: u32,
    invoke: bool,
    op: u8,
    value: u8,
    other: u8,
    outcome: u8,
}

/// Well-formed events from steps: a client with an operation open completes it, else invokes a new one;
/// a client whose operation ended `:info` is replaced by a new process number, as Jepsen does.
fn events(steps: &[Step]) -> Vec<Event> {
    let mut process: Vec<u32> = (0..4).collect();
    let mut open: Vec<Option<Step>> = vec![None; 4];
    let mut out = Vec::new();
    for s in steps {
        let c = s.client as usize;
        match open[c].take() {
            Some(invoked) => {
                out.push(Event {
                    process: process[c],
                    invoke: false,
                    op: invoked.op,
                    value: if invoked.op == 0 {
                        s.value
                    } else {
                        invoked.value
                    },
                    other: invoked.other,
                    outcome: s.outcome,
                });
                if s.outcome == 2 {
                    process[c] += 4;
                }
            }
            None => {
                out.push(Event {
                    process: process[c],
                    invoke: true,
                    op: s.op,
                    value: s.value,
                    other: s.other,
                    outcome: 0,
                });
                open[c] = Some(s.clone());
            }
        }
    }
    out
}

fn kind(e: &Event) -> &'static str {
    match (e.invoke, e.outcome) {
        (true, _) => ":invoke",
        (false, 0) => ":ok",
        (false, 1) => ":fail",
        _ => ":info",
    }
}

/// The events as a document of `format` (Jepsen logs alternate between their two layouts by `layout`).
fn render(events: &[Event], format: Format, layout: u8) -> String {
    let mut out = String::new();
    match format {
        Format::Edn => {
            out.push_str("; generated\n[");
            for (i, e) in events.iter().enumerate() {
                let (f, value) = edn_op(e, layout / 2 % 5);
                out.push_str(&format!(
                    "{{:process {}, :type {}, :f {f}, :value {value}, :time {}}}\n",
                    e.process,
                    kind(e),
                    i * 10
                ));
                if i % 5 == 2 {
                    out.push_str("{:process :nemesis, :type :info, :f :start, :value nil}\n");
                }
            }
            out.push(']');
        }
        Format::JepsenLog => {
            for (i, e) in events.iter().enumerate() {
                let (f, value) = match e.op {
                    0 if e.invoke => (":read", "nil".to_string()),
                    0 => (":read", e.value.to_string()),
                    1 => (":write", e.value.to_string()),
                    _ => (":cas", format!("[{} {}]", e.value, e.other)),
                };
                let record = format!("{}\t{}\t{f}\t{value}", e.process, kind(e));
                if layout & 1 == 0 {
                    out.push_str(&format!("INFO  jepsen.util - {record}\n"));
                } else {
                    out.push_str(&format!(
                        "2017-03-03 18:05:{:02},{:03}{{GMT}}\tINFO\t[jepsen worker {}] jepsen.util: {record}\n",
                        i % 60,
                        i % 1000,
                        e.process
                    ));
                }
                if i % 7 == 3 {
                    out.push_str("INFO  jepsen.core - Waiting for the clients\n");
                }
            }
        }
        Format::PorcupineKv => {
            for e in events {
                let key = e.other % 2;
                let (f, value) = match e.op {
                    0 if e.invoke => (":get", "nil".to_string()),
                    0 => (":get", format!("\"{}\"", "x".repeat(e.value as usize))),
                    1 => (":put", "\"x\"".to_string()),
                    _ => (":append", "\"x\"".to_string()),
                };
                let kind = if kind(e) == ":fail" { ":ok" } else { kind(e) };
                out.push_str(&format!(
                    "{{:process {}, :type {kind}, :f {f}, :key \"{key}\", :value {value}}}\n",
                    e.process
                ));
            }
        }
        Format::Json | Format::Jsonl => {
            let ops = json_operations(events);
            if format == Format::Json && layout % 2 == 1 {
                out = json!({"model": "cas-register", "events": json_events(events)}).to_string();
            } else if format == Format::Json {
                out = json!({"model": "cas-register", "operations": ops}).to_string();
            } else {
                out.push_str("{\"model\": \"cas-register\"}\n");
                for op in ops {
                    out.push_str(&op.to_string());
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// An event's `:f` and `:value` in EDN, for one of the models EDN histories name: registers, mutexes,
/// queues, sets and multi-registers (so that the check of every model is fuzzed too).
fn edn_op(e: &Event, family: u8) -> (&'static str, String) {
    let v = e.value;
    match (family, e.op) {
        (1, 0 | 1) => (":acquire", "nil".into()),
        (1, _) => (":release", "nil".into()),
        (2, 0) => (
            ":dequeue",
            if e.invoke {
                "nil".into()
            } else {
                v.to_string()
            },
        ),
        (2, _) => (":enqueue", v.to_string()),
        (3, 0) if e.invoke => (":read", "nil".into()),
        (3, 0) => (
            ":read",
            format!(
                "#{{{}}}",
                (0..v).map(|x| x.to_string()).collect::<Vec<_>>().join(" ")
            ),
        ),
        (3, _) => (":add", v.to_string()),
        (4, 0) if e.invoke => (":txn", "[[:read :x nil] [:read :y nil]]".into()),
        (4, 0) => (":txn", format!("[[:read :x {v}] [:read :y {}]]", e.other)),
        (4, _) => (":txn", format!("[[:write :x {v}] [:write :y {}]]", e.other)),
        (_, 0) if e.invoke => (":read", "nil".into()),
        (_, 0) => (":read", v.to_string()),
        (_, 1) => (":write", v.to_string()),
        _ => (":cas", format!("[{v} {}]", e.other)),
    }
}

fn json_input(e: &Event) -> Json {
    match e.op {
        0 => json!({"op": "read"}),
        1 => json!({"op": "write", "value": e.value}),
        _ => json!({"op": "cas", "from": e.value, "to": e.other}),
    }
}

fn json_output(e: &Event) -> Json {
    match e.op {
        0 => json!({"value": e.value}),
        1 => Json::Null,
        _ => json!({"ok": e.value & 1 == 0}),
    }
}

fn json_operations(events: &[Event]) -> Vec<Json> {
    let mut ops: Vec<Json> = Vec::new();
    let mut open: std::collections::HashMap<u32, usize> = Default::default();
    for (time, e) in events.iter().enumerate() {
        if e.invoke {
            open.insert(e.process, ops.len());
            ops.push(json!({"client": e.process, "call": time, "return": null,
                            "input": json_input(e), "output": null}));
        } else if let Some(i) = open.remove(&e.process) {
            match e.outcome {
                0 => {
                    ops[i]["return"] = json!(time);
                    ops[i]["output"] = json_output(e);
                }
                1 => {
                    ops[i]["return"] = json!(time);
                    ops[i]["failed"] = json!(true);
                }
                _ => {}
            }
        }
    }
    ops
}

fn json_events(events: &[Event]) -> Vec<Json> {
    let mut out = Vec::new();
    let mut ids: std::collections::HashMap<u32, usize> = Default::default();
    for (n, e) in events.iter().enumerate() {
        if e.invoke {
            ids.insert(e.process, n);
            out.push(json!({"kind": "call", "id": n, "client": e.process, "input": json_input(e)}));
        } else if let Some(id) = ids.remove(&e.process) {
            match e.outcome {
                0 => out.push(json!({"kind": "return", "id": id, "output": json_output(e)})),
                1 => out.push(json!({"kind": "return", "id": id, "output": null, "failed": true})),
                // No response: the call stays open, and the client goes on under a new number.
                _ => {}
            }
        }
    }
    out
}

/// A change to a rendered document.
#[derive(Debug, Clone)]
enum Mutation {
    /// Flip bits of the byte at a position (taken modulo the length).
    Flip(usize, u8),
    /// Delete `n` bytes at a position.
    Delete(usize, usize),
    /// Insert bytes at a position.
    Insert(usize, Vec<u8>),
    /// Copy a range of bytes to another place.
    Duplicate(usize, usize, usize),
    /// Cut the document at a position.
    Truncate(usize),
    /// Swap two lines.
    SwapLines(usize, usize),
    /// Drop a line.
    DropLine(usize),
    /// Repeat a line.
    RepeatLine(usize),
    /// Replace one token with another that means something to some reader.
    Replace(usize, u8, u8),
}

/// Tokens that matter to the readers, for structured mutations and insertions.
const TOKENS: &[&str] = &[
    ":invoke",
    ":ok",
    ":fail",
    ":info",
    ":read",
    ":write",
    ":cas",
    "nil",
    "null",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "\"",
    "\\",
    "#_",
    "#{",
    "#inst ",
    ":nemesis",
    "-1",
    "99999999999999999999",
    "1e999",
    "\n",
    "\t",
    ",",
    ":",
    "\0",
    "\u{feff}",
    "\"return\"",
    "\"output\"",
    "\"events\"",
    "jepsen.util - ",
    "jepsen.util: ",
    ";",
    "\r\n",
    "\u{00e9}",
    "##NaN",
    "\\u00",
    "#jepsen.history.Op",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        (pos, 1u8..=255).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (pos, 1usize..16).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (pos, prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (pos, 0usize..TOKENS.len())
            .prop_map(|(p, t)| Mutation::Insert(p, TOKENS[t].as_bytes().to_vec())),
        (pos, 1usize..64, pos).prop_map(|(p, n, q)| Mutation::Duplicate(p, n, q)),
        pos.prop_map(Mutation::Truncate),
        (pos, pos).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        pos.prop_map(Mutation::DropLine),
        pos.prop_map(Mutation::RepeatLine),
        (pos, any::<u8>(), any::<u8>()).prop_map(|(p, a, b)| Mutation::Replace(p, a, b)),
    ]
}

fn apply(doc: &mut Vec<u8>, m: &Mutation) {
    let len = doc.len().max(1);
    match m {
        Mutation::Flip(p, b) => {
            if !doc.is_empty() {
                doc[p % len] ^= b;
            }
        }
        Mutation::Delete(p, n) => {
            let start = (p % len).min(doc.len());
            let end = (start + n).min(doc.len());
            doc.drain(start..end);
        }
        Mutation::Insert(p, bytes) => {
            let at = (p % len).min(doc.len());
            doc.splice(at..at, bytes.iter().copied());
        }
        Mutation::Duplicate(p, n, q) => {
            let start = (p % len).min(doc.len());
            let end = (start + n).min(doc.len());
            let piece = doc[start..end].to_vec();
            let at = (q % len).min(doc.len());
            doc.splice(at..at, piece);
        }
        Mutation::Truncate(p) => doc.truncate(p % len),
        Mutation::SwapLines(..) | Mutation::DropLine(_) | Mutation::RepeatLine(_) => {
            let mut lines: Vec<Vec<u8>> = doc.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            match m {
                Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
                Mutation::DropLine(a) => {
                    lines.remove(a % n);
                }
                Mutation::RepeatLine(a) => {
                    let line = lines[a % n].clone();
                    lines.insert(a % n, line);
                }
                _ => {}
            }
            *doc = lines.join(&b'\n');
        }
        Mutation::Replace(p, from, to) => {
            let from = TOKENS[*from as usize % TOKENS.len()].as_bytes();
            let to = TOKENS[*to as usize % TOKENS.len()].as_bytes();
            let start = p % len;
            if let Some(at) = doc
                .windows(from.len())
                .enumerate()
                .skip(start)
                .find(|(_, w)| *w == from)
                .map(|(i, _)| i)
            {
                doc.splice(at..at + from.len(), to.iter().copied());
            }
        }
    }
}

/// What a run of the fuzzer saw (for the figures of a long run).
#[derive(Debug, Default)]
struct Tally {
    accepted: usize,
    rejected: usize,
}

/// The assertions for one input, on a worker thread with a hang guard.
fn exercise(bytes: Vec<u8>, format: Option<Format>) -> Result<bool, TestCaseError> {
    let (done, result) = mpsc::channel();
    let shown = String::from_utf8_lossy(&bytes).into_owned();
    std::thread::spawn(move || {
        let _ = done.send(exercise_here(&bytes, format));
    });
    match result.recv_timeout(HANG) {
        Ok(outcome) => outcome,
        // The worker panicked (its sender dropped): proptest reports the input and shrinks it.
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(TestCaseError::fail(format!(
            "a reader or the check panicked on {format:?} input {shown:?}"
        ))),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(TestCaseError::fail(format!(
            "no answer within {HANG:?} on {format:?} input {shown:?}"
        ))),
    }
}

fn options() -> Options {
    Options {
        timeout: Some(Duration::from_secs(5)),
        ..Options::default()
    }
}

/// Reads `bytes` as `format` (or detected) in memory and as a file; returns whether it was accepted.
fn exercise_here(bytes: &[u8], format: Option<Format>) -> Result<bool, TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    // JSON Lines are read lazily: a history is accepted once all of its operations are.
    let in_memory = parse(&text, format).and_then(|raw| {
        let (model, init) = (raw.model.clone(), raw.init.clone());
        raw.into_history().map(|h| (h, model, init))
    });
    // The streamed path reads the raw bytes from a file.
    let path = temp_file(bytes);
    let streamed = read_path(&path, format).and_then(|raw| raw.into_history());
    let _ = std::fs::remove_file(&path);
    if std::str::from_utf8(bytes).is_ok() {
        prop_assert_eq!(
            in_memory.is_ok(),
            streamed.is_ok(),
            "in memory: {:?}; streamed: {:?}",
            in_memory.as_ref().err().map(ToString::to_string),
            streamed.as_ref().err().map(ToString::to_string)
        );
    }
    let Ok((history, model, init)) = in_memory else {
        return Ok(false);
    };
    let raw = parse(&text, format).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let checked = match check_raw(raw, None, &options()) {
        Ok(checked) => checked,
        // A typed error naming the place: the input was not a history of its model after all.
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            return Ok(false);
        }
    };
    let verdict = checked.result.verdict;
    // The round trip: the operations as read, in the JSON format, give the same verdict.
    let doc = json!({
        "model": model.unwrap_or_else(|| checked.model.clone()),
        "init": init,
        "operations": history.operations.iter().map(|o| {
            let mut op = json!({"client": o.client, "call": o.call, "return": o.ret,
                                "input": o.input, "output": o.output});
            if o.failed {
                op["failed"] = json!(true);
            }
            op
        }).collect::<Vec<_>>(),
    })
    .to_string();
    let round = parse(&doc, Some(Format::Json))
        .and_then(|raw| check_raw(raw, None, &options()))
        .map_err(|e| TestCaseError::fail(format!("the JSON of an accepted history: {e}\n{doc}")))?;
    if verdict != Verdict::Unknown && round.result.verdict != Verdict::Unknown {
        prop_assert_eq!(verdict, round.result.verdict, "{}", doc);
    }
    Ok(true)
}

fn temp_file(bytes: &[u8]) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "quill-fuzz-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, bytes).expect("a temporary file");
    path
}

fn report(name: &str, tally: &Tally) {
    // Printed for the figures of a long run (`cargo test ... -- --nocapture fuzz::`).
    println!(
        "fuzz {name}: {} inputs, {} accepted, {} rejected with an error",
        tally.accepted + tally.rejected,
        tally.accepted,
        tally.rejected
    );
}

fn run_strategy<S: Strategy>(
    name: &str,
    strategy: S,
    input: impl Fn(S::Value) -> (Vec<u8>, Option<Format>),
) {
    let tally = std::sync::Mutex::new(Tally::default());
    let result = runner().run(&strategy, |value| {
        let (bytes, format) = input(value);
        let accepted = exercise(bytes, format)?;
        let mut t = tally.lock().expect("the tally");
        if accepted {
            t.accepted += 1;
        } else {
            t.rejected += 1;
        }
        Ok(())
    });
    let tally = tally.into_inner().expect("the tally");
    report(name, &tally);
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
}

fn history_strategy() -> impl Strategy<Value = (Vec<Step>, usize, u8)> {
    (
        prop::collection::vec(step(), 1..40),
        0..FORMATS.len(),
        any::<u8>(),
    )
}

/// Valid histories of every format, unchanged: each is accepted, and round-trips to the same verdict.
#[test]
fn valid_histories_of_every_format_round_trip() {
    let tally = std::sync::Mutex::new(Tally::default());
    let result = runner().run(&history_strategy(), |(steps, f, layout)| {
        let format = FORMATS[f];
        let doc = render(&events(&steps), format, layout);
        let accepted = exercise(doc.clone().into_bytes(), Some(format))?;
        // A history with at least one operation is always accepted in its own format.
        prop_assert!(accepted, "{:?} rejected its own history:\n{}", format, doc);
        tally.lock().expect("the tally").accepted += 1;
        Ok(())
    });
    report("valid", &tally.into_inner().expect("the tally"));
    if let Err(e) = result {
        panic!("fuzz valid: {e}");
    }
}

/// Valid histories with byte-level and structured mutations, read as their format and detected.
#[test]
fn mutated_histories_never_crash_or_hang() {
    let strategy = (
        history_strategy(),
        prop::collection::vec(mutation(), 1..5),
        any::<bool>(),
    );
    run_strategy(
        "mutated",
        strategy,
        |((steps, f, layout), mutations, detect)| {
            let format = FORMATS[f];
            let mut doc = render(&events(&steps), format, layout).into_bytes();
            for m in &mutations {
                apply(&mut doc, m);
            }
            (doc, if detect { None } else { Some(format) })
        },
    );
}

/// Random bytes, and random text built of the readers' tokens, as every format.
#[test]
fn random_input_never_crashes_or_hangs() {
    let bytes = prop::collection::vec(any::<u8>(), 0..512);
    let tokens = prop::collection::vec(0..TOKENS.len(), 0..80).prop_map(|ts| {
        ts.into_iter()
            .map(|t| TOKENS[t])
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes()
    });
    let strategy = (prop_oneof![bytes, tokens], 0..=FORMATS.len());
    run_strategy("random", strategy, |(doc, f)| {
        (doc, FORMATS.get(f).copied())
    });
}

/// EDN text of a random value: every kind of form the syntax layer reads, nested.
fn edn_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("nil".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "[a-z][a-z0-9.*+!?-]{0,8}(/[a-z]{1,4})?".prop_map(|s| s),
        ":[a-z][a-z0-9.-]{0,8}".prop_map(|s| s),
        r#""([^"\\]|\\[nrt"\\]|\\u00[0-7][0-9a-f]){0,12}""#.prop_map(|s| s),
        prop_oneof![
            Just("\\a"),
            Just("\\newline"),
            Just("\\space"),
            Just("\\u0041"),
            Just("\\("),
        ]
        .prop_map(str::to_string),
        Just("##Inf".to_string()),
        Just("7N".to_string()),
        Just("1/2".to_string()),
        Just("2.5M".to_string()),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(" "))),
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("({})", v.join(", "))),
            prop::collection::vec(inner.clone(), 0..6)
                .prop_map(|v| format!("#{{{}}}", v.join(" "))),
            prop::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(|v| format!(
                "{{{}}}",
                v.into_iter()
                    .map(|(k, x)| format!("{k} {x}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            inner.clone().prop_map(|v| format!("#inst {v}")),
            inner.clone().prop_map(|v| format!("#_ {v} 1")),
            inner.prop_map(|v| format!("; note\n{v}")),
        ]
    })
}

/// Random EDN values as the values of a history's operations: the syntax layer, the translation to JSON
/// and the check of whatever comes out.
#[test]
fn random_edn_values_read_or_fail_cleanly() {
    let strategy = (edn_value(), edn_value(), 0u8..4);
    run_strategy("edn values", strategy, |(a, b, f)| {
        let f = [":write", ":cas", ":txn", ":enqueue"][f as usize];
        let doc = format!(
            "[{{:process 0, :type :invoke, :f {f}, :value {a}}}\n\
             {{:process 0, :type :ok, :f {f}, :value {b}}}\n\
             {{:process 1, :type :invoke, :f :read, :value nil}}\n\
             {{:process 1, :type :ok, :f :read, :value {a}}}]"
        );
        (doc.into_bytes(), Some(Format::Edn))
    });
}

/// Inputs that once broke a reader, kept so that they never do again.
#[test]
fn regressions() {
    let cases: &[(&str, Option<Format>)] = &[
        // EDN nested thousands deep overflowed the stack.
        (&"[".repeat(20_000), Some(Format::Edn)),
        (&"#_".repeat(20_000), Some(Format::Edn)),
        (&"#a ".repeat(20_000), Some(Format::Edn)),
        // Found by the fuzzer: a log line whose date holds a character of several bytes where the `-`
        // should be; the date check sliced the string inside it and panicked.
        (
            "2017\u{fffd}03-03 18:05:00,000{GMT}\tINFO\t[jepsen worker 0] jepsen.util: 0\t:invoke\t:cas\t[1 3]\n",
            Some(Format::JepsenLog),
        ),
        ("2017\u{e9}-03 18:05:00,000 INFO jepsen.util - 0 :invoke :read nil", None),
    ];
    for (text, format) in cases {
        if let Err(e) = exercise(text.as_bytes().to_vec(), *format) {
            panic!("{e:?}");
        }
    }
}
