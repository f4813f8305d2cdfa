//! The recorder: tickets, unknown outcomes, concurrency, the JSON Lines stream and what `check` says of it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use checker::formats::{parse, Format};
use checker::models::{CasInput, CasOutput, CasRegister, Value};
use checker::recorder::{Recorder, RecorderError};
use checker::{Options, Verdict};

fn write(v: i64) -> CasInput {
    CasInput::Write {
        value: Some(Value::int(v)),
    }
}

fn read_out(v: Option<i64>) -> CasOutput {
    CasOutput {
        value: v.map(Value::int),
        ok: None,
    }
}

/// A writer the test can look into, which fails after `limit` bytes.
#[derive(Clone, Default)]
struct Sink {
    bytes: Arc<Mutex<Vec<u8>>>,
    limit: Option<usize>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.bytes.lock().unwrap();
        if let Some(limit) = self.limit {
            if bytes.len() + buf.len() > limit {
                return Err(std::io::Error::other("disk full"));
            }
        }
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn text(&self) -> String {
        String::from_utf8(self.bytes.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn ok_fail_and_dropped_tickets_are_recorded_as_such() {
    let recorder = Recorder::<CasInput, CasOutput>::new();
    recorder.call(0, write(1)).ok(CasOutput::default());
    recorder.call(1, write(2)).fail();
    let lost = recorder.call(2, write(3));
    assert_eq!(recorder.in_flight(), 1);
    drop(lost);
    assert_eq!(recorder.in_flight(), 0);
    let history = recorder.history();
    let ops = &history.operations;
    assert_eq!(ops.len(), 3);
    assert!(ops[0].ret.is_some() && ops[0].output.is_some() && !ops[0].failed);
    assert!(ops[1].ret.is_some() && ops[1].failed && ops[1].output.is_none());
    assert!(ops[2].ret.is_none() && ops[2].output.is_none() && !ops[2].failed);
    // Times are monotonic: each call at or after the previous operation's return.
    assert!(ops[0].call <= ops[0].ret.unwrap());
    assert!(ops[0].ret.unwrap() <= ops[1].call);
    assert!(ops[1].ret.unwrap() <= ops[2].call);
}

#[test]
fn an_operation_in_flight_shows_no_return_until_it_completes() {
    let recorder = Recorder::<CasInput, CasOutput>::new();
    let ticket = recorder.call(0, CasInput::Read);
    assert_eq!(recorder.history().operations[0].ret, None);
    ticket.ok(read_out(None));
    assert!(recorder.history().operations[0].ret.is_some());
}

#[test]
fn check_sees_a_stale_read_and_accepts_an_unknown_write_that_took_effect() {
    let recorder = Recorder::<CasInput, CasOutput>::new();
    let model = CasRegister::new(None);
    recorder.call(0, write(1)).ok(CasOutput::default());
    // An unknown write of 2, then a read that saw it: legal, the write may have happened.
    drop(recorder.call(1, write(2)));
    recorder.call(2, CasInput::Read).ok(read_out(Some(2)));
    let result = recorder.check(&model, &Options::default()).unwrap();
    assert_eq!(result.verdict, Verdict::Ok);
    // A read of the absent initial value after the write of 1 completed: illegal.
    recorder.call(3, CasInput::Read).ok(read_out(None));
    let result = recorder.check(&model, &Options::default()).unwrap();
    assert_eq!(result.verdict, Verdict::Illegal);
    assert_eq!(result.partitions[0].partial[0].blocking, 3);
}

#[test]
fn a_failed_write_is_not_taken_into_account() {
    let recorder = Recorder::<CasInput, CasOutput>::new();
    recorder.call(0, write(1)).fail();
    recorder.call(1, CasInput::Read).ok(read_out(Some(1)));
    let result = recorder
        .check(&CasRegister::new(None), &Options::default())
        .unwrap();
    assert_eq!(result.verdict, Verdict::Illegal);
}

#[test]
fn threads_record_concurrently_and_every_operation_is_kept() {
    let recorder = Recorder::<CasInput, CasOutput>::new();
    let threads: Vec<_> = (0..8u64)
        .map(|client| {
            let recorder = recorder.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    let ticket = recorder.call(client, CasInput::Read);
                    if i % 10 == 0 {
                        drop(ticket);
                    } else {
                        ticket.ok(read_out(None));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let history = recorder.history();
    assert_eq!(history.operations.len(), 2000);
    assert_eq!(recorder.in_flight(), 0);
    for client in 0..8 {
        // A client's operations never overlap (one at a time) and are in order.
        let mine: Vec<_> = history
            .operations
            .iter()
            .filter(|op| op.client == client)
            .collect();
        assert_eq!(mine.len(), 250);
        for pair in mine.windows(2) {
            if let Some(ret) = pair[0].ret {
                assert!(ret <= pair[1].call);
            }
        }
    }
    assert_eq!(
        history
            .operations
            .iter()
            .filter(|op| op.ret.is_none())
            .count(),
        8 * 25
    );
}

#[test]
fn the_stream_is_json_lines_that_read_back_to_the_same_verdict() {
    let sink = Sink::default();
    let recorder =
        Recorder::<CasInput, CasOutput>::to_writer(sink.clone(), "cas-register").unwrap();
    recorder.call(0, write(1)).ok(CasOutput::default());
    drop(recorder.call(1, write(2)));
    recorder.call(2, write(3)).fail();
    recorder.call(3, CasInput::Read).ok(read_out(Some(1)));
    let text = sink.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "a header and four operations:\n{text}");
    assert_eq!(lines[0], r#"{"model":"cas-register"}"#);
    for line in &lines {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert!(lines[2].contains(r#""return":null"#), "{}", lines[2]);
    assert!(lines[3].contains(r#""failed":true"#), "{}", lines[3]);
    let raw = parse(&text, Some(Format::Jsonl)).unwrap();
    let checked = checker::dynamic::check_raw(raw, None, &Options::default()).unwrap();
    let in_memory = recorder
        .check(&CasRegister::new(None), &Options::default())
        .unwrap();
    assert_eq!(checked.result.verdict, in_memory.verdict);
    assert_eq!(checked.result.verdict, Verdict::Ok);
    assert_eq!(checked.view().operations.len(), 4);
}

#[test]
fn a_write_failure_is_reported_and_the_stream_ends_with_a_whole_line() {
    // Room for the header and about two operations.
    let sink = Sink {
        limit: Some(150),
        ..Sink::default()
    };
    let recorder =
        Recorder::<CasInput, CasOutput>::to_writer(sink.clone(), "cas-register").unwrap();
    for client in 0..5 {
        recorder
            .call(client, write(client as i64))
            .ok(CasOutput::default());
    }
    let err = recorder.take_error().expect("the fifth line cannot fit");
    assert!(matches!(err, RecorderError::Write { .. }), "{err}");
    let text = sink.text();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    // Recording in memory went on regardless.
    assert_eq!(recorder.history().operations.len(), 5);
}

#[test]
fn a_jsonl_file_can_be_checked_by_path() {
    let dir = std::env::temp_dir().join(format!("quill-recorder-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.jsonl");
    {
        let recorder = Recorder::<CasInput, CasOutput>::jsonl(&path, "cas-register").unwrap();
        recorder.call(0, write(4)).ok(CasOutput::default());
        recorder.call(1, CasInput::Read).ok(read_out(Some(5)));
    }
    let raw = checker::formats::read_path(&path, None).unwrap();
    let checked = checker::dynamic::check_raw(raw, None, &Options::default()).unwrap();
    assert_eq!(checked.result.verdict, Verdict::Illegal);
    std::fs::remove_dir_all(&dir).ok();
    let missing = Recorder::<CasInput, CasOutput>::jsonl(&dir.join("no/such/dir.jsonl"), "x");
    assert!(matches!(missing, Err(RecorderError::Create { .. })));
}
