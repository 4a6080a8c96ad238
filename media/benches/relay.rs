//! Per-packet relay cost of a bridge, one core: G.711 packets through
//! - two plain RTP legs (phone ↔ phone),
//! - an RTP leg into a connected WebRTC leg (phone → browser: SRTP protect),
//! - a connected WebRTC leg into an RTP leg (browser → phone: SRTP unprotect);
//!
//! and the added cost of transcoding one 20 ms packet (libopus, 8 kHz mono):
//! - `transcode/opus_to_pcmu` (decode Opus, compand), `transcode/pcmu_to_opus` (expand,
//!   encode Opus at 24 kb/s).
//!
//! `cargo bench -p centrala-media --bench relay`; the figure is criterion's `thrpt`
//! (packets per second). A G.711 call is 50 packets/s each way: 500 calls are 50,000/s.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use centrala_media::rtp::write_rtp;
use centrala_media::{
    Bridge, BridgeConfig, BridgeOutput, Codec, Formats, Leg, LegId, PayloadFormat, RtpHeader,
    RtpLeg, RtpLegConfig, WebRtcConfig, WebRtcLeg,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;
use common::Browser;

const NEVER: Duration = Duration::from_secs(10 * 24 * 3600);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn rtp_leg(local: &str, remote: &str, now: Instant) -> RtpLeg {
    let mut leg = RtpLeg::new(
        RtpLegConfig {
            local: addr(local),
            ssrc: 9,
        },
        now,
    );
    leg.set_remote(addr(remote), Formats(vec![PayloadFormat::pcmu()]));
    leg
}

fn packet(seq: u16) -> Vec<u8> {
    let h = RtpHeader {
        marker: false,
        pt: 0,
        seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 1234,
    };
    let mut d = Vec::new();
    write_rtp(&h, &[0x55; 160], &mut d);
    d
}

fn drain(bridge: &mut Bridge) -> usize {
    let mut n = 0;
    while let Some(o) = bridge.poll_output() {
        if let BridgeOutput::Transmit(_, t) = o {
            n += t.payload.len();
        }
    }
    n
}

/// A browser (the tests' str0m peer, full ICE) connected to a bridge's WebRTC leg A; leg B
/// is a phone.
struct Connected {
    browser: Browser,
    bridge: Bridge,
    now: Instant,
}

fn connected() -> Connected {
    let mut now = Instant::now();
    let (mut browser, offer) = Browser::new(now);
    let mut leg = WebRtcLeg::new(
        WebRtcConfig {
            local: addr("203.0.113.5:40000"),
            codecs: vec![Codec::Pcmu],
        },
        now,
    )
    .unwrap();
    let answer = leg.accept_offer(&offer, now).unwrap();
    browser.accept_answer(&answer, now);
    let phone = rtp_leg("203.0.113.5:40002", "192.168.1.20:5004", now);
    let mut bridge = Bridge::new(
        Leg::WebRtc(Box::new(leg)),
        Leg::Rtp(phone),
        BridgeConfig {
            media_timeout: NEVER,
        },
        now,
    );
    for _ in 0..4000 {
        browser.tick(now);
        for (from, to, d) in std::mem::take(&mut browser.outbox) {
            let _ = bridge.handle_input(LegId::A, &d, from, to, now);
        }
        bridge.handle_timeout(now);
        while let Some(o) = bridge.poll_output() {
            if let BridgeOutput::Transmit(LegId::A, t) = o {
                browser.receive(t.from, &t.payload, now);
            }
        }
        if browser.connected {
            return Connected {
                browser,
                bridge,
                now,
            };
        }
        now += Duration::from_millis(5);
    }
    panic!("the browser did not connect");
}

fn relay(c: &mut Criterion) {
    let mut group = c.benchmark_group("relay");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));

    group.bench_function("rtp_to_rtp", |b| {
        let now = Instant::now();
        let a = rtp_leg("203.0.113.5:40004", "192.168.1.20:5004", now);
        let bl = rtp_leg("203.0.113.5:40006", "192.168.1.30:6000", now);
        let mut bridge = Bridge::new(Leg::Rtp(a), Leg::Rtp(bl), BridgeConfig::default(), now);
        let (from, to) = (addr("192.168.1.20:5004"), addr("203.0.113.5:40004"));
        let mut seq = 0u16;
        b.iter(|| {
            seq = seq.wrapping_add(1);
            let d = packet(seq);
            bridge.handle_input(LegId::A, &d, from, to, now).unwrap();
            black_box(drain(&mut bridge))
        });
    });

    group.bench_function("rtp_to_webrtc_srtp", |b| {
        let mut c = connected();
        // What is measured is real: every packet leaves SRTP-protected towards the browser.
        let (from, to) = (addr("192.168.1.20:5004"), addr("203.0.113.5:40002"));
        let mut sent = 0;
        for seq in 60000..60100u16 {
            c.now += Duration::from_millis(20);
            c.bridge
                .handle_input(LegId::B, &packet(seq), from, to, c.now)
                .unwrap();
            c.bridge.handle_timeout(c.now);
            while let Some(o) = c.bridge.poll_output() {
                if matches!(&o, BridgeOutput::Transmit(LegId::A, t) if t.payload.len() >= 172) {
                    sent += 1;
                }
            }
        }
        assert!(sent >= 100, "{sent} of 100 packets reached the browser");
        let (from, to) = (addr("192.168.1.20:5004"), addr("203.0.113.5:40002"));
        let mut seq = 0u16;
        b.iter(|| {
            seq = seq.wrapping_add(1);
            c.now += Duration::from_millis(20);
            let d = packet(seq);
            c.bridge
                .handle_input(LegId::B, &d, from, to, c.now)
                .unwrap();
            if c.bridge.poll_timeout().is_some_and(|t| t <= c.now) {
                c.bridge.handle_timeout(c.now);
            }
            black_box(drain(&mut c.bridge))
        });
    });

    group.bench_function("webrtc_srtp_to_rtp", |b| {
        let mut c = connected();
        let mut seq = 1u32;
        b.iter_custom(|iters| {
            // Made by the browser outside the measurement: SRTP packets, each new.
            let mut packets = Vec::with_capacity(iters as usize);
            while (packets.len() as u64) < iters {
                c.now += Duration::from_millis(20);
                seq += 1;
                let now = c.now;
                c.browser.send(0, seq.wrapping_mul(160), &[0x55; 160], now);
                c.browser.tick(now);
                for (from, to, d) in std::mem::take(&mut c.browser.outbox) {
                    packets.push((now, from, to, d));
                }
            }
            let start = Instant::now();
            for (now, from, to, d) in packets.iter().take(iters as usize) {
                let _ = c.bridge.handle_input(LegId::A, d, *from, *to, *now);
                black_box(drain(&mut c.bridge));
            }
            let elapsed = start.elapsed();
            let (relayed, _) = c.bridge.counters();
            assert!(relayed >= iters.min(10), "relayed {relayed}");
            elapsed
        });
    });
    group.finish();
}

