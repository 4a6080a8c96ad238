//! Opus ↔ G.711, for a bridge whose legs share no codec: a browser that offers Opus only,
//! and a desk phone (or, later, a carrier) with G.711 only. libopus (Debian's `libopus-dev`,
//! through the `opus` crate) encodes from and decodes to 8 kHz PCM itself, so there is no
//! resampler here: the Opus encoder band-limits to narrowband, the decoder synthesises at
//! 8 kHz; G.711 is companded by [`crate::audio`].
//!
//! Timestamps: Opus's RTP clock is 48 kHz whatever the audio's bandwidth (RFC 7587 4.1),
//! G.711's 8 kHz. Each direction counts the ticks elapsed since its stream's first packet
//! and scales them (so a 32-bit wrap on either side is harmless within a call shorter than
//! a day); the bridge's rewriter then numbers the packets as for any relayed stream.

use crate::audio;
use crate::codec::Codec;
use crate::rtp::RtpHeader;
use crate::{LegId, MediaError};

/// The longest Opus packet (120 ms) at 8 kHz.
const MAX_DECODED: usize = 960;
/// Opus frame sizes at 8 kHz (60, 40, 20, 10, 5, 2.5 ms), longest first: a G.711 packet is
/// cut into these (a remainder shorter than 2.5 ms is padded with silence).
const OPUS_FRAMES: [usize; 6] = [480, 320, 160, 80, 40, 20];
/// 48 kHz ticks per 8 kHz tick.
const SCALE: u32 = 6;

/// Where a stream's timestamps started: (source's first, ours for it).
#[derive(Debug, Default, Clone, Copy)]
struct Anchor(Option<(u32, u32, u32)>);

impl Anchor {
    /// Our timestamp for source timestamp `ts` of stream `ssrc`, `scale` applied to the
    /// ticks since its first packet (`up`: multiply, else divide).
    fn map(&mut self, ssrc: u32, ts: u32, up: bool) -> u32 {
        let (src0, ours0) = match self.0 {
            Some((s, src0, ours0)) if s == ssrc => (src0, ours0),
            _ => {
                let ours0 = if up {
                    ts.wrapping_mul(SCALE)
                } else {
                    ts / SCALE
                };
                self.0 = Some((ssrc, ts, ours0));
                (ts, ours0)
            }
        };
        let elapsed = ts.wrapping_sub(src0);
        let scaled = if up {
            elapsed.wrapping_mul(SCALE)
        } else {
            elapsed / SCALE
        };
        ours0.wrapping_add(scaled)
    }
}

/// What a [`Transcoder`] converts: the Opus leg and its payload type, the G.711 codec and
/// its payload type on the other leg.
pub type TranscodePlan = (LegId, u8, Codec, u8);

/// Transcodes one call's audio between its Opus leg and its G.711 leg.
pub struct Transcoder {
    /// The leg that speaks Opus (a browser).
    opus_leg: LegId,
    opus_pt: u8,
    g711: Codec,
    g711_pt: u8,
    decoder: opus::Decoder,
    encoder: opus::Encoder,
    to_g711: Anchor,
    to_opus: Anchor,
    /// Our numbering of the Opus packets (one G.711 packet may make several).
    opus_seq: u16,
    pcm: Vec<i16>,
}

impl std::fmt::Debug for Transcoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcoder")
            .field("opus_leg", &self.opus_leg)
            .field("opus_pt", &self.opus_pt)
            .field("g711", &self.g711)
            .field("g711_pt", &self.g711_pt)
            .finish_non_exhaustive()
    }
}

fn opus_error(e: opus::Error) -> MediaError {
    MediaError::Transcoding(e.to_string())
}

