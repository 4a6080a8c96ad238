//! The phone book's add/edit form and its import. Pure, tested natively.

use crate::model::{Contact, ContactImport, NumberLabel, PhoneNumber};

/// What is wrong with the form, before it is sent (the view words it per language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormProblem {
    NameMissing,
    NumberMissing,
    /// The number in row `index` is not a phone number.
    NumberInvalid(usize),
    /// The gateway refused it; its message.
    Server(String),
}

/// The add/edit contact form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactForm {
    /// The contact being edited; `None`: a new one.
    pub editing: Option<i64>,
    pub name: String,
    pub organization: String,
    pub numbers: Vec<PhoneNumber>,
    pub favourite: bool,
    pub busy: bool,
    pub problem: Option<FormProblem>,
}

/// What the form sends (`POST /api/v1/contacts`, `PUT /api/v1/contacts/ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactInput {
    pub name: String,
    pub organization: Option<String>,
    pub numbers: Vec<PhoneNumber>,
    pub favourite: bool,
}

/// One change to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormEdit {
    Name(String),
    Organization(String),
    Number(usize, String),
    Label(usize, NumberLabel),
    AddNumber,
    RemoveNumber(usize),
}

/// Whether `s` looks like a phone number or extension: digits with spaces, dashes, dots,
/// brackets and one leading '+'; 2 to 20 digits.
pub fn looks_like_number(s: &str) -> bool {
    let s = s.trim();
    let body = s.strip_prefix('+').unwrap_or(s);
    let n = body.chars().filter(char::is_ascii_digit).count();
    (2..=20).contains(&n)
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
}

impl ContactForm {
    pub fn new() -> ContactForm {
        ContactForm {
            editing: None,
            name: String::new(),
            organization: String::new(),
            numbers: vec![PhoneNumber::default()],
            favourite: false,
            busy: false,
            problem: None,
        }
    }

    pub fn edit(c: &Contact) -> ContactForm {
        ContactForm {
            editing: Some(c.id),
            name: c.name.clone(),
            organization: c.organization.clone().unwrap_or_default(),
            numbers: if c.numbers.is_empty() {
                vec![PhoneNumber::default()]
            } else {
                c.numbers.clone()
            },
            favourite: c.favourite,
            busy: false,
            problem: None,
        }
    }

    pub fn apply(&mut self, e: FormEdit) {
        match e {
            FormEdit::Name(v) => self.name = v,
            FormEdit::Organization(v) => self.organization = v,
            FormEdit::Number(i, v) => {
                if let Some(n) = self.numbers.get_mut(i) {
                    n.number = v;
                }
            }
            FormEdit::Label(i, l) => {
                if let Some(n) = self.numbers.get_mut(i) {
                    n.label = l;
                }
            }
            FormEdit::AddNumber => {
                let label = if self.numbers.iter().any(|n| n.label == NumberLabel::Mobile) {
                    NumberLabel::Other
                } else {
                    NumberLabel::Mobile
                };
                self.numbers.push(PhoneNumber {
                    label,
                    number: String::new(),
                });
            }
            FormEdit::RemoveNumber(i) => {
                if self.numbers.len() > 1 && i < self.numbers.len() {
                    self.numbers.remove(i);
                } else if let Some(n) = self.numbers.get_mut(i) {
                    n.number.clear();
                }
            }
        }
    }

    /// The contact to send, or what is wrong. Empty number rows are left out.
    pub fn validate(&self) -> Result<ContactInput, FormProblem> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(FormProblem::NameMissing);
        }
        let mut numbers = Vec::new();
        for (i, n) in self.numbers.iter().enumerate() {
            let number = n.number.trim();
            if number.is_empty() {
                continue;
            }
            if !looks_like_number(number) {
                return Err(FormProblem::NumberInvalid(i));
            }
            numbers.push(PhoneNumber {
                label: n.label,
                number: number.to_string(),
            });
        }
        if numbers.is_empty() {
            return Err(FormProblem::NumberMissing);
        }
        let organization = Some(self.organization.trim().to_string()).filter(|o| !o.is_empty());
        Ok(ContactInput {
            name: name.to_string(),
            organization,
            numbers,
            favourite: self.favourite,
        })
    }
}

impl Default for ContactForm {
    fn default() -> ContactForm {
        ContactForm::new()
    }
}

/// The import box: a file is being sent, or what the gateway answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportBox {
    pub busy: bool,
    pub result: Option<ContactImport>,
    pub error: Option<String>,
}

/// Whether an uploaded file is a vCard (by name or content), else CSV.
pub fn is_vcard(file_name: &str, text: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    lower.ends_with(".vcf")
        || lower.ends_with(".vcard")
        || text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("BEGIN:VCARD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_checked() {
        for ok in ["+48 601 200 300", "101", "(22) 111-22-33", "+1.555.0100"] {
            assert!(looks_like_number(ok), "{ok}");
        }
        for bad in ["", "1", "abc", "+48 601 x", "++48", "1".repeat(21).as_str()] {
            assert!(!looks_like_number(bad), "{bad}");
        }
    }

    #[test]
    fn a_contact_with_several_numbers() {
        let mut f = ContactForm::new();
        assert_eq!(f.validate(), Err(FormProblem::NameMissing));
        f.apply(FormEdit::Name("  Zenon Kowalski ".into()));
        assert_eq!(f.validate(), Err(FormProblem::NumberMissing));
        f.apply(FormEdit::Number(0, "+48 22 111 22 33".into()));
        f.apply(FormEdit::AddNumber);
        assert_eq!(f.numbers[1].label, NumberLabel::Mobile);
        f.apply(FormEdit::Number(1, "60x".into()));
        assert_eq!(f.validate(), Err(FormProblem::NumberInvalid(1)));
        f.apply(FormEdit::Number(1, "601 200 300".into()));
        f.apply(FormEdit::AddNumber);
        assert_eq!(f.numbers[2].label, NumberLabel::Other);
        f.apply(FormEdit::Label(2, NumberLabel::Home));
        f.apply(FormEdit::Organization(" Hurtownia ".into()));
        let input = f.validate().unwrap();
        assert_eq!(input.name, "Zenon Kowalski");
        assert_eq!(input.organization.as_deref(), Some("Hurtownia"));
        assert_eq!(input.numbers.len(), 2, "the empty third row is left out");
        assert_eq!(input.numbers[0].label, NumberLabel::Work);

        f.apply(FormEdit::RemoveNumber(0));
        assert_eq!(f.numbers.len(), 2);
        f.apply(FormEdit::RemoveNumber(0));
        f.apply(FormEdit::RemoveNumber(0));
        assert_eq!(f.numbers.len(), 1, "one row always stays");
        assert!(f.numbers[0].number.is_empty());
    }

    #[test]
    fn editing_starts_from_the_contact() {
        let c = Contact {
            id: 5,
            name: "Beata".into(),
            organization: None,
            numbers: vec![],
            favourite: true,
        };
        let f = ContactForm::edit(&c);
        assert_eq!(f.editing, Some(5));
        assert_eq!(f.numbers.len(), 1);
        assert!(f.favourite);
    }

    #[test]
    fn vcard_or_csv() {
        assert!(is_vcard("contacts.VCF", ""));
        assert!(is_vcard("x.txt", "\u{feff}begin:vcard\r\n"));
        assert!(!is_vcard("contacts.csv", "name,number\n"));
    }
}
