//! Outgoing e-mail (invitations, password links): SMTP through lettre, or, with no SMTP
//! configured, `.eml` files under the data folder with the link logged, so a trial on one
//! machine works without a mail server.
//!
//! Every message goes out in its recipient's language ([`Lang`]); the texts are in one
//! table per language ([`EN`], [`PL`]), filled by [`invitation`] and [`password_reset`].

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

// ---- languages and texts ----

/// A language of the app and its e-mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Pl,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pl => "pl",
        }
    }

    /// A language tag ("pl", "pl-PL", "en_GB", "EN") by its primary subtag.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "pl" => Some(Lang::Pl),
            _ => None,
        }
    }

    /// The language an `Accept-Language` header (RFC 9110 12.5.4) prefers among ours: the
    /// highest weight wins, the earlier on a tie; `None` when it names neither.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }

    /// This language's texts.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Pl => &PL,
        }
    }
}

/// The e-mails' texts in one language. `{name}`-style fields are filled by [`fill`].
pub struct Texts {
    /// Fields: company.
    pub invite_subject: &'static str,
    /// Fields: name, company, ext, number (empty, or [`Texts::public_number`]), link, hours.
    pub invite_body: &'static str,
    /// Fields: number.
    pub public_number: &'static str,
    /// Fields: company.
    pub reset_subject: &'static str,
    /// Fields: name, company, link, hours.
    pub reset_body: &'static str,
    /// "72 hours", with the language's plural.
    pub hours: fn(i64) -> String,
    /// Fields: caller.
    pub voicemail_subject: &'static str,
    /// Fields: name, caller, when, length, link.
    pub voicemail_body: &'static str,
    /// Fields: who.
    pub spend_alert_subject: &'static str,
    /// Fields: name, who, company, month, spent, limit, percent.
    pub spend_alert_body: &'static str,
    /// Fields: who.
    pub fraud_alert_subject: &'static str,
    /// Fields: name, who, company, calls.
    pub fraud_alert_body: &'static str,
}

pub static EN: Texts = Texts {
    invite_subject: "{company}: your phone is ready",
    invite_body: "Hello {name},\n\n\
        {company} has set up a phone for you: extension {ext}{number}.\n\
        It works in your web browser, with nothing to install.\n\n\
        Choose a password to start:\n{link}\n\n\
        The link works once and expires in {hours}.\n\
        If it has expired, open it anyway and ask for a new one.\n\n\
        \u{2014} Centrala\n",
    public_number: " ({number})",
    reset_subject: "Set a new Centrala password",
    reset_body: "Hello {name},\n\n\
        Someone (we hope you) asked to set a new password for your phone at {company}.\n\n\
        Choose a new password here:\n{link}\n\n\
        The link works once and expires in {hours}. If you did not ask for this, ignore this \
        e-mail: your password stays as it is.\n\n\
        \u{2014} Centrala\n",
    hours: |n| format!("{n} {}", if n == 1 { "hour" } else { "hours" }),
    voicemail_subject: "New voicemail from {caller}",
    voicemail_body: "Hello {name},\n\n\
        {caller} left you a voicemail message ({length}) at {when}.\n\n\
        The recording is attached. Listen to it, or delete it, on your phone's page:\n{link}\n\n\
        \u{2014} Centrala\n",
    spend_alert_subject: "{who}: {percent} % of the monthly call limit",
    spend_alert_body: "Hello {name},\n\n\
        Calls of {who} at {company} have cost {spent} PLN in {month}: {percent} % of the \
        monthly limit of {limit} PLN.\n\n\
        Once the limit is reached, only internal and emergency calls go through until the \
        end of the month, unless an administrator raises the limit.\n\n\
        \u{2014} Centrala\n",
    fraud_alert_subject: "{who}: calls outside suspended (unusual international calls)",
    fraud_alert_body: "Hello {name},\n\n\
        {who} at {company} placed {calls} international calls within a few minutes. This is \
        how stolen phone accounts are used to run up bills (toll fraud), so their calls \
        outside the company are suspended; internal and emergency calls still work.\n\n\
        If the calls were expected, lift the suspension on their Devices page (Calls outside \
        the company). If not, change their password and check their devices first.\n\n\
        \u{2014} Centrala\n",
};

