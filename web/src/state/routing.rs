//! The ringing and forwarding form (`GET/PUT /api/v1/me/routing`, and an employee's for
//! administrators): how one's devices ring, and where calls go that cannot be taken. A pure
//! reducer, shared by the person's own page and the admin panel's view of an employee.
//!
//! Field names are the gateway's, so that its 400 `fields` land next to the right field:
//! `always`, `busy`, `no_answer.target`, `no_answer.after_secs`, `offline`, `unavailable`,
//! `ring_first_secs`.

use std::rc::Rc;

use yew::Reducible;

use crate::i18n::Strings;
use crate::model::{DirectoryEntry, Problem, Routing, Strategy, Target};
use crate::state::admin::FormError;

/// Forwarding on no answer waits this long unless told otherwise (seconds).
pub const DEFAULT_NO_ANSWER_SECS: u32 = 20;
pub const MIN_NO_ANSWER_SECS: u32 = 5;
pub const MAX_NO_ANSWER_SECS: u32 = 60;
/// The default device rings alone this long unless told otherwise (the gateway's default).
pub const DEFAULT_RING_FIRST_SECS: u32 = 10;
pub const MAX_RING_FIRST_SECS: u32 = 60;
/// A group rings at most this many colleagues.
pub const MAX_GROUP: usize = 10;

/// One forwarding rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Always,
    Busy,
    NoAnswer,
    Offline,
    /// Do not disturb or away.
    Unavailable,
}

impl Rule {
    /// In the order the form shows them: the most common first, "always" last (it overrides
    /// the rest).
    pub const ALL: [Rule; 5] = [
        Rule::NoAnswer,
        Rule::Busy,
        Rule::Offline,
        Rule::Unavailable,
        Rule::Always,
    ];

    /// The gateway's field for the rule's target.
    pub fn field(self) -> &'static str {
        match self {
            Rule::Always => "always",
            Rule::Busy => "busy",
            Rule::NoAnswer => "no_answer.target",
            Rule::Offline => "offline",
            Rule::Unavailable => "unavailable",
        }
    }

    /// The rule's part of element ids: `fwd-{dom}-kind`, `fwd-{dom}-ext`...
    pub fn dom(self) -> &'static str {
        match self {
            Rule::Always => "always",
            Rule::Busy => "busy",
            Rule::NoAnswer => "noanswer",
            Rule::Offline => "offline",
            Rule::Unavailable => "unavailable",
        }
    }

    fn index(self) -> usize {
        match self {
            Rule::Always => 0,
            Rule::Busy => 1,
            Rule::NoAnswer => 2,
            Rule::Offline => 3,
            Rule::Unavailable => 4,
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    #[default]
    Off,
    Colleague,
    Group,
    External,
    Voicemail,
}

impl Choice {
    pub const ALL: [Choice; 5] = [
        Choice::Off,
        Choice::Colleague,
        Choice::Group,
        Choice::External,
        Choice::Voicemail,
    ];

    /// The `<option value>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Off => "off",
            Choice::Colleague => "extension",
            Choice::Group => "group",
            Choice::External => "external",
            Choice::Voicemail => "voicemail",
        }
    }

    pub fn parse(s: &str) -> Choice {
        Choice::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .unwrap_or_default()
    }
}

/// One rule as the form holds it: what was typed or picked for every kind, so that
/// switching back and forth keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleForm {
    pub choice: Choice,
    /// The colleague's extension ("" until picked).
    pub ext: String,
    /// The group's extensions, in the order added.
    pub group: Vec<String>,
    /// The external number, as typed.
    pub number: String,
}

impl RuleForm {
    fn from_target(t: Option<&Target>) -> RuleForm {
        let mut r = RuleForm::default();
        match t {
            None => {}
            Some(Target::Extension(e)) => {
                r.choice = Choice::Colleague;
                r.ext = e.clone();
            }
            Some(Target::Group(g)) => {
                r.choice = Choice::Group;
                r.group = g.clone();
            }
            Some(Target::External(n)) => {
                r.choice = Choice::External;
                r.number = n.clone();
            }
            Some(Target::Voicemail) => r.choice = Choice::Voicemail,
        }
        r
    }

