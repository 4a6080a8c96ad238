//! RFC 4475's torture messages sent to a running gateway over UDP: each request the parser
//! accepts gets an answer, each one it refuses gets the 400 (or 505) the parser's reply
//! builder makes, or nothing when it cannot be answered; the gateway keeps working.

mod common;

use std::time::Duration;

use centrala_sip::message::{Message, SipMessage, bad_request_for, parse_datagram};
use common::{DOMAIN, start};
use tokio::net::UdpSocket;

/// The status codes of the responses that come back (a 400 echoes the sender's own broken
/// headers, so only the status line is read).
async fn replies(sock: &UdpSocket, wait: Duration) -> Vec<u16> {
    let mut out = Vec::new();
    let mut buf = vec![0; 65536];
    while let Ok(Ok((n, _))) = tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
        let text = String::from_utf8_lossy(&buf[..n]);
        let status = text
            .strip_prefix("SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse().ok());
        out.push(status.expect("a response from the gateway"));
    }
    out
}

#[tokio::test]
async fn every_torture_message_is_answered_refused_or_dropped_and_the_gateway_survives() {
    let gw = start().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sip/tests/vectors/rfc4475");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("RFC 4475 vectors")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "{} vectors", files.len());
    let mut answered = 0;
    let mut seen: Vec<(Option<String>, String)> = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sock.send_to(&bytes, gw.udp_addr).await.unwrap();
        let statuses = replies(&sock, Duration::from_millis(250)).await;
        match parse_datagram(&bytes) {
            Ok(Message::Request(r)) if r.method.as_str() != "ACK" => {
                // cparam01 and cparam02 share a branch: by RFC 3261 17.2.3 the second is a
                // retransmission of the first, answered on the first one's flow.
                let key = (r.branch(), r.method.as_str().to_string());
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                assert!(
                    !statuses.is_empty(),
                    "{name}: a valid request gets an answer"
                );
                answered += 1;
            }
            Ok(_) => assert!(
                statuses.is_empty(),
                "{name}: responses and ACKs are not answered"
            ),
            Err(e) => match bad_request_for(&bytes, &e.to_string()) {
                Some(expected) => assert_eq!(statuses, [expected.status], "{name}: {e}"),
                None => assert!(statuses.is_empty(), "{name}: unanswerable, dropped"),
            },
        }
    }
    assert!(answered >= 10, "answered {answered}");
    // Still serving.
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ping = format!(
        "OPTIONS sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKalive\r\nMax-Forwards: 70\r\nTo: <sip:{DOMAIN}>\r\nFrom: <sip:t@{DOMAIN}>;tag=a\r\nCall-ID: alive\r\nCSeq: 1 OPTIONS\r\n\r\n"
    );
    sock.send_to(ping.as_bytes(), gw.udp_addr).await.unwrap();
    assert_eq!(replies(&sock, Duration::from_millis(500)).await, [200]);
}
