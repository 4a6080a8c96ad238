//! RFC 4475 ("SIP Torture Test Messages") as data-driven parser tests.
//!
//! `tests/vectors/rfc4475/*.sip` are the RFC's messages, bit-exact from its Appendix A archive
//! (see tests/vectors/rfc4475/README.md). Each row of [`cases`] says what the RFC asks of a
//! parser for that message:
//!
//! - [`Expect::Valid`]: the parser must accept it; the check looks at the fields the RFC
//!   calls out (folding, escapes, unknown methods and schemes, compact forms...).
//! - [`Expect::Refused`]: well formed, so the parser accepts it, but the RFC says the
//!   application refuses it (the note says how; that is not this crate's parser's job).
//! - [`Expect::Tolerated`]: invalid per the grammar, but the RFC says an element should not
//!   reject it unless it uses the faulty field, and nothing here does (baddate only).
//! - [`Expect::Invalid`]: `parse_datagram` returns `Invalid` (or `TooLarge`), and
//!   `bad_request_for` answers with the given status, or drops what cannot be answered.
//!
//! Every accepted message must also survive `to_bytes` and parse again to the same message,
//! and no message may panic the parser, the stream framer or `bad_request_for`.

use std::path::PathBuf;

use centrala_sip::framing::{Frame, Framer};
use centrala_sip::message::{
    Message, Method, NameAddr, ParseError, Request, Response, SipMessage, Via, bad_request_for,
    parse, parse_datagram,
};

