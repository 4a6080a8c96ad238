//! Transactions and user agents on virtual time over a simulated network: loss, delay,
//! reordering. No sockets, no sleeps: the test steps to the next deadline.

use centrala_sip::Instant;
use centrala_sip::message::{Message, Method, Request, SipMessage, Uri, parse_datagram};
use centrala_sip::rng::Rng;
use centrala_sip::transaction::{Output, TimerConfig, Transactions};
use centrala_sip::ua::{Event, UaConfig, UserAgent};

/// A one-way link: delay, jitter (which reorders), and loss by a rule or a rate.
struct Link {
    base_delay: u64,
    jitter: u64,
    loss_rate: u32, // percent
    rng: Rng,
    in_flight: Vec<(Instant, u64, Vec<u8>)>,
    seq: u64,
    sent: Vec<(Instant, String)>,
}

impl Link {
    fn new(base_delay: u64, jitter: u64, loss_rate: u32, seed: u64) -> Link {
        Link {
            base_delay,
            jitter,
            loss_rate,
            rng: Rng::new({
                let mut s = [0u8; 32];
                s[..8].copy_from_slice(&seed.to_le_bytes());
                s
            }),
            in_flight: Vec::new(),
            seq: 0,
            sent: Vec::new(),
        }
    }
    fn send(&mut self, now: Instant, bytes: Vec<u8>, drop: bool) {
        let first_line = String::from_utf8_lossy(&bytes)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        self.sent.push((now, first_line));
        if drop || (self.loss_rate > 0 && (self.rng.next_u64() % 100) < u64::from(self.loss_rate)) {
            return;
        }
        let jitter = if self.jitter > 0 {
            self.rng.next_u64() % self.jitter
        } else {
            0
        };
        self.seq += 1;
        self.in_flight
            .push((now + self.base_delay + jitter, self.seq, bytes));
    }
    fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.iter().map(|(t, _, _)| *t).min()
    }
    fn deliver(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut due: Vec<_> = self
            .in_flight
            .iter()
            .filter(|(t, _, _)| *t <= now)
            .cloned()
            .collect();
        self.in_flight.retain(|(t, _, _)| *t > now);
        due.sort_by_key(|(t, s, _)| (*t, *s));
        due.into_iter().map(|(_, _, b)| b).collect()
    }
}

fn options(branch: &str) -> Request {
    request(Method::Options, branch)
}

fn request(method: Method, branch: &str) -> Request {
    let mut r = Request::new(method.clone(), Uri::sip(Some("b"), "example.com"));
    r.headers
        .push("Via", format!("SIP/2.0/UDP a.example.com;branch={branch}"));
    r.headers.push("From", "<sip:a@example.com>;tag=1");
    r.headers.push("To", "<sip:b@example.com>");
    r.headers.push("Call-ID", "call-1");
    r.headers.push("CSeq", format!("1 {method}"));
    r.headers.push("Max-Forwards", "70");
    r
}

/// Collects what a transaction layer transmits and tells its user.
fn drain(tx: &mut Transactions<()>) -> (Vec<Message>, Vec<Output<()>>) {
    let mut sent = Vec::new();
    let mut events = Vec::new();
    while let Some(o) = tx.poll() {
        match o {
            Output::Transmit { message, .. } => sent.push(message),
            Output::TransmitResponse { response, .. } => {
                let message = centrala_sip::message::parse_datagram(&response.bytes)
                    .expect("a response we made parses");
                assert!(matches!(&message, Message::Response(r) if r.status == response.status));
                sent.push(message)
            }
            other => events.push(other),
        }
    }
    (sent, events)
}

