//! The script's assertions ([`mapreduce::script`]), on outputs that pass and outputs that fail.

use mapreduce::script::{check_early_exit, lab_test, TestFailure, TESTS};

#[test]
fn the_table_is_the_scripts_seven_tests_in_order() {
    let names: Vec<&str> = TESTS.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "wc",
            "indexer",
            "map_parallelism",
            "reduce_parallelism",
            "job_count",
            "early_exit",
            "crash"
        ]
    );
    let crash = lab_test("crash").unwrap();
    assert_eq!(
        (crash.app, crash.workers, crash.limit_ms),
        ("crash", 4, 120_000)
    );
    assert_eq!(crash.reference, Some("nocrash"));
    assert_eq!(lab_test("job_count").unwrap().workers, 4);
    assert!(lab_test("faults").is_none());
}

#[test]
fn comparing_names_the_first_line_that_differs() {
    let wc = lab_test("wc").unwrap();
    assert_eq!(wc.check(b"a 1\nb 2\n", Some(b"a 1\nb 2\n")), Ok(()));
    assert_eq!(
        wc.check(b"a 1\nb 3\n", Some(b"a 1\nb 2\nc 1\n")),
        Err(TestFailure::NotSequential {
            test: "wc",
            got_lines: 2,
            want_lines: 3,
            line: 2,
            got: "b 3".into(),
            want: "b 2".into(),
        })
    );
    assert_eq!(
        wc.check(b"a 1\n", None),
        Err(TestFailure::NoReference {
            test: "wc",
            app: "wc"
        })
    );
}

#[test]
fn map_parallelism_wants_two_times_lines_and_a_parallel_2_line() {
    let t = lab_test("map_parallelism").unwrap();
    let ok = b"parallel-11 2 2\nparallel-12 1 2\ntimes-11 4\ntimes-12 4\n";
    assert_eq!(t.check(ok, None), Ok(()));
    let serial = b"parallel-11 1 1\ntimes-11 4\ntimes-12 4\n";
    assert_eq!(t.check(serial, None), Err(TestFailure::MapNotParallel));
    let one = b"parallel-11 2\ntimes-11 8\n";
    assert_eq!(t.check(one, None), Err(TestFailure::MapTimes { lines: 1 }));
}

#[test]
fn reduce_parallelism_wants_two_lines_of_a_letter_and_2() {
    let t = lab_test("reduce_parallelism").unwrap();
    assert_eq!(t.check(b"a 2\nb 1\nc 2\n", None), Ok(()));
    assert_eq!(
        t.check(b"a 2\nb 1\nc 1\nbb 2\n", None),
        Err(TestFailure::ReduceNotParallel { lines: 1 })
    );
}

#[test]
fn job_count_wants_exactly_a_8_and_early_exit_wants_the_same_output() {
    let t = lab_test("job_count").unwrap();
    assert_eq!(t.check(b"a 8\n", None), Ok(()));
    let e = t.check(b"a 10\n", None).unwrap_err();
    assert!(e.to_string().contains("incorrect number of times"), "{e}");
    assert_eq!(check_early_exit(b"x 1\n", b"x 1\n"), Ok(()));
    assert_eq!(
        check_early_exit(b"x 1\n", b"x 1\ny 1\n"),
        Err(TestFailure::EarlyExit {
            first_lines: 1,
            last_lines: 2
        })
    );
}
