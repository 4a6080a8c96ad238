//! Voicemail storage: each person's messages and greetings, as standard files under the data
//! folder (`voicemail/<employee>/…`, WAV that any player opens) with their metadata in the
//! database.
//!
//! Durability: a file is written to a temporary name, flushed to disk and renamed before its
//! row is inserted, so a crash never leaves a row without its file, and a message saved is
//! never lost to a later crash (a half-written file of an interrupted recording has no row
//! and is swept at start, [`Store::sweep_voicemail_files`]). Before that, a recording is
//! spooled (`voicemail/spool/`, [`Store::spool_voicemail`]): if its row cannot be written
//! (the database is away) it waits there for [`Store::deliver_spooled`].

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::accounts::{Employee, rfc3339, unix_now};
use crate::store::{Store, StoreError};

/// The longest greeting kept (seconds).
pub const MAX_GREETING_S: u32 = 60;
/// The largest greeting upload (bytes): 60 s of 16-bit mono at 48 kHz, with room.
pub const MAX_GREETING_BYTES: usize = 6 << 20;

/// The built-in greeting in `lang`, for whoever recorded none: 8 kHz mono WAV made with
/// espeak-ng (`scripts/greetings.sh`).
pub fn builtin_greeting(lang: crate::mail::Lang) -> &'static [u8] {
    match lang {
        crate::mail::Lang::Pl => include_bytes!("../assets/greetings/pl.wav"),
        _ => include_bytes!("../assets/greetings/en.wav"),
    }
}

/// The words of listening to one's voicemail (`scripts/greetings.sh`), 8 kHz WAV:
/// none, intro, deleted, end.
pub fn builtin_prompts(lang: crate::mail::Lang) -> [&'static [u8]; 4] {
    match lang {
        crate::mail::Lang::Pl => [
            include_bytes!("../assets/prompts/pl-none.wav"),
            include_bytes!("../assets/prompts/pl-intro.wav"),
            include_bytes!("../assets/prompts/pl-deleted.wav"),
            include_bytes!("../assets/prompts/pl-end.wav"),
        ],
        _ => [
            include_bytes!("../assets/prompts/en-none.wav"),
            include_bytes!("../assets/prompts/en-intro.wav"),
            include_bytes!("../assets/prompts/en-deleted.wav"),
            include_bytes!("../assets/prompts/en-end.wav"),
        ],
    }
}

/// The words of logging in to a box from another phone (`*97`), WAV: the mailbox number, the
/// PIN, wrong, goodbye.
pub fn builtin_login_prompts(lang: crate::mail::Lang) -> [&'static [u8]; 4] {
    match lang {
        crate::mail::Lang::Pl => [
            include_bytes!("../assets/prompts/pl-mailbox.wav"),
            include_bytes!("../assets/prompts/pl-pin.wav"),
            include_bytes!("../assets/prompts/pl-wrong.wav"),
            include_bytes!("../assets/prompts/pl-bye.wav"),
        ],
        _ => [
            include_bytes!("../assets/prompts/en-mailbox.wav"),
            include_bytes!("../assets/prompts/en-pin.wav"),
            include_bytes!("../assets/prompts/en-wrong.wav"),
            include_bytes!("../assets/prompts/en-bye.wav"),
        ],
    }
}

/// Why a call went to voicemail, which also picks the greeting played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Situation {
    Busy,
    NoAnswer,
    Offline,
    /// Every other case (forwarded always, do not disturb), and the fallback greeting.
    Default,
}

impl Situation {
    pub fn as_str(self) -> &'static str {
        match self {
            Situation::Busy => "busy",
            Situation::NoAnswer => "no_answer",
            Situation::Offline => "offline",
            Situation::Default => "default",
        }
    }

    pub fn parse(s: &str) -> Option<Situation> {
        Some(match s {
            "busy" => Situation::Busy,
            "no_answer" => Situation::NoAnswer,
            "offline" => Situation::Offline,
            "default" => Situation::Default,
            _ => return None,
        })
    }
}

/// One message, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Voicemail {
    pub id: i64,
    /// The caller's number or extension.
    pub caller: String,
    pub caller_name: Option<String>,
    /// Why it went to voicemail.
    pub situation: Situation,
    /// RFC 3339.
    pub received_at: String,
    pub duration_ms: i64,
    pub heard: bool,
    pub media_type: String,
    pub size: i64,
}

