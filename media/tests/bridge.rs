//! Bridges on virtual time: a browser-like str0m peer on a WebRTC leg and a fake desk phone
//! (RTP packets written by hand, as UDP datagrams) on an RTP leg; and two phones.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use centrala_media::rtp::{TelephoneEvent, parse_rtp, write_rtp};
use centrala_media::sdp::{self, Origin, Side};
use centrala_media::{
    Bridge, BridgeConfig, BridgeEvent, BridgeOutput, DtmfEvent, EndReason, Leg, LegId, RtpHeader,
    RtpLeg, RtpLegConfig, WebRtcConfig, WebRtcLeg,
};
use common::{Browser, STEP, payload};

const ORIGIN: Origin = Origin {
    session_id: 7,
    version: 1,
};

fn gw_webrtc() -> SocketAddr {
    "203.0.113.5:40000".parse().unwrap()
}
fn gw_rtp() -> SocketAddr {
    "203.0.113.5:40002".parse().unwrap()
}
/// What the phone's SDP says.
fn phone_sdp_addr() -> SocketAddr {
    "192.168.1.20:5004".parse().unwrap()
}
/// Where the phone's packets really come from (its NAT).
fn phone_nat() -> SocketAddr {
    "198.51.100.7:31000".parse().unwrap()
}

const PHONE_ANSWER: &str = "v=0\r\no=phone 1 1 IN IP4 192.168.1.20\r\ns=-\r\n\
    c=IN IP4 192.168.1.20\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0 101\r\n\
    a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n";

/// A received RTP packet, parsed.
#[derive(Debug, Clone)]
struct Pkt {
    header: RtpHeader,
    payload: Vec<u8>,
}

/// A browser calls a desk phone through the gateway.
struct Call {
    now: Instant,
    browser: Browser,
    bridge: Bridge,
    /// Datagrams the gateway sent to the phone.
    to_phone: Vec<(SocketAddr, Pkt)>,
    events: Vec<(Instant, BridgeEvent)>,
    phone_seq: u16,
    phone_ts: u32,
}

impl Call {
    fn new(config: BridgeConfig) -> Call {
        Call::with_browser(config, true)
    }

    /// `g711: false`: the browser offers Opus alone (the bridge transcodes).
    fn with_browser(config: BridgeConfig, g711: bool) -> Call {
        let now = Instant::now();
        let (mut browser, offer) = Browser::offering(now, g711);
        // Browser → phone: the phone gets a plain RTP offer from our RTP port...
        let phone_offer = sdp::offer_for_phone(&offer, gw_rtp(), ORIGIN).unwrap();
        assert!(
            phone_offer.contains("m=audio 40002 RTP/AVP 0 8 101"),
            "{phone_offer}"
        );
        // ... answers PCMU, and the browser gets the WebRTC leg's answer with PCMU only.
        let (stream, codec) = sdp::answer_from_phone(PHONE_ANSWER).unwrap();
        let codec = sdp::browser_codec(&offer, &codec).unwrap();
        let mut webrtc = WebRtcLeg::new(
            WebRtcConfig {
                local: gw_webrtc(),
                codecs: vec![codec],
            },
            now,
        )
        .unwrap();
        let answer = webrtc.accept_offer(&offer, now).unwrap();
        browser.accept_answer(&answer, now);
        let mut rtp = RtpLeg::new(
            RtpLegConfig {
                local: gw_rtp(),
                ssrc: 0x5eed,
            },
            now,
        );
        rtp.set_remote(stream.addr, stream.formats);
        let bridge = Bridge::new(Leg::WebRtc(Box::new(webrtc)), Leg::Rtp(rtp), config, now);
        let mut call = Call {
            now,
            browser,
            bridge,
            to_phone: Vec::new(),
            events: Vec::new(),
            phone_seq: 40_000,
            phone_ts: 1_234_567,
        };
        call.drain();
        call
    }

    /// A desk phone calls a browser: the gateway offers the browser the phone's G.711
    /// codecs and answers the phone with the browser's choice.
    fn phone_calls_browser(phone_offer: &str) -> (Call, String) {
        let now = Instant::now();
        let (stream, codecs) = sdp::phone_offer(phone_offer).unwrap();
        let mut webrtc = WebRtcLeg::new(
            WebRtcConfig {
                local: gw_webrtc(),
                codecs,
            },
            now,
        )
        .unwrap();
        let offer = webrtc.create_offer().unwrap();
        let (browser, browser_answer) = Browser::answering(&offer, now);
        webrtc.accept_answer(&browser_answer).unwrap();
        let chosen = webrtc.formats().0[0].codec.clone();
        let answer = sdp::answer_for_phone(phone_offer, &chosen, gw_rtp(), ORIGIN).unwrap();
        let ours = sdp::audio_stream(&answer, Side::Phone).unwrap();
        let mut rtp = RtpLeg::new(
            RtpLegConfig {
                local: gw_rtp(),
                ssrc: 0x5eed,
            },
            now,
        );
        rtp.set_remote(stream.addr, ours.formats);
        let bridge = Bridge::new(
            Leg::WebRtc(Box::new(webrtc)),
            Leg::Rtp(rtp),
            BridgeConfig::default(),
            now,
        );
        let mut call = Call {
            now,
            browser,
            bridge,
            to_phone: Vec::new(),
            events: Vec::new(),
            phone_seq: 100,
            phone_ts: 0,
        };
        call.drain();
        (call, answer)
    }

