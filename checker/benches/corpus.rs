//! The check of every reference history in `../shared/corpus`, file by file: the same in-process
//! measurement as the reference times in `reference-times.tsv` (parsing and typing are done before the
//! timed closure). The key/value files are measured partitioned and unpartitioned.
//!
//! The `pending` group measures histories with many operations without a response, where the corpus is
//! silent: the etcd histories recorded under faults in `checker/tests/data` (see its README), the
//! 19-operation register history of sixteen unread writes without a response, and small illegal
//! register histories of the corpus's etcd shape made by `checker::gen` with a pending rate.
//!
//! `cargo bench -p quill-checker --bench corpus`; each benchmark's id is the file's line in `reference-times.tsv`,
//! so `docs/performance.md`'s table can be made by joining the two.

use std::path::{Path, PathBuf};
use std::time::Duration;

use checker::dynamic::typed;
use checker::formats::read_path;
use checker::gen::{generate, Anomaly, GenModel, GenOptions, Generated};
use checker::models::{CasRegister, Kv, Register, RegisterInput, RegisterOutput, Value};
use checker::{check, History, Model, Operation, Options, Verdict};
use criterion::{criterion_group, criterion_main, Criterion};
use serde::de::DeserializeOwned;

fn corpus() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
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

fn pending(c: &mut Criterion) {
    let data = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"));
    let kv = load::<Kv>(&data.join("etcd-kv.json"), "kv");
    bench_one(c, "pending/etcd-kv.json", &Kv, &kv, true);
    for file in ["etcd-cas-register.json", "etcd-cas-register-many.json"] {
        let history = load::<CasRegister>(&data.join(file), "cas-register");
        bench_one(
            c,
            &format!("pending/{file}"),
            &CasRegister::new(None),
            &history,
            true,
        );
    }
    // Sixteen writes without a response, two concurrent writes, a read of the first of the two.
    let write = |v: i64| RegisterInput::Write {
        value: Some(Value::int(v)),
    };
    let mut ops: Vec<_> = (0..16)
        .map(|i| Operation::pending(i, i as i64, write(i as i64 + 1)))
        .collect();
    ops.push(Operation::new(
        20,
        20,
        30,
        write(100),
        RegisterOutput::default(),
    ));
    ops.push(Operation::new(
        21,
        21,
        31,
        write(200),
        RegisterOutput::default(),
    ));
    let read = RegisterOutput {
        value: Some(Value::int(100)),
    };
    ops.push(Operation::new(22, 40, 41, RegisterInput::Read, read));
    bench_one(
        c,
        "pending/unread-writes-19",
        &Register::default(),
        &History::new(ops),
        true,
    );
    // The corpus's etcd shape (5 clients, about 80 operations), one in seven without a response.
    for seed in [2, 6, 10] {
        let options = GenOptions {
            model: GenModel::Register,
            clients: 5,
            concurrency: 5,
            operations: 80,
            pending_rate: 0.15,
            anomaly: Some(Anomaly::StaleRead),
            seed,
            ..GenOptions::default()
        };
        let Ok(Generated::Register(history)) = generate(&options) else {
            panic!("gen register seed {seed}");
        };
        let id = format!("pending/register-80-stale-read-seed{seed}");
        bench_one(c, &id, &Register::default(), &history, true);
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

criterion_group! { name = benches; config = config(); targets = etcd, kv, pending }
criterion_main!(benches);
