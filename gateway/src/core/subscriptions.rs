//! The presence server's side of the core: SUBSCRIBE and its refreshes (RFC 6665), NOTIFYs
//! sent as our own client transactions (at most one in flight per subscription, then rate
//! limited), the company directory as a resource list (RFC 4662), and PUBLISH (RFC 3903).
//! State lives in [`super::presence::Presence`]; this is how requests and changes move it.

use centrala_sip::Instant;
use centrala_sip::message::{Method, NameAddr, Request, Response, SipMessage};
use centrala_sip::presence::{
    self as docs, DialogPhase, DialogState, Direction, ListNotify, ListResource, Status,
};
use centrala_sip::transaction::TxKey;
use tracing::{debug, info};

use super::calls::Activity;
use super::presence::{
    DEFAULT_SUB_EXPIRES, DIRECTORY_USER, EventKind, FANOUT_SLICE, ListBody, MAX_SUB_EXPIRES,
    MAX_SUBS, MAX_SUBS_PER_FLOW, MIN_SUB_EXPIRES, NOTIFY_GAP_MS, Pending, SubId, Subscription,
    Target, VERSION_MARK, note_for,
};
use super::{AorKey, Cached, Choice, Core, FlowId, Output, SipUser, Stage, Timer, routing};

/// What a SUBSCRIBE or PUBLISH was for, once its target is known.
pub(super) enum Watch {
    One(AorKey),
    List,
}

impl Core {
    /// What `aor` shows to watchers now.
    pub(super) fn status_of(&self, aor: &AorKey, now: Instant) -> Status {
        let registered = self
            .location
            .bindings(aor)
            .iter()
            .any(|b| b.expires_at > now);
        if !registered {
            return Status::Offline;
        }
        match self.calls.activity(aor) {
            Activity::Talking => Status::InCall,
            Activity::Ringing => Status::Ringing,
            Activity::Idle => match self.presence.choice(aor) {
                Choice::Available => Status::Available,
                Choice::Dnd => Status::Dnd,
                Choice::Away => Status::Away,
            },
        }
    }

    /// What `aors` show may have changed: their watchers are told (dialog watchers of any
    /// change in their calls, presence watchers when the status differs from the last shown).
    pub(super) fn presence_changed(&mut self, aors: &[AorKey], now: Instant) {
        self.watchers_told(aors, false, now);
    }

    /// `aors`' calls changed (a call rings, is answered or ends): their busy lamps are told
    /// too, even when the status stays the same (a second call, say).
    pub(super) fn calls_changed(&mut self, aors: &[AorKey], now: Instant) {
        self.watchers_told(aors, true, now);
    }

    fn watchers_told(&mut self, aors: &[AorKey], calls: bool, now: Instant) {
        for aor in aors {
            if !self.presence.watched(aor) {
                self.presence.shown.remove(aor);
                continue;
            }
            let status = self.status_of(aor, now);
            let changed = self.presence.shown.insert(aor.clone(), status) != Some(status);
            if changed {
                self.presence.generation += 1;
            }
            let mut touched: Vec<SubId> = Vec::new();
            if let Some(ids) = self.presence.watch_one.get(aor) {
                for id in ids {
                    let Some(sub) = self.presence.subs.get_mut(id) else {
                        continue;
                    };
                    let tell = match sub.event {
                        EventKind::Presence => changed,
                        EventKind::Dialog => calls,
                        EventKind::MessageSummary => false,
                    };
                    if tell {
                        sub.pending = Pending::Full;
                        touched.push(*id);
                    }
                }
            }
            if changed && let Some(ids) = self.presence.watch_list.get(&aor.company) {
                for id in ids {
                    if let Some(sub) = self.presence.subs.get_mut(id) {
                        sub.pending.add(&aor.ext);
                        touched.push(*id);
                    }
                }
            }
            self.presence.ready.extend(touched);
        }
        self.fan_out(now);
    }

