//! The memo table: every configuration (set of placed operations, state) the search has entered.
//!
//! A lookup must not allocate, since it happens at nearly every step: the key is the placed set's Zobrist
//! hash mixed with the interned state's number, and the table maps it to a chain of stored configurations
//! (a chain longer than one only on a 64-bit hash collision, which is compared away exactly). Sets are
//! stored in their compact form (see [`super::bitset`]) in one shared pool of words.

use rustc_hash::FxHashMap;

use super::bitset::Bitset;

const END: u32 = u32::MAX;

struct Entry {
    state: u32,
    lo: u32,
    start: u32,
    len: u32,
    /// The next entry with the same hash, or [`END`].
    next: u32,
}

#[derive(Default)]
pub(crate) struct Memo {
    heads: FxHashMap<u64, u32>,
    entries: Vec<Entry>,
    pool: Vec<u64>,
}

fn key(placed: &Bitset, state: u32) -> u64 {
    placed.hash()
        ^ u64::from(state)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29)
}

impl Memo {
    /// Records the configuration; false if it was already there.
    pub(crate) fn insert(&mut self, placed: &Bitset, state: u32) -> bool {
        let key = key(placed, state);
        let tail = placed.tail();
        let lo = placed.lo() as u32;
        let head = self.heads.get(&key).copied().unwrap_or(END);
        let mut at = head;
        while at != END {
            let e = &self.entries[at as usize];
            let stored = &self.pool[e.start as usize..(e.start + e.len) as usize];
            if e.state == state && e.lo == lo && stored == tail {
                return false;
            }
            at = e.next;
        }
        let start = u32::try_from(self.pool.len()).expect("memo pool beyond 2^32 words");
        self.pool.extend_from_slice(tail);
        let index = u32::try_from(self.entries.len()).expect("memo beyond 2^32 configurations");
        self.entries.push(Entry {
            state,
            lo,
            start,
            len: tail.len() as u32,
            next: head,
        });
        self.heads.insert(key, index);
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_is_entered_once() {
        let mut memo = Memo::default();
        let mut placed = Bitset::new(100);
        assert!(memo.insert(&placed, 0));
        assert!(!memo.insert(&placed, 0));
        assert!(memo.insert(&placed, 1));
        placed.set(70);
        assert!(memo.insert(&placed, 0));
        placed.set(3);
        placed.clear(70);
        assert!(memo.insert(&placed, 0));
        placed.set(70);
        placed.clear(3);
        assert!(!memo.insert(&placed, 0));
        assert_eq!(memo.len(), 4);
    }
}
