//! `bridge` mode: bridged calls under load. Each client is a browser-like caller: SIP over
//! WebSocket (the same sans-IO user agent as the web app) and WebRTC media from str0m (full
//! ICE, DTLS-SRTP, PCMU only, as a browser's G.711). Every client calls one extension that a
//! plain RTP phone answers (sipp's `uas_answer.xml` with `-rtp_echo`, registered over UDP), so
//! the gateway bridges each call: WebRTC leg to the caller, plain RTP leg to the phone.
//!
//! Every client sends 50 packets a second; the echo sends each back, through the bridge again.
//! A packet's payload carries its send time, so the client sees the round trip of each one
//! (through the bridge twice) and which never came back. Counting covers packets sent within
//! the measuring window only (those received after it still count).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use centrala_sip::ua::{CallHandle, Event as UaEvent, RegistrationState, UaConfig, UserAgent};
use futures_util::{SinkExt, StreamExt};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::{TcpSocket, UdpSocket};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// One packet every 20 ms (50 packets/s, G.711's usual framing).
const PACKET: Duration = Duration::from_millis(20);
/// PCMU payload of 20 ms.
const PAYLOAD_LEN: usize = 160;

/// The run's settings.
pub struct MediaCfg {
    pub url: String,
    pub server: SocketAddr,
    pub domain: String,
    pub first_ext: u64,
    pub password_template: String,
    pub callee: String,
    pub sources: Vec<IpAddr>,
    /// Offer str0m's default RTP header extensions (audio level, abs-send-time, transport-wide
    /// CC, mid, rid), as a browser does; without them, no transport-wide CC feedback either.
    pub rtp_extensions: bool,
}

/// Counts shared by every client.
#[derive(Default)]
pub struct MediaStats {
    pub registered: AtomicU64,
    pub answered: AtomicU64,
    /// ICE and DTLS done: media flows.
    pub connected: AtomicU64,
    /// Calls with media now (connected, not ended).
    pub live: std::sync::atomic::AtomicI64,
    pub failed: AtomicU64,
    /// Packets sent within the window, and those of them that came back.
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// The window, in nanoseconds since [`epoch`]: `[start, end)`; 0 / `u64::MAX` before.
    pub window_start: AtomicU64,
    pub window_end: AtomicU64,
    /// Round trips of packets sent within the window, microseconds.
    pub rtts: Mutex<Vec<u32>>,
}

impl MediaStats {
    pub fn new() -> MediaStats {
        let s = MediaStats::default();
        s.window_end.store(u64::MAX, Ordering::Relaxed);
        s
    }

    /// A client's round trips, when it ends.
    pub fn add_rtts(&self, rtts: Vec<u32>) {
        self.rtts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(rtts);
    }

    /// Caller `i` gave up (`had_media`: it had counted itself live); the first few
    /// reasons are printed.
    pub fn caller_failed(&self, i: usize, had_media: bool, e: &anyhow::Error) {
        if had_media {
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
        if self.failed.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("  client {i}: {e:#}");
        }
    }

    fn in_window(&self, ns: u64) -> bool {
        let start = self.window_start.load(Ordering::Relaxed);
        start != 0 && ns >= start && ns < self.window_end.load(Ordering::Relaxed)
    }
}

/// The clock every client stamps packets with.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

pub fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

async fn connect(
    cfg: &MediaCfg,
    src: IpAddr,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let sock = match src {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    sock.bind(SocketAddr::new(src, 0))?;
    let tcp = sock.connect(cfg.server).await?;
    tcp.set_nodelay(true)?;
    let mut req = cfg.url.as_str().into_client_request()?;
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    // tungstenite zero-fills its whole read buffer before every read, including the ones that
    // find nothing (128 KiB by default): with a caller polling its WebSocket on every media
    // wake-up, that memset was half the load generator's CPU. SIP messages are a few KiB.
    let ws_cfg = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, tcp, Some(ws_cfg)).await?;
    Ok(ws)
}

/// The caller's WebRTC side: str0m with full ICE on one host candidate (shared by the
/// `bridge` and `rtpengine` modes).
pub(crate) struct Media {
    rtc: Rtc,
    local: SocketAddr,
    mid: Mid,
    pending: Option<SdpPendingOffer>,
    pt: u8,
    seq: u64,
    pub(crate) connected: bool,
    pub(crate) deadline: Instant,
}

