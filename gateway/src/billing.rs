//! Prices and call rating (issue 15), IO-free: what an external call costs, from the number
//! dialled (classified by [`crate::numbering`]), how long it was answered, the caller's flat
//! rate and the price list valid when it started.
//!
//! Amounts are integers in **micros**: millionths of a złoty (1 PLN = 1 000 000 micros,
//! 0.12 PLN = 120 000), so per-second prices and sums stay exact. Prices are data: the
//! `price_lists`, `price_rates` and `price_zones` tables (migration 0014), versioned by the
//! day they take effect and changed with `centrala prices`; the store loads the one valid
//! at a call's start ([`crate::store::Store::price_list_at`]).
//!
//! Class keys (the `calls.class` column and the price table's keys): `landline`, `mobile`,
//! `toll_free`, `premium` (70x), `special` (80x shared cost and other services),
//! `intl_freephone` (+800), and one key per international zone (`intl_zone1`…), which the
//! price list's country → zone map picks (countries it does not list: its default zone).
//! `emergency` calls and `toll_free` (Polish 800) calls are free whatever the table says.
//! Other countries' premium, mobile and toll-free numbers cost their zone's rate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::numbering::{Class, Dialled};

/// Millionths of a złoty.
pub type Micros = i64;
pub const MICROS_PER_PLN: Micros = 1_000_000;
/// The currency of every amount.
pub const CURRENCY: &str = "PLN";

/// The class key of an emergency call (never charged).
pub const EMERGENCY: &str = "emergency";

/// How answered time is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Every started minute is charged whole (61 s are billed as 120 s).
    PerMinute,
    /// Every second is charged (the cost rounded up to a whole micro).
    PerSecond,
}

impl Rounding {
    pub fn as_str(self) -> &'static str {
        match self {
            Rounding::PerMinute => "per_minute",
            Rounding::PerSecond => "per_second",
        }
    }
    pub fn parse(s: &str) -> Option<Rounding> {
        match s.replace('-', "_").as_str() {
            "per_minute" => Some(Rounding::PerMinute),
            "per_second" => Some(Rounding::PerSecond),
            _ => None,
        }
    }
}

/// A person's flat rate: a monthly fee after which calls of its classes cost nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlatRate {
    #[default]
    None,
    /// Polish landlines are included.
    Landline,
    /// Polish landlines and mobiles are included.
    LandlineMobile,
}

impl FlatRate {
    pub fn as_str(self) -> &'static str {
        match self {
            FlatRate::None => "none",
            FlatRate::Landline => "landline",
            FlatRate::LandlineMobile => "landline_mobile",
        }
    }
    pub fn parse(s: &str) -> Option<FlatRate> {
        match s {
            "none" => Some(FlatRate::None),
            "landline" => Some(FlatRate::Landline),
            "landline_mobile" => Some(FlatRate::LandlineMobile),
            _ => None,
        }
    }
    /// Whether calls of `class_key` are included in this flat rate.
    pub fn includes(self, class_key: &str) -> bool {
        match self {
            FlatRate::None => false,
            FlatRate::Landline => class_key == "landline",
            FlatRate::LandlineMobile => matches!(class_key, "landline" | "mobile"),
        }
    }
}

/// Monthly fees of a price list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthlyFees {
    /// Per extension (the subscription).
    pub extension: Micros,
    /// Per started block of ten public numbers.
    pub number_block: Micros,
    /// The landline flat rate, per person who has it.
    pub flat_landline: Micros,
    /// The landline and mobile flat rate, per person who has it.
    pub flat_landline_mobile: Micros,
}

impl MonthlyFees {
    /// The fee of a flat rate (0 for none).
    pub fn flat(&self, f: FlatRate) -> Micros {
        match f {
            FlatRate::None => 0,
            FlatRate::Landline => self.flat_landline,
            FlatRate::LandlineMobile => self.flat_landline_mobile,
        }
    }

    /// The names the CLI and the tables use.
    pub const NAMES: [&'static str; 4] = [
        "extension",
        "number_block",
        "flat_landline",
        "flat_landline_mobile",
    ];

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Micros> {
        match name {
            "extension" => Some(&mut self.extension),
            "number_block" => Some(&mut self.number_block),
            "flat_landline" => Some(&mut self.flat_landline),
            "flat_landline_mobile" => Some(&mut self.flat_landline_mobile),
            _ => None,
        }
    }
}

/// The prices valid from one day on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceList {
    /// The first day (UTC) it applies to, `YYYY-MM-DD`.
    pub valid_from: String,
    pub rounding: Rounding,
    /// Price per minute by class key.
    pub per_minute: BTreeMap<String, Micros>,
    /// Country (ISO 3166, as [`Class::International`] names it) → zone class key.
    pub zones: BTreeMap<String, String>,
    /// The zone of countries `zones` does not list.
    pub default_zone: String,
    pub fees: MonthlyFees,
}