    fn drain(&mut self) {
        while let Some(out) = self.bridge.poll_output() {
            match out {
                BridgeOutput::Transmit(LegId::A, t) => {
                    assert_eq!((t.from, t.to), (gw_webrtc(), self.browser.addr));
                    self.browser.receive(t.from, &t.payload, self.now);
                }
                BridgeOutput::Transmit(LegId::B, t) => {
                    assert_eq!(t.from, gw_rtp());
                    let p = parse_rtp(&t.payload).unwrap();
                    self.to_phone.push((
                        t.to,
                        Pkt {
                            header: p.header,
                            payload: p.payload.to_vec(),
                        },
                    ));
                }
                BridgeOutput::Event(e) => self.events.push((self.now, e)),
            }
        }
    }

    /// Delivers the browser's datagrams, then moves the clock to the next deadline.
    fn step(&mut self) {
        loop {
            let out = std::mem::take(&mut self.browser.outbox);
            if out.is_empty() {
                break;
            }
            for (from, to, data) in out {
                let _ = self
                    .bridge
                    .handle_input(LegId::A, &data, from, to, self.now);
                self.drain();
            }
        }
        let mut next = (self.now + STEP).min(self.browser.timeout);
        if let Some(t) = self.bridge.poll_timeout() {
            next = next.min(t);
        }
        self.now = next.max(self.now);
        if self.bridge.poll_timeout().is_some_and(|t| t <= self.now) {
            self.bridge.handle_timeout(self.now);
            self.drain();
        }
        if self.browser.timeout <= self.now {
            self.browser.tick(self.now);
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step();
        }
    }

    fn connect(&mut self) {
        let start = self.now;
        while !self.browser.connected
            || !self
                .events
                .iter()
                .any(|(_, e)| *e == BridgeEvent::Connected(LegId::A))
        {
            self.step();
            assert!(self.now - start < Duration::from_secs(10), "no connection");
        }
    }

    /// The phone sends one packet from its NAT address.
    fn phone_sends(&mut self, pt: u8, marker: bool, timestamp: u32, payload: &[u8]) {
        self.phone_seq = self.phone_seq.wrapping_add(1);
        let h = RtpHeader {
            marker,
            pt,
            seq: self.phone_seq,
            timestamp,
            ssrc: 0xfeed,
        };
        let mut d = Vec::new();
        write_rtp(&h, payload, &mut d);
        let result = self
            .bridge
            .handle_input(LegId::B, &d, phone_nat(), gw_rtp(), self.now);
        assert!(result.is_ok() || self.bridge.is_ended(), "{result:?}");
        self.drain();
    }

    /// 20 ms of phone audio: a packet, then 20 ms of virtual time.
    fn phone_talks(&mut self, n: u32) {
        self.phone_ts = self.phone_ts.wrapping_add(160);
        let ts = self.phone_ts;
        self.phone_sends(0, false, ts, &payload(n));
        self.run_for(Duration::from_millis(20));
    }

    fn browser_talks(&mut self, n: u32, ts: u32) {
        self.browser_talks_pt(0, n, ts);
    }

    fn browser_talks_pt(&mut self, pt: u8, n: u32, ts: u32) {
        let now = self.now;
        self.browser.send(pt, ts, &payload(n), now);
        self.run_for(Duration::from_millis(20));
    }

    fn ended(&self) -> Option<(Instant, EndReason)> {
        self.events.iter().find_map(|(t, e)| match e {
            BridgeEvent::Ended { reason } => Some((*t, reason.clone())),
            _ => None,
        })
    }
}

fn consecutive(pkts: &[Pkt], ts_step: u32) {
    for w in pkts.windows(2) {
        assert_eq!(w[1].header.seq, w[0].header.seq.wrapping_add(1), "{pkts:?}");
        assert_eq!(
            w[1].header.timestamp,
            w[0].header.timestamp.wrapping_add(ts_step)
        );
    }
}

