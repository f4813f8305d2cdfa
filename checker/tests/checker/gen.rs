//! `gen`: synthetic histories are reproducible, linearizable when clean, and not once an anomaly is in.

use checker::dynamic::check_raw;
use checker::formats::parse;
use checker::gen::{generate, Anomaly, GenError, GenModel, GenOptions, Generated};
use checker::{Options, Verdict};

const MODELS: [GenModel; 3] = [GenModel::Kv, GenModel::Register, GenModel::CasRegister];

fn options(model: GenModel, seed: u64) -> GenOptions {
    GenOptions {
        model,
        clients: 8,
        keys: 3,
        operations: 300,
        concurrency: 4,
        anomaly: None,
        seed,
        pending_rate: 0.0,
    }
}

fn text(options: &GenOptions, jsonl: bool) -> String {
    let mut out = Vec::new();
    generate(options).unwrap().write(&mut out, jsonl).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_same_seed_gives_the_same_history_and_another_seed_another() {
    for model in MODELS {
        let a = text(&options(model, 7), true);
        assert_eq!(a, text(&options(model, 7), true), "{model:?}");
        assert_ne!(a, text(&options(model, 8), true), "{model:?}");
    }
}

#[test]
fn clean_histories_are_linearizable() {
    for model in MODELS {
        for seed in 0..10 {
            let generated = generate(&options(model, seed)).unwrap();
            assert_eq!(generated.len(), 300);
            let result = generated.check(&Options::default());
            assert_eq!(result.verdict, Verdict::Ok, "{model:?} seed {seed}");
        }
    }
}

#[test]
fn every_anomaly_makes_the_history_non_linearizable() {
    for model in MODELS {
        for anomaly in [Anomaly::StaleRead, Anomaly::LostWrite] {
            for seed in 0..5 {
                let options = GenOptions {
                    anomaly: Some(anomaly),
                    ..options(model, seed)
                };
                let generated = generate(&options).unwrap();
                let result = generated.check(&Options::default());
                assert_eq!(
                    result.verdict,
                    Verdict::Illegal,
                    "{model:?} {anomaly:?} seed {seed}"
                );
                // The anomaly is a change to one history: the clean one with the same seed passes.
                let clean = generate(&GenOptions {
                    anomaly: None,
                    ..options.clone()
                })
                .unwrap();
                assert_eq!(clean.check(&Options::default()).verdict, Verdict::Ok);
            }
        }
    }
}

#[test]
fn written_histories_read_back_with_the_same_verdict() {
    for model in MODELS {
        for anomaly in [None, Some(Anomaly::StaleRead)] {
            let options = GenOptions {
                anomaly,
                ..options(model, 3)
            };
            let expected = if anomaly.is_some() {
                Verdict::Illegal
            } else {
                Verdict::Ok
            };
            for jsonl in [false, true] {
                let raw = parse(&text(&options, jsonl), None).unwrap();
                let checked = check_raw(raw, None, &Options::default()).unwrap();
                assert_eq!(checked.model, model.name());
                assert_eq!(
                    checked.result.verdict, expected,
                    "{model:?} {anomaly:?} jsonl={jsonl}"
                );
            }
        }
    }
}

#[test]
fn impossible_options_are_errors() {
    let too_busy = GenOptions {
        clients: 2,
        concurrency: 3,
        ..GenOptions::default()
    };
    assert_eq!(
        generate(&too_busy).unwrap_err(),
        GenError::ConcurrencyAboveClients {
            concurrency: 3,
            clients: 2
        }
    );
    let no_ops = GenOptions {
        operations: 0,
        anomaly: Some(Anomaly::LostWrite),
        ..GenOptions::default()
    };
    assert_eq!(
        generate(&no_ops).unwrap_err(),
        GenError::NoPlaceForAnomaly {
            anomaly: Anomaly::LostWrite
        }
    );
    assert!("queue".parse::<GenModel>().is_err());
}

#[test]
fn whole_map_searches_agree_with_the_partitioned_ones() {
    // The unpartitioned search interleaves keys and reduces by the model's independence; clean
    // histories must be found linearizable (often by the probe beside the search) and each anomaly
    // not, as by key.
    let whole = Options {
        partition: false,
        ..Options::default()
    };
    for seed in 0..20 {
        for anomaly in [None, Some(Anomaly::StaleRead), Some(Anomaly::LostWrite)] {
            let options = GenOptions {
                clients: 12,
                keys: 4,
                concurrency: 12,
                anomaly,
                ..options(GenModel::Kv, seed)
            };
            let history = generate(&options).unwrap();
            let expected = if anomaly.is_none() {
                Verdict::Ok
            } else {
                Verdict::Illegal
            };
            assert_eq!(
                history.check(&Options::default()).verdict,
                expected,
                "seed {seed} {anomaly:?}"
            );
            assert_eq!(
                history.check(&whole).verdict,
                expected,
                "seed {seed} {anomaly:?} whole map"
            );
        }
    }
}

#[test]
fn a_pending_rate_leaves_that_share_without_a_response_under_new_clients() {
    for model in MODELS {
        for seed in 0..10 {
            let options = GenOptions {
                operations: 400,
                pending_rate: 0.2,
                ..options(model, seed)
            };
            let history = generate(&options).unwrap();
            let ops = shape(&history);
            let pending: Vec<_> = ops.iter().filter(|op| op.2.is_none()).collect();
            // 400 draws at 0.2: 80 expected, and far outside 40..120 only with odds below 1e-9.
            assert!(
                (40..=120).contains(&pending.len()),
                "{model:?} seed {seed}: {} pending",
                pending.len()
            );
            assert!(pending.iter().all(|op| op.3));
            // A client whose operation got no response issues nothing after it.
            for op in &pending {
                assert!(
                    !ops.iter().any(|o| o.0 == op.0 && o.1 > op.1),
                    "{model:?} seed {seed}: client {} goes on after giving up",
                    op.0
                );
            }
            assert_eq!(
                history.check(&Options::default()).verdict,
                Verdict::Ok,
                "{model:?} seed {seed}"
            );
            for anomaly in [Anomaly::StaleRead, Anomaly::LostWrite] {
                let bad = GenOptions {
                    anomaly: Some(anomaly),
                    ..options.clone()
                };
                match generate(&bad) {
                    Ok(history) => assert_eq!(
                        history.check(&Options::default()).verdict,
                        Verdict::Illegal,
                        "{model:?} {anomaly:?} seed {seed}"
                    ),
                    Err(GenError::NoPlaceForAnomaly { .. }) => {}
                    Err(err) => panic!("{model:?} {anomaly:?} seed {seed}: {err}"),
                }
            }
        }
    }
    let bad_rate = GenOptions {
        pending_rate: 1.5,
        ..GenOptions::default()
    };
    assert_eq!(
        generate(&bad_rate).unwrap_err(),
        GenError::PendingRate { rate: 1.5 }
    );
}

/// Each operation's client, call, return and whether its output is missing.
fn shape(history: &Generated) -> Vec<(u64, i64, Option<i64>, bool)> {
    fn of<I, O>(h: &checker::History<I, O>) -> Vec<(u64, i64, Option<i64>, bool)> {
        h.operations
            .iter()
            .map(|op| (op.client, op.call, op.ret, op.output.is_none()))
            .collect()
    }
    match history {
        Generated::Kv(h) => of(h),
        Generated::Register(h) => of(h),
        Generated::CasRegister(h) => of(h),
    }
}
