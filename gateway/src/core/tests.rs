//! The core on virtual time: no sockets, no database, no sleeps. A `World` plays the driver:
//! it carries the core's outputs to simulated clients, answers its store lookups from a table
//! (or holds them, to play a slow or failing database) and steps time to the next deadline,
//! as `sip/tests/virtual_time.rs` does for the user agent.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use centrala_sip::digest::{Algorithm, Challenge, Credentials, ha1};
use centrala_sip::message::{Message, Request, Response, parse_datagram};

use super::*;

pub(super) const DOMAIN: &str = "d.example";
const WS_PEER: &str = "192.0.2.50:40000";

pub(super) fn password(ext: &str) -> String {
    format!("pw-{ext}")
}

pub(super) fn user(ext: &str) -> SipUser {
    let pw = password(ext);
    SipUser {
        company_id: 1,
        ext: ext.into(),
        name: format!("User {ext}"),
        realm: DOMAIN.into(),
        ha1_md5: Some(ha1(Algorithm::Md5, ext, DOMAIN, &pw)),
        ha1_sha256: Some(ha1(Algorithm::Sha256, ext, DOMAIN, &pw)),
        app_access: true,
        employee_id: ext.parse().unwrap_or(0),
        sip_generation: 0,
        digest: None,
        locked: false,
        locked_devices: Vec::new(),
        routing: Default::default(),
        default_device: None,
        login: None,
        outside: Default::default(),
    }
}

/// Where the core sent something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Dest {
    Flow(u64),
    Udp(SocketAddr),
}

pub(super) struct World {
    pub core: Core,
    pub now: Instant,
    pub users: HashMap<String, SipUser>,
    /// Extensions whose lookups are held (a slow database) until released.
    hold: HashSet<String>,
    held: Vec<(LookupId, Query)>,
    lookups: Vec<Query>,
    inbox: HashMap<Dest, Vec<Message>>,
    pub closed: Vec<u64>,
    cseq: u32,
    /// Call records and presence choices the core asked to store.
    pub records: Vec<CallRecord>,
    saved: Vec<(i64, String, Choice)>,
    /// Connections the core asked to open (flow, where to).
    pub connects: Vec<(u64, SocketAddr)>,
    /// Toll fraud the core reported (company, extension, calls).
    pub frauds: Vec<(i64, String, u32)>,
    /// Voicemail counts by extension (company 1).
    pub mailboxes: HashMap<String, centrala_sip::mwi::Mailbox>,
    /// Public numbers (E.164) and where they ring (none unless a test sets them).
    pub numbers: HashMap<String, (i64, crate::calling::NumberTarget)>,
}

impl World {
    pub(super) fn new() -> World {
        World::with(|_| {})
    }

    pub(super) fn with(tune: impl FnOnce(&mut CoreConfig)) -> World {
        let mut cfg = CoreConfig {
            own: OwnAddresses {
                domain: DOMAIN.into(),
                udp: Some("192.0.2.1:5060".parse().unwrap()),
                tcp: None,
                tls: None,
            },
            nonce_secret: [1; 32],
            trusted: Vec::new(),
            limits: Limits::default(),
            sip_secret: [2; 32],
            unix_epoch_ms: 1_800_000_000_000,
            trunks: Vec::new(),
        };
        tune(&mut cfg);
        let users = ["101", "102", "103", "104"]
            .into_iter()
            .map(|e| (e.to_string(), user(e)))
            .collect();
        World {
            core: Core::new(cfg, [7; 32], 0),
            now: 0,
            users,
            hold: HashSet::new(),
            held: Vec::new(),
            lookups: Vec::new(),
            inbox: HashMap::new(),
            closed: Vec::new(),
            cseq: 0,
            records: Vec::new(),
            saved: Vec::new(),
            mailboxes: HashMap::new(),
            connects: Vec::new(),
            frauds: Vec::new(),
            numbers: HashMap::new(),
        }
    }

    /// Carries out the core's outputs; lookups are answered at once unless held. Like the
    /// driver, it lets the core go on at once when it asks to be woken now (a fan-out in
    /// slices).
    pub(super) fn step(&mut self) {
        self.drain();
        while self.core.poll_timeout().is_some_and(|t| t <= self.now)
            && self.core.presence.ready_since.is_some()
        {
            self.core.handle_timeout(self.now);
            self.drain();
        }
    }

    fn drain(&mut self) {
        while let Some(out) = self.core.poll_output() {
            match out {
                Output::Stream { flow, text } => {
                    if text.trim().is_empty() {
                        continue;
                    }
                    let m = parse_datagram(text.as_bytes()).expect("valid SIP out");
                    self.inbox.entry(Dest::Flow(flow.0)).or_default().push(m);
                }
                Output::Datagram { to, bytes } => {
                    let m = parse_datagram(&bytes).expect("valid SIP out");
                    self.inbox.entry(Dest::Udp(to)).or_default().push(m);
                }
                Output::Close { flow } => self.closed.push(flow.0),
                Output::Connect { flow, to, .. } => self.connects.push((flow.0, to)),
                Output::TollFraud {
                    company,
                    ext,
                    calls,
                } => self.frauds.push((company, ext, calls)),
                Output::Record(r) => self.records.push(*r),
                Output::SaveChoice {
                    company,
                    ext,
                    choice,
                } => self.saved.push((company, ext, choice)),
                Output::Lookup { id, query } => {
                    self.lookups.push(query.clone());
                    let held =
                        matches!(&query, Query::User { ext, .. } if self.hold.contains(&**ext));
                    if held {
                        self.held.push((id, query));
                    } else {
                        let answer = self.answer(&query);
                        self.core.handle(Input::Answer { id, answer }, self.now);
                    }
                }
            }
        }
    }

    fn answer(&self, q: &Query) -> Answer {
        match q {
            Query::User { company: 1, ext } => Answer::User(self.users.get(&**ext).cloned()),
            Query::User { .. } => Answer::User(None),
            Query::Domain { host } => Answer::Domain(match &**host {
                DOMAIN => Some(1),
                "other.example" => Some(2),
                _ => None,
            }),
            Query::Number { number, .. } => Answer::Number(self.numbers.get(&**number).cloned()),
            Query::Mailbox { company, ext } => Answer::Mailbox {
                company: *company,
                ext: ext.clone(),
                mailbox: self.mailboxes.get(&**ext).copied().unwrap_or_default(),
            },
            Query::Roster { company } => Answer::Roster {
                company: *company,
                people: if *company == 1 {
                    let mut p: Vec<(String, String)> = self
                        .users
                        .values()
                        .map(|u| (u.ext.clone(), u.name.clone()))
                        .collect();
                    p.sort();
                    p
                } else {
                    Vec::new()
                },
            },
        }
    }

    /// Answers the held lookups (as the slow database finally does), or fails them.
    fn release(&mut self, fail: bool) {
        self.hold.clear();
        for (id, q) in std::mem::take(&mut self.held) {
            let answer = if fail {
                Answer::Failed("database is locked".into())
            } else {
                self.answer(&q)
            };
            self.core.handle(Input::Answer { id, answer }, self.now);
        }
        self.step();
    }

