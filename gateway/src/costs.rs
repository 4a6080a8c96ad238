//! Prices, spending and statements in the store (issue 15): the versioned price lists
//! (migration 0014) and the operator's changes to them, the rating of each external call as
//! it is recorded ([`crate::billing`] does the arithmetic), the month's spending against
//! the person's and the company's limits with the 80 % alert e-mails, and the reports (costs
//! by person, calls with their costs, the monthly statement as data and CSV).
//!
//! Months are calendar months in UTC. Spend limits cover calls only (not the monthly fees).
//! An external call is one an employee made (`caller_ext`) that reached no extension
//! (`callee_ext` is `None`) to a number of the phone network ([`crate::numbering::parse`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::{Row, SqliteConnection};
use tracing::{info, warn};
use utoipa::ToSchema;

use crate::billing::{
    self, CURRENCY, FlatRate, Micros, Month, MonthlyFees, PriceList, Rated, Rounding,
};
use crate::mail::{self, Lang};
use crate::mailqueue::{Outgoing, insert_mail};
use crate::store::{Store, StoreError};

/// At this share of a limit (percent) the alert e-mails go out.
pub const ALERT_PERCENT: i64 = 80;

/// A recorded call's rating, for [`crate::store::Store::record_calls`].
#[derive(Debug, Clone)]
pub struct RatedCall {
    /// The caller (employee id).
    pub employee: i64,
    pub rated: Rated,
    /// False when no price applied (no price list, or no rate for the class): the cost is
    /// left empty (NULL) rather than written as 0, and a warning logged.
    pub priced: bool,
}

/// Price lists by day, loaded once per batch of records.
#[derive(Default)]
pub struct PriceCache(HashMap<String, Option<PriceList>>);

/// The price list valid on `day` (`YYYY-MM-DD`): the latest that starts on or before it.
pub(crate) async fn price_list_on(
    conn: &mut SqliteConnection,
    day: &str,
) -> Result<Option<PriceList>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT valid_from, rounding, default_zone, extension_micros, number_block_micros, \
         flat_landline_micros, flat_landline_mobile_micros FROM price_lists \
         WHERE valid_from <= ? ORDER BY valid_from DESC LIMIT 1",
    )
    .bind(day)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let valid_from: String = row.get(0);
    let rounding: String = row.get(1);
    let per_minute = sqlx::query(
        "SELECT class, per_minute_micros FROM price_rates WHERE valid_from = ? ORDER BY class",
    )
    .bind(&valid_from)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let zones =
        sqlx::query("SELECT country, zone FROM price_zones WHERE valid_from = ? ORDER BY country")
            .bind(&valid_from)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    Ok(Some(PriceList {
        rounding: Rounding::parse(&rounding).unwrap_or(Rounding::PerMinute),
        default_zone: row.get(2),
        fees: MonthlyFees {
            extension: row.get(3),
            number_block: row.get(4),
            flat_landline: row.get(5),
            flat_landline_mobile: row.get(6),
        },
        valid_from,
        per_minute,
        zones,
    }))
}

/// Rates `c` if it is an external call (see the module's documentation).
pub(crate) async fn rate_record(
    conn: &mut SqliteConnection,
    cache: &mut PriceCache,
    c: &crate::core::CallRecord,
) -> Result<Option<RatedCall>, StoreError> {
    let (Some(ext), None) = (&c.caller_ext, &c.callee_ext) else {
        return Ok(None);
    };
    let Ok(dialled) = crate::numbering::parse(&c.dialled) else {
        return Ok(None);
    };
    let Some(row) =
        sqlx::query("SELECT id, flat_rate FROM employees WHERE company_id = ? AND ext = ?")
            .bind(c.company)
            .bind(ext)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    let employee: i64 = row.get(0);
    let flat = FlatRate::parse(row.get::<&str, _>(1)).unwrap_or_default();
    let day = billing::day_of_ms(c.started_ms);
    if !cache.0.contains_key(&day) {
        let list = price_list_on(conn, &day).await?;
        cache.0.insert(day.clone(), list);
    }
    let secs = billing::answered_seconds(c.answered_ms, c.ended_ms);
    let unpriced = |class_key: String| {
        warn!(company = c.company, call_id = %c.sip_call_id, class = %class_key, day = %day,
            "no price for an external call: its cost is left empty");
        RatedCall {
            employee,
            rated: Rated {
                class_key,
                billed_seconds: secs,
                cost: 0,
            },
            priced: false,
        }
    };
    Ok(Some(match &cache.0[&day] {
        Some(list) => match billing::rate(&dialled, secs, flat, list) {
            Ok(rated) => RatedCall {
                employee,
                rated,
                priced: true,
            },
            Err(billing::RateError::NoPrice { class_key, .. }) => unpriced(class_key),
        },
        None => {
            let none = PriceList {
                valid_from: String::new(),
                rounding: Rounding::PerSecond,
                per_minute: BTreeMap::new(),
                zones: BTreeMap::new(),
                default_zone: "international".into(),
                fees: MonthlyFees {
                    extension: 0,
                    number_block: 0,
                    flat_landline: 0,
                    flat_landline_mobile: 0,
                },
            };
            unpriced(billing::class_key(&dialled, &none))
        }
    }))
}

