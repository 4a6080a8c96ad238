//! Several calls at once on virtual time: three user agents behind a stand-in proxy (it
//! routes requests by the Request-URI and responses by the top Via) with a fixed delay.
//! Call waiting, hold and resume by re-INVITE (RFC 6337), switching between calls, hanging
//! one up, and a glared or refused re-INVITE (RFC 3261 14.1).

use std::collections::HashMap;

use centrala_sip::Instant;
use centrala_sip::message::{Message, Method, SipMessage, parse_datagram};
use centrala_sip::ua::{CallHandle, CallStatus, Event, UaConfig, UserAgent};

const DELAY: u64 = 20;

fn sdp(dir: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
         m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={dir}\r\n"
    )
}

/// The direction an answerer gives to an offer `offer`, holding or not itself.
fn answer_to(offer: &str, holding: bool) -> String {
    let theirs_sends_only = offer.contains("a=sendonly") || offer.contains("a=inactive");
    let dir = match (theirs_sends_only, holding) {
        (true, true) => "inactive",
        (true, false) => "recvonly",
        (false, true) => "sendonly",
        (false, false) => "sendrecv",
    };
    sdp(dir)
}

struct Phone {
    ua: UserAgent,
    events: Vec<(Instant, Event)>,
    /// Answer `OfferNeeded` and `Reoffer` at once, as the web app does.
    auto: bool,
}

struct World {
    phones: Vec<Phone>,
    /// Extension, contact user or Via host → phone index.
    names: HashMap<String, usize>,
    in_flight: Vec<(Instant, u64, usize, String)>,
    seq: u64,
    now: Instant,
    /// The proxy answers re-INVITEs itself with this status instead of passing them on.
    refuse_reinvites: Option<u16>,
    /// Every request sent: (time, sender, first line).
    log: Vec<(Instant, usize, String)>,
}

impl World {
    fn new() -> World {
        let mut w = World {
            phones: Vec::new(),
            names: HashMap::new(),
            in_flight: Vec::new(),
            seq: 0,
            now: 0,
            refuse_reinvites: None,
            log: Vec::new(),
        };
        for (i, ext) in ["101", "102", "103"].iter().enumerate() {
            let mut cfg = UaConfig::new(ext, "example.com", "pw");
            cfg.call_waiting = true;
            let mut ua = UserAgent::new(cfg, [i as u8 + 1; 32]);
            ua.connected(0);
            w.names.insert(ext.to_string(), i);
            w.phones.push(Phone {
                ua,
                events: Vec::new(),
                auto: true,
            });
        }
        w.run(100);
        w
    }

    fn route(&mut self, from: usize, text: String) {
        let Ok(msg) = parse_datagram(text.as_bytes()) else {
            return;
        };
        match &msg {
            Message::Request(r) if r.method == Method::Register => {
                // The registrar: learn the contact and the Via host, answer 200.
                if let Some(c) = r.headers.get("Contact")
                    && let Some(user) = c.split("sip:").nth(1).and_then(|s| s.split('@').next())
                {
                    self.names.insert(user.to_string(), from);
                }
                if let Some(host) = via_host(&msg) {
                    self.names.insert(host, from);
                }
                let mut ok = r.response(200, "OK");
                ok.set_to_tag("reg");
                for c in r.headers.all("Contact") {
                    ok.headers.push("Contact", c);
                }
                self.send(from, String::from_utf8_lossy(&ok.to_bytes()).into_owned());
            }
            Message::Request(r) => {
                self.log
                    .push((self.now, from, text.lines().next().unwrap_or("").into()));
                if r.method == Method::Invite
                    && r.to_tag().is_some()
                    && let Some(status) = self.refuse_reinvites
                {
                    let mut resp = r.response(status, "Refused by the test");
                    resp.headers.push("Content-Length", "0");
                    self.send(from, String::from_utf8_lossy(&resp.to_bytes()).into_owned());
                    return;
                }
                if r.method == Method::Ack && self.refuse_reinvites.is_some() {
                    return; // the ACK of the refusal, hop by hop
                }
                let user = r.uri.user.clone().unwrap_or_default();
                if let Some(&to) = self.names.get(&user) {
                    self.send(to, text);
                }
            }
            Message::Response(_) => {
                if let Some(&to) = via_host(&msg).and_then(|h| self.names.get(&h)) {
                    self.send(to, text);
                }
            }
        }
    }

    fn send(&mut self, to: usize, text: String) {
        self.seq += 1;
        self.in_flight.push((self.now + DELAY, self.seq, to, text));
    }

