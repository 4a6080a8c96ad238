//! `rtpengine` mode: the `bridge` mode's media workload without SIP, relayed by rtpengine
//! instead of the gateway, to compare the CPU each relay spends per call.
//!
//! Each caller is the same str0m WebRTC caller as in `bridge` (full ICE, DTLS-SRTP, PCMU, 50
//! packets a second, send time in the payload). Instead of a SIP INVITE, the caller's offer
//! goes to rtpengine over its ng control protocol (bencoded dictionaries over UDP, each
//! request prefixed by a cookie that the reply repeats): an `offer` asking rtpengine to turn
//! it into a plain RTP/AVP offer (no ICE, no DTLS, RTCP on its own port), then an `answer`
//! with a plain RTP/AVP PCMU answer that points at this process's RTP echo. rtpengine answers
//! the caller with ICE and DTLS-SRTP (UDP/TLS/RTP/SAVPF), str0m connects to it, and every
//! packet goes caller → rtpengine (SRTP → RTP) → echo → rtpengine (RTP → SRTP) → caller,
//! the same path as through the gateway's bridge. A `delete` ends each call.
//!
//! The echo is one UDP socket on its own OS thread that returns every datagram to its sender
//! (as sipp's `-rtp_echo` does in `bridge`); its CPU is counted in the load generator's.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use rand::Rng;
use serde_bencode::value::Value;
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, watch};

use crate::media::{Media, MediaStats};

/// The run's settings.
pub struct RtpengineCfg {
    /// rtpengine's ng control socket.
    pub ng: SocketAddr,
    /// Where the callers' media sockets bind.
    pub sources: Vec<IpAddr>,
    /// The RTP echo (see [`start_echo`]).
    pub echo: SocketAddr,
    /// See `MediaCfg::rtp_extensions`.
    pub rtp_extensions: bool,
}

/// Starts the RTP echo on `ip`: returns every datagram to its sender, on a thread of its own.
/// The port above it (where rtpengine sends the plain side's RTCP) is bound too, when free,
/// and what arrives there is dropped, so no ICMP errors go back to rtpengine.
pub fn start_echo(ip: IpAddr) -> anyhow::Result<SocketAddr> {
    let mut found = None;
    for _ in 0..50 {
        let rtp = StdUdpSocket::bind(SocketAddr::new(ip, 0))?;
        let port = rtp.local_addr()?.port();
        if port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = StdUdpSocket::bind(SocketAddr::new(ip, port + 1)) {
            found = Some((rtp, rtcp));
            break;
        }
    }
    let (rtp, rtcp) = found.context("no free port pair for the RTP echo")?;
    let addr = rtp.local_addr()?;
    std::thread::Builder::new()
        .name("rtp-echo".into())
        .spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = rtp.recv_from(&mut buf) {
                // The phone's own SSRC: the caller's, inverted (see the module's notes).
                if n >= 12 {
                    for b in &mut buf[8..12] {
                        *b = !*b;
                    }
                }
                let _ = rtp.send_to(&buf[..n], from);
            }
        })?;
    std::thread::Builder::new()
        .name("rtcp-sink".into())
        .spawn(move || {
            let mut buf = [0u8; 2048];
            while rtcp.recv_from(&mut buf).is_ok() {}
        })?;
    Ok(addr)
}

fn bytes(s: &str) -> Value {
    Value::Bytes(s.as_bytes().to_vec())
}

fn dict(entries: &[(&str, Value)]) -> Value {
    Value::Dict(
        entries
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
            .collect(),
    )
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| bytes(s)).collect())
}

/// One ng request on `sock` (connected to rtpengine): sends `cookie SP bencode`, waits for
/// the reply with the same cookie (resending twice on silence), and checks `result`.
async fn ng_request(sock: &UdpSocket, req: &Value) -> anyhow::Result<HashMap<Vec<u8>, Value>> {
    let cookie = format!("{:016x}", rand::thread_rng().r#gen::<u64>());
    let mut msg = cookie.clone().into_bytes();
    msg.push(b' ');
    msg.extend(serde_bencode::to_bytes(req)?);
    let mut buf = vec![0u8; 65536];
    for _ in 0..3 {
        sock.send(&msg).await.context("ng send")?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let n = match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => break,
                Ok(r) => r.context("ng recv")?,
            };
            let reply = &buf[..n];
            let Some(body) = reply
                .strip_prefix(cookie.as_bytes())
                .and_then(|r| r.strip_prefix(b" "))
            else {
                continue; // a late reply to an earlier attempt
            };
            let Value::Dict(d) = serde_bencode::from_bytes::<Value>(body)? else {
                bail!("ng reply is not a dictionary");
            };
            match d.get(&b"result"[..]) {
                Some(Value::Bytes(r)) if r == b"ok" => return Ok(d),
                other => {
                    let reason = match d.get(&b"error-reason"[..]) {
                        Some(Value::Bytes(r)) => String::from_utf8_lossy(r).into_owned(),
                        _ => String::new(),
                    };
                    bail!("ng result {other:?}: {reason}");
                }
            }
        }
    }
    bail!("no ng reply from rtpengine")
}

