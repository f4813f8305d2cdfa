//! MapReduce as real processes: `quill mr coordinator` and `quill mr worker`, over a Unix domain
//! socket, around the same sans-IO [`mapreduce::Coordinator`] and [`mapreduce::worker`] the
//! simulator runs.
//!
//! - [`rpc`]: one JSON line each way per connection; a call that fails is the lab's `false`.
//! - [`driver`]: [`driver::RealEnv`] answers a worker's needs with real files, time, pids and
//!   programs (the external-command application runs here, never in `systems/`).
//! - [`coordinator`]: serves the coordinator on the socket, polls `Done()` every second and exits
//!   one second after the job is done, removing its socket (`mrcoordinator.go`).
//! - [`worker`](mod@worker): runs one worker process (`mrworker.go`).
//! - [`suite`]: the seven tests of `test-mr.sh` with real processes, plus a run with faults;
//!   [`error`]: why one of its tests failed ([`SuiteError`]), naming the process, file or limit.
//!
//! Paths: every file name a job uses (inputs as given to the coordinator, `mr-X-Y`, `mr-out-Y`)
//! is relative to the job directory (`--dir`, default `.`), unless absolute.

pub mod coordinator;
pub mod driver;
pub mod error;
pub mod rpc;
pub mod suite;
pub mod worker;

use std::path::PathBuf;

pub use error::{Process, SuiteError};

/// Errors of the MapReduce processes, each naming what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum MrError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("input file {path} (relative to the job directory {dir}) does not exist")]
    MissingInput { path: String, dir: PathBuf },
    #[error("another coordinator is listening on {0}")]
    SocketInUse(PathBuf),
    #[error("worker: {0}")]
    Worker(#[from] mapreduce::WorkerError),
    #[error("sequential reference: {0}")]
    Sequential(#[from] mapreduce::SequentialError),
    #[error("unknown application `{name}`; known: {known}, or external")]
    UnknownApp { name: String, known: String },
}

impl MrError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| MrError::Io { op, path, source }
    }
}
