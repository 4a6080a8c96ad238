//! Digest authentication (RFC 7616/8760): challenges, nonces, and failure limits per
//! (source, user) and per source. The user comes in already looked up; nothing here waits.

use std::net::IpAddr;

use centrala_sip::Instant;
use centrala_sip::digest::{Algorithm, Challenge, Credentials};
use centrala_sip::message::{Request, Response, Uri};
use tracing::{info, warn};

use crate::limits::{Limits, RateLimiter, source_key};
use crate::nonce::{NonceCheck, Nonces};
use crate::sipcred;
use crate::store::SipUser;

use super::flows::Transport;

/// The company a request is for, and its SIP domain (the digest realm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realm {
    pub company: i64,
    pub domain: String,
}

/// Which challenge a refused request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenger {
    /// 401 with `WWW-Authenticate` (REGISTER).
    Registrar,
    /// 407 with `Proxy-Authenticate` (calls and other requests).
    Proxy,
}

impl Challenger {
    /// The header the client answers in.
    pub fn answer_header(self) -> &'static str {
        match self {
            Challenger::Registrar => "Authorization",
            Challenger::Proxy => "Proxy-Authorization",
        }
    }
}

/// The outcome of checking credentials.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Authenticated; `app` when with the web app's short-lived credentials.
    Ok { user: Box<SipUser>, app: bool },
    /// Challenge (again); `stale` when only the nonce was old.
    Challenge { stale: bool },
    /// Too many failed attempts for this user from this source, or from this source.
    Blocked,
}

/// Credentials answering our realm, and the extension they name.
#[derive(Debug, Clone)]
pub struct Presented {
    pub creds: Credentials,
    pub ext: String,
    /// The web app's short-lived credential (`<expiry>:<ext>`).
    pub ephemeral: Option<i64>,
}

pub struct Auth {
    nonces: Nonces,
    fail_user: RateLimiter<(IpAddr, String)>,
    fail_source: RateLimiter<IpAddr>,
    sip_secret: [u8; 32],
}

impl Auth {
    pub fn new(nonce_secret: [u8; 32], sip_secret: [u8; 32], l: &Limits) -> Auth {
        Auth {
            nonces: Nonces::new(nonce_secret),
            fail_user: RateLimiter::new(l.auth_max_failures, l.auth_window_ms, l.auth_block_ms),
            fail_source: RateLimiter::new(
                l.auth_max_failures * 4,
                l.auth_window_ms,
                l.auth_block_ms,
            ),
            sip_secret,
        }
    }

    /// The credentials in `header` for `realm`, if the request has any.
    pub fn presented(&self, req: &Request, header: &str, realm: &Realm) -> Option<Presented> {
        let creds = req
            .headers
            .all(header)
            .filter_map(Credentials::parse)
            .find(|c| c.realm.eq_ignore_ascii_case(&realm.domain))?;
        let (ext, ephemeral) = match sipcred::parse(&creds.username) {
            Some((exp, ext)) => (ext.to_string(), Some(exp)),
            None => (creds.username.clone(), None),
        };
        Some(Presented {
            creds,
            ext,
            ephemeral,
        })
    }

    /// Whether this source may not try this user now (or at all).
    pub fn blocked(&self, p: &Presented, peer: IpAddr, realm: &Realm, now: Instant) -> bool {
        let source = source_key(peer);
        self.fail_user.is_banned(&(source, who(&p.ext, realm)), now)
            || self.fail_source.is_banned(&source, now)
    }

