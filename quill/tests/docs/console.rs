//! The `console` blocks, run by trycmd from the repository root.
//!
//! trycmd reads a Markdown file's `console` blocks, and also any block without a language: every block
//! of a tested document must therefore say what it is (`json`, `text`, `sh`, ...).

use super::blocks::blocks;
use super::{documents, root};

#[test]
fn every_block_names_its_language() {
    for doc in &documents() {
        for block in blocks(&root().join(doc)) {
            assert!(
                !block.lang.is_empty(),
                "{doc}:{}: a code block without a language (trycmd would run it); say `text`, `sh`, `console`, ...",
                block.line
            );
        }
    }
}

#[test]
fn console_examples_give_the_output_shown() {
    let root = root();
    // trycmd runs a Markdown file's commands in the current directory: the root, as a reader would.
    // This is the only test of this binary that depends on the current directory.
    std::env::set_current_dir(&root).expect("entering the workspace root");
    let cases = trycmd::TestCases::new();
    cases.register_bin("quill", trycmd::cargo::cargo_bin!("quill"));
    let mut any = false;
    for doc in &documents() {
        if blocks(&root.join(doc)).iter().any(|b| b.lang == "console") {
            cases.case(doc.as_str());
            any = true;
        }
    }
    assert!(any, "no console blocks found in {:?}", documents());
    cases.run();
}
