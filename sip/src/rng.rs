//! A small deterministic generator for branches, tags and Call-IDs. Seeded by the driver
//! (from the browser's or the OS's randomness), so tests can be repeated exactly.

/// xorshift64* — fast and good enough for identifiers; never for secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// `len` characters of [a-z0-9].
    pub fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| ALPHABET[(self.next_u64() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
    /// A new RFC 3261 branch (with the magic cookie).
    pub fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token(16))
    }
}
