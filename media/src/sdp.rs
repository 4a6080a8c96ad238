//! SDP rewriting for each transport combination the gateway bridges.
//!
//! The gateway is in the media path: each side sees the gateway's media address, never the
//! other side's. Who writes which description:
//!
//! | caller → callee   | offer to the callee              | answer to the caller                     |
//! |-------------------|----------------------------------|------------------------------------------|
//! | browser → phone   | [`offer_for_phone`]              | the `WebRtcLeg`'s answer, restricted to the codec [`answer_from_phone`] found |
//! | phone → browser   | the `WebRtcLeg`'s offer, with the codecs [`phone_offer`] found | [`answer_for_phone`] |
//! | phone → phone     | [`relay`] (our address, codecs kept) | [`relay`]                           |
//!
//! Browsers and phones meet on G.711 (PCMU/PCMA, which browsers offer too); Opus ↔ G.711
//! transcoding is a later step, so a side without G.711 is refused with 488 and a reason
//! ([`Rejection`]). DTMF: phones get telephone-event (RFC 4733); the browser's DTMF reaches
//! the gateway as SIP INFO (str0m 0.23 does not negotiate telephone-event, see the crate
//! docs) and the bridge turns it into RFC 4733 packets.
//!
//! Parsing and serialising is the SIP crate's (`centrala_sip::sdp`): one SDP parser.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use centrala_sip::sdp::{Attribute, Connection, Direction, Media, SessionDescription};
use thiserror::Error;

use crate::codec::{Codec, Formats, PayloadFormat};

/// Which side of a bridge a description came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The WebRTC side (a browser).
    Browser,
    /// The plain RTP side (a desk phone, trunk...).
    Phone,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Browser => "browser",
            Side::Phone => "phone",
        })
    }
}

/// Why a description cannot be bridged: the SIP answer is 488 with this as its reason
/// ([`Rejection::status_line`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The SDP does not parse.
    #[error("bad SDP from the {side}: {error}")]
    Malformed {
        /// Whose SDP.
        side: Side,
        /// The parser's reason.
        error: String,
    },
    /// No usable audio stream (no m=audio with a port, or no address).
    #[error("no audio stream in the {side}'s SDP")]
    NoAudio {
        /// Whose SDP.
        side: Side,
    },
    /// The two sides share no codec the gateway can relay.
    #[error(
        "no common codec: the {side} offers {offered}, the {other} {supported}{}",
        if *.transcoding_needed { " (Opus from a plain RTP phone is not carried yet)" } else { "" }
    )]
    NoCommonCodec {
        /// Who offered.
        side: Side,
        /// What it offered (`G729`).
        offered: String,
        /// The other side.
        other: Side,
        /// What the other side takes (`PCMU/PCMA/opus`).
        supported: String,
        /// The phone offers Opus over plain RTP (not carried yet; a browser's Opus is
        /// transcoded to G.711).
        transcoding_needed: bool,
    },
}

impl Rejection {
    /// The SIP status for this rejection.
    pub fn status(&self) -> u16 {
        488
    }

    /// `488 Not Acceptable Here (reason)`.
    pub fn status_line(&self) -> String {
        format!("488 Not Acceptable Here ({self})")
    }
}

/// Session identifiers for the `o=` line of descriptions the gateway writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// `sess-id`, fixed for the call.
    pub session_id: u64,
    /// `sess-version`, incremented by the caller for each new description.
    pub version: u64,
}

/// The audio stream of a description: where to send, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioStream {
    /// The address and port in `c=` and `m=audio`.
    pub addr: SocketAddr,
    /// The payload formats, in the description's order.
    pub formats: Formats,
    /// Its direction.
    pub direction: Direction,
}

/// Codec names browsers and the WebRTC leg support (for messages).
const BROWSER_CODECS: &str = "PCMU/PCMA/opus";
/// The payload type we offer telephone-event on when we choose one.
pub const TELEPHONE_EVENT_PT: u8 = 101;

