//! The contact list: the company's directory merged with the person's phone book, live
//! presence from the resource list subscription, search, favourites and keyboard selection.
//! Pure (no browser types), tested natively.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::model::{Contact, DirectoryEntry, PhoneNumber, Presence};

/// One row of the list: a colleague or a phone-book entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKey {
    Employee(i64),
    Contact(i64),
}

impl RowKey {
    /// The value of the row's `id` attribute ("emp-7", "contact-3").
    pub fn dom_id(self) -> String {
        match self {
            RowKey::Employee(id) => format!("emp-{id}"),
            RowKey::Contact(id) => format!("contact-{id}"),
        }
    }
}

/// A row as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: RowKey,
    pub name: String,
    /// Colleagues only.
    pub extension: Option<String>,
    /// A colleague's public number, or a contact's first number.
    pub number: Option<String>,
    /// A contact's numbers (empty for colleagues).
    pub numbers: Vec<PhoneNumber>,
    pub organization: Option<String>,
    /// Colleagues only; `None` for phone-book entries (no presence for them).
    pub presence: Option<Presence>,
    /// The status text a colleague chose ("back at 3"), if any.
    pub note: Option<String>,
    pub favourite: bool,
    /// What a call dials: the extension, or the first number.
    pub dial: String,
}

/// Whether presence is coming in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Feed {
    /// Not subscribed yet, or waiting for the first NOTIFY.
    #[default]
    Waiting,
    /// The full state arrived; partial updates follow.
    Live,
    /// The subscription ended; the list keeps the last state, greyed.
    Lost,
}

/// One resource of a presence NOTIFY, reduced to what the list needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceEntry {
    /// The colleague's extension (from `sip:<ext>@<domain>`).
    pub extension: String,
    /// `None`: the resource's subscription ended (unknown: shown offline).
    pub status: Option<Presence>,
    pub note: Option<String>,
}

/// A keyboard move of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Up,
    Down,
    First,
    Last,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactsState {
    pub directory: Vec<DirectoryEntry>,
    pub book: Vec<Contact>,
    /// The logged-in employee, left out of the list.
    pub me: Option<i64>,
    pub directory_loaded: bool,
    pub book_loaded: bool,
    /// Presence by extension.
    pub presence: BTreeMap<String, (Presence, Option<String>)>,
    pub feed: Feed,
    pub query: String,
    pub selected: Option<RowKey>,
    /// Why the directory or the phone book could not be loaded.
    pub error: Option<String>,
}

/// The extension of a resource URI `sip:<ext>@<domain>` (or `sips:`, or a bare `<ext>`).
pub fn extension_of(uri: &str) -> Option<&str> {
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .unwrap_or(uri);
    let user = rest.split(['@', ';', '?']).next()?;
    (!user.is_empty()).then_some(user)
}

/// Lower case without Polish (and common Latin) diacritics, for search and sorting.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ą' | 'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'ć' | 'č' | 'ç' => 'c',
            'ę' | 'é' | 'è' | 'ê' | 'ë' | 'ě' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ł' => 'l',
            'ń' | 'ñ' | 'ň' => 'n',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ś' | 'š' => 's',
            'ú' | 'ù' | 'û' | 'ü' | 'ů' => 'u',
            'ź' | 'ż' | 'ž' => 'z',
            'ý' => 'y',
            'ř' => 'r',
            other => other,
        })
        .collect()
}

/// Only the digits (and a leading '+') of a number, for matching "+48 22 600" to
/// "+4822600…".
fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// Whether `row` matches the search `q` (already folded and trimmed, not empty): any word
/// of the name or organisation starts with it (or the whole name contains it), or its
/// digits occur in the extension or a number.
fn matches(row: &Row, q: &str) -> bool {
    let name = fold(&row.name);
    if name.contains(q) {
        return true;
    }
    if row
        .organization
        .as_deref()
        .is_some_and(|o| fold(o).contains(q))
    {
        return true;
    }
    let qd = digits(q);
    if qd.is_empty() || qd.len() * 2 < q.chars().filter(|c| !c.is_whitespace()).count() {
        return false; // mostly letters: a name search
    }
    let hit = |s: &str| digits(s).contains(&qd);
    row.extension.as_deref().is_some_and(hit)
        || row.number.as_deref().is_some_and(hit)
        || row.numbers.iter().any(|n| hit(&n.number))
}

