//! The devices page (one's own, and an employee's in the admin panel): the devices
//! registered now, the extension's lock, and the device logins for desk phones, whose
//! password the gateway gives once and the page shows once. A pure reducer; the component in
//! [`crate::components::devices`] does the requests.

use std::rc::Rc;

use yew::Reducible;

use crate::i18n::Strings;
use crate::model::{DeviceCredential, DeviceKind, DeviceList, Problem, SipServer};
use crate::state::admin::FormError;

/// The longest label the gateway takes (characters, after trimming).
pub const MAX_LABEL: usize = 60;

/// The "new device login" form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredForm {
    pub label: String,
    pub busy: bool,
    pub error: Option<FormError>,
}

impl CredForm {
    /// The label to send, or what to fix (its field is `label`, as the gateway's).
    pub fn validate(&self, t: &Strings) -> Result<String, FormError> {
        let label = self.label.trim();
        if label.is_empty() || label.chars().count() > MAX_LABEL {
            return Err(FormError::local(t, vec![("label", t.cred_label_missing)]));
        }
        Ok(label.to_string())
    }
}

/// A new device login with its password, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogin {
    pub id: i64,
    pub label: String,
    pub username: String,
    pub password: String,
    /// The last Copy: `Some(true)` copied, `Some(false)` the browser refused.
    pub copied: Option<bool>,
}

/// The page's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DevicesState {
    /// The devices and the lock, once they arrived.
    pub list: Option<DeviceList>,
    /// A device change under way (its id), so that its buttons wait.
    pub busy_device: Option<String>,
    /// Lock or unlock under way.
    pub lock_busy: bool,
    pub logins: Vec<DeviceCredential>,
    pub logins_loaded: bool,
    /// Where phones register.
    pub sip: Option<SipServer>,
    /// The most device logins a person may have (0: not said).
    pub max_logins: u64,
    pub form: CredForm,
    /// The login just made; gone with "Done" or when the page is left.
    pub new_login: Option<NewLogin>,
    /// The last thing that worked, for a person.
    pub notice: Option<String>,
    /// The last thing that did not.
    pub error: Option<String>,
}

/// What can happen on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicesAction {
    /// The devices arrived (also the answer to a default-device or lock change).
    Listed(DeviceList),
    /// A change to this device started.
    DeviceBusy(String),
    /// The device is gone (removed, or no longer registered).
    DeviceRemoved(String),
    LockBusy,
    Notice(String),
    Failed(String),
    /// The device logins arrived.
    Logins {
        logins: Vec<DeviceCredential>,
        sip: SipServer,
        max: u64,
    },
    Label(String),
    LoginSubmitted,
    LoginRejected(FormError),
    /// A login was made; its password is shown (this once).
    LoginCreated {
        login: DeviceCredential,
        password: String,
    },
    Copied(bool),
    HideNewLogin,
    /// A login was revoked (or was gone already).
    LoginRevoked(i64),
}

impl DevicesState {
    pub fn apply(&mut self, action: DevicesAction) {
        match action {
            DevicesAction::Listed(list) => {
                self.list = Some(list);
                self.busy_device = None;
                self.lock_busy = false;
            }
            DevicesAction::DeviceBusy(id) => self.busy_device = Some(id),
            DevicesAction::DeviceRemoved(id) => {
                if let Some(l) = &mut self.list {
                    l.devices.retain(|d| d.id != id);
                }
                self.busy_device = None;
            }
            DevicesAction::LockBusy => self.lock_busy = true,
            DevicesAction::Notice(text) => {
                self.notice = Some(text);
                self.error = None;
            }
            DevicesAction::Failed(text) => {
                self.error = Some(text);
                self.notice = None;
                self.busy_device = None;
                self.lock_busy = false;
            }
            DevicesAction::Logins { logins, sip, max } => {
                self.logins = logins;
                self.sip = Some(sip);
                self.max_logins = max;
                self.logins_loaded = true;
            }
            DevicesAction::Label(l) => self.form.label = l,
            DevicesAction::LoginSubmitted => {
                self.form.busy = true;
                self.form.error = None;
            }
            DevicesAction::LoginRejected(e) => {
                self.form.busy = false;
                self.form.error = Some(e);
            }
            DevicesAction::LoginCreated { login, password } => {
                self.form = CredForm::default();
                self.new_login = Some(NewLogin {
                    id: login.id,
                    label: login.label.clone(),
                    username: login.username.clone(),
                    password,
                    copied: None,
                });
                match self.logins.iter_mut().find(|l| l.id == login.id) {
                    Some(l) => *l = login,
                    None => self.logins.push(login),
                }
            }
            DevicesAction::Copied(ok) => {
                if let Some(n) = &mut self.new_login {
                    n.copied = Some(ok);
                }
            }
            DevicesAction::HideNewLogin => self.new_login = None,
            DevicesAction::LoginRevoked(id) => {
                self.logins.retain(|l| l.id != id);
                if self.new_login.as_ref().is_some_and(|n| n.id == id) {
                    self.new_login = None;
                }
            }
        }
    }

