//! Flows: the connections SIP arrives on (a WebSocket, a TCP or TLS connection, or a UDP
//! peer address), and the transport rules that depend on them: our Via, our Record-Route,
//! whether transactions retransmit, and which URIs name us.

use std::net::{IpAddr, SocketAddr};

use centrala_sip::Instant;
use centrala_sip::message::Uri;

use super::HashMap;
use super::dialogs::DialogId;
use super::location::AorKey;

/// A flow's number. Stream flows are numbered by the driver; UDP flows by the core, with
/// the top bit set so the two never meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

const UDP_FLOW_BIT: u64 = 1 << 63;
/// Stream connections the gateway opens itself (to a carrier's TCP trunk), numbered by the
/// core in a range of their own.
const OUT_FLOW_BIT: u64 = 1 << 62;

impl FlowId {
    pub fn is_udp(self) -> bool {
        self.0 & UDP_FLOW_BIT != 0
    }
}

impl std::fmt::Display for FlowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0 & !UDP_FLOW_BIT)
    }
}

/// The transport a flow uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Ws,
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    /// Its name in lower case, as a Via names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Ws => "ws",
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// Whether the transport delivers reliably (no SIP retransmissions needed).
    pub fn reliable(self) -> bool {
        self != Transport::Udp
    }

    pub fn name(self) -> &'static str {
        match self {
            Transport::Ws => "ws",
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

/// One flow. What it carries is listed here, so closing it costs only what it had.
#[derive(Debug)]
pub struct Flow {
    pub peer: SocketAddr,
    pub transport: Transport,
    /// When a message last came (UDP flows are forgotten after a quiet while).
    pub last_seen: Instant,
    /// Dialogs this flow is a side of.
    pub dialogs: Vec<DialogId>,
    /// The extensions with a device registered on this flow, once per device.
    pub aors: Vec<AorKey>,
}

/// Our own SIP addresses, per transport.
#[derive(Debug, Clone, Default)]
pub struct OwnAddresses {
    /// The SIP domain (the WebSocket side's Via and Record-Route host).
    pub domain: String,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
}

/// Every flow.
#[derive(Debug, Default)]
pub struct Flows {
    flows: HashMap<FlowId, Flow>,
    udp: HashMap<SocketAddr, FlowId>,
    next_udp: u64,
    /// Connections we opened, by where to and how.
    out: HashMap<(SocketAddr, Transport), FlowId>,
    next_out: u64,
    pub own: OwnAddresses,
}

impl Flows {
    pub fn new(own: OwnAddresses) -> Flows {
        Flows {
            own,
            ..Flows::default()
        }
    }

    /// A stream flow opened.
    pub fn open(&mut self, id: FlowId, peer: SocketAddr, transport: Transport, now: Instant) {
        self.flows.insert(
            id,
            Flow {
                peer,
                transport,
                last_seen: now,
                dialogs: Vec::new(),
                aors: Vec::new(),
            },
        );
    }

    /// The flow for a UDP peer, made on first sight; `true` when new.
    pub fn udp_flow(&mut self, peer: SocketAddr, now: Instant) -> (FlowId, bool) {
        if let Some(&id) = self.udp.get(&peer) {
            if let Some(f) = self.flows.get_mut(&id) {
                f.last_seen = now;
            }
            return (id, false);
        }
        self.next_udp += 1;
        let id = FlowId(UDP_FLOW_BIT | self.next_udp);
        self.udp.insert(peer, id);
        self.open(id, peer, Transport::Udp, now);
        (id, true)
    }

    /// The connection we opened to `peer` over `transport` (TCP), made when there is none;
    /// `true` when new (the driver is to connect it: [`super::Output::Connect`]).
    pub fn outbound_flow(
        &mut self,
        peer: SocketAddr,
        transport: Transport,
        now: Instant,
    ) -> (FlowId, bool) {
        if let Some(&id) = self.out.get(&(peer, transport)) {
            return (id, false);
        }
        self.next_out += 1;
        let id = FlowId(OUT_FLOW_BIT | self.next_out);
        self.out.insert((peer, transport), id);
        self.open(id, peer, transport, now);
        (id, true)
    }

    /// Removes a flow; what it carried is returned for the caller to clean up.
    pub fn close(&mut self, id: FlowId) -> Option<Flow> {
        let f = self.flows.remove(&id)?;
        if f.transport == Transport::Udp {
            self.udp.remove(&f.peer);
        }
        if id.0 & OUT_FLOW_BIT != 0 {
            self.out.remove(&(f.peer, f.transport));
        }
        Some(f)
    }

    pub fn get(&self, id: FlowId) -> Option<&Flow> {
        self.flows.get(&id)
    }

    pub fn get_mut(&mut self, id: FlowId) -> Option<&mut Flow> {
        self.flows.get_mut(&id)
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Open flows by transport (ws, udp, tcp, tls).
    pub fn count_by_transport(&self) -> [usize; 4] {
        let mut n = [0; 4];
        for f in self.flows.values() {
            n[match f.transport {
                Transport::Ws => 0,
                Transport::Udp => 1,
                Transport::Tcp => 2,
                Transport::Tls => 3,
            }] += 1;
        }
        n
    }

    pub fn transport_of(&self, id: FlowId) -> Transport {
        self.flows.get(&id).map_or(Transport::Ws, |f| f.transport)
    }

    pub fn peer_ip(&self, id: FlowId) -> IpAddr {
        self.flows
            .get(&id)
            .map_or(IpAddr::from([0, 0, 0, 0]), |f| f.peer.ip())
    }

    /// Whether a UDP flow may be forgotten: quiet, with no registration and no dialog.
    pub fn idle(&self, id: FlowId, now: Instant, quiet_ms: u64) -> bool {
        self.flows.get(&id).is_some_and(|f| {
            f.transport == Transport::Udp
                && f.aors.is_empty()
                && f.dialogs.is_empty()
                && now.saturating_sub(f.last_seen) >= quiet_ms
        })
    }

    /// Whether `uri` names this gateway itself (no user; our domain, or one of our SIP
    /// addresses).
    pub fn is_us(&self, uri: &Uri) -> bool {
        uri.user.is_none() && self.names_us(uri)
    }

    /// Whether the host and port of `uri` are this gateway's, whatever its user part.
    pub fn names_us(&self, uri: &Uri) -> bool {
        if uri.host.eq_ignore_ascii_case(&self.own.domain) {
            return true;
        }
        let port = uri.port.unwrap_or(5060);
        let host = uri.host.trim_start_matches('[').trim_end_matches(']');
        [self.own.udp, self.own.tcp, self.own.tls]
            .into_iter()
            .flatten()
            .any(|a| a.port() == port && host.parse::<IpAddr>().is_ok_and(|ip| ip == a.ip()))
    }

    /// Our Record-Route entry as seen from a flow of `transport`.
    pub fn record_route(&self, transport: Transport) -> String {
        match (transport, self.own.udp, self.own.tcp, self.own.tls) {
            (Transport::Udp, Some(a), _, _) => format!("<sip:{a};lr>"),
            (Transport::Tcp, _, Some(a), _) => format!("<sip:{a};transport=tcp;lr>"),
            (Transport::Tls, _, _, Some(a)) => format!("<sip:{a};transport=tls;lr>"),
            // A connection of ours (a TCP trunk) without a TCP listener: our name (the
            // carrier's requests in the call come back on the connection while it lives).
            (Transport::Tcp, ..) => format!("<sip:{};transport=tcp;lr>", self.own.domain),
            (Transport::Tls, ..) => format!("<sip:{};transport=tls;lr>", self.own.domain),
            _ => format!("<sip:{};transport=ws;lr>", self.own.domain),
        }
    }

    /// Our Via for a request sent on a flow of `transport`, with `branch`.
    pub fn via(&self, transport: Transport, branch: &str) -> String {
        match (transport, self.own.udp, self.own.tcp, self.own.tls) {
            (Transport::Udp, Some(a), _, _) => format!("SIP/2.0/UDP {a};branch={branch};rport"),
            (Transport::Tcp, _, Some(a), _) => format!("SIP/2.0/TCP {a};branch={branch}"),
            (Transport::Tls, _, _, Some(a)) => format!("SIP/2.0/TLS {a};branch={branch}"),
            (Transport::Tcp, ..) => format!("SIP/2.0/TCP {};branch={branch}", self.own.domain),
            (Transport::Tls, ..) => format!("SIP/2.0/TLS {};branch={branch}", self.own.domain),
            _ => format!("SIP/2.0/WSS {};branch={branch}", self.own.domain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> OwnAddresses {
        OwnAddresses {
            domain: "d.example".into(),
            udp: Some("192.0.2.1:5060".parse().unwrap()),
            tcp: Some("192.0.2.1:5060".parse().unwrap()),
            tls: None,
        }
    }

    #[test]
    fn udp_flows_are_one_per_peer_and_never_clash_with_stream_ids() {
        let mut f = Flows::new(own());
        let a: SocketAddr = "192.0.2.9:5060".parse().unwrap();
        let (id, new) = f.udp_flow(a, 0);
        assert!(new && id.is_udp());
        assert_eq!(f.udp_flow(a, 5), (id, false));
        f.open(FlowId(1), a, Transport::Ws, 0);
        assert!(!FlowId(1).is_udp());
        assert_eq!(f.len(), 2);
        assert!(f.close(id).is_some());
        assert!(f.udp_flow(a, 6).1, "a closed UDP flow is made anew");
    }

    #[test]
    fn via_record_route_and_us_follow_the_transport() {
        let f = Flows::new(own());
        assert_eq!(f.record_route(Transport::Udp), "<sip:192.0.2.1:5060;lr>");
        assert_eq!(
            f.record_route(Transport::Ws),
            "<sip:d.example;transport=ws;lr>"
        );
        // No TLS listener: a TLS connection is one of ours (a trunk); we are our name.
        assert_eq!(
            f.record_route(Transport::Tls),
            "<sip:d.example;transport=tls;lr>"
        );
        assert!(
            f.via(Transport::Tls, "z9hG4bKx")
                .starts_with("SIP/2.0/TLS d.example;")
        );
        assert!(
            f.via(Transport::Tcp, "z9hG4bKx")
                .starts_with("SIP/2.0/TCP 192.0.2.1:5060")
        );
        assert!(f.is_us(&Uri::parse("sip:d.example;lr").unwrap()));
        assert!(f.is_us(&Uri::parse("sip:192.0.2.1;lr").unwrap()));
        assert!(!f.is_us(&Uri::parse("sip:192.0.2.1:5070;lr").unwrap()));
        assert!(!f.is_us(&Uri::parse("sip:101@d.example").unwrap()));
    }
}
