//! Prices and spending through the API (issue 15) against a running gateway: every endpoint
//! wants a session, the company's figures only an admin of that company, bad input is a
//! 400 with a JSON body, and the sums match the calls recorded (flat rates included).

mod common;

use centrala_gateway::accounts::DEFAULT_COMPANY;
use centrala_gateway::core::{CallRecord, Outcome};
use serde_json::json;

#[path = "support/http.rs"]
mod http;
use http::{Auth, http, login};
#[path = "support/seed.rs"]
mod seed;
use seed::{WEB_PASSWORD, employee_id, start_seeded};
#[path = "support/smtp.rs"]
mod smtp;
use smtp::{next_mail, smtp_sink};

fn call(
    id: &str,
    from: &str,
    dialled: &str,
    callee: Option<&str>,
    at: i64,
    secs: i64,
) -> CallRecord {
    CallRecord {
        company: DEFAULT_COMPANY,
        sip_call_id: id.into(),
        caller_ext: Some(from.into()),
        caller_number: from.into(),
        caller_name: None,
        dialled: dialled.into(),
        callee_ext: callee.map(Into::into),
        callee_name: None,
        started_ms: at,
        answered_ms: Some(at + 3_000),
        ended_ms: at + 3_000 + secs * 1000,
        outcome: Outcome::Answered,
        status: None,
        answered_device: None,
        diverted_from: None,
        diversion: None,
    }
}

const ADMIN_ONLY: [(&str, &str); 6] = [
    ("GET", "/api/v1/billing/costs"),
    ("GET", "/api/v1/billing/calls"),
    ("GET", "/api/v1/billing/statement"),
    ("GET", "/api/v1/billing/statement.csv"),
    ("GET", "/api/v1/billing/settings"),
    ("PUT", "/api/v1/billing/settings"),
];

