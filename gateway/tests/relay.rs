//! The gateway is no open relay: in-dialog requests go only within dialogs it record-routed,
//! between that dialog's two sides; contacts are never learned from unauthenticated messages;
//! a response counts only on its branch's own flow. Each test performs the attack.

mod common;

use std::time::Duration;

use centrala_sip::digest::{Challenge, Credentials};
use centrala_sip::message::{Message, Request, SipMessage};
use centrala_sip::ua::{CallHandle, Event};
use common::peer::{Peer, answer};
use common::{DOMAIN, Phone, Raw, SDP, start, start_on};
use tokio::net::UdpSocket;

const OTHER: &str = "other.example";

/// Whatever reaches `sock` within `ms` (nothing, when the gateway relays nothing).
async fn received(sock: &UdpSocket, ms: u64) -> Vec<String> {
    let mut got = Vec::new();
    let mut buf = vec![0; 65536];
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

/// Whatever requests reach a peer within `ms`.
async fn requests_to(peer: &mut Peer, ms: u64) -> Vec<Request> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    while let Ok(m) = tokio::time::timeout_at(deadline, peer.recv()).await {
        if let Message::Request(r) = m {
            got.push(r);
        }
    }
    got
}

/// An in-dialog request (it has a To tag) as an attacker makes one up.
fn forged(
    method: &str,
    target: &str,
    via: &str,
    call_id: &str,
    from_tag: &str,
    to_tag: &str,
) -> String {
    let body = if method == "INVITE" { SDP } else { "" };
    let ctype = if method == "INVITE" {
        "Content-Type: application/sdp\n"
    } else if method == "MESSAGE" {
        "Content-Type: text/plain\n"
    } else {
        ""
    };
    let event = if method == "NOTIFY" {
        "Event: presence\nSubscription-State: active\n"
    } else {
        ""
    };
    format!(
        "{method} {target} SIP/2.0\nVia: {via};branch=z9hG4bK{}{call_id}{}\nMax-Forwards: 70\nFrom: <sip:mallory@{DOMAIN}>;tag={from_tag}\nTo: <sip:victim@{DOMAIN}>;tag={to_tag}\nCall-ID: {call_id}\nCSeq: 7 {method}\nContact: <sip:mallory@{via_host}>\n{event}{ctype}Content-Length: {}\n\n{body}",
        method.to_lowercase(),
        via.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>(),
        body.len(),
        via_host = via.rsplit(' ').next().unwrap_or_default(),
    )
}

#[tokio::test]
async fn in_dialog_requests_without_a_dialog_of_ours_reach_nobody() {
    // A second company with a desk phone, to aim at another company's contact.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = centrala_gateway::store::Store::open(dir.path())
            .await
            .unwrap();
        for ext in ["101", "102", "103"] {
            store
                .add_user(ext, &format!("User {ext}"), &common::password(ext), DOMAIN)
                .await
                .unwrap();
        }
        let other = store.create_company("Other", OTHER, 3).await.unwrap();
        store
            .add_sip_user(other.id, "201", "Olga", "olga-secret", OTHER)
            .await
            .unwrap();
    }
    let gw = start_on(dir, |_| {}).await;
    // A third-party host (an intranet box, say) and registered desk phones of ours.
    let bystander = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let bystander_addr = bystander.local_addr().unwrap();
    let mut desk = Peer::udp(gw.udp_addr).await;
    desk.register("102").await;
    let desk_addr = desk.local();
    let mut olga = Peer::udp(gw.udp_addr).await;
    olga.register_in("201", OTHER, "olga-secret").await;
    let olga_addr = olga.local();
    let targets = [
        format!("sip:x@{bystander_addr}"),
        format!("sip:102@{desk_addr};transport=udp"),
        format!("sip:201@{olga_addr};transport=udp"),
    ];
    let mut udp = Peer::udp(gw.udp_addr).await;
    let mut tcp = Peer::tcp(gw.tcp_addr).await;
    let mut ws = Raw::connect(gw.addr).await;
    let mut n = 0;
    for method in ["BYE", "INVITE", "MESSAGE", "NOTIFY"] {
        for target in &targets {
            n += 1;
            let call_id = format!("forged{n}");
            let text = |via: String| forged(method, target, &via, &call_id, "m", "made-up");
            udp.send(&text(format!("SIP/2.0/UDP {}", udp.local())))
                .await;
            let r = udp.final_response().await;
            assert!(
                matches!(r.status, 403 | 481),
                "{method} over UDP to {target}: {}",
                r.status
            );
            tcp.send(&text(format!("SIP/2.0/TCP {}", tcp.local())))
                .await;
            let r = tcp.final_response().await;
            assert!(
                matches!(r.status, 403 | 481),
                "{method} over TCP to {target}: {}",
                r.status
            );
            ws.send(&text("SIP/2.0/WS mallory.invalid".into())).await;
            let r = ws.final_response().await;
            assert!(
                matches!(r.status, 403 | 481),
                "{method} over WS to {target}: {}",
                r.status
            );
        }
    }
    assert_eq!(received(&bystander, 300).await, Vec::<String>::new());
    assert!(
        requests_to(&mut desk, 100).await.is_empty(),
        "our desk phone got a forged request"
    );
    assert!(
        requests_to(&mut olga, 100).await.is_empty(),
        "the other company's phone got one"
    );
    // A forged ACK is not relayed either (it gets no answer at all).
    udp.send(&forged(
        "ACK",
        &targets[0],
        &format!("SIP/2.0/UDP {}", udp.local()),
        "ack1",
        "m",
        "x",
    ))
    .await;
    assert_eq!(received(&bystander, 200).await, Vec::<String>::new());
}