#[test]
fn non_invite_retransmits_on_timer_e_until_the_response_arrives() {
    let t = TimerConfig::default();
    let mut client: Transactions<()> = Transactions::new(t);
    let mut server: Transactions<()> = Transactions::new(t);
    let mut link = Link::new(20, 0, 0, 1);
    let mut back = Link::new(20, 0, 0, 2);
    let mut now = 0;
    client.send_request(options("z9hG4bKopt1"), (), false, now);
    let mut drops: u32 = 2; // the first two copies are lost
    let mut got = None;
    while now < 40_000 && got.is_none() {
        client.handle_timeout(now);
        server.handle_timeout(now);
        for m in drain(&mut client).0 {
            link.send(now, m.to_bytes(), drops > 0);
            drops = drops.saturating_sub(1);
        }
        for b in link.deliver(now) {
            server.receive_unreliable(parse_datagram(&b).unwrap(), (), now);
        }
        let (sent, events) = drain(&mut server);
        for m in sent {
            back.send(now, m.to_bytes(), false);
        }
        for e in events {
            if let Output::Request { key, request, .. } = e {
                server.send_response(&key, request.response(200, "OK"), now);
            }
        }
        for m in drain(&mut server).0 {
            back.send(now, m.to_bytes(), false);
        }
        for b in back.deliver(now) {
            client.receive(parse_datagram(&b).unwrap(), (), now);
        }
        for e in drain(&mut client).1 {
            if let Output::Response { response, .. } = e {
                got = Some((now, response.status));
            }
        }
        now = [
            client.poll_timeout(),
            server.poll_timeout(),
            link.next_delivery(),
            back.next_delivery(),
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > now)
        .min()
        .unwrap_or(now + 1);
    }
    let sends: Vec<u64> = link.sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(sends, vec![0, 500, 1500], "Timer E doubles from T1");
    assert_eq!(got, Some((1540, 200)));
}

#[test]
fn non_invite_times_out_with_timer_f_and_caps_retransmissions_at_t2() {
    let mut client: Transactions<()> = Transactions::new(TimerConfig::default());
    let mut now = 0;
    client.send_request(options("z9hG4bKlost"), (), false, now);
    let mut sends = Vec::new();
    let mut timeout_at = None;
    while timeout_at.is_none() && now <= 40_000 {
        let (sent, events) = drain(&mut client);
        sends.extend(sent.iter().map(|_| now));
        if events.iter().any(|e| matches!(e, Output::Timeout { .. })) {
            timeout_at = Some(now);
        }
        match client.poll_timeout() {
            Some(t) => {
                now = t;
                client.handle_timeout(now);
            }
            None => break,
        }
    }
    assert_eq!(timeout_at, Some(32_000), "Timer F = 64*T1");
    assert_eq!(
        &sends[..6],
        &[0, 500, 1500, 3500, 7500, 11_500],
        "then every T2"
    );
    assert_eq!(*sends.last().unwrap(), 31_500);
    assert!(client.is_empty());
}

#[test]
fn reliable_transport_never_retransmits_but_still_times_out() {
    let mut client: Transactions<()> = Transactions::new(TimerConfig::default());
    client.send_request(request(Method::Invite, "z9hG4bKrel"), (), true, 0);
    assert_eq!(drain(&mut client).0.len(), 1);
    assert_eq!(client.poll_timeout(), Some(32_000), "only Timer B is armed");
    client.handle_timeout(32_000);
    let (sent, events) = drain(&mut client);
    assert!(sent.is_empty());
    assert!(matches!(events[..], [Output::Timeout { .. }]));
}

