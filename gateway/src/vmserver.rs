//! The voicemail service: the media plane's first user. It is a SIP endpoint inside the
//! gateway, connected to the core like a device on a stream connection (the core sends it
//! the calls of voicemail rules, [`crate::core::Input::Voicemail`]). Each call gets its own
//! task: a user agent (the same sans-IO one the web app runs), one UDP socket from the
//! media port range, a media leg (WebRTC for a browser, plain RTP for a desk phone) and the
//! answering machine ([`centrala_media::Answering`]): greeting, tone, message. The message
//! is stored as an 8 kHz WAV file with its row, and mailed to its owner.
//!
//! The request URI says whose box and why (`sip:EXT@voicemail.invalid;company=ID;cause=..`,
//! made by the core). Nothing else reaches this connection.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use centrala_media::audio::{self, FRAME};
use centrala_media::sdp::Origin;
use centrala_media::{
    Answering, AnsweringConfig, Codec, LegEvent, LegOutput, Phase, PortPool, PortRange, RtpHeader,
    RtpLeg, RtpLegConfig, WebRtcConfig, WebRtcLeg,
};
use centrala_sip::message::{Message, Method, SipMessage, parse_datagram};
use centrala_sip::ua::{CallHandle, Event, UaConfig, UserAgent};
use futures_util::StreamExt;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::driver::{ConnId, CoreInput, ToConn};
use crate::mail::Lang;
use crate::mailqueue::{Attachment, MailQueue, Outgoing};
use crate::store::Store;
use crate::voicemail::{
    NewVoicemail, Situation, SpooledVoicemail, builtin_greeting, builtin_login_prompts,
    builtin_prompts,
};
use centrala_media::mailbox::{Action, Listener, Login, LoginAction, LoginPrompts, Prompts};

/// Where media is served and how long a silent leg lives.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The address in our SDP and the one the media sockets bind (`--media-address`).
    pub address: IpAddr,
    /// `--media-ports`.
    pub ports: PortRange,
    /// A leg with no media this long is ended (`--media-timeout`).
    pub timeout: Duration,
    /// Message limits (`--voicemail-max`).
    pub answering: AnsweringConfig,
}

mod bridge;

/// Where the messages of each Call-ID go (a bridged call has two).
type Routes = Mutex<HashMap<String, mpsc::UnboundedSender<Box<str>>>>;

/// What every call's task shares.
struct Shared {
    cfg: MediaConfig,
    conn: ConnId,
    core: mpsc::Sender<CoreInput>,
    store: Store,
    mail: MailQueue,
    ports: Mutex<PortPool>,
    /// The web app's address, for the link in the mail.
    public_url: String,
    routes: Routes,
    /// Wrong PINs per box, against guessing (see [`PinGuard`]).
    pins: Mutex<PinGuard>,
    /// One delivery of spooled messages at a time (a call's own and the retries'), so an
    /// entry is never stored twice.
    delivering: tokio::sync::Mutex<()>,
}

impl Shared {
    /// A socket on a free media port (a few tries: another program may hold one).
    fn bind(&self) -> Option<(UdpSocket, u16)> {
        for _ in 0..4 {
            let port = self.ports.lock().ok()?.allocate().ok()?;
            let addr = SocketAddr::new(self.cfg.address, port);
            match std::net::UdpSocket::bind(addr)
                .and_then(|s| s.set_nonblocking(true).map(|_| s))
                .and_then(UdpSocket::from_std)
            {
                Ok(s) => return Some((s, port)),
                Err(e) => {
                    warn!(%addr, error = %e, "media port taken: trying another");
                    self.release(port);
                }
            }
        }
        None
    }

    fn release(&self, port: u16) {
        if let Ok(mut p) = self.ports.lock() {
            let _ = p.release(port);
        }
    }

    /// Sends a message to the core on the service's connection.
    async fn send(&self, message: Message) {
        let _ = self
            .core
            .send(CoreInput::Message {
                conn: self.conn,
                message,
            })
            .await;
    }
}

/// Wrong PINs keyed for each box `(company, extension)`, against guessing: after
/// [`PinGuard::MAX_FAILURES`] wrong PINs within [`PinGuard::WINDOW`] the box opens to no PIN
/// until the window (from its first wrong PIN) is over. A right PIN clears the count. One
/// call has three tries (`mailbox::LOGIN_TRIES`); calling again does not reset this.
#[derive(Debug, Default)]
struct PinGuard {
    failures: HashMap<(i64, String), (u32, Instant)>,
}

impl PinGuard {
    const MAX_FAILURES: u32 = 5;
    const WINDOW: Duration = Duration::from_secs(15 * 60);

    /// Is the box locked now?
    fn locked(&mut self, key: &(i64, String), now: Instant) -> bool {
        self.expire(now);
        self.failures
            .get(key)
            .is_some_and(|(n, _)| *n >= Self::MAX_FAILURES)
    }

    /// A wrong PIN; `true` when this one locked the box.
    fn failure(&mut self, key: (i64, String), now: Instant) -> bool {
        self.expire(now);
        let entry = self.failures.entry(key).or_insert((0, now));
        entry.0 += 1;
        entry.0 == Self::MAX_FAILURES
    }

    fn success(&mut self, key: &(i64, String)) {
        self.failures.remove(key);
    }

    fn expire(&mut self, now: Instant) {
        self.failures
            .retain(|_, (_, first)| now.saturating_duration_since(*first) < Self::WINDOW);
    }
}