fn sdp_of(reply: &HashMap<Vec<u8>, Value>) -> anyhow::Result<String> {
    match reply.get(&b"sdp"[..]) {
        Some(Value::Bytes(s)) => Ok(String::from_utf8(s.clone())?),
        _ => bail!("ng reply without sdp"),
    }
}

/// The echo's side of the call: a plain RTP/AVP PCMU answer, as a desk phone gives, that
/// announces the SSRC the echo sends with (`ssrc`, see [`start_echo`]).
fn plain_answer(echo: SocketAddr, id: usize, ssrc: u32) -> String {
    let ip = echo.ip();
    let port = echo.port();
    format!(
        "v=0\r\no=- {id} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\na=ssrc:{ssrc} cname:echo{id}\r\n"
    )
}

/// The SSRC an SDP announces first (`a=ssrc:N ...`).
fn first_ssrc(sdp: &str) -> Option<u32> {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ssrc:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// rtpengine 10.5 drops the offer's `a=group:BUNDLE` line and gives none in its answer;
/// browsers accept that for one media section, str0m refuses an answer whose sections carry
/// a `mid` but no group ("Session attribute a=group missing"). So the loadgen adds the group
/// of the answer's one section before str0m reads it; the media are unchanged.
fn with_bundle_group(sdp: &str) -> String {
    if sdp.contains("a=group:") {
        return sdp.to_string();
    }
    let Some(mid) = sdp
        .lines()
        .find_map(|l| l.trim_end().strip_prefix("a=mid:"))
    else {
        return sdp.to_string();
    };
    let mut out = String::with_capacity(sdp.len() + 32);
    let mut added = false;
    for line in sdp.split_inclusive('\n') {
        out.push_str(line);
        if !added && line.starts_with("t=") {
            out.push_str(&format!("a=group:BUNDLE {mid}\r\n"));
            added = true;
        }
    }
    out
}

/// One caller: sets up its call through rtpengine, sends media until told to stop, deletes
/// the call.
pub async fn caller(
    i: usize,
    cfg: Arc<RtpengineCfg>,
    st: Arc<MediaStats>,
    ramp: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut had_media = false;
    if let Err(e) = caller_inner(i, &cfg, &st, &ramp, &mut stop, &mut had_media).await {
        st.caller_failed(i, had_media, &e);
    }
}

async fn caller_inner(
    i: usize,
    cfg: &RtpengineCfg,
    st: &MediaStats,
    ramp: &Semaphore,
    stop: &mut watch::Receiver<bool>,
    had_media: &mut bool,
) -> anyhow::Result<()> {
    let src = cfg.sources[i % cfg.sources.len()];
    let permit = ramp.acquire().await?;
    let udp = UdpSocket::bind(SocketAddr::new(src, 0)).await?;
    let (mut media, offer) = Media::new(udp.local_addr()?, cfg.rtp_extensions)?;
    let echo_ssrc = !first_ssrc(&offer).context("the caller's offer announces no SSRC")?;
    let ng = UdpSocket::bind(SocketAddr::new(cfg.ng.ip(), 0)).await?;
    ng.connect(cfg.ng).await?;
    let call_id = format!("loadgen-{}-{i}", std::process::id());
    let from_tag = format!("caller-{i}");
    let to_tag = format!("echo-{i}");
    // The WebRTC offer becomes a plain one for the echo: RTP/AVP, ICE and DTLS removed, RTCP
    // on its own port (the echo does not multiplex).
    let reply = ng_request(
        &ng,
        &dict(&[
            ("command", bytes("offer")),
            ("call-id", bytes(&call_id)),
            ("from-tag", bytes(&from_tag)),
            ("sdp", bytes(&offer)),
            ("transport-protocol", bytes("RTP/AVP")),
            ("ICE", bytes("remove")),
            ("DTLS", bytes("off")),
            ("rtcp-mux", list(&["demux"])),
        ]),
    )
    .await
    .context("ng offer")?;
    let plain_offer = sdp_of(&reply)?;
    if !plain_offer.contains("RTP/AVP") {
        bail!("rtpengine's offer is not plain RTP/AVP: {plain_offer}");
    }
    st.registered.fetch_add(1, Ordering::Relaxed);
    // The echo's plain answer; rtpengine answers the caller in the caller's own terms (ICE,
    // DTLS-SRTP, rtcp-mux, UDP/TLS/RTP/SAVPF).
    let reply = ng_request(
        &ng,
        &dict(&[
            ("command", bytes("answer")),
            ("call-id", bytes(&call_id)),
            ("from-tag", bytes(&from_tag)),
            ("to-tag", bytes(&to_tag)),
            ("sdp", bytes(&plain_answer(cfg.echo, i, echo_ssrc))),
            ("transport-protocol", bytes("UDP/TLS/RTP/SAVPF")),
            ("ICE", bytes("force")),
            ("rtcp-mux", list(&["require"])),
        ]),
    )
    .await
    .context("ng answer")?;
    let answer = with_bundle_group(&sdp_of(&reply)?);
    if !answer.contains("UDP/TLS/RTP/SAVPF") || !answer.contains("a=fingerprint") {
        bail!("rtpengine's answer is not WebRTC: {answer}");
    }
    media
        .accept_answer(&answer)
        .with_context(|| format!("rtpengine's answer: {answer}"))?;
    st.answered.fetch_add(1, Ordering::Relaxed);
    drop(permit);

    let mut rtts = Vec::new();
    let mut next_packet = Instant::now() + Duration::from_secs(3600);
    let mut buf = vec![0u8; 2048];
    let result = loop {
        if let Err(e) = media.drain(&udp, st, &mut rtts) {
            break Err(e);
        }
        *had_media = media.connected;
        if media.connected && next_packet > Instant::now() + Duration::from_secs(60) {
            next_packet = Instant::now();
        }
        let wake = media.deadline.min(next_packet);
        let step = tokio::select! {
            r = udp.recv_from(&mut buf) => match r {
                Ok((n, from)) => media.receive(from, &buf[..n]),
                Err(e) => Err(e.into()),
            },
            _ = tokio::time::sleep_until(wake.into()) => media.wake(st, &mut next_packet, true),
            _ = stop.changed() => break Ok(()),
        };
        if let Err(e) = step {
            break Err(e);
        }
    };
    st.add_rtts(rtts);
    if media.connected {
        st.live.fetch_sub(1, Ordering::Relaxed);
        *had_media = false;
    }
    let deleted = ng_request(
        &ng,
        &dict(&[
            ("command", bytes("delete")),
            ("call-id", bytes(&call_id)),
            ("from-tag", bytes(&from_tag)),
        ]),
    )
    .await
    .context("ng delete");
    result?;
    deleted.map(|_| ()).map_err(|e| anyhow!("{e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_group_is_added_after_the_timing_line() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 UDP/TLS/RTP/SAVPF 0\r\na=mid:x1\r\n";
        let out = with_bundle_group(sdp);
        assert!(
            out.contains("t=0 0\r\na=group:BUNDLE x1\r\nm=audio"),
            "{out}"
        );
        // Already grouped, or no mid: unchanged.
        assert_eq!(with_bundle_group(&out), out);
        let no_mid = "v=0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(with_bundle_group(no_mid), no_mid);
    }

    #[test]
    fn the_echo_announces_its_own_ssrc() {
        let offer = "v=0\r\na=ssrc:2644169396 cname:abc\r\na=ssrc:2644169396 msid:x y\r\n";
        let ssrc = !first_ssrc(offer).unwrap();
        let answer = plain_answer("127.0.0.1:16000".parse().unwrap(), 7, ssrc);
        assert!(answer.contains("m=audio 16000 RTP/AVP 0\r\n"));
        assert!(answer.contains(&format!("a=ssrc:{} cname:echo7\r\n", !2644169396u32)));
        assert_eq!(first_ssrc("v=0\r\n"), None);
    }
}
