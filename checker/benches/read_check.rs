//! Reading and checking a big JSON Lines history, as `quill check` does it: the 1,000,000-operation kv
//! history of `quill gen --model kv --clients 100 --keys 1000 --ops 1000000 --jsonl` (117 MB), made in
//! memory by `checker::gen` before the measurement (no data file is kept).
//!
//! - `read`: reading and typing alone (the streamed, parallel JSON Lines reader, then the kv types).
//! - `read+check`: reading, typing and the partitioned check, as `quill check FILE` with no output
//!   besides the verdict line (no described history, no states described).
//!
//! `cargo bench -p quill-checker --bench read_check`. Each iteration takes seconds: the group runs ten samples of one or two.

use std::io::Cursor;
use std::time::Duration;

use checker::dynamic::{check_raw, typed};
use checker::formats::read_reader;
use checker::gen::{generate, GenModel, GenOptions};
use checker::models::Kv;
use checker::{Options, Verdict};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};

/// The JSON Lines text of the 1M history, as `quill gen` writes it.
fn history_1m() -> Vec<u8> {
    let options = GenOptions {
        model: GenModel::Kv,
        clients: 100,
        keys: 1000,
        operations: 1_000_000,
        concurrency: 100,
        ..GenOptions::default()
    };
    let generated = generate(&options).expect("valid generator options");
    let mut text = Vec::new();
    generated
        .write(&mut text, true)
        .expect("writing to memory does not fail");
    text
}

fn bench(c: &mut Criterion) {
    let text = history_1m();
    let mut group = c.benchmark_group("jsonl-1m");
    // One iteration per sample (flat sampling): each takes seconds, and criterion's growing counts
    // would make a run of the group last many minutes.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("read", |b| {
        b.iter_batched(
            || text.clone(),
            |text| {
                let raw = read_reader(Cursor::new(text), None).expect("the generated file reads");
                let history = typed::<Kv>(raw, "kv").expect("the generated file types");
                assert_eq!(history.len(), 1_000_000);
                history
            },
            BatchSize::PerIteration,
        )
    });
    let options = Options {
        describe_states: false,
        ..Options::default()
    };
    group.bench_function("read+check", |b| {
        b.iter_batched(
            || text.clone(),
            |text| {
                let raw = read_reader(Cursor::new(text), None).expect("the generated file reads");
                let checked = check_raw(raw, None, &options).expect("the generated file checks");
                assert_eq!(checked.result.verdict, Verdict::Ok);
                checked
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
