//! Persistent data: SQLite through sqlx, with embedded migrations. Queries are plain SQL that
//! PostgreSQL also accepts (placeholders aside), so a second backend can follow.

use std::path::Path;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use centrala_sip::digest::{Algorithm, ha1};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

/// Errors of the store, for the CLI and the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The extension is already taken.
    #[error("extension {0} already exists")]
    Duplicate(String),
    /// No user has that extension.
    #[error("no user with extension {0}")]
    NotFound(String),
    /// Input that cannot be stored, with the reason.
    #[error("{0}")]
    Invalid(String),
    /// A field of the input is wrong (for the API's `fields`).
    #[error("{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    /// The input collides with what is stored (an e-mail or extension already taken).
    #[error("{field}: {message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// Every password-hashing thread stayed busy for [`crate::accounts::HASH_WAIT`].
    #[error("the server is busy checking passwords; try again shortly")]
    Busy,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// The database refused the data itself (a CHECK, UNIQUE, NOT NULL or foreign key
    /// constraint): trying again will not help.
    pub fn is_constraint(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => matches!(
                e.kind(),
                sqlx::error::ErrorKind::UniqueViolation
                    | sqlx::error::ErrorKind::ForeignKeyViolation
                    | sqlx::error::ErrorKind::NotNullViolation
                    | sqlx::error::ErrorKind::CheckViolation
            ),
            _ => false,
        }
    }
}

/// A SIP user as the registrar needs it: no passwords, only digest HA1 values of the SIP
/// password (if one was set) and whether the web app may register (short-lived credentials).
#[derive(Debug, Clone)]
pub struct SipUser {
    pub company_id: i64,
    /// The employee (the web app's credentials are bound to it, see [`crate::sipcred`]).
    pub employee_id: i64,
    pub ext: String,
    pub name: String,
    pub realm: String,
    pub ha1_md5: Option<String>,
    pub ha1_sha256: Option<String>,
    pub app_access: bool,
    /// Raised by logout, a new web password, revoked access and renumbering: the web app's
    /// credentials made for an earlier generation stop working.
    pub sip_generation: i64,
    /// The digest algorithm the SIP password's challenge uses; `None`: the transport's default.
    pub digest: Option<Algorithm>,
    /// No new device may register (existing ones go on).
    pub locked: bool,
    /// While locked, the devices that may still register: those it had when it was locked
    /// (device ids, and `login:<user name>` for phones with a device credential).
    pub locked_devices: Vec<Box<str>>,
    /// Forwarding rules and ring strategy.
    pub routing: std::sync::Arc<crate::forwarding::Routing>,
    /// The default device's key (as [`crate::core::DeviceInfo::id`] names it), if picked.
    pub default_device: Option<Box<str>>,
    /// Looked up by a device credential's user name: that name (the HA1 values are the
    /// credential's, not the extension's SIP password's).
    pub login: Option<Box<str>>,
    /// What they may call outside the company, and as which number.
    pub outside: Box<crate::numbering::Outside>,
}

impl SipUser {
    pub fn ha1(&self, alg: Algorithm) -> Option<&str> {
        match alg {
            Algorithm::Md5 => self.ha1_md5.as_deref(),
            Algorithm::Sha256 => self.ha1_sha256.as_deref(),
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Added to each lookup the SIP core makes ([`Store::slow_down`]).
    delay_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The data folder (the database, and files such as voicemail recordings).
    data_dir: std::sync::Arc<std::path::PathBuf>,
    /// Wakes the mail queue's worker after the store queued mail itself (spend alerts).
    mail_wake: std::sync::Arc<tokio::sync::Notify>,
}

/// Extensions are 2 to 8 digits.
pub fn validate_ext(ext: &str) -> Result<(), StoreError> {
    if (2..=8).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "extension must be 2 to 8 digits, got {ext:?}"
        )))
    }
}

impl Store {
    /// Slows every lookup the SIP core makes (users, domains, numbers) by `ms`, as a loaded
    /// or remote database would: for tests that show the core never waits on the store, and
    /// for drills. 0 turns it off.
    pub fn slow_down(&self, ms: u64) {
        self.delay_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) async fn pause(&self) {
        let ms = self.delay_ms.load(std::sync::atomic::Ordering::Relaxed);
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }

