//! `quill check` as a user runs it: verdict lines, exit statuses, errors that name their place, JSON
//! output, and the pictures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod completions;

fn quill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quill"))
        .args(args)
        .output()
        .expect("quill runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example(name: &str) -> String {
    root().join("examples").join(name).display().to_string()
}

/// A file of the reference corpus, `../shared/corpus` beside the workspace; the test fails naming the
/// missing path when the corpus is not there.
fn corpus(name: &str) -> String {
    let dir = root().join("../shared/corpus");
    assert!(
        dir.is_dir(),
        "this test needs the reference corpus, {} (../shared/corpus beside the workspace), which is missing",
        dir.display()
    );
    dir.join(name).display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quill-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write(name: &str, text: &str) -> String {
    let path = temp(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn linearizable_files_exit_zero_with_a_line_each() {
    let out = quill(&[
        "check",
        &example("kv-linearizable.json"),
        &example("register.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("kv-linearizable.json: linearizable  ops=6 partitions=2"),
        "{text}"
    );
    assert!(
        text.contains("register.jsonl: linearizable  ops=6 partitions=1"),
        "{text}"
    );
    assert!(
        text.contains("2 files: 2 linearizable, 0 not linearizable, 0 unknown, 0 unreadable"),
        "{text}"
    );
}

#[test]
fn an_illegal_file_exits_one() {
    let out = quill(&[
        "check",
        &example("kv-linearizable.json"),
        &example("kv-stale-read.json"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("kv-stale-read.json: not linearizable"));
}

#[test]
fn the_corpus_gives_its_verdicts_through_the_command_line() {
    let out = quill(&[
        "check",
        &corpus("etcd/etcd_002.log"),
        &corpus("etcd/etcd_000.log"),
        &corpus("porcupine-kv/c10-bad.txt"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("etcd_002.log: linearizable"), "{text}");
    assert!(text.contains("etcd_000.log: not linearizable"), "{text}");
    assert!(text.contains("c10-bad.txt: not linearizable"), "{text}");
    let out = quill(&[
        "check",
        "--no-partition",
        &corpus("porcupine-kv/c01-ok.txt"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("partitions=1"));
}

#[test]
fn a_time_limit_exits_two_with_unknown() {
    // 14 concurrent writes and a read nothing explains: far more than no time at all to refute.
    let mut ops: Vec<String> = (0..14)
        .map(|c| format!(r#"{{"client": {c}, "call": 0, "return": 100, "input": {{"op": "write", "value": {c}}}, "output": null}}"#))
        .collect();
    ops.push(r#"{"client": 99, "call": 0, "return": 100, "input": {"op": "read"}, "output": {"value": 1000}}"#.into());
    let file = write(
        "hard.json",
        &format!(
            r#"{{"model": "register", "operations": [{}]}}"#,
            ops.join(",")
        ),
    );
    let out = quill(&["check", "--timeout", "0", &file]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("unknown (0 of 1 partitions decided)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_input_exits_three_naming_the_place_and_checks_the_rest() {
    let bad = write("bad.jsonl", "{\"model\": \"kv\"}\n{\"client\": 0, \"call\": 5, \"return\": 1, \"input\": {\"op\": \"get\", \"key\": \"x\"}, \"output\": {\"value\": \"\"}}\n");
    let out = quill(&["check", &bad, &example("kv-linearizable.json")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("bad.jsonl: line 2: returns at 1, before its call at 5"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("kv-linearizable.json: linearizable"),
        "the other file is still checked"
    );

    let malformed = write(
        "malformed.json",
        "{\"model\": \"kv\", \"operations\": [\n  {\"client\": 0,,}\n]}",
    );
    let out = quill(&["check", &malformed]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("malformed.json: line 2, column"),
        "{}",
        stderr(&out)
    );

    let unknown_op = write(
        "unknown.json",
        r#"{"model": "kv", "operations": [{"client": 0, "call": 0, "return": 1, "input": {"op": "delete", "key": "x"}, "output": null}]}"#,
    );
    let out = quill(&["check", &unknown_op]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("unknown.json: operation 0: input"),
        "{}",
        stderr(&out)
    );

    let missing = write(
        "missing.json",
        r#"{"model": "kv", "operations": [{"client": 0, "return": 1, "input": {"op": "get", "key": "x"}, "output": null}]}"#,
    );
    let out = quill(&["check", &missing]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("operation 0: missing field \"call\""),
        "{}",
        stderr(&out)
    );

    let busy = write(
        "busy.json",
        r#"{"model": "kv", "events": [
        {"kind": "call", "id": 0, "client": 0, "input": {"op": "get", "key": "x"}},
        {"kind": "call", "id": 1, "client": 0, "input": {"op": "get", "key": "x"}}]}"#,
    );
    let out = quill(&["check", &busy]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out)
            .contains("event 1: client 0 calls while its operation with id 0 is still outstanding"),
        "{}",
        stderr(&out)
    );

    let out = quill(&["check", "/nonexistent/history.json"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("/nonexistent/history.json"),
        "{}",
        stderr(&out)
    );

    let out = quill(&[
        "check",
        "--model",
        "nonsense",
        &example("kv-linearizable.json"),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("unknown model `nonsense`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_output_carries_the_evidence() {
    let out = quill(&["check", "--json", &example("kv-stale-read.json")]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let file = &doc["files"][0];
    assert_eq!(file["verdict"], "illegal");
    assert_eq!(file["operations"], 6);
    let x = file["result"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == "x")
        .unwrap();
    assert_eq!(x["verdict"], "illegal");
    // The longest prefix: put 1, put 2, get -> 2; then the get -> 1 (operation 3) cannot follow.
    let partial = &x["partial"][0];
    let placed: Vec<u64> = partial["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["op"].as_u64().unwrap())
        .collect();
    assert_eq!(placed, vec![0, 1, 2]);
    assert_eq!(partial["blocking"], 3);
    assert_eq!(file["history"]["operations"][3]["input"], "get(x)");
    assert_eq!(doc["summary"]["illegal"], 1);
}

#[test]
fn pictures_are_written() {
    let html = temp("stale.html");
    let svg = temp("stale.svg");
    let out = quill(&[
        "check",
        &example("kv-stale-read.json"),
        "--html",
        &html.display().to_string(),
        "--svg",
        &svg.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>") || page.starts_with("<!doctype html>"),
        "{}",
        &page[..40.min(page.len())]
    );
    assert!(page.contains("get(x)"));
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.contains("<svg"));
    // Several files: the paths are directories.
    let dir = temp("pages");
    let out = quill(&[
        "check",
        &example("kv-stale-read.json"),
        &example("register.jsonl"),
        "--html",
        &dir.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(Path::new(&dir).join("kv-stale-read.html").exists());
    assert!(Path::new(&dir).join("register.html").exists());
}
