//! What the gateway's REST API (`/api/v1`) answers, as plain Rust values: no browser types,
//! so the reducers that hold them are tested natively. [`crate::services::api`] reads them
//! from the JSON.

/// One employee (`GET /api/v1/employees`, `/me`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Employee {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub extension: String,
    /// The public number, if a number block covers the extension.
    pub number: Option<String>,
    /// "admin" or "user".
    pub role: String,
    pub app_access: bool,
    /// "not_invited", "invited" or "active".
    pub invite_state: String,
}

impl Employee {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    /// Whether "Resend invitation" makes sense: app access on, not yet active.
    pub fn can_invite(&self) -> bool {
        self.app_access && self.invite_state != "active"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Company {
    pub id: i64,
    pub name: String,
    pub domain: String,
}

/// Who is logged in (`GET /api/v1/me`, `POST /api/v1/sessions`, accepting an invitation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Me {
    pub employee: Employee,
    pub company: Company,
    /// One's own status choice, if the gateway said.
    pub presence: Option<MyStatus>,
    /// The language chosen in Settings (kept for e-mail too); `None`: never chosen.
    pub language: Option<Lang>,
}

/// A person's presence as the contact list shows it (the gateway's `Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Presence {
    #[default]
    Offline,
    Available,
    Ringing,
    InCall,
    Dnd,
    Away,
}

/// The colour a presence is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Green,
    Red,
    Amber,
    Grey,
}

impl Colour {
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Red => "red",
            Colour::Amber => "amber",
            Colour::Grey => "grey",
        }
    }
}

impl Presence {
    pub const ALL: [Presence; 6] = [
        Presence::Offline,
        Presence::Available,
        Presence::Ringing,
        Presence::InCall,
        Presence::Dnd,
        Presence::Away,
    ];

    /// The wire name ("offline", "available", "ringing", "in-call", "dnd", "away").
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Offline => "offline",
            Presence::Available => "available",
            Presence::Ringing => "ringing",
            Presence::InCall => "in-call",
            Presence::Dnd => "dnd",
            Presence::Away => "away",
        }
    }

    pub fn parse(s: &str) -> Option<Presence> {
        Presence::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Green available; red in a call, ringing or do not disturb; amber away; grey offline.
    pub fn colour(self) -> Colour {
        match self {
            Presence::Available => Colour::Green,
            Presence::Ringing | Presence::InCall | Presence::Dnd => Colour::Red,
            Presence::Away => Colour::Amber,
            Presence::Offline => Colour::Grey,
        }
    }
}

/// What a person may choose for themselves (`PUT /api/v1/me/presence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MyStatus {
    #[default]
    Available,
    Dnd,
    Away,
}

impl MyStatus {
    pub const ALL: [MyStatus; 3] = [MyStatus::Available, MyStatus::Dnd, MyStatus::Away];

    pub fn as_str(self) -> &'static str {
        self.presence().as_str()
    }

    pub fn parse(s: &str) -> Option<MyStatus> {
        MyStatus::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The presence others see for this choice (while registered and not in a call).
    pub fn presence(self) -> Presence {
        match self {
            MyStatus::Available => Presence::Available,
            MyStatus::Dnd => Presence::Dnd,
            MyStatus::Away => Presence::Away,
        }
    }
}

/// The UI's languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Pl,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Pl, Lang::En];

    /// The BCP 47 tag ("pl", "en"), as the API and `Intl` take it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pl => "pl",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag() == s)
    }

    /// The language for a browser's `navigator.language` ("pl-PL" → Polish; anything else
    /// English).
    pub fn from_browser(tag: &str) -> Lang {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("pl") {
            Lang::Pl
        } else {
            Lang::En
        }
    }
}

/// One colleague (`GET /api/v1/directory`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryEntry {
    pub id: i64,
    pub name: String,
    pub extension: String,
    /// The public number, if any.
    pub number: Option<String>,
    pub email: String,
    pub favourite: bool,
}

/// What kind of number a phone-book entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumberLabel {
    #[default]
    Work,
    Mobile,
    Home,
    Other,
}

