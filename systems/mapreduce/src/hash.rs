//! The two hashes of the job: `ihash` picks a key's reduce task, [`digest`] fingerprints outputs.

/// The lab's `ihash`: FNV-1a 32 of the key's bytes, with the top bit cleared (Go's
/// `int(h.Sum32() & 0x7fffffff)`). A key goes to reduce task `ihash(key) % nReduce`.
pub fn ihash(key: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in key.as_bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h & 0x7fff_ffff
}

/// FNV-1a 64, continued from `h` over `bytes`; start from [`DIGEST_START`]. Workers fold every
/// file they rename into place, in order, into the digest they report.
pub fn digest(h: u64, bytes: &[u8]) -> u64 {
    let mut h = h;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The FNV-1a 64 offset basis.
pub const DIGEST_START: u64 = 0xcbf2_9ce4_8422_2325;
