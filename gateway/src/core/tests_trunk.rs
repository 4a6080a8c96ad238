//! Calls to the phone network through trunks, on virtual time (see `tests.rs`): the
//! caller's permission, the caller ID the network sees, failover on 5xx and on silence, and
//! the bridge's call to a trunk.

use std::net::SocketAddr;

use centrala_sip::message::Request;

use super::tests::{Dest, World};
use super::*;
use crate::numbering::{CallerId, Permission};
use crate::trunks::{CoreTrunk, TrunkTransport};

const CARRIER_A: &str = "203.0.113.10:5060";
const CARRIER_B: &str = "203.0.113.20:5060";
const PHONE_OFFER: &str = "v=0\no=- 1 1 IN IP4 198.51.100.7\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 8\nc=IN IP4 198.51.100.7\na=rtpmap:8 PCMA/8000\n";
const BROWSER_OFFER: &str = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\nc=IN IP4 0.0.0.0\na=rtpmap:111 opus/48000/2\n";

fn addr(a: &str) -> SocketAddr {
    a.parse().unwrap()
}

fn trunk(name: &str, a: &str) -> CoreTrunk {
    CoreTrunk {
        name: name.into(),
        addr: addr(a),
        host: addr(a).ip().to_string(),
        transport: TrunkTransport::Udp,
        auth: None,
        codecs: vec!["PCMA".into(), "PCMU".into()],
    }
}

/// A world with two trunks, and 101 as a desk phone on TCP flow 1 whose own number is
/// +48226006101.
fn world(trunks: Vec<CoreTrunk>) -> World {
    let mut w = World::new();
    w.core.handle(Input::Trunks(trunks), w.now);
    let u = w.users.get_mut("101").unwrap();
    u.outside.own_number = Some("+48226006101".into());
    u.outside.main_number = Some("+48226006100".into());
    w.connect_tcp(1, "198.51.100.7:5060");
    w
}

fn statuses(r: &[Response]) -> Vec<u16> {
    r.iter().map(|r| r.status).collect()
}

fn invites(w: &mut World, at: &str) -> Vec<Request> {
    w.requests(Dest::Udp(addr(at)))
        .into_iter()
        .filter(|r| r.method == Method::Invite)
        .collect()
}

fn reply(w: &mut World, from: &str, req: &Request, status: u16, reason: &str) {
    let mut r = req.response(status, reason);
    if status > 100 {
        r.set_to_tag("carrier");
    }
    w.send(
        Dest::Udp(addr(from)),
        &String::from_utf8(r.to_bytes()).unwrap(),
    );
}

#[test]
fn a_call_out_goes_to_the_first_trunk_as_e164_with_the_callers_own_number() {
    let mut w = world(vec![trunk("a", CARRIER_A), trunk("b", CARRIER_B)]);
    let r = w.call_with_offer(1, "101", "601-234-567", "o1", PHONE_OFFER);
    assert!(statuses(&r).contains(&100), "{:?}", statuses(&r));
    let inv = invites(&mut w, CARRIER_A)
        .pop()
        .expect("the INVITE reaches carrier A");
    assert_eq!(inv.uri.user.as_deref(), Some("+48601234567"));
    assert_eq!(inv.uri.params.value("user"), Some("phone"));
    let from = inv.from().unwrap();
    assert_eq!(from.uri.user.as_deref(), Some("+48226006101"));
    assert_eq!(inv.from_tag().as_deref(), Some("to1"));
    assert!(
        inv.headers
            .get("P-Asserted-Identity")
            .unwrap()
            .contains("+48226006101")
    );
    assert!(inv.headers.get("Privacy").is_none());
    assert!(invites(&mut w, CARRIER_B).is_empty());
    // The carrier rings and answers: the caller hears it.
    reply(&mut w, CARRIER_A, &inv, 180, "Ringing");
    let mut ok = inv.response(200, "OK");
    ok.set_to_tag("carrier");
    ok.headers
        .push("Record-Route", inv.headers.get("Record-Route").unwrap());
    ok.headers.push("Contact", "<sip:gw@203.0.113.10:5060>");
    w.send(
        Dest::Udp(addr(CARRIER_A)),
        &String::from_utf8(ok.to_bytes()).unwrap(),
    );
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [180, 200]);
}

#[test]
fn a_5xx_or_silence_moves_the_call_to_the_next_trunk_and_then_it_is_given_up() {
    let mut w = world(vec![trunk("a", CARRIER_A), trunk("b", CARRIER_B)]);
    w.call_with_offer(1, "101", "+48-22-123-45-67", "f1", PHONE_OFFER);
    let inv = invites(&mut w, CARRIER_A).pop().unwrap();
    reply(&mut w, CARRIER_A, &inv, 100, "Trying");
    reply(&mut w, CARRIER_A, &inv, 503, "Service Unavailable");
    // The caller sees no failure; the call goes on at B.
    assert!(
        !statuses(&w.responses(Dest::Flow(1)))
            .iter()
            .any(|s| *s >= 300)
    );
    let inv_b = invites(&mut w, CARRIER_B).pop().expect("failover to B");
    assert_eq!(inv_b.uri.user.as_deref(), Some("+48221234567"));
    assert_eq!(inv_b.call_id(), inv.call_id());
    // B says nothing at all: after the wait, no trunk is left and the caller gets 503.
    w.advance(trunk::TRUNK_WAIT_MS + 100);
    let r = w.responses(Dest::Flow(1));
    let last = r.last().expect("a final response");
    assert_eq!(last.status, 503);
    assert!(
        last.reason.contains("phone network does not answer"),
        "{}",
        last.reason
    );
    let rec = w
        .records
        .iter()
        .find(|r| r.sip_call_id == "f1")
        .expect("recorded");
    assert_eq!(rec.status, Some(503));
}

