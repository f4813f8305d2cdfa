//! The bundled systems as real Maelstrom nodes: `quill node kvraft`.
//!
//! The same sans-IO cores the simulator runs (`kvraft::KvServer` on `raft::Raft`), driven by tokio
//! with real timers and a file-backed persister, speaking Maelstrom's protocol on stdin/stdout, so
//! `quill maelstrom test -w lin-kv --bin 'quill node kvraft' --node-count 5 --nemesis partition,kill`
//! (or Maelstrom itself) runs them like any user's node.
//!
//! # State on disk
//! A node's state lives in `<data dir>/<node id>/` ([`persister`]). The data directory is
//! `--data-dir`, else `$QUILL_NODE_DATA` (which Quill's runner sets to `node-data/` in the run's
//! results directory, so a run never starts from an earlier run's state), else a fresh temporary
//! directory per process (durable across nothing, said so on stderr).
//!
//! # Map
//! - [`kvraft`]: the lin-kv node (requests, forwarding to the leader, error codes).
//! - [`persister`]: Raft state and snapshot in one fsync'd file, replaced by atomic rename.
//! - [`tcp`]: the second transport: messages between nodes over TCP on 127.0.0.1.

pub mod kvraft;
pub mod persister;
pub mod tcp;

use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;

use serde_json::Value as Json;
use tokio::io::{AsyncBufRead, Lines};
use tokio::sync::mpsc;

use crate::maelstrom::protocol::{code, error_body, Message};
use persister::PersistError;

/// What a node is started with.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the nodes' directories go (see the module guide for the default).
    pub data_dir: Option<PathBuf>,
    /// Seeds the core's RNG (election timeouts), mixed with the node's index.
    pub seed: u64,
    /// Snapshot once the persisted Raft state reaches this many bytes.
    pub max_raft_state: usize,
    /// Peers over TCP (`--transport tcp`): listen on `$QUILL_TCP_LISTEN`, reach node `j` at the
    /// `j`-th address of `$QUILL_TCP_PEERS` (the runner's proxy, see `maelstrom::tcp_proxy`).
    pub tcp: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            data_dir: None,
            seed: 0,
            max_raft_state: 64 << 10,
            tcp: false,
        }
    }
}

impl Options {
    /// Parses `[--data-dir DIR] [--seed N] [--max-raft-state BYTES]` (the `quill-node` binary's
    /// arguments after the system's name; `quill node` parses the same with clap).
    pub fn parse(args: &[String]) -> Result<Options, NodeError> {
        let mut o = Options::default();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next().cloned().ok_or_else(|| NodeError::Usage {
                    message: format!("{flag} needs a value"),
                })
            };
            let number = |flag: &str, v: String| {
                v.parse::<u64>().map_err(|_| NodeError::Usage {
                    message: format!("{flag} takes a number, not `{v}`"),
                })
            };
            match flag.as_str() {
                "--data-dir" => o.data_dir = Some(PathBuf::from(value()?)),
                "--seed" => o.seed = number(flag, value()?)?,
                "--max-raft-state" => o.max_raft_state = number(flag, value()?)? as usize,
                "--transport" => match value()?.as_str() {
                    "pipe" => o.tcp = false,
                    "tcp" => o.tcp = true,
                    other => {
                        return Err(NodeError::Usage {
                            message: format!("--transport is pipe or tcp, not `{other}`"),
                        })
                    }
                },
                other => {
                    return Err(NodeError::Usage {
                        message: format!("unknown option `{other}`"),
                    })
                }
            }
        }
        Ok(o)
    }

    /// The directory of node `name`.
    fn data_dir_for(&self, name: &str) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.join(name);
        }
        if let Some(dir) = std::env::var_os("QUILL_NODE_DATA") {
            return PathBuf::from(dir).join(name);
        }
        let dir = std::env::temp_dir().join(format!("quill-node-{}", std::process::id()));
        eprintln!(
            "{name}: no --data-dir and no $QUILL_NODE_DATA: state in {}, which a restart will not find",
            dir.display()
        );
        dir.join(name)
    }
}

/// Why a node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{message}")]
    Usage { message: String },
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("stdin closed before init")]
    NoInit,
    #[error("init names this node {me:?}, which is not among node_ids {names:?}")]
    BadInit { me: String, names: Vec<String> },
    #[error(transparent)]
    Persist(#[from] PersistError),
    #[error("cannot restore the state in {}: {source}", dir.display())]
    Restore {
        dir: PathBuf,
        source: ::kvraft::RestoreError,
    },
}

