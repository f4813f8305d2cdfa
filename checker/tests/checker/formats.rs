//! Reading histories: the JSON forms agree with each other, and bad input is an error naming its place.

use std::io::Read;

use checker::dynamic::{check_raw, typed};
use checker::formats::{detect, parse, read_reader, Format};
use checker::models::Kv;
use checker::{History, Options, Verdict};

const OPS: &str = r#"{ "model": "kv",
  "operations": [
    {"client": 0, "call": 1200, "return": 1450, "input": {"op": "put", "key": "x", "value": "a"}, "output": null},
    {"client": 1, "call": 1300, "return": 1500, "input": {"op": "get", "key": "x"}, "output": {"value": "a"}},
    {"client": 2, "call": 1400, "return": null, "input": {"op": "append", "key": "x", "value": "b"}, "output": null}
  ] }"#;

const EVENTS: &str = r#"{ "model": "kv",
  "events": [
    {"kind": "call", "id": 0, "client": 0, "input": {"op": "put", "key": "x", "value": "a"}},
    {"kind": "call", "id": 1, "client": 1, "input": {"op": "get", "key": "x"}},
    {"kind": "call", "id": 2, "client": 2, "input": {"op": "append", "key": "x", "value": "b"}},
    {"kind": "return", "id": 0, "output": null},
    {"kind": "return", "id": 1, "output": {"value": "a"}}
  ] }"#;

const JSONL: &str = r#"{"model": "kv"}
{"client": 0, "call": 1200, "return": 1450, "input": {"op": "put", "key": "x", "value": "a"}, "output": null}
{"client": 1, "call": 1300, "return": 1500, "input": {"op": "get", "key": "x"}, "output": {"value": "a"}}

{"client": 2, "call": 1400, "return": null, "input": {"op": "append", "key": "x", "value": "b"}, "output": null}
"#;

fn verdict(text: &str) -> Verdict {
    check_raw(parse(text, None).unwrap(), None, &Options::default())
        .unwrap()
        .result
        .verdict
}

fn error(text: &str) -> String {
    match parse(text, None).and_then(|raw| check_raw(raw, None, &Options::default())) {
        Ok(c) => panic!("expected an error, got {:?}", c.result.verdict),
        Err(e) => e.to_string(),
    }
}

