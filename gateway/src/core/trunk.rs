//! Calls to the phone network through the operator's trunks (issue 15): what an employee
//! dials is read by [`crate::numbering`], checked against their permission, and sent to the
//! first trunk with their caller ID; a trunk that answers 5xx, or nothing within
//! [`TRUNK_WAIT_MS`], is passed over for the next one (failover). A browser's call goes
//! through the media service's bridge first (WebRTC to plain RTP): the service calls the
//! trunk back through us, and that request is the one that fails over.

use centrala_sip::Instant;
use centrala_sip::digest::{Challenge, Credentials};
use centrala_sip::message::{Request, Response, SipMessage, Uri};
use centrala_sip::transaction::TxKey;
use tracing::{info, warn};

use crate::numbering::{self, Dialled, Outside};
use crate::trunks::{CoreTrunk, TrunkTransport};

use super::presence::CallRecord;
use super::proxy::{Branch, BranchState, Ctx, Kind, State};
use super::{AorKey, Core, FlowId, Identity, Timer, Transport, UDP_FLOW_IDLE_MS};

/// How long a trunk has to answer an INVITE at all (a carrier sends 100 Trying at once)
/// before the next trunk is tried.
pub const TRUNK_WAIT_MS: u64 = 4_000;
/// How long a call to the network may ring once the carrier has answered something.
pub const TRUNK_RING_MS: u64 = 180_000;

/// Request-URI parameters with which the core tells itself, through the media service's
/// bridge, how the caller is presented (`;centrala-cli=+48…`, `;centrala-privacy=id`).
/// Only the core sets them and only the media service's flow may bring them back.
const CLI_PARAM: &str = "centrala-cli";
/// The first trunk's codecs for the bridge's offer (`;centrala-codecs=PCMA.PCMU`).
pub const CODECS_PARAM: &str = "centrala-codecs";
/// The media service's call to an employee's mobile for *8: the Call-ID of the call it
/// bridges, in hex (`;centrala-move=HEX`, see [`hex_param`]) and which party of it is the employee
/// (`;centrala-side=caller|callee`). Only the media service's flow is heard with it.
pub const MOVE_PARAM: &str = "centrala-move";
pub const SIDE_PARAM: &str = "centrala-side";
const PRIVACY_PARAM: &str = "centrala-privacy";

/// How an outside call presents its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    /// The number shown (or, withheld, given to the network only).
    pub number: Option<String>,
    pub withheld: bool,
}

/// A request on its way to the trunks: the ones left to try, in order.
#[derive(Debug)]
pub struct TrunkCall {
    pub number: String,
    pub cli: Cli,
    pub next: Vec<CoreTrunk>,
    /// The trunk the current branch went to.
    pub current: String,
    /// The current trunk has answered something (it is alive).
    pub heard: bool,
    /// The current trunk (for its account, when it challenges the call).
    pub trunk: Option<CoreTrunk>,
    /// Its challenge was answered once (a second one is its answer).
    pub authorized: bool,
}

impl TrunkCall {
    fn new(number: String, cli: Cli, trunks: Vec<CoreTrunk>) -> TrunkCall {
        TrunkCall {
            number,
            cli,
            next: trunks,
            current: String::new(),
            heard: false,
            trunk: None,
            authorized: false,
        }
    }
}

/// The Request-URI of a browser's call to `number` for the media service's bridge: the
/// first trunk's, naming its flow, the caller ID and the trunk's codecs (see
/// `Core::bridge_to_trunk`).
fn bridge_uri(number: &str, first: &CoreTrunk, flow: FlowId, cli: &Cli) -> Uri {
    let mut uri = trunk_uri(number, first);
    uri.params
        .set(super::forward::BRIDGE_PARAM, Some(&flow.0.to_string()));
    if let Some(n) = &cli.number {
        uri.params.set(CLI_PARAM, Some(n));
    }
    if cli.withheld {
        uri.params.set(PRIVACY_PARAM, Some("id"));
    }
    if !first.codecs.is_empty() {
        uri.params.set(CODECS_PARAM, Some(&first.codecs.join(".")));
    }
    uri
}