    /// The target to send, or what to fix (in `t`'s words).
    fn target(&self, t: &Strings) -> Result<Option<Target>, &'static str> {
        Ok(Some(match self.choice {
            Choice::Off => return Ok(None),
            Choice::Colleague if self.ext.trim().is_empty() => return Err(t.fwd_pick_colleague),
            Choice::Colleague => Target::Extension(self.ext.trim().to_string()),
            Choice::Group if self.group.is_empty() || self.group.len() > MAX_GROUP => {
                return Err(t.fwd_pick_group);
            }
            Choice::Group => Target::Group(self.group.clone()),
            Choice::External => match e164(&self.number) {
                Some(n) => Target::External(n),
                None => return Err(t.fwd_number_invalid),
            },
            Choice::Voicemail => Target::Voicemail,
        }))
    }
}

/// A number outside the company in international form ("+48 22 123-45-67" →
/// "+48221234567"; "0048…" too), as the gateway checks it; `None` when it is not one.
pub fn e164(number: &str) -> Option<String> {
    let t: String = number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{a0}'))
        .collect();
    let digits = t.strip_prefix('+').or_else(|| t.strip_prefix("00"))?;
    ((6..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0'))
    .then(|| format!("+{digits}"))
}

/// A colleague a call can be forwarded to: (extension, name).
pub type Colleague = (String, String);

/// The colleagues for the pickers: everyone in the directory with an extension but `own_ext`,
/// in the directory's order (by extension; sorting by name here would cost the wasm Unicode
/// case tables).
pub fn colleagues(directory: &[DirectoryEntry], own_ext: &str) -> Vec<Colleague> {
    directory
        .iter()
        .filter(|e| !e.extension.is_empty() && e.extension != own_ext)
        .map(|e| (e.extension.clone(), e.name.clone()))
        .collect()
}

/// The form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingForm {
    /// By [`Rule`] (see `Rule::index`).
    rules: [RuleForm; 5],
    /// Seconds before forwarding on no answer, as typed.
    pub no_answer_secs: String,
    pub strategy: Strategy,
    /// Seconds the default device rings alone, as typed.
    pub ring_first_secs: String,
    /// The settings arrived (the form shows only then, so nothing is saved over them).
    pub loaded: bool,
    /// Being saved.
    pub busy: bool,
    pub error: Option<FormError>,
    /// "Saved.", until the next change.
    pub notice: Option<String>,
    /// The settings could not be read; the text says why.
    pub load_error: Option<String>,
    /// Whom rules can name (from the directory).
    pub colleagues: Vec<Colleague>,
}

impl Default for RoutingForm {
    fn default() -> RoutingForm {
        RoutingForm {
            rules: Default::default(),
            no_answer_secs: DEFAULT_NO_ANSWER_SECS.to_string(),
            strategy: Strategy::All,
            ring_first_secs: DEFAULT_RING_FIRST_SECS.to_string(),
            loaded: false,
            busy: false,
            error: None,
            notice: None,
            load_error: None,
            colleagues: Vec::new(),
        }
    }
}

impl RoutingForm {
    pub fn rule(&self, r: Rule) -> &RuleForm {
        &self.rules[r.index()]
    }

    fn rule_mut(&mut self, r: Rule) -> &mut RuleForm {
        &mut self.rules[r.index()]
    }

    /// The form filled with stored settings (colleagues and messages kept).
    fn fill(&mut self, r: &Routing) {
        self.rules[Rule::Always.index()] = RuleForm::from_target(r.always.as_ref());
        self.rules[Rule::Busy.index()] = RuleForm::from_target(r.busy.as_ref());
        self.rules[Rule::NoAnswer.index()] =
            RuleForm::from_target(r.no_answer.as_ref().map(|(_, t)| t));
        self.rules[Rule::Offline.index()] = RuleForm::from_target(r.offline.as_ref());
        self.rules[Rule::Unavailable.index()] = RuleForm::from_target(r.unavailable.as_ref());
        self.no_answer_secs = match &r.no_answer {
            Some((secs, _)) if *secs > 0 => secs.to_string(),
            _ => DEFAULT_NO_ANSWER_SECS.to_string(),
        };
        self.strategy = r.strategy;
        self.ring_first_secs = if r.ring_first_secs == 0 {
            DEFAULT_RING_FIRST_SECS
        } else {
            r.ring_first_secs
        }
        .to_string();
        self.loaded = true;
        self.load_error = None;
    }

    /// The name of the colleague with `ext`, if listed.
    pub fn colleague_name(&self, ext: &str) -> Option<&str> {
        self.colleagues
            .iter()
            .find(|(e, _)| e == ext)
            .map(|(_, n)| n.as_str())
    }

    /// The settings to send, or what to fix first (in `t`'s words).
    pub fn validate(&self, t: &Strings) -> Result<Routing, FormError> {
        let mut fields: Vec<(&str, &str)> = Vec::new();
        let mut target = |rule: Rule| match self.rule(rule).target(t) {
            Ok(target) => target,
            Err(why) => {
                fields.push((rule.field(), why));
                None
            }
        };
        let always = target(Rule::Always);
        let busy = target(Rule::Busy);
        let no_answer_target = target(Rule::NoAnswer);
        let offline = target(Rule::Offline);
        let unavailable = target(Rule::Unavailable);
        let secs = |typed: &str, default: u32, range: std::ops::RangeInclusive<u32>| {
            let typed = typed.trim();
            if typed.is_empty() {
                Some(default)
            } else {
                typed.parse::<u32>().ok().filter(|s| range.contains(s))
            }
        };
        let mut no_answer = None;
        if self.rule(Rule::NoAnswer).choice != Choice::Off {
            match secs(
                &self.no_answer_secs,
                DEFAULT_NO_ANSWER_SECS,
                MIN_NO_ANSWER_SECS..=MAX_NO_ANSWER_SECS,
            ) {
                Some(s) => no_answer = no_answer_target.map(|t| (s, t)),
                None => fields.push(("no_answer.after_secs", t.fwd_secs_invalid)),
            }
        }
        let ring_first = secs(
            &self.ring_first_secs,
            DEFAULT_RING_FIRST_SECS,
            1..=MAX_RING_FIRST_SECS,
        );
        let ring_first_secs = match (self.strategy, ring_first) {
            (_, Some(s)) => s,
            (Strategy::All, None) => DEFAULT_RING_FIRST_SECS, // not used: not in the way
            (Strategy::DefaultFirst, None) => {
                fields.push(("ring_first_secs", t.ring_secs_invalid));
                0
            }
        };
        if !fields.is_empty() {
            return Err(FormError::local(t, fields));
        }
        Ok(Routing {
            always,
            busy,
            no_answer,
            offline,
            unavailable,
            strategy: self.strategy,
            ring_first_secs,
        })
    }

    /// The gateway's refusal (its fields are the form's).
    pub fn refused(p: &Problem, t: &Strings) -> FormError {
        FormError::from_problem(p, t)
    }

    /// The line next to `field`, if it has one.
    pub fn field_error(&self, field: &str) -> Option<&str> {
        self.error.as_ref().and_then(|e| {
            e.fields
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, l)| l.as_str())
        })
    }

    /// Whether calls are forwarded always (the other rules then wait).
    pub fn always_on(&self) -> bool {
        self.rule(Rule::Always).choice != Choice::Off
    }
}

