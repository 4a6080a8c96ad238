//! The softphone's user agent: registration with digest auth, outbound (RFC 5626) keepalives,
//! one-to-one calls with CANCEL, BYE and re-INVITE, call forwarding as the phone system
//! reports it (181 with History-Info, Diversion, CANCEL with a Reason), and the company
//! directory's presence
//! (one RFC 4662 list subscription, see [`UserAgent::subscribe_directory`]). Sans-IO: the browser gives it bytes
//! from the WebSocket and "now"; it gives back text to send, events for the UI and when to
//! wake it up.
//!
//! Driving contract:
//! 1. after `connected(now)`, and after every call that takes `now`, drain `poll_transmit()`
//!    (send each on the WebSocket) and `poll_event()` (update the UI);
//! 2. call `handle_timeout(now)` once `now >= poll_timeout()`;
//! 3. on a WebSocket message call `handle_message(bytes, now)`; on close, `disconnected()`.
//!
//! Several calls: the user agent keeps a list of calls keyed by [`CallHandle`], each with its
//! [`CallStatus`], and it alone decides what a second call does (the policy):
//! - a new incoming call while others are going on rings as a *waiting* call
//!   ([`Event::IncomingCall`] with `waiting`), or is refused with 486 Busy Here when call
//!   waiting is off ([`UserAgent::set_call_waiting`]) or [`MAX_CALLS`] are going on;
//! - answering a call, placing one, or resuming one ([`UserAgent::resume`]) holds every other
//!   call that is up; hanging one up leaves the others as they are.
//!
//! Hold and resume are re-INVITEs (RFC 6337): the user agent asks for a new offer
//! ([`Event::OfferNeeded`], `a=sendonly` to hold, `a=sendrecv` to resume), the app makes it
//! and hands it to [`UserAgent::send_offer`]. A 491 (glare) rolls the offer back
//! ([`Event::OfferFailed`]) and tries again after a random 2.1–4 s when we own the Call-ID
//! (we placed the call), 0–2 s otherwise (RFC 3261 14.1); any other failure leaves the call as
//! it was before ([`Event::Hold`] repeats the state), a 481 or a timeout ends it with a BYE.
//! An offer from the far end whose every stream is `sendonly` or `inactive` (or on 0.0.0.0)
//! means it holds us: [`Event::Hold`] with `remote`.

use std::collections::VecDeque;

use crate::Instant;
use crate::dialog::{Dialog, Role, cancel_for};
use crate::digest::{Challenge, Credentials};
use crate::message::{
    CSeq, Message, Method, NameAddr, Request, Response, SipMessage, Uri, parse_datagram_with,
};
use crate::presence::{ListNotify, parse_list_notify};
use crate::rng::Rng;
use crate::transaction::{Output, TimerConfig, Transactions, TxKey};

mod transfer;
pub use transfer::TransferProgress;
use transfer::{Referred, Referring};

const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS, NOTIFY, REFER";

/// The directory's presence subscription asks for this lifetime (seconds).
const DIRECTORY_EXPIRES: u32 = 600;
/// Wait before subscribing again after a subscription ended without a Retry-After.
const DIRECTORY_RETRY_MS: u64 = 30_000;
/// After a reconnect, subscribe again once registered, or after this long at the latest.
const DIRECTORY_RECONNECT_MS: u64 = 5_000;
/// How long an ended subscription waits for the notifier's final NOTIFY.
const DIRECTORY_LINGER_MS: u64 = 32_000;
/// The most calls going on at once (ringing, talking or held); one more is refused as busy.
pub const MAX_CALLS: usize = 4;

/// How the user agent is set up.
#[derive(Debug, Clone)]
pub struct UaConfig {
    /// The extension (SIP user), e.g. "101".
    pub user: String,
    /// The digest `username`, when it is not `user` (e.g. a short-lived credential's
    /// "1764300000:101"). `None`: `user`.
    pub auth_user: Option<String>,
    /// The SIP domain (digest realm), e.g. "centrala.local".
    pub domain: String,
    /// The SIP password or short-lived SIP credential; kept in memory only.
    pub password: String,
    pub display_name: Option<String>,
    /// `urn:uuid:...`, stable per browser (RFC 5626 instance id). Left empty, a random one is
    /// made from the seed (then it changes with every new user agent).
    pub instance_id: String,
    /// Requested registration lifetime in seconds.
    pub expires: u32,
    /// Whether the WebSocket is `wss:` (Via transport WSS) or `ws:` (WS).
    pub secure: bool,
    /// CRLF keepalive interval in milliseconds (RFC 5626 4.4.1).
    pub keepalive_ms: u64,
    pub user_agent: String,
    /// A second incoming call rings as a waiting call (`true`) or is refused with 486 Busy
    /// Here (`false`). Off in [`UaConfig::new`]: one call at a time unless the app (which
    /// can hold and switch calls) turns it on; the web app follows its user's setting.
    pub call_waiting: bool,
}

impl UaConfig {
    pub fn new(user: &str, domain: &str, password: &str) -> UaConfig {
        UaConfig {
            user: user.to_string(),
            auth_user: None,
            domain: domain.to_string(),
            password: password.to_string(),
            display_name: None,
            instance_id: String::new(),
            expires: 600,
            secure: false,
            keepalive_ms: 25_000,
            user_agent: "Centrala-Web/0.1".into(),
            call_waiting: false,
        }
    }
}

/// Registration as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not registered (not connected yet, or logged out).
    Unregistered,
    /// A REGISTER is under way.
    Registering,
    /// Registered until the registrar's expiry (refreshed before it).
    Registered,
    /// The registrar refused; the text says why, in words for a person.
    Failed(String),
}

/// The UI's handle for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub u64);

/// Where one call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Someone calls us (the INVITE came, not answered yet).
    RingingIn,
    /// We call (the INVITE went out, not answered yet).
    RingingOut,
    /// Talking.
    Connected,
    /// We hold the call (whether or not the far end holds it too).
    Held,
    /// The far end holds the call.
    HeldRemote,
    /// We asked the far end to call someone else (REFER); it goes on until that works.
    Transferring,
    /// Over (being cleaned up).
    Ended,
}

/// One call of [`UserAgent::calls`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub call: CallHandle,
    pub status: CallStatus,
    /// We hold it (negotiated).
    pub local_hold: bool,
    /// The far end holds it.
    pub remote_hold: bool,
    /// It came to us.
    pub incoming: bool,
}

/// Someone a call was forwarded to or from, as the phone system names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// The user part of the address: an extension ("102") or a number.
    pub user: String,
    /// The display name, when the phone system gave one ("Bob").
    pub display: Option<String>,
}

impl Party {
    /// The party of a name-addr (`"Bob" <sip:102@d;cause=408>;index=1.1`), with its URI's
    /// `cause` parameter when it has one; `None` without a user part.
    fn parse(s: &str) -> Option<(Party, Option<u16>)> {
        let na = NameAddr::parse(s).ok()?;
        let user = na.uri.user.clone().filter(|u| !u.is_empty())?;
        let cause = na
            .uri
            .params
            .value("cause")
            .and_then(|c| c.trim().parse().ok());
        let display = na.display.filter(|d| !d.trim().is_empty());
        Some((Party { user, display }, cause))
    }
}

/// Why a call was forwarded: the RFC 5806 Diversion `reason`, or the RFC 4458 / RFC 7044
/// History-Info `cause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardReason {
    /// Every call is forwarded (`unconditional`; cause 302).
    Always,
    /// Busy (`user-busy`; cause 486).
    Busy,
    /// Nobody answered in time (`no-answer`; cause 408).
    NoAnswer,
    /// No device is registered (`unavailable`; cause 503).
    Offline,
    /// Do not disturb or away (`do-not-disturb`; cause 480).
    DoNotDisturb,
    /// Another reason, or none given.
    Other,
}

impl ForwardReason {
    /// From a Diversion header's `reason` parameter (RFC 5806 4).
    pub fn from_diversion(reason: &str) -> ForwardReason {
        match reason
            .trim()
            .trim_matches('"')
            .to_ascii_lowercase()
            .as_str()
        {
            "unconditional" => ForwardReason::Always,
            "user-busy" => ForwardReason::Busy,
            "no-answer" => ForwardReason::NoAnswer,
            "unavailable" => ForwardReason::Offline,
            "do-not-disturb" | "away" => ForwardReason::DoNotDisturb,
            _ => ForwardReason::Other,
        }
    }

    /// From a History-Info entry's `cause` URI parameter (RFC 4458).
    pub fn from_cause(cause: u16) -> ForwardReason {
        match cause {
            302 => ForwardReason::Always,
            486 | 600 => ForwardReason::Busy,
            408 | 487 => ForwardReason::NoAnswer,
            503 | 404 => ForwardReason::Offline,
            480 => ForwardReason::DoNotDisturb,
            _ => ForwardReason::Other,
        }
    }
}

/// How a call came to us forwarded: from the INVITE's Diversion header (RFC 5806), else its
/// History-Info (RFC 7044).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diversion {
    /// Who forwarded it to us: the latest diversion (the topmost Diversion entry).
    pub from: Party,
    pub reason: ForwardReason,
    /// How many times the call was forwarded (the `counter`, at least 1).
    pub count: u32,
}

/// Why the registrar refused this device, other than wrong credentials: the reasons of the
/// Centrala gateway's 403 to a REGISTER. New credentials do not help with any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This device was removed from the account ("Forbidden (this device was removed from
    /// the account)"): it is refused for a while, so a new login should be a new device
    /// (a new instance id).
    DeviceRemoved,
    /// The extension is locked: no new devices may be added.
    ExtensionLocked,
    /// The extension has as many devices as it may; registering is tried again every minute.
    TooManyDevices,
}

impl Refusal {
    /// The refusal a 403's reason phrase names, if any.
    pub fn from_reason(reason: &str) -> Option<Refusal> {
        let r = reason.to_ascii_lowercase();
        if r.contains("removed") {
            Some(Refusal::DeviceRemoved)
        } else if r.contains("locked") {
            Some(Refusal::ExtensionLocked)
        } else if r.contains("devices per") || r.contains("too many devices") {
            Some(Refusal::TooManyDevices)
        } else {
            None
        }
    }

    /// Words for a person (English; the web app has its own).
    fn words(self) -> &'static str {
        match self {
            Refusal::DeviceRemoved => "This device was removed from the account",
            Refusal::ExtensionLocked => "The extension is locked: no new devices can be added",
            Refusal::TooManyDevices => "The extension has as many devices as it may",
        }
    }
}

/// The device id the Centrala gateway shows for a registration with this RFC 5626
/// `instance_id` (`urn:uuid:…`) and `reg-id` 1, as this user agent registers (binding key
/// `<instance>#1`, see [`device_key_id`]). The web app compares it with the devices list to
/// mark "this device".
pub fn device_id(instance_id: &str) -> String {
    device_key_id(&format!("<{instance_id}>#1"))
}

