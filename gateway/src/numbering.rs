//! What an employee dials towards the phone network (issue 15's numbering plan), IO-free:
//! the digits as typed (`+48 22 600 61 00`, `0048…`, `00…`, a 9-digit Polish number, with
//! spaces, dashes, dots or brackets) become an E.164 number, classified with Google's
//! numbering metadata (the `phonenumber` crate, not prefix lists of ours): landline, mobile,
//! toll-free, premium rate, shared cost and other special services, or international by
//! country. Emergency numbers (112, 997, 998, 999) are their own kind: they always go out.
//! [`allowed`] applies a person's call permission to a classified number, with the reason
//! a refused call is given.
//!
//! The core routes what [`parse`] reads as a number to a trunk (`crate::trunks`) when
//! [`allowed`] lets the caller's [`Outside`] policy through.

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, Type};
use serde::{Deserialize, Serialize};

/// Emergency numbers in Poland: the European 112, and police, fire brigade and ambulance.
pub const EMERGENCY: [&str; 4] = ["112", "997", "998", "999"];

/// What kind of number was dialled, for permissions and prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "class")]
pub enum Class {
    /// A Polish landline.
    Landline,
    /// A Polish mobile.
    Mobile,
    /// Polish freephone (800).
    TollFree,
    /// Polish premium rate (70x).
    Premium,
    /// Polish shared-cost and other special services (801, 804, UAN, VoIP ranges).
    Special,
    /// Another country's number (`country`: ISO 3166 code, or `"001"` for the
    /// international freephone +800 and other non-geographic codes).
    International {
        country: String,
        mobile: bool,
        premium: bool,
        toll_free: bool,
    },
}

/// A dialled external number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialled {
    /// An emergency number, as dialled (it goes out whatever the permission).
    Emergency(&'static str),
    /// A number of the phone network: E.164 (`+48226006100`) and its class.
    Number { e164: String, class: Class },
}

/// Why a dialled string is not a number of the phone network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    #[error("nothing was dialled")]
    Empty,
    #[error(
        "{0:?} is not a phone number (only digits, a leading + and spaces, dashes, dots or brackets)"
    )]
    NotDigits(String),
    #[error("{0} is not a valid phone number")]
    Invalid(String),
}

/// Reads what was dialled. `home` numbers without a country prefix are Polish (9 digits).
pub fn parse(dialled: &str) -> Result<Dialled, DialError> {
    let mut digits = String::new();
    for (i, c) in dialled.trim().chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return Err(DialError::NotDigits(dialled.trim().to_string())),
        }
    }
    if digits.is_empty() {
        return Err(DialError::Empty);
    }
    if let Some(e) = EMERGENCY.iter().find(|e| **e == digits) {
        return Ok(Dialled::Emergency(e));
    }
    // 00 is Poland's international prefix: 0048… is a Polish number, 00… another country's.
    let international = match digits.strip_prefix("00") {
        Some(rest) if !rest.is_empty() => format!("+{rest}"),
        _ => digits.clone(),
    };
    let number = phonenumber::parse(Some(Id::PL), &international)
        .map_err(|_| DialError::Invalid(dialled.trim().to_string()))?;
    if !number.is_valid() {
        return Err(DialError::Invalid(dialled.trim().to_string()));
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    Ok(Dialled::Number {
        class: classify(&number),
        e164,
    })
}

fn classify(number: &PhoneNumber) -> Class {
    let kind = number.number_type(&DATABASE);
    let country = number
        .country()
        .id()
        .map(|id| id.as_ref().to_string())
        .unwrap_or_else(|| "001".to_string());
    if country != "PL" {
        return Class::International {
            country,
            mobile: kind == Type::Mobile,
            premium: kind == Type::PremiumRate,
            toll_free: kind == Type::TollFree,
        };
    }
    match kind {
        Type::Mobile => Class::Mobile,
        Type::FixedLine | Type::FixedLineOrMobile => Class::Landline,
        Type::TollFree => Class::TollFree,
        Type::PremiumRate => Class::Premium,
        _ => Class::Special,
    }
}

