//! The media relay for browsers (TURN) against a TURN client (the `turn` crate's): the
//! credentials `GET /api/v1/ice` hands out allocate a relayed address from the configured
//! range, and data crosses it; forged, expired or foreign credentials allocate nothing.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use centrala_gateway::turn::{CREDENTIAL_TTL, TurnConfig, credentials, start};
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn;

async fn client(server: &str, username: String, password: String) -> Client {
    let conn = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let c = Client::new(ClientConfig {
        stun_serv_addr: server.into(),
        turn_serv_addr: server.into(),
        username,
        password,
        realm: String::new(),
        software: "centrala-test".into(),
        rto_in_ms: 0,
        conn,
        vnet: None,
    })
    .await
    .unwrap();
    c.listen().await.unwrap();
    c
}

#[tokio::test]
async fn only_the_gateways_credentials_allocate_and_data_is_relayed() {
    let secret = [9u8; 32];
    let cfg = TurnConfig {
        listen: "127.0.0.1:34781".parse().unwrap(),
        relay_address: "127.0.0.1".parse().unwrap(),
        ports: "47400-47409".parse().unwrap(),
        secret,
    };
    let _server = start(&cfg).await.unwrap();
    let server = cfg.listen.to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();

    // The gateway's credentials: a relayed address from the range.
    let (user, pass) = credentials(&secret, 7, now, CREDENTIAL_TTL);
    let c = client(&server, user, pass).await;
    let relay = tokio::time::timeout(Duration::from_secs(5), c.allocate())
        .await
        .expect("an answer")
        .expect("allocated");
    let relayed = relay.local_addr().unwrap();
    assert!((47400..=47409).contains(&relayed.port()), "{relayed}");
    // A peer sends to the relayed address once permitted; the client gets it.
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    relay
        .send_to(b"hello", peer.local_addr().unwrap())
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
        .await
        .expect("relayed to the peer")
        .unwrap();
    assert_eq!((&buf[..n], from), (&b"hello"[..], relayed));
    peer.send_to(b"back", relayed).await.unwrap();
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), relay.recv_from(&mut buf))
        .await
        .expect("relayed to the client")
        .unwrap();
    assert_eq!(&buf[..n], b"back");
    c.close().await.unwrap();

    // Forged (another secret), expired, or not ours at all: no allocation.
    let (user, forged) = credentials(&[1u8; 32], 7, now, CREDENTIAL_TTL);
    let (old_user, old_pass) = credentials(
        &secret,
        7,
        now - 2 * CREDENTIAL_TTL.as_secs(),
        CREDENTIAL_TTL,
    );
    for (u, p) in [
        (user, forged),
        (old_user, old_pass),
        ("alice".to_string(), "secret".to_string()),
    ] {
        let c = client(&server, u.clone(), p).await;
        let r = tokio::time::timeout(Duration::from_secs(10), c.allocate())
            .await
            .expect("an answer");
        assert!(r.is_err(), "{u}: allocated with bad credentials");
        c.close().await.unwrap();
    }
}