/// Browser 101 calls desk phone 102 (UDP), which answers; returns the call and the INVITE
/// the desk got.
async fn call_up(alice: &mut Phone, desk: &mut Peer) -> (CallHandle, Request) {
    let call = alice.call("102", SDP).await;
    let invite = desk.request().await;
    assert_eq!(invite.method.as_str(), "INVITE");
    let (me, t) = (desk.local(), desk.transport());
    desk.send(&String::from_utf8(answer(&invite, 200, me, t).to_bytes()).unwrap())
        .await;
    alice.expect(|e| matches!(e, Event::Answered { .. })).await;
    let ack = desk.request().await;
    assert_eq!(ack.method.as_str(), "ACK");
    (call, invite)
}

#[tokio::test]
async fn an_options_carrying_a_victims_contact_does_not_divert_its_bye() {
    let gw = start().await;
    let mut desk = Peer::udp(gw.udp_addr).await;
    desk.register("102").await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let (call, invite) = call_up(&mut alice, &mut desk).await;
    let call_id = invite.call_id().unwrap().to_string();
    // Mallory claims the desk phone's Contact (as the old contact index learned it).
    let mut mallory = Peer::udp(gw.udp_addr).await;
    let victim_contact = format!("sip:callee@{};transport=udp", desk.local());
    for (i, contact) in [victim_contact.clone(), format!("sip:102@{}", desk.local())]
        .iter()
        .enumerate()
    {
        let me = mallory.local();
        mallory
            .send(&format!(
                "OPTIONS sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKopt{i}\nMax-Forwards: 70\nFrom: <sip:m@{DOMAIN}>;tag=o{i}\nTo: <sip:{DOMAIN}>\nCall-ID: opt{i}\nCSeq: 1 OPTIONS\nContact: <{contact}>\nContent-Length: 0\n\n"
            ))
            .await;
        let _ = mallory.final_response().await;
    }
    alice.hangup(call).await;
    let bye = loop {
        let r = desk.request().await;
        if r.method.as_str() == "BYE" {
            break r;
        }
    };
    assert_eq!(bye.call_id(), Some(call_id.as_str()));
    assert!(
        requests_to(&mut mallory, 300).await.is_empty(),
        "the BYE was diverted"
    );
}

