//! The set of linearized operations, with an incrementally maintained hash and a compact memo key.
//!
//! The memo table is keyed on (this set, model state). Rehashing the whole set on every lookup would cost
//! O(n/64) per step; instead each operation has a fixed pseudo-random 64-bit code and the set's hash is the
//! XOR of the codes of its members (Zobrist hashing), updated in O(1) as operations are placed and undone.
//!
//! Storing the whole set per memo entry would cost n/8 bytes each, which is what makes long histories run out
//! of memory. Operations are numbered in call order, and an operation can only be linearized once every
//! operation that returned before its call has been, so the placed set is always "every operation below some
//! point, and a few concurrent ones above it". The set therefore keeps `lo`, the number of leading words
//! that are full, and `hi`, one past its last non-zero word: `(lo, words[lo..hi])` identifies the set and is
//! usually one or two words long, whatever the length of the history.

#[derive(Clone, Debug)]
pub(crate) struct Bitset {
    words: Box<[u64]>,
    hash: u64,
    /// Every word below `lo` is full (all ones).
    lo: usize,
    /// Every word at or above `hi` is zero.
    hi: usize,
}

/// A fixed pseudo-random code per operation (splitmix64 of its index).
fn code(i: usize) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Bitset {
    pub(crate) fn new(len: usize) -> Self {
        Bitset {
            words: vec![0; len.div_ceil(64).max(1)].into_boxed_slice(),
            hash: 0,
            lo: 0,
            hi: 0,
        }
    }

    pub(crate) fn set(&mut self, i: usize) {
        let w = i / 64;
        self.words[w] |= 1 << (i % 64);
        self.hash ^= code(i);
        self.hi = self.hi.max(w + 1);
        while self.lo < self.words.len() && self.words[self.lo] == u64::MAX {
            self.lo += 1;
        }
    }

    pub(crate) fn contains(&self, i: usize) -> bool {
        self.words[i / 64] & (1 << (i % 64)) != 0
    }

    pub(crate) fn clear(&mut self, i: usize) {
        let w = i / 64;
        self.words[w] &= !(1 << (i % 64));
        self.hash ^= code(i);
        self.lo = self.lo.min(w);
        while self.hi > 0 && self.words[self.hi - 1] == 0 {
            self.hi -= 1;
        }
    }

    /// The Zobrist hash of the members.
    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    /// The hash the set would have with `i` added (or taken out, if it is in).
    pub(crate) fn hash_toggled(&self, i: usize) -> u64 {
        self.hash ^ code(i)
    }

    /// The number of leading full words.
    pub(crate) fn lo(&self) -> usize {
        self.lo
    }

    /// The words after the leading full ones, up to the last non-zero one: with [`Bitset::lo`], the set.
    pub(crate) fn tail(&self) -> &[u64] {
        &self.words[self.lo..self.hi.max(self.lo)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: &Bitset) -> (u64, usize, Vec<u64>) {
        (b.hash(), b.lo(), b.tail().to_vec())
    }

    #[test]
    fn key_depends_on_members_not_order() {
        let mut a = Bitset::new(130);
        let mut b = Bitset::new(130);
        a.set(3);
        a.set(129);
        b.set(129);
        b.set(3);
        assert_eq!(key(&a), key(&b));
        b.clear(3);
        assert_ne!(key(&a), key(&b));
        b.set(3);
        assert_eq!(key(&a), key(&b));
    }

    #[test]
    fn full_leading_words_are_dropped_from_the_tail() {
        let mut a = Bitset::new(200);
        for i in 0..130 {
            a.set(i);
        }
        assert_eq!(a.lo(), 2);
        assert_eq!(a.tail(), &[0b11]);
        a.clear(5);
        assert_eq!(a.lo(), 0);
        assert_eq!(a.tail().len(), 3);
        a.set(5);
        for i in 128..130 {
            a.clear(i);
        }
        assert_eq!((a.lo(), a.tail()), (2, &[][..]));
    }
}
