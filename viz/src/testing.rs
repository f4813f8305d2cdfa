//! Hand-built histories and verdicts for the unit tests: the pure parts are tested on exact data, without
//! running the checker.

use checker::{
    CheckResult, ClientId, HistoryView, OpView, PartialLinearization, PartitionResult, Step,
    Verdict,
};

pub(crate) fn op(
    client: ClientId,
    call: i64,
    ret: Option<i64>,
    input: &str,
    output: Option<&str>,
) -> OpView {
    OpView {
        client,
        call,
        ret,
        input: input.to_string(),
        output: output.map(str::to_string),
        failed: false,
        json: None,
    }
}

/// An illegal verdict for `view` as one partition: operation 0 placed, operation 1 stuck and blocking.
pub(crate) fn illegal_register(view: &HistoryView) -> CheckResult {
    let n = view.operations.len();
    let blocking = 1.min(n.saturating_sub(1));
    CheckResult {
        verdict: Verdict::Illegal,
        partitions: vec![PartitionResult {
            label: "all".into(),
            operations: (0..n).collect(),
            verdict: Verdict::Illegal,
            initial_state: "0".into(),
            linearization: vec![],
            partial: vec![PartialLinearization {
                steps: vec![Step {
                    op: 0,
                    state: "1".into(),
                }],
                stuck: if n > 1 { vec![1] } else { vec![] },
                blocking,
            }],
            undecided: None,
            states_explored: 3,
            micros: 10,
        }],
        micros: 12,
        counterexample: None,
    }
}