#[test]
fn relays_g711_both_ways_unchanged_with_consistent_numbering() {
    let mut call = Call::new(BridgeConfig::default());
    call.connect();

    // Before the phone has sent anything, its audio goes where its SDP says.
    call.browser_talks(98, 4_680);
    call.browser_talks(99, 4_840);
    assert_eq!(call.to_phone.len(), 2);
    assert!(call.to_phone.iter().all(|(to, _)| *to == phone_sdp_addr()));
    call.to_phone.clear();

    // Phone → browser: payload as sent, PCMU, numbered on from the phone's own.
    for n in 0..20 {
        call.phone_talks(n);
    }
    let rx = call.browser.received.clone();
    assert_eq!(rx.len(), 20, "{rx:?}");
    for (n, r) in rx.iter().enumerate() {
        assert_eq!(r.pt, 0);
        assert_eq!(r.payload, payload(n as u32));
    }
    assert!(
        rx[0].marker,
        "the first packet of a source starts a talkspurt"
    );
    let pkts: Vec<Pkt> = rx
        .iter()
        .map(|r| Pkt {
            header: RtpHeader {
                marker: r.marker,
                pt: r.pt,
                seq: r.seq,
                timestamp: r.timestamp,
                ssrc: r.ssrc,
            },
            payload: r.payload.clone(),
        })
        .collect();
    consecutive(&pkts, 160);
    assert!(rx.iter().all(|r| r.ssrc == rx[0].ssrc && r.ssrc != 0xfeed));

    // Browser → phone: to the address the phone really sends from (symmetric RTP), with
    // the gateway's SSRC.
    for n in 0..20 {
        call.browser_talks(100 + n, 5_000 + n * 160);
    }
    let sent: Vec<Pkt> = call.to_phone.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(sent.len(), 20);
    assert!(call.to_phone.iter().all(|(to, _)| *to == phone_nat()));
    for (n, p) in sent.iter().enumerate() {
        assert_eq!(p.header.pt, 0);
        assert_eq!(p.header.ssrc, 0x5eed);
        assert_eq!(p.payload, payload(100 + n as u32));
    }
    consecutive(&sent, 160);
    let (relayed, _) = call.bridge.counters();
    assert_eq!(relayed, 42);

    // A new source on the phone side (it restarted its stream) continues the numbering.
    let last = call.browser.received.last().unwrap().clone();
    let now = call.now;
    let h = RtpHeader {
        marker: false,
        pt: 0,
        seq: 7,
        timestamp: 99,
        ssrc: 0xbeef,
    };
    let mut d = Vec::new();
    write_rtp(&h, &payload(500), &mut d);
    call.bridge
        .handle_input(LegId::B, &d, phone_nat(), gw_rtp(), now)
        .unwrap();
    call.drain();
    call.run_for(Duration::from_millis(20));
    let next = call.browser.received.last().unwrap();
    assert_eq!(next.seq, last.seq.wrapping_add(1));
    assert!(next.marker);
    assert!(next.timestamp.wrapping_sub(last.timestamp) >= 160);
    assert_eq!(next.payload, payload(500));
}

#[test]
fn dtmf_crosses_both_ways() {
    let mut call = Call::new(BridgeConfig::default());
    call.connect();
    call.phone_talks(0);

    // Phone → gateway: an RFC 4733 key '7', its end sent three times, is reported once.
    let ts = call.phone_ts.wrapping_add(160);
    for (i, (end, d)) in [
        (false, 160),
        (false, 320),
        (true, 640),
        (true, 640),
        (true, 640),
    ]
    .into_iter()
    .enumerate()
    {
        let ev = TelephoneEvent {
            event: 7,
            end,
            volume: 10,
            duration: d,
        };
        call.phone_sends(101, i == 0, ts, &ev.to_bytes());
        call.run_for(Duration::from_millis(20));
    }
    let keys: Vec<_> = call
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            BridgeEvent::Dtmf { from, event } => Some((*from, *event)),
            _ => None,
        })
        .collect();
    assert_eq!(
        keys,
        vec![(
            LegId::B,
            DtmfEvent {
                digit: '7',
                duration: 640
            }
        )]
    );

    // Browser → phone (its SIP INFO key, handed to the bridge): RFC 4733 packets.
    for n in 0..3 {
        call.browser_talks(n, 10_000 + n * 160);
    }
    let before = call.to_phone.len();
    let now = call.now;
    call.bridge
        .send_dtmf(LegId::B, '#', Duration::from_millis(100), now)
        .unwrap();
    call.drain();
    // The browser goes on talking while the key is sent: its audio is dropped while
    // the key plays, and numbering runs on without a gap after it.
    for n in 3..15 {
        call.browser_talks(n, 10_000 + n * 160);
    }
    let sent: Vec<Pkt> = call.to_phone[before - 1..]
        .iter()
        .map(|(_, p)| p.clone())
        .collect();
    let events: Vec<(TelephoneEvent, &Pkt)> = sent
        .iter()
        .filter(|p| p.header.pt == 101)
        .map(|p| (TelephoneEvent::parse(&p.payload).unwrap(), p))
        .collect();
    assert!(events.len() >= 5, "{sent:?}");
    assert!(events[0].1.header.marker);
    assert!(events.iter().all(|(e, _)| e.event == 11));
    assert!(
        events
            .iter()
            .all(|(_, p)| p.header.timestamp == events[0].1.header.timestamp)
    );
    let ends: Vec<_> = events.iter().filter(|(e, _)| e.end).collect();
    assert_eq!(ends.len(), 3);
    assert!(ends.iter().all(|(e, _)| e.duration == 800));
    // Sequence numbers run on through audio, key, audio with no repeat or gap.
    for w in sent.windows(2) {
        assert_eq!(w[1].header.seq, w[0].header.seq.wrapping_add(1), "{sent:?}");
    }
    assert_eq!(sent.last().unwrap().header.pt, 0);
    assert_eq!(sent.last().unwrap().payload, payload(14));
    let after_key = sent
        .iter()
        .position(|p| p.header.pt == 0 && p.header.seq > ends[2].1.header.seq);
    assert!(
        sent[after_key.unwrap()].header.marker,
        "audio after a key starts a talkspurt"
    );

    // The browser leg has no telephone-event (str0m 0.23): keys towards it are refused.
    assert!(
        call.bridge
            .send_dtmf(LegId::A, '1', Duration::from_millis(100), call.now)
            .is_err()
    );
}