impl NumberLabel {
    pub const ALL: [NumberLabel; 4] = [
        NumberLabel::Work,
        NumberLabel::Mobile,
        NumberLabel::Home,
        NumberLabel::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NumberLabel::Work => "work",
            NumberLabel::Mobile => "mobile",
            NumberLabel::Home => "home",
            NumberLabel::Other => "other",
        }
    }

    /// Unknown labels read as "other".
    pub fn parse(s: &str) -> NumberLabel {
        NumberLabel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .unwrap_or(NumberLabel::Other)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhoneNumber {
    pub label: NumberLabel,
    pub number: String,
}

/// One entry of the person's own phone book (`/api/v1/contacts`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub organization: Option<String>,
    pub numbers: Vec<PhoneNumber>,
    pub favourite: bool,
}

/// The answer to a phone-book import: how many were added, and the lines refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactImport {
    pub imported: u64,
    /// Left out: the phone book already has them.
    pub duplicates: u64,
    /// (line, message).
    pub errors: Vec<(u64, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Outgoing,
    Incoming,
    /// A call to me that my forwarding rules sent to someone else (the peer is the caller).
    Forwarded,
}

/// How a call ended (`outcome` of a history item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Answered,
    Missed,
    Declined,
    Busy,
    Unavailable,
    Failed,
    /// Taken by voicemail.
    Voicemail,
}

impl Outcome {
    pub fn parse(s: &str) -> Outcome {
        match s {
            "answered" => Outcome::Answered,
            "missed" => Outcome::Missed,
            "declined" => Outcome::Declined,
            "busy" => Outcome::Busy,
            "unavailable" => Outcome::Unavailable,
            "voicemail" => Outcome::Voicemail,
            _ => Outcome::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Declined => "declined",
            Outcome::Busy => "busy",
            Outcome::Unavailable => "unavailable",
            Outcome::Failed => "failed",
            Outcome::Voicemail => "voicemail",
        }
    }
}

/// One call of the person's history (`GET /api/v1/history`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryItem {
    pub id: i64,
    pub direction: Direction,
    pub outcome: Outcome,
    pub missed: bool,
    pub peer_name: Option<String>,
    pub peer_number: String,
    pub peer_extension: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub started_ms: i64,
    pub answered_ms: Option<i64>,
    pub ended_ms: i64,
    pub duration_s: u64,
    /// A call forwarded to me: who forwarded it (their extension and name).
    pub diverted_from_number: Option<String>,
    pub diverted_from_name: Option<String>,
    /// Why it was forwarded ("always", "busy", "no_answer", "offline", "unavailable").
    pub diversion: Option<String>,
    /// A call forwarded away from me ([`Direction::Forwarded`]): to whom.
    pub forwarded_to_number: Option<String>,
    pub forwarded_to_name: Option<String>,
}

/// "Anna (101)", "Anna", or "101".
pub fn name_and_number(name: Option<&str>, number: Option<&str>) -> String {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let number = number.map(str::trim).filter(|n| !n.is_empty());
    match (name, number) {
        (Some(n), Some(x)) if n != x => format!("{n} ({x})"),
        (Some(n), _) => n.to_string(),
        (None, Some(x)) => x.to_string(),
        (None, None) => "?".to_string(),
    }
}

impl HistoryItem {
    /// Who forwarded this call to me, in words ("Anna (101)").
    pub fn diverted_from(&self) -> Option<String> {
        (self.diverted_from_number.is_some() || self.diverted_from_name.is_some()).then(|| {
            name_and_number(
                self.diverted_from_name.as_deref(),
                self.diverted_from_number.as_deref(),
            )
        })
    }

    /// To whom this call was forwarded away from me, in words ("Bob (102)").
    pub fn forwarded_to(&self) -> Option<String> {
        (self.forwarded_to_number.is_some() || self.forwarded_to_name.is_some()).then(|| {
            name_and_number(
                self.forwarded_to_name.as_deref(),
                self.forwarded_to_number.as_deref(),
            )
        })
    }

    /// What to dial to call back: the extension when there is one, else the number.
    pub fn callback_target(&self) -> &str {
        self.peer_extension
            .as_deref()
            .filter(|e| !e.is_empty())
            .unwrap_or(&self.peer_number)
    }

