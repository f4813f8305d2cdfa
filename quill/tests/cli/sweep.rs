//! Sharded sweeps: `quill test --shard I/N --results FILE` and `quill merge`, and the example
//! manifests of deploy/ (a Kubernetes Indexed Job, a GitHub Actions matrix) whose command lines
//! must be ones quill accepts.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use super::{quill, root, stderr, stdout, temp};

/// (scenario, seed, outcome, kind) of every run in a results file.
type RunSet = BTreeSet<(String, u64, String, Option<String>)>;

fn runs_of(path: &PathBuf) -> RunSet {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap();
    v["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            (
                r["scenario"].as_str().unwrap().to_string(),
                r["seed"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap().to_string(),
                r["kind"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// A sweep with failures in it: kvsrv without duplicate detection fails on its unreliable seeds.
const SWEEP: &[&str] = &[
    "test",
    "kvsrv",
    "Unreliable",
    "--seeds",
    "4",
    "-p",
    "2",
    "--mutant",
    "kvsrv-no-duplicate-detection",
];

fn sweep(extra: &[&str]) -> std::process::Output {
    let out_dir = temp("sweep-out");
    let mut args: Vec<&str> = SWEEP.to_vec();
    let out = out_dir.display().to_string();
    args.extend(["--out", &out]);
    args.extend(extra);
    quill(&args)
}

#[test]
fn the_slices_add_up_to_exactly_the_unsharded_run_and_merge_reports_gaps_and_overlaps() {
    let whole = temp("whole.json");
    let o = sweep(&["--results", &whole.display().to_string()]);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        stderr(&o)
    );
    let all = runs_of(&whole);
    assert!(!all.is_empty());
    assert!(
        all.iter()
            .any(|r| r.2 == "failed" && r.3.as_deref() == Some("linearizability")),
        "the mutant should fail some runs: {all:?}"
    );

    let n = 3;
    let slices: Vec<PathBuf> = (0..n).map(|i| temp(&format!("slice-{i}.json"))).collect();
    let mut union = RunSet::new();
    for (i, path) in slices.iter().enumerate() {
        let shard = format!("{i}/{n}");
        let o = sweep(&["--shard", &shard, "--results", &path.display().to_string()]);
        assert!(
            o.status.code() == Some(0) || o.status.code() == Some(1),
            "{}",
            stderr(&o)
        );
        for r in runs_of(path) {
            assert!(union.insert(r.clone()), "{r:?} is in two slices");
        }
    }
    assert_eq!(union, all, "the slices are not the unsharded run");

    let names: Vec<String> = slices.iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["merge"];
    args.extend(names.iter().map(String::as_str));
    let merged = quill(&args);
    let whole_text = stdout(&sweep(&[]));
    assert_eq!(merged.status.code(), Some(1), "{}", stderr(&merged));
    // The same failures, in the same order, with the same replay commands as the unsharded run.
    let fails = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("FAIL") || l.contains("REPRODUCE WITH"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(fails(&stdout(&merged)), fails(&whole_text));
    // The same table rows, up to the wall-clock column.
    let table = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("Test") && l.contains("Unreliable"))
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(table(&stdout(&merged)), table(&whole_text));
    assert!(!table(&whole_text).is_empty(), "{whole_text}");

    // A slice missing.
    let o = quill(&["merge", &names[0], &names[2]]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("missing:") && stderr(&o).contains("slice 1/3"),
        "{}",
        stderr(&o)
    );
    // A slice given twice.
    let o = quill(&["merge", &names[0], &names[1], &names[2], &names[1]]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("overlap: slice 1/3 is in 2 files"),
        "{}",
        stderr(&o)
    );
    // The unsharded file with a slice of it: not slices of one sweep, so nothing is merged.
    let o = quill(&["merge", &whole.display().to_string(), &names[0]]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("is a slice of another sweep than"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_bad_shard_is_a_usage_error_naming_it() {
    for bad in ["3/3", "1", "a/2", "0/0"] {
        let o = quill(&["test", "raft", "3A", "--shard", bad, "--dry-run"]);
        assert_eq!(o.status.code(), Some(3), "{bad}");
        assert!(stderr(&o).contains("--shard"), "{bad}: {}", stderr(&o));
    }
}

/// Runs `args` (a quill command line without the program) with `--dry-run`: the real clap
/// definition parses it, the real command resolves system and pattern, and prints its runs.
fn dry_run(args: &[String]) -> Vec<String> {
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    a.push("--dry-run");
    let o = quill(&a);
    assert_eq!(o.status.code(), Some(0), "quill {a:?}: {}", stderr(&o));
    stdout(&o).lines().map(str::to_string).collect()
}

/// Whether the slices' runs are disjoint and make up the unsharded run of the same command.
fn assert_slices_partition(slices: &[Vec<String>], unsharded: &[String]) {
    let mut union = BTreeSet::new();
    for s in slices {
        for run in s {
            assert!(union.insert(run.clone()), "{run} is in two slices");
        }
    }
    let whole: BTreeSet<String> = unsharded.iter().cloned().collect();
    assert_eq!(union, whole);
    assert!(!whole.is_empty());
}

/// The command line without `--shard I/N` and `--results FILE`, `--out DIR` (what the slices
/// differ in).
fn unsharded(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--shard" || a == "--results" || a == "--out" {
            it.next();
        } else {
            out.push(a.clone());
        }
    }
    out
}

fn deploy(name: &str) -> String {
    let path = root().join("deploy").join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the example manifest {} is missing: {e}", path.display()))
}

#[test]
fn the_kubernetes_indexed_job_runs_every_slice_of_one_sweep() {
    let job: serde_norway::Value =
        serde_norway::from_str(&deploy("kubernetes-sweep-job.yaml")).expect("the manifest is YAML");
    assert_eq!(job["kind"].as_str(), Some("Job"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let completions = spec["completions"].as_u64().expect("completions");
    let container = &spec["template"]["spec"]["containers"][0];
    let command: Vec<String> = container["command"]
        .as_sequence()
        .expect("command")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(command, ["quill"]);
    let args: Vec<String> = container["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(|v| v.as_str().expect("args are strings").to_string())
        .collect();
    let shard = args
        .iter()
        .position(|a| a == "--shard")
        .expect("the job passes --shard");
    assert_eq!(
        args[shard + 1],
        format!("$(JOB_COMPLETION_INDEX)/{completions}"),
        "the shard count must be the number of completions"
    );
    // What Kubernetes runs in the pod of each completion index.
    let slices: Vec<Vec<String>> = (0..completions)
        .map(|i| {
            let args: Vec<String> = args
                .iter()
                .map(|a| a.replace("$(JOB_COMPLETION_INDEX)", &i.to_string()))
                .collect();
            dry_run(&args)
        })
        .collect();
    assert_slices_partition(&slices, &dry_run(&unsharded(&args)));
}

/// Splits a shell command line on spaces, with single quotes (all the workflow uses).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut started) = (false, false);
    for ch in line.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in {line}");
    if started {
        words.push(word);
    }
    words
}

#[test]
fn the_github_actions_matrix_runs_every_slice_of_one_sweep() {
    let wf: serde_norway::Value =
        serde_norway::from_str(&deploy("github-actions-sweep.yml")).expect("the workflow is YAML");
    let job = &wf["jobs"]["sweep"];
    let shards: Vec<u64> = job["strategy"]["matrix"]["shard"]
        .as_sequence()
        .expect("a shard matrix")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let run = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("quill test"))
        .expect("a step runs quill test");
    let matrix = "${{ matrix.shard }}";
    assert!(
        run.contains(&format!("--shard {matrix}/{}", shards.len())),
        "the shard count must be the matrix size: {run}"
    );
    // What each matrix job runs, as its shell splits it.
    let command = |i: &str| -> Vec<String> {
        let words = shell_words(run.trim().replace(matrix, i).as_str());
        assert!(words[0].ends_with("quill"), "{words:?}");
        words[1..].to_vec()
    };
    let slices: Vec<Vec<String>> = shards
        .iter()
        .map(|i| dry_run(&command(&i.to_string())))
        .collect();
    assert_slices_partition(&slices, &dry_run(&unsharded(&command("0"))));
    let merge = wf["jobs"]["merge"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("quill merge"))
        .expect("a step merges the slices");
    assert!(merge.contains("results-*.json"), "{merge}");
}