/// The id of a registration whose binding key (`<instance>#<reg-id>`, or the contact address)
/// is `key`: the first 8 bytes of its SHA-256, in hex. Stable across refreshes and restarts;
/// the gateway's devices list and default-device setting name devices by it.
pub fn device_key_id(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(key.as_bytes());
    h[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The largest body taken from the server: a whole directory's presence (RFC 4662 list,
/// about 600 bytes a person) comes in one NOTIFY, 3 MB for 5,000 people.
pub const MAX_INBOUND_BODY: usize = 8 << 20;

/// What happened, for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    Registration(RegistrationState),
    /// Someone calls us; answer with `answer(call, sdp)` or `hangup(call)`.
    IncomingCall {
        call: CallHandle,
        from_user: String,
        from_display: Option<String>,
        sdp: String,
        /// The call was forwarded to us: by whom, and why.
        diverted_from: Option<Diversion>,
        /// Other calls are going on: this one waits (a waiting tone, not the ringtone).
        waiting: bool,
        /// An attended transfer hands us this call in place of `replaces` (RFC 3891):
        /// answer it at once (it does not ring); answering ends `replaces`.
        replaces: Option<CallHandle>,
    },
    /// Our call rings at the other end.
    Ringing {
        call: CallHandle,
    },
    /// Our call is being forwarded (181 Call Is Being Forwarded): `to` is the new target,
    /// the last History-Info entry, with its siblings when the call went to a group rung
    /// together (entries of the same parent index, RFC 7044), in order; empty when the 181
    /// names nobody.
    Forwarded {
        call: CallHandle,
        to: Vec<Party>,
        reason: ForwardReason,
    },
    /// Our call was answered; `sdp` is the remote answer.
    Answered {
        call: CallHandle,
        sdp: String,
    },
    /// The caller acknowledged our answer: media may flow both ways.
    Connected {
        call: CallHandle,
    },
    /// The peer sent a new offer (re-INVITE or UPDATE); reply with `accept_reoffer`.
    Reoffer {
        call: CallHandle,
        sdp: String,
    },
    /// The call's hold state, after an offer and answer completed (or failed): `local` we
    /// hold it, `remote` the far end holds it.
    Hold {
        call: CallHandle,
        local: bool,
        remote: bool,
    },
    /// Make a new offer for the call and pass it to `send_offer`: every stream `sendonly`
    /// (with nothing sent) when `hold`, `sendrecv` otherwise. The answer comes as
    /// [`Event::Answered`].
    OfferNeeded {
        call: CallHandle,
        hold: bool,
    },
    /// The offer passed to `send_offer` was not taken: roll it back. `retrying`: it was a
    /// glare (491) and a new [`Event::OfferNeeded`] follows after a random wait.
    OfferFailed {
        call: CallHandle,
        status: Option<u16>,
        retrying: bool,
    },
    /// The call is over; `reason` is for a person, `status` the SIP code if there was one.
    Ended {
        call: CallHandle,
        reason: String,
        status: Option<u16>,
        /// The far end's own reason phrase when it refused our call ("Service Unavailable
        /// (the phone network does not answer)"), to pass on as it is.
        phrase: Option<String>,
        /// A ringing incoming call was cancelled because another device answered it
        /// (CANCEL with `Reason: SIP;cause=200`, RFC 3326): not a missed call.
        answered_elsewhere: bool,
    },
    /// How a transfer we asked for goes ([`UserAgent::transfer`]).
    Transfer {
        call: CallHandle,
        progress: TransferProgress,
    },
    /// The far end of `call` asks us to call `target` instead (REFER): make an offer and
    /// pass it to [`UserAgent::accept_transfer`], or [`UserAgent::refuse_transfer`].
    /// `replacing`: an attended transfer (the target already talks to the transferor).
    TransferRequested {
        call: CallHandle,
        target: Party,
        replacing: bool,
    },
    /// A key the far end pressed, sent as SIP INFO (RFC 4733 events stay in the media).
    Dtmf {
        call: CallHandle,
        digit: char,
    },
    /// A NOTIFY of the directory subscription: the whole list (`full_state`, the first one
    /// and after every new subscription) or only the people who changed.
    Presence(ListNotify),
    /// The directory subscription ended (terminated by the server, refused, not answered,
    /// or the connection closed). Presence shown may be stale; the user agent subscribes
    /// again by itself, and the next subscription starts with a full NOTIFY.
    PresenceLost {
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Outgoing,
    Incoming,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CallState {
    /// Outgoing INVITE sent, no answer yet.
    Calling,
    /// Incoming INVITE, ringing here.
    Ringing,
    /// We sent a 2xx and wait for the ACK; the 2xx is resent until then.
    Answered {
        retransmit_at: Instant,
        interval: u64,
        give_up_at: Instant,
    },
    Connected,
    /// The user hung up before the answer: CANCEL (when allowed) and BYE on a late 2xx.
    Cancelling {
        cancel_sent: bool,
    },
    Ended,
}

#[derive(Debug, Clone)]
struct Call {
    /// The reason phrase of the final failure response to our INVITE.
    phrase: Option<String>,
    handle: CallHandle,
    direction: Direction,
    state: CallState,
    /// Outgoing: the INVITE we sent last. Incoming: the INVITE we got.
    invite: Request,
    /// The INVITE's transaction (client or server).
    invite_key: Option<TxKey>,
    dialog: Option<Dialog>,
    local_sdp: String,
    /// The 2xx we sent (incoming) or the ACK we sent (outgoing), for retransmissions.
    last_2xx_or_ack: Option<Message>,
    auth_tries: u32,
    /// An incoming re-INVITE or UPDATE waiting for `accept_reoffer`.
    pending_reoffer: Option<TxKey>,
    /// The user wants the call held.
    want_hold: bool,
    /// We hold it (the last completed offer and answer said so).
    local_hold: bool,
    /// The far end holds it (its last offer or answer said so).
    remote_hold: bool,
    /// Our own offer in the dialog (hold, resume, or another re-INVITE).
    offer: Offer,
    /// Our REFER in this call (we transfer it).
    referring: Option<Referring>,
    /// The far end's REFER we took (we are transferred).
    referred: Option<Referred>,
    /// This call was placed for a REFER in that call: its progress is reported there.
    refer_of: Option<CallHandle>,
    /// Answering this call ends that one (INVITE with Replaces).
    replaces: Option<CallHandle>,
}

/// Our in-dialog offer (re-INVITE), one at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Offer {
    Idle,
    /// [`Event::OfferNeeded`] went out; waiting for `send_offer`.
    Preparing {
        hold: bool,
    },
    /// The re-INVITE is under way.
    Sent {
        key: TxKey,
        hold: bool,
    },
    /// A glare (491): offer again at this time.
    Retry {
        at: Instant,
    },
}

impl Call {
    fn new(handle: CallHandle, direction: Direction, state: CallState, invite: Request) -> Call {
        Call {
            handle,
            direction,
            state,
            invite,
            invite_key: None,
            dialog: None,
            local_sdp: String::new(),
            last_2xx_or_ack: None,
            auth_tries: 0,
            pending_reoffer: None,
            want_hold: false,
            local_hold: false,
            remote_hold: false,
            offer: Offer::Idle,
            referring: None,
            referred: None,
            refer_of: None,
            replaces: None,
            phrase: None,
        }
    }

    /// Ringing, talking or held: not over, not being cancelled.
    fn live(&self) -> bool {
        !matches!(self.state, CallState::Ended | CallState::Cancelling { .. })
    }

    fn status(&self) -> CallStatus {
        match (&self.state, self.direction) {
            (CallState::Ringing, _) => CallStatus::RingingIn,
            (CallState::Calling, _) => CallStatus::RingingOut,
            (CallState::Cancelling { .. } | CallState::Ended, _) => CallStatus::Ended,
            _ if self.referring.is_some() => CallStatus::Transferring,
            _ if self.local_hold => CallStatus::Held,
            _ if self.remote_hold => CallStatus::HeldRemote,
            _ => CallStatus::Connected,
        }
    }
}

/// Whether an SDP holds the other side (RFC 6337): every stream in use is `sendonly` or
/// `inactive`, or on the address 0.0.0.0 (RFC 2543 style). `None`: not SDP, or no stream.
/// A line scan, not [`crate::sdp`]'s parser: the web app needs only this from an SDP, and
/// the parser would weigh on its download.
fn sdp_holds(sdp: &[u8]) -> Option<bool> {
    /// One stream: in use (port not 0), its direction attribute, its `c=` is 0.0.0.0.
    struct Stream {
        used: bool,
        holds: Option<bool>,
        zero: Option<bool>,
    }
    let text = std::str::from_utf8(sdp).ok()?;
    if !text.trim_start().starts_with("v=") {
        return None;
    }
    let (mut session_holds, mut session_zero) = (None, false);
    let mut streams: Vec<Stream> = Vec::new();
    // With ICE the addresses are in the candidates, and 0.0.0.0 in `c=` means nothing
    // (Firefox writes it in every SDP, RFC 8839 5.1): only the direction holds.
    let ice = text
        .lines()
        .any(|l| l.trim_end().starts_with("a=ice-ufrag:"));
    for line in text.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            let port = m.split_whitespace().nth(1).unwrap_or("0");
            let port = port.split('/').next().unwrap_or("0");
            streams.push(Stream {
                used: port.parse::<u16>().is_ok_and(|p| p != 0),
                holds: None,
                zero: None,
            });
        } else if let Some(c) = line.strip_prefix("c=") {
            let address = c.split_whitespace().nth(2).unwrap_or("");
            let zero = address.split('/').next() == Some("0.0.0.0");
            match streams.last_mut() {
                Some(s) => s.zero = Some(zero),
                None => session_zero = zero,
            }
        } else {
            // The last direction attribute of a section counts (as `sdp::Media::direction`).
            let holds = match line {
                "a=sendonly" | "a=inactive" => true,
                "a=sendrecv" | "a=recvonly" => false,
                _ => continue,
            };
            match streams.last_mut() {
                Some(s) => s.holds = Some(holds),
                None => session_holds = Some(holds),
            }
        }
    }
    let mut used = streams.iter().filter(|s| s.used).peekable();
    used.peek()?;
    Some(used.all(|s| {
        (!ice && s.zero.unwrap_or(session_zero)) || s.holds.or(session_holds).unwrap_or(false)
    }))
}

#[derive(Debug, Clone)]
struct Registration {
    state: RegistrationState,
    call_id: String,
    from_tag: String,
    cseq: u32,
    key: Option<TxKey>,
    auth_tries: u32,
    refresh_at: Option<Instant>,
    /// Registering with Expires: 0 (logging out).
    removing: bool,
    /// The current `Failed` state is the registrar refusing our credentials.
    auth_refused: bool,
    /// The current `Failed` state is a refusal new credentials do not help with.
    refusal: Option<Refusal>,
}

/// The directory's presence subscription (RFC 6665 subscriber side).
#[derive(Debug, Clone)]
struct Subscription {
    call_id: String,
    /// Our From tag: a NOTIFY's To tag must be this.
    from_tag: String,
    /// The SUBSCRIBE sent last (answered with credentials on a 401/407).
    last: Request,
    /// Its transaction, while one is under way.
    key: Option<TxKey>,
    /// Made by the first 2xx or the first NOTIFY, whichever comes first.
    dialog: Option<Dialog>,
    auth_tries: u32,
    /// Active: when to refresh. Ending: when to stop waiting for the final NOTIFY.
    refresh_at: Option<Instant>,
    /// We unsubscribed (Expires: 0): the final NOTIFY ends it quietly.
    ending: bool,
}

/// A SIP user agent for one extension on one WebSocket.
pub struct UserAgent {
    cfg: UaConfig,
    rng: Rng,
    timers: TimerConfig,
    tx: Transactions<()>,
    contact_user: String,
    via_host: String,
    connected: bool,
    reg: Registration,
    calls: Vec<Call>,
    next_call: u64,
    nc: u32,
    keepalive_at: Option<Instant>,
    /// Incoming re-INVITEs / UPDATEs waiting for `accept_reoffer`.
    pending_requests: Vec<(TxKey, Request)>,
    /// The UI wants the directory's presence (kept across reconnects).
    want_directory: bool,
    directory: Option<Subscription>,
    /// When to subscribe to the directory again.
    resubscribe_at: Option<Instant>,
    /// Subscribe to the directory as soon as the registration succeeds (after a reconnect).
    resubscribe_on_register: bool,
    events: VecDeque<Event>,
    transmit: VecDeque<String>,
}