#[test]
fn a_silent_first_trunk_is_passed_over_but_a_ringing_one_is_not() {
    let mut w = world(vec![trunk("a", CARRIER_A), trunk("b", CARRIER_B)]);
    w.call_with_offer(1, "101", "601234567", "s1", PHONE_OFFER);
    assert_eq!(invites(&mut w, CARRIER_A).len(), 1);
    w.advance(trunk::TRUNK_WAIT_MS + 100);
    let inv_b = invites(&mut w, CARRIER_B)
        .pop()
        .expect("B after A's silence");
    reply(&mut w, CARRIER_B, &inv_b, 100, "Trying");
    reply(&mut w, CARRIER_B, &inv_b, 180, "Ringing");
    // Ringing for a minute is fine: nobody gives up on a live trunk.
    w.advance(60_000);
    let r = statuses(&w.responses(Dest::Flow(1)));
    assert!(r.contains(&180) && !r.iter().any(|s| *s >= 300), "{r:?}");
    // A 4xx from the carrier is the answer (no failover).
    reply(&mut w, CARRIER_B, &inv_b, 486, "Busy Here");
    let r = statuses(&w.responses(Dest::Flow(1)));
    assert_eq!(r.last(), Some(&486));
}

#[test]
fn permissions_refuse_with_the_reason_but_emergency_numbers_always_go_out() {
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    w.users.get_mut("101").unwrap().outside.permission = Permission::National;
    let r = w.call_with_offer(1, "101", "+4930123456", "p1", PHONE_OFFER);
    let last = r.last().unwrap();
    assert_eq!(last.status, 403);
    assert_eq!(
        last.reason,
        "Forbidden (international calls are not allowed for you)"
    );
    let r = w.call_with_offer(1, "101", "701234567", "p2", PHONE_OFFER);
    assert_eq!(
        r.last().unwrap().reason,
        "Forbidden (premium-rate numbers are not allowed for you)"
    );
    assert!(invites(&mut w, CARRIER_A).is_empty());
    w.users.get_mut("101").unwrap().outside.permission = Permission::Internal;
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: "101".into(),
            drop: Registrations::Keep,
        },
        w.now,
    );
    let r = w.call_with_offer(1, "101", "601234567", "p3", PHONE_OFFER);
    assert_eq!(
        r.last().unwrap().reason,
        "Forbidden (your calls are internal only)"
    );
    w.call_with_offer(1, "101", "112", "p4", PHONE_OFFER);
    let inv = invites(&mut w, CARRIER_A).pop().expect("112 goes out");
    assert_eq!(inv.uri.user.as_deref(), Some("112"));
    // The network learns who calls an emergency number.
    assert!(
        inv.headers
            .get("P-Asserted-Identity")
            .unwrap()
            .contains("+48226006101")
    );
}

#[test]
fn a_withheld_caller_id_is_anonymous_in_from_and_private_for_the_network() {
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    w.users.get_mut("101").unwrap().outside.caller_id = CallerId::Withheld;
    w.call_with_offer(1, "101", "601234567", "w1", PHONE_OFFER);
    let inv = invites(&mut w, CARRIER_A).pop().unwrap();
    let from = inv.from().unwrap();
    assert_eq!(from.uri.user.as_deref(), Some("anonymous"));
    assert_eq!(inv.headers.get("Privacy"), Some("id"));
    assert!(
        inv.headers
            .get("P-Asserted-Identity")
            .unwrap()
            .contains("+48226006101")
    );
}

#[test]
fn without_trunks_a_number_outside_is_refused_in_plain_words() {
    let mut w = world(Vec::new());
    let r = w.call_with_offer(1, "101", "601234567", "n1", PHONE_OFFER);
    assert_eq!(
        r.last().unwrap().reason,
        "Forbidden (no line to the phone network is set up)"
    );
}

