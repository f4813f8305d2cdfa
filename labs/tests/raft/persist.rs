//! 3C: persistence, Figure 8, unreliable networks and churn.

use super::{part, passes};

#[test]
fn part_3c_has_the_eight_lab_tests() {
    assert_eq!(part("3C").len(), 8);
}

#[test]
fn persist_1_2_3() {
    passes("TestPersist13C", 1..=20);
    passes("TestPersist23C", 1..=20);
    passes("TestPersist33C", 1..=20);
}

#[test]
fn figure_8() {
    passes("TestFigure83C", 1..=20);
}

#[test]
fn unreliable_agree() {
    for o in passes("TestUnreliableAgree3C", 1..=20) {
        // 49 x 5 commands plus the final one, each committed once.
        assert!(o.stats.commands >= 246, "{:?}", o.stats);
    }
}

#[test]
fn figure_8_unreliable() {
    passes("TestFigure8Unreliable3C", 1..=20);
}

#[test]
fn churn() {
    passes("TestReliableChurn3C", 1..=20);
    passes("TestUnreliableChurn3C", 1..=20);
}