fn parse(sdp: &str, side: Side) -> Result<SessionDescription, Rejection> {
    SessionDescription::parse(sdp.as_bytes()).map_err(|e| Rejection::Malformed {
        side,
        error: e.to_string(),
    })
}

fn audio_section(desc: &SessionDescription) -> Option<&Media> {
    desc.media.iter().find(|m| m.kind == "audio" && m.port != 0)
}

/// The payload formats of an m-line: `a=rtpmap`, else the RFC 3551 static assignments.
pub fn formats_of(media: &Media) -> Formats {
    let mut out = Vec::new();
    for f in &media.formats {
        let Ok(pt) = f.parse::<u8>() else { continue };
        if pt > 127 {
            continue;
        }
        let format = match media.rtpmap(f) {
            Some(enc) => {
                let mut parts = enc.split('/');
                let name = parts.next().unwrap_or_default();
                let clock = parts.next().and_then(|c| c.parse().ok()).unwrap_or(8000);
                PayloadFormat::new(pt, Codec::from_name(name), clock)
            }
            None => match pt {
                0 => PayloadFormat::pcmu(),
                8 => PayloadFormat::pcma(),
                3 => PayloadFormat::new(3, Codec::Other("GSM".into()), 8000),
                4 => PayloadFormat::new(4, Codec::Other("G723".into()), 8000),
                9 => PayloadFormat::new(9, Codec::Other("G722".into()), 8000),
                18 => PayloadFormat::new(18, Codec::Other("G729".into()), 8000),
                _ => PayloadFormat::new(pt, Codec::Other(format!("PT{pt}")), 8000),
            },
        };
        out.push(format);
    }
    Formats(out)
}

/// The audio stream of a description from `side`.
pub fn audio_stream(sdp: &str, side: Side) -> Result<AudioStream, Rejection> {
    let desc = parse(sdp, side)?;
    stream_of(&desc, side)
}

fn stream_of(desc: &SessionDescription, side: Side) -> Result<AudioStream, Rejection> {
    let media = audio_section(desc).ok_or(Rejection::NoAudio { side })?;
    let conn = media
        .connections
        .first()
        .or(desc.connection.as_ref())
        .ok_or(Rejection::NoAudio { side })?;
    let ip: IpAddr = conn
        .address
        .split('/')
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|_| Rejection::NoAudio { side })?;
    Ok(AudioStream {
        addr: SocketAddr::new(ip, media.port),
        formats: formats_of(media),
        direction: media.direction(desc),
    })
}

fn g711_of(formats: &Formats) -> Formats {
    Formats(
        formats
            .0
            .iter()
            .filter(|f| f.codec.is_g711() && f.clock_rate == 8000)
            .cloned()
            .collect(),
    )
}

fn offered_names(formats: &Formats) -> String {
    let n = formats.names();
    if n.is_empty() { "nothing".into() } else { n }
}

fn direction_attr(d: Direction) -> &'static str {
    match d {
        Direction::SendRecv => "sendrecv",
        Direction::SendOnly => "sendonly",
        Direction::RecvOnly => "recvonly",
        Direction::Inactive => "inactive",
    }
}

fn reverse(d: Direction) -> Direction {
    match d {
        Direction::SendOnly => Direction::RecvOnly,
        Direction::RecvOnly => Direction::SendOnly,
        other => other,
    }
}

/// Writes a plain RTP/AVP audio description from the gateway.
fn write_rtp_avp(ours: SocketAddr, origin: Origin, formats: &Formats, dir: Direction) -> String {
    let ip4 = if ours.is_ipv4() { "IP4" } else { "IP6" };
    let ip = ours.ip();
    let pts: Vec<String> = formats.0.iter().map(|f| f.pt.to_string()).collect();
    let mut s = format!(
        "v=0\r\no=centrala {} {} IN {ip4} {ip}\r\ns=centrala\r\nc=IN {ip4} {ip}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP {}\r\n",
        origin.session_id,
        origin.version,
        ours.port(),
        pts.join(" ")
    );
    for f in &formats.0 {
        s.push_str(&format!(
            "a=rtpmap:{} {}/{}\r\n",
            f.pt, f.codec, f.clock_rate
        ));
        if f.codec == Codec::TelephoneEvent {
            s.push_str(&format!("a=fmtp:{} 0-16\r\n", f.pt));
        }
    }
    s.push_str("a=ptime:20\r\n");
    s.push_str(&format!("a={}\r\n", direction_attr(dir)));
    s
}

