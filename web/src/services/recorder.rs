//! Recording a voicemail greeting in the browser: the microphone (the one chosen in
//! Settings) through `MediaRecorder`, then decoded by the browser (`decodeAudioData`),
//! mixed to mono and resampled to 16 kHz (`OfflineAudioContext`), and written as a WAV file
//! (16-bit PCM), which is what the gateway keeps and plays to callers.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use gloo_events::EventListener;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AudioBuffer, AudioBufferSourceNode, Blob, BlobEvent, MediaRecorder, MediaStream,
    MediaStreamConstraints, OfflineAudioContext,
};

use super::devices;
use crate::state::media_devices::DeviceKind;

/// The sample rate greetings are stored at.
pub const RATE: u32 = 16_000;

/// A recording under way; [`Recording::stop`] ends it and gives the WAV.
pub struct Recording {
    recorder: MediaRecorder,
    stream: MediaStream,
    chunks: Rc<RefCell<Vec<Blob>>>,
    _on_data: EventListener,
}

/// Why recording did not work, in the browser's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The microphone was refused or is missing (the `DOMException`'s name).
    Microphone(String),
    /// The browser cannot record or decode.
    Unsupported(String),
    /// Nothing was recorded.
    Empty,
}

fn js_text(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

impl Recording {
    /// Opens the microphone and starts recording.
    pub async fn start() -> Result<Recording, RecordError> {
        let devices = web_sys::window()
            .and_then(|w| w.navigator().media_devices().ok())
            .ok_or_else(|| RecordError::Unsupported("no mediaDevices".into()))?;
        let constraints = MediaStreamConstraints::new();
        let mic = devices::chosen(DeviceKind::Microphone);
        constraints.set_audio(&devices::constraint(mic.as_deref()));
        let promise = devices
            .get_user_media_with_constraints(&constraints)
            .map_err(|e| RecordError::Microphone(js_text(&e)))?;
        let stream: MediaStream = match JsFuture::from(promise).await {
            Ok(s) => s.unchecked_into(),
            Err(e) if mic.is_some() => {
                // The chosen microphone is gone: the default one.
                let _ = e;
                let c = MediaStreamConstraints::new();
                c.set_audio(&JsValue::TRUE);
                let p = devices
                    .get_user_media_with_constraints(&c)
                    .map_err(|e| RecordError::Microphone(js_text(&e)))?;
                JsFuture::from(p)
                    .await
                    .map_err(|e| RecordError::Microphone(js_text(&e)))?
                    .unchecked_into()
            }
            Err(e) => return Err(RecordError::Microphone(js_text(&e))),
        };
        let recorder = match MediaRecorder::new_with_media_stream(&stream) {
            Ok(r) => r,
            Err(e) => {
                stop_tracks(&stream);
                return Err(RecordError::Unsupported(js_text(&e)));
            }
        };
        let chunks = Rc::new(RefCell::new(Vec::new()));
        let on_data = {
            let chunks = chunks.clone();
            EventListener::new(&recorder, "dataavailable", move |e| {
                if let Some(b) = e.dyn_ref::<BlobEvent>().and_then(BlobEvent::data)
                    && b.size() > 0.0
                {
                    chunks.borrow_mut().push(b);
                }
            })
        };
        if let Err(e) = recorder.start() {
            stop_tracks(&stream);
            return Err(RecordError::Unsupported(js_text(&e)));
        }
        Ok(Recording {
            recorder,
            stream,
            chunks,
            _on_data: on_data,
        })
    }

    /// Stops recording and returns the WAV bytes (16 kHz, mono, 16-bit) and the length in
    /// milliseconds.
    pub async fn stop(self) -> Result<(Vec<u8>, u32), RecordError> {
        let (tx, rx) = oneshot::channel::<()>();
        let tx = RefCell::new(Some(tx));
        let _on_stop = EventListener::once(&self.recorder, "stop", move |_| {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(());
            }
        });
        let _ = self.recorder.stop();
        let _ = rx.await;
        stop_tracks(&self.stream);
        let parts = js_sys::Array::new();
        for b in self.chunks.borrow().iter() {
            parts.push(b);
        }
        if parts.length() == 0 {
            return Err(RecordError::Empty);
        }
        let blob = Blob::new_with_blob_sequence(&parts)
            .map_err(|e| RecordError::Unsupported(js_text(&e)))?;
        let buf: ArrayBuffer = JsFuture::from(blob.array_buffer())
            .await
            .map_err(|e| RecordError::Unsupported(js_text(&e)))?
            .unchecked_into();
        let samples = decode_mono(&buf).await?;
        if samples.is_empty() {
            return Err(RecordError::Empty);
        }
        let ms = (samples.len() as u64 * 1000 / RATE as u64) as u32;
        Ok((encode_wav(&samples, RATE), ms))
    }

    /// Drops the recording (the microphone is released).
    pub fn cancel(self) {
        let _ = self.recorder.stop();
        stop_tracks(&self.stream);
    }
}

