//! The location service: the devices (bindings) registered on each extension, where each is
//! reached, and each flow's own registrations, so a closing flow costs only what it had.
//! Expiry is a timer per extension (the earliest binding's), not a scan.

use std::net::{IpAddr, SocketAddr};

use centrala_sip::Instant;
use centrala_sip::message::NameAddr;

use super::HashMap;
use super::flows::{FlowId, Flows, Transport};

/// How many devices (registrations) one extension may have.
pub const MAX_BINDINGS: usize = 9;

/// An address of record: an extension in a company.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AorKey {
    pub company: i64,
    pub ext: Box<str>,
}

impl AorKey {
    pub fn new(company: i64, ext: &str) -> AorKey {
        AorKey {
            company,
            ext: ext.into(),
        }
    }
}

impl std::fmt::Display for AorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.company, self.ext)
    }
}

/// One registered device.
#[derive(Debug, Clone)]
pub struct Binding {
    /// The Contact as registered, without its `expires` parameter, as text (`<uri>;params`):
    /// a parsed `NameAddr` keeps a dozen small allocations per idle device, this one.
    pub contact: Box<str>,
    /// The flow requests for it go out on.
    pub flow: FlowId,
    /// `+sip.instance` and `reg-id` (RFC 5626), or the contact address: what identifies it.
    pub key: Box<str>,
    pub expires_at: Instant,
    /// Registered with the web app's short-lived credentials.
    pub app: bool,
    /// The device's User-Agent, as it said (for the devices page).
    pub user_agent: Option<Box<str>>,
    /// The device credential it registered with, if one (else the app's or the SIP password).
    pub login: Option<Box<str>>,
    /// First registered (kept across refreshes).
    pub since: Instant,
    /// Its last REGISTER.
    pub seen: Instant,
}

/// A device's id for the API and the default-device setting: a hash of its key (which holds
/// `<urn:uuid:…>` or an address), the same the user agent computes for itself.
pub use centrala_sip::ua::device_key_id as device_id;

impl Binding {
    /// The registered Contact's URI (where requests for this device are addressed).
    pub fn uri(&self) -> Option<centrala_sip::message::Uri> {
        NameAddr::parse(&self.contact).ok().map(|c| c.uri)
    }

    /// The Contact for a 200 to REGISTER, with the seconds left.
    pub fn contact_with_expires(&self, now: Instant) -> String {
        format!(
            "{};expires={}",
            self.contact,
            self.expires_at.saturating_sub(now) / 1000
        )
    }
}

/// Where a UDP registration is reached (RFC 3261 10 and 5626, and the usual NAT rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The flow the REGISTER came on: an RFC 5626 flow, a stream, or a Contact behind NAT
    /// (private or unusable while the request came from elsewhere, as Kamailio's nathelper).
    Source,
    /// The Contact's own address (a phone that listens elsewhere than it sends from, or
    /// registers for another device: third-party registration).
    Contact(SocketAddr),
}

/// Picks where a device that registered `contact` from `source` over `transport` is reached.
pub fn reach(
    contact: &NameAddr,
    source: SocketAddr,
    transport: Transport,
    outbound: bool,
) -> Reach {
    if transport != Transport::Udp || outbound {
        return Reach::Source;
    }
    let host = contact
        .uri
        .host
        .trim_start_matches('[')
        .trim_end_matches(']');
    let Ok(ip) = host.parse::<IpAddr>() else {
        return Reach::Source; // a name (often `.invalid`): we do not resolve names here
    };
    let wants_udp = contact
        .uri
        .params
        .value("transport")
        .is_none_or(|t| t.eq_ignore_ascii_case("udp"));
    let addr = SocketAddr::new(ip, contact.uri.port.unwrap_or(5060));
    if !wants_udp || ip.is_unspecified() || ip.is_multicast() || addr == source {
        return Reach::Source;
    }
    // Behind NAT: the phone wrote its LAN address, the request came from the NAT's.
    if private(ip) && !private(source.ip()) {
        return Reach::Source;
    }
    // Loopback is reachable only from loopback.
    if ip.is_loopback() && !source.ip().is_loopback() {
        return Reach::Source;
    }
    Reach::Contact(addr)
}

/// RFC 1918, RFC 6598 (carrier-grade NAT), link-local and unique-local addresses.
fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || v4.is_link_local() || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
    }
}

/// One extension's devices, and when its expiry timer is armed.
#[derive(Debug, Default)]
struct Devices {
    bindings: Vec<Binding>,
    armed: Option<Instant>,
}

/// Every registration.
#[derive(Debug, Default)]
pub struct Location {
    aors: HashMap<AorKey, Devices>,
    count: usize,
}

