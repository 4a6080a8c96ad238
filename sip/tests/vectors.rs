//! Data-driven parser tests on real captures (see tests/vectors/README.md).

use std::path::PathBuf;

use centrala_sip::digest::Credentials;
use centrala_sip::message::{Message, SipMessage, parse_datagram};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/captures")
}

fn captures() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .expect("captures folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn parse(name: &str) -> Message {
    let bytes = std::fs::read(dir().join(name)).expect(name);
    parse_datagram(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The same message with compact header names and all Via values joined on one line.
fn compact_form(text: &str) -> String {
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let mut lines: Vec<String> = Vec::new();
    let mut vias: Vec<String> = Vec::new();
    for (i, line) in head.split("\r\n").enumerate() {
        if i == 0 {
            lines.push(line.to_string());
            continue;
        }
        let (name, value) = line.split_once(':').expect("header");
        let short = match name.to_ascii_lowercase().as_str() {
            "via" => {
                vias.push(value.trim().to_string());
                continue;
            }
            "call-id" => "i",
            "contact" => "m",
            "from" => "f",
            "to" => "t",
            "content-length" => "l",
            "content-type" => "c",
            "supported" => "k",
            _ => name,
        };
        lines.push(format!("{short}:{value}"));
    }
    lines.insert(1, format!("v: {}", vias.join(" , ")));
    format!("{}\r\n\r\n{body}", lines.join("\r\n"))
}

#[test]
fn every_capture_parses_and_survives_a_round_trip() {
    let all = captures();
    assert!(all.len() >= 15, "captures present: {}", all.len());
    for (name, bytes) in all {
        let m = parse_datagram(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again =
            parse_datagram(&m.to_bytes()).unwrap_or_else(|e| panic!("{name} re-serialised: {e}"));
        assert_eq!(m, again, "{name}");
    }
}

#[test]
fn compact_and_comma_joined_forms_parse_the_same() {
    for (name, bytes) in captures() {
        let text = String::from_utf8(bytes).unwrap();
        let long = parse_datagram(text.as_bytes()).unwrap();
        let short = parse_datagram(compact_form(&text).as_bytes())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let norm = |m: &Message| {
            let mut h: Vec<(String, String)> = m
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            h.sort();
            h
        };
        assert_eq!(norm(&long), norm(&short), "{name}");
    }
}

#[test]
fn jssip_register_carries_outbound_parameters() {
    let Message::Request(r) = parse("jssip-00-REGISTER.sip") else {
        panic!("request")
    };
    let via = r.top_via().unwrap();
    assert_eq!(via.transport, "WS");
    assert!(via.host.ends_with(".invalid"));
    let c = &r.contacts()[0];
    assert_eq!(c.uri.params.value("transport"), Some("ws"));
    assert!(c.uri.host.ends_with(".invalid"));
    assert_eq!(c.params.value("reg-id"), Some("1"));
    assert!(c.params.has("+sip.ice"));
    let instance = c.params.value("+sip.instance").unwrap();
    assert!(
        instance.starts_with("\"<urn:uuid:") && instance.ends_with(">\""),
        "{instance}"
    );
    assert_eq!(r.expires(), Some(600));
}

#[test]
fn jssip_authorized_register_has_md5_credentials() {
    let Message::Request(r) = parse("jssip-01-REGISTER.sip") else {
        panic!("request")
    };
    let creds = Credentials::parse(r.headers.get("Authorization").unwrap()).unwrap();
    assert_eq!(creds.username, "103");
    assert_eq!(creds.qop.as_deref(), Some("auth"));
    assert_eq!(creds.nc.as_deref(), Some("00000001"));
}

#[test]
fn sipjs_invite_has_ob_contact_and_sdp_body() {
    let Message::Request(r) = parse("sipjs-02-INVITE.sip") else {
        panic!("request")
    };
    let c = &r.contacts()[0];
    assert!(c.uri.params.has("ob"));
    assert_eq!(r.content_type(), Some("application/sdp"));
    assert_eq!(
        r.headers
            .get("Content-Length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        r.body.len()
    );
    assert!(r.body.starts_with(b"v=0"));
    // Comma-joined Allow was split into one value per method.
    assert!(r.headers.all("Allow").count() > 3);
}

#[test]
fn in_dialog_requests_route_through_the_gateway() {
    for name in ["jssip-06-BYE.sip", "sipjs-06-BYE.sip"] {
        let Message::Request(r) = parse(name) else {
            panic!("request")
        };
        assert!(r.to_tag().is_some(), "{name}");
        let route = r
            .headers
            .get("Route")
            .unwrap_or_else(|| panic!("{name}: Route"));
        assert!(route.contains(";lr"), "{name}: {route}");
    }
}
