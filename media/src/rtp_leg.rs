//! A plain RTP/AVP leg (a desk phone, a trunk): UDP, no ICE, no encryption.
//!
//! Symmetric RTP (RFC 4961): a phone behind NAT sends from an address its SDP does not
//! name, so the leg sends to the SDP's address only until the first valid RTP packet
//! arrives, then latches to that packet's source for the rest of the call. After latching,
//! packets from any other source are dropped (someone guessing our port cannot take over
//! the call). RTCP is recognised and ignored, but keeps the leg alive.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use crate::codec::{Codec, Formats};
use crate::rtp::{DatagramKind, RtpHeader, TelephoneEvent, classify, parse_rtp, write_rtp};
use crate::{DtmfEvent, LegEvent, LegOutput, MediaError, RtpFrame, Transmit};

/// How a plain RTP leg is set up.
#[derive(Debug, Clone)]
pub struct RtpLegConfig {
    /// Our socket (an address from `--media-address` and a port from the `PortPool`).
    pub local: SocketAddr,
    /// The SSRC we send with (the driver picks it at random).
    pub ssrc: u32,
}

/// One plain RTP leg, sans-IO: datagrams in with [`RtpLeg::handle_input`], datagrams and
/// events out with [`RtpLeg::poll_output`]. It has no timers of its own.
#[derive(Debug)]
pub struct RtpLeg {
    config: RtpLegConfig,
    /// Where the SDP says to send.
    remote: Option<SocketAddr>,
    /// The source of the first valid RTP packet (symmetric RTP).
    latched: Option<SocketAddr>,
    formats: Formats,
    out: VecDeque<LegOutput>,
    last_media: Instant,
    /// The (SSRC, timestamp) of the last telephone-event whose end was reported.
    last_dtmf_end: Option<(u32, u32)>,
    dropped: u64,
}

impl RtpLeg {
    /// A leg that has not heard from its peer yet; `now` starts its silence clock.
    pub fn new(config: RtpLegConfig, now: Instant) -> RtpLeg {
        RtpLeg {
            config,
            remote: None,
            latched: None,
            formats: Formats::default(),
            out: VecDeque::new(),
            last_media: now,
            last_dtmf_end: None,
            dropped: 0,
        }
    }

    /// Our socket address.
    pub fn local(&self) -> SocketAddr {
        self.config.local
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.config.ssrc
    }

    /// Sets what the peer's SDP says: where to send, and the negotiated payload formats.
    pub fn set_remote(&mut self, addr: SocketAddr, formats: Formats) {
        self.remote = Some(addr);
        self.formats = formats;
    }

    /// Restarts the silence clock (a call taken off hold gets the whole timeout to resume).
    pub fn touch(&mut self, now: Instant) {
        self.last_media = now;
    }

    /// The negotiated payload formats.
    pub fn formats(&self) -> &Formats {
        &self.formats
    }

