//! The PBX core: registrar, location service and record-routing stateful proxy.
//!
//! One task owns all of this state (no locks): connection tasks send it [`CoreInput`]s and it
//! answers through each connection's outbound channel. SIP decisions are made with the sans-IO
//! `centrala-sip` crate; this module adds the policy (who may register, where a call goes).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use centrala_sip::dialog::cancel_for;
use centrala_sip::digest::{Algorithm, Challenge, Credentials};
use centrala_sip::message::{Message, Method, NameAddr, Request, Response, SipMessage, Uri};
use centrala_sip::rng::Rng;
use centrala_sip::transaction::{Output, TimerConfig, Transactions, TxKey};
use std::collections::hash_map::Entry;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::accounts::{DEFAULT_COMPANY, normalize_number};
use crate::limits::{Limits, RateLimiter, source_key};
use crate::nonce::{NonceCheck, Nonces};
use crate::sipcred;
use crate::store::{SipUser, Store};
use crate::trusted::{TrustedPeer, is_trusted};

/// The core's tables are keyed by what peers send (addresses, extensions, branches):
/// foldhash is several times faster than SipHash and seeded per table.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// What the core sends to one stream connection (WebSocket, TCP, TLS): whole SIP messages;
/// an empty text asks the connection to close. futures' unbounded channel allocates a node per
/// queued message and keeps only a small shared state; tokio's reserves a 32-slot block and
/// cache-padded state up front (~1 KB), which an idle client would carry for hours.
pub type Outbound = futures_channel::mpsc::UnboundedSender<Box<str>>;

/// A connection's number, unique for the life of the process.
pub type ConnId = u64;

/// Shortest and longest registration lifetime we grant, in seconds.
pub const MIN_EXPIRES: u32 = 60;
pub const MAX_EXPIRES: u32 = 3600;
pub const DEFAULT_EXPIRES: u32 = 600;
/// How many devices (registrations) one extension may have.
pub const MAX_BINDINGS: usize = 9;
/// How long a UDP flow without registrations may stay quiet before it is forgotten.
pub const UDP_FLOW_IDLE_MS: u64 = 300_000;
/// How long a looked-up user is reused before asking the database again.
pub const USER_CACHE_MS: u64 = 5_000;
/// A cached user older than `USER_CACHE_MS` but younger than this is still answered from the
/// cache while a background task reloads it, so the core never waits on SQLite for a user it
/// knows (a burst of expiries used to stall every request behind one query each). Older
/// entries are forgotten: idle clients re-register only every few minutes.
pub const USER_FORGET_MS: u64 = 15_000;
/// How long an unanswered call rings before the caller hears "no answer".
pub const RING_TIMEOUT_MS: u64 = 120_000;
/// How long a dialog with no request in it is kept (Kamailio's dialog default is 12 h): a
/// call whose sides vanished without a BYE is forgotten then.
pub const DIALOG_IDLE_MS: u64 = 12 * 3600 * 1000;
/// How many dialogs one flow may be a side of (calls in progress and subscriptions): past it
/// its new calls get 503, and calls to it skip that device. A phone has a few; a registered
/// call-centre switch or test load generator can have thousands (sipp at 1,600 calls/s of
/// 100 ms holds ~300). About 200 bytes each. A trunk (trusted peer) may hold
/// [`MAX_DIALOGS_TRUSTED`].
pub const MAX_DIALOGS_PER_FLOW: usize = 4096;
pub const MAX_DIALOGS_TRUSTED: usize = 1_000_000;
/// Identity headers a caller may not set: the gateway asserts who the caller is.
const IDENTITY_HEADERS: [&str; 3] = [
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Remote-Party-ID",
];

/// The transport a flow uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Ws,
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    /// Whether the transport delivers reliably (no SIP retransmissions needed).
    pub fn reliable(self) -> bool {
        self != Transport::Udp
    }
}

/// What connection tasks tell the core.
#[derive(Debug)]
pub enum CoreInput {
    /// A stream connection (WebSocket, TCP, TLS) opened; text for it goes to `sender`.
    Connected {
        conn: ConnId,
        sender: Outbound,
        peer: SocketAddr,
        transport: Transport,
    },
    Message {
        conn: ConnId,
        message: Message,
    },
    /// A message arrived over UDP from `peer`.
    Datagram {
        peer: SocketAddr,
        message: Message,
    },
    Closed {
        conn: ConnId,
    },
    /// An extension's account changed (access revoked, removed, renumbered): forget what is
    /// cached of it and drop registrations as `drop` says. The web app's connections are
    /// closed, so it notices at once.
    AccountChanged {
        company: i64,
        ext: String,
        drop: Registrations,
    },
}

/// Which registrations of a changed account go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrations {
    Keep,
    /// The web app's (access revoked).
    App,
    /// All (extension removed or renumbered).
    All,
}

/// The core's settings.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// SIP domain and digest realm.
    pub domain: String,
    /// Secret for nonces (random per start unless set).
    pub nonce_secret: [u8; 32],
    /// Our SIP UDP and TCP addresses, when those transports are on.
    pub udp_addr: Option<SocketAddr>,
    pub tcp_addr: Option<SocketAddr>,
    pub tls_addr: Option<SocketAddr>,
    /// Peers not challenged for out-of-dialog requests other than REGISTER, each on the
    /// transports the operator named (never WebSocket; UDP only when asked for).
    pub trusted: Vec<TrustedPeer>,
    pub limits: Limits,
    /// Key of the web app's short-lived SIP credentials ([`sipcred`]).
    pub sip_secret: [u8; 32],
}

enum ConnSender {
    /// `Box<str>`, not `String`: a queued message is 16 bytes, not 24.
    Stream(Outbound),
    Udp(Arc<UdpSocket>),
}

struct Conn {
    sender: ConnSender,
    peer: SocketAddr,
    transport: Transport,
    /// When a message last came (UDP flows are forgotten after a quiet while).
    last_seen: u64,
    /// The dialogs this flow is a side of (removed with it).
    dialogs: Vec<DialogId>,
}

/// A dialog the proxy record-routed: Call-ID, the caller's tag, the callee's tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DialogId {
    call_id: Box<str>,
    caller_tag: Box<str>,
    callee_tag: Box<str>,
}

/// One dialog set up through the proxy (RFC 3261 12, routed as Kamailio's `loose_route` with
/// a dialog table): in-dialog requests are forwarded only between its two sides' flows, and
/// only when they come from one of them.
#[derive(Debug)]
struct Dialog {
    caller: ConnId,
    callee: ConnId,
    /// Made by a provisional response with a To tag; a 2xx confirms it, a final non-2xx for
    /// the INVITE ends it.
    early: bool,
    /// Forgotten then unless a request in it comes first.
    idle_until: u64,
}

/// Which side of a dialog sent an in-dialog request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Caller,
    Callee,
}

/// What happens to the caller-identity headers of a forwarded request.
enum Identity {
    /// A trusted peer (a trunk) asserts identity itself: pass them on.
    Keep,
    /// Removed (in-dialog requests, or no authenticated identity).
    Strip,
    /// Removed, and this `P-Asserted-Identity` set from the authenticated user (RFC 3325).
    Assert(String),
}

