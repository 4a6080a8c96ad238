//! The PBX core as a sans-IO state machine: registrar, location service, authentication and
//! the record-routing stateful proxy, in the style of quinn-proto's `Connection` and str0m's
//! `Rtc`.
//!
//! Driving contract (the tokio shell is `crate::driver`):
//! - feed every event with [`Core::handle`] and the current time (`now`, milliseconds on any
//!   monotonic clock; the same clock for every call);
//! - then drain [`Core::poll_output`] until it returns `None`, carrying out each [`Output`]:
//!   send on a flow, send a datagram, close a flow, or look something up in the store and
//!   hand the answer back as [`Input::Answer`];
//! - call [`Core::handle_timeout`] when `now >= poll_timeout()` (it may be early; then nothing
//!   happens), and drain outputs again.
//!
//! Nothing here does IO, awaits, or reads the clock. A request that needs what the core does
//! not know (a user, a company's domain, a public number) is parked while the lookup runs;
//! every other request goes on. Each part owns its own state in its own file: [`flows`]
//! (connections, Via and Record-Route), [`location`] (bindings), [`auth`] (digest, nonces,
//! failure limits), [`cache`] (what the store said), [`routing`] (dialled string to plan),
//! [`proxy`] (response contexts), [`dialogs`] (in-dialog routing) and [`timers`].

pub mod auth;
pub mod cache;
pub mod calls;
pub mod devices;
pub mod dialogs;
pub mod flows;
mod forward;
pub use forward::BRIDGE_PARAM;
pub use trunk::{CODECS_PARAM, MOVE_PARAM, SIDE_PARAM, hex_param};
pub mod location;
pub mod presence;
pub mod proxy;
pub mod routing;
mod subscriptions;
pub mod timers;
mod trunk;
mod trunk_reg;

use std::collections::VecDeque;
use std::net::SocketAddr;

use centrala_sip::Instant;
use centrala_sip::dialog::cancel_for;
use centrala_sip::message::{Message, Method, NameAddr, Request, Response, SipMessage, Uri, Via};
use centrala_sip::rng::Rng;
use centrala_sip::transaction::{Output as TxOutput, TimerConfig, Transactions, TxKey};
use tracing::{debug, info, warn};

use crate::accounts::DEFAULT_COMPANY;
use crate::limits::Limits;
use crate::store::SipUser;
use crate::trusted::{TrustedPeer, is_trusted};

pub use auth::Realm;
pub use cache::{Answer, LookupId, Query};
pub use devices::{DeviceInfo, DeviceKind};
pub use flows::{FlowId, OwnAddresses, Transport};
pub use location::{AorKey, device_id};
pub use presence::{CallRecord, Choice, Outcome};

use auth::{Auth, Challenger, Presented, Verdict};
use cache::{Cache, Cached};
use calls::Calls;
use dialogs::{DialogId, Dialogs, Refusal};
use flows::Flows;
use location::{Binding, Location, Reach};
use proxy::{Branch, Cancel, Ctx, Forwarding, Kind, Proxy, State};
use routing::{Decision, Ringing, Route};
use timers::Timers;

/// The core's tables are keyed by what peers send (addresses, extensions, branches):
/// foldhash is several times faster than SipHash and seeded per table.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// How long after a call outside ends its caller's spending is read again (the store has
/// written the call by then).
const SPENDING_RELOAD_MS: u64 = 2_000;

/// Shortest and longest registration lifetime we grant, in seconds.
pub const MIN_EXPIRES: u32 = 60;
pub const MAX_EXPIRES: u32 = 3600;
pub const DEFAULT_EXPIRES: u32 = 600;
pub use location::MAX_BINDINGS;
pub use routing::RING_TIMEOUT_MS;
/// How long a UDP flow without registrations or dialogs may stay quiet before it is forgotten.
pub const UDP_FLOW_IDLE_MS: u64 = 300_000;
pub use cache::{FORGET_MS as USER_FORGET_MS, FRESH_MS as USER_CACHE_MS};
/// How many dialogs one flow may be a side of (calls in progress and subscriptions): past it
/// its new calls get 503, and calls to it skip that device. A phone has a few; a registered
/// call-centre switch or test load generator can have thousands (sipp at 1,600 calls/s of
/// 100 ms holds ~300). About 200 bytes each. A trunk (trusted peer) may hold
/// [`MAX_DIALOGS_TRUSTED`].
pub const MAX_DIALOGS_PER_FLOW: usize = 4096;
pub const MAX_DIALOGS_TRUSTED: usize = 1_000_000;
/// Requests waiting for lookups, in all; past it new ones get 503.
pub const MAX_PARKED: usize = 10_000;
/// A request parked this long gets 503 (the store is slow); the lookup's answer is still kept.
pub const LOOKUP_TIMEOUT_MS: u64 = 5_000;
/// How often caches, nonces and limiters drop what is old.
const SWEEP_MS: u64 = 10_000;
/// Watched directories are read again every this many sweeps (one minute).
const ROSTER_REREAD_SWEEPS: u64 = 6;
/// How often idle dialogs are looked for.
const DIALOG_SWEEP_MS: u64 = 600_000;
/// Identity headers a caller may not set: the gateway asserts who the caller is.
const IDENTITY_HEADERS: [&str; 3] = [
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Remote-Party-ID",
];

/// What the driver tells the core.
#[derive(Debug)]
pub enum Input {
    /// A stream flow (WebSocket, TCP, TLS) opened.
    Connected {
        flow: FlowId,
        peer: SocketAddr,
        transport: Transport,
    },
    /// A message arrived on a stream flow.
    Message { flow: FlowId, message: Message },
    /// A message arrived over UDP from `peer`.
    Datagram { peer: SocketAddr, message: Message },
    /// A stream flow closed.
    Closed { flow: FlowId },
    /// The in-process voicemail service is the (already connected) `flow`: calls for a
    /// voicemail rule go there, and it is not limited as a device's connection is.
    Voicemail { flow: FlowId },
    /// An extension's voicemail changed (a message left, heard or deleted): its
    /// message-summary watchers get the new counts.
    MailboxChanged { company: i64, ext: String },
    /// An extension's account changed (access revoked, removed, renumbered, a new password):
    /// forget what is cached of it and drop registrations as `drop` says.
    AccountChanged {
        company: i64,
        ext: String,
        drop: Registrations,
    },
    /// The answer to an [`Output::Lookup`].
    Answer { id: LookupId, answer: Answer },
    /// A person's own status was set through the API (already stored).
    PresenceChoice {
        company: i64,
        ext: String,
        choice: Choice,
    },
    /// A company's employees changed (added, removed, renamed, renumbered): its directory
    /// is read again and its watchers told.
    RosterChanged { company: i64 },
    /// The trunks to the phone network (all of them, in the order calls try them).
    Trunks(Vec<crate::trunks::CoreTrunk>),
}

/// Which registrations of a changed account go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrations {
    Keep,
    /// The web app's (access revoked); their flows are closed so the app notices at once.
    App,
    /// All (extension removed or renumbered).
    All,
}

/// What the core asks the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send a whole SIP message on a stream flow.
    Stream { flow: FlowId, text: Box<str> },
    /// Send a datagram (shared with the transaction that may resend it).
    Datagram {
        to: SocketAddr,
        bytes: std::sync::Arc<[u8]>,
    },
    /// Close a stream flow.
    Close { flow: FlowId },
    /// Look this up in the store; answer with [`Input::Answer`].
    Lookup { id: LookupId, query: Query },
    /// Store a person's own status (set by PUBLISH).
    SaveChoice {
        company: i64,
        ext: String,
        choice: Choice,
    },
    /// Store a finished call.
    Record(Box<CallRecord>),
    /// Toll fraud suspected: `ext` of `company` placed `calls` international calls within
    /// the window; their calls outside are suspended here and are to be in the store, and
    /// the administrators told.
    TollFraud {
        company: i64,
        ext: String,
        calls: u32,
    },
    /// Open a connection to `to` over `transport` (TCP, or TLS checking that the peer is
    /// `name`) as `flow`; what the core sends there waits until it is up. A failure is
    /// reported as [`Input::Closed`].
    Connect {
        flow: FlowId,
        to: SocketAddr,
        transport: Transport,
        name: String,
    },
}

/// The core's settings.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// SIP domain of the default company, and our addresses per transport.
    pub own: OwnAddresses,
    /// Secret for nonces.
    pub nonce_secret: [u8; 32],
    /// Peers not challenged for out-of-dialog requests other than REGISTER, each on the
    /// transports the operator named (never WebSocket; UDP only when asked for).
    pub trusted: Vec<TrustedPeer>,
    pub limits: Limits,
    /// Key of the web app's short-lived SIP credentials (`crate::sipcred`).
    pub sip_secret: [u8; 32],
    /// Unix time in milliseconds at `now == 0` (for the web credentials' expiry).
    pub unix_epoch_ms: i64,
    /// The trunks to the phone network at start (later ones come as [`Input::Trunks`]).
    pub trunks: Vec<crate::trunks::CoreTrunk>,
}

