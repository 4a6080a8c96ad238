//! Presence documents, built and parsed in one place: PIDF (RFC 3863) with RPID activities
//! (RFC 4480) and the data model's person (RFC 4479), dialog-info (RFC 4235, busy-lamp
//! fields), and RFC 4662 resource-list NOTIFY bodies (`multipart/related` with an RLMI root).
//!
//! The gateway builds NOTIFY bodies with [`pidf`], [`dialog_info`] and [`list_notify`]; the
//! web app reads them with [`parse_list_notify`]. The mapping between [`Status`] and PIDF
//! lives here only:
//!
//! | status      | `<basic>` | RPID activity                                   |
//! |-------------|-----------|-------------------------------------------------|
//! | `Offline`   | `closed`  | none                                            |
//! | `Available` | `open`    | none                                            |
//! | `InCall`    | `open`    | `<rpid:on-the-phone/>`                          |
//! | `Ringing`   | `open`    | `<rpid:other>ringing</rpid:other>`              |
//! | `Dnd`       | `open`    | `<rpid:busy/>`                                  |
//! | `Away`      | `open`    | `<rpid:away/>`                                  |
//!
//! Parsing is lenient about what other clients PUBLISH (any namespace prefixes, activities
//! in a person or a tuple, `do-not-disturb`, `vacation`, `meeting`...), strict about XML:
//! input is size-bounded, nesting and element counts are capped, DTDs and unknown entities
//! are refused, and nothing panics on hostile input.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use quick_xml::XmlVersion;
use quick_xml::events::Event as XmlEvent;
use quick_xml::reader::NsReader;

/// The PIDF namespace (RFC 3863).
pub const NS_PIDF: &str = "urn:ietf:params:xml:ns:pidf";
/// The presence data model namespace (RFC 4479).
pub const NS_DM: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// The RPID namespace (RFC 4480).
pub const NS_RPID: &str = "urn:ietf:params:xml:ns:pidf:rpid";
/// The dialog-info namespace (RFC 4235).
pub const NS_DIALOG_INFO: &str = "urn:ietf:params:xml:ns:dialog-info";
/// The RLMI namespace (RFC 4662).
pub const NS_RLMI: &str = "urn:ietf:params:xml:ns:rlmi";

/// Largest single PIDF or dialog-info document accepted (bytes).
pub const MAX_DOCUMENT: usize = 64 * 1024;
/// Largest RLMI document accepted (bytes): a full list of a large company.
pub const MAX_RLMI: usize = 4 * 1024 * 1024;
/// Largest list NOTIFY body accepted (bytes).
pub const MAX_LIST_BODY: usize = 16 * 1024 * 1024;
/// Most parts in one `multipart/related` body.
pub const MAX_PARTS: usize = 50_000;
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 24;
/// Most elements in one small document (PIDF, dialog-info).
const MAX_ELEMENTS: usize = 4_000;
/// Most elements in one RLMI document.
const MAX_RLMI_ELEMENTS: usize = 4 * MAX_PARTS;

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// A person's presence as the contact list colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// No device registered (grey).
    Offline,
    /// Registered and free (green).
    Available,
    /// A call rings for them.
    Ringing,
    /// In a call (red).
    InCall,
    /// Do not disturb (red; calls get busy treatment).
    Dnd,
    /// Away.
    Away,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 6] = [
        Status::Offline,
        Status::Available,
        Status::Ringing,
        Status::InCall,
        Status::Dnd,
        Status::Away,
    ];

    /// The status's stable name: "offline", "available", "ringing", "in-call", "dnd", "away".
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Offline => "offline",
            Status::Available => "available",
            Status::Ringing => "ringing",
            Status::InCall => "in-call",
            Status::Dnd => "dnd",
            Status::Away => "away",
        }
    }

    /// The status named by [`Status::as_str`] (ASCII case and surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim();
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One presentity's presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// The presentity, e.g. "sip:102@acme.example".
    pub entity: String,
    pub status: Status,
    /// Free text for a person (PIDF `<note>` / `<dm:note>`).
    pub note: Option<String>,
}

