//! Presence and call records through the real gateway (WebSocket, tokio driver, SQLite): the
//! softphone's user agent subscribes to the directory and sees colleagues change; every call
//! is written to the `calls` table; a do-not-disturb choice survives a restart.

mod common;

use std::time::Duration;

use centrala_gateway::core::Choice;
use centrala_sip::presence::Status;
use centrala_sip::ua::Event;
use common::{DOMAIN, Phone, SDP, start, start_on};
use sqlx::Row;

/// Waits until the watcher's list shows `ext` with `want`; the statuses seen on the way.
async fn until(watcher: &mut Phone, ext: &str, want: Status) -> Vec<Status> {
    let uri = format!("sip:{ext}@{DOMAIN}");
    let mut seen = Vec::new();
    loop {
        let e = watcher
            .expect(|e| matches!(e, Event::Presence(_) | Event::PresenceLost { .. }))
            .await;
        let Event::Presence(list) = e else {
            panic!("presence lost: {e:?}");
        };
        if let Some(p) = list
            .resources
            .iter()
            .find(|r| r.uri == uri)
            .and_then(|r| r.presence.as_ref())
        {
            seen.push(p.status);
            if p.status == want {
                return seen;
            }
        }
    }
}

async fn calls_table(dir: &std::path::Path) -> Vec<(String, Option<i64>, Option<i64>, String)> {
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        dir.join("centrala.db").display()
    ))
    .await
    .expect("open the database");
    let rows = sqlx::query(
        "SELECT c.outcome, c.caller_id, c.callee_id, COALESCE(c.caller_name, '') FROM calls c ORDER BY c.id",
    )
    .fetch_all(&pool)
    .await
    .expect("calls");
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_shows_colleagues_live_and_calls_are_recorded() {
    let gw = start().await;
    let addr = gw.addr;
    let mut watcher = Phone::registered(addr, "103", 1).await;
    watcher.with(|ua, now| ua.subscribe_directory(now)).await;
    let first = until(&mut watcher, "102", Status::Offline).await;
    assert_eq!(first, [Status::Offline]);

    let mut b = Phone::registered(addr, "102", 2).await;
    until(&mut watcher, "102", Status::Available).await;
    let a = Phone::registered(addr, "101", 3).await;
    until(&mut watcher, "101", Status::Available).await;

    // 101 calls 102: ringing, then in a call; hung up: available. The callee sees the
    // caller's name from the directory.
    let call = a.call("102", SDP).await;
    let incoming = b.expect(|e| matches!(e, Event::IncomingCall { .. })).await;
    let Event::IncomingCall {
        call: theirs,
        from_display,
        ..
    } = incoming
    else {
        unreachable!()
    };
    assert_eq!(from_display.as_deref(), Some("User 101"));
    until(&mut watcher, "102", Status::Ringing).await;
    b.answer(theirs, SDP).await;
    until(&mut watcher, "102", Status::InCall).await;
    a.hangup(call).await;
    until(&mut watcher, "102", Status::Available).await;

    // A call nobody answers (the caller gives up) is recorded as missed.
    let call = a.call("102", SDP).await;
    b.incoming().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.hangup(call).await;
    b.ended().await;

    // 102's tab closes: offline within a second.
    b.close().await;
    let t = std::time::Instant::now();
    until(&mut watcher, "102", Status::Offline).await;
    println!("offline seen {:?} after the WebSocket closed", t.elapsed());

    // The records are written in the background: wait for both.
    let dir = gw.dir.path().to_path_buf();
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = calls_table(&dir).await;
        if rows.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outcomes: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(outcomes, ["answered", "missed"]);
    assert!(
        rows.iter().all(|r| r.1.is_some() && r.2.is_some()),
        "{rows:?}"
    );
    assert_eq!(rows[0].3, "User 101");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do_not_disturb_survives_a_restart() {
    let gw = start().await;
    // The choice as the API or a PUBLISH stores it; the core learns it at start.
    assert!(gw.store.save_presence(1, "102", Choice::Dnd).await.unwrap());
    let dir = gw.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let gw = start_on(dir, |_| {}).await;
    let mut a = Phone::registered(gw.addr, "101", 1).await;
    let b = Phone::registered(gw.addr, "102", 2).await;
    let mut watcher = Phone::registered(gw.addr, "103", 3).await;
    watcher.with(|ua, now| ua.subscribe_directory(now)).await;
    until(&mut watcher, "102", Status::Dnd).await;
    a.call("102", SDP).await;
    let (status, reason) = a.ended().await;
    assert_eq!(status, Some(486));
    println!("caller was told: {reason}");
    drop(b);
}