pub static PL: Texts = Texts {
    invite_subject: "{company}: Twój telefon jest gotowy",
    invite_body: "Dzień dobry,\n\n\
        firma {company} przygotowała dla Ciebie telefon: numer wewnętrzny {ext}{number}.\n\
        Działa w przeglądarce internetowej \u{2014} nie trzeba niczego instalować.\n\n\
        Aby zacząć, ustaw hasło:\n{link}\n\n\
        Link działa tylko raz i wygasa za {hours}.\n\
        Jeśli już wygasł, otwórz go mimo to i poproś o nowy.\n\n\
        Pozdrawiamy\n\
        Centrala\n",
    public_number: " (numer zewnętrzny {number})",
    reset_subject: "Ustaw nowe hasło do Centrali",
    reset_body: "Dzień dobry,\n\n\
        otrzymaliśmy prośbę o ustawienie nowego hasła do Twojego telefonu w firmie {company}.\n\n\
        Nowe hasło ustawisz tutaj:\n{link}\n\n\
        Link działa tylko raz i wygasa za {hours}. Jeśli to nie Ty prosisz o zmianę, \
        zignoruj tę wiadomość: dotychczasowe hasło pozostanie bez zmian.\n\n\
        Pozdrawiamy\n\
        Centrala\n",
    hours: polish_hours,
    voicemail_subject: "Nowa wiadomość głosowa od: {caller}",
    voicemail_body: "Dzień dobry,\n\n\
        {caller} zostawił(a) Ci wiadomość głosową ({length}), {when}.\n\n\
        Nagranie jest w załączniku. Odsłuchasz je lub usuniesz na stronie swojego telefonu:\n{link}\n\n\
        Pozdrawiamy\n\
        Centrala\n",
    spend_alert_subject: "{who}: {percent} % miesięcznego limitu na połączenia",
    spend_alert_body: "Dzień dobry,\n\n\
        połączenia ({who}, firma {company}) kosztowały w miesiącu {month} już {spent} zł: \
        {percent} % miesięcznego limitu {limit} zł.\n\n\
        Po osiągnięciu limitu do końca miesiąca przechodzą tylko połączenia wewnętrzne \
        i alarmowe, chyba że administrator podniesie limit.\n\n\
        Pozdrawiamy\n\
        Centrala\n",
    fraud_alert_subject: "{who}: wstrzymano połączenia poza firmę (nietypowe połączenia międzynarodowe)",
    fraud_alert_body: "Dzień dobry,\n\n\
        {who} (firma {company}) wykonał(a) w ciągu kilku minut {calls} połączeń \
        międzynarodowych. Tak wykorzystuje się przejęte konta telefoniczne do nabijania \
        rachunków, dlatego połączenia tej osoby poza firmę zostały wstrzymane; połączenia \
        wewnętrzne i alarmowe nadal działają.\n\n\
        Jeśli te połączenia były zamierzone, zdejmij blokadę na stronie Urządzenia tej osoby \
        (Połączenia poza firmę). Jeśli nie, najpierw zmień jej hasło i sprawdź jej urządzenia.\n\n\
        Pozdrawiamy\n\
        Centrala\n",
};

/// "za 1 godzinę, 2 godziny, 5 godzin, 22 godziny" (accusative after "za").
fn polish_hours(n: i64) -> String {
    let word = if n == 1 {
        "godzinę"
    } else if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) {
        "godziny"
    } else {
        "godzin"
    };
    format!("{n} {word}")
}

