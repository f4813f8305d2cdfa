//! Subcommands of `quill`. Each lives in its own file; `run` dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod gen;
mod maelstrom;
mod mr;
mod mutants;
mod test;

/// Exit status for bad input or usage (shared by every subcommand).
pub const EXIT_USAGE: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "quill",
    version,
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
    /// Run nodes written for Jepsen's Maelstrom (Gossip Glomers) as real processes, and check them.
    Maelstrom(maelstrom::MaelstromArgs),
    /// MapReduce as real processes: coordinator, worker, sequential reference.
    Mr(mr::MrArgs),
    /// How fast the harness catches each known bug of the mutant catalog.
    Mutants(mutants::MutantsArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Gen(args) => gen::run(args),
        Command::Test(args) => test::run(args),
        Command::Maelstrom(args) => maelstrom::run(args),
        Command::Mr(args) => mr::run(args),
        Command::Mutants(args) => mutants::run(args),
    }
}
