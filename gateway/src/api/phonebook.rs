//! The personal phone book's rules and file formats, with no IO: checking a contact,
//! search, ordering, vCard (2.1, 3.0, 4.0 in; 3.0 out) and CSV (ours, Google's and
//! Outlook's columns in, ours out).

use std::collections::BTreeMap;

use vcard::tree::cst::VcardCst;
use vcard::tree::line::VcardLine;
use vcard::tree::value::cursor::VcardValueCursor;

use crate::accounts::{Contact, ContactData, ContactNumber, NumberLabel, number_digits};

/// Most numbers one contact holds.
pub const MAX_NUMBERS: usize = 10;
/// The longest name (characters).
pub const MAX_NAME: usize = 100;
/// The longest number as written (characters).
pub const MAX_NUMBER: usize = 32;

/// Field errors, by field ("name", "numbers", "numbers[1].number").
pub type Fields = BTreeMap<String, String>;

/// Why a number as written is not one; `None` when it is.
pub fn number_problem(number: &str) -> Option<&'static str> {
    if number.is_empty() {
        return Some("a number is needed");
    }
    if number.chars().count() > MAX_NUMBER {
        return Some("a number has at most 32 characters");
    }
    if !number
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '*' | '#'))
    {
        return Some("use digits, spaces and + - ( ) * # only");
    }
    if number.chars().filter(char::is_ascii_digit).count() < 2 {
        return Some("a number has at least 2 digits");
    }
    None
}

/// Checks a contact as sent: name 1 to 100 characters, organization at most 100, 1 to 10
/// numbers, each with a label (`None`: not one of ours) and a valid number. Text is trimmed
/// and an empty organization is none.
pub fn check(
    name: &str,
    organization: Option<&str>,
    numbers: &[(Option<NumberLabel>, &str)],
    favourite: bool,
) -> Result<ContactData, Fields> {
    let mut fields = Fields::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        fields.insert(
            "name".into(),
            "a name of 1 to 100 characters is needed".into(),
        );
    }
    let organization = organization.map(str::trim).filter(|o| !o.is_empty());
    if organization.is_some_and(|o| o.chars().count() > MAX_NAME) {
        fields.insert(
            "organization".into(),
            "an organization has at most 100 characters".into(),
        );
    }
    if numbers.is_empty() || numbers.len() > MAX_NUMBERS {
        fields.insert("numbers".into(), "give 1 to 10 numbers".into());
    }
    let mut out = Vec::with_capacity(numbers.len());
    for (i, (label, number)) in numbers.iter().enumerate() {
        let number = number.trim();
        if let Some(p) = number_problem(number) {
            fields.insert(format!("numbers[{i}].number"), p.into());
        }
        match label {
            Some(l) => out.push(ContactNumber {
                label: *l,
                number: number.to_string(),
            }),
            None => {
                fields.insert(
                    format!("numbers[{i}].label"),
                    "use work, mobile, home or other".into(),
                );
            }
        }
    }
    if !fields.is_empty() {
        return Err(fields);
    }
    Ok(ContactData {
        name: name.to_string(),
        organization: organization.map(str::to_string),
        numbers: out,
        favourite,
    })
}

/// Whether a contact matches a search: its name or organization contains the text (any
/// case), or one of its numbers contains the digits typed (spaces and punctuation aside).
pub fn matches(c: &Contact, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    if q.is_empty() {
        return true;
    }
    if c.name.to_lowercase().contains(&q)
        || c.organization
            .as_deref()
            .is_some_and(|o| o.to_lowercase().contains(&q))
    {
        return true;
    }
    let digits = number_digits(&q);
    let numeric = q.chars().all(|ch| {
        ch.is_ascii_digit() || matches!(ch, ' ' | '+' | '-' | '(' | ')' | '*' | '#' | '.' | '/')
    });
    !digits.is_empty()
        && numeric
        && c.numbers
            .iter()
            .any(|n| number_digits(&n.number).contains(&digits))
}