#[test]
fn a_browsers_call_out_goes_through_the_bridge_which_alone_reaches_the_trunk() {
    let mut w = world(vec![trunk("a", CARRIER_A), trunk("b", CARRIER_B)]);
    w.users.get_mut("101").unwrap().outside.caller_id = CallerId::Main;
    w.connect(2);
    // The media service.
    let input = Input::Connected {
        flow: FlowId(9),
        peer: "127.0.0.1:0".parse().unwrap(),
        transport: Transport::Tcp,
    };
    w.core.handle(input, w.now);
    w.core.handle(Input::Voicemail { flow: FlowId(9) }, w.now);
    w.step();
    w.call_with_offer(2, "101", "601234567", "b1", BROWSER_OFFER);
    assert!(
        invites(&mut w, CARRIER_A).is_empty(),
        "not to the carrier directly"
    );
    let to_media = w
        .requests(Dest::Flow(9))
        .into_iter()
        .find(|r| r.method == Method::Invite)
        .expect("the bridge gets the call");
    assert!(to_media.uri.params.value(forward::BRIDGE_PARAM).is_some());
    assert_eq!(
        to_media.uri.params.value("centrala-cli"),
        Some("+48226006100")
    );
    // The bridge calls the trunk back through us, as it does: a new INVITE with that URI.
    let uri = to_media.uri.to_string();
    let text = format!(
        "INVITE {uri} SIP/2.0\nVia: SIP/2.0/TCP bridge.invalid;branch=z9hG4bKbr1\nMax-Forwards: 70\nTo: <{uri}>\nFrom: \"User 101\" <sip:101@d.example>;tag=br\nCall-ID: bridge-b1\nCSeq: 1 INVITE\nContact: <sip:bridge@bridge.invalid;transport=tcp>\nContent-Type: application/sdp\nContent-Length: {}\n\n{PHONE_OFFER}",
        PHONE_OFFER.len()
    );
    w.send(Dest::Flow(9), &text);
    let inv = invites(&mut w, CARRIER_A)
        .pop()
        .expect("the bridge's INVITE reaches A");
    assert!(inv.uri.params.value(forward::BRIDGE_PARAM).is_none());
    assert!(inv.uri.params.value("centrala-cli").is_none());
    assert!(inv.uri.params.value("centrala-codecs").is_none());
    assert_eq!(
        inv.from().unwrap().uri.user.as_deref(),
        Some("+48226006100")
    );
    // And it fails over like any call out.
    reply(&mut w, CARRIER_A, &inv, 500, "Server Error");
    assert_eq!(invites(&mut w, CARRIER_B).len(), 1);
    // A browser (not the media service) cannot use the bridge's parameters to pick its
    // caller ID: they are not read from anyone else.
    let forged = format!(
        "INVITE sip:+48601234567@{}:5060;user=phone;centrala-cli=+48999999999 SIP/2.0\nVia: SIP/2.0/WSS c2.invalid;branch=z9hG4bKfg\nMax-Forwards: 70\nTo: <sip:601234567@d.example>\nFrom: <sip:101@d.example>;tag=fg\nCall-ID: fg\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
        addr(CARRIER_A).ip()
    );
    w.send(Dest::Flow(2), &forged);
    let r = w.responses(Dest::Flow(2));
    assert_eq!(
        statuses(&r).last(),
        Some(&407),
        "a stranger is challenged first"
    );
    assert!(invites(&mut w, CARRIER_A).is_empty());
}

#[test]
fn a_call_from_a_trunks_address_is_trusted_and_one_from_elsewhere_is_challenged() {
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    w.connect(2);
    w.register(2, "103");
    let invite = |peer: &str, call: &str| {
        format!(
            "INVITE sip:103@d.example SIP/2.0\nVia: SIP/2.0/UDP {peer};branch=z9hG4bK{call}\nMax-Forwards: 70\nTo: <sip:103@d.example>\nFrom: <sip:+48601234567@carrier.example>;tag={call}\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: {}\n\n{PHONE_OFFER}",
            PHONE_OFFER.len()
        )
    };
    w.send(Dest::Udp(addr(CARRIER_A)), &invite(CARRIER_A, "in1"));
    assert!(
        w.requests(Dest::Flow(2))
            .iter()
            .any(|r| r.method == Method::Invite),
        "the carrier's call rings 103"
    );
    let stranger = "198.51.100.99:5060";
    w.send(Dest::Udp(addr(stranger)), &invite(stranger, "in2"));
    let r = w.responses(Dest::Udp(addr(stranger)));
    assert_eq!(statuses(&r).last(), Some(&407));
    assert!(w.requests(Dest::Flow(2)).is_empty());
}