/// What can happen to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingAction {
    /// The stored settings arrived (or were saved: the gateway's answer).
    Loaded(Routing),
    /// They could not be read.
    LoadFailed(String),
    /// The directory arrived: whom rules can name.
    Colleagues(Vec<Colleague>),
    Choice(Rule, Choice),
    /// A colleague was picked.
    Ext(Rule, String),
    /// A colleague joins a group (ignored when already in it or the group is full).
    AddMember(Rule, String),
    RemoveMember(Rule, String),
    Number(Rule, String),
    NoAnswerSecs(String),
    Strategy(Strategy),
    RingFirstSecs(String),
    Submitted,
    Rejected(FormError),
    /// Saved: the stored settings, and the words to say so.
    Saved(Routing, String),
}

impl RoutingForm {
    pub fn apply(&mut self, action: RoutingAction) {
        let edit = matches!(
            action,
            RoutingAction::Choice(..)
                | RoutingAction::Ext(..)
                | RoutingAction::AddMember(..)
                | RoutingAction::RemoveMember(..)
                | RoutingAction::Number(..)
                | RoutingAction::NoAnswerSecs(_)
                | RoutingAction::Strategy(_)
                | RoutingAction::RingFirstSecs(_)
        );
        if edit {
            self.notice = None;
        }
        match action {
            RoutingAction::Loaded(r) => {
                // A load that lands while saving is the old state: the save's answer wins.
                if !self.busy {
                    self.fill(&r);
                }
            }
            RoutingAction::LoadFailed(why) => self.load_error = Some(why),
            RoutingAction::Colleagues(c) => self.colleagues = c,
            RoutingAction::Choice(rule, c) => self.rule_mut(rule).choice = c,
            RoutingAction::Ext(rule, ext) => self.rule_mut(rule).ext = ext,
            RoutingAction::AddMember(rule, ext) => {
                let g = &mut self.rule_mut(rule).group;
                if !ext.is_empty() && !g.contains(&ext) && g.len() < MAX_GROUP {
                    g.push(ext);
                }
            }
            RoutingAction::RemoveMember(rule, ext) => {
                self.rule_mut(rule).group.retain(|e| *e != ext);
            }
            RoutingAction::Number(rule, n) => self.rule_mut(rule).number = n,
            RoutingAction::NoAnswerSecs(s) => self.no_answer_secs = s,
            RoutingAction::Strategy(s) => self.strategy = s,
            RoutingAction::RingFirstSecs(s) => self.ring_first_secs = s,
            RoutingAction::Submitted => {
                self.busy = true;
                self.error = None;
                self.notice = None;
            }
            RoutingAction::Rejected(e) => {
                self.busy = false;
                self.error = Some(e);
            }
            RoutingAction::Saved(r, words) => {
                self.busy = false;
                self.error = None;
                self.fill(&r);
                self.notice = Some(words);
            }
        }
    }
}

