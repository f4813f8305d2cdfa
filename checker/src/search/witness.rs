//! Checking a linearization found by a search: what the probe finds is accepted only once checked here,
//! so a mistake in its backjumping cannot turn into a wrong verdict.

use crate::history::Operation;
use crate::model::Model;

/// Whether `order` (indices into `ops`) is a linearization of `ops`: each operation at most once, every
/// completed one present, no operation before one that returned before it was called, and every step
/// accepted by the model from the state the ones before it lead to.
pub(crate) fn is_linearization<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    order: &[usize],
) -> bool {
    let mut seen = vec![false; ops.len()];
    let mut state = model.init();
    let mut latest_call = i64::MIN;
    for &i in order {
        let Some(op) = ops.get(i) else {
            return false;
        };
        if std::mem::replace(&mut seen[i], true) {
            return false;
        }
        // Intervals are closed: returning at the instant another was called is concurrent with it.
        if op.ret.is_some_and(|ret| ret < latest_call) {
            return false;
        }
        latest_call = latest_call.max(op.call);
        match model.step(&state, &op.input, op.output.as_ref()) {
            Some(next) => state = next,
            None => return false,
        }
    }
    ops.iter()
        .zip(&seen)
        .all(|(op, &seen)| seen || op.ret.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Register, RegisterInput, RegisterOutput, Value};

    fn op(
        call: i64,
        ret: Option<i64>,
        input: RegisterInput,
        output: Option<RegisterOutput>,
    ) -> Operation<RegisterInput, RegisterOutput> {
        Operation {
            client: 0,
            call,
            ret,
            input,
            output,
            failed: false,
        }
    }

    fn write(call: i64, ret: Option<i64>, v: i64) -> Operation<RegisterInput, RegisterOutput> {
        op(
            call,
            ret,
            RegisterInput::Write {
                value: Some(Value::int(v)),
            },
            None,
        )
    }

    fn read(call: i64, ret: i64, v: i64) -> Operation<RegisterInput, RegisterOutput> {
        let output = RegisterOutput {
            value: Some(Value::int(v)),
        };
        op(call, Some(ret), RegisterInput::Read, Some(output))
    }

    #[test]
    fn accepts_a_linearization_and_refuses_each_kind_of_mistake() {
        let model = Register::default();
        // w1 [0,10], r=1 [5,6], w2 [20,30], pending w3 from 25.
        let history = [
            write(0, Some(10), 1),
            read(5, 6, 1),
            write(20, Some(30), 2),
            write(25, None, 3),
        ];
        let ops: Vec<_> = history.iter().collect();
        assert!(is_linearization(&model, &ops, &[0, 1, 2]));
        assert!(is_linearization(&model, &ops, &[0, 1, 2, 3]));
        // The read before the write it saw: the model refuses it.
        assert!(!is_linearization(&model, &ops, &[1, 0, 2]));
        // w2 before the read, which returned before w2 was called.
        assert!(!is_linearization(&model, &ops, &[0, 2, 1]));
        // A completed operation left out, and one placed twice.
        assert!(!is_linearization(&model, &ops, &[0, 1]));
        assert!(!is_linearization(&model, &ops, &[0, 1, 2, 2]));
        // An index that is not an operation.
        assert!(!is_linearization(&model, &ops, &[0, 1, 2, 9]));
    }
}
