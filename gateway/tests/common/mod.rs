//! Test harness: a real gateway on 127.0.0.1:0 with a temporary SQLite database, raw
//! SIP-over-WebSocket clients, and "phones" that drive the same sans-IO user agent the
//! browser uses.
#![allow(dead_code)]

pub mod peer;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use centrala_gateway::server::{self, Listeners, ServeConfig};
use centrala_gateway::store::Store;
use centrala_sip::message::{Message, Response, parse_datagram};
use centrala_sip::ua::{CallHandle, Event, UaConfig, UserAgent};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const DOMAIN: &str = "test.centrala";

/// A minimal SDP offer/answer: the gateway relays it, nothing here looks at media.
pub const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n";

pub struct Gateway {
    /// HTTP and SIP over WebSocket.
    pub addr: SocketAddr,
    pub udp_addr: SocketAddr,
    pub tcp_addr: SocketAddr,
    /// SIP over TLS, and HTTPS with WSS at /sip, with the self-signed `cert_der`.
    pub tls_addr: SocketAddr,
    pub https_addr: SocketAddr,
    pub cert_der: Vec<u8>,
    pub dir: tempfile::TempDir,
    /// The gateway's own store (shared: `slow_down` applies to the running gateway).
    pub store: Store,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Gateway {
    /// Stops the gateway and hands back its data folder (to start again on it).
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }
}

pub fn password(ext: &str) -> String {
    format!("secret-{ext}")
}

/// Starts a gateway with users 101, 102 and 103 (password `secret-<ext>`).
pub async fn start() -> Gateway {
    start_with(|_| {}).await
}

/// Starts a gateway (WebSocket, UDP and TCP on 127.0.0.1, ephemeral ports) after `tune`
/// adjusts its configuration.
pub async fn start_with(tune: impl FnOnce(&mut ServeConfig)) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).await.expect("store");
    for ext in ["101", "102", "103"] {
        store
            .add_user(ext, &format!("User {ext}"), &password(ext), DOMAIN)
            .await
            .expect("add user");
    }
    drop(store);
    start_on(dir, tune).await
}