impl Core {
    /// The trunks calls may use now.
    fn usable_trunks(&self) -> Vec<CoreTrunk> {
        self.trunks.clone()
    }

    /// Whether `flow` is one of our trunks' (from its address, on its transport).
    pub(super) fn trunk_of_flow(&self, flow: FlowId) -> Option<usize> {
        let f = self.flows.get(flow)?;
        self.trunks.iter().position(|t| {
            t.addr == f.peer
                && match t.transport {
                    TrunkTransport::Udp => f.transport == Transport::Udp,
                    TrunkTransport::Tcp => f.transport == Transport::Tcp,
                    TrunkTransport::Tls => f.transport == Transport::Tls,
                }
        })
    }

    /// An employee's INVITE to a number outside the company: permission, then the trunks.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn call_out(
        &mut self,
        key: TxKey,
        req: Request,
        flow: FlowId,
        dialled: Dialled,
        outside: &Outside,
        record: Option<CallRecord>,
        caller_aor: Option<AorKey>,
        identity: &Identity,
        now: Instant,
    ) {
        if let Err(r) = numbering::allowed(outside.permission, outside.premium, &dialled) {
            info!(to = %req.uri, reason = %r, "outside call refused");
            self.reply(&key, &req, 403, &format!("Forbidden ({r})"), now);
            self.record_refused(record, 403, now);
            return;
        }
        // Emergency numbers go out whatever the spending or a suspension.
        let emergency = matches!(dialled, Dialled::Emergency(_));
        if !emergency
            && let Some(reason) = self.outside_stopped(caller_aor.as_ref(), outside, &dialled, now)
        {
            info!(to = %req.uri, reason, "outside call refused");
            self.reply(&key, &req, 403, reason, now);
            self.record_refused(record, 403, now);
            return;
        }
        let trunks = self.usable_trunks();
        let number = match &dialled {
            Dialled::Emergency(n) => n.to_string(),
            Dialled::Number { e164, .. } => e164.clone(),
        };
        let Some(first) = trunks.first().cloned() else {
            let reason = match dialled {
                Dialled::Emergency(_) => {
                    "Forbidden (emergency call: no line to the phone network is set up)"
                }
                Dialled::Number { .. } => "Forbidden (no line to the phone network is set up)",
            };
            self.reply(&key, &req, 403, reason, now);
            self.record_refused(record, 403, now);
            return;
        };
        let (shown, withheld) = outside.presented();
        let cli = Cli {
            number: shown.map(str::to_string),
            withheld,
        };
        let browser = self.flows.transport_of(flow) == Transport::Ws;
        let media = self.voicemail;
        if browser && (media.is_none() || req.body.is_empty()) {
            let (status, reason) = if media.is_none() {
                (
                    503,
                    "Service Unavailable (the media service for calls to the phone network is off)",
                )
            } else {
                (
                    488,
                    "Not Acceptable Here (a call to the phone network needs an offer)",
                )
            };
            self.reply(&key, &req, status, reason, now);
            self.record_refused(record, status, now);
            return;
        }
        if self.dialog_room(flow) == 0 {
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
                creates_dialogs: true,
                dialogs: Vec::new(),
            },
        );
        let call_id = ctx.request.call_id().unwrap_or_default().to_string();
        info!(call_id, to = %number, trunk = %first.name, browser, "call to the phone network");
        if browser {
            // The bridge answers the browser and calls the trunk back through us
            // (`on_bridge_call`), where the caller ID is applied and failover happens.
            let (tflow, _) = self.trunk_flow(&first, now);
            let uri = bridge_uri(&number, &first, tflow, &cli);
            let request = ctx.request.clone();
            let media = media.expect("checked above");
            self.proxy.insert(key.clone(), ctx);
            let tx = self.forward(&request, uri, flow, media, true, identity, now);
            self.proxy.add_branch(&key, Branch::new(tx, media));
        } else {
            ctx.trunk = Some(Box::new(TrunkCall::new(number, cli, trunks)));
            self.proxy.insert(key.clone(), ctx);
            self.next_trunk(&key, now);
        }
        if !self.tx.server_provisional_sent(&key) {
            let trying = self.proxy.contexts[&key].request.response(100, "Trying");
            self.respond(&key, trying, now);
        }
        if let Some(rec) = record {
            let changed: Vec<AorKey> = caller_aor.iter().cloned().collect();
            if self.calls.start(caller_aor, None, rec, now) {
                self.calls_changed(&changed, now);
            }
        }
    }

    /// A forwarding rule sends the call to `owner`'s outside number: through the trunks
    /// (from a browser, through the bridge first) with `owner`'s caller ID, the routing
    /// having checked that they may. Returns how many branches went (0: no trunk).
    pub(super) fn ring_external(
        &mut self,
        skey: &TxKey,
        owner: &AorKey,
        number: &str,
        now: Instant,
    ) -> usize {
        let trunks = self.usable_trunks();
        let Some(first) = trunks.first().cloned() else {
            return 0;
        };
        let Some(ctx) = self.proxy.contexts.get_mut(skey) else {
            return 0;
        };
        let Some(outside) = ctx
            .fwd
            .as_ref()
            .and_then(|f| f.route.people.get(owner))
            .map(|p| (*p.outside).clone())
        else {
            return 0;
        };
        let (shown, withheld) = outside.presented();
        let cli = Cli {
            number: shown.map(str::to_string),
            withheld,
        };
        let upstream = ctx.upstream;
        let call_id = ctx.request.call_id().unwrap_or_default().to_string();
        info!(call_id, owner = %owner.ext, to = %number, trunk = %first.name, "forwarded to an outside number");
        if self.flows.transport_of(upstream) == Transport::Ws {
            let Some(media) = self.voicemail else {
                return 0;
            };
            let (tflow, _) = self.trunk_flow(&first, now);
            let uri = bridge_uri(number, &first, tflow, &cli);
            let request = self.proxy.contexts[skey].request.clone();
            let tx = self.forward(&request, uri, upstream, media, true, &Identity::Keep, now);
            self.proxy.add_branch(skey, Branch::new(tx, media));
            return 1;
        }
        if let Some(ctx) = self.proxy.contexts.get_mut(skey) {
            ctx.trunk = Some(Box::new(TrunkCall::new(number.to_string(), cli, trunks)));
        }
        usize::from(self.next_trunk(skey, now))
    }

    /// The media service's bridge calls a trunk (the request URI named a trunk's flow):
    /// the caller ID the core put in the URI is applied, and the trunks from that one on
    /// are tried in turn.
    pub(super) fn bridge_to_trunk(
        &mut self,
        key: TxKey,
        mut req: Request,
        flow: FlowId,
        target: FlowId,
        now: Instant,
    ) {
        let cli = Cli {
            number: req.uri.params.value(CLI_PARAM).map(str::to_string),
            withheld: req.uri.params.value(PRIVACY_PARAM).is_some(),
        };
        req.uri.params.remove(CLI_PARAM);
        req.uri.params.remove(PRIVACY_PARAM);
        req.uri.params.remove(CODECS_PARAM);
        req.uri.params.remove(super::forward::BRIDGE_PARAM);
        let number = req.uri.user.clone().unwrap_or_default();
        let mut trunks = self.usable_trunks();
        // From the trunk the call was sent to on (it may have been removed meanwhile).
        let peer = self.flows.get(target).map(|f| f.peer);
        if let Some(i) = trunks.iter().position(|t| Some(t.addr) == peer) {
            trunks.drain(..i);
        }
        let mut ctx = Ctx::new(
            req,
            flow,
            Kind::Initial {
                creates_dialogs: true,
                dialogs: Vec::new(),
            },
        );
        ctx.trunk = Some(Box::new(TrunkCall::new(number, cli, trunks)));
        self.proxy.insert(key.clone(), ctx);
        self.next_trunk(&key, now);
    }

    /// Why a person's call outside may not go now: suspended (toll fraud: too many
    /// international calls lately, counted here), or the month's spending limit reached.
    fn outside_stopped(
        &mut self,
        who: Option<&AorKey>,
        outside: &Outside,
        dialled: &Dialled,
        now: Instant,
    ) -> Option<&'static str> {
        const SUSPENDED: &str = "Forbidden (calls outside the company are suspended after unusual international calls; ask your administrator)";
        let who = who?;
        if outside.suspended || self.suspended.contains(who) {
            return Some(SUSPENDED);
        }
        // A threshold of 0 turns the guard off (`serve --toll-fraud-calls 0`).
        if self.cfg.limits.toll_fraud_calls > 0
            && matches!(
                dialled,
                Dialled::Number {
                    class: numbering::Class::International { .. },
                    ..
                }
            )
        {
            let (max, window) = (
                self.cfg.limits.toll_fraud_calls,
                self.cfg.limits.toll_fraud_window_ms,
            );
            let calls = self.intl_calls.entry(who.clone()).or_default();
            while calls
                .front()
                .is_some_and(|t| now.saturating_sub(*t) >= window)
            {
                calls.pop_front();
            }
            calls.push_back(now);
            if calls.len() as u32 > max {
                let n = calls.len() as u32;
                self.intl_calls.remove(who);
                self.suspended.insert(who.clone());
                warn!(company = who.company, ext = %who.ext, calls = n, "toll fraud suspected: calls outside suspended");
                self.out.push_back(super::Output::TollFraud {
                    company: who.company,
                    ext: who.ext.to_string(),
                    calls: n,
                });
                return Some(SUSPENDED);
            }
        }
        if outside.limit_reached {
            return Some(
                "Forbidden (the monthly spending limit is reached: only internal and emergency calls)",
            );
        }
        None
    }

    /// *8: the media service calls the mobile of the employee in one of the calls it
    /// bridges, to move the call there (see `vmserver::bridge`). The call goes out through
    /// the trunks like any of theirs (their permission, their caller ID), as a call of its
    /// own in their history.
    pub(super) fn move_to_mobile(&mut self, key: TxKey, req: Request, flow: FlowId, now: Instant) {
        let Some(call_id) = req.uri.params.value(MOVE_PARAM).and_then(unhex_param) else {
            self.reply(&key, &req, 400, "Bad Request (unreadable call)", now);
            return;
        };
        let caller = req.uri.params.value(SIDE_PARAM) == Some("caller");
        let Some(aor) = self.calls.party(&call_id, caller) else {
            self.reply(&key, &req, 404, "Not Found (no such call)", now);
            return;
        };
        let user = match self.user(aor.company, &aor.ext, now) {
            super::Need::Have(Some(u)) => u,
            super::Need::Have(None) => {
                self.reply(&key, &req, 404, "Not Found (no such extension)", now);
                return;
            }
            super::Need::Lookup(id) => {
                return self.park(id, key, req, flow, super::Stage::Fresh, now);
            }
        };
        let Some(mobile) = user.outside.mobile.clone() else {
            info!(ext = %aor.ext, "*8: no mobile number set");
            self.reply(&key, &req, 404, "Not Found (no mobile number is set)", now);
            return;
        };
        let Ok(dialled) = numbering::parse(&mobile) else {
            self.reply(
                &key,
                &req,
                404,
                "Not Found (the mobile number is not valid)",
                now,
            );
            return;
        };
        info!(ext = %aor.ext, %call_id, "*8: the call moves to the mobile");
        let record = CallRecord {
            company: aor.company,
            sip_call_id: req.call_id().unwrap_or_default().to_string(),
            caller_ext: Some(user.ext.clone()),
            caller_number: user.ext.clone(),
            caller_name: Some(user.name.clone()),
            dialled: mobile,
            callee_ext: None,
            callee_name: None,
            started_ms: self.unix_ms(now),
            answered_ms: None,
            ended_ms: 0,
            outcome: super::presence::Outcome::Missed,
            status: None,
            answered_device: None,
            diverted_from: None,
            diversion: None,
        };
        let outside = (*user.outside).clone();
        self.call_out(
            key,
            req,
            flow,
            dialled,
            &outside,
            Some(record),
            Some(aor),
            &Identity::Keep,
            now,
        );
    }

    /// The flow to a trunk: UDP (made when new, and forgotten when idle like any other),
    /// or our TCP connection to it (opened when there is none; it stays while it lives).
    pub(super) fn trunk_flow(&mut self, t: &CoreTrunk, now: Instant) -> (FlowId, bool) {
        let stream = match t.transport {
            TrunkTransport::Udp => None,
            TrunkTransport::Tcp => Some(Transport::Tcp),
            TrunkTransport::Tls => Some(Transport::Tls),
        };
        if let Some(transport) = stream {
            let (f, new) = self.flows.outbound_flow(t.addr, transport, now);
            if new {
                info!(trunk = %t.name, to = %t.addr, transport = transport.name(), "connecting to the trunk");
                self.out.push_back(super::Output::Connect {
                    flow: f,
                    to: t.addr,
                    transport,
                    name: t.host.clone(),
                });
            }
            return (f, new);
        }
        let (f, new) = self.flows.udp_flow(t.addr, now);
        if new {
            self.timers.arm(now + UDP_FLOW_IDLE_MS, Timer::FlowIdle(f));
        }
        (f, new)
    }

    /// Sends the context's request to the next trunk; false (and a 503 upstream) when there
    /// is none left.
    fn next_trunk(&mut self, key: &TxKey, now: Instant) -> bool {
        let Some(ctx) = self.proxy.contexts.get_mut(key) else {
            return false;
        };
        let Some(plan) = ctx.trunk.as_mut() else {
            return false;
        };
        if plan.next.is_empty() {
            let tried = plan.current.clone();
            let call_id = ctx.request.call_id().unwrap_or_default().to_string();
            warn!(call_id, last = %tried, "no trunk answered the call");
            let resp = ctx.request.response(
                503,
                "Service Unavailable (the phone network does not answer)",
            );
            ctx.state = State::Completed;
            for b in &mut ctx.branches {
                b.superseded = true;
            }
            self.proxy.stop_ringing(key);
            self.respond(key, resp, now);
            if let Some(call_id) = self.proxy.contexts[key]
                .request
                .call_id()
                .map(str::to_string)
            {
                self.end_call(&call_id, Some(503), now);
            }
            return false;
        }
        let t = plan.next.remove(0);
        plan.current = t.name.clone();
        plan.heard = false;
        plan.trunk = Some(t.clone());
        plan.authorized = false;
        info!(trunk = %t.name, to = %plan.number, "to the trunk");
        self.send_to_trunk(key, &t, None, now);
        true
    }

    /// Sends the context's request to trunk `t` in a new branch, with `auth` (a header's
    /// name and value) when answering its challenge.
    fn send_to_trunk(
        &mut self,
        key: &TxKey,
        t: &CoreTrunk,
        auth: Option<(&'static str, String)>,
        now: Instant,
    ) {
        let Some(ctx) = self.proxy.contexts.get(key) else {
            return;
        };
        let Some(plan) = ctx.trunk.as_ref() else {
            return;
        };
        let (number, cli) = (plan.number.clone(), plan.cli.clone());
        let upstream = ctx.upstream;
        let mut request = ctx.request.clone();
        present(&mut request, &cli);
        let (tflow, _) = self.trunk_flow(t, now);
        let uri = trunk_uri(&number, t);
        let tx = self.forward_with(
            &request,
            uri,
            upstream,
            tflow,
            true,
            &Identity::Keep,
            auth,
            now,
        );
        self.proxy.add_branch(key, Branch::new(tx, tflow));
        self.proxy.ring_until(key, now + TRUNK_WAIT_MS);
    }

    /// A response from a trunk's branch, before the proxy's rules: a 5xx or a timeout moves
    /// the call to the next trunk (true: handled here).
    pub(super) fn trunk_response(
        &mut self,
        skey: &TxKey,
        bi: usize,
        resp: &Response,
        now: Instant,
    ) -> bool {
        let status = resp.status;
        let Some(ctx) = self.proxy.contexts.get_mut(skey) else {
            return false;
        };
        if ctx.state != State::Trying || ctx.branches[bi].superseded {
            return false;
        }
        let Some(plan) = ctx.trunk.as_mut() else {
            return false;
        };
        if status < 200 {
            if !plan.heard {
                plan.heard = true;
                self.proxy.ring_until(skey, now + TRUNK_RING_MS);
            }
            return false;
        }
        // A registering trunk's carrier asks who calls: its account answers, once (the
        // same CSeq in a new branch: no dialog exists yet, and the caller's numbering stays
        // the carrier's).
        if matches!(status, 401 | 407) && !plan.authorized {
            let header = if status == 401 {
                "WWW-Authenticate"
            } else {
                "Proxy-Authenticate"
            };
            let account = plan
                .trunk
                .clone()
                .and_then(|t| t.auth.clone().map(|a| (t, a)));
            if let (Some((t, account)), Some(ch)) =
                (account, Challenge::pick(resp.headers.all(header)))
            {
                plan.authorized = true;
                let uri = trunk_uri(&plan.number, &t).to_string();
                let b = &mut ctx.branches[bi];
                b.state = BranchState::Done;
                b.superseded = true;
                let cnonce = self.rng.token(12);
                let creds = Credentials::answer(
                    &ch,
                    "INVITE",
                    &uri,
                    &account.username,
                    &account.password,
                    &cnonce,
                    1,
                );
                let name = if status == 401 {
                    "Authorization"
                } else {
                    "Proxy-Authorization"
                };
                info!(trunk = %t.name, "the trunk asks who calls: its account answers");
                self.send_to_trunk(skey, &t, Some((name, creds.to_string())), now);
                return true;
            }
        }
        let failed = status >= 500 || status == 408;
        if !failed || plan.next.is_empty() {
            return false;
        }
        info!(trunk = %plan.current, status, "trunk failed: trying the next one");
        let b = &mut ctx.branches[bi];
        b.state = BranchState::Done;
        b.superseded = true;
        self.next_trunk(skey, now);
        true
    }

    /// A trunk call's deadline (see [`Core::on_rung_out`]): a trunk that has said nothing
    /// yet is passed over; true when handled here.
    pub(super) fn trunk_deadline(&mut self, key: &TxKey, now: Instant) -> bool {
        let Some(ctx) = self.proxy.contexts.get_mut(key) else {
            return false;
        };
        let Some(plan) = ctx.trunk.as_mut() else {
            return false;
        };
        if ctx.state != State::Trying || plan.heard {
            return false;
        }
        info!(trunk = %plan.current, "trunk silent: trying the next one");
        for b in &mut ctx.branches {
            // Not cancellable before a provisional (RFC 3261 9.1); its end is ignored.
            b.superseded = true;
        }
        self.next_trunk(key, now);
        true
    }
}

