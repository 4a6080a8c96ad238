//! A bridge: two legs of one call, media relayed between them without transcoding.
//!
//! Per direction, packets keep their payload byte for byte; the payload type is mapped
//! from one leg's numbering to the other's (by codec, [`PtMap`]); SSRC, sequence number
//! and timestamp are rewritten consistently: the sending leg's SSRC, and a fixed offset
//! per source so gaps (loss) stay visible. When the source changes (a new SSRC: a phone
//! restarted its stream, a browser renegotiated), the offsets are chosen again so the
//! outgoing stream continues where it was (next sequence number; timestamp advanced by the
//! time that passed), with the marker set.
//!
//! DTMF: RFC 4733 telephone-events are relayed like audio when both legs negotiated
//! telephone-event, and reported as [`BridgeEvent::Dtmf`] either way (the gateway sends
//! them to a browser as SIP INFO). [`Bridge::send_dtmf`] makes RFC 4733 packets towards a
//! leg (a browser's SIP INFO key towards a phone).
//!
//! A leg that receives no media for [`BridgeConfig::media_timeout`] ends the bridge
//! ([`EndReason::MediaTimeout`]), so no session outlives its call.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::codec::{Codec, Formats, PtMap};
use crate::rtp::{RtpHeader, TelephoneEvent, dtmf_event};
use crate::transcode::TranscodePlan;
use crate::{
    DtmfEvent, LegEvent, LegOutput, MediaError, RtpFrame, RtpLeg, Transcoder, Transmit, WebRtcLeg,
};

/// One of the two legs of a bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegId {
    /// The first leg given to [`Bridge::new`].
    A,
    /// The second.
    B,
}

impl LegId {
    fn index(self) -> usize {
        match self {
            LegId::A => 0,
            LegId::B => 1,
        }
    }

    /// The other leg.
    pub fn other(self) -> LegId {
        match self {
            LegId::A => LegId::B,
            LegId::B => LegId::A,
        }
    }
}

/// A leg of a bridge: WebRTC (a browser) or plain RTP (a phone).
#[derive(Debug)]
pub enum Leg {
    /// A browser, through str0m.
    WebRtc(Box<WebRtcLeg>),
    /// A desk phone or trunk.
    Rtp(RtpLeg),
}

impl Leg {
    fn formats(&self) -> &Formats {
        match self {
            Leg::WebRtc(l) => l.formats(),
            Leg::Rtp(l) => l.formats(),
        }
    }

    fn last_media(&self) -> Instant {
        match self {
            Leg::WebRtc(l) => l.last_media(),
            Leg::Rtp(l) => l.last_media(),
        }
    }

    fn touch(&mut self, now: Instant) {
        match self {
            Leg::WebRtc(l) => l.touch(now),
            Leg::Rtp(l) => l.touch(now),
        }
    }

    /// When the silence clock of this leg says it is gone. Normally: no media for the
    /// timeout. On hold a browser sends no media but still its ICE consent checks, so it
    /// is gone when it sends nothing at all; a held phone may send nothing whatever (a
    /// phone's RTCP comes to the port above ours, which the bridge does not take), so it
    /// is not timed out until the call is resumed.
    fn silent_since(&self, held: bool) -> Option<Instant> {
        match (self, held) {
            (l, false) => Some(l.last_media()),
            (Leg::WebRtc(l), true) => Some(l.last_heard()),
            (Leg::Rtp(_), true) => None,
        }
    }

    fn local(&self) -> SocketAddr {
        match self {
            Leg::WebRtc(l) => l.local(),
            Leg::Rtp(l) => l.local(),
        }
    }

    fn send(&mut self, header: RtpHeader, payload: &[u8], now: Instant) -> Result<(), MediaError> {
        match self {
            Leg::WebRtc(l) => l.send_rtp(header, payload, now),
            Leg::Rtp(l) => l.send_rtp(header, payload),
        }
    }
}

/// Bridge settings.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// A leg silent this long ends the bridge (default 30 s).
    pub media_timeout: Duration,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            media_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a bridge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// `leg` received no media for `silent_for` (at least the configured timeout).
    MediaTimeout {
        /// The silent leg.
        leg: LegId,
        /// How long it had been silent.
        silent_for: Duration,
    },
    /// A WebRTC leg's session broke (str0m returned an error).
    WebRtcFailed {
        /// The leg.
        leg: LegId,
        /// str0m's error.
        error: String,
    },
}

