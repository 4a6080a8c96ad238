//! Passing a call on: blind transfer (type a number or drop a contact on the call),
//! attended transfer (call the colleague first, then complete or go back), what the far end
//! keys in (DTMF as SIP INFO). The user agent does the SIP (`centrala_sip::ua`); this is what
//! the panel shows. Pure, tested natively.

use centrala_sip::ua::{CallHandle, Event, TransferProgress};

use super::{AppState, Call, CallPhase};

/// The most digits kept of what the far end keyed in.
const MAX_DTMF_SHOWN: usize = 32;

/// A call's transfer, as the panel shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallTransfer {
    /// Our transfer of this call: to whom (in words), and how far it got.
    pub ours: Option<(String, TransferProgress)>,
    /// This call consults a colleague about that (held) call: completing the transfer
    /// connects the two.
    pub consult_for: Option<CallHandle>,
    /// The far end is transferring us to this party (in words).
    pub away_to: Option<String>,
    /// Keys the far end sent as SIP INFO, oldest first.
    pub dtmf_received: String,
}

/// The "transfer" box of the call panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferForm {
    /// The call to transfer.
    pub call: CallHandle,
    /// The number or extension typed.
    pub target: String,
}

/// What the user does about transfers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferAction {
    /// Open the transfer box for this call.
    Open(CallHandle),
    Input(String),
    Close,
    /// A blind transfer of `call` to `target` was asked of the user agent (`sent`: it
    /// went out; else the call could not be transferred now).
    Blind {
        call: CallHandle,
        target: String,
        sent: bool,
    },
    /// The call being prepared (the newest without a handle) consults about `original`.
    Consulting {
        original: CallHandle,
    },
    /// The consultation ended without a transfer: back to the original call.
    ConsultCancelled {
        original: CallHandle,
    },
}

impl AppState {
    pub(super) fn on_transfer(&mut self, a: TransferAction) {
        match a {
            TransferAction::Open(call) => {
                if self
                    .calls
                    .iter()
                    .any(|c| c.can_transfer() && c.handle == Some(call))
                {
                    self.transfer_form = Some(TransferForm {
                        call,
                        target: String::new(),
                    });
                }
            }
            TransferAction::Input(v) => {
                if let Some(f) = &mut self.transfer_form {
                    f.target = v;
                }
            }
            TransferAction::Close => self.transfer_form = None,
            TransferAction::Blind { call, target, sent } => {
                self.transfer_form = None;
                let words = self.target_words(&target);
                if let Some(c) = self.call_mut(call) {
                    c.xfer.ours = Some((
                        words,
                        if sent {
                            TransferProgress::Requested
                        } else {
                            TransferProgress::Failed {
                                status: None,
                                reason: "The call cannot be transferred now".into(),
                            }
                        },
                    ));
                }
            }
            TransferAction::Consulting { original } => {
                self.transfer_form = None;
                if let Some(c) = self.calls.iter_mut().rev().find(|c| c.handle.is_none()) {
                    c.xfer.consult_for = Some(original);
                }
            }
            TransferAction::ConsultCancelled { original } => {
                for c in &mut self.calls {
                    if c.xfer.consult_for == Some(original) {
                        c.xfer.consult_for = None;
                    }
                }
            }
        }
    }

    /// The user agent's transfer and DTMF events.
    pub(super) fn on_transfer_event(&mut self, e: Event) {
        match e {
            Event::Transfer { call, progress } => {
                let consult = self
                    .calls
                    .iter()
                    .find(|c| c.xfer.consult_for == Some(call))
                    .map(|c| c.peer_words());
                if let Some(c) = self.call_mut(call) {
                    let to = c
                        .xfer
                        .ours
                        .as_ref()
                        .map(|(to, _)| to.clone())
                        .or(consult)
                        .unwrap_or_default();
                    c.xfer.ours = Some((to, progress));
                }
            }
            Event::TransferRequested { call, target, .. } => {
                let words = match &target.display {
                    Some(d) => format!("{d} ({})", target.user),
                    None => self.target_words(&target.user),
                };
                if let Some(c) = self.call_mut(call) {
                    c.xfer.away_to = Some(words);
                }
            }
            Event::Dtmf { call, digit } => {
                if let Some(c) = self.call_mut(call) {
                    c.xfer.dtmf_received.push(digit);
                    let n = c.xfer.dtmf_received.chars().count();
                    if n > MAX_DTMF_SHOWN {
                        c.xfer.dtmf_received = c
                            .xfer
                            .dtmf_received
                            .chars()
                            .skip(n - MAX_DTMF_SHOWN)
                            .collect();
                    }
                }
            }
            _ => {}
        }
    }

    /// "Bob (103)" when the number is a contact's, else the number.
    fn target_words(&self, target: &str) -> String {
        match self.contacts.name_for(target) {
            Some(name) => format!("{name} ({target})"),
            None => target.to_string(),
        }
    }
}

impl Call {
    /// Connected and not already being transferred.
    pub fn can_transfer(&self) -> bool {
        self.phase == CallPhase::Connected
            && self.handle.is_some()
            && !matches!(
                self.xfer.ours,
                Some((
                    _,
                    TransferProgress::Requested
                        | TransferProgress::Accepted
                        | TransferProgress::Ringing
                ))
            )
    }

