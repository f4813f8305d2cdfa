//! Jepsen/Knossos EDN histories: the reader's forms, Knossos's semantics of `:ok`/`:fail`/`:info` and nil
//! reads, nemesis annotations, model inference, and errors that name their line.

use checker::dynamic::{check_raw, Checked};
use checker::formats::{detect, parse, Format};
use checker::{Options, Verdict};

fn checked(text: &str, model: Option<&str>) -> Checked {
    let raw = parse(text, Some(Format::Edn)).unwrap_or_else(|e| panic!("{e}\n{text}"));
    check_raw(raw, model, &Options::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn verdict(text: &str) -> Verdict {
    checked(text, None).result.verdict
}

fn error(text: &str) -> String {
    match parse(text, Some(Format::Edn)) {
        Err(e) => e.to_string(),
        Ok(raw) => match check_raw(raw, None, &Options::default()) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("expected an error, got {}", c.result.verdict),
        },
    }
}

/// A write of 1 then a read of 1, then a read of 2 that nothing wrote.
const STALE: &str = r#"
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 2}
"#;

#[test]
fn vector_list_and_bare_sequences_read_alike() {
    let bare = checked(STALE, None);
    let vector = checked(&format!("[{STALE}]"), None);
    let list = checked(&format!("({STALE})"), None);
    assert_eq!(bare.result.verdict, Verdict::Illegal);
    for other in [&vector, &list] {
        assert_eq!(other.result.verdict, Verdict::Illegal);
        assert_eq!(
            other.view_with_data().operations,
            bare.view_with_data().operations
        );
    }
    assert_eq!(bare.model, "cas-register");
    assert_eq!(bare.view().operations.len(), 3);
    assert_eq!(bare.view().operations[2].label(), "read() -> 2");
}

#[test]
fn comments_commas_keyword_order_and_tagged_records_are_tolerated() {
    let text = r#"; a history written by hand
[#jepsen.history.Op{:index 0, :time 10, :type :invoke, :process 0, :f :write, :value 1}
 {:f :write :value 1 :type :ok :process 0 :time 5 :extra #{:a "b"}} ; time goes backwards: ignored
 {:type :invoke, :process 1, :f :cas, :value [1 2], :error nil}
 #_ {:type :ok, :process 9, :f :read, :value 99}
 {:type :ok, :process 1, :f :cas, :value [1 2]}
 {:type :invoke, :process 1, :f :read}
 {:type :ok, :process 1, :f :read, :value 2, :note "a \"quoted\" word\n"}]"#;
    assert_eq!(verdict(text), Verdict::Ok);
    assert_eq!(
        verdict(&text.replace(":value 2, :note", ":value 1, :note")),
        Verdict::Illegal
    );
}

#[test]
fn time_order_is_file_order_even_with_several_maps_on_a_line() {
    // The read of 1 returns before the write of 1 is invoked: illegal, though all is on one line.
    let text = "[{:process 1 :type :invoke :f :read} {:process 1 :type :ok :f :read :value 1} \
                {:process 0 :type :invoke :f :write :value 1} {:process 0 :type :ok :f :write :value 1}]";
    assert_eq!(verdict(text), Verdict::Illegal);
    let checked = checked(text, None);
    assert_eq!(
        (
            checked.view().operations[0].call,
            checked.view().operations[0].ret
        ),
        (0, Some(1))
    );
}

#[test]
fn indices_become_times_when_every_map_has_one() {
    let text = "{:index 10 :process 0 :type :invoke :f :write :value 1}\n{:index 14 :process 0 :type :ok :f :write :value 1}";
    let checked = checked(text, None);
    assert_eq!(
        (
            checked.view().operations[0].call,
            checked.view().operations[0].ret
        ),
        (10, Some(14))
    );
}

#[test]
fn a_failed_operation_had_no_effect_and_is_kept_for_display() {
    let text = r#"
{:process 0, :type :invoke, :f :write, :value 5}
{:process 0, :type :fail, :f :write, :value 5, :error :refused}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 5}
"#;
    let failed = checked(text, None);
    assert_eq!(failed.result.verdict, Verdict::Illegal);
    assert!(failed.view().operations[0].failed);
    assert_eq!(verdict(&text.replace(":fail", ":ok")), Verdict::Ok);
}

