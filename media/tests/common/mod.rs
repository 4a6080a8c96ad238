//! A browser-like str0m peer for the media tests, on virtual time. No sockets, no sleeps:
//! datagrams are handed over in memory and the clock jumps to the next deadline (the way
//! str0m's own tests/common.rs drives two `Rtc`s).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec as StrCodec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// The browser's address.
pub fn browser_addr() -> SocketAddr {
    "192.0.2.10:50000".parse().unwrap()
}

/// A packet received by the browser.
#[derive(Debug, Clone)]
pub struct Received {
    pub pt: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

/// A datagram on its way.
pub type Datagram = (SocketAddr, SocketAddr, Vec<u8>);

/// A browser: str0m with full ICE, the DTLS client side, offering opus/PCMU/PCMA.
pub struct Browser {
    pub rtc: Rtc,
    pub addr: SocketAddr,
    pub mid: Mid,
    pending: Option<SdpPendingOffer>,
    pub connected: bool,
    pub received: Vec<Received>,
    pub timeout: Instant,
    /// Datagrams to deliver to the gateway.
    pub outbox: Vec<Datagram>,
    seq: u64,
}

impl Browser {
    pub fn new(now: Instant) -> (Browser, String) {
        Browser::offering(now, true)
    }

    /// A browser offering Opus alone (`g711: false`), or Opus, PCMU and PCMA.
    pub fn offering(now: Instant, g711: bool) -> (Browser, String) {
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true)
            .enable_pcmu(g711)
            .enable_pcma(g711)
            .build(now);
        rtc.add_local_candidate(Candidate::host(browser_addr(), "udp").unwrap());
        let mut api = rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = api.apply().unwrap();
        let browser = Browser {
            rtc,
            addr: browser_addr(),
            mid,
            pending: Some(pending),
            connected: false,
            received: Vec::new(),
            timeout: now,
            outbox: Vec::new(),
            seq: 1000,
        };
        (browser, offer.to_sdp_string())
    }

    /// A browser answering the gateway's offer (a phone calls a browser).
    pub fn answering(offer: &str, now: Instant) -> (Browser, String) {
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true)
            .enable_pcmu(true)
            .enable_pcma(true)
            .build(now);
        rtc.add_local_candidate(Candidate::host(browser_addr(), "udp").unwrap());
        let offer = SdpOffer::from_sdp_string(offer).unwrap();
        let answer = rtc.sdp_api().accept_offer(offer).unwrap();
        let sdp = answer.to_sdp_string();
        let mid = sdp
            .lines()
            .find_map(|l| l.strip_prefix("a=mid:"))
            .unwrap()
            .trim()
            .into();
        let mut browser = Browser {
            rtc,
            addr: browser_addr(),
            mid,
            pending: None,
            connected: false,
            received: Vec::new(),
            timeout: now,
            outbox: Vec::new(),
            seq: 1000,
        };
        browser.drain(now);
        (browser, sdp)
    }

    pub fn accept_answer(&mut self, answer: &str, now: Instant) {
        let answer = SdpAnswer::from_sdp_string(answer).unwrap();
        self.rtc
            .sdp_api()
            .accept_answer(self.pending.take().unwrap(), answer)
            .unwrap();
        self.drain(now);
    }

    /// A new offer in the running session with the audio direction changed (hold/resume).
    pub fn reoffer(&mut self, dir: Direction, now: Instant) -> String {
        let mut api = self.rtc.sdp_api();
        api.set_direction(self.mid, dir);
        let (offer, pending) = api.apply().unwrap();
        self.pending = Some(pending);
        self.drain(now);
        offer.to_sdp_string()
    }

    /// Answers the gateway's new offer in the running session.
    pub fn answer_reoffer(&mut self, offer: &str, now: Instant) -> String {
        let offer = SdpOffer::from_sdp_string(offer).unwrap();
        let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
        self.drain(now);
        answer.to_sdp_string()
    }

    /// The browser's own audio direction now.
    pub fn direction(&self) -> Direction {
        self.rtc.media(self.mid).unwrap().direction()
    }

    pub fn receive(&mut self, from: SocketAddr, data: &[u8], now: Instant) {
        let r = Receive::new(Protocol::Udp, from, self.addr, data).unwrap();
        self.rtc.handle_input(Input::Receive(now, r)).unwrap();
        self.drain(now);
    }

    pub fn tick(&mut self, now: Instant) {
        self.rtc.handle_input(Input::Timeout(now)).unwrap();
        self.drain(now);
    }

    fn drain(&mut self, now: Instant) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    self.timeout = t.max(now);
                    return;
                }
                Output::Transmit(t) => {
                    self.outbox
                        .push((t.source, t.destination, t.contents.to_vec()));
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::RtpPacket(p)) => self.received.push(Received {
                    pt: *p.header.payload_type,
                    seq: p.header.sequence_number,
                    timestamp: p.header.timestamp,
                    marker: p.header.marker,
                    ssrc: *p.header.ssrc,
                    payload: p.payload.to_vec(),
                }),
                Output::Event(_) => {}
            }
        }
    }

    /// The browser's payload type for `codec`.
    pub fn pt(&self, codec: StrCodec) -> u8 {
        *self
            .rtc
            .codec_config()
            .params()
            .iter()
            .find(|p| p.spec().codec == codec)
            .unwrap()
            .pt()
    }

    /// Sends a 20 ms audio packet.
    pub fn send(&mut self, pt: u8, timestamp: u32, payload: &[u8], now: Instant) {
        self.seq += 1;
        let mut api = self.rtc.direct_api();
        let stream = api.stream_tx_by_mid(self.mid, None).unwrap();
        stream.write_rtp(RtpWrite::new(
            pt.into(),
            SeqNo::from(self.seq),
            timestamp,
            now,
            payload.to_vec(),
        ));
        self.drain(now);
    }
}

/// A 20 ms G.711 payload that tells packets apart.
pub fn payload(n: u32) -> Vec<u8> {
    (0..160u32)
        .map(|i| (n.wrapping_mul(31) ^ i) as u8)
        .collect()
}

/// The longest the virtual clock jumps at once.
pub const STEP: Duration = Duration::from_millis(5);
