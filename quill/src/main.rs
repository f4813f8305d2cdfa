//! The `quill` command line: `quill check` for histories, `quill test` for the simulated lab catalog.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        // `--help` and `--version` are answers, not errors: they go to standard output with status 0.
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        // A usage error (unknown flag, missing file, a value that does not parse) is bad input: status 3,
        // never 2, which means "unknown" to a CI gate.
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(cli::EXIT_USAGE);
        }
    };
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(cli::EXIT_USAGE)
        }
    }
}