/// What RFC 4475 says must happen to a message.
enum Expect {
    /// Parses; the function checks the fields the RFC calls out.
    Valid(fn(&Message)),
    /// Parses; the application refuses it as the note says.
    Refused(&'static str, fn(&Message)),
    /// Invalid per the grammar, accepted because the RFC says not to reject it for this.
    Tolerated(&'static str, fn(&Message)),
    /// `parse_datagram` fails with a reason containing the text; `bad_request_for` answers
    /// with this status, or drops (None).
    Invalid(Option<u16>, &'static str),
}

use Expect::*;

/// (file name without `.sip`, RFC 4475 section, expectation)
fn cases() -> Vec<(&'static str, &'static str, Expect)> {
    vec![
        // 3.1.1 Valid messages: a parser must accept them.
        ("wsinv", "3.1.1.1", Valid(wsinv)),
        ("intmeth", "3.1.1.2", Valid(intmeth)),
        ("esc01", "3.1.1.3", Valid(esc01)),
        ("escnull", "3.1.1.4", Valid(escnull)),
        ("esc02", "3.1.1.5", Valid(esc02)),
        ("lwsdisp", "3.1.1.6", Valid(lwsdisp)),
        ("longreq", "3.1.1.7", Valid(longreq)),
        ("dblreq", "3.1.1.8", Valid(dblreq)),
        ("semiuri", "3.1.1.9", Valid(semiuri)),
        ("transports", "3.1.1.10", Valid(transports)),
        ("mpart01", "3.1.1.11", Valid(mpart01)),
        ("unreason", "3.1.1.12", Valid(unreason)),
        ("noreason", "3.1.1.13", Valid(noreason)),
        // 3.1.2 Invalid messages.
        ("badinv01", "3.1.2.1", Invalid(Some(400), "empty parameter")),
        (
            "clerr",
            "3.1.2.2",
            Invalid(Some(400), "body shorter than Content-Length"),
        ),
        ("ncl", "3.1.2.3", Invalid(Some(400), "bad Content-Length")),
        ("scalar02", "3.1.2.4", Invalid(Some(400), "bad CSeq number")),
        ("scalarlg", "3.1.2.5", Invalid(None, "bad CSeq number")), // a response: discard
        (
            "quotbal",
            "3.1.2.6",
            Invalid(Some(400), "unterminated quoted string"),
        ),
        (
            "ltgtruri",
            "3.1.2.7",
            Invalid(Some(400), "bad character '<' in URI"),
        ),
        ("lwsruri", "3.1.2.8", Invalid(Some(400), "bad request line")),
        (
            "lwsstart",
            "3.1.2.9",
            Invalid(Some(400), "bad request line"),
        ),
        ("trws", "3.1.2.10", Invalid(Some(400), "bad request line")),
        (
            "escruri",
            "3.1.2.11",
            Invalid(Some(400), "headers are not allowed in the Request-URI"),
        ),
        (
            "baddate",
            "3.1.2.12",
            Tolerated(
                "non-GMT Date; the RFC says not to reject unless the Date matters, and nothing \
                 here reads Date (a proxy forwards it unchanged)",
                baddate,
            ),
        ),
        (
            "regbadct",
            "3.1.2.13",
            Invalid(Some(400), "must be in '<>'"),
        ),
        (
            "badaspec",
            "3.1.2.14",
            Invalid(Some(400), "spaces inside '<>'"),
        ),
        // The archive's baddn lacks the empty line after the headers (see the README); the
        // display names are checked on their own below.
        (
            "baddn",
            "3.1.2.15",
            Invalid(Some(400), "headers do not end with an empty line"),
        ),
        (
            "badvers",
            "3.1.2.16",
            Invalid(Some(505), "unsupported SIP version"),
        ),
        (
            "mismatch01",
            "3.1.2.17",
            Invalid(Some(400), "CSeq method does not match"),
        ),
        // The RFC prefers 501 but allows 400; the parser cannot tell which method is right.
        (
            "mismatch02",
            "3.1.2.18",
            Invalid(Some(400), "CSeq method does not match"),
        ),
        ("bigcode", "3.1.2.19", Invalid(None, "bad status code")), // a response: drop
        // 3.2 Transaction layer.
        (
            "badbranch",
            "3.2.1",
            Refused(
                "branch is only the magic cookie: 400 statelessly, or RFC 2543 matching",
                badbranch,
            ),
        ),
        // 3.3 Application layer.
        // No Call-ID, From or To: a 400 could not carry them either, so it is dropped.
        ("insuf", "3.3.1", Invalid(None, "missing From header")),
        (
            "unkscm",
            "3.3.2",
            Refused("416 Unsupported URI Scheme", unkscm),
        ),
        (
            "novelsc",
            "3.3.3",
            Refused("416 Unsupported URI Scheme (or 404)", novelsc),
        ),
        (
            "unksm2",
            "3.3.4",
            Refused("a registrar answers 400: To is not a SIP URI", unksm2),
        ),
        ("bext01", "3.3.5", Refused("420 Bad Extension", bext01)),
        (
            "invut",
            "3.3.6",
            Refused("an endpoint answers 415; a proxy forwards", invut),
        ),
        (
            "regaut01",
            "3.3.7",
            Refused("a registrar that authenticates answers 401", regaut01),
        ),
        (
            "multi01",
            "3.3.8",
            Invalid(Some(400), "more than one Call-ID"),
        ),
        (
            "mcl01",
            "3.3.9",
            Invalid(Some(400), "more than one Content-Length"),
        ),
        (
            "bcast",
            "3.3.10",
            Refused(
                "a proxy drops a response whose next Via is a broadcast address",
                bcast,
            ),
        ),
        (
            "zeromf",
            "3.3.11",
            Refused("a proxy answers 483; an endpoint processes it", zeromf),
        ),
        ("cparam01", "3.3.12", Valid(cparam01)),
        ("cparam02", "3.3.13", Valid(cparam02)),
        ("regescrt", "3.3.14", Valid(regescrt)),
        (
            "sdp01",
            "3.3.15",
            Refused("406 Not Acceptable (or 400): Accept has no SDP", sdp01),
        ),
        // 3.4 Backward compatibility.
        ("inv2543", "3.4.1", Valid(inv2543)),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc4475")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(format!("{name}.sip"))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_rfc4475_message_meets_its_expectation() {
    let mut failures = Vec::new();
    for (name, section, expect) in cases() {
        let bytes = read(name);
        let parsed = parse_datagram(&bytes);
        match (&expect, parsed) {
            (Valid(check) | Refused(_, check) | Tolerated(_, check), Ok(m)) => {
                check(&m);
                let again = parse_datagram(&m.to_bytes())
                    .unwrap_or_else(|e| panic!("{name} re-serialised does not parse: {e}"));
                assert_eq!(
                    without_length(&m),
                    without_length(&again),
                    "{name}: round trip changed the message"
                );
            }
            (Valid(_), Err(e)) => {
                failures.push(format!("{name} ({section}) must parse: {e}"));
            }
            (Refused(note, _) | Tolerated(note, _), Err(e)) => {
                failures.push(format!(
                    "{name} ({section}) must parse, the application decides ({note}): {e}"
                ));
            }
            (Invalid(answer, reason), Err(e)) => {
                assert!(
                    matches!(&e, ParseError::Invalid(r) if r.contains(reason)),
                    "{name} ({section}): refused for another reason: {e:?}"
                );
                let got = bad_request_for(&bytes, &e.to_string());
                assert_eq!(
                    got.as_ref().map(|r| r.status),
                    *answer,
                    "{name} ({section}): answer to {e}"
                );
                if let Some(r) = got {
                    check_answer(name, &bytes, &r);
                }
            }
            (Invalid(..), Ok(m)) => {
                failures.push(format!(
                    "{name} ({section}) must be refused, parsed as {m:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The message without Content-Length, which `to_bytes` rewrites as the last header.
fn without_length(m: &Message) -> Message {
    let mut m = m.clone();
    match &mut m {
        Message::Request(r) => r.headers.remove("Content-Length"),
        Message::Response(r) => r.headers.remove("Content-Length"),
    }
    m
}

/// An answer carries the request's Via, Call-ID and CSeq so the sender can match it.
fn check_answer(name: &str, bytes: &[u8], r: &Response) {
    let text = String::from_utf8_lossy(bytes);
    for h in ["Via", "From", "To", "Call-ID", "CSeq"] {
        assert!(r.headers.get(h).is_some(), "{name}: answer lacks {h}");
    }
    assert!(
        text.contains(r.headers.get("Call-ID").unwrap()),
        "{name}: answer's Call-ID is not the request's"
    );
    assert!(!r.reason.contains(['\r', '\n']), "{name}: {:?}", r.reason);
}

/// baddn's point is the unquoted display names with a comma; the archived file also lacks
/// the empty line ending its headers, so check the names with that line added.
#[test]
fn baddn_is_refused_for_its_unquoted_display_names() {
    let mut bytes = read("baddn");
    bytes.extend_from_slice(b"\r\n");
    let e = parse_datagram(&bytes).unwrap_err();
    assert!(
        matches!(&e, ParseError::Invalid(r) if r.contains("must be quoted")),
        "{e:?}"
    );
    assert_eq!(bad_request_for(&bytes, &e.to_string()).unwrap().status, 400);
    // The same names quoted are fine.
    let quoted = String::from_utf8(bytes)
        .unwrap()
        .replace("Bell, Alexander", "\"Bell, Alexander\"")
        .replace("Watson, Thomas", "\"Watson, Thomas\"");
    let m = parse_datagram(quoted.as_bytes()).unwrap();
    assert_eq!(
        NameAddr::parse(m.headers().get("From").unwrap())
            .unwrap()
            .display
            .as_deref(),
        Some("Bell, Alexander")
    );
}

#[test]
fn the_table_covers_every_file() {
    let names: Vec<&str> = cases().iter().map(|(n, _, _)| *n).collect();
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".sip").map(str::to_string))
        .collect();
    files.sort();
    assert_eq!(files.len(), 49, "RFC 4475 has 49 messages");
    for f in &files {
        assert!(names.contains(&f.as_str()), "{f}.sip has no expectation");
    }
    assert_eq!(names.len(), files.len());
}

/// The stream framer (TCP/TLS) meets every message, whole and a few bytes at a time: it
/// either yields messages that re-parse, waits, or errs; it never panics.
#[test]
fn the_stream_framer_survives_every_message() {
    for (name, _, expect) in cases() {
        let bytes = read(name);
        for chunk in [bytes.len(), 7, 1] {
            let mut framer = Framer::new();
            let mut frames = Vec::new();
            for piece in bytes.chunks(chunk) {
                framer.push(piece);
                while let Ok(Some(f)) = framer.next_frame() {
                    frames.push(f);
                }
            }
            for f in &frames {
                if let Frame::Message(m) = f {
                    parse_datagram(&m.to_bytes()).unwrap_or_else(|e| {
                        panic!("{name}: framed message does not re-parse: {e}")
                    });
                }
            }
            if matches!(expect, Valid(_) | Refused(..)) && name != "inv2543" {
                assert!(
                    matches!(frames.first(), Some(Frame::Message(_))),
                    "{name} in chunks of {chunk}: no message framed"
                );
            }
        }
    }
}

// ---- checks of the fields RFC 4475 calls out ----

fn req(m: &Message) -> &Request {
    match m {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

fn resp(m: &Message) -> &Response {
    match m {
        Message::Response(r) => r,
        Message::Request(_) => panic!("expected a response"),
    }
}

fn header<'a>(m: &'a Message, name: &str) -> &'a str {
    m.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn vias(m: &Message) -> Vec<Via> {
    m.headers()
        .all("Via")
        .map(|v| Via::parse(v).unwrap())
        .collect()
}

fn name_addr(m: &Message, name: &str) -> NameAddr {
    NameAddr::parse(header(m, name)).unwrap()
}

fn sdp_body(m: &Message, len: usize) {
    let body = match m {
        Message::Request(r) => &r.body,
        Message::Response(r) => &r.body,
    };
    assert_eq!(body.len(), len);
    assert!(body.starts_with(b"v=0\r\n"));
}

/// Folding everywhere, escaped quotes, empty Subject, LWS around every separator, mixed
/// compact and long names, unknown parameters and headers, leading zeros.
fn wsinv(m: &Message) {
    let r = req(m);
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri.user.as_deref(), Some("vivekg"));
    assert_eq!(r.uri.host, "chair-dnrc.example.com");
    assert_eq!(r.uri.params.get("unknownparam"), Some(None));
    let to = name_addr(m, "To");
    assert_eq!(to.uri.user.as_deref(), Some("vivekg"));
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = name_addr(m, "From");
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(header(m, "Max-Forwards"), "0068");
    let cseq = r.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let v = vias(m);
    assert_eq!(v.len(), 3);
    assert_eq!(
        (v[0].transport.as_str(), v[0].host.as_str(), v[0].branch()),
        ("UDP", "192.0.2.2", Some("390skdjuw"))
    );
    assert_eq!(
        (v[1].transport.as_str(), v[1].host.as_str(), v[1].branch()),
        ("TCP", "spindle.example.com", Some("z9hG4bK9ikj8"))
    );
    assert_eq!(
        (v[2].transport.as_str(), v[2].host.as_str(), v[2].branch()),
        ("UDP", "192.168.255.111", Some("z9hG4bK30239"))
    );
    assert_eq!(header(m, "Subject"), "");
    assert_eq!(
        header(m, "NewFangledHeader"),
        "newfangled value continued newfangled value"
    );
    assert_eq!(header(m, "UnknownHeaderWithUnusualValue"), ";;,,;;,;");
    assert_eq!(
        header(m, "Route"),
        "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>"
    );
    let c = r.contacts();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].display.as_deref(), Some("Quoted string \"\""));
    assert_eq!(c[0].params.value("newparam"), Some("newvalue"));
    assert_eq!(c[0].params.get("secondparam"), Some(None));
    assert_eq!(c[0].params.value("q"), Some("0.33"));
    sdp_body(m, 150);
}

/// Every token character in the method, an unusual Request-URI with a password, quoted
/// control characters, token display names, UTF-8 parameter and header values.
fn intmeth(m: &Message) {
    let r = req(m);
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(r.method, Method::Other(method.into()));
    assert_eq!(r.cseq().unwrap().method, Method::Other(method.into()));
    assert_eq!(
        r.uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        r.uri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(r.uri.host, "example.com");
    assert_eq!(r.branch().as_deref(), Some("z9hG4bK-.!%66*_+`'~"));
    let to = name_addr(m, "To");
    assert_eq!(to.display.as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
    assert_eq!(
        to.uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    let from = name_addr(m, "From");
    assert_eq!(
        from.display.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(
        from.params.value("fromParam''~+*_!.-%"),
        Some("\"работающий\"")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        r.call_id(),
        Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
    assert_eq!(header(m, "Max-Forwards"), "255");
    assert_eq!(header(m, "extensionHeader-!.%*+_`'~"), "\u{feff}大停電");
}

/// `%` escapes in the user parts and URI parameters are kept as written (not unescaped
/// twice: `v%61lue%25%34%31` is not `valueA`); `C:` is Content-Type.
fn esc01(m: &Message) {
    let r = req(m);
    assert_eq!(r.uri.user.as_deref(), Some("sips%3Auser%40example.com"));
    assert_eq!(r.uri.host, "example.net");
    assert_eq!(name_addr(m, "To").uri.user.as_deref(), Some("%75se%72"));
    assert_eq!(
        name_addr(m, "From").uri.user.as_deref(),
        Some("I%20have%20spaces")
    );
    let c = &r.contacts()[0];
    assert_eq!(c.uri.user.as_deref(), Some("cal%6Cer"));
    assert_eq!(c.uri.params.get("%6C%72"), Some(None));
    assert_eq!(c.uri.params.value("n%61me"), Some("v%61lue%25%34%31"));
    assert_eq!(r.content_type(), Some("application/sdp"));
    assert_eq!(r.call_id(), Some("esc01.239409asdfakjkn23onasd0-3234"));
    sdp_body(m, 150);
}

/// Escaped NULs: two distinct contacts, the user part not cut short.
fn escnull(m: &Message) {
    let r = req(m);
    assert_eq!(r.method, Method::Register);
    assert_eq!(
        name_addr(m, "To").uri.user.as_deref(),
        Some("null-%00-null")
    );
    let users: Vec<_> = r.contacts().into_iter().map(|c| c.uri.user).collect();
    assert_eq!(users, [Some("%00".into()), Some("%00%00".into())]);
    assert_eq!(header(m, "Content-Length"), "0");
}

/// `%` that is not an escape: an unknown method, a literal display name, and an unknown
/// header that is not a Contact.
fn esc02(m: &Message) {
    let r = req(m);
    assert_eq!(r.method, Method::Other("RE%47IST%45R".into()));
    assert_ne!(r.method, Method::Register);
    assert_eq!(name_addr(m, "To").display.as_deref(), Some("%Z%45"));
    assert_eq!(name_addr(m, "From").display.as_deref(), Some("%Z%45"));
    assert_eq!(r.contacts().len(), 2);
    assert_eq!(header(m, "C%6Fntact"), "<sip:alias2@host2.example.com>");
    assert_eq!(r.branch().as_deref(), Some("z9hG4bK209%fzsnel234"));
}

/// No LWS between a token display name and `<`.
fn lwsdisp(m: &Message) {
    let from = name_addr(m, "From");
    assert_eq!(from.display.as_deref(), Some("caller"));
    assert_eq!(from.uri.user.as_deref(), Some("caller"));
    assert_eq!(from.tag(), Some("323"));
}

/// Long values, many Vias in every spelling of the name.
fn longreq(m: &Message) {
    let r = req(m);
    let to = name_addr(m, "To");
    assert_eq!(
        to.display.as_deref(),
        Some(format!("I have a user name of {} proportion", "extreme".repeat(10)).as_str())
    );
    assert_eq!(to.uri.port, Some(6000));
    assert_eq!(
        to.uri.params.value("unknownparam1"),
        Some(format!("very{}value", "long".repeat(20)).as_str())
    );
    assert_eq!(
        to.uri.params.get(&format!(
            "very{}ParameterNameWithNoValue",
            "long".repeat(25)
        )),
        Some(None)
    );
    let from = name_addr(m, "From");
    assert_eq!(
        from.uri.user.as_deref(),
        Some("amazinglylongcallername".repeat(5).as_str())
    );
    assert_eq!(
        from.tag(),
        Some(format!("12{}424", "982".repeat(50)).as_str())
    );
    assert_eq!(
        r.call_id(),
        Some(format!("longreq.one{}longcallid", "really".repeat(20)).as_str())
    );
    let v = vias(m);
    assert_eq!(v.len(), 34);
    assert_eq!(v[0].host, "sip33.example.com");
    assert_eq!(v[32].host, "sip1.example.com");
    assert_eq!(
        v[33].branch(),
        Some(format!("very{}branchvalue", "long".repeat(50)).as_str())
    );
    assert_eq!(v[33].params.value("received"), Some("192.0.2.5"));
    let name = format!("Unknown-{}-Name", "Long".repeat(20));
    assert!(header(m, &name).starts_with("unknown-long"));
    sdp_body(m, 150);
}

/// A REGISTER followed, in the same datagram, by octets that look like an INVITE: they are
/// ignored (RFC 3261 18.3).
fn dblreq(m: &Message) {
    let r = req(m);
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty());
    assert_eq!(r.call_id(), Some("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));
    // On a stream the same bytes are two messages.
    let bytes = read("dblreq");
    let (_, used) = parse(&bytes).unwrap();
    assert!(used < bytes.len());
    let (second, _) = parse(&bytes[used..]).unwrap();
    assert_eq!(req(&second).method, Method::Invite);
}

/// A `;` and an escaped `@` inside the user part.
fn semiuri(m: &Message) {
    let r = req(m);
    assert_eq!(r.uri.user.as_deref(), Some("user;par=u%40example.net"));
    assert_eq!(r.uri.host, "example.com");
    assert!(r.uri.params.0.is_empty());
    assert_eq!(m.headers().all("Accept").count(), 6);
}

/// Known and unknown transports in Via.
fn transports(m: &Message) {
    let t: Vec<String> = vias(m).into_iter().map(|v| v.transport).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    assert_eq!(req(m).call_id(), Some("transports.kijh4akdnaqjkwendsasfdj"));
}

/// A multipart body with binary (NUL) octets, framed by Content-Length.
fn mpart01(m: &Message) {
    let r = req(m);
    assert_eq!(r.method, Method::Message);
    assert_eq!(r.body.len(), 553);
    assert!(r.body.contains(&0));
    assert!(r.body.ends_with(b"--7a9cbec02ceef655--\r\n"));
    assert_eq!(
        r.content_type(),
        Some("multipart/mixed;boundary=7a9cbec02ceef655")
    );
    assert_eq!(vias(m)[0].port, Some(5070));
}

/// A reason phrase with UTF-8 and symbols.
fn unreason(m: &Message) {
    let r = resp(m);
    assert_eq!(r.status, 200);
    assert!(r.reason.starts_with("= 2**3 * 5**2 "), "{}", r.reason);
    assert!(r.reason.contains("сто девяносто девять"), "{}", r.reason);
    sdp_body(m, 154);
}

/// An empty reason phrase.
fn noreason(m: &Message) {
    let r = resp(m);
    assert_eq!((r.status, r.reason.as_str()), (100, ""));
}

fn baddate(m: &Message) {
    assert_eq!(header(m, "Date"), "Fri, 01 Jan 2010 16:00:00 EST");
}

fn badbranch(m: &Message) {
    assert_eq!(req(m).branch().as_deref(), Some("z9hG4bK"));
}

fn unkscm(m: &Message) {
    let r = req(m);
    assert_eq!(r.uri.scheme, "nobodyknowsthisscheme");
    assert_eq!(r.uri.user.as_deref(), Some("totallyopaquecontent"));
}

fn novelsc(m: &Message) {
    let r = req(m);
    assert_eq!(r.uri.scheme, "soap.beep");
    assert_eq!(r.uri.to_string(), "soap.beep://192.0.2.103:3002");
}

fn unksm2(m: &Message) {
    assert_eq!(name_addr(m, "To").uri.scheme, "isbn");
    assert_eq!(name_addr(m, "From").uri.scheme, "http");
    assert_eq!(req(m).contacts()[0].uri.scheme, "name");
}

fn bext01(m: &Message) {
    assert_eq!(m.headers().all("Require").count(), 2);
    assert_eq!(
        m.headers().all("Proxy-Require").collect::<Vec<_>>(),
        ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]
    );
}

fn invut(m: &Message) {
    let r = req(m);
    assert_eq!(r.content_type(), Some("application/unknownformat"));
    assert_eq!(r.body.len(), 40);
}

fn regaut01(m: &Message) {
    assert_eq!(
        header(m, "Authorization"),
        "NoOneKnowsThisScheme opaque-data=here"
    );
}

fn bcast(m: &Message) {
    let v = vias(m);
    assert_eq!(resp(m).status, 200);
    assert_eq!(v[1].host, "255.255.255.255");
}

fn zeromf(m: &Message) {
    assert_eq!(header(m, "Max-Forwards"), "0");
}

/// `unknownparam` after an addr-spec belongs to the Contact, not to the URI.
fn cparam01(m: &Message) {
    let c = &req(m).contacts()[0];
    assert!(c.params.has("unknownparam"));
    assert!(!c.uri.params.has("unknownparam"));
    assert_eq!(c.uri.user.as_deref(), Some("+19725552222"));
}

/// Inside `<>` it belongs to the URI.
fn cparam02(m: &Message) {
    let c = &req(m).contacts()[0];
    assert!(c.uri.params.has("unknownparam"));
    assert!(!c.params.has("unknownparam"));
}

/// An escaped header in a Contact URI (`M:` compact form) is kept.
fn regescrt(m: &Message) {
    let c = &req(m).contacts()[0];
    assert_eq!(
        c.uri.headers.as_deref(),
        Some("Route=%3Csip:sip.example.com%3E")
    );
    assert_eq!(
        c.uri.to_string(),
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
    );
}

fn sdp01(m: &Message) {
    assert_eq!(header(m, "Accept"), "text/nobodyKnowsThis");
    sdp_body(m, 150);
}

/// RFC 2543 style: no branch, no From tag, no Content-Length (the body is the rest of the
/// datagram), no Max-Forwards.
fn inv2543(m: &Message) {
    let r = req(m);
    assert_eq!(r.branch(), None);
    assert_eq!(r.from_tag(), None);
    assert!(r.headers.get("Max-Forwards").is_none());
    assert!(r.body.starts_with(b"v=0\r\n"));
    assert!(r.body.ends_with(b"m=audio 49217 RTP/AVP 0\r\n"));
}