/// What a bridge reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BridgeEvent {
    /// A WebRTC leg completed ICE and DTLS.
    Connected(LegId),
    /// A DTMF key ended on `from` (RFC 4733).
    Dtmf {
        /// The leg it came from.
        from: LegId,
        /// The key and its duration.
        event: DtmfEvent,
    },
    /// The bridge is over: release its ports. Reported once; the bridge then ignores input.
    Ended {
        /// Why.
        reason: EndReason,
    },
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeOutput {
    /// Send a datagram from the leg's socket (`transmit.from`).
    Transmit(LegId, Transmit),
    /// Tell the call.
    Event(BridgeEvent),
}

/// Rewrites one direction's sequence numbers and timestamps (see the module docs).
#[derive(Debug, Default)]
struct Rewriter {
    source: Option<u32>,
    seq_delta: u16,
    ts_delta: u32,
    /// Last sent: sequence number, timestamp, clock rate, when.
    last: Option<(u16, u32, u32, Instant)>,
}

impl Rewriter {
    /// Where the outgoing stream would continue now: next sequence number and timestamp.
    fn continue_at(&self, clock_rate: u32, now: Instant) -> Option<(u16, u32)> {
        let (seq, ts, _, at) = self.last?;
        let elapsed = now.saturating_duration_since(at);
        let ticks = (elapsed.as_micros() * u128::from(clock_rate) / 1_000_000) as u32;
        Some((seq.wrapping_add(1), ts.wrapping_add(ticks.max(1))))
    }

    fn map(&mut self, h: &RtpHeader, clock_rate: u32, now: Instant) -> RtpHeader {
        let mut out = *h;
        if self.source != Some(h.ssrc) {
            let (seq, ts) = self
                .continue_at(clock_rate, now)
                .unwrap_or((h.seq, h.timestamp));
            self.source = Some(h.ssrc);
            self.seq_delta = seq.wrapping_sub(h.seq);
            self.ts_delta = ts.wrapping_sub(h.timestamp);
            out.marker = true;
        }
        out.seq = h.seq.wrapping_add(self.seq_delta);
        out.timestamp = h.timestamp.wrapping_add(self.ts_delta);
        self.record(out.seq, out.timestamp, clock_rate, now);
        out
    }

    /// Takes a sequence number (and the current timestamp) for a packet we make ourselves.
    /// The next relayed packet is anchored afresh after it (as for a new source: numbers
    /// run on without a repeat or a gap, and it starts a talkspurt).
    fn inject(&mut self, clock_rate: u32, now: Instant) -> (u16, u32) {
        let (seq, ts) = self.continue_at(clock_rate, now).unwrap_or((1, 0));
        self.source = None;
        self.record(seq, ts, clock_rate, now);
        (seq, ts)
    }

    fn record(&mut self, seq: u16, ts: u32, clock_rate: u32, now: Instant) {
        let newer = match self.last {
            Some((s, ..)) => (seq.wrapping_sub(s) as i16) > 0,
            None => true,
        };
        if newer {
            self.last = Some((seq, ts, clock_rate, now));
        }
    }
}

/// A DTMF key being sent as RFC 4733 packets: an update every 20 ms, then the end packet
/// three times (RFC 4733 2.5.1.4).
#[derive(Debug)]
struct DtmfSender {
    pt: u8,
    event: u8,
    timestamp: u32,
    /// Total duration in 8 kHz ticks.
    total: u16,
    /// Duration carried by the next packet.
    next_duration: u16,
    ends_left: u8,
    first: bool,
    next_at: Instant,
}

const DTMF_STEP: Duration = Duration::from_millis(20);
const DTMF_TICKS_PER_STEP: u16 = 160;

/// A bridge between two legs, sans-IO: feed datagrams with [`Bridge::handle_input`] and
/// time with [`Bridge::handle_timeout`], then drain [`Bridge::poll_output`]; wake at
/// [`Bridge::poll_timeout`].
#[derive(Debug)]
pub struct Bridge {
    legs: [Leg; 2],
    config: BridgeConfig,
    /// Payload type maps: `maps[0]` A → B, `maps[1]` B → A.
    maps: [PtMap; 2],
    /// Rewriters by destination leg.
    rewriters: [Rewriter; 2],
    leg_timeouts: [Option<Instant>; 2],
    dtmf: [VecDeque<DtmfSender>; 2],
    out: VecDeque<BridgeOutput>,
    /// One side holds the call (see [`Bridge::set_held`]).
    held: bool,
    /// Opus ↔ G.711 when the legs share no audio codec (see [`transcoding`]).
    transcoder: Option<Transcoder>,
    ended: bool,
    relayed: u64,
    dropped: u64,
}

