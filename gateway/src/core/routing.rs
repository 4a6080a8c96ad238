//! Routing: what a dialled string reaches, and where a call goes from there. A [`Route`] is
//! the callee's forwarding rules and ring strategy (and those of whom they lead to), read
//! when the call starts; it decides, without IO, who rings, when a call moves on (busy, no
//! answer, offline, do not disturb), and when forwarding runs in a circle. The proxy carries
//! its decisions out.

use std::sync::Arc;

use centrala_sip::Instant;

use crate::accounts::{DEFAULT_COMPANY, normalize_number};
use crate::calling::NumberTarget;
use crate::forwarding::{Cause, Routing, Strategy, Target};

use super::HashMap;
use super::presence::Choice;

use super::cache::{Cache, Cached};
use super::location::AorKey;

/// How long an unanswered call rings before the caller hears "no answer".
pub const RING_TIMEOUT_MS: u64 = 120_000;
/// How long the voicemail service has to answer (it answers at once; this is its limit).
pub const VOICEMAIL_ANSWER_MS: u64 = 32_000;
/// A call is forwarded at most this many times (a longer chain is refused as a loop would be).
pub const MAX_HOPS: usize = 5;

/// What the plan needs to know of one person, read when the call starts.
#[derive(Debug, Clone)]
pub struct Person {
    /// What they may call outside (a forward to an outside number is theirs to make).
    pub outside: Box<crate::numbering::Outside>,
    pub name: String,
    pub routing: Arc<Routing>,
    pub default_device: Option<Box<str>>,
}

/// What the plan asks of the rest of the core (registrations and statuses are live).
pub trait World {
    /// Whether `aor` has a device to ring.
    fn reachable(&self, aor: &AorKey) -> bool;
    fn choice(&self, aor: &AorKey) -> Choice;
    /// Whether the voicemail service is up (a voicemail rule is skipped while it is not).
    fn voicemail(&self) -> bool {
        false
    }
    /// Whether a trunk to the phone network exists (a forward to an outside number is
    /// skipped while none does).
    fn trunks(&self) -> bool {
        false
    }
}

/// One forwarding step: away from `from`, for `cause`, to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub from: AorKey,
    pub cause: Cause,
    pub to: Vec<AorKey>,
}

/// Who rings now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ringing {
    /// A person's devices, by their ring strategy; their busy and no-answer rules apply.
    Person(AorKey),
    /// A group's members' devices at once (their own rules do not apply).
    Group(Vec<AorKey>),
    /// `owner`'s voicemail answers (the call came there for `cause`).
    Voicemail { owner: AorKey, cause: Cause },
    /// An outside number of `owner`'s forwarding rule (E.164), through the trunks.
    External { owner: AorKey, number: String },
}

impl Ringing {
    pub fn aors(&self) -> Vec<AorKey> {
        match self {
            Ringing::Person(a) => vec![a.clone()],
            Ringing::Group(v) => v.clone(),
            Ringing::Voicemail { owner, .. } => vec![owner.clone()],
            Ringing::External { owner, .. } => vec![owner.clone()],
        }
    }
}

/// What happens next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Ring `who` for `ring_ms`; with a default-first strategy only the default device
    /// (`first_only`: its id, and for how many ms) rings before the rest join.
    Ring {
        who: Ringing,
        ring_ms: u64,
        first_only: Option<(Box<str>, u64)>,
    },
    /// End the call with this status.
    Refuse { status: u16, reason: String },
}

/// A call's route: the people it may reach, where it has been, and who rings now.
#[derive(Debug, Clone)]
pub struct Route {
    pub people: HashMap<AorKey, Person>,
    /// The people whose rules were applied, in order (a second visit is a loop).
    pub visited: Vec<AorKey>,
    pub hops: Vec<Hop>,
    pub ringing: Option<Ringing>,
}

impl Route {
    pub fn new(people: HashMap<AorKey, Person>) -> Route {
        Route {
            people,
            visited: Vec::new(),
            hops: Vec::new(),
            ringing: None,
        }
    }

