//! Each person's call routing: where the calls they cannot take go (forwarding rules), how
//! their own devices ring (ring strategy), and which device is the default. Stored as JSON in
//! `employees.routing` and read by the core with the rest of the SIP user
//! ([`crate::store::SipUser::routing`]); the API validates it with [`Routing::validate`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Forwarding on no answer waits at least this long...
pub const MIN_NO_ANSWER_SECS: u32 = 5;
/// ...and at most this long.
pub const MAX_NO_ANSWER_SECS: u32 = 60;
/// The default device rings alone for 1 to 60 seconds before the rest join.
pub const MAX_RING_FIRST_SECS: u32 = 60;
/// A group target rings at most this many extensions.
pub const MAX_GROUP: usize = 10;

/// Where a forwarded call goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// A colleague's extension (their own rules apply there too).
    Extension { ext: String },
    /// Several colleagues' extensions, rung together (their own rules do not apply).
    Group { exts: Vec<String> },
    /// A number outside the company (E.164), rung through the trunks as a call of the
    /// rule's owner (their permission and spending apply); skipped without a trunk.
    External { number: String },
    /// The person's voicemail: accepted, skipped until voicemail exists.
    Voicemail,
}

impl Target {
    /// Whether calls can be delivered to it today.
    pub fn deliverable(&self) -> bool {
        matches!(self, Target::Extension { .. } | Target::Group { .. })
    }
}

/// Why a call was forwarded (the `calls.diversion` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    Always,
    Busy,
    NoAnswer,
    Offline,
    /// Do not disturb or away.
    Unavailable,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Always => "always",
            Cause::Busy => "busy",
            Cause::NoAnswer => "no_answer",
            Cause::Offline => "offline",
            Cause::Unavailable => "unavailable",
        }
    }

    /// The Diversion header's `reason` (RFC 5806).
    pub fn diversion_reason(self) -> &'static str {
        match self {
            Cause::Always => "unconditional",
            Cause::Busy => "user-busy",
            Cause::NoAnswer => "no-answer",
            Cause::Offline => "unavailable",
            Cause::Unavailable => "do-not-disturb",
        }
    }

    /// The History-Info `cause` URI parameter (RFC 4458 / RFC 7044).
    pub fn history_cause(self) -> u16 {
        match self {
            Cause::Always => 302,
            Cause::Busy => 486,
            Cause::NoAnswer => 408,
            Cause::Offline => 503,
            Cause::Unavailable => 480,
        }
    }
}

/// Forward on no answer after `after_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoAnswer {
    pub after_secs: u32,
    pub target: Target,
}

/// How one's own devices ring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Every device at once.
    #[default]
    All,
    /// The default device first, the others join after `ring_first_secs`.
    DefaultFirst,
}

/// A person's routing settings. Every field is optional in JSON; missing means off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Routing {
    /// Forward every call at once (the devices do not ring).
    pub always: Option<Target>,
    /// Forward when every device is busy or declines.
    pub busy: Option<Target>,
    /// Forward when nobody answers in time.
    pub no_answer: Option<NoAnswer>,
    /// Forward when no device is registered.
    pub offline: Option<Target>,
    /// Forward while the person's status is "do not disturb" or "away".
    pub unavailable: Option<Target>,
    pub strategy: Strategy,
    /// With [`Strategy::DefaultFirst`]: how long the default device rings alone (1..=60).
    pub ring_first_secs: u32,
}

