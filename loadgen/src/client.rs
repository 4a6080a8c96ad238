//! One simulated softphone: a SIP-over-WebSocket connection from its own loopback source
//! address, digest registration, CRLF keepalives, and calls as caller or callee.
//!
//! Each client is one task. It reconnects with exponential back-off and full jitter when its
//! connection is lost (as the web softphone does after a gateway restart), until told to stop.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use centrala_sip::SipMessage;
use centrala_sip::digest::{Challenge, Credentials};
use centrala_sip::message::{Message, Method, Request, Response, parse_datagram_with};
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::presence::{self as watch, Watch};
use crate::stats::Stats;

/// What every client shares: settings, statistics and the counts the modes watch.
pub struct Shared {
    pub url: String,
    pub server: SocketAddr,
    pub domain: String,
    pub sources: Vec<IpAddr>,
    pub first_ext: u64,
    pub password_template: String,
    pub expires: u32,
    pub keepalive: Duration,
    pub timeout: Duration,
    pub call_secs: Duration,
    pub ring: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub stats: Stats,
    /// Clients registered right now.
    pub registered: AtomicI64,
    /// Calls a client has started and not yet finished.
    pub calls_in_flight: AtomicI64,
    /// Registered sessions that were lost (the connection closed under them).
    pub lost: AtomicU64,
    /// Clients that registered again after losing a registered session.
    pub reregistered: AtomicU64,
    /// While set, new connections wait for a permit (the initial ramp).
    pub ramp: Arc<Semaphore>,
    pub use_ramp: AtomicBool,
    pub stopping: AtomicBool,
    /// The `presence` mode's state: every client subscribes to the directory, client 0
    /// publishes its status on command.
    pub watch: Option<Watch>,
}

impl Shared {
    pub fn password(&self, ext: u64) -> String {
        self.password_template.replace("{ext}", &ext.to_string())
    }
}

/// Orders from the mode driver to one client.
#[derive(Debug)]
pub enum Cmd {
    /// Register again (a fresh digest exchange).
    Register,
    /// Call this extension; hang up after `call_secs`.
    Call {
        to: u64,
    },
    /// PUBLISH change number `change` of [`Watch::changes`] (the probe).
    Publish {
        change: usize,
    },
    Shutdown,
}

enum End {
    Shutdown,
    Lost,
}

pub async fn run(
    idx: usize,
    sh: Arc<Shared>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    start_delay: Duration,
) {
    let ext = sh.first_ext + idx as u64;
    if !start_delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(start_delay) => {}
            cmd = cmds.recv() => {
                if matches!(cmd, None | Some(Cmd::Shutdown)) {
                    return;
                }
            }
        }
    }
    let src = sh.sources[idx % sh.sources.len()];
    let mut rng = StdRng::from_entropy();
    let mut attempt: u32 = 0;
    let mut lost_at: Option<Instant> = None;
    loop {
        if sh.stopping.load(Ordering::Relaxed) {
            return;
        }
        let permit = if sh.use_ramp.load(Ordering::Relaxed) {
            sh.ramp.clone().acquire_owned().await.ok()
        } else {
            None
        };
        let ws = match tokio::time::timeout(sh.timeout, connect(&sh, src)).await {
            Ok(Ok(ws)) => Some(ws),
            Ok(Err(e)) => {
                sh.stats
                    .count(&format!("connect failed: {}", short_error(&e)));
                None
            }
            Err(_) => {
                sh.stats.count("connect failed: timeout");
                None
            }
        };
        let registered_once = if let Some(ws) = ws {
            let mut s = Session::new(ext, &sh, &mut rng, permit, lost_at);
            let end = s.run(ws, &mut cmds).await;
            // Still set if this session never registered; taken when it did.
            lost_at = s.lost_before;
            if s.subscribed
                && let Some(w) = &sh.watch
            {
                w.subscribed.fetch_sub(1, Ordering::Relaxed);
            }
            if s.registered {
                sh.registered.fetch_sub(1, Ordering::Relaxed);
                if matches!(end, End::Lost) {
                    sh.lost.fetch_add(1, Ordering::Relaxed);
                    lost_at = Some(Instant::now());
                }
            }
            if matches!(end, End::Shutdown) {
                return;
            }
            s.registered_once
        } else {
            drop(permit);
            false
        };
        if registered_once {
            attempt = 0;
        }
        // Exponential back-off with full jitter: uniform in [0, min(max, base * 2^attempt)].
        let cap = sh
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(sh.backoff_max);
        attempt = attempt.saturating_add(1);
        let delay = cap.mul_f64(rng.r#gen::<f64>());
        sh.stats.count("reconnect attempts");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            cmd = cmds.recv() => {
                if matches!(cmd, None | Some(Cmd::Shutdown)) {
                    return;
                }
            }
        }
    }
}

