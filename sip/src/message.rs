//! SIP messages: parsing, typed access to the headers we route on, and serialising.
//!
//! The parser is written for the traffic real clients send (JsSIP, SIP.js, baresip, desk
//! phones): compact header names (`v`, `i`, `m`, ...), comma-joined header values, folded
//! lines, `+sip.instance="<urn:uuid:...>"` Contact parameters and `.invalid` hosts. Headers are
//! kept in order as (canonical name, value) pairs; typed views (`Via`, `NameAddr`, `CSeq`) are
//! parsed on demand. "Incomplete" (wait for more bytes on a stream) is an error distinct from
//! "invalid" (answer 400 or drop).

use std::fmt::{self, Write as _};

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
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
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

    /// Parses `;a=b;c` (the leading `;` optional); quoted values keep their quotes.
    fn parse(s: &str) -> Result<Params, ParseError> {
        let mut out = Vec::new();
        for part in split_outside_quotes(s, b';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match part.split_once('=') {
                Some((n, v)) => {
                    let n = n.trim();
                    if n.is_empty() {
                        return Err(invalid("empty parameter name"));
                    }
                    out.push((n.to_string(), Some(v.trim().to_string())))
                }
                None => out.push((part.to_string(), None)),
            }
        }
        Ok(Params(out))
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
            host: host.to_string(),
            port: None,
            params: Params::default(),
            headers: None,
        }
    }

    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        let s = s.trim();
        let (scheme, rest) = s
            .split_once(':')
            .ok_or_else(|| invalid(format!("URI without scheme: {s:?}")))?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(invalid(format!("bad URI scheme in {s:?}")));
        }
        let scheme_lc = scheme.to_ascii_lowercase();
        if scheme_lc != "sip" && scheme_lc != "sips" {
            return Ok(Uri {
                scheme: scheme_lc,
                user: Some(rest.to_string()),
                host: String::new(),
                port: None,
                params: Params::default(),
                headers: None,
            });
        }
        let (rest, headers) = match rest.split_once('?') {
            Some((r, h)) => (r, Some(h.to_string())),
            None => (rest, None),
        };
        let (userinfo, hostpart) = match rest.rfind('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let user = match userinfo {
            Some(u) => {
                // Drop a password (`user:pass`); it is deprecated and never used here.
                let u = u.split(':').next().unwrap_or_default();
                if u.is_empty() {
                    return Err(invalid("empty user part in URI"));
                }
                Some(u.to_string())
            }
            None => None,
        };
        let (hostport, params) = match hostpart.find(';') {
            Some(i) => (&hostpart[..i], Params::parse(&hostpart[i..])?),
            None => (hostpart, Params::default()),
        };
        let (host, port) = split_host_port(hostport)?;
        Ok(Uri {
            scheme: scheme_lc,
            user,
            host,
            port,
            params,
            headers,
        })
    }

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
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid("empty host"));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| invalid("unterminated IPv6 reference"))?;
        let host = format!("[{}]", &rest[..end]);
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(invalid("garbage after IPv6 reference")),
        };
        (host, port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    if !host.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(invalid(format!("bad host {host:?}")));
    }
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| invalid(format!("bad port {p:?}")))?,
        ),
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
            write!(f, "{u}@")?;
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

    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let s = s.trim();
        if let Some(lt) = find_outside_quotes(s, b'<') {
            let display = s[..lt].trim();
            let display = if display.is_empty() {
                None
            } else {
                Some(unquote(display).to_string())
            };
            let rest = &s[lt + 1..];
            let gt = rest
                .find('>')
                .ok_or_else(|| invalid("missing '>' in name-addr"))?;
            let uri = Uri::parse(&rest[..gt])?;
            let params = Params::parse(&rest[gt + 1..])?;
            Ok(NameAddr {
                display,
                uri,
                params,
            })
        } else {
            // addr-spec form: parameters after the URI belong to the header, not the URI.
            let (uri, params) = match s.find(';') {
                Some(i) => (&s[..i], Params::parse(&s[i..])?),
                None => (s, Params::default()),
            };
            if uri.contains(' ') {
                return Err(invalid(format!("bad address {s:?}")));
            }
            Ok(NameAddr {
                display: None,
                uri: Uri::parse(uri)?,
                params,
            })
        }
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{}\" ", d.replace('\\', "\\\\").replace('"', "\\\""))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        &s[1..s.len() - 1]
    } else {
        s
    }
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
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        let s = s.trim();
        let (proto, rest) = s
            .split_once(|c: char| c.is_ascii_whitespace())
            .ok_or_else(|| invalid("bad Via"))?;
        let mut parts = proto.split('/').map(str::trim);
        let (name, version, transport) = (parts.next(), parts.next(), parts.next());
        // Tolerate `SIP / 2.0 / UDP` (spaces around slashes, RFC 4475 "lws").
        let (name, version, transport, rest) = match (name, version, transport) {
            (Some(n), Some(v), Some(t)) if !t.is_empty() => (n, v, t, rest),
            _ => return Via::parse_spaced(s),
        };
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(invalid("bad Via protocol"));
        }
        Via::finish(transport, rest)
    }

    fn parse_spaced(s: &str) -> Result<Via, ParseError> {
        // "SIP / 2.0 / UDP host;params" -> remove the spaces around slashes.
        let mut cleaned = String::with_capacity(s.len());
        let mut slashes = 0;
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if slashes < 2 && c == '/' {
                slashes += 1;
                while cleaned.ends_with(' ') {
                    cleaned.pop();
                }
                cleaned.push('/');
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            } else {
                cleaned.push(c);
            }
        }
        let (proto, rest) = cleaned.split_once(' ').ok_or_else(|| invalid("bad Via"))?;
        let mut parts = proto.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some("2.0"), Some(t)) if n.eq_ignore_ascii_case("SIP") && !t.is_empty() => {
                Via::finish(t, rest)
            }
            _ => Err(invalid("bad Via protocol")),
        }
    }

    fn finish(transport: &str, rest: &str) -> Result<Via, ParseError> {
        let rest = rest.trim();
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
        let mut it = s.split_whitespace();
        let seq = it
            .next()
            .and_then(|n| n.parse::<u32>().ok())
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

/// Ordered header list with canonical names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Headers {
        Headers(Vec::new())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
    /// The first value of `name` (any spelling, compact forms included).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }
    /// Every value of `name`, in order (comma-joined values were split when parsed).
    pub fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = canonical_name(name);
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, v)| v.as_str())
    }
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((canonical_name(name), value.into()));
    }
    /// Inserts before every other header of the same name (Via, Record-Route).
    pub fn push_front(&mut self, name: &str, value: impl Into<String>) {
        let name = canonical_name(name);
        let pos = self
            .0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
            .unwrap_or(self.0.len());
        self.0.insert(pos, (name, value.into()));
    }
    /// Replaces every value of `name` with one value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let name = canonical_name(name);
        match self
            .0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(i) => {
                self.0[i].1 = value.into();
                let mut j = 0;
                self.0.retain(|(n, _)| {
                    j += 1;
                    j - 1 == i || !n.eq_ignore_ascii_case(&name)
                });
            }
            None => self.0.push((name, value.into())),
        }
    }
    pub fn remove(&mut self, name: &str) {
        let name = canonical_name(name);
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
    }
    /// Removes the first value of `name` and returns it.
    pub fn remove_first(&mut self, name: &str) -> Option<String> {
        let name = canonical_name(name);
        let i = self
            .0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))?;
        Some(self.0.remove(i).1)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Expands compact forms and fixes the case of well-known names; others are kept as written.
