//! The same evidence every run: `quill check --json --no-timings` and `quill check --explain --no-timings`
//! print the same bytes every time, at one thread and at two, on every corpus file and on generated
//! histories (several partitions, one of them
//! illegal, where which partitions get decided before the early stop used to depend on the threads;
//! operations without a response), and the HTML page of a failure is the same bytes too.

use std::path::Path;
use std::process::Command;

use super::{corpus, stderr, temp};

/// The corpus's directories: every file of them is checked.
const CORPUS: &[&str] = &["etcd", "porcupine-kv"];

/// Runs at each thread count. The full ten of issue #11 are `scripts/determinism.sh`, on a release build;
/// a debug build checks every file this many times.
const RUNS: usize = 3;

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
    let mut files = Vec::new();
    for dir in CORPUS {
        let dir = corpus(dir);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!("the corpus directory {dir} is missing (expected at ../shared/corpus): {e}")
        });
        let mut names: Vec<String> = entries
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "log" || x == "txt"))
            .map(|p| p.display().to_string())
            .collect();
        names.sort();
        assert!(!names.is_empty(), "no history files in {dir}");
        files.extend(names);
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

/// Every run of `quill check <mode> --no-timings` on every file prints the bytes of the first.
fn same_bytes_every_run(mode: &str) -> String {
    let files = files();
    let mut args = vec!["check", mode, "--no-timings"];
    args.extend(files.iter().map(String::as_str));
    let first = quill_at("1", &args);
    assert!(!first.stdout.is_empty(), "{}", stderr(&first));
    for threads in ["1", "2"] {
        for run in 0..RUNS {
            let out = quill_at(threads, &args);
            assert_eq!(out.status.code(), first.status.code());
            assert!(
                out.stdout == first.stdout,
                "{mode}: run {run} at {threads} threads printed other bytes than the first"
            );
        }
    }
    String::from_utf8_lossy(&first.stdout).into_owned()
}

#[test]
fn json_without_timings_is_the_same_bytes_every_run_at_one_and_two_threads() {
    let text = same_bytes_every_run("--json");
    assert!(!text.contains("\"micros\""), "a measured time is left in");
    assert!(text.contains("\"illegal\"") && text.contains("\"ok\""));
}

#[test]
fn the_explanation_is_the_same_bytes_every_run_at_one_and_two_threads() {
    let text = same_bytes_every_run("--explain");
    assert!(!text.contains("time="), "a measured time is left in");
    // Every illegal file is explained (a story follows its verdict line).
    let illegal = text.matches(": not linearizable").count();
    assert!(illegal >= 43, "{illegal} illegal files:\n{text}");
    assert!(text.contains("Why:") || text.contains("In the order of their calls"));
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