/// Counts and gauges for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received, by method ([`METHODS`] order, then "other").
    pub requests: [u64; METHODS.len() + 1],
    /// Responses sent upstream or by us, by class 1xx..6xx.
    pub responses: [u64; 6],
    pub lookups: u64,
    pub registrations: usize,
    pub dialogs: usize,
    pub proxy_contexts: usize,
    pub parked: usize,
    /// Open flows: ws, udp, tcp, tls.
    pub flows: [usize; 4],
    /// Presence and dialog subscriptions we serve, and NOTIFYs sent.
    pub subscriptions: usize,
    pub notifies: u64,
}

/// The methods counted one by one in [`Stats::requests`].
pub const METHODS: [&str; 14] = [
    "REGISTER",
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "MESSAGE",
    "REFER",
    "INFO",
    "UPDATE",
    "PRACK",
];

/// A typed deadline.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// An answered INVITE's context may go.
    Linger(TxKey),
    /// An extension's earliest registration expires.
    Bindings(AorKey),
    /// A UDP flow may have gone quiet.
    FlowIdle(FlowId),
    /// Dialogs idle for 12 h are forgotten (a scan every few minutes).
    DialogSweep,
    /// Parked requests of a lookup wait too long.
    Lookup(LookupId),
    /// Caches, nonces and limiters drop what is old.
    Sweep,
    /// A subscription's held-back NOTIFY may go.
    Notify(presence::SubId),
    /// A subscription may have expired.
    SubExpiry(presence::SubId),
    /// A registering trunk's REGISTER is due (first, refresh or retry).
    TrunkRegister(String),
    /// A person's call outside has been stored: read their spending again.
    Spending(AorKey),
}

/// Who placed a call, once authenticated.
#[derive(Debug, Clone)]
enum Caller {
    User {
        user: Box<SipUser>,
        realm: Realm,
    },
    /// A trusted peer (a trunk); its call is for the company of the domain or number called.
    Trunk {
        from: String,
    },
}

/// How far a parked request got: it is handled again from here when its lookup answers.
#[derive(Debug, Clone)]
enum Stage {
    Fresh,
    Authenticated(Box<Caller>),
}

/// A request waiting for a lookup.
#[derive(Debug)]
struct Parked {
    key: TxKey,
    req: Request,
    flow: FlowId,
    stage: Stage,
}

/// What a step of request handling needs before it can go on.
enum Need<T> {
    Have(T),
    Lookup(LookupId),
}

/// What happens to the caller-identity headers of a forwarded request.
#[derive(Debug, Clone)]
pub enum Identity {
    /// A trusted peer (a trunk) asserts identity itself: pass them on.
    Keep,
    /// Removed (in-dialog requests from clients).
    Strip,
    /// Removed, and this `P-Asserted-Identity` set from the authenticated user (RFC 3325).
    Assert(String),
}

pub struct Core {
    cfg: CoreConfig,
    tx: Transactions<FlowId>,
    flows: Flows,
    location: Location,
    dialogs: Dialogs,
    auth: Auth,
    cache: Cache,
    proxy: Proxy,
    calls: Calls,
    presence: presence::Presence,
    timers: Timers<Timer>,
    rng: Rng,
    parked: HashMap<LookupId, Vec<Parked>>,
    parked_count: usize,
    out: VecDeque<Output>,
    stats: Stats,
    sweeps: u64,
    /// Devices removed through the API, refused for a while.
    removed: devices::Removed,
    /// The voicemail service's flow, while it is connected.
    voicemail: Option<FlowId>,
    /// The trunks, in the order calls try them; their addresses are trusted (see
    /// [`Core::set_trunks`]).
    trunks: Vec<crate::trunks::CoreTrunk>,
    /// The operator's `--trusted-peer`s (the trunks' addresses are added to them).
    operator_trusted: Vec<TrustedPeer>,
    /// Registering trunks, by name.
    trunk_regs: HashMap<String, trunk_reg::TrunkReg>,
    /// International calls placed lately, by person (toll fraud watch).
    intl_calls: HashMap<AorKey, VecDeque<Instant>>,
    /// People suspended here before the store says so (see [`Output::TollFraud`]).
    suspended: HashSet<AorKey>,
}

macro_rules! park_or {
    ($self:ident, $need:expr, $key:expr, $req:expr, $flow:expr, $stage:expr, $now:expr) => {
        match $need {
            Need::Have(v) => v,
            Need::Lookup(id) => return $self.park(id, $key, $req, $flow, $stage, $now),
        }
    };
}

impl Core {
    /// A core; `seed` is 32 bytes of the OS's randomness (branches, tags and nonce salts must
    /// not be predictable).
    pub fn new(cfg: CoreConfig, seed: [u8; 32], now: Instant) -> Core {
        let mut timers = Timers::default();
        timers.arm(now + SWEEP_MS, Timer::Sweep);
        timers.arm(now + DIALOG_SWEEP_MS, Timer::DialogSweep);
        let mut core = Core {
            auth: Auth::new(cfg.nonce_secret, cfg.sip_secret, &cfg.limits),
            flows: Flows::new(cfg.own.clone()),
            cfg,
            tx: Transactions::new(TimerConfig::default()),
            location: Location::default(),
            dialogs: Dialogs::default(),
            cache: Cache::default(),
            proxy: Proxy::default(),
            calls: Calls::default(),
            presence: presence::Presence::default(),
            timers,
            rng: Rng::new(seed),
            parked: HashMap::default(),
            voicemail: None,
            parked_count: 0,
            out: VecDeque::new(),
            stats: Stats::default(),
            sweeps: 0,
            removed: devices::Removed::default(),
            trunks: Vec::new(),
            operator_trusted: Vec::new(),
            trunk_regs: HashMap::default(),
            intl_calls: HashMap::default(),
            suspended: HashSet::default(),
        };
        core.operator_trusted = core.cfg.trusted.clone();
        let trunks = core.cfg.trunks.clone();
        core.set_trunks(trunks, now);
        core
    }

    /// The trunks change: calls out use these, and calls in from their addresses (on their
    /// transport) are trusted like the operator's trusted peers.
    fn set_trunks(&mut self, trunks: Vec<crate::trunks::CoreTrunk>, now: Instant) {
        let mut trusted = self.operator_trusted.clone();
        trusted.extend(crate::trunks::trusted_peers(&trunks));
        info!(trunks = trunks.len(), "trunks to the phone network");
        self.cfg.trusted = trusted;
        self.trunks = trunks;
        self.sync_trunk_regs(now);
    }