    /// Opens (creating if needed) `DIR/centrala.db` and runs the migrations.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Invalid(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join("centrala.db");
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            delay_ms: Default::default(),
            data_dir: std::sync::Arc::new(data_dir.to_path_buf()),
            mail_wake: Default::default(),
        })
    }

    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get::<String, _>(0)))
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The pool, for the account queries in [`crate::accounts`].
    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// What wakes the mail queue's worker (shared with [`crate::mailqueue::MailQueue`]).
    pub fn mail_wake(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.mail_wake.clone()
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Adds a user with a SIP password to the default company (the command line's
    /// `user add`); the password is turned into HA1 values for `realm`.
    pub async fn add_user(
        &self,
        ext: &str,
        name: &str,
        password: &str,
        realm: &str,
    ) -> Result<(), StoreError> {
        self.add_sip_user(crate::accounts::DEFAULT_COMPANY, ext, name, password, realm)
            .await
            .map(|_| ())
    }

    /// Adds an employee with a SIP password to `company`; returns the new id.
    pub async fn add_sip_user(
        &self,
        company: i64,
        ext: &str,
        name: &str,
        password: &str,
        realm: &str,
    ) -> Result<i64, StoreError> {
        validate_ext(ext)?;
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("name must not be empty".into()));
        }
        validate_sip_password(password)?;
        let (md5, sha) = sip_credentials(ext, password, realm);
        let res = sqlx::query(
            "INSERT INTO employees (company_id, ext, name, sip_realm, ha1_md5, ha1_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(company)
        .bind(ext)
        .bind(name.trim())
        .bind(realm)
        .bind(md5)
        .bind(sha)
        .bind(crate::accounts::unix_now())
        .fetch_one(&self.pool)
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Duplicate(ext.into()))
            }
            Err(e) => Err(e.into()),
            Ok(row) => Ok(row.get(0)),
        }
    }

    /// Sets a new SIP password (and realm) for an extension of the default company.
    pub async fn set_password(
        &self,
        ext: &str,
        password: &str,
        realm: &str,
    ) -> Result<(), StoreError> {
        self.set_sip_password(crate::accounts::DEFAULT_COMPANY, ext, password, realm)
            .await
    }

    /// Sets a new SIP password (and realm) for an extension of `company`.
    pub async fn set_sip_password(
        &self,
        company: i64,
        ext: &str,
        password: &str,
        realm: &str,
    ) -> Result<(), StoreError> {
        validate_sip_password(password)?;
        let (md5, sha) = sip_credentials(ext, password, realm);
        let res = sqlx::query("UPDATE employees SET ha1_md5 = ?, ha1_sha256 = ?, sip_realm = ? WHERE company_id = ? AND ext = ?")
            .bind(md5)
            .bind(sha)
            .bind(realm)
            .bind(company)
            .bind(ext)
            .execute(&self.pool)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(ext.into()));
        }
        Ok(())
    }

    /// Removes an extension of `company`.
    pub async fn remove_user_in(&self, company: i64, ext: &str) -> Result<(), StoreError> {
        let res = sqlx::query("DELETE FROM employees WHERE company_id = ? AND ext = ?")
            .bind(company)
            .bind(ext)
            .execute(&self.pool)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(ext.into()));
        }
        Ok(())
    }

    /// An extension of `company`, as the registrar needs it; or, for a device credential's
    /// user name ([`crate::forwarding::is_credential_username`]), the employee it belongs to
    /// with the credential's HA1 values.
    pub async fn find_sip_user(
        &self,
        company: i64,
        ext: &str,
    ) -> Result<Option<SipUser>, StoreError> {
        self.pause().await;
        let mut user = self.find_sip_user_row(company, ext).await?;
        if let Some((u, limits)) = user.as_mut() {
            // Their own public number, from the company's number blocks.
            u.outside.own_number = self
                .number_blocks(u.company_id)
                .await?
                .iter()
                .find_map(|b| b.number_for(&u.ext));
            // Outside calls stop at the month's spending limit (read only when one is set).
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            u.outside.limit_reached = self
                .spend_limit_reached(u.company_id, u.employee_id, *limits, now_ms)
                .await?;
        }
        Ok(user.map(|(u, _)| u))
    }

    async fn find_sip_user_row(
        &self,
        company: i64,
        ext: &str,
    ) -> Result<Option<(SipUser, SpendLimits)>, StoreError> {
        if crate::forwarding::is_credential_username(ext) {
            return Ok(sqlx::query(&format!(
                "SELECT {SIP_COLUMNS}, d.ha1_md5, d.ha1_sha256, d.realm FROM device_credentials d JOIN employees e ON e.id = d.employee_id JOIN companies c ON c.id = e.company_id WHERE d.company_id = ? AND d.username = ?"
            ))
            .bind(company)
            .bind(ext)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| {
                let (mut u, limits) = row_to_user(r);
                // The credential's columns follow the 22 of SIP_COLUMNS.
                u.ha1_md5 = r.get(22);
                u.ha1_sha256 = r.get(23);
                u.realm = r.get(24);
                u.login = Some(ext.into());
                (u, limits)
            }));
        }
        Ok(sqlx::query(&format!(
            "SELECT {SIP_COLUMNS} FROM employees e JOIN companies c ON c.id = e.company_id WHERE e.company_id = ? AND e.ext = ?"
        ))
        .bind(company)
        .bind(ext)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(row_to_user))
    }

    /// A company's people for its directory list: extension and name, by extension.
    pub async fn roster(&self, company: i64) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT ext, name FROM employees WHERE company_id = ? ORDER BY ext")
            .bind(company)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Stores a person's own presence choice; false when there is no such extension.
    pub async fn save_presence(
        &self,
        company: i64,
        ext: &str,
        choice: crate::core::Choice,
    ) -> Result<bool, StoreError> {
        let res = sqlx::query("UPDATE employees SET presence = ? WHERE company_id = ? AND ext = ?")
            .bind(choice.as_str())
            .bind(company)
            .bind(ext)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Everyone whose choice is not "available" (the core learns these at start).
    pub async fn presence_choices(
        &self,
    ) -> Result<Vec<(i64, String, crate::core::Choice)>, StoreError> {
        let rows = sqlx::query(
            "SELECT company_id, ext, presence FROM employees WHERE presence != 'available'",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let choice: String = r.get(2);
                Some((r.get(0), r.get(1), choice.parse().ok()?))
            })
            .collect())
    }

    /// Stores finished calls in one transaction; employees are found by extension as they
    /// are now. External calls are rated (class, billed seconds, cost: [`crate::costs`])
    /// with the price list valid when they started, and a call that takes its caller or
    /// the company past 80 % of a monthly spend limit queues the alert e-mails, once per
    /// limit and month, in the same transaction.
    pub async fn record_calls(&self, calls: &[crate::core::CallRecord]) -> Result<(), StoreError> {
        // IMMEDIATE: the rating reads before it writes, and a read transaction that another
        // connection writes past cannot become a write one (SQLITE_BUSY at once, whatever
        // the busy timeout); taking the write lock first waits for it instead.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut prices = crate::costs::PriceCache::default();
        let mut charged = Vec::new();
        for c in calls {
            let rated = crate::costs::rate_record(&mut tx, &mut prices, c).await?;
            insert_call(&mut tx, c, rated.as_ref()).await?;
            if let Some(r) = rated
                && r.rated.cost > 0
            {
                charged.push((c.company, r.employee, c.started_ms));
            }
        }
        let alerts = crate::costs::queue_spend_alerts(&mut tx, &charged).await?;
        tx.commit().await?;
        if alerts > 0 {
            self.mail_wake.notify_one();
        }
        Ok(())
    }

    /// Raises an employee's SIP generation: the web app's SIP credentials handed out before
    /// stop working. Returns the company and extension, for telling the core.
    pub async fn bump_sip_generation(
        &self,
        employee: i64,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query(
            "UPDATE employees SET sip_generation = sip_generation + 1 WHERE id = ? RETURNING company_id, ext",
        )
        .bind(employee)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| (r.get(0), r.get(1))))
    }

    /// The company and extension of an employee.
    pub async fn employee_ext(&self, employee: i64) -> Result<Option<(i64, String)>, StoreError> {
        Ok(
            sqlx::query("SELECT company_id, ext FROM employees WHERE id = ?")
                .bind(employee)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| (r.get(0), r.get(1))),
        )
    }

    /// An employee's SIP generation (for the web app's credentials).
    pub async fn sip_generation(&self, employee: i64) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query("SELECT sip_generation FROM employees WHERE id = ?")
                .bind(employee)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.get(0)),
        )
    }

    /// Sets which digest challenge an extension's SIP password gets (`None`: the
    /// transport's default).
    pub async fn set_sip_digest(
        &self,
        company: i64,
        ext: &str,
        digest: Option<Algorithm>,
    ) -> Result<(), StoreError> {
        let res =
            sqlx::query("UPDATE employees SET sip_digest = ? WHERE company_id = ? AND ext = ?")
                .bind(digest.map(digest_name))
                .bind(company)
                .bind(ext)
                .execute(&self.pool)
                .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(ext.into()));
        }
        Ok(())
    }

    /// Extensions of the first company whose SIP password was set for another realm (they
    /// cannot register until it is set again).
    pub async fn sip_passwords_for_other_realm(
        &self,
        realm: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query("SELECT ext FROM employees WHERE company_id = ? AND ha1_md5 IS NOT NULL AND sip_realm <> ? ORDER BY ext LIMIT 20")
            .bind(crate::accounts::DEFAULT_COMPANY)
            .bind(realm)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }
}

