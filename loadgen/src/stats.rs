//! Latency samples per request type and event counters, shared by every client task.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct Stats {
    /// Microseconds per sample, by request type.
    latencies: Mutex<BTreeMap<&'static str, Vec<u32>>>,
    counters: Mutex<BTreeMap<String, u64>>,
}

/// Percentiles of one request type, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Stats {
    pub fn latency(&self, kind: &'static str, d: Duration) {
        let us = d.as_micros().min(u128::from(u32::MAX)) as u32;
        self.latencies
            .lock()
            .expect("stats lock")
            .entry(kind)
            .or_default()
            .push(us);
    }

    pub fn count(&self, what: &str) {
        self.add(what, 1);
    }

    pub fn add(&self, what: &str, n: u64) {
        let mut c = self.counters.lock().expect("stats lock");
        match c.get_mut(what) {
            Some(v) => *v += n,
            None => {
                c.insert(what.to_string(), n);
            }
        }
    }

    pub fn counter(&self, what: &str) -> u64 {
        self.counters
            .lock()
            .expect("stats lock")
            .get(what)
            .copied()
            .unwrap_or(0)
    }

    /// Every counter whose name starts with `prefix`, added up.
    pub fn counter_prefix(&self, prefix: &str) -> u64 {
        self.counters
            .lock()
            .expect("stats lock")
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| *v)
            .sum()
    }

    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.counters.lock().expect("stats lock").clone()
    }

    /// Forgets the latency samples (e.g. the ramp's, before a measured phase).
    pub fn reset_latencies(&self) {
        self.latencies.lock().expect("stats lock").clear();
    }

    pub fn summaries(&self) -> Vec<(&'static str, Summary)> {
        let mut map = self.latencies.lock().expect("stats lock");
        map.iter_mut()
            .map(|(k, v)| {
                v.sort_unstable();
                (*k, summarize(v))
            })
            .collect()
    }
}

fn summarize(sorted: &[u32]) -> Summary {
    if sorted.is_empty() {
        return Summary::default();
    }
    let pick = |q: f64| {
        let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
        f64::from(sorted[i]) / 1000.0
    };
    Summary {
        count: sorted.len(),
        p50: pick(0.50),
        p90: pick(0.90),
        p99: pick(0.99),
        max: f64::from(*sorted.last().expect("non-empty")) / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_hundred() {
        let v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        let s = summarize(&v);
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, 50.0);
        assert_eq!(s.p90, 90.0);
        assert_eq!(s.p99, 99.0);
        assert_eq!(s.max, 100.0);
    }
}
