//! Histories with known verdicts, checked by the real checker with its key/value model.

use std::time::Duration;

use checker::models::kv::{Kv, KvInput, KvOutput};
use checker::{
    Annotation, CancelHandle, CheckResult, Counterexample, History, HistoryView, Operation,
    Options, Verdict,
};

type KvOp = Operation<KvInput, KvOutput>;

fn get(client: u64, call: i64, ret: i64, key: &str, seen: &str) -> KvOp {
    Operation::new(
        client,
        call,
        ret,
        KvInput::Get { key: key.into() },
        KvOutput {
            value: Some(seen.into()),
        },
    )
}

fn put(client: u64, call: i64, ret: i64, key: &str, value: &str) -> KvOp {
    Operation::new(
        client,
        call,
        ret,
        KvInput::Put {
            key: key.into(),
            value: value.into(),
        },
        KvOutput::default(),
    )
}

fn append_pending(client: u64, call: i64, key: &str, value: &str) -> KvOp {
    Operation::pending(
        client,
        call,
        KvInput::Append {
            key: key.into(),
            value: value.into(),
        },
    )
}

/// A history, its verdict and its description.
pub struct Checked {
    pub view: HistoryView,
    pub result: CheckResult,
}

fn checked(history: History<KvInput, KvOutput>, options: &Options) -> Checked {
    let result = checker::check(&Kv, &history, options).expect("fixture histories are well formed");
    Checked {
        view: HistoryView::new(&Kv, "kv", &history),
        result,
    }
}

/// Two keys, three clients, one operation that never returned and one that failed: linearizable.
pub fn linearizable() -> Checked {
    let mut failed = put(1, 32, 35, "x", "c");
    failed.failed = true;
    let history = History::new(vec![
        put(1, 0, 10, "x", "a"),
        put(1, 12, 16, "y", "1"),
        get(2, 2, 14, "x", "a"),
        get(3, 5, 8, "x", ""),
        get(2, 18, 24, "y", "1"),
        put(3, 20, 30, "x", "b"),
        get(2, 26, 40, "x", "b"),
        append_pending(3, 31, "y", "2"),
        failed,
        // Client 3 goes on after an operation that never returned.
        get(3, 45, 50, "x", "b"),
    ]);
    checked(history, &Options::default())
}

/// Key `x` has a stale read: client 3 reads `""` after `put(x, a)` returned and `get(x) -> "a"` was seen.
/// Key `y` is fine. There is a network partition and a crash on the timeline, and a counterexample.
pub fn illegal() -> Checked {
    let mut failed = put(1, 32, 35, "x", "b");
    failed.failed = true;
    let mut history = History::new(vec![
        put(1, 0, 10, "x", "a"),
        put(1, 2, 8, "y", "1"),
        get(2, 12, 20, "x", "a"),
        get(2, 22, 24, "y", "1"),
        get(3, 25, 30, "x", ""),
        append_pending(3, 31, "y", "2"),
        failed,
    ]);
    history.annotations = vec![
        Annotation {
            client: None,
            tag: Some("nemesis".into()),
            start: 11,
            end: 28,
            text: "partition {n1} {n2 n3}".into(),
        },
        Annotation {
            client: Some(3),
            tag: Some("crash".into()),
            start: 30,
            end: 31,
            text: "restart".into(),
        },
    ];
    let mut c = checked(history, &Options::default());
    assert_eq!(c.result.verdict, Verdict::Illegal);
    // `quill check --explain` fills this in; here it is written by hand, as the checker left it empty.
    c.result.counterexample = Some(Counterexample {
        partition: "x".into(),
        operations: vec![0, 4],
        story: vec![
            "#0 put(x, a) by client 1 returned at 10.".into(),
            "  #4 get(x) -> \"\" by client 3 was called at 25, after that.".into(),
            "No order works: the get must come after the put, and then it would read \"a\".".into(),
        ],
        cycle: Vec::new(),
    });
    c
}

/// Many keys, checked with a check that is already cancelled: every partition undecided.
pub fn unknown() -> Checked {
    let cancel = CancelHandle::new();
    cancel.cancel();
    let options = Options {
        cancel: Some(cancel),
        ..Options::default()
    };
    checked(generated(200, 8, 10, 7), &options)
}

