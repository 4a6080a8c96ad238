//! Presence: who is offline, free, ringing, in a call, away or not to be disturbed, derived
//! from registrations, calls and each person's own choice, and served to watchers by
//! SUBSCRIBE / NOTIFY (RFC 6665): `Event: presence` (PIDF, RFC 3863, with RPID activities,
//! RFC 4480), `Event: dialog` (RFC 4235) and the company's directory as one resource list
//! (RFC 4662). PUBLISH (RFC 3903) and the API set the choice.

use std::fmt;
use std::str::FromStr;

use std::collections::BTreeSet;

use centrala_sip::Instant;
use centrala_sip::message::Uri;
pub use centrala_sip::presence::Status;
use centrala_sip::transaction::TxKey;

use super::HashMap;
use super::flows::FlowId;
use super::location::AorKey;

/// Shortest and longest subscription we grant, in seconds; the default (RFC 3856).
pub const MIN_SUB_EXPIRES: u32 = 60;
pub const MAX_SUB_EXPIRES: u32 = 3600;
pub const DEFAULT_SUB_EXPIRES: u32 = 3600;
/// A subscription gets at most one NOTIFY per this many ms (RFC 6665 4.2.2's rate control):
/// when 1,000 people of a company log in within a minute, a directory watcher gets a few
/// partial NOTIFYs a second with several people each, not 1,000. A lone change goes at once.
pub const NOTIFY_GAP_MS: u64 = 500;
/// Subscriptions one flow may hold (a browser holds one; a desk phone's busy lamps a few
/// dozen), and in all.
pub const MAX_SUBS_PER_FLOW: usize = 256;
pub const MAX_SUBS: usize = 200_000;
/// NOTIFYs built per turn of the driver when one change goes to many watchers.
pub const FANOUT_SLICE: usize = 64;
/// The resource list of a company's whole directory: `sip:directory@<domain>`.
pub const DIRECTORY_USER: &str = "directory";

pub type SubId = u64;

/// Which event package a subscription is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `Event: presence`: PIDF (or, for the directory, RLMI with a PIDF per person).
    Presence,
    /// `Event: dialog`: dialog-info, for busy-lamp fields.
    Dialog,
    /// `Event: message-summary` (RFC 3842): one's own voice mailbox, for the message-waiting
    /// lamp of desk phones and SIP clients.
    MessageSummary,
}

impl EventKind {
    pub fn from_header(event: &str) -> Option<EventKind> {
        let package = event.split(';').next().unwrap_or("").trim();
        if package.eq_ignore_ascii_case("presence") {
            Some(EventKind::Presence)
        } else if package.eq_ignore_ascii_case("dialog") {
            Some(EventKind::Dialog)
        } else if package.eq_ignore_ascii_case(centrala_sip::mwi::EVENT) {
            Some(EventKind::MessageSummary)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Presence => "presence",
            EventKind::Dialog => "dialog",
            EventKind::MessageSummary => centrala_sip::mwi::EVENT,
        }
    }
}

/// What is watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    One(AorKey),
    /// The whole directory of a company (RFC 4662 resource list).
    List(i64),
}

/// What the next NOTIFY must carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Pending {
    #[default]
    Nothing,
    /// These extensions changed (a list's partial NOTIFY).
    Some(BTreeSet<Box<str>>),
    /// Everything.
    Full,
}

impl Pending {
    pub fn add(&mut self, ext: &str) {
        match self {
            Pending::Nothing => *self = Pending::Some([ext.into()].into()),
            Pending::Some(set) => {
                set.insert(ext.into());
            }
            Pending::Full => {}
        }
    }
}

/// One subscription (RFC 6665): a dialog we are the notifier of.
#[derive(Debug)]
pub struct Subscription {
    pub flow: FlowId,
    pub watcher: AorKey,
    pub event: EventKind,
    pub target: Target,
    /// The company's SIP domain (for the URIs in the documents).
    pub domain: Box<str>,
    pub call_id: Box<str>,
    pub local_tag: Box<str>,
    pub remote_tag: Box<str>,
    /// Our From (the SUBSCRIBE's To, with our tag) and To (its From) for NOTIFYs.
    pub local: String,
    pub remote: String,
    /// The subscriber's Contact: the Request-URI of NOTIFYs (sent on `flow` all the same).
    pub remote_target: Uri,
    pub route_set: Vec<String>,
    pub cseq: u32,
    pub expires_at: Instant,
    /// Document version (RLMI, dialog-info).
    pub version: u32,
    pub in_flight: Option<TxKey>,
    /// When its held-back NOTIFY's timer is armed for.
    pub notify_at: Option<Instant>,
    pub pending: Pending,
    /// No NOTIFY before this (rate control).
    pub next_at: Instant,
    /// Ending: the next NOTIFY says `terminated` with this reason, and then it goes.
    pub ending: Option<&'static str>,
}

/// A company's people as the directory list shows them: extension and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    pub people: Vec<(Box<str>, Box<str>)>,
}

impl Roster {
    pub fn name_of(&self, ext: &str) -> Option<&str> {
        self.people
            .iter()
            .find(|(e, _)| &**e == ext)
            .map(|(_, n)| &**n)
    }
}