/// Starts a gateway on an existing data folder (a restart keeps everything).
pub async fn start_on(dir: tempfile::TempDir, tune: impl FnOnce(&mut ServeConfig)) -> Gateway {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let store = Store::open(dir.path()).await.expect("store");
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind udp");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind tcp");
    let (addr, udp_addr, tcp_addr) = (
        http.local_addr().unwrap(),
        udp.local_addr().unwrap(),
        tcp.local_addr().unwrap(),
    );
    let (tx, rx) = oneshot::channel::<()>();
    let mut cfg = ServeConfig::new(DOMAIN, dir.path().join("web"));
    cfg.nonce_secret = [3; 32];
    cfg.api.public_url = format!("http://{addr}");
    cfg.mail = centrala_gateway::mail::MailConfig::Files {
        dir: dir.path().join("mail"),
        from: "Centrala <no-reply@test.centrala>".into(),
    };
    tune(&mut cfg);
    // A self-signed certificate for 127.0.0.1, for SIP over TLS and WSS.
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let (cert_pem, key_pem) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
    let sip_tls = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind tls");
    let https = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind https");
    let (tls_addr, https_addr) = (sip_tls.local_addr().unwrap(), https.local_addr().unwrap());
    let listeners = Listeners {
        http,
        sip_udp: Some(udp),
        sip_tcp: Some(tcp),
        sip_tls: Some(sip_tls),
        https: Some(https),
        tls: Some(centrala_gateway::tls::acceptor(&cert_pem, &key_pem).expect("tls")),
    };
    let shared = store.clone();
    tokio::spawn(async move {
        server::run(listeners, store, cfg, async move {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    Gateway {
        addr,
        udp_addr,
        tcp_addr,
        tls_addr,
        https_addr,
        cert_der: cert.cert.der().to_vec(),
        dir,
        store: shared,
        stop: Some(tx),
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw SIP-over-WebSocket client.
pub struct Raw {
    pub ws: Ws,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        let mut req = format!("ws://{addr}/sip")
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "sip".parse().expect("header"));
        let (ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .expect("connect");
        assert_eq!(
            resp.headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap()),
            Some("sip")
        );
        Raw { ws }
    }

    pub async fn send(&mut self, text: &str) {
        self.ws
            .send(WsMessage::Text(
                text.replace("\r\n", "\n").replace('\n', "\r\n").into(),
            ))
            .await
            .expect("send");
    }

    pub async fn recv_text(&mut self) -> String {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("a message within 5 s")
                .expect("stream open")
                .expect("frame");
            match m {
                WsMessage::Text(t) => return t.to_string(),
                WsMessage::Binary(b) => return String::from_utf8_lossy(&b).into_owned(),
                _ => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> Message {
        loop {
            let t = self.recv_text().await;
            if t.trim().is_empty() {
                continue;
            }
            return parse_datagram(t.as_bytes()).expect("gateway sends valid SIP");
        }
    }

    /// The next final response (provisionals skipped).
    pub async fn final_response(&mut self) -> Response {
        loop {
            if let Message::Response(r) = self.recv().await
                && r.status >= 200
            {
                return r;
            }
        }
    }
}

type Command = Box<dyn FnOnce(&mut UserAgent, u64) + Send>;

/// A softphone: the sans-IO user agent over a real WebSocket, driven by its own task (as the
/// browser's event loop drives it), so several phones progress at once.
pub struct Phone {
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    events: tokio::sync::mpsc::UnboundedReceiver<Event>,
}

async fn drive(
    mut ua: UserAgent,
    mut ws: Ws,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<Command>,
    events: tokio::sync::mpsc::UnboundedSender<Event>,
) {
    let epoch = Instant::now();
    let now = || epoch.elapsed().as_millis() as u64;
    ua.connected(now());
    loop {
        while let Some(t) = ua.poll_transmit() {
            if ws.send(WsMessage::Text(t.into())).await.is_err() {
                ua.disconnected();
            }
        }
        while let Some(e) = ua.poll_event() {
            let _ = events.send(e);
        }
        let wait = ua
            .poll_timeout()
            .map_or(1000, |t| t.saturating_sub(now()).min(1000));
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(WsMessage::Text(t))) => ua.handle_message(t.as_bytes(), now()),
                Some(Ok(_)) => {}
                _ => {
                    ua.disconnected();
                    while let Some(e) = ua.poll_event() {
                        let _ = events.send(e);
                    }
                    return;
                }
            },
            c = commands.recv() => match c {
                Some(c) => c(&mut ua, now()),
                None => {
                    let _ = ws.close(None).await;
                    return;
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(wait)) => ua.handle_timeout(now()),
        }
    }
}

impl Phone {
    pub async fn connect(addr: SocketAddr, ext: &str, password: &str, instance: u32) -> Phone {
        Phone::connect_with(addr, UaConfig::new(ext, DOMAIN, password), instance).await
    }

    /// Connects with a user agent configured by the caller (another domain, short-lived
    /// credentials).
    pub async fn connect_with(addr: SocketAddr, mut cfg: UaConfig, instance: u32) -> Phone {
        let raw = Raw::connect(addr).await;
        cfg.instance_id = format!("urn:uuid:00000000-0000-4000-8000-{instance:012}");
        let mut seed = [0x5a; 32];
        seed[..4].copy_from_slice(&instance.to_le_bytes());
        let ua = UserAgent::new(cfg, seed);
        let (ctx, crx) = tokio::sync::mpsc::unbounded_channel();
        let (etx, erx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(drive(ua, raw.ws, crx, etx));
        Phone {
            commands: ctx,
            events: erx,
        }
    }

    /// Connects and waits until registered.
    pub async fn registered(addr: SocketAddr, ext: &str, instance: u32) -> Phone {
        let mut p = Phone::connect(addr, ext, &password(ext), instance).await;
        p.expect(|e| {
            matches!(
                e,
                Event::Registration(centrala_sip::ua::RegistrationState::Registered)
            )
        })
        .await;
        p
    }

    /// Runs `f` on the user agent with the current time and returns its result.
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut UserAgent, u64) -> R + Send + 'static,
    ) -> R {
        let (tx, rx) = oneshot::channel();
        let _ = self.commands.send(Box::new(move |ua, now| {
            let _ = tx.send(f(ua, now));
        }));
        rx.await.expect("phone task alive")
    }

    pub async fn call(&self, target: &str, sdp: &str) -> CallHandle {
        let (t, s) = (target.to_string(), sdp.to_string());
        self.with(move |ua, now| ua.call(&t, s, now)).await
    }

    pub async fn answer(&self, call: CallHandle, sdp: &str) {
        let s = sdp.to_string();
        self.with(move |ua, now| ua.answer(call, s, now)).await
    }

    pub async fn hangup(&self, call: CallHandle) {
        self.with(move |ua, now| ua.hangup(call, now)).await
    }

    /// The next event (10 s at most).
    pub async fn next_event(&mut self) -> Event {
        tokio::time::timeout(Duration::from_secs(10), self.events.recv())
            .await
            .expect("an event within 10 s")
            .expect("phone task alive")
    }

    /// The events that come within `ms` (none expected, usually).
    pub async fn events_for(&mut self, ms: u64) -> Vec<Event> {
        let mut out = Vec::new();
        let end = tokio::time::Instant::now() + Duration::from_millis(ms);
        while let Ok(Some(e)) = tokio::time::timeout_at(end, self.events.recv()).await {
            out.push(e);
        }
        out
    }

    /// Skips events until one matches.
    pub async fn expect(&mut self, pred: impl Fn(&Event) -> bool) -> Event {
        loop {
            let e = self.next_event().await;
            if pred(&e) {
                return e;
            }
        }
    }

    /// Waits for an incoming call; returns its handle and the caller's extension.
    pub async fn incoming(&mut self) -> (CallHandle, String) {
        match self
            .expect(|e| matches!(e, Event::IncomingCall { .. }))
            .await
        {
            Event::IncomingCall {
                call, from_user, ..
            } => (call, from_user),
            _ => unreachable!(),
        }
    }

    /// Waits for a call to end; returns its SIP status (if any) and the reason shown.
    pub async fn ended(&mut self) -> (Option<u16>, String) {
        match self.expect(|e| matches!(e, Event::Ended { .. })).await {
            Event::Ended { status, reason, .. } => (status, reason),
            _ => unreachable!(),
        }
    }

    /// `self` calls `callee`'s extension and `callee` answers: both are in the call.
    pub async fn connected_call(
        &mut self,
        callee: &mut Phone,
        ext: &str,
    ) -> (CallHandle, CallHandle) {
        let ours = self.call(ext, SDP).await;
        let (theirs, _) = callee.incoming().await;
        callee.answer(theirs, SDP).await;
        self.expect(|e| matches!(e, Event::Answered { .. })).await;
        callee
            .expect(|e| matches!(e, Event::Connected { .. }))
            .await;
        (ours, theirs)
    }

    /// Closes the WebSocket.
    pub async fn close(self) {
        drop(self.commands);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