    /// Moves time on by `ms`, firing every deadline on the way.
    pub(super) fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while let Some(t) = self.core.poll_timeout().filter(|&t| t <= end) {
            self.now = self.now.max(t);
            self.core.handle_timeout(self.now);
            self.step();
        }
        self.now = end;
    }

    pub(super) fn connect(&mut self, flow: u64) {
        let input = Input::Connected {
            flow: FlowId(flow),
            peer: WS_PEER.parse().unwrap(),
            transport: Transport::Ws,
        };
        self.core.handle(input, self.now);
        self.step();
    }

    /// A TCP connection from `peer` (a trunk when `peer` is a trusted peer's address).
    pub(super) fn connect_tcp(&mut self, flow: u64, peer: &str) {
        let input = Input::Connected {
            flow: FlowId(flow),
            peer: peer.parse().unwrap(),
            transport: Transport::Tcp,
        };
        self.core.handle(input, self.now);
        self.step();
    }

    pub(super) fn close(&mut self, flow: u64) {
        self.core
            .handle(Input::Closed { flow: FlowId(flow) }, self.now);
        self.step();
    }

    pub(super) fn send(&mut self, to: Dest, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        let message = parse_datagram(text.as_bytes()).expect("test sends valid SIP");
        let input = match to {
            Dest::Flow(f) => Input::Message {
                flow: FlowId(f),
                message,
            },
            Dest::Udp(peer) => Input::Datagram { peer, message },
        };
        self.core.handle(input, self.now);
        self.step();
    }

    fn take(&mut self, at: Dest) -> Vec<Message> {
        self.inbox.remove(&at).unwrap_or_default()
    }

    pub(super) fn responses(&mut self, at: Dest) -> Vec<Response> {
        self.take(at)
            .into_iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    pub(super) fn requests(&mut self, at: Dest) -> Vec<Request> {
        self.take(at)
            .into_iter()
            .filter_map(|m| match m {
                Message::Request(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    fn next_cseq(&mut self) -> u32 {
        self.cseq += 1;
        self.cseq
    }

    pub(super) fn register_text(
        &mut self,
        at: Dest,
        ext: &str,
        contact: &str,
        expires: u32,
        auth: &str,
    ) -> String {
        let cseq = self.next_cseq();
        let via = match at {
            Dest::Flow(_) => "SIP/2.0/WSS c.invalid".to_string(),
            Dest::Udp(a) => format!("SIP/2.0/UDP {a}"),
        };
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\nVia: {via};branch=z9hG4bKr{cseq}\nMax-Forwards: 70\nTo: <sip:{ext}@{DOMAIN}>\nFrom: <sip:{ext}@{DOMAIN}>;tag=r{ext}\nCall-ID: reg-{ext}-{at:?}\nCSeq: {cseq} REGISTER\nContact: {contact}\nExpires: {expires}\n{auth}Content-Length: 0\n\n"
        )
    }

    /// Registers `ext` from `at` with `contact` (401, then the digest answer); the final
    /// response.
    pub(super) fn register_with(
        &mut self,
        at: Dest,
        ext: &str,
        contact: &str,
        expires: u32,
    ) -> Response {
        let text = self.register_text(at, ext, contact, expires, "");
        self.send(at, &text);
        let r = self.responses(at).pop().expect("an answer to REGISTER");
        assert_eq!(r.status, 401, "{}", r.reason);
        let ch = Challenge::pick(r.headers.all("WWW-Authenticate")).unwrap();
        let creds = Credentials::answer(
            &ch,
            "REGISTER",
            &format!("sip:{DOMAIN}"),
            ext,
            &password(ext),
            "c",
            1,
        );
        let text = self.register_text(
            at,
            ext,
            contact,
            expires,
            &format!("Authorization: {creds}\n"),
        );
        self.send(at, &text);
        self.responses(at).pop().expect("an answer to REGISTER")
    }

    /// Company 1's `ext` sets its status (available, do not disturb, away).
    pub(super) fn choose(&mut self, ext: &str, choice: Choice) {
        self.core.handle(
            Input::PresenceChoice {
                company: 1,
                ext: ext.into(),
                choice,
            },
            self.now,
        );
        self.step();
    }

    pub(super) fn register(&mut self, flow: u64, ext: &str) {
        let contact = format!("<sip:{ext}x{flow}@c{flow}.invalid;transport=ws>");
        let r = self.register_with(Dest::Flow(flow), ext, &contact, 600);
        assert_eq!(r.status, 200, "{}", r.reason);
    }

    fn invite_text(
        &mut self,
        flow: u64,
        (from, to, call): (&str, &str, &str),
        auth: &str,
        body: &str,
    ) -> String {
        let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
        format!(
            "INVITE sip:{to}@{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS c{flow}.invalid;branch=z9hG4bK{call}{}\nMax-Forwards: 70\nTo: <sip:{to}@{DOMAIN}>\nFrom: <sip:{from}@{DOMAIN}>;tag=t{call}\nCall-ID: {call}\nCSeq: 1 INVITE\nContact: <sip:{from}@c{flow}.invalid;transport=ws>\n{auth}Content-Length: {}\n\n{body}",
            auth.len(),
            body.len()
        )
    }

    /// `from` on `flow` calls `to`: 407, then the INVITE with credentials. Returns what the
    /// caller got so far.
    pub(super) fn call(&mut self, flow: u64, from: &str, to: &str, call: &str) -> Vec<Response> {
        self.call_with_offer(flow, from, to, call, "")
    }

    /// [`World::call`] with an SDP offer as the INVITE's body.
    pub(super) fn call_with_offer(
        &mut self,
        flow: u64,
        from: &str,
        to: &str,
        call: &str,
        sdp: &str,
    ) -> Vec<Response> {
        let text = self.invite_text(flow, (from, to, call), "", sdp);
        self.send(Dest::Flow(flow), &text);
        let r = self.responses(Dest::Flow(flow));
        let ch = r
            .iter()
            .find(|r| r.status == 407)
            .and_then(|r| Challenge::pick(r.headers.all("Proxy-Authenticate")))
            .expect("407 with a challenge");
        let creds = Credentials::answer(
            &ch,
            "INVITE",
            &format!("sip:{to}@{DOMAIN}"),
            from,
            &password(from),
            "c",
            1,
        );
        let text = self.invite_text(
            flow,
            (from, to, call),
            &format!("Proxy-Authorization: {creds}\n"),
            sdp,
        );
        self.send(Dest::Flow(flow), &text);
        self.responses(Dest::Flow(flow))
    }

    /// `from` on `flow` sends an authenticated out-of-dialog request (407, then with
    /// credentials): `method` to `sip:{to}@{host}` with `headers` and `body`. The final
    /// response.
    #[allow(clippy::too_many_arguments)]
    fn request_as(
        &mut self,
        flow: u64,
        method: &str,
        from: &str,
        to: &str,
        host: &str,
        call: &str,
        headers: &str,
        body: &str,
    ) -> Response {
        let text = |cseq: u32, auth: &str| {
            format!(
                "{method} sip:{to}@{host} SIP/2.0\nVia: SIP/2.0/WSS c{flow}.invalid;branch=z9hG4bK{call}{cseq}\nMax-Forwards: 70\nTo: <sip:{to}@{host}>\nFrom: \"Watcher\" <sip:{from}@{DOMAIN}>;tag=f{call}\nCall-ID: {call}\nCSeq: {cseq} {method}\nContact: <sip:{from}@c{flow}.invalid;transport=ws>\n{headers}{auth}Content-Length: {}\n\n{body}",
                body.replace("\r\n", "\n").replace('\n', "\r\n").len()
            )
        };
        self.send(Dest::Flow(flow), &text(1, ""));
        let r = self.responses(Dest::Flow(flow)).pop().expect("a response");
        if r.status != 407 {
            return r;
        }
        let ch = Challenge::pick(r.headers.all("Proxy-Authenticate")).unwrap();
        let creds = Credentials::answer(
            &ch,
            method,
            &format!("sip:{to}@{host}"),
            from,
            &password(from),
            "c",
            1,
        );
        self.send(
            Dest::Flow(flow),
            &text(2, &format!("Proxy-Authorization: {creds}\n")),
        );
        // Requests that came meanwhile (the first NOTIFY) stay in the inbox.
        let mut final_response = None;
        for m in self.take(Dest::Flow(flow)) {
            match m {
                Message::Response(r) if r.status >= 200 => final_response = Some(r),
                Message::Response(_) => {}
                m @ Message::Request(_) => self.inbox.entry(Dest::Flow(flow)).or_default().push(m),
            }
        }
        final_response.expect("a final response")
    }

    /// `from` on `flow` subscribes to `to` (an extension or `directory`).
    fn subscribe(&mut self, flow: u64, from: &str, to: &str, event: &str, call: &str) -> Response {
        let headers = format!(
            "Event: {event}\nExpires: 600\nSupported: eventlist\nAccept: application/pidf+xml, application/rlmi+xml, multipart/related\n"
        );
        self.request_as(flow, "SUBSCRIBE", from, to, DOMAIN, call, &headers, "")
    }

    /// The NOTIFYs that reached `flow`, each answered with `status`.
    fn notifies(&mut self, flow: u64, status: u16) -> Vec<Request> {
        let mut got = Vec::new();
        loop {
            let batch: Vec<Request> = self
                .requests(Dest::Flow(flow))
                .into_iter()
                .filter(|r| r.method == Method::Notify)
                .collect();
            if batch.is_empty() {
                return got;
            }
            for n in batch {
                let r = n.response(status, "X");
                self.send(Dest::Flow(flow), &String::from_utf8(r.to_bytes()).unwrap());
                got.push(n);
            }
        }
    }

    /// The callee on `flow` answers `invite` with `status` (tag `tag`).
    pub(super) fn answer_invite(&mut self, flow: u64, invite: &Request, status: u16, tag: &str) {
        let mut r = invite.response(status, "X");
        r.set_to_tag(tag);
        for rr in invite.headers.all("Record-Route") {
            r.headers.push("Record-Route", rr);
        }
        r.headers.push(
            "Contact",
            format!("<sip:callee@c{flow}.invalid;transport=ws>"),
        );
        let text = String::from_utf8(r.to_bytes()).unwrap();
        self.send(Dest::Flow(flow), &text);
    }
}

#[test]
fn a_registration_lives_until_it_expires_and_a_refresh_extends_it() {
    let mut w = World::new();
    w.connect(1);
    let r = w.register_with(Dest::Flow(1), "101", "<sip:a@c.invalid;transport=ws>", 60);
    assert_eq!(r.status, 200);
    assert_eq!(w.core.stats().registrations, 1);
    w.advance(59_000);
    assert_eq!(w.core.stats().registrations, 1);
    // Refreshed at 59 s for another 60: alive at 100 s, gone after 119 s.
    let r = w.register_with(Dest::Flow(1), "101", "<sip:a@c.invalid;transport=ws>", 60);
    assert_eq!(r.status, 200);
    w.advance(41_000);
    assert_eq!(w.core.stats().registrations, 1);
    w.advance(19_500);
    assert_eq!(w.core.stats().registrations, 0);
    // Too brief: 423 with Min-Expires.
    let r = w.register_with(Dest::Flow(1), "101", "<sip:a@c.invalid;transport=ws>", 10);
    assert_eq!(r.status, 423);
    assert_eq!(r.headers.get("Min-Expires"), Some("60"));
}

#[test]
fn a_closing_flow_removes_exactly_its_bindings() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "101");
    w.register(2, "102");
    w.register(3, "103");
    assert_eq!(w.core.stats().registrations, 4);
    w.close(2);
    assert_eq!(w.core.stats().registrations, 2);
    // 101 is still reached on flow 1, 102 nowhere.
    w.call(3, "103", "101", "c1");
    assert_eq!(w.requests(Dest::Flow(1)).len(), 1);
    let r = w.call(3, "103", "102", "c2");
    assert_eq!(r.last().unwrap().status, 480);
}

#[test]
fn forking_first_answer_wins_and_the_other_devices_are_cancelled() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    w.register(3, "102");
    let r = w.call(1, "101", "102", "fork");
    assert_eq!(r.iter().map(|r| r.status).collect::<Vec<_>>(), [100]);
    let inv2 = w.requests(Dest::Flow(2)).pop().expect("device 2 rings");
    let inv3 = w.requests(Dest::Flow(3)).pop().expect("device 3 rings");
    w.answer_invite(2, &inv2, 180, "d2");
    w.answer_invite(3, &inv3, 180, "d3");
    assert_eq!(
        w.responses(Dest::Flow(1)).len(),
        2,
        "both 180s reach the caller"
    );
    w.answer_invite(2, &inv2, 200, "d2");
    let got: Vec<u16> = w
        .responses(Dest::Flow(1))
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(got, [200]);
    let cancel = w
        .requests(Dest::Flow(3))
        .pop()
        .expect("device 3 is cancelled");
    assert_eq!(cancel.method, Method::Cancel);
    assert!(
        w.requests(Dest::Flow(2)).is_empty(),
        "the answering device is not cancelled"
    );
    // Device 3's 487 does not reach the caller, whose call is up.
    w.answer_invite(3, &inv3, 487, "d3");
    assert!(w.responses(Dest::Flow(1)).is_empty());
    assert_eq!(w.core.stats().dialogs, 1);
}

