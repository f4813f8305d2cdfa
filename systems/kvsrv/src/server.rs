//! The server: a map, a duplicate table, and an account of the heap bytes both hold.
//!
//! # Memory
//! The lab bounds what the server retains (catalog section 1): 200 B per client that wrote once,
//! 10 B per client that only read, and no second copy of a large value. Hence:
//! - one [`Dup`] per client that ever wrote: its last sequence number and, only after an `Append`,
//!   the old value returned, which the next write of that client frees;
//! - `Put` values are never cached (the reply to a retried `Put` carries nothing);
//! - a new value is built with exactly the capacity it needs, so that a long chain of appends
//!   does not leave a doubled buffer behind.
//!
//! [`Server::retained_bytes`] adds up the heap blocks the server owns, from the capacities of its
//! strings and the table layout of `hashbrown` (the `HashMap` of std). The harness's memory tests
//! compare it with a counting global allocator.

use std::mem::size_of;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::message::{ClientId, Reply, Request, Seq};

/// Test-only switches that put a known bug back, so that a harness can show it catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Execute every write, retransmissions included: a retried `Append` whose first reply was
    /// lost appends twice.
    NoDuplicateDetection,
}

/// Server configuration. The default is the correct server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `None` in any real use.
    pub mutation: Option<Mutation>,
}

/// What the server remembers about one client's writes.
#[derive(Debug)]
struct Dup {
    /// The newest write executed for this client.
    seq: Seq,
    /// The old value that write returned, if it was an `Append` (shared with that reply).
    old: Option<Arc<str>>,
}

/// The key/value server. See the crate documentation.
#[derive(Debug, Default)]
pub struct Server {
    config: Config,
    // FxHashMap rather than std's RandomState: no hidden OS randomness in a deterministic core,
    // and nothing ever iterates these maps in an observable order.
    data: FxHashMap<String, String>,
    dups: FxHashMap<ClientId, Dup>,
}

impl Server {
    pub fn new(config: Config) -> Server {
        Server {
            config,
            ..Server::default()
        }
    }

    /// Executes one request (the `KVServer.Get/Put/Append` handlers).
    pub fn handle(&mut self, req: Request) -> Reply {
        match req {
            Request::Get { key } => Reply::Get {
                value: self.value(&key).to_string(),
            },
            Request::Put {
                client,
                seq,
                key,
                value,
            } => {
                if let Some(reply) = self.duplicate(client, seq, false) {
                    return reply;
                }
                self.set(key, value);
                self.executed(client, seq, None);
                Reply::Put
            }
            Request::Append {
                client,
                seq,
                key,
                value,
            } => {
                if let Some(reply) = self.duplicate(client, seq, true) {
                    return reply;
                }
                let slot = self.data.entry(key).or_default();
                let mut next = String::with_capacity(slot.len() + value.len());
                next.push_str(slot);
                next.push_str(&value);
                let old: Arc<str> = Arc::from(std::mem::replace(slot, next));
                self.executed(client, seq, Some(old.clone()));
                Reply::Append { old }
            }
        }
    }

    /// The reply for a write already executed (or superseded), or `None` if it is new.
    fn duplicate(&self, client: ClientId, seq: Seq, append: bool) -> Option<Reply> {
        if self.config.mutation == Some(Mutation::NoDuplicateDetection) {
            return None;
        }
        let dup = self.dups.get(&client)?;
        if seq > dup.seq {
            return None;
        }
        if seq < dup.seq {
            return Some(Reply::Stale);
        }
        Some(match (&dup.old, append) {
            (Some(old), true) => Reply::Append { old: old.clone() },
            (None, false) => Reply::Put,
            // A client reused a sequence number for a different kind of write: a clerk bug.
            _ => panic!("client {client} reused sequence number {seq} for a different operation"),
        })
    }

    /// Records that `client`'s write `seq` ran; replacing the entry frees the previous cached value.
    fn executed(&mut self, client: ClientId, seq: Seq, old: Option<Arc<str>>) {
        if self.config.mutation == Some(Mutation::NoDuplicateDetection) {
            return;
        }
        self.dups.insert(client, Dup { seq, old });
    }

    fn set(&mut self, key: String, value: String) {
        self.data.insert(key, value);
    }

    /// The current value of `key` ("" if never written).
    pub fn value(&self, key: &str) -> &str {
        self.data.get(key).map_or("", String::as_str)
    }

    /// How many clients the duplicate table remembers.
    pub fn clients_tracked(&self) -> usize {
        self.dups.len()
    }