/// At most this many device credentials per person.
pub const MAX_DEVICE_CREDENTIALS: i64 = 5;

/// Letters and digits of a device credential's password: none that read alike (0 O o, 1 l I).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// A device credential's password length (about 116 bits).
pub const DEVICE_PASSWORD_LEN: usize = 20;

/// A person's routing settings as stored: lock, forwarding rules and ring strategy, default
/// device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingSettings {
    pub locked: bool,
    pub routing: crate::forwarding::Routing,
    /// The default device's id ([`crate::core::device_id`], 16 hex digits).
    pub default_device: Option<String>,
}

/// A device credential as listed (the password is never stored, only digest HA1 values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCredential {
    pub id: i64,
    pub username: String,
    pub label: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The name of whoever made it (now), if they still exist.
    pub created_by: Option<String>,
}

/// A device credential's SIP user name: `d` and 9 lower-case letters or digits (see
/// [`crate::forwarding::is_credential_username`]).
pub fn new_credential_username() -> String {
    use rand::Rng;
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    std::iter::once('d')
        .chain((0..9).map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char))
        .collect()
}

/// A device credential's password: [`DEVICE_PASSWORD_LEN`] characters that cannot be
/// misread when typed into a phone.
pub fn new_device_password() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..DEVICE_PASSWORD_LEN)
        .map(|_| PASSWORD_ALPHABET[rng.gen_range(0..PASSWORD_ALPHABET.len())] as char)
        .collect()
}