impl UserAgent {
    /// A user agent; `seed` is 32 bytes of the browser's randomness (`crypto.getRandomValues`).
    pub fn new(mut cfg: UaConfig, seed: [u8; 32]) -> UserAgent {
        let mut rng = Rng::new(seed);
        if cfg.instance_id.is_empty() {
            let hex = |rng: &mut Rng, n: usize| -> String {
                (0..n)
                    .map(|_| char::from_digit((rng.next_u64() % 16) as u32, 16).unwrap_or('0'))
                    .collect()
            };
            cfg.instance_id = format!(
                "urn:uuid:{}-{}-4{}-8{}-{}",
                hex(&mut rng, 8),
                hex(&mut rng, 4),
                hex(&mut rng, 3),
                hex(&mut rng, 3),
                hex(&mut rng, 12)
            );
        }
        let via_host = format!("{}.invalid", rng.token(12));
        let contact_user = rng.token(8);
        let reg = Registration {
            state: RegistrationState::Unregistered,
            call_id: rng.token(22),
            from_tag: rng.token(10),
            cseq: 0,
            key: None,
            auth_tries: 0,
            refresh_at: None,
            removing: false,
            auth_refused: false,
            refusal: None,
        };
        let timers = TimerConfig::default();
        UserAgent {
            cfg,
            rng,
            timers,
            tx: Transactions::new(timers),
            contact_user,
            via_host,
            connected: false,
            reg,
            calls: Vec::new(),
            next_call: 1,
            nc: 0,
            keepalive_at: None,
            pending_requests: Vec::new(),
            want_directory: false,
            directory: None,
            resubscribe_at: None,
            resubscribe_on_register: false,
            events: VecDeque::new(),
            transmit: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &UaConfig {
        &self.cfg
    }

    /// Calls not yet fully over (including ones still being cancelled).
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Every call not yet fully over, in the order they began.
    pub fn calls(&self) -> Vec<CallInfo> {
        self.calls
            .iter()
            .map(|c| CallInfo {
                call: c.handle,
                status: c.status(),
                local_hold: c.local_hold,
                remote_hold: c.remote_hold,
                incoming: c.direction == Direction::Incoming,
            })
            .collect()
    }

    /// Where call `handle` stands; `None` when it is gone.
    pub fn call_status(&self, handle: CallHandle) -> Option<CallStatus> {
        self.calls
            .iter()
            .find(|c| c.handle == handle)
            .map(Call::status)
    }

    /// Whether a new incoming call may ring while others are going on (else it gets 486).
    pub fn set_call_waiting(&mut self, on: bool) {
        self.cfg.call_waiting = on;
    }

    pub fn registration(&self) -> &RegistrationState {
        &self.reg.state
    }

    /// Whether the registration failed because the registrar refused our credentials (401,
    /// 403 or 407 after answering the challenge): new ones may help, see `set_credentials`.
    pub fn auth_refused(&self) -> bool {
        self.reg.auth_refused && matches!(self.reg.state, RegistrationState::Failed(_))
    }

    /// Why the registrar refused this device, when the registration failed for a reason new
    /// credentials do not help with (the device was removed, the extension is locked...).
    pub fn refusal(&self) -> Option<Refusal> {
        self.reg
            .refusal
            .filter(|_| matches!(self.reg.state, RegistrationState::Failed(_)))
    }

    /// This registration's device id, as the gateway's devices list shows it (see
    /// [`device_id`]).
    pub fn device_id(&self) -> String {
        device_id(&self.cfg.instance_id)
    }

    /// Replaces the digest username (`None`: `user`) and password for every later
    /// authentication: the next REGISTER refresh, calls, and `reregister`.
    pub fn set_credentials(&mut self, auth_user: Option<String>, password: String) {
        self.cfg.auth_user = auth_user;
        self.cfg.password = password;
    }

    /// Registers again now (e.g. with new credentials after a refusal), unless not
    /// connected or a REGISTER is already under way.
    pub fn reregister(&mut self, now: Instant) {
        if !self.connected || self.reg.key.is_some() {
            return;
        }
        self.reg.removing = false;
        self.reg.refresh_at = None;
        self.reg.auth_tries = 0;
        self.send_register(now, None);
    }

    /// Text to send on the WebSocket, in order.
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.transmit.pop_front()
    }

    /// The next event for the UI.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call `handle_timeout` next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let call_timers = self.calls.iter().filter_map(|c| match c.state {
            CallState::Answered {
                retransmit_at,
                give_up_at,
                ..
            } => Some(retransmit_at.min(give_up_at)),
            _ => None,
        });
        let retries = self.calls.iter().filter_map(|c| match c.offer {
            Offer::Retry { at } => Some(at),
            _ => None,
        });
        [
            self.tx.poll_timeout(),
            self.reg.refresh_at,
            self.keepalive_at,
            self.directory.as_ref().and_then(|d| d.refresh_at),
            self.resubscribe_at,
        ]
        .into_iter()
        .flatten()
        .chain(call_timers)
        .chain(retries)
        .min()
    }

    /// The WebSocket is open: register. If the directory was subscribed to before
    /// (`subscribe_directory` without `unsubscribe_directory`), it is subscribed to again
    /// once the registration succeeds, or 5 s after this at the latest.
    pub fn connected(&mut self, now: Instant) {
        self.connected = true;
        self.reg.removing = false;
        self.keepalive_at = Some(now + self.cfg.keepalive_ms);
        if self.want_directory {
            self.resubscribe_on_register = true;
            self.resubscribe_at = Some(now + DIRECTORY_RECONNECT_MS);
        }
        self.send_register(now, None);
    }

    /// The transport is up but this user agent does not register: a server-side one (the
    /// gateway's voicemail and media bridge) that only takes and places calls.
    pub fn attach(&mut self) {
        self.connected = true;
    }

    /// The WebSocket closed: every call ends, registration and the directory subscription
    /// are gone until `connected` (which brings both back).
    pub fn disconnected(&mut self) {
        if self.directory.take().is_some_and(|d| !d.ending) {
            self.events.push_back(Event::PresenceLost {
                reason: "Connection to the phone system lost".into(),
            });
        }
        self.resubscribe_at = None;
        self.resubscribe_on_register = false;
        self.connected = false;
        self.tx.flow_closed(|_| true);
        while self.tx.poll().is_some() {}
        for call in &mut self.calls {
            if call.state != CallState::Ended && !matches!(call.state, CallState::Cancelling { .. })
            {
                self.events.push_back(Event::Ended {
                    call: call.handle,
                    reason: "Connection to the phone system lost".into(),
                    status: None,
                    phrase: None,
                    answered_elsewhere: false,
                });
            }
            call.state = CallState::Ended;
        }
        self.calls.clear();
        self.reg.key = None;
        self.reg.refresh_at = None;
        self.keepalive_at = None;
        self.set_reg_state(RegistrationState::Unregistered);
    }

    /// Removes the registration (logging out).
    pub fn unregister(&mut self, now: Instant) {
        if self.connected {
            self.reg.removing = true;
            self.reg.refresh_at = None;
            self.send_register(now, None);
        }
        self.set_reg_state(RegistrationState::Unregistered);
    }

    fn fail_registration(&mut self, reason: &str, auth_refused: bool) {
        self.reg.auth_refused = auth_refused;
        self.reg.refusal = None;
        self.set_reg_state(RegistrationState::Failed(reason.into()));
    }

    fn set_reg_state(&mut self, s: RegistrationState) {
        if self.reg.state != s {
            self.reg.state = s.clone();
            self.events.push_back(Event::Registration(s));
        }
    }

    fn aor(&self) -> Uri {
        Uri::sip(Some(&self.cfg.user), &self.cfg.domain)
    }

    fn via(&mut self) -> String {
        let t = if self.cfg.secure { "WSS" } else { "WS" };
        format!("SIP/2.0/{t} {};branch={}", self.via_host, self.rng.branch())
    }

    /// The made-up host of our Via and Contact (`<random>.invalid`): requests within our
    /// dialogs come to it, responses to our requests carry it in their top Via.
    pub fn via_host(&self) -> &str {
        &self.via_host
    }

    fn contact_uri(&self) -> String {
        format!(
            "sip:{}@{};transport=ws;ob",
            self.contact_user, self.via_host
        )
    }

    fn local_from(&self, tag: &str) -> String {
        let mut na = NameAddr::new(self.aor());
        na.display = self.cfg.display_name.clone();
        na.params.set("tag", Some(tag));
        na.to_string()
    }

    fn send_register(&mut self, now: Instant, auth: Option<(&'static str, Credentials)>) {
        self.reg.cseq += 1;
        let mut r = Request::new(Method::Register, Uri::sip(None, &self.cfg.domain));
        let via = self.via();
        r.headers.push("Via", via);
        r.headers.push("Max-Forwards", "70");
        r.headers.push("To", format!("<{}>", self.aor()));
        r.headers
            .push("From", self.local_from(&self.reg.from_tag.clone()));
        r.headers.push("Call-ID", self.reg.call_id.clone());
        r.headers
            .push("CSeq", format!("{} REGISTER", self.reg.cseq));
        let expires = if self.reg.removing {
            0
        } else {
            self.cfg.expires
        };
        r.headers.push(
            "Contact",
            format!(
                "<{}>;+sip.instance=\"<{}>\";reg-id=1;expires={expires}",
                self.contact_uri(),
                self.cfg.instance_id
            ),
        );
        r.headers.push("Expires", expires.to_string());
        r.headers.push("Supported", "path, outbound");
        r.headers.push("Allow", ALLOW);
        r.headers.push("User-Agent", self.cfg.user_agent.clone());
        if let Some((name, creds)) = auth {
            r.headers.push(name, creds.to_string());
        }
        // A refresh keeps showing "registered"; only a first registration shows progress.
        if !self.reg.removing && self.reg.state != RegistrationState::Registered {
            self.set_reg_state(RegistrationState::Registering);
        }
        let key = self.tx.send_request(r, (), true, now);
        self.reg.key = Some(key);
        self.drain(now);
    }

    /// Answers a 401/407 for `req`; `None` when we should give up.
    fn authorize(&mut self, req: &Request, resp: &Response) -> Option<(&'static str, Credentials)> {
        let (hdr, answer) = if resp.status == 401 {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let challenge = Challenge::pick(resp.headers.all(hdr))?;
        self.nc += 1;
        let cnonce = self.rng.token(16);
        let creds = Credentials::answer(
            &challenge,
            req.method.as_str(),
            &req.uri.to_string(),
            self.cfg.auth_user.as_deref().unwrap_or(&self.cfg.user),
            &self.cfg.password,
            &cnonce,
            1,
        );
        Some((answer, creds))
    }

    /// Places a call to `target` (an extension like "102" or a SIP URI) with our SDP offer.
    pub fn call(&mut self, target: &str, sdp: String, now: Instant) -> CallHandle {
        let uri = self.target_uri(target);
        self.place_call(uri, sdp, &[], None, now)
    }

    /// The address of `target`: a SIP URI as written, else a user at our domain.
    fn target_uri(&self, target: &str) -> Uri {
        let target = target.trim();
        if target.starts_with("sip:") || target.starts_with("sips:") {
            Uri::parse(target).unwrap_or_else(|_| Uri::sip(Some(target), &self.cfg.domain))
        } else {
            let user = target.split('@').next().unwrap_or(target);
            Uri::sip(Some(user), &self.cfg.domain)
        }
    }

    /// Sends an INVITE to `uri` with `extra` headers. The policy holds the calls going on,
    /// except `spare` (a call being transferred away).
    fn place_call(
        &mut self,
        uri: Uri,
        sdp: String,
        extra: &[(&str, String)],
        spare: Option<CallHandle>,
        now: Instant,
    ) -> CallHandle {
        let handle = CallHandle(self.next_call);
        self.next_call += 1;
        let (mut r, _, _) = self.new_request(Method::Invite, uri);
        r.headers
            .push("Contact", format!("<{}>", self.contact_uri()));
        r.headers.push("Allow", ALLOW);
        r.headers.push("Supported", "outbound");
        r.headers.push("User-Agent", self.cfg.user_agent.clone());
        for (name, value) in extra {
            r.headers.push(name, value.clone());
        }
        r.headers.push("Content-Type", "application/sdp");
        r.body = sdp.clone().into_bytes();
        let mut call = Call::new(handle, Direction::Outgoing, CallState::Calling, r.clone());
        call.local_sdp = sdp;
        if !self.connected {
            self.events.push_back(Event::Ended {
                call: handle,
                reason: "Not connected to the phone system".into(),
                status: None,
                phrase: None,
                answered_elsewhere: false,
            });
            return handle;
        }
        // The policy: a new call holds the ones going on.
        self.hold_all_but(handle, spare, now);
        call.invite_key = Some(self.tx.send_request(r, (), true, now));
        self.calls.push(call);
        self.drain(now);
        handle
    }

    /// Holds every call that is up, except `keep`.
    fn hold_all_but(&mut self, keep: CallHandle, spare: Option<CallHandle>, now: Instant) {
        let others: Vec<CallHandle> = self
            .calls
            .iter()
            .filter(|c| c.handle != keep && Some(c.handle) != spare && c.live() && !c.want_hold)
            .filter(|c| matches!(c.state, CallState::Connected | CallState::Answered { .. }))
            .map(|c| c.handle)
            .collect();
        for h in others {
            self.set_hold(h, true, now);
        }
    }

    /// Holds call `handle` (a re-INVITE with `a=sendonly`, see [`Event::OfferNeeded`]).
    /// Nothing when it is not up or already held (or being held).
    pub fn hold(&mut self, handle: CallHandle, now: Instant) {
        self.set_hold(handle, true, now);
        self.drain(now);
    }

    /// Resumes call `handle` (`a=sendrecv`) and, as the policy says, holds every other call
    /// that is up: switching between calls is resuming the other one.
    pub fn resume(&mut self, handle: CallHandle, now: Instant) {
        if !self.calls.iter().any(|c| c.handle == handle && c.live()) {
            return;
        }
        self.hold_all_but(handle, None, now);
        self.set_hold(handle, false, now);
        self.drain(now);
    }

    fn set_hold(&mut self, handle: CallHandle, hold: bool, now: Instant) {
        let Some(i) = self.calls.iter().position(|c| c.handle == handle) else {
            return;
        };
        let c = &mut self.calls[i];
        if !c.live() || matches!(c.state, CallState::Ringing | CallState::Calling) {
            return;
        }
        c.want_hold = hold;
        self.kick(i, now);
    }

    /// Starts an offer for call `i` when its wanted hold state differs from the negotiated
    /// one and nothing else is under way in its dialog.
    fn kick(&mut self, i: usize, _now: Instant) {
        let c = &mut self.calls[i];
        if c.state != CallState::Connected
            || c.offer != Offer::Idle
            || c.pending_reoffer.is_some()
            || c.want_hold == c.local_hold
        {
            return;
        }
        c.offer = Offer::Preparing { hold: c.want_hold };
        self.events.push_back(Event::OfferNeeded {
            call: c.handle,
            hold: c.want_hold,
        });
    }

    /// Sends the offer asked for by [`Event::OfferNeeded`] as a re-INVITE. Ignored when
    /// none was asked for (the call ended meanwhile, say).
    pub fn send_offer(&mut self, handle: CallHandle, sdp: String, now: Instant) {
        let Some(i) = self.calls.iter().position(|c| c.handle == handle) else {
            return;
        };
        let Offer::Preparing { hold } = self.calls[i].offer else {
            return;
        };
        if self.calls[i].state != CallState::Connected {
            self.calls[i].offer = Offer::Idle;
            return;
        }
        self.send_reinvite(i, sdp, hold, now);
        self.drain(now);
    }

    fn send_reinvite(&mut self, i: usize, sdp: String, hold: bool, now: Instant) {
        let via = self.via();
        let contact = self.contact_uri();
        let Some(dialog) = self.calls[i].dialog.as_mut() else {
            self.calls[i].offer = Offer::Idle;
            return;
        };
        let mut r = dialog.request(Method::Invite, &via, None);
        r.headers.push("Contact", format!("<{contact}>"));
        r.headers.push("Allow", ALLOW);
        r.headers.push("Content-Type", "application/sdp");
        r.body = sdp.clone().into_bytes();
        self.calls[i].local_sdp = sdp;
        let key = self.tx.send_request(r, (), true, now);
        self.calls[i].offer = Offer::Sent { key, hold };
    }

    /// The answer (or failure) to our re-INVITE of call `i`.
    fn on_reinvite_response(&mut self, i: usize, resp: Response, now: Instant) {
        let Offer::Sent { hold, .. } = self.calls[i].offer.clone() else {
            return;
        };
        let handle = self.calls[i].handle;
        match resp.status {
            100..=199 => {}
            200..=299 => {
                let via = self.via();
                let seq = resp.cseq().map_or(1, |c| c.seq);
                if let Some(dialog) = self.calls[i].dialog.as_mut() {
                    dialog.on_refresh_response(&resp);
                    let ack = dialog.request(Method::Ack, &via, Some(seq));
                    self.calls[i].last_2xx_or_ack = Some(Message::Request(ack.clone()));
                    self.tx.send_stateless(Message::Request(ack), ());
                }
                self.calls[i].offer = Offer::Idle;
                if !resp.body.is_empty() {
                    self.events.push_back(Event::Answered {
                        call: handle,
                        sdp: String::from_utf8_lossy(&resp.body).into_owned(),
                    });
                }
                let remote = sdp_holds(&resp.body).unwrap_or(self.calls[i].remote_hold);
                self.set_hold_state(i, hold, remote);
                self.kick(i, now);
            }
            491 => {
                // Glare (RFC 3261 14.1): the owner of the Call-ID waits 2.1–4 s, the other 0–2 s.
                let wait = if self.calls[i].direction == Direction::Outgoing {
                    2100 + self.rng.next_u64() % 1901
                } else {
                    self.rng.next_u64() % 2001
                };
                self.calls[i].offer = Offer::Retry { at: now + wait };
                self.events.push_back(Event::OfferFailed {
                    call: handle,
                    status: Some(491),
                    retrying: true,
                });
            }
            481 | 408 => self.reinvite_lost(i, resp.status, now),
            status => self.offer_refused(i, Some(status)),
        }
    }

    /// The re-INVITE of call `i` found no dialog (481) or no answer (408): the call is over
    /// (RFC 3261 12.2.1.2), with a BYE in case the other side still thinks otherwise.
    fn reinvite_lost(&mut self, i: usize, status: u16, now: Instant) {
        self.events.push_back(Event::OfferFailed {
            call: self.calls[i].handle,
            status: Some(status),
            retrying: false,
        });
        self.calls[i].offer = Offer::Idle;
        self.send_in_dialog(i, Method::Bye, now);
        self.end(i, "The call was lost", Some(status), true);
    }

    /// Our offer was refused: the call stays as it was, and the user's wish follows it.
    fn offer_refused(&mut self, i: usize, status: Option<u16>) {
        let c = &mut self.calls[i];
        c.offer = Offer::Idle;
        c.want_hold = c.local_hold;
        let (call, local, remote) = (c.handle, c.local_hold, c.remote_hold);
        self.events.push_back(Event::OfferFailed {
            call,
            status,
            retrying: false,
        });
        self.events.push_back(Event::Hold {
            call,
            local,
            remote,
        });
    }

    /// Records call `i`'s negotiated hold state and tells the UI when it changed.
    fn set_hold_state(&mut self, i: usize, local: bool, remote: bool) {
        let c = &mut self.calls[i];
        if (c.local_hold, c.remote_hold) == (local, remote) {
            return;
        }
        c.local_hold = local;
        c.remote_hold = remote;
        self.events.push_back(Event::Hold {
            call: c.handle,
            local,
            remote,
        });
    }

    /// Answers an incoming call with our SDP answer.
    pub fn answer(&mut self, handle: CallHandle, sdp: String, now: Instant) {
        let t1 = self.timers.t1;
        let contact = self.contact_uri();
        if !self
            .calls
            .iter()
            .any(|c| c.handle == handle && c.state == CallState::Ringing)
        {
            return;
        }
        // A call that replaces another (attended transfer) ends it: the far end of the new
        // call takes its place (RFC 3891 3).
        if let Some(old) = self
            .calls
            .iter()
            .find(|c| c.handle == handle)
            .and_then(|c| c.replaces)
            && let Some(j) = self.calls.iter().position(|c| c.handle == old && c.live())
        {
            self.send_in_dialog(j, Method::Bye, now);
            self.end(j, "Call transferred", None, true);
        }
        // The policy: answering a call holds the ones going on.
        self.hold_all_but(handle, None, now);
        let Some(call) = self.calls.iter_mut().find(|c| c.handle == handle) else {
            return;
        };
        let Some(dialog) = &call.dialog else { return };
        let mut ok = dialog_response(&call.invite, 200, "OK");
        ok.set_to_tag(&dialog.id.local_tag);
        ok.headers.push("Contact", format!("<{contact}>"));
        ok.headers.push("Allow", ALLOW);
        ok.headers.push("Supported", "outbound");
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = sdp.clone().into_bytes();
        call.local_sdp = sdp;
        call.last_2xx_or_ack = Some(Message::Response(ok.clone()));
        call.state = CallState::Answered {
            retransmit_at: now + t1,
            interval: t1,
            give_up_at: now + 64 * t1,
        };
        if let Some(key) = call.invite_key.clone() {
            self.tx.send_response(&key, ok, now);
        }
        self.drain(now);
    }

    /// Replies to a peer's re-offer (re-INVITE or UPDATE) with our SDP answer.
    pub fn accept_reoffer(&mut self, handle: CallHandle, sdp: String, now: Instant) {
        let contact = self.contact_uri();
        let Some(call) = self.calls.iter_mut().find(|c| c.handle == handle) else {
            return;
        };
        let Some(key) = call.pending_reoffer.take() else {
            return;
        };
        call.local_sdp = sdp.clone();
        let Some(req) = self
            .pending_requests
            .iter()
            .position(|(k, _)| *k == key)
            .map(|i| self.pending_requests.remove(i).1)
        else {
            return;
        };
        let mut ok = req.response(200, "OK");
        ok.headers.push("Contact", format!("<{contact}>"));
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = sdp.into_bytes();
        self.tx.send_response(&key, ok, now);
        if let Some(i) = self.calls.iter().position(|c| c.handle == handle) {
            let (local, old_remote) = (self.calls[i].local_hold, self.calls[i].remote_hold);
            let remote = sdp_holds(&req.body).unwrap_or(old_remote);
            self.set_hold_state(i, local, remote);
            // A hold or resume the user asked for meanwhile.
            self.kick(i, now);
        }
        self.drain(now);
    }

    /// Refuses a peer's re-offer we cannot take (488 Not Acceptable Here); the call goes on
    /// as before.
    pub fn reject_reoffer(&mut self, handle: CallHandle, now: Instant) {
        let Some(i) = self.calls.iter().position(|c| c.handle == handle) else {
            return;
        };
        let Some(key) = self.calls[i].pending_reoffer.take() else {
            return;
        };
        if let Some(req) = self
            .pending_requests
            .iter()
            .position(|(k, _)| *k == key)
            .map(|j| self.pending_requests.remove(j).1)
        {
            self.tx
                .send_response(&key, req.response(488, "Not Acceptable Here"), now);
        }
        self.kick(i, now);
        self.drain(now);
    }

    /// Refuses a ringing incoming call with `status` (486 Busy Here, 603 Decline, ...).
    pub fn reject(&mut self, handle: CallHandle, status: u16, now: Instant) {
        let reason = match status {
            486 => "Busy Here",
            480 => "Temporarily Unavailable",
            488 => "Not Acceptable Here",
            503 => "Service Unavailable",
            _ => "Decline",
        };
        self.reject_with(handle, status, reason, now);
    }

    /// [`Self::reject`] with our own reason phrase (a gateway passing on another's; control
    /// characters are dropped).
    pub fn reject_with(&mut self, handle: CallHandle, status: u16, reason: &str, now: Instant) {
        let Some(i) = self.calls.iter().position(|c| c.handle == handle) else {
            return;
        };
        if self.calls[i].state != CallState::Ringing {
            return;
        }
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        self.refuse_incoming(i, status, &reason, now);
        let text = if status == 486 { "Busy" } else { "Declined" };
        self.end(i, text, Some(status), true);
        self.drain(now);
    }

    /// Sends a final failure response to incoming call `i`'s INVITE, with our To tag.
    fn refuse_incoming(&mut self, i: usize, status: u16, reason: &str, now: Instant) {
        let call = &self.calls[i];
        let Some(key) = call.invite_key.clone() else {
            return;
        };
        let mut r = call.invite.response(status, reason);
        if let Some(d) = &call.dialog {
            r.set_to_tag(&d.id.local_tag);
        }
        self.tx.send_response(&key, r, now);
    }

    /// Hangs up: CANCEL or BYE for our call, 603 Decline for a ringing incoming call.
    pub fn hangup(&mut self, handle: CallHandle, now: Instant) {
        let Some(i) = self.calls.iter().position(|c| c.handle == handle) else {
            return;
        };
        let state = self.calls[i].state.clone();
        match state {
            CallState::Calling => {
                let key = self.calls[i].invite_key.clone();
                let proceeding = key.as_ref().is_some_and(|k| self.tx.client_proceeding(k));
                if proceeding {
                    let cancel = cancel_for(&self.calls[i].invite);
                    self.tx.send_request(cancel, (), true, now);
                }
                self.calls[i].state = CallState::Cancelling {
                    cancel_sent: proceeding,
                };
                self.end(i, "You hung up", None, false);
            }
            CallState::Ringing => return self.reject(handle, 603, now),
            CallState::Answered { .. } | CallState::Connected => {
                self.send_in_dialog(i, Method::Bye, now);
                self.end(i, "You hung up", None, true);
            }
            CallState::Cancelling { .. } | CallState::Ended => {}
        }
        self.drain(now);
    }

    /// Whether call `handle` would take a new offer now ([`Self::reinvite`]): connected, and
    /// no offer under way in it (ours, the far end's, or a glare's wait before retrying).
    pub fn can_offer(&self, handle: CallHandle) -> bool {
        self.calls.iter().any(|c| {
            c.handle == handle
                && c.state == CallState::Connected
                && c.offer == Offer::Idle
                && c.pending_reoffer.is_none()
        })
    }

    /// Sends a re-INVITE with a new offer (e.g. camera turned on). The answer comes as
    /// `Event::Answered`. `false` (nothing sent) while another offer is under way in the
    /// call or it is not connected: roll the offer back and try again later.
    pub fn reinvite(&mut self, handle: CallHandle, sdp: String, now: Instant) -> bool {
        let Some(i) = self.calls.iter().position(|c| {
            c.handle == handle
                && c.state == CallState::Connected
                && c.offer == Offer::Idle
                && c.pending_reoffer.is_none()
        }) else {
            return false;
        };
        let hold = self.calls[i].local_hold;
        self.send_reinvite(i, sdp, hold, now);
        self.drain(now);
        true
    }

    fn send_in_dialog(&mut self, i: usize, method: Method, now: Instant) {
        let via = self.via();
        if let Some(dialog) = self.calls[i].dialog.as_mut() {
            let r = dialog.request(method, &via, None);
            self.tx.send_request(r, (), true, now);
        }
    }

    /// Marks call `i` ended and tells the UI (unless it already knows). `remove` drops it now.
    fn end(&mut self, i: usize, reason: &str, status: Option<u16>, remove: bool) {
        self.end_with(i, reason, status, remove, false);
    }

    /// [`Self::end`], saying whether another device answered the call.
    fn end_with(
        &mut self,
        i: usize,
        reason: &str,
        status: Option<u16>,
        remove: bool,
        answered_elsewhere: bool,
    ) {
        let handle = self.calls[i].handle;
        let told = matches!(self.calls[i].state, CallState::Ended);
        if !told {
            let phrase = self.calls[i].phrase.clone();
            self.events.push_back(Event::Ended {
                call: handle,
                reason: reason.to_string(),
                status,
                phrase,
                answered_elsewhere,
            });
        }
        if remove {
            self.calls.remove(i);
        } else if !matches!(self.calls[i].state, CallState::Cancelling { .. }) {
            self.calls[i].state = CallState::Ended;
        }
    }

    /// A WebSocket message arrived.
    pub fn handle_message(&mut self, bytes: &[u8], now: Instant) {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return; // CRLF keepalive pong
        }
        let Ok(msg) = parse_datagram_with(bytes, MAX_INBOUND_BODY) else {
            return;
        };
        self.tx.receive(msg, (), now);
        self.drain(now);
    }

    /// Time has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tx.handle_timeout(now);
        if self.reg.refresh_at.is_some_and(|t| now >= t) {
            self.reg.refresh_at = None;
            self.reg.auth_tries = 0;
            self.send_register(now, None);
        }
        if self.keepalive_at.is_some_and(|t| now >= t) {
            self.keepalive_at = Some(now + self.cfg.keepalive_ms);
            self.transmit.push_back("\r\n\r\n".into());
        }
        self.directory_timers(now);
        let t2 = self.timers.t2;
        let mut give_up = Vec::new();
        for call in &mut self.calls {
            if let CallState::Answered {
                retransmit_at,
                interval,
                give_up_at,
            } = &mut call.state
            {
                if now >= *give_up_at {
                    give_up.push(call.handle);
                } else if now >= *retransmit_at {
                    *interval = (*interval * 2).min(t2);
                    *retransmit_at = now + *interval;
                    if let Some(m) = &call.last_2xx_or_ack {
                        self.transmit.push_back(m.to_string());
                    }
                }
            }
        }
        for h in give_up {
            if let Some(i) = self.calls.iter().position(|c| c.handle == h) {
                self.send_in_dialog(i, Method::Bye, now);
                self.end(i, "The caller never confirmed the call", None, true);
            }
        }
        for i in 0..self.calls.len() {
            if matches!(self.calls[i].offer, Offer::Retry { at } if now >= at) {
                self.calls[i].offer = Offer::Idle;
                self.kick(i, now);
            }
        }
        self.drain(now);
    }

    fn drain(&mut self, now: Instant) {
        while let Some(o) = self.tx.poll() {
            match o {
                Output::Transmit { message, .. } => self.transmit.push_back(message.to_string()),
                Output::TransmitResponse { response, .. } => self
                    .transmit
                    .push_back(String::from_utf8_lossy(&response.bytes).into_owned()),
                Output::Request { key, request, .. } => self.on_request(key, request, now),
                Output::Response { key, response } => self.on_response(key, response, now),
                Output::Timeout { key } => self.on_timeout(key, now),
                Output::Ack { request, .. } => self.on_ack(request),
                Output::StrayResponse { response, .. } => self.on_stray_response(response),
                Output::NoAck { .. } => {}
            }
        }
    }

    fn on_timeout(&mut self, key: TxKey, now: Instant) {
        if self
            .directory
            .as_ref()
            .is_some_and(|d| d.key.as_ref() == Some(&key))
        {
            self.directory_failed("The phone system does not answer".into(), None, now);
            return;
        }
        if self.reg.key.as_ref() == Some(&key) {
            self.reg.key = None;
            self.fail_registration("The phone system does not answer", false);
            self.reg.refresh_at = Some(now + 30_000);
            return;
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| matches!(&c.offer, Offer::Sent { key: k, .. } if *k == key))
        {
            self.reinvite_lost(i, 408, now);
            return;
        }
        if self.on_refer_timeout(&key) {
            return;
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| c.invite_key.as_ref() == Some(&key))
            && matches!(
                self.calls[i].state,
                CallState::Calling | CallState::Cancelling { .. }
            )
        {
            let new = self.calls[i].handle;
            self.referral_progress(new, 408, "Request Timeout", now);
            if let Some(i) = self.calls.iter().position(|c| c.handle == new) {
                self.end(i, "No answer from the phone system", Some(408), true);
            }
        }
    }

    fn on_response(&mut self, key: TxKey, resp: Response, now: Instant) {
        if self
            .directory
            .as_ref()
            .is_some_and(|d| d.key.as_ref() == Some(&key))
        {
            self.on_subscribe_response(resp, now);
            return;
        }
        if self.reg.key.as_ref() == Some(&key) {
            self.on_register_response(resp, now);
            return;
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| matches!(&c.offer, Offer::Sent { key: k, .. } if *k == key))
        {
            self.on_reinvite_response(i, resp, now);
            return;
        }
        if self.on_refer_response(&key, &resp) {
            return;
        }
        let Some(i) = self
            .calls
            .iter()
            .position(|c| c.invite_key.as_ref() == Some(&key))
        else {
            return; // BYE, CANCEL or INFO answers need nothing more
        };
        if resp.cseq().map(|c| c.method) != Some(Method::Invite) {
            return;
        }
        let status = resp.status;
        let state = self.calls[i].state.clone();
        if self.calls[i].refer_of.is_some() {
            // A call placed for a REFER: its steps go back to the transferor.
            let new = self.calls[i].handle;
            let retrying_auth = (status == 401 || status == 407) && self.calls[i].auth_tries < 2;
            match state {
                CallState::Calling
                    if status == 180 || status == 183 || (status >= 200 && !retrying_auth) =>
                {
                    self.referral_progress(new, status, &resp.reason.clone(), now)
                }
                CallState::Cancelling { .. } if status >= 200 => {
                    self.referral_progress(new, 487, "Request Terminated", now)
                }
                _ => {}
            }
        }
        let Some(i) = self
            .calls
            .iter()
            .position(|c| c.invite_key.as_ref() == Some(&key))
        else {
            return;
        };
        match (state, status) {
            (_, 100) => {}
            (CallState::Calling, 181) => {
                let (to, reason) = forwarded_to(&resp);
                self.events.push_back(Event::Forwarded {
                    call: self.calls[i].handle,
                    to,
                    reason,
                });
            }
            (CallState::Calling, 101..=199) if (status == 180 || status == 183) => {
                self.events.push_back(Event::Ringing {
                    call: self.calls[i].handle,
                });
            }
            (CallState::Cancelling { cancel_sent: false }, 101..=199) => {
                let cancel = cancel_for(&self.calls[i].invite);
                self.tx.send_request(cancel, (), true, now);
                self.calls[i].state = CallState::Cancelling { cancel_sent: true };
            }
            (CallState::Calling | CallState::Cancelling { .. }, 200..=299) => {
                let cancelling = matches!(self.calls[i].state, CallState::Cancelling { .. });
                let Ok(mut dialog) = Dialog::uac(&self.calls[i].invite, &resp) else {
                    self.end(
                        i,
                        "The other side answered with a broken message",
                        Some(status),
                        true,
                    );
                    return;
                };
                let via = self.via();
                let seq = self.calls[i].invite.cseq().map_or(1, |c| c.seq);
                let ack = dialog.request(Method::Ack, &via, Some(seq));
                self.calls[i].last_2xx_or_ack = Some(Message::Request(ack.clone()));
                self.tx.send_stateless(Message::Request(ack), ());
                self.calls[i].dialog = Some(dialog);
                if cancelling {
                    self.send_in_dialog(i, Method::Bye, now);
                    self.calls.remove(i);
                } else {
                    self.calls[i].state = CallState::Connected;
                    let sdp = String::from_utf8_lossy(&resp.body).into_owned();
                    self.events.push_back(Event::Answered {
                        call: self.calls[i].handle,
                        sdp,
                    });
                }
            }
            (CallState::Connected, 200..=299) => {
                // A retransmitted 2xx (ACK again) or the answer to our re-INVITE.
                let is_reinvite = self.calls[i].invite.to_tag().is_some();
                let seq = self.calls[i].invite.cseq().map_or(1, |c| c.seq);
                let via = self.via();
                if let Some(dialog) = self.calls[i].dialog.as_mut() {
                    if is_reinvite {
                        dialog.on_refresh_response(&resp);
                    }
                    let ack = dialog.request(Method::Ack, &via, Some(seq));
                    self.tx.send_stateless(Message::Request(ack), ());
                }
                if is_reinvite && !resp.body.is_empty() {
                    let sdp = String::from_utf8_lossy(&resp.body).into_owned();
                    self.events.push_back(Event::Answered {
                        call: self.calls[i].handle,
                        sdp,
                    });
                }
            }
            (CallState::Calling, 401 | 407) if self.calls[i].auth_tries < 2 => {
                self.calls[i].auth_tries += 1;
                let old = self.calls[i].invite.clone();
                match self.authorize(&old, &resp) {
                    Some((name, creds)) => {
                        let mut r = old;
                        let via = self.via();
                        r.headers.set("Via", via);
                        let seq = r.cseq().map_or(1, |c| c.seq) + 1;
                        r.headers.set(
                            "CSeq",
                            CSeq {
                                seq,
                                method: Method::Invite,
                            }
                            .to_string(),
                        );
                        r.headers.remove("Authorization");
                        r.headers.remove("Proxy-Authorization");
                        r.headers.push(name, creds.to_string());
                        self.calls[i].invite = r.clone();
                        self.calls[i].invite_key = Some(self.tx.send_request(r, (), true, now));
                    }
                    None => self.end(
                        i,
                        "The phone system asked for an unsupported login",
                        Some(status),
                        true,
                    ),
                }
            }
            (CallState::Calling, _) if status >= 300 => {
                let reason = match status {
                    404 => "No such extension".to_string(),
                    480 => "Not available: nobody is logged in on that extension".to_string(),
                    486 | 600 => "Busy".to_string(),
                    603 => "Declined".to_string(),
                    // The gateway's reason for a refusal (in brackets) says what to do.
                    403 if resp.reason.contains('(') => {
                        format!("The phone system refused the call: {}", resp.reason)
                    }
                    401 | 407 | 403 => "The phone system refused the call".to_string(),
                    408 => "No answer".to_string(),
                    487 => "Call cancelled".to_string(),
                    482 => "Forwarding loop: the call could not be completed".to_string(),
                    _ => format!("Call failed: {} {}", status, resp.reason),
                };
                self.calls[i].phrase = Some(resp.reason.clone());
                self.end(i, &reason, Some(status), true);
            }
            (CallState::Cancelling { .. }, 300..) => {
                self.calls.remove(i);
            }
            _ => {}
        }
    }

    fn on_register_response(&mut self, resp: Response, now: Instant) {
        self.reg.key = None;
        if resp.status == 403
            && !self.reg.removing
            && let Some(refusal) = Refusal::from_reason(&resp.reason)
        {
            self.reg.auth_refused = false;
            self.reg.refusal = Some(refusal);
            if refusal == Refusal::TooManyDevices {
                // A device may be removed meanwhile.
                self.reg.refresh_at = Some(now + 60_000);
            }
            let words = refusal.words().to_string();
            self.set_reg_state(RegistrationState::Failed(words));
            return;
        }
        match resp.status {
            100..=199 => {}
            200..=299 => {
                self.reg.auth_tries = 0;
                if self.reg.removing {
                    return;
                }
                let mine = resp
                    .contacts()
                    .into_iter()
                    .find(|c| c.uri.user.as_deref() == Some(self.contact_user.as_str()));
                let expires = mine
                    .and_then(|c| {
                        c.params
                            .value("expires")
                            .and_then(|e| e.parse::<u64>().ok())
                    })
                    .or_else(|| resp.expires().map(u64::from))
                    .unwrap_or(u64::from(self.cfg.expires))
                    .max(10);
                // Refresh well before expiry (RFC 5626: at most 0.8 of the lifetime... minus a margin).
                self.reg.refresh_at = Some(now + expires * 1000 * 3 / 4);
                self.set_reg_state(RegistrationState::Registered);
                if std::mem::take(&mut self.resubscribe_on_register)
                    && self.want_directory
                    && self.directory.is_none()
                {
                    self.resubscribe_at = None;
                    self.send_directory_subscribe(now);
                }
            }
            401 | 407 if self.reg.auth_tries < 2 => {
                self.reg.auth_tries += 1;
                let stale = resp
                    .headers
                    .all(if resp.status == 401 {
                        "WWW-Authenticate"
                    } else {
                        "Proxy-Authenticate"
                    })
                    .filter_map(Challenge::parse)
                    .any(|c| c.stale);
                if self.reg.auth_tries > 1 && !stale {
                    self.fail_registration("Wrong extension or password", true);
                    return;
                }
                let mut probe = Request::new(Method::Register, Uri::sip(None, &self.cfg.domain));
                probe.headers.push("CSeq", "1 REGISTER");
                match self.authorize(&probe, &resp) {
                    Some(auth) => self.send_register(now, Some(auth)),
                    None => self.fail_registration(
                        "The phone system asked for an unsupported login method",
                        false,
                    ),
                }
            }
            401 | 403 | 407 => {
                self.fail_registration("Wrong extension or password", true);
            }
            423 => {
                if let Some(min) = resp
                    .headers
                    .get("Min-Expires")
                    .and_then(|v| v.trim().parse().ok())
                {
                    self.cfg.expires = min;
                    self.send_register(now, None);
                }
            }
            status => {
                self.fail_registration(
                    &format!("Registration refused: {status} {}", resp.reason),
                    false,
                );
                self.reg.refresh_at = Some(now + 30_000);
            }
        }
    }

    fn on_stray_response(&mut self, resp: Response) {
        // A 2xx retransmission after the INVITE transaction ended: ACK it again.
        if !(200..300).contains(&resp.status)
            || resp.cseq().map(|c| c.method) != Some(Method::Invite)
        {
            return;
        }
        if let Some(call) = self
            .calls
            .iter()
            .find(|c| c.dialog.as_ref().is_some_and(|d| d.matches(&resp, false)))
            && let Some(ack @ Message::Request(_)) = &call.last_2xx_or_ack
        {
            self.transmit.push_back(ack.to_string());
        }
    }

    fn on_ack(&mut self, ack: Request) {
        if let Some(call) = self
            .calls
            .iter_mut()
            .find(|c| c.dialog.as_ref().is_some_and(|d| d.matches(&ack, true)))
            && matches!(call.state, CallState::Answered { .. })
        {
            call.state = CallState::Connected;
            let handle = call.handle;
            self.events.push_back(Event::Connected { call: handle });
            // A hold asked for before the ACK.
            if let Some(i) = self.calls.iter().position(|c| c.handle == handle) {
                self.kick(i, 0);
            }
        }
    }

    fn on_request(&mut self, key: TxKey, req: Request, now: Instant) {
        let in_dialog = req.to_tag().is_some();
        if req.method == Method::Cancel {
            self.on_cancel(key, req, now);
            return;
        }
        if req.method == Method::Notify {
            self.on_notify(key, req, now);
            return;
        }
        if in_dialog {
            self.on_in_dialog_request(key, req, now);
            return;
        }
        match req.method {
            Method::Invite => self.on_invite(key, req, now),
            Method::Options => {
                let mut ok = req.response(200, "OK");
                ok.headers.push("Allow", ALLOW);
                self.tx.send_response(&key, ok, now);
            }
            _ => {
                let mut r = req.response(405, "Method Not Allowed");
                r.headers.push("Allow", ALLOW);
                self.tx.send_response(&key, r, now);
            }
        }
    }

    fn on_invite(&mut self, key: TxKey, req: Request, now: Instant) {
        // The policy: another call waits, unless call waiting is off or the line is full.
        let going_on = self.calls.iter().filter(|c| c.live()).count();
        let tag = self.rng.token(10);
        // An attended transfer: this call takes the place of one of ours (RFC 3891).
        let replaces = match req.headers.get("Replaces") {
            None => None,
            Some(r) => match self.replaced_call(r) {
                Some(h) => Some(h),
                None => {
                    let mut r =
                        req.response(481, "Call/Transaction Does Not Exist (nothing to replace)");
                    r.set_to_tag(&tag);
                    self.tx.send_response(&key, r, now);
                    return;
                }
            },
        };
        let busy = replaces.is_none()
            && (going_on >= MAX_CALLS || (going_on > 0 && !self.cfg.call_waiting));
        if busy {
            let mut r = req.response(486, "Busy Here");
            r.set_to_tag(&tag);
            self.tx.send_response(&key, r, now);
            return;
        }
        if req
            .content_type()
            .is_none_or(|c| !c.to_ascii_lowercase().starts_with("application/sdp"))
            || req.body.is_empty()
        {
            let mut r = req.response(488, "Not Acceptable Here (an SDP offer is required)");
            r.set_to_tag(&tag);
            self.tx.send_response(&key, r, now);
            return;
        }
        let Ok(dialog) = Dialog::uas(&req, &tag) else {
            let mut r = req.response(400, "Bad Request (missing Contact)");
            r.set_to_tag(&tag);
            self.tx.send_response(&key, r, now);
            return;
        };
        let mut ringing = dialog_response(&req, 180, "Ringing");
        ringing.set_to_tag(&tag);
        ringing
            .headers
            .push("Contact", format!("<{}>", self.contact_uri()));
        self.tx.send_response(&key, ringing, now);
        let handle = CallHandle(self.next_call);
        self.next_call += 1;
        let from = req.from();
        let sdp = String::from_utf8_lossy(&req.body).into_owned();
        let diverted_from = diversion_of(&req);
        let mut call = Call::new(handle, Direction::Incoming, CallState::Ringing, req);
        call.invite_key = Some(key);
        call.dialog = Some(dialog);
        call.replaces = replaces;
        self.calls.push(call);
        self.events.push_back(Event::IncomingCall {
            call: handle,
            from_user: from
                .as_ref()
                .and_then(|f| f.uri.user.clone())
                .unwrap_or_else(|| "unknown".into()),
            from_display: from.and_then(|f| f.display),
            sdp,
            diverted_from,
            waiting: going_on > 0 && replaces.is_none(),
            replaces,
        });
    }

    fn on_cancel(&mut self, key: TxKey, req: Request, now: Instant) {
        let invite_key = key.invite_of_cancel();
        let Some(i) = self
            .calls
            .iter()
            .position(|c| c.invite_key.as_ref() == Some(&invite_key))
        else {
            self.tx.send_response(
                &key,
                req.response(481, "Call/Transaction Does Not Exist"),
                now,
            );
            return;
        };
        self.tx.send_response(&key, req.response(200, "OK"), now);
        if self.calls[i].state == CallState::Ringing
            && self.calls[i].direction == Direction::Incoming
        {
            self.refuse_incoming(i, 487, "Request Terminated", now);
            if completed_elsewhere(&req) {
                self.end_with(i, "Answered on another device", None, true, true);
            } else {
                self.end(i, "Missed call: the caller hung up", None, true);
            }
        }
    }

    fn on_in_dialog_request(&mut self, key: TxKey, req: Request, now: Instant) {
        let Some(i) = self
            .calls
            .iter()
            .position(|c| c.dialog.as_ref().is_some_and(|d| d.matches(&req, true)))
        else {
            self.tx.send_response(
                &key,
                req.response(481, "Call/Transaction Does Not Exist"),
                now,
            );
            return;
        };
        if let Some(d) = self.calls[i].dialog.as_mut()
            && d.on_request(&req).is_err()
        {
            self.tx.send_response(
                &key,
                req.response(500, "Server Internal Error (CSeq out of order)"),
                now,
            );
            return;
        }
        match req.method {
            Method::Bye => {
                self.tx.send_response(&key, req.response(200, "OK"), now);
                self.end(i, "The other side hung up", None, true);
            }
            Method::Invite | Method::Update
                if !req.body.is_empty()
                    && matches!(
                        self.calls[i].offer,
                        Offer::Preparing { .. } | Offer::Sent { .. }
                    ) =>
            {
                // Our own offer is under way (RFC 3261 14.2, RFC 3311 5.2).
                self.tx
                    .send_response(&key, req.response(491, "Request Pending"), now);
            }
            Method::Invite | Method::Update
                if !req.body.is_empty() && self.calls[i].pending_reoffer.is_some() =>
            {
                let mut r = req.response(500, "Server Internal Error (an offer is pending)");
                r.headers
                    .push("Retry-After", (self.rng.next_u64() % 10).to_string());
                self.tx.send_response(&key, r, now);
            }
            Method::Invite | Method::Update if !req.body.is_empty() => {
                let sdp = String::from_utf8_lossy(&req.body).into_owned();
                self.calls[i].pending_reoffer = Some(key.clone());
                self.pending_requests.push((key, req));
                self.events.push_back(Event::Reoffer {
                    call: self.calls[i].handle,
                    sdp,
                });
            }
            Method::Refer => self.on_refer(i, key, req, now),
            Method::Notify => self.on_refer_notify(i, key, req, now),
            Method::Invite => {
                // An offer-less re-INVITE: offer our current SDP again.
                let mut ok = req.response(200, "OK");
                ok.headers
                    .push("Contact", format!("<{}>", self.contact_uri()));
                ok.headers.push("Content-Type", "application/sdp");
                ok.body = self.calls[i].local_sdp.clone().into_bytes();
                self.tx.send_response(&key, ok, now);
            }
            _ => {
                if req.method == Method::Info {
                    self.on_info_dtmf(i, &req);
                }
                let mut ok = req.response(200, "OK");
                ok.headers.push("Allow", ALLOW);
                self.tx.send_response(&key, ok, now);
            }
        }
    }
}