/// A sort key for names in alphabetical order, Polish letters after their base letter
/// (a, ą, b, c, ć, …, z, ź, ż), case aside.
pub fn collation_key(name: &str) -> Vec<(char, u8)> {
    name.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ą' => ('a', 1),
            'ć' => ('c', 1),
            'ę' => ('e', 1),
            'ł' => ('l', 1),
            'ń' => ('n', 1),
            'ó' => ('o', 1),
            'ś' => ('s', 1),
            'ź' => ('z', 1),
            'ż' => ('z', 2),
            c => (c, 0),
        })
        .collect()
}

/// What makes two contacts the same for an import: name, organization and numbers.
pub fn identity(c: &ContactData) -> (String, String, Vec<String>) {
    let mut digits: Vec<String> = c.numbers.iter().map(|n| number_digits(&n.number)).collect();
    digits.sort();
    (
        c.name.to_lowercase(),
        c.organization.as_deref().unwrap_or("").to_lowercase(),
        digits,
    )
}

// ---- import ----

/// A contact read from a file, not checked yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The line in the file it starts on (1 first).
    pub line: usize,
    pub name: String,
    pub organization: Option<String>,
    /// Each number with its label and its line (a vCard's: the card's).
    pub numbers: Vec<(NumberLabel, String, usize)>,
}

/// A problem with one entry of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

fn line_error(line: usize, message: impl Into<String>) -> LineError {
    LineError {
        line,
        message: message.into(),
    }
}

/// A number as found in a file, made fit for [`number_problem`] where it plainly can be:
/// `tel:` URIs, dots and slashes between digit groups, no-break spaces.
pub fn clean_imported_number(raw: &str) -> String {
    let raw = raw.trim();
    let raw = raw
        .strip_prefix("tel:")
        .or_else(|| raw.strip_prefix("TEL:"))
        .unwrap_or(raw);
    // "tel:+48-600;ext=12": the parameters are not part of the number.
    let raw = raw.split(';').next().unwrap_or_default();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if matches!(c, '.' | '/' | '\u{a0}' | '\t') {
            ' '
        } else {
            c
        };
        if !(c == ' ' && (out.is_empty() || out.ends_with(' '))) {
            out.push(c);
        }
    }
    out.trim_end().to_string()
}

/// A label from a vCard TYPE or a CSV label column ("CELL", "Mobile", "* Work", "Praca").
pub fn label_from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> NumberLabel {
    let words: Vec<String> = words
        .into_iter()
        .map(|w| w.trim().trim_matches(['"', '*', ' ']).to_lowercase())
        .collect();
    let has = |keys: &[&str]| words.iter().any(|w| keys.iter().any(|k| w.contains(k)));
    if has(&["cell", "mobile", "iphone", "komórk", "komork"]) {
        NumberLabel::Mobile
    } else if has(&[
        "work", "business", "main", "company", "służb", "sluzb", "praca", "firm",
    ]) {
        NumberLabel::Work
    } else if has(&["home", "dom"]) {
        NumberLabel::Home
    } else {
        NumberLabel::Other
    }
}

/// Reads the contacts of a vCard file (2.1, 3.0 or 4.0; one or many cards): FN (else N),
/// ORG, and each TEL with its TYPE. A card that cannot be read is reported at the line it
/// starts on, and the others are read on.
pub fn read_vcards(text: &str) -> (Vec<Entry>, Vec<LineError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut card: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim();
        let lineno = i + 1;
        if trimmed.eq_ignore_ascii_case("BEGIN:VCARD") {
            if let Some((start, _)) = card.take() {
                errors.push(line_error(start, "this card has no END:VCARD line"));
            }
            card = Some((lineno, String::new()));
        }
        match &mut card {
            Some((_, buf)) => {
                buf.push_str(line);
                buf.push_str("\r\n");
            }
            None if trimmed.is_empty() => {}
            None => {
                errors.push(line_error(
                    lineno,
                    "this line is outside any card (BEGIN:VCARD … END:VCARD)",
                ));
            }
        }
        if trimmed.eq_ignore_ascii_case("END:VCARD")
            && let Some((start, buf)) = card.take()
        {
            match read_card(&buf, start) {
                Ok(e) => entries.push(e),
                Err(m) => errors.push(line_error(start, m)),
            }
        }
    }
    if let Some((start, _)) = card {
        errors.push(line_error(start, "this card has no END:VCARD line"));
    }
    (entries, errors)
}