/// Why a presence document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresenceError {
    /// The input is larger than this parser accepts.
    #[error("document too large: {size} bytes (at most {limit})")]
    TooLarge { size: usize, limit: usize },
    /// The XML is not well-formed.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// Elements nest deeper, or are more numerous, than any real document needs.
    #[error("XML too deeply nested or with too many elements")]
    TooComplex,
    /// The XML has a DTD or an entity other than XML's five and character references.
    #[error("XML with a DTD or unknown entity is not accepted")]
    Entity,
    /// The root element is not the one this document type has.
    #[error("expected a <{expected}> document, found <{found}>")]
    WrongRoot {
        expected: &'static str,
        found: String,
    },
    /// A required element or attribute is missing (named as `element@attribute`).
    #[error("missing {0}")]
    Missing(&'static str),
    /// An element or attribute has a value outside its type.
    #[error("bad {what}: {value:?}")]
    BadValue { what: &'static str, value: String },
    /// The Content-Type is not one this parser reads.
    #[error("unsupported content type {0:?}")]
    ContentType(String),
    /// The `multipart/related` body is broken.
    #[error("malformed multipart body: {0}")]
    Multipart(&'static str),
}

// ---------------------------------------------------------------------------------------
// Writing XML

/// Escapes `s` for XML text and attribute values: the five special characters, line ends
/// and tabs as character references (so attribute normalisation keeps them), and characters
/// XML 1.0 forbids dropped.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

/// The RPID activity element (inside `<rpid:activities>`) for a status, if it has one.
fn activity_xml(status: Status) -> Option<&'static str> {
    match status {
        Status::Offline | Status::Available => None,
        Status::InCall => Some("<rpid:on-the-phone/>"),
        Status::Ringing => Some("<rpid:other>ringing</rpid:other>"),
        Status::Dnd => Some("<rpid:busy/>"),
        Status::Away => Some("<rpid:away/>"),
    }
}

/// `application/pidf+xml` for `p` (RFC 3863), with the RPID activity (RFC 4480) in a data
/// model person (RFC 4479). See the module's table for the mapping.
pub fn pidf(p: &Presence) -> String {
    let mut x = String::with_capacity(400 + p.entity.len());
    x.push_str(XML_DECL);
    write_pidf_body(&mut x, p);
    x
}

fn write_pidf_body(x: &mut String, p: &Presence) {
    let _ = write!(
        x,
        "<presence xmlns=\"{NS_PIDF}\" xmlns:dm=\"{NS_DM}\" xmlns:rpid=\"{NS_RPID}\" entity=\"{}\">",
        esc(&p.entity)
    );
    let basic = if p.status == Status::Offline {
        "closed"
    } else {
        "open"
    };
    let _ = write!(
        x,
        "<tuple id=\"t0\"><status><basic>{basic}</basic></status></tuple>"
    );
    let activity = activity_xml(p.status);
    let note = p.note.as_deref().filter(|n| !n.is_empty());
    if activity.is_some() || note.is_some() {
        x.push_str("<dm:person id=\"p0\">");
        if let Some(a) = activity {
            let _ = write!(x, "<rpid:activities>{a}</rpid:activities>");
        }
        if let Some(n) = note {
            x.push_str("<dm:note>");
            escape_into(x, n);
            x.push_str("</dm:note>");
        }
        x.push_str("</dm:person>");
    }
    x.push_str("</presence>");
}

// ---------------------------------------------------------------------------------------
// Reading XML: a small, bounded element tree over quick-xml's namespace-aware reader.

/// One element: its local name (prefixes are resolved away, so `rpid:busy`, `r:busy` and a
/// default-namespace `busy` read alike), attributes by local name (namespace declarations
/// left out), children and its own text.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
    text: String,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every element below this one (not itself), depth first.
    fn descendants(&self, f: &mut impl FnMut(&El)) {
        for c in &self.children {
            f(c);
            c.descendants(f);
        }
    }
}

fn xml_err(e: impl fmt::Display) -> PresenceError {
    PresenceError::Xml(e.to_string())
}

fn start_element(e: &quick_xml::events::BytesStart<'_>) -> Result<El, PresenceError> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(xml_err)?;
        let key = a.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| match e {
                quick_xml::Error::Escape(_) => PresenceError::Entity,
                e => xml_err(e),
            })?;
        attrs.push((a.key.local_name().as_ref().to_string(), value.into_owned()));
    }
    Ok(El {
        name: e.local_name().as_ref().to_string(),
        attrs,
        ..El::default()
    })
}

