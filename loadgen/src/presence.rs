//! The `presence` mode: every client subscribes to its company's directory (an RFC 4662
//! resource list, `Event: presence`) and answers each NOTIFY 200; client 0, the probe,
//! PUBLISHes do not disturb and available in turn, and every watcher times the change to the
//! NOTIFY that shows it. The login storm (N clients registering and subscribing, spread
//! over `--login-seconds`) is counted apart: NOTIFYs and bytes, full state against partial.
//!
//! A NOTIFY is not parsed as XML on the hot path: its body is searched for the RLMI root's
//! `fullState="true"` and for the probe's PIDF part (`entity="sip:<probe>@`) and the RPID
//! activity in it. Client 0 reads every NOTIFY with `centrala_sip::presence::parse_list_notify`
//! too and counts any disagreement with the cheap search.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use centrala_sip::presence::{Status, parse_list_notify};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::client::{Cmd, Shared};
use crate::stats::{Stats, Summary};

/// The directory's user part: `sip:directory@<domain>`.
pub const DIRECTORY: &str = "directory";

/// The latency series every watcher's sighting of a change goes to.
pub const LATENCY: &str = "change -> NOTIFY (every watcher)";

/// One status change of the probe.
pub struct Change {
    /// Do not disturb (true) or available.
    pub dnd: bool,
    /// When the authenticated PUBLISH was sent.
    pub sent: Option<Instant>,
    /// Watchers whose NOTIFY showed it.
    pub seen: u32,
    /// The slowest of them, in microseconds.
    pub max_us: u64,
}

/// What the presence mode's clients share.
pub struct Watch {
    /// `entity="sip:<probe>@`: where the probe's PIDF part starts.
    pub needle: String,
    /// Subscription lifetime asked for (not refreshed: runs are shorter).
    pub expires: u32,
    pub changes: Mutex<Vec<Change>>,
    /// Sessions subscribed right now (200 to the SUBSCRIBE).
    pub subscribed: AtomicI64,
    /// Sessions that received their first full-state NOTIFY.
    pub got_full: AtomicU64,
    pub full: AtomicU64,
    pub partial: AtomicU64,
    /// NOTIFYs whose RLMI root's fullState was found in neither form.
    pub unknown: AtomicU64,
    /// Bytes of NOTIFY messages (whole SIP message: headers and body).
    pub bytes: AtomicU64,
    /// NOTIFYs and bytes per client.
    pub per_client: Vec<(AtomicU64, AtomicU64)>,
    /// Milliseconds since `epoch` of the last NOTIFY received.
    pub last_notify_ms: AtomicU64,
    pub epoch: Instant,
    /// People in the last full-state NOTIFY that client 0 read.
    pub full_people: AtomicU64,
    /// The probe's status in the last NOTIFY client 0 read: 0 unknown, 1 available, 2 dnd.
    pub probe_now: AtomicU8,
}

/// What the cheap search found in one NOTIFY body.
pub struct Seen {
    /// The RLMI root's fullState, if found near the start.
    pub full_state: Option<bool>,
    /// The probe's status when its part is there and shows available (false) or do not
    /// disturb (true); `None` when absent, offline or another activity.
    pub probe_dnd: Option<bool>,
}

impl Seen {
    pub fn full(&self) -> bool {
        self.full_state == Some(true)
    }
}

/// Searches a NOTIFY body: fullState in the first 4 KiB (the RLMI root follows the first
/// part's headers), then the probe's PIDF part up to its `</presence>`.
pub fn scan(body: &str, needle: &str) -> Seen {
    let mut cut = body.len().min(4096);
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &body[..cut];
    let full_state = if head.contains("fullState=\"true\"") {
        Some(true)
    } else if head.contains("fullState=\"false\"") {
        Some(false)
    } else {
        None
    };
    let probe_dnd = body.find(needle).and_then(|i| {
        let rest = &body[i..];
        let part = &rest[..rest.find("</presence>").unwrap_or(rest.len())];
        if part.contains("<basic>closed</basic>") {
            None
        } else if part.contains("<rpid:busy/>") {
            Some(true)
        } else if part.contains("rpid:activities") {
            None
        } else {
            Some(false)
        }
    });
    Seen {
        full_state,
        probe_dnd,
    }
}

