//! SDP session descriptions (RFC 8866, which replaced RFC 4566): parsing, typed access and
//! serialising, enough for WebRTC offers and answers and for classic SIP phones.
//!
//! A description is the session-level lines (`v= o= s= i= u= e= p= c= b= t= r= z= k= a=`)
//! and then media sections, each starting with `m=` and followed by its own `i= c= b= k= a=`.
//! Unknown attributes are kept as written; values are not interpreted beyond the fields of
//! `o=`, `c=`, `b=`, `t=` and `m=`. Serialising writes the lines in RFC 8866 order with CRLF,
//! so a description that was in that order (every browser's is) comes out byte for byte as it
//! came in. Bad input is an [`SdpError`], never a panic.

use std::fmt;
use std::str::FromStr;

/// Why bytes are not a session description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The description is not UTF-8.
    #[error("SDP is not UTF-8")]
    NotUtf8,
    /// The description is empty.
    #[error("empty SDP")]
    Empty,
    /// A line is not `<letter>=<value>`, or holds a CR or NUL.
    #[error("SDP line {line}: not <type>=<value>")]
    BadLine { line: usize },
    /// A line type that SDP does not define (RFC 8866 5: reject, do not guess).
    #[error("SDP line {line}: unknown type {kind:?}")]
    UnknownType { line: usize, kind: char },
    /// A line type in a place it may not be (`o=` in a media section, `v=` twice...).
    #[error("SDP line {line}: {kind}= is not allowed here")]
    Misplaced { line: usize, kind: char },
    /// A mandatory line is missing.
    #[error("SDP has no {0}= line")]
    Missing(char),
    /// A field of a line is malformed; `what` names it.
    #[error("SDP line {line}: bad {what}")]
    BadField { line: usize, what: &'static str },
    /// `v=` is not 0.
    #[error("unsupported SDP version {0:?}")]
    Version(String),
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    /// Digits, kept as written (browsers use 64-bit values).
    pub session_id: String,
    /// Digits, kept as written; an answerer increments it on each change.
    pub session_version: String,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `c=<nettype> <addrtype> <connection-address>` (the address may carry `/ttl/count`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `b=<bwtype>:<bandwidth>` (kilobits per second for `AS` and `CT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    pub kind: String,
    pub value: u64,
}

/// `t=<start-time> <stop-time>` and the `r=` lines that follow it (kept as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
    pub repeats: Vec<String>,
}

/// `a=<name>` (a flag) or `a=<name>:<value>` (the value kept exactly, spaces included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

/// A media section: `m=<media> <port>[/<count>] <proto> <fmt> ...` and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, `application`, `text`, `message`...
    pub kind: String,
    /// 0 means the stream is rejected or disabled (RFC 3264 6).
    pub port: u16,
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`...
    pub proto: String,
    /// Payload type numbers for RTP, or other format names.
    pub formats: Vec<String>,
    pub title: Option<String>,
    pub connections: Vec<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    pub key: Option<String>,
    pub attributes: Vec<Attribute>,
}

/// A stream's direction (RFC 3264 5.1; `sendrecv` when none is given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    /// `s=`; `-` when there is no name.
    pub session_name: String,
    pub information: Option<String>,
    pub uri: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub connection: Option<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    pub timings: Vec<Timing>,
    pub zone: Option<String>,
    pub key: Option<String>,
    pub attributes: Vec<Attribute>,
    pub media: Vec<Media>,
}

fn attr<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.name == name)
}

fn direction_in(attrs: &[Attribute]) -> Option<Direction> {
    attrs.iter().rev().find_map(|a| match a.name.as_str() {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    })
}

impl SessionDescription {
    /// Parses a description; `CRLF` and, leniently, bare `LF` end lines (RFC 8866 5).
    pub fn parse(bytes: &[u8]) -> Result<SessionDescription, SdpError> {
        let text = std::str::from_utf8(bytes).map_err(|_| SdpError::NotUtf8)?;
        Parser::default().run(text)
    }

    /// The media sections, in order.
    pub fn media(&self) -> &[Media] {
        &self.media
    }