/// The directory's presence subscription (RFC 6665 subscriber, RFC 4662 list).
impl UserAgent {
    /// Subscribes to the company directory's presence: a SUBSCRIBE to
    /// `sip:directory@<domain>` (`Event: presence`, `Supported: eventlist`, `Expires: 600`).
    /// The server answers with a full list NOTIFY, then partial ones; each becomes an
    /// [`Event::Presence`]. A 401/407 is answered with the registration's credentials, the
    /// subscription is refreshed at 2/3 of the granted lifetime, and when it ends
    /// ([`Event::PresenceLost`]) the user agent subscribes again after the server's
    /// `retry-after` (else 30 s).
    ///
    /// The wish is kept until `unsubscribe_directory`, across `disconnected` and
    /// `connected`: after a reconnect the directory is subscribed to again by itself, once
    /// the registration succeeds (or 5 s after `connected` at the latest), so the web app
    /// calls this once after login. Not connected: it subscribes when connected. A
    /// subscription already under way is left as it is.
    pub fn subscribe_directory(&mut self, now: Instant) {
        self.want_directory = true;
        if self.directory.as_ref().is_some_and(|d| !d.ending) {
            return;
        }
        self.directory = None;
        if !self.connected {
            return;
        }
        self.resubscribe_at = None;
        self.resubscribe_on_register = false;
        self.send_directory_subscribe(now);
    }