#[tokio::test]
async fn a_response_from_another_flow_is_dropped() {
    let gw = start().await;
    let mut desk = Peer::udp(gw.udp_addr).await;
    desk.register("102").await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let _ = alice.call("102", SDP).await;
    let invite = desk.request().await;
    // Mallory saw (or guessed) the branch and answers busy from her own socket.
    let mut mallory = Peer::udp(gw.udp_addr).await;
    let mut busy = invite.response(486, "Busy Here");
    busy.set_to_tag("mallory");
    mallory
        .send(&String::from_utf8(busy.to_bytes()).unwrap())
        .await;
    let early: Vec<Event> = alice.events_for(400).await;
    assert!(
        !early.iter().any(|e| matches!(e, Event::Ended { .. })),
        "the forged 486 ended the call: {early:?}"
    );
    // The real phone's answer still connects the call.
    let (me, t) = (desk.local(), desk.transport());
    desk.send(&String::from_utf8(answer(&invite, 200, me, t).to_bytes()).unwrap())
        .await;
    alice.expect(|e| matches!(e, Event::Answered { .. })).await;
}

#[tokio::test]
async fn only_the_two_sides_of_a_dialog_can_send_in_it() {
    let gw = start().await;
    let mut desk = Peer::udp(gw.udp_addr).await;
    desk.register("102").await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let (_, invite) = call_up(&mut alice, &mut desk).await;
    let call_id = invite.call_id().unwrap().to_string();
    let alice_tag = invite.from_tag().unwrap();
    // Charlie is a registered, authenticated colleague, but not in this call: he knows the
    // Call-ID and both tags and tries to end it from each side's point of view.
    let mut charlie = Peer::udp(gw.udp_addr).await;
    charlie.register("103").await;
    let me = charlie.local();
    let via = format!("SIP/2.0/UDP {me}");
    for (from, to) in [
        (alice_tag.as_str(), "callee"),
        ("callee", alice_tag.as_str()),
    ] {
        charlie
            .send(&forged(
                "BYE",
                &format!("sip:callee@{}", desk.local()),
                &via,
                &call_id,
                from,
                to,
            ))
            .await;
        assert_eq!(charlie.final_response().await.status, 403);
    }
    assert!(
        requests_to(&mut desk, 300).await.is_empty(),
        "a third party's BYE reached the callee"
    );
    let events = alice.events_for(200).await;
    assert!(
        !events.iter().any(|e| matches!(e, Event::Ended { .. })),
        "{events:?}"
    );
    // The callee itself may hang up: its BYE reaches the caller, and the dialog is gone after.
    let me = desk.local();
    desk.send(&format!(
        "BYE sip:x@y.invalid;transport=ws SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKdeskbye\nMax-Forwards: 70\nFrom: <sip:102@{DOMAIN}>;tag=callee\nTo: <sip:101@{DOMAIN}>;tag={alice_tag}\nCall-ID: {call_id}\nCSeq: 9 BYE\nContent-Length: 0\n\n"
    ))
    .await;
    assert_eq!(desk.final_response().await.status, 200);
    alice.expect(|e| matches!(e, Event::Ended { .. })).await;
    desk.send(&format!(
        "BYE sip:x@y.invalid;transport=ws SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKdeskbye2\nMax-Forwards: 70\nFrom: <sip:102@{DOMAIN}>;tag=callee\nTo: <sip:101@{DOMAIN}>;tag={alice_tag}\nCall-ID: {call_id}\nCSeq: 10 BYE\nContent-Length: 0\n\n"
    ))
    .await;
    assert_eq!(desk.final_response().await.status, 481);
}

