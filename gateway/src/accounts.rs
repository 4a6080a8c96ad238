//! Companies, employees, number blocks, web sessions, one-time links and API tokens: the
//! admin side of the store; and each person's own things: language, favourite colleagues,
//! personal phone book and call history. Every query names the company it works in (and
//! for personal things, the person), so nothing of one company is reachable from another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use utoipa::ToSchema;

use crate::calling::NumberTarget;
use crate::mail::Lang;
use crate::store::{Store, StoreError};

// ---- password hashing, off the async workers ----

/// How long a password check may wait for a hashing thread before the caller is told to
/// come back later (503).
pub const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Argon2 runs on tokio's blocking threads, at most one per core but one (so SIP and HTTP
/// keep a core): a burst of logins queues here instead of stalling the async workers.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores.saturating_sub(1).max(1))
    })
}

/// Runs `work` on a blocking thread once one of `permits` is free; [`StoreError::Busy`]
/// when none is within `wait`.
async fn hashing<T: Send + 'static>(
    permits: &tokio::sync::Semaphore,
    wait: std::time::Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    let permit = tokio::time::timeout(wait, permits.acquire())
        .await
        .map_err(|_| StoreError::Busy)?
        .map_err(|_| StoreError::Busy)?;
    let out = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Invalid(format!("password hashing failed: {e}")))?;
    drop(permit);
    Ok(out)
}

/// An argon2 hash of a web password, made on a hashing thread.
pub async fn hash_password(password: &str) -> Result<String, StoreError> {
    let password = password.to_string();
    hashing(hashing_permits(), HASH_WAIT, move || {
        crate::store::hash_password(&password)
    })
    .await?
}

/// Checks a web password against its argon2 hash on a hashing thread. With no hash (no such
/// account, or no password yet) the same work is done against a dummy, so the answer's time
/// does not tell who has an account.
pub async fn verify_password(password: &str, hash: Option<&str>) -> Result<bool, StoreError> {
    let (password, hash) = (password.to_string(), hash.map(str::to_string));
    hashing(hashing_permits(), HASH_WAIT, move || match hash {
        Some(h) => crate::store::verify_password(&password, &h),
        None => {
            let _ = crate::store::verify_password(&password, dummy_hash());
            false
        }
    })
    .await
}

/// The installation's first company: the command line's `user add` works in it, and SIP
/// requests for an unknown host (an IP address) are taken to be for it.
pub const DEFAULT_COMPANY: i64 = 1;

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// RFC 3339 for the API.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A random token for a cookie, a link or an API token (256 bits, URL-safe).
pub fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What is stored of a token: its SHA-256.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Company {
    pub id: i64,
    pub name: String,
    /// The company's SIP domain (and digest realm).
    pub domain: String,
    /// Digits of an extension (3: 100 to 999).
    pub extension_digits: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
    fn parse(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    /// No invitation sent yet.
    NotInvited,
    /// Invited, no password set yet.
    Invited,
    /// The employee has set a password.
    Active,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Employee {
    pub id: i64,
    #[serde(skip)]
    pub company_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub extension: String,
    /// The public number of the extension, from the company's number blocks.
    pub number: Option<String>,
    pub role: Role,
    pub app_access: bool,
    pub invite_state: InviteState,
    pub created_at: String,
}

/// A new employee (API and CSV import).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewEmployee {
    pub name: String,
    pub email: String,
    /// Left out: the next free extension.
    #[serde(default)]
    pub extension: Option<String>,
    #[serde(default = "default_role")]
    pub role: Role,
    /// Granting access sends an invitation e-mail.
    #[serde(default)]
    pub app_access: bool,
}

fn default_role() -> Role {
    Role::User
}

/// Changes to an employee; fields left out stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EmployeePatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub extension: Option<String>,
    pub role: Option<Role>,
    /// Granting access sends an invitation; revoking it ends the employee's sessions and
    /// registrations at once.
    pub app_access: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NumberBlock {
    pub id: i64,
    /// E.164, e.g. "+48226006100".
    pub first_number: String,
    pub last_number: String,
    pub size: i64,
    /// The extension of the first number; the others follow in order.
    pub first_extension: String,
}

impl NumberBlock {
    fn first(&self) -> u64 {
        self.first_number[1..].parse().unwrap_or(0)
    }
    /// The extension `number` (E.164) reaches, if it is in this block.
    pub fn ext_for(&self, number: &str) -> Option<String> {
        let n: u64 = number.strip_prefix('+')?.parse().ok()?;
        let off = n.checked_sub(self.first())?;
        if off >= self.size as u64 {
            return None;
        }
        let ext = self.first_extension.parse::<u64>().ok()? + off;
        Some(format!("{ext:0width$}", width = self.first_extension.len()))
    }
    /// The public number of `ext`, if it is in this block.
    pub fn number_for(&self, ext: &str) -> Option<String> {
        if ext.len() != self.first_extension.len() {
            return None;
        }
        let off = ext
            .parse::<u64>()
            .ok()?
            .checked_sub(self.first_extension.parse().ok()?)?;
        (off < self.size as u64).then(|| format!("+{}", self.first() + off))
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// After this the token is refused (401 `token_expired`).
    pub expires_at: Option<String>,
}

/// How long an API token lives by default, and at most (days).
pub const API_TOKEN_DEFAULT_DAYS: i64 = 90;
pub const API_TOKEN_MAX_DAYS: i64 = 365;

/// What an API token presented to the API is.
#[derive(Debug, Clone)]
pub enum TokenCheck {
    /// Good: the company it works in, and the admin who made it.
    Valid { company: Company, creator: i64 },
    /// Past its expiry.
    Expired,
    /// Whoever made it is no longer an admin of the company with app access (demoted,
    /// access revoked, removed).
    CreatorNotAdmin,
    /// No such token (never made, or deleted).
    Unknown,
}

/// A one-time link's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    Invite,
    Reset,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Invite => "invite",
            LinkKind::Reset => "reset",
        }
    }
}

/// Why a link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    NotFound,
    Used,
    Expired,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkInfo {
    pub email: String,
    pub name: String,
    pub kind: LinkKind,
    pub expires_at: String,
    #[serde(skip)]
    pub employee_id: i64,
}

/// E-mail addresses are kept trimmed and lower case.
pub fn normalize_email(email: &str) -> Result<String, StoreError> {
    let e = email.trim().to_lowercase();
    let bad = |m: &str| StoreError::Field {
        field: "email",
        message: m.to_string(),
    };
    if e.is_empty() {
        return Err(bad("an e-mail address is needed"));
    }
    let Some((local, domain)) = e.split_once('@') else {
        return Err(bad("not an e-mail address (no @)"));
    };
    if e.len() > 254
        || local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || e.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad("not a valid e-mail address"));
    }
    Ok(e)
}

