//! The outgoing mail queue: every e-mail (invitations, password links, and later voicemail)
//! is written to the database first, then delivered by one worker with retries and backoff,
//! so that a mail server that is down or slow loses nothing and holds up no request, and a
//! restart resumes where it stopped.
//!
//! A request that queues a mail asks for one delivery attempt at once
//! ([`MailQueue::send_now`]) so that the person who clicked learns at once when the mail
//! settings are wrong; the mail stays queued either way. Retries wait `retry_base` × 2ⁿ
//! (capped at an hour, ±20 %) until `give_up_after` from queueing, then the mail is marked
//! failed and logged. A queued mail's body holds its link (the one-time token): bodies are
//! cleared once the mail is sent or given up.

use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::mail::{Lang, Letter, MailError, Mailer};
use crate::store::{Store, StoreError};

/// How the queue retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The first retry's wait; each later one doubles, up to an hour.
    pub retry_base: Duration,
    /// A mail not delivered this long after it was queued is given up.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            retry_base: Duration::from_secs(60),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`, given `jitter` in [0, 1).
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let base = self.retry_base.as_millis() as u64;
        let ms = base
            .saturating_mul(1u64 << attempts.saturating_sub(1).min(16))
            .min(3_600_000);
        Duration::from_millis((ms as f64 * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))) as u64)
    }
}

/// One mail to queue.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to_name: String,
    pub to: String,
    pub letter: Letter,
    /// Logged when mail only goes to files (no SMTP server), so a test or an operator can
    /// follow it.
    pub link: String,
    /// What it is, for the logs: "invite", "reset", "voicemail".
    pub kind: &'static str,
    /// A file to attach (a voicemail message), read when the mail is sent.
    pub attachment: Option<Attachment>,
}

/// A file under the data folder attached to a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Relative to the store's data folder.
    pub path: String,
    /// The file name the recipient sees.
    pub name: String,
    /// Its media type, e.g. `audio/wav`.
    pub media_type: String,
}

