//! Several calls at once on virtual time: three user agents behind a stand-in proxy (it
//! routes requests by the Request-URI and responses by the top Via) with a fixed delay.
//! Call waiting, hold and resume by re-INVITE (RFC 6337), switching between calls, hanging
//! one up, and a glared or refused re-INVITE (RFC 3261 14.1). Blind and attended transfer
//! (REFER, RFC 3515 / 5589, with Replaces, RFC 3891), and DTMF received as SIP INFO.

use std::collections::HashMap;

use centrala_sip::Instant;
use centrala_sip::message::{Message, Method, SipMessage, parse_datagram};
use centrala_sip::ua::{CallHandle, CallStatus, Event, TransferProgress, UaConfig, UserAgent};

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
                            // As the web app: place the call a transfer asks for, and take
                            // the call that replaces one of ours without ringing.
                            Event::TransferRequested { call, .. } => {
                                p.ua.accept_transfer(*call, sdp("sendrecv"), now);
                            }
                            Event::IncomingCall {
                                call,
                                replaces: Some(_),
                                ..
                            } => p.ua.answer(*call, sdp("sendrecv"), now),
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

impl World {
    /// Every transfer step phone `who` reported for `call`.
    fn transfer_steps(&self, who: usize, call: CallHandle) -> Vec<TransferProgress> {
        self.phones[who]
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Transfer { call: c, progress } if *c == call => Some(progress.clone()),
                _ => None,
            })
            .collect()
    }

    /// Phone `who`'s newest call.
    fn newest_call(&self, who: usize) -> Option<CallHandle> {
        self.phones[who]
            .ua
            .calls()
            .iter()
            .map(|c| c.call)
            .max_by_key(|c| c.0)
    }

    /// Sends raw text to phone `to` as if from the proxy, returns what it answered.
    fn inject(&mut self, to: usize, text: &str) -> Vec<String> {
        let now = self.now;
        self.phones[to]
            .ua
            .handle_message(text.replace('\n', "\r\n").as_bytes(), now);
        let mut out = Vec::new();
        while let Some(t) = self.phones[to].ua.poll_transmit() {
            out.push(t);
        }
        out
    }

    /// How many `method` requests phone `who` sent.
    fn sent(&self, who: usize, method: &str) -> usize {
        self.log
            .iter()
            .filter(|(_, f, line)| *f == who && line.starts_with(method))
            .count()
    }
}

#[test]
fn blind_transfer_the_caller_rings_the_target_and_the_transferor_is_free() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    // B holds A, then transfers A to 103.
    let now = w.now;
    w.ua(B).hold(b_a, now);
    w.run(now + 500);
    let now = w.now;
    assert!(w.ua(B).transfer(b_a, "103", now));
    assert_eq!(w.status(B, b_a), Some(CallStatus::Transferring));
    assert!(!w.ua(B).transfer(b_a, "103", now), "one transfer at a time");
    w.run(now + 500);
    // A was asked (and, as the web app does, called C); C rings.
    assert!(w.phones[A].events.iter().any(|(_, e)| matches!(
        e,
        Event::TransferRequested { call, target, replacing: false } if *call == a_b && target.user == "103"
    )));
    let c_a = w.phones[C]
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::IncomingCall {
                call,
                from_user,
                replaces: None,
                ..
            } if from_user == "101" => Some(*call),
            _ => None,
        })
        .expect("the caller rings the target");
    assert_eq!(
        w.transfer_steps(B, b_a),
        [
            TransferProgress::Requested,
            TransferProgress::Accepted,
            TransferProgress::Ringing,
            TransferProgress::Done
        ]
    );
    // B is free as soon as C rings: its call with A is over (BYE), A's too.
    assert!(w.ua(B).calls().is_empty(), "{:?}", w.ua(B).calls());
    assert!(w.ended(A, a_b).is_some());
    let a_c = w.newest_call(A).unwrap();
    assert_eq!(w.status(A, a_c), Some(CallStatus::RingingOut));
    // C answers: A and C talk.
    w.answer(C, c_a);
    assert_eq!(w.status(A, a_c), Some(CallStatus::Connected));
    assert_eq!(w.status(C, c_a), Some(CallStatus::Connected));
    assert_eq!(w.ua(A).calls().len(), 1);
}

#[test]
fn attended_transfer_connects_caller_and_colleague_and_both_transferor_calls_end() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    // B consults C: calling holds A.
    let (b_c, c_b) = w.call(B, C);
    w.answer(C, c_b);
    assert_eq!(w.status(B, b_a), Some(CallStatus::Held));
    assert_eq!(w.status(B, b_c), Some(CallStatus::Connected));
    // Complete: A is asked to call C in place of B's consultation.
    let now = w.now;
    assert!(!w.ua(B).transfer_to_call(b_a, b_a, now), "not with itself");
    assert!(w.ua(B).transfer_to_call(b_a, b_c, now));
    w.run(now + 1000);
    assert!(w.phones[A].events.iter().any(|(_, e)| matches!(
        e,
        Event::TransferRequested { replacing: true, target, .. } if target.user == "103"
    )));
    // C took A's call in place of B's without ringing, and hung up on B.
    let c_a = w.phones[C]
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::IncomingCall {
                call,
                replaces: Some(r),
                waiting: false,
                ..
            } if *r == c_b => Some(*call),
            _ => None,
        })
        .expect("an INVITE with Replaces");
    assert_eq!(w.status(C, c_a), Some(CallStatus::Connected));
    assert!(w.ended(C, c_b).is_some());
    let a_c = w.newest_call(A).unwrap();
    assert_eq!(w.status(A, a_c), Some(CallStatus::Connected));
    assert!(w.ended(A, a_b).is_some(), "the transferred call ends");
    assert_eq!(w.ua(A).calls().len(), 1);
    assert_eq!(w.ua(C).calls().len(), 1);
    // B is free: both its calls are over.
    assert!(w.ua(B).calls().is_empty(), "{:?}", w.ua(B).calls());
    assert_eq!(
        w.transfer_steps(B, b_a).last(),
        Some(&TransferProgress::Done)
    );
}

