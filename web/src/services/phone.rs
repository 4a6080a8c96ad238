//! The phone: the IO shell around the sans-IO SIP user agent.
//!
//! It owns the user agent, the WebSocket (subprotocol "sip"), one re-armable timer for the
//! user agent's `poll_timeout`, the reconnect timer, the current call's media and the
//! ringtone, and turns what happens into [`Action`]s for the reducer.
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
//! checks afterwards that its generation is still the current call; if the call ended in the
//! meantime it throws its result away (and closes what it opened).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use centrala_sip::presence::ListResource;
use centrala_sip::ua::{CallHandle, Event, Refusal, RegistrationState, UaConfig, UserAgent};
use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_sys::{BinaryType, MessageEvent, WebSocket};
use yew::Callback;

use super::browser::{instance_id, navigator_user_agent, now_ms, random_seed, random_unit};
use super::media::CallMedia;
use super::ringtone::Ringtone;
use super::timer::Timer;
use crate::model::{EndReason, MediaError, PhoneNotice, Presence};
use crate::state::Action;
use crate::state::contacts::{PresenceEntry, extension_of};
use crate::state::devices::browser_words;

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

/// The current call's resources; dropping it closes the media and stops the stats.
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
    call: RefCell<Option<ActiveCall>>,
    generation: Cell<u64>,
    ringtone: RefCell<Option<Ringtone>>,
    /// Why a call that ends now without a SIP status ends, while this shell makes it so
    /// (hanging up, the socket closing…); otherwise the other side hung up.
    end_cause: RefCell<Option<EndReason>>,
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
                call: RefCell::new(None),
                generation: Cell::new(0),
                ringtone: RefCell::new(None),
                end_cause: RefCell::new(None),
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

    /// Calls `target` (an extension or SIP address), with video or audio only.
    pub fn call(&self, target: String, video: bool) {
        let inner = self.inner.clone();
        if inner.stopped.get() || inner.call.borrow().is_some() {
            return;
        }
        let generation = inner.new_call(None, None);
        inner.dispatch.emit(Action::OutgoingStarted {
            peer: target.clone(),
            video,
        });
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
                if let Some(c) = inner.call.borrow_mut().as_mut() {
                    c.handle = Some(handle);
                }
                inner.dispatch.emit(Action::OutgoingPlaced { call: handle });
                inner.pump();
            });
        });
    }

    /// Answers the incoming call, with video or audio only.
    pub fn answer(&self, video: bool) {
        let inner = self.inner.clone();
        let pending = inner.call.borrow_mut().as_mut().and_then(|c| {
            let offer = c.remote_offer.take()?; // taken: a second click does nothing
            Some((c.generation, c.handle?, offer))
        });
        let Some((generation, handle, offer)) = pending else {
            return;
        };
        inner.ringtone.borrow_mut().take();
        inner.dispatch.emit(Action::Answering { video });
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
            inner.ua.borrow_mut().answer(handle, answer, now_ms());
            inner.start_stats();
            inner.dispatch.emit(Action::AnswerSent);
            inner.pump();
        });
    }

    /// Hangs up, cancels or declines the current call.
    pub fn hangup(&self) {
        let inner = &self.inner;
        let Some(handle) = inner.call.borrow().as_ref().map(|c| c.handle) else {
            return;
        };
        inner.drop_call();
        match handle {
            // The user agent's Ended event ends the call in the reducer (a declined call with
            // its 603).
            Some(h) => inner.end_cause_while(EndReason::YouHungUp, |inner| {
                inner.ua.borrow_mut().hangup(h, now_ms());
                inner.pump();
            }),
            None => inner.dispatch.emit(Action::CallEnded(EndReason::YouHungUp)),
        }
    }

    pub fn set_muted(&self, muted: bool) {
        if let Some(m) = self.inner.media() {
            m.set_audio_enabled(!muted);
            self.inner.dispatch.emit(Action::Muted(muted));
        }
    }

    pub fn set_camera_off(&self, off: bool) {
        if let Some(m) = self.inner.media().filter(|m| m.has_video()) {
            m.set_video_enabled(!off);
            self.inner.dispatch.emit(Action::CameraOff(off));
        }
    }

    /// Ends any call, removes the registration, closes the WebSocket and stops all timers.
    pub fn shutdown(&self) {
        let inner = &self.inner;
        if inner.shut_down.replace(true) {
            return;
        }
        inner.stopped.set(true);
        let now = now_ms();
        let handle = inner.call.borrow().as_ref().and_then(|c| c.handle);
        inner.drop_call();
        {
            let mut ua = inner.ua.borrow_mut();
            if let Some(h) = handle {
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
        if self.call.borrow().is_some() {
            self.drop_call(); // a call still preparing its media
        }
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
                self.drop_call();
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
            Event::IncomingCall { call, sdp, .. } => {
                if self.call.borrow().is_some() {
                    // One call at a time: refuse the second (the user agent answers 603).
                    self.ua.borrow_mut().hangup(*call, now_ms());
                    return;
                }
                self.new_call(Some(*call), Some(sdp.clone()));
                *self.ringtone.borrow_mut() = Ringtone::start();
            }
            Event::Answered { call, sdp } => {
                if let Some(media) = self.media_of(*call) {
                    let (inner, sdp, generation) =
                        (self.clone(), sdp.clone(), self.generation.get());
                    if self
                        .call
                        .borrow()
                        .as_ref()
                        .is_some_and(|c| c.stats.is_none())
                    {
                        self.start_stats();
                    }
                    spawn_local(async move {
                        if let Err(e) = media.accept_answer(&sdp).await {
                            inner.fail_local(generation, e);
                        }
                    });
                }
            }
            Event::Reoffer { call, sdp } => {
                if let Some(media) = self.media_of(*call) {
                    let (inner, sdp, call, generation) =
                        (self.clone(), sdp.clone(), *call, self.generation.get());
                    spawn_local(async move {
                        match media.answer_reoffer(&sdp).await {
                            Ok(answer) if inner.is_current(generation) => {
                                inner.ua.borrow_mut().accept_reoffer(call, answer, now_ms());
                                inner.pump();
                            }
                            Ok(_) => {}
                            Err(e) => inner.fail_local(generation, e),
                        }
                    });
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
            } => {
                let current = self
                    .call
                    .borrow()
                    .as_ref()
                    .is_some_and(|c| c.handle == Some(*call));
                if current {
                    self.drop_call();
                }
                let local = self.end_cause.borrow().clone();
                let reason = if *answered_elsewhere {
                    EndReason::AnsweredElsewhere
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

    /// Makes a new current call; returns its generation.
    fn new_call(&self, handle: Option<CallHandle>, remote_offer: Option<String>) -> u64 {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        let call = ActiveCall {
            generation,
            handle,
            remote_offer,
            media: None,
            connected_at: None,
            stats: None,
        };
        let old = self.call.borrow_mut().replace(call);
        drop(old);
        generation
    }

    fn is_current(&self, generation: u64) -> bool {
        self.call
            .borrow()
            .as_ref()
            .is_some_and(|c| c.generation == generation)
    }

    fn media(&self) -> Option<Rc<CallMedia>> {
        self.call.borrow().as_ref().and_then(|c| c.media.clone())
    }

    fn media_of(&self, handle: CallHandle) -> Option<Rc<CallMedia>> {
        self.call
            .borrow()
            .as_ref()
            .filter(|c| c.handle == Some(handle))
            .and_then(|c| c.media.clone())
    }

    /// Opens the microphone (and camera) for call `generation` and attaches it; `None` when
    /// that failed (the call is ended with the reason) or the call is gone.
    async fn open_media(self: &Rc<Self>, generation: u64, video: bool) -> Option<Rc<CallMedia>> {
        match CallMedia::open(video).await {
            Ok(media) => {
                let media = Rc::new(media);
                let mut call = self.call.borrow_mut();
                match call.as_mut().filter(|c| c.generation == generation) {
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
            .call
            .borrow()
            .as_ref()
            .filter(|c| c.generation == generation)
            .map(|c| c.handle)
        else {
            return;
        };
        self.drop_call();
        let reason = EndReason::Media(error);
        if let Some(h) = handle {
            self.end_cause_while(reason.clone(), |inner| {
                inner.ua.borrow_mut().hangup(h, now_ms());
                inner.pump();
            });
        }
        self.dispatch.emit(Action::CallEnded(reason));
    }

    /// Runs `f` with `cause` as the reason of calls that end in it without a SIP status.
    fn end_cause_while(self: &Rc<Self>, cause: EndReason, f: impl FnOnce(&Rc<Self>)) {
        let before = self.end_cause.replace(Some(cause));
        f(self);
        *self.end_cause.borrow_mut() = before;
    }

    /// Forgets the current call: stops the ringtone, the stats and the media.
    fn drop_call(&self) {
        let call = self.call.borrow_mut().take();
        let ring = self.ringtone.borrow_mut().take();
        drop(ring);
        drop(call);
    }

    /// Samples `getStats()` once a second from now on, for the current call.
    fn start_stats(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let interval = Interval::new(STATS_PERIOD_MS, move || {
            if let Some(i) = weak.upgrade() {
                i.sample_stats();
            }
        });
        if let Some(c) = self.call.borrow_mut().as_mut() {
            c.connected_at = Some(now_ms());
            c.stats = Some(interval);
        }
    }

    fn sample_stats(self: &Rc<Self>) {
        let sample = self
            .call
            .borrow()
            .as_ref()
            .and_then(|c| Some((c.generation, c.media.clone()?, c.connected_at?)));
        let Some((generation, media, since)) = sample else {
            return;
        };
        let inner = self.clone();
        spawn_local(async move {
            let rx_bytes = media.rx_bytes().await.unwrap_or(0);
            if inner.is_current(generation) {
                let duration_s = now_ms().saturating_sub(since) / 1000;
                inner.dispatch.emit(Action::Stats {
                    rx_bytes,
                    duration_s,
                });
            }
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