/// Where a person's and their company's spending stand this month (calls only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SpendStatus {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub person_spent_micros: Micros,
    /// The person's own limit, else the company's default for each person; `None`: none.
    pub person_limit_micros: Option<Micros>,
    pub company_spent_micros: Micros,
    pub company_limit_micros: Option<Micros>,
}

impl SpendStatus {
    /// A limit is used up: only internal and emergency calls may go through.
    pub fn limit_reached(&self) -> bool {
        self.person_limit_micros
            .is_some_and(|l| self.person_spent_micros >= l)
            || self
                .company_limit_micros
                .is_some_and(|l| self.company_spent_micros >= l)
    }
}

async fn spent(
    conn: &mut SqliteConnection,
    company: i64,
    employee: Option<i64>,
    month: Month,
) -> Result<Micros, StoreError> {
    Ok(sqlx::query(
        "SELECT COALESCE(SUM(cost_micros), 0) FROM calls WHERE company_id = ?1 \
         AND (?2 IS NULL OR caller_id = ?2) AND started_ms >= ?3 AND started_ms < ?4",
    )
    .bind(company)
    .bind(employee)
    .bind(month.start_ms())
    .bind(month.end_ms())
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

/// A person as the alerts and limits need them.
struct Payer {
    name: String,
    ext: String,
    email: Option<String>,
    lang: Lang,
    person_limit: Option<Micros>,
    company_limit: Option<Micros>,
    company_name: String,
}

async fn payer(
    conn: &mut SqliteConnection,
    company: i64,
    employee: i64,
) -> Result<Option<Payer>, StoreError> {
    Ok(sqlx::query(
        "SELECT e.name, e.ext, e.email, e.language, \
         COALESCE(e.spend_limit_micros, c.person_spend_limit_micros), c.spend_limit_micros, c.name \
         FROM employees e JOIN companies c ON c.id = e.company_id WHERE e.id = ? AND e.company_id = ?",
    )
    .bind(employee)
    .bind(company)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| Payer {
        name: r.get(0),
        ext: r.get(1),
        email: r.get(2),
        lang: r
            .get::<Option<&str>, _>(3)
            .and_then(Lang::parse)
            .unwrap_or_default(),
        person_limit: r.get(4),
        company_limit: r.get(5),
        company_name: r.get(6),
    }))
}

/// After calls were charged (company, caller, start): the alerts of every limit they took
/// past [`ALERT_PERCENT`] this month, recorded in `spend_alerts` so that each limit's
/// alert goes out once a month, and queued as e-mails (to the person and the company's
/// admins; for the company's limit, to its admins). Returns how many e-mails were queued.
pub(crate) async fn queue_spend_alerts(
    conn: &mut SqliteConnection,
    charged: &[(i64, i64, i64)],
) -> Result<usize, StoreError> {
    let mut limits = BTreeSet::new();
    for &(company, employee, started_ms) in charged {
        let month = Month::of_ms(started_ms);
        limits.insert((company, Some(employee), month));
        limits.insert((company, None, month));
    }
    let mut queued = 0;
    let now = crate::accounts::unix_now() * 1000;
    for (company, employee, month) in limits {
        let payer_employee = match employee {
            Some(e) => e,
            // The company's limit: any of the callers' rows reads it.
            None => match charged.iter().find(|c| c.0 == company) {
                Some(c) => c.1,
                None => continue,
            },
        };
        let Some(p) = payer(conn, company, payer_employee).await? else {
            continue;
        };
        let limit = match employee {
            Some(_) => p.person_limit,
            None => p.company_limit,
        };
        let Some(limit) = limit else { continue };
        let spent = spent(conn, company, employee, month).await?;
        if !billing::reached(spent, limit, ALERT_PERCENT) {
            continue;
        }
        let fresh = sqlx::query(
            "INSERT INTO spend_alerts (company_id, employee_id, month, sent_ms) VALUES (?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(company)
        .bind(employee.unwrap_or(0))
        .bind(month.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
        if !fresh {
            continue;
        }
        let who = match employee {
            Some(_) => format!("{} ({})", p.name, p.ext),
            None => p.company_name.clone(),
        };
        let mut to: Vec<(String, String, Lang)> = sqlx::query(
            "SELECT name, email, language FROM employees WHERE company_id = ? AND role = 'admin' \
             AND email IS NOT NULL ORDER BY id",
        )
        .bind(company)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get::<Option<&str>, _>(2)
                    .and_then(Lang::parse)
                    .unwrap_or_default(),
            )
        })
        .collect();
        if employee.is_some()
            && let Some(email) = &p.email
            && !to.iter().any(|t| &t.1 == email)
        {
            to.push((p.name.clone(), email.clone(), p.lang));
        }
        let percent = if limit == 0 {
            100
        } else {
            spent.saturating_mul(100) / limit
        };
        let (month_s, spent_s, limit_s) = (
            month.to_string(),
            billing::format_pln(spent),
            billing::format_pln(limit),
        );
        for (name, email, lang) in to {
            // Polish writes a decimal comma.
            let local = |amount: &str| match lang {
                Lang::Pl => amount.replace('.', ","),
                Lang::En => amount.to_string(),
            };
            let letter = mail::spend_alert(
                lang,
                &mail::SpendAlert {
                    name: &name,
                    who: &who,
                    company: &p.company_name,
                    month: &month_s,
                    spent: &local(&spent_s),
                    limit: &local(&limit_s),
                    percent,
                },
            );
            insert_mail(
                conn,
                &Outgoing {
                    to_name: name,
                    to: email,
                    letter,
                    link: String::new(),
                    kind: "spend_alert",
                    attachment: None,
                },
                0,
            )
            .await?;
            queued += 1;
        }
        info!(company, employee = ?employee, month = %month, percent, "spend alert queued");
    }
    Ok(queued)
}