/// The presence server's state: choices, subscriptions, rosters and publications.
#[derive(Debug, Default)]
pub struct Presence {
    /// Choices other than "available" (from the store at start, the API and PUBLISH).
    choices: HashMap<AorKey, Choice>,
    pub subs: HashMap<SubId, Subscription>,
    next_id: SubId,
    pub by_dialog: HashMap<(Box<str>, Box<str>), SubId>,
    pub watch_one: HashMap<AorKey, Vec<SubId>>,
    pub watch_list: HashMap<i64, Vec<SubId>>,
    pub by_flow: HashMap<FlowId, Vec<SubId>>,
    pub by_tx: HashMap<TxKey, SubId>,
    /// The status each watched person was last shown with.
    pub shown: HashMap<AorKey, Status>,
    /// Directories of companies with list watchers.
    pub rosters: HashMap<i64, Roster>,
    /// Voice mailboxes with message-summary watchers (or asked for): their counts as last
    /// read from the store.
    pub mailboxes: HashMap<AorKey, centrala_sip::mwi::Mailbox>,
    /// PUBLISH entity tags: whose, and until when.
    pub publications: HashMap<Box<str>, (AorKey, Instant)>,
    /// Bumped whenever what a list shows may differ (a status shown changed, a directory
    /// was read again): list bodies built at one generation are the same for every watcher.
    pub generation: u64,
    /// List NOTIFY bodies of this generation, by company and what they carry; split around
    /// the RLMI version, which is per subscription. One change fanned out to 1,000 watchers
    /// builds its document once, not 1,000 times.
    pub bodies: HashMap<BodyKey, std::sync::Arc<ListBody>>,
    pub bodies_generation: u64,
    /// Subscriptions with a NOTIFY to send, in slices (see `Core::fan_out`), and since when
    /// they wait.
    pub ready: std::collections::VecDeque<SubId>,
    pub ready_since: Option<Instant>,
}

/// A company and the people a list body carries (`None`: everyone, full state).
pub type BodyKey = (i64, Option<Vec<Box<str>>>);

/// A list NOTIFY body without its version: `head`, the version number, `tail`.
#[derive(Debug)]
pub struct ListBody {
    pub content_type: String,
    pub head: String,
    pub tail: String,
}

/// The version written into a cached body, to be replaced per subscription.
pub const VERSION_MARK: u32 = u32::MAX;

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

    pub fn len(&self) -> usize {
        self.subs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// Whether anyone watches `aor` (alone or through its company's directory).
    pub fn watched(&self, aor: &AorKey) -> bool {
        self.watch_one.contains_key(aor) || self.watch_list.contains_key(&aor.company)
    }

    /// The subscription an in-dialog request (or a NOTIFY's response) belongs to.
    pub fn find(&self, call_id: &str, local_tag: &str) -> Option<SubId> {
        self.by_dialog
            .get(&(Box::from(call_id), Box::from(local_tag)))
            .copied()
    }

    /// Adds a subscription; its id.
    pub fn insert(&mut self, sub: Subscription) -> SubId {
        self.next_id += 1;
        let id = self.next_id;
        self.by_dialog
            .insert((sub.call_id.clone(), sub.local_tag.clone()), id);
        match &sub.target {
            Target::One(aor) => self.watch_one.entry(aor.clone()).or_default().push(id),
            Target::List(c) => self.watch_list.entry(*c).or_default().push(id),
        }
        self.by_flow.entry(sub.flow).or_default().push(id);
        self.subs.insert(id, sub);
        id
    }

    /// Forgets a subscription and every index of it.
    pub fn remove(&mut self, id: SubId) -> Option<Subscription> {
        let sub = self.subs.remove(&id)?;
        self.by_dialog
            .remove(&(sub.call_id.clone(), sub.local_tag.clone()));
        fn unlist<K: std::hash::Hash + Eq>(m: &mut HashMap<K, Vec<SubId>>, k: &K, id: SubId) {
            if let Some(v) = m.get_mut(k) {
                v.retain(|x| *x != id);
                if v.is_empty() {
                    m.remove(k);
                }
            }
        }
        match &sub.target {
            Target::One(aor) => {
                unlist(&mut self.watch_one, aor, id);
                let mwi_left = self.watch_one.get(aor).is_some_and(|ids| {
                    ids.iter().any(|i| {
                        self.subs
                            .get(i)
                            .is_some_and(|s| s.event == EventKind::MessageSummary)
                    })
                });
                if !mwi_left {
                    self.mailboxes.remove(aor);
                }
            }
            Target::List(c) => {
                unlist(&mut self.watch_list, c, id);
                if !self.watch_list.contains_key(c) {
                    self.rosters.remove(c);
                }
            }
        }
        unlist(&mut self.by_flow, &sub.flow, id);
        if let Some(k) = &sub.in_flight {
            self.by_tx.remove(k);
        }
        Some(sub)
    }

    /// How many subscriptions `flow` holds.
    pub fn on_flow(&self, flow: FlowId) -> usize {
        self.by_flow.get(&flow).map_or(0, Vec::len)
    }
}

/// The note shown with a status (for clients that show the note, not the activity).
pub fn note_for(status: Status) -> Option<&'static str> {
    match status {
        Status::Offline | Status::Available => None,
        Status::Ringing => Some("Ringing"),
        Status::InCall => Some("On the phone"),
        Status::Dnd => Some("Do not disturb"),
        Status::Away => Some("Away"),
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
    /// The extension a forwarded call was first for (`callee_ext` is whoever it reached),
    /// and why it was forwarded away from there.
    pub diverted_from: Option<String>,
    pub diversion: Option<crate::forwarding::Cause>,
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
    /// The voicemail service took it (for the box's owner: a message may wait).
    Voicemail,
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
            Outcome::Voicemail => "voicemail",
        }
    }
}
