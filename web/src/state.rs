//! The softphone's state and everything that can happen to it: a pure reducer.
//!
//! Views read [`AppState`]; the services in [`crate::services`] and the views' buttons
//! dispatch [`Action`]s. Nothing here touches the browser (no web-sys), so the rules are
//! tested with plain `cargo test`.
//!
//! Invariants:
//! - the password never enters this state (only the phone service holds it, in memory);
//! - `call` is `None` exactly when the call panel is "idle";
//! - events for a call handle other than the current call's are ignored.

use std::rc::Rc;

use centrala_sip::ua::{CallHandle, Event, RegistrationState};
use yew::Reducible;

/// Which screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The login form.
    Login,
    /// Logged in: status, dialer and call panel.
    Phone,
}

/// Registration as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// Logged out, or not started.
    Unregistered,
    /// Opening the WebSocket or waiting for the REGISTER to succeed.
    Connecting,
    /// Registered: calls can come in.
    Registered,
    /// The phone system refused us; the text says why, for a person.
    Failed(String),
    /// The WebSocket closed; a new attempt starts after `delay_ms`.
    Reconnecting { attempt: u32, delay_ms: u64 },
}

impl Registration {
    /// The value of `#reg-status[data-state]`.
    pub fn data_state(&self) -> &'static str {
        match self {
            Registration::Unregistered => "unregistered",
            Registration::Connecting => "connecting",
            Registration::Registered => "registered",
            Registration::Failed(_) => "failed",
            Registration::Reconnecting { .. } => "reconnecting",
        }
    }

    /// The status line, in words.
    pub fn describe(&self, extension: &str) -> String {
        match self {
            Registration::Unregistered => "Not logged in".into(),
            Registration::Connecting => "Connecting…".into(),
            Registration::Registered => format!("Online as extension {extension}"),
            Registration::Failed(reason) => format!("Not registered: {reason}"),
            Registration::Reconnecting { attempt, delay_ms } => {
                let secs = ((delay_ms + 500) / 1000).max(1);
                format!("Connection lost. Reconnecting in {secs} s (attempt {attempt})…")
            }
        }
    }
}

/// Where the current call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// Our call is being set up (media, then INVITE sent).
    Calling,
    /// Our call rings at the other end.
    Ringing,
    /// Someone calls us.
    Incoming,
    /// Talking.
    Connected,
}

impl CallPhase {
    /// The value of `#call-panel[data-state]`.
    pub fn data_state(self) -> &'static str {
        match self {
            CallPhase::Calling => "calling",
            CallPhase::Ringing => "ringing",
            CallPhase::Incoming => "incoming",
            CallPhase::Connected => "connected",
        }
    }
}

/// The one call the softphone handles at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The user agent's handle; `None` while an outgoing call is still preparing media.
    pub handle: Option<CallHandle>,
    /// Who: the extension or address.
    pub peer: String,
    pub peer_display: Option<String>,
    pub phase: CallPhase,
    /// We send video (a video call, or answered with video).
    pub video: bool,
    /// The caller's offer includes video (incoming calls).
    pub offers_video: bool,
    /// The user pressed Answer; media is being set up.
    pub answering: bool,
    pub muted: bool,
    pub camera_off: bool,
    /// Sum of `bytesReceived` over inbound RTP streams.
    pub rx_bytes: u64,
    /// Seconds since the call connected.
    pub duration_s: u64,
}

impl Call {
    fn new(peer: String, phase: CallPhase) -> Call {
        Call {
            handle: None,
            peer,
            peer_display: None,
            phase,
            video: false,
            offers_video: false,
            answering: false,
            muted: false,
            camera_off: false,
            rx_bytes: 0,
            duration_s: 0,
        }
    }

    /// The peer as a person reads it: "Alice (101)" or "101".
    pub fn peer_label(&self) -> String {
        match &self.peer_display {
            Some(d) if !d.is_empty() && d != &self.peer => format!("{d} ({})", self.peer),
            _ => self.peer.clone(),
        }
    }
}