impl Bridge {
    /// A bridge over two negotiated legs. `now` is when it starts.
    pub fn new(a: Leg, b: Leg, config: BridgeConfig, now: Instant) -> Bridge {
        let maps = [
            PtMap::new(a.formats(), b.formats()),
            PtMap::new(b.formats(), a.formats()),
        ];
        let mut bridge = Bridge {
            legs: [a, b],
            config,
            maps,
            rewriters: Default::default(),
            leg_timeouts: [None, None],
            dtmf: Default::default(),
            out: VecDeque::new(),
            held: false,
            transcoder: None,
            ended: false,
            relayed: 0,
            dropped: 0,
        };
        bridge.transcoder = transcoding(&bridge.legs).and_then(start_transcoder);
        bridge.drain(now);
        bridge
    }

    /// Does the bridge transcode (Opus ↔ G.711)?
    pub fn transcodes(&self) -> bool {
        self.transcoder.is_some()
    }

    /// A leg, to read its state.
    pub fn leg(&self, id: LegId) -> &Leg {
        &self.legs[id.index()]
    }

    /// A leg, to renegotiate it (a re-INVITE); call [`Bridge::renegotiated`] after.
    pub fn leg_mut(&mut self, id: LegId) -> &mut Leg {
        &mut self.legs[id.index()]
    }

    /// A leg's formats may have changed (a new offer and answer): the payload type maps
    /// are made again, and what the leg has to send goes out.
    pub fn renegotiated(&mut self, now: Instant) {
        let [a, b] = &self.legs;
        self.maps = [
            PtMap::new(a.formats(), b.formats()),
            PtMap::new(b.formats(), a.formats()),
        ];
        // A transcoder (libopus state) is made again only when what it converts changed.
        let plan = transcoding(&self.legs);
        if plan != self.transcoder.as_ref().map(Transcoder::plan) {
            self.transcoder = plan.and_then(start_transcoder);
        }
        self.drain(now);
    }

    /// Puts `leg` in the place of leg `id` (a call moved to another device, say a mobile
    /// through a trunk) and returns the old one. The other leg goes on as it was: what it
    /// receives continues its sequence numbers and timestamps (a new source, as after a
    /// transfer), so its far end hears at most a moment's gap.
    pub fn replace_leg(&mut self, id: LegId, leg: Leg, now: Instant) -> Leg {
        let i = id.index();
        let old = std::mem::replace(&mut self.legs[i], leg);
        self.rewriters[i] = Rewriter::default();
        self.leg_timeouts[i] = None;
        self.dtmf[i].clear();
        self.legs[i].touch(now);
        self.renegotiated(now);
        old
    }

    /// The call is held (or resumed). A held call's legs may stop sending media: a browser
    /// is then ended only when it sends nothing at all (not even its ICE consent checks)
    /// for the timeout, a phone not at all. Resuming restarts both silence clocks.
    pub fn set_held(&mut self, held: bool, now: Instant) {
        if self.held && !held {
            for l in &mut self.legs {
                l.touch(now);
            }
        }
        self.held = held;
    }

    /// Is the call held?
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Packets relayed, and packets dropped (unnegotiated payload, peer not ready).
    pub fn counters(&self) -> (u64, u64) {
        (self.relayed, self.dropped)
    }

    /// Has the bridge ended?
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// A datagram arrived on leg `id`'s socket (`to`) from `from`. A datagram the leg
    /// refuses is dropped and the reason returned; the call goes on.
    pub fn handle_input(
        &mut self,
        id: LegId,
        datagram: &[u8],
        from: SocketAddr,
        to: SocketAddr,
        now: Instant,
    ) -> Result<(), MediaError> {
        if self.ended {
            return Err(MediaError::Ended);
        }
        let result = match &mut self.legs[id.index()] {
            Leg::WebRtc(l) => l.handle_input(datagram, from, to, now),
            Leg::Rtp(l) => l.handle_input(datagram, from, now),
        };
        self.drain(now);
        result
    }

