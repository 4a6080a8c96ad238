//! SIP messages: parsing, typed access to the headers we route on, and serialising.
//!
//! The parser is written for the traffic real clients send (JsSIP, SIP.js, baresip, desk
//! phones): compact header names (`v`, `i`, `m`, ...), comma-joined header values, folded
//! lines, `+sip.instance="<urn:uuid:...>"` Contact parameters and `.invalid` hosts. Headers are
//! kept in order as (canonical name, value) pairs; typed views (`Via`, `NameAddr`, `CSeq`) are
//! parsed on demand. "Incomplete" (wait for more bytes on a stream) is an error distinct from
//! "invalid" (answer 400 or drop).

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::sync::Arc;

/// The largest message the parser accepts, in bytes (headers and body).
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// The most header lines the parser accepts.
pub const MAX_HEADERS: usize = 256;

/// Why bytes are not (yet) a SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// More bytes are needed: the headers have not ended, or the body is shorter than
    /// Content-Length. On a stream, read more; on a datagram or WebSocket frame, invalid.
    #[error("incomplete message")]
    Incomplete,
    /// The bytes are not a SIP message; the text says what is wrong (it goes into a 400).
    #[error("{0}")]
    Invalid(String),
    /// The message is larger than [`MAX_MESSAGE_SIZE`] or has too many headers.
    #[error("message too large")]
    TooLarge,
}

fn invalid(reason: impl Into<String>) -> ParseError {
    ParseError::Invalid(reason.into())
}

/// A SIP method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Update,
    Prack,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    /// Any other token, kept as written.
    Other(String),
}

impl Method {
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }

    /// Parses a method token (case-sensitive, as RFC 3261 says).
    pub fn parse(s: &str) -> Result<Method, ParseError> {
        Ok(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other if !other.is_empty() && other.bytes().all(is_token_char) => {
                Method::Other(other.to_string())
            }
            other => return Err(invalid(format!("bad method {other:?}"))),
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_token_char(b: u8) -> bool {
    CHAR_CLASS[usize::from(b)] & TOKEN != 0
}

/// Character classes by byte, built at compile time: a table lookup per byte of every
/// header checked, where `contains` on a list scanned the list.
const TOKEN: u8 = 1;
const PARAM: u8 = 2;
const CHAR_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let token = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        let param =
            token || matches!(c, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$') || c >= 0x80;
        t[b] = if token { TOKEN } else { 0 } | if param { PARAM } else { 0 };
        b += 1;
    }
    t
};

/// Characters of parameter names and unquoted values: tokens, URI `paramchar`s (`[]/:&+$%`),
/// hosts and IPv6 references; no LWS, controls, quotes or list and address separators.
fn is_param_char(b: u8) -> bool {
    CHAR_CLASS[usize::from(b)] & PARAM != 0
}

/// Appends `n` in decimal (as `{}` writes it, without the formatting machinery).
fn push_decimal(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[i..] {
        out.push(*d as char);
    }
}

/// The first `b` in `s` (an ASCII byte, so the index is a character boundary).
fn byte_at(s: &str, b: u8) -> Option<usize> {
    s.as_bytes().iter().position(|c| *c == b)
}

/// `s` split around its first `b` (an ASCII byte).
fn split_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    byte_at(s, b).map(|i| (&s[..i], &s[i + 1..]))
}

/// Trims SP and HTAB (SIP's LWS once lines are unfolded), not other Unicode white space.
fn trim_lws(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| *c != b' ' && *c != b'\t')
        .map_or(start, |i| i + 1);
    // Both ends are ASCII bytes, so they are character boundaries.
    &s[start..end.max(start)]
}

/// Parses 1*DIGIT: no sign, no spaces (`str::parse` alone accepts a leading `+`).
fn parse_digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The length of the quoted-string at the start of `s` (both quotes included), or `None`
/// when `s` does not start with one or it is unterminated. `\` escapes the next character.
fn quoted_string_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The text of a quoted-string without its quotes, quoted-pairs (`\x`) resolved.
fn unescape_quoted(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `s` as a quoted-string: `"` and `\` and control characters become quoted-pairs; CR
/// and LF, which no quoted-pair can carry, are dropped (no header injection).
fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '\r' | '\n' => {}
            '"' | '\\' => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c if c.is_ascii_control() => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// A URI parameter list: `;name=value;flag`. Names compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
    /// The value of `name`, if present with a value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_string);
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Parses `;a=b;c` (empty, or starting with `;`); LWS around `;` and `=` is allowed
    /// (RFC 4475 wsinv), quoted values keep their quotes. Empty parameters (`;;`, RFC 4475
    /// badinv01), names with separators and unquoted values with spaces are invalid.
    fn parse(s: &str) -> Result<Params, ParseError> {
        let mut out = Vec::new();
        each_param(s, |name, value| {
            out.push((name.to_string(), value.map(str::to_string)))
        })?;
        Ok(Params(out))
    }
}

/// Checks a parameter list (see [`Params::parse`]) and hands each name and value to `f`,
/// borrowed: checking a message's headers allocates nothing.
fn each_param<'a>(
    s: &'a str,
    mut f: impl FnMut(&'a str, Option<&'a str>),
) -> Result<(), ParseError> {
    {
        let s = trim_lws(s);
        if s.is_empty() {
            return Ok(());
        }
        let Some(s) = s.strip_prefix(';') else {
            return Err(invalid(format!("expected ';' before parameters in {s:?}")));
        };
        for part in split_outside_quotes(s, b';') {
            let part = trim_lws(part);
            if part.is_empty() {
                return Err(invalid("empty parameter (';;')"));
            }
            let (name, value) = match split_byte(part, b'=') {
                Some((n, v)) => (trim_lws(n), Some(trim_lws(v))),
                None => (part, None),
            };
            if name.is_empty() || !name.bytes().all(is_param_char) {
                return Err(invalid(format!("bad parameter name {name:?}")));
            }
            if let Some(v) = value {
                let ok = if v.starts_with('"') {
                    quoted_string_len(v) == Some(v.len())
                } else {
                    !v.is_empty() && v.bytes().all(is_param_char)
                };
                if !ok {
                    return Err(invalid(format!("bad value for parameter {name:?}")));
                }
            }
            f(name, value);
        }
        Ok(())
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

/// A SIP or SIPS URI (other schemes such as `tel:` are kept with host empty and the rest in
/// `user`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    pub scheme: String,
    pub user: Option<String>,
    /// The deprecated `user:password` part, kept so a forwarded URI is unchanged.
    pub password: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
    /// The `?headers` part, kept as written.
    pub headers: Option<String>,
}

impl Uri {
    pub fn sip(user: Option<&str>, host: &str) -> Uri {
        Uri {
            scheme: "sip".into(),
            user: user.map(str::to_string),
            password: None,
            host: host.to_string(),
            port: None,
            params: Params::default(),
            headers: None,
        }
    }

    /// Parses a SIP or SIPS URI (RFC 3261 19.1.1) or any other absolute URI (kept opaque).
    /// The userinfo ends at the first `@` (user and password cannot contain one unescaped)
    /// and may hold `;`, `?` and `,` (RFC 4475 intmeth, semiuri); `%` escapes are kept as
    /// written. White space, controls, `<`, `>` and `"` are invalid anywhere in a URI.
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        Uri::from_parts(UriParts::parse(s)?)
    }

    fn from_parts(p: UriParts<'_>) -> Result<Uri, ParseError> {
        if !p.scheme.eq_ignore_ascii_case("sip") && !p.scheme.eq_ignore_ascii_case("sips") {
            return Ok(Uri {
                scheme: p.scheme.to_ascii_lowercase(),
                user: p.user.map(str::to_string),
                password: None,
                host: String::new(),
                port: None,
                params: Params::default(),
                headers: None,
            });
        }
        Ok(Uri {
            scheme: p.scheme.to_ascii_lowercase(),
            user: p.user.map(str::to_string),
            password: p.password.map(str::to_string),
            host: p.host.to_string(),
            port: p.port,
            params: Params::parse(p.params)?,
            headers: p.headers.map(str::to_string),
        })
    }
}

