//! The answering machine, sans-IO: a greeting, a tone, then the caller's message until `#`,
//! silence, the length limit or hanging up. It counts time in audio (20 ms frames sent and
//! samples received), not on a clock: the driver paces the frames and feeds what arrives.

use std::time::Duration;

use crate::audio::{FRAME, RATE, level, tone};

/// Below this mean level a frame counts as silence (about -42 dBFS; a quiet voice is
/// several times louder, line noise of a G.711 call well under it).
pub const SILENCE_LEVEL: u32 = 250;
/// The tone after the greeting: 1 kHz for 400 ms, after a 200 ms pause.
const BEEP_HZ: f64 = 1000.0;
const BEEP_MS: u32 = 400;
const PAUSE_MS: u32 = 200;

/// Limits of a message.
#[derive(Debug, Clone, Copy)]
pub struct AnsweringConfig {
    /// The longest message (default 3 minutes).
    pub max_message: Duration,
    /// This much silence ends a message (default 5 s); it is cut from the end.
    pub silence: Duration,
    /// A message shorter than this (after the cut) is not kept (default 1 s).
    pub min_message: Duration,
}

impl Default for AnsweringConfig {
    fn default() -> Self {
        AnsweringConfig {
            max_message: Duration::from_secs(180),
            silence: Duration::from_secs(5),
            min_message: Duration::from_secs(1),
        }
    }
}

/// Why a message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndCause {
    /// The caller pressed `#`.
    Key,
    /// The caller was silent for [`AnsweringConfig::silence`].
    Silence,
    /// [`AnsweringConfig::max_message`] reached.
    MaxLength,
    /// The caller hung up (or the call's media stopped).
    Hangup,
}

impl EndCause {
    pub fn as_str(self) -> &'static str {
        match self {
            EndCause::Key => "key",
            EndCause::Silence => "silence",
            EndCause::MaxLength => "max_length",
            EndCause::Hangup => "hangup",
        }
    }
}

/// Where the call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The greeting and the tone play.
    Prompt,
    /// The caller speaks.
    Recording,
    /// Over; [`Answering::message`] holds what to keep.
    Finished(EndCause),
}

/// One caller leaving one message.
#[derive(Debug)]
pub struct Answering {
    cfg: AnsweringConfig,
    prompt: Vec<i16>,
    /// Where the beep starts in `prompt` (`#` during the greeting jumps there).
    beep_at: usize,
    pos: usize,
    phase: Phase,
    recorded: Vec<i16>,
    /// Samples since the last frame louder than [`SILENCE_LEVEL`].
    silent: usize,
}

