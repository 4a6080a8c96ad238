//! Short-lived SIP credentials for the web app, as Kamailio's auth_ephemeral makes them:
//! the username is `<expiry>:<extension>` and the password an HMAC over it. The gateway hands
//! them out to a logged-in browser and checks them statelessly at REGISTER, so the web
//! password is never used for SIP and nothing is stored per credential.
//!
//! Unlike auth_ephemeral, the HMAC also covers the company's domain (extension 101 exists in
//! many companies, and one company's credential must not work in another's realm), the
//! employee's id (an extension given to someone else does not let the previous holder's
//! credential log in as the new one) and the employee's SIP generation, a counter that
//! logout, a new web password, revoked access and renumbering raise (revoking every
//! credential handed out before).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a credential is valid; the web app fetches a new one well before.
pub const LIFETIME_SECS: i64 = 12 * 3600;

/// The username for `ext` valid until `expires` (Unix seconds).
pub fn username(ext: &str, expires: i64) -> String {
    format!("{expires}:{ext}")
}

/// The password of a username in `domain`, for employee `employee_id` at SIP generation
/// `generation` (see [`crate::store::SipUser`]).
pub fn password(
    secret: &[u8; 32],
    username: &str,
    domain: &str,
    employee_id: i64,
    generation: i64,
) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(username.as_bytes());
    mac.update(b"@");
    mac.update(domain.to_ascii_lowercase().as_bytes());
    // A NUL cannot occur in a username or domain, so the fields cannot run into each other.
    mac.update(b"\0");
    mac.update(&employee_id.to_be_bytes());
    mac.update(&generation.to_be_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Splits a username of this kind into expiry and extension.
pub fn parse(username: &str) -> Option<(i64, &str)> {
    let (exp, ext) = username.split_once(':')?;
    let exp = exp.parse().ok()?;
    (!ext.is_empty()).then_some((exp, ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bound_to_domain_employee_and_generation() {
        let k = [7u8; 32];
        let u = username("101", 1_800_000_000);
        assert_eq!(parse(&u), Some((1_800_000_000, "101")));
        let p = password(&k, &u, "a.example", 5, 0);
        assert_eq!(p, password(&k, &u, "A.example", 5, 0));
        assert_ne!(p, password(&k, &u, "b.example", 5, 0));
        assert_ne!(p, password(&[8u8; 32], &u, "a.example", 5, 0));
        assert_ne!(p, password(&k, &u, "a.example", 6, 0), "another employee");
        assert_ne!(p, password(&k, &u, "a.example", 5, 1), "a later generation");
        assert_eq!(parse("101"), None);
        assert_eq!(parse("x:101"), None);
    }
}