/// A value as text: quoted-printable and a foreign CHARSET (2.1) resolved, UTF-8 otherwise.
fn text_of(line: &mut VcardLine<'_>) -> String {
    VcardValueCursor { line }.charset()
}

/// Whether a line's value is quoted-printable or in a declared charset (vCard 2.1).
fn encoded(line: &VcardLine<'_>) -> bool {
    line.params.iter().any(|p| {
        let n = p.name.get();
        n.eq_ignore_ascii_case("CHARSET")
            || n.eq_ignore_ascii_case("ENCODING")
            || n.eq_ignore_ascii_case("QUOTED-PRINTABLE")
    })
}

/// A structured value's `;`-components (N, ORG), escapes honoured.
fn components(line: &mut VcardLine<'_>) -> Vec<String> {
    if encoded(line) {
        // Decoded whole first: an escaped ';' in such a value is rare enough.
        return text_of(line)
            .split(';')
            .map(|p| p.trim().to_string())
            .collect();
    }
    (0..line.value.component_count())
        .map(|i| line.value.decode_component(i).trim().to_string())
        .collect()
}

fn read_card(buf: &str, start: usize) -> Result<Entry, String> {
    let mut card = VcardCst::parse(buf).map_err(|e| format!("not a readable vCard: {e}"))?;
    let mut entry = Entry {
        line: start,
        ..Entry::default()
    };
    let mut from_n = String::new();
    for line in &mut card.props {
        let name = line.bare_name().to_ascii_uppercase();
        match name.as_str() {
            "FN" => entry.name = text_of(line).trim().to_string(),
            "N" => {
                // family; given; additional; prefixes; suffixes
                let parts = components(line);
                let at = |i: usize| parts.get(i).map_or("", String::as_str);
                from_n = [at(3), at(1), at(2), at(0), at(4)]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
            }
            "ORG" => {
                let org = components(line)
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ");
                entry.organization = Some(org).filter(|o| !o.is_empty());
            }
            "TEL" => {
                let mut types: Vec<String> = Vec::new();
                for p in &line.params {
                    let pname = p.name.get();
                    if pname.eq_ignore_ascii_case("TYPE") {
                        for v in &p.values {
                            types.extend(v.get().split(',').map(str::to_string));
                        }
                    } else if p.values.is_empty() {
                        // vCard 2.1: TEL;CELL;VOICE
                        types.push(pname.to_string());
                    }
                }
                let number = clean_imported_number(&text_of(line));
                if !number.is_empty() {
                    entry.numbers.push((
                        label_from_words(types.iter().map(String::as_str)),
                        number,
                        // The card's line: folded lines would make a line's own inexact.
                        start,
                    ));
                }
            }
            _ => {}
        }
    }
    if entry.name.is_empty() {
        entry.name = from_n;
    }
    if entry.name.is_empty()
        && let Some(o) = &entry.organization
    {
        entry.name = o.clone();
    }
    Ok(entry)
}

/// Where a CSV column's values go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    First,
    Middle,
    Last,
    Org,
    /// Our format's label and number.
    Label,
    Number,
    /// Outlook's and Thunderbird's fixed columns: one number of this kind.
    Phone(NumberLabel),
    /// Google's "Phone 1 - Label" and "Phone 1 - Value".
    GoogleLabel(u32),
    GoogleValue(u32),
}