/// Connects the service to the core and serves it until the core goes away.
pub async fn start(
    cfg: MediaConfig,
    conn: ConnId,
    core: mpsc::Sender<CoreInput>,
    store: Store,
    mail: MailQueue,
    public_url: String,
) -> anyhow::Result<()> {
    let (tx, rx) = futures_channel::mpsc::unbounded::<ToConn>();
    let shared = Arc::new(Shared {
        ports: Mutex::new(PortPool::new(cfg.ports)),
        cfg,
        conn,
        core: core.clone(),
        store,
        mail,
        public_url,
        routes: Mutex::new(HashMap::new()),
        pins: Mutex::new(PinGuard::default()),
        delivering: tokio::sync::Mutex::new(()),
    });
    core.send(CoreInput::Voicemail { conn, sender: tx })
        .await
        .map_err(|_| anyhow::anyhow!("the core is not running"))?;
    info!(address = %shared.cfg.address, ports = %shared.cfg.ports, "voicemail service ready");
    tokio::spawn(redeliver(shared.clone()));
    tokio::spawn(dispatch(rx, shared));
    Ok(())
}

/// The task a message from the core is for. A call's first INVITE (and its CANCEL and ACK)
/// by Call-ID and kind: one call may reach the service twice, a branch bridged to a device
/// being cancelled while another goes to voicemail. Everything else by the host of the
/// user agent it is for: in its request URI (our Contact) or its response's top Via.
fn route_key(msg: &Message) -> Option<String> {
    let call_id = msg.headers().get("Call-ID")?;
    match msg {
        // One task per bridged branch: a call that rings several devices (a group, a person
        // with two browsers) reaches the service once per device, with the same Call-ID.
        // The parameter names the device's flow; the branch's CANCEL (and the ACK of a
        // refusal) carry the same request URI.
        Message::Request(r) if r.uri.params.has(crate::core::BRIDGE_PARAM) => {
            let flow = r
                .uri
                .params
                .get(crate::core::BRIDGE_PARAM)
                .flatten()
                .unwrap_or("");
            Some(format!("b:{flow}:{call_id}"))
        }
        Message::Request(r) if r.uri.host == "voicemail.invalid" => Some(format!("v:{call_id}")),
        Message::Request(r) => Some(format!("h:{}", r.uri.host)),
        Message::Response(r) => {
            let via = r.headers.get("Via")?;
            let sent_by = via.split_whitespace().nth(1)?;
            let host = sent_by.split([';', ':']).next()?;
            Some(format!("h:{host}"))
        }
    }
}

impl Shared {
    /// Tells the core that `owner`'s box changed (message-waiting NOTIFYs follow).
    async fn mailbox_changed(&self, owner: &Owner) {
        let _ = self
            .core
            .send(CoreInput::MailboxChanged {
                company: owner.company,
                ext: owner.ext.clone(),
            })
            .await;
    }

    /// Messages for `key` go nowhere any more.
    fn unalias(&self, key: &str) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        routes.remove(key);
    }

    /// Messages for `key` go where those for `existing` go.
    fn alias(&self, existing: &str, key: String) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = routes.get(existing).cloned() {
            routes.insert(key, tx);
        }
    }
}

/// Routes what the core sends to each call's task ([`route_key`]); a new INVITE starts one.
async fn dispatch(mut rx: futures_channel::mpsc::UnboundedReceiver<ToConn>, shared: Arc<Shared>) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Vec<String>>();
    loop {
        tokio::select! {
            m = rx.next() => {
                let Some(ToConn::Sip(text)) = m else { break };
                let Ok(msg) = parse_datagram(text.as_bytes()) else {
                    warn!("voicemail: unparsable message from the core");
                    continue;
                };
                let Some(key) = route_key(&msg) else { continue };
                {
                    let mut routes = shared.routes.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(tx) = routes.get(&key) {
                        if tx.send(text.clone()).is_ok() {
                            continue;
                        }
                        routes.remove(&key);
                    }
                }
                match msg {
                    Message::Request(req) if req.method == Method::Invite && req.to_tag().is_none() => {
                        let (tx, rx) = mpsc::unbounded_channel();
                        if req.uri.params.has(crate::core::BRIDGE_PARAM) {
                            let _ = tx.send(text);
                            shared.routes.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone(), tx);
                            tokio::spawn(bridge::call(shared.clone(), req, key, rx, done_tx.clone()));
                            continue;
                        }
                        let Some(owner) = Owner::of(&req.uri) else {
                            reply(&shared, &req, 404, "Not Found (no such voicemail box)").await;
                            continue;
                        };
                        let _ = tx.send(text);
                        shared.routes.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone(), tx);
                        tokio::spawn(call(shared.clone(), owner, key, rx, done_tx.clone()));
                    }
                    Message::Request(req) if req.method != Method::Ack => {
                        reply(&shared, &req, 481, "Call/Transaction Does Not Exist").await;
                    }
                    _ => {}
                }
            }
            Some(ids) = done_rx.recv() => {
                let mut routes = shared.routes.lock().unwrap_or_else(|e| e.into_inner());
                for id in ids {
                    routes.remove(&id);
                }
            }
        }
    }
    warn!("voicemail service: the core closed its connection");
}

async fn reply(shared: &Shared, req: &centrala_sip::message::Request, status: u16, reason: &str) {
    shared
        .send(Message::Response(req.response(status, reason)))
        .await;
}

/// Whose box a call is for, from the request URI.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    company: i64,
    ext: String,
    situation: Situation,
    /// The owner listens to their own box (the short code), nobody leaves a message.
    listen: bool,
    /// The caller logs in to a box of the company with its PIN (the other short code);
    /// `ext` is the caller's own, for the language.
    login: bool,
}

