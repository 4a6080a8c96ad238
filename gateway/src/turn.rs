//! The media relay for browsers (TURN, RFC 8656): calls between browsers stay peer to peer,
//! but two browsers that cannot reach each other (behind NATs or firewalls that allow no
//! direct UDP between them) fall back to relayed candidates through the gateway, and a
//! company that wants every call's media through the gateway (a setting, `relay_media`)
//! makes its browsers use relayed candidates only (`iceTransportPolicy: "relay"`). Video
//! and screen sharing are relayed like audio: TURN carries the encrypted packets as they
//! are.
//!
//! The server is the `turn` crate's (webrtc-rs); what is ours:
//! - **Who may use it.** Only people logged in to the web app: `GET /api/v1/ice` hands out
//!   time-limited credentials in the TURN REST API's way (username `EXPIRY:EMPLOYEE`,
//!   password the base64 HMAC-SHA1 of the username under a secret made at start), checked
//!   here without a database lookup ([`Auth`]). Expired or forged ones get 401.
//! - **Where it may send.** A relay must not become a way into the gateway's own network:
//!   peers on loopback, link-local, multicast or unspecified addresses are refused (packets
//!   dropped), unless the relay itself is on loopback (a development machine or the tests),
//!   see [`peer_allowed`].
//! - **Ports.** Relayed addresses come from `--turn-ports` on `--media-address`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use tracing::{debug, info, warn};
use turn::auth::AuthHandler;
use turn::relay::RelayAddressGenerator;
use turn::relay::relay_range::RelayAddressGeneratorRanges;
use turn::server::Server;
use turn::server::config::{ConnConfig, ServerConfig};
use webrtc_util::Conn;
use webrtc_util::vnet::net::Net;

/// How long credentials from `GET /api/v1/ice` are valid.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(12 * 3600);
/// The realm of the relay's long-term credentials.
const REALM: &str = "centrala";

/// The relay's settings.
#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// Where it listens (UDP), e.g. `203.0.113.5:3478`.
    pub listen: SocketAddr,
    /// The address of relayed candidates (the media address).
    pub relay_address: IpAddr,
    /// The ports of relayed candidates.
    pub ports: centrala_media::PortRange,
    /// Signs the credentials; made at start (credentials do not outlive the process).
    pub secret: [u8; 32],
}

impl TurnConfig {
    /// The TURN URL browsers are given.
    pub fn url(&self) -> String {
        match self.listen.ip() {
            IpAddr::V6(ip) => format!("turn:[{ip}]:{}?transport=udp", self.listen.port()),
            IpAddr::V4(ip) => format!("turn:{ip}:{}?transport=udp", self.listen.port()),
        }
    }
}

/// Credentials for `employee`, valid until `now + ttl` (Unix seconds): (username,
/// password).
pub fn credentials(secret: &[u8; 32], employee: i64, now: u64, ttl: Duration) -> (String, String) {
    let username = format!("{}:{employee}", now + ttl.as_secs());
    let password = password_of(secret, &username);
    (username, password)
}

fn password_of(secret: &[u8; 32], username: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(username.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Checks a request's username: not expired, of the form `EXPIRY:EMPLOYEE`; answers the
/// long-term key (MD5 of `username:realm:password`) the server checks the request's
/// MESSAGE-INTEGRITY with. A forged username gets a key that does not match.
struct Auth {
    secret: [u8; 32],
}

impl AuthHandler for Auth {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        src: SocketAddr,
    ) -> Result<Vec<u8>, turn::Error> {
        let expiry = username
            .split_once(':')
            .and_then(|(t, who)| who.parse::<i64>().ok().and(t.parse::<u64>().ok()))
            .ok_or_else(|| turn::Error::Other("not a Centrala TURN username".into()))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if expiry < now {
            debug!(%src, "TURN: expired credentials");
            return Err(turn::Error::Other("expired credentials".into()));
        }
        let password = password_of(&self.secret, username);
        Ok(Md5::digest(format!("{username}:{realm}:{password}")).to_vec())
    }
}

/// May the relay send to `peer`? Not to loopback, link-local, multicast, broadcast or
/// unspecified addresses (the gateway's own machine and network), unless the relay is on
/// loopback itself (development, tests).
pub fn peer_allowed(peer: IpAddr, relay: IpAddr) -> bool {
    if relay.is_loopback() {
        return true;
    }
    let bad = match peer {
        IpAddr::V4(ip) => {
            ip.is_loopback()
                || ip.is_link_local()
                || ip.is_multicast()
                || ip.is_broadcast()
                || ip.is_unspecified()
        }
        IpAddr::V6(ip) => {
            ip.is_loopback()
                || ip.is_multicast()
                || ip.is_unspecified()
                || ip.is_unicast_link_local()
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| !peer_allowed(v4.into(), relay))
        }
    };
    !bad
}

