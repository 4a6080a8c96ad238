//! Protection against floods and guessing, in the spirit of Kamailio's pike and
//! auth-failure limits: counters per key over a fixed window, and a ban when a counter
//! passes its limit. Time is passed in (milliseconds), so this is tested without sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

/// The limits the edge and the core enforce.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests one source address may send per window before it is banned.
    pub flood_max_requests: u32,
    pub flood_window_ms: u64,
    pub flood_ban_ms: u64,
    /// Failed digest attempts per user, and per source address, before refusing them.
    pub auth_max_failures: u32,
    pub auth_window_ms: u64,
    pub auth_block_ms: u64,
    /// Open connections (WebSocket, TCP, TLS) per source address.
    pub max_connections_per_ip: usize,
    /// Open connections in all. `serve` sets it below the open-file limit, so that a full
    /// gateway answers 503 at once instead of leaving clients in the accept backlog.
    pub max_connections: usize,
    /// A connection that has sent no complete SIP message by then is closed.
    pub idle_timeout_ms: u64,
    /// A partial message on a stream must complete within this (slowloris).
    pub partial_timeout_ms: u64,
    /// Toll fraud: more international calls than this by one person within
    /// `toll_fraud_window_ms` suspends their calls outside (an administrator lifts it);
    /// 0 turns the guard off.
    pub toll_fraud_calls: u32,
    pub toll_fraud_window_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            flood_max_requests: 500,
            flood_window_ms: 2_000,
            flood_ban_ms: 60_000,
            auth_max_failures: 5,
            auth_window_ms: 60_000,
            auth_block_ms: 300_000,
            max_connections_per_ip: 1024,
            max_connections: usize::MAX,
            idle_timeout_ms: 30_000,
            partial_timeout_ms: 10_000,
            toll_fraud_calls: 10,
            toll_fraud_window_ms: 600_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    window_start: u64,
    count: u32,
    banned_until: u64,
}

/// Counts events per key in fixed windows; a key over `max` is banned for `ban_ms`.
#[derive(Debug)]
pub struct RateLimiter<K> {
    max: u32,
    window_ms: u64,
    ban_ms: u64,
    counters: HashMap<K, Counter>,
    last_sweep: u64,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(max: u32, window_ms: u64, ban_ms: u64) -> Self {
        RateLimiter {
            max,
            window_ms,
            ban_ms,
            counters: HashMap::new(),
            last_sweep: 0,
        }
    }

    /// Whether `key` is banned at `now` (without counting).
    pub fn is_banned(&self, key: &K, now: u64) -> bool {
        self.counters.get(key).is_some_and(|c| c.banned_until > now)
    }

    /// Counts one event for `key`; returns false when the key is (now) banned.
    pub fn hit(&mut self, key: &K, now: u64) -> bool {
        self.sweep(now);
        let (max, window, ban) = (self.max, self.window_ms, self.ban_ms);
        let c = self.counters.entry(key.clone()).or_insert(Counter {
            window_start: now,
            count: 0,
            banned_until: 0,
        });
        if c.banned_until > now {
            return false;
        }
        if now.saturating_sub(c.window_start) >= window {
            c.window_start = now;
            c.count = 0;
        }
        c.count += 1;
        if c.count > max {
            c.banned_until = now + ban;
            return false;
        }
        true
    }

    /// Forgets `key` (a successful login clears its failures).
    pub fn clear(&mut self, key: &K) {
        self.counters.remove(key);
    }

    fn sweep(&mut self, now: u64) {
        if now.saturating_sub(self.last_sweep) < self.window_ms.max(1000) {
            return;
        }
        self.last_sweep = now;
        let window = self.window_ms;
        self.counters
            .retain(|_, c| c.banned_until > now || now.saturating_sub(c.window_start) < window);
    }
}

/// Request-rate limiting per source (the flood guard), keyed by [`source_key`].
pub type FloodGuard = RateLimiter<IpAddr>;

/// The key that per-address limits count under: an IPv4 address as it is, an IPv6 address
/// by its /64 (one subscriber's prefix: a client that owns a /64 must not get around the
/// limits by changing its low bits), and an IPv4-mapped IPv6 address as the IPv4 one.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flooding_key_is_banned_for_a_while_and_others_are_not() {
        let mut r: RateLimiter<&str> = RateLimiter::new(3, 1000, 5000);
        assert!(r.hit(&"a", 0) && r.hit(&"a", 10) && r.hit(&"a", 20));
        assert!(!r.hit(&"a", 30), "fourth in the window");
        assert!(r.hit(&"b", 30), "another key is unaffected");
        assert!(!r.hit(&"a", 2000), "still banned after the window");
        assert!(r.is_banned(&"a", 5029));
        assert!(r.hit(&"a", 5031), "ban over");
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(source_key(mapped), v4);
        assert_eq!(source_key(v4), v4);
    }

    #[test]
    fn counts_restart_each_window() {
        let mut r: RateLimiter<u8> = RateLimiter::new(2, 1000, 5000);
        for t in [0, 500, 1000, 1500, 2000, 2500] {
            assert!(r.hit(&1, t), "at {t}");
        }
    }
}
