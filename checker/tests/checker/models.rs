//! The models of Jepsen's common workloads (mutex, multi-register, queue, set) on hand-made histories with
//! known verdicts, typed and from EDN, and initial values given the way `quill check --init` gives them;
//! and the promises the key/value model makes to the search.

use std::collections::BTreeMap;

use checker::dynamic::check_raw;
use checker::formats::{edn, parse, Format};
use checker::models::{
    MicroKind, MicroOp, MultiInput, MultiOutput, MultiRegister, Mutex, MutexInput, MutexOutput,
    Queue, QueueInput, QueueOutput, Set, SetInput, SetOutput, Value,
};
use checker::{check, History, Model, Operation, Options, Verdict};

fn verdict<M: Model>(model: &M, ops: Vec<Operation<M::Input, M::Output>>) -> Verdict {
    check(model, &History::new(ops), &Options::default())
        .unwrap()
        .verdict
}

fn edn_verdict(text: &str, model: Option<&str>, init: Option<&str>) -> Verdict {
    let mut raw = parse(text, Some(Format::Edn)).unwrap();
    raw.init = init.map(|i| edn::value_to_json(i).unwrap());
    check_raw(raw, model, &Options::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .result
        .verdict
}

mod mutex {
    use super::*;

    fn acquire(client: u64, call: i64, ret: i64) -> Operation<MutexInput, MutexOutput> {
        Operation::new(client, call, ret, MutexInput::Acquire, MutexOutput {})
    }
    fn release(client: u64, call: i64, ret: i64) -> Operation<MutexInput, MutexOutput> {
        Operation::new(client, call, ret, MutexInput::Release, MutexOutput {})
    }

    #[test]
    fn two_holders_at_once_are_illegal() {
        assert_eq!(
            verdict(&Mutex, vec![acquire(0, 0, 1), acquire(1, 2, 3)]),
            Verdict::Illegal
        );
        assert_eq!(
            verdict(
                &Mutex,
                vec![acquire(0, 0, 1), release(0, 2, 3), acquire(1, 4, 5)]
            ),
            Verdict::Ok
        );
    }

    #[test]
    fn release_needs_a_lock_but_not_its_owner() {
        assert_eq!(verdict(&Mutex, vec![release(0, 0, 1)]), Verdict::Illegal);
        // Knossos's mutex tracks no owner: another client may release.
        assert_eq!(
            verdict(&Mutex, vec![acquire(0, 0, 1), release(1, 2, 3)]),
            Verdict::Ok
        );
        // A release concurrent with the acquire may come after it.
        assert_eq!(
            verdict(&Mutex, vec![release(1, 0, 5), acquire(0, 1, 2)]),
            Verdict::Ok
        );
    }

    #[test]
    fn a_pending_release_may_have_happened() {
        let ops = vec![
            acquire(0, 0, 1),
            Operation::pending(0, 2, MutexInput::Release),
            acquire(1, 3, 4),
        ];
        assert_eq!(verdict(&Mutex, ops), Verdict::Ok);
    }

    #[test]
    fn from_edn() {
        let text = r#"[{:process 0 :type :invoke :f :acquire} {:process 0 :type :ok :f :acquire}
                       {:process 1 :type :invoke :f :acquire} {:process 1 :type :ok :f :acquire}]"#;
        assert_eq!(edn_verdict(text, None, None), Verdict::Illegal);
        let failed = text.replace("{:process 1 :type :ok", "{:process 1 :type :fail");
        assert_eq!(edn_verdict(&failed, None, None), Verdict::Ok);
    }
}

mod multi_register {
    use super::*;

    fn micro(f: MicroKind, key: &str, value: Option<i64>) -> MicroOp {
        MicroOp {
            f,
            key: key.into(),
            value: value.map(Value::int),
        }
    }
    fn txn(
        client: u64,
        call: i64,
        ret: i64,
        ops: Vec<MicroOp>,
    ) -> Operation<MultiInput, MultiOutput> {
        Operation::new(
            client,
            call,
            ret,
            MultiInput::Txn { ops },
            MultiOutput::default(),
        )
    }
    use MicroKind::{Read as R, Write as W};