#[derive(Debug, Clone)]
struct Binding {
    contact: NameAddr,
    conn: ConnId,
    /// `+sip.instance` and `reg-id` (RFC 5626) or the contact address: what identifies it.
    key: String,
    expires_at: u64,
    /// Registered with the web app's short-lived credentials.
    app: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BranchState {
    /// Sent, nothing back yet.
    Pending,
    /// A provisional came back: CANCEL may go.
    Proceeding,
    Done,
}

#[derive(Debug)]
struct Branch {
    key: TxKey,
    conn: ConnId,
    state: BranchState,
    cancelled: bool,
}

/// One proxied request and its branches (RFC 3261 16's "response context").
#[derive(Debug)]
struct ProxyCtx {
    request: Request,
    upstream: ConnId,
    branches: Vec<Branch>,
    best: Option<Response>,
    final_sent: bool,
    cancelled: bool,
    timed_out: bool,
    ring_deadline: Option<u64>,
    /// A 2xx went upstream.
    answered: bool,
    /// An answered INVITE's context stays until then, to pass on 2xx retransmissions.
    linger_until: Option<u64>,
    /// Forwarded with our Record-Route (INVITE, SUBSCRIBE, REFER): responses with a To tag
    /// set up dialogs, listed here until the request ends.
    creates_dialogs: bool,
    dialogs: Vec<DialogId>,
    /// For an in-dialog request: its dialog, and whether it ends it (BYE).
    in_dialog: Option<(DialogId, bool)>,
}

pub struct Core {
    cfg: CoreConfig,
    store: Store,
    tx: Transactions<ConnId>,
    conns: HashMap<ConnId, Conn>,
    /// Bindings by address of record: `<company id>:<extension>`.
    location: HashMap<String, Vec<Binding>>,
    /// Dialogs record-routed through us: the only way in-dialog requests are routed.
    dialogs: HashMap<DialogId, Dialog>,
    nonces: Nonces,
    proxies: HashMap<TxKey, ProxyCtx>,
    branch_ctx: HashMap<TxKey, TxKey>,
    rng: Rng,
    epoch: tokio::time::Instant,
    udp: Option<Arc<UdpSocket>>,
    udp_flows: HashMap<SocketAddr, ConnId>,
    next_conn: Arc<AtomicU64>,
    /// Failed logins per (source, user): bad tries from one place do not lock the user out
    /// everywhere. Sources count by [`source_key`] (an IPv6 /64 as one).
    auth_fail_user: RateLimiter<(IpAddr, String)>,
    auth_fail_ip: RateLimiter<IpAddr>,
    /// Users looked up recently (None: no such user), with when.
    /// By company, then extension (looked up without allocating a key).
    users: HashMap<i64, HashMap<String, CachedUser>>,
    /// Background reloads of stale cached users report here ([`Core::reload_user`]).
    reloads: mpsc::UnboundedSender<Reloaded>,
    reloaded: Option<mpsc::UnboundedReceiver<Reloaded>>,
    /// Bumped whenever an account changes, so a reload that read the old row is dropped.
    cache_generation: u64,
    /// Companies by SIP domain, looked up recently.
    domains: HashMap<String, (Option<i64>, u64)>,
}

/// A user as looked up (`None`: no such user), with when, and whether a reload is running.
struct CachedUser {
    user: Option<SipUser>,
    at: u64,
    reloading: bool,
}

/// The result of a background reload of one cached user.
struct Reloaded {
    company: i64,
    ext: String,
    generation: u64,
    /// `Err` when the database failed: the stale entry stays until it is forgotten.
    user: Result<Option<SipUser>, ()>,
}

/// A location key: an extension in a company.
fn aor(company: i64, ext: &str) -> String {
    format!("{company}:{ext}")
}

enum Auth {
    /// Authenticated; `app` when with the web app's short-lived credentials.
    Ok {
        user: SipUser,
        app: bool,
    },
    Challenge {
        stale: bool,
    },
    /// Too many failed attempts for this user from this source, or from this source.
    Blocked,
    /// A trusted peer: no authentication asked.
    Trusted,
}

/// The key of a request's dialog as the caller sees it, and the same with the tags swapped
/// (as the callee sends): (Call-ID, From tag, To tag).
fn dialog_ids(req: &Request) -> Option<(DialogId, DialogId)> {
    let call_id: Box<str> = req.call_id()?.into();
    let from: Box<str> = req.from_tag()?.into();
    let to: Box<str> = req.to_tag()?.into();
    Some((
        DialogId {
            call_id: call_id.clone(),
            caller_tag: from.clone(),
            callee_tag: to.clone(),
        },
        DialogId {
            call_id,
            caller_tag: to,
            callee_tag: from,
        },
    ))
}

impl Core {
    /// A core; `udp` is the SIP UDP socket when that transport is on, `next_conn` the
    /// connection numbering shared with the edge.
    pub fn new(
        cfg: CoreConfig,
        store: Store,
        seed: [u8; 32],
        udp: Option<Arc<UdpSocket>>,
        next_conn: Arc<AtomicU64>,
    ) -> Core {
        let l = &cfg.limits;
        let (reloads, reloaded) = mpsc::unbounded_channel();
        Core {
            reloads,
            reloaded: Some(reloaded),
            cache_generation: 0,
            auth_fail_user: RateLimiter::new(
                l.auth_max_failures,
                l.auth_window_ms,
                l.auth_block_ms,
            ),
            auth_fail_ip: RateLimiter::new(
                l.auth_max_failures * 4,
                l.auth_window_ms,
                l.auth_block_ms,
            ),
            udp,
            udp_flows: HashMap::default(),
            next_conn,
            users: HashMap::default(),
            domains: HashMap::default(),
            nonces: Nonces::new(cfg.nonce_secret),
            cfg,
            store,
            tx: Transactions::new(TimerConfig::default()),
            conns: HashMap::default(),
            location: HashMap::default(),
            dialogs: HashMap::default(),
            proxies: HashMap::default(),
            branch_ctx: HashMap::default(),
            rng: Rng::new(seed),
            epoch: tokio::time::Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Runs until every sender of `rx` is gone.
    pub async fn run(mut self, mut rx: mpsc::Receiver<CoreInput>) {
        let mut next_tick = self.now() + 1000;
        let Some(mut reloaded) = self.reloaded.take() else {
            return;
        };
        loop {
            let wake = self
                .tx
                .poll_timeout()
                .map_or(next_tick, |t| t.min(next_tick));
            let sleep_for = Duration::from_millis(wake.saturating_sub(self.now()));
            tokio::select! {
                input = rx.recv() => {
                    let Some(input) = input else { break };
                    self.handle(input).await;
                }
                Some(r) = reloaded.recv() => self.on_reloaded(r),
                _ = tokio::time::sleep(sleep_for) => {
                    let now = self.now();
                    self.tx.handle_timeout(now);
                    if now >= next_tick {
                        self.housekeeping(now);
                        next_tick = now + 1000;
                    }
                    self.process().await;
                }
            }
        }
    }

    async fn handle(&mut self, input: CoreInput) {
        match input {
            CoreInput::Connected {
                conn,
                sender,
                peer,
                transport,
            } => {
                debug!(conn, %peer, ?transport, "connection open");
                let c = Conn {
                    sender: ConnSender::Stream(sender),
                    peer,
                    transport,
                    last_seen: self.now(),
                    dialogs: Vec::new(),
                };
                self.conns.insert(conn, c);
            }
            CoreInput::Message { conn, message } => {
                let now = self.now();
                self.tx.receive(message, conn, now);
                self.process().await;
            }
            CoreInput::Datagram { peer, mut message } => {
                let conn = self.udp_flow(peer);
                let now = self.now();
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.last_seen = now;
                }
                if let Message::Request(r) = &mut message {
                    mark_received(r, peer);
                }
                let now = self.now();
                self.tx.receive_unreliable(message, conn, now);
                self.process().await;
            }
            CoreInput::Closed { conn } => {
                self.on_closed(conn);
                self.process().await;
            }
            CoreInput::AccountChanged { company, ext, drop } => {
                self.on_account_changed(company, &ext, drop)
            }
        }
    }

    /// The flow for a UDP peer, made on first sight.
    fn udp_flow(&mut self, peer: SocketAddr) -> ConnId {
        if let Some(&c) = self.udp_flows.get(&peer) {
            return c;
        }
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let Some(sock) = self.udp.clone() else {
            return conn;
        };
        self.udp_flows.insert(peer, conn);
        let c = Conn {
            sender: ConnSender::Udp(sock),
            peer,
            transport: Transport::Udp,
            last_seen: self.now(),
            dialogs: Vec::new(),
        };
        self.conns.insert(conn, c);
        conn
    }

    fn on_account_changed(&mut self, company: i64, ext: &str, drop: Registrations) {
        if let Some(m) = self.users.get_mut(&company) {
            m.remove(ext);
        }
        self.cache_generation += 1;
        let key = aor(company, ext);
        if drop == Registrations::Keep {
            return;
        }
        let app_only = drop == Registrations::App;
        let Some(bindings) = self.location.get_mut(&key) else {
            return;
        };
        let mut closed = Vec::new();
        bindings.retain(|b| {
            let drop = b.app || !app_only;
            if drop && b.app {
                closed.push(b.conn);
            }
            !drop
        });
        if bindings.is_empty() {
            self.location.remove(&key);
        }
        info!(
            company,
            ext, app_only, "account changed: registrations removed"
        );
        for conn in closed {
            if let Some(Conn {
                sender: ConnSender::Stream(s),
                ..
            }) = self.conns.get(&conn)
            {
                // An empty text is the connection task's signal to close.
                let _ = s.unbounded_send(Box::from(""));
            }
        }
    }

    fn on_closed(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        debug!(conn, peer = %c.peer, "connection closed");
        for id in c.dialogs {
            self.end_dialog(&id);
        }
        for (ext, bindings) in self.location.iter_mut() {
            let before = bindings.len();
            bindings.retain(|b| b.conn != conn);
            if bindings.len() != before {
                info!(ext = %ext, "registration removed: connection closed");
            }
        }
        self.location.retain(|_, b| !b.is_empty());
        self.tx.flow_closed(|f| *f == conn);
        let now = self.now();
        let orphaned: Vec<TxKey> = self
            .proxies
            .iter()
            .filter(|(_, ctx)| ctx.upstream == conn && !ctx.final_sent)
            .map(|(k, _)| k.clone())
            .collect();
        for key in orphaned {
            if let Some(ctx) = self.proxies.get_mut(&key) {
                ctx.final_sent = true;
                ctx.cancelled = true;
            }
            self.cancel_branches(&key, now);
        }
    }

    fn housekeeping(&mut self, now: u64) {
        let done: Vec<TxKey> = self
            .proxies
            .iter()
            .filter(|(_, c)| c.linger_until.is_some_and(|t| now >= t))
            .map(|(k, _)| k.clone())
            .collect();
        for key in done {
            self.drop_ctx(&key);
        }
        for (ext, bindings) in self.location.iter_mut() {
            let before = bindings.len();
            bindings.retain(|b| b.expires_at > now);
            if bindings.len() != before {
                info!(ext = %ext, "registration expired");
            }
        }
        self.location.retain(|_, b| !b.is_empty());
        self.nonces.sweep(now);
        self.forget_quiet_udp_flows(now);
        // Cached users are forgotten after USER_FORGET_MS and domains after USER_CACHE_MS:
        // idle clients re-register every few minutes, so keeping them longer would only hold
        // memory.
        if now % 10_000 < 1_000 {
            self.forget_idle_dialogs(now);
            self.forget_cached_users(now);
            self.domains
                .retain(|_, (_, at)| now.saturating_sub(*at) < USER_CACHE_MS);
        }
        let due: Vec<TxKey> = self
            .proxies
            .iter()
            .filter(|(_, c)| {
                !c.final_sent && !c.cancelled && c.ring_deadline.is_some_and(|d| now >= d)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            if let Some(ctx) = self.proxies.get_mut(&key) {
                info!(
                    call_id = ctx.request.call_id().unwrap_or_default(),
                    "no answer: ring timeout"
                );
                ctx.timed_out = true;
                ctx.cancelled = true;
            }
            self.cancel_branches(&key, now);
        }
    }

    /// UDP flows have no close: one quiet for `UDP_FLOW_IDLE_MS` with no registration on it
    /// is forgotten, so a stream of new source ports cannot grow memory without bound.
    fn forget_quiet_udp_flows(&mut self, now: u64) {
        if self.udp_flows.len() < 1024 && now % 10_000 >= 1_000 {
            return;
        }
        let registered: std::collections::HashSet<ConnId> =
            self.location.values().flatten().map(|b| b.conn).collect();
        let quiet: Vec<SocketAddr> = self
            .udp_flows
            .iter()
            .filter(|(_, c)| !registered.contains(c))
            .filter(|(_, c)| {
                self.conns.get(c).is_none_or(|c| {
                    c.dialogs.is_empty() && now.saturating_sub(c.last_seen) > UDP_FLOW_IDLE_MS
                })
            })
            .map(|(a, _)| *a)
            .collect();
        for addr in quiet {
            if let Some(conn) = self.udp_flows.remove(&addr) {
                self.conns.remove(&conn);
            }
        }
    }

    fn send(&self, conn: ConnId, message: &Message) {
        if let Some(c) = self.conns.get(&conn) {
            let bytes = message.to_bytes();
            debug!(
                conn,
                "sip out\n{}",
                redact(&String::from_utf8_lossy(&bytes))
            );
            match &c.sender {
                ConnSender::Stream(s) => {
                    let text = String::from_utf8(bytes)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                    let _ = s.unbounded_send(text.into_boxed_str());
                }
                ConnSender::Udp(sock) => {
                    if let Err(e) = sock.try_send_to(&bytes, c.peer) {
                        debug!(conn, error = %e, "udp send failed");
                    }
                }
            }
        }
    }

    /// Drains the transaction layer's outputs.
    async fn process(&mut self) {
        while let Some(out) = self.tx.poll() {
            let now = self.now();
            match out {
                Output::Transmit { flow, message } => self.send(flow, &message),
                Output::Request { key, request, flow } => {
                    debug!(
                        conn = flow,
                        "sip in\n{}",
                        redact(&String::from_utf8_lossy(&request.to_bytes()))
                    );
                    self.on_request(key, request, flow, now).await;
                }
                Output::Response { key, response } => self.on_response(key, response, now),
                Output::Timeout { key } => self.on_branch_timeout(key, now),
                Output::Ack { request, flow } => self.forward_ack(request, flow),
                Output::StrayResponse { response, flow } => {
                    debug!(
                        conn = flow,
                        status = response.status,
                        "response matches no transaction; dropped"
                    );
                }
                Output::NoAck { .. } => {}
                // The transaction layer is ours (`centrala-sip`); a new output must be handled
                // here, so list what is ignored instead of matching everything.
                #[allow(unreachable_patterns)]
                other => debug!(?other, "transaction output ignored"),
            }
        }
    }

    fn reply(&mut self, key: &TxKey, req: &Request, status: u16, reason: &str, now: u64) {
        let mut resp = req.response(status, reason);
        if status > 100 {
            resp.set_to_tag(&self.rng.token(10));
        }
        self.tx.send_response(key, resp, now);
    }

    fn is_us(&self, uri: &Uri) -> bool {
        uri.user.is_none() && self.names_us(uri)
    }

    /// Whether the host and port of `uri` are this gateway's (our domain, or one of our SIP
    /// addresses), whatever its user part.
    fn names_us(&self, uri: &Uri) -> bool {
        if uri.host.eq_ignore_ascii_case(&self.cfg.domain) {
            return true;
        }
        let port = uri.port.unwrap_or(5060);
        [self.cfg.udp_addr, self.cfg.tcp_addr, self.cfg.tls_addr]
            .into_iter()
            .flatten()
            .any(|a| {
                a.ip().to_string() == uri.host.trim_start_matches('[').trim_end_matches(']')
                    && a.port() == port
            })
    }

    fn transport_of(&self, conn: ConnId) -> Transport {
        self.conns.get(&conn).map_or(Transport::Ws, |c| c.transport)
    }

    /// Our Record-Route entry as seen from a flow of `transport`.
    fn record_route(&self, transport: Transport) -> String {
        match (
            transport,
            self.cfg.udp_addr,
            self.cfg.tcp_addr,
            self.cfg.tls_addr,
        ) {
            (Transport::Udp, Some(a), _, _) => format!("<sip:{a};lr>"),
            (Transport::Tcp, _, Some(a), _) => format!("<sip:{a};transport=tcp;lr>"),
            (Transport::Tls, _, _, Some(a)) => format!("<sip:{a};transport=tls;lr>"),
            _ => format!("<sip:{};transport=ws;lr>", self.cfg.domain),
        }
    }

    /// Our Via for a request sent on a flow of `transport`, with a new branch.
    fn via(&mut self, transport: Transport) -> String {
        let branch = self.rng.branch();
        match (
            transport,
            self.cfg.udp_addr,
            self.cfg.tcp_addr,
            self.cfg.tls_addr,
        ) {
            (Transport::Udp, Some(a), _, _) => format!("SIP/2.0/UDP {a};branch={branch};rport"),
            (Transport::Tcp, _, Some(a), _) => format!("SIP/2.0/TCP {a};branch={branch}"),
            (Transport::Tls, _, _, Some(a)) => format!("SIP/2.0/TLS {a};branch={branch}"),
            _ => format!("SIP/2.0/WSS {};branch={branch}", self.cfg.domain),
        }
    }

    async fn on_request(&mut self, key: TxKey, mut req: Request, conn: ConnId, now: u64) {
        self.pop_own_routes(&mut req);
        if req
            .headers
            .get("Max-Forwards")
            .is_some_and(|m| m.trim() == "0")
            && req.method != Method::Register
        {
            self.reply(&key, &req, 483, "Too Many Hops", now);
            return;
        }
        if req.method == Method::Cancel {
            self.on_cancel(key, req, conn, now);
            return;
        }
        if req.method == Method::Register {
            self.on_register(key, req, conn, now).await;
            return;
        }
        if req.to_tag().is_some() {
            self.on_in_dialog(key, req, conn, now);
            return;
        }
        if req.method == Method::Options && (req.uri.user.is_none() || self.is_us(&req.uri)) {
            let mut ok = req.response(200, "OK");
            ok.set_to_tag(&self.rng.token(10));
            ok.headers.push(
                "Allow",
                "INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS, REGISTER",
            );
            self.tx.send_response(&key, ok, now);
            return;
        }
        self.on_initial(key, req, conn, now).await;
    }

    /// The company a SIP domain belongs to, from a short-lived cache.
    async fn company_for_domain(&mut self, host: &str, now: u64) -> Option<i64> {
        let lower;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = host.to_ascii_lowercase();
            lower.as_str()
        } else {
            host
        };
        if let Some((c, at)) = self.domains.get(host)
            && now.saturating_sub(*at) < USER_CACHE_MS
        {
            return *c;
        }
        let company = match self.store.company_by_domain(host).await {
            Ok(c) => c.map(|c| c.id),
            Err(e) => {
                warn!(error = %e, "company lookup failed");
                None
            }
        };
        if self.domains.len() > 10_000 {
            self.domains.clear();
        }
        self.domains.insert(host.to_string(), (company, now));
        company
    }

    /// The company and realm a request is for: its domain (the To host of a REGISTER, the
    /// From host otherwise) when that is a company's, else the default company (requests to
    /// an IP address, as desk phones and tools send).
    async fn realm_of(&mut self, req: &Request, now: u64) -> (i64, String) {
        let host = if req.method == Method::Register {
            req.to().map(|t| t.uri.host)
        } else {
            req.from().map(|f| f.uri.host)
        };
        if let Some(h) = host
            && let Some(c) = self.company_for_domain(&h, now).await
        {
            return (c, h.to_ascii_lowercase());
        }
        (DEFAULT_COMPANY, self.cfg.domain.clone())
    }

    /// Checks the digest credentials in `header` for the request's realm, counting failures
    /// per user and per source address. Unknown users fail exactly like wrong passwords.
    /// A username `<expiry>:<ext>` is the web app's short-lived credential ([`sipcred`]).
    async fn authenticate(
        &mut self,
        req: &Request,
        header: &str,
        peer: IpAddr,
        realm: &(i64, String),
        now: u64,
    ) -> Auth {
        let (company, realm) = realm;
        let creds = req
            .headers
            .all(header)
            .filter_map(Credentials::parse)
            .find(|c| c.realm.eq_ignore_ascii_case(realm));
        let Some(creds) = creds else {
            return Auth::Challenge { stale: false };
        };
        let ephemeral = sipcred::parse(&creds.username);
        let ext = ephemeral.map_or(creds.username.as_str(), |(_, e)| e);
        // Failures count per extension and source, whatever expiry a credential's name claims.
        let source = source_key(peer);
        let who = (source, format!("{ext}@{realm}"));
        if self.auth_fail_user.is_banned(&who, now) || self.auth_fail_ip.is_banned(&source, now) {
            return Auth::Blocked;
        }
        // The digest covers the Request-URI it names (RFC 7616 3.4.6): credentials computed
        // for another request are not accepted for this one.
        let names_us = |u: &Uri| self.names_us(u) || u.host.eq_ignore_ascii_case(realm);
        if !digest_uri_matches(&creds.uri, &req.uri, names_us) {
            info!(user = %who.1, %peer, "digest uri does not match the Request-URI");
            return Auth::Challenge { stale: false };
        }
        let user = match self.user(*company, ext, now).await {
            Ok(u) => u,
            Err(e) => {
                warn!(error = %e, "user lookup failed");
                return Auth::Challenge { stale: false };
            }
        };
        let verified = user.filter(|u| match ephemeral {
            Some((expires, _)) => {
                let fresh = expires > crate::accounts::unix_now();
                let password = sipcred::password(
                    &self.cfg.sip_secret,
                    &creds.username,
                    realm,
                    u.employee_id,
                    u.sip_generation,
                );
                let ha1 = centrala_sip::digest::ha1(
                    creds.algorithm,
                    &creds.username,
                    &creds.realm,
                    &password,
                );
                u.app_access && fresh && creds.verify(req.method.as_str(), &ha1)
            }
            None => u
                .ha1(creds.algorithm)
                .is_some_and(|h| creds.verify(req.method.as_str(), h)),
        });
        let Some(user) = verified else {
            info!(user = %who.1, %peer, method = %req.method, "digest authentication failed");
            let user_ok = self.auth_fail_user.hit(&who, now);
            let ip_ok = self.auth_fail_ip.hit(&source, now);
            if !user_ok || !ip_ok {
                warn!(user = %who.1, %peer, "too many failed logins from this source: refused for a while");
                return Auth::Blocked;
            }
            return Auth::Challenge { stale: false };
        };
        match self.nonces.check(&creds.nonce, creds.nc.as_deref(), now) {
            NonceCheck::Valid => {
                self.auth_fail_user.clear(&who);
                Auth::Ok {
                    user,
                    app: ephemeral.is_some(),
                }
            }
            NonceCheck::Stale => Auth::Challenge { stale: true },
            NonceCheck::Invalid => Auth::Challenge { stale: false },
        }
    }

    /// A user by company and extension, from a short-lived cache in front of the database:
    /// REGISTER and INVITE storms must not queue on SQLite. Changes made by the CLI show
    /// from the first request after `USER_CACHE_MS` (that request starts the reload) or
    /// after `USER_FORGET_MS` of quiet; the API's at once ([`CoreInput::AccountChanged`]).
    async fn user(
        &mut self,
        company: i64,
        ext: &str,
        now: u64,
    ) -> Result<Option<SipUser>, crate::store::StoreError> {
        if let Some(c) = self
            .users
            .get_mut(&company)
            .and_then(|m| m.get_mut(ext))
            .filter(|c| now.saturating_sub(c.at) < USER_FORGET_MS)
        {
            let user = c.user.clone();
            if now.saturating_sub(c.at) >= USER_CACHE_MS && !c.reloading {
                c.reloading = true;
                self.reload_user(company, ext);
            }
            return Ok(user);
        }
        let user = self.store.find_sip_user(company, ext).await?;
        self.cache_user(company, ext.to_string(), user.clone(), now);
        Ok(user)
    }

    fn cache_user(&mut self, company: i64, ext: String, user: Option<SipUser>, now: u64) {
        if self.users.values().map(HashMap::len).sum::<usize>() > 100_000 {
            self.forget_cached_users(now);
        }
        let entry = CachedUser {
            user,
            at: now,
            reloading: false,
        };
        self.users.entry(company).or_default().insert(ext, entry);
    }

    /// Reloads one cached user in the background; the answer comes back as [`Reloaded`].
    fn reload_user(&self, company: i64, ext: &str) {
        let (store, reloads) = (self.store.clone(), self.reloads.clone());
        let (ext, generation) = (ext.to_string(), self.cache_generation);
        tokio::spawn(async move {
            let user = store.find_sip_user(company, &ext).await.map_err(|e| {
                warn!(error = %e, "user reload failed");
            });
            let _ = reloads.send(Reloaded {
                company,
                ext,
                generation,
                user,
            });
        });
    }

    fn on_reloaded(&mut self, r: Reloaded) {
        let now = self.now();
        match r.user {
            // An account changed since the reload began: what it read may be old.
            _ if r.generation != self.cache_generation => {
                if let Some(m) = self.users.get_mut(&r.company) {
                    m.remove(&r.ext);
                }
            }
            Ok(user) => self.cache_user(r.company, r.ext, user, now),
            Err(()) => {
                if let Some(c) = self
                    .users
                    .get_mut(&r.company)
                    .and_then(|m| m.get_mut(&r.ext))
                {
                    c.reloading = false;
                }
            }
        }
    }

    /// Drops cached users older than `USER_FORGET_MS`.
    fn forget_cached_users(&mut self, now: u64) {
        for m in self.users.values_mut() {
            m.retain(|_, c| now.saturating_sub(c.at) < USER_FORGET_MS);
        }
        self.users.retain(|_, m| !m.is_empty());
    }

    fn peer_ip(&self, conn: ConnId) -> IpAddr {
        self.conns
            .get(&conn)
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.peer.ip())
    }