/// WebRTC → RTP: the offer to send the phone for a browser's offer. Offers the browser's
/// G.711 codecs in its order, and telephone-event (the gateway makes RFC 4733 packets from
/// the browser's SIP INFO DTMF), from our media address.
pub fn offer_for_phone(
    browser_offer: &str,
    ours: SocketAddr,
    origin: Origin,
) -> Result<String, Rejection> {
    offer_for_carrier(browser_offer, ours, origin, &[])
}

/// WebRTC → a carrier's trunk: [`offer_for_phone`], with only the G.711 codecs the carrier
/// takes, in its order of preference (`carrier`; empty: the browser's G.711 codecs in its
/// order). When the browser has none of them but has Opus, the carrier's are offered and
/// the bridge transcodes.
pub fn offer_for_carrier(
    browser_offer: &str,
    ours: SocketAddr,
    origin: Origin,
    carrier: &[Codec],
) -> Result<String, Rejection> {
    let browser = audio_stream(browser_offer, Side::Browser)?;
    let mut formats = g711_of(&browser.formats);
    if !carrier.is_empty() {
        let mut ordered = Vec::new();
        for c in carrier {
            if let Some(f) = formats.0.iter().find(|f| &f.codec == c) {
                ordered.push(f.clone());
            }
        }
        if ordered.is_empty() && browser.formats.by_codec(&Codec::Opus, 48000).is_some() {
            ordered = carrier
                .iter()
                .filter_map(|c| match c {
                    Codec::Pcmu => Some(PayloadFormat::pcmu()),
                    Codec::Pcma => Some(PayloadFormat::pcma()),
                    _ => None,
                })
                .collect();
        }
        if ordered.is_empty() {
            return Err(Rejection::NoCommonCodec {
                side: Side::Browser,
                offered: offered_names(&browser.formats),
                other: Side::Phone,
                supported: carrier
                    .iter()
                    .map(|c| format!("{c:?}").to_uppercase())
                    .collect::<Vec<_>>()
                    .join("/"),
                transcoding_needed: false,
            });
        }
        formats = Formats(ordered);
    }
    if formats.0.is_empty() {
        if browser.formats.by_codec(&Codec::Opus, 48000).is_none() {
            return Err(Rejection::NoCommonCodec {
                side: Side::Browser,
                offered: offered_names(&browser.formats),
                other: Side::Phone,
                supported: "PCMU/PCMA/opus".into(),
                transcoding_needed: false,
            });
        }
        // Opus alone: the bridge transcodes (see `crate::transcode`); the phone is offered
        // G.711 in the usual order.
        formats = Formats(vec![PayloadFormat::pcmu(), PayloadFormat::pcma()]);
    }
    formats
        .0
        .push(PayloadFormat::telephone_event(TELEPHONE_EVENT_PT));
    Ok(write_rtp_avp(ours, origin, &formats, browser.direction))
}

/// WebRTC → RTP: reads the phone's answer to [`offer_for_phone`]. The first G.711 codec in
/// it is the one the browser gets in the `WebRtcLeg`'s answer (its `WebRtcConfig::codecs`).
pub fn answer_from_phone(phone_answer: &str) -> Result<(AudioStream, Codec), Rejection> {
    let phone = audio_stream(phone_answer, Side::Phone)?;
    let chosen = g711_of(&phone.formats).0.first().map(|f| f.codec.clone());
    match chosen {
        Some(codec) => Ok((phone, codec)),
        None => Err(Rejection::NoCommonCodec {
            side: Side::Phone,
            offered: offered_names(&phone.formats),
            other: Side::Browser,
            supported: BROWSER_CODECS.into(),
            transcoding_needed: false,
        }),
    }
}

