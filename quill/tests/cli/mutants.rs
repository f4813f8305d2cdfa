//! `quill mutants`: the list names every catalog entry, and a small hunt catches two Raft
//! mutants with the replay command in the table and JSON, the unmodified system passing.

use super::{quill, stdout};

#[test]
fn the_list_names_every_mutant() {
    let o = quill(&["mutants", "--list"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for m in labs::mutants::catalog() {
        assert!(out.contains(m.name), "--list lacks {}: {out}", m.name);
    }
}

#[test]
fn a_small_hunt_catches_and_says_how_to_replay() {
    let o = quill(&[
        "mutants",
        "--mutant",
        "forget-vote",
        "--mutant",
        "keep-conflicting",
        "--seeds",
        "2",
        "--budget",
        "600",
        "-p",
        "2",
        "--json",
    ]);
    assert!(o.status.success(), "exit {:?}: {}", o.status, stdout(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let rows = doc["mutants"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(r["caught"], true, "{r}");
        let replay = r["replay"].as_str().unwrap();
        assert!(replay.starts_with("quill test raft "), "{replay}");
        assert!(replay.ends_with(&format!("--mutant {}", r["mutant"].as_str().unwrap())));
    }
    let unmodified = doc["unmodified"].as_array().unwrap();
    assert_eq!(unmodified[0]["lab"], "raft");
    assert_eq!(unmodified[0]["passed"], true);
}