#[test]
fn a_silent_phone_ends_the_bridge_and_a_talking_one_does_not() {
    let timeout = Duration::from_secs(3);
    let config = BridgeConfig {
        media_timeout: timeout,
    };
    assert_eq!(
        BridgeConfig::default().media_timeout,
        Duration::from_secs(30)
    );

    // Both talk for longer than the timeout: the call goes on.
    let mut call = Call::new(config.clone());
    call.connect();
    for n in 0..250 {
        call.phone_ts = call.phone_ts.wrapping_add(160);
        let ts = call.phone_ts;
        call.phone_sends(0, false, ts, &payload(n));
        call.browser_talks(n, n * 160);
    }
    assert!(call.now - call.events[0].0 > timeout);
    assert!(call.ended().is_none(), "{:?}", call.ended());
    assert!(!call.bridge.is_ended());

    // Then the phone falls silent: the bridge ends once, within a step of the timeout.
    let silent_from = call.now;
    for n in 0..250 {
        call.browser_talks(n, n * 160);
    }
    let (at, reason) = call.ended().expect("ended");
    assert!(
        matches!(reason, EndReason::MediaTimeout { leg: LegId::B, silent_for } if silent_for >= timeout)
    );
    assert!(at - silent_from >= timeout - Duration::from_millis(20));
    assert!(at - silent_from <= timeout + Duration::from_millis(20));
    assert_eq!(
        call.events
            .iter()
            .filter(|(_, e)| matches!(e, BridgeEvent::Ended { .. }))
            .count(),
        1
    );
    assert!(call.bridge.poll_timeout().is_none());
}

#[test]
fn a_silent_browser_ends_the_bridge() {
    let config = BridgeConfig {
        media_timeout: Duration::from_secs(2),
    };
    let mut call = Call::new(config);
    call.connect();
    for n in 0..150 {
        call.phone_talks(n);
    }
    let (_, reason) = call.ended().expect("ended");
    assert!(matches!(
        reason,
        EndReason::MediaTimeout { leg: LegId::A, .. }
    ));
}

/// Two desk phones relayed (RTP ↔ RTP): telephone-event crosses with its payload type
/// mapped, audio unchanged.
#[test]
fn phone_to_phone_relays_audio_and_dtmf() {
    let now = Instant::now();
    let a_addr: SocketAddr = "192.168.1.20:5004".parse().unwrap();
    let b_addr: SocketAddr = "192.168.1.30:6000".parse().unwrap();
    let gw_a: SocketAddr = "203.0.113.5:40004".parse().unwrap();
    let gw_b: SocketAddr = "203.0.113.5:40006".parse().unwrap();
    let offer_a = "v=0\r\no=a 1 1 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 192.168.1.20\r\n\
        t=0 0\r\nm=audio 5004 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\n";
    let to_b = sdp::relay(offer_a, Side::Phone, gw_b, ORIGIN).unwrap();
    let answer_b = "v=0\r\no=b 1 1 IN IP4 192.168.1.30\r\ns=-\r\nc=IN IP4 192.168.1.30\r\n\
        t=0 0\r\nm=audio 6000 RTP/AVP 8 96\r\na=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:96 telephone-event/8000\r\n";
    assert!(to_b.contains("m=audio 40006 RTP/AVP 8 0 101"), "{to_b}");
    let to_a = sdp::relay(answer_b, Side::Phone, gw_a, ORIGIN).unwrap();
    assert!(to_a.contains("c=IN IP4 203.0.113.5"), "{to_a}");

    let a_stream = sdp::audio_stream(offer_a, Side::Phone).unwrap();
    let b_stream = sdp::audio_stream(answer_b, Side::Phone).unwrap();
    let mut leg_a = RtpLeg::new(
        RtpLegConfig {
            local: gw_a,
            ssrc: 1,
        },
        now,
    );
    leg_a.set_remote(a_stream.addr, a_stream.formats);
    let mut leg_b = RtpLeg::new(
        RtpLegConfig {
            local: gw_b,
            ssrc: 2,
        },
        now,
    );
    leg_b.set_remote(b_stream.addr, b_stream.formats);
    let mut bridge = Bridge::new(
        Leg::Rtp(leg_a),
        Leg::Rtp(leg_b),
        BridgeConfig::default(),
        now,
    );

    let send = |bridge: &mut Bridge, seq: u16, pt: u8, payload: &[u8]| {
        let h = RtpHeader {
            marker: false,
            pt,
            seq,
            timestamp: u32::from(seq) * 160,
            ssrc: 77,
        };
        let mut d = Vec::new();
        write_rtp(&h, payload, &mut d);
        bridge
            .handle_input(LegId::A, &d, a_addr, gw_a, now)
            .unwrap();
    };
    send(&mut bridge, 1, 8, &payload(1));
    let ev = TelephoneEvent {
        event: 3,
        end: true,
        volume: 10,
        duration: 400,
    };
    send(&mut bridge, 2, 101, &ev.to_bytes());
    let mut out = Vec::new();
    let mut keys = Vec::new();
    while let Some(o) = bridge.poll_output() {
        match o {
            BridgeOutput::Transmit(LegId::B, t) => {
                assert_eq!((t.from, t.to), (gw_b, b_addr));
                let p = parse_rtp(&t.payload).unwrap();
                out.push((p.header, p.payload.to_vec()));
            }
            BridgeOutput::Event(BridgeEvent::Dtmf { from, event }) => {
                keys.push((from, event.digit))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(keys, vec![(LegId::A, '3')]);
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].0.pt, out[0].1.clone()), (8, payload(1)));
    assert_eq!(
        (out[1].0.pt, out[1].1.clone()),
        (96, ev.to_bytes().to_vec())
    );
    assert_eq!(out[1].0.seq, out[0].0.seq.wrapping_add(1));
    assert_eq!(out[0].0.ssrc, 2);
    // Codecs the other phone did not take are dropped, not relayed.
    send(&mut bridge, 3, 0, &payload(3));
    assert!(bridge.poll_output().is_none());
    // Hostile bytes on a media port: refused, no panic, no output.
    for junk in [&[][..], &[0x80], &[0x80, 0, 0], &[0xff; 40], &[0x90; 13]] {
        assert!(
            bridge
                .handle_input(LegId::A, junk, a_addr, gw_a, now)
                .is_err()
        );
    }
    assert!(bridge.poll_output().is_none());
}