/// Everything the views show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppState {
    pub screen: Screen,
    /// The extension we log in as (kept after logout to prefill the form).
    pub extension: String,
    /// The WebSocket URL.
    pub server: String,
    pub login_error: Option<String>,
    pub registration: Registration,
    /// Registered at least once since this login (a later failure keeps the phone screen).
    pub ever_registered: bool,
    /// The WebSocket opened at least once since this login (later closes reconnect).
    pub ever_connected: bool,
    /// The number in the dial field.
    pub dial: String,
    pub call: Option<Call>,
    /// Why the last call ended, shown while idle.
    pub end_reason: Option<String>,
}

impl AppState {
    /// The state at page load: the login form, prefilled.
    pub fn new(extension: String, server: String) -> AppState {
        AppState {
            screen: Screen::Login,
            extension,
            server,
            login_error: None,
            registration: Registration::Unregistered,
            ever_registered: false,
            ever_connected: false,
            dial: String::new(),
            call: None,
            end_reason: None,
        }
    }

    /// The value of `#call-panel[data-state]`.
    pub fn call_state(&self) -> &'static str {
        self.call.as_ref().map_or("idle", |c| c.phase.data_state())
    }

    /// Whether the call buttons may place a call now (registered, no call going on).
    pub fn can_call(&self) -> bool {
        self.registration == Registration::Registered && self.call.is_none()
    }

    fn is_current(&self, handle: CallHandle) -> bool {
        self.call.as_ref().is_some_and(|c| c.handle == Some(handle))
    }

    fn end_call(&mut self, reason: String) {
        self.call = None;
        self.end_reason = Some(reason);
    }

    fn on_sip(&mut self, event: Event) {
        match event {
            Event::Registration(reg) => self.on_registration(reg),
            Event::IncomingCall {
                call,
                from_user,
                from_display,
                sdp,
            } => {
                if self.call.is_some() {
                    return; // the phone service declines it
                }
                let mut c = Call::new(from_user, CallPhase::Incoming);
                c.handle = Some(call);
                c.peer_display = from_display;
                c.offers_video = sdp_has_video(&sdp);
                self.call = Some(c);
                self.end_reason = None;
            }
            Event::Ringing { call } => {
                if let Some(c) = self
                    .call
                    .as_mut()
                    .filter(|c| c.handle == Some(call) && c.phase == CallPhase::Calling)
                {
                    c.phase = CallPhase::Ringing;
                }
            }
            Event::Answered { call, .. } | Event::Connected { call } => {
                if let Some(c) = self.call.as_mut().filter(|c| c.handle == Some(call)) {
                    c.phase = CallPhase::Connected;
                    c.answering = false;
                }
            }
            Event::Ended { call, reason, .. } if self.is_current(call) => self.end_call(reason),
            _ => {}
        }
    }

    fn on_registration(&mut self, reg: RegistrationState) {
        if self.screen != Screen::Phone {
            return;
        }
        match reg {
            RegistrationState::Registering => {
                // The user agent reports every refresh as "registering": stay "registered".
                if !matches!(
                    self.registration,
                    Registration::Registered | Registration::Reconnecting { .. }
                ) {
                    self.registration = Registration::Connecting;
                }
            }
            RegistrationState::Registered => {
                self.registration = Registration::Registered;
                self.ever_registered = true;
                self.login_error = None;
            }
            RegistrationState::Failed(reason) => {
                self.registration = Registration::Failed(reason.clone());
                if !self.ever_registered {
                    // The first attempt of this login failed: back to the form, with the reason.
                    self.screen = Screen::Login;
                    self.login_error = Some(reason);
                    self.call = None;
                }
            }
            RegistrationState::Unregistered => {
                if !matches!(self.registration, Registration::Reconnecting { .. }) {
                    self.registration = Registration::Unregistered;
                }
            }
        }
    }
}

/// Whether an SDP offers a video stream.
pub fn sdp_has_video(sdp: &str) -> bool {
    sdp.lines()
        .any(|l| l.starts_with("m=video") && !l.starts_with("m=video 0 "))
}

