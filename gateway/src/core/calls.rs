//! Calls in progress, by SIP Call-ID: who is ringing and who is talking (for presence and
//! busy-lamp fields), and the record of each call (CDR) that is handed to the store when
//! the call ends. The proxy decides what happens to a call; this only keeps account.

use centrala_sip::Instant;

use super::HashMap;
use super::location::AorKey;
use super::presence::{CallRecord, Outcome};

/// What a person is doing on the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activity {
    #[default]
    Idle,
    /// A call to them rings.
    Ringing,
    /// Placing a call, or in one.
    Talking,
}

/// One party's side of a call, for dialog-info (RFC 4235).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    pub call_id: Box<str>,
    /// True when this party placed the call.
    pub initiator: bool,
    pub answered: bool,
    /// The other party's SIP URI (or number), when known.
    pub remote: String,
}

#[derive(Debug)]
struct Call {
    caller: Option<AorKey>,
    callee: Option<AorKey>,
    /// Forwarded to an outside number by this person's rule.
    outside_leg: Option<(AorKey, String)>,
    record: CallRecord,
    answered: bool,
    started: Instant,
}

#[derive(Debug, Default, Clone, Copy)]
struct Party {
    ringing: u32,
    talking: u32,
}

#[derive(Debug, Default)]
pub struct Calls {
    by_id: HashMap<Box<str>, Call>,
    parties: HashMap<AorKey, Party>,
}

/// Calls older than this are forgotten without a record (their dialog was lost).
pub const MAX_CALL_MS: u64 = 12 * 3600 * 1000;