impl Store {
    /// An employee's routing settings; `None` when there is no such employee in `company`.
    pub async fn routing_settings(
        &self,
        company: i64,
        employee: i64,
    ) -> Result<Option<RoutingSettings>, StoreError> {
        Ok(sqlx::query(
            "SELECT locked, routing, default_device FROM employees WHERE company_id = ? AND id = ?",
        )
        .bind(company)
        .bind(employee)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| RoutingSettings {
            locked: r.get::<i64, _>(0) != 0,
            routing: crate::forwarding::Routing::from_json(&r.get::<String, _>(1)).unwrap_or_else(
                |e| {
                    tracing::warn!(employee, error = %e, "unreadable routing settings: none shown");
                    Default::default()
                },
            ),
            default_device: r.get(2),
        }))
    }

    /// Stores an employee's forwarding rules and ring strategy (checked by the caller with
    /// [`crate::forwarding::Routing::validate`]); false when there is no such employee.
    pub async fn set_routing(
        &self,
        company: i64,
        employee: i64,
        routing: &crate::forwarding::Routing,
    ) -> Result<bool, StoreError> {
        let res = sqlx::query("UPDATE employees SET routing = ? WHERE company_id = ? AND id = ?")
            .bind(routing.to_json())
            .bind(company)
            .bind(employee)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Locks (no new device may register) or unlocks an employee's extension; false when
    /// there is no such employee.
    /// Locking keeps `devices` (see [`SipUser::locked_devices`]): they may come back.
    pub async fn set_locked(
        &self,
        company: i64,
        employee: i64,
        locked: bool,
        devices: &[String],
    ) -> Result<bool, StoreError> {
        let kept = if locked {
            serde_json::to_string(devices).expect("strings serialize")
        } else {
            "[]".to_string()
        };
        let res = sqlx::query(
            "UPDATE employees SET locked = ?, locked_devices = ? WHERE company_id = ? AND id = ?",
        )
        .bind(i64::from(locked))
        .bind(kept)
        .bind(company)
        .bind(employee)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Sets (or with `None` clears) an employee's default device id; false when there is
    /// no such employee.
    pub async fn set_default_device(
        &self,
        company: i64,
        employee: i64,
        device: Option<&str>,
    ) -> Result<bool, StoreError> {
        let res =
            sqlx::query("UPDATE employees SET default_device = ? WHERE company_id = ? AND id = ?")
                .bind(device)
                .bind(company)
                .bind(employee)
                .execute(&self.pool)
                .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Which of `exts` no employee of `company` has, in the order given (each once).
    pub async fn missing_extensions(
        &self,
        company: i64,
        exts: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        let mut missing: Vec<String> = Vec::new();
        for ext in exts {
            if missing.iter().any(|m| m == ext) {
                continue;
            }
            let found = sqlx::query("SELECT 1 FROM employees WHERE company_id = ? AND ext = ?")
                .bind(company)
                .bind(ext)
                .fetch_optional(&self.pool)
                .await?;
            if found.is_none() {
                missing.push(ext.to_string());
            }
        }
        Ok(missing)
    }

    /// An employee's device credentials, oldest first.
    pub async fn device_credentials(
        &self,
        company: i64,
        employee: i64,
    ) -> Result<Vec<DeviceCredential>, StoreError> {
        Ok(sqlx::query(
            "SELECT d.id, d.username, d.label, d.created_at, b.name FROM device_credentials d \
             LEFT JOIN employees b ON b.id = d.created_by \
             WHERE d.company_id = ? AND d.employee_id = ? ORDER BY d.id",
        )
        .bind(company)
        .bind(employee)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| DeviceCredential {
            id: r.get(0),
            username: r.get(1),
            label: r.get(2),
            created_at: r.get(3),
            created_by: r.get(4),
        })
        .collect())
    }

    /// Makes a device credential for an employee of `company`: a new user name and password
    /// (returned this once; only its HA1 values for the company's SIP domain are kept).
    /// `label` is stored trimmed (the caller checks it). `Ok(None)` when the employee
    /// already has [`MAX_DEVICE_CREDENTIALS`] (or does not exist).
    pub async fn create_device_credential(
        &self,
        company: i64,
        employee: i64,
        label: &str,
        created_by: Option<i64>,
    ) -> Result<Option<(DeviceCredential, String)>, StoreError> {
        // The realm the core challenges with: the company's SIP domain.
        let Some(realm) = sqlx::query(
            "SELECT c.domain FROM employees e JOIN companies c ON c.id = e.company_id \
             WHERE e.company_id = ? AND e.id = ?",
        )
        .bind(company)
        .bind(employee)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| r.get::<String, _>(0)) else {
            return Ok(None);
        };
        let label = label.trim();
        let password = new_device_password();
        let now = crate::accounts::unix_now();
        for _ in 0..8 {
            let username = new_credential_username();
            let (md5, sha) = sip_credentials(&username, &password, &realm);
            // One statement: two requests at once cannot both pass the limit.
            let res = sqlx::query(
                "INSERT INTO device_credentials (company_id, employee_id, username, label, realm, \
                 ha1_md5, ha1_sha256, created_at, created_by) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 \
                 WHERE (SELECT COUNT(*) FROM device_credentials WHERE company_id = ?1 AND employee_id = ?2) < ?10 \
                 RETURNING id",
            )
            .bind(company)
            .bind(employee)
            .bind(&username)
            .bind(label)
            .bind(&realm)
            .bind(md5)
            .bind(sha)
            .bind(now)
            .bind(created_by)
            .bind(MAX_DEVICE_CREDENTIALS)
            .fetch_optional(&self.pool)
            .await;
            let id: i64 = match res {
                Ok(Some(r)) => r.get(0),
                Ok(None) => return Ok(None),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            };
            let created_by = match created_by {
                Some(b) => sqlx::query("SELECT name FROM employees WHERE id = ?")
                    .bind(b)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| r.get(0)),
                None => None,
            };
            return Ok(Some((
                DeviceCredential {
                    id,
                    username,
                    label: label.to_string(),
                    created_at: now,
                    created_by,
                },
                password,
            )));
        }
        Err(StoreError::Invalid(
            "could not find a free user name; try again".into(),
        ))
    }

    /// Deletes an employee's device credential; its user name, or `None` when there is no
    /// such credential of that employee.
    pub async fn delete_device_credential(
        &self,
        company: i64,
        employee: i64,
        id: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM device_credentials WHERE company_id = ? AND employee_id = ? AND id = ? RETURNING username",
        )
        .bind(company)
        .bind(employee)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| r.get(0)))
    }
}

