//! Calls to the phone network, as a company and its people set them up (issue 15): the
//! company's default call permission, premium-rate numbers and caller ID, its main number
//! and where calls to it go; each person's own settings over those defaults, and their
//! mobile number (for *8).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::numbering::{CallerId, Dialled, Permission};
use crate::store::{Store, StoreError};

/// A company's settings for calls out and its main number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompanyCalling {
    /// Everyone's call permission unless set for them.
    #[schema(value_type = String, example = "national")]
    pub permission: Permission,
    /// Premium-rate numbers allowed unless set for them.
    pub premium: bool,
    /// The number calls out show unless set for them: own, main or withheld.
    #[schema(value_type = String, example = "own")]
    pub caller_id: CallerId,
    /// The company's main number (one of its public numbers, E.164), if it has one.
    pub main_number: Option<String>,
    /// The extension a call to the main number rings (its forwarding rules apply).
    pub main_extension: Option<String>,
    /// Or the extensions a call to the main number rings at once (a group: the first to
    /// answer takes the call; their own forwarding rules do not apply). Empty: none.
    #[serde(default)]
    pub main_group: Vec<String>,
}

/// Where a public number rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberTarget {
    /// One extension (its forwarding rules apply).
    Extension(String),
    /// A main number set to ring several extensions at once.
    Group(Vec<String>),
}

/// A person's own settings (`null`: the company's) and their mobile number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonCalling {
    #[schema(value_type = Option<String>, example = "international")]
    pub permission: Option<Permission>,
    pub premium: Option<bool>,
    #[schema(value_type = Option<String>, example = "withheld")]
    pub caller_id: Option<CallerId>,
    /// Their mobile (E.164, or as typed: it is stored as E.164), for *8.
    pub mobile: Option<String>,
}