#[test]
fn an_unanswered_call_rings_out_with_480() {
    let mut w = World::new();
    w.connect(1);
    w.connect(2);
    w.register(1, "101");
    w.register(2, "102");
    w.call(1, "101", "102", "ring");
    let inv = w.requests(Dest::Flow(2)).pop().unwrap();
    w.answer_invite(2, &inv, 180, "r2");
    w.responses(Dest::Flow(1));
    w.advance(RING_TIMEOUT_MS - 1);
    assert!(w.requests(Dest::Flow(2)).is_empty(), "still ringing");
    w.advance(2);
    let cancel = w
        .requests(Dest::Flow(2))
        .pop()
        .expect("CANCEL at the ring timeout");
    assert_eq!(cancel.method, Method::Cancel);
    w.answer_invite(2, &inv, 487, "r2");
    let last = w.responses(Dest::Flow(1)).pop().unwrap();
    assert_eq!(last.status, 480);
    assert!(last.reason.contains("no answer"), "{}", last.reason);
    assert_eq!(w.core.stats().proxy_contexts, 0);
    assert_eq!(
        w.core.stats().dialogs,
        0,
        "the early dialog ended with the call"
    );
}

#[test]
fn an_answered_invite_lingers_for_2xx_retransmissions_then_goes() {
    let mut w = World::new();
    w.connect(1);
    w.connect(2);
    w.register(1, "101");
    w.register(2, "102");
    w.call(1, "101", "102", "linger");
    let inv = w.requests(Dest::Flow(2)).pop().unwrap();
    w.answer_invite(2, &inv, 200, "l2");
    assert_eq!(w.responses(Dest::Flow(1)).pop().unwrap().status, 200);
    assert_eq!(w.core.stats().proxy_contexts, 1);
    // A retransmitted 200 still reaches the caller within the linger.
    w.advance(10_000);
    w.answer_invite(2, &inv, 200, "l2");
    assert_eq!(w.responses(Dest::Flow(1)).pop().unwrap().status, 200);
    w.advance(64 * 500);
    assert_eq!(w.core.stats().proxy_contexts, 0);
    assert_eq!(w.core.stats().dialogs, 1, "the call itself goes on");
}