    fn refuse_blocked(&mut self, key: &TxKey, req: &Request, now: u64) {
        self.reply(
            key,
            req,
            403,
            "Forbidden (too many failed attempts; try again later)",
            now,
        );
    }

    /// The digest algorithms a challenge offers, in order. On WebSocket SHA-256 and then MD5
    /// (RFC 8760 preference order): JsSIP and SIP.js keep only the *last* challenge header and
    /// know only MD5, our softphone picks SHA-256. On UDP, TCP and TLS a single MD5 challenge,
    /// as Kamailio and Asterisk send: desk phones, baresip and sipp answer the first challenge,
    /// often know only MD5, and some (baresip) refuse a set with an algorithm they do not know.
    /// A SIP credential set to one algorithm (`user add --digest`) gets only that one. The
    /// user is known from the cache or looked up; an unknown one gets the transport's default.
    async fn digest_offer(
        &mut self,
        req: &Request,
        conn: ConnId,
        company: i64,
        now: u64,
    ) -> &'static [Algorithm] {
        let ext = if req.method == Method::Register {
            req.to().and_then(|t| t.uri.user)
        } else {
            req.from().and_then(|f| f.uri.user)
        };
        let chosen = match ext {
            Some(ext) => self
                .user(company, &ext, now)
                .await
                .ok()
                .flatten()
                .and_then(|u| u.digest),
            None => None,
        };
        match (chosen, self.transport_of(conn)) {
            (Some(Algorithm::Sha256), _) => &[Algorithm::Sha256],
            (Some(Algorithm::Md5), _) => &[Algorithm::Md5],
            (None, Transport::Ws) => &[Algorithm::Sha256, Algorithm::Md5],
            (None, _) => &[Algorithm::Md5],
        }
    }