/// The node's stdout: one message per line, flushed at once.
pub(crate) struct Stdout {
    next_msg_id: Cell<u64>,
}

impl Stdout {
    fn new() -> Self {
        Stdout {
            next_msg_id: Cell::new(0),
        }
    }

    /// Sends `body` (given a fresh `msg_id`) from `src` to `dest`.
    fn send(&self, src: &str, dest: &str, mut body: Json) {
        let id = self.next_msg_id.get() + 1;
        self.next_msg_id.set(id);
        body["msg_id"] = id.into();
        let line = Message::new(src, dest, body).to_line();
        let mut out = std::io::stdout().lock();
        // A closed stdout means the runner is gone; the loop ends when stdin closes too.
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }

    /// Answers `request` with `body`.
    fn reply(&self, request: &Message, mut body: Json) {
        body["in_reply_to"] = request.msg_id().map_or(Json::Null, Json::from);
        self.send(&request.dest, &request.src, body);
    }
}

/// How messages between nodes travel: as Maelstrom messages through the runner on stdout, or one
/// message per line over TCP ([`tcp`]).
pub(crate) enum Peers {
    Pipe,
    Tcp(tcp::TcpPeers),
}

impl Peers {
    async fn start(
        options: &Options,
        me: usize,
        names: &[String],
        incoming: mpsc::UnboundedSender<Message>,
    ) -> Result<Peers, NodeError> {
        if !options.tcp {
            return Ok(Peers::Pipe);
        }
        let var = |name: &str| {
            std::env::var(name).map_err(|_| NodeError::Usage {
                message: format!(
                    "--transport tcp needs ${name} (set by `quill maelstrom test --tcp`)"
                ),
            })
        };
        let listen = var("QUILL_TCP_LISTEN")?;
        let peers: Vec<String> = var("QUILL_TCP_PEERS")?
            .split(',')
            .map(str::to_string)
            .collect();
        if peers.len() != names.len() {
            return Err(NodeError::Usage {
                message: format!(
                    "$QUILL_TCP_PEERS has {} addresses for {} nodes",
                    peers.len(),
                    names.len()
                ),
            });
        }
        eprintln!("{}: peers over TCP, listening on {listen}", names[me]);
        Ok(Peers::Tcp(
            tcp::TcpPeers::start(&listen, peers, names, incoming).await?,
        ))
    }

    fn send(&self, out: &Stdout, src: &str, dest: &str, body: Json) {
        match self {
            Peers::Pipe => out.send(src, dest, body),
            Peers::Tcp(peers) => peers.send(src, dest, body),
        }
    }
}

/// Reads stdin until `init`; answers anything else that expects an answer with error 11.
/// Returns the init message, this node's index and every node's name (not yet answered: the caller
/// answers once it has restored its state).
async fn await_init<R: AsyncBufRead + Unpin>(
    lines: &mut Lines<R>,
    out: &Stdout,
) -> Result<(Message, usize, Vec<String>), NodeError> {
    loop {
        let line = lines
            .next_line()
            .await
            .map_err(|source| NodeError::Io {
                what: "reading stdin",
                source,
            })?
            .ok_or(NodeError::NoInit)?;
        let Ok(m) = Message::parse(&line) else {
            eprintln!("ignoring a line that is not a message: {line}");
            continue;
        };
        if m.kind() != "init" {
            if m.msg_id().is_some() {
                out.reply(
                    &m,
                    error_body(None, code::TEMPORARILY_UNAVAILABLE, "not initialised yet"),
                );
            }
            continue;
        }
        let me = m.body.get("node_id").and_then(Json::as_str).unwrap_or("");
        let names: Vec<String> = m
            .body
            .get("node_ids")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let Some(index) = names.iter().position(|n| n == me) else {
            return Err(NodeError::BadInit {
                me: me.to_string(),
                names,
            });
        };
        return Ok((m, index, names));
    }
}

/// Runs node `system` (`kvraft`) with `options` on a single-threaded runtime until stdin closes.
pub fn main(system: &str, options: Options) -> Result<(), NodeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| NodeError::Io {
            what: "starting the tokio runtime",
            source,
        })?;
    match system {
        "kvraft" => rt.block_on(kvraft::serve(options)),
        other => Err(NodeError::Usage {
            message: format!("unknown system `{other}` (known: kvraft)"),
        }),
    }
}
