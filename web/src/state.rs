//! The softphone's state and everything that can happen to it: a pure reducer.
//!
//! Views read [`AppState`]; the services in [`crate::services`] and the views' buttons
//! dispatch [`Action`]s. Nothing here touches the browser (no web-sys), so the rules are
//! tested with plain `cargo test`.
//!
//! Invariants:
//! - no password ever enters this state: the web password goes from the form straight into
//!   the login request, the SIP credential lives only in the phone service's memory;
//! - `calls` is empty exactly when the call panel is "idle"; each call is keyed by its user
//!   agent handle (`None` only for the one outgoing call still preparing its media);
//! - events for a call handle not in `calls` are ignored;
//! - what a second call does (waits, or is busy; holds the first when answered) is the user
//!   agent's policy: this reducer only shows what the user agent reports (`Event::Hold`...).

use std::rc::Rc;

use centrala_sip::ua::{CallHandle, Event, ForwardReason, Party, RegistrationState};
use yew::Reducible;

use crate::i18n::{Lang, Strings};
use crate::model::{
    Contact, ContactImport, DirectoryEntry, EndReason, HistoryItem, Invitation, LinkKind,
    LoginNotice, Me, MyStatus, PhoneNotice, name_and_number,
};

pub mod admin;
pub mod contacts;
pub mod costs;
pub mod devices;
pub mod history;
pub mod keypad;
pub mod media_devices;
pub mod notify;
pub mod phonebook;
pub mod routing;
pub mod tokens;
pub mod transfer;
pub mod video;
pub mod voicemail;

use contacts::{ContactsState, Feed, Move, PresenceEntry, RowKey};
use history::HistoryState;
use media_devices::{BrowserSettings, DeviceKind, DeviceList, DeviceNotice};
use notify::NotifyPermission;
use phonebook::{ContactForm, FormEdit, FormProblem, ImportBox};

/// Which screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Page load: asking the gateway whether a session exists.
    Loading,
    /// The login form (and "forgot password").
    Login,
    /// An invitation or password-reset link: choose a password.
    SetPassword,
    /// Logged in: status, call panel, and the dialer or the admin panel.
    Phone,
}

/// The sections of the admin panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminSection {
    Employees,
    NumberBlocks,
    Import,
    ApiTokens,
    /// Call costs, limits and the monthly statement.
    Costs,
}

/// What the main area shows when logged in (the call panel is always there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The contact list: the main screen.
    Contacts,
    History,
    /// The dial pad (on a narrow screen it takes the main area; on a wide one it is always
    /// beside the list).
    Dialpad,
    Settings,
    /// One's devices, device logins, ring strategy and forwarding.
    Devices,
    /// One's voicemail messages and greetings.
    Voicemail,
    /// Administrators only.
    Admin(AdminSection),
}

impl View {
    /// The value of `.app[data-view]`.
    pub fn data_view(self) -> &'static str {
        match self {
            View::Contacts => "contacts",
            View::History => "history",
            View::Dialpad => "dialpad",
            View::Settings => "settings",
            View::Devices => "devices",
            View::Voicemail => "voicemail",
            View::Admin(_) => "admin",
        }
    }
}

/// The set-password page of an invitation or reset link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPage {
    pub kind: LinkKind,
    pub token: String,
    /// What the link is for, once the gateway said so.
    pub invitation: Option<Invitation>,
    /// The link cannot be used (used, expired, unknown); the text says so in plain words.
    pub problem: Option<String>,
    /// Why the password was not accepted.
    pub error: Option<String>,
    /// The new password is being sent.
    pub busy: bool,
    /// Asking for a new link is under way.
    pub request_busy: bool,
    /// The gateway's answer to asking for a new link.
    pub request_message: Option<String>,
}

impl LinkPage {
    fn new(kind: LinkKind, token: String) -> LinkPage {
        LinkPage {
            kind,
            token,
            invitation: None,
            problem: None,
            error: None,
            busy: false,
            request_busy: false,
            request_message: None,
        }
    }
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
    /// The phone system refused us, or the phone cannot start; the notice says why.
    Failed(PhoneNotice),
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
    pub fn describe(&self, t: &Strings, extension: &str) -> String {
        match self {
            Registration::Unregistered => t.reg_unregistered.into(),
            Registration::Connecting => t.reg_connecting.into(),
            Registration::Registered => (t.reg_online)(extension),
            Registration::Failed(notice) => (t.reg_failed)(&t.phone_notice(notice)),
            Registration::Reconnecting { attempt, delay_ms } => {
                let secs = ((delay_ms + 500) / 1000).max(1);
                (t.reg_reconnecting)(secs, *attempt)
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

/// Our call was forwarded (181): to whom in words ("Bob (102)"), when the phone system
/// named them, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub to: Option<String>,
    pub reason: ForwardReason,
}

/// A forwarding reason as the history's `diversion` names it ("no_answer"), for data
/// attributes.
pub fn forward_reason_str(r: ForwardReason) -> &'static str {
    match r {
        ForwardReason::Always => "always",
        ForwardReason::Busy => "busy",
        ForwardReason::NoAnswer => "no_answer",
        ForwardReason::Offline => "offline",
        ForwardReason::DoNotDisturb => "unavailable",
        ForwardReason::Other => "other",
    }
}

/// What plays while a call rings here (the phone service says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    None,
    /// The ringtone: the only call rings.
    Ring,
    /// The short call-waiting tone: a call rings while others are going on.
    Waiting,
}

impl Tone {
    /// The value of `#call-panel[data-tone]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tone::None => "none",
            Tone::Ring => "ring",
            Tone::Waiting => "waiting",
        }
    }
}

/// One of the calls going on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The user agent's handle; `None` while an outgoing call is still preparing media.
    pub handle: Option<CallHandle>,
    /// Who: the extension or address.
    pub peer: String,
    /// The caller's display name (From), or the contact list's name for the number.
    pub peer_display: Option<String>,
    pub phase: CallPhase,
    /// We send video (a video call, or answered with video).
    pub video: bool,
    /// The caller's offer includes video (incoming calls).
    pub offers_video: bool,
    /// The user pressed Answer; media is being set up.
    pub answering: bool,
    pub muted: bool,
    /// Sum of `bytesReceived` over inbound RTP streams.
    pub rx_bytes: u64,
    /// Seconds since the call connected.
    pub duration_s: u64,
    /// Our call was forwarded.
    pub forwarded: Option<Forwarded>,
    /// The call came to us forwarded: by whom, in words ("Anna (101)"), and why.
    pub diverted_from: Option<(String, ForwardReason)>,
    /// Its transfer, consultation, and keys received (see [`transfer`]).
    pub xfer: transfer::CallTransfer,
    /// We hold the call.
    pub held: bool,
    /// The far end holds the call.
    pub remote_held: bool,
    /// It rang while another call was going on.
    pub waiting: bool,
    // Keypad, devices, notifications (issue 12)
    /// The in-call dial pad is open.
    pub keypad_open: bool,
    /// The DTMF digits sent in this call, in order.
    pub dtmf_sent: String,
    /// This call cannot send DTMF (the far end took no telephone-event).
    pub dtmf_unavailable: bool,
    // Video and Meet & Share (issue 12)
    /// We share our screen.
    pub sharing: bool,
    /// The far end sends its camera.
    pub remote_video: bool,
    /// The far end shares its screen.
    pub remote_screen: bool,
    /// A camera or sharing change is under way (the buttons wait).
    pub video_busy: bool,
    /// Why the last camera or sharing change did not work.
    pub video_problem: Option<video::VideoProblem>,
    /// Video frames and audio bytes so far (for `#call-stats`).
    pub video_stats: video::VideoStats,
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
            rx_bytes: 0,
            duration_s: 0,
            forwarded: None,
            diverted_from: None,
            xfer: transfer::CallTransfer::default(),
            held: false,
            remote_held: false,
            waiting: false,
            keypad_open: false,
            dtmf_sent: String::new(),
            dtmf_unavailable: false,
            // Video and Meet & Share (issue 12)
            sharing: false,
            remote_video: false,
            remote_screen: false,
            video_busy: false,
            video_problem: None,
            video_stats: video::VideoStats::default(),
        }
    }

    /// The value of `data-state` for this call: its phase, or "held" (we hold it),
    /// "held-remote" (the far end holds it) while connected.
    pub fn data_state(&self) -> &'static str {
        match self.phase {
            CallPhase::Connected if self.held => "held",
            CallPhase::Connected if self.remote_held => "held-remote",
            p => p.data_state(),
        }
    }

    /// The value of `data-id`: the user agent's handle, "new" while being prepared.
    pub fn data_id(&self) -> String {
        self.handle
            .map_or_else(|| "new".to_string(), |h| h.0.to_string())
    }

    /// The peer's name, when known and not just the number again.
    pub fn peer_name(&self) -> Option<&str> {
        self.peer_display
            .as_deref()
            .filter(|d| !d.trim().is_empty() && *d != self.peer)
    }
}

