//! `--explain`: the counterexample is an illegal sub-history of the illegal partition, and 1-minimal
//! (verified here by re-checking it without each of its completed operations), on every illegal corpus
//! file and on hand-made cases; and its story names the operations.

use std::path::PathBuf;

use checker::dynamic::{check_raw_explained, typed};
use checker::explain::{explain, ExplainOptions};
use checker::formats::{parse, read_path, Format, RawHistory};
use checker::models::{CasRegister, Kv, Mutex, MutexInput, MutexOutput, Value};
use checker::{check, Counterexample, History, Model, Operation, Options, Verdict};

/// `../shared/corpus` beside the workspace; fails naming the path when it is missing.
fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    assert!(
        dir.is_dir(),
        "this test needs the reference corpus, {} (../shared/corpus beside the workspace), which is missing",
        dir.display()
    );
    dir
}

/// The verdict of the sub-history of `history` made of `ops`.
fn sub_verdict<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    ops: &[usize],
) -> Verdict
where
    M::Input: Clone,
    M::Output: Clone,
{
    let sub = History::new(ops.iter().map(|&i| history.operations[i].clone()).collect());
    check(
        model,
        &sub,
        &Options {
            partition: false,
            ..Options::default()
        },
    )
    .unwrap()
    .verdict
}

/// The counterexample is illegal, and removing any one completed operation makes it linearizable.
fn assert_one_minimal<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    cx: &Counterexample,
    name: &str,
) where
    M::Input: Clone,
    M::Output: Clone,
{
    assert!(!cx.operations.is_empty(), "{name}: empty counterexample");
    assert!(
        cx.operations.windows(2).all(|w| w[0] < w[1]),
        "{name}: not in history order: {:?}",
        cx.operations
    );
    assert_eq!(
        sub_verdict(model, history, &cx.operations),
        Verdict::Illegal,
        "{name}: {:?}",
        cx.operations
    );
    for &op in &cx.operations {
        if history.operations[op].ret.is_none() {
            continue;
        }
        let rest: Vec<usize> = cx.operations.iter().copied().filter(|&i| i != op).collect();
        assert_eq!(
            sub_verdict(model, history, &rest),
            Verdict::Ok,
            "{name}: still illegal without #{op}"
        );
    }
    assert!(cx.story.len() >= 2, "{name}: {:?}", cx.story);
    for &op in &cx.operations {
        assert!(
            cx.story.iter().any(|l| l.contains(&format!("#{op} "))),
            "{name}: #{op} not in the story {:?}",
            cx.story
        );
    }
}

fn explained(raw: RawHistory, name: &str) -> Counterexample {
    let checked =
        check_raw_explained(raw, None, &Options::default(), &ExplainOptions::default()).unwrap();
    assert_eq!(checked.result.verdict, Verdict::Illegal, "{name}");
    let cx = checked
        .result
        .counterexample
        .unwrap_or_else(|| panic!("{name}: no counterexample"));
    let partition = checked
        .result
        .partitions
        .iter()
        .find(|p| p.label == cx.partition)
        .unwrap();
    assert!(
        cx.operations
            .iter()
            .all(|i| partition.operations.contains(i)),
        "{name}: outside its partition"
    );
    cx
}

#[test]
fn corpus_counterexamples_are_one_minimal() {
    const LINEARIZABLE: &[u32] = &[2, 5, 7, 18, 25, 31, 38, 45, 48, 49];
    for n in (0..50).filter(|n| !LINEARIZABLE.contains(n)) {
        let path = corpus().join(format!("etcd/etcd_{n:03}.log"));
        let name = path.display().to_string();
        let started = std::time::Instant::now();
        let cx = explained(read_path(&path, None).unwrap(), &name);
        eprintln!(
            "{name}: {} ops in {:?}",
            cx.operations.len(),
            started.elapsed()
        );
        let history =
            typed::<CasRegister>(read_path(&path, None).unwrap(), "cas-register").unwrap();
        assert_one_minimal(&CasRegister::default(), &history, &cx, &name);
    }
    for file in ["c01-bad.txt", "c10-bad.txt", "c50-bad.txt"] {
        let path = corpus().join("porcupine-kv").join(file);
        let name = path.display().to_string();
        let started = std::time::Instant::now();
        let cx = explained(read_path(&path, None).unwrap(), &name);
        eprintln!(
            "{name}: {} ops in {:?}",
            cx.operations.len(),
            started.elapsed()
        );
        let history = typed::<Kv>(read_path(&path, None).unwrap(), "kv").unwrap();
        assert_one_minimal(&Kv, &history, &cx, &name);
    }
}

