//! Devices, device credentials and call routing through the API, against a running gateway
//! (docs/api-routing.md): every resource answers 401 without a session, 403 to a non-admin
//! on the admin endpoints, 404 for another company's employee and unknown ids, and 400 with
//! field errors; the happy paths; a desk phone registering over UDP with a device credential
//! shows in the devices list, is removed (and refused after), and a locked extension
//! refuses new devices; renumbering keeps a credential working; forwarded calls in the
//! history of both sides.

mod common;

use std::net::SocketAddr;

use centrala_gateway::accounts::DEFAULT_COMPANY;
use centrala_gateway::core::{CallRecord, Outcome};
use centrala_gateway::forwarding::Cause;
use centrala_sip::digest::{Algorithm, Challenge, Credentials, ha1};
use centrala_sip::message::Response;
use common::DOMAIN;
use common::peer::Peer;
use serde_json::{Value, json};

#[path = "support/http.rs"]
mod http;
use http::{Auth, Resp, http, login};
#[path = "support/seed.rs"]
mod seed;
use seed::{WEB_PASSWORD, employee_id, start_seeded};

fn field_errors(r: &Resp) -> Value {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error(), "validation_failed", "{}", r.body);
    r.json()["fields"].clone()
}

async fn get(a: SocketAddr, who: &str, path: &str) -> Value {
    let r = http(a, "GET", path, Auth::Cookie(who), None).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.json()
}

async fn put(a: SocketAddr, who: &str, path: &str, body: Value) -> Resp {
    http(a, "PUT", path, Auth::Cookie(who), Some(body)).await
}

async fn new_credential(a: SocketAddr, who: &str, path: &str, label: &str) -> Resp {
    http(
        a,
        "POST",
        path,
        Auth::Cookie(who),
        Some(json!({ "label": label })),
    )
    .await
}

/// A REGISTER from `peer` as user `user` with digest, the way a desk phone sends it; the
/// final answer to the authenticated request.
async fn register(peer: &mut Peer, user: &str, password: &str, cseq: u32) -> Response {
    let me = peer.local();
    let reg = |cseq: u32, auth: String| {
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKd{user}{}x{cseq};rport\nMax-Forwards: 70\nTo: <sip:{user}@{DOMAIN}>\nFrom: <sip:{user}@{DOMAIN}>;tag=d{user}\nCall-ID: dev-{user}-{me}\nCSeq: {cseq} REGISTER\nContact: <sip:{user}@{me};transport=udp>\nUser-Agent: Desk 3000\nExpires: 600\n{auth}Content-Length: 0\n\n",
            me.port()
        )
    };
    peer.send(&reg(cseq, String::new())).await;
    let r = peer.final_response().await;
    assert_eq!(r.status, 401, "{}", r.reason);
    let ch = Challenge::pick(r.headers.all("WWW-Authenticate")).unwrap();
    let creds = Credentials::answer(
        &ch,
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        user,
        password,
        "c",
        1,
    );
    peer.send(&reg(cseq + 1, format!("Authorization: {creds}\n")))
        .await;
    peer.final_response().await
}