impl Media {
    /// A caller on `local` and its SDP offer (one PCMU audio section), with or without
    /// str0m's default RTP header extensions.
    pub(crate) fn new(local: SocketAddr, extensions: bool) -> anyhow::Result<(Media, String)> {
        let now = Instant::now();
        let mut builder = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_pcmu(true);
        if !extensions {
            builder = builder.clear_extension_map();
        }
        let mut rtc = builder.build(now);
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| anyhow!("{e}"))?);
        let mut api = rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = api.apply().context("no offer")?;
        let pt = rtc
            .codec_config()
            .params()
            .iter()
            .find(|p| p.spec().codec == Codec::PCMU)
            .map(|p| *p.pt())
            .unwrap_or(0);
        Ok((
            Media {
                rtc,
                local,
                mid,
                pending: Some(pending),
                pt,
                seq: 0,
                connected: false,
                deadline: now,
            },
            offer.to_sdp_string(),
        ))
    }

    pub(crate) fn accept_answer(&mut self, sdp: &str) -> anyhow::Result<()> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| anyhow!("answer: {e}"))?;
        let pending = self.pending.take().context("no offer pending")?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| anyhow!("answer: {e}"))?;
        Ok(())
    }

    /// Runs str0m until it waits; sends what it transmits.
    pub(crate) fn drain(
        &mut self,
        udp: &UdpSocket,
        st: &MediaStats,
        rtts: &mut Vec<u32>,
    ) -> anyhow::Result<()> {
        loop {
            match self.rtc.poll_output().map_err(|e| anyhow!("{e}"))? {
                Output::Timeout(t) => {
                    self.deadline = t;
                    return Ok(());
                }
                Output::Transmit(t) => {
                    // A full socket buffer drops the datagram, as the network would.
                    let _ = udp.try_send_to(&t.contents, t.destination);
                }
                Output::Event(Event::Connected) => {
                    if !self.connected {
                        self.connected = true;
                        st.connected.fetch_add(1, Ordering::Relaxed);
                        st.live.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Output::Event(Event::RtpPacket(p)) => {
                    if p.payload.len() >= 8 {
                        let sent =
                            u64::from_be_bytes(p.payload[..8].try_into().unwrap_or_default());
                        if st.in_window(sent) {
                            st.received.fetch_add(1, Ordering::Relaxed);
                            let rtt = now_ns().saturating_sub(sent) / 1000;
                            rtts.push(u32::try_from(rtt).unwrap_or(u32::MAX));
                        }
                    }
                }
                Output::Event(_) => {}
            }
        }
    }

    /// A datagram from the network.
    pub(crate) fn receive(&mut self, from: SocketAddr, data: &[u8]) -> anyhow::Result<()> {
        if let Ok(rx) = Receive::new(Protocol::Udp, from, self.local, data) {
            self.rtc
                .handle_input(Input::Receive(Instant::now(), rx))
                .map_err(|e| anyhow!("{e}"))?;
        }
        Ok(())
    }

    /// A timer fired: sends the packet due (while `sending`, once connected) and lets str0m
    /// handle its own timeout.
    pub(crate) fn wake(
        &mut self,
        st: &MediaStats,
        next_packet: &mut Instant,
        sending: bool,
    ) -> anyhow::Result<()> {
        let now = Instant::now();
        if now >= *next_packet && self.connected && sending {
            self.send_packet(st);
            *next_packet += PACKET;
            // Far behind (the machine is saturated): skip, do not burst.
            if *next_packet + PACKET * 5 < now {
                *next_packet = now + PACKET;
            }
        }
        if now >= self.deadline {
            self.rtc
                .handle_input(Input::Timeout(now))
                .map_err(|e| anyhow!("{e}"))?;
        }
        Ok(())
    }

    fn send_packet(&mut self, st: &MediaStats) {
        let ns = now_ns();
        let mut payload = vec![0xffu8; PAYLOAD_LEN];
        payload[..8].copy_from_slice(&ns.to_be_bytes());
        self.seq += 1;
        let timestamp = (self.seq as u32).wrapping_mul(PAYLOAD_LEN as u32);
        let now = Instant::now();
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(self.mid, None) else {
            return;
        };
        stream.write_rtp(RtpWrite::new(
            self.pt.into(),
            SeqNo::from(self.seq),
            timestamp,
            now,
            payload,
        ));
        if st.in_window(ns) {
            st.sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One caller: registers, calls the echo, sends media until told to stop, hangs up.
pub async fn caller(
    i: usize,
    cfg: Arc<MediaCfg>,
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
    cfg: &MediaCfg,
    st: &MediaStats,
    ramp: &Semaphore,
    stop: &mut watch::Receiver<bool>,
    had_media: &mut bool,
) -> anyhow::Result<()> {
    let ext = cfg.first_ext + i as u64;
    let src = cfg.sources[i % cfg.sources.len()];
    let permit = ramp.acquire().await?;
    let mut ws = connect(cfg, src).await.context("connect")?;
    let udp = UdpSocket::bind(SocketAddr::new(src, 0)).await?;
    let (mut media, offer) = Media::new(udp.local_addr()?, cfg.rtp_extensions)?;
    let password = cfg.password_template.replace("{ext}", &ext.to_string());
    let mut ua_cfg = UaConfig::new(&ext.to_string(), &cfg.domain, &password);
    ua_cfg.instance_id = format!("urn:uuid:00000000-0000-4000-8000-{ext:012}");
    let mut seed = [0x3c; 32];
    seed[..8].copy_from_slice(&ext.to_le_bytes());
    let mut ua = UserAgent::new(ua_cfg, seed);
    let t0 = Instant::now();
    let ms = || t0.elapsed().as_millis() as u64;
    ua.connected(ms());
    let mut permit = Some(permit);
    let mut call: Option<CallHandle> = None;
    let mut answered = false;
    let mut hung_up = false;
    let mut rtts = Vec::new();
    let mut next_packet = Instant::now() + Duration::from_secs(3600);
    let mut buf = vec![0u8; 2048];
    let result = loop {
        while let Some(t) = ua.poll_transmit() {
            ws.send(WsMessage::Text(t.into()))
                .await
                .context("ws send")?;
        }
        while let Some(e) = ua.poll_event() {
            match e {
                UaEvent::Registration(RegistrationState::Registered) if call.is_none() => {
                    st.registered.fetch_add(1, Ordering::Relaxed);
                    call = Some(ua.call(&cfg.callee, offer.clone(), ms()));
                }
                UaEvent::Answered { sdp, .. } if !answered => {
                    answered = true;
                    st.answered.fetch_add(1, Ordering::Relaxed);
                    media.accept_answer(&sdp)?;
                    permit.take();
                }
                UaEvent::Ended { status, reason, .. } if !hung_up => {
                    return Err(anyhow!("call ended: {status:?} {reason}"));
                }
                _ => {}
            }
        }
        if hung_up && ua.active_calls() == 0 {
            break Ok(());
        }
        media.drain(&udp, st, &mut rtts)?;
        *had_media = media.connected;
        if media.connected && next_packet > Instant::now() + Duration::from_secs(60) {
            next_packet = Instant::now();
        }
        let ua_wait = ua.poll_timeout().map_or(Duration::from_secs(1), |t| {
            Duration::from_millis(t.saturating_sub(ms()))
        });
        let wake = media
            .deadline
            .min(next_packet)
            .min(Instant::now() + ua_wait);
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(WsMessage::Text(t))) => ua.handle_message(t.as_bytes(), ms()),
                Some(Ok(_)) => {}
                _ => return Err(anyhow!("connection lost")),
            },
            r = udp.recv_from(&mut buf) => {
                let (n, from) = r?;
                media.receive(from, &buf[..n])?;
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                media.wake(st, &mut next_packet, !hung_up)?;
                ua.handle_timeout(ms());
            }
            _ = stop.changed(), if !hung_up => {
                hung_up = true;
                if let Some(c) = call {
                    ua.hangup(c, ms());
                }
                next_packet = Instant::now() + Duration::from_secs(3600);
            }
        }
    };
    st.add_rtts(rtts);
    result
}