    /// Feeds one input.
    pub fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::Connected {
                flow,
                peer,
                transport,
            } => {
                debug!(%flow, %peer, ?transport, "connection open");
                self.flows.open(flow, peer, transport, now);
            }
            Input::Message { flow, message } => {
                if let Some(f) = self.flows.get_mut(flow) {
                    f.last_seen = now;
                }
                self.count_in(&message);
                self.tx.receive(message, flow, now);
            }
            Input::Datagram { peer, mut message } => {
                let (flow, new) = self.flows.udp_flow(peer, now);
                if new {
                    self.timers
                        .arm(now + UDP_FLOW_IDLE_MS, Timer::FlowIdle(flow));
                }
                if let Message::Request(r) = &mut message {
                    mark_received(r, peer);
                }
                self.count_in(&message);
                self.tx.receive_unreliable(message, flow, now);
            }
            Input::Closed { flow } => {
                if self.voicemail == Some(flow) {
                    warn!(%flow, "the voicemail service disconnected: voicemail rules are skipped");
                    self.voicemail = None;
                }
                self.on_closed(flow, now)
            }
            Input::Voicemail { flow } => {
                info!(%flow, "voicemail service connected");
                self.voicemail = Some(flow);
            }
            Input::Trunks(trunks) => self.set_trunks(trunks, now),
            Input::MailboxChanged { company, ext } => {
                self.mailbox_changed(&AorKey::new(company, &ext));
            }
            Input::AccountChanged { company, ext, drop } => {
                self.on_account_changed(company, &ext, drop, now)
            }
            Input::Answer { id, answer } => self.on_answer(id, answer, now),
            Input::PresenceChoice {
                company,
                ext,
                choice,
            } => {
                let aor = AorKey::new(company, &ext);
                if self.presence.set_choice(&aor, choice) {
                    self.presence_changed(&[aor], now);
                }
            }
            Input::RosterChanged { company } => self.roster_changed(company),
        }
        self.process(now);
    }

    /// When [`Core::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.tx.poll_timeout(),
            self.timers.next(),
            self.proxy.next_ring_deadline(),
            self.presence.ready_since,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Time has passed: fires what is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.presence.ready_since.is_some() {
            self.fan_out(now);
        }
        self.tx.handle_timeout(now);
        self.process(now);
        while let Some((_, timer)) = self.timers.pop_due(now) {
            self.on_timer(timer, now);
            self.process(now);
        }
        while let Some(key) = self.proxy.pop_rung_out(now) {
            self.on_rung_out(key, now);
            self.process(now);
        }
    }

    /// The next thing for the driver to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(o) = self.out.pop_front() {
            return Some(o);
        }
        let (id, query) = self.cache.next_started()?;
        self.stats.lookups += 1;
        Some(Output::Lookup { id, query })
    }

    /// Counts and gauges as of now.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.registrations = self.location.len();
        s.dialogs = self.dialogs.len();
        s.proxy_contexts = self.proxy.len();
        s.parked = self.parked_count;
        s.flows = self.flows.count_by_transport();
        s.subscriptions = self.presence.len();
        s
    }

    fn count_in(&mut self, message: &Message) {
        if let Message::Request(r) = message {
            let m = r.method.as_str();
            let i = METHODS
                .iter()
                .position(|x| *x == m)
                .unwrap_or(METHODS.len());
            self.stats.requests[i] += 1;
        }
    }

    fn unix_now(&self, now: Instant) -> i64 {
        (self.cfg.unix_epoch_ms + now as i64) / 1000
    }

    fn unix_ms(&self, now: Instant) -> i64 {
        self.cfg.unix_epoch_ms + now as i64
    }

    /// A finished call goes to the store.
    fn record(&mut self, rec: CallRecord) {
        self.out.push_back(Output::Record(Box::new(rec)));
    }

    /// A call that was never put through (refused before any device rang).
    fn record_refused(&mut self, rec: Option<CallRecord>, status: u16, now: Instant) {
        if let Some(mut rec) = rec {
            rec.ended_ms = self.unix_ms(now);
            rec.status = Some(status);
            rec.outcome = if status == 480 {
                Outcome::Unavailable
            } else {
                calls::outcome_of(Some(status))
            };
            self.record(rec);
        }
    }

    /// A call ended: its record goes to the store and its parties' presence may change.
    fn end_call(&mut self, call_id: &str, status: Option<u16>, now: Instant) {
        let unix = self.unix_ms(now);
        let outside_leg = self.calls.outside_leg(call_id);
        if let Some((rec, changed)) = self.calls.end(call_id, unix, status) {
            info!(call_id, outcome = rec.outcome.as_str(), "call ended");
            // A call a person's rule forwarded to an outside number: that leg is a call of
            // theirs (rated and paid as one), besides the call the history shows.
            if let Some((owner, number)) = outside_leg
                && rec.answered_ms.is_some()
            {
                let leg = CallRecord {
                    sip_call_id: format!("{};forwarded", rec.sip_call_id),
                    caller_ext: Some(owner.ext.to_string()),
                    caller_number: owner.ext.to_string(),
                    caller_name: None,
                    dialled: number,
                    callee_ext: None,
                    callee_name: None,
                    diverted_from: None,
                    diversion: None,
                    ..rec.clone()
                };
                self.timers
                    .arm(now + SPENDING_RELOAD_MS, Timer::Spending(owner.clone()));
                self.record(leg);
            }
            // An answered call outside costs money: once the store has it, the caller's
            // spending is read again (their limit may be reached now).
            if rec.answered_ms.is_some()
                && rec.callee_ext.is_none()
                && let Some(ext) = &rec.caller_ext
            {
                self.timers.arm(
                    now + SPENDING_RELOAD_MS,
                    Timer::Spending(AorKey::new(rec.company, ext)),
                );
            }
            self.record(rec);
            self.calls_changed(&changed, now);
        }
    }

    fn on_timer(&mut self, timer: Timer, now: Instant) {
        match timer {
            Timer::Linger(key) => {
                self.drop_ctx(&key, now);
            }
            Timer::Bindings(aor) => {
                let (gone, next) = self.location.expire(&aor, now, &mut self.flows);
                if gone > 0 {
                    info!(aor = %aor, gone, "registration expired");
                    self.presence_changed(std::slice::from_ref(&aor), now);
                }
                if let Some(at) = next {
                    self.timers.arm(at, Timer::Bindings(aor));
                }
            }
            Timer::FlowIdle(flow) => {
                if self.flows.idle(flow, now, UDP_FLOW_IDLE_MS) {
                    self.flows.close(flow);
                    self.tx.flow_closed(|f| *f == flow);
                } else if let Some(f) = self.flows.get(flow) {
                    let at = (f.last_seen + UDP_FLOW_IDLE_MS).max(now + 1000);
                    self.timers.arm(at, Timer::FlowIdle(flow));
                }
            }
            Timer::DialogSweep => {
                for id in self.dialogs.idle(now) {
                    info!(call_id = %id.call_id, "dialog idle for 12 h: forgotten");
                    self.dialogs.end(&id, &mut self.flows);
                    self.end_call(&id.call_id, None, now);
                }
                let unix = self.unix_ms(now);
                for (rec, changed) in self.calls.sweep(now, unix) {
                    self.record(rec);
                    self.calls_changed(&changed, now);
                }
                self.timers.arm(now + DIALOG_SWEEP_MS, Timer::DialogSweep);
            }
            Timer::Lookup(id) => {
                if self.cache.in_flight(id) {
                    warn!(
                        lookup = id,
                        "store lookup slow: waiting requests answered 503"
                    );
                    self.fail_parked(id, now);
                }
            }
            Timer::Notify(id) => self.notify_soon(id, now),
            Timer::SubExpiry(id) => self.on_sub_expiry(id, now),
            Timer::TrunkRegister(name) => self.send_trunk_register(&name, None, now),
            Timer::Spending(aor) => self.cache.account_changed(aor.company, &aor.ext),
            Timer::Sweep => {
                self.presence
                    .publications
                    .retain(|_, (_, until)| *until > now);
                self.sweeps += 1;
                if self.sweeps.is_multiple_of(ROSTER_REREAD_SWEEPS) {
                    self.reread_rosters();
                }
                self.cache.sweep(now);
                self.auth.sweep(now);
                self.timers.arm(now + SWEEP_MS, Timer::Sweep);
            }
        }
    }

    // ---- lookups and parked requests ----

    fn park(
        &mut self,
        id: LookupId,
        key: TxKey,
        req: Request,
        flow: FlowId,
        stage: Stage,
        now: Instant,
    ) {
        if self.parked_count >= MAX_PARKED {
            warn!("too many requests waiting for the store: refused");
            let mut r = req.response(503, "Service Unavailable (busy; try again)");
            r.headers.push("Retry-After", "5");
            self.respond(&key, r, now);
            return;
        }
        if req.method == Method::Invite && self.tx.server_pending(&key) {
            // Stops the caller's retransmissions while we wait.
            self.tx
                .send_response(&key, req.response(100, "Trying"), now);
        }
        let list = self.parked.entry(id).or_default();
        if list.is_empty() {
            self.timers.arm(now + LOOKUP_TIMEOUT_MS, Timer::Lookup(id));
        }
        list.push(Parked {
            key,
            req,
            flow,
            stage,
        });
        self.parked_count += 1;
    }

    fn on_answer(&mut self, id: LookupId, answer: Answer, now: Instant) {
        let failed = matches!(answer, Answer::Failed(_));
        if let Answer::Roster { company, people } = &answer
            && self.cache.in_flight(id)
        {
            self.roster_loaded(*company, people.clone(), now);
        }
        if let Answer::Mailbox {
            company,
            ext,
            mailbox,
        } = &answer
            && self.cache.in_flight(id)
        {
            self.mailbox_loaded(AorKey::new(*company, ext), *mailbox, now);
        }
        if let Answer::Failed(e) = &answer {
            warn!(lookup = id, error = %e, "store lookup failed");
        }
        self.cache.answer(id, answer, now);
        if failed {
            self.fail_parked(id, now);
            return;
        }
        let Some(list) = self.parked.remove(&id) else {
            return;
        };
        self.parked_count -= list.len();
        for p in list {
            if self.tx.server_pending(&p.key) {
                self.dispatch(p.key, p.req, p.flow, p.stage, now);
            }
        }
    }

    /// Answers a lookup's parked requests with 503 (the store failed or is too slow).
    fn fail_parked(&mut self, id: LookupId, now: Instant) {
        let Some(list) = self.parked.remove(&id) else {
            return;
        };
        self.parked_count -= list.len();
        for p in list {
            let mut r = p.req.response(
                503,
                "Service Unavailable (directory not reachable; try again)",
            );
            r.headers.push("Retry-After", "5");
            self.respond(&p.key, r, now);
        }
    }

    // ---- the transaction layer's outputs ----

    fn process(&mut self, now: Instant) {
        while let Some(out) = self.tx.poll() {
            match out {
                TxOutput::Transmit { flow, message } => {
                    let status = match &message {
                        Message::Response(r) => Some(r.status),
                        Message::Request(_) => None,
                    };
                    self.transmit(flow, status, message.to_bytes().into());
                }
                TxOutput::TransmitResponse { flow, response } => {
                    self.transmit(flow, Some(response.status), response.bytes);
                }
                TxOutput::Request { key, request, flow } => {
                    debug!(%flow, "sip in\n{}", redact(&String::from_utf8_lossy(&request.to_bytes())));
                    self.on_request(key, request, flow, now);
                }
                TxOutput::Response { key, response } => {
                    if !self.on_notify_answer(&key, Some(&response), now)
                        && !self.on_trunk_reg_answer(&key, Some(&response), now)
                    {
                        self.on_response(key, response, now);
                    }
                }
                TxOutput::Timeout { key } => {
                    if !self.on_notify_answer(&key, None, now)
                        && !self.on_trunk_reg_answer(&key, None, now)
                    {
                        self.on_branch_timeout(key, now);
                    }
                }
                TxOutput::Ack { request, flow } => self.forward_ack(request, flow, now),
                TxOutput::StrayResponse { response, flow } => {
                    debug!(%flow, status = response.status, "response matches no transaction on its flow; dropped");
                }
                TxOutput::NoAck { key } => {
                    debug!(?key, "no ACK for a final response");
                }
                // `Output` is non-exhaustive: a new variant must be handled here.
                #[allow(unreachable_patterns)]
                other => warn!(?other, "transaction output not handled"),
            }
        }
    }

    /// Sends a message's bytes on `flow`; `status` counts a response by class.
    fn transmit(&mut self, flow: FlowId, status: Option<u16>, bytes: std::sync::Arc<[u8]>) {
        let Some(f) = self.flows.get(flow) else {
            return;
        };
        if let Some(status) = status
            && (1..=6).contains(&(status / 100))
        {
            self.stats.responses[usize::from(status / 100) - 1] += 1;
        }
        debug!(%flow, "sip out\n{}", redact(&String::from_utf8_lossy(&bytes)));
        if f.transport == Transport::Udp {
            self.out.push_back(Output::Datagram { to: f.peer, bytes });
        } else {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            self.out.push_back(Output::Stream {
                flow,
                text: text.into_boxed_str(),
            });
        }
    }

    fn respond(&mut self, key: &TxKey, resp: Response, now: Instant) {
        self.tx.send_response(key, resp, now);
    }

    /// 423 with the shortest lifetime we grant (REGISTER, SUBSCRIBE, PUBLISH).
    fn too_brief(&mut self, key: &TxKey, req: &Request, min: u32, now: Instant) {
        let mut r = req.response(423, "Interval Too Brief");
        r.set_to_tag(&self.rng.token(10));
        r.headers.push("Min-Expires", min.to_string());
        self.respond(key, r, now);
    }

    fn reply(&mut self, key: &TxKey, req: &Request, status: u16, reason: &str, now: Instant) {
        let mut resp = req.response(status, reason);
        if status > 100 {
            resp.set_to_tag(&self.rng.token(10));
        }
        self.respond(key, resp, now);
    }

    // ---- requests ----

    fn on_request(&mut self, key: TxKey, mut req: Request, flow: FlowId, now: Instant) {
        self.pop_own_routes(&mut req);
        if req.method != Method::Register
            && req
                .headers
                .get("Max-Forwards")
                .is_some_and(|m| m.trim() == "0")
        {
            self.reply(&key, &req, 483, "Too Many Hops", now);
            return;
        }
        match req.method {
            Method::Cancel => self.on_cancel(key, req, flow, now),
            Method::Register => self.dispatch(key, req, flow, Stage::Fresh, now),
            Method::Subscribe
                if req.to_tag().is_some() && self.on_subscribe_in_dialog(&key, &req, flow, now) => {
            }
            _ if req.to_tag().is_some() => self.on_in_dialog(key, req, flow, now),
            Method::Options if req.uri.user.is_none() || self.flows.is_us(&req.uri) => {
                let mut ok = req.response(200, "OK");
                ok.set_to_tag(&self.rng.token(10));
                ok.headers.push(
                    "Allow",
                    "INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, REFER, MESSAGE",
                );
                self.respond(&key, ok, now);
            }
            Method::Invite if Some(flow) == self.voicemail => {
                self.on_bridge_call(key, req, flow, now)
            }
            _ => self.dispatch(key, req, flow, Stage::Fresh, now),
        }
    }

    /// The media service calls a device for a call it bridges: the request URI names the
    /// device's flow ([`forward::BRIDGE_PARAM`], set by us when the call reached the
    /// service). Nothing else may come from there out of dialog.
    fn on_bridge_call(&mut self, key: TxKey, mut req: Request, flow: FlowId, now: Instant) {
        if req.uri.params.value(trunk::MOVE_PARAM).is_some() {
            return self.move_to_mobile(key, req, flow, now);
        }
        let Some(target) = req
            .uri
            .params
            .value(forward::BRIDGE_PARAM)
            .and_then(|v| v.parse::<u64>().ok())
            .map(FlowId)
        else {
            self.reply(&key, &req, 403, "Forbidden (not a bridged call)", now);
            return;
        };
        if self.flows.get(target).is_none() {
            self.reply(
                &key,
                &req,
                480,
                "Temporarily Unavailable (the device went away)",
                now,
            );
            return;
        }
        if self.trunk_of_flow(target).is_some() {
            return self.bridge_to_trunk(key, req, flow, target, now);
        }
        req.uri.params.remove(forward::BRIDGE_PARAM);
        let uri = req.uri.clone();
        self.proxy_to_one(key, req, flow, uri, target, &Identity::Keep, now);
    }

    /// Proxies a dialog-creating request from `flow` to `to` alone (record-routed, one
    /// branch, no forwarding rules).
    #[allow(clippy::too_many_arguments)]
    fn proxy_to_one(
        &mut self,
        key: TxKey,
        req: Request,
        flow: FlowId,
        uri: Uri,
        to: FlowId,
        identity: &Identity,
        now: Instant,
    ) {
        let tx = self.forward(&req, uri, flow, to, true, identity, now);
        let ctx = Ctx::new(
            req,
            flow,
            Kind::Initial {
                creates_dialogs: true,
                dialogs: Vec::new(),
            },
        );
        self.proxy.insert(key.clone(), ctx);
        self.proxy.add_branch(&key, Branch::new(tx, to));
    }

    /// Sends a caller's call to listen to voicemail (`forward::listen_uri`) to the voicemail
    /// service.
    fn listen_to_voicemail(
        &mut self,
        key: TxKey,
        req: Request,
        flow: FlowId,
        uri: Option<Uri>,
        identity: &Identity,
        now: Instant,
    ) {
        let (Some(vm), Some(uri)) = (self.voicemail, uri) else {
            self.reply(
                &key,
                &req,
                480,
                "Temporarily Unavailable (voicemail is off)",
                now,
            );
            return;
        };
        info!(%uri, "listening to voicemail");
        self.proxy_to_one(key, req, flow, uri, vm, identity, now);
    }

    /// Handles a REGISTER or an out-of-dialog request from `stage` on (again, after a lookup).
    fn dispatch(&mut self, key: TxKey, req: Request, flow: FlowId, stage: Stage, now: Instant) {
        if req.method == Method::Invite && Some(flow) == self.voicemail {
            // (Again, after a lookup.)
            return self.on_bridge_call(key, req, flow, now);
        }
        if req.method == Method::Register {
            self.on_register(key, req, flow, now);
        } else {
            self.on_initial(key, req, flow, stage, now);
        }
    }

    /// The company and realm a request is for: its domain (the To host of a REGISTER, the
    /// From host otherwise) when that is a company's, else the default company (requests to
    /// an IP address, as desk phones and tools send).
    fn realm_of(&mut self, req: &Request, now: Instant) -> Need<Realm> {
        let host = if req.method == Method::Register {
            req.to_user_host().map(|(_, h)| h)
        } else {
            req.from_user_host().map(|(_, h)| h)
        };
        if let Some(h) = host {
            match self.cache.domain(h, now) {
                Cached::Miss(id) => return Need::Lookup(id),
                Cached::Hit(Some(company)) => {
                    return Need::Have(Realm {
                        company,
                        domain: h.to_ascii_lowercase(),
                    });
                }
                Cached::Hit(None) => {}
            }
        }
        Need::Have(Realm {
            company: DEFAULT_COMPANY,
            domain: self.cfg.own.domain.clone(),
        })
    }

    /// The user named by `ext` in the realm's company.
    fn user(&mut self, company: i64, ext: &str, now: Instant) -> Need<Option<SipUser>> {
        match self.cache.user(company, ext, now) {
            Cached::Hit(u) => Need::Have(u),
            Cached::Miss(id) => Need::Lookup(id),
        }
    }

    /// Challenges `req` with the algorithms its user's credential and flow call for (the
    /// user is looked up first; an unknown one gets the transport's default).
    #[allow(clippy::too_many_arguments)]
    fn challenge(
        &mut self,
        key: TxKey,
        req: Request,
        flow: FlowId,
        who: Challenger,
        stale: bool,
        realm: &Realm,
        now: Instant,
    ) {
        let ext = if req.method == Method::Register {
            req.to_user_host().and_then(|(u, _)| u)
        } else {
            req.from_user_host().and_then(|(u, _)| u)
        };
        let chosen = match ext {
            Some(ext) => {
                let user = park_or!(
                    self,
                    self.user(realm.company, ext, now),
                    key,
                    req,
                    flow,
                    Stage::Fresh,
                    now
                );
                user.and_then(|u| u.digest)
            }
            None => None,
        };
        let algorithms = auth::offer(chosen, self.flows.transport_of(flow));
        let (salt, tag) = (self.rng.next_u64(), self.rng.token(10));
        let resp = self
            .auth
            .challenge(&req, who, stale, realm, algorithms, salt, &tag, now);
        // Stateless for everything but INVITE: no Timer J state for a 401; a retransmitted
        // request just gets a fresh challenge.
        self.tx.send_response_stateless(&key, resp, now);
    }

    /// Authenticates `req` (credentials in `who`'s header): `Ok(Some(..))` when it may go on,
    /// `Ok(None)` when it was answered (challenged or refused), `Err` when it was parked.
    fn authenticate(
        &mut self,
        key: &TxKey,
        req: &Request,
        flow: FlowId,
        who: Challenger,
        realm: &Realm,
        now: Instant,
    ) -> Result<Option<(SipUser, bool)>, LookupId> {
        let peer = self.flows.peer_ip(flow);
        let Some(presented): Option<Presented> =
            self.auth.presented(req, who.answer_header(), realm)
        else {
            self.challenge(key.clone(), req.clone(), flow, who, false, realm, now);
            return Ok(None);
        };
        if self.auth.blocked(&presented, peer, realm, now) {
            self.refuse_blocked(key, req, now);
            return Ok(None);
        }
        // The digest covers the Request-URI it names (RFC 7616 3.4.6): credentials computed
        // for another request are not accepted for this one.
        let names_us =
            |u: &Uri| self.flows.names_us(u) || u.host.eq_ignore_ascii_case(&realm.domain);
        if !auth::digest_uri_matches(&presented.creds.uri, &req.uri, names_us) {
            info!(user = %presented.ext, %peer, "digest uri does not name the Request-URI");
            self.challenge(key.clone(), req.clone(), flow, who, false, realm, now);
            return Ok(None);
        }
        let user = match self.user(realm.company, &presented.ext, now) {
            Need::Have(u) => u,
            Need::Lookup(id) => return Err(id),
        };
        let unix_now = self.unix_now(now);
        match self
            .auth
            .verify(req, &presented, user, peer, realm, now, unix_now)
        {
            Verdict::Ok { user, app } => Ok(Some((*user, app))),
            Verdict::Challenge { stale } => {
                self.challenge(key.clone(), req.clone(), flow, who, stale, realm, now);
                Ok(None)
            }
            Verdict::Blocked => {
                self.refuse_blocked(key, req, now);
                Ok(None)
            }
        }
    }

    fn refuse_blocked(&mut self, key: &TxKey, req: &Request, now: Instant) {
        self.reply(
            key,
            req,
            403,
            "Forbidden (too many failed attempts; try again later)",
            now,
        );
    }

    fn on_register(&mut self, key: TxKey, req: Request, flow: FlowId, now: Instant) {
        let realm = park_or!(
            self,
            self.realm_of(&req, now),
            key,
            req,
            flow,
            Stage::Fresh,
            now
        );
        let (user, app) =
            match self.authenticate(&key, &req, flow, Challenger::Registrar, &realm, now) {
                Ok(Some(u)) => u,
                Ok(None) => return,
                Err(id) => return self.park(id, key, req, flow, Stage::Fresh, now),
            };
        let aor = AorKey::new(user.company_id, &user.ext);
        // A device credential registers under its own user name (so that renumbering the
        // extension does not break the phone's configuration) or the extension.
        let to_user = req.to_user_host().and_then(|(u, _)| u);
        if to_user != Some(user.ext.as_str()) && to_user != user.login.as_deref() {
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
        let star = req.headers.all("Contact").any(|c| c.trim() == "*");
        if star {
            if req.headers.all("Contact").count() != 1 || default_expires != 0 {
                self.reply(
                    &key,
                    &req,
                    400,
                    "Bad Request (Contact: * needs Expires: 0 and no other contact)",
                    now,
                );
                return;
            }
            self.location.remove_where(&aor, &mut self.flows, |_| true);
            info!(ext = %user.ext, "all registrations removed");
        }
        let source = self.flows.get(flow).map(|f| (f.peer, f.transport));
        let Some((peer, transport)) = source else {
            return;
        };
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
            let is_outbound = reg_id.is_some() && instance.is_some();
            outbound |= is_outbound;
            let bkey: Box<str> = match (&instance, &reg_id) {
                (Some(i), Some(r)) => format!("{i}#{r}").into(),
                (Some(i), None) => i.as_str().into(),
                _ => contact.uri.address_key().into(),
            };
            if expires == 0 {
                if self.location.remove(&aor, &bkey, &mut self.flows) {
                    info!(ext = %user.ext, "registration removed");
                }
                continue;
            }
            if expires < MIN_EXPIRES {
                return self.too_brief(&key, &req, MIN_EXPIRES, now);
            }
            let target = match location::reach(&contact, peer, transport, is_outbound) {
                Reach::Source => flow,
                Reach::Contact(addr) => {
                    let (f, new) = self.flows.udp_flow(addr, now);
                    if new {
                        self.timers.arm(now + UDP_FLOW_IDLE_MS, Timer::FlowIdle(f));
                    }
                    f
                }
            };
            let mut stored = contact.clone();
            stored.params.remove("expires");
            let binding = Binding {
                contact: stored.to_string().into_boxed_str(),
                flow: target,
                key: bkey,
                expires_at: now + u64::from(expires.min(MAX_EXPIRES)) * 1000,
                app,
                user_agent: req
                    .headers
                    .get("User-Agent")
                    .map(|ua| ua.chars().filter(|c| !c.is_control()).take(200).collect()),
                login: user.login.clone(),
                since: now,
                seen: now,
            };
            let existed = self
                .location
                .bindings(&aor)
                .iter()
                .any(|b| b.key == binding.key);
            if !existed
                && self
                    .removed
                    .is_removed(&aor, &binding.key, user.login.as_deref(), now)
            {
                self.reply(
                    &key,
                    &req,
                    403,
                    "Forbidden (this device was removed from the account)",
                    now,
                );
                return;
            }
            let kept = || {
                user.locked_devices.iter().any(|d| {
                    **d == *device_id(&binding.key)
                        || binding
                            .login
                            .as_deref()
                            .is_some_and(|l| d.strip_prefix("login:") == Some(l))
                })
            };
            if !existed && user.locked && !kept() {
                self.reply(
                    &key,
                    &req,
                    403,
                    "Forbidden (the extension is locked: no new devices may be added)",
                    now,
                );
                return;
            }
            match self.location.upsert(&aor, binding, &mut self.flows) {
                Ok(arm) => {
                    if !existed {
                        info!(ext = %user.ext, %flow, devices = self.location.bindings(&aor).len(), "registered");
                    }
                    if let Some(at) = arm {
                        self.timers.arm(at, Timer::Bindings(aor.clone()));
                    }
                }
                Err(location::Refused::TooManyDevices) => {
                    let reason =
                        format!("Forbidden (at most {MAX_BINDINGS} devices per extension)");
                    self.reply(&key, &req, 403, &reason, now);
                    return;
                }
            }
        }
        self.presence_changed(std::slice::from_ref(&aor), now);
        let mut ok = req.response(200, "OK");
        ok.set_to_tag(&self.rng.token(10));
        for b in self.location.bindings(&aor) {
            ok.headers.push("Contact", b.contact_with_expires(now));
        }
        if outbound {
            ok.headers.push("Require", "outbound");
        }
        ok.headers.push("Supported", "outbound, path");
        self.respond(&key, ok, now);
    }

    fn on_initial(&mut self, key: TxKey, req: Request, flow: FlowId, stage: Stage, now: Instant) {
        let caller = match stage {
            Stage::Authenticated(c) => *c,
            Stage::Fresh => {
                let realm = park_or!(
                    self,
                    self.realm_of(&req, now),
                    key,
                    req,
                    flow,
                    Stage::Fresh,
                    now
                );
                let (peer, transport) = (self.flows.peer_ip(flow), self.flows.transport_of(flow));
                if is_trusted(&self.cfg.trusted, peer, transport) {
                    Caller::Trunk {
                        from: req.from().and_then(|f| f.uri.user).unwrap_or_default(),
                    }
                } else {
                    match self.authenticate(&key, &req, flow, Challenger::Proxy, &realm, now) {
                        Ok(Some((user, _))) => Caller::User {
                            user: Box::new(user),
                            realm,
                        },
                        Ok(None) => return,
                        Err(id) => return self.park(id, key, req, flow, Stage::Fresh, now),
                    }
                }
            }
        };
        let (company, identity, caller_ext) = match &caller {
            Caller::User { user, realm } => (
                Some(user.company_id),
                Identity::Assert(asserted_identity(user, &realm.domain)),
                user.ext.clone(),
            ),
            Caller::Trunk { from } => (None, Identity::Keep, from.clone()),
        };
        let caller_name = match &caller {
            Caller::User { user, .. } => Some(user.name.clone()),
            Caller::Trunk { .. } => None,
        };
        let caller_aor = match &caller {
            Caller::User { user, .. } => Some(AorKey::new(user.company_id, &user.ext)),
            Caller::Trunk { .. } => None,
        };
        let login = match &caller {
            Caller::User { user, .. } => user.login.as_deref(),
            Caller::Trunk { .. } => None,
        };
        let from_user = req.from().and_then(|f| f.uri.user);
        if from_user.as_deref() != Some(caller_ext.as_str()) && from_user.as_deref() != login {
            self.reply(
                &key,
                &req,
                403,
                "Forbidden (From does not match your extension)",
                now,
            );
            return;
        }
        let dialled = match &caller {
            Caller::Trunk { .. } => self.trunk_dialled(&req, flow),
            Caller::User { .. } => req.uri.user.clone(),
        };
        let Some(dialled) = dialled else {
            self.reply(&key, &req, 404, "Not Found", now);
            return;
        };
        let stage = Stage::Authenticated(Box::new(caller));
        let host_company = match self.cache.domain(&req.uri.host, now) {
            Cached::Hit(c) => c,
            Cached::Miss(id) => return self.park(id, key, req, flow, stage, now),
        };
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
        // Presence is served here, not by the devices: SUBSCRIBE to a colleague or the
        // directory, and PUBLISH of one's own status.
        if matches!(req.method, Method::Subscribe | Method::Publish) {
            let served = req.method == Method::Publish
                || req
                    .headers
                    .get("Event")
                    .and_then(presence::EventKind::from_header)
                    .is_some();
            if served {
                let user_realm = match &stage {
                    Stage::Authenticated(c) => match &**c {
                        Caller::User { user, realm } => Some((user, realm)),
                        Caller::Trunk { .. } => None,
                    },
                    Stage::Fresh => None,
                };
                let Some((user, realm)) = user_realm else {
                    self.reply(
                        &key,
                        &req,
                        403,
                        "Forbidden (presence is for colleagues)",
                        now,
                    );
                    return;
                };
                let (user, domain) = (user.clone(), realm.domain.clone());
                if req.method == Method::Publish {
                    self.on_publish(&key, &req, &user, now);
                } else {
                    self.on_subscribe(&key, &req, flow, &user, &domain, &stage, now);
                }
                return;
            }
        }
        // The short code for one's own voicemail box: the voicemail service plays the new
        // messages (only for the authenticated owner: the box is the caller's own). The
        // other code opens a box of the caller's company with its PIN (the service asks).
        let login = dialled == forward::VOICEMAIL_LOGIN_CODE;
        if req.method == Method::Invite && (dialled == forward::VOICEMAIL_CODE || login) {
            let Some(owner) = caller_aor.clone() else {
                self.reply(
                    &key,
                    &req,
                    403,
                    "Forbidden (voicemail is for employees)",
                    now,
                );
                return;
            };
            let uri = forward::listen_uri(&owner, login);
            return self.listen_to_voicemail(key, req, flow, uri, &identity, now);
        }
        let (resolved, group) = match routing::resolve(&mut self.cache, company, &dialled, now) {
            Cached::Miss(id) => return self.park(id, key, req, flow, stage, now),
            Cached::Hit(Some(routing::Resolved::Group { company, members })) => {
                (None, Some((company, members)))
            }
            Cached::Hit(r) => (r.and_then(routing::Resolved::person), None),
        };
        let mut req = req;
        // Every screen can show the caller's name from the directory, not only a number:
        // the From display name is the authenticated caller's (tag and URI untouched).
        if let Some(name) = &caller_name
            && let Some(mut from) = req.from()
        {
            let name: String = name.chars().filter(|c| !c.is_control()).collect();
            if from.display.as_deref() != Some(name.as_str()) {
                from.display = (!name.trim().is_empty()).then_some(name);
                req.headers.set("From", from.to_string());
            }
        }
        let record = (req.method == Method::Invite).then(|| CallRecord {
            company: company
                .or(resolved.as_ref().map(|a| a.company))
                .or(group.as_ref().map(|(c, _)| *c))
                .unwrap_or(DEFAULT_COMPANY),
            sip_call_id: req.call_id().unwrap_or_default().to_string(),
            caller_ext: caller_aor.as_ref().map(|_| caller_ext.clone()),
            caller_number: caller_ext.clone(),
            caller_name: caller_name.clone(),
            dialled: dialled.clone(),
            callee_ext: resolved.as_ref().map(|a| a.ext.to_string()),
            callee_name: None,
            started_ms: self.unix_ms(now),
            answered_ms: None,
            ended_ms: 0,
            outcome: Outcome::Missed,
            status: None,
            answered_device: None,
            diverted_from: None,
            diversion: None,
        });
        if let Some((_, members)) = group {
            // The company's main number rings a group: its members at once, the first to
            // answer takes the call (and it appears in their history).
            let Some(record) = record else {
                self.reply(
                    &key,
                    &req,
                    404,
                    "Not Found (the main number takes calls only)",
                    now,
                );
                return;
            };
            let mut route = Route::new(HashMap::default());
            let decision = route.enter_group(members, &self.world(flow, now));
            let fwd = Forwarding {
                route,
                identity: identity.clone(),
                rung: Vec::new(),
                rest_at: None,
                no_answer_at: now,
                refuse: None,
                domain: req.uri.host.to_ascii_lowercase(),
            };
            self.start_proxy(
                key,
                req,
                flow,
                decision,
                Some(Box::new(fwd)),
                &identity,
                &caller_ext,
                Some((record, caller_aor)),
                now,
            );
            return;
        }
        let Some(aor) = resolved else {
            // A number outside the company, from an employee: to the phone network through
            // the trunks, if their permission allows (`trunk::call_out`).
            let outside = match &stage {
                Stage::Authenticated(c) => match &**c {
                    Caller::User { user, .. } => crate::numbering::parse(&dialled)
                        .ok()
                        .map(|d| (d, (*user.outside).clone())),
                    Caller::Trunk { .. } => None,
                },
                Stage::Fresh => None,
            };
            let (status, reason) = match outside {
                Some((d, policy)) if req.method == Method::Invite => {
                    return self.call_out(
                        key, req, flow, d, &policy, record, caller_aor, &identity, now,
                    );
                }
                Some(_) => (403, "Forbidden (only calls go to the phone network)"),
                None => (404, "Not Found (no such extension)"),
            };
            self.reply(&key, &req, status, reason, now);
            self.record_refused(record, status, now);
            return;
        };
        let call = record.map(|r| (r, caller_aor));
        let Some((record, caller_aor)) = call else {
            // Not a call (MESSAGE, OPTIONS, a SUBSCRIBE for a device): every device of the
            // extension, no forwarding.
            let d = Decision::Ring {
                who: Ringing::Person(aor),
                ring_ms: RING_TIMEOUT_MS,
                first_only: None,
            };
            self.start_proxy(key, req, flow, d, None, &identity, &caller_ext, None, now);
            return;
        };
        if req.headers.get("Replaces").is_some() {
            // An attended transfer's INVITE (RFC 3891) is for the device in the dialog it
            // replaces: no forwarding, no ring strategy (see `ring`).
            let d = Decision::Ring {
                who: Ringing::Person(aor),
                ring_ms: RING_TIMEOUT_MS,
                first_only: None,
            };
            let call = Some((record, caller_aor));
            self.start_proxy(key, req, flow, d, None, &identity, &caller_ext, call, now);
            return;
        }
        let people = match self.people_for(&aor, now) {
            Ok(p) => p,
            Err(id) => return self.park(id, key, req, flow, stage, now),
        };
        let mut route = Route::new(people);
        let decision = route.enter(aor.clone(), &self.world(flow, now));
        let fwd = Forwarding {
            route,
            identity: identity.clone(),
            rung: Vec::new(),
            rest_at: None,
            no_answer_at: now,
            refuse: None,
            domain: req.uri.host.to_ascii_lowercase(),
        };
        self.start_proxy(
            key,
            req,
            flow,
            decision,
            Some(Box::new(fwd)),
            &identity,
            &caller_ext,
            Some((record, caller_aor)),
            now,
        );
    }

    /// A request with a To tag: forwarded only inside a dialog we record-routed, from one of
    /// its two sides to the other (never to an address a Request-URI names). Anything else is
    /// 481, or 403 from a flow that is not a side of the dialog it names.
    fn on_in_dialog(&mut self, key: TxKey, req: Request, flow: FlowId, now: Instant) {
        let route = match self.dialogs.route(&req, flow, now) {
            Ok(r) => r,
            Err(Refusal::Unknown) => {
                debug!(%flow, method = %req.method, "in-dialog request for no dialog of ours");
                self.reply(&key, &req, 481, "Call/Transaction Does Not Exist", now);
                return;
            }
            Err(Refusal::NotASide) => {
                warn!(%flow, method = %req.method, peer = %self.flows.peer_ip(flow), "in-dialog request from a flow that is not a side of the dialog");
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
        if req.method == Method::Refer
            && let Err((status, reason)) = refer_stays_in_company(&req)
        {
            info!(%flow, refer_to = ?req.headers.get("Refer-To"), "transfer out of the company refused");
            self.reply(&key, &req, status, reason, now);
            return;
        }
        let identity = if self.trusted_flow(flow) {
            Identity::Keep
        } else {
            Identity::Strip
        };
        let ends = req.method == Method::Bye;
        let uri = req.uri.clone();
        let bkey = self.forward(&req, uri, flow, route.to, false, &identity, now);
        let mut ctx = Ctx::new(
            req,
            flow,
            Kind::InDialog {
                dialog: route.id,
                ends,
            },
        );
        ctx.branches.push(Branch::new(bkey, route.to));
        self.proxy.insert(key, ctx);
    }

    fn trusted_flow(&self, flow: FlowId) -> bool {
        is_trusted(
            &self.cfg.trusted,
            self.flows.peer_ip(flow),
            self.flows.transport_of(flow),
        )
    }

    /// How many more dialogs `flow` may be a side of.
    fn dialog_room(&self, flow: FlowId) -> usize {
        if Some(flow) == self.voicemail {
            return MAX_DIALOGS_TRUSTED
                .saturating_sub(self.flows.get(flow).map_or(0, |f| f.dialogs.len()));
        }
        dialog_room(&self.flows, &self.cfg.trusted, flow)
    }

    /// Sends a copy of `req` to `uri` on `to` in a new client transaction. With
    /// `record_route`, our Record-Route goes on top; when the request changes transport
    /// (WebSocket in, UDP out, say) we record-route twice, one entry per side (RFC 5658).
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &mut self,
        req: &Request,
        uri: Uri,
        from: FlowId,
        to: FlowId,
        record_route: bool,
        identity: &Identity,
        now: Instant,
    ) -> TxKey {
        self.forward_with(req, uri, from, to, record_route, identity, None, now)
    }

    /// [`Core::forward`], with our own credentials for the next hop (`auth`: a header's
    /// name and value; the caller's are never passed on).
    #[allow(clippy::too_many_arguments)]
    fn forward_with(
        &mut self,
        req: &Request,
        uri: Uri,
        from: FlowId,
        to: FlowId,
        record_route: bool,
        identity: &Identity,
        auth: Option<(&'static str, String)>,
        now: Instant,
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
        if let Some((h, v)) = auth {
            f.headers.push(h, v);
        }
        let (t_in, t_out) = (self.flows.transport_of(from), self.flows.transport_of(to));
        if record_route {
            let (rr_in, rr_out) = (
                self.flows.record_route(t_in),
                self.flows.record_route(t_out),
            );
            if rr_in != rr_out {
                f.headers.push_front("Record-Route", rr_in);
            }
            f.headers.push_front("Record-Route", rr_out);
        }
        let via = self.flows.via(t_out, &self.rng.branch());
        f.headers.push_front("Via", via);
        self.tx.send_request(f, to, t_out.reliable(), now)
    }

    /// The ACK for a 2xx goes end to end within the dialog, from a side of it to the other.
    fn forward_ack(&mut self, mut ack: Request, from: FlowId, now: Instant) {
        self.pop_own_routes(&mut ack);
        // From either side: the caller's for the first INVITE, the callee's for a re-INVITE
        // it sent (hold, a camera turned on); never from a flow that is not a side.
        let to = match self.dialogs.route(&ack, from, now) {
            Ok(r) => r.to,
            Err(_) => {
                debug!(%from, "ACK for no dialog of ours (or not from a side of it) dropped");
                return;
            }
        };
        if !self.trusted_flow(from) {
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
        let via = self
            .flows
            .via(self.flows.transport_of(to), &self.rng.branch());
        ack.headers.push_front("Via", via);
        self.tx.send_stateless(Message::Request(ack), to);
    }

    /// Loose routing (RFC 3261 16.4): our own Route entries are removed.
    fn pop_own_routes(&self, req: &mut Request) {
        while let Some(top) = req
            .headers
            .get("Route")
            .and_then(|r| NameAddr::parse(r).ok())
        {
            if !self.flows.is_us(&top.uri) {
                break;
            }
            req.headers.remove_first("Route");
        }
    }

    fn on_cancel(&mut self, key: TxKey, req: Request, flow: FlowId, now: Instant) {
        let invite_key = key.invite_of_cancel();
        // Only the flow the INVITE came on may cancel it: a branch is no password.
        let pending = self
            .proxy
            .contexts
            .get_mut(&invite_key)
            .filter(|c| c.upstream == flow && !c.final_sent())
            .map(|c| c.cancel(Cancel::ByCaller))
            .is_some();
        if !pending {
            self.reply(&key, &req, 481, "Call/Transaction Does Not Exist", now);
            return;
        }
        self.respond(&key, req.response(200, "OK"), now);
        self.proxy.stop_ringing(&invite_key);
        info!(
            call_id = req.call_id().unwrap_or_default(),
            "call cancelled by the caller"
        );
        self.cancel_branches(&invite_key, now);
    }

    /// CANCELs every branch that has had a provisional; the others are cancelled when theirs
    /// arrives (RFC 3261 9.1).
    fn cancel_branches(&mut self, ctx_key: &TxKey, now: Instant) {
        let Some(ctx) = self.proxy.contexts.get_mut(ctx_key) else {
            return;
        };
        // The other devices show "answered on another device", not a missed call (RFC 3326).
        let elsewhere = ctx.state == State::Answered;
        for (bkey, bflow) in ctx.take_cancellable() {
            if let Some(sent) = self.tx.client_request(&bkey) {
                let mut cancel = cancel_for(sent);
                if elsewhere {
                    cancel
                        .headers
                        .push("Reason", "SIP;cause=200;text=\"Call completed elsewhere\"");
                }
                let reliable = self.flows.transport_of(bflow).reliable();
                self.tx.send_request(cancel, bflow, reliable, now);
            }
        }
    }

    fn on_branch_timeout(&mut self, bkey: TxKey, now: Instant) {
        let Some(skey) = self.proxy.branch_of.get(&bkey).cloned() else {
            return;
        };
        let Some(ctx) = self.proxy.contexts.get(&skey) else {
            return;
        };
        let resp = ctx.request.response(408, "Request Timeout");
        self.on_branch_response(skey, bkey, resp, now);
    }

    fn on_response(&mut self, bkey: TxKey, mut resp: Response, now: Instant) {
        let Some(skey) = self.proxy.branch_of.get(&bkey).cloned() else {
            return;
        };
        resp.headers.remove_first("Via");
        if resp.headers.get("Via").is_none() {
            return;
        }
        self.on_branch_response(skey, bkey, resp, now);
    }

    fn on_branch_response(&mut self, skey: TxKey, bkey: TxKey, resp: Response, now: Instant) {
        let Some(ctx) = self.proxy.contexts.get_mut(&skey) else {
            return;
        };
        let Some(bi) = ctx.branches.iter().position(|b| b.key == bkey) else {
            return;
        };
        let status = resp.status;
        if self.trunk_response(&skey, bi, &resp, now) {
            return;
        }
        let Some(ctx) = self.proxy.contexts.get_mut(&skey) else {
            return;
        };
        let mut ended: Option<Box<str>> = None;
        // Dialogs: a record-routed request's 1xx/2xx with a To tag sets one up; an in-dialog
        // request's answer may end its dialog.
        match &ctx.kind {
            Kind::Initial {
                creates_dialogs: true,
                ..
            } if (101..300).contains(&status) && resp.to_tag().is_some() => {
                let (up, down) = (ctx.upstream, ctx.branches[bi].flow);
                let trusted = &self.cfg.trusted;
                let id = self.dialogs.set_up(
                    &ctx.request,
                    &resp,
                    up,
                    down,
                    &mut self.flows,
                    |flows, f| dialog_room(flows, trusted, f),
                    now,
                );
                if let Some(id) = id
                    && let Kind::Initial { dialogs, .. } = &mut ctx.kind
                {
                    dialogs.push(id);
                }
            }
            // A branch's final refusal ends the early dialog its provisional set up.
            Kind::Initial {
                creates_dialogs: true,
                ..
            } if status >= 300 => {
                if let (Some(call_id), Some(caller_tag), Some(callee_tag)) =
                    (ctx.request.call_id(), ctx.request.from_tag(), resp.to_tag())
                {
                    let id = DialogId {
                        call_id: call_id.into(),
                        caller_tag: caller_tag.into(),
                        callee_tag: callee_tag.into(),
                    };
                    self.dialogs.end_if_early(&id, &mut self.flows);
                }
            }
            Kind::InDialog { dialog, ends }
                if status >= 200
                    && (status == 481 || (*ends && status != 401 && status != 407)) =>
            {
                let id = dialog.clone();
                self.dialogs.end(&id, &mut self.flows);
                ended = Some(id.call_id);
            }
            _ => {}
        }
        let device = (status / 100 == 2).then(|| answering_device(&resp));
        let was_trying = ctx.state == State::Trying;
        let mut step = ctx.on_response(bi, resp);
        // Every device busy or declining: the busy rule may send the call on.
        if was_trying
            && ctx.fwd.is_some()
            && let Some(r) = step.upstream.as_mut()
            && forward::is_busy(r.status)
        {
            match self.reroute(&skey, crate::forwarding::Cause::Busy, now) {
                forward::Rerouted::Ringing => return,
                forward::Rerouted::Refused(status, reason) => {
                    r.status = status;
                    r.reason = reason;
                }
                forward::Rerouted::No => {}
            }
        }
        let Some(ctx) = self.proxy.contexts.get_mut(&skey) else {
            return;
        };
        if step.answered {
            info!(
                call_id = ctx.request.call_id().unwrap_or_default(),
                "call answered"
            );
        }
        let call_id: Option<Box<str>> = (ctx.is_invite()
            && matches!(ctx.kind, Kind::Initial { .. }))
        .then(|| ctx.request.call_id().map(Into::into))
        .flatten();
        // The voicemail service answered (not its bridge for a device: that is the device).
        let by_voicemail = step.answered
            && self.voicemail == Some(ctx.branches[bi].flow)
            && matches!(
                ctx.fwd.as_ref().and_then(|f| f.route.ringing.as_ref()),
                Some(Ringing::Voicemail { .. })
            );
        // A group rings several people: the one whose device answered takes the call.
        let group_answer = match (&ctx.fwd, step.answered) {
            (Some(f), true) => match &f.route.ringing {
                Some(Ringing::Group(members)) => {
                    // The device's flow (a bridged branch answers through the media service).
                    let flow = ctx.branches[bi].device;
                    let by = members
                        .iter()
                        .find(|a| self.location.bindings(a).iter().any(|b| b.flow == flow))
                        .cloned();
                    // No hop: a main number's group (nobody forwarded the call).
                    by.map(|b| (b, f.route.hops.last().map(|h| (h.from.clone(), h.cause))))
                }
                _ => None,
            },
            _ => None,
        };
        let all_done = ctx.all_done();
        let linger = ctx.is_invite() && ctx.state == State::Answered;
        let still_ringing = ctx.state == State::Trying;
        if !still_ringing {
            self.proxy.stop_ringing(&skey);
        }
        if let Some(r) = step.upstream {
            let final_status = r.status;
            self.respond(&skey, r, now);
            if let Some(call_id) = &call_id {
                if step.answered {
                    if let Some((by, hop)) = group_answer {
                        let changed = match hop {
                            Some((from, cause)) => {
                                self.calls.retarget(call_id, Some(by), &from, cause)
                            }
                            None => self.calls.assign(call_id, by),
                        };
                        self.calls_changed(&changed, now);
                    }
                    let unix = self.unix_ms(now);
                    if let Some(callee) = self.calls.answered(call_id, unix, device.flatten()) {
                        self.calls_changed(&[callee], now);
                    }
                    if by_voicemail {
                        self.calls.to_voicemail(call_id);
                    }
                } else if final_status >= 300 {
                    self.end_call(call_id, Some(final_status), now);
                }
            }
        }
        if step.cancel_rest {
            self.cancel_branches(&skey, now);
        }
        if let Some(call_id) = ended {
            self.end_call(&call_id, None, now);
        }
        if all_done {
            if linger {
                self.timers
                    .arm(proxy::linger_until(now), Timer::Linger(skey));
            } else {
                self.drop_ctx(&skey, now);
            }
        }
    }

    /// Forgets a finished request's context; the early dialogs it set up that no 2xx
    /// confirmed end with it.
    fn drop_ctx(&mut self, skey: &TxKey, now: Instant) {
        if let Some(ctx) = self.proxy.remove(skey)
            && let Kind::Initial { dialogs, .. } = ctx.kind
        {
            for id in dialogs {
                self.dialogs.end_if_early(&id, &mut self.flows);
            }
            // The caller went away before any answer: nobody hears of it, but it ended.
            if ctx.request.method == Method::Invite
                && let Some(call_id) = ctx.request.call_id()
                && !self.calls.is_answered(call_id)
            {
                let status = ctx.best.as_ref().map(|r| r.status);
                self.end_call(call_id, status, now);
            }
        }
    }

    fn on_closed(&mut self, flow: FlowId, now: Instant) {
        let Some(f) = self.flows.get(flow) else {
            return;
        };
        debug!(%flow, peer = %f.peer, "connection closed");
        let dialogs: Vec<DialogId> = f.dialogs.clone();
        for id in dialogs {
            self.dialogs.end(&id, &mut self.flows);
            self.end_call(&id.call_id, None, now);
        }
        let aors = self
            .flows
            .get_mut(flow)
            .map(|f| std::mem::take(&mut f.aors))
            .unwrap_or_default();
        self.location.flow_closed(flow, &aors);
        self.subscriptions_closed(flow);
        for aor in &aors {
            info!(aor = %aor, "registration removed: connection closed");
        }
        self.presence_changed(&aors, now);
        self.flows.close(flow);
        self.tx.flow_closed(|f| *f == flow);
        self.process(now);
        for key in self.proxy.waiting_on(flow) {
            if let Some(ctx) = self.proxy.contexts.get_mut(&key) {
                ctx.cancel(Cancel::CallerGone);
            }
            self.proxy.stop_ringing(&key);
            self.cancel_branches(&key, now);
        }
    }

    fn on_account_changed(&mut self, company: i64, ext: &str, drop: Registrations, now: Instant) {
        self.cache.account_changed(company, ext);
        // The store's word on a suspension counts from now on (an administrator lifted it).
        self.suspended.remove(&AorKey::new(company, ext));
        if drop == Registrations::Keep {
            return;
        }
        let aor = AorKey::new(company, ext);
        let app_only = drop == Registrations::App;
        let app_flows: Vec<FlowId> = self
            .location
            .bindings(&aor)
            .iter()
            .filter(|b| b.app)
            .map(|b| b.flow)
            .collect();
        self.location
            .remove_where(&aor, &mut self.flows, |b| b.app || !app_only);
        self.presence_changed(std::slice::from_ref(&aor), now);
        info!(
            company,
            ext, app_only, "account changed: registrations removed"
        );
        for flow in app_flows {
            if !flow.is_udp() {
                self.out.push_back(Output::Close { flow });
            }
        }
    }
}

/// How many more dialogs `flow` may be a side of (a trusted peer's flow holds many).
fn dialog_room(flows: &Flows, trusted: &[TrustedPeer], flow: FlowId) -> usize {
    let Some(f) = flows.get(flow) else {
        return 0;
    };
    let max = if is_trusted(trusted, f.peer.ip(), f.transport) {
        MAX_DIALOGS_TRUSTED
    } else {
        MAX_DIALOGS_PER_FLOW
    };
    max.saturating_sub(f.dialogs.len())
}

/// The `P-Asserted-Identity` (RFC 3325) for an authenticated caller: the directory's name and
/// the extension in the company's domain. Quotes and backslashes in the name are escaped.
/// Which device answered: its User-Agent (or Server), else its Contact; at most 200 bytes.
fn answering_device(resp: &Response) -> Option<String> {
    let v = resp
        .headers
        .get("User-Agent")
        .or_else(|| resp.headers.get("Server"))
        .or_else(|| resp.headers.get("Contact"))?;
    let mut s: String = v.trim().chars().filter(|c| !c.is_control()).collect();
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    (!s.is_empty()).then_some(s)
}

fn asserted_identity(user: &SipUser, domain: &str) -> String {
    let mut name = String::new();
    for c in user.name.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            name.push('\\');
        }
        name.push(c);
    }
    if name.trim().is_empty() {
        format!("<sip:{}@{domain}>", user.ext)
    } else {
        format!("\"{name}\" <sip:{}@{domain}>", user.ext)
    }
}