    /// Whether an audio stream is offered or accepted (an `m=audio` line with port != 0).
    pub fn has_audio(&self) -> bool {
        self.media.iter().any(|m| m.kind == "audio" && m.port != 0)
    }

    /// Whether a video stream is offered or accepted (an `m=video` line with port != 0).
    pub fn has_video(&self) -> bool {
        self.media.iter().any(|m| m.kind == "video" && m.port != 0)
    }

    /// The value of the first session-level attribute `name` (`Some("")` for a flag).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        attr(&self.attributes, name).map(|a| a.value.as_deref().unwrap_or_default())
    }

    /// The serialised description (CRLF line endings).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl Media {
    /// The value of the first attribute `name` of this section (`Some("")` for a flag).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        attr(&self.attributes, name).map(|a| a.value.as_deref().unwrap_or_default())
    }

    /// Every value of attribute `name` in this section (`a=candidate`, `a=rtpmap`...).
    pub fn attributes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter(move |a| a.name == name)
            .map(|a| a.value.as_deref().unwrap_or_default())
    }

    /// The stream's direction: this section's attribute, else the session's, else sendrecv.
    pub fn direction(&self, session: &SessionDescription) -> Direction {
        direction_in(&self.attributes)
            .or_else(|| direction_in(&session.attributes))
            .unwrap_or(Direction::SendRecv)
    }

    /// The `encoding/clock[/channels]` of an RTP payload type, from `a=rtpmap`.
    pub fn rtpmap(&self, payload_type: &str) -> Option<&str> {
        self.attributes("rtpmap").find_map(|v| {
            let (pt, enc) = v.split_once(' ')?;
            (pt == payload_type).then_some(enc)
        })
    }
}

impl FromStr for SessionDescription {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<SessionDescription, SdpError> {
        Parser::default().run(s)
    }
}

/// Where the parser is: before `o=`, in the session section, or in a media section.
#[derive(Default)]
struct Parser {
    line: usize,
    origin: Option<Origin>,
    description: Option<SessionDescription>,
}

impl Parser {
    fn bad(&self, what: &'static str) -> SdpError {
        SdpError::BadField {
            line: self.line,
            what,
        }
    }

    fn run(mut self, text: &str) -> Result<SessionDescription, SdpError> {
        if text.is_empty() {
            return Err(SdpError::Empty);
        }
        let mut lines = text.split('\n');
        let mut seen_version = false;
        while let Some(raw) = lines.next() {
            self.line += 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.is_empty() {
                // Only the end of the text may be empty (after the last CRLF).
                if seen_version && lines.clone().all(|l| l.is_empty() || l == "\r") {
                    continue;
                }
                return Err(SdpError::BadLine { line: self.line });
            }
            let bytes = line.as_bytes();
            if bytes.len() < 2 || bytes[1] != b'=' || line.contains(['\r', '\0']) {
                return Err(SdpError::BadLine { line: self.line });
            }
            let kind = char::from(bytes[0]);
            let value = &line[2..];
            if !seen_version {
                if kind != 'v' {
                    return Err(SdpError::Missing('v'));
                }
                if value != "0" {
                    return Err(SdpError::Version(value.to_string()));
                }
                seen_version = true;
                continue;
            }
            self.line_of(kind, value)?;
        }
        if !seen_version {
            return Err(SdpError::Empty);
        }
        let sd = self.description.ok_or(if self.origin.is_none() {
            SdpError::Missing('o')
        } else {
            SdpError::Missing('s')
        })?;
        if sd.timings.is_empty() {
            return Err(SdpError::Missing('t'));
        }
        Ok(sd)
    }

