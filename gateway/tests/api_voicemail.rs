//! Voicemail through the API, against a running gateway (docs/api-voicemail.md): messages
//! stored by the gateway are listed with the count of new ones, played (with ranges) and
//! downloaded, marked heard and deleted only by their owner (404 for anyone else, 401
//! without a session); greetings are uploaded as WAV (415 for other types, 400 with the
//! reason for a bad or too long recording), played back and removed.

mod common;

use std::net::SocketAddr;

use centrala_gateway::voicemail::{NewVoicemail, Situation};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "support/http.rs"]
mod http;
use http::{Auth, http, login};
#[path = "support/seed.rs"]
mod seed;
use seed::{WEB_PASSWORD, employee_id, start_seeded};

/// A mono 16-bit WAV of `ms` milliseconds at 8 kHz (a 440 Hz tone).
fn wav(ms: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..(8 * ms) {
        let t = i as f32 / 8000.0;
        w.write_sample(((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    out.into_inner()
}

/// A raw HTTP/1.1 exchange with a binary body both ways: (status, head, body).
async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        head.push_str(&format!("Cookie: {c}\r\n"));
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = match body {
        Some((ct, b)) => {
            head.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n",
                b.len()
            ));
            b.to_vec()
        }
        None => {
            head.push_str("Content-Length: 0\r\n");
            Vec::new()
        }
    };
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let at = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..at]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, out[at + 4..].to_vec())
}