/// How far a person may call (a company default, or their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Colleagues only (and emergency numbers).
    Internal,
    /// Also Polish numbers.
    National,
    /// Also other countries.
    International,
}

impl std::str::FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "internal" => Ok(Permission::Internal),
            "national" => Ok(Permission::National),
            "international" => Ok(Permission::International),
            _ => Err(format!(
                "{s:?} is not a call permission: internal, national or international"
            )),
        }
    }
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Internal => "internal",
            Permission::National => "national",
            Permission::International => "international",
        }
    }
}

/// The number an outside call shows as its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerId {
    /// The person's own public number (the main number when they have none).
    #[default]
    Own,
    /// The company's main number.
    Main,
    /// Withheld (the network still gets it, marked private: RFC 3323/3325).
    Withheld,
}

impl std::str::FromStr for CallerId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "own" => Ok(CallerId::Own),
            "main" => Ok(CallerId::Main),
            "withheld" => Ok(CallerId::Withheld),
            _ => Err(format!("{s:?} is not a caller ID: own, main or withheld")),
        }
    }
}

impl CallerId {
    pub fn as_str(self) -> &'static str {
        match self {
            CallerId::Own => "own",
            CallerId::Main => "main",
            CallerId::Withheld => "withheld",
        }
    }
}

/// What one person may do towards the phone network, as the core needs it (their own
/// settings over the company's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outside {
    pub permission: Permission,
    pub premium: bool,
    pub caller_id: CallerId,
    /// Their own public number (from the company's number blocks), E.164.
    pub own_number: Option<String>,
    /// The company's main number, E.164.
    pub main_number: Option<String>,
    /// Their mobile, E.164 (for *8).
    pub mobile: Option<String>,
    /// The month's spending limit (theirs or the company's) is reached.
    pub limit_reached: bool,
    /// Suspended after an unusual burst of international calls (toll fraud).
    pub suspended: bool,
}

impl Default for Outside {
    fn default() -> Outside {
        Outside {
            permission: Permission::National,
            premium: false,
            caller_id: CallerId::Own,
            own_number: None,
            main_number: None,
            mobile: None,
            limit_reached: false,
            suspended: false,
        }
    }
}

impl Outside {
    /// The number a call out shows, and whether it is withheld: the chosen one, else the
    /// other one the company has (a network needs some number of ours even when withheld).
    pub fn presented(&self) -> (Option<&str>, bool) {
        let (own, main) = (self.own_number.as_deref(), self.main_number.as_deref());
        match self.caller_id {
            CallerId::Own => (own.or(main), false),
            CallerId::Main => (main.or(own), false),
            CallerId::Withheld => (own.or(main), true),
        }
    }
}

/// Why a call is refused: the SIP reason phrase's words and the web app's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("your calls are internal only")]
    InternalOnly,
    #[error("international calls are not allowed for you")]
    NoInternational,
    #[error("premium-rate numbers are not allowed for you")]
    NoPremium,
}

