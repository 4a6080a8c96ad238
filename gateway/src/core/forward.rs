//! Carrying out a call's route (see [`super::routing::Route`]): forking branches to the
//! devices that ring now, letting the rest of a person's devices join after the default one,
//! and moving the call on when it is busy or unanswered. A forwarded call keeps the caller's
//! identity and tells both ends what happened: the caller gets 181 Call Is Being Forwarded
//! with History-Info (RFC 7044), the new target's INVITE carries History-Info and Diversion
//! (RFC 5806).

use centrala_sip::Instant;
use centrala_sip::message::{Request, SipMessage, Uri};
use centrala_sip::transaction::TxKey;
use tracing::info;

use crate::forwarding::Cause;

use super::cache::Cached;
use super::location::{Location, device_id};
use super::presence::{CallRecord, Choice, Presence};
use super::proxy::{Branch, Cancel, Ctx, Forwarding, Kind, State};
use super::routing::{Decision, Hop, Person, Ringing, Route, World};
use super::{AorKey, Core, FlowId, HashMap, Identity, LookupId};

/// Registrations and statuses as they are now, seen from a caller on `exclude` (a device does
/// not ring for its own call).
pub(super) struct LiveWorld<'a> {
    pub location: &'a Location,
    pub presence: &'a Presence,
    pub exclude: FlowId,
    pub now: Instant,
    /// The voicemail service is connected.
    pub voicemail: bool,
    /// A trunk to the phone network exists.
    pub trunks: bool,
}

impl World for LiveWorld<'_> {
    fn reachable(&self, aor: &AorKey) -> bool {
        self.location
            .bindings(aor)
            .iter()
            .any(|b| b.expires_at > self.now && b.flow != self.exclude)
    }

    fn choice(&self, aor: &AorKey) -> Choice {
        self.presence.choice(aor)
    }

    fn voicemail(&self) -> bool {
        self.voicemail
    }

    fn trunks(&self) -> bool {
        self.trunks
    }
}

/// What a forwarding attempt came to.
pub(super) enum Rerouted {
    /// No rule for it: the call ends as it would have.
    No,
    /// Ringing elsewhere now.
    Ringing,
    /// The rule leads nowhere (a loop): end with this.
    Refused(u16, String),
}

/// Statuses that count as busy for the busy rule: busy, and declined.
pub(super) fn is_busy(status: u16) -> bool {
    matches!(status, 486 | 600 | 603)
}