/// Every new endpoint: 401 without a session; the admin ones 403 for a non-admin; the
/// personal ones 400 for an API token; the OpenAPI document names them all.
#[tokio::test]
async fn every_endpoint_needs_a_session_and_the_admin_ones_an_admin() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let cecil_id = employee_id(a, &alice, "103").await;
    let personal = [
        ("GET", "/api/v1/me/devices".to_string(), None),
        ("DELETE", "/api/v1/me/devices/0123456789abcdef".into(), None),
        (
            "PUT",
            "/api/v1/me/default-device".into(),
            Some(json!({"id": null})),
        ),
        ("GET", "/api/v1/me/device-credentials".into(), None),
        (
            "POST",
            "/api/v1/me/device-credentials".into(),
            Some(json!({"label": "Desk"})),
        ),
        ("DELETE", "/api/v1/me/device-credentials/1".into(), None),
        ("GET", "/api/v1/me/routing".into(), None),
        ("PUT", "/api/v1/me/routing".into(), Some(json!({}))),
    ];
    let e = format!("/api/v1/employees/{cecil_id}");
    let admin = [
        ("GET", format!("{e}/devices"), None),
        ("DELETE", format!("{e}/devices/0123456789abcdef"), None),
        (
            "PUT",
            format!("{e}/default-device"),
            Some(json!({"id": null})),
        ),
        ("PUT", format!("{e}/lock"), Some(json!({"locked": true}))),
        ("GET", format!("{e}/device-credentials"), None),
        (
            "POST",
            format!("{e}/device-credentials"),
            Some(json!({"label": "Desk"})),
        ),
        ("DELETE", format!("{e}/device-credentials/1"), None),
        ("GET", format!("{e}/routing"), None),
        ("PUT", format!("{e}/routing"), Some(json!({}))),
    ];
    for (method, path, body) in personal.iter().chain(&admin) {
        let r = http(a, method, path, Auth::None, body.clone()).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.body);
        assert_eq!(r.error(), "unauthenticated");
    }
    for (method, path, body) in &admin {
        let r = http(a, method, path, Auth::Cookie(&bob), body.clone()).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(r.error(), "forbidden");
    }
    // Cecil was not locked by any of that.
    assert!(
        !gw.store
            .find_sip_user(DEFAULT_COMPANY, "103")
            .await
            .unwrap()
            .unwrap()
            .locked
    );
    // An admin's API token works on the admin endpoints and is nobody's devices.
    let r = http(
        a,
        "POST",
        "/api/v1/api-tokens",
        Auth::Cookie(&alice),
        Some(json!({"name": "script"})),
    )
    .await;
    let token = r.json()["secret"].as_str().unwrap().to_string();
    for (method, path, body) in &personal {
        let r = http(a, method, path, Auth::Bearer(&token), body.clone()).await;
        assert_eq!(r.status, 400, "{method} {path}: {}", r.body);
    }
    let r = http(
        a,
        "GET",
        &format!("{e}/routing"),
        Auth::Bearer(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = http(a, "GET", "/api/v1/openapi.json", Auth::None, None)
        .await
        .json();
    for path in [
        "/api/v1/me/devices",
        "/api/v1/me/devices/{id}",
        "/api/v1/me/default-device",
        "/api/v1/me/device-credentials",
        "/api/v1/me/device-credentials/{id}",
        "/api/v1/me/routing",
        "/api/v1/employees/{id}/devices",
        "/api/v1/employees/{id}/devices/{device}",
        "/api/v1/employees/{id}/default-device",
        "/api/v1/employees/{id}/lock",
        "/api/v1/employees/{id}/device-credentials",
        "/api/v1/employees/{id}/device-credentials/{cred}",
        "/api/v1/employees/{id}/routing",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} in the document");
    }
}

