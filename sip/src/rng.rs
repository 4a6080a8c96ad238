//! The generator for branches, tags, Call-IDs, cnonces and nonce salts. These values are
//! what keeps an off-path attacker from forging responses and in-dialog requests (a branch
//! that can be predicted lets anyone inject a 486 or a 200), so they come from a
//! cryptographic generator: ChaCha12 (`rand_chacha`), whose outputs do not reveal its state.
//!
//! Sans-IO: the driver seeds it with 32 bytes of the OS's or the browser's randomness
//! (`getrandom`, `crypto.getRandomValues`); tests pass fixed seeds and repeat exactly.

use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// A cryptographically secure generator of protocol tokens.
#[derive(Debug, Clone)]
pub struct Rng(ChaCha12Rng);

impl Rng {
    /// A generator from 32 bytes of real randomness (or a fixed seed in tests).
    pub fn new(seed: [u8; 32]) -> Rng {
        Rng(ChaCha12Rng::from_seed(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// `len` characters of [a-z0-9], about 5.2 bits each (rejection sampling: no bias).
    pub fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(len);
        while out.len() < len {
            for b in self.0.next_u64().to_le_bytes() {
                // 252 = 7 * 36: bytes above it would favour the first letters.
                if b < 252 && out.len() < len {
                    out.push(ALPHABET[usize::from(b % 36)] as char);
                }
            }
        }
        out
    }

    /// A new RFC 3261 branch (with the magic cookie): 16 characters, about 82 bits.
    pub fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token(16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_tokens_and_tokens_are_well_formed() {
        let (mut a, mut b) = (Rng::new([1; 32]), Rng::new([1; 32]));
        assert_eq!(a.token(10), b.token(10));
        let t = a.token(40);
        assert_eq!(t.len(), 40);
        assert!(
            t.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert!(a.branch().starts_with("z9hG4bK"));
        assert_ne!(Rng::new([2; 32]).token(16), Rng::new([1; 32]).token(16));
    }

    #[test]
    fn letters_are_spread_evenly() {
        let mut r = Rng::new([9; 32]);
        let mut counts = [0u32; 36];
        for c in r.token(36_000).bytes() {
            let i = if c.is_ascii_digit() {
                26 + (c - b'0')
            } else {
                c - b'a'
            };
            counts[usize::from(i)] += 1;
        }
        // 1,000 expected each; a modulo bias of 252/256 would still pass, a stuck generator not.
        assert!(
            counts.iter().all(|&n| (850..1150).contains(&n)),
            "{counts:?}"
        );
    }
}