impl Core {
    pub(super) fn world(&self, exclude: FlowId, now: Instant) -> LiveWorld<'_> {
        LiveWorld {
            location: &self.location,
            presence: &self.presence,
            exclude,
            now,
            voicemail: self.voicemail.is_some(),
            trunks: !self.trunks.is_empty(),
        }
    }

    /// Everyone a call to `aor` may reach through forwarding, from the cache; a miss starts
    /// the lookups and the request waits for one.
    pub(super) fn people_for(
        &mut self,
        aor: &AorKey,
        now: Instant,
    ) -> Result<HashMap<AorKey, Person>, LookupId> {
        let mut people: HashMap<AorKey, Person> = HashMap::default();
        let mut absent: Vec<AorKey> = Vec::new();
        let mut missing = None;
        loop {
            let all = Route::reach(aor, |a| people.get(a).map(|p| &*p.routing));
            let mut added = false;
            for a in all {
                if people.contains_key(&a) || absent.contains(&a) {
                    continue;
                }
                match self.cache.user(a.company, &a.ext, now) {
                    Cached::Hit(Some(u)) => {
                        people.insert(
                            a,
                            Person {
                                outside: u.outside.clone(),
                                name: u.name.clone(),
                                routing: u.routing.clone(),
                                default_device: u.default_device.clone(),
                            },
                        );
                        added = true;
                    }
                    Cached::Hit(None) => absent.push(a),
                    Cached::Miss(id) => {
                        missing.get_or_insert(id);
                        absent.push(a);
                    }
                }
            }
            if !added {
                break;
            }
        }
        match missing {
            Some(id) => Err(id),
            None => Ok(people),
        }
    }

    /// Starts proxying `req` as `decision` says: refused at once, or a context whose branches
    /// ring the devices.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_proxy(
        &mut self,
        key: TxKey,
        mut req: Request,
        flow: FlowId,
        decision: Decision,
        fwd: Option<Box<Forwarding>>,
        identity: &Identity,
        caller: &str,
        call: Option<(CallRecord, Option<AorKey>)>,
        now: Instant,
    ) {
        let (mut record, caller_aor) = match call {
            Some((r, a)) => (Some(r), a),
            None => (None, None),
        };
        let hops: Vec<Hop> = fwd
            .as_ref()
            .map(|f| f.route.hops.clone())
            .unwrap_or_default();
        if let Some(f) = &fwd {
            note_hops(&mut req, &f.route, &hops, &f.domain);
        }
        if let (Some(r), Some(first)) = (record.as_mut(), hops.first()) {
            r.diverted_from = Some(first.from.ext.to_string());
            r.diversion = Some(first.cause);
            r.callee_ext = hops
                .last()
                .and_then(|h| h.to.first())
                .map(|a| a.ext.to_string());
        }
        let (who, ring_ms, first_only) = match decision {
            Decision::Refuse { status, reason } => {
                info!(from = %caller, to = %req.uri, status, %reason, "call refused");
                self.reply(&key, &req, status, &reason, now);
                self.record_refused(record, status, now);
                return;
            }
            Decision::Ring {
                who,
                ring_ms,
                first_only,
            } => (who, ring_ms, first_only),
        };
        let invite = req.method == centrala_sip::message::Method::Invite;
        let creates_dialogs = matches!(
            req.method,
            centrala_sip::message::Method::Invite
                | centrala_sip::message::Method::Subscribe
                | centrala_sip::message::Method::Refer
        );
        let world = self.world(flow, now);
        if !matches!(who, Ringing::Voicemail { .. } | Ringing::External { .. })
            && !who.aors().iter().any(|a| world.reachable(a))
        {
            self.reply(
                &key,
                &req,
                480,
                "Temporarily Unavailable (nobody is logged in on that extension)",
                now,
            );
            self.record_refused(record, 480, now);
            return;
        }
        if creates_dialogs && self.dialog_room(flow) == 0 {
            self.reply(
                &key,
                &req,
                503,
                "Service Unavailable (too many calls on this connection)",
                now,
            );
            self.record_refused(record, 503, now);
            return;
        }
        let mut ctx = Ctx::new(
            req,
            flow,
            Kind::Initial {
                creates_dialogs,
                dialogs: Vec::new(),
            },
        );
        ctx.fwd = fwd;
        self.proxy.insert(key.clone(), ctx);
        let first = first_only.as_ref().map(|(d, _)| &**d);
        let forked = self.ring(&key, &who, first, identity, now);
        if forked == 0 {
            let ctx = self.proxy.remove(&key).expect("just inserted");
            self.reply(
                &key,
                &ctx.request,
                486,
                "Busy Here (too many calls on that device)",
                now,
            );
            self.record_refused(record, 486, now);
            return;
        }
        if invite {
            let ctx = &self.proxy.contexts[&key];
            // (Already sent when the request waited for a lookup.)
            let trying = (!self.tx.server_provisional_sent(&key))
                .then(|| ctx.request.response(100, "Trying"));
            let forwarded = (!hops.is_empty()).then(|| forwarded_response(&ctx.request));
            let call_id = ctx.request.call_id().unwrap_or_default().to_string();
            if let Some(t) = trying {
                self.respond(&key, t, now);
            }
            if let Some(r) = forwarded {
                self.respond(&key, r, now);
            }
            info!(from = %caller, to = ?who, call_id, devices = forked, hops = hops.len(), "call");
        }
        if let (Some(r), Ringing::Voicemail { owner, .. } | Ringing::External { owner, .. }) =
            (record.as_mut(), &who)
        {
            // The person whose voicemail or outside number took it (the history shows it
            // for them).
            r.callee_ext = Some(owner.ext.to_string());
        }
        let outside_leg = match &who {
            Ringing::External { owner, number } => Some((owner.clone(), number.clone())),
            _ => None,
        };
        if let Some(rec) = record {
            let call_id = rec.sip_call_id.clone();
            // Voicemail answering does not make its owner "on the phone".
            let callee = match &who {
                Ringing::Voicemail { .. } => None,
                _ => who.aors().into_iter().next(),
            };
            let mut changed: Vec<AorKey> = callee.iter().cloned().collect();
            changed.extend(caller_aor.clone());
            if self.calls.start(caller_aor, callee, rec, now) {
                self.calls_changed(&changed, now);
            }
            if let Some((owner, number)) = &outside_leg {
                self.calls.set_outside_leg(&call_id, owner, number);
            }
        }
        if invite {
            self.arm_ring(&key, ring_ms, first_only.map(|(_, alone)| alone), now);
        }
    }

    /// The ring deadlines of the step that just started: the rest of the devices join after
    /// `alone_ms` (default-first), nobody answered after `ring_ms`.
    fn arm_ring(&mut self, key: &TxKey, ring_ms: u64, alone_ms: Option<u64>, now: Instant) {
        let rest_at = alone_ms.filter(|a| *a < ring_ms).map(|a| now + a);
        if let Some(f) = self
            .proxy
            .contexts
            .get_mut(key)
            .and_then(|c| c.fwd.as_mut())
        {
            f.no_answer_at = now + ring_ms;
            f.rest_at = rest_at;
        }
        self.proxy.ring_until(key, rest_at.unwrap_or(now + ring_ms));
    }

    /// Forks a branch to each device of `who` not rung yet in this step (only the default
    /// device when `first_only` names one that is registered). Returns how many.
    pub(super) fn ring(
        &mut self,
        skey: &TxKey,
        who: &Ringing,
        first_only: Option<&str>,
        identity: &Identity,
        now: Instant,
    ) -> usize {
        if let Ringing::External { owner, number } = who {
            return self.ring_external(skey, owner, number, now);
        }
        let Some(ctx) = self.proxy.contexts.get(skey) else {
            return 0;
        };
        let upstream = ctx.upstream;
        let creates = matches!(
            ctx.kind,
            Kind::Initial {
                creates_dialogs: true,
                ..
            }
        );
        let rung: &[Box<str>] = ctx.fwd.as_ref().map_or(&[], |f| &f.rung[..]);
        let mut targets: Vec<(Uri, FlowId, Box<str>)> = Vec::new();
        if let Ringing::Voicemail { owner, cause } = who {
            // The voicemail service learns whose box and why from the request URI.
            if let Some(vm) = self.voicemail
                && !rung.iter().any(|k| &**k == VOICEMAIL_KEY)
                && let Some(uri) = voicemail_uri(owner, *cause)
            {
                targets.push((uri, vm, VOICEMAIL_KEY.into()));
            }
        }
        for aor in who
            .aors()
            .into_iter()
            .filter(|_| !matches!(who, Ringing::Voicemail { .. }))
        {
            for b in self.location.bindings(&aor) {
                if b.expires_at > now
                    && b.flow != upstream
                    && !rung.contains(&b.key)
                    && (!creates || self.dialog_room(b.flow) > 0)
                    && let Some(uri) = b.uri()
                {
                    targets.push((uri, b.flow, b.key.clone()));
                }
            }
        }
        // An INVITE with Replaces rings only the device that is a side of that dialog (when
        // it is one of ours; else every device, and the others answer 481).
        if let Some(sides) = ctx
            .request
            .headers
            .get("Replaces")
            .and_then(|r| self.dialogs.sides_of_replaces(r))
        {
            let only: Vec<_> = targets
                .iter()
                .filter(|t| t.1 == sides.0 || t.1 == sides.1)
                .cloned()
                .collect();
            if !only.is_empty() {
                targets = only;
            }
        }
        if let Some(d) = first_only {
            let only: Vec<_> = targets
                .iter()
                .filter(|t| device_id(&t.2) == d)
                .cloned()
                .collect();
            if !only.is_empty() {
                targets = only;
            }
        }
        let request = ctx.request.clone();
        let n = targets.len();
        for (mut uri, mut bflow, bkey) in targets {
            let device = bflow;
            // A browser calling a desk phone (or a phone calling a browser) cannot share
            // media directly: the media service bridges the call (WebRTC on one side,
            // plain RTP on the other). It calls the device back through us.
            if let Some(media) = self.bridge_for(&request, upstream, bflow) {
                uri.params.set(BRIDGE_PARAM, Some(&bflow.0.to_string()));
                bflow = media;
            }
            let tx = self.forward(&request, uri, upstream, bflow, creates, identity, now);
            self.proxy
                .add_branch(skey, Branch::bridged(tx, bflow, device));
            if let Some(f) = self
                .proxy
                .contexts
                .get_mut(skey)
                .and_then(|c| c.fwd.as_mut())
            {
                f.rung.push(bkey);
            }
        }
        n
    }

    /// A call's ring deadline: the rest of the devices join, or nobody answered (forwarded
    /// on by the no-answer rule, or 480 once the branches are cancelled).
    pub(super) fn on_rung_out(&mut self, key: TxKey, now: Instant) {
        let Some(ctx) = self.proxy.contexts.get_mut(&key) else {
            return;
        };
        if ctx.state != State::Trying {
            return;
        }
        if ctx.trunk.is_some() && self.trunk_deadline(&key, now) {
            return;
        }
        let Some(ctx) = self.proxy.contexts.get_mut(&key) else {
            return;
        };
        if let Some(f) = ctx.fwd.as_mut()
            && let Some(at) = f.rest_at
            && at <= now
        {
            f.rest_at = None;
            let (no_answer_at, who, identity) =
                (f.no_answer_at, f.route.ringing.clone(), f.identity.clone());
            if let Some(who) = who {
                let n = self.ring(&key, &who, None, &identity, now);
                info!(devices = n, "the other devices join the default one");
            }
            self.proxy.ring_until(&key, no_answer_at);
            return;
        }
        match self.reroute(&key, Cause::NoAnswer, now) {
            Rerouted::Ringing => return,
            Rerouted::Refused(status, reason) => {
                if let Some(f) = self
                    .proxy
                    .contexts
                    .get_mut(&key)
                    .and_then(|c| c.fwd.as_mut())
                {
                    f.refuse = Some((status, reason));
                }
            }
            Rerouted::No => {}
        }
        let Some(ctx) = self.proxy.contexts.get_mut(&key) else {
            return;
        };
        if ctx.cancel(Cancel::NoAnswer) {
            info!(
                call_id = ctx.request.call_id().unwrap_or_default(),
                "no answer: ring timeout"
            );
            self.cancel_branches(&key, now);
        }
    }

    /// Moves a call on by the rule for `cause` of the person ringing now.
    pub(super) fn reroute(&mut self, key: &TxKey, cause: Cause, now: Instant) -> Rerouted {
        let Some(ctx) = self.proxy.contexts.get_mut(key) else {
            return Rerouted::No;
        };
        let upstream = ctx.upstream;
        let Some(f) = ctx.fwd.as_mut() else {
            return Rerouted::No;
        };
        let world = LiveWorld {
            location: &self.location,
            presence: &self.presence,
            exclude: upstream,
            now,
            voicemail: self.voicemail.is_some(),
            trunks: !self.trunks.is_empty(),
        };
        let before = f.route.hops.len();
        let decision = match cause {
            Cause::Busy => f.route.on_busy(&world),
            Cause::NoAnswer => f.route.on_no_answer(&world),
            _ => None,
        };
        let Some(decision) = decision else {
            return Rerouted::No;
        };
        let hops: Vec<Hop> = f.route.hops[before..].to_vec();
        let call_id = ctx.request.call_id().unwrap_or_default().to_string();
        let (who, ring_ms, first_only) = match decision {
            Decision::Refuse { status, reason } => {
                info!(call_id, status, %reason, "forwarding refused");
                return Rerouted::Refused(status, reason);
            }
            Decision::Ring {
                who,
                ring_ms,
                first_only,
            } => (who, ring_ms, first_only),
        };
        let mut request = ctx.request.clone();
        note_hops(&mut request, &f.route, &hops, &f.domain);
        ctx.request = request;
        f.rung.clear();
        f.refuse = None;
        let identity = f.identity.clone();
        ctx.supersede();
        let r = forwarded_response(&ctx.request);
        info!(call_id, ?cause, to = ?who, "call forwarded");
        self.respond(key, r, now);
        self.cancel_branches(key, now);
        if let Some(hop) = hops.first() {
            let (to, voicemail) = match &who {
                Ringing::Voicemail { owner, .. } => (None, Some(owner)),
                _ => (who.aors().into_iter().next(), None),
            };
            let changed = self.calls.retarget(&call_id, to, &hop.from, hop.cause);
            if let Some(owner) = voicemail {
                self.calls.set_callee_ext(&call_id, &owner.ext);
            }
            if let Ringing::External { owner, number } = &who {
                self.calls.set_outside_leg(&call_id, owner, number);
            }
            self.calls_changed(&changed, now);
        }
        let first = first_only.as_ref().map(|(d, _)| &**d);
        if self.ring(key, &who, first, &identity, now) == 0 {
            return Rerouted::Refused(
                480,
                "Temporarily Unavailable (nobody is logged in on that extension)".into(),
            );
        }
        self.arm_ring(key, ring_ms, first_only.map(|(_, a)| a), now);
        Rerouted::Ringing
    }
}