/// Like [`unknown`], but with a time limit: the small keys are decided in milliseconds, and one key
/// cannot be within it. On that key 18 puts run at once and two gets after them read two of their
/// values, which no order allows; refuting it means trying each subset of the puts (2^18 of them,
/// 4.5 s in release on a 2-core machine of 2026, against a limit of 0.3 s). One client makes the rest of
/// the history, so that every lane fits the browser tests' window.
pub fn timed_out() -> Checked {
    let options = Options {
        timeout: Some(Duration::from_millis(300)),
        all_partitions: true,
        ..Options::default()
    };
    let mut history = generated(2_000, 1, 2, 11);
    let end = history
        .operations
        .iter()
        .filter_map(|op| op.ret)
        .max()
        .unwrap_or(0);
    let puts = 18;
    for i in 0..puts {
        let value = format!("h{i}");
        history
            .operations
            .push(put(100 + i, 0, end, "hard", &value));
    }
    history
        .operations
        .push(get(0, end + end / 20, end + end / 10, "hard", "h0"));
    history
        .operations
        .push(get(0, end + end / 5, end + end / 4, "hard", "h1"));
    let c = checked(history, &options);
    let timed_out = c
        .result
        .partitions
        .iter()
        .filter(|p| p.undecided == Some(checker::Undecided::Timeout))
        .count();
    assert!(
        timed_out >= 1 && c.result.decided() >= 1,
        "wanted a mix of decided and timed-out partitions"
    );
    c
}

/// The large linearizable histories the browser test opens and the benchmark times: `n` operations by
/// 16 clients over `n / 50` keys, checked with the kv model.
pub fn large(n: usize) -> Checked {
    checked(generated(n, 16, n / 50, n as u64), &Options::default())
}

/// A linearizable history of `n` operations by `clients` clients over `keys` keys, from `seed`.
///
/// Each client runs one operation at a time; an operation takes effect at a point inside its interval,
/// and reads return what the effects before them wrote, so the history is linearizable by
/// construction. Intervals of different clients overlap.
pub fn generated(n: usize, clients: u64, keys: usize, seed: u64) -> History<KvInput, KvOutput> {
    let mut rng = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |bound: u64| {
        // A 64-bit LCG; the high bits are good enough to vary a test history.
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % bound
    };
    let mut clock = vec![0i64; clients as usize];
    // (effect time, client, call, return, key, Some(value) for a put)
    let mut planned: Vec<(i64, u64, i64, i64, usize, Option<usize>)> = Vec::with_capacity(n);
    for i in 0..n {
        let client = next(clients);
        let c = client as usize;
        let call = clock[c] + next(4) as i64;
        let effect = call + 1 + next(6) as i64;
        let ret = effect + 1 + next(6) as i64;
        clock[c] = ret;
        let key = next(keys as u64) as usize;
        let value = (next(3) == 0).then_some(i);
        planned.push((effect, client, call, ret, key, value));
    }
    planned.sort_by_key(|p| (p.0, p.1));
    let mut state = vec![String::new(); keys];
    let mut ops: Vec<KvOp> = planned
        .into_iter()
        .map(|(_, client, call, ret, key, value)| {
            let k = format!("k{key}");
            match value {
                Some(v) => {
                    state[key] = format!("v{v}");
                    put(client, call, ret, &k, &state[key])
                }
                None => get(client, call, ret, &k, &state[key]),
            }
        })
        .collect();
    ops.sort_by_key(|op| (op.call, op.client));
    History::new(ops)
}

/// A generated key/value history of about 1,500 operations with a lost write, explained, its times said
/// to be in milliseconds, and one failed operation: the page of a real failure.
pub fn generated_illegal() -> Checked {
    let options = checker::gen::GenOptions {
        operations: 1500,
        anomaly: Some(checker::gen::Anomaly::LostWrite),
        seed: 1,
        ..checker::gen::GenOptions::default()
    };
    let checker::gen::Generated::Kv(mut history) =
        checker::gen::generate(&options).expect("a history with a lost write")
    else {
        unreachable!("the default model is kv")
    };
    // One put that failed: the prefix line must not be drawn through it.
    if let Some(op) = history
        .operations
        .iter_mut()
        .find(|op| matches!(op.input, KvInput::Put { .. }) && op.call > 1000)
    {
        op.failed = true;
        op.output = None;
    }
    let result = checker::check(&Kv, &history, &Options::default()).expect("well formed");
    let mut result = result;
    result.counterexample = checker::explain::explain(
        &Kv,
        &history,
        &result,
        &checker::explain::ExplainOptions::default(),
    );
    let mut view = HistoryView::with_data(&Kv, "kv", &history);
    view.time_unit = Some("ms".to_string());
    Checked { view, result }
}
