use mapreduce::{
    apps, canonical, group, ihash, intermediate_name, parse_intermediate, run_blocking, sequential,
    worker, Assignment, Coordinator, Got, Need, Reply, Request, Step, TaskId, WorkerConfig,
    WorkerEnd,
};

use super::MemDir;

#[test]
fn ihash_is_fnv1a_32_without_the_top_bit() {
    // FNV-1a 32: "" -> 0x811c9dc5, "a" -> 0xe40c292c, "foobar" -> 0xbf9cf968.
    assert_eq!(ihash(""), 0x011c_9dc5);
    assert_eq!(ihash("a"), 0x640c_292c);
    assert_eq!(ihash("foobar"), 0x3f9c_f968);
}

#[test]
fn group_sorts_keys_and_keeps_each_keys_values_in_emission_order() {
    let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
    let kvs = vec![
        kv("b", "1"),
        kv("a", "x"),
        kv("b", "2"),
        kv("", "e"),
        kv("a", "y"),
        kv("b", "3"),
    ];
    // What a stable sort by key followed by a scan gives (the lab's mrsequential).
    let mut sorted = kvs.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in sorted {
        match want.last_mut() {
            Some((last, vs)) if *last == k => vs.push(v),
            _ => want.push((k, vec![v])),
        }
    }
    let got = group(kvs);
    assert_eq!(got, want);
    assert_eq!(
        got.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["", "a", "b"]
    );
    assert_eq!(got[2].1, ["1", "2", "3"]);
}