/// The request-URI parameter that tells the media service which flow (device) a bridged
/// call is for, and tells us, when the service calls that device, where it goes.
pub const BRIDGE_PARAM: &str = "centrala-bridge";

impl Core {
    /// The media service's flow when an INVITE from `from` to `to` needs its bridge: one
    /// side is a browser (WebSocket) and the other is not, and the INVITE carries an offer.
    fn bridge_for(&self, req: &Request, from: FlowId, to: FlowId) -> Option<FlowId> {
        use super::Transport;
        let media = self.voicemail?;
        if req.method != centrala_sip::message::Method::Invite
            || req.body.is_empty()
            || from == media
            || to == media
        {
            return None;
        }
        let ws = |f| self.flows.transport_of(f) == Transport::Ws;
        // A SIP client over UDP/TCP/TLS that offers WebRTC media itself (DTLS-SRTP with ICE)
        // reaches a browser directly; only plain RTP needs the bridge.
        if !ws(from) && offers_webrtc(&req.body) {
            return None;
        }
        (ws(from) != ws(to)).then_some(media)
    }
}

/// Whether an SDP offer's audio is WebRTC media: DTLS-SRTP (`UDP/TLS/RTP/SAVP` or `…/SAVPF`),
/// which browsers take.
fn offers_webrtc(body: &[u8]) -> bool {
    String::from_utf8_lossy(body)
        .lines()
        .any(|l| l.starts_with("m=audio ") && l.contains(" UDP/TLS/RTP/SAVP"))
}