/// WebRTC → RTP: the codec the browser's leg is answered with once the phone chose
/// `phone_codec`: the same when the browser offered it (relayed as is), else Opus (the
/// bridge transcodes).
pub fn browser_codec(browser_offer: &str, phone_codec: &Codec) -> Result<Codec, Rejection> {
    let browser = audio_stream(browser_offer, Side::Browser)?;
    if browser.formats.by_codec(phone_codec, 8000).is_some() {
        Ok(phone_codec.clone())
    } else if browser.formats.by_codec(&Codec::Opus, 48000).is_some() {
        Ok(Codec::Opus)
    } else {
        Err(Rejection::NoCommonCodec {
            side: Side::Browser,
            offered: offered_names(&browser.formats),
            other: Side::Phone,
            supported: phone_codec.to_string(),
            transcoding_needed: false,
        })
    }
}

/// RTP → WebRTC: reads a phone's offer. Its G.711 codecs, in its order, are the codecs the
/// `WebRtcLeg` offers the browser.
pub fn phone_offer(phone_offer: &str) -> Result<(AudioStream, Vec<Codec>), Rejection> {
    let phone = audio_stream(phone_offer, Side::Phone)?;
    let codecs: Vec<Codec> = g711_of(&phone.formats)
        .0
        .into_iter()
        .map(|f| f.codec)
        .collect();
    if codecs.is_empty() {
        return Err(Rejection::NoCommonCodec {
            side: Side::Phone,
            offered: offered_names(&phone.formats),
            other: Side::Browser,
            supported: BROWSER_CODECS.into(),
            transcoding_needed: phone.formats.by_codec(&Codec::Opus, 48000).is_some(),
        });
    }
    Ok((phone, codecs))
}

/// RTP → WebRTC: the answer to the phone once the browser has chosen `codec`: that codec on
/// the phone's own payload type, and telephone-event if the phone offered it.
pub fn answer_for_phone(
    phone_offer: &str,
    codec: &Codec,
    ours: SocketAddr,
    origin: Origin,
) -> Result<String, Rejection> {
    let phone = audio_stream(phone_offer, Side::Phone)?;
    let Some(main) = phone.formats.by_codec(codec, 8000).cloned() else {
        return Err(Rejection::NoCommonCodec {
            side: Side::Phone,
            offered: offered_names(&phone.formats),
            other: Side::Browser,
            supported: codec.to_string(),
            transcoding_needed: false,
        });
    };
    let mut formats = vec![main];
    if let Some(te) = phone.formats.by_codec(&Codec::TelephoneEvent, 8000) {
        formats.push(te.clone());
    }
    Ok(write_rtp_avp(
        ours,
        origin,
        &Formats(formats),
        reverse(phone.direction),
    ))
}

/// A new offer to a phone in a call already set up (a re-INVITE): the `formats` negotiated
/// with it, from our media address, `sendonly` to hold it or `sendrecv` to resume.
/// `origin` must be the one of our last description with its version increased (RFC 3264 8).
pub fn phone_reoffer(ours: SocketAddr, origin: Origin, formats: &Formats, hold: bool) -> String {
    let dir = if hold {
        Direction::SendOnly
    } else {
        Direction::SendRecv
    };
    write_rtp_avp(ours, origin, formats, dir)
}

