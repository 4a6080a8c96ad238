//! Listening to one's own voicemail, sans-IO: the owner dials the short code and hears their
//! new messages, oldest first. After each one (and while it plays): `1` plays it again, `7`
//! deletes it, `#` goes on to the next. A message played to its end, or left with `#`, is
//! heard. Like [`crate::answering`], time is counted in 20 ms frames the driver asks for.

use std::collections::VecDeque;

use crate::audio::{FRAME, RATE, tone};

/// Pause after a message before going on by itself, in frames (6 s).
const WAIT_FRAMES: usize = 300;

/// The spoken prompts, 8 kHz.
#[derive(Debug, Clone, Default)]
pub struct Prompts {
    /// "You have no new messages. Goodbye."
    pub none: Vec<i16>,
    /// "Your new messages. After each one, press 1 to hear it again, 7 to delete it, or the
    /// hash key for the next."
    pub intro: Vec<i16>,
    /// "Message deleted."
    pub deleted: Vec<i16>,
    /// "No more new messages. Goodbye."
    pub end: Vec<i16>,
}

/// What the driver must do for the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Mark this message heard.
    Heard(i64),
    /// Delete this message.
    Delete(i64),
    /// All said: hang up.
    Hangup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The intro (or "no messages") plays.
    Intro,
    /// Message `i` plays.
    Playing(usize),
    /// Message `i` has played; waiting for a key.
    After(usize, usize),
    /// The last words play; then hang up.
    Bye,
    Done,
}

/// Puts `samples` in `queue` in place of what it held, padded with silence to whole frames.
fn play(queue: &mut VecDeque<i16>, samples: &[i16]) {
    queue.clear();
    queue.extend(samples.iter().copied());
    let pad = (FRAME - queue.len() % FRAME) % FRAME;
    queue.extend(std::iter::repeat_n(0, pad));
}

/// One owner listening to their new messages.
#[derive(Debug)]
pub struct Listener {
    prompts: Prompts,
    messages: Vec<(i64, Vec<i16>)>,
    /// What plays now (whole frames).
    queue: VecDeque<i16>,
    state: State,
    actions: VecDeque<Action>,
    heard: Vec<bool>,
}

impl Listener {
    /// `messages`: the new messages' ids and audio (8 kHz), oldest first.
    pub fn new(prompts: Prompts, messages: Vec<(i64, Vec<i16>)>) -> Listener {
        let heard = vec![false; messages.len()];
        let mut l = Listener {
            prompts,
            messages,
            queue: VecDeque::new(),
            state: State::Intro,
            actions: VecDeque::new(),
            heard,
        };
        if l.messages.is_empty() {
            l.state = State::Bye;
            let none = l.prompts.none.clone();
            l.play(&none);
        } else {
            let intro = l.prompts.intro.clone();
            l.play(&intro);
        }
        l
    }

    fn play(&mut self, samples: &[i16]) {
        play(&mut self.queue, samples);
    }

    /// Message `i`, after a short tone.
    fn start(&mut self, i: usize) {
        self.state = State::Playing(i);
        let mut s = tone(800.0, 150, 6000);
        s.extend(std::iter::repeat_n(0, (RATE / 5) as usize));
        s.extend_from_slice(&self.messages[i].1);
        self.play(&s);
    }

    fn heard(&mut self, i: usize) {
        if !self.heard[i] {
            self.heard[i] = true;
            self.actions.push_back(Action::Heard(self.messages[i].0));
        }
    }

    fn next(&mut self, after: usize) {
        if after + 1 < self.messages.len() {
            self.start(after + 1);
        } else {
            self.state = State::Bye;
            let end = self.prompts.end.clone();
            self.play(&end);
        }
    }

    /// The next 20 ms to send (silence while waiting for a key); `None` once over.
    pub fn next_frame(&mut self) -> Option<Vec<i16>> {
        if self.state == State::Done {
            return None;
        }
        if self.queue.len() >= FRAME {
            return Some(self.queue.drain(..FRAME).collect());
        }
        match self.state {
            State::Intro => self.start(0),
            State::Playing(i) => {
                self.heard(i);
                self.state = State::After(i, 0);
            }
            State::After(i, waited) if waited >= WAIT_FRAMES => self.next(i),
            State::After(i, waited) => self.state = State::After(i, waited + 1),
            State::Bye => {
                self.state = State::Done;
                self.actions.push_back(Action::Hangup);
                return None;
            }
            State::Done => return None,
        }
        if self.queue.len() >= FRAME {
            Some(self.queue.drain(..FRAME).collect())
        } else {
            Some(vec![0; FRAME])
        }
    }

