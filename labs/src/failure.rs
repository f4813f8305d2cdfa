//! [`Failure`]: why a run failed, as a value the runner and the CLI can count and sort by kind.
//!
//! The Go testers fail with a string (`t.Fatalf`); ours keep the same messages, but say which kind of
//! check caught the run, so `quill test` and `quill mutants` can tell an invariant from a lab
//! assertion, a linearizability violation or a liveness failure without matching on text.

use std::fmt;

use sim::Time;

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A safety invariant checked after every event (Raft's Figure 3 properties, a lab's own).
    Invariant { message: String },
    /// The recorded client history has no linearization.
    NotLinearizable { detail: String },
    /// The recorded history could not be checked at all (a harness bug, never a system's).
    MalformedHistory { message: String },
    /// One of the lab tester's own checks (`t.Fatalf`), with its message.
    Assertion { message: String },
    /// The system made no progress within the bound a scenario allows once its faults stopped
    /// (a liveness assertion: "a leader within the lab's time whenever a majority can talk").
    Liveness { message: String },
    /// The test ran past the tester's time limit (virtual time).
    TimeLimit { limit_ms: Time },
    /// Nothing was left to happen while the test was still waiting.
    Stuck,
    /// More events at one instant than any correct run produces: messages bouncing in zero time.
    Livelock { at: Time, events: u64 },
    /// The run panicked (a broken internal invariant of a system or the harness).
    Panic {
        message: String,
        location: Option<String>,
    },
}

/// The broad classes of [`Failure`], as tables print them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    Invariant,
    Linearizability,
    Assertion,
    Liveness,
    Panic,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Invariant => "invariant",
            FailureKind::Linearizability => "linearizability",
            FailureKind::Assertion => "assertion",
            FailureKind::Liveness => "liveness",
            FailureKind::Panic => "panic",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Failure {
    /// A lab assertion with this message.
    pub fn assertion(message: impl Into<String>) -> Failure {
        Failure::Assertion {
            message: message.into(),
        }
    }

    /// An invariant violation with this message.
    pub fn invariant(message: impl Into<String>) -> Failure {
        Failure::Invariant {
            message: message.into(),
        }
    }

    /// A liveness failure with this message.
    pub fn liveness(message: impl Into<String>) -> Failure {
        Failure::Liveness {
            message: message.into(),
        }
    }

    /// The same failure with its message prefixed by where it happened (a shard lab's Raft
    /// group); failures without a message are left as they are.
    pub fn within(self, place: &str) -> Failure {
        let prefix = |message: String| format!("{place}: {message}");
        match self {
            Failure::Invariant { message } => Failure::Invariant {
                message: prefix(message),
            },
            Failure::Assertion { message } => Failure::Assertion {
                message: prefix(message),
            },
            Failure::Liveness { message } => Failure::Liveness {
                message: prefix(message),
            },
            other => other,
        }
    }

    pub fn kind(&self) -> FailureKind {
        match self {
            Failure::Invariant { .. } => FailureKind::Invariant,
            Failure::NotLinearizable { .. } | Failure::MalformedHistory { .. } => {
                FailureKind::Linearizability
            }
            Failure::Assertion { .. } => FailureKind::Assertion,
            Failure::Liveness { .. }
            | Failure::TimeLimit { .. }
            | Failure::Stuck
            | Failure::Livelock { .. } => FailureKind::Liveness,
            Failure::Panic { .. } => FailureKind::Panic,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Invariant { message } | Failure::Assertion { message } => f.write_str(message),
            Failure::Liveness { message } => write!(f, "no progress: {message}"),
            Failure::NotLinearizable { detail } => {
                write!(f, "history is not linearizable ({detail})")
            }
            Failure::MalformedHistory { message } => {
                write!(f, "the recorded history is malformed: {message}")
            }
            Failure::TimeLimit { limit_ms } => {
                write!(f, "test took longer than {} seconds", limit_ms / 1000)
            }
            Failure::Stuck => {
                f.write_str("the simulation ran out of events while the test was waiting")
            }
            Failure::Livelock { at, events } => {
                write!(f, "livelock: more than {events} events at time {at} ms")
            }
            Failure::Panic { message, location } => {
                write!(f, "panic: {message}")?;
                if let Some(l) = location {
                    write!(f, " (at {l})")?;
                }
                Ok(())
            }
        }
    }
}

/// Scenario code written in the Go testers' style returns `Err(format!(..))`: an assertion.
impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Assertion { message }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::assertion(message)
    }
}