/// Favourites first, then by name (ignoring case and diacritics), then colleagues before
/// phone-book entries.
fn order(a: &Row, b: &Row) -> Ordering {
    b.favourite
        .cmp(&a.favourite)
        .then_with(|| fold(&a.name).cmp(&fold(&b.name)))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.key.cmp(&b.key))
}

impl ContactsState {
    /// Every row, unfiltered, in list order.
    pub fn all_rows(&self) -> Vec<Row> {
        let employees = self
            .directory
            .iter()
            .filter(|e| Some(e.id) != self.me)
            .map(|e| {
                let (presence, note) = self
                    .presence
                    .get(&e.extension)
                    .cloned()
                    .unwrap_or((Presence::Offline, None));
                Row {
                    key: RowKey::Employee(e.id),
                    name: e.name.clone(),
                    extension: Some(e.extension.clone()),
                    number: e.number.clone(),
                    numbers: Vec::new(),
                    organization: None,
                    presence: Some(presence),
                    note,
                    favourite: e.favourite,
                    dial: e.extension.clone(),
                }
            });
        let contacts = self.book.iter().map(|c| Row {
            key: RowKey::Contact(c.id),
            name: c.name.clone(),
            extension: None,
            number: c.numbers.first().map(|n| n.number.clone()),
            numbers: c.numbers.clone(),
            organization: c.organization.clone(),
            presence: None,
            note: None,
            favourite: c.favourite,
            dial: c
                .numbers
                .first()
                .map(|n| n.number.clone())
                .unwrap_or_default(),
        });
        let mut rows: Vec<Row> = employees.chain(contacts).collect();
        rows.sort_by(order);
        rows
    }

    /// The rows the search lets through, in list order.
    pub fn rows(&self) -> Vec<Row> {
        let q = fold(self.query.trim());
        let mut rows = self.all_rows();
        if !q.is_empty() {
            rows.retain(|r| matches(r, &q));
        }
        rows
    }

    /// The selected row, if it is shown.
    pub fn selected_row(&self) -> Option<Row> {
        let key = self.selected?;
        self.rows().into_iter().find(|r| r.key == key)
    }

    pub fn loaded(&self) -> bool {
        self.directory_loaded && self.book_loaded
    }

    /// A colleague's presence by extension (offline when unknown).
    #[cfg(test)]
    pub fn presence_of(&self, extension: &str) -> Presence {
        self.presence
            .get(extension)
            .map_or(Presence::Offline, |p| p.0)
    }

    pub fn set_query(&mut self, q: String) {
        self.query = q;
        // The selection stays only if its row is still shown; otherwise the first.
        let rows = self.rows();
        if !self
            .selected
            .is_some_and(|k| rows.iter().any(|r| r.key == k))
        {
            self.selected = if self.query.trim().is_empty() {
                None
            } else {
                rows.first().map(|r| r.key)
            };
        }
    }

    pub fn move_selection(&mut self, m: Move) {
        let rows = self.rows();
        if rows.is_empty() {
            self.selected = None;
            return;
        }
        let last = rows.len() - 1;
        let at = self
            .selected
            .and_then(|k| rows.iter().position(|r| r.key == k));
        let i = match (m, at) {
            (Move::First, _) | (Move::Down, None) => 0,
            (Move::Last, _) | (Move::Up, None) => last,
            (Move::Down, Some(i)) => (i + 1).min(last),
            (Move::Up, Some(i)) => i.saturating_sub(1),
        };
        self.selected = Some(rows[i].key);
    }

