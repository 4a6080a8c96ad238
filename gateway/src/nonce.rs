//! Digest nonces: self-validating (an HMAC over the issue time and randomness), expiring, and
//! never accepted twice with the same or a lower nonce count (replay protection).

/// Keyed by nonces clients send back; foldhash is seeded per table.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How long a nonce is good for, in milliseconds.
pub const NONCE_LIFETIME_MS: u64 = 5 * 60 * 1000;

/// Why a nonce was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    Valid,
    /// Ours, but too old: challenge again with `stale=true`.
    Stale,
    /// Not ours, or a replayed nonce count.
    Invalid,
}

pub struct Nonces {
    /// HMAC keyed once; each nonce clones it instead of hashing the key again.
    keyed: HmacSha256,
    /// Highest nonce count seen per nonce, in two generations: every nonce lifetime the
    /// older one is dropped whole, so forgetting costs nothing per request.
    seen: HashMap<String, u32>,
    older: HashMap<String, u32>,
    generation_start: u64,
}

impl Nonces {
    pub fn new(secret: [u8; 32]) -> Nonces {
        Nonces {
            keyed: HmacSha256::new_from_slice(&secret).expect("HMAC takes any key length"),
            seen: HashMap::default(),
            older: HashMap::default(),
            generation_start: 0,
        }
    }

    fn mac(&self, payload: &str) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.keyed.clone();
        mac.update(payload.as_bytes());
        let bytes = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(32);
        for b in &bytes[..16] {
            hex.push(HEX[usize::from(b >> 4)] as char);
            hex.push(HEX[usize::from(b & 15)] as char);
        }
        hex
    }

    /// A new nonce issued at `now` (ms since the gateway's epoch), with `salt` for uniqueness.
    pub fn issue(&self, now: u64, salt: u64) -> String {
        let mut nonce = String::with_capacity(16 + 1 + 16 + 1 + 32);
        push_hex(&mut nonce, now);
        nonce.push('.');
        push_hex(&mut nonce, salt);
        let mac = self.mac(&nonce);
        nonce.push('.');
        nonce.push_str(&mac);
        nonce
    }

    /// Checks a nonce and its count (`nc` in hex, absent without qop) at `now`.
    pub fn check(&mut self, nonce: &str, nc: Option<&str>, now: u64) -> NonceCheck {
        let mut parts = nonce.rsplitn(2, '.');
        let (Some(mac), Some(payload)) = (parts.next(), parts.next()) else {
            return NonceCheck::Invalid;
        };
        let expected = self.mac(payload);
        if expected.len() != mac.len()
            || expected
                .bytes()
                .zip(mac.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                != 0
        {
            return NonceCheck::Invalid;
        }
        let Some(issued) = payload
            .split('.')
            .next()
            .and_then(|t| u64::from_str_radix(t, 16).ok())
        else {
            return NonceCheck::Invalid;
        };
        if now.saturating_sub(issued) > NONCE_LIFETIME_MS || issued > now + 60_000 {
            return NonceCheck::Stale;
        }
        // Without qop a nonce is single-use (count 1); with qop the count must grow.
        let count = match nc {
            Some(nc) => match u32::from_str_radix(nc, 16) {
                Ok(n) => n,
                Err(_) => return NonceCheck::Invalid,
            },
            None => 1,
        };
        let last = self
            .seen
            .get(nonce)
            .or_else(|| self.older.get(nonce))
            .copied()
            .unwrap_or(0);
        if count <= last {
            return NonceCheck::Invalid;
        }
        self.seen.insert(nonce.to_string(), count);
        NonceCheck::Valid
    }

    /// Forgets nonces that have expired anyway: a nonce is used within its lifetime, so
    /// one last seen two generations ago can no longer be valid.
    pub fn sweep(&mut self, now: u64) {
        if now.saturating_sub(self.generation_start) > NONCE_LIFETIME_MS + 60_000 {
            self.older = std::mem::take(&mut self.seen);
            self.generation_start = now;
        }
    }
}

/// `n` in lower-case hex without leading zeros (as `{:x}` writes it).
fn push_hex(s: &mut String, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        s.push(HEX[((n >> (i * 4)) & 15) as usize] as char);
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn hex_is_written_as_format_writes_it() {
        for n in [0, 1, 15, 16, 255, 0x1234_abcd, u64::MAX] {
            let mut s = String::new();
            push_hex(&mut s, n);
            assert_eq!(s, format!("{n:x}"));
        }
    }

    use super::*;

    #[test]
    fn nonce_is_valid_once_per_count_and_expires() {
        let mut n = Nonces::new([7; 32]);
        let nonce = n.issue(1_000, 42);
        assert_eq!(n.check(&nonce, Some("00000001"), 2_000), NonceCheck::Valid);
        assert_eq!(
            n.check(&nonce, Some("00000001"), 2_000),
            NonceCheck::Invalid,
            "replay"
        );
        assert_eq!(n.check(&nonce, Some("00000002"), 2_000), NonceCheck::Valid);
        assert_eq!(
            n.check(&nonce, Some("00000003"), 1_000 + NONCE_LIFETIME_MS + 1),
            NonceCheck::Stale
        );
        let forged = nonce.replace(".", ",");
        assert_eq!(
            n.check(&forged, Some("00000001"), 2_000),
            NonceCheck::Invalid
        );
        let other = Nonces::new([8; 32]).issue(1_000, 42);
        assert_eq!(
            n.check(&other, Some("00000001"), 2_000),
            NonceCheck::Invalid
        );
    }

    #[test]
    fn replay_is_caught_across_a_generation_swap() {
        let mut n = Nonces::new([7; 32]);
        let nonce = n.issue(1_000, 1);
        assert_eq!(n.check(&nonce, Some("00000001"), 1_000), NonceCheck::Valid);
        n.sweep(NONCE_LIFETIME_MS + 70_000); // the seen counts move to the older generation
        assert_eq!(
            n.check(&nonce, Some("00000001"), 2_000),
            NonceCheck::Invalid
        );
        assert_eq!(n.check(&nonce, Some("00000002"), 2_000), NonceCheck::Valid);
    }
}
