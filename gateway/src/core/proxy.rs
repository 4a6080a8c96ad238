//! The proxy's response contexts (RFC 3261 16): one per forwarded request, with its branches,
//! in a state enum instead of a bag of flags. The core forwards and cancels; this module
//! decides what a branch's response does to the call.

use std::collections::BTreeSet;

use centrala_sip::Instant;
use centrala_sip::message::{Method, Request, Response};
use centrala_sip::transaction::TxKey;

use super::dialogs::DialogId;
use super::flows::FlowId;
use super::routing::Route;
use super::{HashMap, Identity};

/// How far one branch got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchState {
    /// Sent, nothing back yet (a CANCEL must wait for a provisional, RFC 3261 9.1).
    Pending,
    /// A provisional came back: CANCEL may go.
    Proceeding,
    /// CANCEL sent.
    Cancelling,
    /// A final response came (or it timed out).
    Done,
}

#[derive(Debug)]
pub struct Branch {
    pub key: TxKey,
    pub flow: FlowId,
    /// The device's flow: `flow`, unless the media service bridges the branch (then `flow`
    /// is the service's).
    pub device: FlowId,
    pub state: BranchState,
    /// Rung before the call was forwarded on: being cancelled, its refusals do not count.
    pub superseded: bool,
}

impl Branch {
    pub fn new(key: TxKey, flow: FlowId) -> Branch {
        Branch::bridged(key, flow, flow)
    }

    /// A branch through the media service (`flow`) to the device on `device`.
    pub fn bridged(key: TxKey, flow: FlowId, device: FlowId) -> Branch {
        Branch {
            key,
            flow,
            device,
            state: BranchState::Pending,
            superseded: false,
        }
    }
}

/// An INVITE's forwarding state: its route (see [`Route`]) and what the proxy did of it.
#[derive(Debug)]
pub struct Forwarding {
    pub route: Route,
    /// How the caller is presented to every branch (kept when forwarded).
    pub identity: Identity,
    /// The devices rung in the current step (their keys), so that the rest join once.
    pub rung: Vec<Box<str>>,
    /// When the default device has rung alone long enough and the rest join.
    pub rest_at: Option<Instant>,
    /// When the current step has rung long enough.
    pub no_answer_at: Instant,
    /// The final status and reason when the branches end (a loop found mid-call).
    pub refuse: Option<(u16, String)>,
    /// The company's SIP domain, for History-Info and Diversion URIs.
    pub domain: String,
}

/// Why the branches are being cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// The caller sent CANCEL: the branches' 487 goes back.
    ByCaller,
    /// Nobody answered in time: 480 goes back.
    NoAnswer,
    /// The caller's connection closed: nothing goes back.
    CallerGone,
}

/// Where a forwarded request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Branches out; no final response upstream yet.
    Trying,
    /// Branches being cancelled; the final response goes when the last one ends.
    Cancelling(Cancel),
    /// A 2xx went upstream. An INVITE's context stays until its linger ends, so that 2xx
    /// retransmissions still reach the caller (RFC 3261 16.7 step 10, RFC 6026).
    Answered,
    /// A final non-2xx went upstream.
    Completed,
}

/// What kind of request a context forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Out of dialog; record-routed ones (INVITE, SUBSCRIBE, REFER) set up dialogs, listed
    /// here until the request ends.
    Initial {
        creates_dialogs: bool,
        dialogs: Vec<DialogId>,
    },
    /// Within a dialog; `ends` for a BYE.
    InDialog { dialog: DialogId, ends: bool },
}

/// One forwarded request and its branches.
#[derive(Debug)]
pub struct Ctx {
    pub request: Request,
    pub upstream: FlowId,
    pub branches: Vec<Branch>,
    pub best: Option<Response>,
    pub state: State,
    pub kind: Kind,
    /// When an INVITE still ringing gives up (in [`Proxy`]'s ringing set while `Some`).
    ring_at: Option<Instant>,
    /// A call to a person: their forwarding rules and ring strategy.
    pub fwd: Option<Box<Forwarding>>,
    /// A call to the phone network: the trunks left to try.
    pub trunk: Option<Box<super::trunk::TrunkCall>>,
}