/// Parses `xml` into its root element, within `max_bytes` and `max_elements`.
fn parse_xml(xml: &str, max_bytes: usize, max_elements: usize) -> Result<El, PresenceError> {
    if xml.len() > max_bytes {
        return Err(PresenceError::TooLarge {
            size: xml.len(),
            limit: max_bytes,
        });
    }
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    let mut count = 0usize;
    loop {
        let event = reader.read_event().map_err(xml_err)?;
        let (el, open) = match event {
            XmlEvent::Start(e) => (start_element(&e)?, true),
            XmlEvent::Empty(e) => (start_element(&e)?, false),
            XmlEvent::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| xml_err("end tag without a start tag"))?;
                attach(&mut stack, &mut root, el)?;
                continue;
            }
            XmlEvent::Text(t) => {
                let text = t.xml10_content();
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(xml_err("text outside the root element")),
                }
                continue;
            }
            XmlEvent::CData(t) => {
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&t.xml10_content()),
                    None => return Err(xml_err("CDATA outside the root element")),
                }
                continue;
            }
            XmlEvent::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match r.into_inner().as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => return Err(PresenceError::Entity),
                    },
                    Err(_) => return Err(PresenceError::Entity),
                };
                match stack.last_mut() {
                    Some(top) => top.text.push(c),
                    None => return Err(xml_err("a reference outside the root element")),
                }
                continue;
            }
            XmlEvent::DocType(_) => return Err(PresenceError::Entity),
            XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::Comment(_) => continue,
            XmlEvent::Eof => break,
        };
        count += 1;
        if count > max_elements || stack.len() >= MAX_DEPTH {
            return Err(PresenceError::TooComplex);
        }
        if open {
            stack.push(el);
        } else {
            attach(&mut stack, &mut root, el)?;
        }
    }
    if !stack.is_empty() {
        return Err(xml_err("the document ends inside an element"));
    }
    root.ok_or_else(|| xml_err("no root element"))
}

fn attach(stack: &mut [El], root: &mut Option<El>, el: El) -> Result<(), PresenceError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err(xml_err("more than one root element")),
    }
    Ok(())
}

fn expect_root(el: &El, name: &'static str) -> Result<(), PresenceError> {
    if el.name == name {
        Ok(())
    } else {
        Err(PresenceError::WrongRoot {
            expected: name,
            found: el.name.chars().take(64).collect(),
        })
    }
}

fn parse_u32(what: &'static str, v: &str) -> Result<u32, PresenceError> {
    v.trim().parse().map_err(|_| PresenceError::BadValue {
        what,
        value: v.chars().take(64).collect(),
    })
}

fn parse_bool(what: &'static str, v: &str) -> Result<bool, PresenceError> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(PresenceError::BadValue {
            what,
            value: v.chars().take(64).collect(),
        }),
    }
}

// ---------------------------------------------------------------------------------------
// PIDF

/// What an activity (or free-text status, as in `<rpid:other>` or `<im:im>`) says.
fn text_status(text: &str) -> Option<Status> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.replace(['_', ' '], "-");
    match t.as_str() {
        "ringing" | "alerting" | "early" => Some(Status::Ringing),
        "on-the-phone" | "on-phone" | "in-call" | "in-a-call" | "oncall" | "on-call" => {
            Some(Status::InCall)
        }
        "busy" | "dnd" | "do-not-disturb" | "donotdisturb" => Some(Status::Dnd),
        "away" | "be-right-back" | "berightback" | "brb" | "out-to-lunch" | "vacation"
        | "extended-away" | "xa" => Some(Status::Away),
        _ => None,
    }
}

fn activity_status(el: &El) -> Option<Status> {
    match el.name.as_str() {
        "on-the-phone" => Some(Status::InCall),
        "other" => text_status(&el.text),
        "busy" | "do-not-disturb" | "dnd" | "meeting" | "appointment" | "presentation"
        | "performance" | "worship" => Some(Status::Dnd),
        "away" | "vacation" | "holiday" | "permanent-absence" | "breakfast" | "dinner" | "meal"
        | "lunch" | "sleeping" | "travel" | "in-transit" | "shopping" | "steering"
        | "looking-for-work" | "playing" | "spectator" | "tv" => Some(Status::Away),
        _ => None,
    }
}

