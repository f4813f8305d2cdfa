//! The same evidence every run: `quill check --json --no-timings` prints the same bytes every time, at
//! one thread and at two, on corpus files and on generated histories (several partitions, one of them
//! illegal, where which partitions get decided before the early stop used to depend on the threads;
//! operations without a response), and the HTML page of a failure is the same bytes too.

use std::path::Path;
use std::process::Command;

use super::{corpus, stderr, temp};

/// Corpus files small enough for a debug build to check twenty times each quickly, legal and not.
const CORPUS: &[&str] = &[
    "etcd/etcd_000.log",
    "etcd/etcd_002.log",
    "etcd/etcd_007.log",
    "etcd/etcd_040.log",
    "porcupine-kv/c01-bad.txt",
    "porcupine-kv/c01-ok.txt",
    "porcupine-kv/c10-bad.txt",
    // Before, how far its other partitions got before the first illegal one stopped them varied from
    // run to run at two threads (their `states_explored`).
    "porcupine-kv/c50-bad.txt",
];

fn quill_at(threads: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_quill"))
        .env("RAYON_NUM_THREADS", threads)
        .args(args)
        .output()
        .expect("quill runs")
}

/// Generates a history with `quill gen` into the test's temporary directory.
fn generated(name: &str, args: &[&str]) -> String {
    let path = temp(name).display().to_string();
    let mut all = vec!["gen"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", &path]);
    let out = quill_at("1", &all);
    assert!(out.status.success(), "quill gen {args:?}: {}", stderr(&out));
    path
}

fn files() -> Vec<String> {
    let mut files: Vec<String> = CORPUS.iter().map(|name| corpus(name)).collect();
    for file in &files {
        assert!(
            Path::new(file).exists(),
            "the corpus file {file} is missing (the shared corpus is expected at ../shared/corpus)"
        );
    }
    files.push(generated(
        "det-kv-lost-write.json",
        &[
            "--model",
            "kv",
            "--keys",
            "12",
            "--ops",
            "1500",
            "--anomaly",
            "lost-write",
            "--seed",
            "3",
        ],
    ));
    files.push(generated(
        "det-kv-stale-read.json",
        &[
            "--model",
            "kv",
            "--keys",
            "6",
            "--ops",
            "1200",
            "--clients",
            "12",
            "--anomaly",
            "stale-read",
        ],
    ));
    files.push(generated(
        "det-cas-pending.json",
        &[
            "--model",
            "cas-register",
            "--ops",
            "300",
            "--clients",
            "6",
            "--pending-rate",
            "0.15",
        ],
    ));
    files.push(generated(
        "det-register-pending-bad.json",
        &[
            "--model",
            "register",
            "--ops",
            "80",
            "--clients",
            "5",
            "--pending-rate",
            "0.15",
            "--anomaly",
            "stale-read",
            "--seed",
            "2",
        ],
    ));
    files
}

#[test]
fn json_without_timings_is_the_same_bytes_every_run_at_one_and_two_threads() {
    let files = files();
    let mut args = vec!["check", "--json", "--no-timings"];
    args.extend(files.iter().map(String::as_str));
    let first = quill_at("1", &args);
    assert!(!first.stdout.is_empty(), "{}", stderr(&first));
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(!text.contains("\"micros\""), "a measured time is left in");
    assert!(text.contains("\"illegal\"") && text.contains("\"ok\""));
    for threads in ["1", "2"] {
        for run in 0..10 {
            let out = quill_at(threads, &args);
            assert_eq!(out.status.code(), first.status.code());
            assert!(
                out.stdout == first.stdout,
                "run {run} at {threads} threads printed other bytes than the first"
            );
        }
    }
}

#[test]
fn the_page_of_a_failure_without_timings_is_the_same_bytes_every_run() {
    let file = corpus("porcupine-kv/c10-bad.txt");
    assert!(
        Path::new(&file).exists(),
        "the corpus file {file} is missing"
    );
    let mut pages = Vec::new();
    for (run, threads) in ["1", "2", "1", "2"].iter().enumerate() {
        let page = temp(&format!("det-page-{run}.html"));
        let page = page.display().to_string();
        let out = quill_at(threads, &["check", "--no-timings", "--html", &page, &file]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(!String::from_utf8_lossy(&out.stdout).contains("time="));
        pages.push(std::fs::read(&page).expect("the page is written"));
    }
    assert!(pages.iter().all(|p| *p == pages[0]), "the pages differ");
}