    /// An extension's voicemail counts as read from the store: kept while someone watches
    /// them (or a SUBSCRIBE waits for them), and told to its message-summary watchers when
    /// they changed.
    pub(super) fn mailbox_loaded(
        &mut self,
        aor: AorKey,
        mailbox: centrala_sip::mwi::Mailbox,
        now: Instant,
    ) {
        let old = self.presence.mailboxes.insert(aor.clone(), mailbox);
        if old.is_none_or(|o| o == mailbox) {
            return;
        }
        let mut touched = Vec::new();
        for id in self.presence.watch_one.get(&aor).into_iter().flatten() {
            if let Some(sub) = self.presence.subs.get_mut(id)
                && sub.event == EventKind::MessageSummary
            {
                sub.pending = Pending::Full;
                touched.push(*id);
            }
        }
        self.presence.ready.extend(touched);
        self.fan_out(now);
    }

    /// `aor`'s voicemail changed (a message left, heard or deleted): read the counts again
    /// if someone watches them.
    pub(super) fn mailbox_changed(&mut self, aor: &AorKey) {
        if self.presence.mailboxes.contains_key(aor) {
            self.cache.mailbox(aor.company, &aor.ext);
        }
    }

    /// Sends the NOTIFYs of a change, at most [`FANOUT_SLICE`] at a time: the rest wait
    /// for [`Core::handle_timeout`], which the driver calls at once (`poll_timeout` says
    /// "now"), after it has sent what is out. One change to 1,000 watchers leaves in slices
    /// while the rest are built, and the request that caused it is answered first.
    pub(super) fn fan_out(&mut self, now: Instant) {
        for _ in 0..FANOUT_SLICE {
            let Some(id) = self.presence.ready.pop_front() else {
                break;
            };
            self.notify_soon(id, now);
        }
        self.presence.ready_since = (!self.presence.ready.is_empty()).then_some(now);
    }

    /// Sends the subscription's pending NOTIFY now, or arms its timer when rate control
    /// (or a NOTIFY still in flight) holds it back.
    pub(super) fn notify_soon(&mut self, id: SubId, now: Instant) {
        let Some(sub) = self.presence.subs.get_mut(&id) else {
            return;
        };
        if sub.in_flight.is_some() || sub.pending == Pending::Nothing && sub.ending.is_none() {
            return;
        }
        if now < sub.next_at {
            // One timer per held-back NOTIFY, however many changes come meanwhile.
            let at = sub.next_at;
            if sub.notify_at != Some(at) {
                sub.notify_at = Some(at);
                self.timers.arm(at, Timer::Notify(id));
            }
            return;
        }
        sub.notify_at = None;
        self.send_notify(id, now);
    }