const SIP_COLUMNS: &str = "e.company_id, e.ext, e.name, COALESCE(e.sip_realm, c.domain), e.ha1_md5, e.ha1_sha256, e.app_access, e.id, e.sip_generation, e.sip_digest, e.locked, e.routing, e.default_device, e.locked_devices, COALESCE(e.call_permission, c.call_permission), COALESCE(e.premium_calls, c.premium_calls), COALESCE(e.caller_id, c.caller_id), c.main_number, e.mobile_number, e.outside_suspended, COALESCE(e.spend_limit_micros, c.person_spend_limit_micros), c.spend_limit_micros";

/// A person's monthly spending limit (theirs or the company's default per person) and the
/// company's, in micros.
type SpendLimits = (Option<i64>, Option<i64>);

fn row_to_user(r: &sqlx::sqlite::SqliteRow) -> (SipUser, SpendLimits) {
    let user = SipUser {
        company_id: r.get(0),
        ext: r.get(1),
        name: r.get(2),
        realm: r.get(3),
        ha1_md5: r.get(4),
        ha1_sha256: r.get(5),
        app_access: r.get::<i64, _>(6) != 0,
        employee_id: r.get(7),
        sip_generation: r.get(8),
        digest: r
            .get::<Option<String>, _>(9)
            .as_deref()
            .and_then(Algorithm::parse),
        locked: r.get::<i64, _>(10) != 0,
        routing: std::sync::Arc::new(
            crate::forwarding::Routing::from_json(&r.get::<String, _>(11)).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "unreadable routing settings: none used");
                Default::default()
            }),
        ),
        default_device: r.get::<Option<String>, _>(12).map(Into::into),
        locked_devices: serde_json::from_str::<Vec<String>>(&r.get::<String, _>(13))
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
        login: None,
        outside: Box::new(crate::numbering::Outside {
            permission: r
                .get::<String, _>(14)
                .parse()
                .unwrap_or(crate::numbering::Permission::Internal),
            premium: r.get::<i64, _>(15) != 0,
            caller_id: r.get::<String, _>(16).parse().unwrap_or_default(),
            own_number: None,
            main_number: r.get(17),
            mobile: r.get(18),
            limit_reached: false,
            suspended: r.get::<i64, _>(19) != 0,
        }),
    };
    (user, (r.get(20), r.get(21)))
}