/// Keys sent towards a phone one after another: each its own event (a new timestamp,
/// the marker on its first packet), with a pause between them.
#[test]
fn queued_keys_are_sent_one_after_another() {
    let start = Instant::now();
    let phone: SocketAddr = "192.168.1.30:6000".parse().unwrap();
    let formats = centrala_media::Formats(vec![
        centrala_media::PayloadFormat::pcmu(),
        centrala_media::PayloadFormat::telephone_event(101),
    ]);
    let mut a = RtpLeg::new(
        RtpLegConfig {
            local: gw_rtp(),
            ssrc: 1,
        },
        start,
    );
    a.set_remote(phone_sdp_addr(), formats.clone());
    let mut b = RtpLeg::new(
        RtpLegConfig {
            local: "203.0.113.5:40004".parse().unwrap(),
            ssrc: 2,
        },
        start,
    );
    b.set_remote(phone, formats);
    let mut bridge = Bridge::new(Leg::Rtp(a), Leg::Rtp(b), BridgeConfig::default(), start);
    for key in ['1', '2', 'D'] {
        bridge
            .send_dtmf(LegId::B, key, Duration::from_millis(60), start)
            .unwrap();
    }
    assert!(
        bridge
            .send_dtmf(LegId::B, 'x', Duration::from_millis(60), start)
            .is_err()
    );
    let mut now = start;
    let mut sent = Vec::new();
    while now - start < Duration::from_secs(1) {
        while let Some(o) = bridge.poll_output() {
            if let BridgeOutput::Transmit(LegId::B, t) = o {
                let p = parse_rtp(&t.payload).unwrap();
                let ev = TelephoneEvent::parse(p.payload).unwrap();
                sent.push((now - start, p.header, ev));
            }
        }
        now = bridge
            .poll_timeout()
            .unwrap()
            .min(now + Duration::from_millis(100));
        bridge.handle_timeout(now);
    }
    let starts: Vec<_> = sent.iter().filter(|(_, h, _)| h.marker).collect();
    assert_eq!(starts.len(), 3, "{sent:?}");
    let digits: Vec<u8> = starts.iter().map(|(_, _, e)| e.event).collect();
    assert_eq!(digits, vec![1, 2, 15]);
    assert!(
        starts
            .windows(2)
            .all(|w| w[1].1.timestamp != w[0].1.timestamp)
    );
    // Each key: 60 ms = updates at 0, 20, 40 ms (the last is the end), the end three times.
    assert_eq!(sent.len(), 3 * 5, "{sent:?}");
    assert!(
        sent.windows(2)
            .all(|w| w[1].1.seq == w[0].1.seq.wrapping_add(1))
    );
    // 40 ms of pause after a key's last end packet.
    assert_eq!(starts[1].0 - sent[4].0, Duration::from_millis(40));
}