    /// The name, or the number when the name is unknown.
    pub fn peer_label(&self) -> &str {
        self.peer_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.peer_number)
    }
}

/// What kind of device is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceKind {
    /// The web app in a browser.
    #[default]
    Browser,
    /// A desk phone or another SIP app.
    Phone,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Browser => "browser",
            DeviceKind::Phone => "phone",
        }
    }
}

/// One registered device (`GET /api/v1/me/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
    /// 16 hex digits, stable across refreshes.
    pub id: String,
    pub kind: DeviceKind,
    /// What the device calls itself (its SIP User-Agent).
    pub user_agent: Option<String>,
    /// "ws", "wss", "udp", "tcp" or "tls".
    pub transport: String,
    /// "192.0.2.7:5060".
    pub source: String,
    /// Milliseconds since the Unix epoch.
    pub registered_ms: i64,
    pub last_seen_ms: i64,
    pub expires_ms: i64,
    /// The device login it registered with, if one.
    pub credential: Option<String>,
    pub default: bool,
}

/// A person's devices and their lock (`GET /api/v1/me/devices`, `/employees/ID/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceList {
    pub devices: Vec<Device>,
    /// The stored default (it may name a device not registered now).
    pub default_device: Option<String>,
    /// No new devices may register.
    pub locked: bool,
    pub max_devices: u64,
}

/// A device login for a desk phone or SIP app (`/api/v1/me/device-credentials`); its
/// password is never listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceCredential {
    pub id: i64,
    /// The SIP user name and authentication user name.
    pub username: String,
    pub label: String,
    pub created_ms: i64,
    pub created_by: Option<String>,
}

/// Where a phone registers (`sip` of the device credentials answer).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SipServer {
    pub domain: String,
    /// "host:5060": the outbound proxy and registrar over UDP or TCP ("" when there is none).
    pub proxy: String,
    pub transports: Vec<String>,
    /// "host:5061": the same over TLS, when the gateway serves it.
    pub tls_proxy: Option<String>,
}

/// Where a forwarded call goes (the gateway's `forwarding::Target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A colleague's extension.
    Extension(String),
    /// Several colleagues, rung together.
    Group(Vec<String>),
    /// A number outside the company (E.164), delivered once phone lines are connected.
    External(String),
    /// Voicemail (stored; not available yet).
    Voicemail,
}

/// How one's own devices ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    All,
    DefaultFirst,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::All => "all",
            Strategy::DefaultFirst => "default_first",
        }
    }

    pub fn parse(s: &str) -> Strategy {
        if s == "default_first" {
            Strategy::DefaultFirst
        } else {
            Strategy::All
        }
    }
}

/// A person's forwarding rules and ring strategy (`GET/PUT /api/v1/me/routing`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routing {
    pub always: Option<Target>,
    pub busy: Option<Target>,
    /// (after seconds, target).
    pub no_answer: Option<(u32, Target)>,
    pub offline: Option<Target>,
    /// While on do not disturb or away.
    pub unavailable: Option<Target>,
    pub strategy: Strategy,
    /// How long the default device rings alone (0: the gateway's default, 10 s).
    pub ring_first_secs: u32,
}

/// Whether a set-password link came from an invitation or a password reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Invite,
    Reset,
}

/// What `GET /api/v1/invitations/TOKEN` tells about a link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invitation {
    pub email: String,
    pub name: String,
    /// "invite" or "reset".
    pub kind: String,
}

/// One block of public numbers mapped to consecutive extensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NumberBlock {
    pub id: i64,
    pub first_number: String,
    pub last_number: String,
    pub size: u64,
    pub first_extension: String,
}

/// An admin API token (`GET /api/v1/api-tokens`); its secret is never listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// Who made it, when the gateway says.
    pub created_by: Option<String>,
    /// RFC 3339; `None`: never expires.
    pub expires_at: Option<String>,
    /// RFC 3339; `None`: never used.
    pub last_used_at: Option<String>,
}

/// The answer to a CSV import, checked (`dry_run`) or applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub errors: u64,
    pub rows: Vec<ImportRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportRow {
    /// The line in the CSV (the header is line 1).
    pub row: u64,
    /// "create", "update", "unchanged" or "error".
    pub action: String,
    pub name: String,
    pub email: String,
    pub extension: String,
    /// (field, message) pairs.
    pub errors: Vec<(String, String)>,
}