/// One change to the prices from a day on (`centrala prices set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceChange {
    /// The price per minute of a class key.
    Rate {
        class: String,
        per_minute: Micros,
    },
    Rounding(Rounding),
    /// A monthly fee ([`MonthlyFees::NAMES`]).
    Fee {
        name: String,
        amount: Micros,
    },
    /// A country's zone (a class key, `intl_zone…`).
    Zone {
        country: String,
        zone: String,
    },
    /// The zone of countries not listed.
    DefaultZone(String),
}

impl PriceChange {
    /// Whether the change names a real class, fee, zone or country (checked before any
    /// change is made, so a command of several changes is refused whole).
    pub fn check(&self) -> Result<(), StoreError> {
        match self {
            PriceChange::Rate { class, .. } if !rateable_class(class) => {
                return Err(StoreError::Invalid(format!(
                    "{class:?} is not a class with a price (landline, mobile, premium, special, intl_freephone, intl_zone1, intl_zone2…; emergency and toll_free are free)"
                )));
            }
            PriceChange::Fee { name, .. } if !MonthlyFees::NAMES.contains(&name.as_str()) => {
                return Err(StoreError::Invalid(format!(
                    "{name:?} is not a fee ({})",
                    MonthlyFees::NAMES.join(", ")
                )));
            }
            PriceChange::Zone { zone, .. } | PriceChange::DefaultZone(zone)
                if !zone.starts_with("intl_zone") || !rateable_class(zone) =>
            {
                return Err(StoreError::Invalid(format!(
                    "{zone:?} is not a zone (intl_zone1, intl_zone2…)"
                )));
            }
            PriceChange::Zone { country, .. }
                if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                return Err(StoreError::Invalid(format!(
                    "{country:?} is not a country code (two capital letters, e.g. DE)"
                )));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Whether `key` may name a class in the price table (a zone key is any `intl_` key).
pub(crate) fn rateable_class(key: &str) -> bool {
    matches!(
        key,
        "landline" | "mobile" | "premium" | "special" | "intl_freephone"
    ) || (key.starts_with("intl_zone")
        && key.len() > "intl_zone".len()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
}

/// The company's billing settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BillingSettings {
    /// The company's monthly limit on calls; `null`: none.
    pub spend_limit_micros: Option<Micros>,
    /// Each person's monthly limit unless they have their own; `null`: none.
    pub person_spend_limit_micros: Option<Micros>,
}

/// A person's costs in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PersonCosts {
    pub employee_id: i64,
    pub name: String,
    pub extension: String,
    /// `none`, `landline`, `landline_mobile`.
    pub flat_rate: String,
    /// Their own limit (`null`: the company's default applies).
    pub spend_limit_micros: Option<Micros>,
    /// External calls made (answered or not).
    pub calls: i64,
    pub billed_seconds: i64,
    pub cost_micros: Micros,
}

/// Everyone's call costs in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CostsByPerson {
    pub month: String,
    pub currency: String,
    pub people: Vec<PersonCosts>,
    /// Calls of people no longer in the company (their rows are gone).
    pub former_employees_cost_micros: Micros,
    pub total_cost_micros: Micros,
    pub settings: BillingSettings,
}

/// An external call with its cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CostCall {
    pub id: i64,
    pub employee_id: Option<i64>,
    pub caller_name: Option<String>,
    pub caller_number: String,
    pub dialled: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub outcome: String,
    pub class: String,
    pub billed_seconds: i64,
    /// `null`: no price applied (see the logs).
    pub cost_micros: Option<Micros>,
}

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatementLine {
    /// `subscription` (extensions), `numbers` (blocks of ten), `flat_landline`,
    /// `flat_landline_mobile`, `calls`.
    pub item: String,
    /// For `calls`: the class key.
    pub class: Option<String>,
    /// Extensions, blocks, people with the flat rate, or calls.
    pub quantity: i64,
    /// The monthly fee per unit (not for calls).
    pub unit_micros: Option<Micros>,
    /// For calls.
    pub billed_seconds: Option<i64>,
    pub amount_micros: Micros,
}

/// A month's statement: the company's (subscriptions, numbers, flat rates and calls), or
/// one person's (their flat rate and calls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Statement {
    pub month: String,
    pub currency: String,
    /// Whose: `null` for the company's.
    pub employee_id: Option<i64>,
    /// The price list of the month's fees (valid on its first day).
    pub prices_from: String,
    pub lines: Vec<StatementLine>,
    pub total_micros: Micros,
}