/// The stronger of two activity readings: in a call, then ringing, then DND, then away.
fn stronger(a: Option<Status>, b: Option<Status>) -> Option<Status> {
    let rank = |s: Option<Status>| match s {
        Some(Status::InCall) => 4,
        Some(Status::Ringing) => 3,
        Some(Status::Dnd) => 2,
        Some(Status::Away) => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn first_note<'a>(els: impl Iterator<Item = &'a El>) -> Option<String> {
    els.flat_map(|e| e.children_named("note"))
        .map(|n| n.text.trim())
        .find(|t| !t.is_empty())
        .map(str::to_string)
}

fn presence_from(root: &El) -> Result<Presence, PresenceError> {
    expect_root(root, "presence")?;
    let entity = root
        .attr("entity")
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or(PresenceError::Missing("presence@entity"))?
        .to_string();
    let (mut open, mut closed) = (false, false);
    for tuple in root.children_named("tuple") {
        let basic = tuple
            .child("status")
            .and_then(|s| s.child("basic"))
            .map(|b| b.text.trim().to_ascii_lowercase());
        match basic.as_deref() {
            Some("open") => open = true,
            Some("closed") => closed = true,
            _ => {}
        }
    }
    // Activities may sit in a person (RFC 4479), a tuple or a device (older RPID use), or be
    // the PIDF IM extension's `<im:im>` text.
    let mut activity = None;
    root.descendants(&mut |el| match el.name.as_str() {
        "activities" => {
            for a in &el.children {
                activity = stronger(activity, activity_status(a));
            }
        }
        "im" => activity = stronger(activity, text_status(&el.text)),
        _ => {}
    });
    let status = if open {
        activity.unwrap_or(Status::Available)
    } else if closed {
        Status::Offline
    } else {
        activity.unwrap_or(Status::Offline)
    };
    let note = first_note(root.children_named("person"))
        .or_else(|| first_note(root.children_named("tuple")))
        .or_else(|| first_note(std::iter::once(root)));
    Ok(Presence {
        entity,
        status,
        note,
    })
}

/// Reads an `application/pidf+xml` document (ours or another client's PUBLISH).
///
/// The status: `open` with the strongest activity found (on the phone, ringing, busy-like,
/// away-like), `open` alone is available, `closed` offline. The note: a person's
/// `<dm:note>`, else a tuple's `<note>`, else the document's.
pub fn parse_pidf(xml: &str) -> Result<Presence, PresenceError> {
    presence_from(&parse_xml(xml, MAX_DOCUMENT, MAX_ELEMENTS)?)
}

// ---------------------------------------------------------------------------------------
// dialog-info (RFC 4235)

/// Which side of a dialog the watched user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// They called.
    Initiator,
    /// They are called.
    Recipient,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Initiator => "initiator",
            Direction::Recipient => "recipient",
        }
    }
}

/// A dialog's state in RFC 4235's state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogPhase {
    Trying,
    Proceeding,
    Early,
    Confirmed,
    Terminated,
}

impl DialogPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            DialogPhase::Trying => "trying",
            DialogPhase::Proceeding => "proceeding",
            DialogPhase::Early => "early",
            DialogPhase::Confirmed => "confirmed",
            DialogPhase::Terminated => "terminated",
        }
    }

    pub fn parse(s: &str) -> Option<DialogPhase> {
        let s = s.trim();
        [
            DialogPhase::Trying,
            DialogPhase::Proceeding,
            DialogPhase::Early,
            DialogPhase::Confirmed,
            DialogPhase::Terminated,
        ]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

/// One `<dialog>` of a dialog-info document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogState {
    /// The dialog element's id (stable for the dialog's life).
    pub id: String,
    /// The SIP Call-ID; empty when not told.
    pub call_id: String,
    pub direction: Option<Direction>,
    pub state: DialogPhase,
    /// The remote party's identity URI.
    pub remote: Option<String>,
}