#[test]
fn star_8_calls_the_employees_mobile_through_the_trunk_and_only_the_media_service_may_ask() {
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    w.users.get_mut("101").unwrap().outside.mobile = Some("+48601111222".into());
    w.connect(2);
    let input = Input::Connected {
        flow: FlowId(9),
        peer: "127.0.0.1:0".parse().unwrap(),
        transport: Transport::Tcp,
    };
    w.core.handle(input, w.now);
    w.core.handle(Input::Voicemail { flow: FlowId(9) }, w.now);
    w.step();
    // 101's browser calls out (bridged): the call "m1" is in progress with 101 as caller.
    w.call_with_offer(2, "101", "221234567", "m1", BROWSER_OFFER);
    let move_invite = |call: &str, side: &str, branch: &str| {
        format!(
            "INVITE sip:mobile@mobile.invalid;centrala-move={};centrala-side={side} SIP/2.0\nVia: SIP/2.0/TCP bridge.invalid;branch=z9hG4bK{branch}\nMax-Forwards: 70\nTo: <sip:mobile@mobile.invalid>\nFrom: <sip:move@bridge.invalid>;tag={branch}\nCall-ID: {branch}\nCSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: {}\n\n{PHONE_OFFER}",
            trunk::hex_param(call),
            PHONE_OFFER.len()
        )
    };
    w.send(Dest::Flow(9), &move_invite("m1", "caller", "mv1"));
    let inv = invites(&mut w, CARRIER_A)
        .pop()
        .expect("the mobile is called");
    assert_eq!(inv.uri.user.as_deref(), Some("+48601111222"));
    assert_eq!(
        inv.from().unwrap().uri.user.as_deref(),
        Some("+48226006101")
    );
    // An unknown call, or the wrong side of it (the callee is not an employee): 404.
    w.send(Dest::Flow(9), &move_invite("nope", "caller", "mv2"));
    w.send(Dest::Flow(9), &move_invite("m1", "callee", "mv3"));
    let r = w.responses(Dest::Flow(9));
    let refused: Vec<_> = r
        .iter()
        .filter(|r| r.status == 404)
        .map(|r| r.reason.clone())
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(invites(&mut w, CARRIER_A).is_empty());
    // A browser sending the same request is an ordinary caller: challenged, and never a
    // move (nothing reaches the carrier).
    w.send(
        Dest::Flow(2),
        &move_invite("m1", "caller", "mv4").replace("TCP bridge.invalid", "WSS c2.invalid"),
    );
    assert_eq!(statuses(&w.responses(Dest::Flow(2))).last(), Some(&407));
    assert!(invites(&mut w, CARRIER_A).is_empty());
    // No mobile set: 404 with the reason.
    w.users.get_mut("101").unwrap().outside.mobile = None;
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: "101".into(),
            drop: Registrations::Keep,
        },
        w.now,
    );
    w.step();
    w.send(Dest::Flow(9), &move_invite("m1", "caller", "mv5"));
    let r = w.responses(Dest::Flow(9));
    assert!(
        r.iter()
            .any(|r| r.status == 404 && r.reason.contains("no mobile number")),
        "{:?}",
        statuses(&r)
    );
}

fn registering(name: &str, a: &str) -> CoreTrunk {
    let mut t = trunk(name, a);
    t.auth = Some(crate::trunks::TrunkAuth {
        username: "acme-trunk".into(),
        password: "carrier-secret".into(),
    });
    t
}

fn registers(w: &mut World, at: &str) -> Vec<Request> {
    w.requests(Dest::Udp(addr(at)))
        .into_iter()
        .filter(|r| r.method == Method::Register)
        .collect()
}

#[test]
fn a_registering_trunk_answers_the_challenge_refreshes_and_takes_calls_for_its_account() {
    use centrala_sip::digest::{Algorithm, Credentials, ha1};
    let mut w = world(vec![registering("reg", CARRIER_A)]);
    w.advance(1);
    let first = registers(&mut w, CARRIER_A)
        .pop()
        .expect("REGISTER at once");
    assert_eq!(first.uri.to_string(), "sip:203.0.113.10");
    assert!(
        first
            .headers
            .get("Contact")
            .unwrap()
            .contains("acme-trunk@192.0.2.1:5060")
    );
    assert!(first.headers.get("Authorization").is_none());
    let mut ch = first.response(401, "Unauthorized");
    ch.set_to_tag("reg");
    ch.headers.push(
        "WWW-Authenticate",
        "Digest realm=\"carrier.test\", nonce=\"n0nce\", qop=\"auth\", algorithm=MD5",
    );
    w.send(
        Dest::Udp(addr(CARRIER_A)),
        &String::from_utf8(ch.to_bytes()).unwrap(),
    );
    let second = registers(&mut w, CARRIER_A)
        .pop()
        .expect("with credentials");
    let creds = Credentials::parse(second.headers.get("Authorization").unwrap()).unwrap();
    assert_eq!(creds.username, "acme-trunk");
    let h = ha1(
        Algorithm::Md5,
        "acme-trunk",
        "carrier.test",
        "carrier-secret",
    );
    assert!(
        creds.verify("REGISTER", &h),
        "the digest answers the challenge"
    );
    assert!(
        !second
            .to_bytes()
            .windows(14)
            .any(|w| w == b"carrier-secret"),
        "the password itself never goes out"
    );
    assert_eq!(second.call_id(), first.call_id());
    let mut ok = second.response(200, "OK");
    ok.set_to_tag("reg");
    ok.headers
        .push("Contact", "<sip:acme-trunk@192.0.2.1:5060>;expires=120");
    w.send(
        Dest::Udp(addr(CARRIER_A)),
        &String::from_utf8(ok.to_bytes()).unwrap(),
    );
    assert!(w.core.trunk_registered("reg", w.now));
    // Refreshed at 80 % of the 120 s granted.
    w.advance(95_000);
    assert!(registers(&mut w, CARRIER_A).is_empty());
    w.advance(2_000);
    let refresh = registers(&mut w, CARRIER_A).pop().expect("a refresh");
    // A challenge to an answered challenge is a refusal: no loop, a try a minute later.
    let mut ch = refresh.response(401, "Unauthorized");
    ch.set_to_tag("reg");
    ch.headers.push(
        "WWW-Authenticate",
        "Digest realm=\"carrier.test\", nonce=\"n1\"",
    );
    w.send(
        Dest::Udp(addr(CARRIER_A)),
        &String::from_utf8(ch.to_bytes()).unwrap(),
    );
    let again = registers(&mut w, CARRIER_A).pop().unwrap();
    let mut ch = again.response(403, "Forbidden");
    ch.set_to_tag("reg");
    w.send(
        Dest::Udp(addr(CARRIER_A)),
        &String::from_utf8(ch.to_bytes()).unwrap(),
    );
    w.advance(30_000);
    assert!(registers(&mut w, CARRIER_A).is_empty(), "no hammering");
    w.advance(31_000);
    let tries = registers(&mut w, CARRIER_A);
    assert!(!tries.is_empty(), "again after a minute");
    assert!(
        tries
            .iter()
            .all(|r| r.headers.get("CSeq") == tries[0].headers.get("CSeq")),
        "one REGISTER (and its retransmissions)"
    );
    // The carrier's call to our account rings the number in To.
    w.connect(2);
    w.register(2, "103");
    let invite = format!(
        "INVITE sip:acme-trunk@192.0.2.1:5060 SIP/2.0\nVia: SIP/2.0/UDP {CARRIER_A};branch=z9hG4bKin9\nMax-Forwards: 70\nTo: <sip:103@carrier.test>\nFrom: <sip:+48601234567@carrier.test>;tag=in9\nCall-ID: in9\nCSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: {}\n\n{PHONE_OFFER}",
        PHONE_OFFER.len()
    );
    w.send(Dest::Udp(addr(CARRIER_A)), &invite);
    assert!(
        w.requests(Dest::Flow(2))
            .iter()
            .any(|r| r.method == Method::Invite),
        "103 rings"
    );
}

