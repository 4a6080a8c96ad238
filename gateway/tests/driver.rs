//! The tokio driver around the sans-IO core. The core never waits on the store: with every
//! lookup slowed to 2 s, requests for users it already knows are answered at once, while a
//! user it must look up waits alone. And `/metrics` reports what the core counts.

mod common;

use std::time::{Duration, Instant};

use centrala_sip::ua::{Event, RegistrationState};
use common::{Phone, password, start};

fn registered(e: &Event) -> bool {
    matches!(e, Event::Registration(RegistrationState::Registered))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_users_are_answered_at_once_while_the_store_is_slow() {
    let gw = start().await;
    let addr = gw.addr;
    // 101 and 102 are known (looked up once); then the database turns slow.
    Phone::registered(addr, "101", 1).await.close().await;
    Phone::registered(addr, "102", 2).await.close().await;
    gw.store.slow_down(2_000);
    // 103 was never looked up: its REGISTER waits for the slow lookup...
    let slow = tokio::spawn(async move {
        let t = Instant::now();
        let mut p = Phone::connect(addr, "103", &password("103"), 3).await;
        p.expect(registered).await;
        t.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ...while 101 and 102 register and call each other at once.
    let t = Instant::now();
    let mut a = Phone::connect(addr, "101", &password("101"), 4).await;
    a.expect(registered).await;
    let register = t.elapsed();
    let mut b = Phone::connect(addr, "102", &password("102"), 5).await;
    b.expect(registered).await;
    let t = Instant::now();
    let (call, _) = a.connected_call(&mut b, "102").await;
    let call_setup = t.elapsed();
    a.hangup(call).await;
    println!("with a 2 s store: REGISTER of a known user {register:?}, call set-up {call_setup:?}");
    // Generous bounds for a loaded CI machine: the failure they catch is a 2 s wait.
    assert!(
        register < Duration::from_millis(500),
        "REGISTER waited on the store: {register:?}"
    );
    assert!(
        call_setup < Duration::from_millis(500),
        "the call waited on the store: {call_setup:?}"
    );
    let waited = slow.await.unwrap();
    println!("the unknown user's REGISTER took {waited:?}");
    assert!(
        waited >= Duration::from_millis(1_900),
        "103 was not looked up: {waited:?}"
    );
    drop(gw);
}

#[path = "support/http.rs"]
mod http;

/// `GET /metrics` speaks Prometheus text and follows the core: registrations, requests by
/// method, responses by class, store lookups with their latency, connections by transport.
#[tokio::test]
async fn metrics_follow_registrations_requests_and_lookups() {
    let gw = start().await;
    let phone = Phone::registered(gw.addr, "101", 1).await;
    // Published once a second.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let r = http::http(gw.addr, "GET", "/metrics", http::Auth::None, None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain")
    );
    let text = &r.body;
    for line in [
        "centrala_registrations 1",
        "centrala_sip_requests_total{method=\"REGISTER\"} 2",
        "centrala_sip_responses_total{class=\"2xx\"} 1",
        "centrala_sip_responses_total{class=\"4xx\"} 1",
        "centrala_connections{transport=\"ws\"} 1",
        "centrala_store_lookups_total{kind=\"user\"} 1",
        "centrala_store_lookup_seconds_count{kind=\"user\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing in\n{text}"
        );
    }
    phone.close().await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let r = http::http(gw.addr, "GET", "/metrics", http::Auth::None, None).await;
    assert!(
        r.body.lines().any(|l| l == "centrala_registrations 0"),
        "{}",
        r.body
    );
}
