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
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A user as the registrar needs it (no password, only digest HA1 values).
#[derive(Debug, Clone)]
pub struct SipUser {
    pub ext: String,
    pub name: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

impl SipUser {
    pub fn ha1(&self, alg: Algorithm) -> &str {
        match alg {
            Algorithm::Md5 => &self.ha1_md5,
            Algorithm::Sha256 => &self.ha1_sha256,
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
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
        Ok(Store { pool })
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

    /// Adds a user; the password is hashed (argon2) and turned into HA1 values for `realm`.
    pub async fn add_user(
        &self,
        ext: &str,
        name: &str,
        password: &str,
        realm: &str,
    ) -> Result<(), StoreError> {
        validate_ext(ext)?;
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("name must not be empty".into()));
        }
        if password.len() < 6 {
            return Err(StoreError::Invalid(
                "password must have at least 6 characters".into(),
            ));
        }
        let (hash, md5, sha) = credentials(ext, password, realm)?;
        let res = sqlx::query(
            "INSERT INTO users (ext, name, realm, password_hash, ha1_md5, ha1_sha256) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(ext)
        .bind(name.trim())
        .bind(realm)
        .bind(hash)
        .bind(md5)
        .bind(sha)
        .execute(&self.pool)
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Duplicate(ext.into()))
            }
            Err(e) => Err(e.into()),
            Ok(_) => Ok(()),
        }
    }

    /// Sets a new password (and realm) for an existing user.
    pub async fn set_password(
        &self,
        ext: &str,
        password: &str,
        realm: &str,
    ) -> Result<(), StoreError> {
        let (hash, md5, sha) = credentials(ext, password, realm)?;
        let res = sqlx::query("UPDATE users SET password_hash = ?, ha1_md5 = ?, ha1_sha256 = ?, realm = ? WHERE ext = ?")
            .bind(hash)
            .bind(md5)
            .bind(sha)
            .bind(realm)
            .bind(ext)
            .execute(&self.pool)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(ext.into()));
        }
        Ok(())
    }

    pub async fn remove_user(&self, ext: &str) -> Result<(), StoreError> {
        let res = sqlx::query("DELETE FROM users WHERE ext = ?")
            .bind(ext)
            .execute(&self.pool)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(ext.into()));
        }
        Ok(())
    }

    pub async fn list_users(&self) -> Result<Vec<SipUser>, StoreError> {
        let rows =
            sqlx::query("SELECT ext, name, realm, ha1_md5, ha1_sha256 FROM users ORDER BY ext")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(row_to_user).collect())
    }

    pub async fn find_user(&self, ext: &str) -> Result<Option<SipUser>, StoreError> {
        Ok(
            sqlx::query("SELECT ext, name, realm, ha1_md5, ha1_sha256 FROM users WHERE ext = ?")
                .bind(ext)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(row_to_user),
        )
    }
}

fn row_to_user(r: &sqlx::sqlite::SqliteRow) -> SipUser {
    SipUser {
        ext: r.get(0),
        name: r.get(1),
        realm: r.get(2),
        ha1_md5: r.get(3),
        ha1_sha256: r.get(4),
    }
}

fn credentials(
    ext: &str,
    password: &str,
    realm: &str,
) -> Result<(String, String, String), StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))?
        .to_string();
    Ok((
        hash,
        ha1(Algorithm::Md5, ext, realm, password),
        ha1(Algorithm::Sha256, ext, realm, password),
    ))
}