fn short_error(e: &anyhow::Error) -> String {
    let s = e.to_string();
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        return format!("{:?}", io.kind());
    }
    s.chars().take(60).collect()
}

async fn connect(sh: &Shared, src: IpAddr) -> anyhow::Result<WebSocketStream<TcpStream>> {
    let sock = match src {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    sock.bind(SocketAddr::new(src, 0))?;
    let tcp = sock.connect(sh.server).await?;
    tcp.set_nodelay(true)?;
    let mut req = sh.url.as_str().into_client_request()?;
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    // Small buffers: SIP messages are a few KiB and we hold tens of thousands of sockets.
    let cfg = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let (ws, _resp) = tokio_tungstenite::client_async_with_config(req, tcp, Some(cfg)).await?;
    Ok(ws)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Register { auth: bool },
    Invite { auth: bool },
    Bye,
    Subscribe { auth: bool },
    Publish { auth: bool, change: usize },
}

struct Pending {
    kind: Kind,
    call_id: String,
    sent: Instant,
    /// When the whole exchange began (before a challenge).
    began: Instant,
    deadline: Instant,
}

/// A call this client placed.
struct OutCall {
    to: u64,
    from_tag: String,
    cseq: u32,
    /// Saved for the ACK of a 407 and the authenticated retry.
    invite_uri: String,
    got_180: bool,
    /// Established: where in-dialog requests go.
    dialog: Option<Dialog>,
    hangup_at: Option<Instant>,
}

struct Dialog {
    target: String,
    routes: Vec<String>,
    to: String,
}

/// A call this client answers.
struct InCall {
    answer_at: Option<Instant>,
    invite: Request,
    to_tag: String,
}

struct Session<'a> {
    sh: &'a Shared,
    rng: &'a mut StdRng,
    ext: u64,
    ext_s: String,
    password: String,
    host: String,
    out: Vec<String>,
    reg_call_id: String,
    reg_cseq: u32,
    registered: bool,
    registered_once: bool,
    registered_at: Option<Instant>,
    permit: Option<OwnedSemaphorePermit>,
    lost_before: Option<Instant>,
    pending: HashMap<String, Pending>,
    out_calls: HashMap<String, OutCall>,
    in_calls: HashMap<String, InCall>,
    keepalive_at: Instant,
    keepalives_unanswered: u32,
    /// The directory subscription (presence mode): Call-ID, From tag, CSeq.
    sub_call_id: String,
    sub_tag: String,
    sub_cseq: u32,
    sub_sent: bool,
    subscribed: bool,
    got_full: bool,
    /// The last probe change this session saw (presence mode).
    seen_change: Option<usize>,
    /// The probe's PUBLISHes: Call-ID, From tag, CSeq.
    pub_call_id: String,
    pub_tag: String,
    pub_cseq: u32,
}