/// A URI's parts, checked and borrowed (see [`Uri::parse`]); `params` is the checked
/// `;...` text. Other schemes than sip and sips keep all after the colon in `user`.
struct UriParts<'a> {
    scheme: &'a str,
    user: Option<&'a str>,
    password: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
    params: &'a str,
    headers: Option<&'a str>,
}

impl<'a> UriParts<'a> {
    fn parse(s: &'a str) -> Result<UriParts<'a>, ParseError> {
        let s = trim_lws(s);
        let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"');
        // Byte scan first (URIs are ASCII in practice); characters only when one is not.
        let suspect = !s.is_ascii()
            || s.bytes()
                .any(|b| b <= b' ' || b == 0x7f || matches!(b, b'<' | b'>' | b'"'));
        if suspect && let Some(c) = s.chars().find(|c| bad(*c)) {
            return Err(invalid(format!("bad character {c:?} in URI")));
        }
        let (scheme, rest) =
            split_byte(s, b':').ok_or_else(|| invalid(format!("URI without scheme: {s:?}")))?;
        if !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(invalid(format!("bad URI scheme in {s:?}")));
        }
        if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
            if rest.is_empty() {
                return Err(invalid(format!(
                    "empty {} URI",
                    scheme.to_ascii_lowercase()
                )));
            }
            return Ok(UriParts {
                scheme,
                user: Some(rest),
                password: None,
                host: "",
                port: None,
                params: "",
                headers: None,
            });
        }
        let (userinfo, after) = match byte_at(rest, b'@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            Some(u) => {
                let (user, password) = match split_byte(u, b':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (u, None),
                };
                if user.is_empty() {
                    return Err(invalid("empty user part in URI"));
                }
                (Some(user), password)
            }
            None => (None, None),
        };
        let hostport_end = after
            .as_bytes()
            .iter()
            .position(|b| *b == b';' || *b == b'?')
            .unwrap_or(after.len());
        let (hostport, rest) = after.split_at(hostport_end);
        let (params, headers) = match split_byte(rest, b'?') {
            Some((p, h)) => {
                if h.is_empty() {
                    return Err(invalid("empty headers after '?' in URI"));
                }
                (p, Some(h))
            }
            None => (rest, None),
        };
        each_param(params, |_, _| {})?;
        let (host, port) = host_port(hostport)?;
        Ok(UriParts {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }
}

impl Uri {
    /// `user@host:port` for comparing addresses (no parameters), lower-cased host.
    pub fn address_key(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(&self.host.to_ascii_lowercase());
        if let Some(p) = self.port {
            let _ = write!(s, ":{p}");
        }
        s
    }
}

fn split_host_port(s: &str) -> Result<(String, Option<u16>), ParseError> {
    host_port(s).map(|(h, p)| (h.to_string(), p))
}

/// `host[:port]`, checked; the host borrowed (an IPv6 reference with its brackets).
fn host_port(s: &str) -> Result<(&str, Option<u16>), ParseError> {
    let s = trim_lws(s);
    if s.is_empty() {
        return Err(invalid("empty host"));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| invalid("unterminated IPv6 reference"))?;
        let inner = &rest[..end];
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(invalid(format!("bad IPv6 reference [{inner}]")));
        }
        let host = &s[..end + 2];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(invalid("garbage after IPv6 reference")),
        };
        (host, port)
    } else {
        match s.as_bytes().iter().rposition(|b| *b == b':') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    if !host.starts_with('[')
        && (host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'))
    {
        return Err(invalid(format!("bad host {host:?}")));
    }
    let port = match port {
        Some(p) => Some(parse_digits::<u16>(p).ok_or_else(|| invalid(format!("bad port {p:?}")))?),
        None => None,
    };
    Ok((host, port))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scheme != "sip" && self.scheme != "sips" {
            return write!(
                f,
                "{}:{}",
                self.scheme,
                self.user.as_deref().unwrap_or_default()
            );
        }
        write!(f, "{}:", self.scheme)?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_char('@')?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

/// `"Display" <uri>;params` as in From, To, Contact, Route and Record-Route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Params::default(),
        }
    }

    /// Parses `name-addr` (`"Display" <uri>;params`, or `display tokens <uri>`) or
    /// `addr-spec` (`uri;params`, where the parameters belong to the header). The display
    /// name is unquoted and its quoted-pairs resolved. Invalid (RFC 4475): an unterminated
    /// quote (quotbal), an unquoted display name with separators (baddn), spaces inside `<>`
    /// (badaspec), and an addr-spec whose URI has `?` or `,` (regbadct).
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let (display, uri, params) = name_addr_parts(s)?;
        Ok(NameAddr {
            display: display.map(build_display),
            uri: Uri::from_parts(uri)?,
            params: Params::parse(params)?,
        })
    }

    /// Whether `s` parses as a [`NameAddr`], allocating nothing.
    pub fn check(s: &str) -> Result<(), ParseError> {
        name_addr_parts(s).map(drop)
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write_quoted(f, d)?;
            f.write_char(' ')?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// A name-addr's or addr-spec's display name (checked, as written), URI text and header
/// parameters (checked) (see [`NameAddr::parse`]); the URI is left to the caller.
fn name_addr_parts(s: &str) -> Result<(Option<&str>, UriParts<'_>, &str), ParseError> {
    let s = trim_lws(s);
    if let Some(lt) = find_outside_quotes(s, b'<') {
        let display = check_display(&s[..lt])?;
        let rest = &s[lt + 1..];
        let gt = rest
            .find('>')
            .ok_or_else(|| invalid("missing '>' in name-addr"))?;
        let uri = &rest[..gt];
        if trim_lws(uri).len() != uri.len() {
            return Err(invalid("spaces inside '<>' around the URI"));
        }
        let params = &rest[gt + 1..];
        // The URI is checked before the parameters: the first error is the one reported.
        let uri = UriParts::parse(uri)?;
        each_param(params, |_, _| {})?;
        Ok((display, uri, params))
    } else {
        if s.contains('"') {
            return Err(invalid(
                "unterminated quoted string or quoted name without '<>'",
            ));
        }
        // addr-spec form: parameters after the URI belong to the header, not the URI.
        let (uri, params) = match s.find(';') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        };
        each_param(params, |_, _| {})?;
        let uri = trim_lws(uri);
        if uri.contains(['?', ',']) {
            return Err(invalid(format!(
                "a URI with '?' or ',' must be in '<>': {uri:?}"
            )));
        }
        Ok((None, UriParts::parse(uri)?, params))
    }
}

/// The user and host of a name-addr's (or addr-spec's) URI, when it parses.
pub fn addr_user_host(s: &str) -> Option<(Option<&str>, &str)> {
    let (_, uri, _) = name_addr_parts(s).ok()?;
    Some((uri.user, uri.host))
}

/// A header parameter of a name-addr (the `tag` of a From or To), when it parses.
pub fn addr_param<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let (_, _, params) = name_addr_parts(s).ok()?;
    let mut found = None;
    each_param(params, |n, v| {
        if found.is_none() && n.eq_ignore_ascii_case(name) {
            found = v;
        }
    })
    .ok()?;
    found
}

