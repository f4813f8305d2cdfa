//! 3A: leader election.

use super::{part, passes};

#[test]
fn part_3a_has_the_three_lab_tests() {
    assert_eq!(
        part("3A"),
        [
            "TestInitialElection3A",
            "TestReElection3A",
            "TestManyElections3A"
        ]
    );
}

#[test]
fn initial_election_keeps_its_term_without_failures() {
    for o in passes("TestInitialElection3A", 1..=30) {
        // The lab only warns when the term changes without failures; with 100 ms heartbeats and
        // 300-600 ms timeouts it should not happen at all on a reliable network.
        assert!(o.warnings.is_empty(), "{:?}", o.warnings);
        assert!(
            o.stats.rpcs > 0 && o.stats.virtual_ms >= 2950,
            "{:?}",
            o.stats
        );
    }
}

#[test]
fn re_election() {
    passes("TestReElection3A", 1..=30);
}

#[test]
fn many_elections() {
    passes("TestManyElections3A", 1..=30);
}
