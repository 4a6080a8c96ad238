//! HTTP digest authentication for SIP (RFC 3261 22, RFC 7616, RFC 8760): MD5 and SHA-256,
//! `qop=auth`, client and server side. Nonces are made and checked by the server's own code
//! (the gateway), since that needs a secret and the clock.

use std::borrow::Cow;
use std::fmt;

use md5::Md5;
use sha2::{Digest, Sha256};

/// A digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }
    pub fn parse(s: &str) -> Option<Algorithm> {
        let s = s.trim_matches('"');
        if s.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }
    /// Lower-case hex of the hash of `data`.
    pub fn hex(self, data: &str) -> String {
        self.hex_of(&[data])
    }

    /// Lower-case hex of the hash of `parts` joined by `:` (no joined copy is made).
    pub fn hex_of(self, parts: &[&str]) -> String {
        fn run<D: Digest>(parts: &[&str]) -> String {
            let mut d = D::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    d.update(b":");
                }
                d.update(p.as_bytes());
            }
            to_hex(&d.finalize())
        }
        match self {
            Algorithm::Md5 => run::<Md5>(parts),
            Algorithm::Sha256 => run::<Sha256>(parts),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// HA1 = H(username:realm:password), what the server stores instead of the password.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hex_of(&[username, realm, password])
}

/// The `response` value for `qop=auth` (or the RFC 2069 form when `qop` is absent).
#[allow(clippy::too_many_arguments)]
pub fn response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    qop: Option<&str>,
    method: &str,
    uri: &str,
) -> String {
    let ha2 = alg.hex_of(&[method, uri]);
    match qop {
        Some(qop) => alg.hex_of(&[ha1, nonce, nc, cnonce, qop, &ha2]),
        None => alg.hex_of(&[ha1, nonce, &ha2]),
    }
}

/// Splits `Digest a="b", c=d` into pairs; quoted values are unquoted (borrowed unless they
/// hold quoted-pairs). Names keep their case; [`find`] ignores it.
fn parse_params(s: &str) -> Option<Vec<(&str, Cow<'_, str>)>> {
    let s = s.trim();
    let rest = s
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("digest"))
        .map(|_| &s[6..])?;
    let mut out = Vec::new();
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == b',' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b',' {
            i += 1;
        }
        let name = rest[start..i].trim();
        if i >= bytes.len() || bytes[i] != b'=' {
            return None;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if bytes.get(i) == Some(&b'"') {
            i += 1;
            let start = i;
            let mut escaped = false;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    escaped = true;
                    i += 1;
                }
                i += 1;
            }
            if i >= bytes.len() {
                return None;
            }
            let inner = &rest[start..i];
            i += 1;
            if escaped {
                let mut v = String::with_capacity(inner.len());
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    v.push(if c == '\\' {
                        chars.next().unwrap_or(c)
                    } else {
                        c
                    });
                }
                Cow::Owned(v)
            } else {
                Cow::Borrowed(inner)
            }
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b',' {
                i += 1;
            }
            Cow::Borrowed(rest[start..i].trim())
        };
        out.push((name, value));
    }
    Some(out)
}