/// A message to store (from the media plane's recorder).
#[derive(Debug, Clone)]
pub struct NewVoicemail<'a> {
    pub caller: &'a str,
    pub caller_name: Option<&'a str>,
    pub situation: Situation,
    pub duration_ms: i64,
    /// A WAV file's bytes.
    pub wav: &'a [u8],
}

/// A recorded message waiting in the spool for its row: whose box and its details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpooledVoicemail {
    pub company: i64,
    pub ext: String,
    pub caller: String,
    pub caller_name: Option<String>,
    pub situation: Situation,
    pub duration_ms: i64,
    /// Unix seconds.
    pub received_at: i64,
}

/// One greeting, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Greeting {
    pub situation: Situation,
    pub duration_ms: i64,
    pub size: i64,
    /// RFC 3339.
    pub updated_at: String,
}

/// What is wrong with an uploaded greeting, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioProblem {
    #[error("not a WAV file ({0})")]
    NotWav(String),
    #[error("the recording must be 16-bit PCM, mono, 8–48 kHz (it is {0})")]
    Format(String),
    #[error("the recording is empty")]
    Empty,
    #[error("the recording is longer than {MAX_GREETING_S} s")]
    TooLong,
}

/// Checks a WAV upload and returns its length in milliseconds.
pub fn check_wav(bytes: &[u8], max_s: u32) -> Result<i64, AudioProblem> {
    let r = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|e| AudioProblem::NotWav(e.to_string()))?;
    let spec = r.spec();
    if spec.sample_format != hound::SampleFormat::Int
        || spec.bits_per_sample != 16
        || spec.channels != 1
        || !(8000..=48000).contains(&spec.sample_rate)
    {
        return Err(AudioProblem::Format(format!(
            "{}-bit {:?}, {} channel(s), {} Hz",
            spec.bits_per_sample, spec.sample_format, spec.channels, spec.sample_rate
        )));
    }
    let samples = r.duration();
    if samples == 0 {
        return Err(AudioProblem::Empty);
    }
    // The header's length must fit what was sent (a truncated upload is refused).
    let data = samples as usize * 2;
    if data > bytes.len() {
        return Err(AudioProblem::NotWav("shorter than its header says".into()));
    }
    if samples > max_s * spec.sample_rate {
        return Err(AudioProblem::TooLong);
    }
    Ok(samples as i64 * 1000 / spec.sample_rate as i64)
}