/// The default timeout, on virtual time: of two phones, the silent one ends the bridge
/// 30 s after it was last heard, while the other talks on.
#[test]
fn default_media_timeout_is_30_seconds_of_silence() {
    let start = Instant::now();
    let formats = centrala_media::Formats(vec![centrala_media::PayloadFormat::pcmu()]);
    let a_addr: SocketAddr = "192.168.1.20:5004".parse().unwrap();
    let gw_a: SocketAddr = "203.0.113.5:40004".parse().unwrap();
    let mut a = RtpLeg::new(
        RtpLegConfig {
            local: gw_a,
            ssrc: 1,
        },
        start,
    );
    a.set_remote(a_addr, formats.clone());
    let mut b = RtpLeg::new(
        RtpLegConfig {
            local: "203.0.113.5:40006".parse().unwrap(),
            ssrc: 2,
        },
        start,
    );
    b.set_remote("192.168.1.30:6000".parse().unwrap(), formats);
    let mut bridge = Bridge::new(Leg::Rtp(a), Leg::Rtp(b), BridgeConfig::default(), start);
    let mut now = start;
    let mut seq = 0u16;
    let ended = loop {
        // A talks every 20 ms; B never does.
        seq = seq.wrapping_add(1);
        let h = RtpHeader {
            marker: false,
            pt: 0,
            seq,
            timestamp: u32::from(seq) * 160,
            ssrc: 5,
        };
        let mut d = Vec::new();
        write_rtp(&h, &payload(u32::from(seq)), &mut d);
        let _ = bridge.handle_input(LegId::A, &d, a_addr, gw_a, now);
        let next = now + Duration::from_millis(20);
        if let Some(t) = bridge.poll_timeout().filter(|t| *t <= next) {
            bridge.handle_timeout(t);
        }
        now = next;
        let ended = std::iter::from_fn(|| bridge.poll_output()).find_map(|o| match o {
            BridgeOutput::Event(BridgeEvent::Ended { reason }) => Some(reason),
            _ => None,
        });
        if let Some(reason) = ended {
            break (now, reason);
        }
        assert!(now - start < Duration::from_secs(40), "never ended");
    };
    assert_eq!(
        ended.1,
        EndReason::MediaTimeout {
            leg: LegId::B,
            silent_for: Duration::from_secs(30)
        }
    );
    assert!(ended.0 - start <= Duration::from_secs(30) + Duration::from_millis(20));
    assert!(bridge.is_ended());
    assert_eq!(
        bridge.handle_input(LegId::A, &[0x80; 20], a_addr, gw_a, now),
        Err(centrala_media::MediaError::Ended)
    );
}

/// A desk phone (PCMA first, telephone-event on 96) calls a browser: PCMA both ways on each
/// side's payload types, and the phone's keys reported.
#[test]
fn a_phone_calls_a_browser() {
    let phone_offer = "v=0\r\no=phone 1 1 IN IP4 192.168.1.20\r\ns=-\r\n\
        c=IN IP4 192.168.1.20\r\nt=0 0\r\nm=audio 5004 RTP/AVP 8 0 18 96\r\n\
        a=rtpmap:18 G729/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n";
    let (mut call, answer) = Call::phone_calls_browser(phone_offer);
    assert!(
        answer.contains("m=audio 40002 RTP/AVP 8 96\r\n"),
        "{answer}"
    );
    call.connect();

    for n in 0..5u32 {
        call.phone_ts = call.phone_ts.wrapping_add(160);
        let ts = call.phone_ts;
        call.phone_sends(8, n == 0, ts, &payload(n));
        call.run_for(Duration::from_millis(20));
    }
    let rx = &call.browser.received;
    assert_eq!(rx.len(), 5);
    assert!(rx.iter().all(|r| r.pt == 8));
    assert_eq!(rx[4].payload, payload(4));

    for n in 0..5 {
        call.browser_talks_pt(8, n, n * 160);
    }
    assert_eq!(call.to_phone.len(), 5);
    assert!(
        call.to_phone
            .iter()
            .all(|(to, p)| *to == phone_nat() && p.header.pt == 8)
    );

    let ev = TelephoneEvent {
        event: 10,
        end: true,
        volume: 10,
        duration: 400,
    };
    let ts = call.phone_ts.wrapping_add(160);
    call.phone_sends(96, true, ts, &ev.to_bytes());
    assert!(call.events.iter().any(|(_, e)| matches!(
        e,
        BridgeEvent::Dtmf { from: LegId::B, event } if event.digit == '*'
    )));
    // The G729 the phone also offered is not ours to relay.
    let ts = call.phone_ts.wrapping_add(320);
    let mut d = Vec::new();
    write_rtp(
        &RtpHeader {
            marker: false,
            pt: 18,
            seq: 1,
            timestamp: ts,
            ssrc: 0xfeed,
        },
        &[0; 20],
        &mut d,
    );
    let now = call.now;
    assert!(
        call.bridge
            .handle_input(LegId::B, &d, phone_nat(), gw_rtp(), now)
            .is_err()
    );
}

/// Renegotiates the browser's leg with the browser's new offer, as the gateway does for a
/// re-INVITE, and returns the answer.
fn browser_reoffers(call: &mut Call, dir: str0m::media::Direction) -> String {
    let now = call.now;
    let offer = call.browser.reoffer(dir, now);
    let Leg::WebRtc(leg) = call.bridge.leg_mut(LegId::A) else {
        panic!("leg A is the browser")
    };
    let answer = leg.accept_offer(&offer, now).unwrap();
    call.browser.accept_answer(&answer, now);
    call.bridge.renegotiated(now);
    call.drain();
    answer
}