    /// Builds and sends the subscription's NOTIFY with what is pending.
    fn send_notify(&mut self, id: SubId, now: Instant) {
        let Some(sub) = self.presence.subs.get(&id) else {
            return;
        };
        let pending = sub.pending.clone();
        let (content_type, body, eventlist) = match (&sub.target, sub.event) {
            (Target::One(aor), EventKind::Presence) => {
                let status = self.status_of(aor, now);
                self.presence.shown.insert(aor.clone(), status);
                let p = docs::Presence {
                    entity: format!("sip:{}@{}", aor.ext, sub.domain),
                    status,
                    note: note_for(status).map(str::to_string),
                };
                ("application/pidf+xml".to_string(), docs::pidf(&p), false)
            }
            (Target::One(aor), EventKind::Dialog) => {
                let entity = format!("sip:{}@{}", aor.ext, sub.domain);
                let domain = sub.domain.clone();
                let version = sub.version;
                let dialogs: Vec<DialogState> = self
                    .calls
                    .legs(aor)
                    .into_iter()
                    .enumerate()
                    .map(|(i, leg)| DialogState {
                        id: format!("d{i}-{}", short_hash(&leg.call_id)),
                        call_id: leg.call_id.to_string(),
                        direction: Some(if leg.initiator {
                            Direction::Initiator
                        } else {
                            Direction::Recipient
                        }),
                        state: if leg.answered {
                            DialogPhase::Confirmed
                        } else if leg.initiator {
                            DialogPhase::Proceeding
                        } else {
                            DialogPhase::Early
                        },
                        remote: Some(format!("sip:{}@{domain}", leg.remote)),
                    })
                    .collect();
                (
                    "application/dialog-info+xml".to_string(),
                    docs::dialog_info(&entity, version, true, &dialogs),
                    false,
                )
            }
            (Target::One(aor), EventKind::MessageSummary) => {
                let account = format!("sip:{}@{}", aor.ext, sub.domain);
                let mailbox = self
                    .presence
                    .mailboxes
                    .get(aor)
                    .copied()
                    .unwrap_or_default();
                (
                    centrala_sip::mwi::CONTENT_TYPE.to_string(),
                    centrala_sip::mwi::message_summary(&account, mailbox),
                    false,
                )
            }
            (Target::List(company), _) => {
                let company = *company;
                let full = pending == Pending::Full || sub.version == 0;
                let version = sub.version;
                let which = match (&pending, full) {
                    (Pending::Some(set), false) => Some(set.iter().cloned().collect::<Vec<_>>()),
                    _ => None,
                };
                let domain = sub.domain.clone();
                let Some(body) = self.list_body(company, which, &domain, now) else {
                    return;
                };
                let mut text = String::with_capacity(body.head.len() + body.tail.len() + 10);
                text.push_str(&body.head);
                text.push_str(&version.to_string());
                text.push_str(&body.tail);
                (body.content_type.clone(), text, true)
            }
        };
        let Some(sub) = self.presence.subs.get_mut(&id) else {
            return;
        };
        sub.cseq += 1;
        sub.version += 1;
        sub.pending = Pending::Nothing;
        sub.next_at = now + NOTIFY_GAP_MS;
        let state = match sub.ending {
            Some(reason) => format!("terminated;reason={reason}"),
            None => format!(
                "active;expires={}",
                sub.expires_at.saturating_sub(now).div_ceil(1000)
            ),
        };
        let mut req = Request::new(Method::Notify, sub.remote_target.clone());
        let transport = self.flows.transport_of(sub.flow);
        req.headers
            .push("Via", self.flows.via(transport, &self.rng.branch()));
        for r in &sub.route_set {
            req.headers.push("Route", r.clone());
        }
        req.headers.push("Max-Forwards", "70");
        req.headers.push("From", sub.local.clone());
        req.headers.push("To", sub.remote.clone());
        req.headers.push("Call-ID", sub.call_id.to_string());
        req.headers.push("CSeq", format!("{} NOTIFY", sub.cseq));
        req.headers
            .push("Contact", own_contact(&self.flows.record_route(transport)));
        req.headers.push("Event", sub.event.as_str());
        req.headers.push("Subscription-State", state);
        if eventlist {
            req.headers.push("Require", "eventlist");
        }
        req.headers.push("Content-Type", content_type);
        req.body = body.into_bytes();
        let flow = sub.flow;
        let key = self.tx.send_request(req, flow, transport.reliable(), now);
        if let Some(sub) = self.presence.subs.get_mut(&id) {
            sub.in_flight = Some(key.clone());
        }
        self.presence.by_tx.insert(key, id);
        self.stats.notifies += 1;
    }

