//! A raw SIP peer on UDP, TCP or TLS: a desk phone, a trunk, or an attacker.

use std::net::SocketAddr;
use std::time::Duration;

use centrala_sip::digest::{Challenge, Credentials};
use centrala_sip::framing::{Frame, Framer};
use centrala_sip::message::{Message, Request, Response, parse_datagram};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::{DOMAIN, SDP, password};

pub trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

/// A raw SIP peer on UDP, TCP or TLS.
pub enum Peer {
    Udp(UdpSocket, SocketAddr),
    Tcp(Box<dyn Stream>, Framer, SocketAddr, &'static str),
}

/// A TLS client that trusts the test gateway's self-signed certificate.
pub async fn tls_connect(
    addr: SocketAddr,
    cert_der: &[u8],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto::ring::default_provider};
    let mut roots = RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(cert_der.to_vec()))
        .unwrap();
    let config = ClientConfig::builder_with_provider(std::sync::Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    connector
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the gateway")
}

impl Peer {
    pub async fn udp(gw: SocketAddr) -> Peer {
        Peer::udp_from("127.0.0.1".parse().unwrap(), gw).await
    }
    /// A UDP peer on another loopback address (127.0.0.2...: another source).
    pub async fn udp_from(ip: std::net::IpAddr, gw: SocketAddr) -> Peer {
        Peer::Udp(UdpSocket::bind((ip, 0)).await.unwrap(), gw)
    }
    pub async fn tcp(gw: SocketAddr) -> Peer {
        let s = TcpStream::connect(gw).await.unwrap();
        let local = s.local_addr().unwrap();
        Peer::Tcp(Box::new(s), Framer::new(), local, "TCP")
    }
    pub async fn tls(gw: SocketAddr, cert_der: &[u8]) -> Peer {
        let s = tls_connect(gw, cert_der).await;
        let local = s.get_ref().0.local_addr().unwrap();
        Peer::Tcp(Box::new(s), Framer::new(), local, "TLS")
    }
    pub fn local(&self) -> SocketAddr {
        match self {
            Peer::Udp(s, _) => s.local_addr().unwrap(),
            Peer::Tcp(_, _, local, _) => *local,
        }
    }
    pub fn transport(&self) -> &'static str {
        match self {
            Peer::Udp(..) => "UDP",
            Peer::Tcp(_, _, _, t) => t,
        }
    }
    pub async fn send(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        match self {
            Peer::Udp(s, gw) => {
                s.send_to(text.as_bytes(), *gw).await.unwrap();
            }
            Peer::Tcp(s, ..) => s.write_all(text.as_bytes()).await.unwrap(),
        }
    }
    pub async fn recv(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(5), self.recv_inner())
            .await
            .expect("a message within 5 s")
    }
    pub async fn recv_inner(&mut self) -> Message {
        match self {
            Peer::Udp(s, _) => {
                let mut buf = vec![0; 65536];
                let (n, _) = s.recv_from(&mut buf).await.unwrap();
                parse_datagram(&buf[..n]).unwrap()
            }
            Peer::Tcp(s, framer, ..) => loop {
                if let Some(Frame::Message(m)) = framer.next_frame().unwrap() {
                    return m;
                }
                let mut buf = vec![0; 16384];
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "connection closed");
                framer.push(&buf[..n]);
            },
        }
    }
    pub async fn request(&mut self) -> Request {
        loop {
            if let Message::Request(r) = self.recv().await {
                return r;
            }
        }
    }
    pub async fn final_response(&mut self) -> Response {
        loop {
            if let Message::Response(r) = self.recv().await
                && r.status >= 200
            {
                return r;
            }
        }
    }

    /// Registers `ext` with digest, the way a desk phone would.
    pub async fn register(&mut self, ext: &str) {
        self.register_in(ext, DOMAIN, &password(ext)).await
    }

    /// Registers `ext` of the company with SIP domain `domain`.
    pub async fn register_in(&mut self, ext: &str, domain: &str, secret: &str) {
        let me = self.local();
        let t = self.transport();
        let reg = |cseq: u32, auth: String| {
            format!(
                "REGISTER sip:{domain} SIP/2.0\nVia: SIP/2.0/{t} {me};branch=z9hG4bKr{ext}{cseq};rport\nMax-Forwards: 70\nTo: <sip:{ext}@{domain}>\nFrom: <sip:{ext}@{domain}>;tag=r{ext}\nCall-ID: reg-{ext}-{me}\nCSeq: {cseq} REGISTER\nContact: <sip:{ext}@{me};transport={}>\nExpires: 600\n{auth}Content-Length: 0\n\n",
                t.to_lowercase()
            )
        };
        self.send(&reg(1, String::new())).await;
        let r = self.final_response().await;
        assert_eq!(r.status, 401);
        let ch = Challenge::pick(r.headers.all("WWW-Authenticate")).unwrap();
        let creds = Credentials::answer(
            &ch,
            "REGISTER",
            &format!("sip:{domain}"),
            ext,
            secret,
            "c",
            1,
        );
        self.send(&reg(2, format!("Authorization: {creds}\n")))
            .await;
        let ok = self.final_response().await;
        assert_eq!(ok.status, 200, "{}", ok.reason);
    }
}

/// Answers the INVITE like a phone: 180, then 200 with SDP and Record-Route copied.
pub fn answer(invite: &Request, status: u16, me: SocketAddr, transport: &str) -> Response {
    let mut r = invite.response(status, if status == 200 { "OK" } else { "Ringing" });
    r.set_to_tag("callee");
    for rr in invite.headers.all("Record-Route") {
        r.headers.push("Record-Route", rr);
    }
    r.headers.push(
        "Contact",
        format!("<sip:callee@{me};transport={}>", transport.to_lowercase()),
    );
    if status == 200 {
        r.headers.push("Content-Type", "application/sdp");
        r.body = SDP.as_bytes().to_vec();
    }
    r
}