/// The rule for web passwords: at least 10 characters, not too repetitive, not the e-mail
/// address, the name or a well-known password.
pub fn check_password_strength(password: &str, email: &str, name: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < 10 {
        return Err("use at least 10 characters".into());
    }
    if chars > 128 {
        return Err("use at most 128 characters".into());
    }
    let distinct: std::collections::HashSet<char> = password.chars().collect();
    if distinct.len() < 5 {
        return Err("use more different characters".into());
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if local.len() >= 3 && lower.contains(local) {
        return Err("do not use your e-mail address in the password".into());
    }
    if name
        .split_whitespace()
        .any(|w| w.chars().count() >= 3 && lower.contains(&w.to_lowercase()))
    {
        return Err("do not use your name in the password".into());
    }
    const COMMON: &[&str] = &[
        "password", "passw0rd", "qwerty", "1234567", "abcdefg", "letmein", "welcome", "iloveyou",
        "admin", "centrala", "haslo", "zaq12wsx",
    ];
    if COMMON.iter().any(|c| lower.contains(c)) {
        return Err("this password is too easy to guess".into());
    }
    Ok(())
}

/// A domain as a company's SIP domain: lower case letters, digits, dots and hyphens.
pub fn normalize_domain(domain: &str) -> Result<String, StoreError> {
    let d = domain.trim().to_lowercase();
    let ok = (3..=253).contains(&d.len())
        && d.contains('.')
        && !d.starts_with(['.', '-'])
        && !d.ends_with(['.', '-'])
        && !d.contains("..")
        && d.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok {
        Ok(d)
    } else {
        Err(StoreError::Field {
            field: "domain",
            message: format!("{domain:?} is not a domain name (e.g. acme.example.com)"),
        })
    }
}

/// Whether `ext` is a valid extension of a company whose extensions have `digits` digits.
pub fn valid_extension(ext: &str, digits: usize) -> bool {
    ext.len() == digits && ext.bytes().all(|b| b.is_ascii_digit()) && !ext.starts_with('0')
}

/// The lowest free extension of `digits` digits (101 first for three), by `taken`.
pub fn first_free_extension(digits: usize, taken: impl Fn(&str) -> bool) -> Option<String> {
    let (lo, hi) = (10u64.pow(digits as u32 - 1) + 1, 10u64.pow(digits as u32));
    (lo..hi).map(|n| n.to_string()).find(|e| !taken(e))
}

/// A public number in E.164 from what a person types: "+48 22 600 61 00", "0048…".
pub fn normalize_number(number: &str) -> Option<String> {
    let t: String = number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = t.strip_prefix('+').or_else(|| t.strip_prefix("00"))?;
    ((6..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0'))
    .then(|| format!("+{digits}"))
}

const EMPLOYEE_COLUMNS: &str = "id, company_id, name, email, ext, role, app_access, web_password_hash IS NOT NULL, invited_at, created_at";

fn row_to_employee(r: &SqliteRow, blocks: &[NumberBlock]) -> Employee {
    let ext: String = r.get(4);
    let active: bool = r.get(7);
    let invited: Option<i64> = r.get(8);
    Employee {
        id: r.get(0),
        company_id: r.get(1),
        name: r.get(2),
        email: r.get(3),
        number: blocks.iter().find_map(|b| b.number_for(&ext)),
        extension: ext,
        role: Role::parse(&r.get::<String, _>(5)),
        app_access: r.get::<i64, _>(6) != 0,
        invite_state: if active {
            InviteState::Active
        } else if invited.is_some() {
            InviteState::Invited
        } else {
            InviteState::NotInvited
        },
        created_at: rfc3339(r.get(9)),
    }
}

fn row_to_company(r: &SqliteRow) -> Company {
    Company {
        id: r.get(0),
        name: r.get(1),
        domain: r.get(2),
        extension_digits: r.get(3),
    }
}

fn row_to_block(r: &SqliteRow) -> NumberBlock {
    let first_number: String = r.get(1);
    let size: i64 = r.get(2);
    let first: u64 = first_number[1..].parse().unwrap_or(0);
    NumberBlock {
        id: r.get(0),
        last_number: format!("+{}", first + (size.max(1) as u64) - 1),
        first_number,
        size,
        first_extension: r.get(3),
    }
}

/// How often a server-picked extension is tried again after another request took it.
const EXTENSION_ATTEMPTS: usize = 64;

/// Whether `e` is a UNIQUE violation naming `column` (SQLite: "UNIQUE constraint failed:
/// employees.company_id, employees.ext").
fn is_unique_on(e: &sqlx::Error, column: &str) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation() && d.message().contains(column))
}

fn map_unique(e: sqlx::Error, field: &'static str, message: String) -> StoreError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict { field, message }
        }
        e => e.into(),
    }
}

impl Store {
    // ---- companies ----