/// The display name before `<`: nothing, one quoted-string, or LWS-separated tokens (bytes
/// past ASCII are let through unquoted, as some phones send them). Checked, as written.
fn check_display(s: &str) -> Result<Option<&str>, ParseError> {
    let s = trim_lws(s);
    if s.is_empty() {
        return Ok(None);
    }
    if s.starts_with('"') {
        let len = quoted_string_len(s).ok_or_else(|| invalid("unterminated quoted string"))?;
        if len != s.len() {
            return Err(invalid("text after the quoted display name"));
        }
        return Ok(Some(s));
    }
    if !s
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || is_token_char(b) || b >= 0x80)
    {
        return Err(invalid(format!("display name {s:?} must be quoted")));
    }
    Ok(Some(s))
}

/// A checked display name as shown: unquoted with its quoted-pairs resolved, or its tokens
/// joined by single spaces.
fn build_display(s: &str) -> String {
    if s.starts_with('"') {
        return unescape_quoted(&s[1..s.len() - 1]);
    }
    s.split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A Via header value: `SIP/2.0/WSS host:port;branch=...;rport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    /// Parses one Via value. LWS around the slashes of the sent-protocol is allowed
    /// (`SIP  /   2.0 /UDP`, RFC 4475 wsinv); the protocol must be exactly SIP/2.0/transport.
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        let s = trim_lws(s);
        // Usually the sent-protocol (`SIP/2.0/UDP`) has no LWS: use the value as it is.
        // Otherwise drop the LWS around its two slashes first.
        let plain = s.split_once([' ', '\t']).is_some_and(|(proto, _)| {
            !proto.ends_with('/') && proto.bytes().filter(|b| *b == b'/').count() == 2
        });
        let cleaned: Cow<'_, str> = if plain {
            Cow::Borrowed(s)
        } else {
            let mut cleaned = String::with_capacity(s.len());
            let mut slashes = 0;
            let mut chars = s.chars().peekable();
            while let Some(c) = chars.next() {
                if slashes < 2 && c == '/' {
                    slashes += 1;
                    while cleaned.ends_with([' ', '\t']) {
                        cleaned.pop();
                    }
                    cleaned.push('/');
                    while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
                } else {
                    cleaned.push(c);
                }
            }
            Cow::Owned(cleaned)
        };
        let (proto, rest) = cleaned
            .split_once([' ', '\t'])
            .ok_or_else(|| invalid("Via without sent-by"))?;
        let mut parts = proto.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(n), Some("2.0"), Some(t), None)
                if n.eq_ignore_ascii_case("SIP")
                    && !t.is_empty()
                    && t.bytes().all(is_token_char) =>
            {
                Via::finish(t, rest)
            }
            _ => Err(invalid(format!("bad Via protocol {proto:?}"))),
        }
    }

    /// A Via value whose sent-protocol is a plain `SIP/2.0/token` (no LWS around its
    /// slashes) split, borrowed, into its sent-by (`host[:port]`) and its `;...` parameters,
    /// neither checked yet; `None` otherwise (leave it to [`Via::parse`]).
    fn plain_parts(s: &str) -> Option<(&str, &str)> {
        let t = trim_lws(s);
        let sp = t
            .as_bytes()
            .iter()
            .position(|b| *b == b' ' || *b == b'\t')?;
        let (proto, rest) = (&t[..sp], trim_lws(&t[sp + 1..]));
        let mut parts = proto.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(n), Some("2.0"), Some(t), None)
                if n.eq_ignore_ascii_case("SIP")
                    && !t.is_empty()
                    && t.bytes().all(is_token_char) => {}
            _ => return None,
        }
        Some(match byte_at(rest, b';') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        })
    }

    /// The sent-by host of a Via value and whether it has `rport`, borrowed; `None` when it
    /// does not parse, or has LWS around the slashes of its protocol (use [`Via::parse`]).
    pub fn sent_by(s: &str) -> Option<(&str, bool)> {
        let (hostport, params) = Via::plain_parts(s)?;
        let mut rport = false;
        each_param(params, |n, _| rport |= n.eq_ignore_ascii_case("rport")).ok()?;
        let (host, _) = host_port(hostport).ok()?;
        Some((host, rport))
    }

    /// The Via value `s` marked with where its request came from (RFC 3261 18.2.1, RFC 3581):
    /// `received` when the sent-by host is not `ip` or `rport` was asked for, and `rport`
    /// given `port`: `Some(None)` when nothing is to be added; `None` when `s` does not parse
    /// as a Via without LWS in its protocol (then build the [`Via`] instead).
    pub fn with_received(s: &str, ip: std::net::IpAddr, port: u16) -> Option<Option<String>> {
        let (host, rport) = Via::sent_by(s)?;
        let same_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            == Ok(ip);
        if same_host && !rport {
            return Some(None);
        }
        let s = trim_lws(s);
        let (head, params) = match s.find(';') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        };
        let mut out = String::with_capacity(s.len() + 40);
        out.push_str(trim_lws(head));
        each_param(params, |n, v| {
            if n.eq_ignore_ascii_case("received") {
                return;
            }
            out.push(';');
            out.push_str(n);
            if n.eq_ignore_ascii_case("rport") {
                out.push('=');
                push_decimal(&mut out, u32::from(port));
            } else if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
        })
        .ok()?;
        out.push_str(";received=");
        match ip {
            std::net::IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    push_decimal(&mut out, u32::from(octet));
                }
            }
            std::net::IpAddr::V6(v6) => {
                let _ = write!(out, "{v6}");
            }
        }
        Some(Some(out))
    }

    /// Whether `s` parses as a [`Via`]; allocates nothing unless its sent-protocol has LWS
    /// around the slashes (rare).
    pub fn check(s: &str) -> Result<(), ParseError> {
        match Via::plain_parts(s) {
            Some((hostport, params)) => {
                each_param(params, |_, _| {})?;
                host_port(hostport).map(drop)
            }
            None => Via::parse(s).map(drop),
        }
    }

    fn finish(transport: &str, rest: &str) -> Result<Via, ParseError> {
        let rest = trim_lws(rest);
        let (hostport, params) = match rest.find(';') {
            Some(i) => (&rest[..i], Params::parse(&rest[i..])?),
            None => (rest, Params::default()),
        };
        let (host, port) = split_host_port(hostport)?;
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// A CSeq value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        let mut it = s.split([' ', '\t']).filter(|w| !w.is_empty());
        let seq = it
            .next()
            .and_then(parse_digits::<u32>)
            .ok_or_else(|| invalid("bad CSeq number"))?;
        let method = Method::parse(it.next().ok_or_else(|| invalid("CSeq without method"))?)?;
        if it.next().is_some() {
            return Err(invalid("garbage after CSeq method"));
        }
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// A header value: a range of the received header block, or text set since.
#[derive(Clone)]
enum Value {
    Raw(u32, u32),
    Owned(String),
}

/// Ordered header list with canonical names. A parsed message's values are ranges of its
/// header block, kept once and shared (a response made from a request shares the request's
/// block for the headers it copies): no string per header.
#[derive(Clone, Default)]
pub struct Headers {
    text: Option<Arc<str>>,
    list: Vec<(Cow<'static, str>, Value)>,
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }
    fn with_capacity(n: usize) -> Headers {
        Headers {
            text: None,
            list: Vec::with_capacity(n),
        }
    }
    fn value<'a>(&'a self, v: &'a Value) -> &'a str {
        match v {
            Value::Owned(s) => s,
            Value::Raw(start, len) => {
                let (start, len) = (*start as usize, *len as usize);
                self.text
                    .as_deref()
                    .and_then(|t| t.get(start..start + len))
                    .unwrap_or_default()
            }
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.list.iter().map(|(n, v)| (n.as_ref(), self.value(v)))
    }
    /// The first value of `name` (any spelling, compact forms included).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }
    /// Every value of `name`, in order (comma-joined values were split when parsed).
    pub fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name: Cow<'static, str> = match known_name(name) {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(name.to_string()),
        };
        self.list
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, v)| self.value(v))
    }
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.list
            .push((canonical(name), Value::Owned(value.into())));
    }
    /// Copies every value of `name` from `other` (a request's headers into its response):
    /// shared, not copied, when this list has no block of its own or the same one.
    pub fn copy_from(&mut self, other: &Headers, name: &str) {
        let name: &'static str = match known_name(name) {
            Some(k) => k,
            None => {
                for v in other.all(name) {
                    self.push(name, v);
                }
                return;
            }
        };
        if self.text.is_none() {
            self.text = other.text.clone();
        }
        let same = match (&self.text, &other.text) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        for (n, v) in &other.list {
            if n.eq_ignore_ascii_case(name) {
                let v = match v {
                    Value::Raw(..) if same => v.clone(),
                    v => Value::Owned(other.value(v).to_string()),
                };
                self.list.push((Cow::Borrowed(name), v));
            }
        }
    }
    /// Inserts before every other header of the same name (Via, Record-Route).
    pub fn push_front(&mut self, name: &str, value: impl Into<String>) {
        let name = canonical(name);
        let pos = self
            .list
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
            .unwrap_or(self.list.len());
        self.list.insert(pos, (name, Value::Owned(value.into())));
    }
    /// Replaces every value of `name` with one value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let name = canonical(name);
        match self
            .list
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(i) => {
                self.list[i].1 = Value::Owned(value.into());
                let mut j = 0;
                self.list.retain(|(n, _)| {
                    j += 1;
                    j - 1 == i || !n.eq_ignore_ascii_case(&name)
                });
            }
            None => self.list.push((name, Value::Owned(value.into()))),
        }
    }
    pub fn remove(&mut self, name: &str) {
        let name = known_name(name).unwrap_or(name);
        self.list.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
    /// Replaces the first value of `name` in place; `false` when there is none.
    pub fn replace_first(&mut self, name: &str, value: impl Into<String>) -> bool {
        match self.first_mut(name) {
            Some(slot) => {
                *slot = value.into();
                true
            }
            None => false,
        }
    }
    /// The first value of `name`, to edit in place (made an owned string first).
    fn first_mut(&mut self, name: &str) -> Option<&mut String> {
        let name = known_name(name).unwrap_or(name);
        let i = self
            .list
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))?;
        if let Value::Raw(..) = self.list[i].1 {
            let owned = self.value(&self.list[i].1).to_string();
            self.list[i].1 = Value::Owned(owned);
        }
        match &mut self.list[i].1 {
            Value::Owned(s) => Some(s),
            Value::Raw(..) => None,
        }
    }
    /// Removes the first value of `name` and returns it.
    pub fn remove_first(&mut self, name: &str) -> Option<String> {
        let name = known_name(name).unwrap_or(name);
        let i = self
            .list
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))?;
        let value = self.value(&self.list[i].1).to_string();
        self.list.remove(i);
        Some(value)
    }
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The well-known spelling of `name` (compact forms expanded), without allocating; `None`
/// for names we do not know.
fn known_name(name: &str) -> Option<&'static str> {
    // Called for every header parsed and every lookup: compact forms by their letter, the
    // rest bucketed by length, so a lookup compares against one to four names.
    let candidates: &[&'static str] = match name.len() {
        1 => {
            return Some(match name.as_bytes()[0].to_ascii_lowercase() {
                b'v' => "Via",
                b'i' => "Call-ID",
                b'm' => "Contact",
                b'f' => "From",
                b't' => "To",
                b'l' => "Content-Length",
                b'c' => "Content-Type",
                b'k' => "Supported",
                b's' => "Subject",
                b'e' => "Content-Encoding",
                b'o' => "Event",
                b'r' => "Refer-To",
                b'b' => "Referred-By",
                b'u' => "Allow-Events",
                b'x' => "Session-Expires",
                b'a' => "Accept-Contact",
                b'j' => "Reject-Contact",
                b'd' => "Request-Disposition",
                b'y' => "Identity",
                _ => return None,
            });
        }
        2 => &["To"],
        3 => &["Via"],
        4 => &["From", "CSeq", "Path", "Date"],
        5 => &["Route", "Allow", "Event"],
        6 => &["Server", "Reason", "Accept"],
        7 => &["Call-ID", "Contact", "Expires", "Require", "Subject"],
        8 => &["Refer-To"],
        9 => &["Supported", "Timestamp"],
        10 => &["User-Agent", "Flow-Timer"],
        11 => &["Unsupported", "Min-Expires", "Retry-After", "Referred-By"],
        12 => &[
            "Content-Type",
            "Max-Forwards",
            "Record-Route",
            "Allow-Events",
        ],
        13 => &["Proxy-Require", "Authorization"],
        14 => &["Content-Length"],
        15 => &["Session-Expires"],
        16 => &["WWW-Authenticate"],
        18 => &["Proxy-Authenticate"],
        19 => &["Proxy-Authorization"],
        _ => return None,
    };
    candidates
        .iter()
        .find(|c| name.eq_ignore_ascii_case(c))
        .copied()
}

fn canonical(name: &str) -> Cow<'static, str> {
    match known_name(name) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(name.to_string()),
    }
}

/// Expands compact forms and fixes the case of well-known names; others are kept as written.
pub fn canonical_name(name: &str) -> String {
    canonical(name).into_owned()
}

/// Headers whose comma-joined values are separate entries (RFC 3261 7.3.1).
fn is_list_header(name: &str) -> bool {
    const LIST: &[&str] = &[
        "Via",
        "Contact",
        "Route",
        "Record-Route",
        "Allow",
        "Supported",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "Path",
        "Allow-Events",
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Content-Encoding",
        "In-Reply-To",
    ];
    LIST.iter().any(|l| l.eq_ignore_ascii_case(name))
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

/// Accessors shared by requests and responses.
#[allow(clippy::wrong_self_convention)] // `from` is the From header, not a conversion
pub trait SipMessage {
    fn headers(&self) -> &Headers;
    fn headers_mut(&mut self) -> &mut Headers;
    fn body(&self) -> &[u8];

    fn call_id(&self) -> Option<&str> {
        self.headers().get("Call-ID")
    }
    fn cseq(&self) -> Option<CSeq> {
        self.headers().get("CSeq").and_then(|v| CSeq::parse(v).ok())
    }
    fn from(&self) -> Option<NameAddr> {
        self.headers()
            .get("From")
            .and_then(|v| NameAddr::parse(v).ok())
    }
    fn to(&self) -> Option<NameAddr> {
        self.headers()
            .get("To")
            .and_then(|v| NameAddr::parse(v).ok())
    }
    fn top_via(&self) -> Option<Via> {
        self.headers().get("Via").and_then(|v| Via::parse(v).ok())
    }
    /// The top Via's branch, read without building the Via (every message's transaction
    /// key needs it). Received messages had every Via checked when they were parsed.
    fn branch(&self) -> Option<String> {
        header_param(self.headers().get("Via")?, "branch").map(str::to_string)
    }
    fn from_tag(&self) -> Option<String> {
        addr_param(self.headers().get("From")?, "tag").map(str::to_string)
    }
    fn to_tag(&self) -> Option<String> {
        addr_param(self.headers().get("To")?, "tag").map(str::to_string)
    }
    /// The From URI's user and host, borrowed: no [`NameAddr`] is built.
    fn from_user_host(&self) -> Option<(Option<&str>, &str)> {
        addr_user_host(self.headers().get("From")?)
    }
    /// The To URI's user and host, borrowed: no [`NameAddr`] is built.
    fn to_user_host(&self) -> Option<(Option<&str>, &str)> {
        addr_user_host(self.headers().get("To")?)
    }
    fn contacts(&self) -> Vec<NameAddr> {
        self.headers()
            .all("Contact")
            .filter_map(|v| NameAddr::parse(v).ok())
            .collect()
    }
    fn expires(&self) -> Option<u32> {
        self.headers()
            .get("Expires")
            .and_then(|v| v.trim().parse().ok())
    }
    fn content_type(&self) -> Option<&str> {
        self.headers().get("Content-Type")
    }
}

impl SipMessage for Request {
    fn headers(&self) -> &Headers {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }
    fn body(&self) -> &[u8] {
        &self.body
    }
}

impl SipMessage for Response {
    fn headers(&self) -> &Headers {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }
    fn body(&self) -> &[u8] {
        &self.body
    }
}

impl Request {
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// The response to this request with the headers RFC 3261 8.2.6.2 copies.
    pub fn response(&self, status: u16, reason: &str) -> Response {
        let mut headers = Headers::with_capacity(8);
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            headers.copy_from(&self.headers, name);
        }
        if status == 100
            && let Some(ts) = self.headers.get("Timestamp")
        {
            headers.push("Timestamp", ts);
        }
        Response {
            status,
            reason: reason.to_string(),
            headers,
            body: Vec::new(),
        }
    }

    /// Serialises the request; Content-Length is set from the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(serialized_len(&self.headers, &self.body) + 64);
        let _ = write!(out, "{} {} SIP/2.0\r\n", self.method, self.uri);
        write_headers(&mut out, &self.headers, self.body.len());
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

impl Response {
    /// Serialises the response; Content-Length is set from the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            String::with_capacity(serialized_len(&self.headers, &self.body) + self.reason.len());
        let _ = write!(out, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        write_headers(&mut out, &self.headers, self.body.len());
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Sets the To tag if it has none (UAS behaviour, RFC 3261 8.2.6.2).
    pub fn set_to_tag(&mut self, tag: &str) {
        if self
            .headers
            .get("To")
            .is_none_or(|v| header_param(v, "tag").is_some())
        {
            return;
        }
        if let Some(value) = self.headers.first_mut("To") {
            // A parameter after the name-addr (or after an addr-spec, which cannot carry
            // parameters of its own) is a header parameter: appending keeps the value as sent.
            let kept = value.trim_end_matches([' ', '\t']).len();
            value.truncate(kept);
            value.push_str(";tag=");
            value.push_str(tag);
        }
    }
}

impl Message {
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

fn write_headers(out: &mut String, headers: &Headers, body_len: usize) {
    for (n, v) in headers.iter() {
        if n == "Content-Length" {
            continue;
        }
        out.push_str(n);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    let _ = write!(out, "Content-Length: {body_len}\r\n\r\n");
}

/// About how long a message with these headers serialises to (sizes the buffer once).
fn serialized_len(headers: &Headers, body: &[u8]) -> usize {
    headers
        .iter()
        .map(|(n, v)| n.len() + v.len() + 4)
        .sum::<usize>()
        + body.len()
        + 64
}

/// The value of header parameter `name` (`;name=value` after the address or sent-by), read
/// in place without parsing the header; `None` when absent or without a value.
fn header_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    split_outside_quotes(value, b';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        trim_lws(n).eq_ignore_ascii_case(name).then(|| trim_lws(v))
    })
}

/// Splits at `sep` where not inside double quotes or `<...>`.
fn split_outside_quotes(s: &str, sep: u8) -> SplitOutsideQuotes<'_> {
    SplitOutsideQuotes {
        s,
        pos: 0,
        sep,
        done: false,
        plain: !s.bytes().any(|b| b == b'"' || b == b'<'),
    }
}

/// The parts of a string between `sep` bytes that are outside quotes and angle brackets
/// (no allocation: the parser calls this for every parameter list).
struct SplitOutsideQuotes<'a> {
    s: &'a str,
    pos: usize,
    sep: u8,
    done: bool,
    /// No `"` or `<` anywhere: nothing to skip over.
    plain: bool,
}