/// Everything that can happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The login form was submitted (and passed [`crate::addr::validate_login`]).
    LoginSubmitted {
        extension: String,
        server: String,
    },
    /// The login form has a mistake.
    LoginInvalid(String),
    /// The user pressed "Log out".
    Logout,
    /// The WebSocket opened; registering.
    SocketOpened,
    /// The very first WebSocket of this login could not be opened.
    ConnectFailed(String),
    /// The WebSocket closed; the next attempt starts after `delay_ms`.
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
    },
    /// An event from the SIP user agent.
    Sip(Event),
    /// The dial field changed.
    DialInput(String),
    /// A dial pad key was pressed.
    DialDigit(char),
    /// Clear the last character of the dial field.
    DialBackspace,
    /// The user started a call; media is being prepared.
    OutgoingStarted {
        peer: String,
        video: bool,
    },
    /// The INVITE went out for the current outgoing call.
    OutgoingPlaced {
        call: CallHandle,
    },
    /// The user pressed Answer; media is being prepared.
    Answering {
        video: bool,
    },
    /// Our answer (200 OK) went out.
    AnswerSent,
    /// The call ended on this side without a SIP event (hung up while preparing,
    /// microphone refused, media failure); the text says why.
    CallEnded(String),
    Muted(bool),
    CameraOff(bool),
    /// Once a second during a call.
    Stats {
        rx_bytes: u64,
        duration_s: u64,
    },
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        s.apply(action);
        if s == *self { self } else { Rc::new(s) }
    }
}

impl AppState {
    /// Applies one action (the reducer, on a plain value).
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::LoginSubmitted { extension, server } => {
                *self = AppState {
                    dial: std::mem::take(&mut self.dial),
                    ..AppState::new(extension, server)
                };
                self.screen = Screen::Phone;
                self.registration = Registration::Connecting;
            }
            Action::LoginInvalid(msg) => {
                self.login_error = Some(msg);
            }
            Action::Logout => {
                self.screen = Screen::Login;
                self.registration = Registration::Unregistered;
                self.login_error = None;
                self.call = None;
                self.end_reason = None;
            }
            Action::SocketOpened => {
                if self.screen == Screen::Phone {
                    self.ever_connected = true;
                    self.registration = Registration::Connecting;
                }
            }
            Action::ConnectFailed(msg) => {
                if self.screen == Screen::Phone && !self.ever_connected {
                    self.screen = Screen::Login;
                    self.registration = Registration::Failed(msg.clone());
                    self.login_error = Some(msg);
                    self.call = None;
                }
            }
            Action::Reconnecting { attempt, delay_ms } => {
                if self.screen == Screen::Phone {
                    self.registration = Registration::Reconnecting { attempt, delay_ms };
                    if self.call.is_some() {
                        self.end_call("Connection to the phone system lost".into());
                    }
                }
            }
            Action::Sip(event) => self.on_sip(event),
            Action::DialInput(value) => self.dial = value,
            Action::DialDigit(d) => self.dial.push(d),
            Action::DialBackspace => {
                self.dial.pop();
            }
            Action::OutgoingStarted { peer, video } => {
                if self.call.is_none() {
                    let mut c = Call::new(peer, CallPhase::Calling);
                    c.video = video;
                    self.call = Some(c);
                    self.end_reason = None;
                }
            }
            Action::OutgoingPlaced { call } => {
                if let Some(c) = self
                    .call
                    .as_mut()
                    .filter(|c| c.handle.is_none() && c.phase == CallPhase::Calling)
                {
                    c.handle = Some(call);
                }
            }
            Action::Answering { video } => {
                if let Some(c) = self
                    .call
                    .as_mut()
                    .filter(|c| c.phase == CallPhase::Incoming)
                {
                    c.answering = true;
                    c.video = video;
                }
            }
            Action::AnswerSent => {
                if let Some(c) = self
                    .call
                    .as_mut()
                    .filter(|c| c.phase == CallPhase::Incoming)
                {
                    c.phase = CallPhase::Connected;
                    c.answering = false;
                }
            }
            Action::CallEnded(reason) => self.end_call(reason),
            Action::Muted(m) => {
                if let Some(c) = self.call.as_mut() {
                    c.muted = m;
                }
            }
            Action::CameraOff(off) => {
                if let Some(c) = self.call.as_mut() {
                    c.camera_off = off;
                }
            }
            Action::Stats {
                rx_bytes,
                duration_s,
            } => {
                if let Some(c) = self.call.as_mut() {
                    c.rx_bytes = rx_bytes;
                    c.duration_s = duration_s;
                }
            }
        }
    }
}

