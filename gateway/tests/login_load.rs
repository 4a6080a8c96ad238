//! A burst of web logins (argon2) while a phone re-registers: password hashing runs on its
//! own threads behind a bound, so SIP stays fast. In a test binary of its own, so no other
//! test shares the machine's cores while it measures.

mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/seed.rs"]
mod seed;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use centrala_sip::digest::{Challenge, Credentials};
use common::{DOMAIN, Raw, password};
use seed::{WEB_PASSWORD, start_seeded};
use serde_json::json;

fn register(cseq: u32, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS load.invalid;branch=z9hG4bKload{cseq}\nMax-Forwards: 70\nTo: <sip:101@{DOMAIN}>\nFrom: <sip:101@{DOMAIN}>;tag=load\nCall-ID: load-1\nCSeq: {cseq} REGISTER\nContact: <sip:load@load.invalid;transport=ws>;expires=600\n{auth}Content-Length: 0\n\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_logins_do_not_delay_register() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let mut phone = Raw::connect(a).await;
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    // The phone: REGISTER, 401, REGISTER with credentials, 200; again and again, timing
    // each request's round trip.
    let registrar = tokio::spawn(async move {
        let mut times = Vec::new();
        let mut cseq = 1;
        while !stop.load(Ordering::Relaxed) || times.len() < 20 {
            let t = Instant::now();
            phone.send(&register(cseq, None)).await;
            let r = phone.final_response().await;
            times.push(t.elapsed());
            assert_eq!(r.status, 401);
            let ch = Challenge::pick(r.headers.all("WWW-Authenticate")).expect("challenge");
            let creds = Credentials::answer(
                &ch,
                "REGISTER",
                &format!("sip:{DOMAIN}"),
                "101",
                &password("101"),
                &format!("c{cseq}"),
                1,
            );
            cseq += 1;
            let t = Instant::now();
            phone.send(&register(cseq, Some(&creds.to_string()))).await;
            let r = phone.final_response().await;
            times.push(t.elapsed());
            assert_eq!(r.status, 200, "{}", r.reason);
            cseq += 1;
            // Well under the flood guard's rate.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        times
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let logins: Vec<_> = (0..50)
        .map(|i| {
            let (email, pw) = match i % 3 {
                0 => ("alice@a.test", WEB_PASSWORD),
                1 => ("bob@a.test", "not-his-password"),
                _ => ("nobody@a.test", "no-such-account"),
            };
            // Each from its own address, so the login limits do not step in.
            let from = format!("127.0.1.{}", i + 1).parse().unwrap();
            tokio::spawn(async move {
                http::Request::new("POST", "/api/v1/sessions")
                    .json(json!({"email": email, "password": pw}))
                    .from(from)
                    .send(a)
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for l in logins {
        statuses.push(l.await.unwrap());
    }
    let login_time = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let times = registrar.await.unwrap();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 17);
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 401),
        "{statuses:?}"
    );
    let max = times.iter().max().unwrap();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "50 logins in {login_time:?}; {} REGISTER round trips meanwhile: max {max:?}, mean {mean:?}",
        times.len()
    );
    assert!(
        *max < Duration::from_millis(250),
        "a REGISTER took {max:?} during the logins"
    );
}