/// What a call costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rated {
    pub class_key: String,
    /// Answered time as charged (whole minutes with per-minute rounding).
    pub billed_seconds: i64,
    pub cost: Micros,
}

/// Why a call cannot be rated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateError {
    /// The price list has no rate for this class (an operator's omission).
    #[error("the price list from {valid_from} has no rate for {class_key}")]
    NoPrice {
        class_key: String,
        valid_from: String,
    },
}

/// The class key of a dialled number under `prices` (zones come from its map).
pub fn class_key(d: &Dialled, prices: &PriceList) -> String {
    let class = match d {
        Dialled::Emergency(_) => return EMERGENCY.into(),
        Dialled::Number { class, .. } => class,
    };
    match class {
        Class::Landline => "landline".into(),
        Class::Mobile => "mobile".into(),
        Class::TollFree => "toll_free".into(),
        Class::Premium => "premium".into(),
        Class::Special => "special".into(),
        Class::International {
            country, toll_free, ..
        } => {
            if country == "001" && *toll_free {
                "intl_freephone".into()
            } else {
                prices
                    .zones
                    .get(country)
                    .unwrap_or(&prices.default_zone)
                    .clone()
            }
        }
    }
}

/// Rates a call to `d` that was answered for `answered_seconds` (0: not answered), made by
/// someone with flat rate `flat`.
pub fn rate(
    d: &Dialled,
    answered_seconds: i64,
    flat: FlatRate,
    prices: &PriceList,
) -> Result<Rated, RateError> {
    let class_key = class_key(d, prices);
    let secs = answered_seconds.max(0);
    let billed_seconds = match prices.rounding {
        Rounding::PerMinute => ceil_div(secs, 60) * 60,
        Rounding::PerSecond => secs,
    };
    let free = class_key == EMERGENCY || class_key == "toll_free" || flat.includes(&class_key);
    let cost = if free || billed_seconds == 0 {
        0
    } else {
        let per_minute = *prices
            .per_minute
            .get(&class_key)
            .ok_or_else(|| RateError::NoPrice {
                class_key: class_key.clone(),
                valid_from: prices.valid_from.clone(),
            })?;
        ceil_div(billed_seconds.saturating_mul(per_minute), 60)
    };
    Ok(Rated {
        class_key,
        billed_seconds,
        cost,
    })
}

/// `a / b` rounded up, for `a >= 0`, `b > 0` (`i64::div_ceil` is not stable).
fn ceil_div(a: i64, b: i64) -> i64 {
    a / b + i64::from(a % b != 0)
}

/// Answered seconds of a call, a started second counting whole.
pub fn answered_seconds(answered_ms: Option<i64>, ended_ms: i64) -> i64 {
    answered_ms.map_or(0, |a| ceil_div((ended_ms - a).max(0), 1000))
}

/// Reads an amount in złoty (`"0.12"`, `"28.8"`, `"10"`, up to six decimals) as micros.
pub fn parse_pln(s: &str) -> Option<Micros> {
    let s = s.trim();
    let (whole, frac) = s.split_once(['.', ',']).unwrap_or((s, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 6
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<6}").parse().ok()?;
    whole.checked_mul(MICROS_PER_PLN)?.checked_add(frac)
}

/// An amount as złoty with at least two decimals and no trailing zeros beyond
/// (`120000` → `"0.12"`, `1234` → `"0.001234"`), exact.
pub fn format_pln(micros: Micros) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let frac = format!("{:06}", m % 1_000_000);
    let frac = frac.trim_end_matches('0');
    let frac = format!("{frac:0<2}");
    format!("{sign}{}.{frac}", m / 1_000_000)
}

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
}

