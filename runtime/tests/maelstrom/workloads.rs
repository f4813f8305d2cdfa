//! Each workload with a correct node (valid) and a wrong one (invalid, with the evidence that says why).

use checker::Verdict;
use runtime::maelstrom::{Fault, Topology, Workload};

use crate::{assert_outcome, config, results, run, with_nemesis};

#[test]
fn echo_is_valid_and_every_result_file_is_written() {
    let report = run(config(Workload::Echo, "echo.py", &[]));
    assert_outcome(&report, 0, Verdict::Ok);
    let r = results(&report);
    assert_eq!(r["valid"], true);
    assert!(r["operations"]["ok"].as_u64().unwrap() > 20, "{r}");
    for file in [
        "history.jsonl",
        "history.json",
        "history.edn",
        "results.edn",
        "timeline.html",
        "latency.svg",
        "rate.svg",
        "messages.svg",
        "node-logs/n0.log",
    ] {
        assert!(report.dir.join(file).exists(), "{file} is missing");
    }
    let edn = std::fs::read_to_string(report.dir.join("history.edn")).unwrap();
    assert!(
        edn.lines()
            .next()
            .unwrap()
            .contains(":type :invoke, :f :echo"),
        "{edn}"
    );
}

#[test]
fn unique_ids_from_node_and_counter_are_valid_under_partition() {
    let mut c = with_nemesis(
        config(Workload::UniqueIds, "unique_ids.py", &[]),
        &[Fault::Partition],
    );
    c.availability = runtime::maelstrom::Availability::Total;
    let report = run(c);
    assert_eq!(report.verdict, Verdict::Ok, "{:?}", report.summary);
}

#[test]
fn unique_ids_counted_per_node_collide() {
    let report = run(config(Workload::UniqueIds, "unique_ids.py", &["--bad"]));
    assert_eq!((report.exit_code, report.verdict), (1, Verdict::Illegal));
    let r = results(&report);
    let duplicated = r["evidence"]["duplicated"].as_array().unwrap();
    assert!(!duplicated.is_empty());
    assert!(duplicated[0]["ops"].as_array().unwrap().len() >= 2);
}

#[test]
fn lin_kv_through_the_lin_kv_service_is_linearizable_under_partition_and_the_file_agrees() {
    let mut c = with_nemesis(
        config(Workload::LinKv, "lin_kv.py", &[]),
        &[Fault::Partition],
    );
    c.concurrency = 6;
    c.per_key_limit = 40;
    let report = run(c);
    assert_eq!(report.verdict, Verdict::Ok, "{:?}", report.summary);
    let r = results(&report);
    assert!(
        r["evidence"]["keys"].as_u64().unwrap() >= 2,
        "keys are retired: {r}"
    );
    assert!(r["net"]["services"]["sent"].as_u64().unwrap() > 0);
    // The streamed history is in the keyed-cas-register format, so `quill check` agrees.
    let raw = checker::formats::read_path(&report.dir.join("history.jsonl"), None).unwrap();
    let checked = checker::dynamic::check_raw(raw, None, &Default::default()).unwrap();
    assert_eq!(checked.result.verdict, Verdict::Ok);
}

#[test]
fn lin_kv_with_local_replicas_is_not_linearizable_and_names_the_operation() {
    let mut c = with_nemesis(
        config(Workload::LinKv, "lin_kv.py", &["--gossip"]),
        &[Fault::Partition],
    );
    c.concurrency = 6;
    let report = run(c);
    assert_outcome(&report, 1, Verdict::Illegal);
    let r = results(&report);
    let illegal = r["evidence"]["illegal_keys"].as_array().unwrap();
    assert!(!illegal.is_empty());
    assert!(
        illegal[0]["blocking"].as_str().unwrap().contains(':'),
        "{}",
        illegal[0]
    );
    let html = std::fs::read_to_string(report.dir.join("timeline.html")).unwrap();
    assert!(html.contains("partition"), "the nemesis is on the timeline");
}

#[test]
fn lin_kv_proxied_to_lww_kv_is_caught() {
    // lww-kv's replicas serve stale reads and let two cas from one value both succeed: a node that
    // takes it for lin-kv is not linearizable, with no fault at all.
    let mut c = config(Workload::LinKv, "lin_kv.py", &["--service", "lww-kv"]);
    c.concurrency = 6;
    let report = run(c);
    assert_outcome(&report, 1, Verdict::Illegal);
    let r = results(&report);
    assert!(!r["evidence"]["illegal_keys"].as_array().unwrap().is_empty());
}

#[test]
fn kafka_with_one_log_holder_is_valid_under_partition() {
    let report = run(with_nemesis(
        config(Workload::Kafka, "kafka.py", &[]),
        &[Fault::Partition],
    ));
    assert_outcome(&report, 0, Verdict::Ok);
    let r = results(&report);
    assert!(r["evidence"]["sends"].as_u64().unwrap() > 10, "{r}");
    assert!(r["evidence"]["polls"].as_u64().unwrap() > 5, "{r}");
}

#[test]
fn kafka_with_a_log_per_node_reuses_offsets_and_is_caught() {
    let report = run(config(Workload::Kafka, "kafka.py", &["--local"]));
    assert_outcome(&report, 1, Verdict::Illegal);
    let r = results(&report);
    let dup = r["evidence"]["duplicate_offsets"].as_array().unwrap();
    assert!(!dup.is_empty(), "{r}");
    assert!(dup[0]["msgs"].as_object().unwrap().len() >= 2);
}