    /// Drains every phone: messages to the proxy, events to the log (answering offers).
    fn pump(&mut self) {
        loop {
            let mut any = false;
            for i in 0..self.phones.len() {
                while let Some(t) = self.phones[i].ua.poll_transmit() {
                    any = true;
                    if !t.trim().is_empty() {
                        self.route(i, t);
                    }
                }
                while let Some(e) = self.phones[i].ua.poll_event() {
                    any = true;
                    let now = self.now;
                    let p = &mut self.phones[i];
                    if p.auto {
                        match &e {
                            Event::OfferNeeded { call, hold } => {
                                let dir = if *hold { "sendonly" } else { "sendrecv" };
                                p.ua.send_offer(*call, sdp(dir), now);
                            }
                            Event::Reoffer { call, sdp: offer } => {
                                let holding =
                                    p.ua.calls().iter().any(|c| c.call == *call && c.local_hold);
                                p.ua.accept_reoffer(*call, answer_to(offer, holding), now);
                            }
                            _ => {}
                        }
                    }
                    p.events.push((now, e));
                }
            }
            if !any {
                break;
            }
        }
    }

    fn run(&mut self, until: Instant) {
        loop {
            self.pump();
            let mut due: Vec<_> = self
                .in_flight
                .iter()
                .filter(|m| m.0 <= self.now)
                .cloned()
                .collect();
            self.in_flight.retain(|m| m.0 > self.now);
            due.sort_by_key(|m| (m.0, m.1));
            for (_, _, to, text) in due {
                self.phones[to].ua.handle_message(text.as_bytes(), self.now);
            }
            for p in &mut self.phones {
                if p.ua.poll_timeout().is_some_and(|t| t <= self.now) {
                    p.ua.handle_timeout(self.now);
                }
            }
            self.pump();
            let next = self
                .phones
                .iter()
                .filter_map(|p| p.ua.poll_timeout())
                .chain(self.in_flight.iter().map(|m| m.0))
                .filter(|t| *t > self.now)
                .min();
            let pending = self.in_flight.iter().any(|m| m.0 <= self.now);
            match next {
                _ if pending => {}
                Some(t) if t <= until => self.now = t,
                _ => break,
            }
        }
        self.now = until;
    }

    fn ua(&mut self, i: usize) -> &mut UserAgent {
        &mut self.phones[i].ua
    }

    /// Phone `from` calls extension `to`; returns the caller's and the callee's handles.
    fn call(&mut self, from: usize, to: usize) -> (CallHandle, CallHandle) {
        let now = self.now;
        let ext = ["101", "102", "103"][to];
        let h = self.ua(from).call(ext, sdp("sendrecv"), now);
        self.run(now + 500);
        let theirs = self.phones[to]
            .events
            .iter()
            .rev()
            .find_map(|(_, e)| match e {
                Event::IncomingCall { call, .. } => Some(*call),
                _ => None,
            })
            .expect("it rings");
        (h, theirs)
    }

    fn answer(&mut self, who: usize, call: CallHandle) {
        let now = self.now;
        self.ua(who).answer(call, sdp("sendrecv"), now);
        self.run(now + 500);
    }

    fn status(&self, who: usize, call: CallHandle) -> Option<CallStatus> {
        self.phones[who].ua.call_status(call)
    }

    /// The last hold state phone `who` reported for `call`.
    fn hold(&self, who: usize, call: CallHandle) -> Option<(bool, bool)> {
        self.phones[who]
            .events
            .iter()
            .rev()
            .find_map(|(_, e)| match e {
                Event::Hold {
                    call: c,
                    local,
                    remote,
                } if *c == call => Some((*local, *remote)),
                _ => None,
            })
    }

    fn ended(&self, who: usize, call: CallHandle) -> Option<Option<u16>> {
        self.phones[who].events.iter().find_map(|(_, e)| match e {
            Event::Ended {
                call: c, status, ..
            } if *c == call => Some(*status),
            _ => None,
        })
    }
}

fn via_host(msg: &Message) -> Option<String> {
    let via = match msg {
        Message::Request(r) => r.headers.get("Via"),
        Message::Response(r) => r.headers.get("Via"),
    }?;
    let sent_by = via.split_whitespace().nth(1)?;
    Some(sent_by.split(';').next()?.split(':').next()?.to_string())
}

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

