use std::sync::Arc;

use labs::mr::fs::{is_final, SimFs};
use mapreduce::Got;

#[test]
fn final_files_are_intermediates_and_outputs_only() {
    for name in ["mr-0-9", "mr-12-3", "mr-out-0", "mr-out-10"] {
        assert!(is_final(name), "{name}");
    }
    for name in [
        "mr-tmp-0-1-7",
        "mr-tmp-out-3-2",
        "mr-worker-map-1001",
        "mr-out-",
        "mr-1",
        "pg-grimm.txt",
    ] {
        assert!(!is_final(name), "{name}");
    }
}

#[test]
fn a_rename_brings_a_whole_file_and_leaves_no_temporary() {
    let mut fs = SimFs::default();
    fs.write(0, "mr-tmp-out-0-1", b"a 1\n".to_vec());
    assert_eq!(
        fs.rename(1, "mr-tmp-out-0-1", "mr-out-0"),
        Got::Done(Ok(()))
    );
    assert_eq!(fs.get("mr-out-0").map(|f| &f[..]), Some(&b"a 1\n"[..]));
    assert!(fs.get("mr-tmp-out-0-1").is_none());
    // A backup task renaming the same bytes into place is fine.
    fs.write(2, "mr-tmp-out-0-2", b"a 1\n".to_vec());
    fs.rename(3, "mr-tmp-out-0-2", "mr-out-0");
    assert!(fs.violations.is_empty(), "{:?}", fs.violations);
}

#[test]
fn a_final_file_that_changes_is_a_violation() {
    let mut fs = SimFs::default();
    fs.insert("mr-out-3", Arc::from(&b"a 1\n"[..]));
    fs.write(5, "mr-tmp-out-3-9", b"a 2\n".to_vec());
    fs.rename(6, "mr-tmp-out-3-9", "mr-out-3");
    fs.write(7, "mr-out-3", b"in place".to_vec());
    fs.remove(8, "mr-out-3");
    assert_eq!(
        fs.violations,
        [
            "at 6 ms: mr-out-3 changed after it was in place (4 bytes replaced by 4 other bytes)",
            "at 7 ms: mr-out-3 was written in place, not renamed into place",
            "at 8 ms: mr-out-3 was removed",
        ]
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let mut fs = SimFs::default();
    let Got::Bytes(Err(e)) = fs.read("mr-0-0") else {
        panic!("read of a missing file")
    };
    assert_eq!(e.to_string(), "read mr-0-0: no such file or directory");
}