/// Decodes what was recorded and renders it mono at [`RATE`].
async fn decode_mono(buf: &ArrayBuffer) -> Result<Vec<f32>, RecordError> {
    let unsupported = |e: JsValue| RecordError::Unsupported(js_text(&e));
    // Any context decodes; an offline one needs no output device.
    let probe = OfflineAudioContext::new_with_number_of_channels_and_length_and_sample_rate(
        1,
        RATE,
        RATE as f32,
    )
    .map_err(unsupported)?;
    let decoded: AudioBuffer = JsFuture::from(probe.decode_audio_data(buf).map_err(unsupported)?)
        .await
        .map_err(unsupported)?
        .unchecked_into();
    let frames = (decoded.duration() * RATE as f64).ceil() as u32;
    if frames == 0 {
        return Ok(Vec::new());
    }
    let ctx = OfflineAudioContext::new_with_number_of_channels_and_length_and_sample_rate(
        1,
        frames,
        RATE as f32,
    )
    .map_err(unsupported)?;
    let source: AudioBufferSourceNode = ctx.create_buffer_source().map_err(unsupported)?;
    source.set_buffer(Some(&decoded));
    source
        .connect_with_audio_node(&ctx.destination())
        .map_err(unsupported)?;
    source.start().map_err(unsupported)?;
    let rendered: AudioBuffer = JsFuture::from(ctx.start_rendering().map_err(unsupported)?)
        .await
        .map_err(unsupported)?
        .unchecked_into();
    rendered.get_channel_data(0).map_err(unsupported)
}

fn stop_tracks(stream: &MediaStream) {
    for t in stream.get_tracks().iter() {
        if let Ok(t) = t.dyn_into::<web_sys::MediaStreamTrack>() {
            t.stop();
        }
    }
}

/// A WAV file (RIFF, PCM 16-bit, mono) of `samples` in [-1, 1] at `rate` Hz.
pub fn encode_wav(samples: &[f32], rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        let v = (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// The WAV as a `Uint8Array` for `fetch`.
pub fn bytes_to_js(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_header_and_samples() {
        let w = encode_wav(&[0.0, 1.0, -1.0, 2.0], 16_000);
        assert_eq!(&w[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(w[4..8].try_into().unwrap()), 36 + 8);
        assert_eq!(&w[8..16], b"WAVEfmt ");
        assert_eq!(u16::from_le_bytes([w[22], w[23]]), 1, "mono");
        assert_eq!(u32::from_le_bytes(w[24..28].try_into().unwrap()), 16_000);
        assert_eq!(u16::from_le_bytes([w[34], w[35]]), 16, "16-bit");
        assert_eq!(&w[36..40], b"data");
        assert_eq!(u32::from_le_bytes(w[40..44].try_into().unwrap()), 8);
        let s: Vec<i16> = w[44..]
            .chunks(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(s, [0, i16::MAX, -i16::MAX, i16::MAX], "clamped");
    }
}
