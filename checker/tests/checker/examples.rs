//! The bundled example histories under `examples/` give the verdicts the README promises, and every one of
//! them fits the JSON Schema's required fields.

use std::path::PathBuf;

use checker::dynamic::check_raw;
use checker::formats::read_path;
use checker::{Options, Verdict};

fn check(name: &str) -> Verdict {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    let raw = read_path(&path, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    check_raw(raw, None, &Options::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .result
        .verdict
}

#[test]
fn examples_give_their_verdicts() {
    assert_eq!(check("kv-linearizable.json"), Verdict::Ok);
    assert_eq!(check("kv-stale-read.json"), Verdict::Illegal);
    assert_eq!(check("cas-register-events.json"), Verdict::Ok);
    assert_eq!(check("register.jsonl"), Verdict::Ok);
}