#[test]
fn a_parked_lookup_answered_later_lets_the_request_go_on() {
    let mut w = World::new();
    w.connect(1);
    w.connect(2);
    w.register(1, "101");
    w.hold.insert("103".into());
    let text = w.register_text(
        Dest::Flow(2),
        "103",
        "<sip:x@y.invalid;transport=ws>",
        600,
        "",
    );
    w.send(Dest::Flow(2), &text);
    assert!(w.responses(Dest::Flow(2)).is_empty(), "parked: nothing yet");
    assert_eq!(w.core.stats().parked, 1);
    w.release(false);
    assert_eq!(w.responses(Dest::Flow(2)).pop().unwrap().status, 401);
    assert_eq!(w.core.stats().parked, 0);
}

#[test]
fn a_slow_lookup_for_one_user_holds_nobody_else() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    // 103's lookup takes 2 s (held), and meanwhile 101 and 102 register and call at once.
    w.hold.insert("103".into());
    let text = w.register_text(
        Dest::Flow(3),
        "103",
        "<sip:x@y.invalid;transport=ws>",
        600,
        "",
    );
    w.send(Dest::Flow(3), &text);
    assert!(w.responses(Dest::Flow(3)).is_empty());
    w.advance(500);
    let r = w.register_with(
        Dest::Flow(1),
        "101",
        "<sip:101x1@c1.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 200, "answered while 103 waits");
    w.call(1, "101", "102", "during");
    assert_eq!(
        w.requests(Dest::Flow(2)).len(),
        1,
        "the call rings while 103 waits"
    );
    w.advance(1_500);
    w.release(false);
    assert_eq!(w.responses(Dest::Flow(3)).pop().unwrap().status, 401);
}

#[test]
fn a_failed_or_too_slow_lookup_answers_503_and_others_go_on() {
    let mut w = World::new();
    w.connect(1);
    w.connect(2);
    w.register(1, "101");
    w.hold.insert("103".into());
    let text = w.register_text(
        Dest::Flow(2),
        "103",
        "<sip:x@y.invalid;transport=ws>",
        600,
        "",
    );
    w.send(Dest::Flow(2), &text);
    w.release(true);
    let r = w.responses(Dest::Flow(2)).pop().unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.headers.get("Retry-After"), Some("5"));
    // Too slow: the lookup never answers; the request gets 503 after LOOKUP_TIMEOUT_MS.
    w.hold.insert("104".into());
    let text = w.register_text(
        Dest::Flow(2),
        "104",
        "<sip:x@y.invalid;transport=ws>",
        600,
        "",
    );
    w.send(Dest::Flow(2), &text);
    w.advance(LOOKUP_TIMEOUT_MS - 1);
    assert!(w.responses(Dest::Flow(2)).is_empty());
    w.advance(1);
    assert_eq!(w.responses(Dest::Flow(2)).pop().unwrap().status, 503);
    assert_eq!(w.core.stats().parked, 0);
    let r = w.register_with(
        Dest::Flow(1),
        "101",
        "<sip:101x1@c1.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 200);
}

#[test]
fn known_users_are_not_looked_up_again_while_fresh() {
    let mut w = World::new();
    w.connect(1);
    w.register(1, "101");
    let before = w.lookups.len();
    w.advance(1_000);
    w.register(1, "101");
    assert_eq!(w.lookups.len(), before, "served from the cache");
    // Stale: answered from the cache while one reload runs.
    w.advance(USER_CACHE_MS);
    w.hold.insert("101".into());
    let r = w.register_with(
        Dest::Flow(1),
        "101",
        "<sip:101x1@c1.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 200, "a stale entry still answers");
    assert_eq!(w.held.len(), 1, "one reload");
    w.release(false);
}

/// Where a UDP registration is reached: the Contact (RFC 3261 10: a phone that listens on
/// another port than it sends from), the flow (RFC 5626 outbound), and the source when the
/// Contact is a private address behind NAT.
#[test]
fn udp_phones_are_reached_at_their_contact_their_flow_or_behind_nat() {
    let mut w = World::new();
    w.connect(1);
    w.register(1, "101");
    let src: SocketAddr = "203.0.113.10:5000".parse().unwrap();
    let listen: SocketAddr = "203.0.113.10:5070".parse().unwrap();
    // Third-party style: sent from :5000, listening on :5070.
    let r = w.register_with(Dest::Udp(src), "102", &format!("<sip:102@{listen}>"), 600);
    assert_eq!(r.status, 200);
    w.call(1, "101", "102", "tp");
    assert_eq!(
        w.requests(Dest::Udp(listen)).len(),
        1,
        "rung at its Contact"
    );
    assert!(w.requests(Dest::Udp(src)).is_empty());
    // RFC 5626 outbound: the flow it registered on, whatever the Contact says.
    let src3: SocketAddr = "203.0.113.11:5000".parse().unwrap();
    let contact = "<sip:103@203.0.113.11:5070>;reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\"";
    assert_eq!(
        w.register_with(Dest::Udp(src3), "103", contact, 600).status,
        200
    );
    w.call(1, "101", "103", "ob");
    assert_eq!(w.requests(Dest::Udp(src3)).len(), 1, "rung on its flow");
    // Behind NAT: a LAN Contact from a public source is reached at the source.
    let nat: SocketAddr = "198.51.100.20:61000".parse().unwrap();
    assert_eq!(
        w.register_with(Dest::Udp(nat), "104", "<sip:104@192.168.1.20:5060>", 600)
            .status,
        200
    );
    w.call(1, "101", "104", "nat");
    assert_eq!(w.requests(Dest::Udp(nat)).len(), 1, "rung through the NAT");
}

#[test]
fn revoking_app_access_closes_the_app_flows_only() {
    let mut w = World::new();
    w.connect(1);
    w.register(1, "101");
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: "101".into(),
            drop: Registrations::All,
        },
        w.now,
    );
    w.step();
    assert_eq!(w.core.stats().registrations, 0);
    assert!(
        w.closed.is_empty(),
        "a SIP-password registration's flow stays open"
    );
}

#[test]
fn metrics_count_requests_responses_and_lookups() {
    let mut w = World::new();
    w.connect(1);
    w.register(1, "101");
    let s = w.core.stats();
    assert_eq!(s.requests[0], 2, "two REGISTERs");
    assert_eq!(s.responses[1], 1, "one 200");
    assert_eq!(s.responses[3], 1, "one 401");
    assert!(s.lookups >= 2, "domain and user");
    assert_eq!(s.flows, [1, 0, 0, 0]);
}