/// Hides credentials in logged messages.
pub fn redact(text: &str) -> String {
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
    let Some(top) = req.headers.get("Via") else {
        return;
    };
    // The usual case: checked and edited as text, without building the Via.
    match Via::with_received(top, peer.ip(), peer.port()) {
        Some(Some(marked)) => {
            req.headers.replace_first("Via", marked);
            return;
        }
        Some(None) => return,
        None => {}
    }
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

#[cfg(test)]
mod tests;

/// A REFER within a call may only send the far end to someone of the same company: the
/// Refer-To is a `sip:`/`sips:` address at the domain of the dialog's From or To (the
/// company's). Anything else (another domain, a `tel:` or `http:` URI) is refused here, as
/// such a call would be.
fn refer_stays_in_company(req: &Request) -> Result<(), (u16, &'static str)> {
    const OUTSIDE: (u16, &str) = (
        403,
        "Forbidden (calls can only be transferred to people of this company)",
    );
    let mut targets = req.headers.all("Refer-To");
    let (Some(target), None) = (targets.next(), targets.next()) else {
        return Err((400, "Bad Request (one Refer-To is required)"));
    };
    let Ok(target) = NameAddr::parse(target.trim()) else {
        return Err(OUTSIDE);
    };
    if !matches!(target.uri.scheme.as_str(), "sip" | "sips") {
        return Err(OUTSIDE);
    }
    let host = target.uri.host.to_ascii_lowercase();
    let ours = [req.from(), req.to()]
        .into_iter()
        .flatten()
        .any(|a| a.uri.host.eq_ignore_ascii_case(&host));
    if ours { Ok(()) } else { Err(OUTSIDE) }
}

#[cfg(test)]
mod tests_routing;
#[cfg(test)]
mod tests_trunk;