fn find<'a>(params: &'a [(&str, Cow<'_, str>)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref())
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub algorithm: Algorithm,
    pub qop: Option<String>,
    pub opaque: Option<String>,
    pub stale: bool,
}

impl Challenge {
    /// Parses a challenge; `None` for a scheme or algorithm we do not support.
    pub fn parse(s: &str) -> Option<Challenge> {
        let p = parse_params(s)?;
        let algorithm = match find(&p, "algorithm") {
            Some(a) => Algorithm::parse(a)?,
            None => Algorithm::Md5,
        };
        Some(Challenge {
            realm: find(&p, "realm")?.to_string(),
            nonce: find(&p, "nonce")?.to_string(),
            algorithm,
            qop: find(&p, "qop").map(str::to_string),
            opaque: find(&p, "opaque").map(str::to_string),
            stale: find(&p, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// Picks the strongest challenge we support from several headers (RFC 8760 3).
    pub fn pick<'a>(values: impl Iterator<Item = &'a str>) -> Option<Challenge> {
        let mut best: Option<Challenge> = None;
        for v in values {
            if let Some(c) = Challenge::parse(v)
                && best.as_ref().is_none_or(|b| {
                    b.algorithm == Algorithm::Md5 && c.algorithm == Algorithm::Sha256
                })
            {
                best = Some(c);
            }
        }
        best
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm=\"{}\", nonce=\"{}\", algorithm={}",
            self.realm,
            self.nonce,
            self.algorithm.as_str()
        )?;
        if let Some(q) = &self.qop {
            write!(f, ", qop=\"{q}\"")?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque=\"{o}\"")?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

/// An `Authorization` / `Proxy-Authorization` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub cnonce: Option<String>,
    pub nc: Option<String>,
    pub qop: Option<String>,
    pub opaque: Option<String>,
}

impl Credentials {
    pub fn parse(s: &str) -> Option<Credentials> {
        let p = parse_params(s)?;
        let algorithm = match find(&p, "algorithm") {
            Some(a) => Algorithm::parse(a)?,
            None => Algorithm::Md5,
        };
        Some(Credentials {
            username: find(&p, "username")?.to_string(),
            realm: find(&p, "realm")?.to_string(),
            nonce: find(&p, "nonce")?.to_string(),
            uri: find(&p, "uri")?.to_string(),
            response: find(&p, "response")?.to_ascii_lowercase(),
            algorithm,
            cnonce: find(&p, "cnonce").map(str::to_string),
            nc: find(&p, "nc").map(str::to_string),
            qop: find(&p, "qop").map(str::to_string),
            opaque: find(&p, "opaque").map(str::to_string),
        })
    }

    /// Answers `challenge` for a request (client side). `nc` counts uses of this nonce.
    pub fn answer(
        challenge: &Challenge,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        cnonce: &str,
        nc: u32,
    ) -> Credentials {
        let ha1 = ha1(challenge.algorithm, username, &challenge.realm, password);
        // We always use qop=auth when the server offers it.
        let qop = challenge
            .qop
            .as_deref()
            .filter(|q| q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")))
            .map(|_| "auth".to_string());
        let nc = format!("{nc:08x}");
        let resp = response(
            challenge.algorithm,
            &ha1,
            &challenge.nonce,
            &nc,
            cnonce,
            qop.as_deref(),
            method,
            uri,
        );
        Credentials {
            username: username.to_string(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: uri.to_string(),
            response: resp,
            algorithm: challenge.algorithm,
            cnonce: qop.as_ref().map(|_| cnonce.to_string()),
            nc: qop.as_ref().map(|_| nc),
            qop,
            opaque: challenge.opaque.clone(),
        }
    }

    /// Checks the response against the stored HA1 (server side), in constant time.
    /// Nonce validity and replay are the caller's to check.
    pub fn verify(&self, method: &str, ha1: &str) -> bool {
        let expected = response(
            self.algorithm,
            ha1,
            &self.nonce,
            self.nc.as_deref().unwrap_or_default(),
            self.cnonce.as_deref().unwrap_or_default(),
            self.qop.as_deref(),
            method,
            &self.uri,
        );
        constant_time_eq(expected.as_bytes(), self.response.as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm={}",
            self.username,
            self.realm,
            self.nonce,
            self.uri,
            self.response,
            self.algorithm.as_str()
        )?;
        if let (Some(q), Some(nc), Some(c)) = (&self.qop, &self.nc, &self.cnonce) {
            write!(f, ", qop={q}, nc={nc}, cnonce=\"{c}\"")?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque=\"{o}\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 3.5's example, the classic MD5 vector.
    #[test]
    fn rfc2617_md5_vector() {
        let ha1 = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let r = response(
            Algorithm::Md5,
            &ha1,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "00000001",
            "0a4f113b",
            Some("auth"),
            "GET",
            "/dir/index.html",
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    /// RFC 7616 3.9.1's SHA-256 example.
    #[test]
    fn rfc7616_sha256_vector() {
        let ha1 = ha1(
            Algorithm::Sha256,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        let r = response(
            Algorithm::Sha256,
            &ha1,
            "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            "00000001",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            Some("auth"),
            "GET",
            "/dir/index.html",
        );
        assert_eq!(
            r,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn client_answer_verifies_on_server_and_wrong_password_does_not() {
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let ch = Challenge {
                realm: "example.com".into(),
                nonce: "n1".into(),
                algorithm: alg,
                qop: Some("auth".into()),
                opaque: None,
                stale: false,
            };
            let header = ch.to_string();
            let parsed = Challenge::parse(&header).unwrap();
            assert_eq!(parsed, ch);
            let creds =
                Credentials::answer(&parsed, "REGISTER", "sip:example.com", "101", "pw", "cn", 1);
            let back = Credentials::parse(&creds.to_string()).unwrap();
            assert!(back.verify("REGISTER", &ha1(alg, "101", "example.com", "pw")));
            assert!(!back.verify("REGISTER", &ha1(alg, "101", "example.com", "other")));
            assert!(!back.verify("INVITE", &ha1(alg, "101", "example.com", "pw")));
        }
    }

    #[test]
    fn strongest_challenge_is_picked() {
        let md5 = "Digest realm=\"r\", nonce=\"a\", algorithm=MD5, qop=\"auth\"";
        let sha = "Digest realm=\"r\", nonce=\"b\", algorithm=SHA-256, qop=\"auth\"";
        assert_eq!(
            Challenge::pick([md5, sha].into_iter()).unwrap().algorithm,
            Algorithm::Sha256
        );
        assert_eq!(
            Challenge::pick([md5].into_iter()).unwrap().algorithm,
            Algorithm::Md5
        );
        assert!(Challenge::pick(["Basic realm=\"x\""].into_iter()).is_none());
    }
}