    /// A presence NOTIFY: `full` replaces everything, otherwise only the listed entries.
    pub fn apply_presence(&mut self, full: bool, entries: Vec<PresenceEntry>) {
        if full {
            self.presence.clear();
        }
        for e in entries {
            match e.status {
                Some(p) => {
                    self.presence.insert(e.extension, (p, e.note));
                }
                None => {
                    self.presence.remove(&e.extension);
                }
            }
        }
        if full || self.feed == Feed::Live {
            self.feed = Feed::Live;
        }
    }

    /// A favourite toggled (optimistically, before the gateway confirms).
    pub fn set_favourite(&mut self, key: RowKey, on: bool) {
        match key {
            RowKey::Employee(id) => {
                if let Some(e) = self.directory.iter_mut().find(|e| e.id == id) {
                    e.favourite = on;
                }
            }
            RowKey::Contact(id) => {
                if let Some(c) = self.book.iter_mut().find(|c| c.id == id) {
                    c.favourite = on;
                }
            }
        }
    }

    /// A contact saved: replaces the one with its id, or adds it.
    pub fn upsert_contact(&mut self, c: Contact) {
        match self.book.iter_mut().find(|x| x.id == c.id) {
            Some(x) => *x = c,
            None => self.book.push(c),
        }
    }

    pub fn remove_contact(&mut self, id: i64) {
        self.book.retain(|c| c.id != id);
        if self.selected == Some(RowKey::Contact(id)) {
            self.selected = None;
        }
    }