/// `application/dialog-info+xml` (RFC 4235): `version` counts NOTIFYs of the subscription
/// from 0; `full` sends `state="full"`, else `"partial"`.
pub fn dialog_info(entity: &str, version: u32, full: bool, dialogs: &[DialogState]) -> String {
    let mut x = String::with_capacity(200 + 200 * dialogs.len());
    x.push_str(XML_DECL);
    let _ = write!(
        x,
        "<dialog-info xmlns=\"{NS_DIALOG_INFO}\" version=\"{version}\" state=\"{}\" entity=\"{}\">",
        if full { "full" } else { "partial" },
        esc(entity)
    );
    for d in dialogs {
        let _ = write!(x, "<dialog id=\"{}\"", esc(&d.id));
        if !d.call_id.is_empty() {
            let _ = write!(x, " call-id=\"{}\"", esc(&d.call_id));
        }
        if let Some(dir) = d.direction {
            let _ = write!(x, " direction=\"{}\"", dir.as_str());
        }
        let _ = write!(x, "><state>{}</state>", d.state.as_str());
        if let Some(r) = &d.remote {
            let _ = write!(x, "<remote><identity>{}</identity></remote>", esc(r));
        }
        x.push_str("</dialog>");
    }
    x.push_str("</dialog-info>");
    x
}

/// Reads `application/dialog-info+xml`: (entity, version, full state, dialogs).
pub fn parse_dialog_info(
    xml: &str,
) -> Result<(String, u32, bool, Vec<DialogState>), PresenceError> {
    let root = parse_xml(xml, MAX_DOCUMENT, MAX_ELEMENTS)?;
    expect_root(&root, "dialog-info")?;
    let version = parse_u32(
        "dialog-info@version",
        root.attr("version")
            .ok_or(PresenceError::Missing("dialog-info@version"))?,
    )?;
    let full = match root
        .attr("state")
        .ok_or(PresenceError::Missing("dialog-info@state"))?
        .trim()
    {
        "full" => true,
        "partial" => false,
        other => {
            return Err(PresenceError::BadValue {
                what: "dialog-info@state",
                value: other.chars().take(64).collect(),
            });
        }
    };
    let entity = root
        .attr("entity")
        .ok_or(PresenceError::Missing("dialog-info@entity"))?
        .trim()
        .to_string();
    let mut dialogs = Vec::new();
    for d in root.children_named("dialog") {
        let id = d
            .attr("id")
            .ok_or(PresenceError::Missing("dialog@id"))?
            .to_string();
        let state_el = d
            .child("state")
            .ok_or(PresenceError::Missing("dialog/state"))?;
        let state = DialogPhase::parse(&state_el.text).ok_or_else(|| PresenceError::BadValue {
            what: "dialog/state",
            value: state_el.text.chars().take(64).collect(),
        })?;
        let direction = match d.attr("direction").map(str::trim) {
            None => None,
            Some(v) if v.eq_ignore_ascii_case("initiator") => Some(Direction::Initiator),
            Some(v) if v.eq_ignore_ascii_case("recipient") => Some(Direction::Recipient),
            Some(v) => {
                return Err(PresenceError::BadValue {
                    what: "dialog@direction",
                    value: v.chars().take(64).collect(),
                });
            }
        };
        let remote = d
            .child("remote")
            .and_then(|r| {
                r.child("identity")
                    .map(|i| i.text.trim().to_string())
                    .or_else(|| {
                        r.child("target")
                            .and_then(|t| t.attr("uri"))
                            .map(str::to_string)
                    })
            })
            .filter(|s| !s.is_empty());
        dialogs.push(DialogState {
            id,
            call_id: d.attr("call-id").unwrap_or_default().to_string(),
            direction,
            state,
            remote,
        });
    }
    Ok((entity, version, full, dialogs))
}

// ---------------------------------------------------------------------------------------
// Resource lists (RFC 4662)

/// One resource (person) of a list NOTIFY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResource {
    /// The resource's URI, e.g. "sip:102@acme.example".
    pub uri: String,
    /// A display name for it.
    pub name: Option<String>,
    /// Its presence; `None` when the NOTIFY carries no (readable) state for it.
    pub presence: Option<Presence>,
    /// The resource left the list (its instance is `terminated`).
    pub terminated: bool,
}

/// A resource-list NOTIFY: the RLMI document and its parts, read or to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListNotify {
    /// The list's URI, e.g. "sip:directory@acme.example".
    pub uri: String,
    /// Counts NOTIFYs of the subscription from 0 (RLMI `version`).
    pub version: u32,
    /// Whether this is the whole list (`true`) or only the resources that changed.
    pub full_state: bool,
    pub resources: Vec<ListResource>,
}