/// RTP ↔ RTP: the same description with the gateway's address: `o=`, `c=` and the audio
/// port become ours, other m-lines are refused (port 0), and attributes that name the
/// other side's transport (`a=rtcp`, ICE, crypto) are dropped. Codecs and payload types
/// are kept, so the bridge relays them unchanged. For offers and answers alike.
pub fn relay(sdp: &str, from: Side, ours: SocketAddr, origin: Origin) -> Result<String, Rejection> {
    let mut desc = parse(sdp, from)?;
    stream_of(&desc, from)?;
    let (ip4, ip) = (
        if ours.is_ipv4() { "IP4" } else { "IP6" },
        ours.ip().to_string(),
    );
    let ours_conn = Connection {
        net_type: "IN".into(),
        addr_type: ip4.into(),
        address: ip.clone(),
    };
    desc.origin.username = "centrala".into();
    desc.origin.session_id = origin.session_id.to_string();
    desc.origin.session_version = origin.version.to_string();
    desc.origin.addr_type = ip4.into();
    desc.origin.address = ip;
    desc.connection = Some(ours_conn.clone());
    let mut audio_done = false;
    for m in &mut desc.media {
        if m.kind == "audio" && m.port != 0 && !audio_done {
            audio_done = true;
            m.port = ours.port();
            m.port_count = None;
            m.connections = vec![ours_conn.clone()];
            m.attributes.retain(|a| !transport_attribute(a));
        } else {
            m.port = 0;
        }
    }
    desc.attributes.retain(|a| !transport_attribute(a));
    Ok(String::from_utf8_lossy(&desc.to_bytes()).into_owned())
}