    #[test]
    fn transactions_are_atomic() {
        let init: BTreeMap<_, _> =
            [("x".into(), Value::int(0)), ("y".into(), Value::int(0))].into();
        let model = MultiRegister::new(init);
        let write_both = txn(
            0,
            0,
            10,
            vec![micro(W, "x", Some(1)), micro(W, "y", Some(1))],
        );
        // A concurrent reader sees both writes or neither.
        let torn = txn(
            1,
            1,
            9,
            vec![micro(R, "x", Some(1)), micro(R, "y", Some(0))],
        );
        assert_eq!(
            verdict(&model, vec![write_both.clone(), torn]),
            Verdict::Illegal
        );
        let whole = txn(
            1,
            1,
            9,
            vec![micro(R, "x", Some(1)), micro(R, "y", Some(1))],
        );
        assert_eq!(
            verdict(&model, vec![write_both.clone(), whole]),
            Verdict::Ok
        );
        let none = txn(
            1,
            1,
            9,
            vec![micro(R, "x", Some(0)), micro(R, "y", Some(0))],
        );
        assert_eq!(verdict(&model, vec![write_both, none]), Verdict::Ok);
    }

    #[test]
    fn micro_ops_apply_in_order_and_nil_reads_anything() {
        let model = MultiRegister::default();
        let own_write = txn(
            0,
            0,
            1,
            vec![
                micro(W, "x", Some(5)),
                micro(R, "x", Some(5)),
                micro(R, "y", None),
            ],
        );
        assert_eq!(verdict(&model, vec![own_write]), Verdict::Ok);
        let before_write = txn(
            0,
            0,
            1,
            vec![micro(R, "x", Some(5)), micro(W, "x", Some(5))],
        );
        assert_eq!(verdict(&model, vec![before_write]), Verdict::Illegal);
    }

    #[test]
    fn partitions_by_key_only_when_no_transaction_spans_keys() {
        let model = MultiRegister::default();
        let single = vec![
            txn(0, 0, 1, vec![micro(W, "x", Some(1))]),
            txn(
                1,
                0,
                1,
                vec![micro(W, "y", Some(1)), micro(R, "y", Some(1))],
            ),
        ];
        let labels: Vec<String> = model
            .partition(&single)
            .into_iter()
            .map(|p| p.label)
            .collect();
        assert_eq!(labels, vec!["x", "y"]);
        let mut spanning = single;
        spanning.push(txn(
            2,
            2,
            3,
            vec![micro(R, "x", Some(1)), micro(R, "y", Some(1))],
        ));
        let partitions = model.partition(&spanning);
        assert_eq!(partitions.len(), 1);
        assert_eq!(partitions[0].operations, vec![0, 1, 2]);
    }

    #[test]
    fn from_edn_with_an_initial_map() {
        let text = r#"
{:process 0 :type :invoke :f :txn :value [[:read :x nil] [:write :y 2]]}
{:process 0 :type :ok :f :txn :value [[:read :x 0] [:write :y 2]]}
{:process 1 :type :invoke :f :txn :value [[:read :y nil]]}
{:process 1 :type :ok :f :txn :value [[:read :y 2]]}
"#;
        assert_eq!(edn_verdict(text, None, Some("{:x 0 :y 0}")), Verdict::Ok);
        // Without the initial map, x starts absent and cannot read 0.
        assert_eq!(edn_verdict(text, None, None), Verdict::Illegal);
        // The same through JSON: --init '{"x":0}'.
        let mut raw = parse(text, Some(Format::Edn)).unwrap();
        raw.init = Some(serde_json::json!({"x": 0}));
        assert_eq!(
            check_raw(raw, None, &Options::default())
                .unwrap()
                .result
                .verdict,
            Verdict::Ok
        );
    }