impl Month {
    /// `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u8 = m.parse().ok()?;
        ((1..=12).contains(&month) && year >= 1970).then_some(Month { year, month })
    }

    /// The month (UTC) of a Unix millisecond time.
    pub fn of_ms(ms: i64) -> Month {
        let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Month {
            year: t.year(),
            month: t.month() as u8,
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Its first moment, Unix milliseconds.
    pub fn start_ms(self) -> i64 {
        let month = time::Month::try_from(self.month).unwrap_or(time::Month::January);
        time::Date::from_calendar_date(self.year, month, 1)
            .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
            .unwrap_or(0)
    }

    /// The first moment of the next month, Unix milliseconds.
    pub fn end_ms(self) -> i64 {
        self.next().start_ms()
    }

    /// Its first day, `YYYY-MM-01` (which price list applies to its fees).
    pub fn first_day(self) -> String {
        format!("{:04}-{:02}-01", self.year, self.month)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The day (UTC) of a Unix millisecond time, `YYYY-MM-DD` (to pick a price list).
pub fn day_of_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day())
}

/// Whether `s` is a real day written `YYYY-MM-DD`.
pub fn valid_day(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (
        s[..4].parse::<i32>(),
        s[5..7].parse::<u8>(),
        s[8..].parse::<u8>(),
    ) else {
        return false;
    };
    time::Month::try_from(m).is_ok_and(|m| time::Date::from_calendar_date(y, m, d).is_ok())
}

/// Whether `spent` has reached `percent` % of `limit`.
pub fn reached(spent: Micros, limit: Micros, percent: i64) -> bool {
    spent.saturating_mul(100) >= limit.saturating_mul(percent)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::numbering::parse;

    /// The seed of migration 0014 (PRODUCT.md's prices), to test against.
    pub(crate) fn seed(rounding: Rounding) -> PriceList {
        let pln = |s: &str| parse_pln(s).unwrap();
        PriceList {
            valid_from: "2026-01-01".into(),
            rounding,
            per_minute: [
                ("landline", "0.05"),
                ("mobile", "0.12"),
                ("premium", "0.50"),
                ("special", "0.50"),
                ("intl_freephone", "0.15"),
                ("intl_zone1", "0.20"),
                ("intl_zone2", "0.25"),
                ("intl_zone3", "0.60"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), pln(v)))
            .collect(),
            zones: [
                ("DE", "intl_zone1"),
                ("GB", "intl_zone1"),
                ("GG", "intl_zone1"),
                ("US", "intl_zone2"),
                ("CA", "intl_zone2"),
            ]
            .into_iter()
            .map(|(c, z)| (c.to_string(), z.to_string()))
            .collect(),
            default_zone: "intl_zone3".into(),
            fees: MonthlyFees {
                extension: pln("28.80"),
                number_block: pln("4.20"),
                flat_landline: pln("10.00"),
                flat_landline_mobile: pln("25.00"),
            },
        }
    }

    use FlatRate::{Landline as FL, LandlineMobile as FLM, None as NoFlat};
    use Rounding::{PerMinute as M, PerSecond as S};

    /// (dialled, answered seconds, flat rate, rounding, class, billed seconds, cost in PLN)
    const CASES: &[(&str, i64, FlatRate, Rounding, &str, i64, &str)] = &[
        // Polish landlines (Warsaw, Kraków): 0.05/min.
        ("22 600 61 00", 60, NoFlat, M, "landline", 60, "0.05"),
        ("22 600 61 00", 61, NoFlat, M, "landline", 120, "0.10"),
        ("(12) 422-12-34", 1, NoFlat, M, "landline", 60, "0.05"),
        ("(12) 422-12-34", 90, NoFlat, S, "landline", 90, "0.075"),
        ("12 422 12 34", 7, NoFlat, S, "landline", 7, "0.005834"),
        ("22 600 61 00", 600, FL, M, "landline", 600, "0"),
        ("22 600 61 00", 600, FLM, S, "landline", 600, "0"),
        // Polish mobiles: 0.12/min; only the landline+mobile flat rate covers them.
        ("601 234 567", 125, NoFlat, M, "mobile", 180, "0.36"),
        ("+48 512-345-678", 125, NoFlat, S, "mobile", 125, "0.25"),
        ("0048 791 234 567", 300, FL, M, "mobile", 300, "0.60"),
        ("0048 791 234 567", 300, FLM, M, "mobile", 300, "0"),
        // Polish freephone 800: free; premium 70x and special 80x: 0.50/min.
        ("800 123 456", 300, NoFlat, M, "toll_free", 300, "0"),
        ("701 234 567", 30, NoFlat, M, "premium", 60, "0.50"),
        ("701 234 567", 30, FLM, S, "premium", 30, "0.25"),
        ("801 234 567", 120, NoFlat, M, "special", 120, "1.00"),
        // Germany (zone 1): landline and mobile; the flat rates are Polish only.
        ("+49 30 12345678", 60, NoFlat, M, "intl_zone1", 60, "0.20"),
        ("+49 30 12345678", 60, FLM, M, "intl_zone1", 60, "0.20"),
        (
            "+49 151 23456789",
            59,
            NoFlat,
            S,
            "intl_zone1",
            59,
            "0.196667",
        ),
        // United Kingdom (zone 1): London landline, mobile.
        (
            "0044 20 7946 0018",
            180,
            NoFlat,
            M,
            "intl_zone1",
            180,
            "0.60",
        ),
        ("+44 7400 123456", 61, NoFlat, M, "intl_zone1", 120, "0.40"),
        // A +44 7911 mobile is Guernsey's (GG), listed in zone 1 on its own.
        ("+44 7911 123456", 60, NoFlat, M, "intl_zone1", 60, "0.20"),
        // United States (zone 2): New York landline, a mobile-or-landline number.
        ("001 212 555 0100", 60, NoFlat, M, "intl_zone2", 60, "0.25"),
        ("+1 650 253 0000", 30, NoFlat, S, "intl_zone2", 30, "0.125"),
        // Rest of the world (zone 3): Japan, Brazil.
        ("+81 3-1234-5678", 60, NoFlat, M, "intl_zone3", 60, "0.60"),
        (
            "+55 11 2345-6789",
            120,
            NoFlat,
            S,
            "intl_zone3",
            120,
            "1.20",
        ),
        // International freephone +800.
        (
            "00800 1234 5678",
            100,
            NoFlat,
            M,
            "intl_freephone",
            120,
            "0.30",
        ),
        // Emergency numbers are free.
        ("112", 300, NoFlat, M, "emergency", 300, "0"),
        ("997", 30, NoFlat, S, "emergency", 30, "0"),
        // Unanswered calls cost nothing.
        ("601 234 567", 0, NoFlat, M, "mobile", 0, "0"),
        ("+81 3-1234-5678", 0, NoFlat, S, "intl_zone3", 0, "0"),
    ];

    #[test]
    fn real_numbers_of_every_class_are_rated() {
        for &(dialled, secs, flat, rounding, class, billed, cost) in CASES {
            let d = parse(dialled).unwrap_or_else(|e| panic!("{dialled}: {e}"));
            let got = rate(&d, secs, flat, &seed(rounding)).unwrap();
            let want = Rated {
                class_key: class.into(),
                billed_seconds: billed,
                cost: parse_pln(cost).unwrap(),
            };
            assert_eq!(got, want, "{dialled} {secs}s {flat:?} {rounding:?}");
        }
    }

    #[test]
    fn zones_are_data_and_a_missing_rate_is_an_error() {
        let mut p = seed(Rounding::PerMinute);
        let japan = parse("+81 3-1234-5678").unwrap();
        p.zones.insert("JP".into(), "intl_zone1".into());
        assert_eq!(rate(&japan, 60, FlatRate::None, &p).unwrap().cost, 200_000);
        p.per_minute.remove("mobile");
        let mobile = parse("601 234 567").unwrap();
        assert_eq!(
            rate(&mobile, 60, FlatRate::None, &p),
            Err(RateError::NoPrice {
                class_key: "mobile".into(),
                valid_from: "2026-01-01".into()
            })
        );
        // Free calls need no rate.
        assert_eq!(rate(&mobile, 0, FlatRate::None, &p).unwrap().cost, 0);
        assert_eq!(
            rate(&mobile, 60, FlatRate::LandlineMobile, &p)
                .unwrap()
                .cost,
            0
        );
    }

    #[test]
    fn amounts_months_and_seconds() {
        for (s, m) in [
            ("0.12", Some(120_000)),
            ("28.80", Some(28_800_000)),
            ("28,8", Some(28_800_000)),
            ("10", Some(10_000_000)),
            ("0.000001", Some(1)),
            ("0.0000001", None),
            ("-1", None),
            ("", None),
            (".5", None),
            ("1e3", None),
        ] {
            assert_eq!(parse_pln(s), m, "{s:?}");
        }
        assert_eq!(format_pln(120_000), "0.12");
        assert_eq!(format_pln(28_800_000), "28.80");
        assert_eq!(format_pln(1234), "0.001234");
        assert_eq!(format_pln(0), "0.00");
        assert_eq!(format_pln(-50_000), "-0.05");
        let m = Month::parse("2026-12").unwrap();
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.start_ms(), 1_796_083_200_000);
        assert_eq!(Month::of_ms(m.end_ms() - 1), m);
        assert_eq!(Month::of_ms(m.end_ms()), m.next());
        for bad in ["2026-13", "2026-00", "26-01", "2026-1", "abcd-ef", ""] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert_eq!(day_of_ms(1_796_083_200_000), "2026-12-01");
        assert!(valid_day("2026-02-28") && !valid_day("2026-02-30") && !valid_day("2026-2-1"));
        assert_eq!(answered_seconds(None, 5000), 0);
        assert_eq!(answered_seconds(Some(1000), 1000), 0);
        assert_eq!(answered_seconds(Some(1000), 1001), 1);
        assert_eq!(answered_seconds(Some(1000), 61_000), 60);
        assert!(reached(80, 100, 80) && !reached(79, 100, 80));
    }
}
