//! The phone: the IO shell around the sans-IO SIP user agent.
//!
//! It owns the user agent, the WebSocket (subprotocol "sip"), one re-armable timer for the
//! user agent's `poll_timeout`, the reconnect timer, each call's media (one
//! `RTCPeerConnection` per call) and the ringtone, and turns what happens into [`Action`]s
//! for the reducer. What a second call does (waits or is busy, holds the first when
//! answered) is the user agent's policy, not decided here: this shell moves bytes and media
//! (it makes the offers the user agent asks for, and applies the answers).
//!
//! Driving the user agent (its contract in `centrala_sip::ua`): every input
//! (`connected`, `handle_message`, `handle_timeout`, `disconnected`, `call`, `answer`,
//! `hangup`…) is followed by [`Inner::pump`], which sends every queued message, handles every
//! event, then re-arms the timer to the new `poll_timeout`.
//!
//! Credentials: the phone logs in with a short-lived SIP credential. [`Phone::set_credentials`]
//! hands it a new one (used from the next authentication on). When the registrar refuses
//! the credential, the phone asks once for a new one (`on_auth_refused`) before it reports
//! the failure; a successful registration re-arms that.
//!
//! Calls: each call gets a generation number. Work that awaits (getUserMedia, ICE gathering)
//! checks afterwards that its generation is still a call going on; if the call ended in the
//! meantime it throws its result away (and closes what it opened).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use centrala_sip::presence::ListResource;
use centrala_sip::ua::{
    CallHandle, CallStatus, Event, Refusal, RegistrationState, TransferProgress, UaConfig,
    UserAgent,
};
use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_sys::{BinaryType, MessageEvent, WebSocket};
use yew::Callback;

use super::browser::{
    call_waiting, instance_id, navigator_user_agent, now_ms, random_seed, random_unit,
};
use super::media::CallMedia;
use super::ringtone::Ringtone;
use super::timer::Timer;
use crate::model::{EndReason, MediaError, PhoneNotice, Presence};
use crate::state::contacts::{PresenceEntry, extension_of};
use crate::state::devices::browser_words;
use crate::state::media_devices::{DeviceKind, DeviceNotice};
use crate::state::transfer::TransferAction;
use crate::state::video::VideoProblem;
use crate::state::{Action, Tone};

/// The WebSocket subprotocol for SIP (RFC 7118).
const SUBPROTOCOL: &str = "sip";
const MAX_BACKOFF_MS: u64 = 30_000;
const STATS_PERIOD_MS: u32 = 1_000;

/// What the phone needs to log in.
pub struct PhoneConfig {
    /// `ws://…/sip` or `wss://…/sip`.
    pub server: String,
    /// The SIP user (our address of record).
    pub extension: String,
    /// The digest username of the SIP credential.
    pub auth_user: String,
    /// The SIP credential; kept in memory only, inside the user agent.
    pub password: String,
    /// The SIP domain (digest realm).
    pub domain: String,
    pub display_name: String,
}

/// A logged-in phone. [`Phone::shutdown`] (or drop) unregisters and closes everything.
pub struct Phone {
    inner: Rc<Inner>,
}

struct Socket {
    ws: WebSocket,
    _listeners: [EventListener; 3],
}

/// One call's resources; dropping it closes the media and stops the stats.
struct ActiveCall {
    generation: u64,
    /// `None` while an outgoing call prepares its offer.
    handle: Option<CallHandle>,
    /// An incoming call's offer, until the user answers.
    remote_offer: Option<String>,
    media: Option<Rc<CallMedia>>,
    connected_at: Option<u64>,
    stats: Option<Interval>,
}

impl Drop for ActiveCall {
    fn drop(&mut self) {
        if let Some(m) = &self.media {
            m.close();
        }
    }
}

struct Inner {
    ua: RefCell<UserAgent>,
    url: String,
    dispatch: Callback<Action>,
    /// The registrar refused the credential: fetch a new one and `set_credentials`.
    on_auth_refused: Callback<()>,
    /// `on_auth_refused` was used since the last successful registration.
    auth_retried: Cell<bool>,
    /// The registrar refused this browser because it was removed from the account; the
    /// phone has stopped.
    on_removed: Callback<()>,
    socket: RefCell<Option<Socket>>,
    sip_timer: Timer,
    reconnect_timer: Timer,
    /// Reconnect attempts since the last successful registration.
    attempt: Cell<u32>,
    registered_once: Cell<bool>,
    /// No more reconnects, events or timers.
    stopped: Cell<bool>,
    shut_down: Cell<bool>,
    calls: RefCell<Vec<ActiveCall>>,
    generation: Cell<u64>,
    /// The ringtone or the waiting tone (`true`), while a call rings here.
    ringtone: RefCell<Option<(bool, Option<Ringtone>)>>,
    /// Why a call that ends now without a SIP status ends, while this shell makes it so
    /// (hanging up, the socket closing…); otherwise the other side hung up.
    end_cause: RefCell<Option<EndReason>>,
    /// Calls that end because they were passed on (transferred, replaced).
    transferred: RefCell<Vec<CallHandle>>,
    /// Consultations: (the held call, the consultation's generation); when a consultation
    /// ends without a transfer, the held call is resumed.
    consults: RefCell<Vec<(CallHandle, u64)>>,
    /// The handles of consultations once placed (the generation is gone once hung up here).
    consult_handles: RefCell<Vec<(CallHandle, CallHandle)>>,
}

/// The wait before reconnect attempt `attempt` (1, 2, 3…): 1 s, 2 s, 4 s … capped at 30 s,
/// each ±20 % by `jitter` in [0, 1) so that many phones do not return at once.
pub fn backoff_ms(attempt: u32, jitter: f64) -> u64 {
    let base = (1000u64 << attempt.saturating_sub(1).min(5)).min(MAX_BACKOFF_MS);
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    ((base as f64 * factor) as u64).min(MAX_BACKOFF_MS)
}

