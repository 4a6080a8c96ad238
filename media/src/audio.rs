//! Audio the gateway plays and records itself (voicemail greetings, tones, messages): G.711
//! framing, 8 kHz resampling, tones and a level meter. G.711 companding itself comes from
//! `audio-codec-algorithms`.

use audio_codec_algorithms::{decode_alaw, decode_ulaw, encode_alaw, encode_ulaw};

use crate::codec::Codec;

/// Samples per second of everything played and recorded here (G.711's rate).
pub const RATE: u32 = 8000;
/// Samples in one 20 ms packet.
pub const FRAME: usize = 160;

/// Encodes 8 kHz samples as `codec` (PCMU or PCMA); `None` for other codecs.
pub fn encode(codec: &Codec, samples: &[i16]) -> Option<Vec<u8>> {
    match codec {
        Codec::Pcmu => Some(samples.iter().map(|s| encode_ulaw(*s)).collect()),
        Codec::Pcma => Some(samples.iter().map(|s| encode_alaw(*s)).collect()),
        _ => None,
    }
}

/// Decodes a PCMU or PCMA payload to 8 kHz samples; `None` for other codecs.
pub fn decode(codec: &Codec, payload: &[u8]) -> Option<Vec<i16>> {
    match codec {
        Codec::Pcmu => Some(payload.iter().map(|b| decode_ulaw(*b)).collect()),
        Codec::Pcma => Some(payload.iter().map(|b| decode_alaw(*b)).collect()),
        _ => None,
    }
}

/// `samples` at `rate` (mono) as 8 kHz: averaged when the rate is a multiple of 8 kHz (a
/// simple low-pass), linearly interpolated otherwise.
pub fn to_8k(samples: &[i16], rate: u32) -> Vec<i16> {
    if rate == RATE || rate == 0 || samples.is_empty() {
        return samples.to_vec();
    }
    if rate % RATE == 0 {
        let n = (rate / RATE) as usize;
        return samples
            .chunks(n)
            .map(|c| (c.iter().map(|s| i32::from(*s)).sum::<i32>() / c.len() as i32) as i16)
            .collect();
    }
    let step = f64::from(rate) / f64::from(RATE);
    let out_len = (samples.len() as f64 / step) as usize;
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let j = pos as usize;
            let frac = pos - j as f64;
            let a = f64::from(samples[j]);
            let b = f64::from(*samples.get(j + 1).unwrap_or(&samples[j]));
            (a + (b - a) * frac) as i16
        })
        .collect()
}

/// A sine tone at 8 kHz: `hz`, `ms` long, at `amplitude` (0..=32767), with 5 ms fades so it
/// does not click.
pub fn tone(hz: f64, ms: u32, amplitude: i16) -> Vec<i16> {
    let n = (RATE * ms / 1000) as usize;
    let fade = (RATE as usize * 5 / 1000).max(1);
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            let ramp = (i.min(n - 1 - i) as f64 / fade as f64).min(1.0);
            (f64::from(amplitude) * ramp * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

/// The mean absolute level of `samples` (0 for silence, about 20,000 for a loud tone).
pub fn level(samples: &[i16]) -> u32 {
    if samples.is_empty() {
        return 0;
    }
    (samples
        .iter()
        .map(|s| u64::from(s.unsigned_abs()))
        .sum::<u64>()
        / samples.len() as u64) as u32
}

/// The power of `hz` in `samples` (Goertzel), normalised by length: for checking which tone
/// a recording holds.
pub fn power_at(samples: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in samples {
        let s = f64::from(*x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len().max(1) as f64).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_round_trips_within_its_quantisation() {
        let t = tone(440.0, 100, 12_000);
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let back = decode(&codec, &encode(&codec, &t).unwrap()).unwrap();
            assert_eq!(back.len(), t.len());
            for (a, b) in t.iter().zip(&back) {
                assert!(
                    (i32::from(*a) - i32::from(*b)).abs() < 700,
                    "{codec:?} {a} {b}"
                );
            }
        }
        assert!(encode(&Codec::Opus, &t).is_none());
        assert!(decode(&Codec::Opus, &[1, 2]).is_none());
    }

    #[test]
    fn resampling_keeps_duration_and_pitch() {
        // 440 Hz at 16 kHz, one second.
        let src: Vec<i16> = (0..16_000)
            .map(|i| {
                (10_000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 16_000.0).sin()) as i16
            })
            .collect();
        let out = to_8k(&src, 16_000);
        assert_eq!(out.len(), 8000);
        assert!(power_at(&out, 440.0) > 100.0 * power_at(&out, 1000.0));
        let odd = to_8k(&src[..11_025], 11_025);
        assert_eq!(odd.len(), 8000);
        assert_eq!(to_8k(&[], 16_000), Vec::<i16>::new());
    }

    #[test]
    fn tones_and_levels() {
        let t = tone(1000.0, 400, 8000);
        assert_eq!(t.len(), 3200);
        assert!(level(&t) > 4000);
        assert_eq!(level(&[0; 160]), 0);
        assert!(power_at(&t, 1000.0) > 1000.0 * power_at(&t, 440.0).max(1e-9));
    }
}