/// A stored group (extensions separated by spaces).
fn group_list(stored: Option<String>) -> Vec<String> {
    stored
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// A mobile number as typed, as E.164; the error says why not.
pub fn mobile_number(typed: &str) -> Result<String, String> {
    match crate::numbering::parse(typed) {
        Ok(Dialled::Number { e164, .. }) => Ok(e164),
        Ok(Dialled::Emergency(_)) => Err("an emergency number cannot be a mobile".into()),
        Err(e) => Err(e.to_string()),
    }
}

impl Store {
    pub async fn company_calling(&self, company: i64) -> Result<CompanyCalling, StoreError> {
        let r = sqlx::query(
            "SELECT call_permission, premium_calls, caller_id, main_number, main_ext, main_group FROM companies WHERE id = ?",
        )
        .bind(company)
        .fetch_one(self.pool())
        .await?;
        Ok(CompanyCalling {
            permission: r
                .get::<String, _>(0)
                .parse()
                .unwrap_or(Permission::Internal),
            premium: r.get::<i64, _>(1) != 0,
            caller_id: r.get::<String, _>(2).parse().unwrap_or_default(),
            main_number: r.get(3),
            main_extension: r.get(4),
            main_group: group_list(r.get(5)),
        })
    }

    /// Sets a company's settings; the main number must be one of its public numbers and
    /// the extension one of its extensions.
    pub async fn set_company_calling(
        &self,
        company: i64,
        c: &CompanyCalling,
    ) -> Result<(), StoreError> {
        let main = match &c.main_number {
            Some(n) if !n.trim().is_empty() => {
                let e164 = mobile_number(n).map_err(|m| StoreError::Field {
                    field: "main_number",
                    message: m,
                })?;
                let ours = self
                    .number_blocks(company)
                    .await?
                    .iter()
                    .any(|b| b.ext_for(&e164).is_some());
                if !ours {
                    return Err(StoreError::Field {
                        field: "main_number",
                        message: format!("{e164} is not one of the company's public numbers"),
                    });
                }
                Some(e164)
            }
            _ => None,
        };
        let ext = match &c.main_extension {
            Some(e) if !e.trim().is_empty() => {
                if self.employee_by_ext(company, e.trim()).await?.is_none() {
                    return Err(StoreError::Field {
                        field: "main_extension",
                        message: format!("there is no extension {}", e.trim()),
                    });
                }
                Some(e.trim().to_string())
            }
            _ => None,
        };
        let mut group: Vec<String> = Vec::new();
        for e in c
            .main_group
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
        {
            if !group.iter().any(|g| g == e) {
                group.push(e.to_string());
            }
        }
        if !group.is_empty() {
            let field = |message: String| StoreError::Field {
                field: "main_group",
                message,
            };
            if ext.is_some() {
                return Err(field(
                    "the main number rings one extension or a group, not both".into(),
                ));
            }
            if group.len() > crate::forwarding::MAX_GROUP {
                return Err(field(format!(
                    "a group has at most {} extensions",
                    crate::forwarding::MAX_GROUP
                )));
            }
            for e in &group {
                if self.employee_by_ext(company, e).await?.is_none() {
                    return Err(field(format!("there is no extension {e}")));
                }
            }
        }
        let group = (!group.is_empty()).then(|| group.join(" "));
        sqlx::query(
            "UPDATE companies SET call_permission = ?, premium_calls = ?, caller_id = ?, main_number = ?, main_ext = ?, main_group = ? WHERE id = ?",
        )
        .bind(c.permission.as_str())
        .bind(c.premium as i64)
        .bind(c.caller_id.as_str())
        .bind(main)
        .bind(ext)
        .bind(group)
        .bind(company)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A person's own settings; `None` when there is no such employee in the company.
    pub async fn person_calling(
        &self,
        company: i64,
        employee: i64,
    ) -> Result<Option<PersonCalling>, StoreError> {
        Ok(sqlx::query(
            "SELECT call_permission, premium_calls, caller_id, mobile_number FROM employees WHERE company_id = ? AND id = ?",
        )
        .bind(company)
        .bind(employee)
        .fetch_optional(self.pool())
        .await?
        .map(|r| PersonCalling {
            permission: r.get::<Option<String>, _>(0).and_then(|p| p.parse().ok()),
            premium: r.get::<Option<i64>, _>(1).map(|p| p != 0),
            caller_id: r.get::<Option<String>, _>(2).and_then(|c| c.parse().ok()),
            mobile: r.get(3),
        }))
    }

    /// Sets a person's settings (the mobile is checked and stored as E.164); the extension
    /// (for telling the core), or `None` when there is no such employee.
    pub async fn set_person_calling(
        &self,
        company: i64,
        employee: i64,
        p: &PersonCalling,
    ) -> Result<Option<String>, StoreError> {
        let mobile = match &p.mobile {
            Some(m) if !m.trim().is_empty() => {
                Some(mobile_number(m).map_err(|message| StoreError::Field {
                    field: "mobile",
                    message,
                })?)
            }
            _ => None,
        };
        Ok(sqlx::query(
            "UPDATE employees SET call_permission = ?, premium_calls = ?, caller_id = ?, mobile_number = ? WHERE company_id = ? AND id = ? RETURNING ext",
        )
        .bind(p.permission.map(Permission::as_str))
        .bind(p.premium.map(|b| b as i64))
        .bind(p.caller_id.map(CallerId::as_str))
        .bind(mobile)
        .bind(company)
        .bind(employee)
        .fetch_optional(self.pool())
        .await?
        .map(|r| r.get(0)))
    }

    /// Where a company's main number rings, when `number` is a main number (of `company`,
    /// or of any company when `None`) with an extension or a group set.
    pub async fn main_number_target(
        &self,
        company: Option<i64>,
        number: &str,
    ) -> Result<Option<(i64, NumberTarget)>, StoreError> {
        Ok(sqlx::query(
            "SELECT id, main_ext, main_group FROM companies WHERE main_number = ? AND (main_ext IS NOT NULL OR main_group IS NOT NULL) AND (? IS NULL OR id = ?)",
        )
        .bind(number)
        .bind(company)
        .bind(company)
        .fetch_optional(self.pool())
        .await?
        .and_then(|r| {
            let group = group_list(r.get(2));
            let target = match r.get::<Option<String>, _>(1) {
                Some(ext) => NumberTarget::Extension(ext),
                None if !group.is_empty() => NumberTarget::Group(group),
                None => return None,
            };
            Some((r.get(0), target))
        }))
    }

    /// Toll fraud: suspends `ext`'s calls outside and tells the company's administrators
    /// (queued mail, in their language). Returns how many were told.
    pub async fn suspend_outside(
        &self,
        company: i64,
        ext: &str,
        calls: u32,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool().begin().await?;
        let Some(r) = sqlx::query(
            "UPDATE employees SET outside_suspended = 1 WHERE company_id = ? AND ext = ? RETURNING name",
        )
        .bind(company)
        .bind(ext)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(0);
        };
        let name: String = r.get(0);
        let who = format!("{name} ({ext})");
        let company_name: String = sqlx::query_scalar("SELECT name FROM companies WHERE id = ?")
            .bind(company)
            .fetch_one(&mut *tx)
            .await?;
        let admins = sqlx::query(
            "SELECT name, email, language FROM employees WHERE company_id = ? AND role = 'admin' AND email IS NOT NULL ORDER BY id",
        )
        .bind(company)
        .fetch_all(&mut *tx)
        .await?;
        for a in &admins {
            let lang = a
                .get::<Option<&str>, _>(2)
                .and_then(crate::mail::Lang::parse)
                .unwrap_or_default();
            let letter = crate::mail::fraud_alert(lang, a.get(0), &who, &company_name, calls);
            crate::mailqueue::insert_mail(
                &mut tx,
                &crate::mailqueue::Outgoing {
                    to_name: a.get(0),
                    to: a.get(1),
                    letter,
                    link: String::new(),
                    kind: "fraud_alert",
                    attachment: None,
                },
                0,
            )
            .await?;
        }
        tx.commit().await?;
        self.mail_wake().notify_one();
        tracing::warn!(
            company,
            ext,
            calls,
            admins = admins.len(),
            "toll fraud: calls outside suspended, administrators told"
        );
        Ok(admins.len())
    }

    /// Lifts a suspension; the extension, or `None` when there is no such employee.
    pub async fn lift_suspension(
        &self,
        company: i64,
        employee: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query(
            "UPDATE employees SET outside_suspended = 0 WHERE company_id = ? AND id = ? RETURNING ext",
        )
        .bind(company)
        .bind(employee)
        .fetch_optional(self.pool())
        .await?
        .map(|r| r.get(0)))
    }

    /// Whether a person's calls outside are suspended.
    pub async fn outside_suspended(&self, company: i64, employee: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT outside_suspended FROM employees WHERE company_id = ? AND id = ?",
        )
        .bind(company)
        .bind(employee)
        .fetch_optional(self.pool())
        .await?
        .is_some_and(|s| s != 0))
    }

    /// Extensions of a company (to tell the core its people's settings changed).
    pub async fn extensions(&self, company: i64) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT ext FROM employees WHERE company_id = ?")
                .bind(company)
                .fetch_all(self.pool())
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_are_stored_as_e164() {
        assert_eq!(mobile_number("601 234 567").unwrap(), "+48601234567");
        assert_eq!(mobile_number("+49 151 23456789").unwrap(), "+4915123456789");
        assert!(mobile_number("112").unwrap_err().contains("emergency"));
        assert!(mobile_number("12ab").is_err());
    }

    #[tokio::test]
    async fn settings_are_checked_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let c = store
            .create_company("Acme", "acme.example", 3)
            .await
            .unwrap();
        store
            .add_number_block(c.id, "+48226006100", 10, None)
            .await
            .unwrap();
        let defaults = store.company_calling(c.id).await.unwrap();
        assert_eq!(defaults.permission, Permission::National);
        assert!(!defaults.premium);
        let mut want = CompanyCalling {
            permission: Permission::International,
            premium: false,
            caller_id: CallerId::Main,
            main_number: Some("+48 22 600 61 00".into()),
            main_extension: None,
            main_group: Vec::new(),
        };
        store.set_company_calling(c.id, &want).await.unwrap();
        let got = store.company_calling(c.id).await.unwrap();
        assert_eq!(got.main_number.as_deref(), Some("+48226006100"));
        assert_eq!(got.caller_id, CallerId::Main);
        // Another company's number, or no such extension: refused with the field.
        want.main_number = Some("+48226007100".into());
        let e = store.set_company_calling(c.id, &want).await.unwrap_err();
        assert!(e.to_string().contains("main_number"), "{e}");
        want.main_number = None;
        want.main_extension = Some("999".into());
        let e = store.set_company_calling(c.id, &want).await.unwrap_err();
        assert!(e.to_string().contains("main_extension"), "{e}");
        // A group: its extensions must exist, and it is one or the other.
        for ext in ["101", "102"] {
            store
                .add_sip_user(c.id, ext, ext, "a-long-secret", "acme.example")
                .await
                .unwrap();
        }
        want.main_number = Some("+48226006100".into());
        want.main_extension = None;
        want.main_group = vec!["101".into(), "999".into()];
        let e = store.set_company_calling(c.id, &want).await.unwrap_err();
        assert!(e.to_string().contains("no extension 999"), "{e}");
        want.main_group = vec!["101".into(), "102".into(), " 101 ".into()];
        want.main_extension = Some("101".into());
        let e = store.set_company_calling(c.id, &want).await.unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
        want.main_extension = None;
        store.set_company_calling(c.id, &want).await.unwrap();
        let got = store.company_calling(c.id).await.unwrap();
        assert_eq!(got.main_group, ["101", "102"], "trimmed, each once");
        let group = NumberTarget::Group(vec!["101".into(), "102".into()]);
        assert_eq!(
            store.owner_of_number("+48226006100").await.unwrap(),
            Some((c.id, group.clone()))
        );
        assert_eq!(
            store.ext_for_number(c.id, "+48226006100").await.unwrap(),
            Some(group)
        );
        // Other numbers of the block still ring their own extension.
        assert_eq!(
            store.owner_of_number("+48226006101").await.unwrap(),
            Some((c.id, NumberTarget::Extension("101".into())))
        );
        // A person of another company is not found.
        let p = PersonCalling {
            permission: Some(Permission::Internal),
            premium: None,
            caller_id: None,
            mobile: Some("601-234-567".into()),
        };
        assert_eq!(
            store.set_person_calling(c.id, 9999, &p).await.unwrap(),
            None
        );
        assert!(store.person_calling(c.id, 9999).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn toll_fraud_suspends_tells_the_admins_and_an_admin_lifts_it() {
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
            .set_login(
                anna,
                Some("anna@acme.test"),
                Some(crate::accounts::Role::Admin),
            )
            .await
            .unwrap();
        store
            .set_login(bob, Some("bob@acme.test"), None)
            .await
            .unwrap();
        assert_eq!(store.suspend_outside(c.id, "102", 11).await.unwrap(), 1);
        assert!(store.outside_suspended(c.id, bob).await.unwrap());
        let user = store.find_sip_user(c.id, "102").await.unwrap().unwrap();
        assert!(user.outside.suspended, "the core learns it with the user");
        let mails: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT to_addr, subject, body FROM mail_queue WHERE kind = 'fraud_alert'",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(mails.len(), 1, "the admin only");
        assert_eq!(mails[0].0, "anna@acme.test");
        assert!(mails[0].1.contains("Bob (102)"), "{}", mails[0].1);
        assert!(
            mails[0].2.contains("11 international calls"),
            "{}",
            mails[0].2
        );
        // Another company's employee, or nobody: nothing happens.
        assert_eq!(store.suspend_outside(c.id + 1, "102", 11).await.unwrap(), 0);
        assert_eq!(store.lift_suspension(c.id + 1, bob).await.unwrap(), None);
        assert_eq!(
            store.lift_suspension(c.id, bob).await.unwrap().as_deref(),
            Some("102")
        );
        assert!(!store.outside_suspended(c.id, bob).await.unwrap());
    }
}
