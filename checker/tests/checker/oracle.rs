//! The checker against a brute-force oracle on thousands of random small histories per built-in model.
//!
//! The oracle tries every order of the operations that respects real time (an operation that returned
//! before another was called comes first), placing each completed operation once and each pending one at
//! most once, and asks the model at each step. Histories are made linearizable by construction (every
//! operation takes effect at a random instant inside its interval and returns the true output), then half
//! of them get one output corrupted, which makes many of them non-linearizable; the oracle decides which.

use checker::models::{
    CasInput, CasOutput, CasRegister, Kv, KvInput, KvOutput, Register, RegisterInput,
    RegisterOutput, Value,
};
use checker::{check, History, Model, Operation, Options, Verdict};
use proptest::prelude::*;

fn oracle<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> bool {
    let ops: Vec<&Operation<M::Input, M::Output>> = ops.iter().filter(|o| !o.failed).collect();
    fn dfs<M: Model>(
        model: &M,
        ops: &[&Operation<M::Input, M::Output>],
        state: &M::State,
        placed: u32,
    ) -> bool {
        if ops
            .iter()
            .enumerate()
            .all(|(i, o)| o.ret.is_none() || placed & (1 << i) != 0)
        {
            return true;
        }
        for (i, op) in ops.iter().enumerate() {
            if placed & (1 << i) != 0 {
                continue;
            }
            // Everything that returned before this call must already be placed.
            let ready = ops
                .iter()
                .enumerate()
                .all(|(j, o)| placed & (1 << j) != 0 || o.ret.is_none_or(|r| r >= op.call));
            if !ready {
                continue;
            }
            if let Some(next) = model.step(state, &op.input, op.output.as_ref()) {
                if dfs(model, ops, &next, placed | (1 << i)) {
                    return true;
                }
            }
        }
        false
    }
    dfs(model, &ops, &model.init(), 0)
}

/// One random operation's shape: client, call time, duration, pending, and two small numbers for its input.
type Shape = (u64, i64, i64, bool, u8, u8);

fn shapes() -> impl Strategy<Value = (Vec<Shape>, bool, usize, u8)> {
    let shape = (
        0..4u64,
        0..24i64,
        0..10i64,
        prop::bool::weighted(0.15),
        any::<u8>(),
        0..3u8,
    );
    (
        prop::collection::vec(shape, 0..8),
        any::<bool>(),
        any::<usize>(),
        0..3u8,
    )
}

/// Histories where half the operations get no response, many of them writes nobody reads: the shape
/// of histories recorded under faults, where the search must decide which of them took effect.
fn pending_shapes() -> impl Strategy<Value = (Vec<Shape>, bool, usize, u8)> {
    let shape = (
        0..6u64,
        0..24i64,
        0..10i64,
        prop::bool::weighted(0.5),
        any::<u8>(),
        0..3u8,
    );
    (
        prop::collection::vec(shape, 0..11),
        any::<bool>(),
        any::<usize>(),
        0..3u8,
    )
}

/// Builds a linearizable history: each operation takes effect at a point inside its interval (its call time
/// plus a fraction of its duration), in that order, and gets the model's true output.
fn truthful<M: Model>(
    model: &M,
    shapes: &[Shape],
    input: impl Fn(u8, u8) -> M::Input,
    output: impl Fn(&M::State, &M::Input) -> M::Output,
) -> Vec<Operation<M::Input, M::Output>> {
    let mut order: Vec<usize> = (0..shapes.len()).collect();
    order.sort_by_key(|&i| (shapes[i].1 * 2 + shapes[i].2, i));
    let mut ops: Vec<Option<Operation<M::Input, M::Output>>> =
        (0..shapes.len()).map(|_| None).collect();
    let mut state = model.init();
    for i in order {
        let (client, call, duration, pending, a, b) = shapes[i];
        let inp = input(a, b);
        let out = output(&state, &inp);
        let next = model
            .step(&state, &inp, Some(&out))
            .expect("the true output is accepted");
        // The point of effect is call + duration / 2 (doubled above to stay in integers), inside [call, ret].
        // An operation with no response has no duration: an odd one is taken to have never taken effect.
        let op = if pending {
            if duration % 2 == 0 {
                state = next;
            }
            Operation::pending(client, call, inp)
        } else {
            state = next;
            Operation::new(client, call, call + duration, inp, out)
        };
        ops[i] = Some(op);
    }
    ops.into_iter().map(Option::unwrap).collect()
}

fn compare<M: Model>(
    model: &M,
    ops: Vec<Operation<M::Input, M::Output>>,
    options: &Options,
) -> Result<(), TestCaseError> {
    let expected = oracle(model, &ops);
    let history = History::new(ops);
    let got = check(model, &history, options).unwrap().verdict;
    prop_assert_eq!(
        got,
        if expected {
            Verdict::Ok
        } else {
            Verdict::Illegal
        },
        "history: {:?}",
        history.operations
    );
    Ok(())
}

const CASES: u32 = 2000;

fn value(b: u8) -> Option<Value> {
    Some(Value::int(b as i64))
}

fn register_case(
    shapes: &[Shape],
    corrupt: bool,
    which: usize,
    bad: u8,
) -> Result<(), TestCaseError> {
    let model = Register::default();
    let mut ops = truthful(
        &model,
        shapes,
        |a, b| {
            if a % 2 == 0 {
                RegisterInput::Read
            } else {
                RegisterInput::Write { value: value(b) }
            }
        },
        |s, i| match i {
            RegisterInput::Read => RegisterOutput { value: s.clone() },
            _ => RegisterOutput::default(),
        },
    );
    if corrupt && !ops.is_empty() {
        let i = which % ops.len();
        if matches!(ops[i].input, RegisterInput::Read) && ops[i].output.is_some() {
            ops[i].output = Some(RegisterOutput { value: value(bad) });
        }
    }
    compare(&model, ops, &Options::default())
}