/// Writes `m` to the queue on `conn` (also inside a transaction, see [`crate::costs`]),
/// due in `delay_ms`; returns its id. Wake the worker ([`Store::mail_wake`]) once it is
/// committed.
pub(crate) async fn insert_mail(
    conn: &mut sqlx::SqliteConnection,
    m: &Outgoing,
    delay_ms: i64,
) -> Result<i64, StoreError> {
    let now = unix_now_ms();
    let id = sqlx::query(
        "INSERT INTO mail_queue (kind, to_name, to_addr, lang, subject, body, link, created_ms, next_ms, \
         attachment_path, attachment_name, attachment_type) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(m.kind)
    .bind(&m.to_name)
    .bind(&m.to)
    .bind(m.letter.lang.as_str())
    .bind(&m.letter.subject)
    .bind(&m.letter.body)
    .bind(&m.link)
    .bind(now)
    .bind(now + delay_ms)
    .bind(m.attachment.as_ref().map(|a| a.path.as_str()))
    .bind(m.attachment.as_ref().map(|a| a.name.as_str()))
    .bind(m.attachment.as_ref().map(|a| a.media_type.as_str()))
    .fetch_one(conn)
    .await?
    .get::<i64, _>(0);
    Ok(id)
}

/// The queue and its worker's wake-up call.
#[derive(Clone)]
pub struct MailQueue {
    store: Store,
    mailer: Mailer,
    policy: RetryPolicy,
    wake: Arc<Notify>,
}

impl MailQueue {
    pub fn new(store: Store, mailer: Mailer, policy: RetryPolicy) -> MailQueue {
        // Shared with the store, which queues mail inside its own transactions (spend
        // alerts, see `crate::costs`) and wakes the worker once they are committed.
        let store_wake = store.mail_wake();
        MailQueue {
            store,
            mailer,
            policy,
            wake: store_wake,
        }
    }

    /// Writes `m` to the queue; returns its id. The worker delivers it.
    pub async fn enqueue(&self, m: Outgoing) -> Result<i64, StoreError> {
        let id = self.insert(m, 0).await?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Writes `m` to the queue, due for the worker in `delay_ms`.
    async fn insert(&self, m: Outgoing, delay_ms: i64) -> Result<i64, StoreError> {
        let mut conn = self.store.pool().acquire().await?;
        insert_mail(&mut conn, &m, delay_ms).await
    }

    /// Queues `m` and tries to deliver it at once: `Ok(())` when it went out, else why
    /// not (it stays queued and is retried).
    pub async fn send_now(&self, m: Outgoing) -> Result<Result<(), MailError>, StoreError> {
        // Not due for the worker before this attempt is over (it would send it twice); a
        // crash in between leaves it to the worker a minute later.
        let id = self.insert(m, 60_000).await?;
        let outcome = self.attempt(id).await?;
        self.wake.notify_one();
        Ok(match outcome {
            Attempt::Sent | Attempt::Gone => Ok(()),
            Attempt::Failed(e) => Err(e),
        })
    }

    /// Delivers every due mail, then sleeps until the next one is due (or a new one is
    /// queued). Runs for the life of the server.
    pub async fn run(self) {
        loop {
            let next = match self.deliver_due().await {
                Ok(next) => next,
                Err(e) => {
                    warn!(error = %e, "mail queue: database error");
                    Some(unix_now_ms() + 5_000)
                }
            };
            let wait = next.map_or(Duration::from_secs(3600), |t| {
                Duration::from_millis((t - unix_now_ms()).clamp(0, 3_600_000) as u64)
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Attempts every due mail once; returns when the next queued one is due.
    pub async fn deliver_due(&self) -> Result<Option<i64>, StoreError> {
        let now = unix_now_ms();
        let due: Vec<i64> = sqlx::query(
            "SELECT id FROM mail_queue WHERE state = 'queued' AND next_ms <= ? ORDER BY next_ms LIMIT 100",
        )
        .bind(now)
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        for id in due {
            self.attempt(id).await?;
        }
        let next = sqlx::query("SELECT MIN(next_ms) FROM mail_queue WHERE state = 'queued'")
            .fetch_one(self.store.pool())
            .await?
            .get::<Option<i64>, _>(0);
        Ok(next)
    }

    /// One delivery attempt of mail `id` (if it is still queued).
    async fn attempt(&self, id: i64) -> Result<Attempt, StoreError> {
        let row = sqlx::query(
            "SELECT kind, to_name, to_addr, lang, subject, body, link, created_ms, attempts, \
             attachment_path, attachment_name, attachment_type FROM mail_queue WHERE id = ? AND state = 'queued'",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(r) = row else {
            return Ok(Attempt::Gone);
        };
        let kind: String = r.get(0);
        let (to_name, to): (String, String) = (r.get(1), r.get(2));
        let letter = Letter {
            lang: Lang::parse(&r.get::<String, _>(3)).unwrap_or_default(),
            subject: r.get(4),
            body: r.get(5),
        };
        let link: String = r.get(6);
        let created: i64 = r.get(7);
        let attempts: u32 = r.get::<i64, _>(8).max(0) as u32 + 1;
        let attachment = match r.get::<Option<String>, _>(9) {
            None => None,
            // A file gone since (the message was deleted) is left out; the mail still goes.
            Some(rel) => {
                let path = self.store.data_dir().join(&rel);
                match tokio::fs::read(&path).await {
                    Ok(bytes) => Some(crate::mail::FileAttachment {
                        name: r
                            .get::<Option<String>, _>(10)
                            .unwrap_or_else(|| "attachment".into()),
                        media_type: r
                            .get::<Option<String>, _>(11)
                            .unwrap_or_else(|| "application/octet-stream".into()),
                        bytes,
                    }),
                    Err(e) => {
                        warn!(id, file = %path.display(), error = %e, "mail attachment missing: sent without it");
                        None
                    }
                }
            }
        };
        match self
            .mailer
            .send(&to_name, &to, letter, &link, attachment)
            .await
        {
            Ok(()) => {
                sqlx::query(
                    "UPDATE mail_queue SET state = 'sent', body = '', link = '', attempts = ?, sent_ms = ?, last_error = NULL WHERE id = ?",
                )
                .bind(attempts)
                .bind(unix_now_ms())
                .bind(id)
                .execute(self.store.pool())
                .await?;
                if attempts > 1 {
                    info!(id, %kind, attempts, "queued e-mail delivered");
                }
                Ok(Attempt::Sent)
            }
            Err(e) => {
                let now = unix_now_ms();
                let give_up = now - created >= self.policy.give_up_after.as_millis() as i64
                    || matches!(e, MailError::Address(_) | MailError::Build(_));
                if give_up {
                    warn!(id, %kind, %to, attempts, error = %e, "e-mail given up");
                    sqlx::query(
                        "UPDATE mail_queue SET state = 'failed', body = '', link = '', attempts = ?, last_error = ? WHERE id = ?",
                    )
                    .bind(attempts)
                    .bind(e.to_string())
                    .bind(id)
                    .execute(self.store.pool())
                    .await?;
                } else {
                    let wait = self.policy.backoff(attempts, rand::random::<f64>());
                    warn!(id, %kind, attempts, retry_in_s = wait.as_secs(), error = %e, "e-mail not sent; will retry");
                    sqlx::query(
                        "UPDATE mail_queue SET attempts = ?, next_ms = ?, last_error = ? WHERE id = ?",
                    )
                    .bind(attempts)
                    .bind(now + wait.as_millis() as i64)
                    .bind(e.to_string())
                    .bind(id)
                    .execute(self.store.pool())
                    .await?;
                }
                Ok(Attempt::Failed(e))
            }
        }
    }
}

/// How many mails are queued, sent and given up, and how many still hold a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueState {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub holding_links: i64,
}

impl Store {
    /// The mail queue's state, for the operator and the tests.
    pub async fn mail_queue_state(&self) -> Result<QueueState, StoreError> {
        let r = sqlx::query(
            "SELECT COALESCE(SUM(state = 'queued'), 0), COALESCE(SUM(state = 'sent'), 0), \
             COALESCE(SUM(state = 'failed'), 0), COALESCE(SUM(link != '' OR body != ''), 0) FROM mail_queue",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(QueueState {
            queued: r.get(0),
            sent: r.get(1),
            failed: r.get(2),
            holding_links: r.get(3),
        })
    }
}

enum Attempt {
    Sent,
    /// Not queued any more (sent meanwhile by the worker).
    Gone,
    Failed(MailError),
}

fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour_with_jitter() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.5), Duration::from_secs(60));
        assert_eq!(p.backoff(2, 0.5), Duration::from_secs(120));
        assert_eq!(p.backoff(4, 0.5), Duration::from_secs(480));
        assert_eq!(p.backoff(30, 0.5), Duration::from_secs(3600));
        assert_eq!(p.backoff(1, 0.0), Duration::from_secs(48));
        assert_eq!(p.backoff(1, 1.0), Duration::from_secs(72));
    }
}
