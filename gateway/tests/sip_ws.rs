//! The gateway over real WebSockets: registration, digest, calls, forking, errors.

mod common;

use centrala_sip::digest::{Algorithm, Challenge, Credentials};
use centrala_sip::message::SipMessage;
use centrala_sip::ua::{Event, RegistrationState};
use common::{DOMAIN, Phone, Raw, SDP, password, start};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn register(cseq: u32, auth: Option<&str>, expires: u32) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS abc.invalid;branch=z9hG4bKreg{cseq}\nMax-Forwards: 70\nTo: <sip:101@{DOMAIN}>\nFrom: <sip:101@{DOMAIN}>;tag=t1\nCall-ID: reg-call-1\nCSeq: {cseq} REGISTER\nContact: <sip:u1@abc.invalid;transport=ws>;+sip.instance=\"<urn:uuid:1>\";reg-id=1;expires={expires}\n{auth}Content-Length: 0\n\n"
    )
}

async fn register_with(alg: Algorithm) -> (common::Gateway, Raw, Credentials) {
    let gw = start().await;
    let mut c = Raw::connect(gw.addr).await;
    c.send(&register(1, None, 600)).await;
    let r = c.final_response().await;
    assert_eq!(r.status, 401);
    let challenges: Vec<_> = r
        .headers
        .all("WWW-Authenticate")
        .filter_map(Challenge::parse)
        .collect();
    assert_eq!(challenges.len(), 2, "MD5 and SHA-256 offered");
    let ch = challenges
        .iter()
        .find(|c| c.algorithm == alg)
        .expect("algorithm offered");
    let creds = Credentials::answer(
        ch,
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        "101",
        &password("101"),
        "cn1",
        1,
    );
    c.send(&register(2, Some(&creds.to_string()), 600)).await;
    let ok = c.final_response().await;
    assert_eq!(ok.status, 200, "{}", ok.reason);
    assert_eq!(ok.headers.get("Require"), Some("outbound"));
    let contacts = ok.contacts();
    assert_eq!(contacts.len(), 1);
    assert!(contacts[0].params.value("expires").is_some());
    (gw, c, creds)
}

#[tokio::test]
async fn register_with_md5_digest() {
    register_with(Algorithm::Md5).await;
}

#[tokio::test]
async fn register_with_sha256_digest() {
    register_with(Algorithm::Sha256).await;
}

#[tokio::test]
async fn replayed_credentials_are_challenged_again() {
    let (_gw, mut c, creds) = register_with(Algorithm::Md5).await;
    // Same nonce and nonce count again: a replay.
    c.send(&register(3, Some(&creds.to_string()), 600)).await;
    assert_eq!(c.final_response().await.status, 401);
}

#[tokio::test]
async fn user_agent_registers_and_wrong_password_is_refused() {
    let gw = start().await;
    let _ok = Phone::registered(gw.addr, "101", 1).await;
    let mut bad = Phone::connect(gw.addr, "102", "not-the-password", 2).await;
    let e = bad
        .expect(|e| matches!(e, Event::Registration(RegistrationState::Failed(_))))
        .await;
    assert_eq!(
        e,
        Event::Registration(RegistrationState::Failed(
            "Wrong extension or password".into()
        ))
    );
    // An unknown user gets the same answer: responses do not reveal who exists.
    let mut ghost = Phone::connect(gw.addr, "999", "whatever", 3).await;
    let e = ghost
        .expect(|e| matches!(e, Event::Registration(RegistrationState::Failed(_))))
        .await;
    assert_eq!(
        e,
        Event::Registration(RegistrationState::Failed(
            "Wrong extension or password".into()
        ))
    );
}

