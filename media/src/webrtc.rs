//! A WebRTC leg: the gateway as one end of a browser's call, on str0m.
//!
//! The gateway is an ICE-lite agent (RFC 8445 2.5) on one socket from the port pool: it
//! has one host candidate, the browser (full ICE, controlling) checks it, and DTLS-SRTP
//! runs over the pair. str0m does ICE, DTLS, SRTP and RTCP; this type adds the call's
//! policy: which codecs, and RTP in and out.
//!
//! **RTP mode, not frames.** str0m runs in RTP mode (`set_rtp_mode(true)`): received
//! packets come out with their payload type, sequence number, timestamp and marker as sent,
//! and [`WebRtcLeg::send_rtp`] writes packets with the sequence number and timestamp we
//! choose. A bridge that relays G.711 unchanged wants exactly that: the frame API would
//! reorder-buffer, depacketise and re-timestamp (from a media time) what we only forward,
//! and it does not let a relay keep the far end's sequence gaps (loss stays visible).

use std::net::SocketAddr;
use std::time::Instant;

use centrala_sip::sdp::SessionDescription;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, RtpWrite, SeqNo, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use crate::codec::{Codec, Formats, PayloadFormat};
use crate::rtp::RtpHeader;
use crate::{LegEvent, LegOutput, MediaError, RtpFrame, Transmit};

/// How a WebRTC leg is set up.
#[derive(Debug, Clone)]
pub struct WebRtcConfig {
    /// Our socket: `--media-address` and a port from the `PortPool`. It is the one ICE
    /// candidate in our SDP.
    pub local: SocketAddr,
    /// The audio codecs to negotiate, in order of preference: any of PCMU, PCMA, Opus.
    /// A bridge to a desk phone lists only the phone's G.711 codec(s).
    pub codecs: Vec<Codec>,
}

/// One WebRTC leg, sans-IO, driven like str0m's `Rtc` (and our SIP core): feed datagrams
/// and timeouts, then drain [`WebRtcLeg::poll_output`] until it returns a timeout.
pub struct WebRtcLeg {
    rtc: Rtc,
    local: SocketAddr,
    mid: Option<Mid>,
    pending: Option<SdpPendingOffer>,
    tx: Option<Ssrc>,
    tx_seq: Option<u64>,
    formats: Formats,
    connected: bool,
    last_media: Instant,
    /// When the browser last sent anything we accepted (RTP, RTCP, ICE consent checks).
    last_heard: Instant,
}