pub fn canonical_name(name: &str) -> String {
    let known: &[(&str, &str)] = &[
        ("v", "Via"),
        ("i", "Call-ID"),
        ("m", "Contact"),
        ("f", "From"),
        ("t", "To"),
        ("l", "Content-Length"),
        ("c", "Content-Type"),
        ("k", "Supported"),
        ("s", "Subject"),
        ("e", "Content-Encoding"),
        ("o", "Event"),
        ("r", "Refer-To"),
        ("b", "Referred-By"),
        ("u", "Allow-Events"),
        ("x", "Session-Expires"),
        ("a", "Accept-Contact"),
        ("j", "Reject-Contact"),
        ("d", "Request-Disposition"),
        ("y", "Identity"),
    ];
    if name.len() == 1 {
        for (short, long) in known {
            if name.eq_ignore_ascii_case(short) {
                return long.to_string();
            }
        }
    }
    const CANON: &[&str] = &[
        "Via",
        "Call-ID",
        "Contact",
        "From",
        "To",
        "Content-Length",
        "Content-Type",
        "Supported",
        "CSeq",
        "Max-Forwards",
        "Route",
        "Record-Route",
        "Expires",
        "Allow",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "User-Agent",
        "Server",
        "Authorization",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Min-Expires",
        "Event",
        "Session-Expires",
        "Path",
        "Flow-Timer",
        "Reason",
        "Retry-After",
        "Accept",
        "Subject",
        "Refer-To",
        "Referred-By",
        "Allow-Events",
        "Date",
        "Timestamp",
    ];
    for c in CANON {
        if name.eq_ignore_ascii_case(c) {
            return c.to_string();
        }
    }
    name.to_string()
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
    fn branch(&self) -> Option<String> {
        self.top_via().and_then(|v| v.branch().map(str::to_string))
    }
    fn from_tag(&self) -> Option<String> {
        self.from().and_then(|f| f.tag().map(str::to_string))
    }
    fn to_tag(&self) -> Option<String> {
        self.to().and_then(|t| t.tag().map(str::to_string))
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
        let mut headers = Headers::new();
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            for v in self.headers.all(name) {
                headers.push(name, v);
            }
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
        let mut out = format!("{} {} SIP/2.0\r\n", self.method, self.uri);
        write_headers(&mut out, &self.headers, self.body.len());
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

impl Response {
    /// Serialises the response; Content-Length is set from the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("SIP/2.0 {} {}\r\n", self.status, self.reason);
        write_headers(&mut out, &self.headers, self.body.len());
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Sets the To tag if it has none (UAS behaviour, RFC 3261 8.2.6.2).
    pub fn set_to_tag(&mut self, tag: &str) {
        if let Some(mut to) = self.to()
            && to.tag().is_none()
        {
            to.params.set("tag", Some(tag));
            self.headers.set("To", to.to_string());
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
        let _ = write!(out, "{n}: {v}\r\n");
    }
    let _ = write!(out, "Content-Length: {body_len}\r\n\r\n");
}

/// Splits at `sep` where not inside double quotes or `<...>`.
fn split_outside_quotes(s: &str, sep: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let (mut start, mut in_quote, mut in_angle, mut escaped) = (0, false, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if in_quote => escaped = true,
            b'"' => in_quote = !in_quote,
            b'<' if !in_quote => in_angle = true,
            b'>' if !in_quote => in_angle = false,
            _ if b == sep && !in_quote && !in_angle => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
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
fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
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

/// Parses one message from the start of `buf`. Returns the message and the number of bytes it
/// used. On a stream, `Err(Incomplete)` means "read more"; on a datagram or a WebSocket
/// message the whole buffer is one message and a short body is invalid.
pub fn parse(buf: &[u8]) -> Result<(Message, usize), ParseError> {
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
    let head =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| invalid("headers are not UTF-8"))?;
    let mut lines = unfold(head);
    if lines.is_empty() {
        return Err(invalid("empty message"));
    }
    let start = lines.remove(0);
    let mut headers = Headers::new();
    if lines.len() > MAX_HEADERS {
        return Err(ParseError::TooLarge);
    }
    for line in &lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("header line without colon: {line:?}")))?;
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(is_token_char) {
            return Err(invalid(format!("bad header name {name:?}")));
        }
        let name = canonical_name(name);
        let value = value.trim();
        if is_list_header(&name) {
            for part in split_outside_quotes(value, b',') {
                let part = part.trim();
                if !part.is_empty() {
                    headers.push(&name, part);
                }
            }
        } else {
            headers.push(&name, value);
        }
    }
    let content_length = match headers.get("Content-Length") {
        Some(v) => Some(
            v.trim()
                .parse::<usize>()
                .map_err(|_| invalid(format!("bad Content-Length {v:?}")))?,
        ),
        None => None,
    };
    let available = buf.len() - body_start;
    let body_len = match content_length {
        Some(n) if n > MAX_MESSAGE_SIZE => return Err(ParseError::TooLarge),
        Some(n) if n > available => return Err(ParseError::Incomplete),
        Some(n) => n,
        None => available,
    };
    if body_start + body_len > MAX_MESSAGE_SIZE {
        return Err(ParseError::TooLarge);
    }
    let body = buf[body_start..body_start + body_len].to_vec();
    let used = skip + body_start + body_len;

    let msg = if let Some(rest) = start.strip_prefix("SIP/") {
        let mut it = rest.splitn(3, ' ');
        let version = it.next().unwrap_or_default();
        if version != "2.0" {
            return Err(invalid(format!("unsupported SIP version {version:?}")));
        }
        let status = it
            .next()
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| (100..700).contains(s))
            .ok_or_else(|| invalid("bad status code"))?;
        let reason = it.next().unwrap_or_default().to_string();
        Message::Response(Response {
            status,
            reason,
            headers,
            body,
        })
    } else {
        let mut it = start.split(' ').filter(|s| !s.is_empty());
        let (m, u, v) = (it.next(), it.next(), it.next());
        let (Some(m), Some(u), Some(v)) = (m, u, v) else {
            return Err(invalid("bad request line"));
        };
        if it.next().is_some() {
            return Err(invalid("bad request line"));
        }
        if v != "SIP/2.0" {
            return Err(invalid(format!("unsupported SIP version {v:?}")));
        }
        let method = Method::parse(m)?;
        let uri = Uri::parse(u)?;
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
pub fn parse_datagram(buf: &[u8]) -> Result<Message, ParseError> {
    match parse(buf) {
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

/// Lines of the header block with folded continuation lines joined (RFC 3261 7.3.1).
fn unfold(head: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if (line.starts_with(' ') || line.starts_with('\t'))
            && let Some(last) = out.last_mut()
        {
            last.push(' ');
            last.push_str(line.trim());
            continue;
        }
        out.push(line.to_string());
    }
    out
}

fn check_mandatory(msg: &Message) -> Result<(), ParseError> {
    let h = msg.headers();
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if h.get(name).is_none() {
            return Err(invalid(format!("missing {name} header")));
        }
    }
    let cseq = CSeq::parse(h.get("CSeq").unwrap_or_default())?;
    Via::parse(h.get("Via").unwrap_or_default())?;
    NameAddr::parse(h.get("From").unwrap_or_default())?;
    NameAddr::parse(h.get("To").unwrap_or_default())?;
    if let Message::Request(r) = msg {
        if cseq.method != r.method {
            return Err(invalid("CSeq method does not match the request method"));
        }
        if let Some(mf) = h.get("Max-Forwards") {
            mf.trim()
                .parse::<u8>()
                .map_err(|_| invalid(format!("bad Max-Forwards {mf:?}")))?;
        }
        if let Some(e) = h.get("Expires") {
            e.trim()
                .parse::<u32>()
                .map_err(|_| invalid(format!("bad Expires {e:?}")))?;
        }
        for c in h.all("Contact") {
            if c.trim() != "*" {
                NameAddr::parse(c)?;
            }
        }
    }
    Ok(())
}

/// Builds a 400 for bytes that could not be parsed, when enough survives to answer: the
/// Via, From, To, Call-ID and CSeq lines are picked out leniently. `None` means drop.
pub fn bad_request_for(buf: &[u8], reason: &str) -> Option<Response> {
    let text = String::from_utf8_lossy(buf);
    let head = text.split("\r\n\r\n").next()?;
    let lines = unfold(head);
    let first = lines.first()?;
    if first.starts_with("SIP/") || first.split(' ').next()? == "ACK" {
        return None; // never answer a response or an ACK
    }
    let mut headers = Headers::new();
    for line in lines.iter().skip(1) {
        let Some((n, v)) = line.split_once(':') else {
            continue;
        };
        let n = canonical_name(n.trim());
        if ["Via", "From", "To", "Call-ID", "CSeq"].contains(&n.as_str()) {
            if n == "Via" {
                for p in split_outside_quotes(v, b',') {
                    headers.push(&n, p.trim());
                }
            } else {
                headers.push(&n, v.trim());
            }
        }
    }
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        headers.get(name)?;
    }
    Via::parse(headers.get("Via")?).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> Request {
        match parse_datagram(text.replace('\n', "\r\n").as_bytes()).expect("parses") {
            Message::Request(r) => r,
            Message::Response(_) => panic!("not a request"),
        }
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
    fn bad_request_reply_is_built_leniently() {
        let raw = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/WS h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: many\r\n\r\n";
        let err = parse_datagram(raw).unwrap_err();
        let resp = bad_request_for(raw, &err.to_string()).unwrap();
        assert_eq!(resp.status, 400);
        assert!(resp.reason.contains("Max-Forwards"), "{}", resp.reason);
    }
}
