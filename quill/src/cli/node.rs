//! `quill node kvraft`: Quill's kvraft as a Maelstrom lin-kv node (see `runtime::node`).
//!
//! Run it under any Maelstrom runner: `quill maelstrom test -w lin-kv --bin 'quill node kvraft'
//! --node-count 5 --nemesis partition,kill`. Its Raft state is in `<data dir>/<node id>/`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct NodeArgs {
    #[command(subcommand)]
    pub system: NodeSystem,
}

#[derive(Debug, Subcommand)]
pub enum NodeSystem {
    /// kvraft (on Raft) serving lin-kv: read, write, cas.
    Kvraft(KvraftArgs),
}

#[derive(Debug, Args)]
pub struct KvraftArgs {
    /// Where node `nX` keeps its state (`DIR/nX/`); default `$QUILL_NODE_DATA`, which
    /// `quill maelstrom test` sets per run.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Seeds the election timeouts (mixed with the node's index).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Snapshot once the persisted Raft state reaches this many bytes.
    #[arg(long, default_value_t = 64 << 10)]
    pub max_raft_state: usize,
    /// `tcp`: Raft messages over TCP through the runner's proxy (`quill maelstrom test --tcp`);
    /// `pipe` (the default): as Maelstrom messages on stdout.
    #[arg(long, default_value = "pipe", value_parser = ["pipe", "tcp"])]
    pub transport: String,
}

pub fn run(args: NodeArgs) -> anyhow::Result<ExitCode> {
    match args.system {
        NodeSystem::Kvraft(a) => {
            let options = runtime::node::Options {
                data_dir: a.data_dir,
                seed: a.seed,
                max_raft_state: a.max_raft_state,
                tcp: a.transport == "tcp",
            };
            runtime::node::main("kvraft", options).context("quill node kvraft")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