/// Another company's employee, unknown employees, credentials and devices are 404.
#[tokio::test]
async fn other_companies_and_unknown_ids_are_not_found() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let olga = login(a, "olga@b.test", WEB_PASSWORD).await;
    let bob_id = employee_id(a, &alice, "102").await;
    // Bob has a credential; Olga (admin elsewhere) cannot see or touch it.
    let r = new_credential(
        a,
        &alice,
        &format!("/api/v1/employees/{bob_id}/device-credentials"),
        "Desk",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let cred = r.json()["id"].as_i64().unwrap();
    for id in [bob_id.to_string(), "999999".into(), "abc".into()] {
        let e = format!("/api/v1/employees/{id}");
        let calls = [
            ("GET", format!("{e}/devices"), None),
            ("DELETE", format!("{e}/devices/0123456789abcdef"), None),
            (
                "PUT",
                format!("{e}/default-device"),
                Some(json!({"id": null})),
            ),
            ("PUT", format!("{e}/lock"), Some(json!({"locked": true}))),
            ("GET", format!("{e}/device-credentials"), None),
            (
                "POST",
                format!("{e}/device-credentials"),
                Some(json!({"label": "Desk"})),
            ),
            ("DELETE", format!("{e}/device-credentials/{cred}"), None),
            ("GET", format!("{e}/routing"), None),
            ("PUT", format!("{e}/routing"), Some(json!({}))),
        ];
        for (method, path, body) in &calls {
            let r = http(a, method, path, Auth::Cookie(&olga), body.clone()).await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
            assert_eq!(r.error(), "not_found");
        }
    }
    // Olga's own: no such credential, no such device (registered or not, well-formed or not).
    for path in [
        format!("/api/v1/me/device-credentials/{cred}"),
        "/api/v1/me/device-credentials/x".into(),
        "/api/v1/me/devices/0123456789abcdef".into(),
        "/api/v1/me/devices/nonsense".into(),
    ] {
        let r = http(a, "DELETE", &path, Auth::Cookie(&olga), None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    // Alice, Bob's admin: an unknown credential or device of Bob's.
    let e = format!("/api/v1/employees/{bob_id}");
    for path in [
        format!("{e}/device-credentials/999999"),
        format!("{e}/devices/0123456789abcdef"),
    ] {
        let r = http(a, "DELETE", &path, Auth::Cookie(&alice), None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    // Bob's credential is still there.
    let list = get(a, &alice, &format!("{e}/device-credentials")).await;
    assert_eq!(list["credentials"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn routing_round_trip_and_field_errors() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let olga = login(a, "olga@b.test", WEB_PASSWORD).await;
    let bob_id = employee_id(a, &alice, "102").await;
    let off = json!({
        "always": null, "busy": null, "no_answer": null, "offline": null, "unavailable": null,
        "strategy": "all", "ring_first_secs": 0
    });
    assert_eq!(get(a, &bob, "/api/v1/me/routing").await, off);
    let rules = json!({
        "always": null,
        "busy": {"kind": "extension", "ext": "103"},
        "no_answer": {"after_secs": 20, "target": {"kind": "group", "exts": ["101", "103"]}},
        "offline": {"kind": "external", "number": "+48221234567"},
        "unavailable": {"kind": "voicemail"},
        "strategy": "default_first",
        "ring_first_secs": 7
    });
    let r = put(a, &bob, "/api/v1/me/routing", rules.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), rules);
    assert_eq!(get(a, &bob, "/api/v1/me/routing").await, rules);
    let admin_path = format!("/api/v1/employees/{bob_id}/routing");
    assert_eq!(get(a, &alice, &admin_path).await, rules);
    // The registrar and proxy read it with the SIP user.
    let u = gw
        .store
        .find_sip_user(DEFAULT_COMPANY, "102")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(serde_json::to_value(&*u.routing).unwrap(), rules);
    // Fields left out are off; an admin changes it.
    let r = put(
        a,
        &alice,
        &admin_path,
        json!({"busy": {"kind": "extension", "ext": "101"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut want = off.clone();
    want["busy"] = json!({"kind": "extension", "ext": "101"});
    assert_eq!(get(a, &bob, "/api/v1/me/routing").await, want);
    // Every wrong field at once, each named.
    let r = put(
        a,
        &bob,
        "/api/v1/me/routing",
        json!({
            "always": {"kind": "extension", "ext": "102"},
            "busy": {"kind": "extension", "ext": "555"},
            "no_answer": {"after_secs": 3, "target": {"kind": "group", "exts": ["103", "556", "557"]}},
            "offline": {"kind": "external", "number": "12"},
            "unavailable": {"kind": "extension", "ext": "1x"},
            "ring_first_secs": 61
        }),
    )
    .await;
    let f = field_errors(&r);
    assert_eq!(
        f,
        json!({
            "always": "calls cannot be forwarded to your own extension",
            "busy": "no extension 555 in your company",
            "no_answer.after_secs": "between 5 and 60 seconds",
            "no_answer.target": "no extensions 556, 557 in your company",
            "offline": "an external number is written in international form, such as +48 22 123 45 67",
            "unavailable": "an extension has 2 to 8 digits",
            "ring_first_secs": "between 1 and 60 seconds",
        }),
        "{}",
        r.body
    );
    // Nothing was stored.
    assert_eq!(get(a, &bob, "/api/v1/me/routing").await, want);
    // An extension of another company is not one of yours: Olga's company has no 102.
    let r = put(
        a,
        &olga,
        "/api/v1/me/routing",
        json!({"busy": {"kind": "extension", "ext": "102"}}),
    )
    .await;
    assert_eq!(
        field_errors(&r)["busy"],
        "no extension 102 in your company",
        "{}",
        r.body
    );
    // The admin's check is against the employee's own extension, not the admin's.
    let r = put(
        a,
        &alice,
        &admin_path,
        json!({"always": {"kind": "extension", "ext": "102"}}),
    )
    .await;
    assert_eq!(field_errors(&r).as_object().unwrap().len(), 1);
    assert!(field_errors(&r).get("always").is_some());
    // Bodies that are not routing: 400 in JSON.
    for body in [
        json!({"sometimes": {"kind": "voicemail"}}),
        json!({"busy": {"kind": "pigeon"}}),
        json!({"no_answer": {"after_secs": "soon", "target": {"kind": "voicemail"}}}),
        json!({"strategy": "random"}),
    ] {
        let r = put(a, &bob, "/api/v1/me/routing", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.error(), "bad_request", "{}", r.body);
    }
    let r = http::http_raw(
        a,
        "PUT",
        "/api/v1/me/routing",
        Auth::Cookie(&bob),
        Some(("application/json", "{not json".into())),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "bad_request");
}

#[tokio::test]
async fn device_credentials_are_shown_once_limited_revoked_and_survive_renumbering() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let bob_id = employee_id(a, &alice, "102").await;
    let mine = "/api/v1/me/device-credentials";
    let admin = format!("/api/v1/employees/{bob_id}/device-credentials");
    let empty = get(a, &bob, mine).await;
    assert_eq!(empty["credentials"], json!([]));
    assert_eq!(empty["max"], 5);
    assert_eq!(
        empty["sip"],
        json!({
            "domain": DOMAIN,
            "proxy": format!("127.0.0.1:{}", gw.udp_addr.port()),
            "transports": ["udp"],
            "tls_proxy": format!("127.0.0.1:{}", gw.tls_addr.port()),
        })
    );
    // Labels: 1 to 60 characters after trimming, one line.
    for label in ["", "   ", &"x".repeat(61), "two\nlines"] {
        let r = new_credential(a, &bob, mine, label).await;
        assert_eq!(
            field_errors(&r)["label"],
            "a label of 1 to 60 characters (one line) is needed"
        );
    }
    let r = http(a, "POST", mine, Auth::Cookie(&bob), Some(json!({}))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Made by Bob himself, then by his admin.
    let r = new_credential(a, &bob, mine, "  Desk phone ").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let desk = r.json();
    let password = desk["password"].as_str().unwrap().to_string();
    let username = desk["username"].as_str().unwrap().to_string();
    assert_eq!(password.len(), 20);
    assert!(centrala_gateway::forwarding::is_credential_username(
        &username
    ));
    assert_eq!(desk["label"], "Desk phone");
    assert_eq!(desk["created_by"], "User 102");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((desk["created_ms"].as_i64().unwrap() - now_ms).abs() < 10_000);
    let r = new_credential(a, &alice, &admin, &"é".repeat(60)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["created_by"], "User 101");
    assert_ne!(r.json()["password"], desk["password"]);
    for i in 3..=5 {
        let r = new_credential(a, &bob, mine, &format!("Phone {i}")).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // The sixth is refused, whoever asks.
    for (who, path) in [(&bob, mine), (&alice, admin.as_str())] {
        let r = new_credential(a, who, path, "Sixth").await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.error(), "conflict");
    }
    // The list never shows a password; Bob and his admin see the same.
    let list = http(a, "GET", mine, Auth::Cookie(&bob), None).await;
    assert!(!list.body.contains(&password));
    assert!(!list.body.contains("password"), "{}", list.body);
    let list = list.json();
    assert_eq!(list["credentials"].as_array().unwrap().len(), 5);
    assert_eq!(
        list["credentials"][0],
        json!({"id": desk["id"], "username": username, "label": "Desk phone",
               "created_ms": desk["created_ms"], "created_by": "User 102"})
    );
    assert_eq!(get(a, &alice, &admin).await, list);
    // The credential logs in as Bob, with its own HA1 for the company's domain.
    let check = |u: &centrala_gateway::store::SipUser, ext: &str| {
        assert_eq!(u.ext, ext);
        assert_eq!(u.login.as_deref(), Some(username.as_str()));
        assert_eq!(
            u.ha1(Algorithm::Md5),
            Some(ha1(Algorithm::Md5, &username, DOMAIN, &password).as_str())
        );
        assert_eq!(
            u.ha1(Algorithm::Sha256),
            Some(ha1(Algorithm::Sha256, &username, DOMAIN, &password).as_str())
        );
    };
    let u = gw
        .store
        .find_sip_user(DEFAULT_COMPANY, &username)
        .await
        .unwrap()
        .expect("the credential's user");
    check(&u, "102");
    // Renumbering Bob keeps it working: it belongs to him, not to the extension.
    let r = http(
        a,
        "PATCH",
        &format!("/api/v1/employees/{bob_id}"),
        Auth::Cookie(&alice),
        Some(json!({"extension": "150"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let u = gw
        .store
        .find_sip_user(DEFAULT_COMPANY, &username)
        .await
        .unwrap()
        .expect("still Bob's");
    check(&u, "150");
    // Revoking: once, then 404; the admin revokes another; four are left... then three.
    let second = list["credentials"][1]["id"].as_i64().unwrap();
    let r = http(
        a,
        "DELETE",
        &format!("{mine}/{}", desk["id"]),
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = http(
        a,
        "DELETE",
        &format!("{mine}/{}", desk["id"]),
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(
        gw.store
            .find_sip_user(DEFAULT_COMPANY, &username)
            .await
            .unwrap()
            .is_none()
    );
    // Alice cannot revoke Bob's through her own /me.
    let r = http(
        a,
        "DELETE",
        &format!("{mine}/{second}"),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = http(
        a,
        "DELETE",
        &format!("{admin}/{second}"),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let list = get(a, &bob, mine).await;
    assert_eq!(list["credentials"].as_array().unwrap().len(), 3);
    // There is room again.
    let r = new_credential(a, &bob, mine, "Again").await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// A desk phone registers over UDP with a device credential: it is listed (kind, transport,
/// source, credential), can be made the default, and removed (a REGISTER from it after is
/// refused with a 403 that says it was removed). A locked extension refuses a new device
/// while the registered ones go on; a revoked credential's phone is removed at once.
#[tokio::test]
async fn a_desk_phone_is_listed_made_default_removed_and_refused() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let bob_id = employee_id(a, &alice, "102").await;
    let mine = "/api/v1/me/device-credentials";
    let made = |r: Resp| {
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        (
            v["id"].as_i64().unwrap(),
            v["username"].as_str().unwrap().to_string(),
            v["password"].as_str().unwrap().to_string(),
        )
    };
    let (_, user, pw) = made(new_credential(a, &bob, mine, "Desk").await);
    let (spare_id, spare_user, spare_pw) = made(new_credential(a, &bob, mine, "Spare").await);
    let empty = get(a, &bob, "/api/v1/me/devices").await;
    assert_eq!(
        empty,
        json!({"devices": [], "default_device": null, "locked": false, "max_devices": 9})
    );
    let mut desk = Peer::udp(gw.udp_addr).await;
    let ok = register(&mut desk, &user, &pw, 1).await;
    assert_eq!(ok.status, 200, "{}", ok.reason);
    // A wrong password is not the credential.
    let mut guess = Peer::udp_from("127.0.0.3".parse().unwrap(), gw.udp_addr).await;
    assert_eq!(register(&mut guess, &user, "wrong", 1).await.status, 401);
    let list = get(a, &bob, "/api/v1/me/devices").await;
    let devices = list["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{list}");
    let d = &devices[0];
    let id = d["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 16);
    assert_eq!(d["kind"], "phone");
    assert_eq!(d["transport"], "udp");
    assert_eq!(d["source"], desk.local().to_string());
    assert_eq!(d["credential"], user.as_str());
    assert_eq!(d["user_agent"], "Desk 3000");
    assert_eq!(d["default"], false);
    assert!(d["expires_ms"].as_i64() > d["registered_ms"].as_i64());
    assert!(d["last_seen_ms"].as_i64() >= d["registered_ms"].as_i64());
    // The admin sees the same list.
    let e = format!("/api/v1/employees/{bob_id}");
    assert_eq!(get(a, &alice, &format!("{e}/devices")).await, list);
    // The default device: a registered one only; null clears it.
    let r = put(
        a,
        &bob,
        "/api/v1/me/default-device",
        json!({"id": "0123456789abcdef"}),
    )
    .await;
    assert!(field_errors(&r).get("id").is_some(), "{}", r.body);
    let r = put(a, &bob, "/api/v1/me/default-device", json!({"id": id})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["default_device"], id.as_str());
    assert_eq!(v["devices"][0]["default"], true);
    let u = gw
        .store
        .find_sip_user(DEFAULT_COMPANY, "102")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.default_device.as_deref(), Some(id.as_str()));
    let r = put(
        a,
        &alice,
        &format!("{e}/default-device"),
        json!({"id": null}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["default_device"], Value::Null);
    put(a, &bob, "/api/v1/me/default-device", json!({"id": id})).await;
    // Locked: the registered phone goes on, a new one is refused with the reason.
    let r = put(a, &alice, &format!("{e}/lock"), json!({"locked": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["locked"], true);
    assert_eq!(r.json()["devices"].as_array().unwrap().len(), 1);
    assert_eq!(get(a, &bob, "/api/v1/me/devices").await["locked"], true);
    let mut spare = Peer::udp_from("127.0.0.2".parse().unwrap(), gw.udp_addr).await;
    let refused = register(&mut spare, &spare_user, &spare_pw, 1).await;
    assert_eq!(refused.status, 403, "{}", refused.reason);
    assert!(refused.reason.contains("locked"), "{}", refused.reason);
    let again = register(&mut desk, &user, &pw, 3).await;
    assert_eq!(
        again.status, 200,
        "a registered device refreshes: {}",
        again.reason
    );
    let r = put(a, &alice, &format!("{e}/lock"), json!({"locked": false})).await;
    assert_eq!(r.json()["locked"], false);
    let ok = register(&mut spare, &spare_user, &spare_pw, 3).await;
    assert_eq!(ok.status, 200, "{}", ok.reason);
    assert_eq!(
        get(a, &bob, "/api/v1/me/devices").await["devices"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Revoking the spare's credential removes that phone at once.
    let r = http(
        a,
        "DELETE",
        &format!("{mine}/{spare_id}"),
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let list = get(a, &bob, "/api/v1/me/devices").await;
    let devices = list["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{list}");
    assert_eq!(devices[0]["id"], id.as_str());
    // Removing the desk phone: gone from the list (still the stored default), and refused.
    let r = http(
        a,
        "DELETE",
        &format!("/api/v1/me/devices/{id}"),
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let list = get(a, &bob, "/api/v1/me/devices").await;
    assert_eq!(list["devices"], json!([]));
    assert_eq!(list["default_device"], id.as_str());
    let r = http(
        a,
        "DELETE",
        &format!("/api/v1/me/devices/{id}"),
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let refused = register(&mut desk, &user, &pw, 5).await;
    assert_eq!(refused.status, 403, "{}", refused.reason);
    assert!(refused.reason.contains("removed"), "{}", refused.reason);
    // Through the admin endpoint, too: a device registered by a phone with the SIP password.
    let mut other = Peer::udp_from("127.0.0.4".parse().unwrap(), gw.udp_addr).await;
    other.register("102").await;
    let list = get(a, &alice, &format!("{e}/devices")).await;
    let d = &list["devices"][0];
    assert_eq!(d["credential"], Value::Null);
    let r = http(
        a,
        "DELETE",
        &format!("{e}/devices/{}", d["id"].as_str().unwrap()),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        get(a, &bob, "/api/v1/me/devices").await["devices"],
        json!([])
    );
}

/// A call forwarded from Bob to Cecil shows in Bob's history as forwarded (the peer is the
/// caller, with where it went), in Cecil's as incoming with whom it was for and why, and in
/// the caller's as outgoing with the same; Bob's missed badge does not count it.
#[tokio::test]
async fn forwarded_calls_in_both_histories() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let cecil = login(a, "cecil@a.test", WEB_PASSWORD).await;
    let olga = login(a, "olga@b.test", WEB_PASSWORD).await;
    let t = 1_700_000_000_000i64;
    let record = |id: &str, caller: Option<&str>, number: &str, start: i64| CallRecord {
        company: DEFAULT_COMPANY,
        sip_call_id: id.into(),
        caller_ext: caller.map(Into::into),
        caller_number: number.into(),
        caller_name: None,
        dialled: "102".into(),
        callee_ext: Some("103".into()),
        callee_name: None,
        started_ms: start,
        answered_ms: Some(start + 1_000),
        ended_ms: start + 31_000,
        outcome: Outcome::Answered,
        status: Some(200),
        answered_device: None,
        diverted_from: Some("102".into()),
        diversion: Some(Cause::NoAnswer),
    };
    gw.store
        .record_calls(&[
            record("f1", None, "+48600100200", t),
            record("f2", Some("101"), "101", t + 100_000),
        ])
        .await
        .unwrap();
    let h = get(a, &bob, "/api/v1/history").await;
    assert_eq!(h["missed_unseen"], 0, "{h}");
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{h}");
    assert_eq!(
        items[1],
        json!({
            "id": items[1]["id"], "direction": "forwarded", "outcome": "answered", "missed": false,
            "peer": {"name": null, "number": "+48600100200", "extension": null},
            "started_ms": t, "answered_ms": t + 1_000, "ended_ms": t + 31_000, "duration_s": 30,
            "diverted_from_number": "102", "diverted_from_name": "User 102",
            "diversion": "no_answer",
            "forwarded_to_number": "103", "forwarded_to_name": "User 103"
        })
    );
    assert_eq!(items[0]["direction"], "forwarded");
    assert_eq!(
        items[0]["peer"],
        json!({"name": "User 101", "number": "101", "extension": "101"})
    );
    let h = get(a, &cecil, "/api/v1/history").await;
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{h}");
    for i in items {
        assert_eq!(i["direction"], "incoming");
        assert_eq!(i["diverted_from_number"], "102");
        assert_eq!(i["diverted_from_name"], "User 102");
        assert_eq!(i["diversion"], "no_answer");
        assert_eq!(i["forwarded_to_number"], Value::Null);
    }
    let h = get(a, &alice, "/api/v1/history").await;
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{h}");
    assert_eq!(items[0]["direction"], "outgoing");
    assert_eq!(items[0]["diverted_from_number"], "102");
    assert_eq!(items[0]["peer"]["extension"], "103");
    // Paging goes through forwarded rows too.
    let h = get(a, &bob, "/api/v1/history?limit=1").await;
    assert_eq!(h["items"][0]["started_ms"], t + 100_000);
    let h = get(
        a,
        &bob,
        &format!("/api/v1/history?limit=1&before={}", t + 100_000),
    )
    .await;
    assert_eq!(h["items"][0]["started_ms"], t);
    // Another company sees none of it.
    let h = get(a, &olga, "/api/v1/history").await;
    assert_eq!(h["items"], json!([]));
}