impl<'a> Iterator for SplitOutsideQuotes<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        let bytes = self.s.as_bytes();
        let start = self.pos;
        // Most values have no quotes or angle brackets: split on the separator alone.
        if self.plain {
            return Some(match bytes[start..].iter().position(|b| *b == self.sep) {
                Some(i) => {
                    self.pos = start + i + 1;
                    &self.s[start..start + i]
                }
                None => {
                    self.done = true;
                    &self.s[start..]
                }
            });
        }
        let (mut in_quote, mut in_angle, mut escaped) = (false, false, false);
        for (i, &b) in bytes.iter().enumerate().skip(start) {
            if escaped {
                escaped = false;
                continue;
            }
            match b {
                b'\\' if in_quote => escaped = true,
                b'"' => in_quote = !in_quote,
                b'<' if !in_quote => in_angle = true,
                b'>' if !in_quote => in_angle = false,
                _ if b == self.sep && !in_quote && !in_angle => {
                    self.pos = i + 1;
                    return Some(&self.s[start..i]);
                }
                _ => {}
            }
        }
        self.done = true;
        Some(&self.s[start..])
    }
}

fn find_outside_quotes(s: &str, needle: u8) -> Option<usize> {
    let (mut in_quote, mut escaped) = (false, false);
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if in_quote => escaped = true,
            b'"' => in_quote = !in_quote,
            _ if b == needle && !in_quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// The end of the header block (index just past the empty line), if it has arrived.
pub(crate) fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
    // Accept CRLFCRLF and, leniently, LFLF.
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

/// Headers that may appear once only (RFC 3261 20; RFC 4475 multi01, mcl01).
const SINGLE_VALUED: &[&str] = &[
    "Call-ID",
    "From",
    "To",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
];

/// Parses one message from the start of `buf`. Returns the message and the number of bytes it
/// used. On a stream, `Err(Incomplete)` means "read more"; on a datagram or a WebSocket
/// message the whole buffer is one message and a short body is invalid.
///
/// Strict where RFC 4475 allows an element to reject: the start line is exactly three
/// SP-separated parts (lwsstart, trws, lwsruri), the Request-URI has no headers (escruri) and
/// no `<>` (ltgtruri), single-valued headers appear once (multi01, mcl01), numbers are plain
/// digits in range (ncl, scalar02), and every Via, From, To and Contact must parse.
pub fn parse(buf: &[u8]) -> Result<(Message, usize), ParseError> {
    parse_with(buf, MAX_MESSAGE_SIZE)
}

/// [`parse`] allowing a body of up to `max_body` bytes (the headers stay within
/// [`MAX_MESSAGE_SIZE`]): a softphone takes a whole company directory's presence in one
/// NOTIFY from the server it is logged in to, which for a few hundred people is larger.
pub fn parse_with(buf: &[u8], max_body: usize) -> Result<(Message, usize), ParseError> {
    let max_total = MAX_MESSAGE_SIZE.max(max_body.saturating_add(MAX_MESSAGE_SIZE));
    // RFC 5626 keepalives and stray CRLFs between messages on a stream are skipped.
    let skip = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    let buf = &buf[skip..];
    let Some((head_end, body_start)) = header_end(buf) else {
        if buf.len() > MAX_MESSAGE_SIZE {
            return Err(ParseError::TooLarge);
        }
        return Err(ParseError::Incomplete);
    };
    if head_end > MAX_MESSAGE_SIZE {
        return Err(ParseError::TooLarge);
    }
    let head =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| invalid("headers are not UTF-8"))?;
    let lines = unfold(head);
    if lines.is_empty() {
        return Err(invalid("empty message"));
    }
    let (start, lines) = lines
        .split_first()
        .ok_or_else(|| invalid("empty message"))?;
    let start: &str = start;
    let mut headers = Headers {
        text: Some(Arc::from(head)),
        list: Vec::with_capacity(lines.len() + 4),
    };
    // Lines are slices of `head` (folded ones are copies); values are stored as ranges of
    // the shared copy of it, found at the same offsets.
    let rebase = |v: &str| -> Option<(u32, u32)> {
        let (p, h) = (v.as_ptr() as usize, head.as_ptr() as usize);
        (p >= h && p + v.len() <= h + head.len()).then(|| ((p - h) as u32, v.len() as u32))
    };
    if lines.len() > MAX_HEADERS {
        return Err(ParseError::TooLarge);
    }
    // Known names are stored in their canonical spelling, so a plain comparison finds them.
    let mut seen_single = [0u8; SINGLE_VALUED.len()];
    for line in lines {
        let colon = line
            .as_bytes()
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| invalid(format!("header line without colon: {line:?}")))?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let name = trim_lws(name);
        if name.is_empty() || !name.bytes().all(is_token_char) {
            return Err(invalid(format!("bad header name {name:?}")));
        }
        let name = canonical(name);
        let value = trim_lws(value);
        if let Some(i) = SINGLE_VALUED.iter().position(|s| *s == name) {
            seen_single[i] = seen_single[i].saturating_add(1);
        }
        if is_list_header(&name) {
            for part in split_outside_quotes(value, b',') {
                let part = trim_lws(part);
                if !part.is_empty() {
                    let v = rebase(part)
                        .map_or_else(|| Value::Owned(part.to_string()), |(s, l)| Value::Raw(s, l));
                    headers.list.push((name.clone(), v));
                }
            }
        } else {
            let v = rebase(value).map_or_else(
                || Value::Owned(value.to_string()),
                |(s, l)| Value::Raw(s, l),
            );
            headers.list.push((name, v));
        }
    }
    if headers.len() > MAX_HEADERS {
        return Err(ParseError::TooLarge);
    }
    if let Some(i) = seen_single.iter().position(|n| *n > 1) {
        return Err(invalid(format!(
            "more than one {} header",
            SINGLE_VALUED[i]
        )));
    }
    let content_length = match headers.get("Content-Length") {
        Some(v) => Some(
            parse_digits::<usize>(v).ok_or_else(|| invalid(format!("bad Content-Length {v:?}")))?,
        ),
        None => None,
    };
    let available = buf.len() - body_start;
    let body_len = match content_length {
        Some(n) if n > max_body.max(MAX_MESSAGE_SIZE) => return Err(ParseError::TooLarge),
        Some(n) if n > available => return Err(ParseError::Incomplete),
        Some(n) => n,
        None => available,
    };
    if body_start + body_len > max_total {
        return Err(ParseError::TooLarge);
    }
    let body = buf[body_start..body_start + body_len].to_vec();
    let used = skip + body_start + body_len;

    let msg = if start.starts_with("SIP/") {
        let mut it = start.splitn(3, ' ');
        let version = it.next().unwrap_or_default();
        if version != "SIP/2.0" {
            return Err(invalid(format!("unsupported SIP version {version:?}")));
        }
        let status = it
            .next()
            .filter(|s| s.len() == 3)
            .and_then(parse_digits::<u16>)
            .filter(|s| (100..700).contains(s))
            .ok_or_else(|| invalid("bad status code"))?;
        // "SIP/2.0 100" without the SP before an empty reason is accepted (RFC 4475 noreason).
        let reason = it.next().unwrap_or_default();
        if reason.contains(|c: char| c.is_control() && c != '\t') {
            return Err(invalid("control character in reason phrase"));
        }
        Message::Response(Response {
            status,
            reason: reason.to_string(),
            headers,
            body,
        })
    } else {
        let parts: Vec<&str> = start.split(' ').collect();
        let [m, u, v] = parts[..] else {
            return Err(invalid(
                "bad request line (expected METHOD SP Request-URI SP SIP/2.0)",
            ));
        };
        if m.is_empty() || u.is_empty() {
            return Err(invalid(
                "bad request line (expected METHOD SP Request-URI SP SIP/2.0)",
            ));
        }
        if v != "SIP/2.0" {
            return Err(invalid(format!("unsupported SIP version {v:?}")));
        }
        let method = Method::parse(m)?;
        let uri = Uri::parse(u)?;
        if uri.headers.is_some() {
            return Err(invalid("headers are not allowed in the Request-URI"));
        }
        Message::Request(Request {
            method,
            uri,
            headers,
            body,
        })
    };
    check_mandatory(&msg)?;
    Ok((msg, used))
}