/// Keeps `[A-Za-z0-9-]` of `s` (at most 60), for Content-IDs; "x" when nothing is left.
fn cid_token(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(60)
        .collect();
    if t.is_empty() { "x".into() } else { t }
}

/// Builds an RFC 4662 list NOTIFY body: `multipart/related` whose root part is the RLMI
/// document, then one `application/pidf+xml` part per resource with presence (its
/// `Content-ID` is the instance's `cid`). A terminated resource is listed with
/// `state="terminated" reason="deactivated"` and has no part; a resource without presence
/// has an active instance without `cid`.
///
/// `boundary` should be a fresh random token; only `[A-Za-z0-9._-]` of it is used (at most
/// 70 characters). Returns the Content-Type header value and the body.
pub fn list_notify(n: &ListNotify, boundary: &str) -> (String, String) {
    let mut b: String = boundary
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(70)
        .collect();
    if b.is_empty() {
        b = "centrala-boundary".into();
    }
    let tag = cid_token(&b);
    let root_cid = format!("list.{tag}@centrala");
    let mut rlmi = String::with_capacity(200 + 160 * n.resources.len());
    rlmi.push_str(XML_DECL);
    let _ = write!(
        rlmi,
        "<list xmlns=\"{NS_RLMI}\" uri=\"{}\" version=\"{}\" fullState=\"{}\">",
        esc(&n.uri),
        n.version,
        n.full_state
    );
    let mut parts: Vec<(String, String)> = Vec::new();
    for (i, r) in n.resources.iter().enumerate() {
        let _ = write!(rlmi, "<resource uri=\"{}\">", esc(&r.uri));
        if let Some(name) = &r.name {
            let _ = write!(rlmi, "<name>{}</name>", esc(name));
        }
        // The instance id only has to be unique within its resource and stable: one
        // subscription instance per resource, always "1".
        if r.terminated {
            rlmi.push_str("<instance id=\"1\" state=\"terminated\" reason=\"deactivated\"/>");
        } else if let Some(p) = &r.presence {
            let cid = format!("r{i}.{tag}@centrala");
            let _ = write!(
                rlmi,
                "<instance id=\"1\" state=\"active\" cid=\"{}\"/>",
                esc(&cid)
            );
            parts.push((cid, pidf(p)));
        } else {
            rlmi.push_str("<instance id=\"1\" state=\"active\"/>");
        }
        rlmi.push_str("</resource>");
    }
    rlmi.push_str("</list>");

    let mut body = String::with_capacity(
        rlmi.len() + parts.iter().map(|p| p.1.len() + 160).sum::<usize>() + 64,
    );
    let mut part = |cid: &str, ctype: &str, doc: &str| {
        let _ = write!(
            body,
            "--{b}\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{cid}>\r\nContent-Type: {ctype};charset=\"UTF-8\"\r\n\r\n{doc}\r\n"
        );
    };
    part(&root_cid, "application/rlmi+xml", &rlmi);
    for (cid, doc) in &parts {
        part(cid, "application/pidf+xml", doc);
    }
    let _ = write!(body, "--{b}--\r\n");
    let ctype = format!(
        "multipart/related;type=\"application/rlmi+xml\";start=\"<{root_cid}>\";boundary=\"{b}\""
    );
    (ctype, body)
}

/// A media type, lowercased, and its parameters (names lowercased, quotes removed).
fn media_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => items.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    items.push(cur);
    let mut it = items.into_iter();
    let mt = it.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = it
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    (mt, params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `<id>` or `id` to `id`.
fn bare_cid(s: &str) -> &str {
    let s = s.trim();
    let s = s.strip_prefix("cid:").unwrap_or(s);
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
        .trim()
}

struct Part<'a> {
    headers: Vec<(String, String)>,
    body: &'a str,
}

impl Part<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Strips one line end (CRLF or LF) from the end of `s`.
fn strip_line_end(s: &str) -> &str {
    s.strip_suffix("\r\n")
        .or_else(|| s.strip_suffix('\n'))
        .unwrap_or(s)
}