impl std::fmt::Debug for WebRtcLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcLeg")
            .field("local", &self.local)
            .field("mid", &self.mid)
            .field("formats", &self.formats)
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl WebRtcLeg {
    /// A leg with nothing negotiated yet; `now` starts its silence clock.
    pub fn new(config: WebRtcConfig, now: Instant) -> Result<WebRtcLeg, MediaError> {
        // Header extensions: only the mid (BUNDLE demultiplexing). A relayed audio leg has
        // no use for audio levels, send times or transport-wide congestion feedback, and
        // computing and parsing them was a quarter to a third of a bridged call's CPU
        // (docs/benchmarks.md §6, against rtpengine).
        let mut builder = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .clear_extension_map()
            .set_extension(4, Extension::RtpMid)
            .clear_codecs();
        for codec in &config.codecs {
            builder = match codec {
                Codec::Pcmu => builder.enable_pcmu(true),
                Codec::Pcma => builder.enable_pcma(true),
                Codec::Opus => builder.enable_opus(true),
                other => return Err(MediaError::UnsupportedCodec(other.to_string())),
            };
        }
        if config.codecs.is_empty() {
            return Err(MediaError::UnsupportedCodec("none".into()));
        }
        let mut rtc = builder.build(now);
        let candidate =
            Candidate::host(config.local, "udp").map_err(|e| MediaError::WebRtc(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        Ok(WebRtcLeg {
            rtc,
            local: config.local,
            mid: None,
            pending: None,
            tx: None,
            tx_seq: None,
            formats: Formats::default(),
            connected: false,
            last_media: now,
            last_heard: now,
        })
    }

    /// Our socket address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The negotiated audio formats (payload types as the browser numbers them).
    pub fn formats(&self) -> &Formats {
        &self.formats
    }

    /// ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// When the last RTP packet arrived (or the leg was made).
    pub fn last_media(&self) -> Instant {
        self.last_media
    }

    /// When the browser last sent anything the leg accepted: RTP, RTCP, or the ICE
    /// consent checks (RFC 7675) a browser sends every few seconds even while it sends no
    /// media (on hold). Tells a held browser that is still there from one that is gone.
    pub fn last_heard(&self) -> Instant {
        self.last_heard
    }

    /// Restarts the silence clock (a call taken off hold gets the whole timeout to resume).
    pub fn touch(&mut self, now: Instant) {
        self.last_media = now;
        self.last_heard = now;
    }

    /// A new offer for the browser in the session already negotiated, to hold the call
    /// (audio `sendonly`) or resume it (`sendrecv`). Its answer goes to
    /// [`WebRtcLeg::accept_answer`]; a refused offer is dropped with
    /// [`WebRtcLeg::cancel_offer`].
    pub fn create_reoffer(&mut self, hold: bool) -> Result<String, MediaError> {
        let mid = self.mid.ok_or(MediaError::NotNegotiated)?;
        let mut change = self.rtc.sdp_api();
        let direction = if hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        change.set_direction(mid, direction);
        let (offer, pending) = change
            .apply()
            .ok_or(MediaError::Sdp("nothing to change".into()))?;
        self.pending = Some(pending);
        Ok(offer.to_sdp_string())
    }

    /// Forgets an offer the browser did not take (the session stays as it was).
    pub fn cancel_offer(&mut self) {
        self.pending = None;
    }

    /// Answers a browser's offer. Its first audio m-line is accepted with the configured
    /// codecs it also offers; other m-lines are refused by str0m. Drain
    /// [`WebRtcLeg::poll_output`] afterwards.
    pub fn accept_offer(&mut self, offer: &str, now: Instant) -> Result<String, MediaError> {
        let desc = SessionDescription::parse(offer.as_bytes())
            .map_err(|e| MediaError::Sdp(e.to_string()))?;
        let audio = desc
            .media
            .iter()
            .find(|m| m.kind == "audio" && m.port != 0)
            .ok_or(MediaError::Sdp("the offer has no audio".into()))?;
        let mid: Mid = audio
            .attribute("mid")
            .filter(|m| !m.is_empty())
            .ok_or(MediaError::Sdp("the audio m-line has no a=mid".into()))?
            .into();
        let parsed =
            SdpOffer::from_sdp_string(offer).map_err(|e| MediaError::Sdp(e.to_string()))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(parsed)
            .map_err(|e| MediaError::Sdp(e.to_string()))?;
        self.negotiated(mid)?;
        // The silence clock runs from the answer: the browser has the media timeout to
        // connect and start sending.
        self.last_media = now;
        Ok(answer.to_sdp_string())
    }

    /// Makes an offer for a browser (a phone calls a browser): one sendrecv audio m-line.
    pub fn create_offer(&mut self) -> Result<String, MediaError> {
        let mut change = self.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = change
            .apply()
            .ok_or(MediaError::Sdp("nothing to offer".into()))?;
        self.mid = Some(mid);
        self.pending = Some(pending);
        Ok(offer.to_sdp_string())
    }

    /// Takes the browser's answer to [`WebRtcLeg::create_offer`].
    pub fn accept_answer(&mut self, answer: &str) -> Result<(), MediaError> {
        let pending = self
            .pending
            .take()
            .ok_or(MediaError::Sdp("no offer is pending".into()))?;
        let mid = self.mid.ok_or(MediaError::NotNegotiated)?;
        let parsed =
            SdpAnswer::from_sdp_string(answer).map_err(|e| MediaError::Sdp(e.to_string()))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, parsed)
            .map_err(|e| MediaError::Sdp(e.to_string()))?;
        self.negotiated(mid)
    }

    fn negotiated(&mut self, mid: Mid) -> Result<(), MediaError> {
        let media = self.rtc.media(mid).ok_or(MediaError::NotNegotiated)?;
        let remote = media.remote_pts().to_vec();
        let formats: Vec<PayloadFormat> = self
            .rtc
            .codec_config()
            .params()
            .iter()
            .filter(|p| remote.contains(&p.pt()))
            .filter_map(|p| {
                let codec = match p.spec().codec {
                    str0m::format::Codec::PCMU => Codec::Pcmu,
                    str0m::format::Codec::PCMA => Codec::Pcma,
                    str0m::format::Codec::Opus => Codec::Opus,
                    _ => return None,
                };
                Some(PayloadFormat::new(
                    *p.pt(),
                    codec,
                    p.spec().clock_rate.get(),
                ))
            })
            .collect();
        if formats.is_empty() {
            return Err(MediaError::Sdp(
                "no common codec: the browser offers none of the codecs this call takes".into(),
            ));
        }
        self.formats = Formats(formats);
        self.mid = Some(mid);
        self.tx = self
            .rtc
            .direct_api()
            .stream_tx_by_mid(mid, None)
            .map(|s| s.ssrc());
        Ok(())
    }

    /// Feeds a datagram that arrived on our socket (`to` is our address). Malformed or
    /// unexpected datagrams are refused with an error; the leg goes on.
    pub fn handle_input(
        &mut self,
        datagram: &[u8],
        from: SocketAddr,
        to: SocketAddr,
        now: Instant,
    ) -> Result<(), MediaError> {
        let receive = Receive::new(Protocol::Udp, from, to, datagram)
            .map_err(|e| MediaError::Malformed(e.to_string()))?;
        let input = Input::Receive(now, receive);
        if !self.rtc.accepts(&input) {
            return Err(MediaError::UnexpectedSource(from));
        }
        self.rtc
            .handle_input(input)
            .map_err(|e| MediaError::WebRtc(e.to_string()))?;
        self.last_heard = now;
        Ok(())
    }

    /// Moves str0m's clock to `now` (at the timeout [`WebRtcLeg::poll_output`] gave).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), MediaError> {
        self.rtc
            .handle_input(Input::Timeout(now))
            .map_err(|e| MediaError::WebRtc(e.to_string()))
    }

    /// The next datagram, event, or (last) the time to call
    /// [`WebRtcLeg::handle_timeout`]. Drain until `Timeout` after every call that changes
    /// the leg. An error means the WebRTC session is broken: end the leg.
    pub fn poll_output(&mut self) -> Result<LegOutput, MediaError> {
        loop {
            let out = self
                .rtc
                .poll_output()
                .map_err(|e| MediaError::WebRtc(e.to_string()))?;
            return Ok(match out {
                Output::Timeout(t) => LegOutput::Timeout(t),
                Output::Transmit(t) => LegOutput::Transmit(Transmit {
                    from: t.source,
                    to: t.destination,
                    payload: t.contents.into(),
                }),
                Output::Event(Event::Connected) => {
                    self.connected = true;
                    LegOutput::Event(LegEvent::Connected)
                }
                Output::Event(Event::IceConnectionStateChange(
                    IceConnectionState::Disconnected,
                )) => LegOutput::Event(LegEvent::Disconnected),
                Output::Event(Event::RtpPacket(p)) => {
                    self.last_media = p.timestamp;
                    LegOutput::Event(LegEvent::Rtp(RtpFrame {
                        header: RtpHeader {
                            marker: p.header.marker,
                            pt: *p.header.payload_type,
                            seq: p.header.sequence_number,
                            timestamp: p.header.timestamp,
                            ssrc: *p.header.ssrc,
                        },
                        payload: p.payload.to_vec(),
                    }))
                }
                // Statistics, other ICE states, stream pauses, RTCP feedback for video and
                // data channels do not concern an audio leg.
                Output::Event(_) => continue,
            });
        }
    }

    /// Sends one RTP packet: `header.pt` must be negotiated; `header.seq` and
    /// `header.timestamp` are sent as given (the SSRC is ours). Drain
    /// [`WebRtcLeg::poll_output`] afterwards.
    pub fn send_rtp(
        &mut self,
        header: RtpHeader,
        payload: &[u8],
        now: Instant,
    ) -> Result<(), MediaError> {
        if self.formats.by_pt(header.pt).is_none() {
            return Err(MediaError::UnknownPayloadType(header.pt));
        }
        let ssrc = self.tx.ok_or(MediaError::NotNegotiated)?;
        if !self.connected {
            return Err(MediaError::NotConnected);
        }
        let seq = extend_seq(self.tx_seq, header.seq);
        self.tx_seq = Some(seq);
        let mut api = self.rtc.direct_api();
        let stream = api.stream_tx(&ssrc).ok_or(MediaError::NotNegotiated)?;
        stream.write_rtp(
            RtpWrite::new(
                header.pt.into(),
                SeqNo::from(seq),
                header.timestamp,
                now,
                payload.to_vec(),
            )
            .marker(header.marker),
        );
        Ok(())
    }
}

/// Extends a 16-bit sequence number to the 64-bit one str0m counts with, from the last.
fn extend_seq(prev: Option<u64>, seq: u16) -> u64 {
    match prev {
        None => u64::from(seq),
        Some(p) => {
            let delta = i64::from(seq.wrapping_sub(p as u16) as i16);
            (p as i64 + delta).max(0) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::extend_seq;

    #[test]
    fn extends_sequence_numbers_across_the_wrap() {
        assert_eq!(extend_seq(None, 65535), 65535);
        assert_eq!(extend_seq(Some(65535), 0), 65536);
        assert_eq!(extend_seq(Some(65536), 65535), 65535);
        assert_eq!(extend_seq(Some(10), 12), 12);
        assert_eq!(extend_seq(Some(1), 65535), 0);
    }
}