/// `template` with each `{key}` replaced by its value, in one pass (a value holding braces
/// is not filled again); unknown keys stay as written.
pub fn fill(template: &str, fields: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| Some((close, fields.iter().find(|(k, _)| *k == &after[..close])?)))
        {
            Some((close, (_, value))) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A file to attach to a mail.
#[derive(Debug, Clone)]
pub struct FileAttachment {
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// A message's subject and plain-text body.
#[derive(Debug, Clone)]
pub struct Letter {
    pub lang: Lang,
    pub subject: String,
    pub body: String,
}

/// The invitation: a phone was set up; choose a password with `link` within `hours`.
pub fn invitation(
    lang: Lang,
    name: &str,
    company: &str,
    ext: &str,
    number: Option<&str>,
    link: &str,
    hours: i64,
) -> Letter {
    let t = lang.texts();
    let number = number
        .map(|n| fill(t.public_number, &[("number", n)]))
        .unwrap_or_default();
    let hours = (t.hours)(hours);
    Letter {
        lang,
        subject: fill(t.invite_subject, &[("company", company)]),
        body: fill(
            t.invite_body,
            &[
                ("name", name),
                ("company", company),
                ("ext", ext),
                ("number", &number),
                ("link", link),
                ("hours", &hours),
            ],
        ),
    }
}

/// A new voicemail message from `caller` (name and number), `secs` long, received `when`
/// (the recipient's local wording is left to the client: UTC, RFC 3339).
pub fn voicemail(
    lang: Lang,
    name: &str,
    caller: &str,
    secs: i64,
    when: &str,
    link: &str,
) -> Letter {
    let t = lang.texts();
    let length = format!("{}:{:02}", secs / 60, secs % 60);
    Letter {
        lang,
        subject: fill(t.voicemail_subject, &[("caller", caller)]),
        body: fill(
            t.voicemail_body,
            &[
                ("name", name),
                ("caller", caller),
                ("when", when),
                ("length", &length),
                ("link", link),
            ],
        ),
    }
}

/// What a spend alert says: calls of `who` (a person, or the company) have reached
/// `percent` % of their monthly limit (amounts already written as złoty).
#[derive(Debug, Clone)]
pub struct SpendAlert<'a> {
    /// The recipient.
    pub name: &'a str,
    pub who: &'a str,
    pub company: &'a str,
    /// `YYYY-MM`.
    pub month: &'a str,
    pub spent: &'a str,
    pub limit: &'a str,
    pub percent: i64,
}

/// The spend alert e-mail.
pub fn spend_alert(lang: Lang, a: &SpendAlert<'_>) -> Letter {
    let t = lang.texts();
    let percent = a.percent.to_string();
    Letter {
        lang,
        subject: fill(
            t.spend_alert_subject,
            &[("who", a.who), ("percent", &percent)],
        ),
        body: fill(
            t.spend_alert_body,
            &[
                ("name", a.name),
                ("who", a.who),
                ("company", a.company),
                ("month", a.month),
                ("spent", a.spent),
                ("limit", a.limit),
                ("percent", &percent),
            ],
        ),
    }
}

/// The toll fraud alert: `who`'s calls outside were suspended after `calls` international
/// calls.
pub fn fraud_alert(lang: Lang, name: &str, who: &str, company: &str, calls: u32) -> Letter {
    let t = lang.texts();
    let calls = calls.to_string();
    Letter {
        lang,
        subject: fill(t.fraud_alert_subject, &[("who", who)]),
        body: fill(
            t.fraud_alert_body,
            &[
                ("name", name),
                ("who", who),
                ("company", company),
                ("calls", &calls),
            ],
        ),
    }
}

/// "Forgot password": choose a new one with `link` within `hours`.
pub fn password_reset(lang: Lang, name: &str, company: &str, link: &str, hours: i64) -> Letter {
    let t = lang.texts();
    let hours = (t.hours)(hours);
    Letter {
        lang,
        subject: fill(t.reset_subject, &[("company", company)]),
        body: fill(
            t.reset_body,
            &[
                ("name", name),
                ("company", company),
                ("link", link),
                ("hours", &hours),
            ],
        ),
    }
}

/// The `Content-Language` header (RFC 3282).
#[derive(Clone)]
struct ContentLanguage(Lang);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Lang::parse(s)
            .map(ContentLanguage)
            .ok_or_else(|| format!("unknown language {s:?}").into())
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.as_str().to_string())
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same machine, tests).
    None,
    /// STARTTLS, usually port 587.
    Starttls,
    /// TLS from the start, usually port 465.
    Tls,
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum MailConfig {
    Smtp {
        host: String,
        port: u16,
        security: SmtpSecurity,
        /// User name and password, if the server wants them.
        credentials: Option<(String, String)>,
        from: String,
    },
    /// `.eml` files in this folder.
    Files { dir: PathBuf, from: String },
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("bad address: {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("cannot send: {0}")]
    Send(String),
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

impl Mailer {
    pub fn new(cfg: &MailConfig) -> Result<Mailer, MailError> {
        let (from, transport) = match cfg {
            MailConfig::Smtp {
                host,
                port,
                security,
                credentials,
                from,
            } => {
                let mut b = match security {
                    SmtpSecurity::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    }
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                            .map_err(|e| MailError::Send(e.to_string()))?
                    }
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                        .map_err(|e| MailError::Send(e.to_string()))?,
                };
                b = b.port(*port).timeout(Some(Duration::from_secs(15)));
                if let Some((u, p)) = credentials {
                    b = b.credentials(Credentials::new(u.clone(), p.clone()));
                }
                (from, Transport::Smtp(b.build()))
            }
            MailConfig::Files { dir, from } => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| MailError::Send(format!("{}: {e}", dir.display())))?;
                (
                    from,
                    Transport::Files(AsyncFileTransport::new(dir), dir.clone()),
                )
            }
        };
        Ok(Mailer {
            from: from
                .parse()
                .map_err(|e| MailError::Address(format!("sender {from:?}: {e}")))?,
            transport,
        })
    }

    /// Sends a plain-text message, with a file attached if given. `link` is logged when mail
    /// only goes to files.
    pub async fn send(
        &self,
        to_name: &str,
        to: &str,
        letter: Letter,
        link: &str,
        attachment: Option<FileAttachment>,
    ) -> Result<(), MailError> {
        let Letter {
            lang,
            subject,
            body,
        } = letter;
        let to_box = Mailbox::new(
            Some(to_name.to_string()),
            to.parse()
                .map_err(|e| MailError::Address(format!("{to}: {e}")))?,
        );
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to_box)
            .subject(subject.as_str())
            .header(ContentLanguage(lang));
        let message = match attachment {
            None => builder.header(ContentType::TEXT_PLAIN).body(body),
            Some(a) => {
                let media = ContentType::parse(&a.media_type)
                    .map_err(|e| MailError::Build(format!("{}: {e}", a.media_type)))?;
                builder.multipart(
                    MultiPart::mixed()
                        .singlepart(SinglePart::plain(body))
                        .singlepart(Attachment::new(a.name).body(a.bytes, media)),
                )
            }
        }
        .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(t) => {
                t.send(message)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                info!(%to, %subject, "e-mail sent");
            }
            Transport::Files(t, dir) => {
                let id = t
                    .send(message)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                info!(%to, %subject, file = %dir.join(format!("{id}.eml")).display(), %link, "no SMTP server configured: e-mail written to a file");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_of_ours() {
        assert_eq!(
            Lang::from_accept_language("pl-PL,pl;q=0.9,en-US;q=0.8"),
            Some(Lang::Pl)
        );
        assert_eq!(
            Lang::from_accept_language("de-DE, en;q=0.5, pl;q=0.7"),
            Some(Lang::Pl)
        );
        assert_eq!(
            Lang::from_accept_language("en-GB,en;q=0.9,pl;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("de, fr;q=0.5"), None);
        assert_eq!(
            Lang::from_accept_language("pl;q=0, en;q=0.1"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language(""), None);
    }

    #[test]
    fn fill_replaces_fields_once() {
        assert_eq!(
            fill(
                "Hi {name}, see {link} {x}",
                &[("name", "{link}"), ("link", "L")]
            ),
            "Hi {link}, see L {x}"
        );
        assert_eq!(fill("{", &[]), "{");
    }

    #[test]
    fn polish_plurals() {
        let h: Vec<String> = [1, 2, 5, 12, 22, 24, 25, 72].map(polish_hours).into();
        assert_eq!(
            h,
            [
                "1 godzinę",
                "2 godziny",
                "5 godzin",
                "12 godzin",
                "22 godziny",
                "24 godziny",
                "25 godzin",
                "72 godziny"
            ]
        );
    }

    #[test]
    fn letters_in_both_languages() {
        let en = invitation(
            Lang::En,
            "Ann",
            "Acme",
            "101",
            Some("+48226006101"),
            "L",
            72,
        );
        assert_eq!(en.subject, "Acme: your phone is ready");
        assert!(
            en.body.contains("extension 101 (+48226006101)"),
            "{}",
            en.body
        );
        assert!(en.body.contains("expires in 72 hours"));
        let pl = invitation(Lang::Pl, "Zofia Żak", "Acme", "101", None, "L", 72);
        assert_eq!(pl.subject, "Acme: Twój telefon jest gotowy");
        assert!(pl.body.contains("numer wewnętrzny 101."), "{}", pl.body);
        assert!(pl.body.contains("wygasa za 72 godziny"));
        let pl = password_reset(Lang::Pl, "Zofia Żak", "Acme", "L", 24);
        assert_eq!(pl.subject, "Ustaw nowe hasło do Centrali");
        assert!(pl.body.contains("wygasa za 24 godziny"), "{}", pl.body);
        for t in [&EN, &PL] {
            assert!(!t.invite_body.contains("  "), "no stray indentation");
        }
    }
}