/// Writes `bytes` to `path` so that it is either all there or not at all: a temporary
/// file, flushed, then renamed.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("part");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// In the spool (see [`Store::spool_voicemail`]) only debris goes: interrupted writes
/// (`.part`) and a recording whose JSON was never written (the gateway stopped between the
/// two), once it is an hour old. Complete entries wait for delivery.
fn sweep_spool(dir: &Path) -> usize {
    let Ok(files) = std::fs::read_dir(dir) else {
        return 0;
    };
    let stale = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(3600))
    };
    let mut removed = 0;
    for f in files.flatten() {
        let p = f.path();
        let debris = match p.extension().and_then(|x| x.to_str()) {
            Some("part") => true,
            Some("wav") => !p.with_extension("json").exists() && stale(&p),
            _ => false,
        };
        if debris && std::fs::remove_file(&p).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn io(e: std::io::Error, what: &Path) -> StoreError {
    StoreError::Invalid(format!("{}: {e}", what.display()))
}

impl Store {
    fn voicemail_dir(&self, employee: i64) -> PathBuf {
        self.data_dir().join("voicemail").join(employee.to_string())
    }

    /// Where recorded messages wait for their row (see [`Store::spool_voicemail`]).
    pub fn voicemail_spool(&self) -> PathBuf {
        self.data_dir().join("voicemail").join("spool")
    }

    /// Keeps a just-recorded message on disk before anything else: its WAV, then a JSON
    /// file with whose it is and its details (written last: a spool entry is complete when
    /// its JSON exists). [`Store::deliver_spooled`] turns it into a stored message; an entry
    /// left behind (the database was unavailable, the gateway stopped in between) is
    /// delivered later, so a message, once recorded, is not lost. Returns the JSON's path.
    pub async fn spool_voicemail(
        &self,
        m: &SpooledVoicemail,
        wav: &[u8],
    ) -> Result<PathBuf, StoreError> {
        let dir = self.voicemail_spool();
        let stem = format!("{}-{:08x}", m.received_at, rand::random::<u32>());
        let (wav_path, json_path) = (
            dir.join(format!("{stem}.wav")),
            dir.join(format!("{stem}.json")),
        );
        let json = serde_json::to_vec(m).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let (w, j, bytes) = (wav_path.clone(), json_path.clone(), wav.to_vec());
        tokio::task::spawn_blocking(move || {
            write_atomically(&w, &bytes)?;
            write_atomically(&j, &json)
        })
        .await
        .map_err(|e| StoreError::Invalid(e.to_string()))?
        .map_err(|e| io(e, &json_path))?;
        Ok(json_path)
    }

    /// The complete spool entries (their JSON files), oldest first.
    pub fn spooled_voicemails(&self) -> Vec<PathBuf> {
        let Ok(dir) = std::fs::read_dir(self.voicemail_spool()) else {
            return Vec::new();
        };
        let mut v: Vec<PathBuf> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        v.sort();
        v
    }

    /// Stores a spooled message (file and row) and removes the spool entry. `Ok(None)`: the
    /// box's owner is gone, the entry is removed; an error leaves it for the next try.
    pub async fn deliver_spooled(
        &self,
        json_path: &Path,
    ) -> Result<Option<(SpooledVoicemail, Employee, i64)>, StoreError> {
        let wav_path = json_path.with_extension("wav");
        let remove = |p: &Path, w: &Path| {
            let _ = std::fs::remove_file(w);
            let _ = std::fs::remove_file(p);
        };
        let json = tokio::fs::read(json_path)
            .await
            .map_err(|e| io(e, json_path))?;
        let Ok(m) = serde_json::from_slice::<SpooledVoicemail>(&json) else {
            // Not ours, or damaged: set aside, not retried for ever.
            let bad = json_path.with_extension("json.bad");
            let _ = std::fs::rename(json_path, &bad);
            return Err(StoreError::Invalid(format!(
                "{}: not a spooled message",
                json_path.display()
            )));
        };
        let wav = tokio::fs::read(&wav_path)
            .await
            .map_err(|e| io(e, &wav_path))?;
        let Some(employee) = self.employee_by_ext(m.company, &m.ext).await? else {
            remove(json_path, &wav_path);
            return Ok(None);
        };
        let id = self
            .add_voicemail_at(
                employee.id,
                NewVoicemail {
                    caller: &m.caller,
                    caller_name: m.caller_name.as_deref(),
                    situation: m.situation,
                    duration_ms: m.duration_ms,
                    wav: &wav,
                },
                m.received_at,
            )
            .await?;
        remove(json_path, &wav_path);
        Ok(Some((m, employee, id)))
    }

    /// Stores a message for `employee`: the file first, then its row. Returns its id.
    pub async fn add_voicemail(
        &self,
        employee: i64,
        m: NewVoicemail<'_>,
    ) -> Result<i64, StoreError> {
        self.add_voicemail_at(employee, m, unix_now()).await
    }

    /// [`Store::add_voicemail`] for a message received at `now` (Unix seconds).
    pub async fn add_voicemail_at(
        &self,
        employee: i64,
        m: NewVoicemail<'_>,
        now: i64,
    ) -> Result<i64, StoreError> {
        let name = format!(
            "{now}-{}.wav",
            format_args!("{:08x}", rand::random::<u32>())
        );
        let rel = format!("voicemail/{employee}/{name}");
        let path = self.voicemail_dir(employee).join(&name);
        let bytes = m.wav.to_vec();
        let p = path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&p, &bytes))
            .await
            .map_err(|e| StoreError::Invalid(e.to_string()))?
            .map_err(|e| io(e, &path))?;
        let row = sqlx::query(
            "INSERT INTO voicemails (employee_id, caller, caller_name, situation, received_at, duration_ms, file, media_type, size) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'audio/wav', ?) RETURNING id",
        )
        .bind(employee)
        .bind(m.caller)
        .bind(m.caller_name)
        .bind(m.situation.as_str())
        .bind(now)
        .bind(m.duration_ms)
        .bind(&rel)
        .bind(m.wav.len() as i64)
        .fetch_one(self.pool())
        .await;
        match row {
            Ok(r) => Ok(r.get(0)),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(e.into())
            }
        }
    }

    /// `employee`'s messages, newest first, and how many are new.
    pub async fn voicemails(&self, employee: i64) -> Result<(Vec<Voicemail>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT id, caller, caller_name, situation, received_at, duration_ms, heard_at, media_type, size \
             FROM voicemails WHERE employee_id = ? ORDER BY received_at DESC, id DESC",
        )
        .bind(employee)
        .fetch_all(self.pool())
        .await?;
        let list: Vec<Voicemail> = rows.iter().map(voicemail_of).collect();
        let new = list.iter().filter(|v| !v.heard).count() as i64;
        Ok((list, new))
    }

    /// How many new and old messages `employee` has (for message-waiting).
    pub async fn voicemail_counts(&self, employee: i64) -> Result<(i64, i64), StoreError> {
        let r = sqlx::query(
            "SELECT COALESCE(SUM(heard_at IS NULL), 0), COALESCE(SUM(heard_at IS NOT NULL), 0) FROM voicemails WHERE employee_id = ?",
        )
        .bind(employee)
        .fetch_one(self.pool())
        .await?;
        Ok((r.get(0), r.get(1)))
    }

    /// One of `employee`'s messages and its file.
    pub async fn voicemail(
        &self,
        employee: i64,
        id: i64,
    ) -> Result<Option<(Voicemail, PathBuf)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, caller, caller_name, situation, received_at, duration_ms, heard_at, media_type, size, file \
             FROM voicemails WHERE employee_id = ? AND id = ?",
        )
        .bind(employee)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| {
            let file: String = r.get(9);
            (voicemail_of(&r), self.data_dir().join(file))
        }))
    }

    /// Sets (a hash) or removes (`None`) `employee`'s voicemail PIN.
    pub async fn set_voicemail_pin(
        &self,
        employee: i64,
        hash: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE employees SET voicemail_pin = ? WHERE id = ?")
            .bind(hash)
            .bind(employee)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Does `employee` have a voicemail PIN?
    pub async fn has_voicemail_pin(&self, employee: i64) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT voicemail_pin IS NOT NULL FROM employees WHERE id = ?")
            .bind(employee)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some_and(|r| r.get::<bool, _>(0)))
    }

    /// The employee with extension `ext` in `company` and their voicemail PIN's hash (`None`
    /// when they have none); `None` when there is no such extension.
    pub async fn voicemail_pin_by_ext(
        &self,
        company: i64,
        ext: &str,
    ) -> Result<Option<(i64, Option<String>)>, StoreError> {
        let row =
            sqlx::query("SELECT id, voicemail_pin FROM employees WHERE company_id = ? AND ext = ?")
                .bind(company)
                .bind(ext)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Marks a message heard (or new again).
    pub async fn set_voicemail_heard(
        &self,
        employee: i64,
        id: i64,
        heard: bool,
    ) -> Result<Option<Voicemail>, StoreError> {
        let done = sqlx::query(
            "UPDATE voicemails SET heard_at = CASE WHEN ? THEN COALESCE(heard_at, ?) ELSE NULL END \
             WHERE employee_id = ? AND id = ?",
        )
        .bind(heard)
        .bind(unix_now())
        .bind(employee)
        .bind(id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(self.voicemail(employee, id).await?.map(|(v, _)| v))
    }

    /// Deletes a message and its file; `false` when there is no such message.
    pub async fn delete_voicemail(&self, employee: i64, id: i64) -> Result<bool, StoreError> {
        let Some((_, path)) = self.voicemail(employee, id).await? else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM voicemails WHERE employee_id = ? AND id = ?")
            .bind(employee)
            .bind(id)
            .execute(self.pool())
            .await?;
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %path.display(), error = %e, "voicemail file not removed");
        }
        Ok(true)
    }

    /// Removes files under `voicemail/` that no row names (an interrupted write's `.part`,
    /// or a file whose row was deleted while the file could not be); returns how many.
    pub async fn sweep_voicemail_files(&self) -> Result<usize, StoreError> {
        let root = self.data_dir().join("voicemail");
        let known: std::collections::HashSet<String> =
            sqlx::query("SELECT file FROM voicemails UNION SELECT file FROM greetings")
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
        let mut removed = 0;
        let Ok(people) = std::fs::read_dir(&root) else {
            return Ok(0);
        };
        for person in people.flatten() {
            if person.file_name() == "spool" {
                removed += sweep_spool(&person.path());
                continue;
            }
            let Ok(files) = std::fs::read_dir(person.path()) else {
                continue;
            };
            for f in files.flatten() {
                let rel = format!(
                    "voicemail/{}/{}",
                    person.file_name().to_string_lossy(),
                    f.file_name().to_string_lossy()
                );
                if !known.contains(&rel) && std::fs::remove_file(f.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// `employee`'s greetings.
    pub async fn greetings(&self, employee: i64) -> Result<Vec<Greeting>, StoreError> {
        let rows = sqlx::query(
            "SELECT situation, duration_ms, size, updated_at FROM greetings WHERE employee_id = ? ORDER BY situation",
        )
        .bind(employee)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Greeting {
                    situation: Situation::parse(&r.get::<String, _>(0))?,
                    duration_ms: r.get(1),
                    size: r.get(2),
                    updated_at: rfc3339(r.get(3)),
                })
            })
            .collect())
    }

    /// Sets `employee`'s greeting for `situation` (a checked WAV of `duration_ms`).
    pub async fn set_greeting(
        &self,
        employee: i64,
        situation: Situation,
        wav: &[u8],
        duration_ms: i64,
    ) -> Result<Greeting, StoreError> {
        let now = unix_now();
        let name = format!("greeting-{}-{now}.wav", situation.as_str());
        let rel = format!("voicemail/{employee}/{name}");
        let path = self.voicemail_dir(employee).join(&name);
        let (p, bytes) = (path.clone(), wav.to_vec());
        tokio::task::spawn_blocking(move || write_atomically(&p, &bytes))
            .await
            .map_err(|e| StoreError::Invalid(e.to_string()))?
            .map_err(|e| io(e, &path))?;
        let old = self.greeting_file(employee, situation).await?;
        sqlx::query(
            "INSERT INTO greetings (employee_id, situation, file, duration_ms, size, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (employee_id, situation) DO UPDATE SET file = excluded.file, duration_ms = excluded.duration_ms, \
             size = excluded.size, updated_at = excluded.updated_at",
        )
        .bind(employee)
        .bind(situation.as_str())
        .bind(&rel)
        .bind(duration_ms)
        .bind(wav.len() as i64)
        .bind(now)
        .execute(self.pool())
        .await?;
        if let Some(old) = old.filter(|o| *o != path) {
            let _ = std::fs::remove_file(old);
        }
        Ok(Greeting {
            situation,
            duration_ms,
            size: wav.len() as i64,
            updated_at: rfc3339(now),
        })
    }

    /// The file of `employee`'s greeting for `situation`, if they recorded one.
    pub async fn greeting_file(
        &self,
        employee: i64,
        situation: Situation,
    ) -> Result<Option<PathBuf>, StoreError> {
        Ok(
            sqlx::query("SELECT file FROM greetings WHERE employee_id = ? AND situation = ?")
                .bind(employee)
                .bind(situation.as_str())
                .fetch_optional(self.pool())
                .await?
                .map(|r| self.data_dir().join(r.get::<String, _>(0))),
        )
    }

    /// Removes a greeting (the built-in one plays again); `false` when there was none.
    pub async fn delete_greeting(
        &self,
        employee: i64,
        situation: Situation,
    ) -> Result<bool, StoreError> {
        let Some(path) = self.greeting_file(employee, situation).await? else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM greetings WHERE employee_id = ? AND situation = ?")
            .bind(employee)
            .bind(situation.as_str())
            .execute(self.pool())
            .await?;
        let _ = std::fs::remove_file(path);
        Ok(true)
    }
}