#[test]
fn a_stateless_challenge_keeps_no_transaction_and_a_retransmission_is_answered_again() {
    let mut server: Transactions<()> = Transactions::new(TimerConfig::default());
    let register = request(Method::Register, "z9hG4bKch");
    for round in 0..2 {
        server.receive_unreliable(Message::Request(register.clone()), (), round * 500);
        let (_, events) = drain(&mut server);
        let Some(Output::Request { key, request, .. }) = events.into_iter().next() else {
            panic!("round {round}: the REGISTER reaches the user");
        };
        let mut challenge = request.response(401, "Unauthorized");
        challenge.set_to_tag("t1");
        server.send_response_stateless(&key, challenge, round * 500);
        let (sent, _) = drain(&mut server);
        assert!(
            matches!(&sent[..], [Message::Response(r)] if r.status == 401
                && r.to_tag().as_deref() == Some("t1")),
            "round {round}: the challenge goes out once"
        );
        assert!(server.is_empty(), "round {round}: no Timer J state is kept");
        assert_eq!(server.poll_timeout(), None);
    }
    // An INVITE keeps its transaction: the ACK for the 407 must be absorbed.
    server.receive_unreliable(
        Message::Request(request(Method::Invite, "z9hG4bKinv")),
        (),
        0,
    );
    let (_, events) = drain(&mut server);
    let Some(Output::Request { key, request, .. }) = events.into_iter().next() else {
        panic!("the INVITE reaches the user");
    };
    server.send_response_stateless(
        &key,
        request.response(407, "Proxy Authentication Required"),
        0,
    );
    assert_eq!(drain(&mut server).0.len(), 1);
    assert_eq!(server.len(), 1, "the INVITE transaction waits for its ACK");
}

#[test]
fn invite_server_retransmits_a_failure_until_the_ack_and_the_client_acks_each_copy() {
    let t = TimerConfig::default();
    let mut client: Transactions<()> = Transactions::new(t);
    let mut server: Transactions<()> = Transactions::new(t);
    let invite = request(Method::Invite, "z9hG4bKinv");
    client.send_request(invite, (), false, 0);
    let (sent, _) = drain(&mut client);
    server.receive_unreliable(sent[0].clone(), (), 10);
    let (_, ev) = drain(&mut server);
    let Output::Request { key, request, .. } = ev[0].clone() else {
        panic!("request expected")
    };
    let mut busy = request.response(486, "Busy Here");
    busy.set_to_tag("x");
    server.send_response(&key, busy, 10);
    let first = drain(&mut server).0;
    assert_eq!(first.len(), 1);
    // The 486 is lost; Timer G resends it at 10 + T1.
    assert_eq!(server.poll_timeout(), Some(510));
    server.handle_timeout(510);
    let again = drain(&mut server).0;
    assert_eq!(again.len(), 1);
    client.receive(again[0].clone(), (), 520);
    let (acks, events) = drain(&mut client);
    assert!(
        matches!(&acks[0], Message::Request(r) if r.method == Method::Ack && r.branch().as_deref() == Some("z9hG4bKinv"))
    );
    assert!(matches!(&events[0], Output::Response { response, .. } if response.status == 486));
    // A duplicate 486 makes the client ACK again, without telling its user twice.
    client.receive(again[0].clone(), (), 530);
    let (acks2, events2) = drain(&mut client);
    assert_eq!(acks2.len(), 1);
    assert!(events2.is_empty());
    // The ACK reaches the server: no more retransmissions, no NoAck.
    server.receive_unreliable(acks[0].clone(), (), 540);
    let mut now = 540;
    while let Some(t) = server.poll_timeout() {
        now = t;
        server.handle_timeout(now);
        let (sent, events) = drain(&mut server);
        assert!(sent.is_empty(), "no retransmission after the ACK");
        assert!(events.is_empty());
    }
    assert!(now <= 540 + t.t4, "Timer I ends the transaction");
    assert!(server.is_empty());
}

#[test]
fn invite_server_without_ack_reports_timer_h() {
    let mut server: Transactions<()> = Transactions::new(TimerConfig::default());
    server.receive_unreliable(
        Message::Request(request(Method::Invite, "z9hG4bKnoack")),
        (),
        0,
    );
    let Output::Request { key, request, .. } = drain(&mut server).1.remove(0) else {
        panic!()
    };
    server.send_response(&key, request.response(480, "Temporarily Unavailable"), 0);
    let mut copies = drain(&mut server).0.len();
    let mut no_ack = None;
    while let Some(t) = server.poll_timeout() {
        server.handle_timeout(t);
        let (sent, events) = drain(&mut server);
        copies += sent.len();
        if events.iter().any(|e| matches!(e, Output::NoAck { .. })) {
            no_ack = Some(t);
        }
    }
    assert_eq!(no_ack, Some(32_000));
    // 0, .5, 1.5, 3.5, 7.5, then every 4 s up to 31.5.
    assert_eq!(copies, 11);
}