    /// A key the owner pressed.
    pub fn on_key(&mut self, digit: char) {
        let i = match self.state {
            State::Playing(i) | State::After(i, _) => i,
            State::Intro if digit == '#' => {
                self.start(0);
                return;
            }
            _ => return,
        };
        match digit {
            '1' => self.start(i),
            '7' => {
                self.actions.push_back(Action::Delete(self.messages[i].0));
                // Deleted is not "heard": it is gone.
                self.heard[i] = true;
                let mut s = self.prompts.deleted.clone();
                s.extend(std::iter::repeat_n(0, (RATE / 5) as usize));
                if i + 1 < self.messages.len() {
                    self.state = State::Intro;
                    // After the words, message i+1 starts (see `next_frame`'s Intro).
                    self.messages.drain(..=i);
                    self.heard.drain(..=i);
                } else {
                    self.state = State::Bye;
                    s.extend_from_slice(&self.prompts.end);
                }
                self.play(&s);
            }
            '#' => {
                self.heard(i);
                self.next(i);
            }
            _ => {}
        }
    }

    /// What the driver must do next.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

/// The words of logging in to a box from another phone, 8 kHz.
#[derive(Debug, Clone, Default)]
pub struct LoginPrompts {
    /// "Please enter the mailbox number, then the hash key."
    pub mailbox: Vec<i16>,
    /// "Please enter the PIN, then the hash key."
    pub pin: Vec<i16>,
    /// "Wrong mailbox number or PIN."
    pub wrong: Vec<i16>,
    /// "Goodbye."
    pub bye: Vec<i16>,
}

/// What the driver must do for a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAction {
    /// Check this mailbox number and PIN, then call [`Login::checked`].
    Check {
        /// The mailbox (an extension) as keyed.
        mailbox: String,
        /// The PIN as keyed.
        pin: String,
    },
    /// The right PIN: the caller listens to this box now (the driver starts a
    /// [`Listener`] for it).
    LoggedIn(String),
    /// Too many wrong tries (or nothing keyed in time): hang up.
    Hangup,
}

/// How many tries one call has.
pub const LOGIN_TRIES: u32 = 3;
/// The longest mailbox number or PIN taken; more keys are ignored.
const MAX_KEYS: usize = 12;
/// Nothing keyed for this long after a prompt (in frames, 15 s): the call ends.
const KEY_WAIT_FRAMES: usize = 750;

#[derive(Debug, Clone, PartialEq, Eq)]
enum LoginState {
    /// Asks for (and collects) the mailbox number.
    Mailbox(String),
    /// Asks for (and collects) the PIN for the mailbox keyed.
    Pin {
        mailbox: String,
        pin: String,
    },
    /// The driver checks; keys are ignored.
    Checking(String),
    /// Says goodbye; then hang up.
    Bye,
    Done,
}

/// Logging in to a mailbox from a phone that is not its owner's: the caller keys the mailbox
/// number and `#`, then the PIN and `#`; [`LoginAction::Check`] asks the driver, whose
/// answer ([`Login::checked`]) either logs in or says "wrong" and starts over, up to
/// [`LOGIN_TRIES`] times. Keys pressed while a prompt plays count (the caller may know it).
#[derive(Debug)]
pub struct Login {
    prompts: LoginPrompts,
    queue: VecDeque<i16>,
    state: LoginState,
    tries: u32,
    idle: usize,
    actions: VecDeque<LoginAction>,
}

impl Login {
    pub fn new(prompts: LoginPrompts) -> Login {
        let mut l = Login {
            prompts,
            queue: VecDeque::new(),
            state: LoginState::Mailbox(String::new()),
            tries: 0,
            idle: 0,
            actions: VecDeque::new(),
        };
        let words = l.prompts.mailbox.clone();
        l.play(&words);
        l
    }

    fn play(&mut self, samples: &[i16]) {
        play(&mut self.queue, samples);
        self.idle = 0;
    }

    fn bye(&mut self, words: Vec<i16>) {
        self.state = LoginState::Bye;
        self.play(&words);
    }

    /// The next 20 ms to send (silence while waiting for keys); `None` once over.
    pub fn next_frame(&mut self) -> Option<Vec<i16>> {
        if self.state == LoginState::Done {
            return None;
        }
        if self.queue.len() >= FRAME {
            return Some(self.queue.drain(..FRAME).collect());
        }
        match &self.state {
            LoginState::Bye => {
                self.state = LoginState::Done;
                self.actions.push_back(LoginAction::Hangup);
                return None;
            }
            LoginState::Mailbox(_) | LoginState::Pin { .. } => {
                self.idle += 1;
                if self.idle >= KEY_WAIT_FRAMES {
                    let words = self.prompts.bye.clone();
                    self.bye(words);
                }
            }
            _ => {}
        }
        Some(vec![0; FRAME])
    }