#[test]
fn formats_are_detected() {
    assert_eq!(detect(OPS), Some(Format::Json));
    assert_eq!(detect(EVENTS), Some(Format::Json));
    assert_eq!(detect(JSONL), Some(Format::Jsonl));
    assert_eq!(
        detect("INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"),
        Some(Format::JepsenLog)
    );
    assert_eq!(
        detect("{:process 3, :type :invoke, :f :get, :key \"1\", :value nil}\n"),
        Some(Format::PorcupineKv)
    );
    assert_eq!(detect("hello"), None);
    // A one-line document with a misspelled key is a document, and a line with an operation's keys
    // (one misspelled) is JSON Lines: each is then read with the message that names the key.
    assert_eq!(
        detect(r#"{"model": "kv", "operatoins": []}"#),
        Some(Format::Json)
    );
    assert_eq!(
        detect(r#"{"client": 0, "call": 0, "return": 1, "inptu": {}}"#),
        Some(Format::Jsonl)
    );
}

#[test]
fn operations_events_and_lines_read_the_same() {
    assert_eq!(verdict(OPS), Verdict::Ok);
    assert_eq!(verdict(EVENTS), Verdict::Ok);
    assert_eq!(verdict(JSONL), Verdict::Ok);
    let ops = parse(OPS, None).unwrap().into_history().unwrap();
    let lines = parse(JSONL, None).unwrap().into_history().unwrap();
    assert_eq!(ops, lines);
    // Events have positions for times, but the same operations in the same real-time relations.
    let events = parse(EVENTS, None).unwrap().into_history().unwrap();
    assert_eq!(events.operations.len(), 3);
    assert_eq!(events.operations[2].ret, None);
    assert!(
        events.operations[0].call < events.operations[1].call
            && events.operations[1].ret > events.operations[0].ret
    );
}

#[test]
fn typed_histories_convert_to_events_and_back() {
    let history: History<String, String> = History::new(vec![
        checker::Operation::new(0, 0, 10, "a".into(), "x".into()),
        checker::Operation::new(1, 10, 20, "b".into(), "y".into()),
        checker::Operation::pending(2, 5, "c".into()),
    ]);
    let events = history.to_events();
    // Equal times: the call at 10 comes before the return at 10, so the two stay concurrent.
    assert!(matches!(events[2].kind, checker::EventKind::Call(ref b) if b == "b"));
    // Operations come back in the order of their calls.
    let back = History::from_events(events).unwrap();
    let inputs: Vec<&str> = back.operations.iter().map(|o| o.input.as_str()).collect();
    assert_eq!(inputs, vec!["a", "c", "b"]);
    assert!(back.operations[2].call < back.operations[0].ret.unwrap());
    assert_eq!(back.operations[1].ret, None);
    assert_eq!(back.operations[2].output.as_deref(), Some("y"));
}

#[test]
fn a_stale_read_is_found_in_every_form() {
    let bad = OPS.replace(r#"{"value": "a"}"#, r#"{"value": "z"}"#);
    assert_eq!(verdict(&bad), Verdict::Illegal);
    let bad = JSONL.replace(r#"{"value": "a"}"#, r#"{"value": "z"}"#);
    assert_eq!(verdict(&bad), Verdict::Illegal);
}

#[test]
fn errors_name_the_place() {
    let e = error(&OPS.replace(
        r#""call": 1300, "return": 1500"#,
        r#""call": 1300, "return": 1000"#,
    ));
    assert_eq!(e, "operation 1: returns at 1000, before its call at 1300");
    let e = error(&OPS.replace(r#""op": "get""#, r#""op": "frobnicate""#));
    assert_eq!(
        e,
        "operation 1: unknown kv operation \"frobnicate\"; known: get, put, append"
    );
    let e = error(&OPS.replace(r#""client": 1, "#, ""));
    assert_eq!(e, "operation 1: missing field \"client\"");
    let e = error(&JSONL.replace(
        r#""key": "x"}, "output": {"value""#,
        r#""key": "x"}, "output": {"value"#,
    ));
    assert!(e.starts_with("line 3, column"), "{e}");
    let e = error(&JSONL.replace(r#""op": "get""#, r#""op": "got""#));
    assert!(
        e.starts_with("line 3: unknown kv operation \"got\" (did you mean \"get\"?)"),
        "{e}"
    );
    let e = error(&EVENTS.replace(r#""id": 1, "client": 1"#, r#""id": 1, "client": 0"#));
    assert_eq!(
        e,
        "event 1: client 0 calls while its operation with id 0 is still outstanding"
    );
    let e = error(&OPS[..OPS.len() - 10]);
    assert!(e.starts_with("line "), "{e}");
    let e = error(
        "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:invoke\t:write\t3\n",
    );
    assert_eq!(
        e,
        "line 2: process 0 invokes while its operation from line 1 is still outstanding"
    );
    let e = error("{:process 3, :type :ok, :f :get, :key \"1\", :value \"a\"}\n");
    assert_eq!(
        e,
        "line 1: process 3 completes an operation it never invoked"
    );
    let e = error(r#"{"model": "nope", "operations": []}"#);
    assert!(e.starts_with("unknown model `nope`"), "{e}");
}

#[test]
fn jepsen_log_semantics() {
    // `:fail :cas` did not swap: a completed cas that returned false.
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - 0\t:ok\t:write\t1\n\
               INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n\
               INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n";
    assert_eq!(verdict(log), Verdict::Illegal);
    // `:info` may have taken effect: here a later read saw it.
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - 0\t:info\t:write\t:timed-out\n\
               INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 1\t:ok\t:read\t1\n";
    assert_eq!(verdict(log), Verdict::Ok);
    // `:ok :read nil` means absent.
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - 0\t:ok\t:write\t1\n\
               INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 1\t:ok\t:read\tnil\n";
    assert_eq!(verdict(log), Verdict::Illegal);
}

/// The error reading `text` as `format`, and checking it.
fn error_as(text: &str, format: Format) -> String {
    match parse(text, Some(format)).and_then(|raw| check_raw(raw, None, &Options::default())) {
        Ok(c) => panic!("expected an error, got {:?}", c.result.verdict),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_keys_are_errors_with_a_suggestion() {
    let e = error(&OPS.replace(r#""operations""#, r#""operatoins""#));
    assert!(
        e.starts_with(
            "file: unknown key \"operatoins\" in the document (did you mean \"operations\"?)"
        ),
        "{e}"
    );
    let e = error(&OPS.replace(r#""return": 1500"#, r#""retrun": 1500"#));
    assert!(
        e.starts_with(
            "operation 1: unknown key \"retrun\" in an operation (did you mean \"return\"?)"
        ),
        "{e}"
    );
    let e = error(&OPS.replace(
        r#"{"op": "get", "key": "x"}"#,
        r#"{"op": "get", "kye": "x"}"#,
    ));
    assert!(
        e.starts_with(
            "operation 1: unknown key \"kye\" in the input of a get (did you mean \"key\"?)"
        ),
        "{e}"
    );
    // A misspelled output key: the read would otherwise constrain nothing.
    let e = error(&OPS.replace(r#"{"value": "a"}"#, r#"{"vaule": "a"}"#));
    assert!(
        e.starts_with(
            "operation 1: unknown key \"vaule\" in the output of a get (did you mean \"value\"?)"
        ),
        "{e}"
    );
    let e = error(&OPS.replace(
        "  ] }",
        r#"  ], "annotations": [{"tga": "faults", "start": 0, "end": 1, "text": "t"}] }"#,
    ));
    assert!(
        e.contains("unknown key \"tga\" in annotation 0 (did you mean \"tag\"?)"),
        "{e}"
    );
    let e = error(&EVENTS.replace(
        r#""kind": "return", "id": 1,"#,
        r#""kind": "return", "id": 1, "clinet": 1,"#,
    ));
    assert!(
        e.starts_with("event 4: unknown key \"clinet\" in a return event"),
        "{e}"
    );
    // The same in JSON Lines, where the place is the line, and in the header.
    let e = error(&JSONL.replace(r#""return": 1500"#, r#""retrun": 1500"#));
    assert!(
        e.starts_with("line 3: unknown key \"retrun\" in an operation (did you mean \"return\"?)"),
        "{e}"
    );
    let e = error(&JSONL.replace(r#"{"model": "kv"}"#, r#"{"modle": "kv"}"#));
    assert!(
        e.starts_with("line 1: unknown key \"modle\" in the header line (did you mean \"model\"?)"),
        "{e}"
    );
    let e = error(&JSONL.replace(r#"{"value": "a"}"#, r#"{"vaule": "a"}"#));
    assert!(
        e.starts_with("line 3: unknown key \"vaule\" in the output of a get"),
        "{e}"
    );
}

#[test]
fn a_completed_operation_must_report_the_result_its_model_needs() {
    let get = r#""input": {"op": "get", "key": "x"}, "output": {"value": "a"}"#;
    for (what, replaced) in [
        ("no output", r#""input": {"op": "get", "key": "x"}"#),
        (
            "null",
            r#""input": {"op": "get", "key": "x"}, "output": null"#,
        ),
        (
            "empty",
            r#""input": {"op": "get", "key": "x"}, "output": {}"#,
        ),
    ] {
        let e = error(&OPS.replace(get, replaced));
        assert!(
            e.starts_with("operation 1: a completed get must report its result, as in \"output\": {\"value\": \"a\"}"),
            "{what}: {e}"
        );
        let e = error(&JSONL.replace(get, replaced));
        assert!(
            e.starts_with("line 3: a completed get must report its result"),
            "{what}: {e}"
        );
        let ret = replaced.trim_start_matches(r#""input": {"op": "get", "key": "x"}"#);
        let e = error(&EVENTS.replace(r#", "output": {"value": "a"}"#, ret));
        // An event history names the call's event.
        assert!(
            e.starts_with("event 1: a completed get must report its result"),
            "{what}: {e}"
        );
    }
    // A register's read, a cas and a dequeue too.
    for (model, input) in [
        ("register", r#"{"op": "read"}"#),
        ("cas-register", r#"{"op": "cas", "from": 1, "to": 2}"#),
        ("queue", r#"{"op": "dequeue"}"#),
        ("set", r#"{"op": "read"}"#),
    ] {
        let text = format!(
            r#"{{"model": "{model}", "operations": [{{"client": 0, "call": 0, "return": 1, "input": {input}, "output": null}}]}}"#
        );
        let e = error(&text);
        assert!(e.starts_with("operation 0: a completed "), "{model}: {e}");
    }
    // A failed operation, or one without a response, reports nothing.
    let failed = OPS.replace(
        r#""output": {"value": "a"}"#,
        r#""output": null, "failed": true"#,
    );
    assert_eq!(verdict(&failed), Verdict::Ok);
    // Nothing to report is fine for a put, whether said by null, {} or nothing.
    assert_eq!(
        verdict(&OPS.replace(r#""value": "a"}, "output": null"#, r#""value": "a"}"#)),
        Verdict::Ok
    );
    assert_eq!(
        verdict(&OPS.replace(
            r#""value": "a"}, "output": null"#,
            r#""value": "a"}, "output": {}"#
        )),
        Verdict::Ok
    );
}

#[test]
fn an_unknown_result_is_said_explicitly() {
    // x is written "a" and a get concurrent with nothing saw "z": illegal, unless its result is unknown.
    let bad = OPS.replace(r#"{"value": "a"}"#, r#"{"value": "z"}"#);
    assert_eq!(verdict(&bad), Verdict::Illegal);
    let unknown = OPS.replace(r#"{"value": "a"}"#, r#""unknown""#);
    assert_eq!(verdict(&unknown), Verdict::Ok);
    let unknown = JSONL.replace(r#"{"value": "a"}"#, r#""unknown""#);
    assert_eq!(verdict(&unknown), Verdict::Ok);
    let raw = parse(&unknown, None).unwrap();
    let history = typed::<Kv>(raw, "kv").unwrap();
    assert_eq!(history.operations[1].ret, None, "read as no response");
    // An output with no return time is a contradiction, not something to drop.
    let e = error(&OPS.replace(r#""return": null, "input": {"op": "append", "key": "x", "value": "b"}, "output": null"#, r#""return": null, "input": {"op": "append", "key": "x", "value": "b"}, "output": {"value": "a"}"#));
    assert!(
        e.starts_with("operation 2: has the output {\"value\":\"a\"} but no return time"),
        "{e}"
    );
}

/// JSON's one rule for null: a value ("absent") where the model has one, never "unknown".
#[test]
fn null_is_absent_in_json_and_never_unknown() {
    // A register's read of null: the register was absent. After a completed write of 1, illegal.
    let register = |read: &str| {
        format!(
            r#"{{"model": "register", "operations": [
            {{"client": 0, "call": 0, "return": 1, "input": {{"op": "write", "value": 1}}, "output": null}},
            {{"client": 1, "call": 2, "return": 3, "input": {{"op": "read"}}, "output": {read}}}]}}"#
        )
    };
    assert_eq!(verdict(&register(r#"{"value": null}"#)), Verdict::Illegal);
    assert_eq!(verdict(&register(r#"{"value": 1}"#)), Verdict::Ok);
    // Before any write, a read of null is right.
    let first = r#"{"model": "register", "operations": [{"client": 1, "call": 2, "return": 3, "input": {"op": "read"}, "output": {"value": null}}]}"#;
    assert_eq!(verdict(first), Verdict::Ok);
    // A dequeue of null: the queue was empty.
    let queue = r#"{"model": "queue", "operations": [
        {"client": 0, "call": 0, "return": 1, "input": {"op": "enqueue", "value": 1}, "output": null},
        {"client": 1, "call": 2, "return": 3, "input": {"op": "dequeue"}, "output": {"value": null}}]}"#;
    assert_eq!(verdict(queue), Verdict::Illegal);
    // A kv value has no absent value (a key never written reads ""), nor has a cas's ok: null is an error.
    let e = error(&OPS.replace(r#"{"value": "a"}"#, r#"{"value": null}"#));
    assert!(
        e.starts_with("operation 1: \"value\": null is not a kv get's result"),
        "{e}"
    );
    let e = error(&JSONL.replace(r#"{"value": "a"}"#, r#"{"value": null}"#));
    assert!(
        e.starts_with("line 3: \"value\": null is not a kv get's result"),
        "{e}"
    );
    let cas = r#"{"model": "cas-register", "operations": [{"client": 0, "call": 0, "return": 1, "input": {"op": "cas", "from": 1, "to": 2}, "output": {"ok": null}}]}"#;
    let e = error(cas);
    assert!(
        e.starts_with("operation 0: \"ok\": null is not a cas-register cas's result"),
        "{e}"
    );
    // In JSON Lines, the same rule: a register line reading null after a write of 1.
    let jsonl = "{\"model\": \"register\"}\n\
        {\"client\": 0, \"call\": 0, \"return\": 1, \"input\": {\"op\": \"write\", \"value\": 1}, \"output\": null}\n\
        {\"client\": 1, \"call\": 2, \"return\": 3, \"input\": {\"op\": \"read\"}, \"output\": {\"value\": null}}\n";
    assert_eq!(verdict(jsonl), Verdict::Illegal);
}

#[test]
fn a_file_without_operations_is_an_error_unless_it_says_so() {
    assert_eq!(error_as("", Format::Json), "empty file");
    assert_eq!(error_as("", Format::Jsonl), "empty file");
    assert_eq!(error_as(" \n\n  \n", Format::Jsonl), "empty file");
    // The line formats and EDN say what they found missing, after the same words.
    for format in [Format::Edn, Format::JepsenLog, Format::PorcupineKv] {
        let e = error_as("", format);
        assert!(e.starts_with("file: empty file ("), "{format:?}: {e}");
    }
    assert_eq!(error_as(" \n", Format::Json), "empty file");
    assert_eq!(error("{\"model\": \"kv\"}\n"), "no operations found");
    assert_eq!(error("{\"model\": \"kv\"}\n\n"), "no operations found");
    // The common path for every format: a Porcupine file whose lines are all ignorable is no history.
    let e = error_as("\n", Format::PorcupineKv);
    assert_eq!(e, "file: empty file (no operation lines)");
    // An explicit empty array is a history of nothing.
    assert_eq!(verdict(r#"{"model": "kv", "operations": []}"#), Verdict::Ok);
    assert_eq!(verdict(r#"{"model": "kv", "events": []}"#), Verdict::Ok);
    // Reading untyped operations says the same.
    let ops: Vec<_> = parse("{\"model\": \"kv\"}\n", None)
        .unwrap()
        .operations
        .collect();
    assert_eq!(ops.len(), 1);
    assert_eq!(
        ops[0].as_ref().unwrap_err().to_string(),
        "no operations found"
    );
}

#[test]
fn messages_say_where_once_and_in_words() {
    // A truncated line: its own line, column and byte, and no second position.
    let text = JSONL.replace(r#"{"value": "a"}}"#, r#"{"value": "a""#);
    let e = error(&text);
    let (start, len) = (
        text.find("{\"client\": 1").unwrap(),
        text.lines().nth(2).unwrap().len(),
    );
    assert_eq!(
        e,
        format!(
            "line 3, column {len} (byte {}): the line ends in the middle of a JSON value",
            start + len - 1
        )
    );
    // No Rust type names.
    let e = error(&OPS.replace(r#"{"value": "a"}"#, r#""a""#));
    assert!(
        e.starts_with("operation 1: the output must be an object"),
        "{e}"
    );
    assert!(!e.contains("struct") && !e.contains("Kv"), "{e}");
    let e = error(&OPS.replace(r#"{"op": "get", "key": "x"}"#, r#""get x""#));
    assert!(
        e.starts_with("operation 1: the input must be an object"),
        "{e}"
    );
    // A document cut short: the position of the end.
    let e = error_as(&OPS[..200], Format::Json);
    assert!(
        e.ends_with("the file ends in the middle of a JSON value"),
        "{e}"
    );
    assert!(e.starts_with("line 4, column 50 (byte 199): "), "{e}");
    // Binary data given as JSON Lines, or as a JSON document.
    let e = error_as("\u{7f}ELF\u{2}\u{1}\u{1}\0\0\0", Format::Jsonl);
    assert_eq!(
        e,
        "line 1, column 1 (byte 0): not JSON: byte 0x7f where a JSON object should start"
    );
    let e = error_as("{\"model\": \"kv\"}\n\0\0\0\0", Format::Jsonl);
    assert_eq!(
        e,
        "line 2, column 1 (byte 16): not JSON: byte 0x00 where a JSON object should start"
    );
    let e = error_as("\0\0\0\0", Format::Json);
    assert!(e.starts_with("line 1, column 1 (byte 0): "), "{e}");
    // And without --format: not text.
    let e = match parse("\0\0\0", None) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("NUL bytes read as a history"),
    };
    assert_eq!(
        e,
        "line 1, column 1 (byte 0): not a text file (byte 0x00); give --format if it is one"
    );
}

/// A stream of `byte`s without end that fails the test if more than `limit` bytes are read from it.
struct Endless {
    byte: u8,
    prefix: Vec<u8>,
    read: usize,
    limit: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1 << 16);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = self.prefix.get(self.read + i).copied().unwrap_or(self.byte);
        }
        self.read += n;
        if self.read > self.limit {
            return Err(std::io::Error::other(format!(
                "read {} bytes of garbage",
                self.read
            )));
        }
        Ok(n)
    }
}

fn endless(prefix: &str, byte: u8) -> Endless {
    Endless {
        byte,
        prefix: prefix.as_bytes().to_vec(),
        read: 0,
        limit: 80 << 20,
    }
}

#[test]
fn garbage_without_end_fails_at_its_first_bad_byte() {
    for format in [Format::Json, Format::Jsonl] {
        // As a document, the second line is text after its end; as JSON Lines, not JSON.
        for (prefix, first_bad) in [("", 0), ("{", 1), ("{\"model\": \"kv\"}\n", 16)] {
            let e = read_reader(endless(prefix, 0), Some(format))
                .and_then(|raw| check_raw(raw, None, &Options::default()));
            let e = match e {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{format:?} {prefix:?}: garbage read as a history"),
            };
            assert!(
                e.contains(&format!("(byte {first_bad})")),
                "{format:?} {prefix:?}: {e}"
            );
        }
    }
    // A line that is JSON but never ends is bounded too.
    let e = read_reader(
        endless("{\"model\": \"kv\"}\n{\"client\": \"", b'x'),
        Some(Format::Jsonl),
    )
    .and_then(|raw| check_raw(raw, None, &Options::default()));
    let e = match e {
        Err(e) => e.to_string(),
        Ok(_) => panic!("an endless line read as a history"),
    };
    assert!(
        e.starts_with("line 2: the line is longer than 64 MiB"),
        "{e}"
    );
}

/// A generated kv history of `n` operations, as JSON Lines.
fn generated(n: usize) -> String {
    use checker::gen::{generate, GenModel, GenOptions};
    let options = GenOptions {
        model: GenModel::Kv,
        clients: 20,
        keys: 50,
        operations: n,
        concurrency: 10,
        anomaly: None,
        seed: 3,
        pending_rate: 0.0,
    };
    let mut out = Vec::new();
    generate(&options).unwrap().write(&mut out, true).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn lines_typed_in_parallel_are_the_lines_read_one_by_one() {
    let text = generated(60_000);
    // The fast, parallel road (JSON Lines) and the careful one (the same operations as a document).
    let fast = typed::<Kv>(parse(&text, None).unwrap(), "kv").unwrap();
    let ops: Vec<&str> = text.lines().skip(1).collect();
    let document = format!(
        "{{\"model\": \"kv\", \"operations\": [{}]}}",
        ops.join(",\n")
    );
    let careful = typed::<Kv>(parse(&document, None).unwrap(), "kv").unwrap();
    assert_eq!(fast.operations.len(), 60_000);
    assert_eq!(fast, careful);
}

#[test]
fn the_first_bad_line_in_file_order_is_the_one_reported() {
    let text = generated(120_000);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Two bad lines far apart (in different tasks of a block, and in different blocks), and a third.
    lines[100_000] = lines[100_000].replace("\"op\"", "\"po\"");
    lines[3_001] = lines[3_001].replace("\"call\"", "\"cal\"");
    lines[70_000] = "garbage".to_string();
    let e = error(&(lines.join("\n") + "\n"));
    assert!(
        e.starts_with("line 3002: unknown key \"cal\" in an operation (did you mean \"call\"?)"),
        "{e}"
    );
}

/// Jepsen's current log layout, with a nemesis, other loggers and a stack trace, as a real log has them.
const CURRENT_LOG: &str = "\
2017-03-03 18:05:40,001{GMT}\tINFO\t[main] jepsen.core: Running test
2017-03-03 18:05:41,102{GMT}\tINFO\t[jepsen worker 0] jepsen.util: 0\t:invoke\t:write\t1
2017-03-03 18:05:41,110{GMT}\tINFO\t[jepsen nemesis] jepsen.util: :nemesis\t:info\t:start\tnil
2017-03-03 18:05:41,120{GMT}\tINFO\t[jepsen worker 0] jepsen.util: 0\t:ok\t:write\t1
2017-03-03 18:05:41,130{GMT}\tWARN\t[jepsen worker 1] jepsen.control: Connection reset
java.net.SocketException: Connection reset
\tat java.net.SocketInputStream.read(SocketInputStream.java:210)
Caused by: java.io.IOException: closed
2017-03-03 18:05:41,140{GMT}\tINFO\t[jepsen nemesis] jepsen.util: :nemesis\t:info\t:start\t\"Cut off {\\\"n1\\\" #{\\\"n2\\\"}}\"

2017-03-03 18:05:41,150{GMT}\tINFO\t[jepsen worker 1] jepsen.util: 1\t:invoke\t:read\tnil
2017-03-03 18:05:41,160{GMT}\tINFO\t[jepsen worker 1] jepsen.util: 1\t:ok\t:read\t1
";

#[test]
fn jepsen_logs_of_both_layouts_read_alike() {
    assert_eq!(detect(CURRENT_LOG), Some(Format::JepsenLog));
    let current = parse(CURRENT_LOG, None).unwrap().into_history().unwrap();
    let old = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
               INFO  jepsen.util - 0\t:ok\t:write\t1\n\
               INFO  jepsen.util - 1 :invoke :read nil\n\
               INFO  jepsen.util - 1 :ok :read 1\n";
    let old = parse(old, None).unwrap().into_history().unwrap();
    assert_eq!(current.operations.len(), 2);
    let shape = |h: &History<serde_json::Value, serde_json::Value>| {
        h.operations
            .iter()
            .map(|o| (o.client, o.input.clone(), o.output.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&current), shape(&old));
    assert_eq!(verdict(CURRENT_LOG), Verdict::Ok);
    assert_eq!(
        verdict(&CURRENT_LOG.replace(":read\t1", ":read\t2")),
        Verdict::Illegal
    );
    // The nemesis's two `:info :start` lines are one interval, from line 3 to line 9.
    let notes: Vec<_> = current
        .annotations
        .iter()
        .map(|a| (a.tag.as_deref(), a.start, a.end, a.text.as_str()))
        .collect();
    assert_eq!(
        notes,
        vec![(
            Some("nemesis"),
            3,
            9,
            r#"start "Cut off {\"n1\" #{\"n2\"}}""#
        )]
    );
}

fn log_error(text: &str) -> String {
    match parse(text, Some(Format::JepsenLog)) {
        Ok(raw) => panic!(
            "expected an error, read {} operations",
            raw.into_history().map_or(0, |h| h.operations.len())
        ),
        Err(e) => e.to_string(),
    }
}

/// `--format jepsen-log` on prose, on EDN or on an empty file said `ops=0 linearizable`.
#[test]
fn a_log_that_is_not_a_jepsen_log_is_an_error_naming_the_line() {
    let e = log_error("This is a README.\nIt has prose in it.\n");
    assert!(
        e.starts_with("line 1: not a line of a Jepsen log: `This is a README.`"),
        "{e}"
    );
    let e = log_error("\n[{:process 0, :type :invoke, :f :read, :value nil}]\n");
    assert!(e.starts_with("line 2: not a line of a Jepsen log"), "{e}");
    assert_eq!(log_error(""), "file: empty file (no log lines)");
    assert_eq!(log_error("\n  \n"), "file: empty file (no log lines)");
    let e = log_error("INFO  jepsen.core - Running test\nINFO  jepsen.core - Done\n");
    assert!(e.starts_with("file: no operations found"), "{e}");
    // Prose after a log line of another logger is not a stack trace.
    let e = log_error("INFO  jepsen.core - Running\nhello there\n");
    assert!(e.starts_with("line 2: not a line of a Jepsen log"), "{e}");
    let e = log_error("INFO  jepsen.util - starting the clients\n");
    assert!(
        e.starts_with("line 1: a jepsen.util line that is not an operation record"),
        "{e}"
    );
    let e = log_error("0 :invoke :read nil\n0 :ok :write 1\n");
    assert_eq!(
        e,
        "line 2: process 0 completes :write but its pending operation is :read"
    );
    let e = log_error("0 :invoke :cas [1\n");
    assert!(e.starts_with("line 1: cannot read the value `[1`"), "{e}");
    let e =
        log_error("INFO  jepsen.util - 0 :invoke :read nil\nINFO  jepsen.util - 0 :done :read 1\n");
    assert!(
        e.starts_with("line 2: a jepsen.util line that is not an operation record"),
        "{e}"
    );
}

#[test]
fn porcupine_lines_are_all_understood() {
    let e = match parse("", Some(Format::PorcupineKv)) {
        Ok(_) => panic!("an empty file was read"),
        Err(e) => e.to_string(),
    };
    assert_eq!(e, "file: empty file (no operation lines)");
    let text = "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\nnot a map\n";
    let e = match parse(text, Some(Format::PorcupineKv)) {
        Ok(_) => panic!("prose was read"),
        Err(e) => e.to_string(),
    };
    assert!(e.starts_with("line 2: expected a map"), "{e}");
    let text = "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n\
                {:process 0, :type :ok, :f :put, :key \"1\", :value \"x\"}\n";
    let e = match parse(text, Some(Format::PorcupineKv)) {
        Ok(_) => panic!("a mismatched completion was read"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        e,
        "line 2: process 0 completes :put but its pending operation is :get"
    );
}