impl Phone {
    /// Creates the user agent and opens the WebSocket; registration follows.
    /// `on_removed`: the registrar says this browser was removed from the account (the phone
    /// has stopped; the app logs out).
    pub fn start(
        cfg: PhoneConfig,
        dispatch: Callback<Action>,
        on_auth_refused: Callback<()>,
        on_removed: Callback<()>,
    ) -> Phone {
        let mut ua_cfg = UaConfig::new(cfg.extension.trim(), &cfg.domain, &cfg.password);
        // The devices page names the device by it: "Centrala web app (Firefox, Linux)".
        ua_cfg.user_agent = format!(
            "Centrala-Web/0.1 ({})",
            browser_words(&navigator_user_agent())
        );
        ua_cfg.auth_user = Some(cfg.auth_user).filter(|u| !u.is_empty());
        ua_cfg.display_name = Some(cfg.display_name).filter(|d| !d.trim().is_empty());
        ua_cfg.secure = cfg.server.starts_with("wss:");
        ua_cfg.instance_id = instance_id();
        ua_cfg.call_waiting = call_waiting();
        let ua = UserAgent::new(ua_cfg, random_seed());
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            let (w1, w2) = (weak.clone(), weak.clone());
            Inner {
                ua: RefCell::new(ua),
                url: cfg.server.trim().to_string(),
                dispatch,
                on_auth_refused,
                auth_retried: Cell::new(false),
                on_removed,
                socket: RefCell::new(None),
                sip_timer: Timer::new(move || {
                    if let Some(i) = w1.upgrade() {
                        i.on_sip_timer();
                    }
                }),
                reconnect_timer: Timer::new(move || {
                    if let Some(i) = w2.upgrade() {
                        i.reconnect_timer.fired();
                        i.open_socket();
                    }
                }),
                attempt: Cell::new(0),
                registered_once: Cell::new(false),
                stopped: Cell::new(false),
                shut_down: Cell::new(false),
                calls: RefCell::new(Vec::new()),
                generation: Cell::new(0),
                ringtone: RefCell::new(None),
                end_cause: RefCell::new(None),
                transferred: RefCell::new(Vec::new()),
                consults: RefCell::new(Vec::new()),
                consult_handles: RefCell::new(Vec::new()),
            }
        });
        // The company's presence list: subscribed once the registration succeeds, and again
        // by the user agent itself after every reconnect.
        inner.ua.borrow_mut().subscribe_directory(now_ms());
        inner.open_socket();
        Phone { inner }
    }

    /// A new SIP credential, for every later authentication (the next REGISTER refresh).
    /// With `reregister`, or when the registrar refused the old one, registers again now.
    pub fn set_credentials(&self, auth_user: String, password: String, reregister: bool) {
        let inner = &self.inner;
        if inner.stopped.get() {
            return;
        }
        {
            let mut ua = inner.ua.borrow_mut();
            ua.set_credentials(Some(auth_user).filter(|u| !u.is_empty()), password);
            if reregister || ua.auth_refused() {
                ua.reregister(now_ms());
            }
        }
        inner.pump();
    }

    /// Calls `target` (an extension or SIP address), with video or audio only. The user
    /// agent holds the calls going on.
    pub fn call(&self, target: String, video: bool) {
        self.inner.place(target, video, None);
    }

    /// Blind transfer: asks the far end of `call` to call `target` instead; the progress
    /// comes from the user agent.
    pub fn transfer(&self, call: CallHandle, target: String) {
        let sent = self.inner.ua.borrow_mut().transfer(call, &target, now_ms());
        self.inner
            .dispatch
            .emit(Action::Transfer(TransferAction::Blind {
                call,
                target,
                sent,
            }));
        self.inner.pump();
    }

    /// Attended transfer, first step: calls `target` about `call` (which the user agent
    /// holds). Hanging that call up returns to `call`.
    pub fn consult(&self, call: CallHandle, target: String) {
        let video = self.inner.media_of(call).is_some_and(|m| m.has_video());
        self.inner.place(target, video, Some(call));
    }

    /// Attended transfer, completed: connects the far ends of `call` and `consultation`.
    pub fn complete_transfer(&self, call: CallHandle, consultation: CallHandle) {
        let sent = self
            .inner
            .ua
            .borrow_mut()
            .transfer_to_call(call, consultation, now_ms());
        if !sent {
            self.inner.dispatch.emit(Action::Sip(Event::Transfer {
                call,
                progress: TransferProgress::Failed {
                    status: None,
                    reason: "The call cannot be transferred now".into(),
                },
            }));
        }
        self.inner.pump();
    }
}

impl Inner {
    /// Places a call to `target` (a consultation about `consult_for` when given).
    fn place(self: &Rc<Self>, target: String, video: bool, consult_for: Option<CallHandle>) {
        let inner = self.clone();
        if inner.stopped.get() || inner.calls.borrow().iter().any(|c| c.handle.is_none()) {
            return; // one call at a time is being prepared
        }
        let generation = inner.new_call(None, None);
        inner.dispatch.emit(Action::OutgoingStarted {
            peer: target.clone(),
            video,
        });
        if let Some(original) = consult_for {
            inner.consults.borrow_mut().push((original, generation));
            inner
                .dispatch
                .emit(Action::Transfer(TransferAction::Consulting { original }));
        }
        spawn_local(async move {
            let Some(media) = inner.open_media(generation, video).await else {
                return;
            };
            let offer = match media.offer().await {
                Ok(sdp) => sdp,
                Err(e) => return inner.fail_local(generation, e),
            };
            if !inner.is_current(generation) {
                return; // hung up while gathering; the media is closed already
            }
            // Ends at once (no status) when the socket is down.
            inner.end_cause_while(EndReason::NotConnected, |inner| {
                let handle = inner.ua.borrow_mut().call(&target, offer, now_ms());
                inner.set_handle(generation, handle);
                inner.dispatch.emit(Action::OutgoingPlaced { call: handle });
                inner.pump();
            });
        });
    }
}