#[test]
fn calls_are_recorded_with_their_outcome_and_the_callers_name() {
    let mut w = World::new();
    w.connect(1);
    w.connect(2);
    w.register(1, "101");
    w.register(2, "102");
    // Answered, then hung up by the caller.
    w.call(1, "101", "102", "cA");
    let inv = w.requests(Dest::Flow(2)).pop().expect("INVITE to 102");
    assert_eq!(
        inv.from().unwrap().display.as_deref(),
        Some("User 101"),
        "the From display name is the caller's name from the directory"
    );
    assert!(inv.from_tag().is_some_and(|t| t == "tcA"), "tag kept");
    w.advance(2_000);
    let mut ok = inv.response(200, "OK");
    ok.set_to_tag("b1");
    ok.headers
        .push("Record-Route", inv.headers.get("Record-Route").unwrap());
    ok.headers
        .push("Contact", "<sip:callee@c2.invalid;transport=ws>");
    ok.headers.push("User-Agent", "Centrala web (Firefox)");
    w.send(Dest::Flow(2), &String::from_utf8(ok.to_bytes()).unwrap());
    assert!(w.records.is_empty(), "no record while the call is up");
    w.advance(5_000);
    let bye = format!(
        "BYE sip:callee@c2.invalid;transport=ws SIP/2.0\nVia: SIP/2.0/WSS c1.invalid;branch=z9hG4bKbye1\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>;tag=b1\nFrom: <sip:101@{DOMAIN}>;tag=tcA\nCall-ID: cA\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    );
    w.send(Dest::Flow(1), &bye);
    let fwd = w.requests(Dest::Flow(2)).pop().expect("BYE forwarded");
    w.send(
        Dest::Flow(2),
        &String::from_utf8(fwd.response(200, "OK").to_bytes()).unwrap(),
    );
    assert_eq!(w.records.len(), 1);
    let r = &w.records[0];
    assert_eq!(r.outcome, Outcome::Answered);
    assert_eq!(r.caller_ext.as_deref(), Some("101"));
    assert_eq!(r.caller_name.as_deref(), Some("User 101"));
    assert_eq!(r.callee_ext.as_deref(), Some("102"));
    assert_eq!(r.answered_ms.unwrap() - r.started_ms, 2_000);
    assert_eq!(r.ended_ms - r.started_ms, 7_000);
    assert_eq!(r.answered_device.as_deref(), Some("Centrala web (Firefox)"));

    // Declined by the callee.
    w.call(1, "101", "102", "cB");
    let inv = w.requests(Dest::Flow(2)).pop().unwrap();
    w.answer_invite(2, &inv, 603, "b2");
    assert_eq!(w.records.last().unwrap().outcome, Outcome::Declined);

    // Cancelled by the caller while ringing: missed.
    w.call(1, "101", "102", "cC");
    let inv = w.requests(Dest::Flow(2)).pop().unwrap();
    w.answer_invite(2, &inv, 180, "b3");
    let via = inv.headers.all("Via").last().unwrap().to_string();
    let cancel = format!(
        "CANCEL sip:102@{DOMAIN} SIP/2.0\nVia: {via}\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>\nFrom: <sip:101@{DOMAIN}>;tag=tcC\nCall-ID: cC\nCSeq: 1 CANCEL\nContent-Length: 0\n\n"
    );
    w.send(Dest::Flow(1), &cancel);
    let c = w
        .requests(Dest::Flow(2))
        .into_iter()
        .find(|r| r.method == Method::Cancel)
        .unwrap();
    w.send(
        Dest::Flow(2),
        &String::from_utf8(c.response(200, "OK").to_bytes()).unwrap(),
    );
    w.answer_invite(2, &inv, 487, "b3");
    let r = w.records.last().unwrap();
    assert_eq!((r.outcome, r.status), (Outcome::Missed, Some(487)));

    // Nobody logged in on 103; no such extension 999.
    w.call(1, "101", "103", "cD");
    assert_eq!(w.records.last().unwrap().outcome, Outcome::Unavailable);
    w.call(1, "101", "999", "cE");
    let r = w.records.last().unwrap();
    assert_eq!(
        (r.outcome, r.callee_ext.as_deref()),
        (Outcome::Failed, None)
    );
    assert_eq!(w.records.len(), 5);
}

#[test]
fn do_not_disturb_gets_busy_treatment_and_is_recorded() {
    let mut w = World::new();
    w.connect(1);
    w.connect(2);
    w.register(1, "101");
    w.register(2, "102");
    w.core.handle(
        Input::PresenceChoice {
            company: 1,
            ext: "102".into(),
            choice: Choice::Dnd,
        },
        w.now,
    );
    w.step();
    let got = w.call(1, "101", "102", "dnd1");
    let last = got.last().unwrap();
    assert_eq!(last.status, 486);
    assert!(last.reason.contains("do not disturb"), "{}", last.reason);
    assert!(w.requests(Dest::Flow(2)).is_empty(), "no device rings");
    assert_eq!(w.records.last().unwrap().outcome, Outcome::Busy);
    // Another company's choice does not touch this one.
    w.core.handle(
        Input::PresenceChoice {
            company: 2,
            ext: "102".into(),
            choice: Choice::Available,
        },
        w.now,
    );
    let got = w.call(1, "101", "102", "dnd2");
    assert_eq!(got.last().unwrap().status, 486);
    // Back to available: it rings.
    w.core.handle(
        Input::PresenceChoice {
            company: 1,
            ext: "102".into(),
            choice: Choice::Available,
        },
        w.now,
    );
    w.call(1, "101", "102", "dnd3");
    assert_eq!(w.requests(Dest::Flow(2)).len(), 1);
}

#[test]
fn a_call_whose_caller_disconnects_is_recorded_missed() {
    let mut w = World::new();
    w.connect(1);
    w.connect(2);
    w.register(1, "101");
    w.register(2, "102");
    w.call(1, "101", "102", "gone1");
    let inv = w.requests(Dest::Flow(2)).pop().unwrap();
    w.answer_invite(2, &inv, 180, "g1");
    w.close(1);
    let c = w
        .requests(Dest::Flow(2))
        .into_iter()
        .find(|r| r.method == Method::Cancel)
        .expect("CANCEL");
    w.send(
        Dest::Flow(2),
        &String::from_utf8(c.response(200, "OK").to_bytes()).unwrap(),
    );
    w.answer_invite(2, &inv, 487, "g1");
    w.advance(40_000);
    assert_eq!(w.records.len(), 1);
    assert_eq!(w.records[0].outcome, Outcome::Missed);
}

// ---- presence ----

use centrala_sip::presence::{self as docs, Status};

/// The schema check of sip/tests (every NOTIFY body here goes through it).
#[allow(dead_code)]
mod schema {
    use centrala_sip::presence::{NS_DIALOG_INFO, NS_DM, NS_PIDF, NS_RLMI, NS_RPID};
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    use quick_xml::reader::NsReader;
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sip/tests/support/schema.rs"
    ));
}

fn pidf_status(n: &Request) -> Status {
    assert_eq!(n.headers.get("Content-Type"), Some("application/pidf+xml"));
    schema::check_pidf_schema(std::str::from_utf8(&n.body).unwrap());
    docs::parse_pidf(std::str::from_utf8(&n.body).unwrap())
        .unwrap()
        .status
}

fn list_of(n: &Request) -> docs::ListNotify {
    assert_eq!(n.headers.get("Require"), Some("eventlist"));
    schema::check_list_notify(
        n.headers.get("Content-Type").unwrap(),
        std::str::from_utf8(&n.body).unwrap(),
    );
    docs::parse_list_notify(
        n.headers.get("Content-Type").unwrap(),
        std::str::from_utf8(&n.body).unwrap(),
    )
    .unwrap()
}

