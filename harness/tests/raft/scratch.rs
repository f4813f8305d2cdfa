#[test]
fn scratch() {
    let o = harness::raft::with_mutation(raft::Mutation::CommitPreviousTerms, || {
        harness::runner::run_guarded(&super::scenario("TestFigure8Unreliable3C"), 165, &harness::runner::RunOptions { trace: true })
    });
    let t = o.trace.unwrap();
    std::fs::write("/tmp/trace165.txt", &t).unwrap();
}