    /// Whether another device login may be made (the gateway says 409 past the most).
    pub fn can_add_login(&self) -> bool {
        self.max_logins == 0 || (self.logins.len() as u64) < self.max_logins
    }

    /// Whether a device login's column "created by" says anything.
    pub fn shows_creator(&self) -> bool {
        self.logins.iter().any(|l| l.created_by.is_some())
    }
}

impl Reducible for DevicesState {
    type Action = DevicesAction;

    fn reduce(self: Rc<Self>, action: DevicesAction) -> Rc<Self> {
        let mut s = (*self).clone();
        s.apply(action);
        if s == *self { self } else { Rc::new(s) }
    }
}

/// The refusal of a new login, its fields named as the form's.
pub fn login_refused(p: &Problem, t: &Strings) -> FormError {
    FormError::from_problem(p, t)
}

/// What a device is, as a person would say it, from its SIP User-Agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agent {
    /// This web app, with the browser and system it runs in when it said ("Firefox, Linux").
    WebApp(Option<String>),
    /// A known maker's phone or app, with its model when there is one ("Yealink SIP-T46S").
    Known(String),
    /// Something else: what it said, shortened.
    Other(String),
    /// It said nothing.
    Unknown,
}

/// Makers of SIP phones and apps, as they write themselves in a User-Agent (lower case) and
/// as people write them.
const MAKERS: &[(&str, &str)] = &[
    ("yealink", "Yealink"),
    ("grandstream", "Grandstream"),
    ("polycom", "Polycom"),
    ("cisco", "Cisco"),
    ("snom", "Snom"),
    ("fanvil", "Fanvil"),
    ("gigaset", "Gigaset"),
    ("panasonic", "Panasonic"),
    ("avaya", "Avaya"),
    ("htek", "Htek"),
    ("obihai", "Obihai"),
    ("linphone", "Linphone"),
    ("zoiper", "Zoiper"),
    ("microsip", "MicroSIP"),
    ("bria", "Bria"),
    ("x-lite", "X-Lite"),
    ("groundwire", "Groundwire"),
    ("acrobits", "Acrobits"),
    ("baresip", "baresip"),
    ("jitsi", "Jitsi"),
];

/// A model or edition after the maker: not a version number or a comment.
fn model_like(s: &str) -> bool {
    let s = s.trim_matches(|c: char| c == '-' || c == '_');
    let mut chars = s.chars();
    let first = chars.next();
    let second = chars.next();
    let version = first.is_some_and(|c| c.is_ascii_digit() || c == '(')
        || (matches!(first, Some('v' | 'V' | 'r')) && second.is_some_and(|c| c.is_ascii_digit()));
    !s.is_empty() && s.len() <= 24 && !version
}