impl Answering {
    /// Plays `greeting` (8 kHz) then the tone, then records.
    pub fn new(greeting: &[i16], cfg: AnsweringConfig) -> Answering {
        let mut prompt = greeting.to_vec();
        prompt.extend(std::iter::repeat_n(0, (RATE * PAUSE_MS / 1000) as usize));
        let beep_at = prompt.len();
        prompt.extend(tone(BEEP_HZ, BEEP_MS, 10_000));
        // Whole frames only.
        let pad = (FRAME - prompt.len() % FRAME) % FRAME;
        prompt.extend(std::iter::repeat_n(0, pad));
        Answering {
            cfg,
            prompt,
            beep_at,
            pos: 0,
            phase: Phase::Prompt,
            recorded: Vec::new(),
            silent: 0,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The next 20 ms (160 samples) to send, while the prompt plays; `None` after it (the
    /// phase is then `Recording`, unless the call ended).
    pub fn next_frame(&mut self) -> Option<&[i16]> {
        if self.phase != Phase::Prompt {
            return None;
        }
        if self.pos >= self.prompt.len() {
            self.phase = Phase::Recording;
            return None;
        }
        let frame = &self.prompt[self.pos..self.pos + FRAME];
        self.pos += FRAME;
        Some(frame)
    }

    /// Audio from the caller (8 kHz). Kept while recording; the limits are checked.
    pub fn on_audio(&mut self, samples: &[i16]) {
        if self.phase != Phase::Recording {
            return;
        }
        self.recorded.extend_from_slice(samples);
        if level(samples) < SILENCE_LEVEL {
            self.silent += samples.len();
        } else {
            self.silent = 0;
        }
        if samples_of(self.cfg.silence) <= self.silent {
            self.finish(EndCause::Silence);
        } else if samples_of(self.cfg.max_message) <= self.recorded.len() {
            self.recorded.truncate(samples_of(self.cfg.max_message));
            self.finish(EndCause::MaxLength);
        }
    }

    /// A key the caller pressed: `#` skips the rest of the greeting to the tone, or ends
    /// the message. Other keys are ignored.
    pub fn on_key(&mut self, digit: char) {
        if digit != '#' {
            return;
        }
        match self.phase {
            Phase::Prompt if self.pos < self.beep_at => self.pos = self.beep_at,
            Phase::Recording => self.finish(EndCause::Key),
            _ => {}
        }
    }

    /// The caller hung up (or their media stopped).
    pub fn hangup(&mut self) {
        if !matches!(self.phase, Phase::Finished(_)) {
            self.finish(EndCause::Hangup);
        }
    }

    fn finish(&mut self, cause: EndCause) {
        // Trailing silence is not part of the message.
        let cut = self.silent.min(self.recorded.len());
        self.recorded.truncate(self.recorded.len() - cut);
        self.silent = 0;
        self.phase = Phase::Finished(cause);
    }

    /// The message to keep once finished: `None` before, or when it is shorter than
    /// [`AnsweringConfig::min_message`] (a caller who hung up at the greeting).
    pub fn message(&self) -> Option<&[i16]> {
        match self.phase {
            Phase::Finished(_) if self.recorded.len() >= samples_of(self.cfg.min_message) => {
                Some(&self.recorded)
            }
            _ => None,
        }
    }
}

fn samples_of(d: Duration) -> usize {
    (d.as_millis() as usize).saturating_mul(RATE as usize) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Answering {
        Answering::new(&tone(440.0, 1000, 5000), AnsweringConfig::default())
    }

    fn play_prompt(a: &mut Answering) -> usize {
        let mut n = 0;
        while a.next_frame().is_some() {
            n += 1;
        }
        n
    }

    #[test]
    fn plays_greeting_pause_and_beep_then_records() {
        let mut a = machine();
        // 1 s + 200 ms + 400 ms = 80 frames.
        assert_eq!(play_prompt(&mut a), 80);
        assert_eq!(a.phase(), Phase::Recording);
        let voice = tone(600.0, 3000, 8000);
        for f in voice.chunks(FRAME) {
            a.on_audio(f);
        }
        a.on_key('5');
        assert_eq!(a.phase(), Phase::Recording);
        a.on_key('#');
        assert_eq!(a.phase(), Phase::Finished(EndCause::Key));
        assert_eq!(a.message().unwrap().len(), 24_000);
    }

    #[test]
    fn audio_during_the_greeting_is_not_recorded_and_hash_skips_to_the_tone() {
        let mut a = machine();
        a.next_frame();
        a.on_audio(&tone(600.0, 20, 8000));
        a.on_key('#');
        // Only the beep is left: 20 frames.
        assert_eq!(play_prompt(&mut a), 20);
        a.on_key('#');
        assert_eq!(a.phase(), Phase::Finished(EndCause::Key));
        assert_eq!(a.message(), None, "nothing was said");
    }

    #[test]
    fn silence_ends_the_message_and_is_cut() {
        let mut a = machine();
        play_prompt(&mut a);
        for f in tone(600.0, 2000, 8000).chunks(FRAME) {
            a.on_audio(f);
        }
        let quiet = [3i16; FRAME];
        for _ in 0..249 {
            a.on_audio(&quiet);
        }
        assert_eq!(a.phase(), Phase::Recording, "4.98 s of silence");
        a.on_audio(&quiet);
        assert_eq!(a.phase(), Phase::Finished(EndCause::Silence));
        assert_eq!(a.message().unwrap().len(), 16_000);
    }

    #[test]
    fn the_length_limit_ends_the_message() {
        let cfg = AnsweringConfig {
            max_message: Duration::from_secs(2),
            ..Default::default()
        };
        let mut a = Answering::new(&[], cfg);
        play_prompt(&mut a);
        for f in tone(600.0, 3000, 8000).chunks(FRAME) {
            a.on_audio(f);
        }
        assert_eq!(a.phase(), Phase::Finished(EndCause::MaxLength));
        assert_eq!(a.message().unwrap().len(), 16_000);
    }

    #[test]
    fn hanging_up_keeps_what_was_said_unless_too_short() {
        let mut a = machine();
        play_prompt(&mut a);
        for f in tone(600.0, 1500, 8000).chunks(FRAME) {
            a.on_audio(f);
        }
        a.hangup();
        assert_eq!(a.phase(), Phase::Finished(EndCause::Hangup));
        assert_eq!(a.message().unwrap().len(), 12_000);

        let mut b = machine();
        b.next_frame();
        b.hangup();
        assert_eq!(b.message(), None);
        assert_eq!(b.next_frame(), None);
    }
}
