//! A browser-like str0m offerer (full ICE, DTLS client) against the gateway's ICE-lite
//! `WebRtcLeg`, on virtual time.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use centrala_media::{Codec, LegEvent, LegOutput, RtpHeader, WebRtcConfig, WebRtcLeg};
use common::{Browser, STEP, payload};
use str0m::format::Codec as StrCodec;

fn gateway_addr() -> SocketAddr {
    "203.0.113.5:40000".parse().unwrap()
}

struct Pair {
    now: Instant,
    browser: Browser,
    leg: WebRtcLeg,
    leg_timeout: Instant,
    leg_events: Vec<LegEvent>,
}

impl Pair {
    /// The gateway offers (a phone calls a browser) and the browser answers.
    fn offering(codecs: Vec<Codec>) -> (Pair, String) {
        let now = Instant::now();
        let mut leg = WebRtcLeg::new(
            WebRtcConfig {
                local: gateway_addr(),
                codecs,
            },
            now,
        )
        .unwrap();
        let offer = leg.create_offer().unwrap();
        let (browser, answer) = Browser::answering(&offer, now);
        leg.accept_answer(&answer).unwrap();
        let mut pair = Pair {
            now,
            browser,
            leg,
            leg_timeout: now,
            leg_events: Vec::new(),
        };
        pair.drain_leg();
        (pair, offer)
    }

    fn new(codecs: Vec<Codec>) -> (Pair, String) {
        let now = Instant::now();
        let (mut browser, offer) = Browser::new(now);
        let mut leg = WebRtcLeg::new(
            WebRtcConfig {
                local: gateway_addr(),
                codecs,
            },
            now,
        )
        .unwrap();
        let answer = leg.accept_offer(&offer, now).unwrap();
        browser.accept_answer(&answer, now);
        let mut pair = Pair {
            now,
            browser,
            leg,
            leg_timeout: now,
            leg_events: Vec::new(),
        };
        pair.drain_leg();
        (pair, answer)
    }

    fn drain_leg(&mut self) {
        loop {
            match self.leg.poll_output().unwrap() {
                LegOutput::Timeout(t) => {
                    self.leg_timeout = t;
                    break;
                }
                LegOutput::Transmit(t) => {
                    assert_eq!(t.from, gateway_addr());
                    assert_eq!(t.to, self.browser.addr);
                    self.browser.receive(t.from, &t.payload, self.now);
                }
                LegOutput::Event(e) => self.leg_events.push(e),
            }
        }
    }

    /// Delivers what the browser sent, then advances to the next deadline (at most STEP).
    fn step(&mut self) {
        loop {
            let out = std::mem::take(&mut self.browser.outbox);
            if out.is_empty() {
                break;
            }
            for (from, to, data) in out {
                assert_eq!(to, gateway_addr());
                self.leg.handle_input(&data, from, to, self.now).unwrap();
                self.drain_leg();
            }
        }
        let next = self
            .leg_timeout
            .min(self.browser.timeout)
            .min(self.now + STEP)
            .max(self.now);
        self.now = next;
        if self.leg_timeout <= self.now {
            self.leg.handle_timeout(self.now).unwrap();
            self.drain_leg();
        }
        if self.browser.timeout <= self.now {
            self.browser.tick(self.now);
        }
    }

    fn connect(&mut self) {
        let start = self.now;
        while !(self.leg.is_connected() && self.browser.connected) {
            self.step();
            assert!(self.now - start < Duration::from_secs(10), "no connection");
        }
    }
}

#[test]
fn browser_offer_gets_an_ice_lite_answer_with_g711() {
    let (_pair, answer) = Pair::new(vec![Codec::Pcmu, Codec::Pcma, Codec::Opus]);
    assert!(answer.contains("a=ice-lite"), "{answer}");
    // The gateway is the DTLS server; the browser (actpass in its offer) the client.
    assert!(answer.contains("a=setup:passive"), "{answer}");
    assert!(answer.contains("203.0.113.5 40000 typ host"), "{answer}");
    assert!(answer.contains("PCMU/8000"), "{answer}");
    assert!(answer.contains("PCMA/8000"), "{answer}");
    // One header extension, the mid: no audio level, send time or congestion feedback to
    // compute for a relayed leg.
    let extmaps: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=extmap:"))
        .collect();
    assert_eq!(
        extmaps,
        ["a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid"],
        "{answer}"
    );
    assert!(!answer.contains("transport-wide-cc"), "{answer}");
}

#[test]
fn a_pcmu_only_leg_answers_only_pcmu() {
    let (pair, answer) = Pair::new(vec![Codec::Pcmu]);
    assert!(answer.contains("PCMU/8000"), "{answer}");
    assert!(!answer.contains("opus"), "{answer}");
    assert!(!answer.contains("PCMA"), "{answer}");
    let codecs: Vec<_> = pair
        .leg
        .formats()
        .0
        .iter()
        .map(|f| f.codec.clone())
        .collect();
    assert_eq!(codecs, vec![Codec::Pcmu]);
}

