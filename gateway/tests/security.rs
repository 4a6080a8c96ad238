//! Issue 9's web-edge holes, each attacked as an attacker would: the web app's SIP
//! credentials outliving logout, a new password or a renumbering; foreign Origins on `/sip`
//! and on the API; missing security headers; login lockouts; API tokens that never end.

mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/seed.rs"]
mod seed;

use std::net::SocketAddr;

use centrala_sip::digest::{Challenge, Credentials};
use common::{DOMAIN, Raw};
use http::{Auth, http, login};
use seed::{WEB_PASSWORD, employee_id, start_seeded, start_seeded_with};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

// ---- helpers ----

/// The web app's SIP credentials for a session: (username, password, extension).
async fn sip_credentials(addr: SocketAddr, session: &str) -> (String, String, String) {
    let r = http(
        addr,
        "POST",
        "/api/v1/me/sip-credentials",
        Auth::Cookie(session),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.json();
    let s = |k: &str| c[k].as_str().unwrap().to_string();
    (s("username"), s("password"), s("extension"))
}

/// REGISTERs `ext` over a fresh WebSocket with digest `username` / `password`; the final
/// status of the authenticated REGISTER.
async fn register_status(addr: SocketAddr, ext: &str, username: &str, password: &str) -> u16 {
    let mut c = Raw::connect(addr).await;
    let register = |cseq: u32, auth: Option<&str>| {
        let auth = auth
            .map(|a| format!("Authorization: {a}\n"))
            .unwrap_or_default();
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS reg.invalid;branch=z9hG4bKsec{cseq}{ext}\nMax-Forwards: 70\nTo: <sip:{ext}@{DOMAIN}>\nFrom: <sip:{ext}@{DOMAIN}>;tag=sec{ext}\nCall-ID: sec-{ext}-{username}\nCSeq: {cseq} REGISTER\nContact: <sip:sec@reg.invalid;transport=ws>;expires=60\n{auth}Content-Length: 0\n\n"
        )
    };
    c.send(&register(1, None)).await;
    let r = c.final_response().await;
    assert_eq!(r.status, 401, "a challenge first");
    let ch = Challenge::pick(r.headers.all("WWW-Authenticate")).expect("a challenge");
    let creds = Credentials::answer(
        &ch,
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        username,
        password,
        "cnonce1",
        1,
    );
    c.send(&register(2, Some(&creds.to_string()))).await;
    c.final_response().await.status
}

fn refused(status: u16) -> bool {
    status == 401 || status == 403
}

// ---- 1. the web app's SIP credentials ----

/// A credential handed out before logout stops working at once (the registrar's cache
/// included); one fetched by another live session afterwards works.
#[tokio::test]
async fn web_sip_credential_is_revoked_by_logout() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let first = login(a, "bob@a.test", WEB_PASSWORD).await;
    let second = login(a, "bob@a.test", WEB_PASSWORD).await;
    let (user, pw, ext) = sip_credentials(a, &first).await;
    assert_eq!(register_status(a, &ext, &user, &pw).await, 200);
    let r = http(
        a,
        "DELETE",
        "/api/v1/sessions/current",
        Auth::Cookie(&first),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let after = register_status(a, &ext, &user, &pw).await;
    assert!(refused(after), "old credential after logout: {after}");
    let (user2, pw2, _) = sip_credentials(a, &second).await;
    assert_eq!(register_status(a, &ext, &user2, &pw2).await, 200);
}

