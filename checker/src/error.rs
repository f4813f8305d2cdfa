//! Errors of the checker's boundaries: malformed histories and unreadable input files.

use thiserror::Error;

/// A history whose shape makes it impossible to check.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HistoryError {
    #[error("operation {index}: returns at {ret}, before its call at {call}")]
    ReturnBeforeCall { index: usize, call: i64, ret: i64 },
    #[error(
        "operation {index}: has a return time but no output (use \"return\": null for no response)"
    )]
    MissingOutput { index: usize },
    #[error("event {event}: a second call with id {id}")]
    DuplicateCall { event: usize, id: usize },
    #[error("event {event}: a return for id {id}, which was never called")]
    ReturnWithoutCall { event: usize, id: usize },
    #[error("event {event}: a second return for id {id}")]
    DuplicateReturn { event: usize, id: usize },
    #[error("event {event}: client {client} calls while its operation {outstanding} is still outstanding")]
    ClientBusy {
        event: usize,
        client: u64,
        outstanding: usize,
    },
}

/// Where in an input file something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A 1-based line of the file.
    Line(usize),
    /// An operation (0-based index in the history) of a file without useful line numbers.
    Operation(usize),
    /// An event (0-based) of an event history.
    Event(usize),
    /// A 1-based line and column, for syntax errors.
    LineColumn(usize, usize),
    /// A 1-based line and column and the 0-based byte offset in the file, for the first bad byte of a
    /// file read as a stream.
    Position {
        line: usize,
        column: usize,
        offset: u64,
    },
    /// The file as a whole.
    File,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Line(l) => write!(f, "line {l}"),
            Location::Operation(i) => write!(f, "operation {i}"),
            Location::Event(i) => write!(f, "event {i}"),
            Location::LineColumn(l, c) => write!(f, "line {l}, column {c}"),
            Location::Position {
                line,
                column,
                offset,
            } => write!(f, "line {line}, column {column} (byte {offset})"),
            Location::File => write!(f, "file"),
        }
    }
}

/// An input that could not be read as a history.
#[derive(Debug, Error)]
pub enum FormatError {
    #[error("{at}: {message}")]
    Syntax { at: Location, message: String },
    #[error("{at}: {message}")]
    Invalid { at: Location, message: String },
    #[error("unknown model `{name}` (known: {known})")]
    UnknownModel { name: String, known: String },
    #[error("unknown format `{name}` (known: {known})")]
    UnknownFormat { name: String, known: String },
    #[error("cannot tell the format of this file; give --format")]
    Undetected,
    /// A file with nothing in it (or only blank space).
    #[error("empty file")]
    Empty,
    /// A file that was read without error but holds no operation: never a history that passes.
    #[error("no operations found")]
    NoOperations,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl FormatError {
    pub fn invalid(at: Location, message: impl Into<String>) -> Self {
        FormatError::Invalid {
            at,
            message: message.into(),
        }
    }
    pub fn syntax(at: Location, message: impl Into<String>) -> Self {
        FormatError::Syntax {
            at,
            message: message.into(),
        }
    }
}
