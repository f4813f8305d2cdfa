//! 3B: log replication.

use super::{part, passes};

#[test]
fn part_3b_has_the_ten_lab_tests() {
    assert_eq!(part("3B").len(), 10);
}

#[test]
fn basic_agree_commits_exactly_three_commands() {
    for o in passes("TestBasicAgree3B", 1..=20) {
        assert_eq!(o.stats.commands, 3);
    }
}

#[test]
fn rpc_bytes_sends_each_entry_once_per_peer() {
    for o in passes("TestRPCBytes3B", 1..=20) {
        // The scenario itself asserts the lab's bound; also check it stays close to the ideal:
        // 10 commands of 5000 bytes to 2 followers.
        assert!(o.stats.bytes < 2 * 50_000 + 10_000, "{:?}", o.stats);
    }
}

#[test]
fn follower_and_leader_failures() {
    passes("TestFollowerFailure3B", 1..=20);
    passes("TestLeaderFailure3B", 1..=20);
}

#[test]
fn fail_agree_and_fail_no_agree() {
    passes("TestFailAgree3B", 1..=20);
    passes("TestFailNoAgree3B", 1..=20);
}

#[test]
fn concurrent_starts_and_rejoin() {
    passes("TestConcurrentStarts3B", 1..=20);
    passes("TestRejoin3B", 1..=20);
}

#[test]
fn backup_over_incorrect_logs() {
    passes("TestBackup3B", 1..=20);
}

#[test]
fn rpc_counts_stay_within_the_lab_bounds() {
    for o in passes("TestCount3B", 1..=20) {
        assert!(o.stats.rpcs < 100, "{:?}", o.stats);
    }
}