/// What one dials to listen to one's own voicemail.
pub const VOICEMAIL_CODE: &str = "*98";
/// What one dials to listen to a box from a phone that is not its owner's: the box asks for
/// its number and PIN.
pub const VOICEMAIL_LOGIN_CODE: &str = "*97";

/// The request URI of `caller` listening to their box (`mode=listen`), or to a box of the
/// company they log in to with its PIN (`mode=login`; the caller's extension then only
/// picks the language): `sip:EXT@voicemail.invalid;company=ID;mode=MODE`.
pub(crate) fn listen_uri(caller: &AorKey, login: bool) -> Option<Uri> {
    Uri::parse(&format!(
        "sip:{}@voicemail.invalid;company={};mode={}",
        caller.ext,
        caller.company,
        if login { "login" } else { "listen" }
    ))
    .ok()
}

/// The branch key of the voicemail service (in the list of what a call has rung).
const VOICEMAIL_KEY: &str = "voicemail";

/// The request URI of a call for `owner`'s voicemail: `sip:EXT@voicemail.invalid;company=ID;cause=CAUSE`.
pub(crate) fn voicemail_uri(owner: &AorKey, cause: Cause) -> Option<Uri> {
    let uri = format!(
        "sip:{}@voicemail.invalid;company={};cause={}",
        owner.ext,
        owner.company,
        cause.as_str()
    );
    Uri::parse(&uri).ok()
}