impl Watch {
    pub fn new(probe_ext: u64, clients: usize, expires: u32) -> Watch {
        Watch {
            needle: format!("entity=\"sip:{probe_ext}@"),
            expires,
            changes: Mutex::new(Vec::new()),
            subscribed: AtomicI64::new(0),
            got_full: AtomicU64::new(0),
            full: AtomicU64::new(0),
            partial: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            per_client: (0..clients)
                .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
                .collect(),
            last_notify_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            full_people: AtomicU64::new(0),
            probe_now: AtomicU8::new(0),
        }
    }

    pub fn change_status(&self, change: usize) -> Option<bool> {
        self.changes
            .lock()
            .expect("changes lock")
            .get(change)
            .map(|c| c.dnd)
    }

    pub fn mark_sent(&self, change: usize, at: Instant) {
        if let Some(c) = self.changes.lock().expect("changes lock").get_mut(change) {
            c.sent = Some(at);
        }
    }

    pub fn count_notify(&self, idx: usize, len: usize, seen: &Seen) {
        match seen.full_state {
            Some(true) => &self.full,
            Some(false) => &self.partial,
            None => &self.unknown,
        }
        .fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
        if let Some((n, b)) = self.per_client.get(idx) {
            n.fetch_add(1, Ordering::Relaxed);
            b.fetch_add(len as u64, Ordering::Relaxed);
        }
        self.last_notify_ms
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Client 0 reads the NOTIFY whole and compares with the cheap search.
    pub fn check(&self, content_type: &str, body: &str, seen: &Seen, stats: &Stats) {
        let list = match parse_list_notify(content_type, body) {
            Ok(l) => l,
            Err(e) => {
                stats.count(&format!("NOTIFY unreadable (client 0): {e}"));
                return;
            }
        };
        stats.count("NOTIFY read whole (client 0)");
        if Some(list.full_state) != seen.full_state {
            stats.count("NOTIFY fullState: search and parser disagree");
        }
        if list.full_state {
            self.full_people
                .store(list.resources.len() as u64, Ordering::Relaxed);
        }
        let prefix = &self.needle["entity=\"".len()..];
        let probe = list
            .resources
            .iter()
            .find(|r| r.uri.starts_with(prefix))
            .and_then(|r| r.presence.as_ref())
            .map(|p| p.status);
        let parsed = match probe {
            Some(Status::Dnd) => Some(true),
            Some(Status::Available) => Some(false),
            _ => None,
        };
        if parsed != seen.probe_dnd {
            stats.count("NOTIFY probe status: search and parser disagree");
        }
        match parsed {
            Some(true) => self.probe_now.store(2, Ordering::Relaxed),
            Some(false) => self.probe_now.store(1, Ordering::Relaxed),
            None => {}
        }
    }

    /// A watcher's NOTIFY shows the probe as `dnd`: if that is the latest change, not yet
    /// seen by this watcher, its latency is recorded.
    pub fn saw(&self, last: &mut Option<usize>, dnd: bool, at: Instant, stats: &Stats) {
        let mut changes = self.changes.lock().expect("changes lock");
        let Some(k) = changes.iter().rposition(|c| c.sent.is_some()) else {
            return;
        };
        if last.is_some_and(|l| l >= k) || changes[k].dnd != dnd {
            return;
        }
        let c = &mut changes[k];
        let d = at.saturating_duration_since(c.sent.expect("sent"));
        c.seen += 1;
        c.max_us = c.max_us.max(d.as_micros() as u64);
        *last = Some(k);
        drop(changes);
        stats.latency(LATENCY, d);
    }

    fn totals(&self) -> Totals {
        Totals {
            full: self.full.load(Ordering::Relaxed),
            partial: self.partial.load(Ordering::Relaxed),
            unknown: self.unknown.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Totals {
    full: u64,
    partial: u64,
    unknown: u64,
    bytes: u64,
}

impl Totals {
    fn notifies(&self) -> u64 {
        self.full + self.partial + self.unknown
    }
    fn minus(&self, o: &Totals) -> Totals {
        Totals {
            full: self.full - o.full,
            partial: self.partial - o.partial,
            unknown: self.unknown - o.unknown,
            bytes: self.bytes - o.bytes,
        }
    }
}

/// CPU time (user + system) of a process, in seconds; Linux's USER_HZ is 100.
pub fn cpu_secs(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn pctl(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// min / p50 / max of a per-client series.
fn spread(v: &mut [u64]) -> (u64, u64, u64) {
    v.sort_unstable();
    (pctl(v, 0.0), pctl(v, 0.5), v.last().copied().unwrap_or(0))
}

pub struct Plan {
    pub clients: usize,
    pub seconds: u64,
    pub every: Duration,
    pub settle_timeout: Duration,
    pub login_seconds: f64,
    pub gateway_pid: Option<u32>,
}

/// Runs after the ramp (every client registered): waits for every subscription and its full
/// state, closes the login storm's books, then makes the probe change every `every` for
/// `seconds` and reports.
pub async fn drive(
    sh: &Shared,
    probe: &mpsc::UnboundedSender<Cmd>,
    plan: Plan,
    ramp_began: Instant,
    gw_cpu_at_start: Option<f64>,
) {
    let w = sh.watch.as_ref().expect("presence mode");
    let all = plan.clients as i64;
    let gw = plan.gateway_pid.map(|p| p.to_string());
    let gw_cpu = || gw.as_deref().and_then(cpu_secs);

    // 1. Login storm: every client subscribed and holding its full state, then quiet.
    let deadline = Instant::now() + plan.settle_timeout;
    while (w.subscribed.load(Ordering::Relaxed) < all
        || w.got_full.load(Ordering::Relaxed) < plan.clients as u64)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_subscribed_at = ramp_began.elapsed();
    // Partial NOTIFYs held back by the 500 ms gap still come: wait for 1.5 s of silence.
    let quiet_deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let last = w.last_notify_ms.load(Ordering::Relaxed);
        let now = w.epoch.elapsed().as_millis() as u64;
        if now.saturating_sub(last) >= 1500 || Instant::now() >= quiet_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let storm_secs = ramp_began.elapsed().as_secs_f64();
    let storm = w.totals();
    let storm_gw_cpu = match (gw_cpu_at_start, gw_cpu()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let mut per_n: Vec<u64> = w
        .per_client
        .iter()
        .map(|(n, _)| n.load(Ordering::Relaxed))
        .collect();
    let mut per_b: Vec<u64> = w
        .per_client
        .iter()
        .map(|(_, b)| b.load(Ordering::Relaxed))
        .collect();
    let (n_min, n_p50, n_max) = spread(&mut per_n);
    let (b_min, b_p50, b_max) = spread(&mut per_b);
    let subscribed = w.subscribed.load(Ordering::Relaxed);
    let got_full = w.got_full.load(Ordering::Relaxed);
    println!(
        "storm: {subscribed}/{all} subscribed, {got_full} with full state, {:.2} s after the first login (logins spread over {:.0} s); books closed at {storm_secs:.2} s",
        all_subscribed_at.as_secs_f64(),
        plan.login_seconds
    );
    println!(
        "storm: {} NOTIFYs ({} full state, {} partial, {} unknown), {:.1} MB; per client: NOTIFYs min {n_min} / p50 {n_p50} / max {n_max}, kB min {:.1} / p50 {:.1} / max {:.1}; full state lists {} people (client 0); gateway CPU {} s",
        storm.notifies(),
        storm.full,
        storm.partial,
        storm.unknown,
        storm.bytes as f64 / 1e6,
        b_min as f64 / 1e3,
        b_p50 as f64 / 1e3,
        b_max as f64 / 1e3,
        w.full_people.load(Ordering::Relaxed),
        storm_gw_cpu.map_or("?".into(), |v| format!("{v:.2}")),
    );

    // 2. Steady phase: the probe changes every `every`.
    sh.stats.reset_latencies();
    let start_dnd = w.probe_now.load(Ordering::Relaxed) != 2;
    let t = Instant::now();
    let gw_cpu_steady0 = gw_cpu();
    let self_cpu0 = cpu_secs("self");
    let end = t + Duration::from_secs(plan.seconds);
    let mut k = 0usize;
    let mut next = t;
    let mut last_print = Instant::now();
    while next < end {
        tokio::time::sleep_until(next).await;
        w.changes.lock().expect("changes lock").push(Change {
            dnd: start_dnd ^ (k % 2 == 1),
            sent: None,
            seen: 0,
            max_us: 0,
        });
        let _ = probe.send(Cmd::Publish { change: k });
        k += 1;
        next += plan.every;
        if last_print.elapsed() >= Duration::from_secs(10) {
            last_print = Instant::now();
            let s = sh.stats.summaries();
            let l = s
                .iter()
                .find(|(n, _)| *n == LATENCY)
                .map(|x| x.1)
                .unwrap_or_default();
            println!(
                "  presence {:>5.0}s: {k} changes, {} sightings, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                t.elapsed().as_secs_f64(),
                l.count,
                l.p50,
                l.p99,
                l.max
            );
        }
    }
    // The last change's NOTIFYs: up to the gap (500 ms) plus delivery.
    tokio::time::sleep(plan.every.max(Duration::from_secs(2))).await;
    let steady_secs = t.elapsed().as_secs_f64();
    let steady = w.totals().minus(&storm);
    let steady_gw_cpu = match (gw_cpu_steady0, gw_cpu()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let self_cpu = match (self_cpu0, cpu_secs("self")) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };

    let watchers = w.subscribed.load(Ordering::Relaxed).max(0) as u32;
    let changes = w.changes.lock().expect("changes lock");
    let made = changes.len();
    let published = changes.iter().filter(|c| c.sent.is_some()).count();
    let seen: Vec<u32> = changes.iter().map(|c| c.seen).collect();
    let by_all = seen.iter().filter(|s| **s >= watchers).count();
    let min_seen = seen.iter().copied().min().unwrap_or(0);
    let mut max_per_change: Vec<u64> = changes.iter().map(|c| c.max_us).collect();
    drop(changes);
    max_per_change.sort_unstable();
    let sums = sh.stats.summaries();
    let l: Summary = sums
        .iter()
        .find(|(n, _)| *n == LATENCY)
        .map(|x| x.1)
        .unwrap_or_default();
    let publish = sums
        .iter()
        .find(|(n, _)| *n == "PUBLISH (auth) -> 200")
        .map(|x| x.1)
        .unwrap_or_default();
    println!(
        "presence: {made} changes ({published} published) every {} ms over {steady_secs:.1} s, {watchers} watchers; seen by all watchers: {by_all}/{made}, fewest watchers for one change {min_seen}",
        plan.every.as_millis()
    );
    println!(
        "presence: change -> NOTIFY over {} sightings: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (slowest watcher per change, median {:.2} ms); PUBLISH -> 200 p50 {:.2} ms",
        l.count,
        l.p50,
        l.p90,
        l.p99,
        l.max,
        pctl(&max_per_change, 0.5) as f64 / 1e3,
        publish.p50
    );
    println!(
        "presence: steady NOTIFYs {} ({:.1}/s, {} full, {} partial), {:.1} kB/s; gateway CPU {} s ({}% of one core), loadgen CPU {} s",
        steady.notifies(),
        steady.notifies() as f64 / steady_secs,
        steady.full,
        steady.partial,
        steady.bytes as f64 / steady_secs / 1e3,
        steady_gw_cpu.map_or("?".into(), |v| format!("{v:.2}")),
        steady_gw_cpu.map_or("?".into(), |v| format!("{:.1}", v / steady_secs * 100.0)),
        self_cpu.map_or("?".into(), |v| format!("{v:.2}")),
    );
    let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.2}"));
    println!(
        "RESULT presence clients={} watchers={watchers} changes={made} seen_by_all={by_all} min_seen={min_seen} sightings={} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} steady_notifies_per_s={:.1} steady_bytes_per_s={:.0} storm_seconds={storm_secs:.2} storm_notifies={} storm_full={} storm_partial={} storm_bytes={} storm_per_client_notifies_p50={n_p50} storm_per_client_notifies_max={n_max} storm_per_client_bytes_p50={b_p50} storm_per_client_bytes_max={b_max}",
        plan.clients,
        l.count,
        l.p50,
        l.p90,
        l.p99,
        l.max,
        steady.notifies() as f64 / steady_secs,
        steady.bytes as f64 / steady_secs,
        storm.notifies(),
        storm.full,
        storm.partial,
        storm.bytes,
    );
    println!(
        "JSON {{\"mode\":\"presence\",\"clients\":{},\"watchers\":{watchers},\"login_seconds\":{:.1},\"changes_every_ms\":{},\"steady\":{{\"seconds\":{steady_secs:.1},\"changes\":{made},\"published\":{published},\"seen_by_all\":{by_all},\"min_watchers_per_change\":{min_seen},\"sightings\":{},\"latency_ms\":{{\"p50\":{:.2},\"p90\":{:.2},\"p99\":{:.2},\"max\":{:.2}}},\"notifies\":{},\"notifies_per_s\":{:.1},\"bytes_per_s\":{:.0},\"gateway_cpu_s\":{},\"loadgen_cpu_s\":{}}},\"storm\":{{\"seconds\":{storm_secs:.2},\"all_subscribed_s\":{:.2},\"subscribed\":{subscribed},\"got_full_state\":{got_full},\"notifies\":{},\"full\":{},\"partial\":{},\"unknown\":{},\"bytes\":{},\"per_client_notifies\":{{\"min\":{n_min},\"p50\":{n_p50},\"max\":{n_max}}},\"per_client_bytes\":{{\"min\":{b_min},\"p50\":{b_p50},\"max\":{b_max}}},\"full_state_people\":{},\"gateway_cpu_s\":{}}}}}",
        plan.clients,
        plan.login_seconds,
        plan.every.as_millis(),
        l.count,
        l.p50,
        l.p90,
        l.p99,
        l.max,
        steady.notifies(),
        steady.notifies() as f64 / steady_secs,
        steady.bytes as f64 / steady_secs,
        opt(steady_gw_cpu),
        opt(self_cpu),
        all_subscribed_at.as_secs_f64(),
        storm.notifies(),
        storm.full,
        storm.partial,
        storm.unknown,
        storm.bytes,
        w.full_people.load(Ordering::Relaxed),
        opt(storm_gw_cpu),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use centrala_sip::presence::{ListNotify, ListResource, Presence, list_notify};

    fn body(full: bool, probe: Status) -> (String, String) {
        let person = |ext: &str, status| ListResource {
            uri: format!("sip:{ext}@bench.local"),
            name: Some(format!("Bench {ext}")),
            presence: Some(Presence {
                entity: format!("sip:{ext}@bench.local"),
                status,
                note: None,
            }),
            terminated: false,
        };
        list_notify(
            &ListNotify {
                uri: "sip:directory@bench.local".into(),
                version: 3,
                full_state: full,
                resources: vec![
                    person("1000001", Status::Dnd),
                    person("100000", probe),
                    person("100002", Status::InCall),
                ],
            },
            "b0undary",
        )
    }

    #[test]
    fn scan_finds_full_state_and_the_probe() {
        let needle = "entity=\"sip:100000@";
        for (full, status, want) in [
            (true, Status::Dnd, Some(true)),
            (false, Status::Available, Some(false)),
            (false, Status::Offline, None),
            (true, Status::Away, None),
        ] {
            let (ct, b) = body(full, status);
            let s = scan(&b, needle);
            assert_eq!(s.full_state, Some(full));
            assert_eq!(s.probe_dnd, want, "{status:?}");
            // The same as the parser reads.
            let l = parse_list_notify(&ct, &b).unwrap();
            assert_eq!(l.full_state, full);
        }
        assert_eq!(scan("", needle).probe_dnd, None);
    }
}
