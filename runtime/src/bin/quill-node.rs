//! `quill-node kvraft [OPTIONS]`: the same node as `quill node kvraft`, as a binary of the runtime
//! crate alone, so the runtime's tests run it without building the whole `quill` command.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((system, rest)) = args.split_first() else {
        eprintln!("usage: quill-node kvraft [--data-dir DIR] [--seed N] [--max-raft-state BYTES]");
        return ExitCode::from(3);
    };
    let result = runtime::node::Options::parse(rest)
        .and_then(|options| runtime::node::main(system, options));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quill-node: {e}");
            ExitCode::from(if matches!(e, runtime::node::NodeError::Usage { .. }) {
                3
            } else {
                1
            })
        }
    }
}