    pub async fn create_company(
        &self,
        name: &str,
        domain: &str,
        ext_digits: i64,
    ) -> Result<Company, StoreError> {
        let domain = normalize_domain(domain)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Field {
                field: "name",
                message: "a company name is needed".into(),
            });
        }
        if !(2..=6).contains(&ext_digits) {
            return Err(StoreError::Field {
                field: "extension_digits",
                message: "extensions have 2 to 6 digits".into(),
            });
        }
        let row = sqlx::query("INSERT INTO companies (name, domain, ext_digits, created_at) VALUES (?, ?, ?, ?) RETURNING id, name, domain, ext_digits")
            .bind(name)
            .bind(&domain)
            .bind(ext_digits)
            .bind(unix_now())
            .fetch_one(self.pool())
            .await
            .map_err(|e| map_unique(e, "domain", format!("the domain {domain} is already used by another company")))?;
        Ok(row_to_company(&row))
    }

    pub async fn company(&self, id: i64) -> Result<Option<Company>, StoreError> {
        Ok(
            sqlx::query("SELECT id, name, domain, ext_digits FROM companies WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .as_ref()
                .map(row_to_company),
        )
    }

    /// Does company `id` want its browsers' media through the relay only?
    pub async fn company_relay_media(&self, id: i64) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("SELECT relay_media FROM companies WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .is_some_and(|r| r.get::<i64, _>(0) != 0),
        )
    }

    pub async fn set_company_relay_media(&self, id: i64, relay: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE companies SET relay_media = ? WHERE id = ?")
            .bind(i64::from(relay))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn company_by_domain(&self, domain: &str) -> Result<Option<Company>, StoreError> {
        self.pause().await;
        Ok(
            sqlx::query("SELECT id, name, domain, ext_digits FROM companies WHERE domain = ?")
                .bind(domain.to_ascii_lowercase())
                .fetch_optional(self.pool())
                .await?
                .as_ref()
                .map(row_to_company),
        )
    }

    pub async fn companies(&self) -> Result<Vec<Company>, StoreError> {
        Ok(
            sqlx::query("SELECT id, name, domain, ext_digits FROM companies ORDER BY id")
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(row_to_company)
                .collect(),
        )
    }

    /// Renames a company's SIP domain (the default company follows `serve --domain`).
    pub async fn set_company_domain(&self, id: i64, domain: &str) -> Result<(), StoreError> {
        let domain = normalize_domain(domain)?;
        sqlx::query("UPDATE companies SET domain = ? WHERE id = ?")
            .bind(&domain)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| {
                map_unique(
                    e,
                    "domain",
                    format!("the domain {domain} is already used by another company"),
                )
            })?;
        Ok(())
    }

    pub async fn rename_company(&self, id: i64, name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE companies SET name = ? WHERE id = ?")
            .bind(name.trim())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // ---- number blocks ----

    pub async fn number_blocks(&self, company: i64) -> Result<Vec<NumberBlock>, StoreError> {
        Ok(sqlx::query("SELECT id, first_number, size, first_ext FROM number_blocks WHERE company_id = ? ORDER BY first_number")
            .bind(company)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(row_to_block)
            .collect())
    }

    /// Adds a block of `size` public numbers from `first_number`, mapped onto extensions from
    /// `first_ext` (by default the number's last digits, as many as the company's extensions
    /// have). Blocks may not overlap, in this company or any other.
    pub async fn add_number_block(
        &self,
        company: i64,
        first_number: &str,
        size: i64,
        first_ext: Option<&str>,
    ) -> Result<NumberBlock, StoreError> {
        let Some(first) = normalize_number(first_number) else {
            return Err(StoreError::Field {
                field: "first_number",
                message: "give the first number in international form, e.g. +48 22 600 61 00"
                    .into(),
            });
        };
        if !(1..=10_000).contains(&size) {
            return Err(StoreError::Field {
                field: "size",
                message: "a block holds 1 to 10000 numbers".into(),
            });
        }
        let digits = self
            .company(company)
            .await?
            .map_or(3, |c| c.extension_digits) as usize;
        let first_ext = match first_ext.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => e.to_string(),
            None => first[first.len() - digits..].to_string(),
        };
        if !valid_extension(&first_ext, digits) {
            return Err(StoreError::Field {
                field: "first_extension",
                message: format!(
                    "give the extension of the first number: {digits} digits, not starting with 0"
                ),
            });
        }
        let last_ext: u64 = first_ext.parse::<u64>().unwrap_or(0) + size as u64 - 1;
        if last_ext.to_string().len() > digits {
            return Err(StoreError::Field {
                field: "size",
                message: format!("the block would run past the last {digits}-digit extension"),
            });
        }
        let start: u64 = first[1..].parse().unwrap_or(0);
        let end = start + size as u64;
        let all = sqlx::query("SELECT id, first_number, size, first_ext FROM number_blocks")
            .fetch_all(self.pool())
            .await?;
        for b in all.iter().map(row_to_block) {
            let (bs, be) = (b.first(), b.first() + b.size as u64);
            if start < be && bs < end && b.first_number.len() == first.len() {
                return Err(StoreError::Conflict {
                    field: "first_number",
                    message: format!(
                        "overlaps the block {} to {} (numbers belong to one company only)",
                        b.first_number, b.last_number
                    ),
                });
            }
        }
        let row = sqlx::query("INSERT INTO number_blocks (company_id, first_number, size, first_ext, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id, first_number, size, first_ext")
            .bind(company)
            .bind(&first)
            .bind(size)
            .bind(&first_ext)
            .bind(unix_now())
            .fetch_one(self.pool())
            .await
            .map_err(|e| map_unique(e, "first_number", format!("{first} is already in a block")))?;
        Ok(row_to_block(&row))
    }

    pub async fn delete_number_block(&self, company: i64, id: i64) -> Result<(), StoreError> {
        let res = sqlx::query("DELETE FROM number_blocks WHERE company_id = ? AND id = ?")
            .bind(company)
            .bind(id)
            .execute(self.pool())
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("number block {id}")));
        }
        Ok(())
    }

    /// Where a public number rings in `company`.
    pub async fn ext_for_number(
        &self,
        company: i64,
        number: &str,
    ) -> Result<Option<NumberTarget>, StoreError> {
        self.pause().await;
        if let Some((_, target)) = self.main_number_target(Some(company), number).await? {
            return Ok(Some(target));
        }
        Ok(self
            .number_blocks(company)
            .await?
            .iter()
            .find_map(|b| b.ext_for(number))
            .map(NumberTarget::Extension))
    }

    /// The company that owns a public number, and where it rings there.
    pub async fn owner_of_number(
        &self,
        number: &str,
    ) -> Result<Option<(i64, NumberTarget)>, StoreError> {
        self.pause().await;
        // A company's main number rings where its admin says.
        if let Some(target) = self.main_number_target(None, number).await? {
            return Ok(Some(target));
        }
        let rows =
            sqlx::query("SELECT id, first_number, size, first_ext, company_id FROM number_blocks")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.iter().find_map(|r| {
            let company: i64 = r.get(4);
            row_to_block(r)
                .ext_for(number)
                .map(|e| (company, NumberTarget::Extension(e)))
        }))
    }

    // ---- employees ----

    /// Employees of `company` whose name, e-mail, extension or number contains `q`.
    pub async fn employees(
        &self,
        company: i64,
        q: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(i64, Vec<Employee>), StoreError> {
        let blocks = self.number_blocks(company).await?;
        let rows = sqlx::query(&format!(
            "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE company_id = ? ORDER BY ext"
        ))
        .bind(company)
        .fetch_all(self.pool())
        .await?;
        let q = q.trim().to_lowercase();
        let all: Vec<Employee> = rows
            .iter()
            .map(|r| row_to_employee(r, &blocks))
            .filter(|e| {
                q.is_empty()
                    || e.name.to_lowercase().contains(&q)
                    || e.email.as_deref().is_some_and(|m| m.contains(&q))
                    || e.extension.contains(&q)
                    || e.number
                        .as_deref()
                        .is_some_and(|n| n.contains(&q.replace([' ', '-'], "")))
            })
            .collect();
        let total = all.len() as i64;
        let page = all
            .into_iter()
            .skip(offset.max(0) as usize)
            .take(limit.clamp(1, 1000) as usize)
            .collect();
        Ok((total, page))
    }

    pub async fn employee(&self, company: i64, id: i64) -> Result<Option<Employee>, StoreError> {
        let blocks = self.number_blocks(company).await?;
        Ok(sqlx::query(&format!(
            "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE company_id = ? AND id = ?"
        ))
        .bind(company)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .map(|r| row_to_employee(&r, &blocks)))
    }

    pub async fn employee_by_ext(
        &self,
        company: i64,
        ext: &str,
    ) -> Result<Option<Employee>, StoreError> {
        let blocks = self.number_blocks(company).await?;
        Ok(sqlx::query(&format!(
            "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE company_id = ? AND ext = ?"
        ))
        .bind(company)
        .bind(ext)
        .fetch_optional(self.pool())
        .await?
        .map(|r| row_to_employee(&r, &blocks)))
    }

    /// The employee with this login e-mail (any company), with the password hash.
    pub async fn employee_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(Employee, Option<String>)>, StoreError> {
        let Ok(email) = normalize_email(email) else {
            return Ok(None);
        };
        let row = sqlx::query(&format!(
            "SELECT {EMPLOYEE_COLUMNS}, web_password_hash FROM employees WHERE email = ?"
        ))
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let company: i64 = row.get(1);
        let blocks = self.number_blocks(company).await?;
        Ok(Some((row_to_employee(&row, &blocks), row.get(10))))
    }

    /// The next free extension of `company` (101 first for three digits).
    pub async fn next_extension(&self, company: i64) -> Result<Option<String>, StoreError> {
        let digits = self
            .company(company)
            .await?
            .map_or(3, |c| c.extension_digits) as usize;
        let taken: std::collections::HashSet<String> =
            sqlx::query("SELECT ext FROM employees WHERE company_id = ?")
                .bind(company)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
        Ok(first_free_extension(digits, |e| taken.contains(e)))
    }

    async fn check_extension(&self, company: i64, ext: &str) -> Result<(), StoreError> {
        let digits = self
            .company(company)
            .await?
            .map_or(3, |c| c.extension_digits) as usize;
        if !valid_extension(ext, digits) {
            return Err(StoreError::Field {
                field: "extension",
                message: format!(
                    "extensions of this company have {digits} digits and do not start with 0"
                ),
            });
        }
        Ok(())
    }

    pub async fn create_employee(
        &self,
        company: i64,
        new: &NewEmployee,
    ) -> Result<Employee, StoreError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Field {
                field: "name",
                message: "a name of 1 to 100 characters is needed".into(),
            });
        }
        let email = normalize_email(&new.email)?;
        let asked = new
            .extension
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        // When the server picks the extension, several requests at once may pick the same
        // one: the loser of the insert takes the next free one (the UNIQUE index decides).
        for _ in 0..EXTENSION_ATTEMPTS {
            let ext = match asked {
                Some(e) => e.to_string(),
                None => self
                    .next_extension(company)
                    .await?
                    .ok_or_else(|| StoreError::Field {
                        field: "extension",
                        message: "every extension is taken".into(),
                    })?,
            };
            self.check_extension(company, &ext).await?;
            let taken = || StoreError::Conflict {
                field: "extension",
                message: format!("extension {ext} is already taken"),
            };
            if asked.is_some() && self.employee_by_ext(company, &ext).await?.is_some() {
                return Err(taken());
            }
            let inserted = sqlx::query("INSERT INTO employees (company_id, ext, name, email, role, app_access, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")
                .bind(company)
                .bind(&ext)
                .bind(name)
                .bind(&email)
                .bind(new.role.as_str())
                .bind(i64::from(new.app_access))
                .bind(unix_now())
                .fetch_one(self.pool())
                .await;
            let row = match inserted {
                Ok(row) => row,
                Err(e) if is_unique_on(&e, "employees.ext") => {
                    if asked.is_some() {
                        return Err(taken());
                    }
                    continue;
                }
                Err(e) => {
                    return Err(map_unique(
                        e,
                        "email",
                        format!("{email} already belongs to an account"),
                    ));
                }
            };
            return self
                .employee(company, row.get(0))
                .await?
                .ok_or_else(|| StoreError::NotFound(ext));
        }
        Err(StoreError::Conflict {
            field: "extension",
            message: "could not find a free extension (many added at once); try again".into(),
        })
    }

    /// Applies `patch`; returns the employee before and after.
    pub async fn update_employee(
        &self,
        company: i64,
        id: i64,
        patch: &EmployeePatch,
    ) -> Result<(Employee, Employee), StoreError> {
        let before = self
            .employee(company, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("employee {id}")))?;
        let name = match &patch.name {
            Some(n) if n.trim().is_empty() || n.trim().chars().count() > 100 => {
                return Err(StoreError::Field {
                    field: "name",
                    message: "a name of 1 to 100 characters is needed".into(),
                });
            }
            Some(n) => n.trim().to_string(),
            None => before.name.clone(),
        };
        let email = match &patch.email {
            Some(e) => Some(normalize_email(e)?),
            None => before.email.clone(),
        };
        let ext = match &patch.extension {
            Some(e) if e.trim() != before.extension => {
                let e = e.trim().to_string();
                self.check_extension(company, &e).await?;
                if self.employee_by_ext(company, &e).await?.is_some() {
                    return Err(StoreError::Conflict {
                        field: "extension",
                        message: format!("extension {e} is already taken"),
                    });
                }
                e
            }
            _ => before.extension.clone(),
        };
        let role = patch.role.unwrap_or(before.role);
        let access = patch.app_access.unwrap_or(before.app_access);
        if access && email.is_none() {
            return Err(StoreError::Field {
                field: "email",
                message: "app access needs an e-mail address to send the invitation to".into(),
            });
        }
        // A SIP password's HA1 values hold the extension: a renumbered extension keeps no
        // SIP password (it is set again from the command line).
        let renumbered = ext != before.extension;
        // Renumbering or revoking access also ends the web app's SIP credentials.
        let revoked = before.app_access && !access;
        sqlx::query("UPDATE employees SET name = ?, email = ?, ext = ?, role = ?, app_access = ?, ha1_md5 = CASE WHEN ? THEN NULL ELSE ha1_md5 END, ha1_sha256 = CASE WHEN ? THEN NULL ELSE ha1_sha256 END, sip_generation = sip_generation + ? WHERE company_id = ? AND id = ?")
            .bind(&name)
            .bind(&email)
            .bind(&ext)
            .bind(role.as_str())
            .bind(i64::from(access))
            .bind(renumbered)
            .bind(renumbered)
            .bind(i64::from(renumbered || revoked))
            .bind(company)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| map_unique(e, "email", "that e-mail already belongs to an account".into()))?;
        if !access {
            self.end_sessions(id).await?;
        }
        let after = self
            .employee(company, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("employee {id}")))?;
        Ok((before, after))
    }

    pub async fn delete_employee(&self, company: i64, id: i64) -> Result<Employee, StoreError> {
        let e = self
            .employee(company, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("employee {id}")))?;
        sqlx::query("DELETE FROM employees WHERE company_id = ? AND id = ?")
            .bind(company)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(e)
    }

    /// Sets the web password directly (command line, tests); the employee becomes active with
    /// app access, and the web app's SIP credentials made before stop working.
    pub async fn set_web_password(&self, id: i64, password: &str) -> Result<(), StoreError> {
        let hash = hash_password(password).await?;
        sqlx::query("UPDATE employees SET web_password_hash = ?, app_access = 1, sip_generation = sip_generation + 1 WHERE id = ?")
            .bind(hash)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Sets e-mail and role from the command line.
    pub async fn set_login(
        &self,
        id: i64,
        email: Option<&str>,
        role: Option<Role>,
    ) -> Result<(), StoreError> {
        if let Some(e) = email {
            let e = normalize_email(e)?;
            sqlx::query("UPDATE employees SET email = ? WHERE id = ?")
                .bind(&e)
                .bind(id)
                .execute(self.pool())
                .await
                .map_err(|x| {
                    map_unique(x, "email", format!("{e} already belongs to an account"))
                })?;
        }
        if let Some(r) = role {
            sqlx::query("UPDATE employees SET role = ? WHERE id = ?")
                .bind(r.as_str())
                .bind(id)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Checks e-mail and password; the employee and company when they match and the employee
    /// has app access. `Err(true)`: right password, no access.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Result<(Employee, Company), bool>, StoreError> {
        let Some((e, hash)) = self.employee_by_email(email).await? else {
            // The same work as a real check, so timing does not tell who has an account.
            verify_password(password, None).await?;
            return Ok(Err(false));
        };
        if !verify_password(password, hash.as_deref()).await? {
            return Ok(Err(false));
        }
        if !e.app_access {
            return Ok(Err(true));
        }
        let c = self
            .company(e.company_id)
            .await?
            .ok_or_else(|| StoreError::NotFound("company".into()))?;
        Ok(Ok((e, c)))
    }

    // ---- sessions ----

    pub async fn create_session(&self, employee: i64, ttl_secs: i64) -> Result<String, StoreError> {
        let token = new_token();
        let now = unix_now();
        sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, employee_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash(&token))
        .bind(employee)
        .bind(now + ttl_secs)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(token)
    }

    /// The employee of a live session (who still has app access), and the company.
    pub async fn session(&self, token: &str) -> Result<Option<(Employee, Company)>, StoreError> {
        let row = sqlx::query("SELECT e.company_id, e.id FROM sessions s JOIN employees e ON e.id = s.employee_id WHERE s.token_hash = ? AND s.expires_at > ? AND e.app_access = 1")
            .bind(token_hash(token))
            .bind(unix_now())
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let (company, id): (i64, i64) = (row.get(0), row.get(1));
        let Some(e) = self.employee(company, id).await? else {
            return Ok(None);
        };
        Ok(self.company(company).await?.map(|c| (e, c)))
    }

    /// Ends a session; the employee whose it was, if it existed.
    pub async fn delete_session(&self, token: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE token_hash = ? RETURNING employee_id")
                .bind(token_hash(token))
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.get(0)),
        )
    }

    /// Ends every session of an employee.
    pub async fn end_sessions(&self, employee: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE employee_id = ?")
            .bind(employee)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // ---- one-time links ----

    /// A new link for `employee`; earlier unused links of the same kind stop working.
    pub async fn create_link(
        &self,
        employee: i64,
        kind: LinkKind,
        ttl_secs: i64,
    ) -> Result<String, StoreError> {
        let token = new_token();
        let now = unix_now();
        sqlx::query(
            "UPDATE links SET used_at = ? WHERE employee_id = ? AND kind = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(employee)
        .bind(kind.as_str())
        .execute(self.pool())
        .await?;
        sqlx::query("INSERT INTO links (token_hash, employee_id, kind, expires_at, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(token_hash(&token))
            .bind(employee)
            .bind(kind.as_str())
            .bind(now + ttl_secs)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(token)
    }

    /// Records that an invitation went out.
    pub async fn mark_invited(&self, employee: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE employees SET invited_at = ? WHERE id = ?")
            .bind(unix_now())
            .bind(employee)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn link(&self, token: &str) -> Result<Result<LinkInfo, LinkProblem>, StoreError> {
        let row = sqlx::query("SELECT l.kind, l.expires_at, l.used_at, e.email, e.name, e.id, e.app_access FROM links l JOIN employees e ON e.id = l.employee_id WHERE l.token_hash = ?")
            .bind(token_hash(token))
            .fetch_optional(self.pool())
            .await?;
        let Some(r) = row else {
            return Ok(Err(LinkProblem::NotFound));
        };
        let used: Option<i64> = r.get(2);
        let expires: i64 = r.get(1);
        let email: Option<String> = r.get(3);
        if used.is_some() {
            return Ok(Err(LinkProblem::Used));
        }
        if expires <= unix_now() || r.get::<i64, _>(6) == 0 || email.is_none() {
            return Ok(Err(LinkProblem::Expired));
        }
        Ok(Ok(LinkInfo {
            kind: if r.get::<String, _>(0) == "reset" {
                LinkKind::Reset
            } else {
                LinkKind::Invite
            },
            expires_at: rfc3339(expires),
            email: email.unwrap_or_default(),
            name: r.get(4),
            employee_id: r.get(5),
        }))
    }

    /// Uses a link: sets the password (already checked for strength) and marks the link
    /// used, in one transaction, so a link works once even when clicked twice at once.
    pub async fn use_link(
        &self,
        token: &str,
        password: &str,
    ) -> Result<Result<i64, LinkProblem>, StoreError> {
        let info = match self.link(token).await? {
            Ok(i) => i,
            Err(p) => return Ok(Err(p)),
        };
        let hash = hash_password(password).await?;
        let mut tx = self.pool().begin().await?;
        let res =
            sqlx::query("UPDATE links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL")
                .bind(unix_now())
                .bind(token_hash(token))
                .execute(&mut *tx)
                .await?;
        if res.rows_affected() != 1 {
            return Ok(Err(LinkProblem::Used));
        }
        // The web app's SIP credentials made before stop working too.
        sqlx::query("UPDATE employees SET web_password_hash = ?, sip_generation = sip_generation + 1 WHERE id = ?")
            .bind(hash)
            .bind(info.employee_id)
            .execute(&mut *tx)
            .await?;
        // A new password ends the sessions made with the old one.
        sqlx::query("DELETE FROM sessions WHERE employee_id = ?")
            .bind(info.employee_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(info.employee_id))
    }

    // ---- API tokens ----

    /// A new token made by admin `by`, valid for `days` (1 to [`API_TOKEN_MAX_DAYS`]) and
    /// only while `by` stays an admin of the company.
    pub async fn create_api_token(
        &self,
        company: i64,
        name: &str,
        by: i64,
        days: i64,
    ) -> Result<(ApiToken, String), StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Field {
                field: "name",
                message: "a name of 1 to 100 characters is needed".into(),
            });
        }
        if !(1..=API_TOKEN_MAX_DAYS).contains(&days) {
            return Err(StoreError::Field {
                field: "expires_in_days",
                message: format!("a token lives 1 to {API_TOKEN_MAX_DAYS} days"),
            });
        }
        let token = format!("ctk_{}", new_token());
        let now = unix_now();
        let expires = now + days * 86_400;
        let row = sqlx::query("INSERT INTO api_tokens (company_id, name, token_hash, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id")
            .bind(company)
            .bind(name)
            .bind(token_hash(&token))
            .bind(by)
            .bind(now)
            .bind(expires)
            .fetch_one(self.pool())
            .await?;
        Ok((
            ApiToken {
                id: row.get(0),
                name: name.to_string(),
                created_at: rfc3339(now),
                last_used_at: None,
                expires_at: Some(rfc3339(expires)),
            },
            token,
        ))
    }

    pub async fn api_tokens(&self, company: i64) -> Result<Vec<ApiToken>, StoreError> {
        Ok(sqlx::query("SELECT id, name, created_at, last_used_at, expires_at FROM api_tokens WHERE company_id = ? ORDER BY id")
            .bind(company)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| ApiToken {
                id: r.get(0),
                name: r.get(1),
                created_at: rfc3339(r.get(2)),
                last_used_at: r.get::<Option<i64>, _>(3).map(rfc3339),
                expires_at: r.get::<Option<i64>, _>(4).map(rfc3339),
            })
            .collect())
    }

    pub async fn delete_api_token(&self, company: i64, id: i64) -> Result<(), StoreError> {
        let res = sqlx::query("DELETE FROM api_tokens WHERE company_id = ? AND id = ?")
            .bind(company)
            .bind(id)
            .execute(self.pool())
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("API token {id}")));
        }
        Ok(())
    }

    /// Checks an API token: known, not expired, and its creator still an admin of its
    /// company with app access. A good token's use is recorded.
    pub async fn check_api_token(&self, token: &str) -> Result<TokenCheck, StoreError> {
        let hash = token_hash(token);
        let row = sqlx::query("SELECT t.company_id, t.expires_at, t.created_by, e.role = 'admin' AND e.app_access = 1 AND e.company_id = t.company_id FROM api_tokens t LEFT JOIN employees e ON e.id = t.created_by WHERE t.token_hash = ?")
            .bind(&hash)
            .fetch_optional(self.pool())
            .await?;
        let Some(r) = row else {
            return Ok(TokenCheck::Unknown);
        };
        let now = unix_now();
        // A token with no expiry (none are made so) counts as expired.
        if r.get::<Option<i64>, _>(1).is_none_or(|t| t <= now) {
            return Ok(TokenCheck::Expired);
        }
        let creator: Option<i64> = r.get(2);
        let (Some(creator), Some(true)) = (creator, r.get::<Option<bool>, _>(3)) else {
            return Ok(TokenCheck::CreatorNotAdmin);
        };
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?")
            .bind(now)
            .bind(&hash)
            .execute(self.pool())
            .await?;
        Ok(match self.company(r.get(0)).await? {
            Some(company) => TokenCheck::Valid { company, creator },
            None => TokenCheck::Unknown,
        })
    }
}

