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

// ---- 5. security headers ----

/// Checks the headers every response must carry; the CSP.
fn assert_security_headers(r: &http::Resp, what: &str) -> String {
    let h = |n: &str| {
        r.header(n)
            .unwrap_or_else(|| panic!("{n} on {what}: {:?}", r.headers))
            .to_string()
    };
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    let csp = h("content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp} ({what})");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    csp
}

/// The page (with Trunk's inline start-up script, allowed by its hash), an API error and
/// `/healthz` all carry the headers; HSTS comes over HTTPS only.
#[tokio::test]
async fn every_response_carries_security_headers() {
    use base64::Engine;
    use sha2::Digest;
    let web = tempfile::tempdir().unwrap();
    let script = "\nimport init, * as bindings from '/centrala-web-1.js';\nconst wasm = await init({ module_or_path: '/centrala-web-1_bg.wasm' });\n";
    std::fs::write(
        web.path().join("index.html"),
        format!("<!doctype html><html><head><script type=\"module\">{script}</script></head><body></body></html>"),
    )
    .unwrap();
    let root = web.path().to_path_buf();
    let gw = start_seeded_with(None, |cfg| cfg.web_root = root).await;
    let a = gw.addr;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
    let page = http(a, "GET", "/", Auth::None, None).await;
    assert_eq!(page.status, 200);
    let csp = assert_security_headers(&page, "/");
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    assert!(csp.contains(&format!("ws://{a}")), "{csp}");
    assert!(page.header("strict-transport-security").is_none());
    let err = http(a, "GET", "/api/v1/me", Auth::None, None).await;
    assert_eq!(err.status, 401);
    assert_security_headers(&err, "an API error");
    let health = http(a, "GET", "/healthz", Auth::None, None).await;
    assert_eq!(health.status, 200);
    assert_security_headers(&health, "/healthz");
    let missing = http(a, "GET", "/no-such.js", Auth::None, None).await;
    assert_security_headers(&missing, "a missing file");
    // Over HTTPS, HSTS too.
    let tls = tls_connect(gw.https_addr, &gw.cert_der).await;
    let r = http::Request::new("GET", "/healthz")
        .send_on(tls, gw.https_addr)
        .await;
    assert_eq!(r.status, 200);
    assert_security_headers(&r, "/healthz over HTTPS");
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );
}

/// A TLS client that trusts the gateway's self-signed certificate.
async fn tls_connect(
    addr: SocketAddr,
    cert_der: &[u8],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};
    let mut roots = RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(cert_der.to_vec()))
        .unwrap();
    let cfg = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

// ---- 6. login lockouts ----

/// Someone guessing Alice's password from one address is locked out there; Alice, at
/// another address, logs in.
#[tokio::test]
async fn bad_logins_from_one_address_do_not_lock_the_user_out_elsewhere() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let attempt = |from: &'static str, pw: &'static str| async move {
        http::Request::new("POST", "/api/v1/sessions")
            .json(json!({"email": "alice@a.test", "password": pw}))
            .from(from.parse().unwrap())
            .send(a)
            .await
    };
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(attempt("127.0.0.1", "wrong-password-1").await.status);
    }
    assert_eq!(statuses[..6], [401; 6], "{statuses:?}");
    assert_eq!(
        statuses.last(),
        Some(&429),
        "the guessing address is locked out: {statuses:?}"
    );
    assert_eq!(
        attempt("127.0.0.1", WEB_PASSWORD).await.status,
        429,
        "even with the right password, from there"
    );
    let r = attempt("127.0.0.2", WEB_PASSWORD).await;
    assert_eq!(r.status, 201, "Alice from elsewhere: {}", r.body);
}

// ---- 7. API tokens ----

/// Makes an API token as `admin` (a session); its secret and the answer.
async fn make_token(addr: SocketAddr, admin: &str, body: serde_json::Value) -> http::Resp {
    http(
        addr,
        "POST",
        "/api/v1/api-tokens",
        Auth::Cookie(admin),
        Some(body),
    )
    .await
}

async fn token_status(addr: SocketAddr, token: &str) -> (u16, String) {
    let r = http(addr, "GET", "/api/v1/employees", Auth::Bearer(token), None).await;
    let code = if r.status == 200 {
        String::new()
    } else {
        r.error()
    };
    (r.status, code)
}