    /// Ends the directory subscription (SUBSCRIBE with `Expires: 0`) and stops subscribing
    /// again. The server's final NOTIFY is answered (its body, if any, still comes as an
    /// `Event::Presence`); no `Event::PresenceLost` follows.
    pub fn unsubscribe_directory(&mut self, now: Instant) {
        self.want_directory = false;
        self.resubscribe_at = None;
        self.resubscribe_on_register = false;
        if !self.connected {
            self.directory = None;
            return;
        }
        let Some(sub) = self.directory.as_mut() else {
            return;
        };
        if sub.ending {
            return;
        }
        sub.ending = true;
        sub.refresh_at = Some(now + DIRECTORY_LINGER_MS);
        // With a SUBSCRIBE under way, the Expires: 0 goes when it is answered.
        if sub.dialog.is_some() && sub.key.is_none() {
            self.send_directory_refresh(0, now);
        }
    }

    /// Whether a directory subscription exists (under way, active or ending).
    pub fn directory_subscribed(&self) -> bool {
        self.directory.is_some()
    }

    /// A request outside any dialog to `uri`: Via, Max-Forwards, To, From with a new tag,
    /// a new Call-ID and CSeq 1. Returns it with its tag and Call-ID.
    fn new_request(&mut self, method: Method, uri: Uri) -> (Request, String, String) {
        let mut r = Request::new(method.clone(), uri.clone());
        let via = self.via();
        r.headers.push("Via", via);
        r.headers.push("Max-Forwards", "70");
        r.headers.push("To", format!("<{uri}>"));
        let tag = self.rng.token(10);
        r.headers.push("From", self.local_from(&tag));
        let call_id = self.rng.token(22);
        r.headers.push("Call-ID", call_id.clone());
        r.headers.push("CSeq", format!("1 {method}"));
        (r, tag, call_id)
    }