/// "12.3 kB", "1.4 MB": a byte count for people (decimal units).
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// "0:07", "12:34", "1:02:03".
pub fn format_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER_AUDIO: &str =
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
    const OFFER_VIDEO: &str = "v=0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";

    fn run(state: AppState, actions: impl IntoIterator<Item = Action>) -> AppState {
        actions.into_iter().fold(state, |mut s, a| {
            s.apply(a);
            s
        })
    }

    fn start() -> AppState {
        AppState::new(String::new(), "ws://pbx.example/sip".into())
    }

    fn login() -> Action {
        Action::LoginSubmitted {
            extension: "101".into(),
            server: "ws://pbx.example/sip".into(),
        }
    }

    fn reg(r: RegistrationState) -> Action {
        Action::Sip(Event::Registration(r))
    }

    fn registered() -> AppState {
        run(
            start(),
            [
                login(),
                Action::SocketOpened,
                reg(RegistrationState::Registering),
                reg(RegistrationState::Registered),
            ],
        )
    }

    fn incoming(handle: u64, sdp: &str) -> Action {
        Action::Sip(Event::IncomingCall {
            call: CallHandle(handle),
            from_user: "102".into(),
            from_display: Some("Bob".into()),
            sdp: sdp.into(),
        })
    }

    fn ended(handle: u64, reason: &str, status: Option<u16>) -> Action {
        Action::Sip(Event::Ended {
            call: CallHandle(handle),
            reason: reason.into(),
            status,
        })
    }

    #[test]
    fn starts_on_the_login_form() {
        let s = start();
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(s.registration.data_state(), "unregistered");
        assert_eq!(s.call_state(), "idle");
    }

    #[test]
    fn login_connects_then_registers() {
        let s = run(start(), [login()]);
        assert_eq!(s.screen, Screen::Phone);
        assert_eq!(s.registration.data_state(), "connecting");
        assert_eq!(s.extension, "101");

        let s = run(
            s,
            [Action::SocketOpened, reg(RegistrationState::Registering)],
        );
        assert_eq!(s.registration, Registration::Connecting);
        assert!(s.ever_connected);

        let s = run(s, [reg(RegistrationState::Registered)]);
        assert_eq!(s.registration.data_state(), "registered");
        assert_eq!(
            s.registration.describe(&s.extension),
            "Online as extension 101"
        );
        assert!(s.ever_registered);
    }

    #[test]
    fn a_registration_refresh_stays_registered() {
        let s = run(registered(), [reg(RegistrationState::Registering)]);
        assert_eq!(s.registration, Registration::Registered);
    }

    #[test]
    fn wrong_password_returns_to_the_form_with_the_reason() {
        let s = run(
            start(),
            [
                login(),
                Action::SocketOpened,
                reg(RegistrationState::Registering),
                reg(RegistrationState::Failed(
                    "Wrong extension or password".into(),
                )),
            ],
        );
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(
            s.login_error.as_deref(),
            Some("Wrong extension or password")
        );
        assert_eq!(s.registration.data_state(), "failed");
        assert_eq!(
            s.registration.describe("101"),
            "Not registered: Wrong extension or password"
        );
        assert_eq!(s.extension, "101", "the form keeps the extension");
    }

    #[test]
    fn a_failure_after_registering_keeps_the_phone_screen() {
        let s = run(
            registered(),
            [reg(RegistrationState::Failed(
                "Registration refused: 503 Busy".into(),
            ))],
        );
        assert_eq!(s.screen, Screen::Phone);
        assert_eq!(
            s.registration,
            Registration::Failed("Registration refused: 503 Busy".into())
        );
        assert_eq!(s.login_error, None);
    }

    #[test]
    fn unreachable_server_on_first_connect_returns_to_the_form() {
        let s = run(
            start(),
            [
                login(),
                Action::ConnectFailed("Cannot reach the phone system".into()),
            ],
        );
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(
            s.login_error.as_deref(),
            Some("Cannot reach the phone system")
        );
    }

    #[test]
    fn socket_loss_reconnects_and_registers_again() {
        let s = run(
            registered(),
            [
                reg(RegistrationState::Unregistered),
                Action::Reconnecting {
                    attempt: 1,
                    delay_ms: 1100,
                },
            ],
        );
        assert_eq!(s.screen, Screen::Phone);
        assert_eq!(s.registration.data_state(), "reconnecting");
        assert_eq!(
            s.registration.describe("101"),
            "Connection lost. Reconnecting in 1 s (attempt 1)…"
        );

        // The user agent's own "unregistered" does not hide the reconnecting state.
        let s = run(s, [reg(RegistrationState::Unregistered)]);
        assert_eq!(s.registration.data_state(), "reconnecting");

        let s = run(
            s,
            [Action::SocketOpened, reg(RegistrationState::Registering)],
        );
        assert_eq!(s.registration.data_state(), "connecting");
        let s = run(s, [reg(RegistrationState::Registered)]);
        assert_eq!(s.registration.data_state(), "registered");
    }

    #[test]
    fn connect_failed_after_a_connection_is_ignored() {
        let s = run(registered(), [Action::ConnectFailed("x".into())]);
        assert_eq!(s.screen, Screen::Phone);
    }

    #[test]
    fn reconnecting_ends_a_call_being_prepared() {
        let s = run(
            registered(),
            [
                Action::OutgoingStarted {
                    peer: "102".into(),
                    video: false,
                },
                Action::Reconnecting {
                    attempt: 1,
                    delay_ms: 1000,
                },
            ],
        );
        assert_eq!(s.call_state(), "idle");
        assert_eq!(
            s.end_reason.as_deref(),
            Some("Connection to the phone system lost")
        );
    }

    #[test]
    fn logout_returns_to_the_form() {
        let s = run(registered(), [incoming(1, OFFER_AUDIO), Action::Logout]);
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(s.registration.data_state(), "unregistered");
        assert_eq!(s.call, None);
        // Events arriving after logout change nothing.
        let s2 = run(s.clone(), [reg(RegistrationState::Failed("x".into()))]);
        assert_eq!(s2, s);
    }

    #[test]
    fn incoming_call_answered_connected_then_ended() {
        let s = run(registered(), [incoming(7, OFFER_AUDIO)]);
        assert_eq!(s.call_state(), "incoming");
        let c = s.call.as_ref().unwrap();
        assert_eq!(c.peer_label(), "Bob (102)");
        assert!(!c.offers_video);

        let s = run(s, [Action::Answering { video: false }]);
        assert!(s.call.as_ref().unwrap().answering);
        assert_eq!(s.call_state(), "incoming");

        let s = run(s, [Action::AnswerSent]);
        assert_eq!(s.call_state(), "connected");

        let s = run(
            s,
            [Action::Sip(Event::Connected {
                call: CallHandle(7),
            })],
        );
        assert_eq!(s.call_state(), "connected");

        let s = run(
            s,
            [Action::Stats {
                rx_bytes: 12_345,
                duration_s: 3,
            }],
        );
        assert_eq!(s.call.as_ref().unwrap().rx_bytes, 12_345);

        let s = run(s, [ended(7, "The other side hung up", None)]);
        assert_eq!(s.call_state(), "idle");
        assert_eq!(s.end_reason.as_deref(), Some("The other side hung up"));
    }

    #[test]
    fn incoming_video_offer_is_noticed() {
        let s = run(registered(), [incoming(1, OFFER_VIDEO)]);
        assert!(s.call.unwrap().offers_video);
    }

    #[test]
    fn a_second_incoming_call_does_not_replace_the_first() {
        let s = run(
            registered(),
            [incoming(1, OFFER_AUDIO), incoming(2, OFFER_AUDIO)],
        );
        assert_eq!(s.call.as_ref().unwrap().handle, Some(CallHandle(1)));
        // ...and its end does not end ours.
        let s = run(s, [ended(2, "Busy", Some(486))]);
        assert_eq!(s.call_state(), "incoming");
    }

    #[test]
    fn caller_cancels_while_ringing() {
        let s = run(
            registered(),
            [
                incoming(3, OFFER_AUDIO),
                ended(3, "Missed call: the caller hung up", None),
            ],
        );
        assert_eq!(s.call_state(), "idle");
        assert_eq!(
            s.end_reason.as_deref(),
            Some("Missed call: the caller hung up")
        );
    }

    #[test]
    fn outgoing_call_rings_then_connects() {
        let s = run(
            registered(),
            [
                Action::DialDigit('1'),
                Action::DialDigit('0'),
                Action::DialDigit('3'),
                Action::DialBackspace,
            ],
        );
        assert_eq!(s.dial, "10");
        let s = run(s, [Action::DialInput("102".into())]);
        assert!(s.can_call());

        let s = run(
            s,
            [Action::OutgoingStarted {
                peer: "102".into(),
                video: true,
            }],
        );
        assert_eq!(s.call_state(), "calling");
        assert!(!s.can_call());
        // A ringing event before the INVITE is placed belongs to nobody.
        let s = run(
            s,
            [Action::Sip(Event::Ringing {
                call: CallHandle(5),
            })],
        );
        assert_eq!(s.call_state(), "calling");

        let s = run(
            s,
            [
                Action::OutgoingPlaced {
                    call: CallHandle(5),
                },
                Action::Sip(Event::Ringing {
                    call: CallHandle(5),
                }),
            ],
        );
        assert_eq!(s.call_state(), "ringing");

        let s = run(
            s,
            [Action::Sip(Event::Answered {
                call: CallHandle(5),
                sdp: OFFER_VIDEO.into(),
            })],
        );
        assert_eq!(s.call_state(), "connected");
        assert!(s.call.as_ref().unwrap().video);

        let s = run(s, [Action::Muted(true), Action::CameraOff(true)]);
        let c = s.call.as_ref().unwrap();
        assert!(c.muted && c.camera_off);

        let s = run(s, [ended(5, "You hung up", None)]);
        assert_eq!(s.call_state(), "idle");
        assert_eq!(s.end_reason.as_deref(), Some("You hung up"));
        assert_eq!(s.dial, "102", "the number stays for a redial");
    }

    #[test]
    fn failure_reasons_are_shown() {
        for (status, reason) in [(486, "Busy"), (404, "No such extension"), (603, "Declined")] {
            let s = run(
                registered(),
                [
                    Action::OutgoingStarted {
                        peer: "999".into(),
                        video: false,
                    },
                    Action::OutgoingPlaced {
                        call: CallHandle(9),
                    },
                    ended(9, reason, Some(status)),
                ],
            );
            assert_eq!(s.call_state(), "idle");
            assert_eq!(s.end_reason.as_deref(), Some(reason));
        }
    }

    #[test]
    fn local_failures_end_the_call_with_a_reason() {
        let s = run(
            registered(),
            [
                incoming(1, OFFER_AUDIO),
                Action::Answering { video: true },
                ended(1, "Declined", Some(603)),
                Action::CallEnded("Microphone access was denied".into()),
            ],
        );
        assert_eq!(s.call_state(), "idle");
        assert_eq!(
            s.end_reason.as_deref(),
            Some("Microphone access was denied")
        );
    }

    #[test]
    fn a_new_call_clears_the_last_end_reason() {
        let s = run(
            registered(),
            [
                ended(1, "x", None),
                Action::CallEnded("Busy".into()),
                incoming(2, OFFER_AUDIO),
            ],
        );
        assert_eq!(s.end_reason, None);
    }

    #[test]
    fn reducer_keeps_the_same_rc_when_nothing_changes() {
        let s = Rc::new(registered());
        let same = s.clone().reduce(Action::Sip(Event::Ringing {
            call: CallHandle(42),
        }));
        assert!(Rc::ptr_eq(&s, &same));
        let changed = s.clone().reduce(Action::DialDigit('5'));
        assert!(!Rc::ptr_eq(&s, &changed));
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(format_bytes(999), "999 B");
        assert_eq!(format_bytes(12_345), "12.3 kB");
        assert_eq!(format_bytes(1_400_000), "1.4 MB");
        assert_eq!(format_duration(7), "0:07");
        assert_eq!(format_duration(754), "12:34");
        assert_eq!(format_duration(3723), "1:02:03");
    }

    #[test]
    fn video_detection_ignores_rejected_streams() {
        assert!(sdp_has_video(OFFER_VIDEO));
        assert!(!sdp_has_video(OFFER_AUDIO));
        assert!(!sdp_has_video(
            "m=audio 9 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n"
        ));
    }
}
