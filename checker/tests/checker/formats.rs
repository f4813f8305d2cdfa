//! Reading histories: the JSON forms agree with each other, and bad input is an error naming its place.

use checker::dynamic::check_raw;
use checker::formats::{detect, parse, Format};
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
    assert!(
        e.starts_with("operation 1: input {") && e.contains("not a kv operation"),
        "{e}"
    );
    let e = error(&OPS.replace(r#""client": 1, "#, ""));
    assert_eq!(e, "operation 1: missing field \"client\"");
    let e = error(&JSONL.replace(
        r#""key": "x"}, "output": {"value""#,
        r#""key": "x"}, "output": {"value"#,
    ));
    assert!(e.starts_with("line 3, column"), "{e}");
    let e = error(&JSONL.replace(r#""op": "get""#, r#""op": "got""#));
    assert!(e.starts_with("line 3: input"), "{e}");
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
