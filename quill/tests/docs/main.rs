//! The documentation cannot drift from the program: every command shown in README.md and docs/ is run
//! or checked here, so an example that no longer holds fails the build.
//!
//! - `console` blocks (a `$ command`, then its exact output, `[..]` standing for a part that varies such
//!   as a time) are run by trycmd from the repository root, output and exit status compared.
//! - `sh` blocks hold commands too long or too heavy to run in a test (benchmarks, installs, a
//!   million-operation history, the full test suite): each is checked for its usage instead, every
//!   option against `quill SUBCOMMAND --help` and every cargo package, binary, example, benchmark and
//!   script against the workspace.
//! - The pretty-printed `--json` example of docs/json-output.md is compared, as JSON, with what
//!   `quill check --json` prints for the same file (times aside).
//!
//! # Re-blessing
//!
//! When the program's output changes on purpose (a reworded error message, a new field), write the new
//! output into the docs instead of editing them by hand, then read the diff:
//!
//! ```text
//! TRYCMD=overwrite cargo test -p quill-cli --test docs
//! git diff README.md docs/
//! ```
//!
//! trycmd rewrites each failing `console` block's output (keeping the `[..]` of lines that still match),
//! and the JSON example is replaced by the real document. A `[..]` that a changed line needs again (a
//! time) must be put back by hand; the next plain run says where. The `sh` usage check has nothing to
//! bless: a drift there is a wrong option or target name in the docs, fixed by hand.

mod blocks;
mod console;
mod json_example;
mod usage;

use std::path::PathBuf;

/// Whether this run re-blesses the docs with the real output (`TRYCMD=overwrite`, as trycmd reads it).
pub fn blessing() -> bool {
    std::env::var("TRYCMD").is_ok_and(|v| v == "overwrite")
}

/// The repository root, where the documented commands are run from.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The documents whose commands are tested: README.md and every page of docs/ (a new page is covered
/// without being listed here), as paths relative to the root.
pub fn documents() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap_or_else(|e| panic!("{}: {e}", root().join("docs").display()))
        .map(|entry| {
            entry
                .expect("reading docs/")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    docs.insert(0, "README.md".to_string());
    docs
}