/// Reads a device's User-Agent.
pub fn recognise(user_agent: Option<&str>) -> Agent {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else {
        return Agent::Unknown;
    };
    let lower = ua.to_ascii_lowercase();
    if lower.starts_with("centrala-web") || lower.starts_with("centrala web") {
        let detail = ua
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(inside, _)| inside.replace(';', ",").trim().to_string())
            .filter(|d| !d.is_empty());
        return Agent::WebApp(detail);
    }
    let words: Vec<&str> = ua
        .split(|c: char| c.is_whitespace() || c == '/')
        .filter(|w| !w.is_empty())
        .collect();
    for (key, maker) in MAKERS {
        let Some(i) = words
            .iter()
            .position(|w| w.to_ascii_lowercase().contains(key))
        else {
            continue;
        };
        let w = words[i];
        let at = w.to_ascii_lowercase().find(key).unwrap_or(0);
        let rest = &w[at + key.len()..];
        let model = if model_like(rest) || rest.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            Some(rest.trim_matches(|c: char| c == '-' || c == '_'))
        } else {
            words.get(i + 1).copied().filter(|m| model_like(m))
        };
        return Agent::Known(match model.filter(|m| !m.is_empty()) {
            Some(m) => format!("{maker} {m}"),
            None => maker.to_string(),
        });
    }
    let short: String = ua.chars().take(60).collect();
    Agent::Other(short)
}

/// The browser and system of a `navigator.userAgent`, for this app's SIP User-Agent:
/// "Firefox; Linux", "Chrome; Windows", "Safari; iOS".
pub fn browser_words(navigator_ua: &str) -> String {
    let has = |s: &str| navigator_ua.contains(s);
    let browser = if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        "a browser"
    };
    let system = if has("Android") {
        "Android"
    } else if has("iPhone") || has("iPod") {
        "iOS"
    } else if has("iPad") {
        "iPadOS"
    } else if has("Windows") {
        "Windows"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("Linux") {
        "Linux"
    } else {
        ""
    };
    if system.is_empty() {
        browser.to_string()
    } else {
        format!("{browser}; {system}")
    }
}

