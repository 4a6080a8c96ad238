//! The admin panel's API tokens section: the list, the "new token" form, and the new
//! token's secret, which the gateway gives once and the panel shows once (until the admin
//! leaves the section). A pure reducer part of [`crate::state::admin::AdminState`].

use crate::i18n::Strings;
use crate::model::{ApiToken, Problem};
use crate::state::admin::FormError;

/// How long a new token lives when the admin does not say (the gateway's default).
pub const DEFAULT_DAYS: u32 = 90;
/// The longest a token may live (days).
pub const MAX_DAYS: u32 = 365;
/// The longest name the gateway takes (characters).
pub const MAX_NAME: usize = 100;

/// The "new token" form. Its fields are `token_name` and `expires_in_days` (the gateway's
/// `name` is renamed, so that its words are a token's, not a person's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenForm {
    pub name: String,
    /// Days valid, as typed.
    pub days: String,
    pub busy: bool,
    pub error: Option<FormError>,
}

impl Default for TokenForm {
    fn default() -> TokenForm {
        TokenForm {
            name: String::new(),
            days: DEFAULT_DAYS.to_string(),
            busy: false,
            error: None,
        }
    }
}

/// What the form sends (`POST /api/v1/api-tokens`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInput {
    pub name: String,
    pub expires_in_days: u32,
}

impl TokenForm {
    /// The values to send, or what to fix first (in `t`'s words).
    pub fn validate(&self, t: &Strings) -> Result<TokenInput, FormError> {
        let name = self.name.trim().to_string();
        let mut fields = Vec::new();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            fields.push(("token_name", t.tok_name_missing));
        }
        let days = self.days.trim();
        let days = if days.is_empty() {
            Some(DEFAULT_DAYS)
        } else {
            days.parse::<u32>()
                .ok()
                .filter(|d| (1..=MAX_DAYS).contains(d))
        };
        if days.is_none() {
            fields.push(("expires_in_days", t.tok_days_invalid));
        }
        match (fields.is_empty(), days) {
            (true, Some(expires_in_days)) => Ok(TokenInput {
                name,
                expires_in_days,
            }),
            _ => Err(FormError::local(t, fields)),
        }
    }

    /// The gateway's refusal, its fields named as this form names them.
    pub fn refused(p: &Problem, t: &Strings) -> FormError {
        let mut p = p.clone();
        for (f, _) in &mut p.fields {
            if f == "name" {
                *f = "token_name".into();
            }
        }
        FormError::from_problem(&p, t)
    }
}

/// A new token's secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSecret {
    /// The token it belongs to.
    pub id: i64,
    pub name: String,
    pub secret: String,
    /// The last Copy: `Some(true)` copied, `Some(false)` the browser refused.
    pub copied: Option<bool>,
}

/// The section's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokensState {
    pub tokens: Vec<ApiToken>,
    /// The list arrived at least once.
    pub loaded: bool,
    pub form: TokenForm,
    /// The secret of the token just made; gone when the admin leaves the section.
    pub secret: Option<NewSecret>,
}

impl TokensState {
    /// Whether any token says who made it (the column shows only then).
    pub fn shows_creator(&self) -> bool {
        self.tokens.iter().any(|t| t.created_by.is_some())
    }
}

/// A field of the token form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenField {
    Name,
    Days,
}

/// What can happen in the API tokens section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAction {
    /// `GET /api/v1/api-tokens` answered.
    Listed(Vec<ApiToken>),
    Field(TokenField, String),
    /// The form is being sent.
    Submitted,
    /// The form was refused (here or by the gateway).
    Rejected(FormError),
    /// The token was made; its secret is shown (this once).
    Created {
        token: ApiToken,
        secret: String,
    },
    /// The Copy button's outcome.
    Copied(bool),
    /// "Done": the secret is put away.
    HideSecret,
    /// The admin left the section: the secret is forgotten.
    Left,
    /// The token was revoked (or was already gone).
    Revoked(i64),
}

