//! Subcommands of `quill`. Each lives in its own file; `run` dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod completions;
mod gen;
mod maelstrom;
mod merge;
mod mr;
mod mutants;
mod node;
mod results;
mod test;

/// Exit status for bad input or usage (shared by every subcommand).
pub const EXIT_USAGE: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "quill",
    // The package version, and the git commit when built from a checkout (see build.rs).
    version = env!("QUILL_VERSION"),
    about = "Linearizability checking and deterministic simulation of distributed systems"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check histories for linearizability.
    Check(check::CheckArgs),
    /// Write a synthetic history (reproducible by seed), optionally with an anomaly put in.
    Gen(gen::GenArgs),
    /// Run the simulated lab test catalog (raft, kvsrv, kvraft) over many seeds.
    Test(test::TestArgs),
    /// Print the summary of a sharded sweep from its slices' results files (`test --results`).
    Merge(merge::MergeArgs),
    /// Run nodes written for Jepsen's Maelstrom (Gossip Glomers) as real processes, and check them.
    Maelstrom(maelstrom::MaelstromArgs),
    /// MapReduce as real processes: coordinator, worker, sequential reference.
    Mr(mr::MrArgs),
    /// The bundled systems as Maelstrom nodes (`quill node kvraft`), for `quill maelstrom test`.
    Node(node::NodeArgs),
    /// How fast the harness catches each known bug of the mutant catalog.
    Mutants(mutants::MutantsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell) to standard output.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) to standard output, or write a page per subcommand with --out.
    Man(completions::ManArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Gen(args) => gen::run(args),
        Command::Test(args) => test::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Maelstrom(args) => maelstrom::run(args),
        Command::Mr(args) => mr::run(args),
        Command::Node(args) => node::run(args),
        Command::Mutants(args) => mutants::run(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    }
}