    /// Checks presented credentials against the looked-up user (`None`: no such user, which
    /// fails exactly like a wrong password). `unix_now` is wall-clock seconds, for the web
    /// app's credentials' expiry.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &mut self,
        req: &Request,
        p: &Presented,
        user: Option<SipUser>,
        peer: IpAddr,
        realm: &Realm,
        now: Instant,
        unix_now: i64,
    ) -> Verdict {
        let source = source_key(peer);
        let who = (source, who(&p.ext, realm));
        if self.fail_user.is_banned(&who, now) || self.fail_source.is_banned(&source, now) {
            return Verdict::Blocked;
        }
        let creds = &p.creds;
        let verified = user.filter(|u| match p.ephemeral {
            Some(expires) => {
                let password = sipcred::password(
                    &self.sip_secret,
                    &creds.username,
                    &realm.domain,
                    u.employee_id,
                    u.sip_generation,
                );
                let ha1 = centrala_sip::digest::ha1(
                    creds.algorithm,
                    &creds.username,
                    &creds.realm,
                    &password,
                );
                u.app_access && expires > unix_now && creds.verify(req.method.as_str(), &ha1)
            }
            None => u
                .ha1(creds.algorithm)
                .is_some_and(|h| creds.verify(req.method.as_str(), h)),
        });
        let Some(user) = verified else {
            info!(user = %who.1, %peer, method = %req.method, "digest authentication failed");
            let user_ok = self.fail_user.hit(&who, now);
            let source_ok = self.fail_source.hit(&source, now);
            if !user_ok || !source_ok {
                warn!(user = %who.1, %peer, "too many failed logins from this source: refused for a while");
                return Verdict::Blocked;
            }
            return Verdict::Challenge { stale: false };
        };
        match self.nonces.check(&creds.nonce, creds.nc.as_deref(), now) {
            NonceCheck::Valid => {
                self.fail_user.clear(&who);
                Verdict::Ok {
                    user: Box::new(user),
                    app: p.ephemeral.is_some(),
                }
            }
            NonceCheck::Stale => Verdict::Challenge { stale: true },
            NonceCheck::Invalid => Verdict::Challenge { stale: false },
        }
    }

    /// A 401 or 407 for `req` offering `algorithms` in order, all with one nonce (the client
    /// answers one of them; the nonce count is tracked per nonce either way).
    #[allow(clippy::too_many_arguments)]
    pub fn challenge(
        &mut self,
        req: &Request,
        who: Challenger,
        stale: bool,
        realm: &Realm,
        algorithms: &[Algorithm],
        salt: u64,
        tag: &str,
        now: Instant,
    ) -> Response {
        let (status, reason, header) = match who {
            Challenger::Proxy => (407, "Proxy Authentication Required", "Proxy-Authenticate"),
            Challenger::Registrar => (401, "Unauthorized", "WWW-Authenticate"),
        };
        let mut resp = req.response(status, reason);
        resp.set_to_tag(tag);
        let nonce = self.nonces.issue(now, salt);
        for &algorithm in algorithms {
            let ch = Challenge {
                realm: realm.domain.clone(),
                nonce: nonce.clone(),
                algorithm,
                qop: Some("auth".into()),
                opaque: None,
                stale,
            };
            resp.headers.push(header, ch.to_string());
        }
        resp
    }

    /// Forgets old nonces (now and then).
    pub fn sweep(&mut self, now: Instant) {
        self.nonces.sweep(now);
    }
}

fn who(ext: &str, realm: &Realm) -> String {
    let mut s = String::with_capacity(ext.len() + 1 + realm.domain.len());
    s.push_str(ext);
    s.push('@');
    s.push_str(&realm.domain);
    s
}

/// The digest algorithms a challenge offers, in order. On WebSocket SHA-256 and then MD5
/// (RFC 8760 preference order): JsSIP and SIP.js keep only the *last* challenge header and
/// know only MD5, our softphone picks SHA-256. On UDP, TCP and TLS a single MD5 challenge, as
/// Kamailio and Asterisk send: desk phones, baresip and sipp answer the first challenge, often
/// know only MD5, and some (baresip) refuse a set with an algorithm they do not know. A SIP
/// credential set to one algorithm (`user set --digest`) gets only that one; an unknown user
/// gets the transport's default.
pub fn offer(chosen: Option<Algorithm>, transport: Transport) -> &'static [Algorithm] {
    match (chosen, transport) {
        (Some(Algorithm::Sha256), _) => &[Algorithm::Sha256],
        (Some(Algorithm::Md5), _) => &[Algorithm::Md5],
        (None, Transport::Ws) => &[Algorithm::Sha256, Algorithm::Md5],
        (None, _) => &[Algorithm::Md5],
    }
}

/// Whether a digest response's `uri` designates the same resource as the Request-URI it came
/// with (RFC 7616 3.4.6): the same user at the same host and port, or at two names of this
/// gateway (`names_us`: sipp, for one, puts our address where the Request-URI has our
/// domain). Credentials computed for another user's URI are not accepted.
pub fn digest_uri_matches(
    digest_uri: &str,
    request_uri: &Uri,
    names_us: impl Fn(&Uri) -> bool,
) -> bool {
    if digest_uri == request_uri.to_string() {
        return true;
    }
    let Ok(u) = Uri::parse(digest_uri) else {
        return false;
    };
    let same_place = (u.host.eq_ignore_ascii_case(&request_uri.host) && u.port == request_uri.port)
        || (names_us(&u) && names_us(request_uri));
    u.scheme.eq_ignore_ascii_case(&request_uri.scheme) && u.user == request_uri.user && same_place
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_follow_transport_and_credential() {
        use Algorithm::{Md5, Sha256};
        assert_eq!(offer(None, Transport::Ws), [Sha256, Md5]);
        assert_eq!(offer(None, Transport::Udp), [Md5]);
        assert_eq!(offer(None, Transport::Tls), [Md5]);
        assert_eq!(offer(Some(Sha256), Transport::Udp), [Sha256]);
        assert_eq!(offer(Some(Md5), Transport::Ws), [Md5]);
    }

    #[test]
    fn digest_uri_must_name_the_request_uri() {
        let r = Uri::parse("sip:102@d.example").unwrap();
        let us = |u: &Uri| u.host == "d.example" || u.host == "192.0.2.1";
        assert!(digest_uri_matches("sip:102@d.example", &r, us));
        assert!(digest_uri_matches("sip:102@D.EXAMPLE", &r, us));
        assert!(
            digest_uri_matches("sip:102@192.0.2.1:5060", &r, us),
            "another name of ours"
        );
        assert!(!digest_uri_matches("sip:101@d.example", &r, us));
        assert!(!digest_uri_matches("sip:102@other.example", &r, us));
        assert!(!digest_uri_matches("garbage", &r, us));
    }
}