// ---- each person's own things ----

/// What a phone number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NumberLabel {
    Work,
    Mobile,
    Home,
    Other,
}

impl NumberLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            NumberLabel::Work => "work",
            NumberLabel::Mobile => "mobile",
            NumberLabel::Home => "home",
            NumberLabel::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<NumberLabel> {
        match s {
            "work" => Some(NumberLabel::Work),
            "mobile" => Some(NumberLabel::Mobile),
            "home" => Some(NumberLabel::Home),
            "other" => Some(NumberLabel::Other),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ContactNumber {
    pub label: NumberLabel,
    /// As the person wrote it: "+48 600 100 200".
    pub number: String,
}

/// A contact of a person's own phone book.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub organization: Option<String>,
    pub numbers: Vec<ContactNumber>,
    pub favourite: bool,
}

/// A contact's content, already checked (name 1 to 100 characters, 1 to 10 numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactData {
    pub name: String,
    pub organization: Option<String>,
    pub numbers: Vec<ContactNumber>,
    pub favourite: bool,
}

/// The digits of a phone number alone ("+48 (600) 100-200" → "48600100200").
pub fn number_digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

/// One call of a person's history, as stored (see migrations 0004 and 0006).
#[derive(Debug, Clone)]
pub struct CallRow {
    pub id: i64,
    /// The person made it (else they were called, or it was forwarded away from them).
    pub outgoing: bool,
    /// The call was for the person and was forwarded to someone else (`forwarded_to_*`).
    pub forwarded_away: bool,
    pub outcome: String,
    /// The other party: their name, number and (a colleague) current extension.
    pub peer_name: Option<String>,
    pub peer_number: String,
    pub peer_extension: Option<String>,
    pub started_ms: i64,
    pub answered_ms: Option<i64>,
    pub ended_ms: i64,
    /// A forwarded call: the extension it was first for, that person's name (as now), and
    /// why (`always`, `busy`, `no_answer`, `offline`, `unavailable`).
    pub diverted_from_number: Option<String>,
    pub diverted_from_name: Option<String>,
    pub diversion: Option<String>,
    /// For a call forwarded away from the person: where it went.
    pub forwarded_to_number: Option<String>,
    pub forwarded_to_name: Option<String>,
}