    /// 401 or 407 with the digest challenges [`Self::digest_offer`] picks.
    async fn challenge(
        &mut self,
        key: &TxKey,
        req: &Request,
        conn: ConnId,
        proxy: bool,
        stale: bool,
        realm: &(i64, String),
    ) {
        let now = self.now();
        let order = self.digest_offer(req, conn, realm.0, now).await;
        let realm = realm.1.as_str();
        let (status, reason, header) = if proxy {
            (407, "Proxy Authentication Required", "Proxy-Authenticate")
        } else {
            (401, "Unauthorized", "WWW-Authenticate")
        };
        let mut resp = req.response(status, reason);
        resp.set_to_tag(&self.rng.token(10));
        // One nonce serves both challenges: the client answers one of them, and the nonce
        // count is tracked per nonce either way.
        let nonce = self.nonces.issue(now, self.rng.next_u64());
        for &algorithm in order {
            let ch = Challenge {
                realm: realm.to_string(),
                nonce: nonce.clone(),
                algorithm,
                qop: Some("auth".into()),
                opaque: None,
                stale,
            };
            resp.headers.push(header, ch.to_string());
        }
        self.tx.send_response_stateless(key, resp, now);
    }

    async fn on_register(&mut self, key: TxKey, req: Request, conn: ConnId, now: u64) {
        let peer = self.peer_ip(conn);
        let realm = self.realm_of(&req, now).await;
        let (user, app) = match self
            .authenticate(&req, "Authorization", peer, &realm, now)
            .await
        {
            Auth::Ok { user, app } => (user, app),
            Auth::Challenge { stale } => {
                return self.challenge(&key, &req, conn, false, stale, &realm).await;
            }
            Auth::Blocked | Auth::Trusted => return self.refuse_blocked(&key, &req, now),
        };
        let aor_key = aor(user.company_id, &user.ext);
        let aor = req.to().and_then(|t| t.uri.user);
        if aor.as_deref() != Some(user.ext.as_str()) {
            self.reply(
                &key,
                &req,
                403,
                "Forbidden (you may only register your own extension)",
                now,
            );
            return;
        }
        let default_expires = req.expires().unwrap_or(DEFAULT_EXPIRES);
        let raw_contacts: Vec<&str> = req.headers.all("Contact").collect();
        let bindings = self.location.entry(aor_key.clone()).or_default();
        if raw_contacts.iter().any(|c| c.trim() == "*") {
            if raw_contacts.len() != 1 || default_expires != 0 {
                self.reply(
                    &key,
                    &req,
                    400,
                    "Bad Request (Contact: * needs Expires: 0 and no other contact)",
                    now,
                );
                return;
            }
            bindings.clear();
            info!(ext = %user.ext, "all registrations removed");
        }
        let mut outbound = false;
        for contact in req.contacts() {
            let expires = contact
                .params
                .value("expires")
                .and_then(|e| e.parse::<u32>().ok())
                .unwrap_or(default_expires);
            let instance = contact
                .params
                .value("+sip.instance")
                .map(|s| s.trim_matches('"').to_string());
            let reg_id = contact.params.value("reg-id").map(str::to_string);
            outbound |= reg_id.is_some() && instance.is_some();
            let bkey = match (&instance, &reg_id) {
                (Some(i), Some(r)) => format!("{i}#{r}"),
                (Some(i), None) => i.clone(),
                _ => contact.uri.address_key(),
            };
            if expires == 0 {
                if bindings.iter().any(|b| b.key == bkey) {
                    info!(ext = %user.ext, "registration removed");
                }
                bindings.retain(|b| b.key != bkey);
                continue;
            }
            if expires < MIN_EXPIRES {
                let mut r = req.response(423, "Interval Too Brief");
                r.set_to_tag(&self.rng.token(10));
                r.headers.push("Min-Expires", MIN_EXPIRES.to_string());
                self.tx.send_response(&key, r, now);
                return;
            }
            let expires = expires.min(MAX_EXPIRES);
            let mut stored = contact.clone();
            stored.params.remove("expires");
            let binding = Binding {
                contact: stored,
                conn,
                key: bkey.clone(),
                expires_at: now + u64::from(expires) * 1000,
                app,
            };
            match bindings.iter_mut().find(|b| b.key == bkey) {
                Some(b) => *b = binding,
                None => {
                    if bindings.len() >= MAX_BINDINGS {
                        let reason =
                            format!("Forbidden (at most {MAX_BINDINGS} devices per extension)");
                        self.reply(&key, &req, 403, &reason, now);
                        return;
                    }
                    info!(ext = %user.ext, conn, devices = bindings.len() + 1, "registered");
                    // Most extensions have one device: grow one at a time (a plain push
                    // reserves four, ~1 KB per idle client).
                    bindings.reserve_exact(1);
                    bindings.push(binding);
                }
            }
        }
        let mut ok = req.response(200, "OK");
        ok.set_to_tag(&self.rng.token(10));
        for b in bindings.iter() {
            let mut c = b.contact.clone();
            c.params.set(
                "expires",
                Some(&((b.expires_at.saturating_sub(now)) / 1000).to_string()),
            );
            ok.headers.push("Contact", c.to_string());
        }
        if outbound {
            ok.headers.push("Require", "outbound");
        }
        ok.headers.push("Supported", "outbound, path");
        if bindings.is_empty() {
            self.location.remove(&aor_key);
        }
        self.tx.send_response(&key, ok, now);
    }

