//! Dialogs the proxy record-routed (RFC 3261 12), the only way in-dialog requests are routed:
//! a request with a To tag, or an ACK for a 2xx, goes only from one side's flow to the
//! other's (Kamailio's `loose_route` with a dialog table). Nothing is sent to an address a
//! Request-URI names.

use centrala_sip::Instant;
use centrala_sip::message::{Request, Response, SipMessage};

use super::HashMap;
use super::flows::{FlowId, Flows};

/// How long a dialog with no request in it is kept (Kamailio's dialog default is 12 h): a
/// call whose sides vanished without a BYE is forgotten then.
pub const IDLE_MS: u64 = 12 * 3600 * 1000;

/// A dialog: Call-ID, the caller's tag, the callee's tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    pub call_id: Box<str>,
    pub caller_tag: Box<str>,
    pub callee_tag: Box<str>,
}

/// Which side of a dialog sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Caller,
    Callee,
}

/// Whether a dialog is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Made by a provisional response with a To tag; ends with a final non-2xx.
    Early,
    /// A 2xx confirmed it; ends with BYE (or 481, a side's flow closing, or idleness).
    Confirmed,
}

#[derive(Debug)]
pub struct Dialog {
    pub caller: FlowId,
    pub callee: FlowId,
    pub phase: Phase,
    /// Forgotten then unless a request in it comes first.
    pub idle_until: Instant,
}

/// Why an in-dialog request is not routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No dialog of ours has its Call-ID and tags (481).
    Unknown,
    /// The dialog exists, but the request came on a flow that is neither of its sides (403).
    NotASide,
}

/// A request routed within a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub id: DialogId,
    pub from: Side,
    /// The other side's flow.
    pub to: FlowId,
}

#[derive(Debug, Default)]
pub struct Dialogs {
    table: HashMap<DialogId, Dialog>,
}

impl Dialogs {
    /// The two flows of the dialog a `Replaces` header names (RFC 3891:
    /// `call-id;to-tag=..;from-tag=..`, the tags as the sender of the INVITE sees them),
    /// either way round.
    pub fn sides_of_replaces(&self, replaces: &str) -> Option<(FlowId, FlowId)> {
        let mut parts = replaces.split(';').map(str::trim);
        let call_id = parts.next()?;
        let (mut to_tag, mut from_tag) = (None, None);
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "to-tag" => to_tag = Some(v.trim()),
                    "from-tag" => from_tag = Some(v.trim()),
                    _ => {}
                }
            }
        }
        let (a, b) = (to_tag?, from_tag?);
        [(a, b), (b, a)].into_iter().find_map(|(caller, callee)| {
            let id = DialogId {
                call_id: call_id.into(),
                caller_tag: caller.into(),
                callee_tag: callee.into(),
            };
            self.table.get(&id).map(|d| (d.caller, d.callee))
        })
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Where an in-dialog request (or ACK) arriving on `flow` goes, if anywhere. A routed
    /// request keeps its dialog alive another [`IDLE_MS`].
    pub fn route(&mut self, req: &Request, flow: FlowId, now: Instant) -> Result<Route, Refusal> {
        let call_id = req.call_id().ok_or(Refusal::Unknown)?;
        let from_tag = req.from_tag().ok_or(Refusal::Unknown)?;
        let to_tag = req.to_tag().ok_or(Refusal::Unknown)?;
        let as_caller = DialogId {
            call_id: call_id.into(),
            caller_tag: from_tag.as_str().into(),
            callee_tag: to_tag.as_str().into(),
        };
        let (id, side) = if self.table.contains_key(&as_caller) {
            (as_caller, Side::Caller)
        } else {
            let as_callee = DialogId {
                call_id: as_caller.call_id,
                caller_tag: as_caller.callee_tag,
                callee_tag: as_caller.caller_tag,
            };
            if !self.table.contains_key(&as_callee) {
                return Err(Refusal::Unknown);
            }
            (as_callee, Side::Callee)
        };
        let d = self.table.get_mut(&id).ok_or(Refusal::Unknown)?;
        let (sender, to) = match side {
            Side::Caller => (d.caller, d.callee),
            Side::Callee => (d.callee, d.caller),
        };
        if sender != flow {
            return Err(Refusal::NotASide);
        }
        d.idle_until = now + IDLE_MS;
        Ok(Route { id, from: side, to })
    }

    /// Notes the dialog a response with a To tag sets up for a request we record-routed
    /// (from `caller`'s flow, answered on `callee`'s). A 2xx confirms an early one. Returns
    /// the id when it is new; `None` when known, or when a side is gone or full (`room`
    /// says how many more a flow may hold).
    #[allow(clippy::too_many_arguments)]
    pub fn set_up(
        &mut self,
        req: &Request,
        resp: &Response,
        caller: FlowId,
        callee: FlowId,
        flows: &mut Flows,
        room: impl Fn(&Flows, FlowId) -> usize,
        now: Instant,
    ) -> Option<DialogId> {
        let id = DialogId {
            call_id: req.call_id()?.into(),
            caller_tag: req.from_tag()?.into(),
            callee_tag: resp.to_tag()?.into(),
        };
        let confirmed = resp.status >= 200;
        if let Some(d) = self.table.get_mut(&id) {
            if confirmed {
                d.phase = Phase::Confirmed;
            }
            return None;
        }
        if flows.get(caller).is_none() || room(flows, callee) == 0 {
            return None;
        }
        self.table.insert(
            id.clone(),
            Dialog {
                caller,
                callee,
                phase: if confirmed {
                    Phase::Confirmed
                } else {
                    Phase::Early
                },
                idle_until: now + IDLE_MS,
            },
        );
        for f in [caller, callee] {
            if let Some(flow) = flows.get_mut(f) {
                flow.dialogs.push(id.clone());
            }
        }
        Some(id)
    }

    /// Ends a dialog and takes it off both sides' lists.
    pub fn end(&mut self, id: &DialogId, flows: &mut Flows) {
        let Some(d) = self.table.remove(id) else {
            return;
        };
        for f in [d.caller, d.callee] {
            if let Some(flow) = flows.get_mut(f)
                && let Some(i) = flow.dialogs.iter().position(|x| x == id)
            {
                flow.dialogs.swap_remove(i);
            }
        }
    }

    /// Ends an early dialog (its INVITE failed); a confirmed one stays.
    pub fn end_if_early(&mut self, id: &DialogId, flows: &mut Flows) {
        if self.table.get(id).is_some_and(|d| d.phase == Phase::Early) {
            self.end(id, flows);
        }
    }

    /// The dialogs with no request for [`IDLE_MS`] at `now` (both sides vanished without a
    /// BYE). Scanned every few minutes: no timer per dialog outlives its call.
    pub fn idle(&self, now: Instant) -> Vec<DialogId> {
        self.table
            .iter()
            .filter(|(_, d)| d.idle_until <= now)
            .map(|(id, _)| id.clone())
            .collect()
    }
}