/// Two user agents and a stand-in registrar (which answers REGISTER with 200) over a lossy,
/// reordering network on virtual time.
struct World {
    a: UserAgent,
    b: UserAgent,
    ab: Link,
    ba: Link,
    now: Instant,
    a_events: Vec<Event>,
    b_events: Vec<Event>,
}

impl World {
    fn new(delay: u64, jitter: u64) -> World {
        let mut a = UserAgent::new(UaConfig::new("101", "example.com", "pw-a"), [11; 32]);
        let mut b = UserAgent::new(UaConfig::new("102", "example.com", "pw-b"), [22; 32]);
        a.connected(0);
        b.connected(0);
        World {
            a,
            b,
            ab: Link::new(delay, jitter, 0, 5),
            ba: Link::new(delay, jitter, 0, 6),
            now: 0,
            a_events: Vec::new(),
            b_events: Vec::new(),
        }
    }

    fn pump(
        ua: &mut UserAgent,
        link: &mut Link,
        now: Instant,
        events: &mut Vec<Event>,
    ) -> Vec<String> {
        let mut registers = Vec::new();
        while let Some(t) = ua.poll_transmit() {
            if t.starts_with("REGISTER") {
                registers.push(t);
            } else if !t.trim().is_empty() {
                link.send(now, t.into_bytes(), false);
            }
        }
        while let Some(e) = ua.poll_event() {
            events.push(e);
        }
        registers
    }

    fn registrar(ua: &mut UserAgent, registers: Vec<String>, now: Instant) {
        for r in registers {
            if let Ok(Message::Request(req)) = parse_datagram(r.as_bytes()) {
                let mut ok = req.response(200, "OK");
                ok.set_to_tag("reg");
                for c in req.headers.all("Contact") {
                    ok.headers.push("Contact", c);
                }
                ua.handle_message(&ok.to_bytes(), now);
            }
        }
    }

    /// Runs until `until` (virtual ms), delivering, firing timers.
    fn run(&mut self, until: Instant) {
        loop {
            let ra = Self::pump(&mut self.a, &mut self.ab, self.now, &mut self.a_events);
            Self::registrar(&mut self.a, ra, self.now);
            let rb = Self::pump(&mut self.b, &mut self.ba, self.now, &mut self.b_events);
            Self::registrar(&mut self.b, rb, self.now);
            let ra = Self::pump(&mut self.a, &mut self.ab, self.now, &mut self.a_events);
            Self::registrar(&mut self.a, ra, self.now);
            for m in self.ab.deliver(self.now) {
                self.b.handle_message(&m, self.now);
            }
            for m in self.ba.deliver(self.now) {
                self.a.handle_message(&m, self.now);
            }
            if self.a.poll_timeout().is_some_and(|t| t <= self.now) {
                self.a.handle_timeout(self.now);
            }
            if self.b.poll_timeout().is_some_and(|t| t <= self.now) {
                self.b.handle_timeout(self.now);
            }
            let ra = Self::pump(&mut self.a, &mut self.ab, self.now, &mut self.a_events);
            Self::registrar(&mut self.a, ra, self.now);
            let rb = Self::pump(&mut self.b, &mut self.ba, self.now, &mut self.b_events);
            Self::registrar(&mut self.b, rb, self.now);
            let next = [
                self.a.poll_timeout(),
                self.b.poll_timeout(),
                self.ab.next_delivery(),
                self.ba.next_delivery(),
            ]
            .into_iter()
            .flatten()
            .filter(|t| *t > self.now)
            .min();
            let pending = self.ab.next_delivery().is_some_and(|t| t <= self.now)
                || self.ba.next_delivery().is_some_and(|t| t <= self.now);
            match next {
                _ if pending => {}
                Some(t) if t <= until => self.now = t,
                _ => break,
            }
        }
        self.now = until;
    }
}

