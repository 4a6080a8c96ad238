//! A real SMTP listener for the API tests: it accepts mail on 127.0.0.1 and hands over
//! each message's data.
#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Accepts SMTP on 127.0.0.1 and hands over each message's data.
pub async fn smtp_sink() -> (u16, mpsc::UnboundedReceiver<String>) {
    let (port, rx, _) = smtp_sink_on(TcpListener::bind("127.0.0.1:0").await.unwrap());
    (port, rx)
}

/// [`smtp_sink`] on a given listener; aborting the handle closes the listener.
pub fn smtp_sink_on(
    l: TcpListener,
) -> (
    u16,
    mpsc::UnboundedReceiver<String>,
    tokio::task::AbortHandle,
) {
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if cmd.starts_with("DATA") {
                        let _ = w.write_all(b"354 go on\r\n").await;
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            data.push_str(&line);
                        }
                        let _ = tx.send(data);
                        b"250 queued\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (port, rx, task.abort_handle())
}

pub async fn next_mail(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    let m = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an e-mail within 10 s")
        .unwrap();
    // Undo quoted-printable soft breaks and '=' escapes, enough to read links.
    m.replace("=\r\n", "").replace("=3D", "=")
}