#[tokio::test]
async fn costs_statements_and_limits_check_who_asks_and_add_up() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let olga = login(a, "olga@b.test", WEB_PASSWORD).await;
    let bob_id = employee_id(a, &alice, "102").await;
    let settings = json!({"spend_limit_micros": 100_000_000, "person_spend_limit_micros": null});
    let billing = json!({"flat_rate": "landline", "spend_limit_micros": 5_000_000});
    let bob_billing = format!("/api/v1/employees/{bob_id}/billing");
    let mut all: Vec<(&str, &str)> = ADMIN_ONLY.to_vec();
    all.extend([
        ("PUT", bob_billing.as_str()),
        ("GET", "/api/v1/me/costs"),
        ("GET", "/api/v1/me/statement.csv"),
    ]);
    // No session, a forged one: 401 with JSON.
    for (m, p) in &all {
        let body = (*m == "PUT").then(|| settings.clone());
        let r = http(a, m, p, Auth::None, body.clone()).await;
        assert_eq!(r.status, 401, "{m} {p}: {}", r.body);
        assert_eq!(r.error(), "unauthenticated");
        let r = http(a, m, p, Auth::Cookie("centrala_session=forged"), body).await;
        assert_eq!(r.status, 401, "{m} {p} forged");
    }
    // A user may see only their own.
    for (m, p) in ADMIN_ONLY.iter().chain([&("PUT", bob_billing.as_str())]) {
        let body = (*m == "PUT").then(|| settings.clone());
        let r = http(a, m, p, Auth::Cookie(&bob), body).await;
        assert_eq!(r.status, 403, "{m} {p}: {}", r.body);
        assert_eq!(r.error(), "forbidden");
    }
    // Another company's admin cannot reach our people.
    let r = http(
        a,
        "PUT",
        &bob_billing,
        Auth::Cookie(&olga),
        Some(billing.clone()),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // Bad input: 400 with a JSON body that names the field.
    for (p, field) in [
        ("/api/v1/billing/costs?month=2026-13", "month"),
        ("/api/v1/billing/statement?month=March", "month"),
        ("/api/v1/billing/calls?limit=0", "limit"),
        ("/api/v1/billing/calls?employee_id=x", "employee_id"),
    ] {
        let r = http(a, "GET", p, Auth::Cookie(&alice), None).await;
        assert_eq!(r.status, 400, "{p}: {}", r.body);
        assert!(r.json()["fields"][field].is_string(), "{p}: {}", r.body);
    }
    let r = http(
        a,
        "GET",
        "/api/v1/me/costs?month=1999-01",
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 400, "no prices then: {}", r.body);
    assert_eq!(r.error(), "bad_request");
    let r = http(
        a,
        "PUT",
        "/api/v1/billing/settings",
        Auth::Cookie(&alice),
        Some(json!({"spend_limit_micros": -1, "person_spend_limit_micros": null})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["fields"]["spend_limit_micros"].is_string());
    let r = http(
        a,
        "PUT",
        &bob_billing,
        Auth::Cookie(&alice),
        Some(json!({"flat_rate": "gold", "spend_limit_micros": null})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["fields"]["flat_rate"].is_string());
    let r = http(
        a,
        "PUT",
        &bob_billing,
        Auth::Cookie(&alice),
        Some(json!({"spend_limit_micros": 1})),
    )
    .await;
    assert_eq!(r.status, 400, "a missing field: {}", r.body);
    assert_eq!(r.error(), "bad_request");
    // The admin sets the limits and Bob's flat rate.
    let r = http(
        a,
        "PUT",
        "/api/v1/billing/settings",
        Auth::Cookie(&alice),
        Some(settings.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http(
        a,
        "GET",
        "/api/v1/billing/settings",
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.json(), settings);
    let r = http(
        a,
        "GET",
        "/api/v1/billing/settings",
        Auth::Cookie(&olga),
        None,
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"spend_limit_micros": null, "person_spend_limit_micros": null}),
        "Olga's company is untouched"
    );
    let r = http(
        a,
        "PUT",
        &bob_billing,
        Auth::Cookie(&alice),
        Some(billing.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Calls this month: Bob 10 minutes to a landline (his flat rate) and 61 s to a mobile
    // (2 minutes: 0.24); Alice 30 s to Berlin (0.20) and a call to Bob (internal).
    let now = centrala_gateway::accounts::unix_now() * 1000;
    let at = now - 60_000;
    gw.store
        .record_calls(&[
            call("b1", "102", "22 600 61 00", None, at, 600),
            call("b2", "102", "601 234 567", None, at + 1, 61),
            call("a1", "101", "+49 30 12345678", None, at + 2, 30),
            call("a2", "101", "102", Some("102"), at + 3, 120),
        ])
        .await
        .unwrap();
    let month = centrala_gateway::billing::Month::of_ms(at).to_string();
    let r = http(
        a,
        "GET",
        &format!("/api/v1/billing/costs?month={month}"),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let costs = r.json();
    assert_eq!(costs["total_cost_micros"], 440_000);
    assert_eq!(costs["currency"], "PLN");
    let person = |ext: &str| {
        costs["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["extension"] == ext)
            .unwrap()
            .clone()
    };
    assert_eq!(person("102")["cost_micros"], 240_000);
    assert_eq!(person("102")["calls"], 2);
    assert_eq!(person("102")["flat_rate"], "landline");
    assert_eq!(person("101")["cost_micros"], 200_000);
    assert_eq!(person("101")["calls"], 1, "the internal call is not a cost");
    assert_eq!(person("103")["cost_micros"], 0);
    let r = http(a, "GET", "/api/v1/billing/costs", Auth::Cookie(&olga), None).await;
    assert_eq!(
        r.json()["total_cost_micros"],
        0,
        "Olga sees her company only"
    );
    assert_eq!(r.json()["people"].as_array().unwrap().len(), 1);
    let r = http(
        a,
        "GET",
        &format!("/api/v1/billing/calls?month={month}&employee_id={bob_id}"),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.json()["total"], 2);
    assert_eq!(r.json()["items"][0]["class"], "mobile");
    assert_eq!(r.json()["items"][0]["billed_seconds"], 120);
    // The statement: 3 extensions × 28.80, Bob's flat rate 10.00, calls 0.44.
    let r = http(
        a,
        "GET",
        &format!("/api/v1/billing/statement?month={month}"),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = r.json();
    assert_eq!(
        s["total_micros"],
        3 * 28_800_000 + 10_000_000 + 440_000,
        "{s}"
    );
    assert_eq!(
        s["lines"][0],
        json!({"item": "subscription", "class": null, "quantity": 3,
        "unit_micros": 28_800_000, "billed_seconds": null, "amount_micros": 86_400_000})
    );
    let r = http(
        a,
        "GET",
        &format!("/api/v1/billing/statement.csv?month={month}"),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"statement-{month}.csv\"").as_str())
    );
    assert!(
        r.body
            .contains(&format!("{month},calls,mobile,1,,120,0.24\n")),
        "{}",
        r.body
    );
    assert!(
        r.body.ends_with(&format!("{month},total,,,,,96.84\n")),
        "{}",
        r.body
    );
    // Bob's own: his flat rate and calls, his spending against his limit.
    let r = http(
        a,
        "GET",
        &format!("/api/v1/me/costs?month={month}"),
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mine = r.json();
    assert_eq!(mine["statement"]["total_micros"], 10_240_000);
    assert_eq!(mine["calls"]["total"], 2);
    assert_eq!(mine["spend"]["person_spent_micros"], 240_000);
    assert_eq!(mine["spend"]["person_limit_micros"], 5_000_000);
    assert_eq!(mine["spend"]["company_limit_micros"], 100_000_000);
    let r = http(
        a,
        "GET",
        &format!("/api/v1/me/statement.csv?month={month}"),
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.ends_with(&format!("{month},total,,,,,10.24\n")),
        "{}",
        r.body
    );
    assert!(!r.body.contains("subscription"), "{}", r.body);
    // The OpenAPI document names every endpoint.
    let doc = http(a, "GET", "/api/v1/openapi.json", Auth::None, None)
        .await
        .json();
    for (_, path) in ADMIN_ONLY {
        assert!(doc["paths"].get(path).is_some(), "{path} in the document");
    }
    for path in [
        "/api/v1/employees/{id}/billing",
        "/api/v1/me/costs",
        "/api/v1/me/statement.csv",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} in the document");
    }
    // The store function the core asks before an outgoing call.
    let s = gw
        .store
        .spend_status(DEFAULT_COMPANY, bob_id, now)
        .await
        .unwrap();
    assert!(!s.limit_reached());
}

/// A recorded call that takes a person past 80 % of their limit sends the alert through the
/// mail queue at once (the worker is woken, not left asleep), to the admin and the person,
/// each in their language, and only once that month.
#[tokio::test]
async fn the_80_percent_alert_goes_out_once() {
    let (port, mut mails) = smtp_sink().await;
    let gw = start_seeded(Some(port)).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let bob_id = employee_id(a, &alice, "102").await;
    let r = http(
        a,
        "PUT",
        "/api/v1/me/language",
        Auth::Cookie(&bob),
        Some(json!({"language": "pl"})),
    )
    .await;
    assert!(r.status < 300, "{}", r.body);
    let r = http(
        a,
        "PUT",
        &format!("/api/v1/employees/{bob_id}/billing"),
        Auth::Cookie(&alice),
        Some(json!({"flat_rate": "none", "spend_limit_micros": 1_000_000})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let now = centrala_gateway::accounts::unix_now() * 1000 - 60_000;
    // 0.72 of 1.00: nothing yet; then 0.12 more: 84 %.
    gw.store
        .record_calls(&[call("m1", "102", "601 234 567", None, now, 360)])
        .await
        .unwrap();
    gw.store
        .record_calls(&[call("m2", "102", "601 234 567", None, now + 1, 60)])
        .await
        .unwrap();
    let mut got = [next_mail(&mut mails).await, next_mail(&mut mails).await];
    got.sort_by_key(|m| m.contains("To: alice") || m.contains("alice@a.test"));
    let (to_bob, to_alice) = (&got[0], &got[1]);
    assert!(to_bob.contains("bob@a.test"), "{to_bob}");
    assert!(to_alice.contains("alice@a.test"), "{to_alice}");
    assert!(to_alice.contains("84 %"), "{to_alice}");
    assert!(
        to_alice.contains("0.84 PLN") && to_alice.contains("1.00 PLN"),
        "{to_alice}"
    );
    assert!(to_bob.contains("Content-Language: pl"), "{to_bob}");
    assert!(
        to_bob.contains("0,84") && to_bob.contains("1,00"),
        "{to_bob}"
    );
    // More calls this month: no more alerts.
    gw.store
        .record_calls(&[call("m3", "102", "601 234 567", None, now + 2, 60)])
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(std::time::Duration::from_secs(2), mails.recv())
            .await
            .is_err(),
        "one alert per limit and month"
    );
}