fn cas_register_case(
    shapes: &[Shape],
    corrupt: bool,
    which: usize,
    bad: u8,
) -> Result<(), TestCaseError> {
    let model = CasRegister::default();
    let mut ops = truthful(
        &model,
        shapes,
        |a, b| match a % 3 {
            0 => CasInput::Read,
            1 => CasInput::Write { value: value(b) },
            _ => CasInput::Cas {
                from: value(b),
                to: value((b + 1) % 3),
            },
        },
        |s, i| match i {
            CasInput::Read => CasOutput {
                value: s.clone(),
                ok: None,
            },
            CasInput::Write { .. } => CasOutput::default(),
            CasInput::Cas { from, .. } => CasOutput {
                value: None,
                ok: Some(s == from),
            },
        },
    );
    if corrupt && !ops.is_empty() {
        let i = which % ops.len();
        let op = &mut ops[i];
        if let Some(out) = op.output.as_mut() {
            match op.input {
                CasInput::Read => out.value = value(bad),
                CasInput::Cas { .. } => out.ok = out.ok.map(|b| !b),
                CasInput::Write { .. } => {}
            }
        }
    }
    compare(&model, ops, &Options::default())
}

fn kv_case(
    shapes: &[Shape],
    corrupt: bool,
    which: usize,
    bad: u8,
    partition: bool,
) -> Result<(), TestCaseError> {
    let keys = ["x", "y"];
    let mut ops = truthful(
        &Kv,
        shapes,
        |a, b| {
            let key = keys[(a / 3) as usize % 2].into();
            let value = ["a", "b", "c"][b as usize].into();
            match a % 3 {
                0 => KvInput::Get { key },
                1 => KvInput::Put { key, value },
                _ => KvInput::Append { key, value },
            }
        },
        |s, i| match i {
            KvInput::Get { key } | KvInput::Append { key, .. } => KvOutput {
                value: Some(s.get(key).cloned().unwrap_or_else(|| "".into())),
            },
            KvInput::Put { .. } => KvOutput::default(),
        },
    );
    if corrupt && !ops.is_empty() {
        let i = which % ops.len();
        if let Some(out) = ops[i].output.as_mut() {
            if out.value.is_some() {
                out.value = Some(["", "a", "ab"][bad as usize].into());
            }
        }
    }
    compare(
        &Kv,
        ops,
        &Options {
            partition,
            ..Options::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn register_agrees_with_the_oracle((shapes, corrupt, which, bad) in shapes()) {
        register_case(&shapes, corrupt, which, bad)?;
    }

    #[test]
    fn cas_register_agrees_with_the_oracle((shapes, corrupt, which, bad) in shapes()) {
        cas_register_case(&shapes, corrupt, which, bad)?;
    }

    #[test]
    fn kv_agrees_with_the_oracle((shapes, corrupt, which, bad) in shapes(), partition in any::<bool>()) {
        kv_case(&shapes, corrupt, which, bad, partition)?;
    }

    #[test]
    fn register_with_many_pending_agrees_with_the_oracle((shapes, corrupt, which, bad) in pending_shapes()) {
        register_case(&shapes, corrupt, which, bad)?;
    }

    #[test]
    fn cas_register_with_many_pending_agrees_with_the_oracle((shapes, corrupt, which, bad) in pending_shapes()) {
        cas_register_case(&shapes, corrupt, which, bad)?;
    }

    #[test]
    fn kv_with_many_pending_agrees_with_the_oracle((shapes, corrupt, which, bad) in pending_shapes(), partition in any::<bool>()) {
        kv_case(&shapes, corrupt, which, bad, partition)?;
    }
}

/// The generators must produce a fair share of non-linearizable histories, or the comparison above says
/// little.
#[test]
fn corrupted_histories_are_often_illegal() {
    // With half the operations pending, fewer corruptions are caught (a pending write may explain
    // the corrupted read), but still one in eight or more.
    for (name, strategy, share) in [
        ("shapes", shapes().boxed(), 5),
        ("pending", pending_shapes().boxed(), 8),
    ] {
        let (illegal, total) = illegal_share(strategy);
        assert!(
            illegal * share > total,
            "{name}: only {illegal} of {total} corrupted histories are illegal"
        );
    }
}

/// Of 500 corrupted register histories drawn from `strategy`, how many the oracle finds illegal.
fn illegal_share(strategy: BoxedStrategy<(Vec<Shape>, bool, usize, u8)>) -> (usize, usize) {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let model = Register::default();
    let (mut illegal, mut total) = (0, 0);
    for _ in 0..500 {
        let (shapes, _, which, bad) = strategy.new_tree(&mut runner).unwrap().current();
        let mut ops = truthful(
            &model,
            &shapes,
            |a, b| {
                if a % 2 == 0 {
                    RegisterInput::Read
                } else {
                    RegisterInput::Write { value: value(b) }
                }
            },
            |s, i| match i {
                RegisterInput::Read => RegisterOutput { value: s.clone() },
                _ => RegisterOutput::default(),
            },
        );
        if ops.is_empty() {
            continue;
        }
        let i = which % ops.len();
        if matches!(ops[i].input, RegisterInput::Read) && ops[i].output.is_some() {
            ops[i].output = Some(RegisterOutput { value: value(bad) });
        }
        total += 1;
        if !oracle(&model, &ops) {
            illegal += 1;
        }
    }
    (illegal, total)
}
