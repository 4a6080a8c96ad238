//! The media service against a running gateway (real sockets): a caller that stops sending
//! media is hung up after `--media-timeout`, and nothing is left behind for it.

mod common;

use std::time::Duration;

use centrala_gateway::forwarding::{Routing, Target};
use centrala_gateway::vmserver::MediaConfig;
use centrala_media::AnsweringConfig;
use centrala_sip::ua::Event;
use common::{Phone, start_with};
use tokio::net::UdpSocket;

/// A plain RTP offer (PCMU) for media at `port` on 127.0.0.1.
fn offer(port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
}

#[tokio::test]
async fn a_voicemail_caller_who_sends_no_media_is_hung_up_after_the_timeout() {
    let gw = start_with(|c| {
        c.media = Some(MediaConfig {
            address: "127.0.0.1".parse().unwrap(),
            ports: "47100-47199".parse().unwrap(),
            timeout: Duration::from_secs(2),
            answering: AnsweringConfig::default(),
        })
    })
    .await;
    // Every call to 102 goes to voicemail.
    let bob = gw
        .store
        .employee_by_ext(1, "102")
        .await
        .unwrap()
        .expect("102");
    let routing = Routing {
        always: Some(Target::Voicemail),
        ..Routing::default()
    };
    assert!(gw.store.set_routing(1, bob.id, &routing).await.unwrap());

    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut alice = Phone::registered(gw.addr, "101", 1).await;
    alice
        .call("102", &offer(rtp.local_addr().unwrap().port()))
        .await;
    match alice
        .expect(|e| matches!(e, Event::Answered { .. } | Event::Ended { .. }))
        .await
    {
        Event::Answered { sdp, .. } => {
            assert!(sdp.contains("m=audio 471"), "a port of the range: {sdp}");
        }
        other => panic!("voicemail should answer: {other:?}"),
    }
    // The greeting comes (RTP from the service); we send nothing back.
    let mut buf = [0u8; 2048];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), rtp.recv_from(&mut buf))
        .await
        .expect("the greeting's RTP")
        .unwrap();
    assert!(n > 12 && (47100..=47199).contains(&from.port()));
    // The service ends the call by itself (BYE): the caller's side sees it end.
    let (status, reason) = alice.ended().await;
    assert_eq!(status, None, "ended by a BYE, not a failure: {reason}");
    // No message was left, and no more media comes (what was sent before the end, still in
    // our socket's buffer, is read first).
    let (list, new) = gw.store.voicemails(bob.id).await.unwrap();
    assert!(list.is_empty() && new == 0);
    for _ in 0..2000 {
        if tokio::time::timeout(Duration::from_millis(300), rtp.recv_from(&mut buf))
            .await
            .is_err()
        {
            break;
        }
    }
    let late = tokio::time::timeout(Duration::from_secs(1), rtp.recv_from(&mut buf)).await;
    assert!(
        late.is_err(),
        "the leg is gone, yet {late:?} came: {:?}",
        &buf[..16]
    );
}

/// A 16-bit 8 kHz mono WAV of `ms` of silence.
fn silence_wav(ms: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for _ in 0..ms * 8 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    out.into_inner()
}

#[tokio::test]
async fn messages_left_in_the_spool_are_stored_when_the_gateway_starts() {
    use centrala_gateway::voicemail::{Situation, SpooledVoicemail};
    // A gateway stopped (or its database away) after recording, before storing: the
    // messages wait in the spool, one of them damaged.
    let dir = tempfile::tempdir().unwrap();
    let store = centrala_gateway::store::Store::open(dir.path())
        .await
        .unwrap();
    for ext in ["101", "102"] {
        store
            .add_user(
                ext,
                &format!("User {ext}"),
                &common::password(ext),
                common::DOMAIN,
            )
            .await
            .unwrap();
    }
    for (caller, at) in [("101", 1_800_000_000), ("+48226006100", 1_800_000_060)] {
        let m = SpooledVoicemail {
            company: 1,
            ext: "102".into(),
            caller: caller.into(),
            caller_name: None,
            situation: Situation::Busy,
            duration_ms: 1200,
            received_at: at,
        };
        store.spool_voicemail(&m, &silence_wav(1200)).await.unwrap();
    }
    let spool = store.voicemail_spool();
    std::fs::write(spool.join("0-bad.json"), b"{not json").unwrap();
    assert_eq!(store.spooled_voicemails().len(), 3);
    drop(store);

    let gw = common::start_on(dir, |c| {
        c.media = Some(MediaConfig {
            address: "127.0.0.1".parse().unwrap(),
            ports: "47200-47299".parse().unwrap(),
            timeout: Duration::from_secs(5),
            answering: AnsweringConfig::default(),
        })
    })
    .await;
    let bob = gw.store.employee_by_ext(1, "102").await.unwrap().unwrap();
    let mut list = Vec::new();
    for _ in 0..50 {
        list = gw.store.voicemails(bob.id).await.unwrap().0;
        if list.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(list.len(), 2, "both spooled messages stored");
    // Newest first, with the time they were recorded, not stored.
    assert_eq!(list[0].caller, "+48226006100");
    assert_eq!(list[1].caller, "101");
    assert_eq!(list[1].received_at, "2027-01-15T08:00:00Z");
    assert!(list.iter().all(|m| m.duration_ms == 1200 && !m.heard));
    // The spool is empty; the damaged entry is set aside, not retried for ever.
    assert!(gw.store.spooled_voicemails().is_empty());
    assert!(spool.join("0-bad.json.bad").exists());
    let (_, path) = gw
        .store
        .voicemail(bob.id, list[0].id)
        .await
        .unwrap()
        .unwrap();
    assert!(std::fs::metadata(path).unwrap().len() > 19_000);
}