fn column(header: &str) -> Option<Col> {
    let h = header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let col = match h.as_str() {
        "name" | "full name" | "display name" | "fn" | "nazwa" | "imię i nazwisko"
        | "nazwa wyświetlana" | "wyświetlana nazwa" => Col::Name,
        "first name" | "given name" | "imię" => Col::First,
        "middle name" | "additional name" | "drugie imię" => Col::Middle,
        "last name" | "family name" | "surname" | "nazwisko" => Col::Last,
        "organization"
        | "organisation"
        | "organization name"
        | "organization 1 - name"
        | "company"
        | "firma"
        | "organizacja"
        | "nazwa firmy" => Col::Org,
        "label" | "type" | "etykieta" | "rodzaj" => Col::Label,
        "number" | "phone" | "phone number" | "telephone" | "numer" | "telefon"
        | "numer telefonu" => Col::Number,
        "business phone"
        | "business phone 2"
        | "company main phone"
        | "primary phone"
        | "work phone"
        | "telefon służbowy"
        | "telefon służbowy 2"
        | "telefon do firmy"
        | "główny telefon firmowy"
        | "telefon podstawowy" => Col::Phone(NumberLabel::Work),
        "mobile phone" | "mobile number" | "cell phone" | "telefon komórkowy" => {
            Col::Phone(NumberLabel::Mobile)
        }
        "home phone" | "home phone 2" | "telefon domowy" | "telefon domowy 2" => {
            Col::Phone(NumberLabel::Home)
        }
        "other phone"
        | "car phone"
        | "assistant's phone"
        | "callback"
        | "radio phone"
        | "inny telefon"
        | "telefon w samochodzie"
        | "telefon asystenta" => Col::Phone(NumberLabel::Other),
        _ => {
            // Google: "Phone 1 - Label" (older files: "Phone 1 - Type"), "Phone 1 - Value".
            let rest = h.strip_prefix("phone ")?;
            let (n, what) = rest.split_once(" - ")?;
            let n: u32 = n.trim().parse().ok()?;
            match what.trim() {
                "label" | "type" => Col::GoogleLabel(n),
                "value" => Col::GoogleValue(n),
                _ => return None,
            }
        }
    };
    Some(col)
}

/// The field separator a CSV file uses: a comma, or the semicolon (or tab) of a
/// spreadsheet saved in a Polish (or other European) locale, by its header line.
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count())
        .filter(|d| header.bytes().any(|b| b == *d))
        .unwrap_or(b',')
}

/// Reads the contacts of a CSV file with a header row: ours (`name,organization,label,
/// number`, one row per number, a contact's rows one after another), or Google's or
/// Outlook's export (English or Polish column names). `Err` when the header names no
/// name or no number column.
pub fn read_csv(text: &str) -> Result<(Vec<Entry>, Vec<LineError>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .clone();
    let cols: Vec<Option<Col>> = headers.iter().map(column).collect();
    let has = |f: &dyn Fn(Col) -> bool| cols.iter().flatten().any(|c| f(*c));
    if !has(&|c| matches!(c, Col::Name | Col::First | Col::Last | Col::Org)) {
        return Err("the first row must name the columns, with a name column (name, organization, label, number)".into());
    }
    if !has(&|c| matches!(c, Col::Number | Col::Phone(_) | Col::GoogleValue(_))) {
        return Err("the first row must name the columns, with a number column (name, organization, label, number)".into());
    }
    let ours = has(&|c| c == Col::Number);
    let mut entries: Vec<Entry> = Vec::new();
    let mut errors = Vec::new();
    for rec in reader.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(line_error(line, format!("cannot read this row: {e}")));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let mut e = Entry {
            line,
            ..Entry::default()
        };
        let (mut first, mut middle, mut last) = ("", "", "");
        let mut label = None;
        let mut google: BTreeMap<u32, (Option<&str>, Option<&str>)> = BTreeMap::new();
        for (i, value) in rec.iter().enumerate() {
            let Some(Some(col)) = cols.get(i) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            match *col {
                Col::Name => e.name = value.to_string(),
                Col::First => first = value,
                Col::Middle => middle = value,
                Col::Last => last = value,
                Col::Org => e.organization = Some(value.to_string()),
                Col::Label => label = Some(value),
                Col::Number => {}
                Col::Phone(l) => push_numbers(&mut e, l, value, line),
                Col::GoogleLabel(n) => google.entry(n).or_default().0 = Some(value),
                Col::GoogleValue(n) => google.entry(n).or_default().1 = Some(value),
            }
        }
        if let Some(i) = cols.iter().position(|c| *c == Some(Col::Number))
            && let Some(v) = rec.get(i).filter(|v| !v.is_empty())
        {
            let l = match label {
                Some(l) => {
                    NumberLabel::parse(&l.to_lowercase()).unwrap_or_else(|| label_from_words([l]))
                }
                None => NumberLabel::Other,
            };
            push_numbers(&mut e, l, v, line);
        }
        for (l, v) in google.values() {
            if let Some(v) = v {
                push_numbers(&mut e, label_from_words(l.iter().copied()), v, line);
            }
        }
        if e.name.is_empty() {
            e.name = [first, middle, last]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
        }
        if e.name.is_empty()
            && let Some(o) = &e.organization
        {
            e.name = o.clone();
        }
        if e.name.is_empty() && e.organization.is_none() && e.numbers.is_empty() {
            continue;
        }
        // Our format: a contact's further numbers are on the rows that follow, with the
        // same name and organization.
        if ours
            && let Some(prev) = entries.last_mut()
            && prev.name == e.name
            && prev.organization == e.organization
            && !e.numbers.is_empty()
        {
            prev.numbers.append(&mut e.numbers);
            continue;
        }
        entries.push(e);
    }
    Ok((entries, errors))
}