    /// "Bob (103)" or the number.
    pub fn peer_words(&self) -> String {
        match self.peer_name() {
            Some(n) => format!("{n} ({})", self.peer),
            None => self.peer.clone(),
        }
    }
}

/// The value of `#transfer-status[data-progress]`.
pub fn progress_str(p: &TransferProgress) -> &'static str {
    match p {
        TransferProgress::Requested => "requested",
        TransferProgress::Accepted => "accepted",
        TransferProgress::Ringing => "ringing",
        TransferProgress::Done => "done",
        TransferProgress::Failed { .. } => "failed",
    }
}

/// What a dropped contact row carries: an extension or number (digits, `+`, `*`, `#`, or a
/// `sip:` address), trimmed; `None` for anything else dropped on the call.
pub fn dropped_target(text: &str) -> Option<String> {
    let t = text.trim();
    let ok = !t.is_empty()
        && t.len() <= 64
        && (t.starts_with("sip:")
            || t.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#')));
    ok.then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Action;
    use centrala_sip::ua::Party;

    fn talking() -> AppState {
        let mut s = AppState::new(None);
        s.apply(Action::OutgoingStarted {
            peer: "102".into(),
            video: false,
        });
        s.apply(Action::OutgoingPlaced {
            call: CallHandle(1),
        });
        s.apply(Action::Sip(Event::Answered {
            call: CallHandle(1),
            sdp: String::new(),
        }));
        s
    }

    #[test]
    fn a_blind_transfer_shows_its_progress_and_a_failure_keeps_the_call() {
        let mut s = talking();
        s.apply(Action::Transfer(TransferAction::Open(CallHandle(1))));
        s.apply(Action::Transfer(TransferAction::Input("103".into())));
        assert_eq!(s.transfer_form.as_ref().unwrap().target, "103");
        s.apply(Action::Transfer(TransferAction::Blind {
            call: CallHandle(1),
            target: "103".into(),
            sent: true,
        }));
        assert!(s.transfer_form.is_none());
        assert!(!s.calls[0].can_transfer(), "one transfer at a time");
        s.apply(Action::Sip(Event::Transfer {
            call: CallHandle(1),
            progress: TransferProgress::Failed {
                status: Some(486),
                reason: "Transfer failed: busy".into(),
            },
        }));
        let (to, p) = s.calls[0].xfer.ours.clone().unwrap();
        assert_eq!(to, "103");
        assert_eq!(progress_str(&p), "failed");
        assert!(s.calls[0].can_transfer(), "it can be tried again");
        // Opening the box for a call that is not up does nothing.
        s.apply(Action::Transfer(TransferAction::Open(CallHandle(9))));
        assert!(s.transfer_form.is_none());
    }

    #[test]
    fn a_consultation_is_linked_to_the_held_call_and_can_be_cancelled() {
        let mut s = talking();
        s.apply(Action::OutgoingStarted {
            peer: "103".into(),
            video: false,
        });
        s.apply(Action::Transfer(TransferAction::Consulting {
            original: CallHandle(1),
        }));
        s.apply(Action::OutgoingPlaced {
            call: CallHandle(2),
        });
        let consult = s
            .calls
            .iter()
            .find(|c| c.handle == Some(CallHandle(2)))
            .unwrap();
        assert_eq!(consult.xfer.consult_for, Some(CallHandle(1)));
        // Progress of the attended transfer names the colleague.
        s.apply(Action::Sip(Event::Transfer {
            call: CallHandle(1),
            progress: TransferProgress::Requested,
        }));
        assert_eq!(s.calls[0].xfer.ours.as_ref().unwrap().0, "103");
        s.apply(Action::Transfer(TransferAction::ConsultCancelled {
            original: CallHandle(1),
        }));
        assert!(s.calls.iter().all(|c| c.xfer.consult_for.is_none()));
    }

    #[test]
    fn keys_from_the_far_end_and_being_transferred_are_shown() {
        let mut s = talking();
        for d in "12#".chars() {
            s.apply(Action::Sip(Event::Dtmf {
                call: CallHandle(1),
                digit: d,
            }));
        }
        for _ in 0..40 {
            s.apply(Action::Sip(Event::Dtmf {
                call: CallHandle(1),
                digit: '5',
            }));
        }
        assert_eq!(s.calls[0].xfer.dtmf_received.len(), MAX_DTMF_SHOWN);
        s.apply(Action::Sip(Event::TransferRequested {
            call: CallHandle(1),
            target: Party {
                user: "103".into(),
                display: Some("Cezary".into()),
            },
            replacing: false,
        }));
        assert_eq!(s.calls[0].xfer.away_to.as_deref(), Some("Cezary (103)"));
    }

    #[test]
    fn only_numbers_and_sip_addresses_can_be_dropped() {
        assert_eq!(dropped_target(" 103 "), Some("103".into()));
        assert_eq!(dropped_target("+48123"), Some("+48123".into()));
        assert_eq!(dropped_target("sip:a@b"), Some("sip:a@b".into()));
        assert_eq!(dropped_target("https://evil.example"), None);
        assert_eq!(dropped_target(""), None);
        assert_eq!(dropped_target("Bob"), None);
    }
}