impl Reducible for RoutingForm {
    type Action = RoutingAction;

    fn reduce(self: Rc<Self>, action: RoutingAction) -> Rc<Self> {
        let mut s = (*self).clone();
        s.apply(action);
        if s == *self { self } else { Rc::new(s) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{EN, PL};

    fn run(actions: impl IntoIterator<Item = RoutingAction>) -> RoutingForm {
        actions
            .into_iter()
            .fold(RoutingForm::default(), |mut f, a| {
                f.apply(a);
                f
            })
    }

    #[test]
    fn defaults_are_off_with_twenty_seconds_and_all_devices_at_once() {
        let f = run([RoutingAction::Loaded(Routing::default())]);
        assert!(f.loaded);
        for r in Rule::ALL {
            assert_eq!(f.rule(r).choice, Choice::Off);
        }
        assert_eq!(f.no_answer_secs, "20");
        assert_eq!(f.ring_first_secs, "10");
        assert_eq!(f.strategy, Strategy::All);
        let sent = f.validate(&EN).unwrap();
        assert_eq!(
            sent,
            Routing {
                ring_first_secs: 10,
                ..Routing::default()
            }
        );
    }

    #[test]
    fn stored_rules_fill_the_form_and_come_back_unchanged() {
        let stored = Routing {
            always: None,
            busy: Some(Target::Group(vec!["102".into(), "103".into()])),
            no_answer: Some((15, Target::Extension("102".into()))),
            offline: Some(Target::External("+48221234567".into())),
            unavailable: Some(Target::Voicemail),
            strategy: Strategy::DefaultFirst,
            ring_first_secs: 7,
        };
        let f = run([RoutingAction::Loaded(stored.clone())]);
        assert_eq!(f.rule(Rule::NoAnswer).choice, Choice::Colleague);
        assert_eq!(f.rule(Rule::NoAnswer).ext, "102");
        assert_eq!(f.no_answer_secs, "15");
        assert_eq!(f.rule(Rule::Busy).group, ["102", "103"]);
        assert_eq!(f.rule(Rule::Unavailable).choice, Choice::Voicemail);
        assert_eq!(f.validate(&EN).unwrap(), stored);
    }

    #[test]
    fn choices_keep_what_was_typed_and_groups_take_each_colleague_once() {
        let r = Rule::Busy;
        let f = run([
            RoutingAction::Loaded(Routing::default()),
            RoutingAction::Choice(r, Choice::External),
            RoutingAction::Number(r, "+48 22 123-45-67".into()),
            RoutingAction::Choice(r, Choice::Group),
            RoutingAction::AddMember(r, "102".into()),
            RoutingAction::AddMember(r, "102".into()),
            RoutingAction::AddMember(r, "".into()),
            RoutingAction::AddMember(r, "104".into()),
            RoutingAction::RemoveMember(r, "102".into()),
        ]);
        assert_eq!(f.rule(r).group, ["104"]);
        assert_eq!(f.rule(r).number, "+48 22 123-45-67", "kept for later");
        assert_eq!(
            f.validate(&EN).unwrap().busy,
            Some(Target::Group(vec!["104".into()]))
        );
        let mut f = f;
        f.apply(RoutingAction::Choice(r, Choice::External));
        assert_eq!(
            f.validate(&EN).unwrap().busy,
            Some(Target::External("+48221234567".into())),
            "sent in international form"
        );
        for ext in 200..220 {
            f.apply(RoutingAction::AddMember(r, ext.to_string()));
        }
        assert_eq!(f.rule(r).group.len(), MAX_GROUP);
    }

    #[test]
    fn mistakes_are_named_by_the_gateways_fields() {
        let f = run([
            RoutingAction::Loaded(Routing::default()),
            RoutingAction::Choice(Rule::NoAnswer, Choice::Colleague),
            RoutingAction::NoAnswerSecs("90".into()),
            RoutingAction::Choice(Rule::Busy, Choice::Group),
            RoutingAction::Choice(Rule::Offline, Choice::External),
            RoutingAction::Number(Rule::Offline, "0221234567".into()),
            RoutingAction::Strategy(Strategy::DefaultFirst),
            RoutingAction::RingFirstSecs("0".into()),
        ]);
        let err = f.validate(&EN).unwrap_err();
        for field in [
            "no_answer.target",
            "no_answer.after_secs",
            "busy",
            "offline",
            "ring_first_secs",
        ] {
            assert!(err.has(field), "{field}: {err:?}");
        }
        assert!(!err.has("always") && !err.has("unavailable"));
        assert_eq!(err.message, "Please correct the marked fields.");
        let pl = f.validate(&PL).unwrap_err();
        let line = pl
            .fields
            .iter()
            .find(|(f, _)| f == "no_answer.after_secs")
            .unwrap();
        assert!(line.1.contains("od 5 do 60"), "{}", line.1);

        // The seconds only matter for a rule that is on; empty means the default.
        let f = run([
            RoutingAction::NoAnswerSecs("x".into()),
            RoutingAction::RingFirstSecs("".into()),
        ]);
        assert!(f.validate(&EN).is_ok());
        let f = run([
            RoutingAction::Choice(Rule::NoAnswer, Choice::Colleague),
            RoutingAction::Ext(Rule::NoAnswer, "102".into()),
            RoutingAction::NoAnswerSecs(" ".into()),
        ]);
        assert_eq!(
            f.validate(&EN).unwrap().no_answer,
            Some((20, Target::Extension("102".into())))
        );
        for ok in ["5", "60"] {
            let mut g = f.clone();
            g.apply(RoutingAction::NoAnswerSecs(ok.into()));
            assert!(g.validate(&EN).is_ok(), "{ok}");
        }
        for bad in ["4", "61", "1.5", "-5"] {
            let mut g = f.clone();
            g.apply(RoutingAction::NoAnswerSecs(bad.into()));
            assert!(
                g.validate(&EN).unwrap_err().has("no_answer.after_secs"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_gateways_refusal_lands_next_to_the_fields_and_saving_clears_it() {
        let p = Problem {
            status: 400,
            code: "invalid".into(),
            message: "invalid".into(),
            fields: vec![
                ("no_answer.target".into(), "no such extension 109".into()),
                (
                    "busy".into(),
                    "calls cannot be forwarded to your own extension".into(),
                ),
            ],
        };
        let mut f = run([
            RoutingAction::Loaded(Routing::default()),
            RoutingAction::Submitted,
        ]);
        assert!(f.busy);
        f.apply(RoutingAction::Rejected(RoutingForm::refused(&p, &EN)));
        assert!(!f.busy);
        assert_eq!(
            f.field_error("no_answer.target"),
            Some("When you do not answer: no such extension 109")
        );
        assert!(f.field_error("busy").is_some());
        assert_eq!(f.field_error("offline"), None);
        f.apply(RoutingAction::Submitted);
        assert_eq!(f.error, None);
        let saved = Routing {
            busy: Some(Target::Extension("103".into())),
            ..Routing::default()
        };
        f.apply(RoutingAction::Saved(saved, "Saved.".into()));
        assert_eq!(f.rule(Rule::Busy).ext, "103");
        assert_eq!(f.notice.as_deref(), Some("Saved."));
        f.apply(RoutingAction::Choice(Rule::Busy, Choice::Off));
        assert_eq!(f.notice, None, "a change clears the notice");
    }

    #[test]
    fn a_load_during_a_save_does_not_undo_the_edits() {
        let mut f = run([
            RoutingAction::Loaded(Routing::default()),
            RoutingAction::Choice(Rule::Always, Choice::Colleague),
            RoutingAction::Ext(Rule::Always, "102".into()),
            RoutingAction::Submitted,
            RoutingAction::Loaded(Routing::default()),
        ]);
        assert_eq!(f.rule(Rule::Always).ext, "102");
        assert!(f.always_on());
        f.apply(RoutingAction::Rejected(FormError::default()));
        assert_eq!(f.rule(Rule::Always).choice, Choice::Colleague);
    }

    #[test]
    fn international_numbers() {
        assert_eq!(e164("+48 22 123 45 67").as_deref(), Some("+48221234567"));
        assert_eq!(e164("0048 (22) 123-45-67").as_deref(), Some("+48221234567"));
        for bad in [
            "221234567",
            "+0221234567",
            "+48",
            "+48 22 12x",
            "",
            "+1234567890123456",
        ] {
            assert_eq!(e164(bad), None, "{bad}");
        }
    }

    #[test]
    fn colleagues_without_oneself() {
        let e = |ext: &str, name: &str| DirectoryEntry {
            extension: ext.into(),
            name: name.into(),
            ..DirectoryEntry::default()
        };
        let dir = [
            e("101", "Anna"),
            e("102", "bartek"),
            e("103", "Zenon"),
            e("", "No extension"),
        ];
        let c = colleagues(&dir, "101");
        let names: Vec<&str> = c.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["bartek", "Zenon"]);
    }

    #[test]
    fn choices_round_trip_their_option_values() {
        for c in Choice::ALL {
            assert_eq!(Choice::parse(c.as_str()), c);
        }
        assert_eq!(Choice::parse("nonsense"), Choice::Off);
    }
}