impl Statement {
    /// As CSV: a header, one row per line, and the total (amounts in złoty).
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([
            "month",
            "item",
            "class",
            "quantity",
            "unit_price_pln",
            "billed_seconds",
            "amount_pln",
        ]);
        for l in &self.lines {
            let _ = w.write_record([
                self.month.as_str(),
                &l.item,
                l.class.as_deref().unwrap_or(""),
                &l.quantity.to_string(),
                &l.unit_micros.map(billing::format_pln).unwrap_or_default(),
                &l.billed_seconds.map(|s| s.to_string()).unwrap_or_default(),
                &billing::format_pln(l.amount_micros),
            ]);
        }
        let _ = w.write_record([
            self.month.as_str(),
            "total",
            "",
            "",
            "",
            "",
            &billing::format_pln(self.total_micros),
        ]);
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

impl Store {
    /// The price list valid on `day` (`YYYY-MM-DD`).
    pub async fn price_list_on(&self, day: &str) -> Result<Option<PriceList>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        price_list_on(&mut conn, day).await
    }

    /// Every price list, oldest first.
    pub async fn price_lists(&self) -> Result<Vec<PriceList>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let days: Vec<String> =
            sqlx::query_scalar("SELECT valid_from FROM price_lists ORDER BY valid_from")
                .fetch_all(&mut *conn)
                .await?;
        let mut out = Vec::new();
        for d in days {
            out.extend(price_list_on(&mut conn, &d).await?);
        }
        Ok(out)
    }

    /// Changes the prices valid from `from` (`YYYY-MM-DD`) on: the list starting that day,
    /// made first as a copy of the one valid the day before if there is none. Calls already
    /// recorded keep their cost. Returns the list as it is now.
    pub async fn change_prices(
        &self,
        from: &str,
        change: &PriceChange,
    ) -> Result<PriceList, StoreError> {
        if !billing::valid_day(from) {
            return Err(StoreError::Invalid(format!(
                "{from:?} is not a day (YYYY-MM-DD)"
            )));
        }
        change.check()?;
        // IMMEDIATE: it reads before it writes (see `Store::record_calls`).
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM price_lists WHERE valid_from = ?)")
                .bind(from)
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            let Some(base) = price_list_on(&mut tx, from).await? else {
                return Err(StoreError::Invalid(format!(
                    "no price list is valid before {from} to start from"
                )));
            };
            sqlx::query(
                "INSERT INTO price_lists (valid_from, rounding, default_zone, extension_micros, \
                 number_block_micros, flat_landline_micros, flat_landline_mobile_micros) \
                 SELECT ?1, rounding, default_zone, extension_micros, number_block_micros, \
                 flat_landline_micros, flat_landline_mobile_micros FROM price_lists WHERE valid_from = ?2",
            )
            .bind(from)
            .bind(&base.valid_from)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO price_rates (valid_from, class, per_minute_micros) \
                 SELECT ?1, class, per_minute_micros FROM price_rates WHERE valid_from = ?2",
            )
            .bind(from)
            .bind(&base.valid_from)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO price_zones (valid_from, country, zone) \
                 SELECT ?1, country, zone FROM price_zones WHERE valid_from = ?2",
            )
            .bind(from)
            .bind(&base.valid_from)
            .execute(&mut *tx)
            .await?;
        }
        match change {
            PriceChange::Rate { class, per_minute } => {
                sqlx::query(
                    "INSERT INTO price_rates (valid_from, class, per_minute_micros) VALUES (?, ?, ?) \
                     ON CONFLICT (valid_from, class) DO UPDATE SET per_minute_micros = excluded.per_minute_micros",
                )
                .bind(from)
                .bind(class)
                .bind(per_minute)
                .execute(&mut *tx)
                .await?;
            }
            PriceChange::Rounding(r) => {
                sqlx::query("UPDATE price_lists SET rounding = ? WHERE valid_from = ?")
                    .bind(r.as_str())
                    .bind(from)
                    .execute(&mut *tx)
                    .await?;
            }
            PriceChange::Fee { name, amount } => {
                // The column name comes from the fixed list checked above.
                let column = format!("{name}_micros");
                sqlx::query(&format!(
                    "UPDATE price_lists SET {column} = ? WHERE valid_from = ?"
                ))
                .bind(amount)
                .bind(from)
                .execute(&mut *tx)
                .await?;
            }
            PriceChange::Zone { country, zone } => {
                sqlx::query(
                    "INSERT INTO price_zones (valid_from, country, zone) VALUES (?, ?, ?) \
                     ON CONFLICT (valid_from, country) DO UPDATE SET zone = excluded.zone",
                )
                .bind(from)
                .bind(country)
                .bind(zone)
                .execute(&mut *tx)
                .await?;
            }
            PriceChange::DefaultZone(zone) => {
                sqlx::query("UPDATE price_lists SET default_zone = ? WHERE valid_from = ?")
                    .bind(zone)
                    .bind(from)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let list = price_list_on(&mut tx, from)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("no price list from {from}")))?;
        tx.commit().await?;
        Ok(list)
    }

    /// Whether `employee`'s limit (`person_limit`: theirs or the company's default) or the
    /// company's (`company_limit`) is reached this month; the sums are read only for a
    /// limit that is set (the limits come with the person's row, see `find_sip_user`).
    pub async fn spend_limit_reached(
        &self,
        company: i64,
        employee: i64,
        (person_limit, company_limit): (Option<Micros>, Option<Micros>),
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        if person_limit.is_none() && company_limit.is_none() {
            return Ok(false);
        }
        let mut conn = self.pool().acquire().await?;
        let month = Month::of_ms(now_ms);
        if let Some(limit) = person_limit
            && spent(&mut conn, company, Some(employee), month).await? >= limit
        {
            return Ok(true);
        }
        if let Some(limit) = company_limit
            && spent(&mut conn, company, None, month).await? >= limit
        {
            return Ok(true);
        }
        Ok(false)
    }

    /// Where `employee`'s and their company's call spending stand in the calendar month
    /// (UTC) of `now_ms`. For the core: at [`SpendStatus::limit_reached`] only internal
    /// and emergency calls may go through. `NotFound` when the employee is not the
    /// company's.
    pub async fn spend_status(
        &self,
        company: i64,
        employee: i64,
        now_ms: i64,
    ) -> Result<SpendStatus, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let p = payer(&mut conn, company, employee)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("employee {employee}")))?;
        let month = Month::of_ms(now_ms);
        Ok(SpendStatus {
            month: month.to_string(),
            person_spent_micros: spent(&mut conn, company, Some(employee), month).await?,
            person_limit_micros: p.person_limit,
            company_spent_micros: spent(&mut conn, company, None, month).await?,
            company_limit_micros: p.company_limit,
        })
    }

    pub async fn billing_settings(&self, company: i64) -> Result<BillingSettings, StoreError> {
        let r = sqlx::query(
            "SELECT spend_limit_micros, person_spend_limit_micros FROM companies WHERE id = ?",
        )
        .bind(company)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound("company".into()))?;
        Ok(BillingSettings {
            spend_limit_micros: r.get(0),
            person_spend_limit_micros: r.get(1),
        })
    }

    pub async fn set_billing_settings(
        &self,
        company: i64,
        s: &BillingSettings,
    ) -> Result<(), StoreError> {
        for (field, v) in [
            ("spend_limit_micros", s.spend_limit_micros),
            ("person_spend_limit_micros", s.person_spend_limit_micros),
        ] {
            if v.is_some_and(|v| v < 0) {
                return Err(StoreError::Field {
                    field,
                    message: "must be 0 or more (or null for no limit)".into(),
                });
            }
        }
        sqlx::query(
            "UPDATE companies SET spend_limit_micros = ?, person_spend_limit_micros = ? WHERE id = ?",
        )
        .bind(s.spend_limit_micros)
        .bind(s.person_spend_limit_micros)
        .bind(company)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets a person's flat rate and own limit (`None`: the company's default). False when
    /// the employee is not the company's.
    pub async fn set_employee_billing(
        &self,
        company: i64,
        employee: i64,
        flat_rate: FlatRate,
        spend_limit: Option<Micros>,
    ) -> Result<bool, StoreError> {
        if spend_limit.is_some_and(|v| v < 0) {
            return Err(StoreError::Field {
                field: "spend_limit_micros",
                message: "must be 0 or more (or null for the company's default)".into(),
            });
        }
        let res = sqlx::query(
            "UPDATE employees SET flat_rate = ?, spend_limit_micros = ? WHERE id = ? AND company_id = ?",
        )
        .bind(flat_rate.as_str())
        .bind(spend_limit)
        .bind(employee)
        .bind(company)
        .execute(self.pool())
        .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Everyone's external calls and their costs in `month`.
    pub async fn costs_by_person(
        &self,
        company: i64,
        month: Month,
    ) -> Result<CostsByPerson, StoreError> {
        let people: Vec<PersonCosts> = sqlx::query(
            "SELECT e.id, e.name, e.ext, e.flat_rate, e.spend_limit_micros, COUNT(c.id), \
             COALESCE(SUM(c.billed_seconds), 0), COALESCE(SUM(c.cost_micros), 0) \
             FROM employees e LEFT JOIN calls c ON c.caller_id = e.id AND c.company_id = e.company_id \
             AND c.class IS NOT NULL AND c.started_ms >= ?2 AND c.started_ms < ?3 \
             WHERE e.company_id = ?1 GROUP BY e.id ORDER BY e.ext",
        )
        .bind(company)
        .bind(month.start_ms())
        .bind(month.end_ms())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| PersonCosts {
            employee_id: r.get(0),
            name: r.get(1),
            extension: r.get(2),
            flat_rate: r.get(3),
            spend_limit_micros: r.get(4),
            calls: r.get(5),
            billed_seconds: r.get(6),
            cost_micros: r.get(7),
        })
        .collect();
        let mut conn = self.pool().acquire().await?;
        let total = spent(&mut conn, company, None, month).await?;
        let people_total: Micros = people.iter().map(|p| p.cost_micros).sum();
        Ok(CostsByPerson {
            month: month.to_string(),
            currency: CURRENCY.into(),
            people,
            former_employees_cost_micros: total - people_total,
            total_cost_micros: total,
            settings: self.billing_settings(company).await?,
        })
    }

    /// External calls in `month`, newest first: the company's, or one person's.
    pub async fn cost_calls(
        &self,
        company: i64,
        employee: Option<i64>,
        month: Month,
        limit: i64,
        offset: i64,
    ) -> Result<(i64, Vec<CostCall>), StoreError> {
        let filter = "FROM calls c LEFT JOIN employees e ON e.id = c.caller_id \
             WHERE c.company_id = ?1 AND c.class IS NOT NULL AND (?2 IS NULL OR c.caller_id = ?2) \
             AND c.started_ms >= ?3 AND c.started_ms < ?4";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {filter}"))
            .bind(company)
            .bind(employee)
            .bind(month.start_ms())
            .bind(month.end_ms())
            .fetch_one(self.pool())
            .await?;
        let items = sqlx::query(&format!(
            "SELECT c.id, c.caller_id, COALESCE(e.name, c.caller_name), c.caller_number, c.dialled, \
             c.started_ms, c.outcome, c.class, c.billed_seconds, c.cost_micros {filter} \
             ORDER BY c.started_ms DESC, c.id DESC LIMIT ?5 OFFSET ?6"
        ))
        .bind(company)
        .bind(employee)
        .bind(month.start_ms())
        .bind(month.end_ms())
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| CostCall {
            id: r.get(0),
            employee_id: r.get(1),
            caller_name: r.get(2),
            caller_number: r.get(3),
            dialled: r.get(4),
            started_at: crate::accounts::rfc3339(r.get::<i64, _>(5).div_euclid(1000)),
            outcome: r.get(6),
            class: r.get(7),
            billed_seconds: r.get::<Option<i64>, _>(8).unwrap_or(0),
            cost_micros: r.get(9),
        })
        .collect();
        Ok((total, items))
    }

    /// The statement of `month`: the company's (`employee` `None`: subscriptions for the
    /// extensions that existed by the month's end, blocks of ten numbers, flat rates as set
    /// now, and calls by class), or one person's (their flat rate and calls). Fees come
    /// from the price list valid on the month's first day.
    pub async fn statement(
        &self,
        company: i64,
        employee: Option<i64>,
        month: Month,
    ) -> Result<Statement, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let prices = price_list_on(&mut conn, &month.first_day())
            .await?
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "there are no prices for {month} (none valid on its first day)"
                ))
            })?;
        let end_secs = month.end_ms() / 1000;
        let mut lines = Vec::new();
        let fee_line = |item: &str, quantity: i64, unit: Micros| StatementLine {
            item: item.into(),
            class: None,
            quantity,
            unit_micros: Some(unit),
            billed_seconds: None,
            amount_micros: quantity * unit,
        };
        if employee.is_none() {
            let extensions: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM employees WHERE company_id = ? AND created_at < ?",
            )
            .bind(company)
            .bind(end_secs)
            .fetch_one(&mut *conn)
            .await?;
            lines.push(fee_line("subscription", extensions, prices.fees.extension));
            let blocks: i64 = sqlx::query_scalar(
                "SELECT COALESCE(SUM((size + 9) / 10), 0) FROM number_blocks \
                 WHERE company_id = ? AND created_at < ?",
            )
            .bind(company)
            .bind(end_secs)
            .fetch_one(&mut *conn)
            .await?;
            if blocks > 0 {
                lines.push(fee_line("numbers", blocks, prices.fees.number_block));
            }
        }
        for flat in [FlatRate::Landline, FlatRate::LandlineMobile] {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM employees WHERE company_id = ?1 AND flat_rate = ?2 \
                 AND created_at < ?3 AND (?4 IS NULL OR id = ?4)",
            )
            .bind(company)
            .bind(flat.as_str())
            .bind(end_secs)
            .bind(employee)
            .fetch_one(&mut *conn)
            .await?;
            if n > 0 {
                lines.push(fee_line(
                    &format!("flat_{}", flat.as_str()),
                    n,
                    prices.fees.flat(flat),
                ));
            }
        }
        let calls = sqlx::query(
            "SELECT class, COUNT(*), COALESCE(SUM(billed_seconds), 0), COALESCE(SUM(cost_micros), 0) \
             FROM calls WHERE company_id = ?1 AND class IS NOT NULL AND billed_seconds > 0 \
             AND (?2 IS NULL OR caller_id = ?2) \
             AND started_ms >= ?3 AND started_ms < ?4 GROUP BY class ORDER BY class",
        )
        .bind(company)
        .bind(employee)
        .bind(month.start_ms())
        .bind(month.end_ms())
        .fetch_all(&mut *conn)
        .await?;
        for r in calls {
            lines.push(StatementLine {
                item: "calls".into(),
                class: Some(r.get(0)),
                quantity: r.get(1),
                unit_micros: None,
                billed_seconds: Some(r.get(2)),
                amount_micros: r.get(3),
            });
        }
        Ok(Statement {
            month: month.to_string(),
            currency: CURRENCY.into(),
            employee_id: employee,
            prices_from: prices.valid_from,
            total_micros: lines.iter().map(|l| l.amount_micros).sum(),
            lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;
    use crate::core::{CallRecord, Outcome};

    /// 2026-03-10 12:00 UTC.
    const MARCH: i64 = 1_773_144_000_000;

    fn call(id: &str, from: &str, dialled: &str, callee: Option<&str>, secs: i64) -> CallRecord {
        CallRecord {
            company: 0,
            sip_call_id: id.into(),
            caller_ext: Some(from.into()),
            caller_number: from.into(),
            caller_name: None,
            dialled: dialled.into(),
            callee_ext: callee.map(Into::into),
            callee_name: None,
            started_ms: MARCH,
            answered_ms: (secs > 0).then_some(MARCH + 5_000),
            ended_ms: MARCH + 5_000 + secs * 1000,
            outcome: if secs > 0 {
                Outcome::Answered
            } else {
                Outcome::Missed
            },
            status: (secs == 0).then_some(487),
            answered_device: None,
            diverted_from: None,
            diversion: None,
        }
    }

    async fn row(store: &Store, id: &str) -> (Option<String>, Option<i64>, Option<i64>) {
        let r = sqlx::query(
            "SELECT class, billed_seconds, cost_micros FROM calls WHERE sip_call_id = ?",
        )
        .bind(id)
        .fetch_one(store.pool())
        .await
        .unwrap();
        (r.get(0), r.get(1), r.get(2))
    }

    async fn alerts(store: &Store) -> Vec<(String, String)> {
        sqlx::query(
            "SELECT to_addr, subject FROM mail_queue WHERE kind = 'spend_alert' ORDER BY id",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    }

    #[tokio::test]
    async fn calls_are_rated_when_recorded_and_limits_alert_once_a_month() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let c = store
            .create_company("Acme", "acme.example", 3)
            .await
            .unwrap();
        let anna = store
            .add_sip_user(c.id, "101", "Anna", "anna-secret", "acme.example")
            .await
            .unwrap();
        let bob = store
            .add_sip_user(c.id, "102", "Bob", "bob-secret", "acme.example")
            .await
            .unwrap();
        store
            .set_login(anna, Some("anna@acme.test"), Some(Role::Admin))
            .await
            .unwrap();
        store
            .set_login(bob, Some("bob@acme.test"), None)
            .await
            .unwrap();
        store.set_language(bob, Some(Lang::Pl)).await.unwrap();
        // The seed is PRODUCT.md's price list, as billing.rs's tests use it.
        let seed = store.price_list_on("2026-03-10").await.unwrap().unwrap();
        let test_seed = billing::tests::seed(Rounding::PerMinute);
        assert_eq!(
            (
                &seed.per_minute,
                seed.fees,
                seed.rounding,
                &seed.default_zone
            ),
            (
                &test_seed.per_minute,
                test_seed.fees,
                test_seed.rounding,
                &test_seed.default_zone
            )
        );
        for (country, zone) in &test_seed.zones {
            assert_eq!(seed.zones.get(country), Some(zone), "{country}");
        }
        assert_eq!(seed.zones.get("JP"), None);
        assert_eq!(store.price_list_on("2025-12-31").await.unwrap(), None);
        assert!(
            store
                .set_employee_billing(c.id, bob, FlatRate::Landline, Some(2_000_000))
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_employee_billing(c.id + 1, bob, FlatRate::None, None)
                .await
                .unwrap(),
            "another company's employee"
        );
        let mut calls = vec![
            call("landline", "101", "22 600 61 00", None, 61),
            call("internal", "101", "102", Some("102"), 300),
            call("emergency", "101", "112", None, 60),
            call("unanswered", "101", "601 234 567", None, 0),
            call("germany", "101", "+49 30 12345678", None, 30),
            call("bob-flat", "102", "22 600 61 00", None, 600),
            call("bob-mobile", "102", "601 234 567", None, 600),
        ];
        for c2 in &mut calls {
            c2.company = c.id;
        }
        // An outside caller through a trunk is not charged.
        let mut inbound = call("inbound", "101", "101", Some("101"), 60);
        inbound.company = c.id;
        inbound.caller_ext = None;
        calls.push(inbound);
        store.record_calls(&calls).await.unwrap();
        assert_eq!(
            row(&store, "landline").await,
            (Some("landline".into()), Some(120), Some(100_000))
        );
        assert_eq!(row(&store, "internal").await, (None, None, None));
        assert_eq!(row(&store, "inbound").await, (None, None, None));
        assert_eq!(
            row(&store, "emergency").await,
            (Some("emergency".into()), Some(60), Some(0))
        );
        assert_eq!(
            row(&store, "unanswered").await,
            (Some("mobile".into()), Some(0), Some(0))
        );
        assert_eq!(
            row(&store, "germany").await,
            (Some("intl_zone1".into()), Some(60), Some(200_000))
        );
        assert_eq!(
            row(&store, "bob-flat").await,
            (Some("landline".into()), Some(600), Some(0))
        );
        assert_eq!(
            row(&store, "bob-mobile").await,
            (Some("mobile".into()), Some(600), Some(1_200_000))
        );
        // Bob spent 1.20 of his 2.00: under 80 %, no alert yet.
        let s = store.spend_status(c.id, bob, MARCH).await.unwrap();
        assert_eq!(
            s,
            SpendStatus {
                month: "2026-03".into(),
                person_spent_micros: 1_200_000,
                person_limit_micros: Some(2_000_000),
                company_spent_micros: 1_500_000,
                company_limit_micros: None,
            }
        );
        assert!(!s.limit_reached());
        assert!(alerts(&store).await.is_empty());
        assert!(matches!(
            store.spend_status(c.id + 1, bob, MARCH).await,
            Err(StoreError::NotFound(_))
        ));
        // Next month starts afresh.
        let april = store
            .spend_status(c.id, bob, Month::parse("2026-04").unwrap().start_ms())
            .await
            .unwrap();
        assert_eq!(
            (april.person_spent_micros, april.company_spent_micros),
            (0, 0)
        );
        // A company limit of 2.50 and a price change from 2026-03-11: mobiles 0.20/min.
        store
            .set_billing_settings(
                c.id,
                &BillingSettings {
                    spend_limit_micros: Some(2_500_000),
                    person_spend_limit_micros: None,
                },
            )
            .await
            .unwrap();
        let changed = store
            .change_prices(
                "2026-03-11",
                &PriceChange::Rate {
                    class: "mobile".into(),
                    per_minute: 200_000,
                },
            )
            .await
            .unwrap();
        assert_eq!(changed.per_minute["mobile"], 200_000);
        assert_eq!(changed.per_minute["landline"], 50_000, "copied");
        assert_eq!(changed.zones["DE"], "intl_zone1", "copied");
        assert_eq!(store.price_lists().await.unwrap().len(), 2);
        // Bob's 3 minutes to a mobile on 2026-03-12 (0.60) take him to 1.80 of 2.00 (90 %)
        // and the company to 2.10 of 2.50 (84 %): both alerts, once each.
        let mut more = call("bob-mobile-2", "102", "601 234 567", None, 180);
        more.company = c.id;
        more.started_ms += 2 * 86_400_000;
        more.answered_ms = more.answered_ms.map(|a| a + 2 * 86_400_000);
        more.ended_ms += 2 * 86_400_000;
        store
            .record_calls(std::slice::from_ref(&more))
            .await
            .unwrap();
        assert_eq!(
            row(&store, "bob-mobile-2").await,
            (Some("mobile".into()), Some(180), Some(600_000))
        );
        let sent = alerts(&store).await;
        assert_eq!(
            sent,
            [
                (
                    "anna@acme.test".to_string(),
                    "Acme: 84 % of the monthly call limit".to_string()
                ),
                (
                    "anna@acme.test".to_string(),
                    "Bob (102): 90 % of the monthly call limit".to_string()
                ),
                (
                    "bob@acme.test".to_string(),
                    "Bob (102): 90 % miesięcznego limitu na połączenia".to_string()
                ),
            ]
        );
        let mut again = more.clone();
        again.sip_call_id = "bob-mobile-3".into();
        store.record_calls(&[again]).await.unwrap();
        assert_eq!(alerts(&store).await.len(), 3, "once per limit and month");
        let s = store
            .spend_status(c.id, bob, more.started_ms)
            .await
            .unwrap();
        assert_eq!(s.person_spent_micros, 2_400_000);
        assert!(s.limit_reached());
        // The statement: two extensions, the flat rate, and calls by class.
        store
            .add_number_block(c.id, "+48226006100", 20, Some("100"))
            .await
            .unwrap();
        let st = store
            .statement(c.id, None, Month::parse("2026-03").unwrap())
            .await;
        // The block and the people were made now (after March): not in March's statement.
        let st = st.unwrap();
        assert_eq!(st.lines.iter().map(|l| l.quantity).next(), Some(0));
        let now = Month::of_ms(crate::accounts::unix_now() * 1000);
        let st = store.statement(c.id, None, now).await.unwrap();
        let line = |item: &str| st.lines.iter().find(|l| l.item == item).unwrap().clone();
        assert_eq!(line("subscription").amount_micros, 2 * 28_800_000);
        assert_eq!(line("numbers").quantity, 2);
        assert_eq!(line("numbers").amount_micros, 8_400_000);
        assert_eq!(line("flat_landline").amount_micros, 10_000_000);
        assert_eq!(st.total_micros, 57_600_000 + 8_400_000 + 10_000_000);
        let csv = st.to_csv();
        assert!(
            csv.starts_with("month,item,class,quantity,unit_price_pln,billed_seconds,amount_pln\n")
        );
        assert!(csv.contains(",subscription,,2,28.80,,57.60\n"), "{csv}");
        assert!(csv.ends_with(",total,,,,,76.00\n"), "{csv}");
        // March's calls, company-wide and Bob's own.
        let march = Month::parse("2026-03").unwrap();
        let by = store.costs_by_person(c.id, march).await.unwrap();
        assert_eq!(
            by.total_cost_micros,
            100_000 + 200_000 + 1_200_000 + 1_200_000
        );
        let bob_row = by.people.iter().find(|p| p.employee_id == bob).unwrap();
        assert_eq!((bob_row.calls, bob_row.cost_micros), (4, 2_400_000));
        assert_eq!(bob_row.flat_rate, "landline");
        assert_eq!(by.former_employees_cost_micros, 0);
        let (n, list) = store
            .cost_calls(c.id, Some(bob), march, 10, 0)
            .await
            .unwrap();
        assert_eq!(n, 4);
        assert!(list.iter().all(|c| c.employee_id == Some(bob)));
        let (n, _) = store.cost_calls(c.id, None, march, 10, 0).await.unwrap();
        assert_eq!(n, 8);
        let mine = store.statement(c.id, Some(bob), march).await.unwrap();
        assert_eq!(mine.total_micros, 2_400_000, "flat rate made after March");
        // Bad changes are refused.
        for bad in [
            PriceChange::Rate {
                class: "toll_free".into(),
                per_minute: 1,
            },
            PriceChange::Fee {
                name: "password_hash".into(),
                amount: 1,
            },
            PriceChange::Zone {
                country: "de".into(),
                zone: "intl_zone1".into(),
            },
            PriceChange::DefaultZone("mobile".into()),
        ] {
            assert!(
                matches!(
                    store.change_prices("2026-04-01", &bad).await,
                    Err(StoreError::Invalid(_))
                ),
                "{bad:?}"
            );
        }
        assert!(
            store
                .change_prices("2025-06-01", &PriceChange::Rounding(Rounding::PerSecond))
                .await
                .is_err(),
            "nothing to start from"
        );
    }
}