#[test]
fn a_carrier_that_challenges_a_call_gets_the_trunks_account_once() {
    use centrala_sip::digest::{Algorithm, Credentials, ha1};
    let mut w = world(vec![registering("reg", CARRIER_A)]);
    w.advance(1);
    registers(&mut w, CARRIER_A);
    w.call_with_offer(1, "101", "601234567", "ch1", PHONE_OFFER);
    let inv = invites(&mut w, CARRIER_A).pop().unwrap();
    assert!(inv.headers.get("Proxy-Authorization").is_none());
    let challenge = |w: &mut World, inv: &Request, nonce: &str| {
        let mut r = inv.response(407, "Proxy Authentication Required");
        r.set_to_tag("c");
        r.headers.push(
            "Proxy-Authenticate",
            format!("Digest realm=\"carrier.test\", nonce=\"{nonce}\", algorithm=MD5"),
        );
        w.send(
            Dest::Udp(addr(CARRIER_A)),
            &String::from_utf8(r.to_bytes()).unwrap(),
        );
    };
    challenge(&mut w, &inv, "n1");
    assert!(
        !statuses(&w.responses(Dest::Flow(1))).contains(&407),
        "the caller does not see the carrier's challenge"
    );
    let again = invites(&mut w, CARRIER_A).pop().expect("with the account");
    let creds = Credentials::parse(again.headers.get("Proxy-Authorization").unwrap()).unwrap();
    let h = ha1(
        Algorithm::Md5,
        "acme-trunk",
        "carrier.test",
        "carrier-secret",
    );
    assert!(creds.verify("INVITE", &h));
    assert_eq!(again.call_id(), inv.call_id());
    // A second challenge is the carrier's refusal: it goes to the caller.
    challenge(&mut w, &again, "n2");
    assert!(invites(&mut w, CARRIER_A).is_empty(), "no loop");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))).last(), Some(&407));
}

#[test]
fn a_tcp_trunk_is_reached_over_one_connection_of_ours_and_a_failed_one_fails_over() {
    let mut tcp = trunk("tcp", CARRIER_A);
    tcp.transport = TrunkTransport::Tcp;
    let mut w = world(vec![tcp, trunk("b", CARRIER_B)]);
    w.call_with_offer(1, "101", "601234567", "t1", PHONE_OFFER);
    assert_eq!(w.connects.len(), 1, "one connection asked for");
    let (flow, to) = w.connects[0];
    assert_eq!(to, addr(CARRIER_A));
    let inv = w
        .requests(Dest::Flow(flow))
        .into_iter()
        .find(|r| r.method == Method::Invite)
        .expect("the INVITE waits on the connection");
    assert!(inv.headers.get("Via").unwrap().starts_with("SIP/2.0/TCP"));
    assert_eq!(inv.uri.params.value("transport"), Some("tcp"));
    // The same connection carries the next call.
    w.call_with_offer(1, "101", "601234568", "t2", PHONE_OFFER);
    assert_eq!(w.connects.len(), 1);
    // The connection fails: both calls move to the next trunk at once.
    w.core.handle(Input::Closed { flow: FlowId(flow) }, w.now);
    w.step();
    assert_eq!(invites(&mut w, CARRIER_B).len(), 2);
}

#[test]
fn a_reached_spending_limit_stops_calls_outside_but_not_emergency_or_internal_ones() {
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    w.users.get_mut("101").unwrap().outside.limit_reached = true;
    let r = w.call_with_offer(1, "101", "601234567", "l1", PHONE_OFFER);
    assert_eq!(
        r.last().unwrap().reason,
        "Forbidden (the monthly spending limit is reached: only internal and emergency calls)"
    );
    assert!(invites(&mut w, CARRIER_A).is_empty());
    w.call_with_offer(1, "101", "112", "l2", PHONE_OFFER);
    assert_eq!(invites(&mut w, CARRIER_A).len(), 1, "112 goes out");
}