#[test]
fn a_second_call_waits_answering_it_holds_the_first_and_switching_swaps_them() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    assert_eq!(w.status(A, a_b), Some(CallStatus::Connected));
    assert_eq!(w.status(B, b_a), Some(CallStatus::Connected));

    // C calls B while B talks to A: it waits (rings), C hears ringing.
    let (c_b, b_c) = w.call(C, B);
    let waiting = w.phones[B]
        .events
        .iter()
        .any(|(_, e)| matches!(e, Event::IncomingCall { call, waiting: true, .. } if *call == b_c));
    assert!(waiting, "{:?}", w.phones[B].events);
    assert!(
        w.phones[C]
            .events
            .iter()
            .any(|(_, e)| *e == Event::Ringing { call: c_b })
    );
    assert_eq!(w.status(B, b_c), Some(CallStatus::RingingIn));
    assert_eq!(
        w.status(B, b_a),
        Some(CallStatus::Connected),
        "untouched while it rings"
    );

    // B answers C: A is held (A sees it), C is connected.
    w.answer(B, b_c);
    assert_eq!(w.status(B, b_a), Some(CallStatus::Held));
    assert_eq!(w.status(B, b_c), Some(CallStatus::Connected));
    assert_eq!(w.status(A, a_b), Some(CallStatus::HeldRemote));
    assert_eq!(w.hold(A, a_b), Some((false, true)));
    assert_eq!(w.hold(B, b_a), Some((true, false)));
    assert_eq!(w.status(C, c_b), Some(CallStatus::Connected));
    // The hold offer was sendonly, A answered recvonly.
    let b_reinvite = w.phones[A].events.iter().find_map(|(_, e)| match e {
        Event::Reoffer { sdp, .. } => Some(sdp.clone()),
        _ => None,
    });
    assert!(b_reinvite.unwrap().contains("a=sendonly"));

    // Switch back to A: A resumes, C is held.
    let now = w.now;
    w.ua(B).resume(b_a, now);
    w.run(now + 1000);
    assert_eq!(w.status(B, b_a), Some(CallStatus::Connected));
    assert_eq!(w.status(B, b_c), Some(CallStatus::Held));
    assert_eq!(w.status(A, a_b), Some(CallStatus::Connected));
    assert_eq!(w.status(C, c_b), Some(CallStatus::HeldRemote));
    // And to C again.
    let now = w.now;
    w.ua(B).resume(b_c, now);
    w.run(now + 1000);
    assert_eq!(w.status(B, b_a), Some(CallStatus::Held));
    assert_eq!(w.status(B, b_c), Some(CallStatus::Connected));
    assert_eq!(w.status(C, c_b), Some(CallStatus::Connected));

    // B hangs up C: A's call stays, held, until B resumes it.
    let now = w.now;
    w.ua(B).hangup(b_c, now);
    w.run(now + 1000);
    assert!(w.ended(C, c_b).is_some());
    assert_eq!(w.ended(A, a_b), None);
    assert_eq!(w.status(B, b_a), Some(CallStatus::Held));
    let now = w.now;
    w.ua(B).resume(b_a, now);
    w.run(now + 1000);
    assert_eq!(w.status(B, b_a), Some(CallStatus::Connected));
    assert_eq!(w.status(A, a_b), Some(CallStatus::Connected));
    assert_eq!(w.ua(B).calls().len(), 1);
}

#[test]
fn call_waiting_is_off_unless_turned_on() {
    assert!(!UaConfig::new("101", "example.com", "pw").call_waiting);
}

#[test]
fn with_call_waiting_off_a_second_caller_gets_busy() {
    let mut w = World::new();
    let (_a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    w.ua(B).set_call_waiting(false);
    let now = w.now;
    let c_b = w.ua(C).call("102", sdp("sendrecv"), now);
    w.run(now + 500);
    assert_eq!(w.ended(C, c_b), Some(Some(486)));
    let rang = w.phones[B]
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::IncomingCall { .. }))
        .count();
    assert_eq!(rang, 1, "only A's call rang at B");
    assert_eq!(w.status(B, b_a), Some(CallStatus::Connected));
}

#[test]
fn a_first_call_is_not_waiting_and_hanging_up_a_held_call_leaves_the_other() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    assert!(w.phones[B].events.iter().any(|(_, e)| {
        matches!(e, Event::IncomingCall { call, waiting: false, .. } if *call == b_a)
    }));
    w.answer(B, b_a);
    let (c_b, b_c) = w.call(C, B);
    w.answer(B, b_c);
    // B hangs up the held call (A): C goes on, not held.
    let now = w.now;
    w.ua(B).hangup(b_a, now);
    w.run(now + 1000);
    assert!(w.ended(A, a_b).is_some());
    assert_eq!(w.status(B, b_c), Some(CallStatus::Connected));
    assert_eq!(w.status(C, c_b), Some(CallStatus::Connected));
}

