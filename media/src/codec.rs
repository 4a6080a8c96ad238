//! Payload formats as negotiated in SDP, and how a bridge maps one side's payload types to
//! the other's.

use std::fmt;

/// An RTP payload format the media plane knows by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 μ-law (static payload type 0).
    Pcmu,
    /// G.711 A-law (static payload type 8).
    Pcma,
    /// Opus (browsers; relayed only to another Opus leg: no transcoding yet).
    Opus,
    /// RFC 4733 telephone-event (DTMF).
    TelephoneEvent,
    /// Anything else (G729, G722, CN...), by its encoding name as written in the SDP.
    Other(String),
}

impl Codec {
    /// The codec of an `a=rtpmap` encoding name (case-insensitive).
    pub fn from_name(name: &str) -> Codec {
        match name.to_ascii_lowercase().as_str() {
            "pcmu" => Codec::Pcmu,
            "pcma" => Codec::Pcma,
            "opus" => Codec::Opus,
            "telephone-event" => Codec::TelephoneEvent,
            _ => Codec::Other(name.to_owned()),
        }
    }

    /// Is this G.711 (relayable between browsers and desk phones without transcoding)?
    pub fn is_g711(&self) -> bool {
        matches!(self, Codec::Pcmu | Codec::Pcma)
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Codec::Pcmu => f.write_str("PCMU"),
            Codec::Pcma => f.write_str("PCMA"),
            Codec::Opus => f.write_str("opus"),
            Codec::TelephoneEvent => f.write_str("telephone-event"),
            Codec::Other(name) => f.write_str(name),
        }
    }
}

/// One payload type of a negotiated (or offered) m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFormat {
    /// The payload type number on that leg.
    pub pt: u8,
    /// What it carries.
    pub codec: Codec,
    /// RTP clock rate.
    pub clock_rate: u32,
}

impl PayloadFormat {
    /// A format.
    pub fn new(pt: u8, codec: Codec, clock_rate: u32) -> PayloadFormat {
        PayloadFormat {
            pt,
            codec,
            clock_rate,
        }
    }

    /// PCMU on its static payload type 0.
    pub fn pcmu() -> PayloadFormat {
        PayloadFormat::new(0, Codec::Pcmu, 8000)
    }

    /// PCMA on its static payload type 8.
    pub fn pcma() -> PayloadFormat {
        PayloadFormat::new(8, Codec::Pcma, 8000)
    }

    /// telephone-event/8000 on payload type `pt`.
    pub fn telephone_event(pt: u8) -> PayloadFormat {
        PayloadFormat::new(pt, Codec::TelephoneEvent, 8000)
    }
}

/// The payload formats a leg sends and receives, in the order negotiated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Formats(pub Vec<PayloadFormat>);

impl Formats {
    /// The format of payload type `pt`.
    pub fn by_pt(&self, pt: u8) -> Option<&PayloadFormat> {
        self.0.iter().find(|f| f.pt == pt)
    }

    /// The first format carrying `codec` at `clock_rate`.
    pub fn by_codec(&self, codec: &Codec, clock_rate: u32) -> Option<&PayloadFormat> {
        self.0
            .iter()
            .find(|f| &f.codec == codec && f.clock_rate == clock_rate)
    }

    /// The telephone-event payload type at 8 kHz, if negotiated.
    pub fn telephone_event(&self) -> Option<u8> {
        self.by_codec(&Codec::TelephoneEvent, 8000).map(|f| f.pt)
    }

    /// Codec names, joined with `/` (for messages: `PCMU/PCMA/opus`).
    pub fn names(&self) -> String {
        let mut names: Vec<String> = Vec::new();
        for f in &self.0 {
            let n = f.codec.to_string();
            if f.codec != Codec::TelephoneEvent && !names.contains(&n) {
                names.push(n);
            }
        }
        names.join("/")
    }
}

/// Maps payload types of one leg to the other's, by codec and clock rate (both directions
/// are built from the two legs' negotiated formats; a payload type with no counterpart is
/// dropped, as relaying it would need transcoding).
#[derive(Debug, Clone)]
pub struct PtMap {
    map: [Option<u8>; 128],
}

impl PtMap {
    /// The map from `from`'s payload types to `to`'s.
    pub fn new(from: &Formats, to: &Formats) -> PtMap {
        let mut map = [None; 128];
        for f in &from.0 {
            if let Some(t) = to.by_codec(&f.codec, f.clock_rate) {
                map[usize::from(f.pt & 0x7f)] = Some(t.pt);
            }
        }
        PtMap { map }
    }

    /// The payload type to send for received payload type `pt`.
    pub fn get(&self, pt: u8) -> Option<u8> {
        self.map[usize::from(pt & 0x7f)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_by_codec_not_number() {
        let browser = Formats(vec![
            PayloadFormat::new(111, Codec::Opus, 48000),
            PayloadFormat::pcmu(),
            PayloadFormat::telephone_event(126),
        ]);
        let phone = Formats(vec![
            PayloadFormat::pcmu(),
            PayloadFormat::telephone_event(101),
        ]);
        let m = PtMap::new(&browser, &phone);
        assert_eq!(m.get(0), Some(0));
        assert_eq!(m.get(126), Some(101));
        assert_eq!(m.get(111), None);
        assert_eq!(m.get(255), None);
        assert_eq!(browser.names(), "opus/PCMU");
        assert_eq!(Codec::from_name("g729"), Codec::Other("g729".into()));
    }
}