/// An API call that did not succeed: the HTTP status (0: no answer at all) and the body
/// `{"error": code, "message": text, "fields"?: {field: text}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problem {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

impl Problem {
    /// A problem from the status and what the body said (either may be missing; the words
    /// for a person come from [`crate::i18n::Strings::problem`]).
    pub fn new(status: u16, code: Option<String>, message: Option<String>) -> Problem {
        Problem {
            status,
            code: code.unwrap_or_default(),
            message: message.unwrap_or_default(),
            fields: Vec::new(),
        }
    }
}

/// Why the microphone or camera could not be used, or the call's media not be set up.
/// `video`: the camera was asked for too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaError {
    /// The page is not secure (https), so the browser offers no devices.
    Insecure,
    /// The user or the browser refused access (`NotAllowedError`, `SecurityError`).
    Denied { video: bool },
    /// No such device (`NotFoundError`, `OverconstrainedError`).
    NotFound { video: bool },
    /// The device is busy (`NotReadableError`, `AbortError`).
    InUse { video: bool },
    /// Another `getUserMedia` failure, with the browser's words.
    Other { video: bool, detail: String },
    /// The browser cannot make calls (no `RTCPeerConnection`).
    Unsupported(String),
    /// The other side's SDP was not accepted.
    RemoteRefused(String),
    /// Our offer or answer could not be made (the browser's words, if any).
    Prepare(Option<String>),
}

/// Why the last call ended, as a cause; the words come from the current language's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    YouHungUp,
    OtherHungUp,
    /// The caller gave up before we answered.
    Missed,
    /// The WebSocket closed during the call.
    ConnectionLost,
    /// A call was placed while the WebSocket was down.
    NotConnected,
    /// A SIP final status, with the user agent's (English) words for it: what a language
    /// shows for a status it has no words for.
    Status {
        code: u16,
        words: String,
    },
    /// The microphone, camera or media failed on this side.
    Media(MediaError),
    /// Another of my devices answered the call (not a missed call).
    AnsweredElsewhere,
    /// The call was passed on: we transferred it, were transferred, or it was replaced.
    Transferred,
}

impl EndReason {
    /// The cause of the user agent's `Event::Ended { status, reason }`: the SIP status when
    /// there is one, else what the phone service knows happened (`local`: it hung up, the
    /// connection closed…), else the other side hung up.
    pub fn from_sip(status: Option<u16>, reason: String, local: Option<EndReason>) -> EndReason {
        match (status, local) {
            (Some(code), _) => EndReason::Status {
                code,
                words: reason,
            },
            (None, Some(local)) => local,
            (None, None) => EndReason::OtherHungUp,
        }
    }
}

/// Why the phone is not registered, beyond "connecting" and "reconnecting".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneNotice {
    /// The registrar refused even a freshly fetched SIP credential.
    LoginRefused,
    /// The SIP credential could not be fetched.
    NoCredentials(Problem),
    /// The user agent's own (English) words.
    Other(String),
    /// The administrator locked the extension: no new devices (the phone stops trying).
    ExtensionLocked,
    /// The extension has as many devices as it may (the phone tries again every minute).
    TooManyDevices,
}

/// Why the login form shows up, beyond a logout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginNotice {
    /// This browser was removed from the account (a new login is a new device).
    DeviceRemoved,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_keep_what_the_server_said() {
        let p = Problem::new(409, Some("conflict".into()), None);
        assert_eq!(
            (p.status, p.code.as_str(), p.message.as_str()),
            (409, "conflict", "")
        );
        assert_eq!(Problem::new(0, None, None).code, "");
    }

    #[test]
    fn invitations_only_while_not_active() {
        let mut e = Employee {
            app_access: true,
            invite_state: "invited".into(),
            ..Employee::default()
        };
        assert!(e.can_invite());
        e.invite_state = "active".into();
        assert!(!e.can_invite());
        e.invite_state = "not_invited".into();
        e.app_access = false;
        assert!(!e.can_invite());
    }
}