fn call_between(world: &mut World) -> (centrala_sip::ua::CallHandle, centrala_sip::ua::CallHandle) {
    let now = world.now;
    let ca = world.a.call("102", "v=0\r\n".into(), now);
    world.run(now + 1000);
    let cb = world
        .b_events
        .iter()
        .find_map(|e| match e {
            Event::IncomingCall { call, .. } => Some(*call),
            _ => None,
        })
        .expect("B rings");
    (ca, cb)
}

#[test]
fn call_answer_and_bye_over_a_jittery_network() {
    let mut w = World::new(30, 40);
    w.run(100);
    let (ca, cb) = call_between(&mut w);
    assert!(
        w.a_events.contains(&Event::Ringing { call: ca }),
        "{:?} {:?}",
        w.a_events,
        w.ba.sent
    );
    let now = w.now;
    w.b.answer(cb, "v=0\r\nanswer\r\n".into(), now);
    w.run(now + 1000);
    assert!(w.a_events.contains(&Event::Answered {
        call: ca,
        sdp: "v=0\r\nanswer\r\n".into()
    }));
    assert!(w.b_events.contains(&Event::Connected { call: cb }));
    let now = w.now;
    w.a.hangup(ca, now);
    w.run(now + 1000);
    assert!(
        w.b_events
            .iter()
            .any(|e| matches!(e, Event::Ended { call, .. } if *call == cb))
    );
    assert_eq!(w.a.active_calls() + w.b.active_calls(), 0);
}

#[test]
fn cancel_crossing_the_answer_ends_with_a_bye() {
    let mut w = World::new(50, 0);
    w.run(100);
    let (ca, cb) = call_between(&mut w);
    // A hangs up and B answers at the same instant: the CANCEL and the 200 cross.
    let now = w.now;
    w.a.hangup(ca, now);
    w.b.answer(cb, "v=0\r\n".into(), now);
    w.run(now + 5000);
    assert!(
        w.a_events
            .iter()
            .any(|e| matches!(e, Event::Ended { call, .. } if *call == ca))
    );
    // B saw the call connect (its 200 won) and then end by A's BYE.
    let b_ended = w.b_events.iter().any(|e| matches!(e, Event::Ended { call, reason, .. } if *call == cb && reason == "The other side hung up"));
    assert!(b_ended, "{:?}", w.b_events);
    assert_eq!(w.a.active_calls() + w.b.active_calls(), 0);
}

#[test]
fn answer_is_retransmitted_until_the_ack_arrives() {
    let mut w = World::new(10, 0);
    w.run(100);
    let (_ca, cb) = call_between(&mut w);
    // Everything from A to B is lost for a while: B's 200 gets no ACK and is resent.
    w.ab.loss_rate = 100;
    let now = w.now;
    w.b.answer(cb, "v=0\r\n".into(), now);
    w.run(now + 2000);
    let oks =
        w.ba.sent
            .iter()
            .filter(|(t, l)| *t >= now && l.starts_with("SIP/2.0 200"))
            .count();
    assert!(oks >= 3, "200 OK resent on T1, 2*T1...: {oks}");
    w.ab.loss_rate = 0;
    w.run(w.now + 8000);
    assert!(
        w.b_events.contains(&Event::Connected { call: cb }),
        "{:?}",
        w.b_events
    );
}

#[test]
fn unanswered_2xx_is_given_up_with_a_bye_after_64_t1() {
    let mut w = World::new(10, 0);
    w.run(100);
    let (_ca, cb) = call_between(&mut w);
    w.ab.loss_rate = 100;
    let now = w.now;
    w.b.answer(cb, "v=0\r\n".into(), now);
    w.run(now + 40_000);
    assert!(
        w.b_events
            .iter()
            .any(|e| matches!(e, Event::Ended { call, .. } if *call == cb))
    );
    assert!(w.ba.sent.iter().any(|(_, l)| l.starts_with("BYE")));
}