impl Owner {
    fn of(uri: &centrala_sip::message::Uri) -> Option<Owner> {
        if uri.host != "voicemail.invalid" {
            return None;
        }
        let company = uri.params.value("company")?.parse().ok()?;
        let situation = match uri.params.value("cause").unwrap_or("") {
            "busy" => Situation::Busy,
            "no_answer" => Situation::NoAnswer,
            "offline" => Situation::Offline,
            _ => Situation::Default,
        };
        Some(Owner {
            company,
            ext: uri.user.clone()?,
            situation,
            listen: uri.params.value("mode") == Some("listen"),
            login: uri.params.value("mode") == Some("login"),
        })
    }
}

/// A call's media leg.
enum Leg {
    WebRtc(Box<WebRtcLeg>),
    Rtp(RtpLeg),
}

/// What the box does with the call: take a message, or play the owner's new ones.
enum Machine {
    Answering(Answering),
    Listening {
        listener: Listener,
        employee: i64,
        /// Whose box it is (the caller's own, or the one logged in to).
        owner: Owner,
    },
    LoggingIn(Login),
}

impl Machine {
    fn next_frame(&mut self) -> Option<Vec<i16>> {
        match self {
            Machine::Answering(m) => m.next_frame().map(<[i16]>::to_vec),
            Machine::Listening { listener, .. } => listener.next_frame(),
            Machine::LoggingIn(l) => l.next_frame(),
        }
    }

    fn on_audio(&mut self, samples: &[i16]) {
        if let Machine::Answering(m) = self {
            m.on_audio(samples);
        }
    }

    fn on_key(&mut self, digit: char) {
        match self {
            Machine::Answering(m) => m.on_key(digit),
            Machine::Listening { listener, .. } => listener.on_key(digit),
            Machine::LoggingIn(l) => l.on_key(digit),
        }
    }

    fn hangup(&mut self) {
        if let Machine::Answering(m) = self {
            m.hangup();
        }
    }

    fn finished(&self) -> bool {
        match self {
            Machine::Answering(m) => matches!(m.phase(), Phase::Finished(_)),
            Machine::Listening { listener, .. } => listener.is_done(),
            // Logged in becomes listening; only a goodbye ends it.
            Machine::LoggingIn(l) => l.is_done(),
        }
    }
}

/// One caller's visit to the voicemail box.
struct Visit {
    shared: Arc<Shared>,
    ua: UserAgent,
    epoch: Instant,
    call: Option<CallHandle>,
    socket: Option<Arc<UdpSocket>>,
    port: Option<u16>,
    leg: Option<Leg>,
    /// The codec we send and record (PCMU or PCMA) and its payload type.
    codec: Option<(Codec, u8)>,
    connected: bool,
    leg_deadline: Option<Instant>,
    machine: Option<Machine>,
    seq: u16,
    ts: u32,
    caller: String,
    caller_name: Option<String>,
    /// The UA reported the call's end.
    ended: bool,
    /// We sent BYE (the message ended by key, silence or length).
    hung_up_at: Option<Instant>,
}

async fn call(
    shared: Arc<Shared>,
    owner: Owner,
    key: String,
    mut rx: mpsc::UnboundedReceiver<Box<str>>,
    done: mpsc::UnboundedSender<Vec<String>>,
) {
    let mut ua_cfg = UaConfig::new("voicemail", "voicemail.invalid", "");
    ua_cfg.user_agent = "Centrala-Voicemail".into();
    ua_cfg.display_name = Some("Voicemail".into());
    let mut v = Visit {
        ua: UserAgent::new(ua_cfg, rand::random()),
        shared,
        epoch: Instant::now(),
        call: None,
        socket: None,
        port: None,
        leg: None,
        codec: None,
        connected: false,
        leg_deadline: None,
        machine: None,
        seq: rand::random(),
        ts: rand::random(),
        caller: String::new(),
        caller_name: None,
        ended: false,
        hung_up_at: None,
    };
    // In-dialog requests and responses come to the user agent's host.
    let host_key = format!("h:{}", v.ua.via_host());
    v.shared.alias(&key, host_key.clone());
    let mut buf = vec![0u8; 2048];
    let mut frames = tokio::time::interval(Duration::from_millis(20));
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    loop {
        let ua_at =
            v.ua.poll_timeout()
                .map(|t| v.epoch + Duration::from_millis(t));
        let next = [ua_at, v.leg_deadline]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let socket = v.socket.clone();
        tokio::select! {
            m = rx.recv() => {
                let Some(text) = m else { break };
                let now = v.now_ms();
                v.ua.handle_message(text.as_bytes(), now);
                v.drain(&owner).await;
            }
            r = recv(socket.as_deref(), &mut buf) => {
                if let Ok((n, from)) = r {
                    v.datagram(&buf[..n], from);
                    v.after_media();
                    v.drain(&owner).await;
                }
            }
            _ = frames.tick() => {
                v.frame();
                v.after_media();
                v.drain(&owner).await;
            }
            _ = tokio::time::sleep_until(next.into()) => {
                let now = v.now_ms();
                v.ua.handle_timeout(now);
                if let Some(Leg::WebRtc(l)) = &mut v.leg
                    && v.leg_deadline.is_some_and(|d| d <= Instant::now())
                    && l.handle_timeout(Instant::now()).is_err()
                {
                    v.leg_lost("WebRTC session failed");
                }
                v.after_media();
                v.drain(&owner).await;
            }
        }
        v.check_timeouts();
        v.drain(&owner).await;
        v.listener_actions(&owner).await;
        let finished = v.machine.as_ref().is_some_and(Machine::finished);
        if v.call.is_none() && started.elapsed() > Duration::from_secs(32) {
            break;
        }
        if finished
            && (v.ended
                || v.hung_up_at
                    .is_some_and(|t| t.elapsed() > Duration::from_secs(4)))
        {
            break;
        }
        if v.call.is_some() && v.ended && v.machine.is_none() {
            break;
        }
    }
    if let Some(m) = v.machine.as_mut() {
        m.hangup();
    }
    v.save(&owner, &key).await;
    if let Some(port) = v.port.take() {
        v.shared.release(port);
    }
    let _ = done.send(vec![key, host_key]);
}

