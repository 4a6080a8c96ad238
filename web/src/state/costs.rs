//! Prices and spending as the pages show them (issue 15, docs/api-billing.md): the API's
//! amounts are integer micros (millionths of a złoty); here they become złoty as people
//! write them, and what an administrator types becomes micros again. Integer arithmetic
//! only (no float formatting in the wasm).

use crate::model::Lang;

pub const MICROS_PER_GROSZ: i64 = 10_000;

/// An amount rounded to the grosz: `"12,34 zł"` in Polish, `"PLN 12.34"` in English.
pub fn pln(lang: Lang, micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let grosze = (micros.unsigned_abs() + 5_000) / 10_000;
    let (whole, frac) = (grosze / 100, grosze % 100);
    match lang {
        Lang::Pl => format!("{sign}{},{frac:02} zł", group(whole, '\u{a0}')),
        Lang::En => format!("{sign}PLN {}.{frac:02}", group(whole, ',')),
    }
}

/// Thousands separated (`12 345`, `12,345`).
fn group(n: u64, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// What an administrator typed as an amount in złoty (`150`, `150,50`, `150.5`, spaces
/// allowed) in micros; empty: `Ok(None)` (no limit); anything else: `Err(())`.
pub fn parse_pln(typed: &str) -> Result<Option<i64>, ()> {
    let s: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    let s = s.strip_suffix("zł").unwrap_or(&s).trim();
    if s.is_empty() {
        return Ok(None);
    }
    let (whole, frac) = s.split_once([',', '.']).unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 12
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(());
    }
    let whole: i64 = whole.parse().map_err(|_| ())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| ())?;
    Ok(Some(whole * 1_000_000 + frac * MICROS_PER_GROSZ))
}

/// A limit as the input field shows it (`150,50` / `150.50`); none: empty.
pub fn limit_text(lang: Lang, micros: Option<i64>) -> String {
    match micros {
        None => String::new(),
        Some(m) => {
            let g = (m + 5_000) / 10_000;
            let sep = if lang == Lang::Pl { ',' } else { '.' };
            format!("{}{sep}{:02}", g / 100, g % 100)
        }
    }
}

/// Billed seconds as minutes and seconds (`12:05`).
pub fn minutes(secs: i64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// The share of a limit spent, in whole percent (a zero limit counts as used up).
pub fn percent(spent: i64, limit: i64) -> i64 {
    if limit <= 0 {
        100
    } else {
        spent.saturating_mul(100) / limit
    }
}

/// Whether `m` is a month as the API takes it (`YYYY-MM`, as `<input type="month">` gives).
pub fn valid_month(m: &str) -> bool {
    let b = m.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_digit)
        && (1..=12).contains(&m[5..].parse::<u8>().unwrap_or(0))
}

/// A person's costs in a month (`GET /billing/costs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonCost {
    pub employee_id: i64,
    pub name: String,
    pub extension: String,
    /// `none`, `landline`, `landline_mobile`.
    pub flat_rate: String,
    pub spend_limit: Option<i64>,
    pub calls: i64,
    pub billed_seconds: i64,
    pub cost: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompanyCosts {
    pub month: String,
    pub people: Vec<PersonCost>,
    pub former_employees_cost: i64,
    pub total_cost: i64,
    pub spend_limit: Option<i64>,
    pub person_spend_limit: Option<i64>,
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub item: String,
    pub class: Option<String>,
    pub quantity: i64,
    pub unit: Option<i64>,
    pub billed_seconds: Option<i64>,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Statement {
    pub month: String,
    pub lines: Vec<StatementLine>,
    pub total: i64,
}

/// A call with its cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostCall {
    pub id: i64,
    pub dialled: String,
    pub started_at: String,
    pub class: String,
    pub billed_seconds: i64,
    pub cost: Option<i64>,
}

/// Where one's spending stands this month.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spend {
    pub person_spent: i64,
    pub person_limit: Option<i64>,
    pub company_spent: i64,
    pub company_limit: Option<i64>,
}

/// `GET /me/costs`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MyCosts {
    pub spend: Spend,
    pub statement: Statement,
    pub calls: Vec<CostCall>,
    pub calls_total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_each_language() {
        assert_eq!(pln(Lang::Pl, 240_000), "0,24 zł");
        assert_eq!(pln(Lang::En, 240_000), "PLN 0.24");
        assert_eq!(pln(Lang::Pl, 96_840_000), "96,84 zł");
        assert_eq!(
            pln(Lang::Pl, 1_234_567_890_000),
            "1\u{a0}234\u{a0}567,89 zł"
        );
        assert_eq!(pln(Lang::En, 1_234_567_890_000), "PLN 1,234,567.89");
        // Rounded to the grosz, half up: 0.005834 → 0.01, 0.004999 → 0.00.
        assert_eq!(pln(Lang::En, 5_834), "PLN 0.01");
        assert_eq!(pln(Lang::En, 4_999), "PLN 0.00");
        assert_eq!(pln(Lang::En, -50_000), "-PLN 0.05");
    }

    #[test]
    fn typed_limits() {
        assert_eq!(parse_pln("150"), Ok(Some(150_000_000)));
        assert_eq!(parse_pln(" 150,5 zł"), Ok(Some(150_500_000)));
        assert_eq!(parse_pln("1 000.05"), Ok(Some(1_000_050_000)));
        assert_eq!(parse_pln(""), Ok(None));
        assert_eq!(parse_pln("  "), Ok(None));
        for bad in ["-5", "1,234", "abc", ",5", "1.2.3"] {
            assert_eq!(parse_pln(bad), Err(()), "{bad}");
        }
        assert_eq!(limit_text(Lang::Pl, Some(150_500_000)), "150,50");
        assert_eq!(limit_text(Lang::En, Some(5_000_000)), "5.00");
        assert_eq!(limit_text(Lang::En, None), "");
        assert_eq!(
            parse_pln(&limit_text(Lang::Pl, Some(42_010_000))),
            Ok(Some(42_010_000))
        );
    }

    #[test]
    fn minutes_percent_and_months() {
        assert_eq!(minutes(725), "12:05");
        assert_eq!(minutes(0), "0:00");
        assert_eq!(percent(1_800_000, 2_000_000), 90);
        assert_eq!(percent(1, 0), 100);
        assert!(valid_month("2026-03") && !valid_month("2026-13") && !valid_month("2026-3"));
    }
}
