//! `quill check` as a user runs it: verdict lines, exit statuses, errors that name their place, JSON
//! output, and the pictures.

mod determinism;
mod json_input;
mod mr;
mod pipe;
mod sweep;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod maelstrom;

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

fn corpus(name: &str) -> String {
    root()
        .join("../shared/corpus")
        .join(name)
        .display()
        .to_string()
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
        stderr(&out).contains("unknown.json: operation 0: unknown kv operation \"delete\""),
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

// ----- quill test -------------------------------------------------------------------------------

/// Every file under `dir`, by path relative to it, with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_replayed_failing_seed_writes_every_artifact_byte_for_byte() {
    let (a, b) = (temp("replay-a"), temp("replay-b"));
    let run = |out: &Path| {
        quill(&[
            "test",
            "kvraft",
            "TestOnePartition4A",
            "--mutant",
            "kvraft-local-reads",
            "--seed",
            "2",
            "--out",
            &out.display().to_string(),
        ])
    };
    let first = run(&a);
    assert_eq!(first.status.code(), Some(1), "{}", stdout(&first));
    let printed = stdout(&first);
    assert!(printed.contains("[linearizability]"), "{printed}");
    assert!(
        printed.contains(
            "REPRODUCE WITH: quill test kvraft TestOnePartition4A --seed 2 --mutant kvraft-local-reads"
        ),
        "{printed}"
    );
    let second = run(&b);
    assert_eq!(second.status.code(), Some(1));
    let (fa, fb) = (files(&a), files(&b));
    let names: Vec<String> = fa.keys().map(|p| p.display().to_string()).collect();
    for name in ["history.json", "timeline.html", "timeline.svg", "trace.txt"] {
        assert!(
            names.iter().any(|n| n.ends_with(name)),
            "no {name} among {names:?}"
        );
    }
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (path, bytes) in &fa {
        assert!(
            bytes == &fb[path],
            "{} differs between two replays",
            path.display()
        );
    }
}

#[test]
fn quill_test_refuses_zero_seeds_and_unknown_mutants() {
    let zero = quill(&["test", "raft", "--seeds", "0"]);
    assert!(!zero.status.success());
    assert!(stderr(&zero).contains("--seeds"), "{}", stderr(&zero));
    let unknown = quill(&["test", "raft", "--mutant", "no-such-bug"]);
    assert_eq!(unknown.status.code(), Some(3));
    let err = stderr(&unknown);
    assert!(err.contains("no mutant `no-such-bug` for raft"), "{err}");
    assert!(err.contains("grant-stale-votes"), "{err}");
    // A kv mutant is not offered for Raft.
    let listed = stdout(&quill(&["test", "raft", "--list-mutants"]));
    assert!(listed.contains("commit-previous-terms"), "{listed}");
    assert!(!listed.contains("kvsrv-no-duplicate-detection"), "{listed}");
}

#[test]
fn scenario_patterns_ignore_case() {
    let listed = stdout(&quill(&["test", "raft", "--list", "initialelection"]));
    assert_eq!(listed.trim(), "TestInitialElection3A");
    let globbed = stdout(&quill(&["test", "raft", "--list", "test*3a"]));
    assert!(globbed.lines().count() >= 3, "{globbed}");
}