    async fn on_initial(&mut self, key: TxKey, req: Request, conn: ConnId, now: u64) {
        let peer = self.peer_ip(conn);
        let trusted = is_trusted(&self.cfg.trusted, peer, self.transport_of(conn));
        let realm = self.realm_of(&req, now).await;
        let auth = if trusted {
            Auth::Trusted
        } else {
            self.authenticate(&req, "Proxy-Authorization", peer, &realm, now)
                .await
        };
        let (caller, company, identity) = match auth {
            Auth::Ok { user, .. } => {
                let identity = Identity::Assert(asserted_identity(&user, &realm.1));
                (user.ext, Some(user.company_id), identity)
            }
            // A trunk's call is for the company of the domain or public number called.
            Auth::Trusted => (
                req.from().and_then(|f| f.uri.user).unwrap_or_default(),
                None,
                Identity::Keep,
            ),
            Auth::Challenge { stale } => {
                return self.challenge(&key, &req, conn, true, stale, &realm).await;
            }
            Auth::Blocked => return self.refuse_blocked(&key, &req, now),
        };
        if req.from().and_then(|f| f.uri.user).as_deref() != Some(caller.as_str()) {
            self.reply(
                &key,
                &req,
                403,
                "Forbidden (From does not match your extension)",
                now,
            );
            return;
        }
        let Some(dialled) = req.uri.user.clone() else {
            self.reply(&key, &req, 404, "Not Found", now);
            return;
        };
        let host_company = self.company_for_domain(&req.uri.host, now).await;
        let company = match (company, host_company) {
            (Some(c), Some(h)) if c != h => {
                self.reply(
                    &key,
                    &req,
                    403,
                    "Forbidden (that extension belongs to another company)",
                    now,
                );
                return;
            }
            (Some(c), _) | (None, Some(c)) => Some(c),
            (None, None) => None,
        };
        let (company, target) = match self.resolve_target(company, &dialled, now).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.reply(&key, &req, 404, "Not Found (no such extension)", now);
                return;
            }
            Err(e) => {
                warn!(error = %e, "user lookup failed");
                self.reply(&key, &req, 500, "Server Internal Error", now);
                return;
            }
        };
        let target = aor(company, &target);
        let targets: Vec<(Uri, ConnId)> = self
            .location
            .get(&target)
            .map(|bs| {
                bs.iter()
                    .filter(|b| b.expires_at > now && b.conn != conn)
                    .map(|b| (b.contact.uri.clone(), b.conn))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if targets.is_empty() {
            self.reply(
                &key,
                &req,
                480,
                "Temporarily Unavailable (nobody is logged in on that extension)",
                now,
            );
            return;
        }
        let invite = req.method == Method::Invite;
        let creates_dialogs = matches!(
            req.method,
            Method::Invite | Method::Subscribe | Method::Refer
        );
        // A device at its dialog limit is not rung: its call could not be routed.
        let targets: Vec<(Uri, ConnId)> = if creates_dialogs {
            targets
                .into_iter()
                .filter(|(_, c)| self.dialog_room(*c) > 0)
                .collect()
        } else {
            targets
        };
        if targets.is_empty() {
            self.reply(
                &key,
                &req,
                486,
                "Busy Here (too many calls on that device)",
                now,
            );
            return;
        }
        if creates_dialogs && self.dialog_room(conn) == 0 {
            self.reply(
                &key,
                &req,
                503,
                "Service Unavailable (too many calls on this connection)",
                now,
            );
            return;
        }
        if invite {
            self.tx
                .send_response(&key, req.response(100, "Trying"), now);
            info!(from = %caller, to = %target, call_id = req.call_id().unwrap_or_default(), devices = targets.len(), "call");
        }
        let mut branches = Vec::new();
        for (uri, bconn) in targets {
            let bkey = self.forward(&req, uri, conn, bconn, creates_dialogs, &identity, now);
            self.branch_ctx.insert(bkey.clone(), key.clone());
            branches.push(Branch {
                key: bkey,
                conn: bconn,
                state: BranchState::Pending,
                cancelled: false,
            });
        }
        self.proxies.insert(
            key,
            ProxyCtx {
                request: req,
                upstream: conn,
                branches,
                best: None,
                final_sent: false,
                cancelled: false,
                timed_out: false,
                ring_deadline: invite.then_some(now + RING_TIMEOUT_MS),
                answered: false,
                linger_until: None,
                creates_dialogs,
                dialogs: Vec::new(),
                in_dialog: None,
            },
        );
    }

    /// What a dialled string reaches: an extension of `company`, or one of its public numbers
    /// (E.164, or 00…, or national digits with the country code). With no company (a trusted
    /// peer calling an IP address) the number's owner, else the default company.
    async fn resolve_target(
        &mut self,
        company: Option<i64>,
        dialled: &str,
        now: u64,
    ) -> Result<Option<(i64, String)>, crate::store::StoreError> {
        let number = normalize_number(dialled).or_else(|| {
            (dialled.len() >= 9 && dialled.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("+{dialled}"))
        });
        let home = company.unwrap_or(DEFAULT_COMPANY);
        if (number.is_none() || dialled.len() <= 8)
            && self.user(home, dialled, now).await?.is_some()
        {
            return Ok(Some((home, dialled.to_string())));
        }
        let Some(number) = number else {
            return Ok(None);
        };
        let found = match company {
            Some(c) => self.store.ext_for_number(c, &number).await?.map(|e| (c, e)),
            None => self.store.owner_of_number(&number).await?,
        };
        match found {
            Some((c, ext)) if self.user(c, &ext, now).await?.is_some() => Ok(Some((c, ext))),
            _ => Ok(None),
        }
    }

    /// A request with a To tag: forwarded only inside a dialog we record-routed, from one of
    /// its two sides to the other (never to an address a Request-URI names). Anything else is
    /// 481, or 403 from a flow that is not a side of the dialog it names.
    fn on_in_dialog(&mut self, key: TxKey, req: Request, conn: ConnId, now: u64) {
        let target = match self.dialog_for(&req, conn) {
            Ok(t) => t,
            Err(DialogRefusal::Unknown) => {
                debug!(conn, method = %req.method, "in-dialog request for no dialog of ours");
                self.reply(&key, &req, 481, "Call/Transaction Does Not Exist", now);
                return;
            }
            Err(DialogRefusal::NotASide) => {
                warn!(conn, method = %req.method, peer = %self.peer_ip(conn), "in-dialog request from a flow that is not a side of the dialog");
                self.reply(
                    &key,
                    &req,
                    403,
                    "Forbidden (not a party to this dialog)",
                    now,
                );
                return;
            }
        };
        let (id, to) = target;
        if let Some(d) = self.dialogs.get_mut(&id) {
            d.idle_until = now + DIALOG_IDLE_MS;
        }
        let ends = req.method == Method::Bye;
        let uri = req.uri.clone();
        let identity = if is_trusted(
            &self.cfg.trusted,
            self.peer_ip(conn),
            self.transport_of(conn),
        ) {
            Identity::Keep
        } else {
            Identity::Strip
        };
        let bkey = self.forward(&req, uri, conn, to, false, &identity, now);
        self.branch_ctx.insert(bkey.clone(), key.clone());
        self.proxies.insert(
            key,
            ProxyCtx {
                request: req,
                upstream: conn,
                branches: vec![Branch {
                    key: bkey,
                    conn: to,
                    state: BranchState::Pending,
                    cancelled: false,
                }],
                best: None,
                final_sent: false,
                cancelled: false,
                timed_out: false,
                ring_deadline: None,
                answered: false,
                linger_until: None,
                creates_dialogs: false,
                dialogs: Vec::new(),
                in_dialog: Some((id, ends)),
            },
        );
    }

    /// The dialog an in-dialog request belongs to and the flow of its other side, when `conn`
    /// is one of its sides.
    fn dialog_for(&self, req: &Request, conn: ConnId) -> Result<(DialogId, ConnId), DialogRefusal> {
        let (as_caller, as_callee) = dialog_ids(req).ok_or(DialogRefusal::Unknown)?;
        let (id, side) = if self.dialogs.contains_key(&as_caller) {
            (as_caller, Side::Caller)
        } else if self.dialogs.contains_key(&as_callee) {
            (as_callee, Side::Callee)
        } else {
            return Err(DialogRefusal::Unknown);
        };
        let d = &self.dialogs[&id];
        let (from, to) = match side {
            Side::Caller => (d.caller, d.callee),
            Side::Callee => (d.callee, d.caller),
        };
        if from != conn {
            return Err(DialogRefusal::NotASide);
        }
        Ok((id, to))
    }

    /// How many more dialogs `conn` may be a side of.
    fn dialog_room(&self, conn: ConnId) -> usize {
        let Some(c) = self.conns.get(&conn) else {
            return 0;
        };
        let max = if is_trusted(&self.cfg.trusted, c.peer.ip(), c.transport) {
            MAX_DIALOGS_TRUSTED
        } else {
            MAX_DIALOGS_PER_FLOW
        };
        max.saturating_sub(c.dialogs.len())
    }

    /// Notes a dialog set up by a response with a To tag to a request we record-routed. A
    /// 2xx confirms an early one. Returns the id when it is new.
    fn add_dialog(
        &mut self,
        req: &Request,
        resp: &Response,
        caller: ConnId,
        callee: ConnId,
        now: u64,
    ) -> Option<DialogId> {
        let id = DialogId {
            call_id: req.call_id()?.into(),
            caller_tag: req.from_tag()?.into(),
            callee_tag: resp.to_tag()?.into(),
        };
        let confirmed = resp.status >= 200;
        let routable = self.conns.contains_key(&caller) && self.dialog_room(callee) > 0;
        match self.dialogs.entry(id.clone()) {
            Entry::Occupied(mut e) => {
                if confirmed {
                    e.get_mut().early = false;
                }
                None
            }
            Entry::Vacant(e) => {
                if !routable {
                    debug!(
                        conn = callee,
                        "callee gone or at its dialog limit: not routed"
                    );
                    return None;
                }
                e.insert(Dialog {
                    caller,
                    callee,
                    early: !confirmed,
                    idle_until: now + DIALOG_IDLE_MS,
                });
                for conn in [caller, callee] {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.dialogs.push(id.clone());
                    }
                }
                Some(id)
            }
        }
    }

    /// Forgets a dialog and its place in both sides' lists.
    fn end_dialog(&mut self, id: &DialogId) {
        let Some(d) = self.dialogs.remove(id) else {
            return;
        };
        for conn in [d.caller, d.callee] {
            if let Some(c) = self.conns.get_mut(&conn)
                && let Some(i) = c.dialogs.iter().position(|x| x == id)
            {
                c.dialogs.swap_remove(i);
            }
        }
    }

    /// Dialogs with no request for [`DIALOG_IDLE_MS`] (both sides vanished without a BYE).
    fn forget_idle_dialogs(&mut self, now: u64) {
        let idle: Vec<DialogId> = self
            .dialogs
            .iter()
            .filter(|(_, d)| d.idle_until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            self.end_dialog(&id);
        }
    }

    /// Sends a copy of `req` to `uri` on `conn` in a new client transaction. With
    /// `record_route`, our Record-Route goes on top; when the request changes transport
    /// (WebSocket in, UDP out, say) we record-route twice, one entry per side (RFC 5658).
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &mut self,
        req: &Request,
        uri: Uri,
        from: ConnId,
        conn: ConnId,
        record_route: bool,
        identity: &Identity,
        now: u64,
    ) -> TxKey {
        let mut f = req.clone();
        f.uri = uri;
        match identity {
            Identity::Keep => {}
            Identity::Strip => IDENTITY_HEADERS.iter().for_each(|h| f.headers.remove(h)),
            Identity::Assert(pai) => {
                IDENTITY_HEADERS.iter().for_each(|h| f.headers.remove(h));
                f.headers.push("P-Asserted-Identity", pai.clone());
            }
        }
        let mf = f
            .headers
            .get("Max-Forwards")
            .and_then(|m| m.trim().parse::<u8>().ok())
            .unwrap_or(70);
        f.headers
            .set("Max-Forwards", mf.saturating_sub(1).to_string());
        f.headers.remove("Proxy-Authorization");
        let (t_in, t_out) = (self.transport_of(from), self.transport_of(conn));
        if record_route {
            let (rr_in, rr_out) = (self.record_route(t_in), self.record_route(t_out));
            if rr_in != rr_out {
                f.headers.push_front("Record-Route", rr_in);
            }
            f.headers.push_front("Record-Route", rr_out);
        }
        let via = self.via(t_out);
        f.headers.push_front("Via", via);
        self.tx.send_request(f, conn, t_out.reliable(), now)
    }

    /// The ACK for a 2xx goes end to end within the dialog, from the caller's flow only.
    fn forward_ack(&mut self, mut ack: Request, from: ConnId) {
        self.pop_own_routes(&mut ack);
        let target = match self.dialog_for(&ack, from) {
            Ok((id, to)) if self.dialogs.get(&id).is_some_and(|d| d.caller == from) => to,
            _ => {
                debug!(
                    conn = from,
                    "ACK for no dialog of ours (or not from its caller) dropped"
                );
                return;
            }
        };
        if !is_trusted(
            &self.cfg.trusted,
            self.peer_ip(from),
            self.transport_of(from),
        ) {
            IDENTITY_HEADERS.iter().for_each(|h| ack.headers.remove(h));
        }
        let mf = ack
            .headers
            .get("Max-Forwards")
            .and_then(|m| m.trim().parse::<u8>().ok())
            .unwrap_or(70);
        if mf == 0 {
            return;
        }
        ack.headers.set("Max-Forwards", (mf - 1).to_string());
        let via = self.via(self.transport_of(target));
        ack.headers.push_front("Via", via);
        self.tx.send_stateless(Message::Request(ack), target);
    }

    /// Loose routing (RFC 3261 16.4): our own Route entries are removed.
    fn pop_own_routes(&self, req: &mut Request) {
        while let Some(top) = req
            .headers
            .get("Route")
            .and_then(|r| NameAddr::parse(r).ok())
        {
            if !self.is_us(&top.uri) {
                break;
            }
            req.headers.remove_first("Route");
        }
    }

    fn on_cancel(&mut self, key: TxKey, req: Request, conn: ConnId, now: u64) {
        let invite_key = key.invite_of_cancel();
        // Only the flow the INVITE came on may cancel it: a branch is no password.
        let pending = self
            .proxies
            .get(&invite_key)
            .is_some_and(|c| !c.final_sent && c.upstream == conn);
        if !pending {
            self.reply(&key, &req, 481, "Call/Transaction Does Not Exist", now);
            return;
        }
        self.tx.send_response(&key, req.response(200, "OK"), now);
        if let Some(ctx) = self.proxies.get_mut(&invite_key) {
            ctx.cancelled = true;
            info!(
                call_id = ctx.request.call_id().unwrap_or_default(),
                "call cancelled by the caller"
            );
        }
        self.cancel_branches(&invite_key, now);
    }

    /// CANCELs every branch that has not answered; branches with no provisional yet are
    /// cancelled when one arrives (RFC 3261 9.1).
    fn cancel_branches(&mut self, ctx_key: &TxKey, now: u64) {
        let Some(ctx) = self.proxies.get_mut(ctx_key) else {
            return;
        };
        if ctx.request.method != Method::Invite {
            return;
        }
        let mut to_cancel = Vec::new();
        for b in ctx.branches.iter_mut() {
            if b.state == BranchState::Proceeding && !b.cancelled {
                b.cancelled = true;
                to_cancel.push((b.key.clone(), b.conn));
            }
        }
        for (bkey, bconn) in to_cancel {
            if let Some(sent) = self.tx.client_request(&bkey) {
                let cancel = cancel_for(sent);
                let reliable = self.transport_of(bconn).reliable();
                self.tx.send_request(cancel, bconn, reliable, now);
            }
        }
    }

    fn on_branch_timeout(&mut self, bkey: TxKey, now: u64) {
        let Some(skey) = self.branch_ctx.get(&bkey).cloned() else {
            return;
        };
        let Some(ctx) = self.proxies.get(&skey) else {
            return;
        };
        let resp = ctx.request.response(408, "Request Timeout");
        self.on_branch_response(skey, bkey, resp, now);
    }

    fn on_response(&mut self, bkey: TxKey, mut resp: Response, now: u64) {
        let Some(skey) = self.branch_ctx.get(&bkey).cloned() else {
            return;
        };
        resp.headers.remove_first("Via");
        if resp.headers.get("Via").is_none() {
            return;
        }
        self.on_branch_response(skey, bkey, resp, now);
    }

    fn on_branch_response(&mut self, skey: TxKey, bkey: TxKey, resp: Response, now: u64) {
        let Some(ctx) = self.proxies.get(&skey) else {
            return;
        };
        let Some(bi) = ctx.branches.iter().position(|b| b.key == bkey) else {
            return;
        };
        let status = resp.status;
        // Dialogs: a record-routed request's 1xx/2xx with a To tag sets one up; an in-dialog
        // request's answer may end its dialog.
        if ctx.creates_dialogs && (101..300).contains(&status) && resp.to_tag().is_some() {
            let (req, up, down) = (ctx.request.clone(), ctx.upstream, ctx.branches[bi].conn);
            if let Some(id) = self.add_dialog(&req, &resp, up, down, now)
                && let Some(ctx) = self.proxies.get_mut(&skey)
            {
                ctx.dialogs.push(id);
            }
        } else if let Some((id, ends)) = &ctx.in_dialog
            && status >= 200
            && (status == 481 || (*ends && status != 401 && status != 407))
        {
            let id = id.clone();
            self.end_dialog(&id);
        }
        let Some(ctx) = self.proxies.get_mut(&skey) else {
            return;
        };
        match status {
            100 => {}
            101..=199 => {
                let first = ctx.branches[bi].state == BranchState::Pending;
                if ctx.branches[bi].state != BranchState::Done {
                    ctx.branches[bi].state = BranchState::Proceeding;
                }
                if ctx.cancelled || (ctx.final_sent && ctx.request.method == Method::Invite) {
                    if first {
                        self.cancel_branches(&skey, now);
                    }
                } else {
                    self.tx.send_response(&skey, resp, now);
                }
            }
            200..=299 => {
                ctx.branches[bi].state = BranchState::Done;
                let was_final = ctx.final_sent;
                ctx.final_sent = true;
                ctx.answered = true;
                if ctx.request.method == Method::Invite && !was_final {
                    info!(
                        call_id = ctx.request.call_id().unwrap_or_default(),
                        "call answered"
                    );
                }
                // Every 2xx goes upstream (RFC 3261 16.7 step 5); other branches are cancelled.
                ctx.cancelled = true;
                self.tx.send_response(&skey, resp, now);
                self.cancel_branches(&skey, now);
            }
            _ => {
                ctx.branches[bi].state = BranchState::Done;
                let better = match &ctx.best {
                    None => true,
                    Some(b) => rank(status) < rank(b.status),
                };
                if better {
                    ctx.best = Some(resp);
                }
                if !ctx.final_sent && ctx.branches.iter().all(|b| b.state == BranchState::Done) {
                    ctx.final_sent = true;
                    let mut best = ctx
                        .best
                        .take()
                        .unwrap_or_else(|| ctx.request.response(408, "Request Timeout"));
                    if ctx.timed_out {
                        best.status = 480;
                        best.reason = "Temporarily Unavailable (no answer)".into();
                    }
                    self.tx.send_response(&skey, best, now);
                }
            }
        }
        if let Some(ctx) = self.proxies.get_mut(&skey)
            && ctx.branches.iter().all(|b| b.state == BranchState::Done)
        {
            if ctx.request.method == Method::Invite && ctx.answered {
                // Retransmitted 2xx (the callee's 200 or the caller's ACK was lost) must
                // still reach the caller (RFC 3261 16.7 step 10, RFC 6026): keep the
                // context as long as the transactions accept them.
                ctx.linger_until
                    .get_or_insert(now + 64 * TimerConfig::default().t1);
            } else {
                self.drop_ctx(&skey);
            }
        }
    }

    /// Forgets a finished request's context; the early dialogs it set up that no 2xx
    /// confirmed end with it.
    fn drop_ctx(&mut self, skey: &TxKey) {
        if let Some(ctx) = self.proxies.remove(skey) {
            for b in ctx.branches {
                self.branch_ctx.remove(&b.key);
            }
            for id in ctx.dialogs {
                if self.dialogs.get(&id).is_some_and(|d| d.early) {
                    self.end_dialog(&id);
                }
            }
        }
    }
}

