//! Addresses and the forms' checks: pure string work, tested natively.

use crate::i18n::Strings;
use crate::model::LinkKind;

/// The phone's WebSocket URL: `ws://` or `wss://` (as the page is served
/// over http or https) + the page's host + `/sip`.
pub fn default_server(page_protocol: &str, page_host: &str) -> String {
    let scheme = if page_protocol == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{page_host}/sip")
}

/// The set-password link in a page's query (`location.search`): `?invite=TOKEN` or
/// `?reset=TOKEN`, percent-decoded. `None` without one (or with an empty token).
pub fn link_from_query(search: &str) -> Option<(LinkKind, String)> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| {
            let kind = match key {
                "invite" => LinkKind::Invite,
                "reset" => LinkKind::Reset,
                _ => return None,
            };
            let token = percent_decode(value)?;
            (!token.is_empty()).then_some((kind, token))
        })
}

/// Decodes `%XX` escapes and `+` (a query's space); `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Checks the login form; the error is for a person, in `t`'s language.
pub fn validate_login(email: &str, password: &str, t: &Strings) -> Result<(), String> {
    let email = email.trim();
    if email.is_empty() {
        return Err(t.email_missing.into());
    }
    if !looks_like_email(email) {
        return Err(t.email_hint.into());
    }
    if password.is_empty() {
        return Err(t.password_missing.into());
    }
    Ok(())
}

/// A light check (the server decides): something@something, no spaces.
pub fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The shortest password the set-password form accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Checks a new password and its confirmation; the error is for a person, in `t`'s
/// language.
pub fn check_new_password(password: &str, confirm: &str, t: &Strings) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err((t.password_short)(MIN_PASSWORD_CHARS));
    }
    if password != confirm {
        return Err(t.passwords_differ.into());
    }
    Ok(())
}

/// When to fetch a new SIP credential: at 2/3 of its lifetime (at least 10 s from now, at
/// most a day, which also keeps it within a browser timer's range).
pub fn refresh_delay_ms(expires_in_s: u64) -> u32 {
    (expires_in_s.saturating_mul(1000) / 3)
        .saturating_mul(2)
        .clamp(10_000, 86_400_000) as u32
}

/// A phone number as typed ("+48 22 600-61-00") without the spaces, dashes, dots and
/// brackets people add for reading.
pub fn compact_number(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '(' | ')' | '/'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{EN, PL};

    #[test]
    fn default_server_follows_the_page() {
        assert_eq!(
            default_server("http:", "127.0.0.1:8080"),
            "ws://127.0.0.1:8080/sip"
        );
        assert_eq!(
            default_server("https:", "pbx.example.com"),
            "wss://pbx.example.com/sip"
        );
    }

    #[test]
    fn set_password_links_come_from_the_query() {
        assert_eq!(
            link_from_query("?invite=abc123"),
            Some((LinkKind::Invite, "abc123".into()))
        );
        assert_eq!(
            link_from_query("?utm=x&reset=t%2Bk%3D"),
            Some((LinkKind::Reset, "t+k=".into()))
        );
        assert_eq!(link_from_query(""), None);
        assert_eq!(link_from_query("?invite="), None);
        assert_eq!(link_from_query("?other=1"), None);
        assert_eq!(
            link_from_query("?invite=a%zz"),
            Some((LinkKind::Invite, "a%zz".into()))
        );
        assert_eq!(
            link_from_query("?invite=ab%"),
            Some((LinkKind::Invite, "ab%".into()))
        );
    }

    #[test]
    fn login_checks() {
        assert_eq!(validate_login("alice@example.com", "pw", &EN), Ok(()));
        assert_eq!(
            validate_login(" ", "pw", &EN),
            Err("Enter your e-mail address".into())
        );
        assert!(validate_login("alice", "pw", &EN).is_err());
        assert!(validate_login("al ice@example.com", "pw", &EN).is_err());
        assert_eq!(
            validate_login("alice@example.com", "", &PL),
            Err("Wpisz hasło".into())
        );
    }

    #[test]
    fn new_password_checks() {
        assert_eq!(check_new_password("0123456789", "0123456789", &EN), Ok(()));
        assert!(
            check_new_password("short", "short", &EN)
                .unwrap_err()
                .contains("at least 10")
        );
        assert_eq!(
            check_new_password("0123456789", "0123456788", &EN),
            Err("The two passwords are not the same".into())
        );
        assert_eq!(
            check_new_password("short", "short", &PL),
            Err("Hasło musi mieć co najmniej 10 znaków".into())
        );
        // Characters, not bytes.
        assert!(check_new_password("ąęćłńóśźż", "ąęćłńóśźż", &EN).is_err());
    }

    #[test]
    fn credentials_refresh_at_two_thirds() {
        assert_eq!(refresh_delay_ms(43_200), 28_800_000);
        assert_eq!(refresh_delay_ms(3), 10_000);
        assert_eq!(refresh_delay_ms(u64::MAX), 86_400_000);
    }

    #[test]
    fn numbers_lose_their_spacing() {
        assert_eq!(compact_number(" +48 22 600-61-00 "), "+48226006100");
        assert_eq!(compact_number("(22) 600.61.00"), "226006100");
    }
}
