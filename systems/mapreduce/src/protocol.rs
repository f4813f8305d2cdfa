//! What travels between workers and the coordinator (the lab's `rpc.go`).
//!
//! A worker only ever calls; the coordinator only answers. A worker asks for work with
//! [`Request::GetTask`] and is told to run a task, to wait, or to exit; after a task it sends
//! [`Request::Report`] with a digest of the files it renamed into place, so a task reported twice
//! (a backup task after the 10 s re-issue) can be checked to have produced the same output.

use serde::{Deserialize, Serialize};

/// A task of the job: map task `X` reads input file `X`; reduce task `Y` reads every `mr-X-Y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaskId {
    Map(usize),
    Reduce(usize),
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskId::Map(x) => write!(f, "map {x}"),
            TaskId::Reduce(y) => write!(f, "reduce {y}"),
        }
    }
}

/// One handing-out of a task to a worker. `attempt` is unique in the job, so two workers running
/// the same task never share a temporary file name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub task: TaskId,
    pub attempt: u64,
    /// The input file of a map task (as the coordinator was given it); `None` for a reduce task.
    pub file: Option<String>,
    pub n_map: usize,
    pub n_reduce: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Give me something to do.
    GetTask,
    /// I finished `attempt` of `task`; `digest` is the FNV-1a 64 of the files I renamed into
    /// place, in order (see [`crate::digest`]).
    Report {
        task: TaskId,
        attempt: u64,
        digest: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Task(Assignment),
    /// Every task of the current phase is running; ask again a little later.
    Wait,
    /// The job is done: exit.
    Exit,
    /// A report was received.
    Ack,
}
