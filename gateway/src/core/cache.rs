//! What the core knows of the store: users, company domains and public numbers, each kept a
//! short while. A miss never waits: the core asks the driver to look it up ([`Query`]) and
//! parks the request until the [`Answer`] comes back as an input; other requests go on. A
//! stale entry is still answered from while a reload runs, so the core never waits on the
//! database for a user it knows (a burst of expiries used to stall every request behind one
//! query each).

use centrala_sip::Instant;

use crate::store::SipUser;

use super::HashMap;

/// How long a looked-up entry is used before asking the database again.
pub const FRESH_MS: u64 = 5_000;
/// A cached user older than `FRESH_MS` but younger than this is still answered from while a
/// reload runs; older entries are forgotten (idle clients re-register only every few minutes).
pub const FORGET_MS: u64 = 15_000;
/// How many entries of each kind are kept before the oldest are dropped.
const MAX_ENTRIES: usize = 100_000;

/// A lookup the driver runs against the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// A SIP user (an employee's extension) of a company.
    User { company: i64, ext: Box<str> },
    /// The company whose SIP domain this is (lower case).
    Domain { host: Box<str> },
    /// Who a public number (E.164) rings: in `company`, or in whichever company owns it.
    Number {
        company: Option<i64>,
        number: Box<str>,
    },
    /// A company's directory (extension and name of everyone), for presence lists.
    Roster { company: i64 },
    /// How many new and old voicemail messages an extension's owner has.
    Mailbox { company: i64, ext: Box<str> },
}

/// What the driver found.
#[derive(Debug, Clone)]
pub enum Answer {
    User(Option<SipUser>),
    Domain(Option<i64>),
    /// The company and where in it the number rings.
    Number(Option<(i64, crate::calling::NumberTarget)>),
    /// A company's people: extension and name, by extension.
    Roster {
        company: i64,
        people: Vec<(String, String)>,
    },
    /// An extension's voice mailbox (zero counts when the extension is gone).
    Mailbox {
        company: i64,
        ext: Box<str>,
        mailbox: centrala_sip::mwi::Mailbox,
    },
    /// The store failed; the text is logged.
    Failed(String),
}

/// The company and extension a public number rings.
pub type Ringing = (i64, crate::calling::NumberTarget);

/// A number as looked up: in a company, or in whichever owns it.
type NumberKey = (Option<i64>, Box<str>);

/// A lookup's number, unique for the life of the core.
pub type LookupId = u64;

/// The result of asking the cache.
#[derive(Debug, Clone, PartialEq)]
pub enum Cached<T> {
    /// Known (possibly stale, then a reload was started).
    Hit(T),
    /// Not known: wait for this lookup (just started, or already running).
    Miss(LookupId),
}

#[derive(Debug)]
struct Entry<T> {
    value: T,
    at: Instant,
    reloading: bool,
}

/// A lookup in flight, and the cache generation it started in.
#[derive(Debug)]
struct InFlight {
    query: Query,
    generation: u64,
}

/// The three caches and the lookups in flight.
#[derive(Debug, Default)]
pub struct Cache {
    /// By company, then extension (looked up without allocating a key).
    users: HashMap<i64, HashMap<Box<str>, Entry<Option<SipUser>>>>,
    domains: HashMap<Box<str>, Entry<Option<i64>>>,
    numbers: HashMap<NumberKey, Entry<Option<Ringing>>>,
    in_flight: HashMap<LookupId, InFlight>,
    by_query: HashMap<Query, LookupId>,
    next_id: LookupId,
    /// Bumped when an account changes, so a lookup that read the old row is not kept.
    generation: u64,
    /// Lookups to hand to the driver.
    started: std::collections::VecDeque<(LookupId, Query)>,
}

impl Cache {
    /// A user; a miss or a stale hit starts a lookup.
    pub fn user(&mut self, company: i64, ext: &str, now: Instant) -> Cached<Option<SipUser>> {
        let hit = self
            .users
            .get_mut(&company)
            .and_then(|m| m.get_mut(ext))
            .and_then(|e| fresh(e, now));
        let query = || Query::User {
            company,
            ext: ext.into(),
        };
        match hit {
            Some((v, reload)) => {
                if reload {
                    self.start(query());
                }
                Cached::Hit(v)
            }
            None => Cached::Miss(self.start(query())),
        }
    }