/// Calls that reached carrier A (INVITE retransmissions counted once).
fn call_ids(w: &mut World) -> usize {
    let ids: std::collections::HashSet<String> = invites(w, CARRIER_A)
        .iter()
        .filter_map(|r| r.call_id().map(str::to_string))
        .collect();
    ids.len()
}

#[test]
fn a_burst_of_international_calls_suspends_calls_outside_until_the_store_says_otherwise() {
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    w.core.cfg.limits.toll_fraud_calls = 3;
    w.users.get_mut("101").unwrap().outside.permission = Permission::International;
    for i in 0..3 {
        w.call_with_offer(1, "101", "+4930123456", &format!("f{i}"), PHONE_OFFER);
        w.advance(1000);
    }
    assert_eq!(call_ids(&mut w), 3, "three went out");
    assert!(w.frauds.is_empty());
    let r = w.call_with_offer(1, "101", "+4930123457", "f3", PHONE_OFFER);
    assert!(
        r.last()
            .unwrap()
            .reason
            .contains("suspended after unusual international calls"),
        "{}",
        r.last().unwrap().reason
    );
    assert_eq!(w.frauds, vec![(1, "101".to_string(), 4)]);
    // A national call is stopped too; an emergency call is not.
    let r = w.call_with_offer(1, "101", "601234567", "f4", PHONE_OFFER);
    assert_eq!(r.last().unwrap().status, 403);
    w.call_with_offer(1, "101", "112", "f5", PHONE_OFFER);
    assert_eq!(call_ids(&mut w), 1);
    // The store has it suspended: still stopped after the core forgets its own note.
    w.users.get_mut("101").unwrap().outside.suspended = true;
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: "101".into(),
            drop: Registrations::Keep,
        },
        w.now,
    );
    let r = w.call_with_offer(1, "101", "601234567", "f6", PHONE_OFFER);
    assert_eq!(r.last().unwrap().status, 403);
    // Lifted by an administrator: calls go out again; calls spread out are never a burst.
    w.users.get_mut("101").unwrap().outside.suspended = false;
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: "101".into(),
            drop: Registrations::Keep,
        },
        w.now,
    );
    w.advance(40_000);
    call_ids(&mut w);
    for i in 0..6 {
        w.call_with_offer(1, "101", "+4930123456", &format!("g{i}"), PHONE_OFFER);
        w.advance(4 * 60_000);
    }
    assert_eq!(call_ids(&mut w), 6);
    assert_eq!(w.frauds.len(), 1);
}

#[test]
fn a_forward_to_an_outside_number_goes_through_the_trunk_as_far_as_its_owner_may_call() {
    use crate::forwarding::{Routing, Target};
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    let owner = w.users.get_mut("103").unwrap();
    owner.outside.own_number = Some("+48226006103".into());
    owner.routing = std::sync::Arc::new(Routing {
        always: Some(Target::External {
            number: "+48601111333".into(),
        }),
        ..Routing::default()
    });
    w.call_with_offer(1, "101", "103", "x1", PHONE_OFFER);
    let inv = invites(&mut w, CARRIER_A)
        .pop()
        .expect("forwarded to the network");
    assert_eq!(inv.uri.user.as_deref(), Some("+48601111333"));
    assert_eq!(
        inv.from().unwrap().uri.user.as_deref(),
        Some("+48226006103"),
        "the number of the person whose rule it is"
    );
    assert!(
        inv.headers.get("Diversion").is_some(),
        "the network learns why"
    );
    // Answered, then over: besides the call to 103, the outside leg is 103's own call (so it
    // is rated and paid as theirs).
    let mut ok = inv.response(200, "OK");
    ok.set_to_tag("carrier");
    ok.headers
        .push("Record-Route", inv.headers.get("Record-Route").unwrap());
    ok.headers.push("Contact", "<sip:gw@203.0.113.10:5060>");
    w.send(
        Dest::Udp(addr(CARRIER_A)),
        &String::from_utf8(ok.to_bytes()).unwrap(),
    );
    assert_eq!(statuses(&w.responses(Dest::Flow(1))).last(), Some(&200));
    w.core.handle(Input::Closed { flow: FlowId(1) }, w.now);
    w.step();
    let call = w
        .records
        .iter()
        .find(|r| r.sip_call_id == "x1")
        .expect("the call");
    assert_eq!(call.callee_ext.as_deref(), Some("103"));
    let leg = w
        .records
        .iter()
        .find(|r| r.sip_call_id == "x1;forwarded")
        .expect("the outside leg");
    assert_eq!(leg.caller_ext.as_deref(), Some("103"));
    assert_eq!(leg.dialled, "+48601111333");
    assert_eq!(leg.callee_ext, None);
    assert!(leg.answered_ms.is_some());
    w.connect_tcp(1, "198.51.100.7:5060");
    // Their permission stops it: internal only, the rule is skipped (nobody is logged in on
    // 103, so the caller hears that).
    w.users.get_mut("103").unwrap().outside.permission = Permission::Internal;
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: "103".into(),
            drop: Registrations::Keep,
        },
        w.now,
    );
    let r = w.call_with_offer(1, "101", "103", "x2", PHONE_OFFER);
    assert_eq!(r.last().unwrap().status, 480);
    assert!(
        !invites(&mut w, CARRIER_A)
            .iter()
            .any(|i| i.call_id() == Some("x2"))
    );
}