/// A datagram from the call's socket, or never when there is none yet.
async fn recv(socket: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

impl Visit {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Sends what the user agent wrote and handles what it reported.
    async fn drain(&mut self, owner: &Owner) {
        loop {
            while let Some(text) = self.ua.poll_transmit() {
                match parse_datagram(text.as_bytes()) {
                    Ok(message) => self.shared.send(message).await,
                    Err(e) => warn!(error = %e, "voicemail: our own message did not parse"),
                }
            }
            let Some(event) = self.ua.poll_event() else {
                break;
            };
            self.event(event, owner).await;
        }
    }

    async fn event(&mut self, event: Event, owner: &Owner) {
        match event {
            Event::IncomingCall {
                call,
                from_user,
                from_display,
                sdp,
                ..
            } => {
                if self.call.is_some() {
                    let now = self.now_ms();
                    self.ua.reject(call, 486, now);
                    return;
                }
                self.call = Some(call);
                self.caller = from_user;
                self.caller_name = from_display.filter(|n| !n.is_empty());
                let machine = if owner.login {
                    let lang = self.language(owner).await;
                    let [mailbox, pin, wrong, bye] =
                        builtin_login_prompts(lang).map(|w| wav_8k(w).unwrap_or_default());
                    Machine::LoggingIn(Login::new(LoginPrompts {
                        mailbox,
                        pin,
                        wrong,
                        bye,
                    }))
                } else if owner.listen {
                    match self.listening(owner).await {
                        Some(m) => m,
                        None => {
                            let now = self.now_ms();
                            self.ua.reject(call, 404, now);
                            return;
                        }
                    }
                } else {
                    let greeting = self.greeting(owner).await;
                    Machine::Answering(Answering::new(&greeting, self.shared.cfg.answering))
                };
                match self.open_leg(&sdp) {
                    Ok(answer) => {
                        info!(box_ext = %owner.ext, company = owner.company, caller = %self.caller, situation = owner.situation.as_str(), listen = owner.listen, "voicemail answers");
                        self.machine = Some(machine);
                        let now = self.now_ms();
                        self.ua.answer(call, answer, now);
                        self.after_media();
                    }
                    Err((status, reason)) => {
                        info!(status, %reason, "voicemail: call refused");
                        let now = self.now_ms();
                        self.ua.reject(call, status, now);
                    }
                }
            }
            Event::Dtmf { digit, .. } => {
                if let Some(m) = &mut self.machine {
                    m.on_key(digit);
                }
            }
            Event::Reoffer { call, .. } => {
                let now = self.now_ms();
                self.ua.reject_reoffer(call, now);
            }
            Event::Ended { reason, .. } => {
                debug!(%reason, "voicemail call ended");
                self.ended = true;
                if let Some(m) = &mut self.machine {
                    m.hangup();
                }
            }
            _ => {}
        }
    }

    /// The owner's new messages, oldest first, and the words in their language; `None` when
    /// the owner is gone.
    async fn listening(&self, owner: &Owner) -> Option<Machine> {
        let store = &self.shared.store;
        let e = store
            .employee_by_ext(owner.company, &owner.ext)
            .await
            .ok()
            .flatten()?;
        let lang = language_of(store, e.id).await;
        let [none, intro, deleted, end] =
            builtin_prompts(lang).map(|w| wav_8k(w).unwrap_or_default());
        let (list, _) = store.voicemails(e.id).await.ok()?;
        let mut new: Vec<_> = list.into_iter().filter(|m| !m.heard).collect();
        new.sort_by(|a, b| a.received_at.cmp(&b.received_at).then(a.id.cmp(&b.id)));
        let mut messages = Vec::new();
        for m in new {
            if let Ok(Some((_, path))) = store.voicemail(e.id, m.id).await
                && let Ok(bytes) = tokio::fs::read(&path).await
                && let Some(samples) = wav_8k(&bytes)
            {
                messages.push((m.id, samples));
            }
        }
        info!(box_ext = %owner.ext, new = messages.len(), "voicemail: the owner listens");
        Some(Machine::Listening {
            listener: Listener::new(
                Prompts {
                    none,
                    intro,
                    deleted,
                    end,
                },
                messages,
            ),
            employee: e.id,
            owner: Owner {
                listen: true,
                login: false,
                situation: Situation::Default,
                ..owner.clone()
            },
        })
    }

    /// The language `owner` chose in the web app (English when none).
    async fn language(&self, owner: &Owner) -> Lang {
        let store = &self.shared.store;
        match store.employee_by_ext(owner.company, &owner.ext).await {
            Ok(Some(e)) => language_of(store, e.id).await,
            _ => Lang::default(),
        }
    }

    /// Checks a mailbox number and PIN keyed after `*97` in `company`. A box without a PIN
    /// never opens this way; a box with too many wrong PINs lately is locked for a while
    /// (see [`PinGuard`]), whatever is keyed. The hash is checked off the runtime's threads,
    /// and as long when there is no such box or PIN (the time does not tell).
    async fn check_pin(&self, company: i64, mailbox: &str, pin: &str) -> bool {
        let key = (company, mailbox.to_string());
        let locked = self
            .shared
            .pins
            .lock()
            .map(|mut g| g.locked(&key, Instant::now()))
            .unwrap_or(true);
        let hash = match self
            .shared
            .store
            .voicemail_pin_by_ext(company, mailbox)
            .await
        {
            Ok(found) => found.and_then(|(_, h)| h),
            Err(e) => {
                warn!(error = %e, "voicemail: PIN lookup failed");
                None
            }
        };
        let right = crate::accounts::verify_password(pin, hash.as_deref())
            .await
            .unwrap_or(false)
            && !locked;
        if let Ok(mut g) = self.shared.pins.lock() {
            if right {
                g.success(&key);
            } else if g.failure(key, Instant::now()) {
                warn!(company, box_ext = %mailbox, "voicemail: too many wrong PINs, the box is locked for a while");
            }
        }
        info!(company, box_ext = %mailbox, right, locked, caller = %self.caller, "voicemail: PIN login");
        right
    }

    /// Carries out what the listener asked for: a message heard or deleted (the
    /// message-waiting lamps follow), or the end of the call.
    async fn listener_actions(&mut self, caller: &Owner) {
        self.login_actions(caller).await;
        loop {
            let Some(Machine::Listening {
                listener,
                employee,
                owner,
            }) = &mut self.machine
            else {
                return;
            };
            let (employee, owner) = (*employee, owner.clone());
            let Some(action) = listener.poll_action() else {
                return;
            };
            let store = &self.shared.store;
            let done = match action {
                Action::Heard(id) => store
                    .set_voicemail_heard(employee, id, true)
                    .await
                    .map(|_| ()),
                Action::Delete(id) => store.delete_voicemail(employee, id).await.map(|_| ()),
                Action::Hangup => {
                    self.hang_up();
                    continue;
                }
            };
            if let Err(e) = done {
                warn!(error = %e, ?action, "voicemail: could not update the box");
            }
            self.shared.mailbox_changed(&owner).await;
        }
    }

    /// Carries out what a login asked for: check a PIN, open the box, or hang up.
    async fn login_actions(&mut self, caller: &Owner) {
        loop {
            let Some(Machine::LoggingIn(login)) = &mut self.machine else {
                return;
            };
            let Some(action) = login.poll_action() else {
                return;
            };
            match action {
                LoginAction::Check { mailbox, pin } => {
                    let right = self.check_pin(caller.company, &mailbox, &pin).await;
                    if let Some(Machine::LoggingIn(login)) = &mut self.machine {
                        login.checked(right);
                    }
                }
                LoginAction::LoggedIn(mailbox) => {
                    let owner = Owner {
                        ext: mailbox,
                        listen: true,
                        login: false,
                        ..caller.clone()
                    };
                    match self.listening(&owner).await {
                        Some(m) => self.machine = Some(m),
                        None => self.hang_up(),
                    }
                }
                LoginAction::Hangup => self.hang_up(),
            }
        }
    }

    /// The owner's greeting for the situation (or their default one, or the built-in one
    /// in their language), as 8 kHz samples.
    async fn greeting(&self, owner: &Owner) -> Vec<i16> {
        let store = &self.shared.store;
        let mut lang = Lang::default();
        if let Ok(Some(e)) = store.employee_by_ext(owner.company, &owner.ext).await {
            lang = language_of(store, e.id).await;
            for situation in [owner.situation, Situation::Default] {
                if let Ok(Some(path)) = store.greeting_file(e.id, situation).await
                    && let Ok(bytes) = tokio::fs::read(&path).await
                    && let Some(samples) = wav_8k(&bytes)
                {
                    return samples;
                }
            }
        }
        wav_8k(builtin_greeting(lang)).unwrap_or_default()
    }

    /// Takes a port, binds it, makes the leg for the caller's offer; returns our answer.
    fn open_leg(&mut self, offer: &str) -> Result<String, (u16, String)> {
        let busy = || (503, "Service Unavailable (no free media port)".to_string());
        let (socket, port) = self.shared.bind().ok_or_else(busy)?;
        self.port = Some(port);
        let local = socket.local_addr().map_err(|_| busy())?;
        self.socket = Some(Arc::new(socket));
        let now = Instant::now();
        let webrtc = offer.contains("a=ice-ufrag") || offer.contains("RTP/SAVPF");
        if webrtc {
            let mut leg = WebRtcLeg::new(
                WebRtcConfig {
                    local,
                    codecs: vec![Codec::Pcmu, Codec::Pcma],
                },
                now,
            )
            .map_err(|e| (500, format!("Server Internal Error ({e})")))?;
            let answer = leg.accept_offer(offer, now).map_err(|e| {
                (
                    488,
                    format!("Not Acceptable Here ({e}: voicemail takes PCMU or PCMA)"),
                )
            })?;
            let f = leg
                .formats()
                .0
                .iter()
                .find(|f| f.codec.is_g711())
                .cloned()
                .ok_or((
                    488,
                    "Not Acceptable Here (voicemail takes PCMU or PCMA)".to_string(),
                ))?;
            self.codec = Some((f.codec.clone(), f.pt));
            self.leg = Some(Leg::WebRtc(Box::new(leg)));
            Ok(answer)
        } else {
            let (stream, codecs) = centrala_media::sdp::phone_offer(offer)
                .map_err(|r| (r.status(), r.status_line()))?;
            let codec = codecs.into_iter().find(Codec::is_g711).ok_or((
                488,
                "Not Acceptable Here (voicemail takes PCMU or PCMA)".to_string(),
            ))?;
            let origin = Origin {
                session_id: rand::random::<u32>().into(),
                version: 1,
            };
            let answer = centrala_media::sdp::answer_for_phone(offer, &codec, local, origin)
                .map_err(|r| (r.status(), r.status_line()))?;
            let pt = stream
                .formats
                .by_codec(&codec, 8000)
                .map(|f| f.pt)
                .ok_or((488, "Not Acceptable Here".to_string()))?;
            let mut leg = RtpLeg::new(
                RtpLegConfig {
                    local,
                    ssrc: rand::random(),
                },
                now,
            );
            leg.set_remote(stream.addr, stream.formats.clone());
            self.codec = Some((codec, pt));
            self.connected = true;
            self.leg = Some(Leg::Rtp(leg));
            Ok(answer)
        }
    }

    fn datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        let now = Instant::now();
        let Some(local) = self.socket.as_ref().and_then(|s| s.local_addr().ok()) else {
            return;
        };
        let r = match &mut self.leg {
            Some(Leg::WebRtc(l)) => l.handle_input(bytes, from, local, now),
            Some(Leg::Rtp(l)) => l.handle_input(bytes, from, now),
            None => Ok(()),
        };
        if let Err(e) = r {
            debug!(%from, error = %e, "voicemail: datagram dropped");
        }
    }

    /// One 20 ms tick: the next frame of the prompt goes out.
    fn frame(&mut self) {
        if !self.connected || self.ended {
            return;
        }
        let (Some(m), Some((codec, pt))) = (self.machine.as_mut(), self.codec.clone()) else {
            return;
        };
        let Some(samples) = m.next_frame() else {
            return;
        };
        let payload = audio::encode(&codec, &samples).unwrap_or_default();
        let header = RtpHeader {
            marker: false,
            pt,
            seq: self.seq,
            timestamp: self.ts,
            ssrc: 0,
        };
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(FRAME as u32);
        let r = match &mut self.leg {
            Some(Leg::WebRtc(l)) => l.send_rtp(header, &payload, Instant::now()),
            Some(Leg::Rtp(l)) => l.send_rtp(header, &payload),
            None => Ok(()),
        };
        if let Err(e) = r {
            debug!(error = %e, "voicemail: frame not sent");
        }
    }

    /// Sends the leg's datagrams and takes its events.
    fn after_media(&mut self) {
        let Some(socket) = self.socket.clone() else {
            return;
        };
        loop {
            let out = match &mut self.leg {
                Some(Leg::WebRtc(l)) => match l.poll_output() {
                    Ok(o) => o,
                    Err(e) => {
                        self.leg_lost(&e.to_string());
                        return;
                    }
                },
                Some(Leg::Rtp(l)) => match l.poll_output() {
                    Some(o) => o,
                    None => return,
                },
                None => return,
            };
            match out {
                LegOutput::Timeout(t) => {
                    self.leg_deadline = Some(t);
                    return;
                }
                LegOutput::Transmit(t) => {
                    let _ = socket.try_send_to(&t.payload, t.to);
                }
                LegOutput::Event(LegEvent::Connected) => self.connected = true,
                LegOutput::Event(LegEvent::Disconnected) => {}
                LegOutput::Event(LegEvent::Dtmf(d)) => {
                    if let Some(m) = &mut self.machine {
                        m.on_key(d.digit);
                    }
                }
                LegOutput::Event(LegEvent::Rtp(frame)) => {
                    if let (Some((codec, pt)), Some(m)) = (&self.codec, &mut self.machine)
                        && frame.header.pt == *pt
                        && let Some(samples) = audio::decode(codec, &frame.payload)
                    {
                        m.on_audio(&samples);
                    }
                }
                LegOutput::Event(_) => {}
            }
        }
    }

    fn leg_lost(&mut self, why: &str) {
        warn!(%why, "voicemail: media leg failed; hanging up");
        self.leg = None;
        self.hang_up();
    }

    /// Ends the call from our side (BYE) once the message is over, or when media stopped.
    fn check_timeouts(&mut self) {
        let silent_for = match &self.leg {
            Some(Leg::WebRtc(l)) => l.last_media().elapsed(),
            Some(Leg::Rtp(l)) => l.last_media().elapsed(),
            None => Duration::ZERO,
        };
        if self.leg.is_some()
            && !self.ended
            && self.hung_up_at.is_none()
            && silent_for > self.shared.cfg.timeout
        {
            warn!(silent_s = silent_for.as_secs(), caller = %self.caller, "voicemail: no media from the caller: call ended");
            if let Some(m) = &mut self.machine {
                m.hangup();
            }
            self.hang_up();
            return;
        }
        if let Some(m) = &self.machine
            && m.finished()
            && !self.ended
            && self.hung_up_at.is_none()
        {
            self.hang_up();
        }
    }

    fn hang_up(&mut self) {
        if self.hung_up_at.is_some() {
            return;
        }
        self.hung_up_at = Some(Instant::now());
        if let Some(call) = self.call {
            let now = self.now_ms();
            self.ua.hangup(call, now);
        }
    }

    /// Stores the message (file, then row) and queues the mail.
    async fn save(&mut self, owner: &Owner, call_id: &str) {
        let Some(Machine::Answering(m)) = &self.machine else {
            return;
        };
        let cause = match m.phase() {
            Phase::Finished(c) => c.as_str(),
            _ => "?",
        };
        let Some(samples) = m.message() else {
            info!(caller = %self.caller, cause, "voicemail: no message left");
            return;
        };
        let duration_ms = (samples.len() as i64) * 1000 / i64::from(audio::RATE);
        let wav = wav_bytes(samples);
        let spooled = SpooledVoicemail {
            company: owner.company,
            ext: owner.ext.clone(),
            caller: self.caller.clone(),
            caller_name: self.caller_name.clone(),
            situation: owner.situation,
            duration_ms,
            received_at: crate::accounts::unix_now(),
        };
        // On disk first: whatever happens next, the message is delivered (now, or by the
        // spool's retries).
        match self.shared.store.spool_voicemail(&spooled, &wav).await {
            Ok(path) => {
                info!(box_ext = %owner.ext, caller = %self.caller, duration_ms, cause, call_id, "voicemail: message recorded");
                deliver(&self.shared, &path).await;
            }
            Err(e) => {
                // No room on disk (or no rights): the database is the last chance.
                warn!(error = %e, call_id, "voicemail: the message could not be spooled; storing it directly");
                let store = &self.shared.store;
                if let Ok(Some(employee)) = store.employee_by_ext(owner.company, &owner.ext).await {
                    let m = NewVoicemail {
                        caller: &spooled.caller,
                        caller_name: spooled.caller_name.as_deref(),
                        situation: spooled.situation,
                        duration_ms,
                        wav: &wav,
                    };
                    match store.add_voicemail(employee.id, m).await {
                        Ok(id) => announce(&self.shared, &spooled, &employee, id).await,
                        Err(e) => warn!(error = %e, call_id, "voicemail: message lost"),
                    }
                }
            }
        }
    }
}