/// 103 on flow 3 watches 102; 101 (flow 1) and 102 (flow 2) call each other.
#[test]
fn a_watcher_sees_offline_available_ringing_in_a_call_dnd_and_offline_again() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(3, "103");
    w.register(1, "101");
    let ok = w.subscribe(3, "103", "102", "presence", "sub1");
    assert_eq!(ok.status, 200, "{}", ok.reason);
    assert_eq!(ok.headers.get("Expires"), Some("600"));
    assert!(ok.to_tag().is_some());
    let n = w.notifies(3, 200);
    assert_eq!(n.len(), 1);
    assert_eq!(pidf_status(&n[0]), Status::Offline);
    assert!(
        n[0].headers
            .get("Subscription-State")
            .unwrap()
            .starts_with("active;expires=")
    );
    assert_eq!(n[0].headers.get("Event"), Some("presence"));

    w.advance(1_000);
    w.register(2, "102");
    let n = w.notifies(3, 200);
    assert_eq!(
        n.iter().map(pidf_status).collect::<Vec<_>>(),
        [Status::Available]
    );

    // A call from 101: 102 rings (the NOTIFY waits out the rate gap), then talks.
    w.advance(1_000);
    w.call(1, "101", "102", "pc1");
    assert_eq!(
        w.notifies(3, 200)
            .iter()
            .map(pidf_status)
            .collect::<Vec<_>>(),
        [Status::Ringing]
    );
    let inv = w.requests(Dest::Flow(2)).pop().unwrap();
    w.advance(1_000);
    w.answer_invite(2, &inv, 200, "p1");
    assert_eq!(
        w.notifies(3, 200)
            .iter()
            .map(pidf_status)
            .collect::<Vec<_>>(),
        [Status::InCall]
    );
    w.advance(1_000);
    let bye = format!(
        "BYE sip:callee@c2.invalid;transport=ws SIP/2.0\nVia: SIP/2.0/WSS c1.invalid;branch=z9hG4bKpbye\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>;tag=p1\nFrom: <sip:101@{DOMAIN}>;tag=tpc1\nCall-ID: pc1\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    );
    w.send(Dest::Flow(1), &bye);
    let fwd = w.requests(Dest::Flow(2)).pop().unwrap();
    w.send(
        Dest::Flow(2),
        &String::from_utf8(fwd.response(200, "OK").to_bytes()).unwrap(),
    );
    assert_eq!(
        w.notifies(3, 200)
            .iter()
            .map(pidf_status)
            .collect::<Vec<_>>(),
        [Status::Available]
    );

    // Do not disturb through the API, then the tab closes.
    w.advance(1_000);
    w.core.handle(
        Input::PresenceChoice {
            company: 1,
            ext: "102".into(),
            choice: Choice::Dnd,
        },
        w.now,
    );
    w.step();
    assert_eq!(
        w.notifies(3, 200)
            .iter()
            .map(pidf_status)
            .collect::<Vec<_>>(),
        [Status::Dnd]
    );
    w.advance(1_000);
    w.close(2);
    assert_eq!(
        w.notifies(3, 200)
            .iter()
            .map(pidf_status)
            .collect::<Vec<_>>(),
        [Status::Offline]
    );
}

#[test]
fn changes_within_the_rate_gap_are_sent_together_and_no_change_sends_nothing() {
    let mut w = World::new();
    w.connect(3);
    w.register(3, "103");
    w.subscribe(3, "103", "102", "presence", "sub2");
    w.notifies(3, 200);
    w.connect(2);
    w.register(2, "102"); // within 500 ms of the first NOTIFY: held back
    assert!(w.notifies(3, 200).is_empty());
    w.advance(499);
    assert!(w.notifies(3, 200).is_empty());
    w.advance(1);
    assert_eq!(w.notifies(3, 200).len(), 1);
    // A re-REGISTER changes nothing shown.
    w.advance(2_000);
    w.register(2, "102");
    assert!(w.notifies(3, 200).is_empty());
}

#[test]
fn the_directory_is_one_subscription_full_state_first_then_partial() {
    let mut w = World::new();
    w.connect(3);
    w.register(3, "103");
    let ok = w.subscribe(3, "103", "directory", "presence", "dir1");
    assert_eq!(ok.status, 200, "{}", ok.reason);
    let n = w.notifies(3, 200);
    assert_eq!(n.len(), 1);
    let list = list_of(&n[0]);
    assert!(list.full_state);
    assert_eq!(list.uri, format!("sip:directory@{DOMAIN}"));
    let people: Vec<(String, Status)> = list
        .resources
        .iter()
        .map(|r| (r.uri.clone(), r.presence.as_ref().unwrap().status))
        .collect();
    assert_eq!(
        people,
        [
            (format!("sip:101@{DOMAIN}"), Status::Offline),
            (format!("sip:102@{DOMAIN}"), Status::Offline),
            (format!("sip:103@{DOMAIN}"), Status::Available),
            (format!("sip:104@{DOMAIN}"), Status::Offline),
        ]
    );
    assert_eq!(list.resources[0].name.as_deref(), Some("User 101"));

    // Two people log in within the gap: one partial NOTIFY with both, and only them.
    w.connect(1);
    w.connect(2);
    w.register(1, "101");
    w.register(2, "102");
    assert!(w.notifies(3, 200).is_empty());
    w.advance(500);
    let n = w.notifies(3, 200);
    assert_eq!(n.len(), 1);
    let list = list_of(&n[0]);
    assert!(!list.full_state);
    assert_eq!(list.version, 1);
    let uris: Vec<&str> = list.resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        [format!("sip:101@{DOMAIN}"), format!("sip:102@{DOMAIN}")]
    );
    assert!(
        list.resources
            .iter()
            .all(|r| r.presence.as_ref().unwrap().status == Status::Available)
    );

    // Someone leaves the company: the directory is read again, full state.
    w.advance(1_000);
    w.users.remove("104");
    w.core.handle(Input::RosterChanged { company: 1 }, w.now);
    w.step();
    let list = list_of(&w.notifies(3, 200)[0]);
    assert!(list.full_state);
    assert_eq!(list.resources.len(), 3);
}

#[test]
fn the_directory_needs_eventlist_and_only_a_colleague_can_be_watched() {
    let mut w = World::new();
    w.connect(3);
    w.register(3, "103");
    let headers = "Event: presence\nExpires: 600\n";
    let r = w.request_as(
        3,
        "SUBSCRIBE",
        "103",
        "directory",
        DOMAIN,
        "x1",
        headers,
        "",
    );
    assert_eq!(r.status, 421);
    assert_eq!(r.headers.get("Require"), Some("eventlist"));
    // Another company's person, existing or not: the same 403.
    w.core.handle(Input::RosterChanged { company: 2 }, w.now);
    let other = w.request_as(
        3,
        "SUBSCRIBE",
        "103",
        "102",
        "other.example",
        "x2",
        headers,
        "",
    );
    let nobody = w.request_as(
        3,
        "SUBSCRIBE",
        "103",
        "999",
        "other.example",
        "x3",
        headers,
        "",
    );
    assert_eq!((other.status, nobody.status), (403, 403));
    assert_eq!(other.reason, nobody.reason);
    // Nobody of that extension here: 404. Too short: 423.
    let r = w.request_as(3, "SUBSCRIBE", "103", "999", DOMAIN, "x4", headers, "");
    assert_eq!(r.status, 404);
    let r = w.request_as(
        3,
        "SUBSCRIBE",
        "103",
        "102",
        DOMAIN,
        "x5",
        "Event: presence\nExpires: 10\n",
        "",
    );
    assert_eq!(r.status, 423);
    // Without credentials nothing is served (407, no NOTIFY).
    w.send(Dest::Flow(3), &format!("SUBSCRIBE sip:102@{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS c3.invalid;branch=z9hG4bKanon\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>\nFrom: <sip:103@{DOMAIN}>;tag=a\nCall-ID: anon\nCSeq: 1 SUBSCRIBE\nEvent: presence\nContact: <sip:x@c3.invalid;transport=ws>\nContent-Length: 0\n\n"));
    assert_eq!(w.responses(Dest::Flow(3)).pop().unwrap().status, 407);
    assert!(w.notifies(3, 200).is_empty());
    assert_eq!(w.core.stats().subscriptions, 0);
}