#[test]
fn a_held_call_outlives_the_silence_it_asks_for_and_resumes() {
    use str0m::media::Direction;
    let timeout = Duration::from_secs(10);
    let mut call = Call::new(BridgeConfig {
        media_timeout: timeout,
    });
    call.connect();
    for n in 0..20 {
        call.phone_talks(n);
        call.browser_talks(n, n * 160);
    }
    // The browser holds: sendonly, and then sends no media at all; the gateway answers
    // recvonly and the phone is told to hold too (in the gateway, by SIP).
    let answer = browser_reoffers(&mut call, Direction::SendOnly);
    assert!(answer.contains("a=recvonly"), "{answer}");
    call.bridge.set_held(true, call.now);
    assert!(call.bridge.is_held());
    // Five timeouts of no media from either side: the call goes on (the browser's ICE
    // consent checks show it is still there).
    call.run_for(timeout * 5);
    assert!(call.ended().is_none(), "{:?}", call.ended());

    // Resumed: media flows again both ways, relayed as before.
    let answer = browser_reoffers(&mut call, Direction::SendRecv);
    assert!(answer.contains("a=sendrecv"), "{answer}");
    call.bridge.set_held(false, call.now);
    let (phone_before, browser_before) = (call.to_phone.len(), call.browser.received.len());
    for n in 100..120 {
        call.phone_talks(n);
        call.browser_talks(n, n * 160);
    }
    assert!(
        call.to_phone.len() >= phone_before + 19,
        "the phone hears the browser again"
    );
    assert!(
        call.browser.received.len() >= browser_before + 19,
        "the browser hears the phone again"
    );
    assert!(call.ended().is_none());

    // And the silence clock is back: a phone that stops now ends the call.
    for n in 0..550 {
        call.browser_talks(n, n * 160);
    }
    assert!(matches!(
        call.ended(),
        Some((_, EndReason::MediaTimeout { leg: LegId::B, .. }))
    ));
}

#[test]
fn a_held_browser_that_vanishes_is_still_ended() {
    use str0m::media::Direction;
    let timeout = Duration::from_secs(10);
    let mut call = Call::new(BridgeConfig {
        media_timeout: timeout,
    });
    call.connect();
    browser_reoffers(&mut call, Direction::SendOnly);
    call.bridge.set_held(true, call.now);
    // The browser is gone (tab closed, network lost): nothing from it, not even ICE.
    let gone_at = call.now;
    while call.ended().is_none() && call.now - gone_at < timeout * 5 {
        call.now += Duration::from_millis(100);
        if call.bridge.poll_timeout().is_some_and(|t| t <= call.now) {
            call.bridge.handle_timeout(call.now);
            call.drain();
        }
    }
    let (at, reason) = call.ended().expect("a vanished browser ends the held call");
    assert!(matches!(
        reason,
        EndReason::MediaTimeout { leg: LegId::A, .. }
    ));
    assert!(at - gone_at >= timeout && at - gone_at <= timeout + Duration::from_secs(1));
}

#[test]
fn the_gateway_holds_and_resumes_the_browser_when_the_phone_does() {
    use str0m::media::Direction;
    let mut call = Call::new(BridgeConfig::default());
    call.connect();
    for (hold, want) in [(true, Direction::RecvOnly), (false, Direction::SendRecv)] {
        let Leg::WebRtc(leg) = call.bridge.leg_mut(LegId::A) else {
            panic!()
        };
        let offer = leg.create_reoffer(hold).unwrap();
        assert!(
            offer.contains(if hold { "a=sendonly" } else { "a=sendrecv" }),
            "{offer}"
        );
        let now = call.now;
        let answer = call.browser.answer_reoffer(&offer, now);
        let Leg::WebRtc(leg) = call.bridge.leg_mut(LegId::A) else {
            panic!()
        };
        leg.accept_answer(&answer).unwrap();
        call.bridge.set_held(hold, now);
        call.bridge.renegotiated(now);
        call.drain();
        assert_eq!(call.browser.direction(), want);
        call.run_for(Duration::from_millis(200));
    }
    // A refused re-offer leaves the session as it was.
    let Leg::WebRtc(leg) = call.bridge.leg_mut(LegId::A) else {
        panic!()
    };
    leg.create_reoffer(true).unwrap();
    leg.cancel_offer();
    let before = call.browser.received.len();
    for n in 0..10 {
        call.phone_talks(n);
    }
    assert!(call.browser.received.len() >= before + 9);
    assert!(call.ended().is_none());
}

#[test]
fn a_browser_offering_opus_alone_is_transcoded_both_ways() {
    use centrala_media::Codec;
    use centrala_media::audio::{self, power_at, tone};
    let mut call = Call::with_browser(BridgeConfig::default(), false);
    assert!(call.bridge.transcodes());
    call.connect();
    let opus_pt = call.browser.pt(str0m::format::Codec::Opus);
    // The browser says 440 Hz in Opus (20 ms packets, 48 kHz clock); the phone 600 Hz in PCMU.
    let mut enc = opus::Encoder::new(8000, opus::Channels::Mono, opus::Application::Voip).unwrap();
    let (browser_tone, phone_tone) = (tone(440.0, 2000, 8000), tone(600.0, 2000, 8000));
    for (i, (b, p)) in browser_tone
        .chunks(audio::FRAME)
        .zip(phone_tone.chunks(audio::FRAME))
        .enumerate()
    {
        let opus = enc.encode_vec(b, 1500).unwrap();
        let now = call.now;
        call.browser.send(opus_pt, (i as u32) * 960, &opus, now);
        call.phone_ts = call.phone_ts.wrapping_add(160);
        let ts = call.phone_ts;
        call.phone_sends(0, false, ts, &audio::encode(&Codec::Pcmu, p).unwrap());
        call.run_for(Duration::from_millis(20));
    }
    // The phone got PCMU, 20 ms each, numbered and timed as one stream, with the tone.
    let pkts: Vec<Pkt> = call.to_phone.iter().map(|(_, p)| p.clone()).collect();
    assert!(pkts.len() >= 95, "{} packets to the phone", pkts.len());
    assert!(
        pkts.iter()
            .all(|p| p.header.pt == 0 && p.payload.len() == 160)
    );
    consecutive(&pkts, 160);
    let heard: Vec<i16> = pkts
        .iter()
        .flat_map(|p| audio::decode(&Codec::Pcmu, &p.payload).unwrap())
        .collect();
    let tail = &heard[heard.len() / 2..];
    assert!(
        power_at(tail, 440.0) > 20.0 * power_at(tail, 600.0),
        "the phone hears 440 Hz"
    );
    // The browser got Opus on its payload type, 960 ticks apart, with the phone's tone.
    let got: Vec<_> = call
        .browser
        .received
        .iter()
        .filter(|r| r.pt == opus_pt)
        .collect();
    assert!(got.len() >= 95, "{} Opus packets to the browser", got.len());
    for w in got.windows(2) {
        assert_eq!(w[1].timestamp.wrapping_sub(w[0].timestamp), 960);
    }
    let mut dec = opus::Decoder::new(8000, opus::Channels::Mono).unwrap();
    let mut pcm = Vec::new();
    for r in &got {
        let mut buf = vec![0i16; 960];
        let n = dec.decode(&r.payload, &mut buf, false).unwrap();
        pcm.extend_from_slice(&buf[..n]);
    }
    let tail = &pcm[pcm.len() / 2..];
    assert!(
        power_at(tail, 600.0) > 20.0 * power_at(tail, 440.0),
        "the browser hears 600 Hz"
    );
}