#[test]
fn a_cancelled_consultation_returns_to_the_caller() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    let (b_c, c_b) = w.call(B, C);
    w.answer(C, c_b);
    let now = w.now;
    w.ua(B).hangup(b_c, now);
    w.run(now + 500);
    let now = w.now;
    w.ua(B).resume(b_a, now);
    w.run(now + 1000);
    assert_eq!(w.status(B, b_a), Some(CallStatus::Connected));
    assert_eq!(w.status(A, a_b), Some(CallStatus::Connected));
    assert!(w.ended(C, c_b).is_some());
}

#[test]
fn a_failed_blind_transfer_leaves_the_call_to_the_transferor() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    let now = w.now;
    w.ua(B).hold(b_a, now);
    w.run(now + 500);
    // Nobody answers at 104: the stand-in proxy drops the INVITE, A's call times out (408).
    let now = w.now;
    assert!(w.ua(B).transfer(b_a, "104", now));
    w.run(now + 40_000);
    let steps = w.transfer_steps(B, b_a);
    assert!(
        matches!(
            steps.last(),
            Some(TransferProgress::Failed {
                status: Some(408),
                ..
            })
        ),
        "{steps:?}"
    );
    assert_eq!(w.status(B, b_a), Some(CallStatus::Held), "B still has A");
    assert_eq!(w.status(A, a_b), Some(CallStatus::HeldRemote));
    // And can transfer again, or resume.
    let now = w.now;
    w.ua(B).resume(b_a, now);
    w.run(now + 1000);
    assert_eq!(w.status(A, a_b), Some(CallStatus::Connected));
}

#[test]
fn refers_and_replaces_from_the_network_are_checked() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    // A REFER in a dialog A does not have: 481.
    let stray = "REFER sip:x@y SIP/2.0\nVia: SIP/2.0/WS p.invalid;branch=z9hG4bKs1\nMax-Forwards: 70\nTo: <sip:101@example.com>;tag=nope\nFrom: <sip:102@example.com>;tag=nope2\nCall-ID: nope\nCSeq: 5 REFER\nRefer-To: <sip:103@example.com>\nContent-Length: 0\n\n";
    let out = w.inject(A, stray);
    assert!(out.iter().any(|m| m.starts_with("SIP/2.0 481")), "{out:?}");
    assert_eq!(w.status(A, a_b), Some(CallStatus::Connected));
    // An INVITE replacing a call A does not have (a guessed Call-ID): 481, nothing rings.
    let replace = "INVITE sip:101@example.com SIP/2.0\nVia: SIP/2.0/WS p.invalid;branch=z9hG4bKs2\nMax-Forwards: 70\nTo: <sip:101@example.com>\nFrom: <sip:666@example.com>;tag=evil\nCall-ID: evil\nCSeq: 1 INVITE\nContact: <sip:666@p.invalid>\nReplaces: guessed;to-tag=a;from-tag=b\nContent-Type: application/sdp\nContent-Length: 4\n\nv=0\n";
    let before = w.phones[A].events.len();
    let out = w.inject(A, replace);
    assert!(out.iter().any(|m| m.starts_with("SIP/2.0 481")), "{out:?}");
    w.pump();
    assert!(
        !w.phones[A].events[before..]
            .iter()
            .any(|(_, e)| matches!(e, Event::IncomingCall { .. })),
        "nothing rings"
    );
    // B (the real far end) asks for a transfer while A's own transfer of that call is under
    // way: 491; A's transfer is B's to answer.
    let now = w.now;
    assert!(w.ua(A).transfer(a_b, "103", now));
    assert!(w.ua(B).transfer(b_a, "103", now));
    w.run(now + 1000);
    let a_steps = w.transfer_steps(A, a_b);
    let b_steps = w.transfer_steps(B, b_a);
    let refused = |s: &[TransferProgress]| {
        s.iter().any(|p| {
            matches!(
                p,
                TransferProgress::Failed {
                    status: Some(491),
                    ..
                }
            )
        })
    };
    assert!(
        refused(&a_steps) && refused(&b_steps),
        "crossing REFERs both get 491: {a_steps:?} {b_steps:?}"
    );
    assert_eq!(w.sent(A, "REFER"), 1);
}

#[test]
fn dtmf_sent_as_info_is_reported_at_the_far_end() {
    let mut w = World::new();
    let (a_b, b_a) = w.call(A, B);
    w.answer(B, b_a);
    let now = w.now;
    for d in ['1', '#', '*', '9'] {
        assert!(w.ua(A).send_dtmf_info(a_b, d, now));
    }
    assert!(!w.ua(A).send_dtmf_info(a_b, 'x', now), "not a key");
    w.run(now + 500);
    let got: String = w.phones[B]
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Dtmf { call, digit } if *call == b_a => Some(*digit),
            _ => None,
        })
        .collect();
    assert_eq!(got, "1#*9");
    assert_eq!(w.sent(A, "INFO"), 4);
}