#[test]
fn a_map_task_reads_maps_writes_temporaries_renames_them_all_and_reports() {
    let mut w = worker(apps::by_name("wc").unwrap(), WorkerConfig::default());
    let mut dir = MemDir::with(&[("in.txt", "b a b")]);
    assert_eq!(w.resume(None), Step::Need(Need::Call(Request::GetTask)));
    let a = Assignment {
        task: TaskId::Map(3),
        attempt: 17,
        file: Some("in.txt".into()),
        n_map: 4,
        n_reduce: 2,
    };
    let mut needs = Vec::new();
    let mut got = Got::Reply(Some(Reply::Task(a)));
    loop {
        match w.resume(Some(got)) {
            Step::Need(Need::Call(req)) => {
                needs.push(format!("{req:?}"));
                break;
            }
            Step::Need(n) => {
                needs.push(match &n {
                    Need::ReadFile { path } => format!("read {path}"),
                    Need::WriteFile { path, .. } => format!("write {path}"),
                    Need::Rename { from, to } => format!("rename {from} {to}"),
                    other => format!("{other:?}"),
                });
                got = dir.answer(&n).expect("a file need");
            }
            Step::Done(end) => panic!("ended early: {end:?}"),
        }
    }
    let bucket = |k: &str| ihash(k) as usize % 2;
    let mut want = vec![
        "read in.txt".to_string(),
        "write mr-tmp-3-0-17".into(),
        "write mr-tmp-3-1-17".into(),
        "rename mr-tmp-3-0-17 mr-3-0".into(),
        "rename mr-tmp-3-1-17 mr-3-1".into(),
    ];
    let digest = {
        let mut h = mapreduce::DIGEST_START;
        for y in 0..2 {
            h = mapreduce::digest(h, &dir.files[&intermediate_name(3, y)]);
        }
        h
    };
    want.push(format!(
        "{:?}",
        Request::Report {
            task: TaskId::Map(3),
            attempt: 17,
            digest
        }
    ));
    assert_eq!(needs, want);
    // Every pair is in its key's bucket, as JSON lines; no temporary file is left.
    let b = parse_intermediate("mr-3-x", &dir.files[&intermediate_name(3, bucket("b"))]).unwrap();
    assert!(b.contains(&("b".into(), "1".into())));
    let all: usize = (0..2)
        .map(|y| {
            parse_intermediate("f", &dir.files[&intermediate_name(3, y)])
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(all, 3);
    assert!(dir.files.keys().all(|f| !f.starts_with("mr-tmp-")));
}

#[test]
fn failed_calls_are_retried_then_the_worker_gives_up() {
    let cfg = WorkerConfig {
        wait_ms: 200,
        retry_ms: 500,
        max_call_failures: 3,
        mutation: None,
    };
    let mut w = worker(apps::by_name("wc").unwrap(), cfg);
    assert_eq!(w.resume(None), Step::Need(Need::Call(Request::GetTask)));
    assert_eq!(
        w.resume(Some(Got::Reply(None))),
        Step::Need(Need::Sleep(500))
    );
    assert_eq!(
        w.resume(Some(Got::Done(Ok(())))),
        Step::Need(Need::Call(Request::GetTask))
    );
    // A Wait resets the count and sleeps the shorter wait.
    assert_eq!(
        w.resume(Some(Got::Reply(Some(Reply::Wait)))),
        Step::Need(Need::Sleep(200))
    );
    for _ in 0..2 {
        w.resume(Some(Got::Done(Ok(()))));
        assert_eq!(
            w.resume(Some(Got::Reply(None))),
            Step::Need(Need::Sleep(500))
        );
    }
    w.resume(Some(Got::Done(Ok(()))));
    assert_eq!(
        w.resume(Some(Got::Reply(None))),
        Step::Done(Ok(WorkerEnd::CoordinatorGone))
    );
}

#[test]
fn a_worker_that_is_told_to_exit_ends_with_job_done() {
    let mut w = worker(apps::by_name("wc").unwrap(), WorkerConfig::default());
    w.resume(None);
    assert_eq!(
        w.resume(Some(Got::Reply(Some(Reply::Exit)))),
        Step::Done(Ok(WorkerEnd::JobDone))
    );
}

#[test]
fn a_malformed_intermediate_file_is_an_error_naming_file_and_line() {
    let err = parse_intermediate("mr-0-1", b"[\"a\",\"1\"]\nnot json\n").unwrap_err();
    assert_eq!(
        err.to_string().split(": not").next().unwrap(),
        "mr-0-1: line 2"
    );
}

/// Runs a whole job with `workers` workers taking turns, one need at a time, and returns the
/// directory.
fn job(app: &str, inputs: &[(&str, &str)], n_reduce: usize, workers: usize) -> MemDir {
    let mut dir = MemDir::with(inputs);
    let names: Vec<String> = inputs.iter().map(|(n, _)| n.to_string()).collect();
    let mut coord = Coordinator::new(names, n_reduce);
    let mut ws: Vec<_> = (0..workers)
        .map(|_| {
            (
                worker(apps::by_name(app).unwrap(), WorkerConfig::default()),
                None,
                false,
            )
        })
        .collect();
    while ws.iter().any(|w| !w.2) {
        for (w, got, ended) in ws.iter_mut().filter(|w| !w.2) {
            match w.resume(got.take()) {
                Step::Done(end) => {
                    assert_eq!(end, Ok(WorkerEnd::JobDone));
                    *ended = true;
                }
                Step::Need(Need::Call(req)) => *got = Some(Got::Reply(Some(coord.handle(0, req)))),
                Step::Need(Need::Sleep(_)) => *got = Some(Got::Done(Ok(()))),
                Step::Need(n) => *got = Some(dir.answer(&n).expect("a file need")),
            }
        }
    }
    assert!(coord.done());
    dir
}

fn reference(app: &str, inputs: &[(&str, &str)]) -> Vec<u8> {
    let mut dir = MemDir::with(inputs);
    let files = inputs.iter().map(|(n, _)| n.to_string()).collect();
    run_blocking(sequential(apps::by_name(app).unwrap(), files), |n| {
        dir.answer(&n)
    })
    .expect("no crash")
    .expect("reference runs")
}

fn outputs(dir: &MemDir) -> Vec<u8> {
    canonical(
        dir.files
            .iter()
            .filter(|(n, _)| n.starts_with("mr-out"))
            .map(|(_, f)| &f[..]),
    )
}

const BOOKS: [(&str, &str); 3] = [
    (
        "one.txt",
        "It was the best of times, it was the worst of times.",
    ),
    (
        "two.txt",
        "Call me Ishmael. Some years ago -- never mind how long",
    ),
    ("three.txt", "times... and times! Ishmael, it was"),
];

#[test]
fn wc_with_three_workers_equals_the_sequential_reference() {
    let dir = job("wc", &BOOKS, 4, 3);
    let want = reference("wc", &BOOKS);
    assert_eq!(
        String::from_utf8(outputs(&dir)).unwrap(),
        String::from_utf8(canonical([&want[..]])).unwrap()
    );
    assert!(std::str::from_utf8(&want).unwrap().contains("times 4\n"));
    // Four reduce tasks, four outputs, and every intermediate file of 3 maps x 4 reduces.
    assert_eq!(
        dir.files
            .keys()
            .filter(|n| n.starts_with("mr-out-"))
            .count(),
        4
    );
    assert_eq!(
        dir.files
            .keys()
            .filter(|n| n.starts_with("mr-")
                && n.matches('-').count() == 2
                && !n.starts_with("mr-out"))
            .count(),
        12
    );
}

#[test]
fn indexer_lists_each_word_s_documents_sorted() {
    let dir = job("indexer", &BOOKS, 3, 2);
    let out = String::from_utf8(outputs(&dir)).unwrap();
    assert!(out.contains("Ishmael 2 three.txt,two.txt\n"), "{out}");
    assert!(out.contains("was 2 one.txt,three.txt\n"), "{out}");
    assert_eq!(
        out.as_bytes(),
        canonical([&reference("indexer", &BOOKS)[..]])
    );
}