    /// Everyone a call to `aor` may reach through forwarding (each once), breadth first,
    /// up to [`MAX_HOPS`] steps: `known` gives a person's routing when it is at hand.
    pub fn reach<'a>(
        aor: &AorKey,
        mut known: impl FnMut(&AorKey) -> Option<&'a Routing>,
    ) -> Vec<AorKey> {
        let mut seen = vec![aor.clone()];
        let mut frontier = vec![aor.clone()];
        for _ in 0..=MAX_HOPS {
            let mut next = Vec::new();
            for a in &frontier {
                let Some(r) = known(a) else { continue };
                for ext in r.extensions() {
                    let b = AorKey::new(a.company, ext);
                    if !seen.contains(&b) {
                        seen.push(b.clone());
                        next.push(b);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        seen
    }

    /// The call arrives for `aor`: its always, unavailable and offline rules are followed
    /// (and those of whom they lead to), and the decision is where it rings.
    pub fn enter(&mut self, aor: AorKey, world: &impl World) -> Decision {
        let mut aor = aor;
        loop {
            if self.visited.contains(&aor) {
                return self.looped(&aor);
            }
            self.visited.push(aor.clone());
            let routing = self.routing(&aor);
            let outside = self.outside(&aor);
            let outside = outside.as_deref();
            let choice = world.choice(&aor);
            let mut cause_target = None;
            if let Some(t) = deliverable(routing.always.as_ref(), outside, world) {
                cause_target = Some((Cause::Always, t.clone()));
            } else if matches!(choice, Choice::Dnd | Choice::Away)
                && let Some(t) = deliverable(routing.unavailable.as_ref(), outside, world)
            {
                cause_target = Some((Cause::Unavailable, t.clone()));
            } else if choice == Choice::Dnd {
                return Decision::Refuse {
                    status: 486,
                    reason: "Busy Here (do not disturb)".into(),
                };
            } else if !world.reachable(&aor) {
                match deliverable(routing.offline.as_ref(), outside, world) {
                    Some(t) => cause_target = Some((Cause::Offline, t.clone())),
                    None => {
                        return Decision::Refuse {
                            status: 480,
                            reason:
                                "Temporarily Unavailable (nobody is logged in on that extension)"
                                    .into(),
                        };
                    }
                }
            }
            match cause_target {
                None => return self.ring_person(aor, &routing, world),
                Some((cause, target)) => match self.hop(&aor, cause, &target, world) {
                    Next::Person(b) => aor = b,
                    Next::Done(d) => return d,
                },
            }
        }
    }

    /// Every device of the person ringing now was busy or declined: their busy rule, if any.
    pub fn on_busy(&mut self, world: &impl World) -> Option<Decision> {
        self.after(
            world,
            |r, o| deliverable(r.busy.as_ref(), o, world).cloned(),
            Cause::Busy,
        )
    }

    /// Nobody answered in time: the no-answer rule of the person ringing now, if any.
    pub fn on_no_answer(&mut self, world: &impl World) -> Option<Decision> {
        self.after(
            world,
            |r, o| {
                r.no_answer
                    .as_ref()
                    .and_then(|n| deliverable(Some(&n.target), o, world).cloned())
            },
            Cause::NoAnswer,
        )
    }

    fn after(
        &mut self,
        world: &impl World,
        rule: impl Fn(&Routing, Option<&crate::numbering::Outside>) -> Option<Target>,
        cause: Cause,
    ) -> Option<Decision> {
        let Some(Ringing::Person(aor)) = self.ringing.clone() else {
            return None;
        };
        let outside = self.outside(&aor);
        let target = rule(&self.routing(&aor), outside.as_deref())?;
        Some(match self.hop(&aor, cause, &target, world) {
            Next::Person(b) => self.enter(b, world),
            Next::Done(d) => d,
        })
    }

    fn hop(&mut self, from: &AorKey, cause: Cause, target: &Target, world: &impl World) -> Next {
        let to: Vec<AorKey> = match target {
            Target::Extension { ext } => vec![AorKey::new(from.company, ext)],
            Target::Group { exts } => exts.iter().map(|e| AorKey::new(from.company, e)).collect(),
            _ => Vec::new(),
        };
        self.hops.push(Hop {
            from: from.clone(),
            cause,
            to: to.clone(),
        });
        if self.hops.len() > MAX_HOPS {
            return Next::Done(Decision::Refuse {
                status: 482,
                reason: format!(
                    "Loop Detected (calls to {} are forwarded more than {MAX_HOPS} times)",
                    self.visited[0].ext
                ),
            });
        }
        match target {
            Target::Group { .. } => {
                let to: Vec<AorKey> = to
                    .into_iter()
                    .filter(|a| !self.visited.contains(a))
                    .collect();
                Next::Done(self.ring_group(to, world))
            }
            Target::External { number } => {
                let who = Ringing::External {
                    owner: from.clone(),
                    number: number.clone(),
                };
                self.ringing = Some(who.clone());
                // The trunk must answer within this (see `trunk::TRUNK_WAIT_MS`); once it
                // does, the call may ring as long as the network lets it.
                Next::Done(Decision::Ring {
                    who,
                    ring_ms: super::trunk::TRUNK_WAIT_MS,
                    first_only: None,
                })
            }
            Target::Voicemail => {
                let who = Ringing::Voicemail {
                    owner: from.clone(),
                    cause,
                };
                self.ringing = Some(who.clone());
                Next::Done(Decision::Ring {
                    who,
                    ring_ms: VOICEMAIL_ANSWER_MS,
                    first_only: None,
                })
            }
            _ => Next::Person(to.into_iter().next().expect("an extension target")),
        }
    }

    /// A call to a company's main number set to a group: the members with a device ring at
    /// once (their own forwarding rules do not apply; do not disturb does); the first to
    /// answer takes the call.
    pub fn enter_group(&mut self, members: Vec<AorKey>, world: &impl World) -> Decision {
        self.ring_group(members, world)
    }

    /// A group rings its members who are logged in and not on do not disturb, all at once.
    fn ring_group(&mut self, members: Vec<AorKey>, world: &impl World) -> Decision {
        let online: Vec<AorKey> = members.into_iter().filter(|a| world.reachable(a)).collect();
        let members: Vec<AorKey> = online
            .iter()
            .filter(|a| world.choice(a) != Choice::Dnd)
            .cloned()
            .collect();
        if members.is_empty() {
            return Decision::Refuse {
                status: if online.is_empty() { 480 } else { 486 },
                reason: if online.is_empty() {
                    "Temporarily Unavailable (nobody of the group is logged in)".into()
                } else {
                    "Busy Here (everyone in the group is on do not disturb)".into()
                },
            };
        }
        self.ringing = Some(Ringing::Group(members.clone()));
        Decision::Ring {
            who: Ringing::Group(members),
            ring_ms: RING_TIMEOUT_MS,
            first_only: None,
        }
    }

    fn ring_person(&mut self, aor: AorKey, routing: &Routing, world: &impl World) -> Decision {
        let ring_ms = routing
            .no_answer
            .as_ref()
            .filter(|n| {
                deliverable(Some(&n.target), self.outside(&aor).as_deref(), world).is_some()
            })
            .map_or(RING_TIMEOUT_MS, |n| u64::from(n.after_secs) * 1000);
        let first_only = match (routing.strategy, self.default_device(&aor)) {
            (Strategy::DefaultFirst, Some(d)) => Some((d, routing.ring_first_ms())),
            _ => None,
        };
        self.ringing = Some(Ringing::Person(aor.clone()));
        Decision::Ring {
            who: Ringing::Person(aor),
            ring_ms,
            first_only,
        }
    }

    fn looped(&self, aor: &AorKey) -> Decision {
        Decision::Refuse {
            status: 482,
            reason: format!(
                "Loop Detected (calls to {} are forwarded in a circle through {})",
                self.visited[0].ext, aor.ext
            ),
        }
    }

    fn routing(&self, aor: &AorKey) -> Arc<Routing> {
        self.people
            .get(aor)
            .map(|p| p.routing.clone())
            .unwrap_or_default()
    }

    fn outside(&self, aor: &AorKey) -> Option<Box<crate::numbering::Outside>> {
        self.people.get(aor).map(|p| p.outside.clone())
    }

    fn default_device(&self, aor: &AorKey) -> Option<Box<str>> {
        self.people.get(aor)?.default_device.clone()
    }

    /// A person's display name, if known.
    pub fn name(&self, aor: &AorKey) -> Option<&str> {
        self.people.get(aor).map(|p| p.name.as_str())
    }
}

enum Next {
    Person(AorKey),
    Done(Decision),
}

/// A rule's target if calls can go there now: voicemail only while its service is up, an
/// outside number only through a trunk and only as far as its owner (`outside`) may call.
fn deliverable<'a>(
    t: Option<&'a Target>,
    outside: Option<&crate::numbering::Outside>,
    world: &impl World,
) -> Option<&'a Target> {
    t.filter(|t| match t {
        Target::Voicemail => world.voicemail(),
        Target::External { number } => {
            world.trunks() && outside.is_some_and(|o| external_allowed(o, number))
        }
        _ => t.deliverable(),
    })
}

/// May a person with `o` have calls forwarded to `number` (their permission, spending and
/// no suspension; an emergency number is no forwarding target)?
fn external_allowed(o: &crate::numbering::Outside, number: &str) -> bool {
    match crate::numbering::parse(number) {
        Ok(d @ crate::numbering::Dialled::Number { .. }) => {
            crate::numbering::allowed(o.permission, o.premium, &d).is_ok()
                && !o.limit_reached
                && !o.suspended
        }
        _ => false,
    }
}

/// What a dialled string reaches: an extension of `company`, or one of its public numbers
/// (E.164, or 00…, or national digits with the country code). With no company (a trusted
/// peer calling an IP address) the number's owner, else the default company. `Miss` while a
/// lookup runs; `Hit(None)` when nothing answers to it.
pub fn resolve(
    cache: &mut Cache,
    company: Option<i64>,
    dialled: &str,
    now: Instant,
) -> Cached<Option<Resolved>> {
    let number = normalize_number(dialled).or_else(|| {
        (dialled.len() >= 9 && dialled.bytes().all(|b| b.is_ascii_digit()))
            .then(|| format!("+{dialled}"))
    });
    let home = company.unwrap_or(DEFAULT_COMPANY);
    if number.is_none() || dialled.len() <= 8 {
        match cache.user(home, dialled, now) {
            Cached::Miss(id) => return Cached::Miss(id),
            Cached::Hit(Some(_)) => {
                return Cached::Hit(Some(Resolved::Person(AorKey::new(home, dialled))));
            }
            Cached::Hit(None) => {}
        }
    }
    let Some(number) = number else {
        return Cached::Hit(None);
    };
    match cache.number(company, &number, now) {
        Cached::Miss(id) => Cached::Miss(id),
        Cached::Hit(None) => Cached::Hit(None),
        Cached::Hit(Some((c, NumberTarget::Extension(ext)))) => match cache.user(c, &ext, now) {
            Cached::Miss(id) => Cached::Miss(id),
            Cached::Hit(Some(_)) => Cached::Hit(Some(Resolved::Person(AorKey::new(c, &ext)))),
            Cached::Hit(None) => Cached::Hit(None),
        },
        // The members were checked when the admin set the group; one removed since then
        // has no devices and is left out when it rings.
        Cached::Hit(Some((c, NumberTarget::Group(exts)))) => Cached::Hit(Some(Resolved::Group {
            company: c,
            members: exts.iter().map(|e| AorKey::new(c, e)).collect(),
        })),
    }
}

/// What a dialled string reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A person (an extension, or a public number that rings one).
    Person(AorKey),
    /// A company's main number set to ring several extensions at once.
    Group { company: i64, members: Vec<AorKey> },
}

impl Resolved {
    /// The person, when it is one.
    pub fn person(self) -> Option<AorKey> {
        match self {
            Resolved::Person(a) => Some(a),
            Resolved::Group { .. } => None,
        }
    }
}