    fn line_of(&mut self, kind: char, value: &str) -> Result<(), SdpError> {
        let line = self.line;
        let misplaced = SdpError::Misplaced { line, kind };
        // v=, o=, s= open the description, in that order.
        let Some(sd) = self.description.as_mut() else {
            match (kind, self.origin.take()) {
                ('o', None) => self.origin = Some(parse_origin(value).ok_or(self.bad("o= line"))?),
                // RFC 8866 says s= is never empty, but some phones send it so: let it be.
                ('s', Some(origin)) => {
                    self.description = Some(SessionDescription {
                        origin,
                        session_name: value.to_string(),
                        information: None,
                        uri: None,
                        emails: Vec::new(),
                        phones: Vec::new(),
                        connection: None,
                        bandwidths: Vec::new(),
                        timings: Vec::new(),
                        zone: None,
                        key: None,
                        attributes: Vec::new(),
                        media: Vec::new(),
                    });
                }
                ('o', Some(_)) | ('v', _) => return Err(misplaced),
                (_, origin) if is_known(kind) => {
                    return Err(SdpError::Missing(if origin.is_none() { 'o' } else { 's' }));
                }
                _ => return Err(SdpError::UnknownType { line, kind }),
            }
            return Ok(());
        };
        let bad = |what| SdpError::BadField { line, what };
        if kind == 'm' {
            sd.media.push(parse_media(value).ok_or(bad("m= line"))?);
            return Ok(());
        }
        if let Some(m) = sd.media.last_mut() {
            // Inside a media section.
            match kind {
                'i' if m.title.is_none() => m.title = Some(value.to_string()),
                'c' => m
                    .connections
                    .push(parse_connection(value).ok_or(bad("c= line"))?),
                'b' => m
                    .bandwidths
                    .push(parse_bandwidth(value).ok_or(bad("b= line"))?),
                'k' if m.key.is_none() => m.key = Some(value.to_string()),
                'a' => m
                    .attributes
                    .push(parse_attribute(value).ok_or(bad("a= line"))?),
                _ if is_known(kind) => return Err(misplaced),
                _ => return Err(SdpError::UnknownType { line, kind }),
            }
            return Ok(());
        }
        match kind {
            'i' if sd.information.is_none() => sd.information = Some(value.to_string()),
            'u' if sd.uri.is_none() => sd.uri = Some(value.to_string()),
            'e' => sd.emails.push(value.to_string()),
            'p' => sd.phones.push(value.to_string()),
            'c' if sd.connection.is_none() => {
                sd.connection = Some(parse_connection(value).ok_or(bad("c= line"))?)
            }
            'b' => sd
                .bandwidths
                .push(parse_bandwidth(value).ok_or(bad("b= line"))?),
            't' => {
                let (start, stop) = fields::<2>(value)
                    .and_then(|[a, b]| Some((digits(a)?, digits(b)?)))
                    .ok_or(bad("t= line"))?;
                sd.timings.push(Timing {
                    start,
                    stop,
                    repeats: Vec::new(),
                });
            }
            'r' => match sd.timings.last_mut() {
                Some(t) if !value.is_empty() => t.repeats.push(value.to_string()),
                _ => return Err(misplaced),
            },
            'z' if sd.zone.is_none() => sd.zone = Some(value.to_string()),
            'k' if sd.key.is_none() => sd.key = Some(value.to_string()),
            'a' => sd
                .attributes
                .push(parse_attribute(value).ok_or(bad("a= line"))?),
            _ if is_known(kind) => return Err(misplaced),
            _ => return Err(SdpError::UnknownType { line, kind }),
        }
        Ok(())
    }
}

fn is_known(kind: char) -> bool {
    "vosiuepcbtrzkam".contains(kind)
}

/// Exactly `N` fields separated by single spaces, none empty.
fn fields<const N: usize>(value: &str) -> Option<[&str; N]> {
    let parts: Vec<&str> = value.split(' ').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    parts.try_into().ok()
}