impl Phone {
    /// Answers the incoming call `call`, with video or audio only. The user agent holds the
    /// calls going on.
    pub fn answer(&self, call: CallHandle, video: bool) {
        self.inner.answer(call, video);
    }

    /// Hangs up, cancels or declines call `call` (`None`: the outgoing call still being
    /// prepared). The other calls stay as they are.
    pub fn hangup(&self, call: Option<CallHandle>) {
        let inner = &self.inner;
        let Some(generation) = inner
            .calls
            .borrow()
            .iter()
            .find(|c| c.handle == call)
            .map(|c| c.generation)
        else {
            return;
        };
        inner.drop_call(generation);
        match call {
            // The user agent's Ended event ends the call in the reducer (a declined call with
            // its 603).
            Some(h) => inner.end_cause_while(EndReason::YouHungUp, |inner| {
                inner.ua.borrow_mut().hangup(h, now_ms());
                inner.pump();
            }),
            None => inner.dispatch.emit(Action::CallEnded {
                call: None,
                reason: EndReason::YouHungUp,
            }),
        }
    }

    /// Holds call `call` (a re-INVITE the user agent asks an offer for).
    pub fn hold(&self, call: CallHandle) {
        self.inner.ua.borrow_mut().hold(call, now_ms());
        self.inner.pump();
    }

    /// Resumes call `call`; the user agent holds the others (switching between calls).
    pub fn resume(&self, call: CallHandle) {
        self.inner.ua.borrow_mut().resume(call, now_ms());
        self.inner.pump();
    }

    /// Whether a second incoming call may ring (else the caller hears busy).
    pub fn set_call_waiting(&self, on: bool) {
        self.inner.ua.borrow_mut().set_call_waiting(on);
    }

    pub fn set_muted(&self, call: CallHandle, muted: bool) {
        if let Some(m) = self.inner.media_of(call) {
            m.set_audio_enabled(!muted);
            self.inner.dispatch.emit(Action::Muted { call, muted });
        }
    }

    // Video and Meet & Share (issue 12)

    /// Turns our camera on or off in call `call` (a new offer follows; see
    /// [`Inner::renegotiate`]).
    pub fn set_camera(&self, call: CallHandle, on: bool) {
        self.inner.change_video(call, Change::Camera(on));
    }

    /// Starts or stops sharing the screen in call `call`.
    pub fn set_sharing(&self, call: CallHandle, on: bool) {
        self.inner.change_video(call, Change::Sharing(on));
    }

    /// Ends any call, removes the registration, closes the WebSocket and stops all timers.
    pub fn shutdown(&self) {
        let inner = &self.inner;
        if inner.shut_down.replace(true) {
            return;
        }
        inner.stopped.set(true);
        let now = now_ms();
        let handles: Vec<CallHandle> = inner
            .calls
            .borrow()
            .iter()
            .filter_map(|c| c.handle)
            .collect();
        inner.drop_all();
        {
            let mut ua = inner.ua.borrow_mut();
            for h in handles {
                ua.hangup(h, now);
            }
            ua.unsubscribe_directory(now);
            if inner.registered_once.get() {
                ua.unregister(now); // sends only while connected
            }
        }
        loop {
            let out = inner.ua.borrow_mut().poll_transmit();
            let Some(text) = out else { break };
            inner.send(&text);
        }
        inner.sip_timer.cancel();
        inner.reconnect_timer.cancel();
        let socket = inner.socket.borrow_mut().take();
        if let Some(Socket { ws, _listeners }) = socket {
            drop(_listeners);
            // Queued messages (the BYE, the un-REGISTER) go out before the close frame.
            let _ = ws.close_with_code(1000);
        }
    }

    // Keypad, devices (issue 12)

    /// Sends DTMF digit `digit` in call `call` (RFC 4733, on the call's audio sender).
    pub fn send_dtmf(&self, call: CallHandle, digit: char) {
        let Some(media) = self.inner.media_of(call) else {
            return;
        };
        // RFC 4733 in the media when the far end takes telephone-events; else SIP INFO
        // (what the gateway's media plane and many PBX menus take).
        let sent = media.send_dtmf(&digit.to_string())
            || self
                .inner
                .ua
                .borrow_mut()
                .send_dtmf_info(call, digit, now_ms());
        self.inner.pump();
        let action = if sent {
            Action::DtmfSent { call, digit }
        } else {
            Action::DtmfUnavailable { call }
        };
        self.inner.dispatch.emit(action);
    }