/// Everything the views show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppState {
    pub screen: Screen,
    /// Who is logged in (on the phone screen).
    pub me: Option<Me>,
    /// Phone or admin panel, on the phone screen.
    pub view: View,
    /// Our extension (the logged-in employee's).
    pub extension: String,
    pub login_error: Option<String>,
    /// The login request is under way.
    pub login_busy: bool,
    /// The "reset password" form is open.
    pub reset_open: bool,
    pub reset_busy: bool,
    /// The gateway's answer to a reset request.
    pub reset_message: Option<String>,
    /// The set-password page (on [`Screen::SetPassword`]).
    pub link: Option<LinkPage>,
    pub registration: Registration,
    /// Registered at least once since this login (a later failure keeps the phone screen).
    pub ever_registered: bool,
    /// The WebSocket opened at least once since this login (later closes reconnect).
    pub ever_connected: bool,
    /// The number in the dial field.
    pub dial: String,
    /// The calls going on, in the order they began.
    pub calls: Vec<Call>,
    /// What plays for a ringing call.
    pub tone: Tone,
    /// The transfer box, when open.
    pub transfer_form: Option<transfer::TransferForm>,
    /// Voicemail messages not heard yet (the menu's badge).
    pub voicemail_new: u64,
    /// A second call may ring while one talks (else the caller hears busy); this browser's
    /// setting.
    pub call_waiting: bool,
    /// Why the last call ended, shown while idle (in the language of the moment).
    pub end_reason: Option<EndReason>,
    /// Where the last call was forwarded, shown with its end reason.
    pub end_forwarded: Option<Forwarded>,
    /// Why the login form shows (this device was removed...).
    pub login_notice: Option<LoginNotice>,
    /// Counts ended calls (the history and the badge are fetched again after each).
    pub calls_ended: u64,
    /// The UI's language.
    pub lang: Lang,
    /// One's own status choice.
    pub my_status: MyStatus,
    /// Why the last status change failed.
    pub status_error: Option<String>,
    pub contacts: ContactsState,
    pub history: HistoryState,
    /// The add/edit contact form, when open.
    pub contact_form: Option<ContactForm>,
    pub import: ImportBox,
    /// The language switch's answer ("Saved." or why not).
    pub settings_notice: Option<String>,
    // Keypad, devices, notifications (issue 12)
    /// Devices, outputs and notifications in this browser (kept across logins).
    pub browser: BrowserSettings,
}

impl AppState {
    /// The state at page load: the set-password page for a link in the address, otherwise
    /// "loading" until the gateway says whether a session exists.
    pub fn new(link: Option<(LinkKind, String)>) -> AppState {
        let (screen, link) = match link {
            Some((kind, token)) => (Screen::SetPassword, Some(LinkPage::new(kind, token))),
            None => (Screen::Loading, None),
        };
        AppState {
            screen,
            me: None,
            view: View::Contacts,
            extension: String::new(),
            login_error: None,
            login_busy: false,
            reset_open: false,
            reset_busy: false,
            reset_message: None,
            link,
            registration: Registration::Unregistered,
            ever_registered: false,
            ever_connected: false,
            dial: String::new(),
            calls: Vec::new(),
            tone: Tone::None,
            transfer_form: None,
            voicemail_new: 0,
            call_waiting: true,
            end_reason: None,
            end_forwarded: None,
            login_notice: None,
            calls_ended: 0,
            lang: Lang::En,
            my_status: MyStatus::Available,
            status_error: None,
            contacts: ContactsState::default(),
            history: HistoryState::default(),
            contact_form: None,
            import: ImportBox::default(),
            settings_notice: None,
            browser: BrowserSettings::default(),
        }
    }

    /// The state with the UI in `lang` (the browser's, at page load).
    pub fn with_lang(mut self, lang: Lang) -> AppState {
        self.lang = lang;
        self
    }

    /// The state with the call-waiting setting (this browser's, at page load).
    pub fn with_call_waiting(mut self, on: bool) -> AppState {
        self.call_waiting = on;
        self
    }

    /// The call the panel shows first: the one we talk in, else one ringing here, else our
    /// call being set up, else the first (held) one.
    pub fn call(&self) -> Option<&Call> {
        let find = |f: &dyn Fn(&Call) -> bool| self.calls.iter().find(|c| f(c));
        find(&|c| c.phase == CallPhase::Connected && !c.held)
            .or_else(|| find(&|c| c.phase == CallPhase::Incoming))
            .or_else(|| find(&|c| matches!(c.phase, CallPhase::Calling | CallPhase::Ringing)))
            .or_else(|| self.calls.first())
    }

    fn call_mut(&mut self, handle: CallHandle) -> Option<&mut Call> {
        self.calls.iter_mut().find(|c| c.handle == Some(handle))
    }

