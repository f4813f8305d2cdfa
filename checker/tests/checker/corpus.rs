//! Every file of `../shared/corpus` gives the verdict the reference checker gives it.

use std::path::{Path, PathBuf};

use checker::dynamic::check_raw;
use checker::formats::read_path;
use checker::{Options, Verdict};

/// `../shared/corpus` beside the workspace; fails naming the path when it is missing.
fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    assert!(
        dir.is_dir(),
        "this test needs the reference corpus, {} (../shared/corpus beside the workspace), which is missing",
        dir.display()
    );
    dir
}

fn verdict(path: &Path, partition: bool) -> Verdict {
    let raw = read_path(path, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let options = Options {
        partition,
        ..Options::default()
    };
    check_raw(raw, None, &options)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .result
        .verdict
}

#[test]
fn etcd_files_give_their_known_verdicts() {
    const LINEARIZABLE: &[u32] = &[2, 5, 7, 18, 25, 31, 38, 45, 48, 49];
    for n in 0..50 {
        let path = corpus().join(format!("etcd/etcd_{n:03}.log"));
        let expected = if LINEARIZABLE.contains(&n) {
            Verdict::Ok
        } else {
            Verdict::Illegal
        };
        assert_eq!(verdict(&path, true), expected, "{}", path.display());
    }
}

#[test]
fn kv_files_give_their_known_verdicts_partitioned() {
    for (file, expected) in KV {
        let path = corpus().join("porcupine-kv").join(file);
        assert_eq!(verdict(&path, true), *expected, "{file}");
    }
}

#[test]
fn kv_files_give_their_known_verdicts_unpartitioned() {
    // The whole map as one state: the hard case for the search. The reference checker takes 2.5 s and 3.4 s
    // on the c10 files and cannot decide the c50 ones.
    for (file, expected) in KV {
        let path = corpus().join("porcupine-kv").join(file);
        assert_eq!(verdict(&path, false), *expected, "{file} --no-partition");
    }
}

const KV: &[(&str, Verdict)] = &[
    ("c01-ok.txt", Verdict::Ok),
    ("c01-bad.txt", Verdict::Illegal),
    ("c10-ok.txt", Verdict::Ok),
    ("c10-bad.txt", Verdict::Illegal),
    ("c50-ok.txt", Verdict::Ok),
    ("c50-bad.txt", Verdict::Illegal),
];
