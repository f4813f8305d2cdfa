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

mod blocks;
mod console;
mod json_example;
mod usage;

use std::path::PathBuf;

/// The repository root, where the documented commands are run from.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The documents whose commands are tested.
pub const DOCUMENTS: &[&str] = &[
    "README.md",
    "docs/history-format.md",
    "docs/json-output.md",
    "docs/performance.md",
];
