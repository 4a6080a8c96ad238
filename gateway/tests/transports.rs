//! SIP over UDP and TCP next to WebSocket, trusted peers, and the edge's protections.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use centrala_sip::digest::{Challenge, Credentials};
use centrala_sip::message::{Message, Response, SipMessage, parse_datagram};
use centrala_sip::ua::Event;
use common::peer::{Peer, answer, tls_connect};
use common::{DOMAIN, Phone, Raw, SDP, password, start, start_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

async fn websocket_calls_a_desk_phone_on(mut desk: Peer, gw: &common::Gateway) {
    desk.register("102").await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let call = alice.call("102", SDP).await;
    let invite = desk.request().await;
    assert_eq!(invite.method.as_str(), "INVITE");
    let top = invite.top_via().unwrap();
    assert_eq!(
        top.transport,
        desk.transport(),
        "our Via names the outgoing transport"
    );
    // Double Record-Route: one entry for the desk phone's side, one for the browser's.
    let rr: Vec<&str> = invite.headers.all("Record-Route").collect();
    assert_eq!(rr.len(), 2, "{rr:?}");
    assert!(rr[1].contains("transport=ws"), "{rr:?}");
    let (me, t) = (desk.local(), desk.transport());
    desk.send(&String::from_utf8(answer(&invite, 180, me, t).to_bytes()).unwrap())
        .await;
    alice.expect(|e| matches!(e, Event::Ringing { .. })).await;
    desk.send(&String::from_utf8(answer(&invite, 200, me, t).to_bytes()).unwrap())
        .await;
    alice.expect(|e| matches!(e, Event::Answered { .. })).await;
    let ack = desk.request().await;
    assert_eq!(ack.method.as_str(), "ACK");
    alice.hangup(call).await;
    let bye = loop {
        let r = desk.request().await;
        if r.method.as_str() == "BYE" {
            break r;
        }
    };
    desk.send(&String::from_utf8(bye.response(200, "OK").to_bytes()).unwrap())
        .await;
}

#[tokio::test]
async fn browser_calls_a_udp_phone_through_the_gateway() {
    let gw = start().await;
    let desk = Peer::udp(gw.udp_addr).await;
    websocket_calls_a_desk_phone_on(desk, &gw).await;
}

#[tokio::test]
async fn browser_calls_a_tcp_phone_through_the_gateway() {
    let gw = start().await;
    let desk = Peer::tcp(gw.tcp_addr).await;
    websocket_calls_a_desk_phone_on(desk, &gw).await;
}

#[tokio::test]
async fn browser_calls_a_tls_phone_through_the_gateway() {
    let gw = start().await;
    let desk = Peer::tls(gw.tls_addr, &gw.cert_der).await;
    websocket_calls_a_desk_phone_on(desk, &gw).await;
}

#[tokio::test]
async fn sip_over_secure_websocket_registers() {
    let gw = start().await;
    let tls = tls_connect(gw.https_addr, &gw.cert_der).await;
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("wss://127.0.0.1:{}/sip", gw.https_addr.port()),
    )
    .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
    let (ws, _) = tokio_tungstenite::client_async(req, tls)
        .await
        .expect("WSS upgrade");
    let mut ws = ws;
    use futures_util::{SinkExt, StreamExt};
    let reg = format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/WSS x.invalid;branch=z9hG4bKwss\r\nMax-Forwards: 70\r\nTo: <sip:101@{DOMAIN}>\r\nFrom: <sip:101@{DOMAIN}>;tag=w\r\nCall-ID: wss1\r\nCSeq: 1 REGISTER\r\nContact: <sip:w@x.invalid;transport=ws>\r\n\r\n"
    );
    ws.send(tokio_tungstenite::tungstenite::Message::Text(reg.into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Response(r) = parse_datagram(reply.into_text().unwrap().as_bytes()).unwrap()
    else {
        panic!("response")
    };
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn invite_to_a_silent_udp_phone_is_retransmitted() {
    let gw = start().await;
    let mut desk = Peer::udp(gw.udp_addr).await;
    desk.register("102").await;
    let alice = Phone::registered(gw.addr, "101", 1).await;
    alice.call("102", SDP).await;
    let first = desk.request().await;
    let again = desk.request().await;
    assert_eq!(
        first.branch(),
        again.branch(),
        "Timer A resends the same INVITE"
    );
}

#[tokio::test]
async fn udp_replies_carry_received_and_rport() {
    let gw = start().await;
    let mut p = Peer::udp(gw.udp_addr).await;
    let me = p.local();
    p.send(&format!("OPTIONS sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKo1;rport\nMax-Forwards: 70\nTo: <sip:{DOMAIN}>\nFrom: <sip:x@{DOMAIN}>;tag=1\nCall-ID: o1\nCSeq: 1 OPTIONS\n\n")).await;
    let r = p.final_response().await;
    assert_eq!(r.status, 200);
    let via = r.top_via().unwrap();
    assert_eq!(
        via.params.value("received"),
        Some(me.ip().to_string().as_str())
    );
    assert_eq!(
        via.params.value("rport"),
        Some(me.port().to_string().as_str())
    );
}

fn invite_from_trunk(me: SocketAddr, to: &str, branch: &str) -> String {
    format!(
        "INVITE sip:{to}@{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch={branch};rport\nMax-Forwards: 70\nTo: <sip:{to}@{DOMAIN}>\nFrom: <sip:48226006100@{DOMAIN}>;tag=trunk\nCall-ID: {branch}\nCSeq: 1 INVITE\nContact: <sip:trunk@{me}>\nContent-Type: application/sdp\nContent-Length: {}\n\n{SDP}",
        SDP.len()
    )
}

#[tokio::test]
async fn trusted_peer_is_not_challenged_but_others_are() {
    let gw = start_with(|c| c.trusted = vec!["udp:127.0.0.1".parse().unwrap()]).await;
    let mut bob = Phone::registered(gw.addr, "102", 2).await;
    let mut trunk = Peer::udp(gw.udp_addr).await;
    let me = trunk.local();
    trunk.send(&invite_from_trunk(me, "102", "z9hG4bKt1")).await;
    let (_, from) = bob.incoming().await;
    assert_eq!(from, "48226006100");
    // REGISTER is challenged even from a trusted peer.
    trunk.send(&format!("REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKtr;rport\nMax-Forwards: 70\nTo: <sip:101@{DOMAIN}>\nFrom: <sip:101@{DOMAIN}>;tag=x\nCall-ID: tr\nCSeq: 1 REGISTER\nContact: <sip:101@{me}>\n\n")).await;
    loop {
        if let Message::Response(r) = trunk.recv().await
            && r.cseq().unwrap().method.as_str() == "REGISTER"
        {
            assert_eq!(r.status, 401);
            break;
        }
    }

    let untrusted = start().await;
    let mut stranger = Peer::udp(untrusted.udp_addr).await;
    let me = stranger.local();
    stranger
        .send(&invite_from_trunk(me, "102", "z9hG4bKt2"))
        .await;
    assert_eq!(stranger.final_response().await.status, 407);
}

/// A bare `--trusted-peer ADDR` trusts TCP and TLS, where a source cannot be forged, and not
/// UDP (a forged datagram would make free calls) nor WebSocket (any web page on that host).
#[tokio::test]
async fn a_trusted_address_is_trusted_only_on_the_transports_named() {
    let gw = start_with(|c| c.trusted = vec!["127.0.0.1".parse().unwrap()]).await;
    let mut bob = Phone::registered(gw.addr, "102", 2).await;
    let mut udp = Peer::udp(gw.udp_addr).await;
    let me = udp.local();
    udp.send(&invite_from_trunk(me, "102", "z9hG4bKu1")).await;
    assert_eq!(udp.final_response().await.status, 407);
    let mut ws = Raw::connect(gw.addr).await;
    ws.send(&invite_from_trunk(me, "102", "z9hG4bKw1").replace("SIP/2.0/UDP", "SIP/2.0/WS"))
        .await;
    assert_eq!(ws.final_response().await.status, 407);
    let mut tcp = Peer::tcp(gw.tcp_addr).await;
    let me = tcp.local();
    tcp.send(&invite_from_trunk(me, "102", "z9hG4bKc1").replace("SIP/2.0/UDP", "SIP/2.0/TCP"))
        .await;
    let (_, from) = bob.incoming().await;
    assert_eq!(from, "48226006100");
}

/// Bad passwords from one source lock that source out for the user, not the user everywhere:
/// the real phone on another address still registers.
#[tokio::test]
async fn bad_tries_from_one_address_do_not_lock_the_user_out_elsewhere() {
    let gw = start().await;
    let mut mallory = Peer::udp_from("127.0.0.2".parse().unwrap(), gw.udp_addr).await;
    let me = mallory.local();
    let mut statuses = Vec::new();
    for i in 0..7u32 {
        let reg = |cseq: u32, auth: String| {
            format!(
                "REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKm{cseq}\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>\nFrom: <sip:102@{DOMAIN}>;tag=m\nCall-ID: m\nCSeq: {cseq} REGISTER\nContact: <sip:102@{me}>\n{auth}\n"
            )
        };
        mallory.send(&reg(2 * i + 1, String::new())).await;
        let r = mallory.final_response().await;
        let Some(ch) = Challenge::pick(r.headers.all("WWW-Authenticate")) else {
            statuses.push(r.status);
            continue;
        };
        let creds = Credentials::answer(
            &ch,
            "REGISTER",
            &format!("sip:{DOMAIN}"),
            "102",
            "guess",
            "c",
            1,
        );
        mallory
            .send(&reg(2 * i + 2, format!("Authorization: {creds}\n")))
            .await;
        statuses.push(mallory.final_response().await.status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 403, 403]);
    // The real desk phone, on 127.0.0.1, registers with the right password.
    let mut desk = Peer::udp(gw.udp_addr).await;
    desk.register("102").await;
}

#[tokio::test]
async fn a_flooding_source_is_banned_while_other_users_keep_calling() {
    let gw = start_with(|c| c.limits.flood_max_requests = 50).await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let mut bob = Phone::registered(gw.addr, "102", 2).await;
    // 127.0.0.66 sends ten times what it is allowed.
    let flood = UdpSocket::bind("127.0.0.66:0").await.unwrap();
    let mut answered = 0;
    for i in 0..500 {
        let m = format!(
            "OPTIONS sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.66;branch=z9hG4bKf{i}\r\nMax-Forwards: 70\r\nTo: <sip:{DOMAIN}>\r\nFrom: <sip:x@{DOMAIN}>;tag=f\r\nCall-ID: f{i}\r\nCSeq: 1 OPTIONS\r\n\r\n"
        );
        flood.send_to(m.as_bytes(), gw.udp_addr).await.unwrap();
    }
    let mut buf = vec![0; 4096];
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(300), flood.recv_from(&mut buf)).await
    {
        answered += 1;
    }
    assert!(answered <= 50, "answered {answered} of 500");
    alice.connected_call(&mut bob, "102").await;
}

#[tokio::test]
async fn failed_logins_are_limited_per_user_without_revealing_who_exists() {
    let gw = start().await;
    for ext in ["102", "999"] {
        let mut p = Peer::udp(gw.udp_addr).await;
        let me = p.local();
        let mut statuses = Vec::new();
        for i in 0..8u32 {
            p.send(&format!("REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKb{ext}{i}\nMax-Forwards: 70\nTo: <sip:{ext}@{DOMAIN}>\nFrom: <sip:{ext}@{DOMAIN}>;tag=b\nCall-ID: b{ext}\nCSeq: {} REGISTER\nContact: <sip:{ext}@{me}>\n\n", 2 * i + 1)).await;
            let ch = p.final_response().await;
            let Some(challenge) = Challenge::pick(ch.headers.all("WWW-Authenticate")) else {
                statuses.push(ch.status);
                continue;
            };
            let creds = Credentials::answer(
                &challenge,
                "REGISTER",
                &format!("sip:{DOMAIN}"),
                ext,
                "guess",
                "c",
                1,
            );
            p.send(&format!("REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKc{ext}{i}\nMax-Forwards: 70\nTo: <sip:{ext}@{DOMAIN}>\nFrom: <sip:{ext}@{DOMAIN}>;tag=b\nCall-ID: b{ext}\nCSeq: {} REGISTER\nContact: <sip:{ext}@{me}>\nAuthorization: {creds}\n\n", 2 * i + 2)).await;
            statuses.push(p.final_response().await.status);
        }
        assert_eq!(statuses, [401, 401, 401, 401, 401, 403, 403, 403], "{ext}");
    }
    // The real user's right password is refused too while the block lasts.
    let mut locked = Phone::connect(gw.addr, "102", &password("102"), 9).await;
    let e = locked
        .expect(|e| {
            matches!(
                e,
                Event::Registration(centrala_sip::ua::RegistrationState::Failed(_))
            )
        })
        .await;
    assert!(matches!(e, Event::Registration(_)));
}

/// Past `max_connections` in all, a WebSocket gets 503 with a JSON reason and Retry-After,
/// a TCP connection is closed at once, and a freed slot is usable again.
#[tokio::test]
async fn a_full_gateway_refuses_new_connections_at_once() {
    let gw = start_with(|c| c.limits.max_connections = 2).await;
    let a = Raw::connect(gw.addr).await;
    let _b = Raw::connect(gw.addr).await;
    let url = format!("ws://{}/sip", gw.addr);
    let full = || {
        let mut req =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                url.as_str(),
            )
            .unwrap();
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
        tokio_tungstenite::connect_async(req)
    };
    match full().await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503);
            assert_eq!(
                resp.headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap()),
                Some("5")
            );
            let body: serde_json::Value =
                serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap();
            assert_eq!(body["error"], "server_full", "{body}");
        }
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    let mut tcp = TcpStream::connect(gw.tcp_addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf))
        .await
        .expect("closed at once, not left waiting");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    drop(a);
    let mut freed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if full().await.is_ok() {
            freed = true;
            break;
        }
    }
    assert!(freed, "a closed connection gives its slot back");
}