#[test]
fn subscriptions_expire_refresh_end_and_are_bound_to_their_flow() {
    let mut w = World::new();
    w.connect(3);
    w.connect(4);
    w.register(3, "103");
    let ok = w.subscribe(3, "103", "102", "presence", "e1");
    let tag = ok.to_tag().unwrap();
    w.notifies(3, 200);
    let refresh = |cseq: u32, expires: u32, flow: u64| {
        format!(
            "SUBSCRIBE sip:102@{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS c{flow}.invalid;branch=z9hG4bKref{cseq}\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>;tag={tag}\nFrom: <sip:103@{DOMAIN}>;tag=fe1\nCall-ID: e1\nCSeq: {cseq} SUBSCRIBE\nEvent: presence\nExpires: {expires}\nContact: <sip:103@c3.invalid;transport=ws>\nContent-Length: 0\n\n"
        )
    };
    // A refresh from another connection is refused.
    w.send(Dest::Flow(4), &refresh(5, 600, 4));
    assert_eq!(w.responses(Dest::Flow(4)).pop().unwrap().status, 403);
    // A refresh at 500 s keeps it alive past 600 s, and gets the whole state.
    w.advance(500_000);
    w.send(Dest::Flow(3), &refresh(6, 600, 3));
    let got = w.take(Dest::Flow(3));
    assert!(matches!(&got[0], Message::Response(r) if r.status == 200));
    let notify = match &got[1] {
        Message::Request(n) if n.method == Method::Notify => n.clone(),
        other => panic!("expected a NOTIFY, got {other:?}"),
    };
    w.send(
        Dest::Flow(3),
        &String::from_utf8(notify.response(200, "OK").to_bytes()).unwrap(),
    );
    w.advance(200_000);
    assert_eq!(w.core.stats().subscriptions, 1);
    // Without another refresh it ends at 1,100 s with a last NOTIFY.
    w.advance(400_000);
    let n = w.notifies(3, 200);
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].headers.get("Subscription-State"),
        Some("terminated;reason=timeout")
    );
    assert_eq!(w.core.stats().subscriptions, 0);
    // Unsubscribing (Expires: 0) ends at once, with a last NOTIFY.
    let ok = w.subscribe(3, "103", "102", "presence", "e2");
    let tag = ok.to_tag().unwrap();
    w.notifies(3, 200);
    w.send(Dest::Flow(3), &format!("SUBSCRIBE sip:102@{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS c3.invalid;branch=z9hG4bKun\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>;tag={tag}\nFrom: <sip:103@{DOMAIN}>;tag=fe2\nCall-ID: e2\nCSeq: 9 SUBSCRIBE\nEvent: presence\nExpires: 0\nContact: <sip:103@c3.invalid;transport=ws>\nContent-Length: 0\n\n"));
    let got = w.take(Dest::Flow(3));
    assert!(matches!(&got[0], Message::Response(r) if r.status == 200));
    for m in got.into_iter().skip(1) {
        w.inbox.entry(Dest::Flow(3)).or_default().push(m);
    }
    w.advance(1_000);
    let n = w.notifies(3, 200);
    assert_eq!(
        n.last().unwrap().headers.get("Subscription-State"),
        Some("terminated;reason=timeout")
    );
    assert_eq!(w.core.stats().subscriptions, 0);
    // A NOTIFY answered 481 ends it; a closed flow ends its subscriptions.
    w.subscribe(3, "103", "102", "presence", "e3");
    w.notifies(3, 481);
    assert_eq!(w.core.stats().subscriptions, 0);
    w.subscribe(3, "103", "102", "presence", "e4");
    w.subscribe(3, "103", "directory", "presence", "e5");
    assert_eq!(w.core.stats().subscriptions, 2);
    w.close(3);
    assert_eq!(w.core.stats().subscriptions, 0);
}

#[test]
fn publish_sets_ones_own_status_and_nobody_elses() {
    let mut w = World::new();
    for f in [2, 3] {
        w.connect(f);
    }
    w.register(2, "102");
    w.register(3, "103");
    w.subscribe(3, "103", "102", "presence", "pw1");
    w.notifies(3, 200);
    let pidf = docs::pidf(&docs::Presence {
        entity: format!("sip:102@{DOMAIN}"),
        status: Status::Dnd,
        note: None,
    });
    let headers = "Event: presence\nExpires: 3600\nContent-Type: application/pidf+xml\n";
    let ok = w.request_as(2, "PUBLISH", "102", "102", DOMAIN, "pub1", headers, &pidf);
    assert_eq!(ok.status, 200, "{}", ok.reason);
    let etag = ok.headers.get("SIP-ETag").unwrap().to_string();
    assert_eq!(w.saved, [(1, "102".to_string(), Choice::Dnd)]);
    w.advance(600);
    assert_eq!(
        w.notifies(3, 200)
            .iter()
            .map(pidf_status)
            .collect::<Vec<_>>(),
        [Status::Dnd]
    );
    // Calls to 102 now get busy.
    w.connect(1);
    w.register(1, "101");
    assert_eq!(
        w.call(1, "101", "102", "pubcall").last().unwrap().status,
        486
    );
    // Refresh with the entity tag; an unknown tag is 412.
    let r = w.request_as(
        2,
        "PUBLISH",
        "102",
        "102",
        DOMAIN,
        "pub2",
        &format!("Event: presence\nSIP-If-Match: {etag}\nExpires: 3600\n"),
        "",
    );
    assert_eq!(r.status, 200);
    let r = w.request_as(
        2,
        "PUBLISH",
        "102",
        "102",
        DOMAIN,
        "pub3",
        "Event: presence\nSIP-If-Match: nope\nExpires: 3600\n",
        "",
    );
    assert_eq!(r.status, 412);
    // Someone else's presence, a bad document, another event: refused.
    let r = w.request_as(3, "PUBLISH", "103", "102", DOMAIN, "pub4", headers, &pidf);
    assert_eq!(r.status, 403);
    let r = w.request_as(
        2,
        "PUBLISH",
        "102",
        "102",
        DOMAIN,
        "pub5",
        headers,
        "<presence",
    );
    assert_eq!(r.status, 400);
    let r = w.request_as(
        2,
        "PUBLISH",
        "102",
        "102",
        DOMAIN,
        "pub6",
        "Event: dialog\nContent-Type: application/pidf+xml\n",
        &pidf,
    );
    assert_eq!(r.status, 489);
    assert_eq!(w.saved.len(), 1);
}

#[test]
fn a_desk_phones_busy_lamp_gets_dialog_info() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    w.register(3, "103");
    let ok = w.subscribe(3, "103", "102", "dialog", "blf1");
    assert_eq!(ok.status, 200);
    let parse = |n: &Request| {
        assert_eq!(
            n.headers.get("Content-Type"),
            Some("application/dialog-info+xml")
        );
        assert_eq!(n.headers.get("Event"), Some("dialog"));
        schema::check_dialog_info_schema(std::str::from_utf8(&n.body).unwrap());
        docs::parse_dialog_info(std::str::from_utf8(&n.body).unwrap()).unwrap()
    };
    let (entity, _, full, dialogs) = parse(&w.notifies(3, 200)[0]);
    assert_eq!(entity, format!("sip:102@{DOMAIN}"));
    assert!(full && dialogs.is_empty());
    w.advance(1_000);
    w.call(1, "101", "102", "blfcall");
    let (_, v, _, dialogs) = parse(&w.notifies(3, 200)[0]);
    assert_eq!(v, 1);
    assert_eq!(dialogs.len(), 1);
    assert_eq!(dialogs[0].state, docs::DialogPhase::Early);
    assert_eq!(dialogs[0].direction, Some(docs::Direction::Recipient));
    assert_eq!(dialogs[0].call_id, "blfcall");
    let inv = w.requests(Dest::Flow(2)).pop().unwrap();
    w.advance(1_000);
    w.answer_invite(2, &inv, 200, "b");
    let (_, _, _, dialogs) = parse(&w.notifies(3, 200)[0]);
    assert_eq!(dialogs[0].state, docs::DialogPhase::Confirmed);
}