    /// A new subscription: new Call-ID and From tag, out of any dialog.
    fn send_directory_subscribe(&mut self, now: Instant) {
        let uri = Uri::sip(Some("directory"), &self.cfg.domain);
        let (mut r, tag, call_id) = self.new_request(Method::Subscribe, uri);
        subscribe_headers(
            &mut r,
            &self.contact_uri(),
            &self.cfg.user_agent,
            DIRECTORY_EXPIRES,
        );
        let key = self.tx.send_request(r.clone(), (), true, now);
        self.directory = Some(Subscription {
            call_id,
            from_tag: tag,
            last: r,
            key: Some(key),
            dialog: None,
            auth_tries: 0,
            refresh_at: None,
            ending: false,
        });
        self.drain(now);
    }

    /// An in-dialog SUBSCRIBE: a refresh, or `Expires: 0` to end the subscription.
    fn send_directory_refresh(&mut self, expires: u32, now: Instant) {
        let via = self.via();
        let contact = self.contact_uri();
        let Some(sub) = self.directory.as_mut() else {
            return;
        };
        let Some(dialog) = sub.dialog.as_mut() else {
            return;
        };
        let mut r = dialog.request(Method::Subscribe, &via, None);
        subscribe_headers(&mut r, &contact, &self.cfg.user_agent, expires);
        sub.auth_tries = 0;
        sub.last = r.clone();
        sub.key = Some(self.tx.send_request(r, (), true, now));
        self.drain(now);
    }