/// A call moved to another device (*8 to a mobile): the new leg takes the old one's place,
/// the far end keeps receiving one stream (sequence numbers run on, no repeat or gap) and
/// what it sends reaches the new device.
#[test]
fn a_leg_replaced_mid_call_carries_the_far_end_on() {
    let now = Instant::now();
    let far: SocketAddr = "192.168.1.20:5004".parse().unwrap();
    let old_dev: SocketAddr = "192.168.1.30:6000".parse().unwrap();
    let mobile: SocketAddr = "198.51.100.40:7000".parse().unwrap();
    let gw_far: SocketAddr = "203.0.113.5:40004".parse().unwrap();
    let gw_old: SocketAddr = "203.0.113.5:40006".parse().unwrap();
    let gw_new: SocketAddr = "203.0.113.5:40008".parse().unwrap();
    let pcma = "v=0\r\no=a 1 1 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 192.168.1.20\r\n\
        t=0 0\r\nm=audio 5004 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
    let formats = sdp::audio_stream(pcma, Side::Phone).unwrap().formats;
    let leg = |local, remote, ssrc| {
        let mut l = RtpLeg::new(RtpLegConfig { local, ssrc }, now);
        l.set_remote(remote, formats.clone());
        Leg::Rtp(l)
    };
    let mut bridge = Bridge::new(
        leg(gw_old, old_dev, 1),
        leg(gw_far, far, 2),
        BridgeConfig::default(),
        now,
    );
    let packet = |seq: u16, ssrc: u32| {
        let h = RtpHeader {
            marker: false,
            pt: 8,
            seq,
            timestamp: u32::from(seq) * 160,
            ssrc,
        };
        let mut d = Vec::new();
        write_rtp(&h, &payload(u32::from(seq)), &mut d);
        d
    };
    let to_far = |bridge: &mut Bridge| {
        let mut got = Vec::new();
        while let Some(o) = bridge.poll_output() {
            if let BridgeOutput::Transmit(LegId::B, t) = o {
                assert_eq!(t.to, far);
                got.push(parse_rtp(&t.payload).unwrap().header);
            }
        }
        got
    };
    for seq in 1..=3 {
        bridge
            .handle_input(LegId::A, &packet(seq, 50), old_dev, gw_old, now)
            .unwrap();
    }
    let before = to_far(&mut bridge);
    assert_eq!(before.len(), 3);
    let later = now + Duration::from_millis(60);
    let old = bridge.replace_leg(LegId::A, leg(gw_new, mobile, 3), later);
    assert!(matches!(old, Leg::Rtp(_)));
    // The mobile's stream (its own numbering) reaches the far end as a continuation.
    for seq in 900..=901 {
        bridge
            .handle_input(LegId::A, &packet(seq, 99), mobile, gw_new, later)
            .unwrap();
    }
    let after = to_far(&mut bridge);
    assert_eq!(after.len(), 2);
    assert_eq!(after[0].seq, before[2].seq.wrapping_add(1));
    assert_eq!(after[0].ssrc, before[2].ssrc, "one stream for the far end");
    assert!(after[0].marker, "a new talkspurt");
    // The far end's audio goes to the mobile now, from the new port; the old device's
    // packets are no longer taken.
    bridge
        .handle_input(LegId::B, &packet(7, 2000), far, gw_far, later)
        .unwrap();
    let mut to_mobile = 0;
    while let Some(o) = bridge.poll_output() {
        if let BridgeOutput::Transmit(LegId::A, t) = o {
            assert_eq!((t.from, t.to), (gw_new, mobile));
            to_mobile += 1;
        }
    }
    assert_eq!(to_mobile, 1);
    assert!(
        bridge
            .handle_input(LegId::A, &packet(4, 50), old_dev, gw_old, later)
            .is_err()
    );
}