/// Why a registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Already [`MAX_BINDINGS`] devices.
    TooManyDevices,
}

impl Location {
    /// How many devices are registered in all.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The devices of an extension.
    pub fn bindings(&self, aor: &AorKey) -> &[Binding] {
        self.aors.get(aor).map_or(&[], |d| &d.bindings)
    }

    /// Adds or refreshes a device. Returns when the extension's expiry timer must be armed
    /// (its earliest expiry moved earlier), if it must.
    pub fn upsert(
        &mut self,
        aor: &AorKey,
        binding: Binding,
        flows: &mut Flows,
    ) -> Result<Option<Instant>, Refused> {
        let devices = self.aors.entry(aor.clone()).or_default();
        let at = binding.expires_at;
        match devices.bindings.iter_mut().find(|b| b.key == binding.key) {
            Some(b) => {
                if b.flow != binding.flow {
                    unlink(flows, b.flow, aor);
                    link(flows, binding.flow, aor);
                }
                let since = b.since;
                *b = binding;
                b.since = since;
            }
            None => {
                if devices.bindings.len() >= MAX_BINDINGS {
                    if devices.bindings.is_empty() {
                        self.aors.remove(aor);
                    }
                    return Err(Refused::TooManyDevices);
                }
                link(flows, binding.flow, aor);
                // Most extensions have one device: grow one at a time (a plain push reserves
                // four, ~1 KB per idle client).
                devices.bindings.reserve_exact(1);
                devices.bindings.push(binding);
                self.count += 1;
            }
        }
        Ok(match devices.armed {
            Some(t) if t <= at => None,
            _ => {
                devices.armed = Some(at);
                Some(at)
            }
        })
    }

    /// Removes the device with `key`; whether there was one.
    pub fn remove(&mut self, aor: &AorKey, key: &str, flows: &mut Flows) -> bool {
        self.remove_where(aor, flows, |b| &*b.key == key) > 0
    }

    /// Removes every device of an extension (`Contact: *`), or those `which` picks; returns
    /// the removed ones' flows.
    pub fn remove_where(
        &mut self,
        aor: &AorKey,
        flows: &mut Flows,
        which: impl Fn(&Binding) -> bool,
    ) -> usize {
        let Some(devices) = self.aors.get_mut(aor) else {
            return 0;
        };
        let mut gone = Vec::new();
        devices.bindings.retain(|b| {
            let go = which(b);
            if go {
                gone.push(b.flow);
            }
            !go
        });
        let n = gone.len();
        self.count -= n;
        if devices.bindings.is_empty() {
            self.aors.remove(aor);
        }
        for f in gone {
            unlink(flows, f, aor);
        }
        n
    }

    /// The registrations on a closed flow, removed: only that flow's extensions are touched.
    /// The registrations on a closed flow (its `aors`, taken from it), removed: only that
    /// flow's extensions are touched.
    pub fn flow_closed(&mut self, flow: FlowId, aors: &[AorKey]) {
        for aor in aors {
            if let Some(devices) = self.aors.get_mut(aor) {
                let before = devices.bindings.len();
                devices.bindings.retain(|b| b.flow != flow);
                self.count -= before - devices.bindings.len();
                if devices.bindings.is_empty() {
                    self.aors.remove(aor);
                }
            }
        }
    }

    /// The extension's expiry timer fired: drops what expired, and returns how many went and
    /// when to fire next (if anything is left).
    pub fn expire(
        &mut self,
        aor: &AorKey,
        now: Instant,
        flows: &mut Flows,
    ) -> (usize, Option<Instant>) {
        let gone = self.remove_where(aor, flows, |b| b.expires_at <= now);
        let next = self.aors.get_mut(aor).and_then(|d| {
            let next = d.bindings.iter().map(|b| b.expires_at).min();
            d.armed = next;
            next
        });
        (gone, next)
    }
}

/// Notes on the flow that it carries a registration of `aor` (once per device).
fn link(flows: &mut Flows, flow: FlowId, aor: &AorKey) {
    if let Some(f) = flows.get_mut(flow) {
        f.aors.reserve_exact(1);
        f.aors.push(aor.clone());
    }
}