impl<'a> Session<'a> {
    fn new(
        ext: u64,
        sh: &'a Shared,
        rng: &'a mut StdRng,
        permit: Option<OwnedSemaphorePermit>,
        lost_before: Option<Instant>,
    ) -> Session<'a> {
        let host = format!("c{}.invalid", token(rng, 12));
        let reg_call_id = token(rng, 20);
        // First keepalive at a random point of the interval, so they do not come in waves.
        let keepalive_at = Instant::now() + sh.keepalive.mul_f64(rng.gen_range(0.2..1.0));
        Session {
            sh,
            ext,
            ext_s: ext.to_string(),
            password: sh.password(ext),
            host,
            out: Vec::new(),
            reg_call_id,
            reg_cseq: 0,
            registered: false,
            registered_once: false,
            registered_at: None,
            permit,
            lost_before,
            pending: HashMap::new(),
            out_calls: HashMap::new(),
            in_calls: HashMap::new(),
            keepalive_at,
            keepalives_unanswered: 0,
            sub_call_id: token(rng, 20),
            sub_tag: token(rng, 10),
            sub_cseq: 0,
            sub_sent: false,
            subscribed: false,
            got_full: false,
            seen_change: None,
            pub_call_id: token(rng, 20),
            pub_tag: token(rng, 10),
            pub_cseq: 0,
            rng,
        }
    }

    async fn run(
        &mut self,
        mut ws: WebSocketStream<TcpStream>,
        cmds: &mut mpsc::UnboundedReceiver<Cmd>,
    ) -> End {
        self.register();
        loop {
            if !self.out.is_empty() {
                let batch = std::mem::take(&mut self.out);
                for text in batch {
                    if ws.feed(WsMessage::text(text)).await.is_err() {
                        return self.lost();
                    }
                }
                if ws.flush().await.is_err() {
                    return self.lost();
                }
            }
            let wake = self.next_deadline();
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None | Some(Cmd::Shutdown) => {
                        let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                        self.finish_calls("shutdown");
                        return End::Shutdown;
                    }
                    Some(Cmd::Register) => {
                        if self.registered && !self.pending.values().any(|p| matches!(p.kind, Kind::Register { .. })) {
                            self.register();
                        }
                    }
                    Some(Cmd::Call { to }) => self.call(to),
                    Some(Cmd::Publish { change }) => self.publish(change, None, None),
                },
                frame = ws.next() => match frame {
                    Some(Ok(WsMessage::Text(t))) => {
                        if !self.on_bytes(t.as_str().as_bytes()) {
                            return self.lost();
                        }
                    }
                    Some(Ok(WsMessage::Binary(b))) => {
                        if !self.on_bytes(&b) {
                            return self.lost();
                        }
                    }
                    Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return self.lost(),
                    Some(Ok(_)) => {}
                },
                _ = tokio::time::sleep_until(wake) => {
                    if !self.on_timers() {
                        return self.lost();
                    }
                }
            }
        }
    }

    fn lost(&mut self) -> End {
        self.finish_calls("connection lost");
        End::Lost
    }

    /// Counts calls that cannot finish any more as failed.
    fn finish_calls(&mut self, why: &str) {
        for (_, _c) in self.out_calls.drain() {
            self.sh.calls_in_flight.fetch_sub(1, Ordering::Relaxed);
            self.sh.stats.count(&format!("call failed: {why}"));
        }
        if self.permit.is_some() {
            self.permit = None;
        }
    }

    fn next_deadline(&self) -> Instant {
        let mut t = self.keepalive_at;
        if let Some(at) = self.registered_at {
            let refresh = at + Duration::from_secs(u64::from(self.sh.expires) * 8 / 10);
            t = t.min(refresh);
        }
        for p in self.pending.values() {
            t = t.min(p.deadline);
        }
        for c in self.out_calls.values() {
            if let Some(h) = c.hangup_at {
                t = t.min(h);
            }
        }
        for c in self.in_calls.values() {
            if let Some(a) = c.answer_at {
                t = t.min(a);
            }
        }
        t
    }

    /// Fires what is due; false when the connection should be dropped.
    fn on_timers(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.keepalive_at {
            if self.keepalives_unanswered >= 3 {
                self.sh.stats.count("keepalive: no pong 3 times");
                return false;
            }
            self.out.push("\r\n\r\n".into());
            self.keepalives_unanswered += 1;
            self.sh.stats.count("keepalive ping sent");
            self.keepalive_at = now + self.sh.keepalive;
        }
        if let Some(at) = self.registered_at
            && now >= at + Duration::from_secs(u64::from(self.sh.expires) * 8 / 10)
        {
            self.registered_at = Some(now);
            self.register();
        }
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(k, _)| k.clone())
            .collect();
        for branch in expired {
            let p = self.pending.remove(&branch).expect("present");
            match p.kind {
                Kind::Register { .. } => {
                    self.sh.stats.count("REGISTER failed: timeout");
                    return false;
                }
                Kind::Subscribe { .. } => {
                    self.sh.stats.count("SUBSCRIBE failed: timeout");
                }
                Kind::Publish { .. } => {
                    self.sh.stats.count("PUBLISH failed: timeout");
                }
                Kind::Invite { .. } | Kind::Bye => {
                    let what = if p.kind == Kind::Bye { "BYE" } else { "INVITE" };
                    self.sh.stats.count(&format!("{what} failed: timeout"));
                    if self.out_calls.remove(&p.call_id).is_some() {
                        self.sh.calls_in_flight.fetch_sub(1, Ordering::Relaxed);
                        self.sh.stats.count("call failed: timeout");
                    }
                }
            }
        }
        let hangups: Vec<String> = self
            .out_calls
            .iter()
            .filter(|(_, c)| c.hangup_at.is_some_and(|h| now >= h))
            .map(|(k, _)| k.clone())
            .collect();
        for call_id in hangups {
            self.bye(&call_id);
        }
        let answers: Vec<String> = self
            .in_calls
            .iter()
            .filter(|(_, c)| c.answer_at.is_some_and(|a| now >= a))
            .map(|(k, _)| k.clone())
            .collect();
        for call_id in answers {
            self.answer(&call_id);
        }
        true
    }

    fn via(&mut self) -> (String, String) {
        let branch = format!("z9hG4bK{}", token(self.rng, 16));
        (format!("SIP/2.0/WS {};branch={branch}", self.host), branch)
    }

    fn contact(&self) -> String {
        format!("<sip:{}@{};transport=ws;ob>", self.ext_s, self.host)
    }

    fn track(&mut self, branch: String, kind: Kind, call_id: &str, began: Option<Instant>) {
        let now = Instant::now();
        self.pending.insert(
            branch,
            Pending {
                kind,
                call_id: call_id.to_string(),
                sent: now,
                began: began.unwrap_or(now),
                deadline: now + self.sh.timeout,
            },
        );
    }

    fn register(&mut self) {
        self.send_register(None, None);
    }

    fn send_register(&mut self, auth: Option<String>, began: Option<Instant>) {
        let (via, branch) = self.via();
        self.reg_cseq += 1;
        let d = &self.sh.domain;
        let mut m = format!(
            "REGISTER sip:{d} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <sip:{e}@{d}>;tag={tag}\r\nTo: <sip:{e}@{d}>\r\nCall-ID: {cid}\r\nCSeq: {cseq} REGISTER\r\nContact: {contact};+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-{e:0>12}>\";reg-id=1;expires={exp}\r\nExpires: {exp}\r\nSupported: path, outbound\r\nUser-Agent: centrala-loadgen\r\n",
            e = self.ext_s,
            tag = token(self.rng, 10),
            cid = self.reg_call_id,
            cseq = self.reg_cseq,
            contact = self.contact(),
            exp = self.sh.expires,
        );
        if let Some(a) = auth {
            m.push_str(&format!("Authorization: {a}\r\n"));
        }
        m.push_str("Content-Length: 0\r\n\r\n");
        let kind = Kind::Register {
            auth: began.is_some(),
        };
        let cid = self.reg_call_id.clone();
        self.track(branch, kind, &cid, began);
        self.out.push(m);
    }

    fn call(&mut self, to: u64) {
        if !self.registered {
            self.sh.stats.count("call skipped: caller not registered");
            return;
        }
        let call_id = token(self.rng, 20);
        let call = OutCall {
            to,
            from_tag: token(self.rng, 10),
            cseq: 0,
            invite_uri: format!("sip:{to}@{}", self.sh.domain),
            got_180: false,
            dialog: None,
            hangup_at: None,
        };
        self.out_calls.insert(call_id.clone(), call);
        self.sh.calls_in_flight.fetch_add(1, Ordering::Relaxed);
        self.sh.stats.count("calls started");
        self.send_invite(&call_id, None, None);
    }

    fn send_invite(&mut self, call_id: &str, auth: Option<String>, began: Option<Instant>) {
        let (via, branch) = self.via();
        let contact = self.contact();
        let d = self.sh.domain.clone();
        let sdp = sdp(self.ext);
        let Some(c) = self.out_calls.get_mut(call_id) else {
            return;
        };
        c.cseq += 1;
        let mut m = format!(
            "INVITE {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <sip:{e}@{d}>;tag={tag}\r\nTo: <sip:{to}@{d}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\nContact: {contact}\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\nSupported: outbound\r\nUser-Agent: centrala-loadgen\r\nContent-Type: application/sdp\r\n",
            uri = c.invite_uri,
            e = self.ext_s,
            tag = c.from_tag,
            to = c.to,
            cseq = c.cseq,
        );
        if let Some(a) = auth {
            m.push_str(&format!("Proxy-Authorization: {a}\r\n"));
        }
        m.push_str(&format!("Content-Length: {}\r\n\r\n{sdp}", sdp.len()));
        self.track(
            branch,
            Kind::Invite {
                auth: began.is_some(),
            },
            call_id,
            began,
        );
        self.out.push(m);
    }

    fn bye(&mut self, call_id: &str) {
        let (via, branch) = self.via();
        let d = self.sh.domain.clone();
        let Some(c) = self.out_calls.get_mut(call_id) else {
            return;
        };
        c.hangup_at = None;
        let Some(dl) = &c.dialog else {
            return;
        };
        c.cseq += 1;
        let mut m = format!(
            "BYE {target} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n",
            target = dl.target
        );
        for r in &dl.routes {
            m.push_str(&format!("Route: {r}\r\n"));
        }
        m.push_str(&format!(
            "From: <sip:{e}@{d}>;tag={tag}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} BYE\r\nContent-Length: 0\r\n\r\n",
            e = self.ext_s,
            tag = c.from_tag,
            to = dl.to,
            cseq = c.cseq,
        ));
        self.track(branch, Kind::Bye, call_id, None);
        self.out.push(m);
    }

    /// Handles one frame; false when the connection should be dropped.
    fn on_bytes(&mut self, bytes: &[u8]) -> bool {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            self.keepalives_unanswered = 0;
            self.sh.stats.count("keepalive pong received");
            return true;
        }
        // Any traffic shows the connection is alive.
        self.keepalives_unanswered = 0;
        // A NOTIFY of the whole directory is larger than 64 KiB (a softphone reads it too).
        match parse_datagram_with(bytes, centrala_sip::presence::MAX_LIST_BODY) {
            Ok(Message::Response(r)) => self.on_response(r),
            Ok(Message::Request(r)) if r.method == Method::Notify => {
                self.on_notify(r, bytes.len());
                true
            }
            Ok(Message::Request(r)) => {
                self.on_request(r);
                true
            }
            Err(_) => {
                self.sh.stats.count("unparsable message received");
                true
            }
        }
    }

    fn on_response(&mut self, r: Response) -> bool {
        let Some(branch) = r.branch() else {
            return true;
        };
        let Some(kind) = self.pending.get(&branch).map(|p| p.kind) else {
            return true;
        };
        if r.status < 200 {
            if let Kind::Invite { auth: _ } = kind
                && r.status == 180
            {
                let p = &self.pending[&branch];
                let (sent, call_id) = (p.sent, p.call_id.clone());
                if let Some(c) = self.out_calls.get_mut(&call_id)
                    && !c.got_180
                {
                    c.got_180 = true;
                    self.sh.stats.latency("INVITE -> 180", sent.elapsed());
                }
            }
            return true;
        }
        let p = self.pending.remove(&branch).expect("present");
        let st = &self.sh.stats;
        match (kind, r.status) {
            (Kind::Register { auth: false }, 401) => {
                st.latency("REGISTER -> 401", p.sent.elapsed());
                let Some(ch) = Challenge::pick(r.headers.all("WWW-Authenticate")) else {
                    st.count("REGISTER failed: no usable challenge");
                    return false;
                };
                let uri = format!("sip:{}", self.sh.domain);
                let cnonce = token(self.rng, 16);
                let creds = Credentials::answer(
                    &ch,
                    "REGISTER",
                    &uri,
                    &self.ext_s,
                    &self.password,
                    &cnonce,
                    1,
                );
                self.send_register(Some(creds.to_string()), Some(p.began));
                true
            }
            (Kind::Register { auth }, 200..=299) => {
                if auth {
                    st.latency("REGISTER (auth) -> 200", p.sent.elapsed());
                    st.latency("register total (401 + 200)", p.began.elapsed());
                } else {
                    st.latency("REGISTER (no challenge) -> 200", p.sent.elapsed());
                }
                st.count("REGISTER ok");
                let now = Instant::now();
                self.registered_at = Some(now);
                if !self.registered {
                    self.registered = true;
                    self.sh.registered.fetch_add(1, Ordering::Relaxed);
                    if let Some(lost) = self.lost_before.take() {
                        st.latency("re-register after loss", lost.elapsed());
                        self.sh.reregistered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                self.registered_once = true;
                if self.sh.watch.is_some() && !self.sub_sent {
                    // The permit is kept until the subscription is answered: a login is
                    // REGISTER and SUBSCRIBE.
                    self.sub_sent = true;
                    self.subscribe(None, None);
                } else {
                    self.permit = None;
                }
                true
            }
            (Kind::Register { .. }, s) => {
                st.count(&format!("REGISTER failed: {s}"));
                false
            }
            (Kind::Invite { auth: false }, 407) => {
                st.latency("INVITE -> 407", p.sent.elapsed());
                self.ack_non_2xx(&r, &p.call_id, &branch);
                let Some(ch) = Challenge::pick(r.headers.all("Proxy-Authenticate")) else {
                    st.count("INVITE failed: no usable challenge");
                    self.end_call(&p.call_id, false);
                    return true;
                };
                let Some(uri) = self.out_calls.get(&p.call_id).map(|c| c.invite_uri.clone()) else {
                    return true;
                };
                let cnonce = token(self.rng, 16);
                let creds = Credentials::answer(
                    &ch,
                    "INVITE",
                    &uri,
                    &self.ext_s,
                    &self.password,
                    &cnonce,
                    1,
                );
                if let Some(c) = self.out_calls.get_mut(&p.call_id) {
                    c.got_180 = false;
                }
                self.send_invite(&p.call_id, Some(creds.to_string()), Some(p.began));
                true
            }
            (Kind::Invite { .. }, 200..=299) => {
                st.latency("INVITE (auth) -> 200", p.sent.elapsed());
                st.latency("call setup total (INVITE .. 200)", p.began.elapsed());
                self.ack_2xx(&r, &p.call_id);
                true
            }
            (Kind::Invite { .. }, s) => {
                self.ack_non_2xx(&r, &p.call_id, &branch);
                st.count(&format!("INVITE failed: {s}"));
                self.end_call(&p.call_id, false);
                true
            }
            (Kind::Subscribe { auth: false }, 407) => {
                st.latency("SUBSCRIBE -> 407", p.sent.elapsed());
                let Some(ch) = Challenge::pick(r.headers.all("Proxy-Authenticate")) else {
                    st.count("SUBSCRIBE failed: no usable challenge");
                    self.permit = None;
                    return true;
                };
                let uri = format!("sip:{}@{}", watch::DIRECTORY, self.sh.domain);
                let creds = self.credentials(&ch, "SUBSCRIBE", &uri);
                self.subscribe(Some(creds), Some(p.began));
                true
            }
            (Kind::Subscribe { .. }, 200..=299) => {
                st.latency("SUBSCRIBE (auth) -> 200", p.sent.elapsed());
                st.latency("subscribe total (407 + 200)", p.began.elapsed());
                st.count("SUBSCRIBE ok");
                self.permit = None;
                if !self.subscribed {
                    self.subscribed = true;
                    if let Some(w) = &self.sh.watch {
                        w.subscribed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                true
            }
            (Kind::Subscribe { .. }, s) => {
                st.count(&format!("SUBSCRIBE failed: {s}"));
                self.permit = None;
                true
            }
            (
                Kind::Publish {
                    auth: false,
                    change,
                },
                407,
            ) => {
                st.latency("PUBLISH -> 407", p.sent.elapsed());
                let Some(ch) = Challenge::pick(r.headers.all("Proxy-Authenticate")) else {
                    st.count("PUBLISH failed: no usable challenge");
                    return true;
                };
                let uri = format!("sip:{}@{}", self.ext_s, self.sh.domain);
                let creds = self.credentials(&ch, "PUBLISH", &uri);
                self.publish(change, Some(creds), Some(p.began));
                true
            }
            (Kind::Publish { .. }, 200..=299) => {
                st.latency("PUBLISH (auth) -> 200", p.sent.elapsed());
                st.count("PUBLISH ok");
                true
            }
            (Kind::Publish { .. }, s) => {
                st.count(&format!("PUBLISH failed: {s}"));
                true
            }
            (Kind::Bye, s) => {
                if (200..300).contains(&s) {
                    st.latency("BYE -> 200", p.sent.elapsed());
                    self.end_call(&p.call_id, true);
                } else {
                    st.count(&format!("BYE failed: {s}"));
                    self.end_call(&p.call_id, false);
                }
                true
            }
        }
    }

    /// Digest credentials for a 407 challenge (as for REGISTER's 401, but for the proxy).
    fn credentials(&mut self, ch: &Challenge, method: &str, uri: &str) -> String {
        let cnonce = token(self.rng, 16);
        Credentials::answer(ch, method, uri, &self.ext_s, &self.password, &cnonce, 1).to_string()
    }

    /// SUBSCRIBE to the company directory (RFC 4662 resource list, `Event: presence`).
    fn subscribe(&mut self, auth: Option<String>, began: Option<Instant>) {
        let Some(w) = &self.sh.watch else {
            return;
        };
        let exp = w.expires;
        let (via, branch) = self.via();
        self.sub_cseq += 1;
        let d = &self.sh.domain;
        let mut m = format!(
            "SUBSCRIBE sip:{dir}@{d} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <sip:{e}@{d}>;tag={tag}\r\nTo: <sip:{dir}@{d}>\r\nCall-ID: {cid}\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: {contact}\r\nEvent: presence\r\nSupported: eventlist\r\nAccept: application/pidf+xml, application/rlmi+xml, multipart/related\r\nExpires: {exp}\r\nUser-Agent: centrala-loadgen\r\n",
            dir = watch::DIRECTORY,
            e = self.ext_s,
            tag = self.sub_tag,
            cid = self.sub_call_id,
            cseq = self.sub_cseq,
            contact = self.contact(),
        );
        if let Some(a) = auth {
            m.push_str(&format!("Proxy-Authorization: {a}\r\n"));
        }
        m.push_str("Content-Length: 0\r\n\r\n");
        let cid = self.sub_call_id.clone();
        let kind = Kind::Subscribe {
            auth: began.is_some(),
        };
        self.track(branch, kind, &cid, began);
        self.out.push(m);
    }

    /// PUBLISH the probe's status for change `change`: do not disturb or available. The
    /// authenticated PUBLISH's send instant is the change's start.
    fn publish(&mut self, change: usize, auth: Option<String>, began: Option<Instant>) {
        let Some(w) = &self.sh.watch else {
            return;
        };
        let Some(dnd) = w.change_status(change) else {
            return;
        };
        let (via, branch) = self.via();
        self.pub_cseq += 1;
        let d = &self.sh.domain;
        let entity = format!("sip:{}@{d}", self.ext_s);
        let body = centrala_sip::presence::pidf(&centrala_sip::presence::Presence {
            entity: entity.clone(),
            status: if dnd {
                centrala_sip::presence::Status::Dnd
            } else {
                centrala_sip::presence::Status::Available
            },
            note: None,
        });
        let mut m = format!(
            "PUBLISH {entity} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <{entity}>;tag={tag}\r\nTo: <{entity}>\r\nCall-ID: {cid}\r\nCSeq: {cseq} PUBLISH\r\nEvent: presence\r\nExpires: 3600\r\nUser-Agent: centrala-loadgen\r\nContent-Type: application/pidf+xml\r\n",
            tag = self.pub_tag,
            cid = self.pub_call_id,
            cseq = self.pub_cseq,
        );
        let authed = auth.is_some();
        if let Some(a) = auth {
            m.push_str(&format!("Proxy-Authorization: {a}\r\n"));
        }
        m.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        let cid = self.pub_call_id.clone();
        self.track(
            branch,
            Kind::Publish {
                auth: authed,
                change,
            },
            &cid,
            began,
        );
        self.out.push(m);
        if authed {
            w.mark_sent(change, Instant::now());
        }
    }

    /// A NOTIFY: answered 200 at once, then counted; its body is only searched for the
    /// RLMI root's `fullState` and the probe's PIDF part (client 0 also reads it whole with
    /// `parse_list_notify`, as a check on the cheap search).
    fn on_notify(&mut self, req: Request, len: usize) {
        let received = Instant::now();
        let ok = req.response(200, "OK");
        self.out.push(to_text(&ok.to_bytes()));
        let Some(w) = &self.sh.watch else {
            return;
        };
        let idx = (self.ext - self.sh.first_ext) as usize;
        if req
            .headers
            .get("Subscription-State")
            .is_some_and(|s| s.trim_start().starts_with("terminated"))
        {
            self.sh
                .stats
                .count("NOTIFY with Subscription-State terminated");
        }
        let body = std::str::from_utf8(&req.body).unwrap_or_default();
        let seen = watch::scan(body, &w.needle);
        if !self.got_full && seen.full() {
            self.got_full = true;
            w.got_full.fetch_add(1, Ordering::Relaxed);
        }
        w.count_notify(idx, len, &seen);
        if idx == 0 {
            let ct = req.headers.get("Content-Type").unwrap_or_default();
            w.check(ct, body, &seen, &self.sh.stats);
        }
        if let Some(dnd) = seen.probe_dnd {
            w.saw(&mut self.seen_change, dnd, received, &self.sh.stats);
        }
    }

    fn end_call(&mut self, call_id: &str, ok: bool) {
        if self.out_calls.remove(call_id).is_some() {
            self.sh.calls_in_flight.fetch_sub(1, Ordering::Relaxed);
            self.sh.stats.count(if ok {
                "calls completed"
            } else {
                "calls failed"
            });
        }
    }

    /// ACK for a non-2xx final response: same branch and Request-URI as the INVITE (17.1.1.3).
    fn ack_non_2xx(&mut self, r: &Response, call_id: &str, branch: &str) {
        let Some(c) = self.out_calls.get(call_id) else {
            return;
        };
        let to = r.headers.get("To").unwrap_or_default();
        let m = format!(
            "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/WS {host};branch={branch}\r\nMax-Forwards: 70\r\nFrom: <sip:{e}@{d}>;tag={tag}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n",
            uri = c.invite_uri,
            host = self.host,
            e = self.ext_s,
            d = self.sh.domain,
            tag = c.from_tag,
            cseq = c.cseq,
        );
        self.out.push(m);
    }

    /// ACK for a 2xx (a new transaction, along the route set) and the hang-up timer.
    fn ack_2xx(&mut self, r: &Response, call_id: &str) {
        let (via, _) = self.via();
        let hangup = Instant::now() + self.sh.call_secs;
        let Some(c) = self.out_calls.get_mut(call_id) else {
            return;
        };
        let Some(target) = r.contacts().into_iter().next().map(|c| c.uri.to_string()) else {
            self.sh.stats.count("INVITE failed: 200 without Contact");
            return;
        };
        // The UAC's route set is the Record-Route of the 2xx, reversed (12.1.2).
        let mut routes: Vec<String> = r.headers.all("Record-Route").map(str::to_string).collect();
        routes.reverse();
        let to = r.headers.get("To").unwrap_or_default().to_string();
        let mut m = format!("ACK {target} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n");
        for rt in &routes {
            m.push_str(&format!("Route: {rt}\r\n"));
        }
        m.push_str(&format!(
            "From: <sip:{e}@{d}>;tag={tag}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n",
            e = self.ext_s,
            d = self.sh.domain,
            tag = c.from_tag,
            cseq = c.cseq,
        ));
        c.dialog = Some(Dialog { target, routes, to });
        c.hangup_at = Some(hangup);
        self.out.push(m);
    }

    fn on_request(&mut self, req: Request) {
        let call_id = req.call_id().unwrap_or_default().to_string();
        match req.method {
            Method::Invite if req.to_tag().is_none() => {
                if self.in_calls.contains_key(&call_id) {
                    return; // a retransmission
                }
                let to_tag = token(self.rng, 10);
                let mut ringing = req.response(180, "Ringing");
                ringing.set_to_tag(&to_tag);
                copy_record_route(&req, &mut ringing);
                ringing.headers.push(
                    "Contact",
                    format!("<sip:{}@{};transport=ws>", self.ext_s, self.host),
                );
                self.out.push(to_text(&ringing.to_bytes()));
                self.sh.stats.count("incoming calls");
                let call = InCall {
                    answer_at: Some(Instant::now() + self.sh.ring),
                    invite: req,
                    to_tag,
                };
                self.in_calls.insert(call_id.clone(), call);
                if self.sh.ring.is_zero() {
                    self.answer(&call_id);
                }
            }
            Method::Ack => {
                self.sh.stats.count("ACK received (callee)");
            }
            Method::Bye => {
                let ok = req.response(200, "OK");
                self.out.push(to_text(&ok.to_bytes()));
                if self.in_calls.remove(&call_id).is_none() {
                    self.sh.stats.count("BYE for an unknown call");
                }
            }
            Method::Cancel => {
                let ok = req.response(200, "OK");
                self.out.push(to_text(&ok.to_bytes()));
                if let Some(c) = self.in_calls.remove(&call_id) {
                    let mut r = c.invite.response(487, "Request Terminated");
                    r.set_to_tag(&c.to_tag);
                    self.out.push(to_text(&r.to_bytes()));
                }
            }
            Method::Options => {
                let ok = req.response(200, "OK");
                self.out.push(to_text(&ok.to_bytes()));
            }
            _ => {
                let mut r = req.response(405, "Method Not Allowed");
                r.headers.push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
                self.out.push(to_text(&r.to_bytes()));
            }
        }
    }

    fn answer(&mut self, call_id: &str) {
        let Some(c) = self.in_calls.get_mut(call_id) else {
            return;
        };
        if c.answer_at.take().is_none() {
            return;
        }
        let mut ok = c.invite.response(200, "OK");
        ok.set_to_tag(&c.to_tag);
        copy_record_route(&c.invite, &mut ok);
        ok.headers.push(
            "Contact",
            format!("<sip:{}@{};transport=ws>", self.ext_s, self.host),
        );
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = sdp(self.ext).into_bytes();
        self.out.push(to_text(&ok.to_bytes()));
    }
}

fn copy_record_route(req: &Request, resp: &mut Response) {
    for rr in req.headers.all("Record-Route") {
        resp.headers.push("Record-Route", rr);
    }
}

fn to_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn token(rng: &mut StdRng, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A dummy WebRTC-like audio offer/answer: nothing is ever sent to it.
fn sdp(ext: u64) -> String {
    format!(
        "v=0\r\no=- {ext} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n"
    )
}