    /// The address packets go to: the latched source, else the SDP's.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.remote)
    }

    /// The address latched from the first valid RTP packet.
    pub fn latched(&self) -> Option<SocketAddr> {
        self.latched
    }

    /// When the last valid RTP or RTCP packet arrived (or the leg was made).
    pub fn last_media(&self) -> Instant {
        self.last_media
    }

    /// Datagrams dropped as malformed, unnegotiated or from a stranger.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Handles a datagram that arrived on our socket from `from`. A datagram that is not
    /// valid RTP/RTCP of this call is dropped and the reason returned; the leg is unchanged.
    pub fn handle_input(
        &mut self,
        datagram: &[u8],
        from: SocketAddr,
        now: Instant,
    ) -> Result<(), MediaError> {
        let result = self.receive(datagram, from, now);
        if result.is_err() {
            self.dropped += 1;
        }
        result
    }

    fn receive(
        &mut self,
        datagram: &[u8],
        from: SocketAddr,
        now: Instant,
    ) -> Result<(), MediaError> {
        if let Some(latched) = self.latched
            && latched != from
        {
            return Err(MediaError::UnexpectedSource(from));
        }
        match classify(datagram) {
            DatagramKind::Rtcp => {
                if datagram.len() >= 8 && self.latched.is_some() {
                    self.last_media = now;
                }
                return Ok(());
            }
            DatagramKind::Rtp => {}
            _ => return Err(MediaError::NotRtp),
        }
        let packet = parse_rtp(datagram)?;
        let h = packet.header;
        let format = self
            .formats
            .by_pt(h.pt)
            .ok_or(MediaError::UnknownPayloadType(h.pt))?;
        let dtmf = if format.codec == Codec::TelephoneEvent {
            Some(TelephoneEvent::parse(packet.payload)?)
        } else {
            None
        };
        if self.latched.is_none() {
            self.latched = Some(from);
        }
        self.last_media = now;
        if let Some(ev) = dtmf
            && ev.end
            && self.last_dtmf_end != Some((h.ssrc, h.timestamp))
        {
            // The end packet is sent three times (RFC 4733 2.5.1.4): report it once.
            self.last_dtmf_end = Some((h.ssrc, h.timestamp));
            if let Some(digit) = ev.digit() {
                self.out
                    .push_back(LegOutput::Event(LegEvent::Dtmf(DtmfEvent {
                        digit,
                        duration: ev.duration,
                    })));
            }
        }
        self.out.push_back(LegOutput::Event(LegEvent::Rtp(RtpFrame {
            header: h,
            payload: packet.payload.to_vec(),
        })));
        Ok(())
    }

    /// Sends an RTP packet with our SSRC and the given payload type, sequence number,
    /// timestamp and marker. Nothing is sent before the peer's address is known.
    pub fn send_rtp(&mut self, mut header: RtpHeader, payload: &[u8]) -> Result<(), MediaError> {
        let to = self.destination().ok_or(MediaError::NoRemote)?;
        header.ssrc = self.config.ssrc;
        let mut datagram = Vec::with_capacity(crate::rtp::RTP_HEADER_LEN + payload.len());
        write_rtp(&header, payload, &mut datagram);
        self.out.push_back(LegOutput::Transmit(Transmit {
            from: self.config.local,
            to,
            payload: datagram,
        }));
        Ok(())
    }

    /// The next datagram to send or event to handle; `None` when there is nothing.
    pub fn poll_output(&mut self) -> Option<LegOutput> {
        self.out.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::PayloadFormat;

    fn leg() -> (RtpLeg, Instant) {
        let now = Instant::now();
        let mut leg = RtpLeg::new(
            RtpLegConfig {
                local: "10.0.0.1:40000".parse().unwrap(),
                ssrc: 7,
            },
            now,
        );
        leg.set_remote(
            "192.168.1.20:5004".parse().unwrap(),
            Formats(vec![
                PayloadFormat::pcmu(),
                PayloadFormat::telephone_event(101),
            ]),
        );
        (leg, now)
    }

    fn rtp(pt: u8, seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let h = RtpHeader {
            marker: false,
            pt,
            seq,
            timestamp: u32::from(seq) * 160,
            ssrc: 99,
        };
        write_rtp(&h, payload, &mut out);
        out
    }

    fn transmits(leg: &mut RtpLeg) -> Vec<Transmit> {
        let mut v = Vec::new();
        while let Some(o) = leg.poll_output() {
            if let LegOutput::Transmit(t) = o {
                v.push(t);
            }
        }
        v
    }

    #[test]
    fn symmetric_rtp_latches_to_the_real_source() {
        let (mut leg, now) = leg();
        let h = RtpHeader {
            marker: false,
            pt: 0,
            seq: 1,
            timestamp: 160,
            ssrc: 0,
        };
        leg.send_rtp(h, &[1; 160]).unwrap();
        assert_eq!(
            transmits(&mut leg)[0].to,
            "192.168.1.20:5004".parse().unwrap()
        );

        // Junk from the NAT's address does not latch.
        let nat: SocketAddr = "198.51.100.7:31000".parse().unwrap();
        assert!(leg.handle_input(&[0x80, 0, 1], nat, now).is_err());
        assert!(leg.handle_input(&rtp(18, 1, &[0; 20]), nat, now).is_err());
        assert_eq!(leg.latched(), None);

        leg.handle_input(&rtp(0, 1, &[0xff; 160]), nat, now)
            .unwrap();
        assert_eq!(leg.latched(), Some(nat));
        leg.send_rtp(h, &[1; 160]).unwrap();
        let sent = transmits(&mut leg);
        assert_eq!(sent.last().unwrap().to, nat);
        let p = parse_rtp(&sent.last().unwrap().payload).unwrap();
        assert_eq!(p.header.ssrc, 7);

        // Another source cannot take the call over.
        let stranger: SocketAddr = "203.0.113.66:9".parse().unwrap();
        assert_eq!(
            leg.handle_input(&rtp(0, 2, &[0; 160]), stranger, now),
            Err(MediaError::UnexpectedSource(stranger))
        );
        assert_eq!(leg.dropped(), 3);
    }

    #[test]
    fn reports_each_dtmf_end_once() {
        let (mut leg, now) = leg();
        let from: SocketAddr = "192.168.1.20:5004".parse().unwrap();
        let ev = |end, duration| {
            TelephoneEvent {
                event: 5,
                end,
                volume: 10,
                duration,
            }
            .to_bytes()
        };
        for (seq, (end, d)) in (10u16..).zip([
            (false, 160),
            (false, 320),
            (true, 800),
            (true, 800),
            (true, 800),
        ]) {
            let mut p = Vec::new();
            let h = RtpHeader {
                marker: seq == 10,
                pt: 101,
                seq,
                timestamp: 4000,
                ssrc: 99,
            };
            write_rtp(&h, &ev(end, d), &mut p);
            leg.handle_input(&p, from, now).unwrap();
        }
        let mut digits = Vec::new();
        while let Some(o) = leg.poll_output() {
            if let LegOutput::Event(LegEvent::Dtmf(d)) = o {
                digits.push((d.digit, d.duration));
            }
        }
        assert_eq!(digits, vec![('5', 800)]);
        // A short telephone-event payload is refused.
        assert!(leg.handle_input(&rtp(101, 20, &[1, 2]), from, now).is_err());
    }
}