/// Google puts several numbers in one cell, separated by " ::: ".
fn push_numbers(e: &mut Entry, label: NumberLabel, value: &str, line: usize) {
    for v in value.split(":::") {
        let n = clean_imported_number(v);
        if !n.is_empty() {
            e.numbers.push((label, n, line));
        }
    }
}

/// Checks an entry read from a file: numbers that are not numbers are reported and left
/// out (the rest of the contact is kept); only the first ten numbers are kept.
pub fn check_entry(e: &Entry, errors: &mut Vec<LineError>) -> Option<ContactData> {
    let mut numbers = Vec::new();
    for (label, number, line) in &e.numbers {
        match number_problem(number) {
            Some(p) => errors.push(line_error(*line, format!("{number:?} left out: {p}"))),
            None => numbers.push((Some(*label), number.as_str())),
        }
    }
    if numbers.is_empty() {
        if e.numbers.is_empty() {
            errors.push(line_error(
                e.line,
                format!("{:?} has no phone number", e.name),
            ));
        }
        return None;
    }
    if numbers.len() > MAX_NUMBERS {
        errors.push(line_error(
            e.line,
            format!(
                "{:?} has {} numbers: the first 10 were kept",
                e.name,
                numbers.len()
            ),
        ));
        numbers.truncate(MAX_NUMBERS);
    }
    match check(&e.name, e.organization.as_deref(), &numbers, false) {
        Ok(c) => Some(c),
        Err(fields) => {
            let what = fields
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; ");
            errors.push(line_error(e.line, what));
            None
        }
    }
}

// ---- export ----

/// Escapes a vCard text value (RFC 6350 3.4).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line, folded at 75 octets (RFC 6350 3.2) between characters.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// The phone book as vCard 3.0, which phones, Google, Apple and Outlook all read.
pub fn write_vcards(contacts: &[Contact]) -> String {
    let mut out = String::new();
    for c in contacts {
        push_line(&mut out, "BEGIN:VCARD");
        push_line(&mut out, "VERSION:3.0");
        push_line(&mut out, &format!("FN:{}", esc(&c.name)));
        // N is required in 3.0: the last word as the family name, as most names are.
        let (given, family) = match c.name.rsplit_once(' ') {
            Some((g, f)) => (g.trim(), f),
            None => ("", c.name.as_str()),
        };
        push_line(&mut out, &format!("N:{};{};;;", esc(family), esc(given)));
        if let Some(o) = &c.organization {
            push_line(&mut out, &format!("ORG:{}", esc(o)));
        }
        for n in &c.numbers {
            let t = match n.label {
                NumberLabel::Work => "WORK,VOICE",
                NumberLabel::Mobile => "CELL",
                NumberLabel::Home => "HOME,VOICE",
                NumberLabel::Other => "VOICE",
            };
            push_line(&mut out, &format!("TEL;TYPE={t}:{}", n.number));
        }
        push_line(&mut out, "END:VCARD");
    }
    out
}