/// Splits a `multipart/*` body (RFC 2046 5.1.1) at `boundary`; lines may end in CRLF or LF.
fn split_multipart<'a>(body: &'a str, boundary: &str) -> Result<Vec<Part<'a>>, PresenceError> {
    if boundary.is_empty() || boundary.len() > 200 {
        return Err(PresenceError::Multipart("bad boundary"));
    }
    let delim = format!("--{boundary}");
    let bytes = body.as_bytes();
    // Each delimiter line: where it starts, and where the content after it starts (None for
    // the closing delimiter).
    let mut delims: Vec<(usize, Option<usize>)> = Vec::new();
    let mut from = 0;
    while let Some(i) = body[from..].find(&delim) {
        let at = from + i;
        from = at + delim.len();
        if at != 0 && bytes[at - 1] != b'\n' {
            continue;
        }
        let rest = &body[from..];
        if rest.starts_with("--") {
            delims.push((at, None));
            break;
        }
        // Transport padding, then the line end.
        let pad = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        let after = &rest[pad..];
        let eol = if after.starts_with("\r\n") {
            2
        } else if after.starts_with('\n') {
            1
        } else {
            continue; // a longer token that starts with the boundary: not a delimiter
        };
        delims.push((at, Some(from + pad + eol)));
        if delims.len() > MAX_PARTS + 1 {
            return Err(PresenceError::Multipart("too many parts"));
        }
    }
    if !matches!(delims.last(), Some((_, None))) {
        return Err(PresenceError::Multipart("no closing boundary"));
    }
    let mut parts = Vec::with_capacity(delims.len().saturating_sub(1));
    for w in delims.windows(2) {
        let (Some(start), (end, _)) = (w[0].1, w[1]) else {
            continue;
        };
        // The line end before a delimiter belongs to the delimiter.
        let content = strip_line_end(body.get(start..end).unwrap_or(""));
        parts.push(parse_part(content)?);
    }
    if parts.is_empty() {
        return Err(PresenceError::Multipart("no parts"));
    }
    Ok(parts)
}

fn parse_part(content: &str) -> Result<Part<'_>, PresenceError> {
    // Headers end at the first empty line.
    let (head, body) = if let Some(b) = content.strip_prefix("\r\n") {
        ("", b)
    } else if let Some(b) = content.strip_prefix('\n') {
        ("", b)
    } else {
        let crlf = content.find("\n\r\n").map(|i| (i, 3));
        let lf = content.find("\n\n").map(|i| (i, 2));
        let (i, n) = match (crlf, lf) {
            (Some(a), Some(b)) => {
                if a.0 <= b.0 {
                    a
                } else {
                    b
                }
            }
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return Err(PresenceError::Multipart("a part without a body")),
        };
        (&content[..i], &content[i + n..])
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            let Some(last) = headers.last_mut() else {
                return Err(PresenceError::Multipart(
                    "a continuation line without a header",
                ));
            };
            last.1.push(' ');
            last.1.push_str(line.trim());
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(PresenceError::Multipart("a part header without a colon"));
        };
        if headers.len() >= 32 {
            return Err(PresenceError::Multipart("too many part headers"));
        }
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Part { headers, body })
}

fn list_from_rlmi(
    root: &El,
    mut part_for: impl FnMut(&str) -> Option<Presence>,
) -> Result<ListNotify, PresenceError> {
    expect_root(root, "list")?;
    let uri = root
        .attr("uri")
        .ok_or(PresenceError::Missing("list@uri"))?
        .trim()
        .to_string();
    let version = parse_u32(
        "list@version",
        root.attr("version")
            .ok_or(PresenceError::Missing("list@version"))?,
    )?;
    let full_state = parse_bool(
        "list@fullState",
        root.attr("fullState")
            .ok_or(PresenceError::Missing("list@fullState"))?,
    )?;
    let mut resources = Vec::new();
    for r in root.children_named("resource") {
        let ruri = r
            .attr("uri")
            .ok_or(PresenceError::Missing("resource@uri"))?
            .trim()
            .to_string();
        let name = r
            .child("name")
            .map(|n| n.text.trim().to_string())
            .filter(|n| !n.is_empty());
        let mut presence = None;
        let mut any = false;
        let mut all_terminated = true;
        for inst in r.children_named("instance") {
            any = true;
            let state = inst.attr("state").unwrap_or("").trim();
            if !state.eq_ignore_ascii_case("terminated") {
                all_terminated = false;
            }
            if presence.is_none()
                && state.eq_ignore_ascii_case("active")
                && let Some(cid) = inst.attr("cid")
            {
                presence = part_for(bare_cid(cid));
            }
        }
        resources.push(ListResource {
            uri: ruri,
            name,
            presence,
            terminated: any && all_terminated,
        });
    }
    Ok(ListNotify {
        uri,
        version,
        full_state,
        resources,
    })
}