/// Why an in-dialog request is not routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialogRefusal {
    /// No dialog of ours has its Call-ID and tags.
    Unknown,
    /// The dialog exists, but the request came on a flow that is neither of its sides.
    NotASide,
}

/// Whether a digest response's `uri` designates the same resource as the Request-URI it came
/// with (RFC 7616 3.4.6): the same user at the same host and port, or at two names of this
/// gateway (`names_us`: sipp, for one, puts our address where the Request-URI has our
/// domain). Credentials computed for another user's URI are not accepted.
fn digest_uri_matches(
    digest_uri: &str,
    request_uri: &Uri,
    names_us: impl Fn(&Uri) -> bool,
) -> bool {
    if digest_uri == request_uri.to_string() {
        return true;
    }
    let Ok(u) = Uri::parse(digest_uri) else {
        return false;
    };
    let same_place = (u.host.eq_ignore_ascii_case(&request_uri.host) && u.port == request_uri.port)
        || (names_us(&u) && names_us(request_uri));
    u.scheme.eq_ignore_ascii_case(&request_uri.scheme) && u.user == request_uri.user && same_place
}

/// The `P-Asserted-Identity` (RFC 3325) for an authenticated caller: the directory's name and
/// the extension in the company's domain. Quotes and backslashes in the name are escaped.
fn asserted_identity(user: &SipUser, domain: &str) -> String {
    let name: String = user
        .name
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    if name.trim().is_empty() {
        format!("<sip:{}@{domain}>", user.ext)
    } else {
        format!("\"{name}\" <sip:{}@{domain}>", user.ext)
    }
}