    /// A name for a number or extension seen in a call, if the list knows it.
    pub fn name_for(&self, target: &str) -> Option<String> {
        let t = digits(target);
        if t.is_empty() {
            return None;
        }
        self.directory
            .iter()
            .find(|e| e.extension == target || e.number.as_deref().is_some_and(|n| digits(n) == t))
            .map(|e| e.name.clone())
            .or_else(|| {
                self.book
                    .iter()
                    .find(|c| c.numbers.iter().any(|n| digits(&n.number) == t))
                    .map(|c| c.name.clone())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NumberLabel;

    fn emp(id: i64, name: &str, ext: &str, number: Option<&str>, fav: bool) -> DirectoryEntry {
        DirectoryEntry {
            id,
            name: name.into(),
            extension: ext.into(),
            number: number.map(Into::into),
            email: format!("{ext}@example.com"),
            favourite: fav,
        }
    }

    fn contact(id: i64, name: &str, numbers: &[&str], fav: bool) -> Contact {
        Contact {
            id,
            name: name.into(),
            organization: Some("Hurtownia Łódź".into()),
            numbers: numbers
                .iter()
                .map(|n| PhoneNumber {
                    label: NumberLabel::Mobile,
                    number: (*n).into(),
                })
                .collect(),
            favourite: fav,
        }
    }

    fn state() -> ContactsState {
        ContactsState {
            directory: vec![
                emp(1, "Alicja Nowak", "101", Some("+48226006101"), false),
                emp(2, "Bartek Żak", "102", Some("+48226006102"), false),
                emp(3, "Celina Ćwik", "103", None, true),
                emp(4, "adam Łukasz", "104", None, false),
            ],
            book: vec![
                contact(
                    10,
                    "Zenon Kowalski",
                    &["+48 601 200 300", "+48 22 111 22 33"],
                    false,
                ),
                contact(11, "Beata Ślązak", &["+48 500 100 200"], true),
            ],
            me: Some(1),
            directory_loaded: true,
            book_loaded: true,
            ..ContactsState::default()
        }
    }

    fn names(rows: &[Row]) -> Vec<&str> {
        rows.iter().map(|r| r.name.as_str()).collect()
    }

    fn entry(ext: &str, p: Option<Presence>) -> PresenceEntry {
        PresenceEntry {
            extension: ext.into(),
            status: p,
            note: None,
        }
    }

    #[test]
    fn merges_directory_and_phone_book_favourites_first_then_by_name() {
        let s = state();
        let rows = s.rows();
        assert_eq!(
            names(&rows),
            [
                "Beata Ślązak",
                "Celina Ćwik",
                "adam Łukasz",
                "Bartek Żak",
                "Zenon Kowalski"
            ],
            "me (Alicja) left out; case and diacritics ignored"
        );
        let bartek = &rows[3];
        assert_eq!(bartek.key, RowKey::Employee(2));
        assert_eq!(bartek.extension.as_deref(), Some("102"));
        assert_eq!(bartek.number.as_deref(), Some("+48226006102"));
        assert_eq!(
            bartek.presence,
            Some(Presence::Offline),
            "unknown = offline"
        );
        assert_eq!(bartek.dial, "102");
        let zenon = &rows[4];
        assert_eq!(zenon.presence, None, "no presence for the phone book");
        assert_eq!(zenon.dial, "+48 601 200 300");
        assert_eq!(zenon.numbers.len(), 2);
    }

    #[test]
    fn search_by_name_number_and_extension() {
        let mut s = state();
        let q = |s: &mut ContactsState, q: &str| {
            s.set_query(q.into());
            names(&s.rows())
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            q(&mut s, "zak"),
            ["Beata Ślązak", "Bartek Żak"],
            "favourite first"
        );
        assert_eq!(
            q(&mut s, "ŻAK"),
            ["Beata Ślązak", "Bartek Żak"],
            "diacritics folded"
        );
        assert_eq!(q(&mut s, "bart"), ["Bartek Żak"]);
        assert_eq!(q(&mut s, "103"), ["Celina Ćwik"]);
        assert_eq!(q(&mut s, "6006102"), ["Bartek Żak"]);
        assert_eq!(
            q(&mut s, "22 111 22"),
            ["Zenon Kowalski"],
            "any number, spaces ignored"
        );
        assert_eq!(
            q(&mut s, "łódź"),
            ["Beata Ślązak", "Zenon Kowalski"],
            "organisation"
        );
        assert_eq!(q(&mut s, "  "), names(&state().rows()));
        assert!(q(&mut s, "nobody").is_empty());
    }

    #[test]
    fn the_search_selects_the_first_hit_and_keeps_a_visible_selection() {
        let mut s = state();
        s.set_query("b".into());
        assert_eq!(s.selected, Some(RowKey::Contact(11)), "Beata: first hit");
        s.move_selection(Move::Down);
        assert_eq!(s.selected, Some(RowKey::Employee(2)));
        s.set_query("ba".into());
        assert_eq!(s.selected, Some(RowKey::Employee(2)), "still shown: kept");
        s.set_query("xyz".into());
        assert_eq!(s.selected, None);
        assert_eq!(s.selected_row(), None);
    }

    #[test]
    fn arrow_keys_move_within_the_list() {
        let mut s = state();
        s.move_selection(Move::Down);
        assert_eq!(s.selected, Some(RowKey::Contact(11)), "first row");
        s.move_selection(Move::Up);
        assert_eq!(s.selected, Some(RowKey::Contact(11)), "stays at the top");
        s.move_selection(Move::Down);
        s.move_selection(Move::Down);
        assert_eq!(s.selected_row().unwrap().name, "adam Łukasz");
        s.move_selection(Move::Last);
        assert_eq!(s.selected, Some(RowKey::Contact(10)));
        s.move_selection(Move::Down);
        assert_eq!(s.selected, Some(RowKey::Contact(10)), "stays at the bottom");
        s.move_selection(Move::First);
        assert_eq!(s.selected, Some(RowKey::Contact(11)));

        let mut s = state();
        s.move_selection(Move::Up);
        assert_eq!(
            s.selected,
            Some(RowKey::Contact(10)),
            "up with none: the last"
        );
        let mut empty = ContactsState::default();
        empty.move_selection(Move::Down);
        assert_eq!(empty.selected, None);
    }

    #[test]
    fn presence_full_state_replaces_and_partial_updates_only_the_listed() {
        let mut s = state();
        assert_eq!(s.feed, Feed::Waiting);
        s.apply_presence(
            true,
            vec![
                entry("102", Some(Presence::Available)),
                entry("103", Some(Presence::Away)),
            ],
        );
        assert_eq!(s.feed, Feed::Live);
        assert_eq!(s.presence_of("102"), Presence::Available);
        assert_eq!(s.presence_of("103"), Presence::Away);
        assert_eq!(s.presence_of("104"), Presence::Offline);

        s.apply_presence(false, vec![entry("102", Some(Presence::InCall))]);
        assert_eq!(s.presence_of("102"), Presence::InCall);
        assert_eq!(
            s.presence_of("103"),
            Presence::Away,
            "not listed: unchanged"
        );

        s.apply_presence(false, vec![entry("103", None)]);
        assert_eq!(
            s.presence_of("103"),
            Presence::Offline,
            "terminated: unknown"
        );

        s.apply_presence(true, vec![entry("104", Some(Presence::Dnd))]);
        assert_eq!(
            s.presence_of("102"),
            Presence::Offline,
            "full state replaces"
        );
        assert_eq!(s.presence_of("104"), Presence::Dnd);
        let row = s.rows().into_iter().find(|r| r.dial == "104").unwrap();
        assert_eq!(row.presence, Some(Presence::Dnd));
    }

    #[test]
    fn a_partial_update_before_the_full_state_does_not_make_the_feed_live() {
        let mut s = state();
        s.apply_presence(false, vec![entry("102", Some(Presence::Available))]);
        assert_eq!(s.feed, Feed::Waiting);
        s.feed = Feed::Lost;
        s.apply_presence(false, vec![entry("102", Some(Presence::Ringing))]);
        assert_eq!(s.feed, Feed::Lost);
        s.apply_presence(true, vec![]);
        assert_eq!(s.feed, Feed::Live);
    }

    #[test]
    fn resource_uris_name_the_extension() {
        assert_eq!(extension_of("sip:102@e2e.centrala"), Some("102"));
        assert_eq!(extension_of("<sips:103@x;transport=ws>"), Some("103"));
        assert_eq!(extension_of("104"), Some("104"));
        assert_eq!(extension_of("sip:@x"), None);
    }

    #[test]
    fn favourites_and_phone_book_changes() {
        let mut s = state();
        s.set_favourite(RowKey::Employee(4), true);
        assert_eq!(
            s.rows()[0].name,
            "adam Łukasz",
            "favourites sort by name too"
        );
        s.set_favourite(RowKey::Contact(11), false);
        assert!(
            !s.rows()
                .iter()
                .any(|r| r.name == "Beata Ślązak" && r.favourite)
        );

        s.upsert_contact(contact(12, "Ala", &["123"], false));
        s.upsert_contact(contact(10, "Zenon K.", &["999"], false));
        assert!(
            s.rows()
                .iter()
                .any(|r| r.name == "Zenon K." && r.dial == "999")
        );
        assert_eq!(s.book.len(), 3);
        s.selected = Some(RowKey::Contact(12));
        s.remove_contact(12);
        assert_eq!(s.selected, None);
        assert_eq!(s.book.len(), 2);
    }

    #[test]
    fn names_for_numbers() {
        let s = state();
        assert_eq!(s.name_for("102").as_deref(), Some("Bartek Żak"));
        assert_eq!(
            s.name_for("+48 22 600 61 02").as_deref(),
            Some("Bartek Żak")
        );
        assert_eq!(s.name_for("+48500100200").as_deref(), Some("Beata Ślązak"));
        assert_eq!(s.name_for("555"), None);
    }
}
