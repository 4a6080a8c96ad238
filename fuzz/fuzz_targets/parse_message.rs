//! Any bytes as one datagram or WebSocket message: parsing never panics, a parsed message
//! re-serialises to bytes that parse to the same message (and serialise the same again), and
//! the 400 built for refused bytes is itself a well-formed response. Every line's value is
//! also given to the allocation-free checks the parser validates headers with, which must
//! accept exactly what the full parsers accept.
#![no_main]

use centrala_sip::message::{Message, NameAddr, Via, bad_request_for, parse, parse_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            let value = line.split_once(':').map_or(line, |(_, v)| v);
            assert_eq!(
                NameAddr::check(value).is_ok(),
                NameAddr::parse(value).is_ok(),
                "NameAddr::check and parse disagree on {value:?}"
            );
            assert_eq!(
                Via::check(value).is_ok(),
                Via::parse(value).is_ok(),
                "Via::check and parse disagree on {value:?}"
            );
        }
    }
    // The stream entry point must agree with the datagram one on what it accepts.
    let _ = parse(data);
    match parse_datagram(data) {
        Ok(m) => {
            let bytes = m.to_bytes();
            let again = parse_datagram(&bytes).unwrap_or_else(|e| {
                panic!(
                    "re-serialised message does not parse: {e}\n{}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            assert_eq!(
                without_length(&m),
                without_length(&again),
                "round trip changed the message"
            );
            assert_eq!(again.to_bytes(), bytes, "serialising is not stable");
        }
        Err(e) => {
            if let Some(r) = bad_request_for(data, &e.to_string()) {
                assert!(matches!(r.status, 400 | 505));
                assert!(!r.reason.contains(['\r', '\n']));
                // The answer must at least be one message with the five headers copied.
                let bytes = r.to_bytes();
                assert!(bytes.ends_with(b"\r\n\r\n"));
                assert_eq!(bytes.windows(4).filter(|w| w == b"\r\n\r\n").count(), 1);
            }
        }
    }
});

/// `to_bytes` writes Content-Length last, from the body: compare without it.
fn without_length(m: &Message) -> Message {
    let mut m = m.clone();
    match &mut m {
        Message::Request(r) => r.headers.remove("Content-Length"),
        Message::Response(r) => r.headers.remove("Content-Length"),
    }
    m
}