impl Transcoder {
    /// Opus on `opus_leg` with payload type `opus_pt`; `g711` (PCMU or PCMA) with `g711_pt`
    /// on the other leg.
    pub fn new(
        opus_leg: LegId,
        opus_pt: u8,
        g711: Codec,
        g711_pt: u8,
    ) -> Result<Transcoder, MediaError> {
        if !g711.is_g711() {
            return Err(MediaError::UnsupportedCodec(g711.to_string()));
        }
        let decoder = opus::Decoder::new(audio::RATE, opus::Channels::Mono).map_err(opus_error)?;
        let mut encoder =
            opus::Encoder::new(audio::RATE, opus::Channels::Mono, opus::Application::Voip)
                .map_err(opus_error)?;
        // Narrowband speech: 24 kb/s is plenty (G.711 itself carries 64 kb/s of 8 kHz audio).
        encoder
            .set_bitrate(opus::Bitrate::Bits(24_000))
            .map_err(opus_error)?;
        // Complexity 5 of 10: half the encoding time of the default (see docs/benchmarks.md)
        // for narrowband speech that came through G.711 anyway.
        encoder.set_complexity(5).map_err(opus_error)?;
        encoder
            .set_signal(opus::Signal::Voice)
            .map_err(opus_error)?;
        Ok(Transcoder {
            opus_leg,
            opus_pt,
            g711,
            g711_pt,
            decoder,
            encoder,
            to_g711: Anchor::default(),
            to_opus: Anchor::default(),
            // Any start will do: the bridge's rewriter renumbers the stream anyway.
            opus_seq: 0,
            pcm: vec![0; MAX_DECODED],
        })
    }

    /// What it converts (as given to [`Transcoder::new`]).
    pub fn plan(&self) -> TranscodePlan {
        (self.opus_leg, self.opus_pt, self.g711.clone(), self.g711_pt)
    }

    /// Is a packet of payload type `pt` from leg `from` one this transcoder takes?
    pub fn takes(&self, from: LegId, pt: u8) -> bool {
        if from == self.opus_leg {
            pt == self.opus_pt
        } else {
            pt == self.g711_pt
        }
    }