#[test]
fn both_sides_holding_at_once_glare_then_retry_and_end_held_both_ways() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    let now = w.now;
    w.ua(A).hold(a_b, now);
    w.ua(B).hold(b_a, now);
    w.run(now + 10_000);
    let failed = |w: &World, who: usize| {
        w.phones[who].events.iter().find_map(|(t, e)| match e {
            Event::OfferFailed {
                status: Some(491),
                retrying: true,
                ..
            } => Some(*t),
            _ => None,
        })
    };
    let (a_491, b_491) = (
        failed(&w, A).expect("A glared"),
        failed(&w, B).expect("B glared"),
    );
    let offers_after = |w: &World, who: usize, t: Instant| {
        w.log
            .iter()
            .find(|(at, from, line)| *at > t && *from == who && line.starts_with("INVITE"))
            .map(|(at, _, _)| at - t)
    };
    // A placed the call (owns the Call-ID): 2.1–4 s; B: 0–2 s.
    let a_wait = offers_after(&w, A, a_491).expect("A offers again");
    let b_wait = offers_after(&w, B, b_491).expect("B offers again");
    assert!((2100..=4000).contains(&a_wait), "A waited {a_wait} ms");
    assert!(b_wait <= 2000, "B waited {b_wait} ms");
    // Both end in a known state: each holds, each is held.
    assert_eq!(w.hold(A, a_b), Some((true, true)));
    assert_eq!(w.hold(B, b_a), Some((true, true)));
    assert_eq!(w.status(A, a_b), Some(CallStatus::Held));
    // Both resume: the call is plainly connected again.
    let now = w.now;
    w.ua(A).resume(a_b, now);
    w.run(now + 10_000);
    let now = w.now;
    w.ua(B).resume(b_a, now);
    w.run(now + 10_000);
    assert_eq!(w.status(A, a_b), Some(CallStatus::Connected));
    assert_eq!(w.status(B, b_a), Some(CallStatus::Connected));
}

#[test]
fn an_incoming_offer_while_ours_is_being_prepared_gets_491() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    // A's app is slow to make its offer: B's hold arrives meanwhile and is refused.
    w.phones[A].auto = false;
    let now = w.now;
    w.ua(A).hold(a_b, now);
    w.run(now + 10);
    let now = w.now;
    w.ua(B).hold(b_a, now);
    w.run(now + 200);
    assert!(w.phones[B].events.iter().any(|(_, e)| matches!(
        e,
        Event::OfferFailed {
            status: Some(491),
            retrying: true,
            ..
        }
    )));
    // A's offer goes out; B's comes back after its wait; both end held.
    w.phones[A].auto = true;
    let now = w.now;
    w.ua(A).send_offer(a_b, sdp("sendonly"), now);
    w.run(now + 10_000);
    assert_eq!(w.hold(A, a_b), Some((true, true)));
    assert_eq!(w.hold(B, b_a), Some((true, true)));
}

#[test]
fn a_refused_hold_leaves_the_call_connected_and_a_481_ends_it() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    w.refuse_reinvites = Some(488);
    let now = w.now;
    w.ua(A).hold(a_b, now);
    w.run(now + 1000);
    assert!(w.phones[A].events.iter().any(|(_, e)| matches!(
        e,
        Event::OfferFailed {
            status: Some(488),
            retrying: false,
            ..
        }
    )));
    assert_eq!(w.hold(A, a_b), Some((false, false)));
    assert_eq!(w.status(A, a_b), Some(CallStatus::Connected));
    assert_eq!(w.status(B, b_a), Some(CallStatus::Connected));
    // Held after all once the far end takes it.
    w.refuse_reinvites = None;
    let now = w.now;
    w.ua(A).hold(a_b, now);
    w.run(now + 1000);
    assert_eq!(w.status(A, a_b), Some(CallStatus::Held));
    assert_eq!(w.status(B, b_a), Some(CallStatus::HeldRemote));
    // The dialog is gone at the far end: the call ends (with a BYE).
    w.refuse_reinvites = Some(481);
    let now = w.now;
    w.ua(A).resume(a_b, now);
    w.run(now + 1000);
    assert_eq!(w.ended(A, a_b), Some(Some(481)));
    assert_eq!(w.status(A, a_b), None);
    assert!(
        w.log
            .iter()
            .any(|(_, from, l)| *from == A && l.starts_with("BYE"))
    );
}

#[test]
fn at_most_max_calls_ring_and_a_held_call_ignores_hold_again() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    let now = w.now;
    w.ua(A).hold(a_b, now);
    w.ua(A).hold(a_b, now); // twice: one offer
    w.run(now + 1000);
    let offers = w.phones[A]
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::OfferNeeded { .. }))
        .count();
    assert_eq!(offers, 1);
    // Calls from C pile up at B: the ones past MAX_CALLS get busy.
    let mut ended_busy = 0;
    for _ in 0..centrala_sip::ua::MAX_CALLS {
        let now = w.now;
        let h = w.ua(C).call("102", sdp("sendrecv"), now);
        w.run(now + 500);
        if w.ended(C, h) == Some(Some(486)) {
            ended_busy += 1;
        }
    }
    assert_eq!(ended_busy, 1, "B holds MAX_CALLS calls, the next is busy");
}
