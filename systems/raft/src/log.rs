//! The in-memory log: the entries after the snapshot, with the snapshot's last index and term as a base.

use crate::message::{Entry, Index, Term};

/// Entries `base_index + 1 ..= last_index()`; `base_index`/`base_term` describe the last entry
/// covered by the snapshot (0/0 without one), so `term_at(base_index)` is always known and the
/// consistency check of AppendEntries works at the snapshot boundary.
///
/// The log also keeps the postcard encoding of its entries, maintained as entries are appended
/// and truncated, so that persisting after each append costs a copy rather than re-encoding the
/// whole log (which made long logs quadratic).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Log {
    base_index: Index,
    base_term: Term,
    entries: Vec<Entry>,
    /// Concatenated encodings of `entries`.
    encoded: Vec<u8>,
    /// `ends[i]`: end offset in `encoded` of entry `i`.
    ends: Vec<usize>,
}

impl Log {
    pub(crate) fn new(base_index: Index, base_term: Term, entries: Vec<Entry>) -> Log {
        let mut log = Log {
            base_index,
            base_term,
            ..Log::default()
        };
        for e in entries {
            log.push(e);
        }
        log
    }

    pub(crate) fn base_index(&self) -> Index {
        self.base_index
    }

    pub(crate) fn base_term(&self) -> Term {
        self.base_term
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The postcard encoding of the entries without the length prefix.
    pub(crate) fn encoded_entries(&self) -> &[u8] {
        &self.encoded
    }

    pub(crate) fn last_index(&self) -> Index {
        self.base_index + self.entries.len() as Index
    }

    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(self.base_term, |e| e.term)
    }

    fn pos(&self, index: Index) -> usize {
        (index - self.base_index - 1) as usize
    }

    /// The term of the entry at `index`, if it is the base or in the log.
    pub(crate) fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.base_index {
            Some(self.base_term)
        } else if index < self.base_index || index > self.last_index() {
            None
        } else {
            Some(self.entries[self.pos(index)].term)
        }
    }

    pub(crate) fn entry(&self, index: Index) -> Option<&Entry> {
        if index <= self.base_index || index > self.last_index() {
            None
        } else {
            Some(&self.entries[self.pos(index)])
        }
    }

    /// Entries from `index` (> base) to the end.
    pub(crate) fn from(&self, index: Index) -> &[Entry] {
        debug_assert!(index > self.base_index);
        let start = self.pos(index).min(self.entries.len());
        &self.entries[start..]
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        let encoded = std::mem::take(&mut self.encoded);
        self.encoded =
            postcard::to_extend(&entry, encoded).expect("encoding into a Vec cannot fail");
        self.ends.push(self.encoded.len());
        self.entries.push(entry);
    }

    /// Drops the entries at `index` and after (index > base).
    pub(crate) fn truncate_from(&mut self, index: Index) {
        let pos = self.pos(index);
        self.entries.truncate(pos);
        self.ends.truncate(pos);
        self.encoded
            .truncate(self.ends.last().copied().unwrap_or(0));
    }

    /// Discards the entries up to and including `index`, which becomes the new base with `term`.
    /// If `index` is beyond the log, the log becomes empty.
    pub(crate) fn compact_to(&mut self, index: Index, term: Term) {
        if index >= self.last_index() {
            self.entries.clear();
            self.encoded.clear();
            self.ends.clear();
        } else if index > self.base_index {
            let pos = self.pos(index);
            self.entries.drain(..=pos);
            let cut = self.ends[pos];
            self.encoded.drain(..cut);
            self.ends.drain(..=pos);
            for end in &mut self.ends {
                *end -= cut;
            }
        }
        self.base_index = index;
        self.base_term = term;
    }

    /// The first index of the run of entries with the same term as `index`'s, not before base+1.
    pub(crate) fn first_index_of_term_run(&self, index: Index) -> Index {
        let term = self.term_at(index);
        let mut i = index;
        while i > self.base_index + 1 && self.term_at(i - 1) == term {
            i -= 1;
        }
        i
    }

    /// The last index whose entry has term `term`, if any (searching back to base+1).
    pub(crate) fn last_index_of_term(&self, term: Term) -> Option<Index> {
        let mut i = self.last_index();
        while i > self.base_index {
            let t = self.entries[self.pos(i)].term;
            if t == term {
                return Some(i);
            }
            if t < term {
                return None;
            }
            i -= 1;
        }
        None
    }
}