/// The phone book as CSV (`name,organization,label,number`, one row per number), with a
/// byte order mark so that spreadsheets read it as UTF-8.
pub fn write_csv(contacts: &[Contact]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["name", "organization", "label", "number"]);
    for c in contacts {
        for n in &c.numbers {
            let _ = w.write_record([
                c.name.as_str(),
                c.organization.as_deref().unwrap_or(""),
                n.label.as_str(),
                n.number.as_str(),
            ]);
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str, org: Option<&str>, numbers: &[(NumberLabel, &str)]) -> Contact {
        Contact {
            id: 1,
            name: name.into(),
            organization: org.map(str::to_string),
            numbers: numbers
                .iter()
                .map(|(l, n)| ContactNumber {
                    label: *l,
                    number: n.to_string(),
                })
                .collect(),
            favourite: false,
        }
    }

    #[test]
    fn numbers_are_checked() {
        assert_eq!(number_problem("+48 (22) 600-61-00"), None);
        assert_eq!(number_problem("*21#"), None);
        assert!(number_problem("1").is_some());
        assert!(number_problem("+48 600 abc").is_some());
        assert!(number_problem(&"1".repeat(33)).is_some());
        let err = check("", None, &[(None, "x")], false).unwrap_err();
        assert!(err.contains_key("name") && err.contains_key("numbers[0].label"));
        assert!(err.contains_key("numbers[0].number"));
        let err = check("A", None, &[], false).unwrap_err();
        assert!(err.contains_key("numbers"));
        let ok = check(
            " Łucja ",
            Some(" "),
            &[(Some(NumberLabel::Mobile), " 600 100 200 ")],
            true,
        )
        .unwrap();
        assert_eq!(ok.name, "Łucja");
        assert_eq!(ok.organization, None);
        assert_eq!(ok.numbers[0].number, "600 100 200");
    }

    #[test]
    fn search_by_name_organization_and_digits() {
        let c = contact(
            "Żaneta Wąs",
            Some("Hurtownia Łódź"),
            &[(NumberLabel::Mobile, "+48 600-100-200")],
        );
        for q in [
            "żaneta",
            "WĄS",
            "łódź",
            "600100",
            "600 100 2",
            "(600) 100",
            "",
        ] {
            assert!(matches(&c, q), "{q}");
        }
        for q in ["kowal", "700", "abc 600"] {
            assert!(!matches(&c, q), "{q}");
        }
    }

    #[test]
    fn polish_alphabetical_order() {
        let mut names = vec!["Żak", "Zając", "Łoś", "Lis", "Ćma", "Cis", "Ala", "Ąb"];
        names.sort_by_key(|n| collation_key(n));
        assert_eq!(
            names,
            ["Ala", "Ąb", "Cis", "Ćma", "Lis", "Łoś", "Zając", "Żak"]
        );
    }

    #[test]
    fn vcards_of_every_version() {
        let file = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C5=BBak;Zofia;;;\r\nTEL;CELL;VOICE:+48.600.100.200\r\nEND:VCARD\r\n\
BEGIN:VCARD\nVERSION:3.0\nFN:Grzegorz Brzęczyszczykiewicz\nORG:Chrząszcz Sp. z o.o.;Dział Handlowy\nTEL;TYPE=WORK,VOICE:22 600 61 00\nTEL;TYPE=HOME:\n  22 111 22 33\nEND:VCARD\n\
BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Anna\\, the boss\r\nTEL;VALUE=uri;TYPE=\"cell,voice\":tel:+48-601-000-000\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n\
junk\r\n";
        let (entries, errors) = read_vcards(file);
        assert_eq!(entries.len(), 4, "{entries:?} {errors:?}");
        assert_eq!(entries[0].name, "Zofia Żak");
        assert_eq!(
            entries[0].numbers,
            vec![(NumberLabel::Mobile, "+48 600 100 200".to_string(), 1)]
        );
        assert_eq!(entries[1].line, 6);
        assert_eq!(entries[1].name, "Grzegorz Brzęczyszczykiewicz");
        assert_eq!(
            entries[1].organization.as_deref(),
            Some("Chrząszcz Sp. z o.o., Dział Handlowy")
        );
        assert_eq!(entries[1].numbers[0].0, NumberLabel::Work);
        assert_eq!(entries[1].numbers[1].0, NumberLabel::Home);
        assert_eq!(entries[1].numbers[1].1, "22 111 22 33");
        assert_eq!(entries[2].name, "Anna, the boss");
        assert_eq!(entries[2].numbers[0].1, "+48-601-000-000");
        assert_eq!(entries[2].numbers[0].0, NumberLabel::Mobile);
        assert_eq!(
            errors,
            vec![line_error(
                22,
                "this line is outside any card (BEGIN:VCARD … END:VCARD)"
            )]
        );
        let mut errs = Vec::new();
        assert!(check_entry(&entries[3], &mut errs).is_none());
        assert_eq!(errs[0].line, 19);
    }

    #[test]
    fn vcard_and_csv_round_trip() {
        let book = vec![
            contact(
                "Małgorzata Żółć-Gęślą",
                Some("Zakład \"Łąka\"; Oddział, Kraków"),
                &[
                    (NumberLabel::Work, "+48 12 600 61 00"),
                    (NumberLabel::Mobile, "600 100 200"),
                ],
            ),
            contact(
                "Jan",
                None,
                &[(NumberLabel::Home, "22 1"), (NumberLabel::Other, "*21#")],
            ),
            contact(
                &"Długie Imię ".repeat(8),
                None,
                &[(NumberLabel::Other, "123")],
            ),
        ];
        type Read = (String, Option<String>, Vec<(NumberLabel, String)>);
        let read_back = |entries: Vec<Entry>| -> Vec<Read> {
            entries
                .into_iter()
                .map(|e| {
                    (
                        e.name,
                        e.organization,
                        e.numbers.into_iter().map(|(l, n, _)| (l, n)).collect(),
                    )
                })
                .collect()
        };
        let want: Vec<_> = book
            .iter()
            .map(|c| {
                (
                    c.name.trim().to_string(),
                    c.organization.clone(),
                    c.numbers
                        .iter()
                        .map(|n| (n.label, n.number.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let vcf = write_vcards(&book);
        assert!(vcf.lines().all(|l| l.len() <= 75), "{vcf}");
        let (entries, errors) = read_vcards(&vcf);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(read_back(entries), want);
        let csv = write_csv(&book);
        let (entries, errors) = read_csv(&csv).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(read_back(entries), want);
    }

    #[test]
    fn google_and_outlook_csv() {
        let google = "First Name,Middle Name,Last Name,Organization Name,Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,Phone 2 - Value\n\
Paweł,,Nowak,Acme,* Mobile,+48 600 100 200 ::: +48 600 100 201,Work,22 600 61 00\n\
,,,Pizzeria Roma,Main,22 333 44 55,,\n";
        let (entries, errors) = read_csv(google).unwrap();
        assert!(errors.is_empty());
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].name, "Paweł Nowak");
        assert_eq!(entries[0].numbers.len(), 3);
        assert_eq!(entries[0].numbers[0].0, NumberLabel::Mobile);
        assert_eq!(entries[0].numbers[2].0, NumberLabel::Work);
        assert_eq!(entries[1].name, "Pizzeria Roma");
        assert_eq!(entries[1].line, 3);
        let outlook = "Imię;Nazwisko;Firma;Telefon służbowy;Telefon komórkowy;Faks służbowy\n\
Ewa;Kłos;Łączność SA;22 600 61 00;601 200 300;22 600 61 01\n";
        let (entries, _) = read_csv(outlook).unwrap();
        assert_eq!(entries[0].name, "Ewa Kłos");
        assert_eq!(entries[0].organization.as_deref(), Some("Łączność SA"));
        assert_eq!(
            entries[0].numbers.iter().map(|n| n.0).collect::<Vec<_>>(),
            [NumberLabel::Work, NumberLabel::Mobile]
        );
        assert!(read_csv("foo,bar\n1,2\n").is_err());
    }
}