/// Stores a spooled message and tells of it (lamps, mail); an entry that cannot be stored
/// now stays in the spool for [`redeliver`]. `false`: the store failed, try again later.
async fn deliver(shared: &Shared, path: &std::path::Path) -> bool {
    let _one = shared.delivering.lock().await;
    if !path.exists() {
        return true; // delivered meanwhile
    }
    match shared.store.deliver_spooled(path).await {
        Ok(Some((m, employee, id))) => {
            info!(id, box_ext = %m.ext, caller = %m.caller, "voicemail: message stored");
            announce(shared, &m, &employee, id).await;
            true
        }
        Ok(None) => {
            warn!("voicemail: the box's owner is gone; message dropped");
            true
        }
        Err(e) if !path.exists() => {
            // A damaged entry, set aside (`.json.bad`): the others go on.
            warn!(error = %e, "voicemail: a damaged spool entry was set aside");
            true
        }
        Err(e) => {
            warn!(error = %e, spool = %path.display(), "voicemail: message kept in the spool; stored when the database is back");
            false
        }
    }
}

/// The language `employee` chose in the web app (English when none, or unreadable).
async fn language_of(store: &crate::store::Store, employee: i64) -> Lang {
    store
        .employee_settings(employee)
        .await
        .ok()
        .flatten()
        .and_then(|(_, l)| l)
        .unwrap_or_default()
}