#[tokio::test]
async fn connections_per_address_are_capped() {
    let gw = start_with(|c| c.limits.max_connections_per_ip = 3).await;
    let _a = Raw::connect(gw.addr).await;
    let _b = Raw::connect(gw.addr).await;
    let _c = Raw::connect(gw.addr).await;
    let url = format!("ws://{}/sip", gw.addr);
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 429),
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn silent_and_slow_connections_are_closed() {
    let gw = start_with(|c| {
        c.limits.idle_timeout_ms = 300;
        c.limits.partial_timeout_ms = 300;
    })
    .await;
    // Never says anything.
    let mut silent = TcpStream::connect(gw.tcp_addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(3), silent.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(n, Ok(0) | Err(_)));
    // Slowloris: one header line at a time, never finishing.
    let mut slow = TcpStream::connect(gw.tcp_addr).await.unwrap();
    slow.write_all(b"OPTIONS sip:x SIP/2.0\r\n").await.unwrap();
    let closed = async {
        for i in 0.. {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if slow
                .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
            let mut b = [0u8; 16];
            if let Ok(Ok(0)) =
                tokio::time::timeout(Duration::from_millis(1), slow.read(&mut b)).await
            {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(3), closed)
        .await
        .expect("slowloris cut off");
    // A WebSocket that never sends SIP is closed as well.
    let mut ws = Raw::connect(gw.addr).await;
    let end = tokio::time::timeout(
        Duration::from_secs(3),
        futures_util::StreamExt::next(&mut ws.ws),
    )
    .await
    .expect("closed in time");
    assert!(
        matches!(
            end,
            None | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | Some(Err(_))
        ),
        "{end:?}"
    );
}

/// Desk phones on UDP, TCP and TLS get one MD5 challenge, as Kamailio and Asterisk send
/// (baresip refuses a set with an algorithm it does not know); WebSocket gets SHA-256 and then
/// MD5 (JsSIP keeps the last); a credential set to SHA-256 gets only that, on any transport.
#[tokio::test]
async fn challenges_offer_md5_alone_to_desk_phones_and_sha256_first_on_websocket() {
    use centrala_sip::digest::Algorithm::{Md5, Sha256};
    let gw = start().await;
    let reg = |ext: &str, t: &str, me: SocketAddr| {
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/{t} {me};branch=z9hG4bKord{t}{ext}\nMax-Forwards: 70\nTo: <sip:{ext}@{DOMAIN}>\nFrom: <sip:{ext}@{DOMAIN}>;tag=o\nCall-ID: ord-{t}-{ext}\nCSeq: 1 REGISTER\nContact: <sip:{ext}@{me}>\n\n"
        )
    };
    let offered = |r: &Response| -> Vec<centrala_sip::digest::Algorithm> {
        r.headers
            .all("WWW-Authenticate")
            .map(|h| Challenge::parse(h).unwrap().algorithm)
            .collect()
    };
    let mut udp = Peer::udp(gw.udp_addr).await;
    let me = udp.local();
    udp.send(&reg("101", "UDP", me)).await;
    assert_eq!(offered(&udp.final_response().await), [Md5]);
    let mut tcp = Peer::tcp(gw.tcp_addr).await;
    let me_tcp = tcp.local();
    tcp.send(&reg("101", "TCP", me_tcp)).await;
    assert_eq!(offered(&tcp.final_response().await), [Md5]);
    let mut ws = Raw::connect(gw.addr).await;
    ws.send(&reg("101", "WS", me)).await;
    assert_eq!(offered(&ws.final_response().await), [Sha256, Md5]);
    // An unknown extension is challenged like a known one (nothing tells them apart).
    udp.send(&reg("999", "UDP", me)).await;
    assert_eq!(offered(&udp.final_response().await), [Md5]);
    // 103's credential is set to SHA-256 (`user set --digest sha-256`).
    let store = centrala_gateway::store::Store::open(gw.dir.path())
        .await
        .unwrap();
    store
        .set_sip_digest(
            centrala_gateway::accounts::DEFAULT_COMPANY,
            "103",
            Some(Sha256),
        )
        .await
        .unwrap();
    // (103 was never looked up, so nothing of it is cached.)
    udp.send(&reg("103", "UDP", me)).await;
    assert_eq!(offered(&udp.final_response().await), [Sha256]);
    ws.send(&reg("103", "WS", me)).await;
    assert_eq!(offered(&ws.final_response().await), [Sha256]);
}

#[tokio::test]
async fn a_retransmitted_200_reaches_the_caller_and_is_acknowledged_again() {
    let gw = start().await;
    let mut desk = Peer::udp(gw.udp_addr).await;
    desk.register("102").await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    alice.call("102", SDP).await;
    let invite = desk.request().await;
    let (me, t) = (desk.local(), desk.transport());
    let ok = String::from_utf8(answer(&invite, 200, me, t).to_bytes()).unwrap();
    desk.send(&ok).await;
    alice.expect(|e| matches!(e, Event::Answered { .. })).await;
    assert_eq!(desk.request().await.method.as_str(), "ACK");
    // The phone did not see the ACK (say) and resends its 200: it must get an ACK again.
    desk.send(&ok).await;
    let again = loop {
        let r = desk.request().await;
        if r.method.as_str() != "INVITE" {
            break r;
        }
    };
    assert_eq!(again.method.as_str(), "ACK");
}