/// A new password (set with a reset link) ends the credentials handed out before it.
#[tokio::test]
async fn web_sip_credential_is_revoked_by_a_new_password() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let session = login(a, "bob@a.test", WEB_PASSWORD).await;
    let (user, pw, ext) = sip_credentials(a, &session).await;
    assert_eq!(register_status(a, &ext, &user, &pw).await, 200);
    let r = http(
        a,
        "POST",
        "/api/v1/password-resets",
        Auth::None,
        Some(json!({"email": "bob@a.test"})),
    )
    .await;
    assert_eq!(r.status, 202);
    let token = mailed_link(&gw, "reset");
    let r = http(
        a,
        "POST",
        &format!("/api/v1/invitations/{token}/accept"),
        Auth::None,
        Some(json!({"password": "Blue-Tram-Sunday-9"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = register_status(a, &ext, &user, &pw).await;
    assert!(
        refused(after),
        "old credential after a new password: {after}"
    );
    let (user2, pw2, _) = sip_credentials(a, &r.session()).await;
    assert_eq!(register_status(a, &ext, &user2, &pw2).await, 200);
}

/// Bob's extension is given to Cecil: Bob's credential for it does not log in as Cecil,
/// and Cecil's own does.
#[tokio::test]
async fn web_sip_credential_does_not_follow_the_extension_to_its_new_holder() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let admin = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let (user, pw, ext) = sip_credentials(a, &bob).await;
    assert_eq!(ext, "102");
    assert_eq!(register_status(a, &ext, &user, &pw).await, 200);
    for (who, to) in [("102", "105"), ("103", "102")] {
        let id = employee_id(a, &admin, who).await;
        let r = http(
            a,
            "PATCH",
            &format!("/api/v1/employees/{id}"),
            Auth::Cookie(&admin),
            Some(json!({"extension": to})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let after = register_status(a, "102", &user, &pw).await;
    assert!(refused(after), "Bob's credential as Cecil: {after}");
    let cecil = login(a, "cecil@a.test", WEB_PASSWORD).await;
    let (user2, pw2, ext2) = sip_credentials(a, &cecil).await;
    assert_eq!(ext2, "102");
    assert_eq!(register_status(a, "102", &user2, &pw2).await, 200);
}

// ---- 4. Origin ----

/// The status of a `/sip` WebSocket handshake sent with `origin`.
async fn ws_status(addr: SocketAddr, origin: Option<&str>) -> u16 {
    let mut req = format!("ws://{addr}/sip").into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("handshake: {e}"),
    }
}

/// A page of another site cannot open `/sip` through a visitor's browser; the app's own
/// origin, a configured one and clients that send no Origin (JsSIP under node, phones) can.
#[tokio::test]
async fn sip_websocket_refuses_a_foreign_origin() {
    let gw = start_seeded_with(None, |cfg| {
        cfg.api.allowed_origins.push("https://app.example".into())
    })
    .await;
    let a = gw.addr;
    assert_eq!(ws_status(a, Some("http://evil.example")).await, 403);
    assert_eq!(ws_status(a, Some("null")).await, 403);
    assert_eq!(ws_status(a, Some(&format!("http://{a}"))).await, 101);
    assert_eq!(ws_status(a, Some("https://app.example")).await, 101);
    assert_eq!(ws_status(a, None).await, 101);
}

/// A state-changing API call from a foreign page gets 403 `forbidden_origin` (and does
/// nothing); the app's own origin and callers without Origin go on.
#[tokio::test]
async fn state_changing_api_calls_refuse_a_foreign_origin() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let login_from = |origin: Option<String>| async move {
        let mut r = http::Request::new("POST", "/api/v1/sessions")
            .json(json!({"email": "bob@a.test", "password": WEB_PASSWORD}));
        if let Some(o) = origin {
            r = r.header("Origin", o);
        }
        r.send(a).await
    };
    let r = login_from(Some("http://evil.example".into())).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.error(), "forbidden_origin");
    assert!(r.header("set-cookie").is_none(), "no session made");
    assert_eq!(login_from(Some(format!("http://{a}"))).await.status, 201);
    let session = login_from(None).await.session();
    // A foreign page cannot log the user out either; reading is not checked here.
    let r = http::Request::new("DELETE", "/api/v1/sessions/current")
        .auth(Auth::Cookie(&session))
        .header("Origin", "http://evil.example")
        .send(a)
        .await;
    assert_eq!(r.status, 403);
    let r = http::Request::new("GET", "/api/v1/me")
        .auth(Auth::Cookie(&session))
        .header("Origin", "http://evil.example")
        .send(a)
        .await;
    assert_eq!(r.status, 200, "the session still works: {}", r.body);
}

/// The newest mailed link of `kind` (`invite` or `reset`) from the `.eml` files.
fn mailed_link(gw: &common::Gateway, kind: &str) -> String {
    let mut files: Vec<_> = std::fs::read_dir(gw.dir.path().join("mail"))
        .expect("the mail folder")
        .filter_map(Result::ok)
        .map(|f| f.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let mail = std::fs::read_to_string(files.last().expect("an e-mail"))
        .unwrap()
        .replace("=\r\n", "")
        .replace("=3D", "=");
    let at = mail
        .find(&format!("?{kind}="))
        .unwrap_or_else(|| panic!("{kind} link in:\n{mail}"));
    mail[at + kind.len() + 2..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