    /// Sends the last SUBSCRIBE again with a new branch and CSeq, `auth` (credentials for a
    /// challenge) and `expires` (after a 423) when given.
    fn resend_subscribe(
        &mut self,
        auth: Option<(&'static str, Credentials)>,
        expires: Option<u32>,
        now: Instant,
    ) {
        let via = self.via();
        let Some(sub) = self.directory.as_mut() else {
            return;
        };
        let mut r = sub.last.clone();
        r.headers.set("Via", via);
        let seq = r.cseq().map_or(1, |c| c.seq) + 1;
        r.headers.set(
            "CSeq",
            CSeq {
                seq,
                method: Method::Subscribe,
            }
            .to_string(),
        );
        if let Some(e) = expires {
            r.headers.set("Expires", e.to_string());
        }
        if let Some((name, creds)) = auth {
            r.headers.remove("Authorization");
            r.headers.remove("Proxy-Authorization");
            r.headers.push(name, creds.to_string());
        }
        if let Some(d) = sub.dialog.as_mut() {
            d.local_seq = d.local_seq.max(seq);
        }
        sub.last = r.clone();
        sub.key = Some(self.tx.send_request(r, (), true, now));
        self.drain(now);
    }

    fn on_subscribe_response(&mut self, resp: Response, now: Instant) {
        let Some(sub) = self.directory.as_mut() else {
            return;
        };
        if resp.status < 200 {
            return;
        }
        sub.key = None;
        match resp.status {
            200..=299 => {
                sub.auth_tries = 0;
                if sub.dialog.is_none() {
                    sub.dialog = subscription_dialog(&sub.last, &resp);
                }
                let asked = sub.last.expires().unwrap_or(DIRECTORY_EXPIRES);
                if sub.ending {
                    // Unsubscribed while this SUBSCRIBE was under way: end it now.
                    if asked != 0 {
                        self.send_directory_refresh(0, now);
                    }
                    return;
                }
                let granted = resp.expires().unwrap_or(asked).max(10);
                sub.refresh_at = Some(now + u64::from(granted) * 1000 * 2 / 3);
            }
            401 | 407 if sub.auth_tries < 2 => {
                sub.auth_tries += 1;
                let last = sub.last.clone();
                match self.authorize(&last, &resp) {
                    Some(auth) => self.resend_subscribe(Some(auth), None, now),
                    None => self.directory_failed(
                        "The phone system asked for an unsupported login method".into(),
                        None,
                        now,
                    ),
                }
            }
            423 if !sub.ending => {
                match resp
                    .headers
                    .get("Min-Expires")
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .filter(|m| (1..=86_400).contains(m))
                {
                    Some(min) => self.resend_subscribe(None, Some(min), now),
                    None => self.directory_failed(
                        "The phone system refused the directory subscription: 423 without Min-Expires"
                            .into(),
                        None,
                        now,
                    ),
                }
            }
            status => {
                let retry = retry_after(resp.headers.get("Retry-After"));
                self.directory_failed(
                    format!(
                        "The phone system refused the directory subscription: {status} {}",
                        resp.reason
                    ),
                    retry,
                    now,
                );
            }
        }
    }

    /// The subscription is over without our asking: tell the UI and plan a new one.
    fn directory_failed(&mut self, reason: String, retry_after_s: Option<u64>, now: Instant) {
        let Some(sub) = self.directory.take() else {
            return;
        };
        if sub.ending {
            return;
        }
        self.events.push_back(Event::PresenceLost { reason });
        if self.want_directory {
            let wait = retry_after_s.map_or(DIRECTORY_RETRY_MS, |s| s.min(3600) * 1000);
            self.resubscribe_at = Some(now + wait);
        }
    }

    fn directory_timers(&mut self, now: Instant) {
        if let Some(sub) = self.directory.as_mut()
            && sub.refresh_at.is_some_and(|t| now >= t)
        {
            sub.refresh_at = None;
            if sub.ending {
                // The final NOTIFY never came: forget the subscription.
                self.directory = None;
            } else if sub.key.is_none() {
                if sub.dialog.is_some() {
                    self.send_directory_refresh(DIRECTORY_EXPIRES, now);
                } else {
                    self.directory = None;
                    self.send_directory_subscribe(now);
                }
            }
        }
        if self.resubscribe_at.is_some_and(|t| now >= t) {
            self.resubscribe_at = None;
            if self.connected && self.want_directory && self.directory.is_none() {
                self.resubscribe_on_register = false;
                self.send_directory_subscribe(now);
            }
        }
    }

    /// A NOTIFY: ours when its Call-ID and To tag are our SUBSCRIBE's and its From tag the
    /// dialog's (or any, before the dialog exists: RFC 6665 4.1.2.4); else 481.
    fn on_notify(&mut self, key: TxKey, req: Request, now: Instant) {
        let to_tag = req.to_tag();
        let from_tag = req.from_tag();
        let ours = self.directory.as_ref().is_some_and(|s| {
            req.call_id() == Some(s.call_id.as_str())
                && to_tag.as_deref() == Some(s.from_tag.as_str())
                && match &s.dialog {
                    Some(d) => from_tag.as_deref() == Some(d.id.remote_tag.as_str()),
                    None => from_tag.is_some(),
                }
        });
        if !ours
            && self
                .calls
                .iter()
                .any(|c| c.dialog.as_ref().is_some_and(|d| d.matches(&req, true)))
        {
            // A NOTIFY inside a call (e.g. a REFER's) is the call's, as before.
            self.on_in_dialog_request(key, req, now);
            return;
        }
        let Some(sub) = self.directory.as_mut().filter(|_| ours) else {
            self.tx
                .send_response(&key, req.response(481, "Subscription Does Not Exist"), now);
            return;
        };
        let event = req
            .headers
            .get("Event")
            .and_then(|e| e.split(';').next())
            .map(str::trim);
        if !event.is_some_and(|e| e.eq_ignore_ascii_case("presence")) {
            self.tx
                .send_response(&key, req.response(489, "Bad Event"), now);
            return;
        }
        match sub.dialog.as_mut() {
            Some(d) => {
                if d.on_request(&req).is_err() {
                    self.tx.send_response(
                        &key,
                        req.response(500, "Server Internal Error (CSeq out of order)"),
                        now,
                    );
                    return;
                }
            }
            None => match Dialog::uas(&req, &sub.from_tag) {
                // The NOTIFY came before the 2xx: it makes the dialog.
                Ok(mut d) => {
                    d.role = Role::Uac;
                    d.local_seq = sub.last.cseq().map_or(1, |c| c.seq);
                    sub.dialog = Some(d);
                }
                Err(_) => {
                    self.tx.send_response(
                        &key,
                        req.response(400, "Bad Request (missing Contact)"),
                        now,
                    );
                    return;
                }
            },
        }
        let list = if req.body.is_empty() {
            None
        } else {
            let parsed = std::str::from_utf8(&req.body)
                .map_err(|_| "the body is not UTF-8".to_string())
                .and_then(|body| {
                    parse_list_notify(req.content_type().unwrap_or(""), body)
                        .map_err(|e| e.to_string())
                });
            match parsed {
                Ok(list) => Some(list),
                Err(why) => {
                    let why: String = why.chars().filter(|c| !c.is_control()).take(120).collect();
                    self.tx.send_response(
                        &key,
                        req.response(400, &format!("Bad Request ({why})")),
                        now,
                    );
                    return;
                }
            }
        };
        self.tx.send_response(&key, req.response(200, "OK"), now);
        if let Some(list) = list {
            self.events.push_back(Event::Presence(list));
        }
        let state = req.headers.get("Subscription-State").unwrap_or("active");
        let value = state.split(';').next().unwrap_or("").trim();
        if value.eq_ignore_ascii_case("terminated") {
            let reason = state_param(state, "reason").unwrap_or("no reason given");
            let reason = format!("The phone system ended the directory subscription ({reason})");
            let retry = retry_after(state_param(state, "retry-after"));
            self.directory_failed(reason, retry, now);
        } else if let Some(expires) =
            state_param(state, "expires").and_then(|e| e.trim().parse::<u64>().ok())
            && let Some(sub) = self.directory.as_mut()
            && !sub.ending
        {
            // The notifier may shorten the subscription: refresh before it runs out.
            let at = now + expires.max(10) * 1000 * 2 / 3;
            sub.refresh_at = Some(sub.refresh_at.map_or(at, |t| t.min(at)));
        }
    }
}

/// The headers every directory SUBSCRIBE carries.
fn subscribe_headers(r: &mut Request, contact: &str, user_agent: &str, expires: u32) {
    r.headers.push("Contact", format!("<{contact}>"));
    r.headers.push("Event", "presence");
    r.headers.push(
        "Accept",
        "application/pidf+xml, application/rlmi+xml, multipart/related",
    );
    r.headers.push("Supported", "eventlist");
    r.headers.push("Expires", expires.to_string());
    r.headers.push("Allow", ALLOW);
    r.headers.push("User-Agent", user_agent);
}

/// The subscription's dialog from our SUBSCRIBE and its 2xx. A 2xx without the Contact
/// RFC 6665 requires targets the Request-URI.
fn subscription_dialog(req: &Request, resp: &Response) -> Option<Dialog> {
    Dialog::uac(req, resp).ok().or_else(|| {
        let mut r = resp.clone();
        r.headers.push("Contact", format!("<{}>", req.uri));
        Dialog::uac(req, &r).ok()
    })
}

/// A parameter of a Subscription-State value (`terminated;reason=timeout;retry-after=60`).
fn state_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

/// Seconds from a Retry-After header or `retry-after` parameter ("120", "120 (busy)").
fn retry_after(v: Option<&str>) -> Option<u64> {
    let v = v?.trim();
    let digits: &str = &v[..v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len())];
    digits.parse().ok()
}