#[test]
fn a_toll_fraud_threshold_of_zero_turns_the_guard_off() {
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    w.core.cfg.limits.toll_fraud_calls = 0;
    w.users.get_mut("101").unwrap().outside.permission = Permission::International;
    for i in 0..15 {
        w.call_with_offer(1, "101", "+4930123456", &format!("z{i}"), PHONE_OFFER);
        w.advance(1000);
    }
    assert_eq!(call_ids(&mut w), 15, "every call went out");
    assert!(w.frauds.is_empty());
}

#[test]
fn a_main_number_set_to_a_group_rings_its_members_at_once_and_the_one_who_answers_has_the_call() {
    use crate::calling::NumberTarget;
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    let group = NumberTarget::Group(vec!["102".into(), "103".into(), "104".into()]);
    w.numbers.insert("+48226006100".into(), (1, group));
    w.connect(2);
    w.register(2, "102");
    w.connect(3);
    w.register(3, "103");
    // 104 has no device: it is left out.
    let invite = |call: &str| {
        format!(
            "INVITE sip:+48226006100@d.example SIP/2.0\nVia: SIP/2.0/UDP {CARRIER_A};branch=z9hG4bK{call}\nMax-Forwards: 70\nTo: <sip:+48226006100@d.example>\nFrom: <sip:+48601234567@carrier.example>;tag={call}\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: {}\n\n{PHONE_OFFER}",
            PHONE_OFFER.len()
        )
    };
    w.send(Dest::Udp(addr(CARRIER_A)), &invite("g1"));
    let to_102 = w.requests(Dest::Flow(2)).pop().expect("102 rings");
    let to_103 = w
        .requests(Dest::Flow(3))
        .pop()
        .expect("103 rings at the same time");
    assert_eq!(to_102.method, Method::Invite);
    assert_eq!(to_103.method, Method::Invite);
    w.answer_invite(2, &to_102, 180, "m2");
    w.advance(1_000);
    w.answer_invite(3, &to_103, 200, "m3");
    let r = w.responses(Dest::Udp(addr(CARRIER_A)));
    assert_eq!(
        statuses(&r).last(),
        Some(&200),
        "the network hears the answer"
    );
    assert!(
        w.requests(Dest::Flow(2))
            .iter()
            .any(|r| r.method == Method::Cancel),
        "102 stops ringing"
    );
    // The carrier hangs up: the call is 103's, answered, with no forwarding on it.
    let bye = format!(
        "BYE sip:callee@c3.invalid SIP/2.0\nVia: SIP/2.0/UDP {CARRIER_A};branch=z9hG4bKg1bye\nMax-Forwards: 70\nTo: <sip:+48226006100@d.example>;tag=m3\nFrom: <sip:+48601234567@carrier.example>;tag=g1\nCall-ID: g1\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    );
    w.send(Dest::Udp(addr(CARRIER_A)), &bye);
    if let Some(fwd) = w.requests(Dest::Flow(3)).pop() {
        w.send(
            Dest::Flow(3),
            &String::from_utf8(fwd.response(200, "OK").to_bytes()).unwrap(),
        );
    }
    let rec = w.records.last().expect("the call is recorded");
    assert_eq!(rec.sip_call_id, "g1");
    assert_eq!(rec.company, 1);
    assert_eq!(rec.callee_ext.as_deref(), Some("103"));
    assert_eq!(rec.outcome, Outcome::Answered);
    assert_eq!(rec.diverted_from, None);

    // Nobody of the group has a device: the network is told so.
    w.close(2);
    w.close(3);
    w.send(Dest::Udp(addr(CARRIER_A)), &invite("g2"));
    let r = w.responses(Dest::Udp(addr(CARRIER_A)));
    let last = r.last().unwrap();
    assert_eq!(last.status, 480);
    assert!(
        last.reason.contains("nobody of the group"),
        "{}",
        last.reason
    );
}

#[test]
fn a_main_number_group_leaves_out_members_on_do_not_disturb_and_is_busy_when_all_are() {
    use crate::calling::NumberTarget;
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    let group = NumberTarget::Group(vec!["102".into(), "103".into()]);
    w.numbers.insert("+48226006100".into(), (1, group));
    for f in [2, 3] {
        w.connect(f);
        w.register(f, &format!("10{f}"));
    }
    let invite = |call: &str| {
        format!(
            "INVITE sip:+48226006100@d.example SIP/2.0\nVia: SIP/2.0/UDP {CARRIER_A};branch=z9hG4bK{call}\nMax-Forwards: 70\nTo: <sip:+48226006100@d.example>\nFrom: <sip:+48601234567@carrier.example>;tag={call}\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: {}\n\n{PHONE_OFFER}",
            PHONE_OFFER.len()
        )
    };
    w.choose("102", Choice::Dnd);
    w.send(Dest::Udp(addr(CARRIER_A)), &invite("d1"));
    assert!(
        w.requests(Dest::Flow(2)).is_empty(),
        "102 is on do not disturb and does not ring"
    );
    let to_103 = w.requests(Dest::Flow(3)).pop().expect("103 rings");
    assert_eq!(to_103.method, Method::Invite);
    w.answer_invite(3, &to_103, 486, "b3");
    let last = w.responses(Dest::Udp(addr(CARRIER_A))).pop().unwrap();
    assert_eq!(last.status, 486);

    // Everyone on do not disturb: the network hears busy, with the reason.
    w.choose("103", Choice::Dnd);
    w.requests(Dest::Flow(3)); // the ACK of 103's 486
    w.send(Dest::Udp(addr(CARRIER_A)), &invite("d2"));
    assert!(w.requests(Dest::Flow(2)).is_empty());
    assert!(
        w.requests(Dest::Flow(3)).is_empty(),
        "103 is on do not disturb now too"
    );
    let last = w.responses(Dest::Udp(addr(CARRIER_A))).pop().unwrap();
    assert_eq!(last.status, 486);
    assert!(last.reason.contains("do not disturb"), "{}", last.reason);
    assert_eq!(w.core.stats().proxy_contexts, 0);
}

#[test]
fn a_main_number_group_of_browsers_is_bridged_per_member_and_the_answering_member_has_the_call() {
    use crate::calling::NumberTarget;
    let mut w = world(vec![trunk("a", CARRIER_A)]);
    w.numbers.insert(
        "+48226006100".into(),
        (1, NumberTarget::Group(vec!["102".into(), "103".into()])),
    );
    w.connect(2);
    w.register(2, "102");
    w.connect(3);
    w.register(3, "103");
    // The media service: a carrier's plain RTP cannot reach a browser directly.
    let input = Input::Connected {
        flow: FlowId(9),
        peer: "127.0.0.1:0".parse().unwrap(),
        transport: Transport::Tcp,
    };
    w.core.handle(input, w.now);
    w.core.handle(Input::Voicemail { flow: FlowId(9) }, w.now);
    w.step();
    let invite = format!(
        "INVITE sip:+48226006100@d.example SIP/2.0\nVia: SIP/2.0/UDP {CARRIER_A};branch=z9hG4bKgb1\nMax-Forwards: 70\nTo: <sip:+48226006100@d.example>\nFrom: <sip:+48601234567@carrier.example>;tag=gb1\nCall-ID: gb1\nCSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: {}\n\n{PHONE_OFFER}",
        PHONE_OFFER.len()
    );
    w.send(Dest::Udp(addr(CARRIER_A)), &invite);
    let to_media: Vec<Request> = w
        .requests(Dest::Flow(9))
        .into_iter()
        .filter(|r| r.method == Method::Invite)
        .collect();
    let mut devices: Vec<&str> = to_media
        .iter()
        .filter_map(|r| r.uri.params.value(forward::BRIDGE_PARAM))
        .collect();
    devices.sort();
    assert_eq!(
        devices,
        ["2", "3"],
        "one bridged branch per member's device"
    );
    assert!(w.requests(Dest::Flow(2)).is_empty() && w.requests(Dest::Flow(3)).is_empty());
    // The bridge to 103's browser answers (its 180 first, as the service sends).
    let to_103 = to_media
        .iter()
        .find(|r| r.uri.params.value(forward::BRIDGE_PARAM) == Some("3"))
        .unwrap();
    let to_102 = to_media
        .iter()
        .find(|r| r.uri.params.value(forward::BRIDGE_PARAM) == Some("2"))
        .unwrap();
    w.answer_invite(9, to_102, 180, "br2");
    w.answer_invite(9, to_103, 200, "br3");
    assert_eq!(
        statuses(&w.responses(Dest::Udp(addr(CARRIER_A)))).last(),
        Some(&200)
    );
    let cancels = w
        .requests(Dest::Flow(9))
        .into_iter()
        .filter(|r| r.method == Method::Cancel)
        .collect::<Vec<_>>();
    assert_eq!(cancels.len(), 1, "the other member's bridge is cancelled");
    assert_eq!(
        cancels[0].uri.params.value(forward::BRIDGE_PARAM),
        Some("2")
    );
    let bye = format!(
        "BYE sip:callee@c9.invalid SIP/2.0\nVia: SIP/2.0/UDP {CARRIER_A};branch=z9hG4bKgb1bye\nMax-Forwards: 70\nTo: <sip:+48226006100@d.example>;tag=br3\nFrom: <sip:+48601234567@carrier.example>;tag=gb1\nCall-ID: gb1\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    );
    w.send(Dest::Udp(addr(CARRIER_A)), &bye);
    if let Some(fwd) = w
        .requests(Dest::Flow(9))
        .into_iter()
        .find(|r| r.method == Method::Bye)
    {
        w.send(
            Dest::Flow(9),
            &String::from_utf8(fwd.response(200, "OK").to_bytes()).unwrap(),
        );
    }
    let rec = w.records.last().expect("the call is recorded");
    assert_eq!(rec.sip_call_id, "gb1");
    assert_eq!(
        rec.callee_ext.as_deref(),
        Some("103"),
        "the answering member's call"
    );
    assert_eq!(rec.outcome, Outcome::Answered);
}