impl Calls {
    /// The caller (`caller`) or the callee of a call in progress, when an employee.
    pub fn party(&self, call_id: &str, caller: bool) -> Option<AorKey> {
        let c = self.by_id.get(call_id)?;
        if caller {
            c.caller.clone()
        } else {
            c.callee.clone()
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// A call starts ringing `callee` (placed by `caller`, an extension, or from outside).
    /// Returns false when a call with its record's Call-ID is already known.
    pub fn start(
        &mut self,
        caller: Option<AorKey>,
        callee: Option<AorKey>,
        record: CallRecord,
        now: Instant,
    ) -> bool {
        let call_id = record.sip_call_id.as_str();
        if self.by_id.contains_key(call_id) {
            return false;
        }
        if let Some(a) = &caller {
            self.parties.entry(a.clone()).or_default().talking += 1;
        }
        if let Some(b) = &callee {
            self.parties.entry(b.clone()).or_default().ringing += 1;
        }
        self.by_id.insert(
            record.sip_call_id.as_str().into(),
            Call {
                caller,
                callee,
                outside_leg: None,
                record,
                answered: false,
                started: now,
            },
        );
        true
    }

    /// The call answered was taken by the voicemail service.
    pub fn to_voicemail(&mut self, call_id: &str) {
        if let Some(call) = self.by_id.get_mut(call_id) {
            call.record.outcome = Outcome::Voicemail;
        }
    }

    /// The call was answered (on `device`); returns the callee, whose activity changed.
    pub fn answered(
        &mut self,
        call_id: &str,
        unix_ms: i64,
        device: Option<String>,
    ) -> Option<AorKey> {
        let call = self.by_id.get_mut(call_id)?;
        if call.answered {
            return None;
        }
        call.answered = true;
        call.record.answered_ms = Some(unix_ms);
        call.record.answered_device = device;
        call.record.outcome = Outcome::Answered;
        let callee = call.callee.clone()?;
        if let Some(p) = self.parties.get_mut(&callee) {
            p.ringing = p.ringing.saturating_sub(1);
            p.talking += 1;
        }
        Some(callee)
    }

    /// The call's record names `ext` as its callee (voicemail took it for them) without
    /// making them busy.
    /// The call was forwarded by `owner`'s rule to an outside number: that leg is theirs to
    /// pay (see [`Calls::outside_leg`]).
    pub fn set_outside_leg(&mut self, call_id: &str, owner: &AorKey, number: &str) {
        if let Some(call) = self.by_id.get_mut(call_id) {
            call.outside_leg = Some((owner.clone(), number.to_string()));
        }
    }

    /// Who forwarded the call to which outside number, if it was.
    pub fn outside_leg(&self, call_id: &str) -> Option<(AorKey, String)> {
        self.by_id.get(call_id)?.outside_leg.clone()
    }

    pub fn set_callee_ext(&mut self, call_id: &str, ext: &str) {
        if let Some(call) = self.by_id.get_mut(call_id) {
            call.record.callee_ext = Some(ext.to_string());
        }
    }

    /// An unanswered call was forwarded away from `from` (for `cause`) to `to`: `to` rings
    /// now instead. Returns the parties whose activity changed.
    pub fn retarget(
        &mut self,
        call_id: &str,
        to: Option<AorKey>,
        from: &AorKey,
        cause: crate::forwarding::Cause,
    ) -> Vec<AorKey> {
        self.set_callee(call_id, to, Some((from, cause)))
    }

    /// A call to a main number that rings a group was answered by `to`: from now on it is
    /// theirs (no forwarding happened).
    pub fn assign(&mut self, call_id: &str, to: AorKey) -> Vec<AorKey> {
        self.set_callee(call_id, Some(to), None)
    }

    fn set_callee(
        &mut self,
        call_id: &str,
        to: Option<AorKey>,
        diverted: Option<(&AorKey, crate::forwarding::Cause)>,
    ) -> Vec<AorKey> {
        let Some(call) = self.by_id.get_mut(call_id) else {
            return Vec::new();
        };
        if call.answered {
            return Vec::new();
        }
        let old = std::mem::replace(&mut call.callee, to.clone());
        if let Some((from, cause)) = diverted
            && call.record.diverted_from.is_none()
        {
            call.record.diverted_from = Some(from.ext.to_string());
            call.record.diversion = Some(cause);
        }
        call.record.callee_ext = to.as_ref().map(|a| a.ext.to_string());
        call.record.callee_name = None;
        let mut changed = Vec::with_capacity(2);
        if let Some(old) = old {
            self.release(&old, true);
            changed.push(old);
        }
        if let Some(to) = to {
            self.parties.entry(to.clone()).or_default().ringing += 1;
            changed.push(to);
        }
        changed
    }

    /// Whether the call is known and answered.
    pub fn is_answered(&self, call_id: &str) -> bool {
        self.by_id.get(call_id).is_some_and(|c| c.answered)
    }

    /// The call ended. An unanswered call's outcome comes from `status` (the final response
    /// sent to the caller; `None`: the caller went away). Returns its record and the
    /// parties whose activity changed.
    pub fn end(
        &mut self,
        call_id: &str,
        unix_ms: i64,
        status: Option<u16>,
    ) -> Option<(CallRecord, Vec<AorKey>)> {
        let call = self.by_id.remove(call_id)?;
        Some(self.finish(call, unix_ms, status))
    }

    fn finish(
        &mut self,
        mut call: Call,
        unix_ms: i64,
        status: Option<u16>,
    ) -> (CallRecord, Vec<AorKey>) {
        let mut changed = Vec::with_capacity(2);
        if let Some(a) = call.caller.take() {
            self.release(&a, false);
            changed.push(a);
        }
        if let Some(b) = call.callee.take() {
            self.release(&b, !call.answered);
            changed.push(b);
        }
        call.record.ended_ms = unix_ms;
        if !call.answered {
            call.record.status = status;
            call.record.outcome = outcome_of(status);
        }
        (call.record, changed)
    }

    fn release(&mut self, aor: &AorKey, ringing: bool) {
        if let Some(p) = self.parties.get_mut(aor) {
            if ringing {
                p.ringing = p.ringing.saturating_sub(1);
            } else {
                p.talking = p.talking.saturating_sub(1);
            }
            if p.ringing == 0 && p.talking == 0 {
                self.parties.remove(aor);
            }
        }
    }

    /// Calls started before `now - MAX_CALL_MS` (their end was never seen), ended now.
    pub fn sweep(&mut self, now: Instant, unix_ms: i64) -> Vec<(CallRecord, Vec<AorKey>)> {
        let old: Vec<Box<str>> = self
            .by_id
            .iter()
            .filter(|(_, c)| now.saturating_sub(c.started) >= MAX_CALL_MS)
            .map(|(id, _)| id.clone())
            .collect();
        old.into_iter()
            .filter_map(|id| self.end(&id, unix_ms, None))
            .collect()
    }

    /// What `aor` is doing.
    pub fn activity(&self, aor: &AorKey) -> Activity {
        match self.parties.get(aor) {
            Some(p) if p.talking > 0 => Activity::Talking,
            Some(p) if p.ringing > 0 => Activity::Ringing,
            _ => Activity::Idle,
        }
    }

    /// `aor`'s calls, for dialog-info. Linear in the calls in progress; only asked for by
    /// dialog-event watchers (desk phones' busy lamps), and only when `aor` is on a call.
    pub fn legs(&self, aor: &AorKey) -> Vec<Leg> {
        if self.activity(aor) == Activity::Idle {
            return Vec::new();
        }
        self.by_id
            .iter()
            .filter_map(|(id, c)| {
                let initiator = c.caller.as_ref() == Some(aor);
                if !initiator && c.callee.as_ref() != Some(aor) {
                    return None;
                }
                let remote = if initiator {
                    c.record.dialled.clone()
                } else {
                    c.record.caller_number.clone()
                };
                Some(Leg {
                    call_id: id.clone(),
                    initiator,
                    answered: c.answered,
                    remote,
                })
            })
            .collect()
    }
}

/// How an unanswered call ended, from the final response its caller got.
pub fn outcome_of(status: Option<u16>) -> Outcome {
    match status {
        None | Some(487) | Some(408) => Outcome::Missed,
        Some(480) => Outcome::Missed,
        Some(486) | Some(600) => Outcome::Busy,
        Some(603) => Outcome::Declined,
        Some(s) if (200..300).contains(&s) => Outcome::Answered,
        Some(_) => Outcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CallRecord {
        CallRecord {
            company: 1,
            sip_call_id: "c1".into(),
            caller_ext: Some("101".into()),
            caller_number: "101".into(),
            caller_name: Some("Alice".into()),
            dialled: "102".into(),
            callee_ext: Some("102".into()),
            callee_name: None,
            started_ms: 1000,
            answered_ms: None,
            ended_ms: 0,
            outcome: Outcome::Missed,
            status: None,
            answered_device: None,
            diverted_from: None,
            diversion: None,
        }
    }

    #[test]
    fn ringing_then_talking_then_idle() {
        let (a, b) = (AorKey::new(1, "101"), AorKey::new(1, "102"));
        let mut calls = Calls::default();
        assert!(calls.start(Some(a.clone()), Some(b.clone()), record(), 0));
        assert!(!calls.start(Some(a.clone()), Some(b.clone()), record(), 0));
        assert_eq!(calls.activity(&a), Activity::Talking);
        assert_eq!(calls.activity(&b), Activity::Ringing);
        assert_eq!(
            calls.answered("c1", 2000, Some("phone".into())),
            Some(b.clone())
        );
        assert_eq!(calls.answered("c1", 2000, None), None);
        assert_eq!(calls.activity(&b), Activity::Talking);
        let legs = calls.legs(&b);
        assert_eq!(legs.len(), 1);
        assert!(!legs[0].initiator && legs[0].answered);
        let (rec, changed) = calls.end("c1", 5000, Some(200)).unwrap();
        assert_eq!(rec.outcome, Outcome::Answered);
        assert_eq!(rec.answered_ms, Some(2000));
        assert_eq!(rec.ended_ms, 5000);
        assert_eq!(rec.answered_device.as_deref(), Some("phone"));
        assert_eq!(changed, vec![a.clone(), b.clone()]);
        assert_eq!(calls.activity(&a), Activity::Idle);
        assert_eq!(calls.activity(&b), Activity::Idle);
        assert!(calls.is_empty());
    }

    #[test]
    fn unanswered_outcomes() {
        assert_eq!(outcome_of(Some(487)), Outcome::Missed);
        assert_eq!(outcome_of(Some(480)), Outcome::Missed);
        assert_eq!(outcome_of(None), Outcome::Missed);
        assert_eq!(outcome_of(Some(486)), Outcome::Busy);
        assert_eq!(outcome_of(Some(603)), Outcome::Declined);
        assert_eq!(outcome_of(Some(404)), Outcome::Failed);
        let b = AorKey::new(1, "102");
        let mut calls = Calls::default();
        calls.start(None, Some(b.clone()), record(), 0);
        let (rec, _) = calls.end("c1", 9, Some(603)).unwrap();
        assert_eq!((rec.outcome, rec.status), (Outcome::Declined, Some(603)));
        assert_eq!(calls.activity(&b), Activity::Idle);
    }

    #[test]
    fn two_calls_for_one_person() {
        let b = AorKey::new(1, "102");
        let mut calls = Calls::default();
        calls.start(None, Some(b.clone()), record(), 0);
        let second = CallRecord {
            sip_call_id: "c2".into(),
            ..record()
        };
        calls.start(None, Some(b.clone()), second, 0);
        calls.answered("c1", 1, None);
        calls.end("c1", 2, Some(200));
        assert_eq!(calls.activity(&b), Activity::Ringing);
        calls.end("c2", 3, Some(487));
        assert_eq!(calls.activity(&b), Activity::Idle);
    }

    #[test]
    fn forgotten_after_twelve_hours() {
        let mut calls = Calls::default();
        calls.start(None, Some(AorKey::new(1, "102")), record(), 0);
        assert!(calls.sweep(MAX_CALL_MS - 1, 0).is_empty());
        assert_eq!(calls.sweep(MAX_CALL_MS, 0).len(), 1);
        assert!(calls.is_empty());
    }
}