    /// Time has come to `now` (at or after [`Bridge::poll_timeout`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        for id in [LegId::A, LegId::B] {
            let Some(since) = self.legs[id.index()].silent_since(self.held) else {
                continue;
            };
            let silent_for = now.saturating_duration_since(since);
            if silent_for >= self.config.media_timeout {
                self.end(EndReason::MediaTimeout {
                    leg: id,
                    silent_for,
                });
                return;
            }
        }
        for i in 0..2 {
            if self.leg_timeouts[i].is_some_and(|t| t <= now)
                && let Leg::WebRtc(l) = &mut self.legs[i]
            {
                self.leg_timeouts[i] = None;
                if let Err(e) = l.handle_timeout(now) {
                    let leg = if i == 0 { LegId::A } else { LegId::B };
                    self.end(EndReason::WebRtcFailed {
                        leg,
                        error: e.to_string(),
                    });
                    return;
                }
            }
        }
        self.send_due_dtmf(now);
        self.drain(now);
    }

    /// When to call [`Bridge::handle_timeout`] next; `None` once ended.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let media = self
            .legs
            .iter()
            .filter_map(|l| l.silent_since(self.held))
            .filter_map(|t| t.checked_add(self.config.media_timeout));
        let dtmf = self
            .dtmf
            .iter()
            .filter_map(|q| q.front().map(|s| s.next_at));
        media
            .chain(dtmf)
            .chain(self.leg_timeouts.iter().flatten().copied())
            .min()
    }

    /// The next datagram to send or event to handle.
    pub fn poll_output(&mut self) -> Option<BridgeOutput> {
        self.out.pop_front()
    }

    /// Sends DTMF key `digit` towards leg `to` as RFC 4733 packets lasting `duration`
    /// (keys queue behind each other). Needs telephone-event negotiated on that leg.
    pub fn send_dtmf(
        &mut self,
        to: LegId,
        digit: char,
        duration: Duration,
        now: Instant,
    ) -> Result<(), MediaError> {
        if self.ended {
            return Err(MediaError::Ended);
        }
        let event = dtmf_event(digit).ok_or(MediaError::NotADtmfKey(digit))?;
        let pt = self.legs[to.index()]
            .formats()
            .telephone_event()
            .ok_or(MediaError::NoTelephoneEvent)?;
        let ticks = (duration.as_millis() * 8).clamp(u128::from(DTMF_TICKS_PER_STEP), 0xffff);
        // A key queued behind another starts after its pause (see `send_due_dtmf`).
        let next_at = now;
        self.dtmf[to.index()].push_back(DtmfSender {
            pt,
            event,
            timestamp: 0,
            total: ticks as u16,
            next_duration: DTMF_TICKS_PER_STEP,
            ends_left: 3,
            first: true,
            next_at,
        });
        self.send_due_dtmf(now);
        self.drain(now);
        Ok(())
    }

    fn send_due_dtmf(&mut self, now: Instant) {
        for i in 0..2 {
            while let Some(s) = self.dtmf[i].front_mut() {
                if s.next_at > now {
                    break;
                }
                let rewriter = &mut self.rewriters[i];
                let (seq, ts) = rewriter.inject(8000, now);
                if s.first {
                    s.timestamp = ts;
                }
                let end = s.next_duration >= s.total;
                let duration = s.next_duration.min(s.total);
                let payload = TelephoneEvent {
                    event: s.event,
                    end,
                    volume: 10,
                    duration,
                }
                .to_bytes();
                let header = RtpHeader {
                    marker: s.first,
                    pt: s.pt,
                    seq,
                    timestamp: s.timestamp,
                    ssrc: 0,
                };
                s.first = false;
                s.next_at = now + DTMF_STEP;
                if end {
                    s.ends_left -= 1;
                } else {
                    s.next_duration = s.next_duration.saturating_add(DTMF_TICKS_PER_STEP);
                }
                let done = s.ends_left == 0;
                if self.legs[i].send(header, &payload, now).is_err() {
                    self.dropped += 1;
                }
                if done {
                    self.dtmf[i].pop_front();
                    // 40 ms between keys, so the far end hears two presses.
                    if let Some(next) = self.dtmf[i].front_mut() {
                        next.next_at = next.next_at.max(now + DTMF_STEP * 2);
                    }
                }
            }
        }
    }

    fn end(&mut self, reason: EndReason) {
        if !self.ended {
            self.ended = true;
            self.dtmf = Default::default();
            self.out
                .push_back(BridgeOutput::Event(BridgeEvent::Ended { reason }));
        }
    }

    /// Drains both legs until neither has anything new, relaying as it goes.
    fn drain(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            for id in [LegId::A, LegId::B] {
                loop {
                    if self.ended {
                        return;
                    }
                    let i = id.index();
                    let out = match &mut self.legs[i] {
                        Leg::WebRtc(l) => match l.poll_output() {
                            Ok(o) => Some(o),
                            Err(e) => {
                                self.end(EndReason::WebRtcFailed {
                                    leg: id,
                                    error: e.to_string(),
                                });
                                return;
                            }
                        },
                        Leg::Rtp(l) => l.poll_output(),
                    };
                    match out {
                        None => break,
                        Some(LegOutput::Timeout(t)) => {
                            self.leg_timeouts[i] = Some(t);
                            break;
                        }
                        Some(LegOutput::Transmit(t)) => {
                            progressed = true;
                            self.out.push_back(BridgeOutput::Transmit(id, t));
                        }
                        Some(LegOutput::Event(e)) => {
                            progressed = true;
                            self.on_event(id, e, now);
                        }
                    }
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn on_event(&mut self, from: LegId, event: LegEvent, now: Instant) {
        match event {
            LegEvent::Connected => self
                .out
                .push_back(BridgeOutput::Event(BridgeEvent::Connected(from))),
            LegEvent::Disconnected => {}
            LegEvent::Dtmf(event) => self
                .out
                .push_back(BridgeOutput::Event(BridgeEvent::Dtmf { from, event })),
            LegEvent::Rtp(frame) => self.relay(from, frame, now),
        }
    }

    fn relay(&mut self, from: LegId, frame: RtpFrame, now: Instant) {
        let to = from.other();
        let Some(pt) = self.maps[from.index()].get(frame.header.pt) else {
            self.relay_transcoded(from, frame, now);
            return;
        };
        let format = self.legs[to.index()].formats().by_pt(pt);
        let clock_rate = format.map_or(8000, |f| f.clock_rate);
        let is_event = format.is_some_and(|f| f.codec == Codec::TelephoneEvent);
        // While we send our own DTMF towards `to`, audio for it is dropped: the far end
        // hears the key alone, and the numbering runs on after it (see `Rewriter::inject`).
        if !is_event && !self.dtmf[to.index()].is_empty() {
            self.dropped += 1;
            return;
        }
        let mut header = self.rewriters[to.index()].map(&frame.header, clock_rate, now);
        header.pt = pt;
        match self.legs[to.index()].send(header, &frame.payload, now) {
            Ok(()) => self.relayed += 1,
            Err(_) => self.dropped += 1,
        }
    }

    /// A packet whose codec the other leg does not have: transcoded if the bridge
    /// transcodes it, else dropped.
    fn relay_transcoded(&mut self, from: LegId, frame: RtpFrame, now: Instant) {
        let to = from.other();
        let Some(t) = self
            .transcoder
            .as_mut()
            .filter(|t| t.takes(from, frame.header.pt))
        else {
            self.dropped += 1;
            return;
        };
        if !self.dtmf[to.index()].is_empty() {
            self.dropped += 1;
            return;
        }
        let Ok(packets) = t.transcode(from, &frame.header, &frame.payload) else {
            self.dropped += 1;
            return;
        };
        for (h, payload) in packets {
            let clock_rate = self.legs[to.index()]
                .formats()
                .by_pt(h.pt)
                .map_or(8000, |f| f.clock_rate);
            let mut header = self.rewriters[to.index()].map(&h, clock_rate, now);
            header.pt = h.pt;
            match self.legs[to.index()].send(header, &payload, now) {
                Ok(()) => self.relayed += 1,
                Err(_) => self.dropped += 1,
            }
        }
    }

    /// The socket address of leg `id` (where its datagrams go out from).
    pub fn local(&self, id: LegId) -> SocketAddr {
        self.legs[id.index()].local()
    }
}

/// What to transcode, `(Opus leg, its Opus payload type, the other leg's G.711 codec and
/// payload type)`, when one leg has Opus and no G.711 and the other G.711 and no Opus (a
/// browser offering Opus alone, a phone): the first G.711 codec of the G.711 leg.
fn transcoding(legs: &[Leg; 2]) -> Option<TranscodePlan> {
    let g711 = |l: &Leg| {
        l.formats()
            .0
            .iter()
            .find(|f| f.codec.is_g711() && f.clock_rate == 8000)
            .cloned()
    };
    let opus = |l: &Leg| l.formats().by_codec(&Codec::Opus, 48000).cloned();
    [(LegId::A, LegId::B), (LegId::B, LegId::A)]
        .into_iter()
        .find_map(|(o, g)| {
            let (ol, gl) = (&legs[o.index()], &legs[g.index()]);
            match (opus(ol), g711(ol), g711(gl), opus(gl)) {
                (Some(op), None, Some(gf), None) => Some((o, op.pt, gf.codec, gf.pt)),
                _ => None,
            }
        })
}

fn start_transcoder((opus_leg, opus_pt, g711, g711_pt): TranscodePlan) -> Option<Transcoder> {
    Transcoder::new(opus_leg, opus_pt, g711, g711_pt).ok()
}