#[test]
fn connects_and_carries_pcmu_both_ways() {
    let (mut pair, _) = Pair::new(vec![Codec::Pcmu, Codec::Pcma]);
    pair.connect();
    assert!(pair.leg_events.contains(&LegEvent::Connected));
    let pcmu = pair.browser.pt(StrCodec::PCMU);
    assert_eq!(pcmu, 0);

    // Browser → gateway.
    for n in 0..10u32 {
        let now = pair.now;
        pair.browser.send(pcmu, 8000 + n * 160, &payload(n), now);
        for _ in 0..4 {
            pair.step();
        }
    }
    let got: Vec<_> = pair
        .leg_events
        .iter()
        .filter_map(|e| match e {
            LegEvent::Rtp(f) => Some(f.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 10);
    for (n, f) in got.iter().enumerate() {
        assert_eq!(f.header.pt, 0);
        assert_eq!(f.header.timestamp, 8000 + n as u32 * 160);
        assert_eq!(f.payload, payload(n as u32));
    }
    assert!(
        got.windows(2)
            .all(|w| w[1].header.seq == w[0].header.seq.wrapping_add(1))
    );

    // Gateway → browser, across the sequence number wrap.
    for n in 0..10u32 {
        let header = RtpHeader {
            marker: n == 0,
            pt: 0,
            seq: 65530u16.wrapping_add(n as u16),
            timestamp: 1_000 + n * 160,
            ssrc: 0,
        };
        let now = pair.now;
        pair.leg.send_rtp(header, &payload(100 + n), now).unwrap();
        pair.drain_leg();
        for _ in 0..4 {
            pair.step();
        }
    }
    let rx = &pair.browser.received;
    assert_eq!(rx.len(), 10, "{rx:?}");
    for (n, r) in rx.iter().enumerate() {
        assert_eq!(r.pt, 0);
        assert_eq!(r.seq, 65530u16.wrapping_add(n as u16));
        assert_eq!(r.timestamp, 1_000 + n as u32 * 160);
        assert_eq!(r.payload, payload(100 + n as u32));
    }
    assert!(rx[0].marker);
}

#[test]
fn hostile_datagrams_are_refused_without_panic() {
    let (mut pair, _) = Pair::new(vec![Codec::Pcmu]);
    pair.connect();
    let from = pair.browser.addr;
    let to = gateway_addr();
    let now = pair.now;
    let mut state: u32 = 12345;
    for len in [0usize, 1, 2, 11, 12, 13, 20, 21, 100, 1500] {
        for first in [0u8, 1, 20, 22, 63, 128, 0x80, 0xff] {
            let mut data: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (state >> 16) as u8
                })
                .collect();
            if let Some(b) = data.first_mut() {
                *b = first;
            }
            let _ = pair.leg.handle_input(&data, from, to, now);
            pair.drain_leg();
        }
    }
    // The call still works.
    let now = pair.now;
    pair.browser.send(0, 160, &payload(1), now);
    for _ in 0..4 {
        pair.step();
    }
    assert!(
        pair.leg_events
            .iter()
            .any(|e| matches!(e, LegEvent::Rtp(_)))
    );
}

#[test]
fn the_gateway_offers_to_a_browser_and_media_flows() {
    // A desk phone offered PCMA then PCMU: the browser is offered those alone.
    let (mut pair, offer) = Pair::offering(vec![Codec::Pcma, Codec::Pcmu]);
    assert!(offer.contains("a=ice-lite"), "{offer}");
    assert!(!offer.contains("opus"), "{offer}");
    pair.connect();
    let pcma = pair.browser.pt(StrCodec::PCMA);
    assert_eq!(
        pair.leg.formats().by_pt(pcma).map(|f| f.codec.clone()),
        Some(Codec::Pcma)
    );
    let now = pair.now;
    pair.browser.send(pcma, 320, &payload(3), now);
    for _ in 0..4 {
        pair.step();
    }
    let header = RtpHeader {
        marker: true,
        pt: pcma,
        seq: 1,
        timestamp: 160,
        ssrc: 0,
    };
    let now = pair.now;
    pair.leg.send_rtp(header, &payload(4), now).unwrap();
    pair.drain_leg();
    for _ in 0..4 {
        pair.step();
    }
    assert!(
        pair.leg_events
            .iter()
            .any(|e| matches!(e, LegEvent::Rtp(f) if f.payload == payload(3)))
    );
    assert_eq!(pair.browser.received.len(), 1);
    assert_eq!(pair.browser.received[0].payload, payload(4));
}

#[test]
fn refuses_what_it_cannot_carry() {
    let now = Instant::now();
    // A browser that offers only Opus to a leg bridged to a G.711 phone.
    let opus_only = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\n\
        a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
        a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n";
    let config = WebRtcConfig {
        local: gateway_addr(),
        codecs: vec![Codec::Pcmu],
    };
    let mut leg = WebRtcLeg::new(config.clone(), now).unwrap();
    let err = leg.accept_offer(opus_only, now).unwrap_err();
    assert!(err.to_string().contains("no common codec"), "{err}");
    let mut leg = WebRtcLeg::new(config.clone(), now).unwrap();
    assert!(leg.accept_offer("not sdp", now).is_err());
    let no_audio = opus_only.replace("m=audio", "m=video");
    assert!(leg.accept_offer(&no_audio, now).is_err());
    assert!(
        leg.send_rtp(
            RtpHeader {
                marker: false,
                pt: 0,
                seq: 1,
                timestamp: 0,
                ssrc: 0
            },
            &[0; 160],
            now
        )
        .is_err()
    );
    let g729 = WebRtcConfig {
        codecs: vec![Codec::Other("G729".into())],
        ..config
    };
    assert!(WebRtcLeg::new(g729, now).is_err());
}