    /// Switches every call's microphone or camera to device `id` (`None`: the default),
    /// live; a failure leaves the call with the device it had and says why.
    pub fn switch_input(&self, kind: DeviceKind, id: Option<String>) {
        let medias: Vec<Rc<CallMedia>> = self
            .inner
            .calls
            .borrow()
            .iter()
            .filter_map(|c| c.media.clone())
            .collect();
        for media in medias {
            let (dispatch, id) = (self.inner.dispatch.clone(), id.clone());
            spawn_local(async move {
                if let Err(e) = media.switch_input(kind, id.as_deref()).await {
                    let notice = DeviceNotice::SwitchFailed(kind, e);
                    dispatch.emit(Action::DeviceNotice(Some(notice)));
                }
            });
        }
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Inner {
    fn open_socket(self: &Rc<Self>) {
        if self.stopped.get() {
            return;
        }
        drop(self.socket.borrow_mut().take()); // the old, closed socket and its listeners
        let Ok(ws) = WebSocket::new_with_str(&self.url, SUBPROTOCOL) else {
            self.on_close(); // a malformed URL: like a socket that never opened
            return;
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let weak = Rc::downgrade(self);
        let on_open = {
            let w = weak.clone();
            EventListener::new(&ws, "open", move |_| {
                if let Some(i) = w.upgrade() {
                    i.on_open();
                }
            })
        };
        let on_message = {
            let w = weak.clone();
            EventListener::new(&ws, "message", move |e| {
                if let (Some(i), Some(e)) = (w.upgrade(), e.dyn_ref::<MessageEvent>()) {
                    i.on_message(e.data());
                }
            })
        };
        let on_close = EventListener::new(&ws, "close", move |_| {
            if let Some(i) = weak.upgrade() {
                i.on_close();
            }
        });
        *self.socket.borrow_mut() = Some(Socket {
            ws,
            _listeners: [on_open, on_message, on_close],
        });
    }

    fn on_open(self: &Rc<Self>) {
        if self.stopped.get() {
            return;
        }
        self.dispatch.emit(Action::SocketOpened);
        self.ua.borrow_mut().connected(now_ms());
        self.pump();
    }

    fn on_message(self: &Rc<Self>, data: JsValue) {
        if self.stopped.get() {
            return;
        }
        let bytes = if let Some(text) = data.as_string() {
            text.into_bytes()
        } else if let Some(buf) = data.dyn_ref::<ArrayBuffer>() {
            Uint8Array::new(buf).to_vec()
        } else {
            return;
        };
        self.ua.borrow_mut().handle_message(&bytes, now_ms());
        self.pump();
    }

    fn on_close(self: &Rc<Self>) {
        if self.stopped.get() {
            return;
        }
        self.end_cause_while(EndReason::ConnectionLost, |inner| {
            inner.ua.borrow_mut().disconnected();
            inner.pump(); // the calls' Ended events
        });
        self.drop_all(); // a call still preparing its media
        // Also when the first socket never opened: the page came from this very gateway, so
        // it is most likely restarting.
        let attempt = self.attempt.get() + 1;
        self.attempt.set(attempt);
        let delay_ms = backoff_ms(attempt, random_unit());
        self.dispatch
            .emit(Action::Reconnecting { attempt, delay_ms });
        let now = now_ms();
        self.reconnect_timer.arm(now + delay_ms, now);
    }

    fn on_sip_timer(self: &Rc<Self>) {
        self.sip_timer.fired();
        if self.stopped.get() {
            return;
        }
        let now = now_ms();
        let due = self.ua.borrow().poll_timeout().is_some_and(|t| now >= t);
        if due {
            self.ua.borrow_mut().handle_timeout(now);
        }
        self.pump();
    }

    fn send(&self, text: &str) {
        if let Some(s) = self.socket.borrow().as_ref() {
            let _ = s.ws.send_with_str(text);
        }
    }

    /// Sends what the user agent queued, handles its events, re-arms its timer.
    fn pump(self: &Rc<Self>) {
        loop {
            loop {
                let out = self.ua.borrow_mut().poll_transmit();
                let Some(text) = out else { break };
                self.send(&text);
            }
            let event = self.ua.borrow_mut().poll_event();
            let Some(event) = event else { break };
            self.on_event(event);
        }
        let next = self.ua.borrow().poll_timeout();
        match next {
            Some(at) if !self.stopped.get() => self.sip_timer.arm(at, now_ms()),
            _ => self.sip_timer.cancel(),
        }
    }

    /// Stops for good without logging out (the registrar refused this device): no more
    /// reconnects, timers or messages.
    fn halt(&self) {
        self.stopped.set(true);
        self.sip_timer.cancel();
        self.reconnect_timer.cancel();
        let socket = self.socket.borrow_mut().take();
        if let Some(Socket { ws, _listeners }) = socket {
            drop(_listeners);
            let _ = ws.close_with_code(1000);
        }
    }

    fn on_event(self: &Rc<Self>, event: Event) {
        let refusal = match &event {
            Event::Registration(RegistrationState::Failed(_)) => self.ua.borrow().refusal(),
            _ => None,
        };
        match refusal {
            Some(Refusal::DeviceRemoved) => {
                self.halt();
                self.drop_all();
                self.on_removed.emit(());
                return;
            }
            Some(Refusal::ExtensionLocked) => {
                // Trying again cannot help until an administrator unlocks it.
                self.halt();
                self.dispatch
                    .emit(Action::PhoneUnavailable(PhoneNotice::ExtensionLocked));
                return;
            }
            Some(Refusal::TooManyDevices) => {
                // The user agent tries again every minute.
                self.dispatch
                    .emit(Action::PhoneUnavailable(PhoneNotice::TooManyDevices));
                return;
            }
            _ => {}
        }
        match &event {
            Event::Registration(RegistrationState::Registered) => {
                self.attempt.set(0);
                self.registered_once.set(true);
                self.auth_retried.set(false);
            }
            Event::Registration(RegistrationState::Failed(_))
                if !self.auth_retried.get() && self.ua.borrow().auth_refused() =>
            {
                // Perhaps the credential expired or was replaced: try a fresh one first (the
                // status keeps showing "connecting" meanwhile).
                self.auth_retried.set(true);
                self.on_auth_refused.emit(());
                return;
            }
            Event::Registration(RegistrationState::Failed(_))
                if self.ua.borrow().auth_refused() =>
            {
                // A fresh credential was refused too: say so in the words of this login.
                self.dispatch
                    .emit(Action::PhoneUnavailable(PhoneNotice::LoginRefused));
                return;
            }
            Event::IncomingCall {
                call,
                sdp,
                replaces,
                ..
            } => {
                self.new_call(Some(*call), Some(sdp.clone()));
                match replaces {
                    // An attended transfer hands us the call in place of ours: no ringing,
                    // answered at once, with video when the replaced call had it.
                    Some(old) => {
                        let video = self.media_of(*old).is_some_and(|m| m.has_video());
                        self.transferred.borrow_mut().push(*old);
                        self.dispatch.emit(Action::Sip(event.clone()));
                        self.answer(*call, video);
                        return;
                    }
                    None => self.update_tone(),
                }
            }
            Event::TransferRequested { call, target, .. } => {
                self.dispatch.emit(Action::Sip(event.clone()));
                self.call_for_transfer(*call, target.user.clone());
                return;
            }
            Event::Transfer {
                call,
                progress: TransferProgress::Done,
            } => {
                let mut t = self.transferred.borrow_mut();
                t.push(*call);
                // An attended transfer ends the consultation too.
                let consults = self.consults.borrow();
                for (original, g) in consults.iter() {
                    if original == call
                        && let Some(h) = self
                            .calls
                            .borrow()
                            .iter()
                            .find(|c| c.generation == *g)
                            .and_then(|c| c.handle)
                    {
                        t.push(h);
                    }
                }
            }
            Event::Answered { call, sdp } => {
                if let Some(media) = self.media_of(*call) {
                    let (inner, sdp) = (self.clone(), sdp.clone());
                    let generation = self.generation_of(*call);
                    if let Some(g) = generation.filter(|g| !self.has_stats(*g)) {
                        media.show_remote();
                        self.start_stats(g);
                    }
                    let call = *call;
                    spawn_local(async move {
                        match media.accept_answer(&sdp).await {
                            Ok(()) => inner.negotiated(call, &media),
                            Err(e) => {
                                if let Some(g) = generation {
                                    inner.fail_local(g, e);
                                }
                            }
                        }
                    });
                }
            }
            Event::Reoffer { call, sdp } => {
                if let Some(media) = self.media_of(*call) {
                    let (inner, sdp, call) = (self.clone(), sdp.clone(), *call);
                    let generation = self.generation_of(call).unwrap_or(0);
                    spawn_local(async move {
                        match media.answer_reoffer(&sdp).await {
                            Ok(answer) if inner.is_current(generation) => {
                                inner.ua.borrow_mut().accept_reoffer(call, answer, now_ms());
                                inner.pump();
                                inner.negotiated(call, &media);
                            }
                            Ok(_) => {}
                            Err(_) => {
                                // Not an offer we can take: the call goes on as it was.
                                media.rollback().await;
                                inner.ua.borrow_mut().reject_reoffer(call, now_ms());
                                inner.pump();
                            }
                        }
                    });
                }
            }
            Event::OfferNeeded { call, hold } => {
                if let Some(media) = self.media_of(*call) {
                    let (inner, call, hold) = (self.clone(), *call, *hold);
                    let generation = self.generation_of(call).unwrap_or(0);
                    // A camera or sharing change waits for this offer (see `renegotiate`).
                    let n = &media.negotiation;
                    n.offering.set(true);
                    n.hold_offers.set(n.hold_offers.get() + 1);
                    spawn_local(async move {
                        let offer = media.hold_offer(hold).await;
                        media.negotiation.offering.set(false);
                        match offer {
                            Ok(offer) if inner.is_current(generation) => {
                                inner.ua.borrow_mut().send_offer(call, offer, now_ms());
                                inner.pump();
                            }
                            Ok(_) => {}
                            Err(e) => inner.fail_local(generation, e),
                        }
                    });
                }
                return;
            }
            Event::OfferFailed { call, retrying, .. } => {
                if let Some(media) = self.media_of(*call) {
                    let (inner, call) = (self.clone(), *call);
                    if media.negotiation.sent.replace(false) {
                        if *retrying {
                            media.negotiation.wanted.set(true); // glare: again after a while
                        } else {
                            self.dispatch.emit(Action::VideoFailed {
                                call,
                                problem: VideoProblem::Refused,
                            });
                        }
                    }
                    spawn_local(async move {
                        media.rollback_own().await; // our offer, never the far end's
                        inner.negotiated(call, &media);
                    });
                }
                return;
            }
            Event::Hold { call, local, .. } => {
                if let Some(media) = self.media_of(*call) {
                    // A refused hold or resume: the media back as the call stands.
                    let local = *local;
                    if !local {
                        media.show_remote();
                    }
                    spawn_local(async move { media.apply_hold(local).await });
                }
            }
            Event::Presence(list) => {
                let entries = list.resources.iter().filter_map(presence_entry).collect();
                self.dispatch.emit(Action::Presence {
                    full: list.full_state,
                    entries,
                });
                return;
            }
            Event::PresenceLost { .. } => {
                self.dispatch.emit(Action::PresenceLost);
                return;
            }
            Event::Ended {
                call,
                reason,
                status,
                answered_elsewhere,
                ..
            } => {
                let generation = self.generation_of(*call);
                if let Some(g) = generation {
                    self.drop_call(g);
                }
                let transferred = {
                    let mut t = self.transferred.borrow_mut();
                    let was = t.contains(call);
                    t.retain(|h| h != call);
                    was
                };
                self.consult_ended(*call, generation, transferred);
                let local = self.end_cause.borrow().clone();
                let reason = if *answered_elsewhere {
                    EndReason::AnsweredElsewhere
                } else if transferred {
                    EndReason::Transferred
                } else {
                    EndReason::from_sip(*status, reason.clone(), local)
                };
                self.dispatch.emit(Action::Ended {
                    call: *call,
                    status: *status,
                    reason,
                });
                return;
            }
            _ => {}
        }
        self.dispatch.emit(Action::Sip(event));
    }

    /// Answers the incoming call `call` (see [`Phone::answer`]).
    fn answer(self: &Rc<Self>, call: CallHandle, video: bool) {
        let inner = self.clone();
        let pending = inner.calls.borrow_mut().iter_mut().find_map(|c| {
            if c.handle != Some(call) {
                return None;
            }
            let offer = c.remote_offer.take()?; // taken: a second click does nothing
            Some((c.generation, offer))
        });
        let Some((generation, offer)) = pending else {
            return;
        };
        inner.update_tone();
        inner.dispatch.emit(Action::Answering { call, video });
        spawn_local(async move {
            let Some(media) = inner.open_media(generation, video).await else {
                return;
            };
            let answer = match media.answer(&offer).await {
                Ok(sdp) => sdp,
                Err(e) => return inner.fail_local(generation, e),
            };
            if !inner.is_current(generation) {
                return; // the caller gave up meanwhile
            }
            media.show_remote();
            inner.ua.borrow_mut().answer(call, answer, now_ms());
            inner.start_stats(generation);
            inner.dispatch.emit(Action::AnswerSent { call });
            inner.pump();
        });
    }

    /// The far end of `call` asked us to call `target` (REFER): the new call gets media and
    /// its offer goes to the user agent, which places it and reports to the transferor.
    fn call_for_transfer(self: &Rc<Self>, call: CallHandle, target: String) {
        let inner = self.clone();
        if inner.calls.borrow().iter().any(|c| c.handle.is_none()) {
            inner.ua.borrow_mut().refuse_transfer(call, now_ms());
            inner.pump();
            return;
        }
        let video = inner.media_of(call).is_some_and(|m| m.has_video());
        let generation = inner.new_call(None, None);
        inner.dispatch.emit(Action::OutgoingStarted {
            peer: target,
            video,
        });
        spawn_local(async move {
            let offer = match inner.open_media(generation, video).await {
                Some(media) => media
                    .offer()
                    .await
                    .map_err(|e| inner.fail_local(generation, e))
                    .ok(),
                None => None,
            };
            let placed = match offer {
                Some(sdp) if inner.is_current(generation) => {
                    inner.ua.borrow_mut().accept_transfer(call, sdp, now_ms())
                }
                _ => None,
            };
            match placed {
                Some(handle) => {
                    inner.set_handle(generation, handle);
                    inner.transferred.borrow_mut().push(call);
                    inner.dispatch.emit(Action::OutgoingPlaced { call: handle });
                }
                None => {
                    inner.ua.borrow_mut().refuse_transfer(call, now_ms());
                    if inner.is_current(generation) {
                        inner.drop_call(generation);
                        inner.dispatch.emit(Action::CallEnded {
                            call: None,
                            reason: EndReason::NotConnected,
                        });
                    }
                }
            }
            inner.pump();
        });
    }

    /// A call ended: when it was a consultation that did not end in a transfer, go back to
    /// the held call.
    fn consult_ended(
        self: &Rc<Self>,
        call: CallHandle,
        generation: Option<u64>,
        transferred: bool,
    ) {
        let original = {
            let mut consults = self.consults.borrow_mut();
            let mut handles = self.consult_handles.borrow_mut();
            let by_generation = consults
                .iter()
                .position(|(_, g)| Some(*g) == generation)
                .map(|i| consults.remove(i).0);
            let by_handle = handles
                .iter()
                .position(|(_, h)| *h == call)
                .map(|i| handles.remove(i).0);
            if let Some(o) = by_handle {
                consults.retain(|(orig, _)| *orig != o);
            }
            // A held call that ended takes its consultations' link with it.
            consults.retain(|(o, _)| *o != call);
            handles.retain(|(o, _)| *o != call);
            by_generation.or(by_handle)
        };
        let Some(original) = original.filter(|_| !transferred) else {
            return;
        };
        self.dispatch
            .emit(Action::Transfer(TransferAction::ConsultCancelled {
                original,
            }));
        let ua_has_it = self.ua.borrow().call_status(original).is_some_and(|s| {
            matches!(
                s,
                CallStatus::Held | CallStatus::Connected | CallStatus::HeldRemote
            )
        });
        if ua_has_it {
            let inner = self.clone();
            // After this event's turn: the user agent is borrowed while it is handled.
            spawn_local(async move {
                inner.ua.borrow_mut().resume(original, now_ms());
                inner.pump();
            });
        }
    }

    /// Adds a call; returns its generation.
    fn new_call(&self, handle: Option<CallHandle>, remote_offer: Option<String>) -> u64 {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        self.calls.borrow_mut().push(ActiveCall {
            generation,
            handle,
            remote_offer,
            media: None,
            connected_at: None,
            stats: None,
        });
        generation
    }

    /// Gives call `generation` the user agent's handle (an outgoing call, once placed).
    fn set_handle(&self, generation: u64, handle: CallHandle) {
        if let Some((original, _)) = self
            .consults
            .borrow()
            .iter()
            .find(|(_, g)| *g == generation)
        {
            self.consult_handles.borrow_mut().push((*original, handle));
        }
        if let Some(c) = self
            .calls
            .borrow_mut()
            .iter_mut()
            .find(|c| c.generation == generation)
        {
            c.handle = Some(handle);
        }
    }

    fn is_current(&self, generation: u64) -> bool {
        self.calls
            .borrow()
            .iter()
            .any(|c| c.generation == generation)
    }

    fn generation_of(&self, handle: CallHandle) -> Option<u64> {
        self.calls
            .borrow()
            .iter()
            .find(|c| c.handle == Some(handle))
            .map(|c| c.generation)
    }

    fn has_stats(&self, generation: u64) -> bool {
        self.calls
            .borrow()
            .iter()
            .any(|c| c.generation == generation && c.stats.is_some())
    }

    fn media_of(&self, handle: CallHandle) -> Option<Rc<CallMedia>> {
        self.calls
            .borrow()
            .iter()
            .find(|c| c.handle == Some(handle))
            .and_then(|c| c.media.clone())
    }

    /// Opens the microphone (and camera) for call `generation` and attaches it; `None` when
    /// that failed (the call is ended with the reason) or the call is gone.
    async fn open_media(self: &Rc<Self>, generation: u64, video: bool) -> Option<Rc<CallMedia>> {
        match CallMedia::open(video).await {
            Ok(media) => {
                let media = Rc::new(media);
                // A new call: what the last one said about devices no longer holds.
                self.dispatch.emit(Action::DeviceNotice(None));
                for kind in media.gone_devices() {
                    self.dispatch
                        .emit(Action::DeviceNotice(Some(DeviceNotice::Gone(*kind))));
                }
                {
                    let (media, dispatch) = (media.clone(), self.dispatch.clone());
                    spawn_local(async move {
                        if let Err(e) = media.apply_speaker().await {
                            dispatch.emit(Action::DeviceNotice(Some(e.speaker_notice())));
                        }
                    });
                }
                let mut calls = self.calls.borrow_mut();
                match calls.iter_mut().find(|c| c.generation == generation) {
                    Some(c) => {
                        c.media = Some(media.clone());
                        Some(media)
                    }
                    None => {
                        media.close();
                        None
                    }
                }
            }
            Err(e) => {
                self.fail_local(generation, e);
                None
            }
        }
    }

    /// Ends call `generation` because of a local media problem, `error`.
    fn fail_local(self: &Rc<Self>, generation: u64, error: MediaError) {
        let Some(handle) = self
            .calls
            .borrow()
            .iter()
            .find(|c| c.generation == generation)
            .map(|c| c.handle)
        else {
            return;
        };
        self.drop_call(generation);
        let reason = EndReason::Media(error);
        if let Some(h) = handle {
            self.end_cause_while(reason.clone(), |inner| {
                inner.ua.borrow_mut().hangup(h, now_ms());
                inner.pump();
            });
        }
        self.dispatch.emit(Action::CallEnded {
            call: handle,
            reason,
        });
    }

    /// Runs `f` with `cause` as the reason of calls that end in it without a SIP status.
    fn end_cause_while(self: &Rc<Self>, cause: EndReason, f: impl FnOnce(&Rc<Self>)) {
        let before = self.end_cause.replace(Some(cause));
        f(self);
        *self.end_cause.borrow_mut() = before;
    }

    /// Forgets call `generation`: its stats and media; the ringtone follows the calls left.
    fn drop_call(&self, generation: u64) {
        let call = {
            let mut calls = self.calls.borrow_mut();
            let i = calls.iter().position(|c| c.generation == generation);
            i.map(|i| calls.remove(i))
        };
        drop(call);
        self.update_tone();
    }

    /// Forgets every call.
    fn drop_all(&self) {
        let calls = std::mem::take(&mut *self.calls.borrow_mut());
        drop(calls);
        self.update_tone();
    }

    /// Rings while a call rings here and nobody answered it yet: the ringtone when it is the
    /// only call, the short waiting tone when others are going on.
    fn update_tone(&self) {
        let (ringing, others) = {
            let calls = self.calls.borrow();
            let ringing = calls.iter().filter(|c| c.remote_offer.is_some()).count();
            (ringing, calls.len() - ringing)
        };
        let want = (ringing > 0).then_some(others > 0);
        let now = self.ringtone.borrow().as_ref().map(|(w, _)| *w);
        if want == now {
            return;
        }
        let next = want.map(|waiting| {
            let tone = if waiting {
                Ringtone::waiting()
            } else {
                Ringtone::start()
            };
            (waiting, tone)
        });
        let old = self.ringtone.replace(next);
        drop(old);
        self.dispatch.emit(Action::Tone(match want {
            None => Tone::None,
            Some(false) => Tone::Ring,
            Some(true) => Tone::Waiting,
        }));
    }

    /// Samples `getStats()` for call `generation` once a second from now on.
    fn start_stats(self: &Rc<Self>, generation: u64) {
        let weak = Rc::downgrade(self);
        let interval = Interval::new(STATS_PERIOD_MS, move || {
            if let Some(i) = weak.upgrade() {
                i.sample_stats(generation);
            }
        });
        if let Some(c) = self
            .calls
            .borrow_mut()
            .iter_mut()
            .find(|c| c.generation == generation)
        {
            c.connected_at = Some(now_ms());
            c.stats = Some(interval);
        }
    }

    fn sample_stats(self: &Rc<Self>, generation: u64) {
        let sample = self
            .calls
            .borrow()
            .iter()
            .find(|c| c.generation == generation)
            .and_then(|c| Some((c.handle?, c.media.clone()?, c.connected_at?)));
        let Some((call, media, since)) = sample else {
            return;
        };
        let inner = self.clone();
        spawn_local(async move {
            let rx_bytes = media.rx_bytes().await.unwrap_or(0);
            let stats = media.video_stats().await;
            if inner.is_current(generation) {
                // The video state too: it follows the answer of a call answered here
                // (the reducer keeps the state when nothing changed).
                inner.dispatch.emit(Action::VideoStats { call, stats });
                inner.report_video(call, &media);
                let duration_s = now_ms().saturating_sub(since) / 1000;
                inner.dispatch.emit(Action::Stats {
                    call,
                    rx_bytes,
                    duration_s,
                });
            }
        });
    }
}

// Video and Meet & Share (issue 12)

/// A camera or sharing change asked for by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Camera(bool),
    Sharing(bool),
}

/// How long a camera or sharing change waits before trying again to send its offer, while
/// another offer is under way (a hold, the far end's offer, a glare's wait).
const RENEGOTIATE_RETRY_MS: u32 = 250;

impl Inner {
    /// Opens or closes the camera or the screen of call `call`, then renegotiates. One
    /// change at a time (the buttons wait meanwhile); a failure is shown in the panel.
    fn change_video(self: &Rc<Self>, call: CallHandle, change: Change) {
        let Some(media) = self.media_of(call) else {
            return;
        };
        if media.negotiation.opening.replace(true) {
            return;
        }
        self.report_video(call, &media);
        let inner = self.clone();
        spawn_local(async move {
            let result = match change {
                Change::Camera(on) => media.set_camera(on).await,
                Change::Sharing(on) => {
                    // The browser's own "Stop sharing" ends the track: stop it in the call.
                    let weak = Rc::downgrade(&inner);
                    let on_ended = move |_: &web_sys::Event| {
                        if let Some(i) = weak.upgrade() {
                            i.change_video(call, Change::Sharing(false));
                        }
                    };
                    media.set_sharing(on, on_ended).await
                }
            };
            media.negotiation.opening.set(false);
            match result {
                Ok(()) => media.negotiation.wanted.set(true),
                Err(problem) => inner.dispatch.emit(Action::VideoFailed { call, problem }),
            }
            inner.report_video(call, &media);
            inner.renegotiate(call);
        });
    }

    /// Sends a new offer for call `call` when a camera or sharing change wants one. The user
    /// agent takes it (`reinvite`) only when no other offer is under way and says nothing
    /// otherwise, so this checks what it queued: a re-INVITE, or nothing — then the offer
    /// is rolled back and tried again shortly, until it goes out (the change is never lost).
    fn renegotiate(self: &Rc<Self>, call: CallHandle) {
        let Some(media) = self.media_of(call) else {
            return;
        };
        let n = &media.negotiation;
        if !n.wanted.get() || n.opening.get() {
            return;
        }
        // Not while an offer is under way, nor during a glare's wait (RFC 3261 14.1: the
        // user agent waits 2.1–4 s or 0–2 s): making and taking back offers meanwhile would
        // cross the far end's retried offer.
        if n.offering.get()
            || n.sent.get()
            || !media.is_stable()
            || !self.ua.borrow().can_offer(call)
        {
            return self.retry_renegotiation(call, &media);
        }
        n.offering.set(true);
        let generation = self.generation_of(call).unwrap_or(0);
        let inner = self.clone();
        spawn_local(async move {
            let holds = media.negotiation.hold_offers.get();
            let offer = media.renegotiation_offer().await;
            media.negotiation.offering.set(false);
            if !inner.is_current(generation) {
                return;
            }
            let sdp = match offer {
                Ok(sdp) => sdp,
                Err(_) if !media.is_stable() => {
                    // The far end's offer came meanwhile: again once it is answered.
                    media.rollback_own().await;
                    return inner.retry_renegotiation(call, &media);
                }
                Err(e) => {
                    media.rollback_own().await;
                    media.negotiation.wanted.set(false);
                    let problem = VideoProblem::Offer(e);
                    inner.dispatch.emit(Action::VideoFailed { call, problem });
                    return inner.report_video(call, &media);
                }
            };
            if !media.is_pending_offer(&sdp) {
                // Another offer replaced it meanwhile (a hold, the far end's).
                return inner.retry_renegotiation(call, &media);
            }
            inner.pump(); // so that what follows `reinvite` is its own message
            inner.ua.borrow_mut().reinvite(call, sdp.clone(), now_ms());
            let first = inner.ua.borrow_mut().poll_transmit();
            let sent = first.as_deref().is_some_and(|m| m.starts_with("INVITE "));
            if let Some(text) = first {
                inner.send(&text);
            }
            if sent {
                media.negotiation.wanted.set(false);
                media.negotiation.sent.set(true);
            } else {
                // Not now. Take the offer back unless a hold offer overlapped it (then that
                // one is what the user agent sent, with these changes in it).
                if media.negotiation.hold_offers.get() == holds && media.is_pending_offer(&sdp) {
                    media.rollback_own().await;
                }
                inner.retry_renegotiation(call, &media);
            }
            inner.pump();
            inner.report_video(call, &media);
        });
    }

    /// Tries [`Self::renegotiate`] again in a moment (once, however often asked).
    fn retry_renegotiation(self: &Rc<Self>, call: CallHandle, media: &Rc<CallMedia>) {
        if media.negotiation.retry.replace(true) {
            return;
        }
        let (inner, media) = (self.clone(), media.clone());
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(RENEGOTIATE_RETRY_MS).await;
            media.negotiation.retry.set(false);
            inner.renegotiate(call);
        });
    }