fn digits<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Non-empty, and only printable ASCII other than space (SDP's `token`-like fields).
fn is_field(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

fn parse_origin(value: &str) -> Option<Origin> {
    let [username, id, version, net, addr_type, address] = fields::<6>(value)?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(id) || !numeric(version) {
        return None;
    }
    if ![username, net, addr_type, address]
        .iter()
        .all(|f| is_field(f))
    {
        return None;
    }
    Some(Origin {
        username: username.into(),
        session_id: id.into(),
        session_version: version.into(),
        net_type: net.into(),
        addr_type: addr_type.into(),
        address: address.into(),
    })
}

fn parse_connection(value: &str) -> Option<Connection> {
    let [net, addr_type, address] = fields::<3>(value)?;
    if ![net, addr_type, address].iter().all(|f| is_field(f)) {
        return None;
    }
    Some(Connection {
        net_type: net.into(),
        addr_type: addr_type.into(),
        address: address.into(),
    })
}

fn parse_bandwidth(value: &str) -> Option<Bandwidth> {
    let (kind, n) = value.split_once(':')?;
    if !is_field(kind) {
        return None;
    }
    Some(Bandwidth {
        kind: kind.into(),
        value: digits(n)?,
    })
}

fn parse_attribute(value: &str) -> Option<Attribute> {
    let (name, value) = match value.split_once(':') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (value, None),
    };
    if !is_field(name) {
        return None;
    }
    Some(Attribute {
        name: name.into(),
        value,
    })
}

fn parse_media(value: &str) -> Option<Media> {
    let mut parts = value.split(' ');
    let kind = parts.next().filter(|k| is_field(k))?;
    let port_field = parts.next()?;
    let (port, port_count) = match port_field.split_once('/') {
        Some((p, n)) => (digits(p)?, Some(digits(n)?)),
        None => (digits(port_field)?, None),
    };
    let proto = parts.next().filter(|p| is_field(p))?;
    let formats: Vec<String> = parts.map(str::to_string).collect();
    if formats.is_empty() || !formats.iter().all(|f| is_field(f)) {
        return None;
    }
    Some(Media {
        kind: kind.into(),
        port,
        port_count,
        proto: proto.into(),
        formats,
        title: None,
        connections: Vec::new(),
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    })
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}:{v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Writes `<kind>=<value>` + CRLF; CR and LF inside a value (only possible in a description
/// built by hand) are dropped so they cannot start a new line.
fn line(f: &mut fmt::Formatter<'_>, kind: char, value: impl fmt::Display) -> fmt::Result {
    let value = value.to_string();
    if value.contains(['\r', '\n']) {
        write!(f, "{kind}={}\r\n", value.replace(['\r', '\n'], ""))
    } else {
        write!(f, "{kind}={value}\r\n")
    }
}

impl fmt::Display for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = format!("{} {}", self.kind, self.port);
        if let Some(n) = self.port_count {
            m.push_str(&format!("/{n}"));
        }
        m.push(' ');
        m.push_str(&self.proto);
        for fmt in &self.formats {
            m.push(' ');
            m.push_str(fmt);
        }
        line(f, 'm', m)?;
        if let Some(i) = &self.title {
            line(f, 'i', i)?;
        }
        for c in &self.connections {
            line(f, 'c', c)?;
        }
        for b in &self.bandwidths {
            line(f, 'b', b)?;
        }
        if let Some(k) = &self.key {
            line(f, 'k', k)?;
        }
        for a in &self.attributes {
            line(f, 'a', a)?;
        }
        Ok(())
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        line(f, 'v', 0)?;
        line(
            f,
            'o',
            format_args!(
                "{} {} {} {} {} {}",
                o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
            ),
        )?;
        line(f, 's', &self.session_name)?;
        if let Some(i) = &self.information {
            line(f, 'i', i)?;
        }
        if let Some(u) = &self.uri {
            line(f, 'u', u)?;
        }
        for e in &self.emails {
            line(f, 'e', e)?;
        }
        for p in &self.phones {
            line(f, 'p', p)?;
        }
        if let Some(c) = &self.connection {
            line(f, 'c', c)?;
        }
        for b in &self.bandwidths {
            line(f, 'b', b)?;
        }
        for t in &self.timings {
            line(f, 't', format_args!("{} {}", t.start, t.stop))?;
            for r in &t.repeats {
                line(f, 'r', r)?;
            }
        }
        if let Some(z) = &self.zone {
            line(f, 'z', z)?;
        }
        if let Some(k) = &self.key {
            line(f, 'k', k)?;
        }
        for a in &self.attributes {
            line(f, 'a', a)?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}