    #[test]
    fn an_info_transaction_counts_its_writes_but_not_its_reads() {
        let text = r#"
{:process 0 :type :invoke :f :txn :value [[:read :x 9] [:write :y 2]]}
{:process 0 :type :info :f :txn :value [[:read :x 9] [:write :y 2]]}
{:process 1 :type :invoke :f :txn :value [[:read :y nil]]}
{:process 1 :type :ok :f :txn :value [[:read :y 2]]}
"#;
        assert_eq!(edn_verdict(text, None, None), Verdict::Ok);
    }
}

mod queue {
    use super::*;

    fn enqueue(client: u64, call: i64, ret: i64, v: i64) -> Operation<QueueInput, QueueOutput> {
        Operation::new(
            client,
            call,
            ret,
            QueueInput::Enqueue {
                value: Value::int(v),
            },
            QueueOutput::default(),
        )
    }
    fn dequeue(
        client: u64,
        call: i64,
        ret: i64,
        v: Option<i64>,
    ) -> Operation<QueueInput, QueueOutput> {
        Operation::new(
            client,
            call,
            ret,
            QueueInput::Dequeue,
            QueueOutput {
                value: v.map(Value::int),
            },
        )
    }

    #[test]
    fn first_in_first_out() {
        let model = Queue::default();
        let ops = |first| {
            vec![
                enqueue(0, 0, 1, 1),
                enqueue(0, 2, 3, 2),
                dequeue(1, 4, 5, Some(first)),
            ]
        };
        assert_eq!(verdict(&model, ops(1)), Verdict::Ok);
        assert_eq!(verdict(&model, ops(2)), Verdict::Illegal);
        // Concurrent enqueues may land in either order.
        let concurrent = vec![
            enqueue(0, 0, 3, 1),
            enqueue(2, 1, 2, 2),
            dequeue(1, 4, 5, Some(2)),
        ];
        assert_eq!(verdict(&model, concurrent), Verdict::Ok);
    }

    #[test]
    fn dequeue_on_empty_returns_nil() {
        let model = Queue::default();
        assert_eq!(verdict(&model, vec![dequeue(0, 0, 1, None)]), Verdict::Ok);
        assert_eq!(
            verdict(&model, vec![enqueue(0, 0, 1, 1), dequeue(1, 2, 3, None)]),
            Verdict::Illegal
        );
        // An element is dequeued at most once.
        let twice = vec![
            enqueue(0, 0, 1, 1),
            dequeue(1, 2, 3, Some(1)),
            dequeue(1, 4, 5, Some(1)),
        ];
        assert_eq!(verdict(&model, twice), Verdict::Illegal);
    }

    #[test]
    fn from_edn() {
        let text = r#"
{:process 0 :type :invoke :f :enqueue :value 1}
{:process 0 :type :ok :f :enqueue :value 1}
{:process 1 :type :invoke :f :dequeue :value nil}
{:process 1 :type :ok :f :dequeue :value 1}
{:process 1 :type :invoke :f :dequeue :value nil}
{:process 1 :type :ok :f :dequeue :value nil}
"#;
        assert_eq!(edn_verdict(text, None, None), Verdict::Ok);
        assert_eq!(edn_verdict(text, None, Some("[7]")), Verdict::Illegal);
    }
}

mod set {
    use super::*;

    fn add(client: u64, call: i64, ret: i64, v: i64) -> Operation<SetInput, SetOutput> {
        Operation::new(
            client,
            call,
            ret,
            SetInput::Add {
                value: Value::int(v),
            },
            SetOutput::default(),
        )
    }
    fn read(client: u64, call: i64, ret: i64, vs: &[i64]) -> Operation<SetInput, SetOutput> {
        let value = Some(vs.iter().map(|&v| Value::int(v)).collect());
        Operation::new(client, call, ret, SetInput::Read, SetOutput { value })
    }

