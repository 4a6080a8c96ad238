//! Presence: who is offline, free, ringing, in a call, away or not to be disturbed, derived
//! from registrations, calls and each person's own choice, and served to watchers by
//! SUBSCRIBE / NOTIFY (RFC 6665): `Event: presence` (PIDF, RFC 3863, with RPID activities,
//! RFC 4480), `Event: dialog` (RFC 4235) and the company's directory as one resource list
//! (RFC 4662). PUBLISH (RFC 3903) and the API set the choice.

use std::fmt;
use std::str::FromStr;

use super::HashMap;
use super::location::AorKey;

/// The presence server's state: choices, subscriptions and publications.
#[derive(Debug, Default)]
pub struct Presence {
    /// Choices other than "available" (from the store at start, the API and PUBLISH).
    choices: HashMap<AorKey, Choice>,
}

impl Presence {
    pub fn choice(&self, aor: &AorKey) -> Choice {
        self.choices.get(aor).copied().unwrap_or_default()
    }

    /// Sets a person's choice; true when it changed.
    pub fn set_choice(&mut self, aor: &AorKey, choice: Choice) -> bool {
        let old = if choice == Choice::Available {
            self.choices.remove(aor)
        } else {
            self.choices.insert(aor.clone(), choice)
        };
        old.unwrap_or_default() != choice
    }
}

/// A person's own choice of status (kept in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Choice {
    #[default]
    Available,
    /// Do not disturb: calls get busy treatment.
    Dnd,
    Away,
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Available => "available",
            Choice::Dnd => "dnd",
            Choice::Away => "away",
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Choice {
    type Err = ();
    fn from_str(s: &str) -> Result<Choice, ()> {
        match s {
            "available" => Ok(Choice::Available),
            "dnd" => Ok(Choice::Dnd),
            "away" => Ok(Choice::Away),
            _ => Err(()),
        }
    }
}

/// A finished call, for the store's `calls` table (migration 0004).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub company: i64,
    pub sip_call_id: String,
    /// The calling employee's extension (None: an outside caller through a trunk).
    pub caller_ext: Option<String>,
    pub caller_number: String,
    pub caller_name: Option<String>,
    pub dialled: String,
    /// The extension the call was for (None: nobody was found).
    pub callee_ext: Option<String>,
    pub callee_name: Option<String>,
    /// Unix milliseconds.
    pub started_ms: i64,
    pub answered_ms: Option<i64>,
    pub ended_ms: i64,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub answered_device: Option<String>,
}

/// How a call ended (the `calls.outcome` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Answered,
    Missed,
    Declined,
    Busy,
    Unavailable,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Declined => "declined",
            Outcome::Busy => "busy",
            Outcome::Unavailable => "unavailable",
            Outcome::Failed => "failed",
        }
    }
}