/// How often the spool is looked at for messages not stored yet.
const REDELIVER_EVERY: Duration = Duration::from_secs(20);

/// Delivers what the spool holds: at start (messages recorded before a stop) and then
/// every [`REDELIVER_EVERY`] (messages whose row could not be written).
async fn redeliver(shared: Arc<Shared>) {
    loop {
        for path in shared.store.spooled_voicemails() {
            if !deliver(&shared, &path).await {
                break; // the database is still away: try again later
            }
        }
        tokio::time::sleep(REDELIVER_EVERY).await;
    }
}

/// A new message: the message-waiting lamps follow, and the owner gets the mail.
async fn announce(
    shared: &Shared,
    m: &SpooledVoicemail,
    employee: &crate::accounts::Employee,
    id: i64,
) {
    let owner = Owner {
        company: m.company,
        ext: m.ext.clone(),
        situation: m.situation,
        listen: false,
        login: false,
    };
    shared.mailbox_changed(&owner).await;
    let store = &shared.store;
    let Some(email) = employee.email.clone() else {
        return;
    };
    let Ok(Some((vm, path))) = store.voicemail(employee.id, id).await else {
        return;
    };
    let rel = path
        .strip_prefix(store.data_dir())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lang = language_of(store, employee.id).await;
    let caller = match &m.caller_name {
        Some(n) => format!("{n} ({})", m.caller),
        None => m.caller.clone(),
    };
    let link = format!("{}/#voicemail", shared.public_url.trim_end_matches('/'));
    let letter = crate::mail::voicemail(
        lang,
        &employee.name,
        &caller,
        m.duration_ms / 1000,
        &vm.received_at,
        &link,
    );
    let stamp = vm.received_at.replace([':', 'T'], "-");
    let out = Outgoing {
        to_name: employee.name.clone(),
        to: email,
        letter,
        link,
        kind: "voicemail",
        attachment: Some(Attachment {
            path: rel,
            name: format!("voicemail-{}-{}.wav", m.caller, stamp.trim_end_matches('Z')),
            media_type: "audio/wav".into(),
        }),
    };
    if let Err(e) = shared.mail.enqueue(out).await {
        warn!(error = %e, "voicemail: mail not queued");
    }
}