fn unlink(flows: &mut Flows, flow: FlowId, aor: &AorKey) {
    if let Some(f) = flows.get_mut(flow)
        && let Some(i) = f.aors.iter().position(|a| a == aor)
    {
        f.aors.swap_remove(i);
        if f.aors.is_empty() {
            f.aors = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use centrala_sip::message::NameAddr;

    fn contact(s: &str) -> NameAddr {
        NameAddr::parse(s).unwrap()
    }

    #[test]
    fn where_a_udp_phone_is_reached() {
        let src: SocketAddr = "203.0.113.5:5060".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        // Its own address: the flow.
        assert_eq!(
            reach(
                &contact("<sip:101@203.0.113.5:5060>"),
                src,
                Transport::Udp,
                false
            ),
            Reach::Source
        );
        // Behind NAT: a LAN address from a public source.
        assert_eq!(
            reach(
                &contact("<sip:101@192.168.1.20:5060>"),
                src,
                Transport::Udp,
                false
            ),
            Reach::Source
        );
        // Third party: another port, or another public host.
        assert_eq!(
            reach(
                &contact("<sip:101@127.0.0.1:5070>"),
                lo,
                Transport::Udp,
                false
            ),
            Reach::Contact("127.0.0.1:5070".parse().unwrap())
        );
        assert_eq!(
            reach(
                &contact("<sip:101@198.51.100.7>"),
                src,
                Transport::Udp,
                false
            ),
            Reach::Contact("198.51.100.7:5060".parse().unwrap())
        );
        // RFC 5626 outbound, a name, a stream transport, TCP wanted: the flow.
        assert_eq!(
            reach(
                &contact("<sip:101@198.51.100.7>"),
                src,
                Transport::Udp,
                true
            ),
            Reach::Source
        );
        assert_eq!(
            reach(&contact("<sip:101@x.invalid>"), src, Transport::Udp, false),
            Reach::Source
        );
        assert_eq!(
            reach(
                &contact("<sip:101@198.51.100.7>"),
                src,
                Transport::Tcp,
                false
            ),
            Reach::Source
        );
        assert_eq!(
            reach(
                &contact("<sip:101@198.51.100.7;transport=tcp>"),
                src,
                Transport::Udp,
                false
            ),
            Reach::Source
        );
        // Loopback only from loopback; carrier-grade NAT space is private.
        assert_eq!(
            reach(
                &contact("<sip:101@127.0.0.1:5070>"),
                src,
                Transport::Udp,
                false
            ),
            Reach::Source
        );
        assert_eq!(
            reach(&contact("<sip:101@100.64.1.1>"), src, Transport::Udp, false),
            Reach::Source
        );
    }

    fn binding(flow: u64, key: &str, expires_at: Instant) -> Binding {
        Binding {
            contact: "<sip:101@x.invalid;transport=ws>".into(),
            flow: FlowId(flow),
            key: key.into(),
            expires_at,
            app: false,
            user_agent: None,
            login: None,
            since: 0,
            seen: 0,
        }
    }

    #[test]
    fn a_closed_flow_takes_exactly_its_bindings_and_the_tenth_device_is_refused() {
        let mut flows = Flows::default();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        for i in 1..=10 {
            flows.open(FlowId(i), peer, Transport::Ws, 0);
        }
        let mut loc = Location::default();
        let (a, b) = (AorKey::new(1, "101"), AorKey::new(1, "102"));
        assert_eq!(
            loc.upsert(&a, binding(1, "a1", 100), &mut flows),
            Ok(Some(100))
        );
        assert_eq!(
            loc.upsert(&a, binding(2, "a2", 50), &mut flows),
            Ok(Some(50))
        );
        assert_eq!(
            loc.upsert(&a, binding(2, "a2", 80), &mut flows),
            Ok(None),
            "refresh"
        );
        loc.upsert(&b, binding(2, "b1", 100), &mut flows).unwrap();
        assert_eq!(loc.len(), 3);
        let mut gone = flows.get(FlowId(2)).unwrap().aors.clone();
        gone.sort();
        assert_eq!(gone, [a.clone(), b.clone()]);
        loc.flow_closed(FlowId(2), &gone);
        assert_eq!(loc.len(), 1);
        assert_eq!(loc.bindings(&a).len(), 1);
        assert!(loc.bindings(&b).is_empty());
        for i in 3..=10 {
            loc.upsert(&a, binding(i, &format!("a{i}"), 100), &mut flows)
                .unwrap();
        }
        assert_eq!(loc.bindings(&a).len(), 9);
        assert_eq!(
            loc.upsert(&a, binding(10, "a-tenth", 100), &mut flows),
            Err(Refused::TooManyDevices)
        );
    }

    #[test]
    fn expiry_drops_what_is_due_and_rearms_for_the_rest() {
        let mut flows = Flows::default();
        let mut loc = Location::default();
        let a = AorKey::new(1, "101");
        loc.upsert(&a, binding(1, "x", 100), &mut flows).unwrap();
        loc.upsert(&a, binding(1, "y", 300), &mut flows).unwrap();
        assert_eq!(loc.expire(&a, 100, &mut flows), (1, Some(300)));
        assert_eq!(loc.expire(&a, 300, &mut flows), (1, None));
        assert!(loc.is_empty());
    }
}