/// A field of [`Routing`] that is wrong, for the API's 400 `fields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl Routing {
    /// Parses the stored JSON; anything unreadable is "no rules" (logged by the caller).
    pub fn from_json(text: &str) -> Result<Routing, serde_json::Error> {
        if text.trim().is_empty() {
            return Ok(Routing::default());
        }
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("routing serializes")
    }

    /// How long the default device rings alone (default 10 s when unset).
    pub fn ring_first_ms(&self) -> u64 {
        u64::from(if self.ring_first_secs == 0 {
            10
        } else {
            self.ring_first_secs
        }) * 1000
    }

    /// Checks the rules' shapes (numbers, lengths, seconds); `own_ext` may not be a target.
    /// Whether target extensions exist is the caller's check (it has the store).
    pub fn validate(&self, own_ext: &str) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        let mut target = |field: &str, t: &Target| {
            let bad = |m: &str| FieldProblem {
                field: field.to_string(),
                message: m.to_string(),
            };
            match t {
                Target::Extension { ext } => {
                    if !valid_ext(ext) {
                        out.push(bad("an extension has 2 to 8 digits"));
                    } else if ext == own_ext {
                        out.push(bad("calls cannot be forwarded to your own extension"));
                    }
                }
                Target::Group { exts } => {
                    if exts.is_empty() || exts.len() > MAX_GROUP {
                        out.push(bad(&format!("a group has 1 to {MAX_GROUP} extensions")));
                    } else if exts.iter().any(|e| !valid_ext(e)) {
                        out.push(bad("an extension has 2 to 8 digits"));
                    } else if exts.iter().any(|e| e == own_ext) {
                        out.push(bad("calls cannot be forwarded to your own extension"));
                    }
                }
                Target::External { number } => {
                    if crate::accounts::normalize_number(number).is_none() {
                        out.push(bad(
                            "an external number is written in international form, such as +48 22 123 45 67",
                        ));
                    }
                }
                Target::Voicemail => {}
            }
        };
        for (field, t) in [
            ("always", &self.always),
            ("busy", &self.busy),
            ("offline", &self.offline),
            ("unavailable", &self.unavailable),
        ] {
            if let Some(t) = t {
                target(field, t);
            }
        }
        if let Some(na) = &self.no_answer {
            target("no_answer.target", &na.target);
            if !(MIN_NO_ANSWER_SECS..=MAX_NO_ANSWER_SECS).contains(&na.after_secs) {
                out.push(FieldProblem {
                    field: "no_answer.after_secs".into(),
                    message: format!(
                        "between {MIN_NO_ANSWER_SECS} and {MAX_NO_ANSWER_SECS} seconds"
                    ),
                });
            }
        }
        if self.ring_first_secs > MAX_RING_FIRST_SECS {
            out.push(FieldProblem {
                field: "ring_first_secs".into(),
                message: format!("between 1 and {MAX_RING_FIRST_SECS} seconds"),
            });
        }
        out
    }

    /// Every extension a rule names (for checking they exist).
    pub fn extensions(&self) -> Vec<&str> {
        let mut v = Vec::new();
        let targets = [
            self.always.as_ref(),
            self.busy.as_ref(),
            self.no_answer.as_ref().map(|n| &n.target),
            self.offline.as_ref(),
            self.unavailable.as_ref(),
        ];
        for t in targets.into_iter().flatten() {
            match t {
                Target::Extension { ext } => v.push(ext.as_str()),
                Target::Group { exts } => v.extend(exts.iter().map(String::as_str)),
                _ => {}
            }
        }
        v
    }
}

fn valid_ext(ext: &str) -> bool {
    (2..=8).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_digit())
}

/// Device credentials' SIP user names: `d` and 9 lower-case letters or digits, so that they
/// never look like an extension (digits only) or the web app's `<expiry>:<ext>`.
pub fn is_credential_username(name: &str) -> bool {
    name.len() == 10
        && name.starts_with('d')
        && name[1..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_defaults() {
        let r = Routing::from_json(
            r#"{"busy":{"kind":"extension","ext":"102"},"no_answer":{"after_secs":5,"target":{"kind":"group","exts":["103","104"]}},"strategy":"default_first","ring_first_secs":7}"#,
        )
        .unwrap();
        assert_eq!(r.busy, Some(Target::Extension { ext: "102".into() }));
        assert_eq!(r.strategy, Strategy::DefaultFirst);
        assert_eq!(r.ring_first_ms(), 7000);
        assert_eq!(Routing::from_json(&r.to_json()).unwrap(), r);
        assert_eq!(Routing::from_json("").unwrap(), Routing::default());
        assert_eq!(Routing::from_json("{}").unwrap().ring_first_ms(), 10_000);
        assert!(Routing::from_json(r#"{"sometimes":1}"#).is_err());
        assert_eq!(r.extensions(), ["102", "103", "104"]);
    }

    #[test]
    fn validation_names_the_field() {
        let r = Routing {
            always: Some(Target::Extension { ext: "101".into() }),
            busy: Some(Target::External {
                number: "12".into(),
            }),
            no_answer: Some(NoAnswer {
                after_secs: 61,
                target: Target::Voicemail,
            }),
            offline: Some(Target::Group { exts: vec![] }),
            ..Routing::default()
        };
        let fields: Vec<String> = r.validate("101").into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["always", "busy", "offline", "no_answer.after_secs"]
        );
        let ok = Routing {
            busy: Some(Target::External {
                number: "+48 22 123 45 67".into(),
            }),
            ..Routing::default()
        };
        assert!(ok.validate("101").is_empty());
    }

    #[test]
    fn credential_usernames_are_not_extensions() {
        assert!(is_credential_username("dk3m9x2qa7"));
        assert!(!is_credential_username("1234567890"));
        assert!(!is_credential_username("dK3m9x2qa7"));
        assert!(!is_credential_username("d123"));
    }
}