    /// A key the caller pressed.
    pub fn on_key(&mut self, digit: char) {
        self.idle = 0;
        match &mut self.state {
            LoginState::Mailbox(m) => match digit {
                '#' if !m.is_empty() => {
                    let mailbox = std::mem::take(m);
                    self.state = LoginState::Pin {
                        mailbox,
                        pin: String::new(),
                    };
                    let words = self.prompts.pin.clone();
                    self.play(&words);
                }
                '*' => m.clear(),
                d if d.is_ascii_digit() && m.len() < MAX_KEYS => m.push(d),
                _ => {}
            },
            LoginState::Pin { mailbox, pin } => match digit {
                '#' => {
                    let (mailbox, pin) = (std::mem::take(mailbox), std::mem::take(pin));
                    self.state = LoginState::Checking(mailbox.clone());
                    self.queue.clear();
                    self.actions.push_back(LoginAction::Check { mailbox, pin });
                }
                '*' => pin.clear(),
                d if d.is_ascii_digit() && pin.len() < MAX_KEYS => pin.push(d),
                _ => {}
            },
            _ => {}
        }
    }

    /// The driver's answer to [`LoginAction::Check`]: the PIN is right for the mailbox.
    pub fn checked(&mut self, right: bool) {
        let LoginState::Checking(mailbox) = &self.state else {
            return;
        };
        if right {
            let mailbox = mailbox.clone();
            self.state = LoginState::Done;
            self.actions.push_back(LoginAction::LoggedIn(mailbox));
            return;
        }
        self.tries += 1;
        let mut words = self.prompts.wrong.clone();
        words.extend(std::iter::repeat_n(0, (RATE / 5) as usize));
        if self.tries >= LOGIN_TRIES {
            words.extend_from_slice(&self.prompts.bye);
            self.bye(words);
        } else {
            words.extend_from_slice(&self.prompts.mailbox);
            self.state = LoginState::Mailbox(String::new());
            self.play(&words);
        }
    }

    /// What the driver must do next.
    pub fn poll_action(&mut self) -> Option<LoginAction> {
        self.actions.pop_front()
    }

    /// Over: logged in, or hung up.
    pub fn is_done(&self) -> bool {
        self.state == LoginState::Done
    }
}

#[cfg(test)]
mod login_tests {
    use super::*;

    fn prompts() -> LoginPrompts {
        LoginPrompts {
            mailbox: vec![1; FRAME * 3],
            pin: vec![2; FRAME * 2],
            wrong: vec![3; FRAME],
            bye: vec![4; FRAME],
        }
    }

    fn keys(l: &mut Login, s: &str) {
        for c in s.chars() {
            l.on_key(c);
        }
    }

    fn frames(l: &mut Login, n: usize) -> Vec<i16> {
        let mut out = Vec::new();
        for _ in 0..n {
            match l.next_frame() {
                Some(f) => out.extend(f),
                None => break,
            }
        }
        out
    }

    #[test]
    fn mailbox_then_pin_then_in() {
        let mut l = Login::new(prompts());
        assert_eq!(frames(&mut l, 1)[0], 1, "asks for the mailbox");
        // A key during the words counts; '*' starts the number again.
        keys(&mut l, "9*101#");
        assert_eq!(frames(&mut l, 1)[0], 2, "asks for the PIN");
        keys(&mut l, "4826#");
        assert_eq!(
            l.poll_action(),
            Some(LoginAction::Check {
                mailbox: "101".into(),
                pin: "4826".into()
            })
        );
        // Keys while checking are ignored.
        keys(&mut l, "77#");
        assert_eq!(l.poll_action(), None);
        l.checked(true);
        assert_eq!(l.poll_action(), Some(LoginAction::LoggedIn("101".into())));
        assert!(l.is_done());
    }

    #[test]
    fn three_wrong_tries_and_goodbye() {
        let mut l = Login::new(prompts());
        for n in 1..=LOGIN_TRIES {
            keys(&mut l, "101#0000#");
            assert!(matches!(l.poll_action(), Some(LoginAction::Check { .. })));
            l.checked(false);
            let heard = frames(&mut l, 3);
            assert_eq!(heard[0], 3, "try {n}: says wrong");
        }
        // No fourth try: the keys do nothing, goodbye plays, then hang up.
        keys(&mut l, "101#1234#");
        let rest = frames(&mut l, 100);
        assert!(rest.contains(&4), "says goodbye");
        assert_eq!(l.poll_action(), Some(LoginAction::Hangup));
        assert!(l.is_done());
        assert!(l.next_frame().is_none());
    }

