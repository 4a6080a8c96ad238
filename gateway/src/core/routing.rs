//! Routing: what a dialled string reaches, as a typed plan the proxy carries out. Today a plan
//! rings every device of one extension at once until someone answers or the ring time is up;
//! forwarding on busy / no answer and hunting groups add steps and fallbacks here.

use centrala_sip::Instant;

use crate::accounts::{DEFAULT_COMPANY, normalize_number};

use super::cache::{Cache, Cached};
use super::location::AorKey;

/// How long an unanswered call rings before the caller hears "no answer".
pub const RING_TIMEOUT_MS: u64 = 120_000;

/// Who rings, for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub aor: AorKey,
    /// Ring every device of `aor` at once for this long.
    pub ring_ms: u64,
}

/// What the caller hears when every step is over unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// The best final response of the branches (busy beats no answer), and 480 when the ring
    /// time ran out.
    BestResponse,
}

/// A call's route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub fallback: Fallback,
}

impl Plan {
    /// Ring one extension's devices.
    pub fn ring(aor: AorKey) -> Plan {
        Plan {
            steps: vec![Step {
                aor,
                ring_ms: RING_TIMEOUT_MS,
            }],
            fallback: Fallback::BestResponse,
        }
    }
}

/// What a dialled string reaches: an extension of `company`, or one of its public numbers
/// (E.164, or 00…, or national digits with the country code). With no company (a trusted
/// peer calling an IP address) the number's owner, else the default company. `Miss` while a
/// lookup runs; `Hit(None)` when nothing answers to it.
pub fn resolve(
    cache: &mut Cache,
    company: Option<i64>,
    dialled: &str,
    now: Instant,
) -> Cached<Option<AorKey>> {
    let number = normalize_number(dialled).or_else(|| {
        (dialled.len() >= 9 && dialled.bytes().all(|b| b.is_ascii_digit()))
            .then(|| format!("+{dialled}"))
    });
    let home = company.unwrap_or(DEFAULT_COMPANY);
    if number.is_none() || dialled.len() <= 8 {
        match cache.user(home, dialled, now) {
            Cached::Miss(id) => return Cached::Miss(id),
            Cached::Hit(Some(_)) => return Cached::Hit(Some(AorKey::new(home, dialled))),
            Cached::Hit(None) => {}
        }
    }
    let Some(number) = number else {
        return Cached::Hit(None);
    };
    match cache.number(company, &number, now) {
        Cached::Miss(id) => Cached::Miss(id),
        Cached::Hit(None) => Cached::Hit(None),
        Cached::Hit(Some((c, ext))) => match cache.user(c, &ext, now) {
            Cached::Miss(id) => Cached::Miss(id),
            Cached::Hit(Some(_)) => Cached::Hit(Some(AorKey::new(c, &ext))),
            Cached::Hit(None) => Cached::Hit(None),
        },
    }
}