impl Ctx {
    pub fn new(request: Request, upstream: FlowId, kind: Kind) -> Ctx {
        Ctx {
            request,
            upstream,
            branches: Vec::new(),
            best: None,
            state: State::Trying,
            kind,
            ring_at: None,
            fwd: None,
            trunk: None,
        }
    }

    /// The call moves on (forwarded): the branches out now are superseded and the next ones
    /// decide the outcome.
    pub fn supersede(&mut self) {
        for b in &mut self.branches {
            b.superseded = true;
        }
        self.best = None;
        if self.state == State::Completed {
            self.state = State::Trying;
        }
    }

    pub fn is_invite(&self) -> bool {
        self.request.method == Method::Invite
    }

    /// Whether a final response went (or will never go) upstream.
    pub fn final_sent(&self) -> bool {
        matches!(
            self.state,
            State::Answered | State::Completed | State::Cancelling(Cancel::CallerGone)
        )
    }

    pub fn all_done(&self) -> bool {
        self.branches.iter().all(|b| b.state == BranchState::Done)
    }

    /// Starts cancelling (unless a final response already went); true when it did.
    pub fn cancel(&mut self, why: Cancel) -> bool {
        if self.final_sent() || matches!(self.state, State::Cancelling(_)) {
            if why == Cancel::CallerGone && self.state != State::Answered {
                self.state = State::Cancelling(Cancel::CallerGone);
            }
            return false;
        }
        self.state = State::Cancelling(why);
        true
    }

    /// Branches that have had a provisional and are not cancelled yet: CANCEL them now.
    pub fn take_cancellable(&mut self) -> Vec<(TxKey, FlowId)> {
        if !self.is_invite() {
            return Vec::new();
        }
        let all = self.state != State::Trying;
        self.branches
            .iter_mut()
            .filter(|b| b.state == BranchState::Proceeding && (all || b.superseded))
            .map(|b| {
                b.state = BranchState::Cancelling;
                (b.key.clone(), b.flow)
            })
            .collect()
    }

    /// A branch's response: what goes upstream and what else to do.
    pub fn on_response(&mut self, bi: usize, resp: Response) -> Step {
        let status = resp.status;
        let branch = &mut self.branches[bi];
        match status {
            100 => Step::none(),
            101..=199 => {
                let first = branch.state == BranchState::Pending;
                if first {
                    branch.state = BranchState::Proceeding;
                }
                let superseded = branch.superseded;
                let stopping = matches!(self.state, State::Cancelling(_))
                    || (self.final_sent() && self.is_invite())
                    || superseded;
                if stopping {
                    // A branch we could not cancel before its provisional: cancel it now.
                    Step {
                        upstream: None,
                        cancel_rest: first,
                        answered: false,
                    }
                } else {
                    Step {
                        upstream: Some(resp),
                        cancel_rest: false,
                        answered: false,
                    }
                }
            }
            200..=299 => {
                branch.state = BranchState::Done;
                let first_answer = self.state != State::Answered;
                if first_answer && matches!(self.state, State::Cancelling(Cancel::CallerGone)) {
                    // Nobody to tell; the callee's side ends with the dialog.
                }
                self.state = State::Answered;
                // Every 2xx goes upstream (RFC 3261 16.7 step 5); the rest are cancelled.
                Step {
                    upstream: Some(resp),
                    cancel_rest: true,
                    answered: first_answer,
                }
            }
            _ => {
                branch.state = BranchState::Done;
                let better = !branch.superseded
                    && self
                        .best
                        .as_ref()
                        .is_none_or(|b| rank(status) < rank(b.status));
                if better {
                    self.best = Some(resp);
                }
                if self.final_sent() || !self.all_done() {
                    return Step::none();
                }
                let mut best = self
                    .best
                    .take()
                    .unwrap_or_else(|| self.request.response(408, "Request Timeout"));
                if let Some((status, reason)) = self.fwd.as_ref().and_then(|f| f.refuse.clone()) {
                    best.status = status;
                    best.reason = reason;
                } else if self.state == State::Cancelling(Cancel::NoAnswer) {
                    best.status = 480;
                    best.reason = "Temporarily Unavailable (no answer)".into();
                }
                self.state = State::Completed;
                Step {
                    upstream: Some(best),
                    cancel_rest: false,
                    answered: false,
                }
            }
        }
    }
}