#[test]
fn an_info_operation_may_take_effect_any_time_after_its_invocation_or_never() {
    let info = r#"
{:process 0, :type :invoke, :f :write, :value 3}
{:process 0, :type :info, :f :write, :value 3, :error :timeout}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 3}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 3}
"#;
    let checked = checked(info, None);
    assert_eq!(checked.result.verdict, Verdict::Ok);
    assert_eq!(checked.view().operations[0].ret, None);
    // ... or never (or after everything else): a cas from nil succeeds afterwards.
    let never = r#"
{:process 0, :type :invoke, :f :write, :value 3}
{:process 0, :type :info, :f :write, :value 3, :error :timeout}
{:process 1, :type :invoke, :f :cas, :value [nil 5]}
{:process 1, :type :ok, :f :cas, :value [nil 5]}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 5}
"#;
    assert_eq!(verdict(never), Verdict::Ok);
    // Not before its invocation, though.
    let before = r#"
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 3}
{:process 0, :type :invoke, :f :write, :value 3}
{:process 0, :type :info, :f :write, :value 3}
"#;
    assert_eq!(verdict(before), Verdict::Illegal);
}

#[test]
fn a_never_completed_invocation_is_indeterminate_like_info() {
    let text = r#"
{:process 0, :type :invoke, :f :write, :value 3}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 3}
"#;
    let checked = checked(text, None);
    assert_eq!(checked.result.verdict, Verdict::Ok);
    assert_eq!(checked.view().operations[0].ret, None);
}

#[test]
fn a_process_that_invokes_after_info_is_malformed() {
    let text = r#"
{:process 0, :type :invoke, :f :write, :value 3}
{:process 0, :type :info, :f :write, :value 3}
{:process 0, :type :invoke, :f :write, :value 4}
"#;
    let e = error(text);
    assert!(
        e.starts_with("line 4:") && e.contains("after its operation ended :info at line 3"),
        "{e}"
    );
}

#[test]
fn a_nil_read_is_always_legal_in_edn_but_absent_in_the_etcd_log() {
    let edn = r#"
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value nil}
"#;
    assert_eq!(verdict(edn), Verdict::Ok);
    let log = "0 :invoke :write 1\n0 :ok :write 1\n1 :invoke :read nil\n1 :ok :read nil\n";
    let raw = parse(log, Some(Format::JepsenLog)).unwrap();
    assert_eq!(
        check_raw(raw, None, &Options::default())
            .unwrap()
            .result
            .verdict,
        Verdict::Illegal
    );
}

#[test]
fn cas_follows_knossos() {
    let text = r#"
{:process 0, :type :invoke, :f :cas, :value [nil 1]}
{:process 0, :type :ok, :f :cas, :value [nil 1]}
{:process 1, :type :invoke, :f :cas, :value [2 3]}
{:process 1, :type :fail, :f :cas, :value [2 3]}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
"#;
    assert_eq!(verdict(text), Verdict::Ok);
    // A cas that succeeded from a value the register never held is illegal.
    assert_eq!(verdict(&text.replace("[nil 1]", "[7 1]")), Verdict::Illegal);
}

/// An annotation's tag, client, start, end and text.
type Note<'a> = (Option<&'a str>, Option<u64>, i64, i64, &'a str);

#[test]
fn nemesis_events_become_annotations() {
    let text = r#"[
{:process :nemesis, :type :info, :f :start, :value nil}
{:process 0, :type :invoke, :f :write, :value 1}
{:process :nemesis, :type :info, :f :start, :value [:isolated {"n1" #{"n2"}}]}
{:process 0, :type :ok, :f :write, :value 1}
{:process :nemesis, :type :info, :f :stop, :value nil}
{:process :nemesis, :type :info, :f :stop, :value :network-healed}
{:process 2, :type :info, :f :kill, :value nil}
]"#;
    let checked = checked(text, None);
    assert_eq!(checked.result.verdict, Verdict::Ok);
    assert_eq!(checked.view().operations.len(), 1);
    let view = checked.view();
    let notes: Vec<Note<'_>> = view
        .annotations
        .iter()
        .map(|a| (a.tag.as_deref(), a.client, a.start, a.end, a.text.as_str()))
        .collect();
    assert_eq!(
        notes,
        vec![
            (
                Some("nemesis"),
                None,
                0,
                2,
                r#"start [:isolated {"n1" #{"n2"}}]"#
            ),
            (Some("nemesis"), None, 4, 5, "stop :network-healed"),
            (None, Some(2), 6, 6, "kill"),
        ]
    );
}

#[test]
fn nemesis_invocations_pair_with_their_completions() {
    let text = r#"
{:process :nemesis, :type :invoke, :f :kill, :value nil}
{:process 0, :type :invoke, :f :write, :value 1}
{:process :nemesis, :type :ok, :f :kill, :value ["n1"]}
{:process 0, :type :ok, :f :write, :value 1}
"#;
    let checked = checked(text, None);
    let a = &checked.view().annotations;
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].start, a[0].end, a[0].text.as_str()),
        (0, 2, r#"kill ["n1"]"#)
    );
}

