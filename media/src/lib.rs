//! Centrala's media plane, sans-IO: the gateway as one end of a browser's WebRTC call and of
//! a desk phone's plain RTP call, and the bridge that relays audio between them.
//!
//! # Shape
//!
//! - [`WebRtcLeg`] — a browser's leg on str0m: ICE-lite on one host candidate, DTLS-SRTP,
//!   RTP in RTP mode (payloads relayed unchanged, our own sequence numbers and timestamps).
//! - [`RtpLeg`] — a phone's leg: plain RTP/AVP over UDP, symmetric RTP (latches to the
//!   first valid packet's source), RTCP recognised and ignored.
//! - [`Bridge`] — two legs of one call: G.711 (or any shared codec) relayed both ways with
//!   payload types mapped and SSRC/sequence/timestamp rewritten per direction; RFC 4733
//!   DTMF carried across and reported; a leg silent for `media_timeout` ends the call.
//! - [`sdp`] — the descriptions each side sees, for every transport combination, and the
//!   488 with a reason when there is no common codec.
//! - [`PortPool`] — media ports from `--media-ports 40000-40999`.
//! - [`rtp`] — RTP and telephone-event packets, parsed with every length checked.
//!
//! # Driving it (the gateway's media driver)
//!
//! Like the SIP core and str0m's `Rtc`, nothing here does IO or reads the clock. The
//! driver, per call leg:
//!
//! 1. takes a port from the [`PortPool`] and binds one UDP socket on
//!    `--media-address:port` (WebRTC muxes RTP, RTCP, STUN and DTLS on it; a phone's RTCP
//!    would go to port+1, which the pool keeps free);
//! 2. builds the leg with that address, negotiates it from the SIP bodies ([`sdp`]
//!    functions, [`WebRtcLeg::accept_offer`] / [`WebRtcLeg::create_offer`],
//!    [`RtpLeg::set_remote`]) and puts both legs in a [`Bridge`];
//! 3. on each datagram, calls [`Bridge::handle_input`] with the leg, source and our
//!    address; at [`Bridge::poll_timeout`], [`Bridge::handle_timeout`]; after each, drains
//!    [`Bridge::poll_output`]: `Transmit` goes out on that leg's socket, events go to the
//!    SIP core (DTMF as SIP INFO to a browser; `Ended` hangs up the call and returns the
//!    ports to the pool);
//! 4. turns a browser's SIP INFO key into [`Bridge::send_dtmf`] towards the phone.
//!
//! Errors from `handle_input` are per datagram (malformed, unexpected source): count and
//! drop, never end the call for them. Everything from the network is hostile: nothing in
//! this crate panics on bytes it receives.
//!
//! # What is absent on purpose
//!
//! - Transcoding only where the legs share no codec, and only Opus ↔ G.711
//!   ([`transcode`], libopus): a browser offering Opus alone to a phone. Other codecs a
//!   phone may offer (G.729, G.722) get 488 with the reason (see [`sdp::Rejection`]).
//! - No telephone-event on the WebRTC side: str0m 0.23 does not negotiate it (its upstream
//!   issue #994 is open), so browsers send and receive DTMF as SIP INFO, which the web app
//!   already does.

pub mod answering;
pub mod audio;
pub mod bridge;
pub mod codec;
pub mod mailbox;
pub mod ports;
pub mod rtp;
pub mod rtp_leg;
pub mod sdp;
pub mod transcode;
pub mod webrtc;

use std::net::SocketAddr;
use std::time::Instant;

use thiserror::Error;

pub use answering::{Answering, AnsweringConfig, EndCause, Phase};
pub use bridge::{Bridge, BridgeConfig, BridgeEvent, BridgeOutput, EndReason, Leg, LegId};
pub use codec::{Codec, Formats, PayloadFormat};
pub use ports::{PortError, PortPool, PortRange};
pub use rtp::{RtpError, RtpHeader};
pub use rtp_leg::{RtpLeg, RtpLegConfig};
pub use transcode::Transcoder;
pub use webrtc::{WebRtcConfig, WebRtcLeg};

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Our socket it goes out from.
    pub from: SocketAddr,
    /// Where it goes.
    pub to: SocketAddr,
    /// The bytes.
    pub payload: Vec<u8>,
}

/// An RTP packet received on a leg (its payload as sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpFrame {
    /// The header as received (payload type in that leg's numbering).
    pub header: RtpHeader,
    /// The payload.
    pub payload: Vec<u8>,
}

/// A DTMF key received as RFC 4733 telephone-events (reported once, at its end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// `0-9`, `*`, `#`, `A-D`.
    pub digit: char,
    /// Its duration in 8 kHz ticks.
    pub duration: u16,
}

/// What a leg reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LegEvent {
    /// ICE and DTLS are up (WebRTC).
    Connected,
    /// ICE lost the peer (WebRTC; the media timeout decides the call's end).
    Disconnected,
    /// An RTP packet of a negotiated payload type.
    Rtp(RtpFrame),
    /// A DTMF key ended.
    Dtmf(DtmfEvent),
}

/// What a leg wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegOutput {
    /// Send a datagram.
    Transmit(Transmit),
    /// Handle an event.
    Event(LegEvent),
    /// Nothing more now; call `handle_timeout` at this time (WebRTC legs).
    Timeout(Instant),
}

/// Errors of the media plane. Errors about one datagram mean "dropped"; the leg goes on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MediaError {
    /// A malformed RTP packet or telephone-event.
    #[error("bad RTP: {0}")]
    Rtp(#[from] RtpError),
    /// Not RTP/RTCP (on a plain RTP leg), or not STUN/DTLS/RTP/RTCP (on a WebRTC leg).
    #[error("not an RTP or RTCP packet")]
    NotRtp,
    /// A datagram str0m could not parse.
    #[error("malformed datagram: {0}")]
    Malformed(String),
    /// A datagram from a source this leg does not talk to.
    #[error("datagram from unexpected source {0}")]
    UnexpectedSource(SocketAddr),
    /// A payload type that was not negotiated.
    #[error("payload type {0} was not negotiated")]
    UnknownPayloadType(u8),
    /// A codec a WebRTC leg cannot negotiate.
    #[error("codec {0} is not supported on a WebRTC leg (PCMU, PCMA, opus)")]
    UnsupportedCodec(String),
    /// An SDP the leg cannot use.
    #[error("SDP: {0}")]
    Sdp(String),
    /// Media before negotiation.
    #[error("the leg is not negotiated yet")]
    NotNegotiated,
    /// Media before ICE and DTLS are up.
    #[error("the WebRTC leg is not connected yet")]
    NotConnected,
    /// Media before the peer's address is known.
    #[error("the peer's address is not known yet")]
    NoRemote,
    /// str0m failed.
    #[error("WebRTC: {0}")]
    WebRtc(String),
    /// libopus refused to encode or decode.
    #[error("transcoding: {0}")]
    Transcoding(String),
    /// DTMF towards a leg without telephone-event.
    #[error("telephone-event was not negotiated on that leg")]
    NoTelephoneEvent,
    /// Not `0-9*#A-D`.
    #[error("{0:?} is not a DTMF key")]
    NotADtmfKey(char),
    /// The bridge has ended.
    #[error("the bridge has ended")]
    Ended,
}