    #[test]
    fn an_empty_mailbox_is_not_taken_and_long_input_is_cut() {
        let mut l = Login::new(prompts());
        keys(&mut l, "#");
        keys(&mut l, &"1".repeat(40));
        keys(&mut l, "#");
        keys(&mut l, &"2".repeat(40));
        keys(&mut l, "#");
        match l.poll_action() {
            Some(LoginAction::Check { mailbox, pin }) => {
                assert_eq!((mailbox.len(), pin.len()), (MAX_KEYS, MAX_KEYS));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_silent_caller_is_hung_up() {
        let mut l = Login::new(prompts());
        let _ = frames(&mut l, KEY_WAIT_FRAMES + 10);
        assert_eq!(l.poll_action(), Some(LoginAction::Hangup));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts() -> Prompts {
        Prompts {
            none: vec![1; 800],
            intro: vec![2; 1600],
            deleted: vec![3; 800],
            end: vec![4; 800],
        }
    }

    fn messages() -> Vec<(i64, Vec<i16>)> {
        vec![
            (10, vec![100; 8000]),
            (11, vec![200; 8000]),
            (12, vec![300; 8000]),
        ]
    }

    /// Plays until `pred` holds for a frame (at most 20 s of frames).
    fn play_until(l: &mut Listener, pred: impl Fn(&[i16]) -> bool) -> bool {
        for _ in 0..1000 {
            match l.next_frame() {
                Some(f) if pred(&f) => return true,
                Some(_) => {}
                None => return false,
            }
        }
        false
    }

    fn actions(l: &mut Listener) -> Vec<Action> {
        std::iter::from_fn(|| l.poll_action()).collect()
    }

    #[test]
    fn no_messages_says_so_and_hangs_up() {
        let mut l = Listener::new(prompts(), Vec::new());
        let mut frames = 0;
        while l.next_frame().is_some() {
            frames += 1;
        }
        assert_eq!(frames, 5, "800 samples of words");
        assert_eq!(actions(&mut l), [Action::Hangup]);
        assert!(l.is_done());
    }

    #[test]
    fn messages_play_in_order_are_heard_and_go_on_by_themselves() {
        let mut l = Listener::new(prompts(), messages());
        assert!(
            play_until(&mut l, |f| f[0] == 100),
            "message 10 plays after the intro"
        );
        assert!(actions(&mut l).is_empty(), "not heard before its end");
        assert!(
            play_until(&mut l, |f| f[0] == 200),
            "then 11, after the wait"
        );
        assert_eq!(actions(&mut l), [Action::Heard(10)]);
        l.on_key('#');
        assert_eq!(actions(&mut l), [Action::Heard(11)], "# leaves it heard");
        assert!(play_until(&mut l, |f| f[0] == 300));
        l.on_key('#');
        assert!(play_until(&mut l, |f| f[0] == 4), "the end words");
        while l.next_frame().is_some() {}
        assert_eq!(actions(&mut l), [Action::Heard(12), Action::Hangup]);
    }

    #[test]
    fn one_replays_seven_deletes_and_hash_skips_the_intro() {
        let mut l = Listener::new(prompts(), messages());
        l.next_frame();
        l.on_key('#');
        let f = l.next_frame().unwrap();
        assert!(
            f.iter().all(|&s| s != 2) && f.iter().any(|&s| s != 0),
            "the intro is cut: the tone before the first message"
        );
        assert!(play_until(&mut l, |f| f[0] == 100));
        l.on_key('1');
        assert!(play_until(&mut l, |f| f[0] == 100), "again from the start");
        l.on_key('7');
        assert_eq!(actions(&mut l), [Action::Delete(10)]);
        assert!(play_until(&mut l, |f| f[0] == 3), "'deleted'");
        assert!(play_until(&mut l, |f| f[0] == 200), "then the next message");
        // Deleting the last one says goodbye.
        l.on_key('#');
        assert!(play_until(&mut l, |f| f[0] == 300));
        l.on_key('7');
        assert!(play_until(&mut l, |f| f[0] == 4));
        while l.next_frame().is_some() {}
        assert_eq!(
            actions(&mut l),
            [Action::Heard(11), Action::Delete(12), Action::Hangup]
        );
    }
}