/// May someone with `permission` (and `premium` allowed or not) call `d`? Emergency numbers
/// always; toll-free numbers with any permission that reaches their country.
pub fn allowed(permission: Permission, premium: bool, d: &Dialled) -> Result<(), Refusal> {
    let class = match d {
        Dialled::Emergency(_) => return Ok(()),
        Dialled::Number { class, .. } => class,
    };
    if permission == Permission::Internal {
        return Err(Refusal::InternalOnly);
    }
    let (foreign, is_premium) = match class {
        Class::International { premium, .. } => (true, *premium),
        Class::Premium => (false, true),
        _ => (false, false),
    };
    if foreign && permission < Permission::International {
        return Err(Refusal::NoInternational);
    }
    if is_premium && !premium {
        return Err(Refusal::NoPremium);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(e164: &str, class: Class) -> Dialled {
        Dialled::Number {
            e164: e164.into(),
            class,
        }
    }

    fn intl(country: &str) -> Class {
        Class::International {
            country: country.into(),
            mobile: false,
            premium: false,
            toll_free: false,
        }
    }

    /// Real numbers of every class, as people type them.
    #[test]
    fn dialled_numbers_become_e164_with_their_class() {
        let cases: &[(&str, Dialled)] = &[
            // Landlines: Warsaw, Kraków, Gdańsk, in every way of writing them.
            ("22 600 61 03", number("+48226006103", Class::Landline)),
            ("+48 22 600 61 00", number("+48226006100", Class::Landline)),
            ("0048226006100", number("+48226006100", Class::Landline)),
            ("(12) 422-12-34", number("+48124221234", Class::Landline)),
            ("58.301.22.33", number("+48583012233", Class::Landline)),
            // Mobiles.
            ("601 234 567", number("+48601234567", Class::Mobile)),
            ("+48 512-345-678", number("+48512345678", Class::Mobile)),
            ("0048 791 234 567", number("+48791234567", Class::Mobile)),
            // Freephone, premium, shared cost.
            ("800 123 456", number("+48800123456", Class::TollFree)),
            ("701 234 567", number("+48701234567", Class::Premium)),
            ("801 234 567", number("+48801234567", Class::Special)),
            // Other countries.
            ("+49 30 12345678", number("+493012345678", intl("DE"))),
            ("0044 20 7946 0018", number("+442079460018", intl("GB"))),
            (
                "001 212 555 0100",
                number(
                    "+12125550100",
                    Class::International {
                        country: "US".into(),
                        mobile: false,
                        premium: false,
                        toll_free: false,
                    },
                ),
            ),
            (
                "+49 151 23456789",
                number(
                    "+4915123456789",
                    Class::International {
                        country: "DE".into(),
                        mobile: true,
                        premium: false,
                        toll_free: false,
                    },
                ),
            ),
            (
                "00800 1234 5678",
                number(
                    "+80012345678",
                    Class::International {
                        country: "001".into(),
                        mobile: false,
                        premium: false,
                        toll_free: true,
                    },
                ),
            ),
            // Emergency numbers.
            ("112", Dialled::Emergency("112")),
            ("997", Dialled::Emergency("997")),
            (" 998 ", Dialled::Emergency("998")),
            ("999", Dialled::Emergency("999")),
        ];
        for (typed, want) in cases {
            assert_eq!(&parse(typed).unwrap(), want, "{typed}");
        }
    }

    #[test]
    fn what_is_not_a_number_is_said_so() {
        assert_eq!(parse("  "), Err(DialError::Empty));
        assert!(matches!(
            parse("22 600 61 0x"),
            Err(DialError::NotDigits(_))
        ));
        assert!(matches!(parse("sip:alice"), Err(DialError::NotDigits(_))));
        assert!(matches!(parse("48+22"), Err(DialError::NotDigits(_))));
        for bad in ["123", "22 600", "+48 22 600 61 00 00 00", "00", "+999 1234"] {
            assert!(matches!(parse(bad), Err(DialError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn permissions_and_emergency_numbers() {
        let landline = parse("22 600 61 00").unwrap();
        let mobile = parse("601 234 567").unwrap();
        let premium = parse("701 234 567").unwrap();
        let germany = parse("+49 30 12345678").unwrap();
        let emergency = parse("112").unwrap();
        use Permission::*;
        assert_eq!(
            allowed(Internal, true, &landline),
            Err(Refusal::InternalOnly)
        );
        assert_eq!(allowed(Internal, false, &emergency), Ok(()));
        assert_eq!(allowed(National, false, &landline), Ok(()));
        assert_eq!(allowed(National, false, &mobile), Ok(()));
        assert_eq!(
            allowed(National, false, &germany),
            Err(Refusal::NoInternational)
        );
        assert_eq!(allowed(International, false, &germany), Ok(()));
        assert_eq!(
            allowed(International, false, &premium),
            Err(Refusal::NoPremium)
        );
        assert_eq!(allowed(National, true, &premium), Ok(()));
        assert_eq!(
            Refusal::NoInternational.to_string(),
            "international calls are not allowed for you"
        );
    }
}
