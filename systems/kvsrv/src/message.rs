//! What travels between clerks and the server.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A clerk's identity (`nrand()` in the lab: 62 random bits, drawn by whoever builds the clerk).
pub type ClientId = u64;
/// A clerk's write counter; its first write has sequence number 1.
pub type Seq = u64;

/// A request to the server. Writes carry the client's id and sequence number for duplicate
/// detection; `Get` carries neither, because the server keeps no state for reads.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Get {
        key: String,
    },
    Put {
        client: ClientId,
        seq: Seq,
        key: String,
        value: String,
    },
    Append {
        client: ClientId,
        seq: Seq,
        key: String,
        value: String,
    },
}

/// The server's answer. Outcomes of the protocol are values, never errors.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The value of the key ("" if it was never written).
    Get {
        value: String,
    },
    Put,
    /// The value the append replaced. Shared with the server's duplicate table, which keeps it
    /// to answer a retransmission: one copy of a value that can be megabytes long, not two.
    Append {
        old: Arc<str>,
    },
    /// The request is older than the newest write the server executed for this client: the
    /// client has already moved on and nobody waits for this reply.
    Stale,
}

/// An operation as the clerk's user asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Get { key: String },
    Put { key: String, value: String },
    Append { key: String, value: String },
}

/// What the user of a clerk gets back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Value(String),
    Put,
    Appended { old: Arc<str> },
}

/// Values can be megabytes long (the memory tests use 10 MiB): show their length and a prefix.
struct Short<'a>(&'a str);

impl fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 24;
        if self.0.len() <= MAX {
            write!(f, "{:?}", self.0)
        } else {
            let cut = (0..=MAX)
                .rev()
                .find(|&i| self.0.is_char_boundary(i))
                .unwrap_or(0);
            write!(f, "{:?}..<{} B>", &self.0[..cut], self.0.len())
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Get { key } => write!(f, "Get({:?})", Short(key)),
            Request::Put {
                client,
                seq,
                key,
                value,
            } => {
                write!(
                    f,
                    "Put(c{client}#{seq} {:?} {:?})",
                    Short(key),
                    Short(value)
                )
            }
            Request::Append {
                client,
                seq,
                key,
                value,
            } => {
                write!(
                    f,
                    "Append(c{client}#{seq} {:?} {:?})",
                    Short(key),
                    Short(value)
                )
            }
        }
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Get { value } => write!(f, "GetReply({:?})", Short(value)),
            Reply::Put => write!(f, "PutReply"),
            Reply::Append { old } => write!(f, "AppendReply(old {:?})", Short(old)),
            Reply::Stale => write!(f, "Stale"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_print_short() {
        let r = Reply::Get {
            value: "x".repeat(100),
        };
        assert_eq!(
            format!("{r:?}"),
            format!("GetReply({:?}..<100 B>)", "x".repeat(24))
        );
    }
}