/// Parses a whole datagram or WebSocket message: a short body is invalid, not incomplete.
/// Octets after Content-Length bytes of body are ignored (RFC 3261 18.3, RFC 4475 dblreq).
pub fn parse_datagram(buf: &[u8]) -> Result<Message, ParseError> {
    parse_datagram_with(buf, MAX_MESSAGE_SIZE)
}

/// [`parse_datagram`] allowing a body of up to `max_body` bytes (see [`parse_with`]).
pub fn parse_datagram_with(buf: &[u8], max_body: usize) -> Result<Message, ParseError> {
    match parse_with(buf, max_body) {
        Ok((m, _)) => Ok(m),
        Err(ParseError::Incomplete) => {
            if header_end(buf).is_some() {
                Err(invalid("body shorter than Content-Length"))
            } else {
                Err(invalid("headers do not end with an empty line"))
            }
        }
        Err(e) => Err(e),
    }
}

/// Lines of the header block with folded continuation lines joined (RFC 3261 7.3.1): the
/// CRLF and the LWS around it become one SP.
fn unfold(head: &str) -> Vec<Cow<'_, str>> {
    let mut out: Vec<Cow<'_, str>> = Vec::with_capacity(16);
    let mut rest = head;
    loop {
        let (line, more) = match rest.as_bytes().iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let line = line.strip_suffix('\r').unwrap_or(line);
        if (line.starts_with(' ') || line.starts_with('\t'))
            && let Some(last) = out.last_mut()
        {
            let last = last.to_mut();
            let kept = last.trim_end_matches([' ', '\t']).len();
            last.truncate(kept);
            last.push(' ');
            last.push_str(trim_lws(line));
        } else {
            out.push(Cow::Borrowed(line));
        }
        match more {
            Some(m) => rest = m,
            None => break,
        }
    }
    out
}

