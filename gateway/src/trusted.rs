//! Trusted peers (a SIP trunk, a load generator): sources whose out-of-dialog requests other
//! than REGISTER are not challenged, and which the flood guard and per-address connection cap
//! leave alone. Trust is for an address *and* the transports the operator names: TCP and TLS
//! by default (a connection's source address cannot be forged), UDP only when asked for
//! (`udp:ADDR`), since anyone can send a datagram with a forged source. SIP over WebSocket is
//! never trusted: any web page can make a visitor's browser open one.

use std::net::IpAddr;
use std::str::FromStr;

use crate::core::Transport;

/// One `--trusted-peer` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedPeer {
    pub ip: IpAddr,
    pub udp: bool,
    pub tcp: bool,
    pub tls: bool,
}

impl TrustedPeer {
    /// Trusted over TCP and TLS (the default for a bare address).
    pub fn stream(ip: IpAddr) -> TrustedPeer {
        TrustedPeer {
            ip,
            udp: false,
            tcp: true,
            tls: true,
        }
    }

    fn covers(&self, transport: Transport) -> bool {
        match transport {
            Transport::Udp => self.udp,
            Transport::Tcp => self.tcp,
            Transport::Tls => self.tls,
            Transport::Ws => false,
        }
    }
}

/// Whether `ip` is trusted on `transport`.
pub fn is_trusted(peers: &[TrustedPeer], ip: IpAddr, transport: Transport) -> bool {
    peers.iter().any(|p| p.ip == ip && p.covers(transport))
}

/// Why a `--trusted-peer` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a trusted peer: give an IP address, optionally after tcp:, tls: or udp: (e.g. 192.0.2.10, udp:192.0.2.10, tls:[2001:db8::1]); WebSocket clients are never trusted"
)]
pub struct BadTrustedPeer(String);

impl FromStr for TrustedPeer {
    type Err = BadTrustedPeer;

    /// `ADDR` (TCP and TLS), or `tcp:ADDR`, `tls:ADDR`, `udp:ADDR`; IPv6 with or without
    /// brackets. Repeat the flag to trust one address on several transports.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadTrustedPeer(s.to_string());
        let ip = |a: &str| {
            a.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .map_err(|_| bad())
        };
        if let Ok(addr) = ip(s) {
            return Ok(TrustedPeer::stream(addr));
        }
        let (transport, addr) = s.split_once(':').ok_or_else(bad)?;
        let ip = ip(addr)?;
        let none = TrustedPeer {
            ip,
            udp: false,
            tcp: false,
            tls: false,
        };
        match transport.to_ascii_lowercase().as_str() {
            "udp" => Ok(TrustedPeer { udp: true, ..none }),
            "tcp" => Ok(TrustedPeer { tcp: true, ..none }),
            "tls" => Ok(TrustedPeer { tls: true, ..none }),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_with_and_without_transport() {
        let v4: IpAddr = "192.0.2.10".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!("192.0.2.10".parse(), Ok(TrustedPeer::stream(v4)));
        assert_eq!("2001:db8::1".parse(), Ok(TrustedPeer::stream(v6)));
        assert_eq!("[2001:db8::1]".parse(), Ok(TrustedPeer::stream(v6)));
        let udp: TrustedPeer = "udp:192.0.2.10".parse().unwrap();
        assert!(udp.udp && !udp.tcp && !udp.tls);
        let tls: TrustedPeer = "TLS:[2001:db8::1]".parse().unwrap();
        assert!(tls.tls && !tls.tcp && tls.ip == v6);
        assert!("ws:192.0.2.10".parse::<TrustedPeer>().is_err());
        assert!("example.com".parse::<TrustedPeer>().is_err());
        assert!("udp:".parse::<TrustedPeer>().is_err());
    }

    #[test]
    fn udp_and_websocket_are_not_trusted_unless_named() {
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        let peers = ["127.0.0.2".parse::<TrustedPeer>().unwrap()];
        assert!(is_trusted(&peers, ip, Transport::Tcp));
        assert!(is_trusted(&peers, ip, Transport::Tls));
        assert!(!is_trusted(&peers, ip, Transport::Udp));
        assert!(!is_trusted(&peers, ip, Transport::Ws));
        assert!(!is_trusted(
            &peers,
            "127.0.0.3".parse().unwrap(),
            Transport::Tcp
        ));
        let udp = ["udp:127.0.0.2".parse::<TrustedPeer>().unwrap()];
        assert!(is_trusted(&udp, ip, Transport::Udp));
        assert!(!is_trusted(&udp, ip, Transport::Ws));
    }
}
