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