#[test]
fn the_operations_choose_the_model() {
    let txn = r#"[{:process 0 :type :invoke :f :txn :value [[:write :x 1]]}
                  {:process 0 :type :ok :f :txn :value [[:write :x 1]]}]"#;
    assert_eq!(checked(txn, None).model, "multi-register");
    let mutex = "{:process 0 :type :invoke :f :acquire}\n{:process 0 :type :ok :f :acquire}";
    assert_eq!(checked(mutex, None).model, "mutex");
    let queue = "{:process 0 :type :invoke :f :enqueue :value 1}\n{:process 0 :type :ok :f :enqueue :value 1}";
    assert_eq!(checked(queue, None).model, "queue");
    let set =
        "{:process 0 :type :invoke :f :add :value 1}\n{:process 0 :type :ok :f :add :value 1}";
    assert_eq!(checked(set, None).model, "set");
    // --model wins.
    assert_eq!(checked(STALE, Some("register")).model, "register");
}

#[test]
fn detection() {
    assert_eq!(
        detect("[{:process 0, :type :invoke, :f :read, :value nil}"),
        Some(Format::Edn)
    );
    assert_eq!(
        detect("({:process 0 :type :invoke :f :read})"),
        Some(Format::Edn)
    );
    assert_eq!(
        detect("{:process 0, :type :invoke, :f :read, :value nil}\n"),
        Some(Format::Edn)
    );
    assert_eq!(
        detect("; Jepsen history\n{:process 0, :type :invoke}"),
        Some(Format::Edn)
    );
    assert_eq!(detect("#jepsen.history.Op{:index 0}"), Some(Format::Edn));
    // Porcupine's key/value lines stay theirs, even after a comment.
    let kv = r#"{:process 0, :type :invoke, :f :get, :key "1", :value nil}"#;
    assert_eq!(detect(kv), Some(Format::PorcupineKv));
    assert_eq!(
        detect(&format!(";; comment\n{kv}")),
        Some(Format::PorcupineKv)
    );
    // JSON is still JSON.
    assert_eq!(detect(r#"{"operations": []}"#), Some(Format::Json));
}

#[test]
fn syntax_errors_name_line_and_column() {
    let e = error(
        "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :read, :value \"abc}]",
    );
    assert!(
        e.starts_with("line 2, column 43:") && e.contains("never closed"),
        "{e}"
    );
    let e = error("[{:process 0, :type :invoke, :f :read}\n\n {:process 0 :type}]");
    assert!(
        e.starts_with("line 3, column 14:") && e.contains("no value"),
        "{e}"
    );
    let e = error("[{:process 0, :type :invoke, :f :read}\n {:process 0 :type :ok :f :read))");
    assert!(
        e.starts_with("line 2, column 32:") && e.contains("does not close"),
        "{e}"
    );
    let e = error("[{:process 0, :type :invoke, :f :read}");
    assert!(
        e.starts_with("line 1, column 1:") && e.contains("never closed"),
        "{e}"
    );
    let e = error("{:process 0 :value \"bad \\q escape\"}");
    assert!(
        e.starts_with("line 1, column 25:") && e.contains("unknown escape"),
        "{e}"
    );
}

#[test]
fn malformed_operations_name_their_line() {
    let cases: &[(&str, &str)] = &[
        (
            "{:process 0 :type :invoke :f :read}\n{:type :ok :f :read}",
            "line 2: missing :process",
        ),
        (
            "{:process 0 :type :invoke :f :read}\n{:process 0 :type :done :f :read}",
            "line 2: :type must be",
        ),
        ("{:process 0 :type :invoke}", "line 1: missing :f"),
        ("[1 2]", "line 1: expected an operation map"),
        (
            "{:process 0 :type :ok :f :read :value 1}",
            "line 1: process 0 completes an operation (:read) it never invoked",
        ),
        (
            "{:process 0 :type :invoke :f :read}\n\n{:process 0 :type :invoke :f :read}",
            "line 3: process 0 invokes while its operation from line 1 is still pending",
        ),
        (
            "{:process 0 :type :invoke :f :read}\n{:process 0 :type :ok :f :write}",
            "line 2: process 0 completes :write",
        ),
        (
            "{:process 0 :type :invoke :f :cas :value 3}",
            "line 1: a :cas needs [old new]",
        ),
        (
            "{:process 0 :type :invoke :f :txn :value [[:delete :x 1]]}",
            "line 1: a micro-op must be :read or :write",
        ),
    ];
    for (text, expected) in cases {
        let e = error(text);
        assert!(
            e.starts_with(expected),
            "{text:?}: got {e:?}, expected {expected:?}"
        );
    }
    // An operation the model does not know names its line too.
    let e = error("\n{:process 0 :type :invoke :f :frobnicate :value 1}");
    assert!(
        e.starts_with("line 2: input") && e.contains("not a cas-register operation"),
        "{e}"
    );
}

/// The rule for nil in EDN, one per model (docs/history-format.md): a completed read of nil is "result
/// unknown" (Knossos), a nil micro-op read in a transaction too, a nil dequeue is "the queue was empty", and
/// nil as a written or compared value is the absent value.
#[test]
fn nil_means_one_thing_per_model() {
    // Registers: the read of nil after a write of 1 is legal, and kept without a return.
    let register = "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :ok :f :write :value 1}\n\
                    {:process 1 :type :invoke :f :read :value nil}\n{:process 1 :type :ok :f :read :value nil}";
    for model in ["register", "cas-register"] {
        let c = checked(register, Some(model));
        assert_eq!(c.result.verdict, Verdict::Ok, "{model}");
        assert_eq!(c.view().operations[1].ret, None, "{model}");
    }
    // ... while a read of 2 is not legal: the rule is about nil only.
    assert_eq!(
        verdict(&register.replace(":read :value nil}", ":read :value 2}")),
        Verdict::Illegal
    );
    // Multi-register: a micro-op read of nil constrains nothing, a read of 2 does.
    let txn = "[{:process 0 :type :invoke :f :txn :value [[:write :x 1]]}\n\
                {:process 0 :type :ok :f :txn :value [[:write :x 1]]}\n\
                {:process 1 :type :invoke :f :txn :value [[:read :x nil]]}\n\
                {:process 1 :type :ok :f :txn :value [[:read :x READ]]}]";
    assert_eq!(verdict(&txn.replace("READ", "nil")), Verdict::Ok);
    assert_eq!(verdict(&txn.replace("READ", "1")), Verdict::Ok);
    assert_eq!(verdict(&txn.replace("READ", "2")), Verdict::Illegal);
    // Queue: a dequeue of nil says the queue was empty.
    let queue = "{:process 0 :type :invoke :f :enqueue :value 1}\n{:process 0 :type :ok :f :enqueue :value 1}\n\
                 {:process 1 :type :invoke :f :dequeue :value nil}\n{:process 1 :type :ok :f :dequeue :value nil}";
    assert_eq!(verdict(queue), Verdict::Illegal);
    let empty = "{:process 1 :type :invoke :f :dequeue :value nil}\n{:process 1 :type :ok :f :dequeue :value nil}\n\
                 {:process 0 :type :invoke :f :enqueue :value 1}\n{:process 0 :type :ok :f :enqueue :value 1}";
    assert_eq!(verdict(empty), Verdict::Ok);
    // Set: a read of nil is unknown like any nil read; an empty set is written `#{}`.
    let set = "{:process 0 :type :invoke :f :add :value 1}\n{:process 0 :type :ok :f :add :value 1}\n\
               {:process 1 :type :invoke :f :read :value nil}\n{:process 1 :type :ok :f :read :value READ}";
    assert_eq!(verdict(&set.replace("READ", "nil")), Verdict::Ok);
    assert_eq!(verdict(&set.replace("READ", "#{1}")), Verdict::Ok);
    assert_eq!(verdict(&set.replace("READ", "#{}")), Verdict::Illegal);
}

#[test]
fn nesting_is_bounded_and_named_not_a_crash() {
    // Thousands deep overflowed the stack before (exit 134).
    let deep = format!(
        "[{{:process 0 :type :invoke :f :write :value {}1{}}}]",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let e = error(&deep);
    assert!(
        e.starts_with("line 1, column ") && e.contains("nested more than 200 deep"),
        "{e}"
    );
    // Values nested as deep as a history could want still read.
    let fine = format!(
        "{{:process 0 :type :invoke :f :write :value {}1{}}}\n{{:process 0 :type :ok :f :write :value 1}}",
        "[".repeat(150),
        "]".repeat(150)
    );
    assert_eq!(verdict(&fine), Verdict::Ok);
}

#[test]
fn bad_bytes_fail_where_they_stand() {
    let e = error("\0\0\0\0");
    assert_eq!(
        e,
        "line 1, column 1: unexpected byte 0x00 at byte offset 0: this is not EDN text"
    );
    let e = error(
        "[{:process 0 :type :invoke :f :read}\n {:process 0 :type :ok :f :read :value \"a\0b\"}]",
    );
    assert!(
        e.starts_with("line 2, column 42:") && e.contains("control byte 0x00 (byte offset 78)"),
        "{e}"
    );
}

#[test]
fn invalid_utf8_is_named_by_line_and_byte_offset() {
    let mut bytes =
        b"[{:process 0 :type :invoke :f :read}\n {:process 0 :type :ok :f :read :value ".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"}]");
    let path = std::env::temp_dir().join(format!("quill-edn-utf8-{}.edn", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let e = match checker::formats::read_path(&path, Some(Format::Edn)) {
        Ok(_) => panic!("bad UTF-8 was read"),
        Err(e) => e.to_string(),
    };
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        e,
        "line 2, column 40: byte 0xff at byte offset 76 is not UTF-8: this is not EDN text"
    );
}

/// A 2 GB file of zero bytes took 54 s and 4 GB as EDN: now every reader stops at its first bytes. The file
/// is sparse, so making it costs nothing.
#[test]
fn a_huge_file_of_zeros_fails_at_once_in_every_streamed_format() {
    let path = std::env::temp_dir().join(format!("quill-zeros-{}.bin", std::process::id()));
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(2 << 30))
        .unwrap();
    let read = |format| match checker::formats::read_path(&path, format) {
        Ok(_) => panic!("zeros were read as {format:?}"),
        Err(e) => e.to_string(),
    };
    let edn = read(Some(Format::Edn));
    let log = read(Some(Format::JepsenLog));
    let kv = read(Some(Format::PorcupineKv));
    let detected = read(None);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        edn,
        "line 1, column 1: unexpected byte 0x00 at byte offset 0: this is not EDN text"
    );
    assert!(log.starts_with("line 1: the line is longer than"), "{log}");
    assert!(kv.starts_with("line 1: the line is longer than"), "{kv}");
    // Detection sees bytes that are no text before it tries any format.
    assert!(
        detected.starts_with("line 1, column 1 (byte 0): not a text file (byte 0x00)"),
        "{detected}"
    );
}

#[test]
fn a_file_without_operations_is_an_error() {
    assert_eq!(
        error(""),
        "file: empty file (no EDN forms, only white space and comments)"
    );
    assert_eq!(
        error("  ; just a comment\n"),
        "file: empty file (no EDN forms, only white space and comments)"
    );
    assert!(
        error("[]").contains("no operations found"),
        "{}",
        error("[]")
    );
    let only_faults = "[{:process :nemesis :type :info :f :start :value nil}\n\
                        {:process :nemesis :type :info :f :stop :value nil}]";
    assert!(
        error(only_faults).contains("no operations found"),
        "{}",
        error(only_faults)
    );
}

#[test]
fn the_history_collection_is_the_whole_file() {
    let e =
        error("[{:process 0 :type :invoke :f :read}]\n{:process 0 :type :ok :f :read :value 1}");
    assert!(
        e.starts_with("line 2, column 1: more after the history's `]`"),
        "{e}"
    );
    let e = error("{:process 0 :type :invoke :type :ok :f :read}");
    assert_eq!(e, "line 1: the key :type appears twice in this map");
}