/// Reads a presence NOTIFY body by its Content-Type: an RFC 4662 `multipart/related` list
/// (RLMI root, PIDF parts), a bare `application/rlmi+xml`, or a bare `application/pidf+xml`
/// (then one resource, the entity, with `version` 0 and full state).
///
/// A resource whose part is missing or unreadable gets `presence: None`; a broken RLMI
/// document or multipart structure is an error.
pub fn parse_list_notify(content_type: &str, body: &str) -> Result<ListNotify, PresenceError> {
    if body.len() > MAX_LIST_BODY {
        return Err(PresenceError::TooLarge {
            size: body.len(),
            limit: MAX_LIST_BODY,
        });
    }
    let (mt, params) = media_type(content_type);
    match mt.as_str() {
        "application/pidf+xml" => {
            let p = parse_pidf(body)?;
            Ok(ListNotify {
                uri: p.entity.clone(),
                version: 0,
                full_state: true,
                resources: vec![ListResource {
                    uri: p.entity.clone(),
                    name: None,
                    presence: Some(p),
                    terminated: false,
                }],
            })
        }
        "application/rlmi+xml" => {
            list_from_rlmi(&parse_xml(body, MAX_RLMI, MAX_RLMI_ELEMENTS)?, |_| None)
        }
        "multipart/related" => {
            let boundary =
                param(&params, "boundary").ok_or(PresenceError::Multipart("no boundary"))?;
            let parts = split_multipart(body, boundary)?;
            let root_index = match param(&params, "start") {
                Some(start) => {
                    let start = bare_cid(start);
                    parts
                        .iter()
                        .position(|p| p.header("content-id").map(bare_cid) == Some(start))
                        .ok_or(PresenceError::Multipart("no part is the start part"))?
                }
                None => 0,
            };
            let root_type = parts[root_index]
                .header("content-type")
                .map(|v| media_type(v).0)
                .unwrap_or_default();
            if root_type != "application/rlmi+xml" {
                return Err(PresenceError::ContentType(root_type));
            }
            let mut by_cid: HashMap<&str, &Part<'_>> = HashMap::with_capacity(parts.len());
            for p in &parts {
                if let Some(cid) = p.header("content-id") {
                    by_cid.entry(bare_cid(cid)).or_insert(p);
                }
            }
            let root = parse_xml(parts[root_index].body, MAX_RLMI, MAX_RLMI_ELEMENTS)?;
            list_from_rlmi(&root, |cid| {
                let part = by_cid.get(cid)?;
                let ctype = part.header("content-type").map(|v| media_type(v).0)?;
                let cte = part
                    .header("content-transfer-encoding")
                    .map(|v| v.trim().to_ascii_lowercase());
                if ctype != "application/pidf+xml"
                    || cte.is_some_and(|c| !matches!(c.as_str(), "binary" | "8bit" | "7bit"))
                {
                    return None;
                }
                parse_pidf(part.body).ok()
            })
        }
        _ => Err(PresenceError::ContentType(
            content_type.chars().take(100).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_handles_specials_and_control_characters() {
        assert_eq!(esc("a<b>&\"'\u{1}\tż"), "a&lt;b&gt;&amp;&quot;&apos;&#9;ż");
    }

    #[test]
    fn media_type_reads_quoted_parameters() {
        let (mt, p) = media_type(
            "Multipart/Related; type=\"application/rlmi+xml\"; start=\"<a;b@c>\"; boundary=xyz",
        );
        assert_eq!(mt, "multipart/related");
        assert_eq!(param(&p, "start"), Some("<a;b@c>"));
        assert_eq!(param(&p, "boundary"), Some("xyz"));
    }
}