/// 181 Call Is Being Forwarded, with the request's History-Info (the caller's screen shows
/// where the call went).
fn forwarded_response(req: &Request) -> centrala_sip::message::Response {
    let mut r = req.response(181, "Call Is Being Forwarded");
    for h in req.headers.all("History-Info") {
        r.headers.push("History-Info", h.to_string());
    }
    r
}

/// Adds History-Info entries (RFC 7044) and Diversion headers (RFC 5806, the latest first)
/// for `hops` to a request being forwarded.
fn note_hops(req: &mut Request, route: &Route, hops: &[Hop], domain: &str) {
    if hops.is_empty() {
        return;
    }
    let mut index = String::from("1");
    let existing: Vec<String> = req
        .headers
        .all("History-Info")
        .map(str::to_string)
        .collect();
    if existing.is_empty() {
        req.headers
            .push("History-Info", format!("<{}>;index=1", req.uri));
    } else {
        index = existing
            .last()
            .and_then(|h| h.split(";index=").nth(1))
            .map(|i| i.split(';').next().unwrap_or("1").to_string())
            .unwrap_or(index);
    }
    for hop in hops {
        let from_name = quoted(route.name(&hop.from).unwrap_or(""));
        req.headers.push_front(
            "Diversion",
            format!(
                "\"{from_name}\" <sip:{}@{domain}>;reason={};counter=1",
                hop.from.ext,
                hop.cause.diversion_reason()
            ),
        );
        let parent = index.clone();
        for (i, to) in hop.to.iter().enumerate() {
            let idx = format!("{parent}.{}", i + 1);
            let name = quoted(route.name(to).unwrap_or(""));
            req.headers.push(
                "History-Info",
                format!(
                    "\"{name}\" <sip:{}@{domain};cause={}>;index={idx};mp={parent}",
                    to.ext,
                    hop.cause.history_cause()
                ),
            );
            index = idx;
        }
    }
}

/// A display name safe inside double quotes.
fn quoted(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '"' | '\\') && !c.is_control())
        .collect()
}