    /// Transcodes one packet from leg `from`: the packets to send to the other leg, with
    /// their payload type and timestamp set (sequence numbers are the rewriter's).
    pub fn transcode(
        &mut self,
        from: LegId,
        header: &RtpHeader,
        payload: &[u8],
    ) -> Result<Vec<(RtpHeader, Vec<u8>)>, MediaError> {
        if from == self.opus_leg {
            let n = self
                .decoder
                .decode(payload, &mut self.pcm, false)
                .map_err(opus_error)?;
            let g711 = audio::encode(&self.g711, &self.pcm[..n])
                .ok_or_else(|| MediaError::UnsupportedCodec(self.g711.to_string()))?;
            let mut h = *header;
            h.pt = self.g711_pt;
            h.timestamp = self.to_g711.map(header.ssrc, header.timestamp, false);
            Ok(vec![(h, g711)])
        } else {
            let samples = audio::decode(&self.g711, payload)
                .ok_or_else(|| MediaError::UnsupportedCodec(self.g711.to_string()))?;
            let base = self.to_opus.map(header.ssrc, header.timestamp, true);
            let mut out = Vec::new();
            let mut at = 0;
            while at < samples.len() {
                let left = samples.len() - at;
                let size = OPUS_FRAMES
                    .iter()
                    .copied()
                    .find(|s| *s <= left)
                    .unwrap_or(OPUS_FRAMES[OPUS_FRAMES.len() - 1]);
                let mut frame = samples[at..(at + size).min(samples.len())].to_vec();
                frame.resize(size, 0);
                let bytes = self.encoder.encode_vec(&frame, 1500).map_err(opus_error)?;
                let mut h = *header;
                h.pt = self.opus_pt;
                h.timestamp = base.wrapping_add((at as u32) * SCALE);
                self.opus_seq = self.opus_seq.wrapping_add(1);
                h.seq = self.opus_seq;
                // Only the first packet of a talkspurt keeps the marker.
                h.marker = header.marker && at == 0;
                out.push((h, bytes));
                at += size;
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{FRAME, power_at, tone};

    fn header(ts: u32, pt: u8) -> RtpHeader {
        RtpHeader {
            marker: false,
            pt,
            seq: 1,
            timestamp: ts,
            ssrc: 9,
        }
    }

    #[test]
    fn a_tone_survives_both_ways_with_timestamps_scaled() {
        let mut t = Transcoder::new(LegId::A, 111, Codec::Pcmu, 0).unwrap();
        let mut back = Transcoder::new(LegId::A, 111, Codec::Pcmu, 0).unwrap();
        let sine = tone(440.0, 1000, 8000);
        let mut heard = Vec::new();
        let mut opus_ts = Vec::new();
        for (i, chunk) in sine.chunks(FRAME).enumerate() {
            // G.711 from the phone (leg B) → Opus to the browser.
            let g711 = audio::encode(&Codec::Pcmu, chunk).unwrap();
            let ts = 1_000 + (i * FRAME) as u32;
            let opus = t.transcode(LegId::B, &header(ts, 0), &g711).unwrap();
            assert_eq!(opus.len(), 1);
            assert_eq!(opus[0].0.pt, 111);
            opus_ts.push(opus[0].0.timestamp);
            // ... and that Opus, as from a browser (leg A), to G.711 again.
            let g = back.transcode(LegId::A, &opus[0].0, &opus[0].1).unwrap();
            assert_eq!(g[0].0.pt, 0);
            assert_eq!(g[0].1.len(), FRAME, "20 ms of G.711 for 20 ms of Opus");
            heard.extend(audio::decode(&Codec::Pcmu, &g[0].1).unwrap());
        }
        for w in opus_ts.windows(2) {
            assert_eq!(w[1].wrapping_sub(w[0]), 960, "20 ms on Opus's 48 kHz clock");
        }
        // The codec's delay aside, the tone is there and a different one is not.
        let tail = &heard[heard.len() / 2..];
        assert!(power_at(tail, 440.0) > 20.0 * power_at(tail, 1000.0));
    }

    #[test]
    fn odd_packet_sizes_are_cut_into_opus_frames() {
        let mut t = Transcoder::new(LegId::A, 111, Codec::Pcma, 8).unwrap();
        // 30 ms (240 samples): 20 ms + 10 ms; 25 ms (200): 20 + 5.
        for (samples, frames) in [(240usize, vec![0u32, 960]), (200, vec![0, 960])] {
            let g711 = audio::encode(&Codec::Pcma, &vec![100; samples]).unwrap();
            let out = t.transcode(LegId::B, &header(5_000, 8), &g711).unwrap();
            let ts: Vec<u32> = out
                .iter()
                .map(|(h, _)| h.timestamp - out[0].0.timestamp)
                .collect();
            assert_eq!(ts, frames);
        }
        // 1 ms (8 samples) is padded to 2.5 ms.
        let out = t
            .transcode(LegId::B, &header(5_000, 8), &[0xd5; 8])
            .unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn garbage_opus_is_an_error_not_a_panic() {
        let mut t = Transcoder::new(LegId::A, 111, Codec::Pcmu, 0).unwrap();
        for bad in [
            &[0xff_u8; 3][..],
            &[0x0b, 0xff, 0xff, 0xff, 0xff],
            &[0u8; 1500],
        ] {
            let _ = t.transcode(LegId::A, &header(0, 111), bad);
        }
        assert!(t.takes(LegId::A, 111) && !t.takes(LegId::A, 0) && t.takes(LegId::B, 0));
        assert!(Transcoder::new(LegId::A, 111, Codec::Opus, 0).is_err());
    }

    #[test]
    fn timestamps_scale_across_a_wrap() {
        let mut a = Anchor::default();
        let first = a.map(1, u32::MAX - 959, true);
        let next = a.map(1, 200, true); // 160 ticks of 8 kHz later... wrapped
        assert_eq!(
            next.wrapping_sub(first),
            (200u32.wrapping_sub(u32::MAX - 959)) * 6
        );
        let mut d = Anchor::default();
        let f = d.map(2, u32::MAX - 479, false);
        let n = d.map(2, 480, false);
        assert_eq!(n.wrapping_sub(f), 160);
    }
}
