//! The JSON formats as a user meets them through `quill check`: inputs that used to pass silently exit 3
//! naming the place, and `-` reads standard input.

use std::process::Command;

use super::{example, quill, stderr, stdout, write};

/// Each input of issue 11 that used to pass silently, in the JSON formats: exit 3, the place named.
#[test]
fn json_inputs_that_say_nothing_exit_three_naming_the_place() {
    let op = r#"{"client": 0, "call": 0, "return": 1, "input": {"op": "get", "key": "x"}, "output": {"value": ""}}"#;
    let cases: Vec<(&str, String, Vec<&str>, String)> = vec![
        (
            "typo.json",
            format!(r#"{{"model": "kv", "operatoins": [{op}]}}"#),
            vec![],
            "typo.json: file: unknown key \"operatoins\" in the document (did you mean \"operations\"?)".into(),
        ),
        (
            "noresult.json",
            format!(r#"{{"model": "kv", "operations": [{}]}}"#, op.replace(r#", "output": {"value": ""}"#, "")),
            vec![],
            "noresult.json: operation 0: a completed get must report its result".into(),
        ),
        (
            "ouput.jsonl",
            format!("{{\"model\": \"kv\"}}\n{}\n", op.replace("\"output\"", "\"ouput\"")),
            vec![],
            "ouput.jsonl: line 2: unknown key \"ouput\" in an operation (did you mean \"output\"?)".into(),
        ),
        ("empty.json", String::new(), vec![], "empty.json: empty file".into()),
        (
            "header.jsonl",
            "{\"model\": \"kv\"}\n".into(),
            vec![],
            "header.jsonl: no operations found".into(),
        ),
        (
            "binary.bin",
            "\u{7f}ELF\u{2}\u{1}\u{1}\0\0\0\0".into(),
            vec!["--format", "jsonl"],
            "binary.bin: line 1, column 1 (byte 0): not JSON: byte 0x7f".into(),
        ),
        (
            "zeros.bin",
            "\0".repeat(1 << 20),
            vec!["--format", "json"],
            "zeros.bin: line 1, column 1 (byte 0): ".into(),
        ),
    ];
    for (name, text, flags, expected) in cases {
        let path = write(name, &text);
        let mut args = vec!["check"];
        args.extend(flags);
        args.push(&path);
        let out = quill(&args);
        assert_eq!(out.status.code(), Some(3), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&expected),
            "{name}: expected {expected:?} in {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{name}");
    }
}

/// `-` reads the history from standard input.
#[test]
fn a_dash_reads_standard_input() {
    use std::io::Write;
    use std::process::Stdio;
    let run = |text: String| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_quill"))
            .args(["check", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("quill runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let good = std::fs::read_to_string(example("register.jsonl")).unwrap();
    let out = run(good);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("-: linearizable  ops=6"),
        "{}",
        stdout(&out)
    );
    let out = run(String::new());
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("-: empty file"), "{}", stderr(&out));
}
