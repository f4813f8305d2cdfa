//! The real driver of Quill's systems: the same sans-IO cores that run under the simulator, run as OS
//! processes over tokio, with real clocks, pipes, sockets and files.
//!
//! The simulator (`sim`) is the other driver. A host adapter written against `sim::Ctx` emits
//! `sim::Effect`s; this crate carries them out for real (a call becomes a message on a socket, a
//! timer a tokio sleep, the persister a file), so nothing in `systems/` knows which driver runs it.
//!
//! # Modules
//! - [`maelstrom`]: `quill maelstrom test`, a runner for nodes that speak Jepsen's Maelstrom
//!   protocol: processes, the runner's own network and faults, the workloads' clients and checkers.
//! - [`mr`]: MapReduce's coordinator and workers as processes over a Unix domain socket, the
//!   driver that answers a worker's needs with real files, time and processes, and the lab's
//!   seven-test suite with real processes.
//! - [`node`]: the bundled systems as Maelstrom nodes (`quill node kvraft`): kvraft with real
//!   timers and a file-backed persister.

pub mod maelstrom;
pub mod mr;
pub mod node;
