//! A gateway with people in it, for the API tests: the default company (DOMAIN, extensions
//! 101 to 103 with SIP passwords) with e-mails, web passwords and an admin (alice, 101), and a
//! second company (OTHER) that also has a 101.
#![allow(dead_code)]

use std::net::SocketAddr;

use centrala_gateway::accounts::DEFAULT_COMPANY;
use centrala_gateway::mail::{MailConfig, SmtpSecurity};
use centrala_gateway::server::ServeConfig;
use centrala_gateway::store::Store;

use crate::common::{DOMAIN, Gateway, password, start_on};
use crate::http::{Auth, http};

pub const OTHER: &str = "other.example";
/// Every seeded employee's web password.
pub const WEB_PASSWORD: &str = "Correct-Horse-7";

/// The default company (DOMAIN, extensions 101–103 from the harness) gets e-mails, web
/// passwords and an admin; a second company (OTHER) also has a 101.
pub async fn seed(dir: &std::path::Path) {
    let store = Store::open(dir).await.unwrap();
    let (_, list) = store.employees(DEFAULT_COMPANY, "", 100, 0).await.unwrap();
    for e in list {
        let local = match e.extension.as_str() {
            "101" => "alice",
            "102" => "bob",
            _ => "cecil",
        };
        let role = (e.extension == "101").then_some(centrala_gateway::accounts::Role::Admin);
        store
            .set_login(e.id, Some(&format!("{local}@a.test")), role)
            .await
            .unwrap();
        store.set_web_password(e.id, WEB_PASSWORD).await.unwrap();
    }
    let b = store.create_company("Other Ltd", OTHER, 3).await.unwrap();
    let id = store
        .add_sip_user(b.id, "101", "Olga Other", "other-secret", OTHER)
        .await
        .unwrap();
    store
        .set_login(
            id,
            Some("olga@b.test"),
            Some(centrala_gateway::accounts::Role::Admin),
        )
        .await
        .unwrap();
    store.set_web_password(id, WEB_PASSWORD).await.unwrap();
}

pub async fn start_seeded(smtp: Option<u16>) -> Gateway {
    start_seeded_with(smtp, |_| {}).await
}

/// As [`start_seeded`], after `tune` adjusts the configuration.
pub async fn start_seeded_with(smtp: Option<u16>, tune: impl FnOnce(&mut ServeConfig)) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).await.unwrap();
        for ext in ["101", "102", "103"] {
            store
                .add_user(ext, &format!("User {ext}"), &password(ext), DOMAIN)
                .await
                .unwrap();
        }
        // The first start renames the default company's domain: do it now for the seed.
        store
            .set_company_domain(DEFAULT_COMPANY, DOMAIN)
            .await
            .unwrap();
    }
    seed(dir.path()).await;
    start_on(dir, |cfg| {
        if let Some(port) = smtp {
            cfg.mail = MailConfig::Smtp {
                host: "127.0.0.1".into(),
                port,
                security: SmtpSecurity::None,
                credentials: None,
                from: "Centrala <no-reply@test.centrala>".into(),
            };
        }
        tune(cfg);
    })
    .await
}

pub async fn employee_id(addr: SocketAddr, admin: &str, ext: &str) -> i64 {
    let r = http(
        addr,
        "GET",
        &format!("/api/v1/employees?q={ext}"),
        Auth::Cookie(admin),
        None,
    )
    .await;
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["extension"] == ext)
        .unwrap_or_else(|| panic!("{ext} in {}", r.body))["id"]
        .as_i64()
        .unwrap()
}