/// A device's name on the page, in `t`'s words.
pub fn device_name(t: &Strings, kind: DeviceKind, user_agent: Option<&str>) -> String {
    match recognise(user_agent) {
        Agent::WebApp(Some(detail)) => (t.dev_web_app_in)(&detail),
        Agent::WebApp(None) => t.dev_web_app.to_string(),
        Agent::Known(name) | Agent::Other(name) => name,
        Agent::Unknown => match kind {
            DeviceKind::Browser => t.dev_kind_browser.to_string(),
            DeviceKind::Phone => t.dev_unknown_phone.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{EN, PL};
    use crate::model::Device;

    fn run(actions: impl IntoIterator<Item = DevicesAction>) -> DevicesState {
        actions
            .into_iter()
            .fold(DevicesState::default(), |mut s, a| {
                s.apply(a);
                s
            })
    }

    fn device(id: &str, default: bool) -> Device {
        Device {
            id: id.into(),
            default,
            ..Device::default()
        }
    }

    fn login(id: i64, label: &str) -> DeviceCredential {
        DeviceCredential {
            id,
            username: format!("d{id:09}"),
            label: label.into(),
            created_ms: 1,
            created_by: None,
        }
    }

    #[test]
    fn devices_arrive_and_a_removed_one_goes() {
        let list = DeviceList {
            devices: vec![device("aa", true), device("bb", false)],
            default_device: Some("aa".into()),
            locked: false,
            max_devices: 9,
        };
        let mut s = run([
            DevicesAction::Listed(list.clone()),
            DevicesAction::DeviceBusy("bb".into()),
        ]);
        assert_eq!(s.busy_device.as_deref(), Some("bb"));
        s.apply(DevicesAction::DeviceRemoved("bb".into()));
        let ids: Vec<_> = s
            .list
            .as_ref()
            .unwrap()
            .devices
            .iter()
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(ids, ["aa"]);
        assert_eq!(s.busy_device, None);
        s.apply(DevicesAction::LockBusy);
        let mut locked = list;
        locked.locked = true;
        s.apply(DevicesAction::Listed(locked));
        assert!(s.list.as_ref().unwrap().locked && !s.lock_busy);
        s.apply(DevicesAction::LockBusy);
        s.apply(DevicesAction::Failed("no".into()));
        assert!(!s.lock_busy);
        assert_eq!(s.error.as_deref(), Some("no"));
        s.apply(DevicesAction::Notice("yes".into()));
        assert_eq!(s.error, None);
    }

    #[test]
    fn a_new_login_shows_its_password_once() {
        let mut s = run([
            DevicesAction::Logins {
                logins: vec![login(1, "Desk")],
                sip: SipServer::default(),
                max: 2,
            },
            DevicesAction::Label("  ".into()),
        ]);
        assert!(s.can_add_login());
        let err = s.form.validate(&EN).unwrap_err();
        assert!(err.has("label"));
        assert_eq!(
            err.fields[0].1,
            "Label: Enter a label of 1 to 60 characters"
        );
        s.apply(DevicesAction::Label(" Kitchen ".into()));
        assert_eq!(s.form.validate(&EN).unwrap(), "Kitchen");
        s.apply(DevicesAction::LoginSubmitted);
        assert!(s.form.busy);
        s.apply(DevicesAction::LoginCreated {
            login: login(2, "Kitchen"),
            password: "secret-20-characters".into(),
        });
        let n = s.new_login.clone().unwrap();
        assert_eq!(
            (n.username.as_str(), n.password.as_str()),
            ("d000000002", "secret-20-characters")
        );
        assert_eq!(s.form, CredForm::default());
        assert!(!s.can_add_login(), "2 of 2");
        s.apply(DevicesAction::Copied(false));
        assert_eq!(s.new_login.as_ref().unwrap().copied, Some(false));
        s.apply(DevicesAction::LoginRevoked(1));
        assert!(s.new_login.is_some(), "another login's password stays");
        s.apply(DevicesAction::LoginRevoked(2));
        assert_eq!(s.new_login, None);
        assert!(s.logins.is_empty());
        assert!(
            CredForm {
                label: "x".repeat(61),
                ..CredForm::default()
            }
            .validate(&PL)
            .is_err()
        );
    }

    #[test]
    fn user_agents_in_plain_words() {
        let cases = [
            (
                Some("Centrala-Web/0.1 (Firefox; Linux)"),
                Agent::WebApp(Some("Firefox, Linux".into())),
            ),
            (
                Some("Centrala web 0.1 (Chrome, Windows)"),
                Agent::WebApp(Some("Chrome, Windows".into())),
            ),
            (Some("Centrala-Web/0.1"), Agent::WebApp(None)),
            (
                Some("Yealink SIP-T46S 66.86.0.15"),
                Agent::Known("Yealink SIP-T46S".into()),
            ),
            (
                Some("Grandstream GXP2170 1.0.11.3"),
                Agent::Known("Grandstream GXP2170".into()),
            ),
            (Some("snom760/8.9.3.80"), Agent::Known("Snom 760".into())),
            (
                Some("Linphone/5.2.0 (belle-sip/5.2.0)"),
                Agent::Known("Linphone".into()),
            ),
            (Some("MicroSIP/3.21.3"), Agent::Known("MicroSIP".into())),
            (Some("Zoiper v2.10.20.6"), Agent::Known("Zoiper".into())),
            (
                Some("FancyPhone 3000"),
                Agent::Other("FancyPhone 3000".into()),
            ),
            (Some("  "), Agent::Unknown),
            (None, Agent::Unknown),
        ];
        for (ua, want) in cases {
            assert_eq!(recognise(ua), want, "{ua:?}");
        }
        assert_eq!(
            device_name(
                &EN,
                DeviceKind::Browser,
                Some("Centrala-Web/0.1 (Firefox; Linux)")
            ),
            "Centrala web app (Firefox, Linux)"
        );
        assert_eq!(
            device_name(&PL, DeviceKind::Phone, None),
            PL.dev_unknown_phone
        );
        let long = "x".repeat(200);
        assert_eq!(device_name(&EN, DeviceKind::Phone, Some(&long)).len(), 60);
    }

    #[test]
    fn browsers_and_systems_from_navigator() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox; Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome; Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                "Edge; Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari; macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari; iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
                "Chrome; Android",
            ),
            ("", "a browser"),
        ];
        for (ua, want) in cases {
            assert_eq!(browser_words(ua), want, "{ua}");
        }
        // What the app sends reads back as itself.
        let sent = format!("Centrala-Web/0.1 ({})", browser_words(cases[0].0));
        assert_eq!(
            recognise(Some(&sent)),
            Agent::WebApp(Some("Firefox, Linux".into()))
        );
    }
}