/// What one branch response leads to.
#[derive(Debug)]
pub struct Step {
    /// Send this upstream.
    pub upstream: Option<Response>,
    /// CANCEL the branches that can be.
    pub cancel_rest: bool,
    /// The call was answered (first 2xx).
    pub answered: bool,
}

impl Step {
    fn none() -> Step {
        Step {
            upstream: None,
            cancel_rest: false,
            answered: false,
        }
    }
}

/// Which final response wins among branches (RFC 3261 16.7 step 6): 6xx first, then the
/// lowest class; within a class, a busy or decline beats a timeout.
pub fn rank(status: u16) -> u32 {
    let class = match status / 100 {
        6 => 0,
        c => u32::from(c),
    };
    let detail = match status {
        486 | 600 | 603 => 0,
        408 | 480 => 2,
        _ => 1,
    };
    class * 10 + detail
}

/// The contexts, which context each branch belongs to, and the INVITEs still ringing by
/// deadline (taken out as soon as they are answered or cancelled, so the set holds only
/// calls ringing now, not every call of the last two minutes).
#[derive(Debug, Default)]
pub struct Proxy {
    pub contexts: HashMap<TxKey, Ctx>,
    pub branch_of: HashMap<TxKey, TxKey>,
    ringing: BTreeSet<(Instant, TxKey)>,
}

impl Proxy {
    /// `key` rings until `at` at the latest.
    pub fn ring_until(&mut self, key: &TxKey, at: Instant) {
        if let Some(ctx) = self.contexts.get_mut(key) {
            if let Some(old) = ctx.ring_at.replace(at) {
                self.ringing.remove(&(old, key.clone()));
            }
            self.ringing.insert((at, key.clone()));
        }
    }

    /// `key` no longer rings (answered, cancelled, over).
    pub fn stop_ringing(&mut self, key: &TxKey) {
        if let Some(at) = self.contexts.get_mut(key).and_then(|c| c.ring_at.take()) {
            self.ringing.remove(&(at, key.clone()));
        }
    }

    /// The earliest ring deadline.
    pub fn next_ring_deadline(&self) -> Option<Instant> {
        self.ringing.first().map(|(t, _)| *t)
    }

    /// A call whose ring time is up at `now`, taken out of the set.
    pub fn pop_rung_out(&mut self, now: Instant) -> Option<TxKey> {
        let (at, _) = self.ringing.first()?;
        if *at > now {
            return None;
        }
        let (_, key) = self.ringing.pop_first()?;
        if let Some(ctx) = self.contexts.get_mut(&key) {
            ctx.ring_at = None;
        }
        Some(key)
    }

    /// A branch added to a context already in.
    pub fn add_branch(&mut self, key: &TxKey, branch: Branch) {
        if let Some(ctx) = self.contexts.get_mut(key) {
            self.branch_of.insert(branch.key.clone(), key.clone());
            ctx.branches.push(branch);
        }
    }

    pub fn insert(&mut self, key: TxKey, ctx: Ctx) {
        for b in &ctx.branches {
            self.branch_of.insert(b.key.clone(), key.clone());
        }
        self.contexts.insert(key, ctx);
    }

    /// Removes a context and its branch index.
    pub fn remove(&mut self, key: &TxKey) -> Option<Ctx> {
        self.stop_ringing(key);
        let ctx = self.contexts.remove(key)?;
        for b in &ctx.branches {
            self.branch_of.remove(&b.key);
        }
        Some(ctx)
    }

    /// The contexts whose caller is `flow` and still wait for a final response.
    pub fn waiting_on(&self, flow: FlowId) -> Vec<TxKey> {
        self.contexts
            .iter()
            .filter(|(_, c)| c.upstream == flow && !c.final_sent())
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.contexts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.contexts.is_empty()
    }
}

/// When an answered INVITE's context may go: after 64*T1, as long as transactions accept
/// 2xx retransmissions.
pub fn linger_until(now: Instant) -> Instant {
    now + 64 * centrala_sip::transaction::TimerConfig::default().t1
}