/// A WAV file's audio as 8 kHz mono samples (the first channel), if it is 16-bit PCM.
fn wav_8k(bytes: &[u8]) -> Option<Vec<i16>> {
    let mut r = hound::WavReader::new(std::io::Cursor::new(bytes)).ok()?;
    let spec = r.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return None;
    }
    let ch = usize::from(spec.channels.max(1));
    let samples: Vec<i16> = r
        .samples::<i16>()
        .step_by(ch)
        .collect::<Result<_, _>>()
        .ok()?;
    Some(audio::to_8k(&samples, spec.sample_rate))
}

/// 8 kHz samples as a 16-bit mono WAV file.
fn wav_bytes(samples: &[i16]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: audio::RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    if let Ok(mut w) = hound::WavWriter::new(&mut out, spec) {
        for s in samples {
            let _ = w.write_sample(*s);
        }
        let _ = w.finalize();
    }
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_go_to_the_task_of_their_kind_or_user_agent() {
        let key =
            |text: &str| route_key(&parse_datagram(text.replace('\n', "\r\n").as_bytes()).unwrap());
        let req = |uri: &str| {
            format!(
                "INVITE {uri} SIP/2.0\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\nFrom: <sip:101@d>;tag=a\nTo: <sip:102@d>\nCall-ID: c1\nCSeq: 1 INVITE\nContent-Length: 0\n\n"
            )
        };
        // One call, three branches: a bridge to each of two devices and voicemail, each its
        // own task.
        assert_eq!(
            key(&req("sip:102@127.0.0.1:5060;centrala-bridge=4")).as_deref(),
            Some("b:4:c1")
        );
        assert_eq!(
            key(&req("sip:103@127.0.0.1:5060;centrala-bridge=7")).as_deref(),
            Some("b:7:c1")
        );
        assert_eq!(
            key(&req("sip:102@voicemail.invalid;company=1;cause=busy")).as_deref(),
            Some("v:c1")
        );
        // Within a dialog: the user agent's own host.
        assert_eq!(
            key(&req("sip:x1y2@abc123.invalid;transport=ws;ob")).as_deref(),
            Some("h:abc123.invalid")
        );
        let resp = "SIP/2.0 200 OK\nVia: SIP/2.0/WS abc123.invalid;branch=z9hG4bK9\nFrom: <sip:102@d>;tag=b\nTo: <sip:101@d>;tag=a\nCall-ID: c1\nCSeq: 2 BYE\nContent-Length: 0\n\n";
        assert_eq!(key(resp).as_deref(), Some("h:abc123.invalid"));
    }

    #[test]
    fn wrong_pins_lock_a_box_for_a_while() {
        let mut g = PinGuard::default();
        let t0 = Instant::now();
        let a = (1, "101".to_string());
        let b = (1, "102".to_string());
        for i in 1..PinGuard::MAX_FAILURES {
            assert!(!g.failure(a.clone(), t0 + Duration::from_secs(i.into())));
            assert!(!g.locked(&a, t0 + Duration::from_secs(i.into())));
        }
        // The fifth wrong PIN locks the box (and only that one).
        assert!(g.failure(a.clone(), t0 + Duration::from_secs(10)));
        assert!(g.locked(&a, t0 + Duration::from_secs(11)));
        assert!(!g.locked(&b, t0 + Duration::from_secs(11)));
        assert!(
            !g.locked(&(2, "101".to_string()), t0),
            "another company's 101"
        );
        // Until the window from the first wrong PIN is over.
        assert!(g.locked(&a, t0 + PinGuard::WINDOW - Duration::from_secs(1)));
        assert!(!g.locked(&a, t0 + PinGuard::WINDOW + Duration::from_secs(1)));
        // A right PIN clears the count.
        for _ in 0..PinGuard::MAX_FAILURES - 1 {
            g.failure(b.clone(), t0);
        }
        g.success(&b);
        assert!(!g.failure(b.clone(), t0));
        assert!(!g.locked(&b, t0));
    }

    #[test]
    fn the_box_comes_from_the_request_uri() {
        let uri = centrala_sip::message::Uri::parse(
            "sip:102@voicemail.invalid;company=7;cause=no_answer",
        )
        .unwrap();
        assert_eq!(
            Owner::of(&uri),
            Some(Owner {
                company: 7,
                ext: "102".into(),
                situation: Situation::NoAnswer,
                listen: false,
                login: false,
            })
        );
        let uri =
            centrala_sip::message::Uri::parse("sip:101@voicemail.invalid;company=7;mode=listen")
                .unwrap();
        assert!(Owner::of(&uri).is_some_and(|o| o.listen && !o.login && o.ext == "101"));
        let uri =
            centrala_sip::message::Uri::parse("sip:101@voicemail.invalid;company=7;mode=login")
                .unwrap();
        assert!(Owner::of(&uri).is_some_and(|o| o.login && !o.listen));
        for bad in [
            "sip:102@centrala.local;company=7",
            "sip:102@voicemail.invalid",
            "sip:102@voicemail.invalid;company=x",
            "sip:voicemail.invalid;company=1",
        ] {
            assert_eq!(
                Owner::of(&centrala_sip::message::Uri::parse(bad).unwrap()),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn wav_round_trip_and_resampling() {
        let tone = audio::tone(440.0, 500, 9000);
        let back = wav_8k(&wav_bytes(&tone)).unwrap();
        assert_eq!(back, tone);
        assert!(wav_8k(b"not a wav").is_none());
        // The built-in greetings are readable.
        for lang in [Lang::En, Lang::Pl] {
            assert!(wav_8k(builtin_greeting(lang)).unwrap().len() > 8000);
        }
    }
}