fn check_mandatory(msg: &Message) -> Result<(), ParseError> {
    let h = msg.headers();
    // One pass over the headers (names are canonical once parsed); each mandatory one is
    // remembered for the checks below, in the order their errors were always reported.
    let (mut via, mut from, mut to, mut call_id, mut cseq) = (false, None, None, None, None);
    let (mut max_forwards, mut expires) = (None, None);
    for (name, value) in h.iter() {
        match name {
            "Via" => via = true,
            "From" => from = from.or(Some(value)),
            "To" => to = to.or(Some(value)),
            "Call-ID" => call_id = call_id.or(Some(value)),
            "CSeq" => cseq = cseq.or(Some(value)),
            "Max-Forwards" => max_forwards = max_forwards.or(Some(value)),
            "Expires" => expires = expires.or(Some(value)),
            _ => {}
        }
    }
    for (name, present) in [
        ("Via", via),
        ("From", from.is_some()),
        ("To", to.is_some()),
        ("Call-ID", call_id.is_some()),
        ("CSeq", cseq.is_some()),
    ] {
        if !present {
            return Err(invalid(format!("missing {name} header")));
        }
    }
    let call_id = call_id.unwrap_or_default();
    if call_id.is_empty() || call_id.contains([' ', '\t']) {
        return Err(invalid(format!("bad Call-ID {call_id:?}")));
    }
    let cseq = CSeq::parse(cseq.unwrap_or_default())?;
    for (name, value) in h.iter() {
        if name == "Via" {
            Via::check(value)?;
        }
    }
    NameAddr::check(from.unwrap_or_default())?;
    NameAddr::check(to.unwrap_or_default())?;
    if let Message::Request(r) = msg {
        if cseq.method != r.method {
            return Err(invalid("CSeq method does not match the request method"));
        }
        if let Some(mf) = max_forwards {
            parse_digits::<u8>(mf).ok_or_else(|| invalid(format!("bad Max-Forwards {mf:?}")))?;
        }
        if let Some(e) = expires {
            parse_digits::<u32>(e).ok_or_else(|| invalid(format!("bad Expires {e:?}")))?;
        }
        for (name, c) in h.iter() {
            if name == "Contact" && c != "*" {
                NameAddr::check(c)?;
            }
        }
    }
    Ok(())
}