fn voicemail_of(r: &sqlx::sqlite::SqliteRow) -> Voicemail {
    Voicemail {
        id: r.get(0),
        caller: r.get(1),
        caller_name: r.get(2),
        situation: Situation::parse(&r.get::<String, _>(3)).unwrap_or(Situation::Default),
        received_at: rfc3339(r.get(4)),
        duration_ms: r.get(5),
        heard: r.get::<Option<i64>, _>(6).is_some(),
        media_type: r.get(7),
        size: r.get(8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mono 16-bit WAV of `ms` milliseconds at `rate` Hz (a 440 Hz tone).
    pub fn wav(ms: u32, rate: u32) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        for i in 0..(rate * ms / 1000) {
            let t = i as f32 / rate as f32;
            w.write_sample(((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16)
                .unwrap();
        }
        w.finalize().unwrap();
        out.into_inner()
    }

    #[test]
    fn the_built_in_greetings_are_short_8_khz_wavs_in_both_languages() {
        for lang in [crate::mail::Lang::En, crate::mail::Lang::Pl] {
            for p in builtin_prompts(lang)
                .into_iter()
                .chain(builtin_login_prompts(lang))
            {
                let ms = check_wav(p, 20).unwrap();
                assert!((500..15_000).contains(&ms), "{lang:?}: a prompt of {ms} ms");
            }
            let wav = builtin_greeting(lang);
            let ms = check_wav(wav, 20).unwrap();
            assert!((3_000..15_000).contains(&ms), "{lang:?}: {ms} ms");
            let spec = hound::WavReader::new(std::io::Cursor::new(wav))
                .unwrap()
                .spec();
            assert_eq!(spec.sample_rate, 8000);
        }
        assert_ne!(
            builtin_greeting(crate::mail::Lang::En),
            builtin_greeting(crate::mail::Lang::Pl)
        );
    }

    #[test]
    fn wav_uploads_are_checked() {
        assert_eq!(check_wav(&wav(1500, 8000), 60), Ok(1500));
        assert_eq!(check_wav(&wav(250, 48000), 60), Ok(250));
        assert!(matches!(
            check_wav(b"RIFF....WAVEjunk", 60),
            Err(AudioProblem::NotWav(_))
        ));
        assert!(matches!(check_wav(b"", 60), Err(AudioProblem::NotWav(_))));
        assert_eq!(check_wav(&wav(0, 8000), 60), Err(AudioProblem::Empty));
        assert_eq!(check_wav(&wav(2100, 8000), 2), Err(AudioProblem::TooLong));
        let long = wav(1000, 8000);
        assert!(check_wav(&long[..long.len() / 2], 60).is_err(), "truncated");
        // Stereo is refused with what it is.
        let mut out = std::io::Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        w.write_sample(0i16).unwrap();
        w.write_sample(0i16).unwrap();
        w.finalize().unwrap();
        assert!(
            matches!(check_wav(&out.into_inner(), 60), Err(AudioProblem::Format(f)) if f.contains("2 channel"))
        );
    }

    #[tokio::test]
    async fn messages_and_greetings_are_files_with_rows_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let c = crate::accounts::DEFAULT_COMPANY;
        let e = store
            .add_sip_user(c, "101", "Ann", "secret-101", "d.example")
            .await
            .unwrap();
        let other = store
            .add_sip_user(c, "102", "Bob", "secret-102", "d.example")
            .await
            .unwrap();
        let id = store
            .add_voicemail(
                e,
                NewVoicemail {
                    caller: "102",
                    caller_name: Some("Bob"),
                    situation: Situation::NoAnswer,
                    duration_ms: 1500,
                    wav: &wav(1500, 8000),
                },
            )
            .await
            .unwrap();
        let (list, new) = store.voicemails(e).await.unwrap();
        assert_eq!((list.len(), new), (1, 1));
        assert_eq!(list[0].situation, Situation::NoAnswer);
        let (_, path) = store.voicemail(e, id).await.unwrap().unwrap();
        assert_eq!(check_wav(&std::fs::read(&path).unwrap(), 60), Ok(1500));
        // Someone else's message is not reachable by id.
        assert!(store.voicemail(other, id).await.unwrap().is_none());
        assert!(!store.delete_voicemail(other, id).await.unwrap());
        assert!(
            store
                .set_voicemail_heard(other, id, true)
                .await
                .unwrap()
                .is_none()
        );
        // Heard; counts follow.
        assert!(
            store
                .set_voicemail_heard(e, id, true)
                .await
                .unwrap()
                .unwrap()
                .heard
        );
        assert_eq!(store.voicemail_counts(e).await.unwrap(), (0, 1));
        // A greeting replaces the last one of its situation, file and all.
        store
            .set_greeting(e, Situation::Busy, &wav(800, 8000), 800)
            .await
            .unwrap();
        let first = store
            .greeting_file(e, Situation::Busy)
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        store
            .set_greeting(e, Situation::Busy, &wav(900, 8000), 900)
            .await
            .unwrap();
        let second = store
            .greeting_file(e, Situation::Busy)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(first, second);
        assert!(!first.exists() && second.exists());
        // A stray half-written file is swept; known files stay.
        std::fs::write(path.with_extension("part"), b"half").unwrap();
        drop(store);
        let store = Store::open(dir.path()).await.unwrap();
        assert_eq!(store.sweep_voicemail_files().await.unwrap(), 1);
        assert!(path.exists() && second.exists());
        assert_eq!(store.greetings(e).await.unwrap()[0].duration_ms, 900);
        // Deleting removes the file.
        assert!(store.delete_voicemail(e, id).await.unwrap());
        assert!(!path.exists());
        assert!(store.delete_greeting(e, Situation::Busy).await.unwrap());
        assert!(!second.exists());
        assert!(!store.delete_greeting(e, Situation::Busy).await.unwrap());
    }
}
