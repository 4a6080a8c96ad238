//! The SIP WebSocket's own layer (gateway/src/ws.rs) against a real client and raw bytes:
//! the opening handshake's refusals, pings, fragments, keepalives, and the close codes for
//! a client that breaks RFC 6455.

mod common;

use common::{DOMAIN, Raw, start};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

fn options(branch: &str) -> String {
    format!(
        "OPTIONS sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/WSS abc.invalid;branch=z9hG4bK{branch}\r\nMax-Forwards: 70\r\nTo: <sip:{DOMAIN}>\r\nFrom: <sip:101@{DOMAIN}>;tag=o1\r\nCall-ID: opt-{branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// The next frame that is not a SIP message of no interest, within 5 s.
async fn next(raw: &mut Raw) -> Message {
    tokio::time::timeout(Duration::from_secs(5), raw.ws.next())
        .await
        .expect("a frame within 5 s")
        .expect("stream open")
        .expect("frame")
}

#[tokio::test]
async fn pings_are_answered_and_fragmented_messages_joined() {
    let gw = start().await;
    let mut raw = Raw::connect(gw.addr).await;
    raw.ws
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(
        next(&mut raw).await,
        Message::Pong(b"are you there".to_vec().into())
    );

    // One SIP request in three frames, with a ping between two of them.
    let text = options("frag1");
    let (a, rest) = text.split_at(10);
    let (b, c) = rest.split_at(40);
    let part = |op: Data, fin: bool, s: &str| {
        Message::Frame(Frame::message(s.as_bytes().to_vec(), OpCode::Data(op), fin))
    };
    raw.ws.send(part(Data::Text, false, a)).await.unwrap();
    raw.ws.send(part(Data::Continue, false, b)).await.unwrap();
    raw.ws
        .send(Message::Ping(b"mid".to_vec().into()))
        .await
        .unwrap();
    raw.ws.send(part(Data::Continue, true, c)).await.unwrap();
    assert_eq!(next(&mut raw).await, Message::Pong(b"mid".to_vec().into()));
    let answer = raw.recv_text().await;
    assert!(answer.starts_with("SIP/2.0 "), "{answer}");
    assert!(answer.contains("z9hG4bKfrag1"), "{answer}");

    // RFC 5626 keepalive over WebSocket: a double CRLF gets a single CRLF.
    raw.ws.send(Message::Text("\r\n\r\n".into())).await.unwrap();
    assert_eq!(next(&mut raw).await, Message::Text("\r\n".into()));
}

#[tokio::test]
async fn a_close_is_answered_with_the_same_code() {
    let gw = start().await;
    let mut raw = Raw::connect(gw.addr).await;
    raw.ws
        .send(Message::Close(Some(
            tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Away,
                reason: "".into(),
            },
        )))
        .await
        .unwrap();
    match next(&mut raw).await {
        Message::Close(Some(f)) => assert_eq!(f.code, CloseCode::Away),
        other => panic!("expected a close, got {other:?}"),
    }
}

/// A WebSocket opened by hand, for frames no client library will send.
async fn open_raw(addr: SocketAddr, extra: &str) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /sip HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut byte))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert_eq!(
            n,
            1,
            "closed during the handshake: {}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    (tcp, String::from_utf8(head).unwrap())
}

/// Reads the rest of the connection (at most 5 s) and returns the close code of the close
/// frame it ends with.
async fn close_code(tcp: &mut TcpStream) -> Option<u16> {
    let mut all = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut all)).await;
    // The server's frames are unmasked; the last one is the close.
    let mut i = 0;
    let mut code = None;
    while i + 2 <= all.len() {
        let (op, len) = (all[i] & 0x0f, (all[i + 1] & 0x7f) as usize);
        assert!(len < 126, "a short frame");
        if op == 8 && len >= 2 {
            code = Some(u16::from_be_bytes([all[i + 2], all[i + 3]]));
        }
        i += 2 + len;
    }
    code
}

fn client_frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let header = FrameHeader {
        is_final: first & 0x80 != 0,
        rsv1: first & 0x40 != 0,
        rsv2: false,
        rsv3: false,
        opcode: OpCode::from(first & 0x0f),
        mask: masked.then_some([1, 2, 3, 4]),
    };
    let mut out = Vec::new();
    header.format(payload.len() as u64, &mut out).unwrap();
    out.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, b)| if masked { b ^ [1, 2, 3, 4][i & 3] } else { *b }),
    );
    out
}

#[tokio::test]
async fn a_client_breaking_the_protocol_is_closed_with_a_reason_code() {
    let gw = start().await;
    let cases: [(&str, Vec<u8>, u16); 4] = [
        (
            "unmasked frame",
            client_frame(0x81, b"OPTIONS", false),
            1002,
        ),
        (
            "extension bit without an extension",
            client_frame(0xc1, b"x", true),
            1002,
        ),
        (
            "text that is not UTF-8",
            client_frame(0x81, &[0xc3, 0x28], true),
            1007,
        ),
        (
            "a message over the SIP size limit",
            {
                let mut f = client_frame(0x82, b"", true);
                // 8-byte length of 1 MiB, then the mask; the payload never needs to come.
                f.truncate(1);
                f.push(0x80 | 127);
                f.extend((1u64 << 20).to_be_bytes());
                f.extend([1, 2, 3, 4]);
                f
            },
            1009,
        ),
    ];
    for (name, frame, want) in cases {
        let (mut tcp, head) = open_raw(
            gw.addr,
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 101"), "{name}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
            "{head}"
        );
        tcp.write_all(&frame).await.unwrap();
        assert_eq!(close_code(&mut tcp).await, Some(want), "{name}");
    }
}

#[tokio::test]
async fn handshakes_that_are_not_websocket_13_are_refused_with_json() {
    let gw = start().await;
    let (_tcp, head) = open_raw(
        gw.addr,
        "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Protocol: sip\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{head}"
    );

    let (_tcp, head) = open_raw(gw.addr, "Sec-WebSocket-Version: 13\r\n").await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");

    let resp = plain_get(gw.addr).await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("\"websocket_required\""), "{resp}");
}

/// A plain GET of /sip, answered in full.
async fn plain_get(addr: SocketAddr) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET /sip HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut all))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    String::from_utf8_lossy(&all).into_owned()
}