#[tokio::test]
async fn a_caller_cannot_assert_someone_elses_identity() {
    let gw = start().await;
    let mut desk = Peer::udp(gw.udp_addr).await;
    desk.register("102").await;
    // 103 calls 102 from a softphone that claims to be the boss.
    let mut caller = Peer::udp(gw.udp_addr).await;
    let me = caller.local();
    let invite = |cseq: u32, auth: String| {
        format!(
            "INVITE sip:102@{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKpai{cseq};rport\nMax-Forwards: 70\nFrom: <sip:103@{DOMAIN}>;tag=pai\nTo: <sip:102@{DOMAIN}>\nCall-ID: pai-call\nCSeq: {cseq} INVITE\nContact: <sip:103@{me}>\nP-Asserted-Identity: \"The Boss\" <sip:100@{DOMAIN}>\nRemote-Party-ID: <sip:100@{DOMAIN}>;party=calling\nP-Preferred-Identity: <sip:100@{DOMAIN}>\n{auth}Content-Type: application/sdp\nContent-Length: {}\n\n{SDP}",
            SDP.len()
        )
    };
    caller.send(&invite(1, String::new())).await;
    let challenge = caller.final_response().await;
    assert_eq!(challenge.status, 407);
    let ch = Challenge::pick(challenge.headers.all("Proxy-Authenticate")).unwrap();
    let creds = Credentials::answer(
        &ch,
        "INVITE",
        &format!("sip:102@{DOMAIN}"),
        "103",
        &common::password("103"),
        "c",
        1,
    );
    // The ACK for the 407 (hop by hop), then the INVITE again with credentials.
    caller
        .send(&format!("ACK sip:102@{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKpai1;rport\nMax-Forwards: 70\nFrom: <sip:103@{DOMAIN}>;tag=pai\nTo: <sip:102@{DOMAIN}>;tag={}\nCall-ID: pai-call\nCSeq: 1 ACK\nContent-Length: 0\n\n", challenge.to_tag().unwrap()))
        .await;
    caller
        .send(&invite(2, format!("Proxy-Authorization: {creds}\n")))
        .await;
    let got = desk.request().await;
    assert_eq!(got.method.as_str(), "INVITE");
    let pai: Vec<&str> = got.headers.all("P-Asserted-Identity").collect();
    assert_eq!(pai, [format!("\"User 103\" <sip:103@{DOMAIN}>").as_str()]);
    assert!(got.headers.get("Remote-Party-ID").is_none());
    assert!(got.headers.get("P-Preferred-Identity").is_none());
}

#[tokio::test]
async fn digest_credentials_for_another_request_uri_are_not_accepted() {
    let gw = start().await;
    let mut desk = Peer::udp(gw.udp_addr).await;
    desk.register("102").await;
    let mut caller = Peer::udp(gw.udp_addr).await;
    let me = caller.local();
    let invite = |cseq: u32, auth: String| {
        format!(
            "INVITE sip:102@{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKuri{cseq};rport\nMax-Forwards: 70\nFrom: <sip:103@{DOMAIN}>;tag=uri\nTo: <sip:102@{DOMAIN}>\nCall-ID: uri-call\nCSeq: {cseq} INVITE\nContact: <sip:103@{me}>\n{auth}Content-Length: 0\n\n"
        )
    };
    caller.send(&invite(1, String::new())).await;
    let challenge = caller.final_response().await;
    let ch = Challenge::pick(challenge.headers.all("Proxy-Authenticate")).unwrap();
    // Credentials computed for a call to 101, replayed on a call to 102.
    let creds = Credentials::answer(
        &ch,
        "INVITE",
        &format!("sip:101@{DOMAIN}"),
        "103",
        &common::password("103"),
        "c",
        1,
    );
    caller
        .send(&invite(2, format!("Proxy-Authorization: {creds}\n")))
        .await;
    assert_eq!(caller.final_response().await.status, 407);
    assert!(requests_to(&mut desk, 200).await.is_empty());
}

/// A REGISTER's digest `uri` may name this gateway by its address where the Request-URI names
/// it by its domain (sipp does): the same resource. Another user's URI is not.
#[tokio::test]
async fn a_register_digest_uri_may_name_the_gateway_by_address() {
    let gw = start().await;
    let mut phone = Peer::udp(gw.udp_addr).await;
    let me = phone.local();
    let reg = |cseq: u32, auth: String| {
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKaddr{cseq};rport\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>\nFrom: <sip:102@{DOMAIN}>;tag=a\nCall-ID: addr\nCSeq: {cseq} REGISTER\nContact: <sip:102@{me}>\n{auth}Content-Length: 0\n\n"
        )
    };
    for (cseq, uri, want) in [
        (1, format!("sip:{}", gw.udp_addr), 200),
        (3, format!("sip:101@{}", gw.udp_addr), 401),
    ] {
        phone.send(&reg(cseq, String::new())).await;
        let r = phone.final_response().await;
        let ch = Challenge::pick(r.headers.all("WWW-Authenticate")).unwrap();
        let creds = Credentials::answer(
            &ch,
            "REGISTER",
            &uri,
            "102",
            &common::password("102"),
            "c",
            1,
        );
        phone
            .send(&reg(cseq + 1, format!("Authorization: {creds}\n")))
            .await;
        assert_eq!(
            phone.final_response().await.status,
            want,
            "digest uri {uri}"
        );
    }
}