    /// The list body for `company` carrying `which` people (`None`: everyone, full state),
    /// built once per generation and shared by every watcher it goes to.
    fn list_body(
        &mut self,
        company: i64,
        which: Option<Vec<Box<str>>>,
        domain: &str,
        now: Instant,
    ) -> Option<std::sync::Arc<ListBody>> {
        if self.presence.bodies_generation != self.presence.generation {
            self.presence.bodies.clear();
            self.presence.bodies_generation = self.presence.generation;
        }
        let key = (company, which);
        if let Some(b) = self.presence.bodies.get(&key) {
            return Some(b.clone());
        }
        let roster = self.presence.rosters.get(&company)?;
        let people: Vec<(Box<str>, Option<Box<str>>)> = match &key.1 {
            Some(exts) => exts
                .iter()
                .map(|e| (e.clone(), roster.name_of(e).map(Box::from)))
                .collect(),
            None => roster
                .people
                .iter()
                .map(|(e, n)| (e.clone(), Some(n.clone())))
                .collect(),
        };
        let mut resources = Vec::with_capacity(people.len());
        for (ext, name) in people {
            let uri = format!("sip:{ext}@{domain}");
            let Some(name) = name else {
                // No longer in the directory.
                resources.push(ListResource {
                    uri,
                    name: None,
                    presence: None,
                    terminated: true,
                });
                continue;
            };
            let aor = AorKey::new(company, &ext);
            let status = self.status_of(&aor, now);
            self.presence.shown.insert(aor, status);
            resources.push(ListResource {
                uri: uri.clone(),
                name: Some(name.to_string()),
                presence: Some(docs::Presence {
                    entity: uri,
                    status,
                    note: note_for(status).map(str::to_string),
                }),
                terminated: false,
            });
        }
        let list = ListNotify {
            uri: format!("sip:{DIRECTORY_USER}@{domain}"),
            version: VERSION_MARK,
            full_state: key.1.is_none(),
            resources,
        };
        let boundary = self.rng.token(16);
        let (content_type, body) = docs::list_notify(&list, &boundary);
        let mark = format!("version=\"{VERSION_MARK}\"");
        let at = body.find(&mark)?;
        let body = std::sync::Arc::new(ListBody {
            content_type,
            head: format!("{}version=\"", &body[..at]),
            tail: format!("\"{}", &body[at + mark.len()..]),
        });
        self.presence.bodies.insert(key, body.clone());
        Some(body)
    }

    /// The Expires a SUBSCRIBE or PUBLISH asks for (0 ends it); `None` when it was answered
    /// 423 for being shorter than we grant.
    fn asked_expires(&mut self, key: &TxKey, req: &Request, now: Instant) -> Option<u32> {
        let expires = req.expires().unwrap_or(DEFAULT_SUB_EXPIRES);
        if expires != 0 && expires < MIN_SUB_EXPIRES {
            self.too_brief(key, req, MIN_SUB_EXPIRES, now);
            return None;
        }
        Some(expires)
    }

    /// A response (or timeout, `None`) to one of our NOTIFYs; true when it was one.
    pub(super) fn on_notify_answer(
        &mut self,
        key: &TxKey,
        resp: Option<&Response>,
        now: Instant,
    ) -> bool {
        let Some(id) = self.presence.by_tx.get(key).copied() else {
            return false;
        };
        let status = resp.map_or(408, |r| r.status);
        if status < 200 {
            return true;
        }
        self.presence.by_tx.remove(key);
        let Some(sub) = self.presence.subs.get_mut(&id) else {
            return true;
        };
        sub.in_flight = None;
        if status >= 300 || sub.ending.is_some() {
            // A refused NOTIFY ends the subscription (RFC 6665 4.2.2); so does our last one.
            if status >= 300 {
                debug!(status, call_id = %sub.call_id, "NOTIFY refused: subscription ended");
            }
            self.presence.remove(id);
            return true;
        }
        self.notify_soon(id, now);
        true
    }