    #[test]
    fn a_read_sees_exactly_the_completed_adds_and_maybe_concurrent_ones() {
        let model = Set::default();
        let adds = || vec![add(0, 0, 1, 1), add(1, 0, 1, 2)];
        let mut lost = adds();
        lost.push(read(2, 2, 3, &[1]));
        assert_eq!(verdict(&model, lost), Verdict::Illegal);
        let mut all = adds();
        all.push(read(2, 2, 3, &[2, 1]));
        assert_eq!(verdict(&model, all), Verdict::Ok);
        let concurrent = vec![add(0, 0, 1, 1), add(1, 0, 9, 2), read(2, 2, 3, &[1])];
        assert_eq!(verdict(&model, concurrent), Verdict::Ok);
        let phantom = vec![add(0, 0, 1, 1), read(2, 2, 3, &[1, 3])];
        assert_eq!(verdict(&model, phantom), Verdict::Illegal);
    }

    #[test]
    fn from_edn() {
        let text = r#"
{:process 0 :type :invoke :f :add :value 1}
{:process 0 :type :ok :f :add :value 1}
{:process 1 :type :invoke :f :add :value 2}
{:process 1 :type :info :f :add :value 2}
{:process 0 :type :invoke :f :read :value nil}
{:process 0 :type :ok :f :read :value #{1}}
{:process 0 :type :invoke :f :read :value nil}
{:process 0 :type :ok :f :read :value #{1 2}}
"#;
        assert_eq!(edn_verdict(text, None, None), Verdict::Ok);
        let shrinking = text.replace("#{1 2}", "#{2}");
        assert_eq!(edn_verdict(&shrinking, None, None), Verdict::Illegal);
    }
}

mod registers {
    use super::*;

    #[test]
    fn an_initial_value_from_the_command_line() {
        let text = "{:process 0 :type :invoke :f :read}\n{:process 0 :type :ok :f :read :value 0}";
        assert_eq!(edn_verdict(text, None, None), Verdict::Illegal);
        assert_eq!(edn_verdict(text, None, Some("0")), Verdict::Ok);
        assert_eq!(edn_verdict(text, Some("register"), Some("0")), Verdict::Ok);
        // A bare word is a string.
        let text =
            "{:process 0 :type :invoke :f :read}\n{:process 0 :type :ok :f :read :value \"a\"}";
        assert_eq!(edn_verdict(text, None, Some("a")), Verdict::Ok);
    }

    #[test]
    fn a_mutex_takes_no_initial_value() {
        let mut raw = parse("{:process 0 :type :invoke :f :acquire}", Some(Format::Edn)).unwrap();
        raw.init = Some(serde_json::json!(true));
        let e = check_raw(raw, None, &Options::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("mutex model takes no initial value"), "{e}");
    }
}

mod kv {
    use super::*;
    use checker::models::{Kv, KvInput, KvOutput};
    use proptest::prelude::*;

    fn input(key: u8, kind: u8, value: u8) -> KvInput {
        let key = ["x", "y", "z"][key as usize % 3].into();
        let value = ["a", "b", ""][value as usize % 3].into();
        match kind % 3 {
            0 => KvInput::Get { key },
            1 => KvInput::Put { key, value },
            _ => KvInput::Append { key, value },
        }
    }

    fn output(seen: Option<u8>) -> Option<KvOutput> {
        seen.map(|v| KvOutput {
            value: Some(["", "a", "ab", "b", "ba"][v as usize % 5].into()),
        })
    }

    proptest! {
        /// `Kv::independent` promises that two operations on different keys commute from every state:
        /// each is accepted after the other exactly when before it, and both orders end in the same state.
        #[test]
        fn operations_on_different_keys_commute_from_every_state(
            setup in prop::collection::vec((0..3u8, 1..3u8, 0..3u8), 0..6),
            a in (0..3u8, 0..3u8, 0..3u8, prop::option::of(0..5u8)),
            b in (0..3u8, 0..3u8, 0..3u8, prop::option::of(0..5u8)),
        ) {
            let mut state = Kv.init();
            for (key, kind, value) in setup {
                state = Kv.step(&state, &input(key, kind, value), None).expect("writes always apply");
            }
            let (ia, oa) = (input(a.0, a.1, a.2), output(a.3));
            let (ib, ob) = (input(b.0, b.1, b.2), output(b.3));
            let independent = Kv.independent(&ia, &ib);
            prop_assert_eq!(independent, ia.key() != ib.key());
            if independent {
                let ab = Kv.step(&state, &ia, oa.as_ref()).and_then(|s| Kv.step(&s, &ib, ob.as_ref()));
                let ba = Kv.step(&state, &ib, ob.as_ref()).and_then(|s| Kv.step(&s, &ia, oa.as_ref()));
                prop_assert_eq!(ab, ba);
            }
        }
    }
}

#[test]
fn keyed_cas_registers_are_checked_key_by_key_from_absent() {
    let text = r#"{"model":"keyed-cas-register"}
{"client":0,"call":0,"return":10,"input":{"key":1,"op":"write","value":3}}
{"client":1,"call":20,"return":30,"input":{"key":2,"op":"read"},"output":{"value":null}}
{"client":2,"call":20,"return":30,"input":{"key":1,"op":"cas","from":3,"to":4},"output":{"ok":true}}
{"client":3,"call":40,"return":50,"input":{"key":1,"op":"cas","from":3,"to":0},"output":{"ok":false}}
"#;
    let raw = parse(text, Some(Format::Jsonl)).unwrap();
    let checked = check_raw(raw, None, &Options::default()).unwrap();
    assert_eq!(checked.result.verdict, Verdict::Ok);
    assert_eq!(checked.result.partitions.len(), 2);
    assert_eq!(checked.view().operations[2].input, "1:cas(3, 4)");
    // A read of key 2 that sees key 1's value: keys are independent, so this is illegal.
    let bad = text.replace(r#""output":{"value":null}"#, r#""output":{"value":3}"#);
    let raw = parse(&bad, Some(Format::Jsonl)).unwrap();
    let checked = check_raw(raw, None, &Options::default()).unwrap();
    assert_eq!(checked.result.verdict, Verdict::Illegal);
    assert_eq!(checked.result.illegal().next().unwrap().label, "2");
}

mod shard_config {
    use super::*;
    use checker::models::{ConfigInput, ConfigOutput, ConfigView, ShardConfig};

    type Op = Operation<ConfigInput, ConfigOutput>;

    fn join(client: u64, call: i64, ret: i64, gid: u64) -> Op {
        let groups = [(gid, vec![format!("s{gid}")])].into();
        Operation::new(
            client,
            call,
            ret,
            ConfigInput::Join { groups },
            ConfigOutput::default(),
        )
    }
    fn leave(client: u64, call: i64, ret: i64, gid: u64) -> Op {
        let input = ConfigInput::Leave { gids: vec![gid] };
        Operation::new(client, call, ret, input, ConfigOutput::default())
    }
    fn mv(client: u64, call: i64, ret: i64, shard: usize, gid: u64) -> Op {
        let input = ConfigInput::Move { shard, gid };
        Operation::new(client, call, ret, input, ConfigOutput::default())
    }
    fn query(client: u64, call: i64, ret: i64, num: i64, n: u64, shards: &[u64]) -> Op {
        let mut groups: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for g in shards.iter().filter(|g| **g != 0) {
            groups.insert(*g, vec![format!("s{g}")]);
        }
        query_groups(client, call, ret, num, n, shards, groups)
    }
    fn query_groups(
        client: u64,
        call: i64,
        ret: i64,
        num: i64,
        n: u64,
        shards: &[u64],
        groups: BTreeMap<u64, Vec<String>>,
    ) -> Op {
        let config = ConfigView {
            num: n,
            shards: shards.to_vec(),
            groups,
        };
        Operation::new(
            client,
            call,
            ret,
            ConfigInput::Query { num },
            ConfigOutput {
                config: Some(config),
            },
        )
    }
    const M: ShardConfig = ShardConfig { shards: 4 };

    #[test]
    fn sequential_changes_and_historical_queries_are_legal() {
        let h = vec![
            join(1, 0, 1, 1),
            query(1, 2, 3, -1, 1, &[1, 1, 1, 1]),
            join(1, 4, 5, 2),
            query(1, 6, 7, -1, 2, &[1, 2, 1, 2]),
            mv(1, 8, 9, 0, 2),
            query(1, 10, 11, 99, 3, &[2, 2, 1, 2]),
            // History does not change.
            query(2, 12, 13, 1, 1, &[1, 1, 1, 1]),
            query(2, 14, 15, 0, 0, &[0, 0, 0, 0]),
            leave(1, 16, 17, 1),
            query(1, 18, 19, -1, 4, &[2, 2, 2, 2]),
        ];
        assert_eq!(verdict(&M, h), Verdict::Ok);
    }

    #[test]
    fn a_stale_query_is_illegal() {
        // The join returned before the query began, so the query must see it.
        let h = vec![join(1, 0, 1, 1), query(2, 2, 3, -1, 0, &[0, 0, 0, 0])];
        assert_eq!(verdict(&M, h), Verdict::Illegal);
        // Concurrent with the join, config 0 is fine.
        let h = vec![join(1, 0, 3, 1), query(2, 1, 2, -1, 0, &[0, 0, 0, 0])];
        assert_eq!(verdict(&M, h), Verdict::Ok);
    }

    #[test]
    fn a_lost_change_is_illegal() {
        // Two joins completed but the latest config knows one group.
        let h = vec![
            join(1, 0, 1, 1),
            join(2, 2, 3, 2),
            query(1, 4, 5, -1, 2, &[1, 1, 1, 1]),
        ];
        assert_eq!(verdict(&M, h), Verdict::Illegal);
    }

    #[test]
    fn a_config_that_changes_after_it_was_read_is_illegal() {
        let h = vec![
            join(1, 0, 1, 1),
            join(1, 2, 3, 2),
            query(1, 4, 5, 2, 2, &[1, 2, 1, 2]),
            query(1, 6, 7, 2, 2, &[2, 1, 2, 1]),
        ];
        assert_eq!(verdict(&M, h), Verdict::Illegal);
    }

    #[test]
    fn unbalanced_or_misplaced_assignments_are_illegal() {
        let unbalanced = vec![
            join(1, 0, 1, 1),
            join(1, 2, 3, 2),
            query(1, 4, 5, -1, 2, &[1, 1, 1, 2]),
        ];
        assert_eq!(verdict(&M, unbalanced), Verdict::Illegal);
        let left_group = vec![
            join(1, 0, 1, 1),
            join(1, 2, 3, 2),
            leave(1, 4, 5, 1),
            query(1, 6, 7, -1, 3, &[2, 2, 1, 2]),
        ];
        assert_eq!(verdict(&M, left_group), Verdict::Illegal);
        // A move changes its shard only.
        let moved_more = vec![
            join(1, 0, 1, 1),
            join(1, 2, 3, 2),
            query(1, 4, 5, -1, 2, &[1, 2, 1, 2]),
            mv(1, 6, 7, 0, 2),
            query(1, 8, 9, -1, 3, &[2, 2, 2, 1]),
        ];
        assert_eq!(verdict(&M, moved_more), Verdict::Illegal);
    }

    #[test]
    fn concurrent_joins_may_apply_in_either_order() {
        // Whoever went second is visible in config 2's group set; config 1 had one group only.
        let g1: BTreeMap<u64, Vec<String>> = [(1, vec!["s1".to_string()])].into();
        let g2: BTreeMap<u64, Vec<String>> = [(2, vec!["s2".to_string()])].into();
        let h = vec![
            join(1, 0, 10, 1),
            join(2, 0, 10, 2),
            query(3, 11, 12, 1, 1, &[2, 2, 2, 2]),
            query(3, 13, 14, -1, 2, &[2, 1, 2, 1]),
        ];
        assert_eq!(verdict(&M, h), Verdict::Ok);
        let wrong_groups = vec![
            join(1, 0, 10, 1),
            join(2, 0, 10, 2),
            query_groups(3, 11, 12, 1, 1, &[2, 2, 2, 2], g1),
        ];
        assert_eq!(verdict(&M, wrong_groups), Verdict::Illegal);
        let both = vec![
            join(1, 0, 10, 1),
            query_groups(3, 11, 12, 1, 1, &[2, 2, 2, 2], g2),
        ];
        assert_eq!(verdict(&M, both), Verdict::Illegal);
    }

    #[test]
    fn a_join_that_never_returned_may_or_may_not_have_happened() {
        let pending = Operation::pending(
            1,
            0,
            ConfigInput::Join {
                groups: [(1, vec!["s1".to_string()])].into(),
            },
        );
        let h = vec![pending.clone(), query(2, 5, 6, -1, 0, &[0, 0, 0, 0])];
        assert_eq!(verdict(&M, h), Verdict::Ok);
        let h = vec![pending, query(2, 5, 6, -1, 1, &[1, 1, 1, 1])];
        assert_eq!(verdict(&M, h), Verdict::Ok);
    }

    #[test]
    fn reads_from_json_by_name() {
        let text = r#"{"model":"shard-config","operations":[
            {"client":1,"call":0,"return":1,"input":{"op":"join","groups":{"1":["a"]}},"output":null},
            {"client":1,"call":2,"return":3,"input":{"op":"query","num":-1},
             "output":{"config":{"num":0,"shards":[0,0,0,0,0,0,0,0,0,0],"groups":{}}}}]}"#;
        let raw = parse(text, Some(Format::Json)).unwrap();
        let checked = check_raw(raw, None, &Options::default()).unwrap();
        assert_eq!(checked.result.verdict, Verdict::Illegal);
    }
}

/// `Kv::share` leaves every operation as it was, and gives the equal keys of operations shared in
/// different calls (a file's blocks) one allocation.
#[test]
fn kv_share_gives_each_key_one_allocation_and_changes_nothing() {
    use checker::models::{Kv, KvInput, KvOutput};
    use checker::SharedStrings;
    use std::sync::Arc;
    let put = |key: &str, value: &str| {
        let input = KvInput::Put {
            key: key.into(),
            value: value.into(),
        };
        Operation::new(0, 0, 1, input, KvOutput::default())
    };
    let get = |key: &str, value: &str| {
        let output = KvOutput {
            value: Some(value.into()),
        };
        Operation::new(1, 2, 3, KvInput::Get { key: key.into() }, output)
    };
    let mut first = vec![put("x", "1"), get("y", ""), put("x", "2")];
    let mut second = vec![get("x", "1"), put("y", "3")];
    let before = (first.clone(), second.clone());
    let mut strings = SharedStrings::default();
    Kv.share(&mut first, &mut strings);
    Kv.share(&mut second, &mut strings);
    assert_eq!((first.clone(), second.clone()), before);
    let xs = [&first[0], &first[2], &second[0]];
    assert!(xs
        .windows(2)
        .all(|w| Arc::ptr_eq(w[0].input.key(), w[1].input.key())));
    assert!(Arc::ptr_eq(first[1].input.key(), second[1].input.key()));
    assert!(!Arc::ptr_eq(first[0].input.key(), first[1].input.key()));
}