/// Builds the answer to bytes that could not be parsed, when enough survives to answer: a
/// 400 with the reason, or a 505 when the request line names another SIP version (RFC 4475
/// badvers). The Via, From, To, Call-ID and CSeq lines are picked out leniently (the first
/// of each single-valued one). `None` means drop: a response, an ACK, or no way to address
/// the answer.
pub fn bad_request_for(buf: &[u8], reason: &str) -> Option<Response> {
    let text = String::from_utf8_lossy(buf);
    let text = text.trim_start_matches(['\r', '\n']);
    let head_end = [text.find("\r\n\r\n"), text.find("\n\n")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(text.len());
    let lines = unfold(&text[..head_end]);
    let first = lines.first()?;
    let method = first.split(' ').next()?;
    if method.is_empty() || first.starts_with("SIP/") || method == "ACK" {
        return None; // never answer a response or an ACK
    }
    let mut headers = Headers::new();
    for line in lines.iter().skip(1) {
        let Some((n, v)) = line.split_once(':') else {
            continue;
        };
        let n = canonical_name(trim_lws(n));
        let v = trim_lws(v);
        match n.as_str() {
            "Via" => {
                for p in split_outside_quotes(v, b',') {
                    let p = trim_lws(p);
                    if !p.is_empty() {
                        headers.push(&n, p);
                    }
                }
            }
            "From" | "To" | "Call-ID" | "CSeq" if headers.get(&n).is_none() => headers.push(&n, v),
            _ => {}
        }
    }
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        headers.get(name).filter(|v| !v.is_empty())?;
    }
    if !via_is_answerable(headers.get("Via")?) {
        return None;
    }
    let version = first.rsplit(' ').next().unwrap_or_default();
    if version.starts_with("SIP/") && version != "SIP/2.0" {
        return Some(Response {
            status: 505,
            reason: "Version Not Supported".into(),
            headers,
            body: Vec::new(),
        });
    }
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    Some(Response {
        status: 400,
        reason: format!("Bad Request ({reason})"),
        headers,
        body: Vec::new(),
    })
}