    /// The company of a SIP domain (`host` in any case).
    pub fn domain(&mut self, host: &str, now: Instant) -> Cached<Option<i64>> {
        let lower;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = host.to_ascii_lowercase();
            lower.as_str()
        } else {
            host
        };
        match self.domains.get_mut(host).and_then(|e| fresh(e, now)) {
            Some((v, reload)) => {
                if reload {
                    self.start(Query::Domain { host: host.into() });
                }
                Cached::Hit(v)
            }
            None => Cached::Miss(self.start(Query::Domain { host: host.into() })),
        }
    }

    /// Where a public number rings.
    pub fn number(
        &mut self,
        company: Option<i64>,
        number: &str,
        now: Instant,
    ) -> Cached<Option<Ringing>> {
        let key = (company, Box::<str>::from(number));
        match self.numbers.get_mut(&key).and_then(|e| fresh(e, now)) {
            Some((v, reload)) => {
                if reload {
                    self.start(Query::Number {
                        company,
                        number: key.1,
                    });
                }
                Cached::Hit(v)
            }
            None => Cached::Miss(self.start(Query::Number {
                company,
                number: key.1,
            })),
        }
    }

    /// Reads a company's directory (the presence server keeps it).
    pub fn roster(&mut self, company: i64) -> LookupId {
        self.start(Query::Roster { company })
    }

    /// Reads an extension's voicemail counts (not cached here: the presence state keeps
    /// them while someone watches).
    pub fn mailbox(&mut self, company: i64, ext: &str) -> LookupId {
        self.start(Query::Mailbox {
            company,
            ext: ext.into(),
        })
    }

    /// Starts a lookup unless the same one is running; its id either way.
    fn start(&mut self, query: Query) -> LookupId {
        if let Some(&id) = self.by_query.get(&query) {
            return id;
        }
        self.next_id += 1;
        let id = self.next_id;
        self.by_query.insert(query.clone(), id);
        self.in_flight.insert(
            id,
            InFlight {
                query: query.clone(),
                generation: self.generation,
            },
        );
        self.started.push_back((id, query));
        id
    }

    /// The next lookup started and not yet handed to the driver.
    pub fn next_started(&mut self) -> Option<(LookupId, Query)> {
        self.started.pop_front()
    }

    /// Stores a lookup's answer. Returns false when the id is unknown (answered already).
    pub fn answer(&mut self, id: LookupId, answer: Answer, now: Instant) -> bool {
        let Some(f) = self.in_flight.remove(&id) else {
            return false;
        };
        self.by_query.remove(&f.query);
        // An account changed while this ran: what it read may be old. Forget instead.
        let current = f.generation == self.generation;
        match (f.query, answer) {
            (Query::User { company, ext }, Answer::User(u)) => {
                if current {
                    let m = self.users.entry(company).or_default();
                    trim(m, now);
                    m.insert(ext, entry(u, now));
                } else {
                    if let Some(m) = self.users.get_mut(&company) {
                        m.remove(&ext);
                    }
                }
            }
            (Query::Domain { host }, Answer::Domain(c)) => {
                trim(&mut self.domains, now);
                self.domains.insert(host, entry(c, now));
            }
            (Query::Number { company, number }, Answer::Number(n)) => {
                if current {
                    trim(&mut self.numbers, now);
                    self.numbers.insert((company, number), entry(n, now));
                }
            }
            // Failed (or a mismatched answer): a stale entry stays until forgotten.
            (query, _) => match query {
                Query::User { company, ext } => {
                    if let Some(e) = self.users.get_mut(&company).and_then(|m| m.get_mut(&ext)) {
                        e.reloading = false;
                    }
                }
                Query::Domain { host } => {
                    if let Some(e) = self.domains.get_mut(&host) {
                        e.reloading = false;
                    }
                }
                Query::Number { company, number } => {
                    if let Some(e) = self.numbers.get_mut(&(company, number)) {
                        e.reloading = false;
                    }
                }
                Query::Roster { .. } | Query::Mailbox { .. } => {}
            },
        }
        true
    }

    /// Whether a lookup is still running.
    pub fn in_flight(&self, id: LookupId) -> bool {
        self.in_flight.contains_key(&id)
    }

    /// An account changed (renumbered, access revoked, new password): forget it now, and
    /// drop what running lookups bring back.
    pub fn account_changed(&mut self, company: i64, ext: &str) {
        if let Some(m) = self.users.get_mut(&company) {
            m.remove(ext);
            // Device credentials are cached under their own user names.
            m.retain(|_, e| e.value.as_ref().is_none_or(|u| u.ext != ext));
        }
        self.numbers
            .retain(|_, e| e.value.as_ref().is_none_or(|(c, _)| *c != company));
        self.generation += 1;
    }

    /// Drops entries too old to answer from (called now and then).
    pub fn sweep(&mut self, now: Instant) {
        for m in self.users.values_mut() {
            m.retain(|_, e| now.saturating_sub(e.at) < FORGET_MS);
        }
        self.users.retain(|_, m| !m.is_empty());
        self.domains
            .retain(|_, e| now.saturating_sub(e.at) < FORGET_MS);
        self.numbers
            .retain(|_, e| now.saturating_sub(e.at) < FORGET_MS);
    }
}