/// Which final response wins among branches (RFC 3261 16.7 step 6): 6xx first, then the
/// lowest class; within a class, a busy or decline beats a timeout.
fn rank(status: u16) -> u32 {
    let class = match status / 100 {
        6 => 0,
        c => u32::from(c),
    };
    let detail = match status {
        486 | 600 | 603 => 0,
        408 | 480 => 2,
        _ => 1,
    };
    class * 10 + detail
}

/// Hides credentials in logged messages.
fn redact(text: &str) -> String {
    text.lines()
        .map(|l| {
            let lower = l.to_ascii_lowercase();
            if lower.starts_with("authorization:") || lower.starts_with("proxy-authorization:") {
                let name = l.split(':').next().unwrap_or_default();
                format!("{name}: <redacted>")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// RFC 3581 and RFC 3261 18.2.1: note the address a UDP request really came from in its top
/// Via, so responses go back there.
fn mark_received(req: &mut Request, peer: SocketAddr) {
    let Some(mut via) = req.top_via() else { return };
    let rport = via.params.has("rport");
    let ip = peer.ip().to_string();
    if !rport && via.host == ip {
        return; // sent from where it says: nothing to add
    }
    if rport {
        via.params.set("rport", Some(&peer.port().to_string()));
    }
    via.params.set("received", Some(&ip));
    req.headers.replace_first("Via", via.to_string());
}