impl TokensState {
    pub fn apply(&mut self, action: TokenAction) {
        match action {
            TokenAction::Listed(tokens) => {
                self.tokens = tokens;
                self.loaded = true;
            }
            TokenAction::Field(field, value) => match field {
                TokenField::Name => self.form.name = value,
                TokenField::Days => self.form.days = value,
            },
            TokenAction::Submitted => {
                self.form.busy = true;
                self.form.error = None;
            }
            TokenAction::Rejected(err) => {
                self.form.busy = false;
                self.form.error = Some(err);
            }
            TokenAction::Created { token, secret } => {
                self.form = TokenForm::default();
                self.secret = Some(NewSecret {
                    id: token.id,
                    name: token.name.clone(),
                    secret,
                    copied: None,
                });
                match self.tokens.iter_mut().find(|t| t.id == token.id) {
                    Some(t) => *t = token,
                    None => self.tokens.push(token),
                }
            }
            TokenAction::Copied(ok) => {
                if let Some(s) = &mut self.secret {
                    s.copied = Some(ok);
                }
            }
            TokenAction::HideSecret | TokenAction::Left => self.secret = None,
            TokenAction::Revoked(id) => {
                self.tokens.retain(|t| t.id != id);
                if self.secret.as_ref().is_some_and(|s| s.id == id) {
                    self.secret = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{EN, PL};
    use crate::state::AdminSection;
    use crate::state::admin::{AdminAction, AdminState};

    fn token(id: i64, name: &str) -> ApiToken {
        ApiToken {
            id,
            name: name.into(),
            created_at: "2026-12-01T10:00:00Z".into(),
            created_by: None,
            expires_at: Some("2027-03-01T10:00:00Z".into()),
            last_used_at: None,
        }
    }

    fn run(actions: impl IntoIterator<Item = AdminAction>) -> AdminState {
        actions.into_iter().fold(AdminState::default(), |mut s, a| {
            s.apply(a);
            s
        })
    }

    fn tok(a: TokenAction) -> AdminAction {
        AdminAction::Tokens(a)
    }

    #[test]
    fn the_list_arrives() {
        let s = AdminState::default();
        assert!(!s.tokens.loaded);
        let s = run([tok(TokenAction::Listed(vec![
            token(1, "CRM"),
            token(2, "Backup"),
        ]))]);
        assert!(s.tokens.loaded);
        let names: Vec<_> = s.tokens.tokens.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["CRM", "Backup"]);
        assert!(!s.tokens.shows_creator());
        let mut by = token(3, "HR");
        by.created_by = Some("Alice".into());
        let s = run([tok(TokenAction::Listed(vec![token(1, "CRM"), by]))]);
        assert!(s.tokens.shows_creator());
        // An empty list is loaded too ("No API tokens yet").
        let s = run([tok(TokenAction::Listed(Vec::new()))]);
        assert!(s.tokens.loaded && s.tokens.tokens.is_empty());
    }

    #[test]
    fn a_new_token_shows_its_secret_once_until_the_section_is_left() {
        let mut s = run([
            AdminAction::Section(AdminSection::ApiTokens),
            tok(TokenAction::Listed(vec![token(1, "CRM")])),
            tok(TokenAction::Field(TokenField::Name, " Backup ".into())),
        ]);
        assert_eq!(s.tokens.form.days, "90", "the default");
        let input = s.tokens.form.validate(&EN).unwrap();
        assert_eq!(
            input,
            TokenInput {
                name: "Backup".into(),
                expires_in_days: 90
            }
        );
        s.apply(tok(TokenAction::Submitted));
        assert!(s.tokens.form.busy);
        s.apply(tok(TokenAction::Created {
            token: token(2, "Backup"),
            secret: "ctk_secret".into(),
        }));
        let shown = s.tokens.secret.clone().unwrap();
        assert_eq!((shown.id, shown.secret.as_str()), (2, "ctk_secret"));
        assert_eq!(shown.copied, None);
        assert_eq!(
            s.tokens.form,
            TokenForm::default(),
            "the form is empty again"
        );
        assert_eq!(s.tokens.tokens.len(), 2, "listed at once");
        s.apply(tok(TokenAction::Copied(true)));
        assert_eq!(s.tokens.secret.as_ref().unwrap().copied, Some(true));
        // The list coming again (after the create) keeps it on screen.
        s.apply(tok(TokenAction::Listed(vec![
            token(1, "CRM"),
            token(2, "Backup"),
        ])));
        s.apply(AdminAction::Section(AdminSection::ApiTokens));
        assert!(s.tokens.secret.is_some());
        // Another section: gone for good, even on coming back.
        s.apply(AdminAction::Section(AdminSection::Employees));
        assert_eq!(s.tokens.secret, None);
        s.apply(AdminAction::Section(AdminSection::ApiTokens));
        assert_eq!(s.tokens.secret, None);
        assert_eq!(s.tokens.tokens.len(), 2, "the list stays");
        // "Done" puts it away too.
        s.apply(tok(TokenAction::Created {
            token: token(3, "HR"),
            secret: "ctk_other".into(),
        }));
        assert!(s.tokens.secret.is_some());
        s.apply(tok(TokenAction::HideSecret));
        assert_eq!(s.tokens.secret, None);
    }

    #[test]
    fn revoking_removes_the_row() {
        let mut s = run([
            tok(TokenAction::Listed(vec![
                token(1, "CRM"),
                token(2, "Backup"),
            ])),
            tok(TokenAction::Created {
                token: token(3, "HR"),
                secret: "ctk_hr".into(),
            }),
        ]);
        s.apply(tok(TokenAction::Revoked(1)));
        let ids: Vec<_> = s.tokens.tokens.iter().map(|t| t.id).collect();
        assert_eq!(ids, [2, 3]);
        assert!(s.tokens.secret.is_some(), "another token's secret stays");
        s.apply(tok(TokenAction::Revoked(3)));
        assert_eq!(
            s.tokens.secret, None,
            "a revoked token's secret is of no use"
        );
        s.apply(tok(TokenAction::Revoked(42)));
        assert_eq!(s.tokens.tokens.len(), 1);
    }

    #[test]
    fn the_form_is_checked_here_and_by_the_gateway() {
        let form = |name: &str, days: &str| TokenForm {
            name: name.into(),
            days: days.into(),
            ..TokenForm::default()
        };
        let err = form(" ", "0").validate(&EN).unwrap_err();
        assert!(err.has("token_name") && err.has("expires_in_days"));
        assert_eq!(err.message, "Please correct the marked fields.");
        for days in ["366", "-1", "x", "1.5"] {
            let err = form("CRM", days).validate(&EN).unwrap_err();
            assert!(
                err.has("expires_in_days") && !err.has("token_name"),
                "{days}"
            );
        }
        assert!(form(&"x".repeat(101), "90").validate(&EN).is_err());
        assert_eq!(form("CRM", "1").validate(&EN).unwrap().expires_in_days, 1);
        assert_eq!(
            form("CRM", "365").validate(&EN).unwrap().expires_in_days,
            365
        );
        assert_eq!(
            form("CRM", " ").validate(&EN).unwrap().expires_in_days,
            DEFAULT_DAYS,
            "left empty: the default"
        );
        let pl = form("", "90").validate(&PL).unwrap_err();
        assert_eq!(
            pl.field_lines(),
            vec![(
                "token_name".to_string(),
                "Nazwa tokenu: Wpisz nazwę (od 1 do 100 znaków)".to_string()
            )]
        );

        // The gateway's refusal lands on the form's fields, in a token's words.
        let refused = Problem {
            status: 400,
            code: "validation_failed".into(),
            message: "name: a name of 1 to 100 characters is needed".into(),
            fields: vec![(
                "name".into(),
                "a name of 1 to 100 characters is needed".into(),
            )],
        };
        let mut s = run([
            tok(TokenAction::Field(TokenField::Name, "CRM".into())),
            tok(TokenAction::Submitted),
        ]);
        s.apply(tok(TokenAction::Rejected(TokenForm::refused(
            &refused, &PL,
        ))));
        let err = s.tokens.form.error.clone().unwrap();
        assert!(!s.tokens.form.busy);
        assert!(err.has("token_name") && !err.has("name"));
        assert_eq!(
            err.message,
            "Nazwa tokenu: wpisz nazwę tokenu (od 1 do 100 znaków)"
        );
        assert_eq!(s.tokens.form.name, "CRM", "what was typed stays");
        let en = TokenForm::refused(&refused, &EN);
        assert_eq!(
            en.message,
            "Token name: a name of 1 to 100 characters is needed"
        );
        // Sending again clears the old refusal.
        s.apply(tok(TokenAction::Submitted));
        assert_eq!(s.tokens.form.error, None);
    }
}
