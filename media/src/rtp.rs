//! RTP (RFC 3550) and RFC 4733 telephone-event packets: parsing and writing, no IO.
//!
//! Everything here reads bytes from the network, so every length is checked and a broken
//! packet is an [`RtpError`], never a panic.

use thiserror::Error;

/// The fixed RTP header is 12 bytes (RFC 3550 5.1).
pub const RTP_HEADER_LEN: usize = 12;

/// Why a datagram is not a usable RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than the header it announces.
    #[error("packet too short: {len} bytes, {needed} needed")]
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes the header says there must be.
        needed: usize,
    },
    /// The version bits are not 2.
    #[error("RTP version {0}, not 2")]
    Version(u8),
    /// The padding count is zero or longer than the payload.
    #[error("bad padding length {0}")]
    Padding(u8),
    /// An RTCP packet (RFC 5761 4: second byte 192–223; RTP avoids payload types 64–95).
    #[error("an RTCP packet, not RTP")]
    Rtcp,
}

/// What a datagram on a media port is, by its first bytes (RFC 7983).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramKind {
    /// STUN (first byte 0–3).
    Stun,
    /// DTLS (first byte 20–63).
    Dtls,
    /// RTP (first byte 128–191, not an RTCP packet type).
    Rtp,
    /// RTCP (first byte 128–191, second byte 192–223; RFC 5761 4).
    Rtcp,
    /// Anything else: dropped.
    Other,
}

/// Classifies a datagram received on a media port (RFC 7983, RFC 5761).
pub fn classify(datagram: &[u8]) -> DatagramKind {
    match datagram.first() {
        Some(0..=3) => DatagramKind::Stun,
        Some(20..=63) => DatagramKind::Dtls,
        Some(128..=191) => match datagram.get(1) {
            Some(192..=223) => DatagramKind::Rtcp,
            Some(_) => DatagramKind::Rtp,
            None => DatagramKind::Other,
        },
        _ => DatagramKind::Other,
    }
}

/// The fields of an RTP header the media plane uses (CSRCs and extensions are skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// The marker bit (start of a talkspurt for audio, start of an event for RFC 4733).
    pub marker: bool,
    /// Payload type, 0–127.
    pub pt: u8,
    /// Sequence number.
    pub seq: u16,
    /// Media timestamp in the payload's clock rate.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
}

/// A parsed RTP packet borrowing its payload from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header.
    pub header: RtpHeader,
    /// The payload, without CSRCs, header extension and padding.
    pub payload: &'a [u8],
}

/// Parses an RTP packet, checking every length against the datagram.
pub fn parse_rtp(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    if buf.len() < RTP_HEADER_LEN {
        return Err(RtpError::TooShort {
            len: buf.len(),
            needed: RTP_HEADER_LEN,
        });
    }
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(RtpError::Version(version));
    }
    if classify(buf) == DatagramKind::Rtcp {
        return Err(RtpError::Rtcp);
    }
    let padding = buf[0] & 0x20 != 0;
    let extension = buf[0] & 0x10 != 0;
    let csrc_count = usize::from(buf[0] & 0x0f);
    let header = RtpHeader {
        marker: buf[1] & 0x80 != 0,
        pt: buf[1] & 0x7f,
        seq: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
    };
    let mut start = RTP_HEADER_LEN + 4 * csrc_count;
    if extension {
        // 16-bit profile, 16-bit length in 32-bit words (RFC 3550 5.3.1).
        let needed = start + 4;
        if buf.len() < needed {
            return Err(RtpError::TooShort {
                len: buf.len(),
                needed,
            });
        }
        let words = usize::from(u16::from_be_bytes([buf[start + 2], buf[start + 3]]));
        start = needed + 4 * words;
    }
    if buf.len() < start {
        return Err(RtpError::TooShort {
            len: buf.len(),
            needed: start,
        });
    }
    let mut end = buf.len();
    if padding {
        let count = buf[end - 1];
        if count == 0 || usize::from(count) > end - start {
            return Err(RtpError::Padding(count));
        }
        end -= usize::from(count);
    }
    Ok(RtpPacket {
        header,
        payload: &buf[start..end],
    })
}

