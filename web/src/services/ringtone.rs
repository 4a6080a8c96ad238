//! The incoming-call ring: two short beeps every three seconds from a WebAudio oscillator.
//! No audio files. Dropping the [`Ringtone`] stops it.

use gloo_timers::callback::Interval;
use web_sys::{AudioContext, GainNode, OscillatorNode, OscillatorType};

const PERIOD_MS: u32 = 3_000;
const VOLUME: f32 = 0.15;

pub struct Ringtone {
    ctx: AudioContext,
    osc: OscillatorNode,
    _interval: Interval,
}

impl Ringtone {
    /// Starts ringing; `None` when the browser has no WebAudio (the call still shows).
    pub fn start() -> Option<Ringtone> {
        let ctx = AudioContext::new().ok()?;
        let osc = ctx.create_oscillator().ok()?;
        let gain = ctx.create_gain().ok()?;
        osc.set_type(OscillatorType::Sine);
        osc.frequency().set_value(880.0);
        gain.gain().set_value(0.0);
        osc.connect_with_audio_node(&gain).ok()?;
        gain.connect_with_audio_node(&ctx.destination()).ok()?;
        osc.start().ok()?;
        let _ = ctx.resume();
        beep_pair(&ctx, &gain);
        let interval = {
            let (ctx, gain) = (ctx.clone(), gain.clone());
            Interval::new(PERIOD_MS, move || beep_pair(&ctx, &gain))
        };
        Some(Ringtone {
            ctx,
            osc,
            _interval: interval,
        })
    }
}

/// Schedules "beep, pause, beep" on the gain, starting now.
fn beep_pair(ctx: &AudioContext, gain: &GainNode) {
    let t = ctx.current_time();
    let g = gain.gain();
    for (on, off) in [(0.0, 0.4), (0.6, 1.0)] {
        let _ = g.set_value_at_time(VOLUME, t + on);
        let _ = g.set_value_at_time(0.0, t + off);
    }
}

impl Drop for Ringtone {
    fn drop(&mut self) {
        let _ = self.osc.stop();
        let _ = self.ctx.close();
    }
}