/// Usage errors are bad input (3), never the "unknown" of a time limit (2); `--help` is not an error.
#[test]
fn usage_errors_exit_three() {
    let file = example("register.jsonl");
    for args in [
        vec!["check", "--no-such-flag", file.as_str()],
        vec!["check"],
        vec!["check", "--timeout", "abc", file.as_str()],
        vec!["check", "--timeout", "1e300", file.as_str()],
        vec!["check", "--timeout", "-1", file.as_str()],
        vec!["check", "--timeout", "NaN", file.as_str()],
        vec!["check", "--timeout", "inf", file.as_str()],
        vec!["check", "--format", "yaml", file.as_str()],
        vec!["no-such-command"],
    ] {
        let out = quill(&args);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stderr(&out).starts_with("error:"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = quill(&["check", "--timeout", "1e300", &file]);
    assert!(
        stderr(&out)
            .contains("`1e300` is out of range: give a number of seconds from 0 to 1000000"),
        "{}",
        stderr(&out)
    );
    let out = quill(&["check", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("--timeout"), "{}", stdout(&out));
}

/// `--format jepsen-log` on prose, on an EDN file or on an empty file said `ops=0 linearizable`, exit 0.
#[test]
fn a_log_that_is_not_one_exits_three_naming_the_place() {
    let prose = write("prose.log", "Notes from the run.\nAll went well.\n");
    let edn = write(
        "history.edn",
        "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value nil}]\n",
    );
    let empty = write("empty.log", "");
    for (file, place) in [
        (&prose, "prose.log: line 1: not a line of a Jepsen log"),
        (&edn, "history.edn: line 1: not a line of a Jepsen log"),
        (&empty, "empty.log: file: empty file"),
    ] {
        let out = quill(&["check", "--format", "jepsen-log", file]);
        assert_eq!(out.status.code(), Some(3), "{file}: {}", stdout(&out));
        assert!(stderr(&out).contains(place), "{}", stderr(&out));
        assert!(!stdout(&out).contains("linearizable"), "{}", stdout(&out));
    }
    // Jepsen's current layout is read, and detected.
    let current = write(
        "current.log",
        "2017-03-03 18:05:41,102{GMT}\tINFO\t[jepsen worker 0] jepsen.util: 0\t:invoke\t:write\t1\n\
         2017-03-03 18:05:41,130{GMT}\tINFO\t[jepsen worker 0] jepsen.util: 0\t:ok\t:write\t1\n\
         2017-03-03 18:05:41,150{GMT}\tINFO\t[jepsen worker 1] jepsen.util: 1\t:invoke\t:read\tnil\n\
         2017-03-03 18:05:41,160{GMT}\tINFO\t[jepsen worker 1] jepsen.util: 1\t:ok\t:read\t2\n",
    );
    let out = quill(&["check", &current]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("current.log: not linearizable  ops=2"),
        "{}",
        stdout(&out)
    );
}

/// EDN nested thousands deep crashed with exit 134; a file of zero bytes ran out of memory.
#[test]
fn hostile_edn_exits_three_naming_the_place() {
    let deep = write("deep.edn", &"[".repeat(100_000));
    let out = quill(&["check", "--format", "edn", &deep]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("deep.edn: line 1, column 201: nested more than 200 deep"),
        "{}",
        stderr(&out)
    );
    let zeros = temp("zeros.edn");
    std::fs::File::create(&zeros)
        .and_then(|f| f.set_len(2 << 30))
        .unwrap();
    let out = quill(&["check", "--format", "edn", &zeros.display().to_string()]);
    std::fs::remove_file(&zeros).unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "zeros.edn: line 1, column 1: unexpected byte 0x00 at byte offset 0: this is not EDN text"
        ),
        "{}",
        stderr(&out)
    );
}

/// One file not linearizable, one unreadable: both are printed, and the status is 1, so that a CI gate
/// looking for "not linearizable" never has it hidden by bad input. Unreadable beats unknown.
#[test]
fn when_files_disagree_not_linearizable_wins_and_both_are_printed() {
    let bad = write("unreadable.log", "just some words\n");
    let out = quill(&[
        "check",
        "--format",
        "jepsen-log",
        &corpus("etcd/etcd_000.log"),
        &bad,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("etcd_000.log: not linearizable"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("unreadable.log: line 1: not a line of a Jepsen log"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out)
            .contains("2 files: 0 linearizable, 1 not linearizable, 0 unknown, 1 unreadable"),
        "{}",
        stdout(&out)
    );
    // In JSON too, both files are there, and the summary carries the status.
    let out = quill(&[
        "check",
        "--json",
        "--format",
        "jepsen-log",
        &corpus("etcd/etcd_000.log"),
        &bad,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["files"][0]["verdict"], "illegal");
    assert!(doc["files"][1]["error"]
        .as_str()
        .is_some_and(|e| e.contains("line 1")));
    assert_eq!(doc["summary"]["exit_code"], 1);
    // Unreadable and unknown: 3.
    let out = quill(&["check", "--timeout", "0", &hard_file(), &bad]);
    assert!(stdout(&out).contains("unknown"), "{}", stdout(&out));
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
}

/// 14 concurrent writes and a read nothing explains: far more than no time at all to refute.
fn hard_file() -> String {
    let mut ops: Vec<String> = (0..14)
        .map(|c| format!(r#"{{"client": {c}, "call": 0, "return": 100, "input": {{"op": "write", "value": {c}}}, "output": null}}"#))
        .collect();
    ops.push(r#"{"client": 99, "call": 0, "return": 100, "input": {"op": "read"}, "output": {"value": 1000}}"#.into());
    write(
        "hard-too.json",
        &format!(
            r#"{{"model": "register", "operations": [{}]}}"#,
            ops.join(",")
        ),
    )
}

/// With several inputs `--html`/`--svg` name a directory: a path that looks like one file is an error
/// before anything is checked, not a directory named `one.html`.
#[test]
fn one_picture_path_for_several_files_is_an_error() {
    let dir = temp("pictures-one");
    std::fs::create_dir_all(&dir).unwrap();
    for flag in ["--html", "--svg"] {
        let target = dir.join(if flag == "--html" {
            "one.html"
        } else {
            "one.svg"
        });
        let out = quill(&[
            "check",
            flag,
            &target.display().to_string(),
            &example("kv-linearizable.json"),
            &example("register.jsonl"),
        ]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("with 2 input files"),
            "{}",
            stderr(&out)
        );
        assert!(!target.exists(), "{} was made", target.display());
        assert!(
            stdout(&out).is_empty(),
            "nothing is checked: {}",
            stdout(&out)
        );
    }
}