    /// An offer/answer of call `call` completed (or was rolled back): show what the far end
    /// sends now, and send a change that waited.
    fn negotiated(self: &Rc<Self>, call: CallHandle, media: &Rc<CallMedia>) {
        media.negotiation.sent.set(false);
        self.report_video(call, media);
        self.renegotiate(call);
    }

    /// Tells the reducer what call `call` sends and receives in video.
    fn report_video(&self, call: CallHandle, media: &CallMedia) {
        self.dispatch.emit(Action::Video {
            call,
            state: media.video_state(),
        });
    }
}

/// One resource of a list NOTIFY for the reducer: its extension and status (none when its
/// subscription ended).
fn presence_entry(r: &ListResource) -> Option<PresenceEntry> {
    let extension = extension_of(&r.uri)?.to_string();
    let (status, note) = match (&r.presence, r.terminated) {
        (Some(p), false) => (Presence::parse(p.status.as_str()), p.note.clone()),
        _ => (None, None),
    };
    Some(PresenceEntry {
        extension,
        status,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_resources_become_presence_entries() {
        use centrala_sip::presence::{Presence as Doc, Status};
        let r = |uri: &str, status: Option<Status>, terminated| ListResource {
            uri: uri.into(),
            name: None,
            presence: status.map(|s| Doc {
                entity: uri.into(),
                status: s,
                note: Some("x".into()),
            }),
            terminated,
        };
        for s in Status::ALL {
            let e = presence_entry(&r("sip:102@d", Some(s), false)).unwrap();
            assert_eq!(e.status.map(Presence::as_str), Some(s.as_str()));
            assert_eq!(e.extension, "102");
        }
        let e = presence_entry(&r("sip:103@d", Some(Status::InCall), true)).unwrap();
        assert_eq!((e.status, e.note), (None, None), "terminated: unknown");
        assert_eq!(presence_entry(&r("sip:@d", None, false)), None);
    }

    #[test]
    fn backoff_doubles_to_thirty_seconds() {
        let plain: Vec<u64> = (1..=8).map(|a| backoff_ms(a, 0.5)).collect();
        assert_eq!(plain, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    }

    #[test]
    fn backoff_jitters_within_twenty_percent() {
        assert_eq!(backoff_ms(1, 0.0), 800);
        assert_eq!(backoff_ms(1, 0.999_999), 1199);
        assert_eq!(backoff_ms(3, 0.0), 3200);
        assert!(backoff_ms(10, 0.999) <= MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(0, 0.5), 1000, "attempt 0 counts as the first");
    }
}