/// How a digest algorithm is stored in `employees.sip_digest`.
pub fn digest_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::Md5 => "md5",
        Algorithm::Sha256 => "sha-256",
    }
}

fn validate_sip_password(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < 6 {
        return Err(StoreError::Invalid(
            "password must have at least 6 characters".into(),
        ));
    }
    Ok(())
}

/// Digest HA1 values (MD5, SHA-256) of a SIP password.
fn sip_credentials(ext: &str, password: &str, realm: &str) -> (String, String) {
    (
        ha1(Algorithm::Md5, ext, realm, password),
        ha1(Algorithm::Sha256, ext, realm, password),
    )
}

/// An argon2 hash of a web password. Slow on purpose: from async code use
/// [`crate::accounts::hash_password`], which runs it on a hashing thread.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))
}

/// Checks a web password against its argon2 hash (from async code:
/// [`crate::accounts::verify_password`]).
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// One call record, inside a transaction. Employees (caller, callee, the one a forwarded
/// call was first for) are found by extension as they are now.
async fn insert_call(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    c: &crate::core::CallRecord,
    rated: Option<&crate::costs::RatedCall>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO calls (company_id, sip_call_id, caller_id, caller_number, caller_name, \
         dialled, callee_id, callee_number, callee_name, started_ms, answered_ms, ended_ms, \
         outcome, status, answered_device, diverted_from_id, diverted_from_number, diversion, \
         class, billed_seconds, cost_micros, currency) \
         VALUES (?1, ?2, \
         (SELECT id FROM employees WHERE company_id = ?1 AND ext = ?3), ?4, ?5, ?6, \
         (SELECT id FROM employees WHERE company_id = ?1 AND ext = ?7), ?7, \
         COALESCE(?8, (SELECT name FROM employees WHERE company_id = ?1 AND ext = ?7)), ?9, ?10, \
         ?11, ?12, ?13, ?14, \
         (SELECT id FROM employees WHERE company_id = ?1 AND ext = ?15), ?15, ?16, \
         ?17, ?18, ?19, ?20)",
    )
    .bind(c.company)
    .bind(&c.sip_call_id)
    .bind(c.caller_ext.as_deref())
    .bind(&c.caller_number)
    .bind(c.caller_name.as_deref())
    .bind(&c.dialled)
    .bind(c.callee_ext.as_deref())
    .bind(c.callee_name.as_deref())
    .bind(c.started_ms)
    .bind(c.answered_ms)
    .bind(c.ended_ms)
    .bind(c.outcome.as_str())
    .bind(c.status.map(i64::from))
    .bind(c.answered_device.as_deref())
    .bind(c.diverted_from.as_deref())
    .bind(c.diversion.map(crate::forwarding::Cause::as_str))
    .bind(rated.map(|r| r.rated.class_key.as_str()))
    .bind(rated.map(|r| r.rated.billed_seconds))
    .bind(rated.and_then(|r| r.priced.then_some(r.rated.cost)))
    .bind(rated.map(|_| crate::billing::CURRENCY))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forwarding::{Cause, Routing, Target};

    #[test]
    fn credential_names_and_passwords() {
        for _ in 0..100 {
            let u = new_credential_username();
            assert!(crate::forwarding::is_credential_username(&u), "{u}");
            let p = new_device_password();
            assert_eq!(p.len(), DEVICE_PASSWORD_LEN);
            assert!(p.bytes().all(|b| PASSWORD_ALPHABET.contains(&b)), "{p}");
            assert!(!p.contains(['0', 'O', 'o', '1', 'l', 'I']), "{p}");
        }
        assert_ne!(new_device_password(), new_device_password());
    }

    #[tokio::test]
    async fn device_credentials_routing_and_forwarded_calls() {
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
        // Credentials: five, then no more; the password verifies against the stored HA1.
        let mut made = Vec::new();
        for i in 0..MAX_DEVICE_CREDENTIALS {
            let (cred, pw) = store
                .create_device_credential(c.id, anna, &format!("  Phone {i} "), Some(bob))
                .await
                .unwrap()
                .expect("room for it");
            assert_eq!(cred.label, format!("Phone {i}"));
            assert_eq!(cred.created_by.as_deref(), Some("Bob"));
            made.push((cred, pw));
        }
        assert!(
            store
                .create_device_credential(c.id, anna, "Sixth", None)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .create_device_credential(c.id + 1, anna, "Other company", None)
                .await
                .unwrap()
                .is_none()
        );
        let list = store.device_credentials(c.id, anna).await.unwrap();
        assert_eq!(
            list,
            made.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>()
        );
        let (cred, pw) = &made[0];
        let u = store
            .find_sip_user(c.id, &cred.username)
            .await
            .unwrap()
            .expect("found by the credential's user name");
        assert_eq!((u.ext.as_str(), u.employee_id), ("101", anna));
        assert_eq!(u.login.as_deref(), Some(cred.username.as_str()));
        assert_eq!(u.realm, "acme.example");
        assert_eq!(
            u.ha1_md5.as_deref(),
            Some(ha1(Algorithm::Md5, &cred.username, "acme.example", pw).as_str())
        );
        assert_eq!(
            u.ha1_sha256.as_deref(),
            Some(ha1(Algorithm::Sha256, &cred.username, "acme.example", pw).as_str())
        );
        // Deleting: only the owner's, once.
        assert_eq!(
            store
                .delete_device_credential(c.id, bob, cred.id)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .delete_device_credential(c.id, anna, cred.id)
                .await
                .unwrap()
                .as_deref(),
            Some(cred.username.as_str())
        );
        assert!(
            store
                .find_sip_user(c.id, &cred.username)
                .await
                .unwrap()
                .is_none()
        );
        // Routing settings, lock and default device are read with the SIP user.
        let routing = Routing {
            busy: Some(Target::Extension { ext: "102".into() }),
            ..Routing::default()
        };
        assert!(store.set_routing(c.id, anna, &routing).await.unwrap());
        assert!(store.set_locked(c.id, anna, true, &[]).await.unwrap());
        assert!(
            store
                .set_default_device(c.id, anna, Some("0123456789abcdef"))
                .await
                .unwrap()
        );
        assert!(!store.set_locked(c.id + 1, anna, true, &[]).await.unwrap());
        let s = store.routing_settings(c.id, anna).await.unwrap().unwrap();
        assert_eq!(
            s,
            RoutingSettings {
                locked: true,
                routing: routing.clone(),
                default_device: Some("0123456789abcdef".into()),
            }
        );
        let u = store.find_sip_user(c.id, "101").await.unwrap().unwrap();
        assert!(u.locked);
        assert_eq!(*u.routing, routing);
        assert_eq!(u.default_device.as_deref(), Some("0123456789abcdef"));
        assert_eq!(
            store
                .missing_extensions(c.id, &["102", "555", "101", "555"])
                .await
                .unwrap(),
            ["555"]
        );
        // A forwarded call names whom it was first for, and why.
        let record = crate::core::CallRecord {
            company: c.id,
            sip_call_id: "fw1".into(),
            caller_ext: None,
            caller_number: "+48600100200".into(),
            caller_name: None,
            dialled: "101".into(),
            callee_ext: Some("102".into()),
            callee_name: None,
            started_ms: 1,
            answered_ms: None,
            ended_ms: 2,
            outcome: crate::core::Outcome::Missed,
            status: Some(480),
            answered_device: None,
            diverted_from: Some("101".into()),
            diversion: Some(Cause::NoAnswer),
        };
        store
            .record_calls(std::slice::from_ref(&record))
            .await
            .unwrap();
        let row = sqlx::query(
            "SELECT callee_id, diverted_from_id, diverted_from_number, diversion FROM calls",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!(row.get::<Option<i64>, _>(0), Some(bob));
        assert_eq!(row.get::<Option<i64>, _>(1), Some(anna));
        assert_eq!(row.get::<Option<String>, _>(2).as_deref(), Some("101"));
        assert_eq!(
            row.get::<Option<String>, _>(3).as_deref(),
            Some("no_answer")
        );
        // A call voicemail took is stored as such; a record the database refuses (no such
        // company) is told apart from a passing failure.
        let mut vm = record.clone();
        vm.sip_call_id = "vm1".into();
        vm.outcome = crate::core::Outcome::Voicemail;
        store.record_calls(std::slice::from_ref(&vm)).await.unwrap();
        let outcome: String =
            sqlx::query_scalar("SELECT outcome FROM calls WHERE sip_call_id = 'vm1'")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!(outcome, "voicemail");
        let mut bad = vm.clone();
        bad.company = 999;
        let e = store.record_calls(&[bad]).await.unwrap_err();
        assert!(e.is_constraint(), "{e}");
    }
}