#[test]
fn a_change_fanned_out_to_many_directory_watchers_carries_each_ones_version() {
    let mut w = World::new();
    for f in [3, 4] {
        w.connect(f);
    }
    w.register(3, "103");
    w.subscribe(3, "103", "directory", "presence", "fan1");
    w.notifies(3, 200);
    // 103 hears of 104's login; 104 subscribes after: its first NOTIFY is full state.
    w.advance(1_000);
    w.register(4, "104");
    assert_eq!(list_of(&w.notifies(3, 200)[0]).version, 1);
    w.subscribe(4, "104", "directory", "presence", "fan2");
    let first4 = list_of(&w.notifies(4, 200)[0]);
    assert!(first4.full_state && first4.version == 0);
    // One change reaches both, each with its own version and the same content.
    w.advance(1_000);
    w.connect(2);
    w.register(2, "102");
    let (a, b) = (
        list_of(&w.notifies(3, 200)[0]),
        list_of(&w.notifies(4, 200)[0]),
    );
    assert_eq!((a.version, b.version), (2, 1));
    assert!(!a.full_state && !b.full_state);
    assert_eq!(a.resources, b.resources);
    assert_eq!(a.resources.len(), 1);
    assert_eq!(
        a.resources[0].presence.as_ref().unwrap().status,
        Status::Available
    );
    // The next change is built anew, not served from the last one.
    w.advance(1_000);
    w.close(2);
    let a = list_of(&w.notifies(3, 200)[0]);
    assert_eq!(
        a.resources[0].presence.as_ref().unwrap().status,
        Status::Offline
    );
}

#[test]
fn directories_are_read_again_each_minute_and_only_news_is_sent() {
    let mut w = World::new();
    w.connect(3);
    w.register(3, "103");
    w.subscribe(3, "103", "directory", "presence", "rr1");
    assert_eq!(list_of(&w.notifies(3, 200)[0]).resources.len(), 4);
    // A minute with nothing new: the directory is read, nothing is sent.
    w.advance(61_000);
    assert!(w.notifies(3, 200).is_empty());
    // Someone added from the command line (no word to the core): within a minute.
    w.users.insert("105".into(), user("105"));
    w.advance(61_000);
    let list = list_of(&w.notifies(3, 200)[0]);
    assert!(list.full_state);
    assert_eq!(list.resources.len(), 5);
}

#[test]
fn one_connection_holds_at_most_256_subscriptions() {
    let mut w = World::new();
    w.connect(3);
    w.register(3, "103");
    for i in 0..presence::MAX_SUBS_PER_FLOW {
        let r = w.subscribe(3, "103", "102", "presence", &format!("many{i}"));
        assert_eq!(r.status, 200, "subscription {i}: {}", r.reason);
        w.notifies(3, 200);
    }
    let r = w.subscribe(3, "103", "102", "presence", "one-too-many");
    assert_eq!(r.status, 503);
    assert!(r.reason.contains("too many subscriptions"), "{}", r.reason);
    assert_eq!(r.headers.get("Retry-After"), Some("60"));
    assert_eq!(w.core.stats().subscriptions, presence::MAX_SUBS_PER_FLOW);
    // Another connection is not held back by it.
    w.connect(4);
    assert_eq!(
        w.subscribe(4, "104", "102", "presence", "other").status,
        200
    );
}

#[test]
fn a_change_to_many_watchers_goes_out_in_slices_and_reaches_all() {
    let mut w = World::new();
    let watchers: Vec<u64> = (10..110).collect();
    w.connect(2);
    w.register(2, "102");
    for &f in &watchers {
        w.connect(f);
        let r = w.subscribe(f, "103", "directory", "presence", &format!("slice{f}"));
        assert_eq!(r.status, 200);
        w.notifies(f, 200);
    }
    w.advance(1_000);
    w.core.handle(
        Input::PresenceChoice {
            company: 1,
            ext: "102".into(),
            choice: Choice::Away,
        },
        w.now,
    );
    // What the core hands out before the driver's next turn: the first slice only.
    w.drain();
    let waiting = |w: &World| -> usize {
        watchers
            .iter()
            .map(|&f| {
                w.inbox.get(&Dest::Flow(f)).map_or(0, |v| {
                    v.iter()
                        .filter(|m| matches!(m, Message::Request(r) if r.method == Method::Notify))
                        .count()
                })
            })
            .sum()
    };
    let first = waiting(&w);
    assert_eq!(first, presence::FANOUT_SLICE);
    assert_eq!(
        w.core.poll_timeout(),
        Some(w.now),
        "it asks to go on at once"
    );
    w.step();
    assert_eq!(waiting(&w), watchers.len());
    assert_eq!(w.core.presence.ready_since, None);
}

#[test]
fn message_waiting_tells_ones_own_phone_its_counts_and_follows_changes() {
    use centrala_sip::mwi::{CONTENT_TYPE, Mailbox, parse_message_summary};
    fn summary(n: &Request) -> Option<(bool, Option<Mailbox>)> {
        assert_eq!(n.headers.get("Event"), Some("message-summary"));
        assert_eq!(n.headers.get("Content-Type"), Some(CONTENT_TYPE));
        parse_message_summary(std::str::from_utf8(&n.body).unwrap())
    }
    let mut w = World::new();
    w.connect(3);
    w.connect(4);
    w.register(3, "103");
    w.register(4, "104");
    w.mailboxes.insert("103".into(), Mailbox { new: 1, old: 2 });
    let ok = w.subscribe(3, "103", "103", "message-summary", "m1");
    assert_eq!(ok.status, 200, "{}", ok.reason);
    let n = w.notifies(3, 200);
    assert_eq!(n.len(), 1);
    assert_eq!(
        summary(&n[0]),
        Some((true, Some(Mailbox { new: 1, old: 2 })))
    );
    assert!(
        std::str::from_utf8(&n[0].body)
            .unwrap()
            .contains("Message-Account: sip:103@d.example\r\n")
    );
    // Someone else's mailbox is not for watching.
    let r = w.subscribe(4, "104", "103", "message-summary", "m2");
    assert_eq!(
        (r.status, &*r.reason),
        (403, "Forbidden (only your own voicemail box)")
    );
    assert!(w.notifies(4, 200).is_empty());
    // The message is heard: the store is read again and the lamp goes out.
    w.mailboxes.insert("103".into(), Mailbox { new: 0, old: 3 });
    w.advance(1_000);
    let input = || Input::MailboxChanged {
        company: 1,
        ext: "103".into(),
    };
    w.core.handle(input(), w.now);
    w.step();
    let n = w.notifies(3, 200);
    assert_eq!(n.len(), 1);
    assert_eq!(
        summary(&n[0]),
        Some((false, Some(Mailbox { new: 0, old: 3 })))
    );
    // Nothing changed: no NOTIFY. Presence changes do not concern it either.
    w.advance(1_000);
    w.core.handle(input(), w.now);
    w.step();
    w.connect(5);
    w.register(5, "103");
    w.call(4, "104", "103", "c1");
    w.advance(1_000);
    assert!(w.notifies(3, 200).is_empty());
    // Nobody watching 104's mailbox: a change there reads nothing.
    let before = w.lookups.len();
    w.core.handle(
        Input::MailboxChanged {
            company: 1,
            ext: "104".into(),
        },
        w.now,
    );
    w.step();
    assert_eq!(w.lookups.len(), before);
    // The watcher leaves: its mailbox is forgotten.
    w.close(3);
    assert!(w.core.presence.mailboxes.is_empty());
}
