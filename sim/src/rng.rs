//! Derivation of independent, reproducible random streams from the run seed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A ChaCha8 stream for one purpose of one run: `label` names the purpose ("net", "host",
/// "scenario", ...) and `index` tells instances apart. Streams with different labels or indexes
/// are independent, and adding a new purpose never shifts the numbers an existing one draws,
/// so old seeds keep replaying the same runs.
pub fn derive_rng(seed: u64, label: &str, index: u64) -> ChaCha8Rng {
    // FNV-1a of the label: stable across platforms and Rust versions, unlike `DefaultHasher`.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut state = seed ^ h.rotate_left(29) ^ splitmix64(&mut index.clone());
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}
