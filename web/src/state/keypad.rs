//! The in-call dial pad: which keys are DTMF digits (RFC 4733 telephone-events 0-15).

/// The keypad's buttons, in the order shown (three columns).
pub const KEYS: [char; 12] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

/// The DTMF digit a key press sends, if any: 0-9, `*`, `#` and A-D (RFC 4733 events 12-15;
/// a lower-case letter counts as the capital). Anything else sends nothing.
pub fn dtmf_digit(key: &str) -> Option<char> {
    let mut chars = key.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None; // "Enter", "Shift", "F5"…
    }
    let c = c.to_ascii_uppercase();
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
}

/// The digits sent so far, as the panel shows them: the last `max` (older ones fall off the
/// front behind "…").
pub fn shown_digits(sent: &str, max: usize) -> String {
    let n = sent.chars().count();
    if n <= max {
        return sent.to_string();
    }
    let tail: String = sent.chars().skip(n - max).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_are_dtmf_digits() {
        for k in KEYS {
            assert_eq!(dtmf_digit(&k.to_string()), Some(k));
        }
        assert_eq!(dtmf_digit("a"), Some('A'));
        assert_eq!(dtmf_digit("D"), Some('D'));
        for k in ["E", "e", "Enter", "", " ", "+", "F1", "12", "ą"] {
            assert_eq!(dtmf_digit(k), None, "{k:?}");
        }
    }

    #[test]
    fn the_reducer_keeps_each_calls_keypad_and_digits() {
        use crate::state::{Action, AppState, Call, CallPhase};
        use centrala_sip::ua::CallHandle;
        let mut s = AppState::new(None);
        for h in [1, 2] {
            let mut c = Call::new(format!("10{h}"), CallPhase::Connected);
            c.handle = Some(CallHandle(h));
            s.calls.push(c);
        }
        let (one, two) = (CallHandle(1), CallHandle(2));
        s.apply(Action::KeypadToggle { call: one });
        s.apply(Action::DtmfSent {
            call: one,
            digit: '5',
        });
        s.apply(Action::DtmfSent {
            call: one,
            digit: '#',
        });
        s.apply(Action::DtmfUnavailable { call: two });
        s.apply(Action::DtmfSent {
            call: CallHandle(9),
            digit: '1',
        }); // gone: ignored
        assert!(s.calls[0].keypad_open && !s.calls[1].keypad_open);
        assert_eq!(s.calls[0].dtmf_sent, "5#");
        assert!(!s.calls[0].dtmf_unavailable && s.calls[1].dtmf_unavailable);
        assert_eq!(s.calls[1].dtmf_sent, "");
        s.apply(Action::KeypadToggle { call: one });
        assert!(!s.calls[0].keypad_open, "toggles back");
        assert_eq!(s.calls[0].dtmf_sent, "5#", "the digits stay with the call");
    }

    #[test]
    fn long_digit_runs_keep_their_end() {
        assert_eq!(shown_digits("", 8), "");
        assert_eq!(shown_digits("1234#", 8), "1234#");
        assert_eq!(shown_digits("123456789", 8), "…23456789");
    }
}
