//! The REST API and onboarding against a running gateway: login and sessions, roles and
//! companies (401/403/404), employees, number blocks, CSV import, API tokens, invitations
//! through a real SMTP listener, short-lived SIP credentials, revocation, tenant isolation by
//! API and by SIP, and a restart in the middle.

mod common;

use std::time::Duration;

use centrala_gateway::mail::{MailConfig, SmtpSecurity};
use centrala_sip::ua::{Event, RegistrationState, UaConfig};
use common::{DOMAIN, Phone, SDP, password, start_on};
use serde_json::json;
use tokio::net::TcpListener;

#[path = "support/http.rs"]
mod http;
use http::{Auth, http, http_raw, login};
#[path = "support/seed.rs"]
mod seed;
use seed::{OTHER, employee_id, start_seeded};

#[path = "support/smtp.rs"]
mod smtp;
use smtp::{next_mail, smtp_sink, smtp_sink_on};

fn link_token(mail: &str, kind: &str) -> String {
    let at = mail
        .find(&format!("?{kind}="))
        .unwrap_or_else(|| panic!("{kind} link in:\n{mail}"));
    mail[at + kind.len() + 2..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

// ---- tests ----

#[tokio::test]
async fn login_sessions_and_roles() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    // Unauthenticated.
    let r = http(a, "GET", "/api/v1/employees", Auth::None, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "unauthenticated");
    assert!(r.json()["message"].as_str().unwrap().len() > 5);
    // Wrong password, unknown address: the same answer.
    for (email, pw) in [
        ("alice@a.test", "wrong-password"),
        ("nobody@a.test", "Correct-Horse-7"),
    ] {
        let r = http(
            a,
            "POST",
            "/api/v1/sessions",
            Auth::None,
            Some(json!({"email": email, "password": pw})),
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.error(), "invalid_credentials");
    }
    // Bad JSON is a 400 with a JSON body.
    let r = http_raw(
        a,
        "POST",
        "/api/v1/sessions",
        Auth::None,
        Some(("application/json", "{nope".into())),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "bad_request");
    // Log in: an HttpOnly, SameSite, expiring cookie.
    let r = http(
        a,
        "POST",
        "/api/v1/sessions",
        Auth::None,
        Some(json!({"email": "Alice@A.test ", "password": "Correct-Horse-7"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let set = r.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Max-Age="),
        "{set}"
    );
    assert_eq!(r.json()["employee"]["extension"], "101");
    assert_eq!(r.json()["company"]["domain"], DOMAIN);
    let admin = r.session();
    let me = http(a, "GET", "/api/v1/me", Auth::Cookie(&admin), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["employee"]["role"], "admin");
    // A user may see the directory but not the admin API.
    let user = login(a, "bob@a.test", "Correct-Horse-7").await;
    let r = http(a, "GET", "/api/v1/employees", Auth::Cookie(&user), None).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error(), "forbidden");
    let r = http(a, "GET", "/api/v1/directory", Auth::Cookie(&user), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["total"], 3);
    // Logout ends the session.
    let r = http(
        a,
        "DELETE",
        "/api/v1/sessions/current",
        Auth::Cookie(&user),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        http(a, "GET", "/api/v1/me", Auth::Cookie(&user), None)
            .await
            .status,
        401
    );
    // Unknown endpoints answer JSON too.
    let r = http(a, "GET", "/api/v1/nothing-here", Auth::Cookie(&admin), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "not_found");
    // The OpenAPI document describes the API.
    let r = http(a, "GET", "/api/v1/openapi.json", Auth::None, None).await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    for path in [
        "/api/v1/employees",
        "/api/v1/employees/{id}",
        "/api/v1/number-blocks",
        "/api/v1/sessions",
        "/api/v1/me/sip-credentials",
        "/api/v1/employees/import",
        "/api/v1/api-tokens",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} in the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn employees_blocks_and_tokens() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let admin = login(a, "alice@a.test", "Correct-Horse-7").await;
    let c = Auth::Cookie(&admin);
    // The next free extension is suggested and used when none is given.
    let r = http(
        a,
        "GET",
        "/api/v1/employees/next-extension",
        Auth::Cookie(&admin),
        None,
    )
    .await;
    assert_eq!(r.json()["extension"], "104");
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&admin),
        Some(json!({"name": "Dora Dziedzic", "email": "dora@a.test"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let dora = r.json();
    assert_eq!(dora["extension"], "104");
    assert_eq!(dora["invite_state"], "not_invited");
    assert_eq!(dora["app_access"], false);
    // Bad input: 400 with the field.
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&admin),
        Some(json!({"name": "X", "email": "not-an-address"})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "validation_failed");
    assert!(r.json()["fields"]["email"].is_string());
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&admin),
        Some(json!({"name": "X", "email": "x@a.test", "extension": "12"})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["fields"]["extension"].is_string());
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&admin),
        Some(json!({"email": "x@a.test"})),
    )
    .await;
    assert_eq!(r.status, 400, "a missing name: {}", r.body);
    // Taken extension or e-mail: 409.
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&admin),
        Some(json!({"name": "X", "email": "x@a.test", "extension": "102"})),
    )
    .await;
    assert_eq!(r.status, 409);
    assert!(r.json()["fields"]["extension"].is_string());
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&admin),
        Some(json!({"name": "X", "email": "DORA@a.test"})),
    )
    .await;
    assert_eq!(r.status, 409);
    // Edit and search.
    let id = dora["id"].as_i64().unwrap();
    let r = http(
        a,
        "PATCH",
        &format!("/api/v1/employees/{id}"),
        Auth::Cookie(&admin),
        Some(json!({"name": "Dora Nowak", "extension": "150"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["extension"], "150");
    let r = http(
        a,
        "GET",
        "/api/v1/employees?q=nowak",
        Auth::Cookie(&admin),
        None,
    )
    .await;
    assert_eq!(r.json()["total"], 1);
    assert_eq!(r.json()["items"][0]["name"], "Dora Nowak");
    // A number block maps numbers and extensions both ways.
    let r = http(
        a,
        "POST",
        "/api/v1/number-blocks",
        Auth::Cookie(&admin),
        Some(json!({"first_number": "+48 22 600 61 00", "size": 10})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["last_number"], "+48226006109");
    assert_eq!(r.json()["first_extension"], "100");
    let block = r.json()["id"].as_i64().unwrap();
    let r = http(
        a,
        "GET",
        "/api/v1/employees?q=103",
        Auth::Cookie(&admin),
        None,
    )
    .await;
    assert_eq!(r.json()["items"][0]["number"], "+48226006103");
    let r = http(
        a,
        "POST",
        "/api/v1/number-blocks",
        Auth::Cookie(&admin),
        Some(json!({"first_number": "+48226006105", "size": 10})),
    )
    .await;
    assert_eq!(r.status, 409, "overlapping blocks: {}", r.body);
    let r = http(
        a,
        "POST",
        "/api/v1/number-blocks",
        Auth::Cookie(&admin),
        Some(json!({"first_number": "22 600", "size": 10})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["fields"]["first_number"].is_string());
    assert_eq!(
        http(
            a,
            "GET",
            "/api/v1/number-blocks",
            Auth::Cookie(&admin),
            None
        )
        .await
        .json()["total"],
        1
    );
    // Another company's admin sees none of it: 404 for our ids, their own lists only.
    let other = login(a, "olga@b.test", "Correct-Horse-7").await;
    for (m, p) in [
        ("GET", format!("/api/v1/employees/{id}")),
        ("PATCH", format!("/api/v1/employees/{id}")),
        ("DELETE", format!("/api/v1/employees/{id}")),
        ("DELETE", format!("/api/v1/number-blocks/{block}")),
        ("POST", format!("/api/v1/employees/{id}/invitation")),
    ] {
        let body = (m == "PATCH").then(|| json!({"name": "Hacked"}));
        let r = http(a, m, &p, Auth::Cookie(&other), body).await;
        assert_eq!(r.status, 404, "{m} {p}: {}", r.body);
    }
    let r = http(a, "GET", "/api/v1/employees", Auth::Cookie(&other), None).await;
    assert_eq!(r.json()["total"], 1);
    assert_eq!(r.json()["items"][0]["email"], "olga@b.test");
    let r = http(
        a,
        "POST",
        "/api/v1/employees/access",
        Auth::Cookie(&other),
        Some(json!({"ids": [id], "app_access": true})),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        http(
            a,
            "GET",
            "/api/v1/number-blocks",
            Auth::Cookie(&other),
            None
        )
        .await
        .json()["total"],
        0
    );
    assert_eq!(
        http(a, "GET", &format!("/api/v1/employees/{id}"), c, None)
            .await
            .json()["name"],
        "Dora Nowak"
    );
    // API tokens: made by an admin, usable as Bearer, company-bound, revocable.
    let r = http(
        a,
        "POST",
        "/api/v1/api-tokens",
        Auth::Cookie(&admin),
        Some(json!({"name": "provisioning"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.json()["secret"].as_str().unwrap().to_string();
    let tid = r.json()["id"].as_i64().unwrap();
    let r = http(a, "GET", "/api/v1/employees", Auth::Bearer(&secret), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["total"], 4);
    assert!(
        !http(a, "GET", "/api/v1/api-tokens", Auth::Cookie(&admin), None)
            .await
            .body
            .contains(&secret)
    );
    assert_eq!(
        http(
            a,
            "DELETE",
            &format!("/api/v1/api-tokens/{tid}"),
            Auth::Cookie(&other),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        http(
            a,
            "DELETE",
            &format!("/api/v1/api-tokens/{tid}"),
            Auth::Cookie(&admin),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        http(a, "GET", "/api/v1/employees", Auth::Bearer(&secret), None)
            .await
            .status,
        401
    );
    assert_eq!(
        http(
            a,
            "GET",
            "/api/v1/employees",
            Auth::Bearer("ctk_forged"),
            None
        )
        .await
        .status,
        401
    );
    // A user cannot make tokens; an admin cannot demote or remove themself.
    let user = login(a, "bob@a.test", "Correct-Horse-7").await;
    assert_eq!(
        http(
            a,
            "POST",
            "/api/v1/api-tokens",
            Auth::Cookie(&user),
            Some(json!({"name": "x"}))
        )
        .await
        .status,
        403
    );
    let me = employee_id(a, &admin, "101").await;
    assert_eq!(
        http(
            a,
            "PATCH",
            &format!("/api/v1/employees/{me}"),
            Auth::Cookie(&admin),
            Some(json!({"role": "user"}))
        )
        .await
        .status,
        400
    );
    // Delete.
    assert_eq!(
        http(
            a,
            "DELETE",
            &format!("/api/v1/employees/{id}"),
            Auth::Cookie(&admin),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        http(
            a,
            "GET",
            &format!("/api/v1/employees/{id}"),
            Auth::Cookie(&admin),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        http(
            a,
            "GET",
            "/api/v1/employees/abc",
            Auth::Cookie(&admin),
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn csv_import_dry_run_then_apply() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let admin = login(a, "alice@a.test", "Correct-Horse-7").await;
    let bad = "name,email,extension,role,app_access\nEwa Lis,ewa@a.test,110,user,no\n,broken,abc,boss,maybe\nBob Renamed,bob@a.test,102,user,yes\nTwin,ewa@a.test,,,\nOlga,olga@b.test,,,\n";
    let r = http(
        a,
        "POST",
        "/api/v1/employees/import?dry_run=true",
        Auth::Cookie(&admin),
        Some(json!({"csv": bad})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rep = r.json();
    assert_eq!(rep["dry_run"], true);
    assert_eq!(rep["created"], 1);
    assert_eq!(rep["updated"], 1, "{rep}");
    assert_eq!(rep["errors"], 3, "{rep}");
    let row3 = &rep["rows"][1];
    assert_eq!(row3["row"], 3);
    let fields: Vec<&str> = row3["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["name", "email", "extension", "role", "app_access"] {
        assert!(fields.contains(&f), "{f} error in {row3}");
    }
    assert_eq!(
        rep["rows"][3]["errors"][0]["field"], "email",
        "twice in the file"
    );
    assert_eq!(
        rep["rows"][4]["errors"][0]["field"], "email",
        "another company's address"
    );
    // Applying a file with errors writes nothing.
    let r = http(
        a,
        "POST",
        "/api/v1/employees/import?dry_run=false",
        Auth::Cookie(&admin),
        Some(json!({"csv": bad})),
    )
    .await;
    assert_eq!(r.status, 400);
    let list = http(a, "GET", "/api/v1/employees", Auth::Cookie(&admin), None)
        .await
        .json();
    assert_eq!(list["total"], 3, "nothing written: {list}");
    // A clean file is applied.
    let good = "name,email,extension\nEwa Lis,ewa@a.test,110\nBob Renamed,bob@a.test,102\nFranek,franek@a.test,\n";
    let r = http(
        a,
        "POST",
        "/api/v1/employees/import?dry_run=false",
        Auth::Cookie(&admin),
        Some(json!({"csv": good})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["created"], 2);
    let list = http(a, "GET", "/api/v1/employees", Auth::Cookie(&admin), None)
        .await
        .json();
    assert_eq!(list["total"], 5);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Bob Renamed") && names.contains(&"Franek"),
        "{names:?}"
    );
    let franek = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "Franek")
        .unwrap();
    assert_eq!(franek["extension"], "104", "the next free extension");
    let r = http(
        a,
        "POST",
        "/api/v1/employees/import",
        Auth::Cookie(&admin),
        Some(json!({"csv": "who,what\n1,2\n"})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["fields"]["csv"].is_string());
}

/// Invite by e-mail (a real SMTP listener), set a password with the link, get short-lived
/// SIP credentials and register with them, then revoke access: the registration ends at
/// once and the credentials stop working. A restart in the middle loses nothing.
#[tokio::test]
async fn invitation_to_registered_phone_and_revocation() {
    let (smtp, mut mails) = smtp_sink().await;
    let gw = start_seeded(Some(smtp)).await;
    let a = gw.addr;
    let admin = login(a, "alice@a.test", "Correct-Horse-7").await;
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&admin),
        Some(json!({"name": "Gosia Nowa", "email": "gosia@a.test", "app_access": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["invite_state"], "invited");
    let id = r.json()["id"].as_i64().unwrap();
    let mail = next_mail(&mut mails).await;
    assert!(mail.contains("gosia@a.test"), "{mail}");
    let first = link_token(&mail, "invite");
    // Resending makes a new link; the first stops working.
    let r = http(
        a,
        "POST",
        &format!("/api/v1/employees/{id}/invitation"),
        Auth::Cookie(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let token = link_token(&next_mail(&mut mails).await, "invite");
    assert_ne!(first, token);
    let r = http(
        a,
        "GET",
        &format!("/api/v1/invitations/{first}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, 410);
    // Restart: the invitation survives.
    let dir = gw.stop();
    let gw = start_on(dir, |cfg| {
        cfg.mail = MailConfig::Smtp {
            host: "127.0.0.1".into(),
            port: smtp,
            security: SmtpSecurity::None,
            credentials: None,
            from: "c@test.centrala".into(),
        };
    })
    .await;
    let a = gw.addr;
    let r = http(
        a,
        "GET",
        &format!("/api/v1/invitations/{token}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["email"], "gosia@a.test");
    assert_eq!(r.json()["kind"], "invite");
    // Too weak a password: 400 on the field; the link still works after.
    let r = http(
        a,
        "POST",
        &format!("/api/v1/invitations/{token}/accept"),
        Auth::None,
        Some(json!({"password": "short"})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["fields"]["password"].is_string());
    let r = http(
        a,
        "POST",
        &format!("/api/v1/invitations/{token}/accept"),
        Auth::None,
        Some(json!({"password": "Blue-Tram-Sunday-9"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = r.session();
    assert_eq!(r.json()["employee"]["invite_state"], "active");
    // Used once only.
    let r = http(
        a,
        "POST",
        &format!("/api/v1/invitations/{token}/accept"),
        Auth::None,
        Some(json!({"password": "Blue-Tram-Sunday-9"})),
    )
    .await;
    assert_eq!(r.status, 410);
    assert_eq!(r.error(), "link_used");
    assert_eq!(
        http(
            a,
            "GET",
            "/api/v1/invitations/not-a-token",
            Auth::None,
            None
        )
        .await
        .status,
        404
    );
    // Short-lived SIP credentials; the web password is not a SIP password.
    let r = http(
        a,
        "POST",
        "/api/v1/me/sip-credentials",
        Auth::Cookie(&session),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let creds = r.json();
    let ext = creds["extension"].as_str().unwrap().to_string();
    assert_eq!(ext, "104");
    let username = creds["username"].as_str().unwrap().to_string();
    assert!(username.ends_with(":104"), "{username}");
    let mut cfg = UaConfig::new(&ext, DOMAIN, creds["password"].as_str().unwrap());
    cfg.auth_user = Some(username.clone());
    let mut gosia = Phone::connect_with(a, cfg, 40).await;
    gosia
        .expect(|e| matches!(e, Event::Registration(RegistrationState::Registered)))
        .await;
    let mut wrong = Phone::connect(a, &ext, "Blue-Tram-Sunday-9", 41).await;
    wrong
        .expect(|e| matches!(e, Event::Registration(RegistrationState::Failed(_))))
        .await;
    // Forged credentials (another extension's name on this password) fail.
    let mut forged_cfg = UaConfig::new("102", DOMAIN, creds["password"].as_str().unwrap());
    forged_cfg.auth_user = Some(username.replace(":104", ":102"));
    let mut forged = Phone::connect_with(a, forged_cfg, 42).await;
    forged
        .expect(|e| matches!(e, Event::Registration(RegistrationState::Failed(_))))
        .await;
    // The admin (101, SIP password) calls the new employee: the call connects.
    let mut alice = Phone::registered(a, "101", 43).await;
    let (call, _) = alice.connected_call(&mut gosia, &ext).await;
    alice.hangup(call).await;
    alice.ended().await;
    gosia.ended().await;
    // Revoking access ends the session and the registration at once.
    let r = http(
        a,
        "PATCH",
        &format!("/api/v1/employees/{id}"),
        Auth::Cookie(&admin),
        Some(json!({"app_access": false})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        http(a, "GET", "/api/v1/me", Auth::Cookie(&session), None)
            .await
            .status,
        401
    );
    assert_eq!(
        http(
            a,
            "POST",
            "/api/v1/me/sip-credentials",
            Auth::Cookie(&session),
            None
        )
        .await
        .status,
        401
    );
    let _ = alice.call(&ext, SDP).await;
    let (status, _) = alice.ended().await;
    assert_eq!(status, Some(480), "nobody registered any more");
    let mut again = Phone::connect_with(
        a,
        {
            let mut c = UaConfig::new(&ext, DOMAIN, creds["password"].as_str().unwrap());
            c.auth_user = Some(username);
            c
        },
        44,
    )
    .await;
    again
        .expect(|e| matches!(e, Event::Registration(RegistrationState::Failed(_))))
        .await;
    let r = http(
        a,
        "POST",
        "/api/v1/sessions",
        Auth::None,
        Some(json!({"email": "gosia@a.test", "password": "Blue-Tram-Sunday-9"})),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error(), "no_app_access");
}

#[tokio::test]
async fn forgot_password_and_expired_links() {
    let (smtp, mut mails) = smtp_sink().await;
    let gw = start_seeded(Some(smtp)).await;
    let a = gw.addr;
    // Unknown address: the same 202, and no mail.
    let r = http(
        a,
        "POST",
        "/api/v1/password-resets",
        Auth::None,
        Some(json!({"email": "nobody@a.test"})),
    )
    .await;
    assert_eq!(r.status, 202);
    let r = http(
        a,
        "POST",
        "/api/v1/password-resets",
        Auth::None,
        Some(json!({"email": "bob@a.test"})),
    )
    .await;
    assert_eq!(r.status, 202);
    let mail = next_mail(&mut mails).await;
    assert!(mail.contains("bob@a.test"), "{mail}");
    let token = link_token(&mail, "reset");
    assert!(mails.try_recv().is_err(), "one mail only");
    let r = http(
        a,
        "GET",
        &format!("/api/v1/invitations/{token}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.json()["kind"], "reset");
    let r = http(
        a,
        "POST",
        &format!("/api/v1/invitations/{token}/accept"),
        Auth::None,
        Some(json!({"password": "Green-Boat-Monday-4"})),
    )
    .await;
    assert_eq!(r.status, 200);
    login(a, "bob@a.test", "Green-Boat-Monday-4").await;
    let r = http(
        a,
        "POST",
        "/api/v1/sessions",
        Auth::None,
        Some(json!({"email": "bob@a.test", "password": "Correct-Horse-7"})),
    )
    .await;
    assert_eq!(r.status, 401, "the old password is gone");
    let r = http(
        a,
        "POST",
        "/api/v1/password-resets",
        Auth::None,
        Some(json!({"email": "not an address"})),
    )
    .await;
    assert_eq!(r.status, 400);
    drop(gw);
    // Links that expire at once.
    let (smtp, mut mails) = smtp_sink().await;
    let gw = start_seeded(Some(smtp)).await;
    let dir = gw.stop();
    let gw = start_on(dir, |cfg| {
        cfg.api.reset_ttl_secs = 0;
        cfg.mail = MailConfig::Smtp {
            host: "127.0.0.1".into(),
            port: smtp,
            security: SmtpSecurity::None,
            credentials: None,
            from: "c@test.centrala".into(),
        };
    })
    .await;
    http(
        gw.addr,
        "POST",
        "/api/v1/password-resets",
        Auth::None,
        Some(json!({"email": "bob@a.test"})),
    )
    .await;
    let token = link_token(&next_mail(&mut mails).await, "reset");
    let r = http(
        gw.addr,
        "GET",
        &format!("/api/v1/invitations/{token}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, 410);
    assert_eq!(r.error(), "link_expired");
    assert!(r.json()["message"].as_str().unwrap().contains("expired"));
}

/// Two companies both have extension 101: each reaches only its own, by SIP as by API.
#[tokio::test]
async fn tenants_never_reach_each_other_by_sip() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    // Olga is 101 at OTHER, registered with her SIP password in her realm.
    let mut olga = Phone::connect_with(a, UaConfig::new("101", OTHER, "other-secret"), 50).await;
    olga.expect(|e| matches!(e, Event::Registration(RegistrationState::Registered)))
        .await;
    // Her password does not work in our domain, nor ours in hers.
    let mut cross = Phone::connect_with(a, UaConfig::new("101", DOMAIN, "other-secret"), 51).await;
    cross
        .expect(|e| matches!(e, Event::Registration(RegistrationState::Failed(_))))
        .await;
    let mut cross = Phone::connect_with(a, UaConfig::new("101", OTHER, &password("101")), 52).await;
    cross
        .expect(|e| matches!(e, Event::Registration(RegistrationState::Failed(_))))
        .await;
    let mut alice = Phone::registered(a, "101", 53).await;
    let mut bob = Phone::registered(a, "102", 54).await;
    // Bob dials 101: our Alice rings, not Olga.
    let (call, _) = bob.connected_call(&mut alice, "101").await;
    bob.hangup(call).await;
    bob.ended().await;
    alice.ended().await;
    // Bob dials Olga's domain: refused.
    let _ = bob.call("sip:101@other.example", SDP).await;
    let (status, _) = bob.ended().await;
    assert_eq!(status, Some(403));
    // Olga dials 102: her company has none.
    let _ = olga.call("102", SDP).await;
    let (status, _) = olga.ended().await;
    assert_eq!(status, Some(404));
    // Olga's own 101 by public number: none in her company; ours by number rings ours.
    let admin = login(a, "alice@a.test", "Correct-Horse-7").await;
    let r = http(
        a,
        "POST",
        "/api/v1/number-blocks",
        Auth::Cookie(&admin),
        Some(json!({"first_number": "+48226006100", "size": 10})),
    )
    .await;
    assert_eq!(r.status, 201);
    // To Olga's company that is a number of the phone network like any other, not one of
    // its own: it does not ring our 102 inside (with no line to the phone network set up,
    // it is refused as such).
    let _ = olga.call("+48226006102", SDP).await;
    let (status, reason) = olga.ended().await;
    assert_eq!(
        status,
        Some(403),
        "another company's number is not reachable inside: {reason}"
    );
    assert!(reason.contains("no line to the phone network"), "{reason}");
    let call = alice.call("+48226006102", SDP).await;
    let (theirs, _) = bob.incoming().await;
    bob.answer(theirs, SDP).await;
    alice.expect(|e| matches!(e, Event::Answered { .. })).await;
    alice.hangup(call).await;
    alice.ended().await;
    bob.ended().await;
    let seen = olga.events_for(300).await;
    assert!(
        !seen.iter().any(|e| matches!(e, Event::IncomingCall { .. })),
        "Olga's phone never rang: {seen:?}"
    );
}

/// With no SMTP server (the default), invitations are written as .eml files under the data
/// folder, and the link in them works.
#[tokio::test]
async fn without_smtp_invitations_are_eml_files() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let admin = login(a, "alice@a.test", "Correct-Horse-7").await;
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&admin),
        Some(json!({"name": "Hela Mail", "email": "hela@a.test", "app_access": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["invite_state"], "invited");
    let files: Vec<_> = std::fs::read_dir(gw.dir.path().join("mail"))
        .expect("the mail folder")
        .filter_map(Result::ok)
        .filter(|f| f.path().extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let mail = std::fs::read_to_string(files[0].path())
        .unwrap()
        .replace("=\r\n", "")
        .replace("=3D", "=");
    assert!(mail.contains("hela@a.test"), "{mail}");
    let token = link_token(&mail, "invite");
    let r = http(
        a,
        "GET",
        &format!("/api/v1/invitations/{token}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Every endpoint refuses the unauthenticated (401), the admin endpoints refuse a plain
/// user (403), and the rest of the happy paths: company, bulk access, block removal.
#[tokio::test]
async fn every_endpoint_checks_who_is_asking() {
    let (smtp, mut mails) = smtp_sink().await;
    let gw = start_seeded(Some(smtp)).await;
    let a = gw.addr;
    let user = login(a, "bob@a.test", "Correct-Horse-7").await;
    let admin = login(a, "alice@a.test", "Correct-Horse-7").await;
    let authed = [
        ("GET", "/api/v1/me"),
        ("POST", "/api/v1/me/sip-credentials"),
        ("GET", "/api/v1/company"),
        ("GET", "/api/v1/directory"),
    ];
    let admin_only = [
        ("GET", "/api/v1/employees"),
        ("POST", "/api/v1/employees"),
        ("GET", "/api/v1/employees/next-extension"),
        ("POST", "/api/v1/employees/access"),
        ("POST", "/api/v1/employees/import"),
        ("GET", "/api/v1/employees/1"),
        ("PATCH", "/api/v1/employees/1"),
        ("DELETE", "/api/v1/employees/1"),
        ("POST", "/api/v1/employees/1/invitation"),
        ("GET", "/api/v1/number-blocks"),
        ("POST", "/api/v1/number-blocks"),
        ("DELETE", "/api/v1/number-blocks/1"),
        ("GET", "/api/v1/api-tokens"),
        ("POST", "/api/v1/api-tokens"),
        ("DELETE", "/api/v1/api-tokens/1"),
    ];
    for (m, p) in authed.iter().chain(admin_only.iter()) {
        let body = (*m == "POST" || *m == "PATCH").then(|| json!({}));
        let r = http(a, m, p, Auth::None, body.clone()).await;
        assert_eq!(r.status, 401, "{m} {p} without a session: {}", r.body);
        assert_eq!(r.error(), "unauthenticated");
        let r = http(a, m, p, Auth::Cookie("centrala_session=forged"), body).await;
        assert_eq!(r.status, 401, "{m} {p} with a forged session");
    }
    for (m, p) in admin_only {
        let body = (m == "POST" || m == "PATCH").then(|| json!({}));
        let r = http(a, m, p, Auth::Cookie(&user), body).await;
        assert_eq!(r.status, 403, "{m} {p} as a user: {}", r.body);
        assert_eq!(r.error(), "forbidden");
    }
    for (m, p) in authed {
        let r = http(a, m, p, Auth::Cookie(&user), None).await;
        assert_eq!(r.status, 200, "{m} {p} as a user: {}", r.body);
    }
    let r = http(a, "GET", "/api/v1/company", Auth::Cookie(&user), None).await;
    assert_eq!(r.json()["domain"], DOMAIN);
    // Bulk: grant access to two new employees at once (two invitations), then revoke.
    let mut ids = Vec::new();
    for (name, email) in [("Ida One", "ida@a.test"), ("Jan Two", "jan@a.test")] {
        let r = http(
            a,
            "POST",
            "/api/v1/employees",
            Auth::Cookie(&admin),
            Some(json!({"name": name, "email": email})),
        )
        .await;
        assert_eq!(r.status, 201);
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    let r = http(
        a,
        "POST",
        "/api/v1/employees/access",
        Auth::Cookie(&admin),
        Some(json!({"ids": ids, "app_access": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["total"], 2);
    assert!(
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["invite_state"] == "invited" && e["app_access"] == true)
    );
    let mut to = vec![next_mail(&mut mails).await, next_mail(&mut mails).await];
    to.sort();
    assert!(
        to[0].contains("ida@a.test") && to[1].contains("jan@a.test"),
        "{to:?}"
    );
    let r = http(
        a,
        "POST",
        "/api/v1/employees/access",
        Auth::Cookie(&admin),
        Some(json!({"ids": [ids[0], 99999], "app_access": false})),
    )
    .await;
    assert_eq!(r.status, 404, "one unknown id changes nothing");
    assert_eq!(
        http(
            a,
            "GET",
            &format!("/api/v1/employees/{}", ids[0]),
            Auth::Cookie(&admin),
            None
        )
        .await
        .json()["app_access"],
        true
    );
    let r = http(
        a,
        "POST",
        "/api/v1/employees/access",
        Auth::Cookie(&admin),
        Some(json!({"ids": ids, "app_access": false})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["app_access"] == false)
    );
    let r = http(
        a,
        "POST",
        "/api/v1/employees/access",
        Auth::Cookie(&admin),
        Some(json!({"ids": [], "app_access": true})),
    )
    .await;
    assert_eq!(r.status, 400);
    // A number block is removed.
    let r = http(
        a,
        "POST",
        "/api/v1/number-blocks",
        Auth::Cookie(&admin),
        Some(json!({"first_number": "+48 22 700 01 00", "size": 5})),
    )
    .await;
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(
        http(
            a,
            "DELETE",
            &format!("/api/v1/number-blocks/{id}"),
            Auth::Cookie(&admin),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        http(
            a,
            "DELETE",
            &format!("/api/v1/number-blocks/{id}"),
            Auth::Cookie(&admin),
            None
        )
        .await
        .status,
        404
    );
}

/// The mail queue: an invitation while the mail server is down is kept (the admin is told
/// at once that it is not sent yet), retried with backoff until the server answers, and a
/// mail still queued when the gateway stops goes out after the restart.
#[tokio::test]
async fn mail_waits_in_the_queue_while_the_server_is_down_and_survives_a_restart() {
    // A port with nothing listening yet.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let quick = |cfg: &mut centrala_gateway::server::ServeConfig| {
        cfg.mail_retry = centrala_gateway::mailqueue::RetryPolicy {
            retry_base: Duration::from_millis(300),
            give_up_after: Duration::from_secs(600),
        };
    };
    let gw = seed::start_seeded_with(Some(port), quick).await;
    let a = gw.addr;
    let admin = login(a, "alice@a.test", "Correct-Horse-7").await;
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&admin),
        Some(json!({"name": "Gosia Nowa", "email": "gosia@a.test", "app_access": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    // Resending now: 502 that says the mail is kept and retried.
    let r = http(
        a,
        "POST",
        &format!("/api/v1/employees/{id}/invitation"),
        Auth::Cookie(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.error(), "mail_failed");
    assert!(
        r.json()["message"].as_str().unwrap().contains("queued"),
        "{}",
        r.body
    );
    // The mail server comes up: the queued mails go out by themselves (both of them).
    let (_, mut mails, sink) = smtp_sink_on(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
    let first = next_mail(&mut mails).await;
    let second = next_mail(&mut mails).await;
    for m in [&first, &second] {
        assert!(m.contains("gosia@a.test"), "{m}");
    }
    assert_ne!(link_token(&first, "invite"), link_token(&second, "invite"));
    sink.abort();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Down again; another invitation waits; the gateway stops and starts again.
    let r = http(
        a,
        "POST",
        &format!("/api/v1/employees/{id}/invitation"),
        Auth::Cookie(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.body);
    let dir = gw.stop();
    let (port2, mut mails) = smtp_sink().await;
    let gw = start_on(dir, |cfg| {
        cfg.mail = MailConfig::Smtp {
            host: "127.0.0.1".into(),
            port: port2,
            security: SmtpSecurity::None,
            credentials: None,
            from: "c@test.centrala".into(),
        };
        quick(cfg);
    })
    .await;
    let mail = next_mail(&mut mails).await;
    let token = link_token(&mail, "invite");
    let r = http(
        gw.addr,
        "GET",
        &format!("/api/v1/invitations/{token}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "the newest link works: {}", r.body);
    // Once sent, nothing more arrives and the queue holds no link any more.
    assert!(
        tokio::time::timeout(Duration::from_secs(2), mails.recv())
            .await
            .is_err(),
        "no duplicates"
    );
    let q = gw.store.mail_queue_state().await.unwrap();
    assert_eq!(
        (q.queued, q.sent, q.failed, q.holding_links),
        (0, 3, 0, 0),
        "{q:?}"
    );
}

/// The media relay, the company's media setting and the voicemail PIN (issue 14): nothing
/// without a session, the setting only by an admin and only for the admin's own company,
/// a PIN only one's own and never shown.
#[tokio::test]
async fn relay_settings_and_voicemail_pins_check_who_is_asking() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    for (m, p) in [
        ("GET", "/api/v1/ice"),
        ("GET", "/api/v1/company/media"),
        ("PUT", "/api/v1/company/media"),
        ("GET", "/api/v1/me/voicemail-pin"),
        ("PUT", "/api/v1/me/voicemail-pin"),
        ("DELETE", "/api/v1/me/voicemail-pin"),
    ] {
        let body = (m == "PUT").then(|| json!({"relay": true, "pin": "4826"}));
        let r = http(a, m, p, Auth::None, body.clone()).await;
        assert_eq!(r.status, 401, "{m} {p} without a session: {}", r.body);
        let r = http(a, m, p, Auth::Cookie("centrala_session=forged"), body).await;
        assert_eq!(r.status, 401, "{m} {p} with a forged session");
    }
    let bob = login(a, "bob@a.test", "Correct-Horse-7").await;
    let alice = login(a, "alice@a.test", "Correct-Horse-7").await;
    let olga = login(a, "olga@b.test", "Correct-Horse-7").await;
    let relay = |who: &str| {
        let who = who.to_string();
        async move {
            http(a, "GET", "/api/v1/company/media", Auth::Cookie(&who), None)
                .await
                .json()["relay"]
                .clone()
        }
    };
    // A user may not change it; the admin of another company changes only her own.
    let on = Some(json!({"relay": true}));
    let r = http(
        a,
        "PUT",
        "/api/v1/company/media",
        Auth::Cookie(&bob),
        on.clone(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = http(
        a,
        "PUT",
        "/api/v1/company/media",
        Auth::Cookie(&olga),
        on.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(relay(&olga).await, json!(true));
    assert_eq!(
        relay(&bob).await,
        json!(false),
        "Olga's setting is not ours"
    );
    let r = http(a, "PUT", "/api/v1/company/media", Auth::Cookie(&alice), on).await;
    assert_eq!(r.status, 200);
    assert_eq!(relay(&bob).await, json!(true));
    // No relay on this gateway: no ICE servers, and so no relay-only either.
    let r = http(a, "GET", "/api/v1/ice", Auth::Cookie(&bob), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ice_servers"], json!([]));
    assert_eq!(r.json()["relay_only"], json!(false));
    // Bob's PIN is Bob's: set, never shown, and Alice's stays unset.
    let pin = |p: &str| Some(json!({ "pin": p }));
    let r = http(
        a,
        "PUT",
        "/api/v1/me/voicemail-pin",
        Auth::Cookie(&bob),
        pin("1234"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["fields"]["pin"].is_string());
    let r = http(
        a,
        "PUT",
        "/api/v1/me/voicemail-pin",
        Auth::Cookie(&bob),
        pin("4826"),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = http(
        a,
        "GET",
        "/api/v1/me/voicemail-pin",
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.json(), json!({"set": true}));
    let r = http(
        a,
        "GET",
        "/api/v1/me/voicemail-pin",
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.json(), json!({"set": false}));
    let hash = gw.store.voicemail_pin_by_ext(1, "102").await.unwrap();
    assert!(
        hash.and_then(|(_, h)| h)
            .is_some_and(|h| h.starts_with("$argon2") && !h.contains("4826")),
        "stored as an argon2 hash"
    );
    let r = http(
        a,
        "DELETE",
        "/api/v1/me/voicemail-pin",
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = http(
        a,
        "GET",
        "/api/v1/me/voicemail-pin",
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.json(), json!({"set": false}));
}

#[tokio::test]
async fn calling_settings_and_operator_trunks_check_who_is_asking() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    for (m, p) in [
        ("GET", "/api/v1/company/calling"),
        ("PUT", "/api/v1/company/calling"),
        ("GET", "/api/v1/employees/1/calling"),
        ("PUT", "/api/v1/employees/1/calling"),
        ("GET", "/api/v1/me/calling"),
        ("PUT", "/api/v1/me/calling"),
    ] {
        let r = http(a, m, p, Auth::None, Some(json!({}))).await;
        assert_eq!(r.status, 401, "{m} {p} without a session: {}", r.body);
    }
    let bob = login(a, "bob@a.test", "Correct-Horse-7").await;
    let alice = login(a, "alice@a.test", "Correct-Horse-7").await;
    let olga = login(a, "olga@b.test", "Correct-Horse-7").await;
    let list = http(a, "GET", "/api/v1/employees", Auth::Cookie(&alice), None).await;
    let bob_id = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["email"] == "bob@a.test")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/employees/{bob_id}/calling");
    let intl = Some(
        json!({"permission": "international", "premium": true, "caller_id": null, "mobile": null}),
    );
    // A user may not set anyone's permission, their own included; another company's
    // admin does not find Bob.
    let r = http(a, "PUT", &path, Auth::Cookie(&bob), intl.clone()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = http(a, "PUT", &path, Auth::Cookie(&olga), intl.clone()).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = http(
        a,
        "PUT",
        "/api/v1/company/calling",
        Auth::Cookie(&bob),
        Some(json!({"permission": "international", "premium": true, "caller_id": "own", "main_number": null, "main_extension": null})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The main number may ring a group: of the company's own extensions only.
    let exts: Vec<String> = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["extension"].as_str().map(str::to_string))
        .take(2)
        .collect();
    assert_eq!(exts.len(), 2, "{}", list.body);
    let company = |group: Vec<String>| {
        Some(
            json!({"permission": "national", "premium": false, "caller_id": "own", "main_number": null, "main_extension": null, "main_group": group}),
        )
    };
    // Olga's company has only 101: 102 is another company's, and not hers to ring.
    let r = http(
        a,
        "PUT",
        "/api/v1/company/calling",
        Auth::Cookie(&olga),
        company(vec!["101".into(), "102".into()]),
    )
    .await;
    assert_eq!(r.status, 400, "another company's extension: {}", r.body);
    assert!(r.json()["fields"]["main_group"].is_string(), "{}", r.body);
    let r = http(
        a,
        "PUT",
        "/api/v1/company/calling",
        Auth::Cookie(&alice),
        company(vec!["9999".into()]),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["fields"]["main_group"].is_string(), "{}", r.body);
    let r = http(
        a,
        "PUT",
        "/api/v1/company/calling",
        Auth::Cookie(&alice),
        company(exts.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http(
        a,
        "GET",
        "/api/v1/company/calling",
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.json()["main_group"], json!(exts), "{}", r.body);
    assert!(r.json()["main_extension"].is_null());
    let r = http(a, "PUT", &path, Auth::Cookie(&alice), intl).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["permission"], "international");
    // Bob sets his own mobile (only that); a wrong one is refused with the field.
    let r = http(
        a,
        "PUT",
        "/api/v1/me/calling",
        Auth::Cookie(&bob),
        Some(json!({"mobile": "call me maybe"})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["fields"]["mobile"].is_string(), "{}", r.body);
    let r = http(
        a,
        "PUT",
        "/api/v1/me/calling",
        Auth::Cookie(&bob),
        Some(json!({"mobile": "601 234 567", "permission": "internal"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["own"]["mobile"], "+48601234567");
    assert_eq!(
        r.json()["permission"],
        "international",
        "a permission in the body of one's own settings is not taken"
    );

    // The operator's trunks: nobody else's business.
    let body = Some(json!({"name": "carrier-a", "host": "192.0.2.10", "port": 5060}));
    let admin_token = http(
        a,
        "POST",
        "/api/v1/api-tokens",
        Auth::Cookie(&alice),
        Some(json!({"name": "script", "expires_in_days": 30})),
    )
    .await
    .json()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    for auth in [
        Auth::None,
        Auth::Cookie(&alice),
        Auth::Bearer(&admin_token),
        Auth::Bearer("cop_forged"),
    ] {
        let r = http(a, "POST", "/api/v1/operator/trunks", auth, body.clone()).await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let token = "cop_e2e-operator-token-of-this-test";
    gw.store
        .set_setting(
            centrala_gateway::api::operator::OPERATOR_TOKEN_SETTING,
            &centrala_gateway::accounts::token_hash(token),
        )
        .await
        .unwrap();
    let r = http(
        a,
        "POST",
        "/api/v1/operator/trunks",
        Auth::Bearer(token),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["name"], "carrier-a");
    assert!(r.json().get("password").is_none());
    let r = http(
        a,
        "POST",
        "/api/v1/operator/trunks",
        Auth::Bearer(token),
        body,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    for bad in [
        json!({"name": "x", "host": "192.0.2.11", "transport": "sctp"}),
        json!({"name": "bad name", "host": "192.0.2.11"}),
        json!({"name": "x", "host": "192.0.2.11", "codecs": ["G729"]}),
    ] {
        let r = http(
            a,
            "POST",
            "/api/v1/operator/trunks",
            Auth::Bearer(token),
            Some(bad),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    let r = http(
        a,
        "POST",
        "/api/v1/operator/trunks",
        Auth::Bearer(token),
        Some(json!({"name": "reg", "host": "192.0.2.12", "username": "acme"})),
    )
    .await;
    assert_eq!(
        r.status, 400,
        "a user name without its password: {}",
        r.body
    );
    let r = http(
        a,
        "POST",
        "/api/v1/operator/trunks",
        Auth::Bearer(token),
        Some(json!({"name": "reg", "host": "192.0.2.12", "username": "acme", "password": "s3cret-at-carrier"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["username"], "acme");
    let r = http(
        a,
        "GET",
        "/api/v1/operator/trunks",
        Auth::Bearer(token),
        None,
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    assert!(!r.body.contains("s3cret-at-carrier"), "never shown");
    let r = http(
        a,
        "DELETE",
        "/api/v1/operator/trunks/carrier-a",
        Auth::Bearer(token),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = http(
        a,
        "DELETE",
        "/api/v1/operator/trunks/carrier-a",
        Auth::Bearer(token),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
}