fn transport_attribute(a: &Attribute) -> bool {
    matches!(
        a.name.as_str(),
        "rtcp"
            | "candidate"
            | "ice-ufrag"
            | "ice-pwd"
            | "ice-options"
            | "ice-lite"
            | "end-of-candidates"
            | "crypto"
            | "fingerprint"
            | "setup"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "203.0.113.5:40000";
    const ORIGIN: Origin = Origin {
        session_id: 42,
        version: 1,
    };

    fn ours() -> SocketAddr {
        OURS.parse().unwrap()
    }

    /// A Chrome-like offer (trimmed): Opus first, G.711 offered too.
    pub const CHROME_OFFER: &str = "v=0\r\n\
        o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
        s=-\r\n\
        t=0 0\r\n\
        a=group:BUNDLE 0\r\n\
        a=msid-semantic: WMS\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126\r\n\
        c=IN IP4 0.0.0.0\r\n\
        a=rtcp:9 IN IP4 0.0.0.0\r\n\
        a=ice-ufrag:abcd\r\n\
        a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\n\
        a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
        a=setup:actpass\r\n\
        a=mid:0\r\n\
        a=sendrecv\r\n\
        a=rtcp-mux\r\n\
        a=rtpmap:111 opus/48000/2\r\n\
        a=fmtp:111 minptime=10;useinbandfec=1\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:126 telephone-event/8000\r\n";

    const OPUS_ONLY_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
        a=rtpmap:111 opus/48000/2\r\n";

    const PHONE_G729: &str = "v=0\r\no=phone 1 1 IN IP4 192.168.1.20\r\ns=-\r\n\
        c=IN IP4 192.168.1.20\r\nt=0 0\r\nm=audio 5004 RTP/AVP 18 101\r\n\
        a=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n";

    const PHONE_OFFER: &str = "v=0\r\no=phone 1 1 IN IP4 192.168.1.20\r\ns=-\r\n\
        c=IN IP4 192.168.1.20\r\nt=0 0\r\nm=audio 5004 RTP/AVP 9 8 0 96\r\n\
        a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\na=rtcp:5005\r\na=sendrecv\r\n\
        m=video 5006 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\n";

    fn check_plain(sdp: &str) -> AudioStream {
        let s = audio_stream(sdp, Side::Phone).unwrap();
        assert_eq!(s.addr, ours());
        assert!(sdp.contains("RTP/AVP"));
        for bad in ["ice-", "fingerprint", "setup", "a=rtcp:", "candidate"] {
            assert!(!sdp.contains(bad), "{bad} in {sdp}");
        }
        s
    }

    #[test]
    fn browser_offer_becomes_a_plain_rtp_offer_for_the_phone() {
        let offer = offer_for_phone(CHROME_OFFER, ours(), ORIGIN).unwrap();
        let s = check_plain(&offer);
        let names: Vec<_> = s
            .formats
            .0
            .iter()
            .map(|f| (f.pt, f.codec.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                (0, Codec::Pcmu),
                (8, Codec::Pcma),
                (TELEPHONE_EVENT_PT, Codec::TelephoneEvent)
            ]
        );
        assert!(offer.contains("o=centrala 42 1 IN IP4 203.0.113.5\r\n"));
        assert!(offer.contains("a=sendrecv\r\n"));
    }

    #[test]
    fn phone_answer_picks_the_codec_for_the_browser() {
        let answer = "v=0\r\no=p 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
            m=audio 7078 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
        let (stream, codec) = answer_from_phone(answer).unwrap();
        assert_eq!(codec, Codec::Pcma);
        assert_eq!(stream.addr, "10.0.0.9:7078".parse().unwrap());
        assert_eq!(stream.formats.telephone_event(), Some(101));
    }

    #[test]
    fn phone_offer_for_the_browser_and_the_answer_back() {
        let (stream, codecs) = phone_offer(PHONE_OFFER).unwrap();
        assert_eq!(codecs, vec![Codec::Pcma, Codec::Pcmu]);
        assert_eq!(stream.addr, "192.168.1.20:5004".parse().unwrap());
        let answer = answer_for_phone(PHONE_OFFER, &Codec::Pcmu, ours(), ORIGIN).unwrap();
        let s = check_plain(&answer);
        let pts: Vec<u8> = s.formats.0.iter().map(|f| f.pt).collect();
        assert_eq!(pts, vec![0, 96], "the phone's own payload types");
        assert!(answer.contains("a=fmtp:96 0-16\r\n"));
    }

    #[test]
    fn phone_to_phone_relay_keeps_codecs_and_hides_the_far_end() {
        let relayed = relay(PHONE_OFFER, Side::Phone, ours(), ORIGIN).unwrap();
        let s = check_plain(&relayed);
        let pts: Vec<u8> = s.formats.0.iter().map(|f| f.pt).collect();
        assert_eq!(pts, vec![9, 8, 0, 96]);
        assert!(relayed.contains("m=video 0 "), "{relayed}");
        assert!(!relayed.contains("192.168.1.20"), "{relayed}");
    }

    #[test]
    fn no_common_codec_is_488_with_the_reason() {
        assert_eq!(
            phone_offer(PHONE_G729).unwrap_err().status_line(),
            "488 Not Acceptable Here (no common codec: the phone offers G729, the browser PCMU/PCMA/opus)"
        );
        let answer = PHONE_G729.replace("5004 RTP/AVP 18 101", "5004 RTP/AVP 18");
        assert_eq!(
            answer_from_phone(&answer).unwrap_err().to_string(),
            "no common codec: the phone offers G729, the browser PCMU/PCMA/opus"
        );
        let no_audio_codec = OPUS_ONLY_OFFER.replace("opus/48000/2", "VP8/90000");
        assert_eq!(
            offer_for_phone(&no_audio_codec, ours(), ORIGIN)
                .unwrap_err()
                .status(),
            488
        );
    }

    #[test]
    fn a_browser_offering_opus_alone_is_transcoded() {
        // The phone is offered G.711; the browser is answered with Opus.
        let offer = offer_for_phone(OPUS_ONLY_OFFER, ours(), ORIGIN).unwrap();
        let s = check_plain(&offer);
        let names: Vec<Codec> = s.formats.0.iter().map(|f| f.codec.clone()).collect();
        assert_eq!(names, [Codec::Pcmu, Codec::Pcma, Codec::TelephoneEvent]);
        assert_eq!(
            browser_codec(OPUS_ONLY_OFFER, &Codec::Pcma).unwrap(),
            Codec::Opus
        );
        // A browser that has the phone's codec gets it, relayed as is.
        assert_eq!(
            browser_codec(CHROME_OFFER, &Codec::Pcma).unwrap(),
            Codec::Pcma
        );
    }

    /// Fuzz-like: mutated browser and phone descriptions are refused or rewritten, never
    /// a panic.
    #[test]
    fn never_panics_on_mutated_sdp() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b" \r\n:/=0123456789abcPCMUAmIN";
        for base in [CHROME_OFFER, PHONE_OFFER, PHONE_G729] {
            for _ in 0..1500 {
                let mut bytes = base.as_bytes().to_vec();
                for _ in 0..(next() % 6 + 1) {
                    let i = (next() as usize) % bytes.len();
                    match next() % 3 {
                        0 => bytes[i] = alphabet[(next() as usize) % alphabet.len()],
                        1 => {
                            bytes.remove(i);
                        }
                        _ => bytes.truncate(i),
                    }
                    if bytes.is_empty() {
                        break;
                    }
                }
                let sdp = String::from_utf8_lossy(&bytes);
                let _ = offer_for_phone(&sdp, ours(), ORIGIN);
                let _ = answer_from_phone(&sdp);
                let _ = phone_offer(&sdp);
                let _ = answer_for_phone(&sdp, &Codec::Pcmu, ours(), ORIGIN);
                let _ = relay(&sdp, Side::Phone, ours(), ORIGIN);
            }
        }
    }

    #[test]
    fn broken_or_audioless_sdp_is_refused() {
        assert!(matches!(
            offer_for_phone("garbage", ours(), ORIGIN),
            Err(Rejection::Malformed { .. })
        ));
        let video = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n\
            m=video 5000 RTP/AVP 96\r\n";
        assert_eq!(
            phone_offer(video).unwrap_err(),
            Rejection::NoAudio { side: Side::Phone }
        );
        let no_addr = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
        assert!(relay(no_addr, Side::Phone, ours(), ORIGIN).is_err());
    }

    #[test]
    fn a_phone_reoffer_holds_and_resumes_the_negotiated_formats() {
        let formats = Formats(vec![
            PayloadFormat::pcma(),
            PayloadFormat::telephone_event(96),
        ]);
        let v2 = Origin {
            session_id: 7,
            version: 2,
        };
        let held = phone_reoffer(ours(), v2, &formats, true);
        let s = audio_stream(&held, Side::Phone).unwrap();
        assert_eq!((s.addr, s.direction), (ours(), Direction::SendOnly));
        assert_eq!(s.formats, formats);
        assert!(held.contains("o=centrala 7 2 "), "{held}");
        let resumed = phone_reoffer(ours(), v2, &formats, false);
        let s = audio_stream(&resumed, Side::Phone).unwrap();
        assert_eq!(s.direction, Direction::SendRecv);
    }

    #[test]
    fn a_carrier_is_offered_its_codecs_in_its_order() {
        let o =
            offer_for_carrier(CHROME_OFFER, ours(), ORIGIN, &[Codec::Pcma, Codec::Pcmu]).unwrap();
        assert!(o.contains("m=audio 40000 RTP/AVP 8 0 101"), "{o}");
        let o = offer_for_carrier(CHROME_OFFER, ours(), ORIGIN, &[Codec::Pcma]).unwrap();
        assert!(o.contains("m=audio 40000 RTP/AVP 8 101"), "{o}");
        assert!(!o.contains("PCMU"), "{o}");
        // Opus alone: the carrier's codec, transcoded.
        let o = offer_for_carrier(OPUS_ONLY_OFFER, ours(), ORIGIN, &[Codec::Pcma]).unwrap();
        assert!(o.contains("RTP/AVP 8 101"), "{o}");
        // Nothing in common and no Opus: 488 naming what the carrier takes.
        let pcmu_only = CHROME_OFFER
            .replace("111 0 8 126", "0 126")
            .replace("a=rtpmap:111 opus/48000/2\r\n", "")
            .replace("a=rtpmap:8 PCMA/8000\r\n", "");
        let e = offer_for_carrier(&pcmu_only, ours(), ORIGIN, &[Codec::Pcma]).unwrap_err();
        assert_eq!(e.status(), 488);
        assert!(e.status_line().contains("PCMA"), "{}", e.status_line());
    }
}