fn transcode(c: &mut Criterion) {
    use centrala_media::Transcoder;
    use centrala_media::audio::{self, FRAME, tone};
    let mut group = c.benchmark_group("transcode");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));
    let speech = tone(440.0, 1000, 8000);
    let pcmu: Vec<Vec<u8>> = speech
        .chunks(FRAME)
        .map(|f| audio::encode(&Codec::Pcmu, f).unwrap())
        .collect();
    let header = |seq: u16, pt: u8| RtpHeader {
        marker: false,
        pt,
        seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 1,
    };
    group.bench_function("pcmu_to_opus", |b| {
        let mut t = Transcoder::new(LegId::A, 111, Codec::Pcmu, 0).unwrap();
        let mut seq = 0u16;
        b.iter(|| {
            seq = seq.wrapping_add(1);
            let p = &pcmu[usize::from(seq) % pcmu.len()];
            black_box(t.transcode(LegId::B, &header(seq, 0), p).unwrap())
        });
    });
    group.bench_function("opus_to_pcmu", |b| {
        let mut enc = Transcoder::new(LegId::A, 111, Codec::Pcmu, 0).unwrap();
        let opus: Vec<Vec<u8>> = pcmu
            .iter()
            .enumerate()
            .map(|(i, p)| {
                enc.transcode(LegId::B, &header(i as u16, 0), p).unwrap()[0]
                    .1
                    .clone()
            })
            .collect();
        let mut t = Transcoder::new(LegId::A, 111, Codec::Pcmu, 0).unwrap();
        let mut seq = 0u16;
        b.iter(|| {
            seq = seq.wrapping_add(1);
            let p = &opus[usize::from(seq) % opus.len()];
            black_box(t.transcode(LegId::A, &header(seq, 111), p).unwrap())
        });
    });
    group.finish();
}

criterion_group!(benches, relay, transcode);
criterion_main!(benches);