/// A relayed socket that refuses to send where [`peer_allowed`] says no.
struct Guarded {
    inner: Arc<dyn Conn + Send + Sync>,
    relay: IpAddr,
}

#[async_trait::async_trait]
impl Conn for Guarded {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        self.inner.connect(addr).await
    }
    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        self.inner.recv(buf).await
    }
    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        self.inner.recv_from(buf).await
    }
    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        self.inner.send(buf).await
    }
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if !peer_allowed(target.ip(), self.relay) {
            warn!(%target, "TURN: relaying to this address is not allowed; dropped");
            return Ok(buf.len());
        }
        self.inner.send_to(buf, target).await
    }
    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        self.inner.local_addr()
    }
    fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.remote_addr()
    }
    async fn close(&self) -> webrtc_util::Result<()> {
        self.inner.close().await
    }
    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

/// Relayed sockets from the port range, guarded.
struct Relays {
    ranges: RelayAddressGeneratorRanges,
}

#[async_trait::async_trait]
impl RelayAddressGenerator for Relays {
    fn validate(&self) -> Result<(), turn::Error> {
        self.ranges.validate()
    }

    async fn allocate_conn(
        &self,
        use_ipv4: bool,
        requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        let (inner, addr) = self.ranges.allocate_conn(use_ipv4, requested_port).await?;
        debug!(%addr, "TURN: relayed address allocated");
        let guarded = Guarded {
            inner,
            relay: self.ranges.relay_address,
        };
        Ok((Arc::new(guarded), addr))
    }
}

/// Starts the relay; it serves until the returned server is closed or dropped with the
/// process.
pub async fn start(cfg: &TurnConfig) -> anyhow::Result<Server> {
    let socket = tokio::net::UdpSocket::bind(cfg.listen).await?;
    let ranges = RelayAddressGeneratorRanges {
        relay_address: cfg.relay_address,
        min_port: cfg.ports.first(),
        max_port: cfg.ports.last(),
        max_retries: 10,
        address: cfg.relay_address.to_string(),
        net: Arc::new(Net::new(None)),
    };
    let server = Server::new(ServerConfig {
        conn_configs: vec![ConnConfig {
            conn: Arc::new(socket),
            relay_addr_generator: Box::new(Relays { ranges }),
        }],
        realm: REALM.into(),
        auth_handler: Arc::new(Auth { secret: cfg.secret }),
        channel_bind_timeout: Duration::from_secs(0),
        alloc_close_notify: None,
    })
    .await?;
    info!(listen = %cfg.listen, relay = %cfg.relay_address, ports = %cfg.ports, "TURN relay for browsers ready");
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_checked_and_expire() {
        let secret = [7u8; 32];
        let auth = Auth { secret };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let src: SocketAddr = "192.0.2.9:5000".parse().unwrap();
        let (user, pass) = credentials(&secret, 42, now, CREDENTIAL_TTL);
        let key = auth.auth_handle(&user, REALM, src).unwrap();
        assert_eq!(key, Md5::digest(format!("{user}:{REALM}:{pass}")).to_vec());
        // Another secret's password does not give the same key: the request's integrity
        // check fails.
        let (_, other) = credentials(&[8u8; 32], 42, now, CREDENTIAL_TTL);
        assert_ne!(key, Md5::digest(format!("{user}:{REALM}:{other}")).to_vec());
        // Expired, or not ours.
        let (old, _) = credentials(&secret, 42, now - 100_000, CREDENTIAL_TTL);
        assert!(auth.auth_handle(&old, REALM, src).is_err());
        for bad in ["", "alice", "99999999999", "x:1", "99999999999:x"] {
            assert!(auth.auth_handle(bad, REALM, src).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_relay_does_not_reach_the_gateways_own_network() {
        let public: IpAddr = "203.0.113.5".parse().unwrap();
        for bad in [
            "127.0.0.1",
            "169.254.1.1",
            "224.0.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!peer_allowed(bad.parse().unwrap(), public), "{bad}");
        }
        for good in ["198.51.100.7", "10.1.2.3", "192.168.1.20", "2001:db8::1"] {
            assert!(peer_allowed(good.parse().unwrap(), public), "{good}");
        }
        // A relay on loopback (development, tests) relays on loopback.
        assert!(peer_allowed(
            "127.0.0.1".parse().unwrap(),
            "127.0.0.1".parse().unwrap()
        ));
    }
}