/// Most contacts one person may keep.
pub const MAX_CONTACTS: i64 = 5_000;

const CONTACT_COLUMNS: &str = "id, name, organization, favourite";

impl Store {
    // ---- language and presence choice ----

    /// An employee's stored presence choice and language.
    pub async fn employee_settings(
        &self,
        employee: i64,
    ) -> Result<Option<(crate::core::Choice, Option<Lang>)>, StoreError> {
        Ok(
            sqlx::query("SELECT presence, language FROM employees WHERE id = ?")
                .bind(employee)
                .fetch_optional(self.pool())
                .await?
                .map(|r| {
                    let presence: String = r.get(0);
                    let language: Option<String> = r.get(1);
                    (
                        presence.parse().unwrap_or_default(),
                        language.as_deref().and_then(Lang::parse),
                    )
                }),
        )
    }

    /// Sets (or, with `None`, forgets) an employee's language.
    pub async fn set_language(&self, employee: i64, lang: Option<Lang>) -> Result<(), StoreError> {
        sqlx::query("UPDATE employees SET language = ? WHERE id = ?")
            .bind(lang.map(Lang::as_str))
            .bind(employee)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // ---- favourite colleagues ----

    /// The colleagues `employee` marked as favourites.
    pub async fn favourites(
        &self,
        employee: i64,
    ) -> Result<std::collections::HashSet<i64>, StoreError> {
        Ok(
            sqlx::query("SELECT colleague_id FROM favourites WHERE employee_id = ?")
                .bind(employee)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect(),
        )
    }

    /// Marks (or unmarks) `colleague` a favourite of `employee`, both of `company`; false
    /// when the colleague is not an employee of that company.
    pub async fn set_favourite(
        &self,
        company: i64,
        employee: i64,
        colleague: i64,
        on: bool,
    ) -> Result<bool, StoreError> {
        let exists = sqlx::query("SELECT 1 FROM employees WHERE company_id = ? AND id = ?")
            .bind(company)
            .bind(colleague)
            .fetch_optional(self.pool())
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        if on {
            sqlx::query("INSERT INTO favourites (employee_id, colleague_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                .bind(employee)
                .bind(colleague)
                .bind(unix_now())
                .execute(self.pool())
                .await?;
        } else {
            sqlx::query("DELETE FROM favourites WHERE employee_id = ? AND colleague_id = ?")
                .bind(employee)
                .bind(colleague)
                .execute(self.pool())
                .await?;
        }
        Ok(true)
    }

    // ---- personal phone book ----

    async fn numbers_of(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<ContactNumber>>, StoreError> {
        let mut out: std::collections::HashMap<i64, Vec<ContactNumber>> = Default::default();
        // In chunks: SQLite limits the variables of one statement.
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT contact_id, label, number FROM contact_numbers WHERE contact_id IN ({marks}) ORDER BY contact_id, position"
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(self.pool()).await? {
                out.entry(r.get(0)).or_default().push(ContactNumber {
                    label: NumberLabel::parse(&r.get::<String, _>(1)).unwrap_or(NumberLabel::Other),
                    number: r.get(2),
                });
            }
        }
        Ok(out)
    }

    async fn rows_to_contacts(&self, rows: Vec<SqliteRow>) -> Result<Vec<Contact>, StoreError> {
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let mut numbers = self.numbers_of(&ids).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let id: i64 = r.get(0);
                Contact {
                    id,
                    name: r.get(1),
                    organization: r.get(2),
                    numbers: numbers.remove(&id).unwrap_or_default(),
                    favourite: r.get::<i64, _>(3) != 0,
                }
            })
            .collect())
    }

    /// Every contact of `owner`'s phone book.
    pub async fn contacts(&self, company: i64, owner: i64) -> Result<Vec<Contact>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE company_id = ? AND owner_id = ? ORDER BY id"
        ))
        .bind(company)
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        self.rows_to_contacts(rows).await
    }

    pub async fn contact(
        &self,
        company: i64,
        owner: i64,
        id: i64,
    ) -> Result<Option<Contact>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE company_id = ? AND owner_id = ? AND id = ?"
        ))
        .bind(company)
        .bind(owner)
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(self.rows_to_contacts(rows).await?.pop())
    }

    pub async fn contact_count(&self, company: i64, owner: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM contacts WHERE company_id = ? AND owner_id = ?")
                .bind(company)
                .bind(owner)
                .fetch_one(self.pool())
                .await?
                .get(0),
        )
    }

    /// Adds contacts to `owner`'s phone book, all or none; their ids.
    pub async fn add_contacts(
        &self,
        company: i64,
        owner: i64,
        contacts: &[ContactData],
    ) -> Result<Vec<i64>, StoreError> {
        let now = unix_now();
        let mut tx = self.pool().begin().await?;
        let mut ids = Vec::with_capacity(contacts.len());
        for c in contacts {
            let id: i64 = sqlx::query("INSERT INTO contacts (company_id, owner_id, name, organization, favourite, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")
                .bind(company)
                .bind(owner)
                .bind(&c.name)
                .bind(c.organization.as_deref())
                .bind(i64::from(c.favourite))
                .bind(now)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .get(0);
            insert_numbers(&mut tx, id, &c.numbers).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Replaces a contact of `owner`'s; false when there is no such contact of theirs.
    pub async fn update_contact(
        &self,
        company: i64,
        owner: i64,
        id: i64,
        c: &ContactData,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let res = sqlx::query("UPDATE contacts SET name = ?, organization = ?, favourite = ?, updated_at = ? WHERE company_id = ? AND owner_id = ? AND id = ?")
            .bind(&c.name)
            .bind(c.organization.as_deref())
            .bind(i64::from(c.favourite))
            .bind(unix_now())
            .bind(company)
            .bind(owner)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM contact_numbers WHERE contact_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_numbers(&mut tx, id, &c.numbers).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes a contact of `owner`'s; false when there is no such contact of theirs.
    pub async fn delete_contact(
        &self,
        company: i64,
        owner: i64,
        id: i64,
    ) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM contacts WHERE company_id = ? AND owner_id = ? AND id = ?")
                .bind(company)
                .bind(owner)
                .bind(id)
                .execute(self.pool())
                .await?
                .rows_affected()
                > 0,
        )
    }

    /// Names in `owner`'s phone book by number digits (for naming callers in the history).
    pub async fn contact_names_by_digits(
        &self,
        company: i64,
        owner: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query("SELECT n.digits, c.name FROM contact_numbers n JOIN contacts c ON c.id = n.contact_id WHERE c.company_id = ? AND c.owner_id = ? ORDER BY c.id, n.position")
            .bind(company)
            .bind(owner)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    // ---- call history ----

    /// `employee`'s calls (made, received, or forwarded away from them to someone else) that
    /// started before `before_ms`, newest first.
    pub async fn call_history(
        &self,
        company: i64,
        employee: i64,
        before_ms: i64,
        limit: i64,
    ) -> Result<Vec<CallRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.caller_id IS ?2, c.outcome, c.started_ms, c.answered_ms, c.ended_ms, \
             c.caller_number, COALESCE(er.name, c.caller_name), er.ext, \
             c.dialled, COALESCE(ee.name, c.callee_name), ee.ext, \
             c.caller_id IS NOT ?2 AND c.callee_id IS NOT ?2, \
             c.diverted_from_number, dv.name, c.diversion, COALESCE(ee.ext, c.callee_number) \
             FROM calls c \
             LEFT JOIN employees er ON er.id = c.caller_id AND er.company_id = c.company_id \
             LEFT JOIN employees ee ON ee.id = c.callee_id AND ee.company_id = c.company_id \
             LEFT JOIN employees dv ON dv.id = c.diverted_from_id AND dv.company_id = c.company_id \
             WHERE c.company_id = ?1 AND (c.caller_id = ?2 OR c.callee_id = ?2 \
             OR (c.diverted_from_id = ?2 AND c.callee_id IS NOT ?2)) AND c.started_ms < ?3 \
             ORDER BY c.started_ms DESC, c.id DESC LIMIT ?4",
        )
        .bind(company)
        .bind(employee)
        .bind(before_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let outgoing: bool = r.get(1);
                let forwarded_away: bool = r.get(12);
                // The peer is whom the call was to (made), else the caller (received, or
                // forwarded away).
                let (number, name, ext) = if outgoing { (9, 10, 11) } else { (6, 7, 8) };
                CallRow {
                    id: r.get(0),
                    outgoing,
                    forwarded_away,
                    outcome: r.get(2),
                    started_ms: r.get(3),
                    answered_ms: r.get(4),
                    ended_ms: r.get(5),
                    peer_number: r.get(number),
                    peer_name: r.get(name),
                    peer_extension: r.get(ext),
                    diverted_from_number: r.get(13),
                    diverted_from_name: r.get(14),
                    diversion: r.get(15),
                    forwarded_to_number: if forwarded_away { r.get(16) } else { None },
                    forwarded_to_name: if forwarded_away { r.get(10) } else { None },
                }
            })
            .collect())
    }

    /// Calls to `employee` that nobody answered and that ended after they last looked at
    /// their history.
    pub async fn missed_unseen(&self, company: i64, employee: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query(
            "SELECT COUNT(*) FROM calls c JOIN employees e ON e.id = ?2 \
             WHERE c.company_id = ?1 AND c.callee_id = ?2 AND (c.caller_id IS NULL OR c.caller_id != ?2) \
             AND c.answered_ms IS NULL AND c.ended_ms > e.history_seen_ms",
        )
        .bind(company)
        .bind(employee)
        .fetch_one(self.pool())
        .await?
        .get(0))
    }

    /// Records that `employee` has seen their history up to `now_ms` (Unix ms).
    pub async fn mark_history_seen(&self, employee: i64, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE employees SET history_seen_ms = MAX(history_seen_ms, ?) WHERE id = ?")
            .bind(now_ms)
            .bind(employee)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

async fn insert_numbers(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    contact: i64,
    numbers: &[ContactNumber],
) -> Result<(), StoreError> {
    for (i, n) in numbers.iter().enumerate() {
        sqlx::query("INSERT INTO contact_numbers (contact_id, position, label, number, digits) VALUES (?, ?, ?, ?, ?)")
            .bind(contact)
            .bind(i as i64)
            .bind(n.label.as_str())
            .bind(&n.number)
            .bind(number_digits(&n.number))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// An argon2 hash of a random password, checked against when there is no account, so a
/// missing account costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::store::hash_password(&new_token()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> NumberBlock {
        NumberBlock {
            id: 1,
            first_number: "+48226006100".into(),
            last_number: "+48226006109".into(),
            size: 10,
            first_extension: "100".into(),
        }
    }

    #[test]
    fn numbers_and_extensions_map_both_ways() {
        let b = block();
        assert_eq!(b.ext_for("+48226006103").as_deref(), Some("103"));
        assert_eq!(b.number_for("103").as_deref(), Some("+48226006103"));
        assert_eq!(b.ext_for("+48226006110"), None);
        assert_eq!(b.number_for("110"), None);
        assert_eq!(b.number_for("1030"), None);
    }

    #[test]
    fn typed_numbers_become_e164() {
        assert_eq!(
            normalize_number("+48 22 600-61-03").as_deref(),
            Some("+48226006103")
        );
        assert_eq!(
            normalize_number("0048226006103").as_deref(),
            Some("+48226006103")
        );
        assert_eq!(normalize_number("103"), None);
        assert_eq!(normalize_number("+48abc"), None);
    }

    #[tokio::test]
    async fn hashing_waits_for_a_thread_and_gives_up_busy() {
        let none = tokio::sync::Semaphore::new(0);
        let r = hashing(&none, std::time::Duration::from_millis(20), || 1).await;
        assert!(matches!(r, Err(StoreError::Busy)), "{r:?}");
        let one = tokio::sync::Semaphore::new(1);
        let r = hashing(&one, std::time::Duration::from_millis(20), || 1).await;
        assert_eq!(r.unwrap(), 1);
        assert!(verify_password("x", None).await.is_ok_and(|ok| !ok));
        let h = hash_password("Blue-Tram-Sunday-9").await.unwrap();
        assert!(
            verify_password("Blue-Tram-Sunday-9", Some(&h))
                .await
                .unwrap()
        );
    }

    #[test]
    fn password_rule() {
        assert!(check_password_strength("short", "a@b.c", "A").is_err());
        assert!(check_password_strength("aaaaaaaaaaaa", "a@b.c", "A").is_err());
        assert!(check_password_strength("Password2024!", "a@b.c", "A").is_err());
        assert!(check_password_strength("alice-rocks-7", "alice@b.c", "X").is_err());
        assert!(check_password_strength("Blue-Tram-Sunday-9", "a@b.c", "Ann Lee").is_ok());
    }

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(
            normalize_email(" Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in ["", "ann", "ann@", "@x.y", "a b@x.y", "a@x", "a@@x.y"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