/// Tokens expire (90 days unless asked, 1 to 365); an expired one gets 401 token_expired.
#[tokio::test]
async fn api_tokens_expire() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let admin = login(a, "alice@a.test", WEB_PASSWORD).await;
    for bad in [0, 366, -1] {
        let r = make_token(a, &admin, json!({"name": "x", "expires_in_days": bad})).await;
        assert_eq!(r.status, 400, "{bad} days: {}", r.body);
        assert!(
            r.json()["fields"]["expires_in_days"].is_string(),
            "{}",
            r.body
        );
    }
    let r = make_token(a, &admin, json!({"name": "default"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let expires = r.json()["expires_at"].as_str().unwrap().to_string();
    let in_days = |rfc: &str| {
        let t = time::OffsetDateTime::parse(rfc, &time::format_description::well_known::Rfc3339)
            .unwrap();
        (t - time::OffsetDateTime::now_utc()).whole_hours() as f64 / 24.0
    };
    assert!((89.9..=90.1).contains(&in_days(&expires)), "{expires}");
    let r = make_token(a, &admin, json!({"name": "short", "expires_in_days": 1})).await;
    assert_eq!(r.status, 201);
    let (id, secret) = (
        r.json()["id"].as_i64().unwrap(),
        r.json()["secret"].as_str().unwrap().to_string(),
    );
    assert_eq!(token_status(a, &secret).await.0, 200);
    let list = http(a, "GET", "/api/v1/api-tokens", Auth::Cookie(&admin), None).await;
    let listed = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
        .unwrap();
    assert!((0.9..=1.1).contains(&in_days(listed["expires_at"].as_str().unwrap())));
    // A day later (the database's clock moved on for this token).
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        gw.dir.path().join("centrala.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = expires_at - 86401 WHERE id = ?")
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(
        token_status(a, &secret).await,
        (401, "token_expired".to_string())
    );
}

/// A token works only while whoever made it is an admin with app access: demoting them,
/// revoking their access or removing them ends it; a token made with a token is its
/// maker's too.
#[tokio::test]
async fn api_tokens_end_with_their_creators_admin_role() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let mut tokens = Vec::new();
    for (ext, email) in [("102", "bob@a.test"), ("103", "cecil@a.test")] {
        let id = employee_id(a, &alice, ext).await;
        let r = http(
            a,
            "PATCH",
            &format!("/api/v1/employees/{id}"),
            Auth::Cookie(&alice),
            Some(json!({"role": "admin"})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let session = login(a, email, WEB_PASSWORD).await;
        let r = make_token(a, &session, json!({"name": email})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let secret = r.json()["secret"].as_str().unwrap().to_string();
        assert_eq!(token_status(a, &secret).await.0, 200);
        tokens.push((id, secret));
    }
    let (bob, bob_token) = tokens[0].clone();
    let (cecil, cecil_token) = tokens[1].clone();
    // A token made with Bob's token.
    let r = http(
        a,
        "POST",
        "/api/v1/api-tokens",
        Auth::Bearer(&bob_token),
        Some(json!({"name": "from a token"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.json()["secret"].as_str().unwrap().to_string();
    assert_eq!(token_status(a, &second).await.0, 200);
    // Bob is demoted: his tokens stop.
    let r = http(
        a,
        "PATCH",
        &format!("/api/v1/employees/{bob}"),
        Auth::Cookie(&alice),
        Some(json!({"role": "user"})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(token_status(a, &bob_token).await.0, 401);
    assert_eq!(token_status(a, &second).await.0, 401);
    // Cecil loses app access: her token stops; and stays stopped once she is removed.
    let r = http(
        a,
        "PATCH",
        &format!("/api/v1/employees/{cecil}"),
        Auth::Cookie(&alice),
        Some(json!({"app_access": false})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(token_status(a, &cecil_token).await.0, 401);
    let r = http(
        a,
        "DELETE",
        &format!("/api/v1/employees/{cecil}"),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(token_status(a, &cecil_token).await.0, 401);
    // Bob an admin again: his tokens work again (they were never deleted).
    let r = http(
        a,
        "PATCH",
        &format!("/api/v1/employees/{bob}"),
        Auth::Cookie(&alice),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(token_status(a, &bob_token).await.0, 200);
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