/// Whether a top Via looks like `SIP/<version>/<transport> ...`, enough to send an answer.
fn via_is_answerable(v: &str) -> bool {
    v.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("SIP")) && trim_lws(&v[3..]).starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_as_format_writes_them() {
        for n in [0, 7, 10, 99, 65_535, u32::MAX] {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn via_is_marked_with_where_it_came_from() {
        let ip: std::net::IpAddr = "192.0.2.7".parse().unwrap();
        let v = "SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bK1";
        assert_eq!(
            Via::with_received(v, ip, 5071).flatten().as_deref(),
            Some("SIP/2.0/UDP 10.0.0.1:5060;rport=5071;branch=z9hG4bK1;received=192.0.2.7")
        );
        // Sent from where it says, no rport: nothing added.
        assert_eq!(
            Via::with_received("SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1", ip, 5060),
            Some(None)
        );
        // A received parameter the sender put there is replaced, not repeated.
        assert_eq!(
            Via::with_received(
                "SIP/2.0/UDP h.test;received=1.2.3.4;branch=z9hG4bK1",
                ip,
                5060
            )
            .flatten()
            .as_deref(),
            Some("SIP/2.0/UDP h.test;branch=z9hG4bK1;received=192.0.2.7")
        );
        let v6: std::net::IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            Via::with_received("SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1", v6, 5060),
            Some(None)
        );
        let marked = Via::with_received(v, v6, 5071).flatten().unwrap();
        assert_eq!(
            Via::parse(&marked).unwrap().params.value("received"),
            Some("2001:db8::1")
        );
        // LWS in the protocol: left to the full parser.
        assert_eq!(
            Via::with_received("SIP / 2.0 / UDP h.test;rport", ip, 1),
            None
        );
    }

    /// The allocation-free checks the parser validates headers with accept exactly what the
    /// full parsers accept (the fuzzer's parse_message target checks the same on any input).
    #[test]
    fn header_checks_agree_with_the_parsers() {
        let values = [
            "<sip:1@x.test>;tag=a",
            "\"Bob \\\"B\\\"\" <sip:1@x.test;transport=ws>;tag=a;expires=60",
            "Bob  Smith <sip:[2001:db8::1]:5060>",
            "sip:1@x.test;tag=x",
            "sip:1@x.test?subject=x",
            "<sip:1@x.test",
            "\"unterminated <sip:1@x.test>",
            "Bad,Name <sip:1@x.test>",
            "< sip:1@x.test>",
            "<sip:1@x.test>;;tag=a",
            "<sip:@x.test>",
            "<sip:1@[::1>",
            "<sip:1@x.test:99999>",
            "<tel:+48221234567>",
            "<mailto:>",
            "",
            "*",
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport",
            "SIP / 2.0 / UDP 10.0.0.1;branch=z9hG4bK1",
            "SIP/2.0/UDP [2001:db8::9]:5060;received=10.0.0.1",
            "SIP/2.0/UDP",
            "SIP/3.0/UDP host",
            "SIP/2.0/UDP ho st",
            "SIP/2.0/UDP host;=x",
        ];
        for v in values {
            assert_eq!(
                NameAddr::check(v).is_ok(),
                NameAddr::parse(v).is_ok(),
                "name-addr {v:?}"
            );
            assert_eq!(Via::check(v).is_ok(), Via::parse(v).is_ok(), "Via {v:?}");
        }
        assert!(NameAddr::check("\"Bob\" <sip:1@x.test>;tag=a").is_ok());
        assert!(Via::check("SIP/2.0/WSS abc.invalid;branch=z9hG4bKx").is_ok());
        assert_eq!(
            NameAddr::parse("\"Bob \\\"B\\\"\" <sip:1@x.test>")
                .unwrap()
                .display
                .as_deref(),
            Some("Bob \"B\"")
        );
        assert_eq!(
            NameAddr::parse("Bob \t Smith <sip:[::1]:5060>")
                .unwrap()
                .display
                .as_deref(),
            Some("Bob Smith")
        );
        assert_eq!(
            NameAddr::parse("<sip:[::1]:5060>").unwrap().uri.host,
            "[::1]"
        );
    }

    fn req(text: &str) -> Request {
        match parse_datagram(text.replace('\n', "\r\n").as_bytes()).expect("parses") {
            Message::Request(r) => r,
            Message::Response(_) => panic!("not a request"),
        }
    }

    #[test]
    fn to_tag_is_appended_and_branch_is_read_in_place() {
        let (m, _) = parse(
            b"REGISTER sip:x.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060 ; rport ; BRANCH = z9hG4bKq\r\n\
              From: <sip:1@x.test>;tag=a\r\nTo: \"Bob\" <sip:1@x.test> \r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n\r\n",
        )
        .unwrap();
        let Message::Request(r) = m else { panic!() };
        assert_eq!(r.branch().as_deref(), Some("z9hG4bKq"));
        let mut resp = r.response(200, "OK");
        resp.set_to_tag("t9");
        assert_eq!(
            resp.headers.get("To"),
            Some("\"Bob\" <sip:1@x.test>;tag=t9")
        );
        assert_eq!(resp.to_tag().as_deref(), Some("t9"));
        resp.set_to_tag("other");
        assert_eq!(
            resp.to_tag().as_deref(),
            Some("t9"),
            "a tag is never replaced"
        );
        let text = String::from_utf8(resp.to_bytes()).unwrap();
        assert!(text.starts_with("SIP/2.0 200 OK\r\nVia: "), "{text}");
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"), "{text}");
    }

    #[test]
    fn compact_and_comma_joined_headers() {
        let r = req(
            "OPTIONS sip:a@b SIP/2.0\nv: SIP/2.0/WSS x.invalid;branch=z9hG4bK1, SIP/2.0/UDP h:5070;branch=z9hG4bK2\nf: <sip:u@b>;tag=1\nt: sip:a@b\ni: abc\nCSeq: 1 OPTIONS\nl: 0\n\n",
        );
        assert_eq!(r.headers.all("Via").count(), 2);
        assert_eq!(r.top_via().unwrap().host, "x.invalid");
        assert_eq!(r.call_id(), Some("abc"));
        assert_eq!(r.from_tag().as_deref(), Some("1"));
    }

    #[test]
    fn jssip_instance_contact() {
        let c = NameAddr::parse("<sip:k4u1uq0p@ab12cd.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance=\"<urn:uuid:4a7d6e8a-1f2b-4c5d-8e9f-0a1b2c3d4e5f>\";expires=600").unwrap();
        assert_eq!(c.uri.host, "ab12cd.invalid");
        assert_eq!(c.uri.params.value("transport"), Some("ws"));
        assert_eq!(c.params.value("reg-id"), Some("1"));
        assert_eq!(
            c.params.value("+sip.instance"),
            Some("\"<urn:uuid:4a7d6e8a-1f2b-4c5d-8e9f-0a1b2c3d4e5f>\"")
        );
    }

    #[test]
    fn contact_with_comma_in_quoted_display_name() {
        let r = req(
            "REGISTER sip:b SIP/2.0\nVia: SIP/2.0/WS h;branch=z9hG4bKx\nFrom: <sip:u@b>;tag=1\nTo: <sip:u@b>\nCall-ID: c\nCSeq: 1 REGISTER\nContact: \"Nowak, Alice\" <sip:u@h>, <sip:u@h2>;expires=0\n\n",
        );
        let cs = r.contacts();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].display.as_deref(), Some("Nowak, Alice"));
        assert_eq!(cs[1].params.value("expires"), Some("0"));
    }

    #[test]
    fn incomplete_versus_invalid() {
        assert_eq!(
            parse(b"INVITE sip:a@b SIP/2.0\r\nVia: x").unwrap_err(),
            ParseError::Incomplete
        );
        let short = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 10\r\n\r\nabc";
        assert_eq!(parse(short).unwrap_err(), ParseError::Incomplete);
        assert!(matches!(parse_datagram(short), Err(ParseError::Invalid(_))));
    }

    #[test]
    fn round_trip_keeps_content_length_right() {
        let mut r = req(
            "INVITE sip:102@example.com SIP/2.0\nVia: SIP/2.0/WSS h.invalid;branch=z9hG4bKa\nFrom: \"A\" <sip:101@example.com>;tag=x\nTo: <sip:102@example.com>\nCall-ID: q\nCSeq: 2 INVITE\nContent-Length: 0\n\n",
        );
        r.body = b"v=0\r\n".to_vec();
        let again = req(&String::from_utf8(r.to_bytes())
            .unwrap()
            .replace("\r\n", "\n"));
        assert_eq!(again.body, b"v=0\r\n");
        assert_eq!(again.headers.get("Content-Length"), Some("5"));
    }

    #[test]
    fn display_names_are_unescaped_and_re_escaped() {
        let na = NameAddr::parse(r#""A \"B\" \\ C" <sip:a@b>;tag=1"#).unwrap();
        assert_eq!(na.display.as_deref(), Some(r#"A "B" \ C"#));
        assert_eq!(na.to_string(), r#""A \"B\" \\ C" <sip:a@b>;tag=1"#);
        assert_eq!(NameAddr::parse(&na.to_string()).unwrap(), na);
        // Controls become quoted-pairs; CR and LF cannot be quoted and are dropped.
        let mut na = NameAddr::new(Uri::sip(Some("a"), "b"));
        na.display = Some("x\r\nVia: injected\u{7}".into());
        assert_eq!(na.to_string(), "\"xVia: injected\\\u{7}\" <sip:a@b>");
        assert_eq!(
            NameAddr::parse(&na.to_string()).unwrap().display.as_deref(),
            Some("xVia: injected\u{7}")
        );
    }

    #[test]
    fn uri_passwords_and_odd_user_parts_survive() {
        let u = Uri::parse("sip:a;b?c:p%40ss@h.example:5061;transport=tcp?x=y").unwrap();
        assert_eq!(u.user.as_deref(), Some("a;b?c"));
        assert_eq!(u.password.as_deref(), Some("p%40ss"));
        assert_eq!((u.host.as_str(), u.port), ("h.example", Some(5061)));
        assert_eq!(u.params.value("transport"), Some("tcp"));
        assert_eq!(u.headers.as_deref(), Some("x=y"));
        assert_eq!(
            u.to_string(),
            "sip:a;b?c:p%40ss@h.example:5061;transport=tcp?x=y"
        );
        for bad in [
            "sip:a b@h",
            "sip:@h",
            "sip:h:+5",
            "sip:h;;lr",
            "sip:[zz]",
            "1sip:h",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_are_plain_digits_and_vias_exactly_three_parts() {
        let base = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n";
        assert!(parse_datagram(format!("{base}Content-Length: 0\r\n\r\n").as_bytes()).is_ok());
        assert!(parse_datagram(format!("{base}Content-Length: +0\r\n\r\n").as_bytes()).is_err());
        let plus = base.replace("CSeq: 1", "CSeq: +1");
        assert!(parse_datagram(format!("{plus}\r\n").as_bytes()).is_err());
        let four = base.replace("SIP/2.0/UDP", "SIP/2.0/UDP/X");
        assert!(parse_datagram(format!("{four}\r\n").as_bytes()).is_err());
        let second_bad = format!("{base}Via: garbage\r\n\r\n");
        assert!(parse_datagram(second_bad.as_bytes()).is_err());
    }

    /// Found by fuzzing: a folded line after a first line that starts with LWS.
    #[test]
    fn folding_after_a_line_starting_with_white_space() {
        let raw = b"\t\xd0;\xd8\xf2\n  branc.0   /tm>\r\x8a\r\xe1z";
        assert!(parse_datagram(raw).is_err());
        assert!(bad_request_for(raw, "x").is_none());
        assert_eq!(unfold(" a \r\n b"), [" a b"]);
    }

    #[test]
    fn bad_request_reply_is_built_leniently() {
        let raw = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/WS h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: many\r\n\r\n";
        let err = parse_datagram(raw).unwrap_err();
        let resp = bad_request_for(raw, &err.to_string()).unwrap();
        assert_eq!(resp.status, 400);
        assert!(resp.reason.contains("Max-Forwards"), "{}", resp.reason);
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    #[test]
    fn a_body_over_64_kib_is_refused_unless_allowed() {
        let body = "x".repeat(300 * 1024);
        let text = format!(
            "NOTIFY sip:a@b SIP/2.0\r\nVia: SIP/2.0/WSS h;branch=z9hG4bK1\r\nFrom: <sip:d@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(
            parse_datagram(text.as_bytes()).unwrap_err(),
            ParseError::TooLarge
        );
        let m = parse_datagram_with(text.as_bytes(), 1 << 20).unwrap();
        assert!(matches!(m, Message::Request(r) if r.body.len() == body.len()));
        assert_eq!(
            parse_datagram_with(text.as_bytes(), 200 * 1024).unwrap_err(),
            ParseError::TooLarge
        );
    }
}