/// A header's comma-separated entries, commas inside quotes or `<>` left alone (History-Info
/// and Diversion are not split when parsed).
fn list_entries<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out = Vec::new();
    for v in values {
        let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0);
        for (i, c) in v.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '<' if !quoted => angle = true,
                '>' if !quoted => angle = false,
                ',' if !quoted && !angle => {
                    out.push(v[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.push(v[start..].trim());
    }
    out.retain(|e| !e.is_empty());
    out
}

/// A 181's new target: the last History-Info entry and the siblings before it (a group
/// rung together: the same parent, from `mp` or the index without its last part), and why
/// (the last one's `cause`).
fn forwarded_to(resp: &Response) -> (Vec<Party>, ForwardReason) {
    let entries: Vec<(Party, Option<u16>, Option<String>)> =
        list_entries(resp.headers.all("History-Info"))
            .into_iter()
            .filter_map(|e| {
                let (party, cause) = Party::parse(e)?;
                let params = NameAddr::parse(e).ok()?.params;
                let parent = params.value("mp").map(str::to_string).or_else(|| {
                    params
                        .value("index")
                        .and_then(|i| i.rsplit_once('.'))
                        .map(|(p, _)| p.to_string())
                });
                Some((party, cause, parent))
            })
            .collect();
    let Some((_, cause, parent)) = entries.last() else {
        return (Vec::new(), ForwardReason::Other);
    };
    let reason = cause.map_or(ForwardReason::Other, ForwardReason::from_cause);
    let siblings = match parent {
        Some(parent) => entries
            .iter()
            .rev()
            .take_while(|(_, _, p)| p.as_ref() == Some(parent))
            .count(),
        None => 1,
    };
    let to = entries[entries.len() - siblings..]
        .iter()
        .map(|(p, _, _)| p.clone())
        .collect();
    (to, reason)
}

/// Who forwarded an incoming INVITE to us: the topmost Diversion entry (RFC 5806: the most
/// recent), else the History-Info entry before the last (the last is us).
fn diversion_of(req: &Request) -> Option<Diversion> {
    if let Some(first) = list_entries(req.headers.all("Diversion")).first() {
        let na = NameAddr::parse(first).ok();
        if let Some((from, _)) = Party::parse(first) {
            let params = na.map(|n| n.params).unwrap_or_default();
            return Some(Diversion {
                from,
                reason: params
                    .value("reason")
                    .map_or(ForwardReason::Other, ForwardReason::from_diversion),
                count: params
                    .value("counter")
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or(1)
                    .max(1),
            });
        }
    }
    let entries: Vec<(Party, Option<u16>)> = list_entries(req.headers.all("History-Info"))
        .into_iter()
        .filter_map(Party::parse)
        .collect();
    if entries.len() < 2 {
        return None;
    }
    let (us, cause) = &entries[entries.len() - 1];
    let (from, _) = &entries[entries.len() - 2];
    (from.user != us.user).then(|| Diversion {
        from: from.clone(),
        reason: cause.map_or(ForwardReason::Other, ForwardReason::from_cause),
        count: entries.len() as u32 - 1,
    })
}

/// Whether a CANCEL says the call was answered elsewhere: `Reason: SIP;cause=200` (RFC 3326).
fn completed_elsewhere(req: &Request) -> bool {
    list_entries(req.headers.all("Reason"))
        .into_iter()
        .any(|r| {
            let mut parts = r.split(';');
            let protocol = parts.next().unwrap_or("").trim();
            protocol.eq_ignore_ascii_case("SIP")
                && parts.any(|p| {
                    p.split_once('=').is_some_and(|(n, v)| {
                        n.trim().eq_ignore_ascii_case("cause") && v.trim() == "200"
                    })
                })
        })
}

/// A response that creates or confirms a dialog: Record-Route is copied (RFC 3261 12.1.1), so
/// the caller's in-dialog requests go through the same proxies.
fn dialog_response(req: &Request, status: u16, reason: &str) -> Response {
    let mut r = req.response(status, reason);
    for rr in req.headers.all("Record-Route") {
        r.headers.push("Record-Route", rr);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_datagram;

    /// The next REGISTER the user agent sends.
    fn next_register(ua: &mut UserAgent) -> Request {
        while let Some(text) = ua.poll_transmit() {
            if let Ok(Message::Request(r)) = parse_datagram(text.as_bytes())
                && r.method == Method::Register
            {
                return r;
            }
        }
        panic!("no REGISTER sent");
    }

    /// Answers `req` with a 401 digest challenge.
    fn challenge(ua: &mut UserAgent, req: &Request, now: Instant) {
        let mut r = req.response(401, "Unauthorized");
        r.set_to_tag("reg");
        r.headers.push(
            "WWW-Authenticate",
            "Digest realm=\"demo.centrala.local\", nonce=\"n1\", qop=\"auth\", algorithm=MD5",
        );
        ua.handle_message(&r.to_bytes(), now);
    }

    fn credentials(req: &Request) -> Credentials {
        Credentials::parse(req.headers.get("Authorization").expect("Authorization"))
            .expect("valid credentials")
    }

    fn password_matches(c: &Credentials, user: &str, password: &str) -> bool {
        let ha1 = crate::digest::ha1(c.algorithm, user, &c.realm, password);
        c.verify("REGISTER", &ha1)
    }

    #[test]
    fn authorization_carries_the_auth_user_when_set() {
        let mut cfg = UaConfig::new("101", "demo.centrala.local", "cred-1");
        cfg.auth_user = Some("1764300000:101".into());
        let mut ua = UserAgent::new(cfg, [7; 32]);
        ua.connected(0);
        let first = next_register(&mut ua);
        assert!(first.headers.get("Authorization").is_none());
        // The address of record stays the extension.
        assert!(first.headers.get("From").unwrap().contains("sip:101@"));
        challenge(&mut ua, &first, 10);
        let second = next_register(&mut ua);
        let c = credentials(&second);
        assert_eq!(c.username, "1764300000:101");
        assert!(password_matches(&c, "1764300000:101", "cred-1"));
        assert!(second.headers.get("To").unwrap().contains("sip:101@"));
    }

    #[test]
    fn authorization_uses_the_extension_without_an_auth_user() {
        let mut ua = UserAgent::new(UaConfig::new("101", "demo.centrala.local", "pw"), [7; 32]);
        ua.connected(0);
        let first = next_register(&mut ua);
        challenge(&mut ua, &first, 10);
        let c = credentials(&next_register(&mut ua));
        assert_eq!(c.username, "101");
        assert!(password_matches(&c, "101", "pw"));
    }

    #[test]
    fn new_credentials_are_used_by_the_next_refresh() {
        let mut cfg = UaConfig::new("101", "demo.centrala.local", "cred-1");
        cfg.auth_user = Some("1:101".into());
        let mut ua = UserAgent::new(cfg, [9; 32]);
        ua.connected(0);
        let first = next_register(&mut ua);
        challenge(&mut ua, &first, 10);
        let authed = next_register(&mut ua);
        let mut ok = authed.response(200, "OK");
        ok.set_to_tag("reg");
        for c in authed.headers.all("Contact") {
            ok.headers.push("Contact", c);
        }
        ua.handle_message(&ok.to_bytes(), 20);
        assert_eq!(ua.registration(), &RegistrationState::Registered);

        ua.set_credentials(Some("2:101".into()), "cred-2".into());
        // Run the clock to the refresh (well before the 600 s expiry), skipping keepalives.
        let (refresh, now) = loop {
            let now = ua.poll_timeout().expect("a refresh is scheduled");
            ua.handle_timeout(now);
            if let Some(r) = std::iter::from_fn(|| ua.poll_transmit())
                .filter_map(|t| match parse_datagram(t.as_bytes()) {
                    Ok(Message::Request(r)) if r.method == Method::Register => Some(r),
                    _ => None,
                })
                .next()
            {
                break (r, now);
            }
            assert!(now < 600_000, "no refresh before expiry");
        };
        assert_eq!(ua.registration(), &RegistrationState::Registered);
        challenge(&mut ua, &refresh, now + 10);
        let c = credentials(&next_register(&mut ua));
        assert_eq!(c.username, "2:101");
        assert!(password_matches(&c, "2:101", "cred-2"));
    }

    #[test]
    fn a_refused_login_is_reported_and_can_be_retried_with_new_credentials() {
        let mut cfg = UaConfig::new("101", "demo.centrala.local", "old");
        cfg.auth_user = Some("1:101".into());
        let mut ua = UserAgent::new(cfg, [3; 32]);
        ua.connected(0);
        let first = next_register(&mut ua);
        challenge(&mut ua, &first, 10);
        let authed = next_register(&mut ua);
        let forbidden = authed.response(403, "Forbidden");
        ua.handle_message(&forbidden.to_bytes(), 20);
        assert!(matches!(ua.registration(), RegistrationState::Failed(_)));
        assert!(ua.auth_refused());

        ua.set_credentials(Some("2:101".into()), "new".into());
        ua.reregister(30);
        assert_eq!(ua.registration(), &RegistrationState::Registering);
        assert!(!ua.auth_refused());
        let again = next_register(&mut ua);
        challenge(&mut ua, &again, 40);
        assert_eq!(credentials(&next_register(&mut ua)).username, "2:101");
    }

    #[test]
    fn an_sdp_holds_when_every_stream_in_use_is_sendonly_inactive_or_on_0_0_0_0_without_ice() {
        let sdp = |c: &str, dirs: &[&str]| {
            let mut s = format!("v=0\r\no=- 1 1 IN IP4 {c}\r\ns=-\r\nc=IN IP4 {c}\r\nt=0 0\r\n");
            for (i, d) in dirs.iter().enumerate() {
                let port = if d.is_empty() { 0 } else { 4000 + i };
                s += &format!("m=audio {port} RTP/AVP 0\r\n");
                if !d.is_empty() && *d != "none" {
                    s += &format!("a={d}\r\n");
                }
            }
            s.into_bytes()
        };
        assert_eq!(sdp_holds(&sdp("192.0.2.1", &["sendonly"])), Some(true));
        assert_eq!(sdp_holds(&sdp("192.0.2.1", &["inactive"])), Some(true));
        assert_eq!(sdp_holds(&sdp("192.0.2.1", &["sendonly", ""])), Some(true));
        assert_eq!(
            sdp_holds(&sdp("192.0.2.1", &["sendonly", "sendrecv"])),
            Some(false)
        );
        assert_eq!(sdp_holds(&sdp("192.0.2.1", &["recvonly"])), Some(false));
        assert_eq!(sdp_holds(&sdp("192.0.2.1", &["none"])), Some(false));
        assert_eq!(sdp_holds(&sdp("0.0.0.0", &["sendrecv"])), Some(true));
        assert_eq!(
            sdp_holds(&sdp("192.0.2.1", &[""])),
            None,
            "no stream in use"
        );
        // A session-level direction counts for every stream without its own; the last
        // direction of a section counts.
        let session = b"v=0\r\nc=IN IP4 192.0.2.1\r\na=sendonly\r\nm=audio 4000/2 RTP/AVP 0\r\n\
                        m=video 4002 RTP/AVP 96\r\na=recvonly\r\na=inactive\r\n";
        assert_eq!(sdp_holds(session), Some(true));
        let per_stream_zero =
            b"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n";
        assert_eq!(sdp_holds(per_stream_zero), Some(true));
        assert_eq!(
            sdp_holds(b"v=0\nm=audio\nm=\nc=\na=sendonly"),
            None,
            "no port: not in use"
        );
        // With ICE (Firefox), 0.0.0.0 is no hold; the direction still is.
        let firefox = b"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 109\r\n\
                        c=IN IP4 0.0.0.0\r\na=ice-ufrag:8f1e\r\na=sendrecv\r\n";
        assert_eq!(sdp_holds(firefox), Some(false));
        let firefox_holding = b"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 109\r\n\
                                a=ice-ufrag:8f1e\r\na=sendonly\r\n";
        assert_eq!(sdp_holds(firefox_holding), Some(true));
        assert_eq!(sdp_holds(b"not sdp \xff"), None);
        assert_eq!(sdp_holds(b""), None);
    }

    #[test]
    fn other_refusals_are_not_credential_problems() {
        let mut ua = UserAgent::new(UaConfig::new("101", "d", "pw"), [5; 32]);
        ua.connected(0);
        let first = next_register(&mut ua);
        ua.handle_message(&first.response(503, "Busy").to_bytes(), 10);
        assert!(matches!(ua.registration(), RegistrationState::Failed(_)));
        assert!(!ua.auth_refused());
    }
}