    /// This state's words.
    pub fn t(&self) -> &'static Strings {
        self.lang.t()
    }

    /// The value of `#call-panel[data-state]`.
    pub fn call_state(&self) -> &'static str {
        self.call().map_or("idle", Call::data_state)
    }

    /// The login form, with `error` (or none), as after a logout.
    fn show_login_form(&mut self, error: Option<String>) {
        *self = AppState {
            dial: std::mem::take(&mut self.dial),
            lang: self.lang,
            call_waiting: self.call_waiting,
            browser: std::mem::take(&mut self.browser),
            ..AppState::new(None)
        };
        self.screen = Screen::Login;
        self.login_error = error;
    }

    /// Whether the logged-in employee may open the admin panel.
    pub fn is_admin(&self) -> bool {
        self.me.as_ref().is_some_and(|m| m.employee.is_admin())
    }

    /// The logged-in employee's company, for the top bar.
    pub fn company_name(&self) -> Option<&str> {
        self.me.as_ref().map(|m| m.company.name.as_str())
    }

    /// Whether the call buttons may place a call now (registered, no call going on).
    /// A call can be placed: registered, and every call going on is up (placing one holds
    /// them), below the user agent's limit.
    pub fn can_call(&self) -> bool {
        self.registration == Registration::Registered
            && self.calls.len() < centrala_sip::ua::MAX_CALLS
            && self
                .calls
                .iter()
                .all(|c| c.handle.is_some() && c.phase == CallPhase::Connected)
    }

    /// Ends every call (the connection was lost).
    fn end_all(&mut self, reason: EndReason) {
        self.end_forwarded = None;
        for c in std::mem::take(&mut self.calls) {
            self.calls_ended += 1;
            self.end_forwarded = c.forwarded;
        }
        self.end_reason = Some(reason);
    }

    /// Ends call `handle` (`None`: the one being prepared); the others stay.
    fn end_call(&mut self, handle: Option<CallHandle>, reason: EndReason) {
        self.end_forwarded = None;
        if let Some(i) = self.calls.iter().position(|c| c.handle == handle) {
            let c = self.calls.remove(i);
            if handle.is_some() && self.transfer_form.as_ref().map(|f| f.call) == handle {
                self.transfer_form = None;
            }
            self.calls_ended += 1;
            self.end_forwarded = c.forwarded;
        }
        self.end_reason = Some(reason);
    }

    /// Someone named by the phone system, in words: "Bob (102)", with the contact list's
    /// name when the message had none.
    fn party_words(&self, p: &Party) -> String {
        let name = p
            .display
            .clone()
            .filter(|d| !d.trim().is_empty())
            .or_else(|| self.contacts.name_for(&p.user));
        name_and_number(name.as_deref(), Some(&p.user))
    }

    fn on_sip(&mut self, event: Event) {
        match event {
            Event::Registration(reg) => self.on_registration(reg),
            Event::IncomingCall {
                call,
                from_user,
                from_display,
                sdp,
                diverted_from,
                waiting,
                replaces,
                ..
            } => {
                if self.calls.iter().any(|c| c.handle == Some(call)) {
                    return;
                }
                let mut c = Call::new(from_user, CallPhase::Incoming);
                c.waiting = waiting;
                // It takes the place of one of ours (attended transfer): answered at once.
                c.answering = replaces.is_some();
                c.handle = Some(call);
                c.peer_display = from_display
                    .filter(|d| !d.trim().is_empty())
                    .or_else(|| self.contacts.name_for(&c.peer));
                c.offers_video = sdp_has_video(&sdp);
                c.diverted_from = diverted_from.map(|d| (self.party_words(&d.from), d.reason));
                self.calls.push(c);
                self.end_reason = None;
                self.end_forwarded = None;
            }
            Event::Forwarded { call, to, reason } => {
                let to = (!to.is_empty()).then(|| {
                    to.iter()
                        .map(|p| self.party_words(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                });
                if let Some(c) = self.call_mut(call) {
                    c.forwarded = Some(Forwarded { to, reason });
                }
            }
            Event::Ringing { call } => {
                if let Some(c) = self
                    .call_mut(call)
                    .filter(|c| c.phase == CallPhase::Calling)
                {
                    c.phase = CallPhase::Ringing;
                }
            }
            Event::Answered { call, .. } | Event::Connected { call } => {
                if let Some(c) = self.call_mut(call) {
                    c.phase = CallPhase::Connected;
                    c.answering = false;
                }
            }
            Event::Hold {
                call,
                local,
                remote,
            } => {
                if let Some(c) = self.call_mut(call) {
                    c.held = local;
                    c.remote_held = remote;
                }
            }
            Event::Ended {
                call,
                reason,
                status,
                ..
            } => self.on_ended(call, status, EndReason::from_sip(status, reason, None)),
            e @ (Event::Transfer { .. } | Event::TransferRequested { .. } | Event::Dtmf { .. }) => {
                self.on_transfer_event(e)
            }
            _ => {}
        }
    }

    /// Call `call` ended (`status`: the SIP status, if any).
    fn on_ended(&mut self, call: CallHandle, status: Option<u16>, reason: EndReason) {
        let Some(c) = self.calls.iter().find(|c| c.handle == Some(call)) else {
            return;
        };
        // The caller gave up before we answered (our decline has a status).
        let missed = reason != EndReason::AnsweredElsewhere
            && c.phase == CallPhase::Incoming
            && !c.answering
            && status.is_none();
        if missed && self.view != View::History {
            self.history.missed_live();
        }
        let reason = match reason {
            EndReason::OtherHungUp if missed => EndReason::Missed,
            r => r,
        };
        self.end_call(Some(call), reason);
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
                // The session is still valid: stay on the phone and say why (the user agent
                // retries, and the phone service fetches new credentials on a refusal).
                self.registration = Registration::Failed(PhoneNotice::Other(reason));
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
    /// No session (`GET /api/v1/me` said 401), or leaving the set-password page.
    ShowLogin,
    /// The login form was submitted (and passed [`crate::addr::validate_login`]).
    LoginSubmitted,
    /// The login form has a mistake, or the gateway refused the login; the text says why.
    LoginFailed(String),
    /// A session exists: logged in, from the form, at page load or by accepting a link.
    SignedIn(Me),
    /// The gateway no longer accepts our session (401 while fetching SIP credentials).
    SessionEnded,
    /// The registrar refused this browser: it was removed from the account. Logged out;
    /// the login form says why.
    DeviceRemoved,
    /// The user pressed "Log out".
    Logout,
    /// "Forgot password?" opened (`true`) or closed the reset form.
    ForgotPassword(bool),
    /// A reset link was asked for.
    ResetSubmitted,
    /// The gateway's answer to the reset request (or why it failed).
    ResetAnswered(String),
    /// The set-password link is valid, for this person.
    LinkLoaded(Invitation),
    /// The set-password link cannot be used; the text says why in plain words.
    LinkProblem(String),
    /// The new password is being sent.
    SetPasswordSubmitted,
    /// The new password was not accepted (here or by the gateway); the text says why.
    SetPasswordFailed(String),
    /// A new link was asked for from the link-problem page.
    LinkRequestSubmitted,
    /// The gateway's answer to that (or why it failed).
    LinkRequestAnswered(String),
    /// Show a section (the admin panel's for administrators only).
    Navigate(View),
    /// The UI's language: the browser's, or the one saved in Settings.
    SetLang(Lang),
    /// The language was saved (`PUT /api/v1/me/language`), or why not.
    LangSaved(Result<(), String>),
    /// One's own status was chosen (shown at once; `StatusFailed` puts it back).
    SetMyStatus(MyStatus),
    /// The gateway refused the status change: the status before it, and why.
    StatusFailed(MyStatus, String),
    /// The company's directory (`GET /api/v1/directory`).
    DirectoryLoaded(Vec<DirectoryEntry>),
    /// The phone book (`GET /api/v1/contacts`).
    BookLoaded(Vec<Contact>),
    /// The directory or the phone book could not be loaded.
    ContactsFailed(String),
    /// The search box changed.
    ContactsQuery(String),
    /// Arrow keys, Home and End in the list.
    ContactsMove(Move),
    /// A row was clicked or focused.
    ContactsSelect(RowKey),
    /// A presence NOTIFY (`full`: the whole list; otherwise only these entries).
    Presence {
        full: bool,
        entries: Vec<PresenceEntry>,
    },
    /// The presence subscription ended (the list keeps its last state, greyed).
    PresenceLost,
    /// The star was toggled.
    Favourite(RowKey, bool),
    /// Open the add/edit contact form.
    OpenContactForm(ContactForm),
    CloseContactForm,
    ContactFormEdit(FormEdit),
    ContactFormSubmitted,
    ContactFormRejected(FormProblem),
    /// A contact was saved (the form closes).
    ContactSaved(Contact),
    ContactRemoved(i64),
    /// A phone-book file is being imported.
    ImportSubmitted,
    ImportDone(ContactImport),
    ImportFailed(String),
    /// A history page is being fetched.
    HistoryLoading,
    /// A history page: the first (`append: false`) or an older one.
    HistoryLoaded {
        items: Vec<HistoryItem>,
        missed_unseen: Option<u64>,
        append: bool,
    },
    HistoryFailed(String),
    /// The gateway's count of unseen missed calls.
    MissedCount(u64),
    /// How many voicemail messages are new.
    VoicemailCount(u64),
    /// The history was opened: the missed calls are seen.
    HistorySeen,
    /// Arrow keys in the history (`true`: down).
    HistoryMove(bool),
    /// A history row was clicked.
    HistorySelect(i64),
    /// The phone cannot start or register for a reason outside SIP (no SIP credentials yet).
    PhoneUnavailable(PhoneNotice),
    /// The WebSocket opened; registering.
    SocketOpened,
    /// The WebSocket closed; the next attempt starts after `delay_ms`.
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
    },
    /// An event from the SIP user agent.
    Sip(Event),
    /// Transfers (see [`transfer`]).
    Transfer(transfer::TransferAction),
    /// The user agent ended call `call` (its `Event::Ended`), for `reason`; `status` is the
    /// SIP status, if any.
    Ended {
        call: CallHandle,
        status: Option<u16>,
        reason: EndReason,
    },
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
    /// The user pressed Answer on call `call`; media is being prepared.
    Answering {
        call: CallHandle,
        video: bool,
    },
    /// Our answer (200 OK) to call `call` went out.
    AnswerSent {
        call: CallHandle,
    },
    /// Call `call` (`None`: the one being prepared) ended on this side without a SIP event
    /// (hung up while preparing, microphone refused, media failure).
    CallEnded {
        call: Option<CallHandle>,
        reason: EndReason,
    },
    Muted {
        call: CallHandle,
        muted: bool,
    },
    /// Once a second during call `call`.
    Stats {
        call: CallHandle,
        rx_bytes: u64,
        duration_s: u64,
    },
    /// What plays for a ringing call changed.
    Tone(Tone),
    /// The user turned call waiting on or off.
    CallWaiting(bool),
    // Keypad, devices, notifications (issue 12)
    /// Open or close the dial pad of call `call`.
    KeypadToggle {
        call: CallHandle,
    },
    /// DTMF digit `digit` went out in call `call`.
    DtmfSent {
        call: CallHandle,
        digit: char,
    },
    /// Call `call` cannot send DTMF.
    DtmfUnavailable {
        call: CallHandle,
    },
    /// The browser's devices were listed.
    DevicesListed(DeviceList),
    /// The user chose a device (`None`: the default).
    DeviceChosen(DeviceKind, Option<String>),
    /// Something about devices to tell the user (`None`: clear it).
    DeviceNotice(Option<DeviceNotice>),
    /// The notification permission is now this.
    NotifyPermission(NotifyPermission),
    // Video and Meet & Share (issue 12)
    /// What call `call` now sends and receives in video.
    Video {
        call: CallHandle,
        state: video::VideoState,
    },
    /// A camera or sharing change in call `call` did not work.
    VideoFailed {
        call: CallHandle,
        problem: video::VideoProblem,
    },
    /// Once a second during call `call`, with [`Action::Stats`].
    VideoStats {
        call: CallHandle,
        stats: video::VideoStats,
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
    fn link_page(&mut self) -> Option<&mut LinkPage> {
        if self.screen == Screen::SetPassword {
            self.link.as_mut()
        } else {
            None
        }
    }

    /// Applies one action (the reducer, on a plain value).
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::ShowLogin => {
                if self.screen != Screen::Phone {
                    self.show_login_form(None);
                }
            }
            Action::LoginSubmitted => {
                if self.screen == Screen::Login {
                    self.login_busy = true;
                    self.login_error = None;
                }
            }
            Action::LoginFailed(msg) => {
                if self.screen == Screen::Login {
                    self.login_busy = false;
                    self.login_error = Some(msg);
                }
            }
            Action::SignedIn(me) => {
                if self.screen == Screen::Phone {
                    return; // already logged in
                }
                *self = AppState {
                    dial: std::mem::take(&mut self.dial),
                    lang: me.language.unwrap_or(self.lang),
                    my_status: me.presence.unwrap_or_default(),
                    call_waiting: self.call_waiting,
                    browser: std::mem::take(&mut self.browser),
                    ..AppState::new(None)
                };
                self.screen = Screen::Phone;
                self.contacts.me = Some(me.employee.id);
                self.extension = me.employee.extension.clone();
                self.me = Some(me);
                self.registration = Registration::Connecting;
            }
            Action::SessionEnded => {
                if self.screen == Screen::Phone {
                    self.show_login_form(Some(self.t().session_ended.into()));
                }
            }
            Action::Logout => {
                if self.screen == Screen::Phone {
                    self.show_login_form(None);
                }
            }
            Action::DeviceRemoved => {
                if self.screen == Screen::Phone {
                    self.show_login_form(None);
                    self.login_notice = Some(LoginNotice::DeviceRemoved);
                }
            }
            Action::ForgotPassword(open) => {
                if self.screen == Screen::Login {
                    self.reset_open = open;
                    self.reset_message = None;
                    self.reset_busy = false;
                }
            }
            Action::ResetSubmitted => {
                if self.reset_open {
                    self.reset_busy = true;
                    self.reset_message = None;
                }
            }
            Action::ResetAnswered(msg) => {
                if self.reset_open {
                    self.reset_busy = false;
                    self.reset_message = Some(msg);
                }
            }
            Action::LinkLoaded(invitation) => {
                if let Some(l) = self.link_page() {
                    l.invitation = Some(invitation);
                    l.problem = None;
                }
            }
            Action::LinkProblem(msg) => {
                if let Some(l) = self.link_page() {
                    l.problem = Some(msg);
                    l.busy = false;
                    l.error = None;
                }
            }
            Action::SetPasswordSubmitted => {
                if let Some(l) = self.link_page().filter(|l| l.invitation.is_some()) {
                    l.busy = true;
                    l.error = None;
                }
            }
            Action::SetPasswordFailed(msg) => {
                if let Some(l) = self.link_page() {
                    l.busy = false;
                    l.error = Some(msg);
                }
            }
            Action::LinkRequestSubmitted => {
                if let Some(l) = self.link_page() {
                    l.request_busy = true;
                    l.request_message = None;
                }
            }
            Action::LinkRequestAnswered(msg) => {
                if let Some(l) = self.link_page() {
                    l.request_busy = false;
                    l.request_message = Some(msg);
                }
            }
            Action::Navigate(view) => {
                if self.screen == Screen::Phone
                    && (!matches!(view, View::Admin(_)) || self.is_admin())
                {
                    self.view = view;
                    self.settings_notice = None;
                }
            }
            Action::SetLang(lang) => {
                self.lang = lang;
                self.settings_notice = None;
            }
            Action::LangSaved(r) => {
                self.settings_notice = Some(match r {
                    Ok(()) => self.t().language_saved.into(),
                    Err(why) => why,
                });
            }
            Action::SetMyStatus(st) => {
                self.my_status = st;
                self.status_error = None;
            }
            Action::StatusFailed(before, why) => {
                self.my_status = before;
                self.status_error = Some(why);
            }
            Action::DirectoryLoaded(d) => {
                self.contacts.directory = d;
                self.contacts.directory_loaded = true;
                self.contacts.error = None;
            }
            Action::BookLoaded(b) => {
                self.contacts.book = b;
                self.contacts.book_loaded = true;
            }
            Action::ContactsFailed(why) => {
                self.contacts.error = Some(format!("{}: {why}", self.t().load_failed));
            }
            Action::ContactsQuery(q) => self.contacts.set_query(q),
            Action::ContactsMove(m) => self.contacts.move_selection(m),
            Action::ContactsSelect(k) => self.contacts.selected = Some(k),
            Action::Presence { full, entries } => self.contacts.apply_presence(full, entries),
            Action::PresenceLost => {
                if self.contacts.feed != Feed::Waiting || !self.contacts.presence.is_empty() {
                    self.contacts.feed = Feed::Lost;
                }
            }
            Action::Favourite(k, on) => self.contacts.set_favourite(k, on),
            Action::OpenContactForm(f) => self.contact_form = Some(f),
            Action::CloseContactForm => self.contact_form = None,
            Action::ContactFormEdit(e) => {
                if let Some(f) = self.contact_form.as_mut() {
                    f.apply(e);
                    f.problem = None;
                }
            }
            Action::ContactFormSubmitted => {
                if let Some(f) = self.contact_form.as_mut() {
                    f.busy = true;
                    f.problem = None;
                }
            }
            Action::ContactFormRejected(p) => {
                if let Some(f) = self.contact_form.as_mut() {
                    f.busy = false;
                    f.problem = Some(p);
                }
            }
            Action::ContactSaved(c) => {
                self.contacts.selected = Some(RowKey::Contact(c.id));
                self.contacts.upsert_contact(c);
                self.contact_form = None;
            }
            Action::ContactRemoved(id) => self.contacts.remove_contact(id),
            Action::ImportSubmitted => {
                self.import = ImportBox {
                    busy: true,
                    ..ImportBox::default()
                }
            }
            Action::ImportDone(r) => {
                self.import = ImportBox {
                    busy: false,
                    result: Some(r),
                    error: None,
                }
            }
            Action::ImportFailed(why) => {
                self.import = ImportBox {
                    busy: false,
                    result: None,
                    error: Some(why),
                }
            }
            Action::HistoryLoading => self.history.loading = true,
            Action::HistoryLoaded {
                items,
                missed_unseen,
                append,
            } => self.history.loaded(items, missed_unseen, append),
            Action::HistoryFailed(why) => {
                self.history.loading = false;
                self.history.error = Some(why);
            }
            Action::MissedCount(n) => self.history.missed_unseen = n,
            Action::VoicemailCount(n) => self.voicemail_new = n,
            Action::HistorySeen => self.history.missed_unseen = 0,
            Action::HistoryMove(down) => self.history.move_selection(down),
            Action::HistorySelect(id) => self.history.selected = Some(id),
            Action::PhoneUnavailable(msg) => {
                if self.screen == Screen::Phone {
                    self.registration = Registration::Failed(msg);
                }
            }
            Action::SocketOpened => {
                if self.screen == Screen::Phone {
                    self.ever_connected = true;
                    self.registration = Registration::Connecting;
                }
            }
            Action::Reconnecting { attempt, delay_ms } => {
                if self.screen == Screen::Phone {
                    self.registration = Registration::Reconnecting { attempt, delay_ms };
                    if !self.calls.is_empty() {
                        self.end_all(EndReason::ConnectionLost);
                    }
                }
            }
            Action::Sip(event) => self.on_sip(event),
            Action::Transfer(a) => self.on_transfer(a),
            Action::Ended {
                call,
                status,
                reason,
            } => self.on_ended(call, status, reason),
            Action::DialInput(value) => self.dial = value,
            Action::DialDigit(d) => self.dial.push(d),
            Action::DialBackspace => {
                self.dial.pop();
            }
            Action::OutgoingStarted { peer, video } => {
                if !self.calls.iter().any(|c| c.handle.is_none()) {
                    let mut c = Call::new(peer, CallPhase::Calling);
                    c.video = video;
                    self.calls.push(c);
                    self.end_reason = None;
                    self.end_forwarded = None;
                }
            }
            Action::OutgoingPlaced { call } => {
                if let Some(c) = self
                    .calls
                    .iter_mut()
                    .find(|c| c.handle.is_none() && c.phase == CallPhase::Calling)
                {
                    c.handle = Some(call);
                }
            }
            Action::Answering { call, video } => {
                if let Some(c) = self
                    .call_mut(call)
                    .filter(|c| c.phase == CallPhase::Incoming)
                {
                    c.answering = true;
                    c.video = video;
                }
            }
            Action::AnswerSent { call } => {
                if let Some(c) = self
                    .call_mut(call)
                    .filter(|c| c.phase == CallPhase::Incoming)
                {
                    c.phase = CallPhase::Connected;
                    c.answering = false;
                }
            }
            Action::CallEnded { call, reason } => self.end_call(call, reason),
            Action::Muted { call, muted } => {
                if let Some(c) = self.call_mut(call) {
                    c.muted = muted;
                }
            }
            Action::Stats {
                call,
                rx_bytes,
                duration_s,
            } => {
                if let Some(c) = self.call_mut(call) {
                    c.rx_bytes = rx_bytes;
                    c.duration_s = duration_s;
                }
            }
            Action::Tone(tone) => self.tone = tone,
            Action::CallWaiting(on) => self.call_waiting = on,
            Action::KeypadToggle { call } => {
                if let Some(c) = self.call_mut(call) {
                    c.keypad_open = !c.keypad_open;
                }
            }
            Action::DtmfSent { call, digit } => {
                if let Some(c) = self.call_mut(call) {
                    c.dtmf_sent.push(digit);
                    c.dtmf_unavailable = false;
                }
            }
            Action::DtmfUnavailable { call } => {
                if let Some(c) = self.call_mut(call) {
                    c.dtmf_unavailable = true;
                }
            }
            Action::DevicesListed(list) => {
                if self.browser.notice == Some(DeviceNotice::Denied) && !list.needs_permission() {
                    self.browser.notice = None;
                }
                self.browser.devices = list;
            }
            Action::DeviceChosen(kind, id) => {
                self.browser.choices.set(kind, id);
                if matches!(&self.browser.notice, Some(DeviceNotice::Gone(k) | DeviceNotice::SwitchFailed(k, _)) if *k == kind)
                {
                    self.browser.notice = None;
                }
            }
            Action::DeviceNotice(n) => self.browser.notice = n,
            Action::NotifyPermission(p) => self.browser.notify = p,
            // Video and Meet & Share (issue 12)
            Action::Video { call, state } => {
                if let Some(c) = self.call_mut(call) {
                    if state.busy && !c.video_busy {
                        c.video_problem = None; // a new attempt
                    }
                    c.video = state.camera;
                    c.sharing = state.sharing;
                    c.remote_video = state.remote_camera;
                    c.remote_screen = state.remote_screen;
                    c.video_busy = state.busy;
                }
            }
            Action::VideoFailed { call, problem } => {
                if let Some(c) = self.call_mut(call) {
                    c.video_problem = Some(problem);
                }
            }
            Action::VideoStats { call, stats } => {
                if let Some(c) = self.call_mut(call) {
                    c.video_stats = stats;
                }
            }
        }
    }
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
    use crate::i18n::EN;
    use crate::model::{Company, Employee, MediaError, Problem};

    const OFFER_AUDIO: &str =
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
    const OFFER_VIDEO: &str = "v=0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";

    fn run(state: AppState, actions: impl IntoIterator<Item = Action>) -> AppState {
        actions.into_iter().fold(state, |mut s, a| {
            s.apply(a);
            s
        })
    }

    /// Page load without a session: the login form.
    fn start() -> AppState {
        run(AppState::new(None), [Action::ShowLogin])
    }

    fn me(role: &str) -> Me {
        Me {
            employee: Employee {
                id: 1,
                name: "Alice Nowak".into(),
                email: "alice@example.com".into(),
                extension: "101".into(),
                number: Some("+48226006101".into()),
                role: role.into(),
                app_access: true,
                invite_state: "active".into(),
            },
            company: Company {
                id: 1,
                name: "Nowak Sp. z o.o.".into(),
                domain: "demo.centrala.local".into(),
            },
            presence: None,
            language: None,
        }
    }

    /// Logging in by e-mail and password, accepted.
    fn login() -> Action {
        Action::SignedIn(me("user"))
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
            diverted_from: None,
            waiting: false,
            replaces: None,
        })
    }

    /// The last call's end reason in the state's language.
    fn end_words(s: &AppState) -> Option<String> {
        s.end_reason.as_ref().map(|r| s.t().end_reason(r))
    }

    fn ended(handle: u64, reason: &str, status: Option<u16>) -> Action {
        Action::Sip(Event::Ended {
            call: CallHandle(handle),
            reason: reason.into(),
            status,
            phrase: None,
            answered_elsewhere: false,
        })
    }

    #[test]
    fn page_load_asks_for_the_session_then_shows_the_login_form() {
        let s = AppState::new(None);
        assert_eq!(s.screen, Screen::Loading);
        let s = run(s, [Action::ShowLogin]);
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(s.registration.data_state(), "unregistered");
        assert_eq!(s.call_state(), "idle");
        assert_eq!(s.login_error, None);
    }

    #[test]
    fn page_load_with_a_session_goes_straight_to_the_phone() {
        let s = run(AppState::new(None), [login()]);
        assert_eq!(s.screen, Screen::Phone);
        assert_eq!(s.extension, "101");
        assert_eq!(s.company_name(), Some("Nowak Sp. z o.o."));
        assert_eq!(s.registration.data_state(), "connecting");
    }

    #[test]
    fn wrong_email_or_password_shows_the_servers_message() {
        let s = run(start(), [Action::LoginSubmitted]);
        assert!(s.login_busy);
        assert_eq!(s.screen, Screen::Login);
        let s = run(s, [Action::LoginFailed("Wrong e-mail or password.".into())]);
        assert!(!s.login_busy);
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(s.login_error.as_deref(), Some("Wrong e-mail or password."));
        // A new attempt clears the message.
        let s = run(s, [Action::LoginSubmitted]);
        assert_eq!(s.login_error, None);
    }

    #[test]
    fn forgot_password_opens_the_reset_form_and_shows_the_answer() {
        let s = run(start(), [Action::ForgotPassword(true)]);
        assert!(s.reset_open);
        let s = run(s, [Action::ResetSubmitted]);
        assert!(s.reset_busy);
        let s = run(
            s,
            [Action::ResetAnswered(
                "If the address is known, a link is on its way.".into(),
            )],
        );
        assert!(!s.reset_busy);
        assert_eq!(
            s.reset_message.as_deref(),
            Some("If the address is known, a link is on its way.")
        );
        let s = run(s, [Action::ForgotPassword(false)]);
        assert!(!s.reset_open);
        assert_eq!(s.reset_message, None);
    }

    #[test]
    fn login_connects_then_registers() {
        let s = run(start(), [Action::LoginSubmitted, login()]);
        assert_eq!(s.screen, Screen::Phone);
        assert!(!s.login_busy);
        assert_eq!(s.registration.data_state(), "connecting");
        assert_eq!(s.extension, "101");
        assert_eq!(s.view, View::Contacts);

        let s = run(
            s,
            [Action::SocketOpened, reg(RegistrationState::Registering)],
        );
        assert_eq!(s.registration, Registration::Connecting);
        assert!(s.ever_connected);

        let s = run(s, [reg(RegistrationState::Registered)]);
        assert_eq!(s.registration.data_state(), "registered");
        assert_eq!(
            s.registration.describe(&crate::i18n::EN, &s.extension),
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
    fn a_refused_registration_keeps_the_phone_screen_with_the_reason() {
        // The session is valid (the phone service already tried new credentials): the
        // login form would not help, the status says why.
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
        assert_eq!(s.screen, Screen::Phone);
        assert_eq!(s.login_error, None);
        assert_eq!(s.registration.data_state(), "failed");
        assert_eq!(
            s.registration.describe(&crate::i18n::EN, "101"),
            "Not registered: Wrong extension or password"
        );
    }

    #[test]
    fn an_ended_session_returns_to_the_form_with_the_reason() {
        let s = run(
            registered(),
            [incoming(1, OFFER_AUDIO), Action::SessionEnded],
        );
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(
            s.login_error.as_deref(),
            Some(crate::i18n::EN.session_ended)
        );
        assert_eq!(
            s.login_error.as_deref(),
            Some("Your session has ended. Please log in again.")
        );
        assert_eq!(s.me, None);
        assert_eq!(s.call(), None);
        assert_eq!(s.registration.data_state(), "unregistered");
        // A late answer for the old session changes nothing.
        let s2 = run(
            s.clone(),
            [Action::SessionEnded, reg(RegistrationState::Registered)],
        );
        assert_eq!(s2, s);
    }

    #[test]
    fn no_sip_credentials_yet_is_shown_in_the_status() {
        let s = run(
            start(),
            [
                login(),
                Action::PhoneUnavailable(PhoneNotice::NoCredentials(Problem::new(0, None, None))),
            ],
        );
        assert_eq!(s.screen, Screen::Phone);
        assert_eq!(
            s.registration.describe(s.t(), "101"),
            "Not registered: Cannot get your phone login: Cannot reach the server. Check your connection and try again."
        );
        let pl = run(s.clone(), [Action::SetLang(Lang::Pl)]);
        assert!(
            pl.registration
                .describe(pl.t(), "101")
                .starts_with("Brak rejestracji: Nie można pobrać danych logowania telefonu: "),
            "the status follows the language switch"
        );
        let refused = run(
            s.clone(),
            [Action::PhoneUnavailable(PhoneNotice::LoginRefused)],
        );
        assert_eq!(
            refused.registration.describe(&crate::i18n::PL, "101"),
            "Brak rejestracji: Centrala odrzuciła logowanie. Wyloguj się i zaloguj ponownie."
        );
        // Once credentials arrive, the phone connects and registers as usual.
        let s = run(
            s,
            [
                Action::SocketOpened,
                reg(RegistrationState::Registering),
                reg(RegistrationState::Registered),
            ],
        );
        assert_eq!(s.registration.data_state(), "registered");
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
            Registration::Failed(PhoneNotice::Other("Registration refused: 503 Busy".into()))
        );
        assert_eq!(s.login_error, None);
    }

    #[test]
    fn unreachable_server_on_first_connect_keeps_trying() {
        let s = run(
            start(),
            [
                login(),
                Action::Reconnecting {
                    attempt: 1,
                    delay_ms: 1000,
                },
            ],
        );
        assert_eq!(s.screen, Screen::Phone);
        assert_eq!(s.registration.data_state(), "reconnecting");
        assert!(!s.ever_connected);
        let s = run(
            s,
            [
                Action::SocketOpened,
                reg(RegistrationState::Registering),
                reg(RegistrationState::Registered),
            ],
        );
        assert_eq!(s.registration.data_state(), "registered");
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
            s.registration.describe(&crate::i18n::EN, "101"),
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
    fn login_form_actions_do_nothing_on_the_phone_screen() {
        let s = registered();
        let s2 = run(
            s.clone(),
            [
                Action::LoginFailed("x".into()),
                Action::ShowLogin,
                Action::SignedIn(me("admin")),
                Action::LinkProblem("x".into()),
            ],
        );
        assert_eq!(s2, s);
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
            end_words(&s).as_deref(),
            Some("Connection to the phone system lost")
        );
    }

    #[test]
    fn logout_returns_to_the_form() {
        let s = run(registered(), [incoming(1, OFFER_AUDIO), Action::Logout]);
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(s.registration.data_state(), "unregistered");
        assert_eq!(s.call(), None);
        assert_eq!(s.me, None);
        assert_eq!(s.login_error, None);
        assert_eq!(s.company_name(), None);
        // Events arriving after logout change nothing.
        let s2 = run(s.clone(), [reg(RegistrationState::Failed("x".into()))]);
        assert_eq!(s2, s);
    }

    #[test]
    fn incoming_call_answered_connected_then_ended() {
        let s = run(registered(), [incoming(7, OFFER_AUDIO)]);
        assert_eq!(s.call_state(), "incoming");
        let c = s.call().unwrap();
        assert_eq!((c.peer_name(), c.peer.as_str()), (Some("Bob"), "102"));
        assert!(!c.offers_video);

        let s = run(
            s,
            [Action::Answering {
                call: CallHandle(7),
                video: false,
            }],
        );
        assert!(s.call().unwrap().answering);
        assert_eq!(s.call_state(), "incoming");

        let s = run(
            s,
            [Action::AnswerSent {
                call: CallHandle(7),
            }],
        );
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
                call: CallHandle(7),
                rx_bytes: 12_345,
                duration_s: 3,
            }],
        );
        assert_eq!(s.call().unwrap().rx_bytes, 12_345);

        let s = run(s, [ended(7, "The other side hung up", None)]);
        assert_eq!(s.call_state(), "idle");
        assert_eq!(end_words(&s).as_deref(), Some("The other side hung up"));
    }

    fn hold(handle: u64, local: bool, remote: bool) -> Action {
        Action::Sip(Event::Hold {
            call: CallHandle(handle),
            local,
            remote,
        })
    }

    #[test]
    fn a_waiting_call_is_listed_answering_it_shows_it_and_each_ends_alone() {
        let s = run(
            registered(),
            [
                incoming(1, OFFER_AUDIO),
                Action::Answering {
                    call: CallHandle(1),
                    video: false,
                },
                Action::AnswerSent {
                    call: CallHandle(1),
                },
                Action::Sip(Event::IncomingCall {
                    call: CallHandle(2),
                    from_user: "103".into(),
                    from_display: Some("Carol".into()),
                    sdp: OFFER_AUDIO.into(),
                    diverted_from: None,
                    waiting: true,
                    replaces: None,
                }),
                Action::Tone(Tone::Waiting),
            ],
        );
        // The panel stays on the call one talks in; the waiting one is listed.
        assert_eq!(s.call_state(), "connected");
        assert_eq!(s.call().unwrap().handle, Some(CallHandle(1)));
        assert_eq!(s.calls.len(), 2);
        assert!(s.calls[1].waiting);
        assert_eq!(s.calls[1].data_state(), "incoming");
        assert_eq!(s.tone, Tone::Waiting);
        assert!(!s.can_call());

        // Answered: the user agent holds the first; the panel shows the second.
        let s = run(
            s,
            [
                Action::Answering {
                    call: CallHandle(2),
                    video: false,
                },
                Action::AnswerSent {
                    call: CallHandle(2),
                },
                hold(1, true, false),
                Action::Tone(Tone::None),
            ],
        );
        assert_eq!(s.call().unwrap().handle, Some(CallHandle(2)));
        assert_eq!(s.calls[0].data_state(), "held");
        assert_eq!(s.call_state(), "connected");

        // Switched back: 2 held, 1 shown.
        let s = run(s, [hold(2, true, false), hold(1, false, false)]);
        assert_eq!(s.call().unwrap().handle, Some(CallHandle(1)));
        assert_eq!(s.calls[1].data_state(), "held");

        // 1 ends: 2 stays, held, and is shown.
        let s = run(s, [ended(1, "The other side hung up", None)]);
        assert_eq!(s.calls.len(), 1);
        assert_eq!(s.call_state(), "held");
        assert_eq!(s.calls_ended, 1);
        // Held by the far end.
        let s = run(s, [hold(2, false, true)]);
        assert_eq!(s.call_state(), "held-remote");
        let s = run(s, [ended(2, "You hung up", None)]);
        assert_eq!(s.call_state(), "idle");
    }

    #[test]
    fn a_lost_connection_ends_every_call_and_the_call_waiting_setting_survives_a_logout() {
        let s = run(
            registered().with_call_waiting(false),
            [
                incoming(1, OFFER_AUDIO),
                incoming(2, OFFER_AUDIO),
                Action::Reconnecting {
                    attempt: 1,
                    delay_ms: 1000,
                },
            ],
        );
        assert!(s.calls.is_empty());
        assert_eq!(s.calls_ended, 2);
        assert!(!s.call_waiting);
        let s = run(s, [Action::CallWaiting(true), Action::SessionEnded]);
        assert!(s.call_waiting);
        let s = run(s, [Action::CallWaiting(false), Action::SessionEnded]);
        assert!(!s.call_waiting);
        // The browser's setting, read at page load, stays through the login.
        let s = run(AppState::new(None).with_call_waiting(false), [login()]);
        assert!(!s.call_waiting);
    }

    #[test]
    fn hold_events_for_unknown_calls_change_nothing() {
        let s = run(registered(), [incoming(1, OFFER_AUDIO)]);
        let s2 = run(s.clone(), [hold(9, true, true)]);
        assert_eq!(s2, s);
    }

    #[test]
    fn incoming_video_offer_is_noticed() {
        let s = run(registered(), [incoming(1, OFFER_VIDEO)]);
        assert!(s.call().unwrap().offers_video);
    }

    // Video and Meet & Share (issue 12)
    #[test]
    fn an_audio_call_upgraded_to_video_and_back_with_a_problem_on_the_way() {
        use video::{VideoProblem, VideoState, VideoStats};
        let h = CallHandle(1);
        let s = run(
            registered(),
            [
                incoming(1, OFFER_AUDIO),
                Action::Answering {
                    call: h,
                    video: false,
                },
                Action::AnswerSent { call: h },
            ],
        );
        let c = s.call().unwrap();
        assert!(!c.video && !c.remote_video && !c.sharing && !c.video_busy);
        // The far end turns its camera on: shown, ours stays off.
        let v = |state: VideoState| Action::Video { call: h, state };
        let s = run(
            s,
            [v(VideoState {
                remote_camera: true,
                ..Default::default()
            })],
        );
        let c = s.call().unwrap();
        assert!(c.remote_video && !c.video);
        // Our camera: being opened (the buttons wait), then refused.
        let s = run(
            s,
            [
                v(VideoState {
                    remote_camera: true,
                    busy: true,
                    ..Default::default()
                }),
                Action::VideoFailed {
                    call: h,
                    problem: VideoProblem::Camera(MediaError::Denied { video: true }),
                },
                v(VideoState {
                    remote_camera: true,
                    ..Default::default()
                }),
            ],
        );
        let c = s.call().unwrap();
        assert!(!c.video_busy && !c.video);
        assert!(matches!(c.video_problem, Some(VideoProblem::Camera(_))));
        // A new attempt clears the problem; it works; the screen is shared too.
        let s = run(
            s,
            [v(VideoState {
                remote_camera: true,
                busy: true,
                ..Default::default()
            })],
        );
        assert_eq!(s.call().unwrap().video_problem, None);
        let s = run(
            s,
            [
                v(VideoState {
                    camera: true,
                    sharing: true,
                    remote_camera: true,
                    remote_screen: true,
                    busy: false,
                }),
                Action::VideoStats {
                    call: h,
                    stats: VideoStats {
                        camera_in: 30,
                        screen_in: 5,
                        video_out: 60,
                        audio_rx: 9000,
                    },
                },
            ],
        );
        let c = s.call().unwrap();
        assert!(c.video && c.sharing && c.remote_screen);
        assert_eq!(c.video_stats.screen_in, 5);
        // All off again: nothing of it stays.
        let s = run(s, [v(VideoState::default())]);
        let c = s.call().unwrap();
        assert!(!c.video && !c.sharing && !c.remote_video && !c.remote_screen);
        // Another call's report changes nothing here.
        let before = s.clone();
        let s = run(
            s,
            [Action::Video {
                call: CallHandle(9),
                state: VideoState {
                    camera: true,
                    ..Default::default()
                },
            }],
        );
        assert_eq!(s, before);
    }

    #[test]
    fn a_second_incoming_call_does_not_replace_the_first() {
        let s = run(
            registered(),
            [incoming(1, OFFER_AUDIO), incoming(2, OFFER_AUDIO)],
        );
        assert_eq!(s.call().unwrap().handle, Some(CallHandle(1)));
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
            end_words(&s).as_deref(),
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
        assert!(s.call().unwrap().video);

        let s = run(
            s,
            [
                Action::Muted {
                    call: CallHandle(5),
                    muted: true,
                },
                // The camera turned off (stopped, renegotiated); the far end's goes on.
                Action::Video {
                    call: CallHandle(5),
                    state: video::VideoState {
                        remote_camera: true,
                        ..Default::default()
                    },
                },
            ],
        );
        let c = s.call().unwrap();
        assert!(c.muted && !c.video && c.remote_video);

        let s = run(
            s,
            [Action::Ended {
                call: CallHandle(5),
                status: None,
                reason: EndReason::YouHungUp,
            }],
        );
        assert_eq!(s.call_state(), "idle");
        assert_eq!(end_words(&s).as_deref(), Some("You hung up"));
        assert_eq!(s.dial, "102", "the number stays for a redial");
    }

    #[test]
    fn failure_reasons_are_shown() {
        for (status, reason, pl) in [
            (486, "Busy", "Zajęte"),
            (404, "No such extension", "Nie ma takiego numeru"),
            (603, "Declined", "Odrzucone"),
        ] {
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
            assert_eq!(end_words(&s).as_deref(), Some(reason));
            let s = run(s, [Action::SetLang(Lang::Pl)]);
            assert_eq!(end_words(&s).as_deref(), Some(pl), "by the status code");
        }
    }

    #[test]
    fn local_failures_end_the_call_with_a_reason() {
        let s = run(
            registered(),
            [
                incoming(1, OFFER_AUDIO),
                Action::Answering {
                    call: CallHandle(1),
                    video: true,
                },
                ended(1, "Declined", Some(603)),
                Action::CallEnded {
                    call: Some(CallHandle(1)),
                    reason: EndReason::Media(MediaError::Denied { video: true }),
                },
            ],
        );
        assert_eq!(s.call_state(), "idle");
        assert_eq!(
            end_words(&s).as_deref(),
            Some("Access to the camera and microphone was denied")
        );
        let s = run(s, [Action::SetLang(Lang::Pl)]);
        assert_eq!(
            end_words(&s).as_deref(),
            Some("Odmówiono dostępu do kamery i mikrofonu"),
            "the reason follows the language switch"
        );
    }

    #[test]
    fn a_new_call_clears_the_last_end_reason() {
        let s = run(
            registered(),
            [
                ended(1, "x", None),
                Action::CallEnded {
                    call: None,
                    reason: EndReason::YouHungUp,
                },
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

    fn link(kind: LinkKind) -> AppState {
        AppState::new(Some((kind, "tok".into())))
    }

    fn invitation() -> Invitation {
        Invitation {
            email: "alice@example.com".into(),
            name: "Alice Nowak".into(),
            kind: "invite".into(),
        }
    }

    #[test]
    fn an_invitation_link_shows_the_set_password_page_then_the_phone() {
        for kind in [LinkKind::Invite, LinkKind::Reset] {
            let s = link(kind);
            assert_eq!(s.screen, Screen::SetPassword);
            let l = s.link.as_ref().unwrap();
            assert_eq!((l.kind, l.token.as_str()), (kind, "tok"));
            assert_eq!(l.invitation, None, "loading");

            let s = run(s, [Action::LinkLoaded(invitation())]);
            assert_eq!(s.link.as_ref().unwrap().invitation, Some(invitation()));

            let s = run(
                s,
                [Action::SetPasswordFailed(
                    "The password must have at least 10 characters".into(),
                )],
            );
            assert!(s.link.as_ref().unwrap().error.is_some());

            let s = run(s, [Action::SetPasswordSubmitted]);
            let l = s.link.as_ref().unwrap();
            assert!(l.busy);
            assert_eq!(l.error, None);

            let s = run(s, [Action::SignedIn(me("user"))]);
            assert_eq!(s.screen, Screen::Phone);
            assert_eq!(s.link, None);
            assert_eq!(s.registration.data_state(), "connecting");
        }
    }

    #[test]
    fn a_used_link_offers_a_new_one() {
        let s = run(
            link(LinkKind::Invite),
            [Action::LinkProblem(
                "This link has already been used.".into(),
            )],
        );
        assert_eq!(s.screen, Screen::SetPassword);
        let l = s.link.as_ref().unwrap();
        assert_eq!(
            l.problem.as_deref(),
            Some("This link has already been used.")
        );
        let s = run(s, [Action::LinkRequestSubmitted]);
        assert!(s.link.as_ref().unwrap().request_busy);
        let s = run(s, [Action::LinkRequestAnswered("Check your inbox.".into())]);
        let l = s.link.as_ref().unwrap();
        assert!(!l.request_busy);
        assert_eq!(l.request_message.as_deref(), Some("Check your inbox."));
        // The password cannot be sent for a broken link.
        let s2 = run(s.clone(), [Action::SetPasswordSubmitted]);
        assert!(!s2.link.as_ref().unwrap().busy);
        // "Back to log in".
        let s = run(s, [Action::ShowLogin]);
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(s.link, None);
    }

    #[test]
    fn a_link_that_fails_at_submit_shows_the_problem() {
        let s = run(
            link(LinkKind::Reset),
            [
                Action::LinkLoaded(invitation()),
                Action::SetPasswordSubmitted,
                Action::LinkProblem("This link has expired.".into()),
            ],
        );
        let l = s.link.as_ref().unwrap();
        assert_eq!(l.problem.as_deref(), Some("This link has expired."));
        assert!(!l.busy);
    }

    #[test]
    fn only_admins_open_the_admin_panel_and_the_phone_keeps_running() {
        let s = run(
            registered(),
            [Action::Navigate(View::Admin(AdminSection::Employees))],
        );
        assert_eq!(s.view, View::Contacts, "not an admin");

        let s = run(
            start(),
            [
                Action::SignedIn(me("admin")),
                Action::SocketOpened,
                reg(RegistrationState::Registered),
                Action::Navigate(View::Admin(AdminSection::Employees)),
            ],
        );
        assert!(s.is_admin());
        assert_eq!(s.view, View::Admin(AdminSection::Employees));
        // Calls still come in while the admin panel shows.
        let s = run(s, [incoming(4, OFFER_AUDIO)]);
        assert_eq!(s.call_state(), "incoming");
        assert_eq!(s.registration.data_state(), "registered");
        let s = run(s, [Action::Navigate(View::Contacts)]);
        assert_eq!(s.view, View::Contacts);
        assert_eq!(s.call_state(), "incoming");
        // Logging out and in again starts on the phone.
        let s = run(
            s,
            [
                Action::Navigate(View::Admin(AdminSection::Employees)),
                Action::Logout,
                Action::SignedIn(me("admin")),
            ],
        );
        assert_eq!(s.view, View::Contacts);
    }

    #[test]
    fn formats_for_people() {
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

    #[test]
    fn the_language_is_the_browsers_until_a_saved_choice() {
        let s = run(AppState::new(None).with_lang(Lang::Pl), [Action::ShowLogin]);
        assert_eq!(s.lang, Lang::Pl);
        let mut m = me("user");
        m.language = Some(Lang::En);
        m.presence = Some(MyStatus::Dnd);
        let s = run(s, [Action::SignedIn(m)]);
        assert_eq!(s.lang, Lang::En, "the saved choice wins");
        assert_eq!(s.my_status, MyStatus::Dnd);
        let s = run(s, [Action::SetLang(Lang::Pl), Action::LangSaved(Ok(()))]);
        assert_eq!(s.settings_notice.as_deref(), Some("Zapisano."));
        let s = run(s, [Action::SessionEnded]);
        assert_eq!(s.lang, Lang::Pl, "kept on the login form");
        assert_eq!(
            s.login_error.as_deref(),
            Some("Sesja wygasła. Zaloguj się ponownie.")
        );
    }

    #[test]
    fn a_refused_status_change_goes_back() {
        let s = run(registered(), [Action::SetMyStatus(MyStatus::Away)]);
        assert_eq!(s.my_status, MyStatus::Away);
        let s = run(s, [Action::StatusFailed(MyStatus::Available, "no".into())]);
        assert_eq!(s.my_status, MyStatus::Available);
        assert_eq!(s.status_error.as_deref(), Some("no"));
    }

    #[test]
    fn sections_and_admin_sections() {
        let s = run(registered(), [Action::Navigate(View::History)]);
        assert_eq!(s.view, View::History);
        assert_eq!(s.view.data_view(), "history");
        let s = run(
            s,
            [Action::Navigate(View::Admin(AdminSection::NumberBlocks))],
        );
        assert_eq!(s.view, View::History, "not an admin");
    }

    #[test]
    fn presence_reaches_the_list_and_loss_greys_it() {
        let s = run(
            registered(),
            [Action::DirectoryLoaded(vec![
                DirectoryEntry {
                    id: 1,
                    name: "Alice Nowak".into(),
                    extension: "101".into(),
                    ..DirectoryEntry::default()
                },
                DirectoryEntry {
                    id: 2,
                    name: "Bob".into(),
                    extension: "102".into(),
                    ..DirectoryEntry::default()
                },
            ])],
        );
        assert_eq!(s.contacts.rows().len(), 1, "not myself");
        let s = run(s, [Action::PresenceLost]);
        assert_eq!(s.contacts.feed, Feed::Waiting, "nothing to grey yet");
        let entry = |p| PresenceEntry {
            extension: "102".into(),
            status: Some(p),
            note: None,
        };
        let s = run(
            s,
            [Action::Presence {
                full: true,
                entries: vec![entry(crate::model::Presence::Available)],
            }],
        );
        assert_eq!(
            s.contacts.rows()[0].presence,
            Some(crate::model::Presence::Available)
        );
        let s = run(s, [Action::PresenceLost]);
        assert_eq!(s.contacts.feed, Feed::Lost);
        assert_eq!(
            s.contacts.rows()[0].presence,
            Some(crate::model::Presence::Available),
            "the last state stays"
        );
        let s = run(
            s,
            [Action::Presence {
                full: true,
                entries: vec![entry(crate::model::Presence::InCall)],
            }],
        );
        assert_eq!(s.contacts.feed, Feed::Live);
        // A caller's name from the list when the INVITE has no display name.
        let s = run(
            s,
            [Action::Sip(Event::IncomingCall {
                call: CallHandle(1),
                from_user: "102".into(),
                from_display: None,
                sdp: OFFER_AUDIO.into(),
                diverted_from: None,
                waiting: false,
                replaces: None,
            })],
        );
        assert_eq!(s.call().unwrap().peer_name(), Some("Bob"));
    }

    #[test]
    fn a_call_the_caller_gave_up_counts_as_missed_until_the_history_is_seen() {
        let s = run(
            registered(),
            [
                incoming(1, OFFER_AUDIO),
                ended(1, "Missed call: the caller hung up", None),
            ],
        );
        assert_eq!(s.history.missed_unseen, 1);
        assert_eq!(s.calls_ended, 1);
        // Declined here: not missed.
        let s = run(
            s,
            [incoming(2, OFFER_AUDIO), ended(2, "Declined", Some(603))],
        );
        assert_eq!(s.history.missed_unseen, 1);
        assert_eq!(s.calls_ended, 2);
        // Answered, then over: not missed.
        let s = run(
            s,
            [
                incoming(3, OFFER_AUDIO),
                Action::Answering {
                    call: CallHandle(3),
                    video: false,
                },
                Action::AnswerSent {
                    call: CallHandle(3),
                },
                ended(3, "The other side hung up", None),
            ],
        );
        assert_eq!(s.history.missed_unseen, 1);
        let s = run(s, [Action::MissedCount(4)]);
        assert_eq!(s.history.badge().as_deref(), Some("4"));
        let s = run(s, [Action::Navigate(View::History), Action::HistorySeen]);
        assert_eq!(s.history.badge(), None);
        // While the history shows, a missed call is seen at once (the list reloads).
        let s = run(
            s,
            [
                incoming(4, OFFER_AUDIO),
                ended(4, "Missed call: the caller hung up", None),
            ],
        );
        assert_eq!(s.history.missed_unseen, 0);
    }

    #[test]
    fn the_contact_form_saves_into_the_list() {
        use crate::model::{NumberLabel, PhoneNumber};
        let s = run(
            registered(),
            [
                Action::OpenContactForm(ContactForm::new()),
                Action::ContactFormEdit(FormEdit::Name("Zenon".into())),
                Action::ContactFormSubmitted,
            ],
        );
        assert!(s.contact_form.as_ref().unwrap().busy);
        let s = run(
            s,
            [Action::ContactFormRejected(FormProblem::Server("x".into()))],
        );
        let f = s.contact_form.as_ref().unwrap();
        assert!(!f.busy && f.problem.is_some());
        let c = Contact {
            id: 9,
            name: "Zenon".into(),
            organization: None,
            numbers: vec![PhoneNumber {
                label: NumberLabel::Mobile,
                number: "601200300".into(),
            }],
            favourite: false,
        };
        let s = run(s, [Action::ContactSaved(c)]);
        assert_eq!(s.contact_form, None);
        assert_eq!(s.contacts.selected, Some(RowKey::Contact(9)));
        assert_eq!(s.contacts.selected_row().unwrap().dial, "601200300");
        let s = run(s, [Action::ContactRemoved(9)]);
        assert!(s.contacts.book.is_empty());
    }

    fn outgoing(handle: u64, peer: &str) -> [Action; 2] {
        [
            Action::OutgoingStarted {
                peer: peer.into(),
                video: false,
            },
            Action::OutgoingPlaced {
                call: CallHandle(handle),
            },
        ]
    }

    fn party(user: &str, display: Option<&str>) -> Party {
        Party {
            user: user.into(),
            display: display.map(Into::into),
        }
    }

    #[test]
    fn a_forwarded_call_says_where_it_went_then_how_it_ended() {
        use centrala_sip::ua::ForwardReason;
        let s = run(
            registered(),
            [Action::DirectoryLoaded(vec![DirectoryEntry {
                id: 3,
                name: "Carol Zych".into(),
                extension: "103".into(),
                ..DirectoryEntry::default()
            }])],
        );
        let s = run(s, outgoing(7, "101"));
        let s = run(
            s,
            [Action::Sip(Event::Forwarded {
                call: CallHandle(7),
                to: vec![party("102", Some("Bob"))],
                reason: ForwardReason::NoAnswer,
            })],
        );
        let f = s.call().unwrap().forwarded.clone().unwrap();
        assert_eq!(f.to.as_deref(), Some("Bob (102)"));
        // Another call's event changes nothing.
        let same = run(
            s.clone(),
            [Action::Sip(Event::Forwarded {
                call: CallHandle(8),
                to: Vec::new(),
                reason: ForwardReason::Busy,
            })],
        );
        assert_eq!(same, s);
        // Forwarded again, to someone without a display name: the directory's.
        let s = run(
            s,
            [Action::Sip(Event::Forwarded {
                call: CallHandle(7),
                to: vec![party("103", None)],
                reason: ForwardReason::Busy,
            })],
        );
        assert_eq!(
            s.call().unwrap().forwarded.as_ref().unwrap().to.as_deref(),
            Some("Carol Zych (103)")
        );
        // A group rung together: everyone.
        let g = run(
            s.clone(),
            [Action::Sip(Event::Forwarded {
                call: CallHandle(7),
                to: vec![party("102", Some("Bob")), party("103", None)],
                reason: ForwardReason::Busy,
            })],
        );
        assert_eq!(
            g.call().unwrap().forwarded.as_ref().unwrap().to.as_deref(),
            Some("Bob (102), Carol Zych (103)")
        );
        let s = run(s, [ended(7, "Busy", Some(486))]);
        assert_eq!(s.call_state(), "idle");
        assert_eq!(end_words(&s).as_deref(), Some("Busy"));
        assert_eq!(
            s.end_forwarded.as_ref().and_then(|f| f.to.as_deref()),
            Some("Carol Zych (103)"),
            "shown with the end reason"
        );
        // A loop, in words; a new call forgets the old forwarding.
        let s = run(s, outgoing(9, "101"));
        assert_eq!(s.end_forwarded, None);
        let s = run(s, [ended(9, "Loop Detected", Some(482))]);
        assert_eq!(
            end_words(&s).as_deref(),
            Some("Forwarding loop: the call could not be completed")
        );
        assert_eq!(s.end_forwarded, None);
        let s = run(s, [Action::SetLang(Lang::Pl)]);
        assert_eq!(
            end_words(&s).as_deref(),
            Some("Pętla przekierowań: nie można zrealizować połączenia")
        );
    }

    #[test]
    fn an_incoming_forwarded_call_says_from_whom() {
        use centrala_sip::ua::{Diversion, ForwardReason};
        let s = run(
            registered(),
            [Action::Sip(Event::IncomingCall {
                call: CallHandle(4),
                from_user: "103".into(),
                from_display: Some("Carol".into()),
                sdp: OFFER_AUDIO.into(),
                diverted_from: Some(Diversion {
                    from: party("101", Some("Anna")),
                    reason: ForwardReason::NoAnswer,
                    count: 1,
                }),
                waiting: false,
                replaces: None,
            })],
        );
        let c = s.call().unwrap();
        assert_eq!(c.peer_name(), Some("Carol"));
        assert_eq!(
            c.diverted_from,
            Some(("Anna (101)".to_string(), ForwardReason::NoAnswer))
        );
        assert_eq!((EN.fwd_from)("Anna (101)"), "Forwarded from Anna (101)");
    }

    #[test]
    fn answered_on_another_device_is_not_a_missed_call() {
        let s = run(
            registered(),
            [
                incoming(1, OFFER_AUDIO),
                Action::Ended {
                    call: CallHandle(1),
                    status: None,
                    reason: EndReason::AnsweredElsewhere,
                },
            ],
        );
        assert_eq!(s.call_state(), "idle");
        assert_eq!(s.history.missed_unseen, 0);
        assert_eq!(end_words(&s).as_deref(), Some("Answered on another device"));
        assert_eq!(s.calls_ended, 1, "the history is read again");
    }

    #[test]
    fn a_removed_device_lands_on_the_login_form_with_a_notice() {
        let s = run(registered(), [Action::DeviceRemoved]);
        assert_eq!(s.screen, Screen::Login);
        assert_eq!(s.login_notice, Some(LoginNotice::DeviceRemoved));
        assert_eq!(
            s.t().login_notice(LoginNotice::DeviceRemoved),
            "This device was removed from your account"
        );
        // Logging in again clears it.
        let s = run(s, [login()]);
        assert_eq!(s.login_notice, None);
        // Not logged in: nothing to do.
        let s = run(start(), [Action::DeviceRemoved]);
        assert_eq!(s.login_notice, None);
    }

    #[test]
    fn a_locked_extension_says_so_and_stays_on_the_phone() {
        let s = run(
            registered(),
            [Action::PhoneUnavailable(PhoneNotice::ExtensionLocked)],
        );
        assert_eq!(s.screen, Screen::Phone);
        assert_eq!(s.registration.data_state(), "failed");
        assert_eq!(
            s.registration.describe(s.t(), "101"),
            "Not registered: Your extension is locked: no new devices can be added. Ask your administrator."
        );
        let s = run(s, [Action::SetLang(Lang::Pl)]);
        assert!(
            s.registration
                .describe(s.t(), "101")
                .contains("zablokowany")
        );
    }

    #[test]
    fn the_devices_page_is_a_section() {
        let s = run(registered(), [Action::Navigate(View::Devices)]);
        assert_eq!(s.view.data_view(), "devices");
    }
}
