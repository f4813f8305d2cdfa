//! The check of every reference history in `../shared/corpus`, file by file: the same in-process
//! measurement as the reference times in `reference-times.tsv` (parsing and typing are done before the
//! timed closure). The key/value files are measured partitioned and unpartitioned.
//!
//! `cargo bench -p checker --bench corpus`; each benchmark's id is the file's line in `reference-times.tsv`,
//! so `docs/performance.md`'s table can be made by joining the two.

use std::path::{Path, PathBuf};
use std::time::Duration;

use checker::dynamic::typed;
use checker::formats::read_path;
use checker::models::{CasRegister, Kv};
use checker::{check, History, Model, Options, Verdict};
use criterion::{criterion_group, criterion_main, Criterion};
use serde::de::DeserializeOwned;

/// `../shared/corpus` beside the workspace; the benchmark stops naming the path when it is missing.
fn corpus() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"));
    assert!(
        dir.is_dir(),
        "this benchmark needs the reference corpus, {} (../shared/corpus beside the workspace), which is missing",
        dir.display()
    );
    dir
}

/// Reads and types `path` for `M`, outside the measurement.
fn load<M>(path: &Path, name: &str) -> History<M::Input, M::Output>
where
    M: Model,
    M::Input: DeserializeOwned,
    M::Output: DeserializeOwned,
{
    let raw = read_path(path, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    typed::<M>(raw, name).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bench_one<M: Model>(
    c: &mut Criterion,
    id: &str,
    model: &M,
    history: &History<M::Input, M::Output>,
    partition: bool,
) {
    let options = Options {
        partition,
        ..Options::default()
    };
    // A benchmark of a wrong answer would be meaningless: every file's verdict is decided first.
    let verdict = check(model, history, &options)
        .expect("valid history")
        .verdict;
    assert_ne!(verdict, Verdict::Unknown, "{id}");
    c.bench_function(id, |b| {
        b.iter(|| {
            check(model, history, &options)
                .expect("valid history")
                .verdict
        })
    });
}

fn etcd(c: &mut Criterion) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus().join("etcd"))
        .expect("the corpus's etcd directory")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    for path in files {
        let history = load::<CasRegister>(&path, "cas-register");
        let id = format!("etcd/{}", path.file_name().unwrap().to_string_lossy());
        bench_one(c, &id, &CasRegister::new(None), &history, true);
    }
}

fn kv(c: &mut Criterion) {
    for file in [
        "c01-ok.txt",
        "c01-bad.txt",
        "c10-ok.txt",
        "c10-bad.txt",
        "c50-ok.txt",
        "c50-bad.txt",
    ] {
        let history = load::<Kv>(&corpus().join("porcupine-kv").join(file), "kv");
        bench_one(c, &format!("porcupine-kv/{file}"), &Kv, &history, true);
        bench_one(
            c,
            &format!("porcupine-kv/{file} (unpartitioned)"),
            &Kv,
            &history,
            false,
        );
    }
}

fn config() -> Criterion {
    // Small samples keep the whole run to a few minutes on two cores; the slow files still get ten checks.
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(600))
        .without_plots()
}

criterion_group! { name = benches; config = config(); targets = etcd, kv }
criterion_main!(benches);