    /// The heap bytes the server holds: its two tables and every string in them.
    pub fn retained_bytes(&self) -> usize {
        let data = table_bytes(self.data.capacity(), size_of::<(String, String)>())
            + self
                .data
                .iter()
                .map(|(k, v)| k.capacity() + v.capacity())
                .sum::<usize>();
        let dups = table_bytes(self.dups.capacity(), size_of::<(ClientId, Dup)>())
            + self
                .dups
                .values()
                .map(|d| d.old.as_ref().map_or(0, |o| ARC_HEADER + o.len()))
                .sum::<usize>();
        data + dups
    }
}

/// The two reference counts in front of an `Arc`'s data.
const ARC_HEADER: usize = 2 * size_of::<usize>();

/// The width of hashbrown's control-byte groups: 16 with SSE2, 8 with the generic implementation.
const GROUP_WIDTH: usize = if cfg!(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
)) {
    16
} else {
    8
};

/// The size of the one allocation behind a hashbrown table of `capacity` (as `HashMap::capacity`
/// reports it) with entries of `entry` bytes: the buckets, padded to the group width, then one
/// control byte per bucket plus a trailing group.
fn table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    // `capacity()` is `buckets - 1` below 8 buckets and `buckets / 8 * 7` from 8 buckets on.
    let buckets = if capacity < 8 {
        capacity + 1
    } else {
        capacity / 7 * 8
    };
    let data = (entry * buckets).div_ceil(GROUP_WIDTH) * GROUP_WIDTH;
    data + buckets + GROUP_WIDTH
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(client: ClientId, seq: Seq, key: &str, value: &str) -> Request {
        Request::Put {
            client,
            seq,
            key: key.into(),
            value: value.into(),
        }
    }
    fn append(client: ClientId, seq: Seq, key: &str, value: &str) -> Request {
        Request::Append {
            client,
            seq,
            key: key.into(),
            value: value.into(),
        }
    }
    fn get(key: &str) -> Request {
        Request::Get { key: key.into() }
    }

    #[test]
    fn get_put_append() {
        let mut s = Server::new(Config::default());
        assert_eq!(
            s.handle(get("k")),
            Reply::Get {
                value: String::new()
            }
        );
        assert_eq!(s.handle(put(1, 1, "k", "a")), Reply::Put);
        assert_eq!(
            s.handle(append(1, 2, "k", "b")),
            Reply::Append { old: "a".into() }
        );
        assert_eq!(s.handle(get("k")), Reply::Get { value: "ab".into() });
    }

    #[test]
    fn retried_writes_execute_once() {
        let mut s = Server::new(Config::default());
        assert_eq!(
            s.handle(append(7, 1, "k", "x")),
            Reply::Append { old: "".into() }
        );
        assert_eq!(
            s.handle(append(7, 1, "k", "x")),
            Reply::Append { old: "".into() }
        );
        assert_eq!(s.value("k"), "x");
        assert_eq!(s.handle(put(7, 2, "k", "p")), Reply::Put);
        assert_eq!(s.handle(put(7, 2, "k", "p")), Reply::Put);
        // A delayed copy of an older write changes nothing.
        assert_eq!(s.handle(append(7, 1, "k", "x")), Reply::Stale);
        assert_eq!(s.value("k"), "p");
    }

    #[test]
    fn next_write_frees_the_cached_old_value() {
        let mut s = Server::new(Config::default());
        s.handle(put(1, 1, "k", &"v".repeat(1000)));
        s.handle(append(1, 2, "k", "w"));
        assert_eq!(s.dups[&1].old.as_deref().map(str::len), Some(1000));
        s.handle(put(1, 3, "j", "z"));
        assert!(s.dups[&1].old.is_none());
    }

    #[test]
    fn gets_keep_no_client_state() {
        let mut s = Server::new(Config::default());
        for _ in 0..100 {
            s.handle(get("k"));
        }
        assert_eq!(s.clients_tracked(), 0);
        assert_eq!(s.retained_bytes(), 0);
    }

    #[test]
    fn mutation_appends_twice() {
        let mut s = Server::new(Config {
            mutation: Some(Mutation::NoDuplicateDetection),
        });
        s.handle(append(7, 1, "k", "x"));
        assert_eq!(
            s.handle(append(7, 1, "k", "x")),
            Reply::Append { old: "x".into() }
        );
        assert_eq!(s.value("k"), "xx");
    }

    #[test]
    fn table_layout() {
        // 3 and 7 are the capacities of 4 and 8 buckets; 14 of 16.
        assert_eq!(table_bytes(3, 32), 4 * 32 + 4 + GROUP_WIDTH);
        assert_eq!(table_bytes(14, 32), 16 * 32 + 16 + GROUP_WIDTH);
        assert_eq!(table_bytes(0, 32), 0);
    }
}