#[test]
fn a_stale_read_is_explained_by_the_write_called_after_it_returned() {
    // Client 3 reads 1 at [12, 15]; the only write of 1 is client 2's at [20, 25].
    let text = r#"{"model": "cas-register", "operations": [
      {"client": 1, "call": 0, "return": 5, "input": {"op": "write", "value": 0}, "output": null},
      {"client": 3, "call": 12, "return": 15, "input": {"op": "read"}, "output": {"value": 1}},
      {"client": 2, "call": 20, "return": 25, "input": {"op": "write", "value": 1}, "output": null},
      {"client": 1, "call": 30, "return": 35, "input": {"op": "read"}, "output": {"value": 1}}
    ]}"#;
    let cx = explained(parse(text, Some(Format::Json)).unwrap(), "stale read");
    let history =
        typed::<CasRegister>(parse(text, Some(Format::Json)).unwrap(), "cas-register").unwrap();
    assert_one_minimal(&CasRegister::default(), &history, &cx, "stale read");
    // The register starts absent, so the read of 1 is wrong on its own.
    assert_eq!(cx.operations, vec![1]);
    let story = cx.story.join("\n");
    assert!(
        story.contains("#1 client 3: read() -> 1 at [12, 15] fits no order"),
        "{story}"
    );
    assert!(
        story.contains("#2 client 2: write(1) at [20, 25]: it was called after #1 returned"),
        "{story}"
    );
}

#[test]
fn an_overwritten_value_names_the_write_in_between() {
    let text = r#"{"model": "register", "init": 0, "operations": [
      {"client": 1, "call": 0, "return": 5, "input": {"op": "write", "value": 1}, "output": null},
      {"client": 2, "call": 6, "return": 8, "input": {"op": "write", "value": 2}, "output": null},
      {"client": 3, "call": 10, "return": 12, "input": {"op": "read"}, "output": {"value": 1}}
    ]}"#;
    let cx = explained(parse(text, Some(Format::Json)).unwrap(), "overwritten");
    // The read of 1 is wrong on its own (the register starts at 0); the story says why the write of 1
    // does not help: the write of 2 came in between.
    assert_eq!(cx.operations, vec![2]);
    let story = cx.story.join("\n");
    assert!(
        story.contains(
            "#0 client 1: write(1) at [0, 5]: but after it returned and before #2 was called came \
             #1 client 2: write(2) at [6, 8]."
        ),
        "{story}"
    );
}

#[test]
fn two_holders_of_a_mutex_need_each_other() {
    let acquire = |c, call, ret| Operation::new(c, call, ret, MutexInput::Acquire, MutexOutput {});
    let release = |c, call, ret| Operation::new(c, call, ret, MutexInput::Release, MutexOutput {});
    let history = History::new(vec![
        acquire(0, 0, 1),
        release(0, 2, 3),
        acquire(1, 4, 5),
        acquire(2, 6, 7),
        release(1, 8, 9),
    ]);
    let result = check(&Mutex, &history, &Options::default()).unwrap();
    assert_eq!(result.verdict, Verdict::Illegal);
    let cx = explain(&Mutex, &history, &result, &ExplainOptions::default()).unwrap();
    assert_one_minimal(&Mutex, &history, &cx, "mutex");
    // Two acquires with no release between: either alone is fine. The search got stuck on client 2's
    // acquire (#3), so the explanation keeps it, with one of the earlier acquires.
    assert_eq!(cx.operations.len(), 2, "{:?}", cx.operations);
    assert!(cx.operations.contains(&3), "{:?}", cx.operations);
}

#[test]
fn pending_operations_are_dropped_and_failed_ones_never_appear() {
    let text = r#"
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 4, :type :invoke, :f :write, :value 9}
{:process 5, :type :invoke, :f :write, :value 2}
{:process 5, :type :fail, :f :write, :value 2}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 2}
"#;
    let cx = explained(parse(text, Some(Format::Edn)).unwrap(), "edn");
    let history =
        typed::<CasRegister>(parse(text, Some(Format::Edn)).unwrap(), "cas-register").unwrap();
    assert_one_minimal(&CasRegister::default(), &history, &cx, "edn");
    assert_eq!(cx.operations, vec![3]);
    assert!(
        cx.story.join("\n").contains("No single other operation"),
        "{:?}",
        cx.story
    );
}

#[test]
fn no_counterexample_for_a_linearizable_history() {
    let history = History::new(vec![Operation::new(
        0,
        0,
        1,
        checker::models::RegisterInput::Write {
            value: Some(Value::int(1)),
        },
        checker::models::RegisterOutput::default(),
    )]);
    let model = checker::models::Register::default();
    let result = check(&model, &history, &Options::default()).unwrap();
    assert_eq!(result.verdict, Verdict::Ok);
    assert!(explain(&model, &history, &result, &ExplainOptions::default()).is_none());
}