#[test]
fn g_set_with_gossip_is_valid_under_partition() {
    let report = run(with_nemesis(
        config(Workload::GSet, "gset.py", &[]),
        &[Fault::Partition],
    ));
    assert_eq!(report.verdict, Verdict::Ok, "{:?}", report.summary);
    let r = results(&report);
    assert_eq!(r["evidence"]["lost"].as_array().unwrap().len(), 0);
    assert!(
        r["evidence"]["stable_latency_ms"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn g_set_that_never_retries_loses_elements_across_a_partition() {
    let report = run(with_nemesis(
        config(Workload::GSet, "gset.py", &["--once"]),
        &[Fault::Partition],
    ));
    assert_eq!(report.verdict, Verdict::Illegal, "{:?}", report.summary);
    let r = results(&report);
    let lost = r["evidence"]["lost"].as_array().unwrap();
    assert!(!lost.is_empty());
    assert!(!lost[0]["missing_on"].as_array().unwrap().is_empty());
}

#[test]
fn broadcast_on_a_tree_with_latency_is_valid_and_reports_visibility() {
    let mut c = with_nemesis(
        config(Workload::Broadcast, "gset.py", &["--broadcast"]),
        &[Fault::Partition],
    );
    c.node_count = 5;
    c.concurrency = 5;
    c.topology = Topology::Tree(2);
    c.latency = std::time::Duration::from_millis(5);
    let report = run(c);
    assert_eq!(report.verdict, Verdict::Ok, "{:?}", report.summary);
    let r = results(&report);
    assert!(r["net"]["msgs_per_op"].as_f64().unwrap() > 1.0);
    assert!(r["evidence"]["stable_latency_ms"]["p50"].as_f64().unwrap() > 0.0);
}

#[test]
fn broadcast_that_never_retries_loses_messages() {
    let c = with_nemesis(
        config(Workload::Broadcast, "gset.py", &["--broadcast", "--once"]),
        &[Fault::Partition],
    );
    let report = run(c);
    assert_eq!(report.verdict, Verdict::Illegal, "{:?}", report.summary);
    assert!(!results(&report)["evidence"]["lost"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn g_counter_crdt_is_valid_under_partition() {
    let report = run(with_nemesis(
        config(Workload::GCounter, "counter.py", &[]),
        &[Fault::Partition],
    ));
    assert_eq!(report.verdict, Verdict::Ok, "{:?}", report.summary);
}

#[test]
fn pn_counter_that_loses_adds_is_invalid_in_its_final_reads() {
    let report = run(config(Workload::PnCounter, "counter.py", &["--lossy"]));
    assert_eq!(report.verdict, Verdict::Illegal, "{:?}", report.summary);
    let r = results(&report);
    assert!(
        !r["evidence"]["wrong_final_reads"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{r}"
    );
}

#[test]
fn lin_kv_proxy_survives_kill_pause_loss_and_duplication() {
    let mut c = with_nemesis(
        config(Workload::LinKv, "lin_kv.py", &[]),
        &[
            Fault::Kill,
            Fault::Pause,
            Fault::Loss,
            Fault::Duplicate,
            Fault::OneWay,
        ],
    );
    c.concurrency = 6;
    c.time_limit = std::time::Duration::from_secs(3);
    c.nemesis_interval = std::time::Duration::from_millis(250);
    let report = run(c);
    assert_ne!(report.verdict, Verdict::Illegal, "{:?}", report.summary);
    let history = std::fs::read_to_string(report.dir.join("history.json")).unwrap();
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let notes: Vec<&str> = history["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["text"].as_str().unwrap())
        .collect();
    assert!(notes.len() >= 2, "{notes:?}");
}

#[test]
fn a_single_replica_that_forgets_its_state_when_killed_is_caught() {
    // n0 is the only replica (the others forward to it) and keeps nothing on disk; with seed 1 the
    // first fault kills n0, so the key's value is lost on restart and a later read may see it
    // absent. Real processes in real time: whether a read lands after the loss depends on timing,
    // so up to three runs are made, and at least one must be found not linearizable.
    let mut summaries = Vec::new();
    for seed in 1..=3 {
        let mut c = with_nemesis(
            config(Workload::LinKv, "lin_kv.py", &["--forward"]),
            &[Fault::Kill],
        );
        c.concurrency = 6;
        c.rate = 100.0;
        c.seed = seed;
        c.time_limit = std::time::Duration::from_secs(4);
        c.nemesis_interval = std::time::Duration::from_millis(800);
        c.per_key_limit = 10_000;
        let report = run(c);
        let history = std::fs::read_to_string(report.dir.join("history.json")).unwrap();
        assert!(history.contains("kill n"), "seed {seed} killed no node");
        if report.verdict == Verdict::Illegal {
            return;
        }
        summaries.push((seed, report.verdict, report.summary));
    }
    panic!("the forgetful replica was never caught: {summaries:?}");
}

#[test]
fn g_counter_over_seq_kv_that_syncs_before_reading_is_valid() {
    // The node keeps the counter in the seq-kv service (read, then cas with create_if_not_exists); a
    // write of its own before each read moves its view of seq-kv to the latest state.
    let report = run(config(Workload::GCounter, "counter_seqkv.py", &[]));
    assert_eq!(report.verdict, Verdict::Ok, "{:?}", report.summary);
    let r = results(&report);
    assert!(
        r["net"]["services"]["sent"].as_u64().unwrap() > 100,
        "{}",
        r["net"]
    );
}