/// Writes an RTP packet (no CSRCs, no extension, no padding) to the end of `out`.
pub fn write_rtp(header: &RtpHeader, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(RTP_HEADER_LEN + payload.len());
    out.push(0x80);
    out.push((u8::from(header.marker) << 7) | (header.pt & 0x7f));
    out.extend_from_slice(&header.seq.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

/// An RFC 4733 telephone-event payload (section 2.3): 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code: 0–9, 10 `*`, 11 `#`, 12–15 A–D, 16 flash (RFC 4733 3.2).
    pub event: u8,
    /// The E bit: the event has ended.
    pub end: bool,
    /// Power level in −dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in timestamp units (8 kHz: 8 per millisecond).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Payload length.
    pub const LEN: usize = 4;

    /// Parses the first event of a telephone-event payload.
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, RtpError> {
        if payload.len() < Self::LEN {
            return Err(RtpError::TooShort {
                len: payload.len(),
                needed: Self::LEN,
            });
        }
        Ok(TelephoneEvent {
            event: payload[0],
            end: payload[1] & 0x80 != 0,
            volume: payload[1] & 0x3f,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }

    /// The 4 payload bytes.
    pub fn to_bytes(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }

    /// The DTMF key of this event, if it is one (`0-9*#A-D`).
    pub fn digit(&self) -> Option<char> {
        dtmf_digit(self.event)
    }
}

/// The key an RFC 4733 DTMF event code stands for.
pub fn dtmf_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// The RFC 4733 event code of a DTMF key (`0-9*#A-D`, case-insensitive).
pub fn dtmf_event(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(header: RtpHeader, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_rtp(&header, payload, &mut out);
        out
    }

    const H: RtpHeader = RtpHeader {
        marker: true,
        pt: 8,
        seq: 65535,
        timestamp: 0xdead_beef,
        ssrc: 0x0102_0304,
    };

    #[test]
    fn round_trips() {
        let bytes = packet(H, &[1, 2, 3]);
        let p = parse_rtp(&bytes).unwrap();
        assert_eq!(p.header, H);
        assert_eq!(p.payload, &[1, 2, 3]);
    }

    #[test]
    fn skips_csrcs_extension_and_padding() {
        let mut b = vec![0x80 | 0x20 | 0x10 | 2, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        b.extend_from_slice(&[9; 8]); // two CSRCs
        b.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]); // one-word extension
        b.extend_from_slice(&[42, 43]); // payload
        b.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let p = parse_rtp(&b).unwrap();
        assert_eq!(p.payload, &[42, 43]);
        assert_eq!(p.header.seq, 1);
    }

    #[test]
    fn rejects_broken_packets() {
        assert!(matches!(
            parse_rtp(&[0x80; 11]),
            Err(RtpError::TooShort { .. })
        ));
        assert_eq!(parse_rtp(&[0x40; 12]), Err(RtpError::Version(1)));
        let mut csrc = packet(H, &[]);
        csrc[0] |= 0x0f;
        assert!(matches!(parse_rtp(&csrc), Err(RtpError::TooShort { .. })));
        let mut ext = packet(H, &[0, 0, 0xff, 0xff]);
        ext[0] |= 0x10;
        assert!(matches!(parse_rtp(&ext), Err(RtpError::TooShort { .. })));
        let mut pad = packet(H, &[1, 2, 200]);
        pad[0] |= 0x20;
        assert_eq!(parse_rtp(&pad), Err(RtpError::Padding(200)));
        let mut zero_pad = packet(H, &[1, 0]);
        zero_pad[0] |= 0x20;
        assert_eq!(parse_rtp(&zero_pad), Err(RtpError::Padding(0)));
        let rtcp = [0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(parse_rtp(&rtcp), Err(RtpError::Rtcp));
    }

    /// Fuzz-like: every prefix and thousands of pseudo-random mutations of valid packets
    /// parse or fail cleanly, and a parsed payload always lies inside the datagram.
    #[test]
    fn never_panics_on_hostile_bytes() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let base = packet(H, &[5; 40]);
        for n in 0..=base.len() {
            let _ = parse_rtp(&base[..n]);
        }
        for _ in 0..20_000 {
            let len = (next() % 80) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() % 2 == 0 && !buf.is_empty() {
                buf[0] = 0x80 | (buf[0] & 0x3f);
            }
            if let Ok(p) = parse_rtp(&buf) {
                let start = p.payload.as_ptr() as usize - buf.as_ptr() as usize;
                assert!(start + p.payload.len() <= buf.len());
                assert!(start >= RTP_HEADER_LEN);
            }
            let _ = TelephoneEvent::parse(&buf);
            let _ = classify(&buf);
        }
    }

    #[test]
    fn telephone_events() {
        let e = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()).unwrap(), e);
        assert_eq!(e.digit(), Some('#'));
        assert!(TelephoneEvent::parse(&[1, 2, 3]).is_err());
        for d in "0123456789*#ABCD".chars() {
            assert_eq!(dtmf_event(d).and_then(dtmf_digit), Some(d));
        }
        assert_eq!(dtmf_event('x'), None);
        assert_eq!(dtmf_digit(16), None);
    }

    #[test]
    fn classifies_by_first_byte() {
        assert_eq!(classify(&[0, 1]), DatagramKind::Stun);
        assert_eq!(classify(&[22, 254]), DatagramKind::Dtls);
        assert_eq!(classify(&[0x80, 0]), DatagramKind::Rtp);
        assert_eq!(classify(&[0x81, 201]), DatagramKind::Rtcp);
        assert_eq!(classify(&[0x80]), DatagramKind::Other);
        assert_eq!(classify(&[]), DatagramKind::Other);
        assert_eq!(classify(&[255]), DatagramKind::Other);
    }
}
