//! The incoming-call ring: two short beeps every three seconds from a WebAudio oscillator,
//! and the call-waiting tone (a second call while talking): two quiet, short, lower beeps
//! every eight seconds, so that the call one is in stays audible. No audio files. Dropping
//! the [`Ringtone`] stops it.

use gloo_timers::callback::Interval;
use wasm_bindgen::JsValue;
use web_sys::{AudioContext, GainNode, OscillatorNode, OscillatorType};

use super::devices;
use crate::state::media_devices::DeviceKind;

/// How a tone sounds: pitch, loudness, period, and its beeps (on, off seconds from the start).
struct Pattern {
    hz: f32,
    volume: f32,
    period_ms: u32,
    beeps: &'static [(f64, f64)],
}

const RING: Pattern = Pattern {
    hz: 880.0,
    volume: 0.15,
    period_ms: 3_000,
    beeps: &[(0.0, 0.4), (0.6, 1.0)],
};

const WAITING: Pattern = Pattern {
    hz: 440.0,
    volume: 0.08,
    period_ms: 8_000,
    beeps: &[(0.0, 0.15), (0.3, 0.45)],
};

pub struct Ringtone {
    ctx: AudioContext,
    osc: OscillatorNode,
    _interval: Interval,
}

impl Ringtone {
    /// Starts ringing; `None` when the browser has no WebAudio (the call still shows).
    pub fn start() -> Option<Ringtone> {
        Ringtone::play(&RING)
    }

    /// Starts the call-waiting tone; `None` without WebAudio.
    pub fn waiting() -> Option<Ringtone> {
        Ringtone::play(&WAITING)
    }

    fn play(p: &'static Pattern) -> Option<Ringtone> {
        let ctx = AudioContext::new().ok()?;
        // The ringtone output chosen in Settings, where the browser can choose one.
        if let Some(id) = devices::chosen(DeviceKind::Ringer) {
            let target = JsValue::from(ctx.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = devices::set_sink(&target, &id).await {
                    // Settings shows the chosen output as not connected; it rings here.
                    let why = format!("ringtone output: {}: {}", e.name, e.message);
                    web_sys::console::warn_1(&why.into());
                }
            });
        }
        let osc = ctx.create_oscillator().ok()?;
        let gain = ctx.create_gain().ok()?;
        osc.set_type(OscillatorType::Sine);
        osc.frequency().set_value(p.hz);
        gain.gain().set_value(0.0);
        osc.connect_with_audio_node(&gain).ok()?;
        gain.connect_with_audio_node(&ctx.destination()).ok()?;
        osc.start().ok()?;
        let _ = ctx.resume();
        beeps(&ctx, &gain, p);
        let interval = {
            let (ctx, gain) = (ctx.clone(), gain.clone());
            Interval::new(p.period_ms, move || beeps(&ctx, &gain, p))
        };
        Some(Ringtone {
            ctx,
            osc,
            _interval: interval,
        })
    }
}

/// Schedules the pattern's beeps on the gain, starting now.
fn beeps(ctx: &AudioContext, gain: &GainNode, p: &Pattern) {
    let t = ctx.current_time();
    let g = gain.gain();
    for (on, off) in p.beeps {
        let _ = g.set_value_at_time(p.volume, t + on);
        let _ = g.set_value_at_time(0.0, t + off);
    }
}

impl Drop for Ringtone {
    fn drop(&mut self) {
        let _ = self.osc.stop();
        let _ = self.ctx.close();
    }
}
