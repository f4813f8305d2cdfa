//! docs/json-output.md's example document is what `quill check --json --explain` prints for the file it
//! names: compared as JSON, with the times (`micros`, which vary from run to run) taken out of both.

use std::process::Command;

use serde_json::Value;

use super::blocks::blocks;
use super::root;

/// Replaces every `micros` number with 0, wherever it is.
fn without_times(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "micros" {
                    assert!(v.is_u64(), "micros is a number of microseconds: {v}");
                    *v = Value::from(0);
                } else {
                    without_times(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(without_times),
        _ => {}
    }
}

#[test]
fn the_json_example_is_the_real_output() {
    let doc = root().join("docs/json-output.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    // The sentence before the example names the command: `quill check --json --explain FILE` ...
    let command = text
        .split("## Example")
        .nth(1)
        .and_then(|s| s.split('`').nth(1))
        .expect("docs/json-output.md: the example names its command in backquotes");
    let args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&args[..2], ["quill", "check"], "{command}");
    let example = blocks(&doc)
        .into_iter()
        .find(|b| b.lang == "json")
        .expect("docs/json-output.md has a json block");
    let mut shown: Value = serde_json::from_str(&example.body)
        .unwrap_or_else(|e| panic!("docs/json-output.md:{}: {e}", example.line));

    let out = Command::new(env!("CARGO_BIN_EXE_quill"))
        .args(&args[1..])
        .current_dir(root())
        .output()
        .expect("quill runs");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        printed.lines().count(),
        1,
        "--json prints one line: {printed}"
    );
    let mut actual: Value = serde_json::from_str(&printed).expect("--json prints JSON");
    assert_eq!(
        out.status.code().map(Value::from),
        Some(actual["summary"]["exit_code"].clone()),
        "the exit status is summary.exit_code"
    );
    let mut shown_untimed = shown.clone();
    let mut actual_untimed = actual.clone();
    without_times(&mut shown_untimed);
    without_times(&mut actual_untimed);
    if super::blessing() && shown_untimed != actual_untimed {
        // Re-bless: the example becomes the real output (its times included, as a run prints them),
        // pretty-printed by serde_json, so the block's hand layout is lost only when it was wrong.
        let fenced = format!("```json\n{}```", example.body);
        let real = format!(
            "```json\n{}\n```",
            serde_json::to_string_pretty(&actual).unwrap()
        );
        assert!(
            text.contains(&fenced),
            "docs/json-output.md: the example block"
        );
        std::fs::write(&doc, text.replacen(&fenced, &real, 1)).unwrap();
        return;
    }
    without_times(&mut shown);
    without_times(&mut actual);
    assert_eq!(
        shown,
        actual,
        "docs/json-output.md's example differs from `{command}` (TRYCMD=overwrite re-blesses it); its real output is:\n{}",
        serde_json::to_string_pretty(&actual).unwrap()
    );
}

#[test]
fn the_history_format_examples_are_read_and_linearizable() {
    let doc = root().join("docs/history-format.md");
    let dir = std::env::temp_dir().join(format!("quill-docs-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for block in blocks(&doc) {
        let extension = match block.lang.as_str() {
            "json" => "json",
            "jsonl" => "jsonl",
            _ => continue,
        };
        let path = dir.join(format!("line-{}.{extension}", block.line));
        std::fs::write(&path, &block.body).unwrap();
        files.push((block.line, path));
    }
    assert!(
        files.len() >= 3,
        "the operations, events and JSON Lines examples: {files:?}"
    );
    for (line, path) in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_quill"))
            .arg("check")
            .arg(path)
            .output()
            .expect("quill runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "docs/history-format.md:{line}: the example is not read as a linearizable history: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