fn entry<T>(value: T, at: Instant) -> Entry<T> {
    Entry {
        value,
        at,
        reloading: false,
    }
}

/// A usable entry's value, and whether it needs a reload (stale and none running yet).
fn fresh<T: Clone>(e: &mut Entry<T>, now: Instant) -> Option<(T, bool)> {
    let age = now.saturating_sub(e.at);
    if age >= FORGET_MS {
        return None;
    }
    let reload = age >= FRESH_MS && !e.reloading;
    if reload {
        e.reloading = true;
    }
    Some((e.value.clone(), reload))
}

/// Keeps a table under `MAX_ENTRIES` by dropping what is too old, then everything.
fn trim<K, V>(m: &mut HashMap<K, Entry<V>>, now: Instant) {
    if m.len() < MAX_ENTRIES {
        return;
    }
    m.retain(|_, e| now.saturating_sub(e.at) < FRESH_MS);
    if m.len() >= MAX_ENTRIES {
        m.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(ext: &str) -> SipUser {
        SipUser {
            company_id: 1,
            ext: ext.into(),
            name: format!("User {ext}"),
            realm: "d".into(),
            ha1_md5: None,
            ha1_sha256: None,
            app_access: true,
            employee_id: 1,
            sip_generation: 0,
            digest: None,
            locked: false,
            locked_devices: Vec::new(),
            routing: Default::default(),
            default_device: None,
            login: None,
            outside: Default::default(),
        }
    }

    #[test]
    fn a_miss_starts_one_lookup_and_its_answer_is_served_until_stale() {
        let mut c = Cache::default();
        let Cached::Miss(id) = c.user(1, "101", 0) else {
            panic!("miss")
        };
        assert!(
            matches!(c.user(1, "101", 5), Cached::Miss(i) if i == id),
            "same lookup, not a second"
        );
        assert!(c.next_started().is_some() && c.next_started().is_none());
        assert!(c.answer(id, Answer::User(Some(user("101"))), 10));
        assert!(matches!(c.user(1, "101", 20), Cached::Hit(Some(_))));
        assert!(c.next_started().is_none());
        // Stale: answered, and one reload starts.
        assert!(matches!(
            c.user(1, "101", 10 + FRESH_MS),
            Cached::Hit(Some(_))
        ));
        assert!(matches!(
            c.user(1, "101", 11 + FRESH_MS),
            Cached::Hit(Some(_))
        ));
        assert!(c.next_started().is_some() && c.next_started().is_none());
        // Forgotten.
        assert!(matches!(c.user(1, "101", 10 + FORGET_MS), Cached::Miss(_)));
    }

    #[test]
    fn a_lookup_begun_before_an_account_change_is_not_kept() {
        let mut c = Cache::default();
        let Cached::Miss(id) = c.user(1, "101", 0) else {
            panic!("miss")
        };
        c.account_changed(1, "101");
        c.answer(id, Answer::User(Some(user("101"))), 1);
        assert!(matches!(c.user(1, "101", 2), Cached::Miss(_)));
    }

    #[test]
    fn a_failed_reload_keeps_the_stale_entry() {
        let mut c = Cache::default();
        let Cached::Miss(id) = c.domain("A.example", 0) else {
            panic!("miss")
        };
        c.answer(id, Answer::Domain(Some(7)), 0);
        assert_eq!(c.domain("a.example", FRESH_MS), Cached::Hit(Some(7)));
        let (reload, _) = c.next_started().unwrap();
        c.answer(reload, Answer::Failed("db down".into()), FRESH_MS + 1);
        assert_eq!(c.domain("a.example", FRESH_MS + 2), Cached::Hit(Some(7)));
    }
}