/// A value as a URI parameter may carry it whatever its characters: hex.
pub fn hex_param(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The value [`hex_param`] made.
fn unhex_param(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) || s.len() > 512 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// `sip:NUMBER@HOST:PORT;user=phone` for a trunk (with its transport when not UDP).
fn trunk_uri(number: &str, t: &CoreTrunk) -> Uri {
    let host = if t.host.contains(':') && !t.host.starts_with('[') {
        format!("[{}]", t.host)
    } else {
        t.host.clone()
    };
    let mut uri = Uri::sip(Some(number), &host);
    uri.port = Some(t.addr.port());
    uri.params.set("user", Some("phone"));
    match t.transport {
        TrunkTransport::Udp => {}
        TrunkTransport::Tcp => uri.params.set("transport", Some("tcp")),
        TrunkTransport::Tls => uri.params.set("transport", Some("tls")),
    }
    uri
}

/// Presents the caller to the network: the From user is the shown number (or anonymous,
/// RFC 3323), and `P-Asserted-Identity` carries the number for the network, with
/// `Privacy: id` when withheld (RFC 3325). The From tag stays.
fn present(req: &mut Request, cli: &Cli) {
    for h in super::IDENTITY_HEADERS {
        req.headers.remove(h);
    }
    req.headers.remove("Privacy");
    let Some(mut from) = req.from() else {
        return;
    };
    let host = from.uri.host.clone();
    if let Some(n) = &cli.number {
        req.headers.push(
            "P-Asserted-Identity",
            format!("<sip:{n}@{host};user=phone>"),
        );
    }
    if cli.withheld {
        from.display = Some("Anonymous".into());
        if let Ok(u) = Uri::parse("sip:anonymous@anonymous.invalid") {
            from.uri = u;
        }
        req.headers.set("Privacy", "id".to_string());
    } else if let Some(n) = &cli.number {
        from.uri.user = Some(n.clone());
    }
    req.headers.set("From", from.to_string());
}