#[tokio::test]
async fn websocket_without_sip_subprotocol_is_refused() {
    let gw = start().await;
    let req = format!("ws://{}/sip", gw.addr)
        .into_client_request()
        .unwrap();
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 400);
            let body = String::from_utf8(resp.body().clone().unwrap_or_default()).unwrap();
            assert!(body.contains("subprotocol_required"), "{body}");
        }
        other => panic!("expected an HTTP 400 refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn call_set_up_and_torn_down_between_two_phones() {
    let gw = start().await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let mut bob = Phone::registered(gw.addr, "102", 2).await;
    let call = alice.call("102", SDP).await;
    let Event::IncomingCall {
        call: bob_call,
        from_user,
        sdp,
        ..
    } = bob
        .expect(|e| matches!(e, Event::IncomingCall { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!((from_user.as_str(), sdp.as_str()), ("101", SDP));
    alice.expect(|e| matches!(e, Event::Ringing { .. })).await;
    bob.answer(bob_call, &SDP.replace("o=- 1 1", "o=- 2 2"))
        .await;
    let Event::Answered { sdp, .. } = alice.expect(|e| matches!(e, Event::Answered { .. })).await
    else {
        unreachable!()
    };
    assert!(sdp.contains("o=- 2 2"));
    assert_eq!(
        bob.expect(|e| matches!(e, Event::Connected { .. })).await,
        Event::Connected { call: bob_call }
    );
    alice.hangup(call).await;
    assert_eq!(
        bob.ended().await,
        (None, "The other side hung up".to_string())
    );
}

#[tokio::test]
async fn call_forks_to_every_registration_and_cancels_the_others() {
    let gw = start().await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let mut bob_laptop = Phone::registered(gw.addr, "102", 2).await;
    let mut bob_phone = Phone::registered(gw.addr, "102", 3).await;
    alice.call("102", SDP).await;
    let (on_laptop, _) = bob_laptop.incoming().await;
    bob_phone.incoming().await;
    alice.expect(|e| matches!(e, Event::Ringing { .. })).await;
    bob_laptop.answer(on_laptop, SDP).await;
    alice.expect(|e| matches!(e, Event::Answered { .. })).await;
    // The gateway's CANCEL says why (Reason: SIP;cause=200): not a missed call.
    let (_, reason) = bob_phone.ended().await;
    assert!(reason.contains("Answered on another device"), "{reason}");
    bob_laptop
        .expect(|e| matches!(e, Event::Connected { .. }))
        .await;
}

#[tokio::test]
async fn unknown_extension_404_and_nobody_registered_480() {
    let gw = start().await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    // (Not 999: that is the ambulance in Poland, an emergency number, refused otherwise.)
    alice.call("199", SDP).await;
    assert_eq!(
        alice.ended().await,
        (Some(404), "No such extension".to_string())
    );
    alice.call("103", SDP).await;
    assert_eq!(alice.ended().await.0, Some(480));
}

#[tokio::test]
async fn decline_and_busy_are_passed_back() {
    let gw = start().await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let mut bob = Phone::registered(gw.addr, "102", 2).await;
    let mut carol = Phone::registered(gw.addr, "103", 3).await;
    alice.call("102", SDP).await;
    let (call, _) = bob.incoming().await;
    bob.hangup(call).await;
    assert_eq!(alice.ended().await, (Some(603), "Declined".to_string()));

    // Bob in a call with Alice; Carol gets 486 Busy Here from Bob's user agent.
    alice.connected_call(&mut bob, "102").await;
    carol.call("102", SDP).await;
    assert_eq!(carol.ended().await, (Some(486), "Busy".to_string()));
}

#[tokio::test]
async fn caller_cancels_while_ringing() {
    let gw = start().await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let mut bob = Phone::registered(gw.addr, "102", 2).await;
    let call = alice.call("102", SDP).await;
    bob.incoming().await;
    alice.expect(|e| matches!(e, Event::Ringing { .. })).await;
    alice.hangup(call).await;
    let (_, reason) = bob.ended().await;
    assert!(reason.contains("Missed call"), "{reason}");
}

#[tokio::test]
async fn closed_socket_removes_its_registration() {
    let gw = start().await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let bob = Phone::registered(gw.addr, "102", 2).await;
    bob.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    alice.call("102", SDP).await;
    assert_eq!(alice.ended().await.0, Some(480));
}

#[tokio::test]
async fn unauthenticated_invite_is_challenged_with_407() {
    let gw = start().await;
    let mut c = Raw::connect(gw.addr).await;
    c.send(&format!("INVITE sip:102@{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS x.invalid;branch=z9hG4bKinv1\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>\nFrom: <sip:101@{DOMAIN}>;tag=a\nCall-ID: inv1\nCSeq: 1 INVITE\nContact: <sip:x@x.invalid;transport=ws>\nContent-Type: application/sdp\n\n{SDP}")).await;
    let r = c.final_response().await;
    assert_eq!(r.status, 407);
    assert_eq!(r.headers.all("Proxy-Authenticate").count(), 2);
}

#[tokio::test]
async fn malformed_sip_gets_400_with_a_reason_and_the_socket_stays_usable() {
    let gw = start().await;
    let mut c = Raw::connect(gw.addr).await;
    c.send(&format!("OPTIONS sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS x.invalid;branch=z9hG4bKbad\nMax-Forwards: lots\nTo: <sip:{DOMAIN}>\nFrom: <sip:101@{DOMAIN}>;tag=a\nCall-ID: bad1\nCSeq: 1 OPTIONS\n\n")).await;
    let r = c.final_response().await;
    assert_eq!(r.status, 400);
    assert!(r.reason.contains("Max-Forwards"), "{}", r.reason);
    // Garbage that cannot be answered is dropped; the connection keeps working.
    c.send("\u{1}\u{2} not sip at all\n\n").await;
    c.send("\r\n\r\n").await;
    assert_eq!(c.recv_text().await, "\r\n", "keepalive pong");
    c.send(&format!("OPTIONS sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS x.invalid;branch=z9hG4bKok\nMax-Forwards: 70\nTo: <sip:{DOMAIN}>\nFrom: <sip:101@{DOMAIN}>;tag=a\nCall-ID: ok1\nCSeq: 1 OPTIONS\n\n")).await;
    let r = c.final_response().await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn re_invite_is_proxied_within_the_dialog() {
    let gw = start().await;
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    let mut bob = Phone::registered(gw.addr, "102", 2).await;
    let (call, bob_call) = alice.connected_call(&mut bob, "102").await;
    // Alice turns her camera on: a new offer in a re-INVITE, through the gateway's Record-Route.
    let video = format!("{SDP}m=video 9 UDP/TLS/RTP/SAVPF 96\r\n");
    let offer = video.clone();
    alice
        .with(move |ua, now| ua.reinvite(call, offer, now))
        .await;
    let e = bob.expect(|e| matches!(e, Event::Reoffer { .. })).await;
    assert_eq!(
        e,
        Event::Reoffer {
            call: bob_call,
            sdp: video.clone()
        }
    );
    let answer = video.replace("o=- 1 1", "o=- 3 3");
    let a2 = answer.clone();
    bob.with(move |ua, now| ua.accept_reoffer(bob_call, a2, now))
        .await;
    let e = alice.expect(|e| matches!(e, Event::Answered { .. })).await;
    assert_eq!(e, Event::Answered { call, sdp: answer });
    bob.hangup(bob_call).await;
    assert_eq!(
        alice.ended().await,
        (None, "The other side hung up".to_string())
    );
}

/// The CLI changes accounts from another process, so the gateway is not told: its user cache
/// must pick the change up after `USER_CACHE_MS`, and without making requests wait on the
/// database (the first request after that time is answered from the cache and starts a
/// background reload).
#[tokio::test]
async fn a_password_changed_by_another_process_applies_after_the_cache_time() {
    let registered = |e: &Event| matches!(e, Event::Registration(RegistrationState::Registered));
    let failed = |e: &Event| matches!(e, Event::Registration(RegistrationState::Failed(_)));
    let gw = start().await;
    Phone::registered(gw.addr, "101", 1).await.close().await;
    let store = centrala_gateway::store::Store::open(gw.dir.path())
        .await
        .unwrap();
    store
        .set_password("101", "a-new-secret-101", DOMAIN)
        .await
        .unwrap();
    // Still cached: the new password is not known yet.
    let mut early = Phone::connect(gw.addr, "101", "a-new-secret-101", 2).await;
    early.expect(failed).await;
    early.close().await;
    tokio::time::sleep(Duration::from_millis(
        centrala_gateway::core::USER_CACHE_MS + 300,
    ))
    .await;
    // The first request after the cache time is answered from the stale entry while it
    // starts the reload (the challenge looks the user up too, so which password this first
    // phone meets depends on when the reload lands: either answer is right here).
    let mut poke = Phone::connect(gw.addr, "101", &password("101"), 3).await;
    poke.expect(|e| registered(e) || failed(e)).await;
    poke.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut new = Phone::connect(gw.addr, "101", "a-new-secret-101", 4).await;
    new.expect(registered).await;
    let mut old = Phone::connect(gw.addr, "101", &password("101"), 5).await;
    old.expect(failed).await;
}