#[tokio::test]
async fn voicemail_is_private_to_its_owner_and_greetings_are_checked() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let olga = login(a, "olga@b.test", WEB_PASSWORD).await;
    let alice_id = employee_id(a, &alice, "101").await;
    let recording = wav(1200);
    let id = gw
        .store
        .add_voicemail(
            alice_id,
            NewVoicemail {
                caller: "102",
                caller_name: Some("Bob"),
                situation: Situation::NoAnswer,
                duration_ms: 1200,
                wav: &recording,
            },
        )
        .await
        .unwrap();

    // Listed for Alice with one new message; nobody else sees it.
    let r = http(a, "GET", "/api/v1/me/voicemail", Auth::Cookie(&alice), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.json();
    assert_eq!(list["new"], 1);
    assert_eq!(list["items"][0]["caller"], "102");
    assert_eq!(list["items"][0]["caller_name"], "Bob");
    assert_eq!(list["items"][0]["situation"], "no_answer");
    assert_eq!(list["items"][0]["duration_ms"], 1200);
    assert_eq!(list["items"][0]["heard"], false);
    for other in [&bob, &olga] {
        let r = http(a, "GET", "/api/v1/me/voicemail", Auth::Cookie(other), None).await;
        assert_eq!(r.json()["items"].as_array().unwrap().len(), 0);
        for (m, p) in [
            ("GET", format!("/api/v1/me/voicemail/{id}/audio")),
            ("DELETE", format!("/api/v1/me/voicemail/{id}")),
        ] {
            let r = http(a, m, &p, Auth::Cookie(other), None).await;
            assert_eq!(r.status, 404, "{m} {p}: {}", r.body);
        }
        let r = http(
            a,
            "PATCH",
            &format!("/api/v1/me/voicemail/{id}"),
            Auth::Cookie(other),
            Some(json!({"heard": true})),
        )
        .await;
        assert_eq!(r.status, 404);
    }
    let r = http(a, "GET", "/api/v1/me/voicemail", Auth::None, None).await;
    assert_eq!(r.status, 401);
    let (status, _, _) = raw(
        a,
        "GET",
        &format!("/api/v1/me/voicemail/{id}/audio"),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 401);

    // Alice plays it: the same bytes, a range for seeking, and a download with a file name.
    let (status, head, body) = raw(
        a,
        "GET",
        &format!("/api/v1/me/voicemail/{id}/audio"),
        Some(&alice),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: audio/wav"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("cache-control: private"),
        "{head}"
    );
    assert_eq!(body, recording);
    let (status, head, body) = raw(
        a,
        "GET",
        &format!("/api/v1/me/voicemail/{id}/audio"),
        Some(&alice),
        &[("Range", "bytes=0-43")],
        None,
    )
    .await;
    assert_eq!(status, 206, "{head}");
    assert_eq!(body, recording[..44]);
    let (_, head, _) = raw(
        a,
        "GET",
        &format!("/api/v1/me/voicemail/{id}/audio?download"),
        Some(&alice),
        &[],
        None,
    )
    .await;
    assert!(head.contains("attachment; filename=\"voicemail-"), "{head}");

    // Heard, then deleted (file and all).
    let r = http(
        a,
        "PATCH",
        &format!("/api/v1/me/voicemail/{id}"),
        Auth::Cookie(&alice),
        Some(json!({"heard": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["heard"], true);
    let r = http(a, "GET", "/api/v1/me/voicemail", Auth::Cookie(&alice), None).await;
    assert_eq!(r.json()["new"], 0);
    let (_, file) = gw.store.voicemail(alice_id, id).await.unwrap().unwrap();
    assert!(file.exists());
    let r = http(
        a,
        "DELETE",
        &format!("/api/v1/me/voicemail/{id}"),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(!file.exists());
    let r = http(
        a,
        "DELETE",
        &format!("/api/v1/me/voicemail/{id}"),
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 404);

    // Greetings: only WAV, a good one is kept and played back, per situation.
    let put = |ct: &'static str, body: Vec<u8>, situation: &'static str| {
        let alice = alice.clone();
        async move {
            raw(
                a,
                "PUT",
                &format!("/api/v1/me/greetings/{situation}"),
                Some(&alice),
                &[],
                Some((ct, &body)),
            )
            .await
        }
    };
    let (status, _, body) = put("audio/webm", b"\x1aE\xdf\xa3".to_vec(), "busy").await;
    assert_eq!(status, 415, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = put("audio/wav", b"RIFF0000WAVEnonsense".to_vec(), "busy").await;
    assert_eq!(status, 400);
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"], "invalid_audio");
    assert!(err["message"].as_str().unwrap().contains("WAV"), "{err}");
    let (status, _, body) = put("audio/wav", wav(61_000), "busy").await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("longer than 60 s"));
    let (status, _, _) = put("audio/wav", wav(500), "lunch").await;
    assert_eq!(status, 404, "unknown situation");
    let greeting = wav(800);
    let (status, _, body) = put("audio/wav", greeting.clone(), "busy").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let g: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(g["situation"], "busy");
    assert_eq!(g["duration_ms"], 800);
    let r = http(a, "GET", "/api/v1/me/greetings", Auth::Cookie(&alice), None).await;
    assert_eq!(r.json()["greetings"].as_array().unwrap().len(), 1);
    let r = http(a, "GET", "/api/v1/me/greetings", Auth::Cookie(&bob), None).await;
    assert_eq!(r.json()["greetings"].as_array().unwrap().len(), 0);
    let (status, _, body) = raw(
        a,
        "GET",
        "/api/v1/me/greetings/busy",
        Some(&alice),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, greeting);
    let (status, _, _) = raw(a, "GET", "/api/v1/me/greetings/busy", Some(&bob), &[], None).await;
    assert_eq!(status, 404);
    let r = http(
        a,
        "DELETE",
        "/api/v1/me/greetings/busy",
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = http(
        a,
        "DELETE",
        "/api/v1/me/greetings/busy",
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    // The built-in greeting (espeak-ng), in both languages, to anyone logged in.
    for lang in ["en", "pl"] {
        let path = format!("/api/v1/greetings/builtin/{lang}");
        let (status, head, body) = raw(a, "GET", &path, Some(&bob), &[], None).await;
        assert_eq!(status, 200, "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: audio/wav")
        );
        assert_eq!(&body[..4], b"RIFF");
    }
    let (status, _, _) = raw(
        a,
        "GET",
        "/api/v1/greetings/builtin/de",
        Some(&bob),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = raw(a, "GET", "/api/v1/greetings/builtin/en", None, &[], None).await;
    assert_eq!(status, 401);
}
