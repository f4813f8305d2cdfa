//! 3D: log compaction.

use super::{part, passes};

#[test]
fn part_3d_has_the_seven_lab_tests() {
    assert_eq!(part("3D").len(), 7);
}

#[test]
fn snapshot_basic() {
    passes("TestSnapshotBasic3D", 1..=20);
}

#[test]
fn snapshot_install_disconnect() {
    passes("TestSnapshotInstall3D", 1..=20);
    passes("TestSnapshotInstallUnreliable3D", 1..=20);
}

#[test]
fn snapshot_install_crash() {
    passes("TestSnapshotInstallCrash3D", 1..=20);
    passes("TestSnapshotInstallUnCrash3D", 1..=20);
}

#[test]
fn snapshot_all_crash_and_init() {
    passes("TestSnapshotAllCrash3D", 1..=20);
    passes("TestSnapshotInit3D", 1..=20);
}