    /// A SUBSCRIBE outside a dialog for an event we serve, from an authenticated `user` of
    /// `company`. `None` when it is not ours to answer (another event: proxied as before).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_subscribe(
        &mut self,
        key: &TxKey,
        req: &Request,
        flow: FlowId,
        user: &SipUser,
        domain: &str,
        stage: &Stage,
        now: Instant,
    ) -> Option<()> {
        let event = EventKind::from_header(req.headers.get("Event")?)?;
        let dialled = req.uri.user.as_deref().unwrap_or_default();
        let company = user.company_id;
        let target = if event == EventKind::MessageSummary {
            // One's own mailbox only (a desk phone with a device credential subscribes to
            // its user name: the same mailbox).
            let own = dialled == user.ext
                || user
                    .login
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case(dialled));
            if !own {
                self.reply(
                    key,
                    req,
                    403,
                    "Forbidden (only your own voicemail box)",
                    now,
                );
                return Some(());
            }
            Watch::One(AorKey::new(company, &user.ext))
        } else if dialled.eq_ignore_ascii_case(DIRECTORY_USER) {
            if event != EventKind::Presence {
                let mut r = req.response(489, "Bad Event (the directory serves presence only)");
                r.headers.push("Allow-Events", "presence");
                self.respond(key, r, now);
                return Some(());
            }
            let supported = req
                .headers
                .all("Supported")
                .flat_map(|v| v.split(','))
                .any(|o| o.trim().eq_ignore_ascii_case("eventlist"));
            if !supported {
                let mut r = req.response(421, "Extension Required (eventlist)");
                r.headers.push("Require", "eventlist");
                self.respond(key, r, now);
                return Some(());
            }
            Watch::List
        } else {
            match routing::resolve(&mut self.cache, Some(company), dialled, now) {
                Cached::Miss(id) => {
                    self.park(id, key.clone(), req.clone(), flow, stage.clone(), now);
                    return Some(());
                }
                Cached::Hit(None | Some(routing::Resolved::Group { .. })) => {
                    self.reply(key, req, 404, "Not Found (no such extension)", now);
                    return Some(());
                }
                Cached::Hit(Some(routing::Resolved::Person(aor))) => Watch::One(aor),
            }
        };
        // Message waiting: its counts are read before the first NOTIFY.
        if let Watch::One(aor) = &target
            && event == EventKind::MessageSummary
            && !self.presence.mailboxes.contains_key(aor)
        {
            let id = self.cache.mailbox(company, &aor.ext);
            self.park(id, key.clone(), req.clone(), flow, stage.clone(), now);
            return Some(());
        }
        // The directory's people must be known before the first NOTIFY.
        if matches!(target, Watch::List) && !self.presence.rosters.contains_key(&company) {
            let id = self.cache.roster(company);
            self.park(id, key.clone(), req.clone(), flow, stage.clone(), now);
            return Some(());
        }
        let Some(expires) = self.asked_expires(key, req, now) else {
            return Some(());
        };
        if self.presence.len() >= MAX_SUBS || self.presence.on_flow(flow) >= MAX_SUBS_PER_FLOW {
            let mut r = req.response(503, "Service Unavailable (too many subscriptions)");
            r.headers.push("Retry-After", "60");
            self.respond(key, r, now);
            return Some(());
        }
        let (Some(call_id), Some(remote_tag), Some(to), Some(from)) = (
            req.call_id(),
            req.from_tag(),
            req.headers.get("To"),
            req.headers.get("From"),
        ) else {
            self.reply(
                key,
                req,
                400,
                "Bad Request (Call-ID, From tag, To needed)",
                now,
            );
            return Some(());
        };
        let Some(remote_target) = req
            .headers
            .get("Contact")
            .and_then(|c| NameAddr::parse(c).ok())
            .map(|c| c.uri)
        else {
            self.reply(
                key,
                req,
                400,
                "Bad Request (a SUBSCRIBE needs a Contact)",
                now,
            );
            return Some(());
        };
        let local_tag = self.rng.token(10);
        let granted = expires.min(MAX_SUB_EXPIRES);
        let sub = Subscription {
            flow,
            watcher: AorKey::new(company, &user.ext),
            event,
            target: match &target {
                Watch::One(aor) => Target::One(aor.clone()),
                Watch::List => Target::List(company),
            },
            domain: domain.into(),
            call_id: call_id.into(),
            local_tag: local_tag.as_str().into(),
            remote_tag: remote_tag.as_str().into(),
            local: format!("{};tag={local_tag}", to.trim()),
            remote: from.trim().to_string(),
            remote_target,
            route_set: req
                .headers
                .all("Record-Route")
                .map(str::to_string)
                .collect(),
            cseq: 0,
            expires_at: now + u64::from(granted) * 1000,
            version: 0,
            in_flight: None,
            notify_at: None,
            pending: Pending::Full,
            next_at: now,
            ending: (expires == 0).then_some("timeout"),
        };
        let transport = self.flows.transport_of(flow);
        let mut ok = req.response(200, "OK");
        ok.set_to_tag(&local_tag);
        ok.headers.push("Expires", granted.to_string());
        ok.headers
            .push("Contact", own_contact(&self.flows.record_route(transport)));
        self.respond(key, ok, now);
        let expires_at = sub.expires_at;
        info!(watcher = %sub.watcher, event = event.as_str(), list = matches!(target, Watch::List), "subscribed");
        let id = self.presence.insert(sub);
        self.timers.arm(expires_at, Timer::SubExpiry(id));
        self.notify_soon(id, now);
        Some(())
    }

    /// A SUBSCRIBE within one of our subscriptions (refresh or, with Expires: 0, the end);
    /// true when it was one. It must come on the subscription's flow.
    pub(super) fn on_subscribe_in_dialog(
        &mut self,
        key: &TxKey,
        req: &Request,
        flow: FlowId,
        now: Instant,
    ) -> bool {
        let (Some(call_id), Some(to_tag)) = (req.call_id(), req.to_tag()) else {
            return false;
        };
        let Some(id) = self.presence.find(call_id, &to_tag) else {
            return false;
        };
        let sub = &self.presence.subs[&id];
        if sub.flow != flow || req.from_tag().as_deref() != Some(&*sub.remote_tag) {
            self.reply(
                key,
                req,
                403,
                "Forbidden (not a party to this subscription)",
                now,
            );
            return true;
        }
        let Some(expires) = self.asked_expires(key, req, now) else {
            return true;
        };
        let granted = expires.min(MAX_SUB_EXPIRES);
        let sub = self.presence.subs.get_mut(&id).expect("found above");
        if let Some(t) = req
            .headers
            .get("Contact")
            .and_then(|c| NameAddr::parse(c).ok())
        {
            sub.remote_target = t.uri;
        }
        if expires == 0 {
            sub.ending = Some("timeout");
        } else {
            sub.expires_at = now + u64::from(granted) * 1000;
            self.timers.arm(sub.expires_at, Timer::SubExpiry(id));
        }
        // A refresh is answered with the whole state (RFC 6665 4.2.1.2).
        sub.pending = Pending::Full;
        let mut ok = req.response(200, "OK");
        ok.headers.push("Expires", granted.to_string());
        self.respond(key, ok, now);
        self.notify_soon(id, now);
        true
    }

    /// A subscription's expiry timer: it ends (with a last NOTIFY) unless refreshed.
    pub(super) fn on_sub_expiry(&mut self, id: SubId, now: Instant) {
        let Some(sub) = self.presence.subs.get_mut(&id) else {
            return;
        };
        if sub.expires_at > now {
            return;
        }
        if sub.ending.is_some() && sub.in_flight.is_some() {
            // Its last NOTIFY is out and unanswered: give up on it.
            let key = sub.in_flight.clone();
            if let Some(k) = key {
                self.presence.by_tx.remove(&k);
            }
            self.presence.remove(id);
            return;
        }
        debug!(call_id = %sub.call_id, "subscription expired");
        sub.ending = Some("timeout");
        sub.pending = Pending::Full;
        // Gone after its final NOTIFY is answered, or after another 32 s.
        sub.expires_at = now + 32_000;
        self.timers.arm(now + 32_000, Timer::SubExpiry(id));
        sub.next_at = now;
        self.notify_soon(id, now);
    }

    /// A flow closed: its subscriptions go without a word (nobody is there to tell).
    pub(super) fn subscriptions_closed(&mut self, flow: FlowId) {
        for id in self
            .presence
            .by_flow
            .get(&flow)
            .cloned()
            .unwrap_or_default()
        {
            self.presence.remove(id);
        }
    }

    /// A company's directory was read: its list watchers get the whole state again.
    pub(super) fn roster_loaded(
        &mut self,
        company: i64,
        people: Vec<(String, String)>,
        now: Instant,
    ) {
        let roster = super::presence::Roster {
            people: people
                .into_iter()
                .map(|(e, n)| (e.into_boxed_str(), n.into_boxed_str()))
                .collect(),
        };
        let old = self.presence.rosters.insert(company, roster);
        let known = old.is_some();
        if old.is_some_and(|o| o.people == self.presence.rosters[&company].people) {
            return; // the periodic re-read found nothing new
        }
        self.presence.generation += 1;
        if !known {
            return; // first load: the parked SUBSCRIBEs go on and send full state themselves
        }
        let ids = self
            .presence
            .watch_list
            .get(&company)
            .cloned()
            .unwrap_or_default();
        for id in ids {
            if let Some(sub) = self.presence.subs.get_mut(&id) {
                sub.pending = Pending::Full;
            }
            self.notify_soon(id, now);
        }
    }

    /// Directories are read again now and then: employees added from the command line (a
    /// process of its own) or by a second gateway reach watchers within a minute.
    pub(super) fn reread_rosters(&mut self) {
        let companies: Vec<i64> = self.presence.watch_list.keys().copied().collect();
        for company in companies {
            let _ = self.cache.roster(company);
        }
    }

    /// The company's employees changed: its directory is read again if anyone watches it.
    pub(super) fn roster_changed(&mut self, company: i64) {
        if self.presence.watch_list.contains_key(&company) {
            let _ = self.cache.roster(company);
        } else {
            self.presence.rosters.remove(&company);
        }
    }

    /// PUBLISH (RFC 3903) of one's own presence: sets one's choice (do not disturb, away,
    /// or available), kept like the API's.
    pub(super) fn on_publish(&mut self, key: &TxKey, req: &Request, user: &SipUser, now: Instant) {
        let aor = AorKey::new(user.company_id, &user.ext);
        if req.uri.user.as_deref() != Some(user.ext.as_str()) {
            self.reply(
                key,
                req,
                403,
                "Forbidden (you may only publish your own presence)",
                now,
            );
            return;
        }
        if req.headers.get("Event").and_then(EventKind::from_header) != Some(EventKind::Presence) {
            let mut r = req.response(489, "Bad Event");
            r.headers.push("Allow-Events", "presence");
            self.respond(key, r, now);
            return;
        }
        let Some(expires) = self.asked_expires(key, req, now) else {
            return;
        };
        if let Some(etag) = req.headers.get("SIP-If-Match") {
            let known = self
                .presence
                .publications
                .get(etag.trim())
                .is_some_and(|(a, until)| *a == aor && *until > now);
            if !known {
                self.reply(key, req, 412, "Conditional Request Failed", now);
                return;
            }
            self.presence.publications.remove(etag.trim());
        } else if req.body.is_empty() {
            self.reply(
                key,
                req,
                400,
                "Bad Request (an initial PUBLISH needs a body)",
                now,
            );
            return;
        }
        let mut choice = None;
        if !req.body.is_empty() {
            let ct = req.headers.get("Content-Type").unwrap_or_default();
            if !ct
                .trim()
                .to_ascii_lowercase()
                .starts_with("application/pidf+xml")
            {
                let mut r = req.response(415, "Unsupported Media Type");
                r.headers.push("Accept", "application/pidf+xml");
                self.respond(key, r, now);
                return;
            }
            let text = String::from_utf8_lossy(&req.body);
            match docs::parse_pidf(&text) {
                Ok(p) => {
                    choice = Some(match p.status {
                        Status::Dnd => Choice::Dnd,
                        Status::Away => Choice::Away,
                        _ => Choice::Available,
                    })
                }
                Err(e) => {
                    let reason = format!("Bad Request ({e})");
                    self.reply(key, req, 400, &reason, now);
                    return;
                }
            }
        }
        if expires == 0 {
            // The publication is withdrawn: back to available.
            choice = Some(Choice::Available);
        }
        let mut ok = req.response(200, "OK");
        if expires != 0 {
            let etag = self.rng.token(12);
            let granted = expires.min(MAX_SUB_EXPIRES);
            self.presence.publications.insert(
                etag.as_str().into(),
                (aor.clone(), now + u64::from(granted) * 1000),
            );
            ok.headers.push("SIP-ETag", etag);
            ok.headers.push("Expires", granted.to_string());
        }
        self.respond(key, ok, now);
        if let Some(choice) = choice
            && self.presence.set_choice(&aor, choice)
        {
            info!(aor = %aor, %choice, "presence published");
            self.out.push_back(Output::SaveChoice {
                company: user.company_id,
                ext: user.ext.clone(),
                choice,
            });
            self.presence_changed(&[aor], now);
        }
    }
}

/// Our Contact for a transport: the Record-Route URI without `lr`.
fn own_contact(record_route: &str) -> String {
    record_route.replace(";lr", "")
}

/// A short stable id for a dialog element.
fn short_hash(s: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}
