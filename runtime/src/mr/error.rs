//! Why a test of the real-process suite ([`super::suite`]) failed, or could not run.
//!
//! Every variant names the place: the process ([`Process`]: the coordinator, worker `i`, ...),
//! the file or directory, the time limit. The underlying error (`std::io::Error`, [`MrError`],
//! [`script::TestFailure`]) is kept as the [`source`](std::error::Error::source), not flattened
//! into the message: the message says what failed, and a reader walks the chain for why (anyhow's
//! `{:#}` prints `message: source: ...`). A failed assertion of the script is shown as the
//! script's own words ([`SuiteError::Check`] is transparent); the report beside it names the test.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use mapreduce::script;

use super::MrError;

/// One process of a test, as messages name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Process {
    Coordinator,
    /// Worker `i` (from 0) of the workers a test starts at once.
    Worker(usize),
    /// A worker of the crash test: slot 0 is the first worker, slots 1.. restart theirs in a loop.
    CrashWorker {
        slot: usize,
    },
    /// The faults test's worker that is killed in its first task.
    Victim,
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Coordinator => f.write_str("coordinator"),
            Process::Worker(i) => write!(f, "worker {i}"),
            Process::CrashWorker { slot: 0 } => f.write_str("first crash worker"),
            Process::CrashWorker { slot } => write!(f, "crash worker in slot {slot}"),
            Process::Victim => f.write_str("worker to be killed"),
        }
    }
}

/// Errors of the suite, each naming what it was doing and where.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("reading the input directory {}", dir.display())]
    ReadInputs {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no pg-*.txt in {}", dir.display())]
    NoInputs { dir: PathBuf },
    #[error("resolving the input {}", path.display())]
    ResolveInput {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The sequential output a test compares with could not be computed.
    #[error("computing the sequential {app} output")]
    Reference {
        app: &'static str,
        #[source]
        source: MrError,
    },
    #[error("making the test directory {}", dir.display())]
    TestDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the {process}")]
    Start {
        process: Process,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for the {process}")]
    Wait {
        process: Process,
        #[source]
        source: std::io::Error,
    },
    #[error("killing the {process}")]
    Kill {
        process: Process,
        #[source]
        source: std::io::Error,
    },
    #[error("the {process} ran longer than its limit of {} s and was killed", limit.as_secs())]
    OverLimit { process: Process, limit: Duration },
    #[error("the coordinator's socket {} did not appear within {} s", socket.display(), waited.as_secs())]
    NoSocket { socket: PathBuf, waited: Duration },
    #[error("moving the coordinator's socket {} to {}", from.display(), to.display())]
    MoveSocket {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no process exited within {} s", limit.as_secs())]
    NoExit { limit: Duration },
    /// The job ran, and its output failed the script's assertion.
    #[error(transparent)]
    Check(#[from] script::TestFailure),
}

impl SuiteError {
    /// For `map_err`: an I/O failure of `process` while starting it.
    pub(crate) fn start(process: Process) -> impl FnOnce(std::io::Error) -> Self {
        move |source| SuiteError::Start { process, source }
    }
}
