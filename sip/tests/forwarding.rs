//! Call forwarding as the user agent reports it to the web app, on plain values: the test
//! plays the gateway. A 181 with History-Info names the new target; 486, 480 and 482 end the
//! call with their status; an INVITE with Diversion says who forwarded it; a CANCEL with
//! `Reason: SIP;cause=200` ends a ringing call as answered on another device; and a REGISTER
//! refused because the device was removed or the extension is locked says so, typed.

use centrala_sip::Instant;
use centrala_sip::message::{Message, Method, Request, Response, parse_datagram};
use centrala_sip::ua::{
    CallHandle, Diversion, Event, ForwardReason, Party, Refusal, RegistrationState, UaConfig,
    UserAgent, device_id,
};

const DOMAIN: &str = "acme.example";
const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n";

struct Phone {
    ua: UserAgent,
    now: Instant,
}

impl Phone {
    fn connected(seed: u8) -> Phone {
        let mut cfg = UaConfig::new("103", DOMAIN, "pw");
        cfg.instance_id = "urn:uuid:00000000-0000-4000-8000-000000000001".into();
        let mut p = Phone {
            ua: UserAgent::new(cfg, [seed; 32]),
            now: 0,
        };
        p.ua.connected(0);
        p
    }

    /// Connected and registered.
    fn registered(seed: u8) -> Phone {
        let mut p = Phone::connected(seed);
        let reg = p.next_request(Method::Register);
        let mut ok = reg.response(200, "OK");
        ok.set_to_tag("reg");
        for c in reg.headers.all("Contact") {
            ok.headers.push("Contact", c);
        }
        p.give(&ok.to_bytes());
        assert_eq!(p.ua.registration(), &RegistrationState::Registered);
        p.events();
        p
    }

    fn give(&mut self, bytes: &[u8]) {
        self.now += 10;
        self.ua.handle_message(bytes, self.now);
    }

    fn sent(&mut self) -> Vec<Message> {
        std::iter::from_fn(|| self.ua.poll_transmit())
            .filter(|t| !t.trim().is_empty())
            .map(|t| parse_datagram(t.as_bytes()).expect("the user agent sends valid SIP"))
            .collect()
    }

    fn next_request(&mut self, method: Method) -> Request {
        self.sent()
            .into_iter()
            .find_map(|m| match m {
                Message::Request(r) if r.method == method => Some(r),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {method} sent"))
    }

    fn responses(&mut self) -> Vec<Response> {
        self.sent()
            .into_iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r),
                Message::Request(_) => None,
            })
            .collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }

    /// Calls 101: the INVITE sent, its call handle.
    fn call(&mut self) -> (CallHandle, Request) {
        let h = self.ua.call("101", SDP.into(), self.now);
        (h, self.next_request(Method::Invite))
    }

    /// An INVITE from 102 to us with `extra` headers; returns it.
    fn incoming(&mut self, branch: &str, extra: &[(&str, &str)]) -> Request {
        let mut text = format!(
            "INVITE sip:103@{DOMAIN} SIP/2.0\r\n\
             Via: SIP/2.0/WSS gw.{DOMAIN};branch=z9hG4bK{branch}\r\n\
             Max-Forwards: 69\r\n\
             From: \"Carol\" <sip:102@{DOMAIN}>;tag=c{branch}\r\n\
             To: <sip:103@{DOMAIN}>\r\n\
             Call-ID: call-{branch}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:102@gw.{DOMAIN};transport=ws>\r\n"
        );
        for (n, v) in extra {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
        text.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            SDP.len()
        ));
        self.give(text.as_bytes());
        match parse_datagram(text.as_bytes()).unwrap() {
            Message::Request(r) => r,
            _ => unreachable!(),
        }
    }

    /// The CANCEL of `invite`, with `extra` headers.
    fn cancel(&mut self, invite: &Request, extra: &[(&str, &str)]) {
        let mut text = format!("CANCEL {} SIP/2.0\r\n", invite.uri);
        for name in ["Via", "From", "To", "Call-ID"] {
            text.push_str(&format!(
                "{name}: {}\r\n",
                invite.headers.get(name).unwrap()
            ));
        }
        text.push_str("Max-Forwards: 70\r\nCSeq: 1 CANCEL\r\n");
        for (n, v) in extra {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        self.give(text.as_bytes());
    }
}

fn with_tag(mut r: Response) -> Response {
    r.set_to_tag("callee");
    r
}

fn ended(events: &[Event]) -> (Option<u16>, String, bool) {
    events
        .iter()
        .find_map(|e| match e {
            Event::Ended {
                status,
                reason,
                answered_elsewhere,
                ..
            } => Some((*status, reason.clone(), *answered_elsewhere)),
            _ => None,
        })
        .expect("the call ended")
}

#[test]
fn a_181_names_the_new_target_from_the_last_history_info_entry() {
    let mut p = Phone::registered(1);
    let (call, invite) = p.call();
    p.give(&with_tag(invite.response(180, "Ringing")).to_bytes());
    assert_eq!(p.events(), [Event::Ringing { call }]);

    let mut fwd = with_tag(invite.response(181, "Call Is Being Forwarded"));
    fwd.headers.push(
        "History-Info",
        format!("<sip:101@{DOMAIN}>;index=1, \"Bob\" <sip:102@{DOMAIN};cause=408>;index=1.1"),
    );
    p.give(&fwd.to_bytes());
    assert_eq!(
        p.events(),
        [Event::Forwarded {
            call,
            to: vec![Party {
                user: "102".into(),
                display: Some("Bob".into()),
            }],
            reason: ForwardReason::NoAnswer,
        }]
    );

    // Forwarded again, the entries in separate headers this time: the last one counts.
    let mut again = with_tag(invite.response(181, "Call Is Being Forwarded"));
    again
        .headers
        .push("History-Info", format!("<sip:101@{DOMAIN}>;index=1"));
    again.headers.push(
        "History-Info",
        format!("\"Bob\" <sip:102@{DOMAIN};cause=408>;index=1.1"),
    );
    again.headers.push(
        "History-Info",
        format!("\"Nowak, Carol\" <sip:104@{DOMAIN};cause=486>;index=1.1.1"),
    );
    p.give(&again.to_bytes());
    assert_eq!(
        p.events(),
        [Event::Forwarded {
            call,
            to: vec![Party {
                user: "104".into(),
                display: Some("Nowak, Carol".into()),
            }],
            reason: ForwardReason::Busy,
        }]
    );

    // To a group rung together, as the gateway writes it (siblings under one parent, `mp`):
    // every member, in order; the earlier hop is not one of them.
    let mut group = with_tag(invite.response(181, "Call Is Being Forwarded"));
    for h in [
        format!("<sip:101@{DOMAIN}>;index=1"),
        format!("\"Bob\" <sip:102@{DOMAIN};cause=408>;index=1.1;mp=1"),
        format!("\"\" <sip:105@{DOMAIN};cause=486>;index=1.1.1;mp=1.1"),
        format!("\"Dawid\" <sip:106@{DOMAIN};cause=486>;index=1.1.2;mp=1.1"),
    ] {
        group.headers.push("History-Info", h);
    }
    p.give(&group.to_bytes());
    assert_eq!(
        p.events(),
        [Event::Forwarded {
            call,
            to: vec![
                Party {
                    user: "105".into(),
                    display: None,
                },
                Party {
                    user: "106".into(),
                    display: Some("Dawid".into()),
                },
            ],
            reason: ForwardReason::Busy,
        }]
    );

    // A 181 without History-Info: forwarded, to someone unnamed.
    p.give(&with_tag(invite.response(181, "Call Is Being Forwarded")).to_bytes());
    assert_eq!(
        p.events(),
        [Event::Forwarded {
            call,
            to: Vec::new(),
            reason: ForwardReason::Other,
        }]
    );

    // The forwarded call is busy: a final status, in words.
    p.give(&with_tag(invite.response(486, "Busy Here")).to_bytes());
    assert_eq!(ended(&p.events()), (Some(486), "Busy".into(), false));
    assert_eq!(p.ua.active_calls(), 0);
}

#[test]
fn final_statuses_of_forwarded_calls_are_typed() {
    for (status, reason, words) in [
        (486, "Busy Here", "Busy"),
        (
            480,
            "Temporarily Unavailable (nobody is logged in)",
            "Not available: nobody is logged in on that extension",
        ),
        (
            482,
            "Loop Detected (calls to 101 are forwarded in a circle)",
            "Forwarding loop: the call could not be completed",
        ),
    ] {
        let mut p = Phone::registered(2);
        let (_, invite) = p.call();
        p.give(&with_tag(invite.response(status, reason)).to_bytes());
        assert_eq!(
            ended(&p.events()),
            (Some(status), words.to_string(), false),
            "{status}"
        );
        // The final answer is acknowledged.
        let ack = p.next_request(Method::Ack);
        assert_eq!(ack.headers.get("Call-ID"), invite.headers.get("Call-ID"));
    }
}

#[test]
fn an_invite_with_diversion_says_who_forwarded_it() {
    let mut p = Phone::registered(3);
    p.incoming(
        "d1",
        &[
            (
                "Diversion",
                "\"Anna\" <sip:101@acme.example>;reason=no-answer;counter=1",
            ),
            (
                "History-Info",
                "<sip:101@acme.example>;index=1, <sip:103@acme.example;cause=408>;index=1.1",
            ),
        ],
    );
    let events = p.events();
    let Some(Event::IncomingCall {
        from_user,
        from_display,
        diverted_from,
        ..
    }) = events.first()
    else {
        panic!("no incoming call: {events:?}");
    };
    assert_eq!(
        (from_user.as_str(), from_display.as_deref()),
        ("102", Some("Carol")),
        "the caller stays the caller"
    );
    assert_eq!(
        diverted_from,
        &Some(Diversion {
            from: Party {
                user: "101".into(),
                display: Some("Anna".into()),
            },
            reason: ForwardReason::NoAnswer,
            count: 1,
        })
    );
    assert!(p.responses().iter().any(|r| r.status == 180));
}

#[test]
fn diversion_reasons_and_chains() {
    let cases = [
        ("unconditional", ForwardReason::Always),
        ("user-busy", ForwardReason::Busy),
        ("no-answer", ForwardReason::NoAnswer),
        ("unavailable", ForwardReason::Offline),
        ("do-not-disturb", ForwardReason::DoNotDisturb),
        ("time-of-day", ForwardReason::Other),
    ];
    for (i, (reason, want)) in cases.into_iter().enumerate() {
        let mut p = Phone::registered(4);
        let diversion = format!("<sip:101@acme.example>;reason={reason}");
        p.incoming(&format!("r{i}"), &[("Diversion", &diversion)]);
        let got = p.events().into_iter().find_map(|e| match e {
            Event::IncomingCall { diverted_from, .. } => diverted_from,
            _ => None,
        });
        let d = got.expect("diverted");
        assert_eq!((d.reason, d.from.display), (want, None), "{reason}");
    }

    // Twice forwarded (101 → 104 → us): the topmost entry is the latest.
    let mut p = Phone::registered(5);
    p.incoming(
        "chain",
        &[(
            "Diversion",
            "\"Dawid\" <sip:104@acme.example>;reason=user-busy;counter=2, \"Anna\" <sip:101@acme.example>;reason=no-answer;counter=1",
        )],
    );
    let d = p
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::IncomingCall { diverted_from, .. } => diverted_from,
            _ => None,
        })
        .unwrap();
    assert_eq!(d.from.user, "104");
    assert_eq!((d.reason, d.count), (ForwardReason::Busy, 2));

    // No Diversion: History-Info's entry before ours.
    let mut p = Phone::registered(6);
    p.incoming(
        "hi",
        &[(
            "History-Info",
            "\"Anna\" <sip:101@acme.example>;index=1, <sip:103@acme.example;cause=302>;index=1.1",
        )],
    );
    let d = p
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::IncomingCall { diverted_from, .. } => diverted_from,
            _ => None,
        })
        .unwrap();
    assert_eq!(d.from.display.as_deref(), Some("Anna"));
    assert_eq!(d.reason, ForwardReason::Always);

    // A plain call: not diverted.
    let mut p = Phone::registered(7);
    p.incoming(
        "plain",
        &[("History-Info", "<sip:103@acme.example>;index=1")],
    );
    assert!(p.events().iter().any(|e| matches!(
        e,
        Event::IncomingCall {
            diverted_from: None,
            ..
        }
    )));
}

#[test]
fn a_cancel_with_reason_200_is_answered_elsewhere_not_missed() {
    let mut p = Phone::registered(8);
    let invite = p.incoming("e1", &[]);
    p.events();
    p.responses();
    p.cancel(
        &invite,
        &[("Reason", "SIP;cause=200;text=\"Call completed elsewhere\"")],
    );
    assert_eq!(
        ended(&p.events()),
        (None, "Answered on another device".into(), true)
    );
    let statuses: Vec<u16> = p.responses().iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&200) && statuses.contains(&487),
        "{statuses:?}"
    );

    // A plain CANCEL (the caller gave up): missed.
    let invite = p.incoming("e2", &[]);
    p.events();
    p.cancel(&invite, &[]);
    assert_eq!(
        ended(&p.events()),
        (None, "Missed call: the caller hung up".into(), false)
    );

    // Another protocol's cause 200, or SIP's with another cause: missed too.
    for reason in ["Q.850;cause=200", "SIP;cause=480;text=\"Away\""] {
        let invite = p.incoming(&format!("x{}", reason.len()), &[]);
        p.events();
        p.cancel(&invite, &[("Reason", reason)]);
        assert!(!ended(&p.events()).2, "{reason}");
    }
    // Several reasons in one header.
    let invite = p.incoming("e3", &[]);
    p.events();
    p.cancel(&invite, &[("Reason", "Q.850;cause=16, SIP;cause=200")]);
    assert!(ended(&p.events()).2);
}

/// The REGISTER answered with a challenge, then `status reason` to the authenticated one.
fn refuse_register(p: &mut Phone, status: u16, reason: &str) {
    let first = p.next_request(Method::Register);
    let mut ch = first.response(401, "Unauthorized");
    ch.set_to_tag("reg");
    ch.headers.push(
        "WWW-Authenticate",
        format!("Digest realm=\"{DOMAIN}\", nonce=\"n1\", qop=\"auth\", algorithm=MD5"),
    );
    p.give(&ch.to_bytes());
    let authed = p.next_request(Method::Register);
    assert!(authed.headers.get("Authorization").is_some());
    let mut no = authed.response(status, reason);
    no.set_to_tag("reg");
    p.give(&no.to_bytes());
}

#[test]
fn a_removed_device_or_a_locked_extension_is_a_typed_refusal() {
    for (reason, refusal) in [
        (
            "Forbidden (this device was removed from the account)",
            Refusal::DeviceRemoved,
        ),
        (
            "Forbidden (the extension is locked: no new devices may be added)",
            Refusal::ExtensionLocked,
        ),
        (
            "Forbidden (at most 9 devices per extension)",
            Refusal::TooManyDevices,
        ),
    ] {
        let mut p = Phone::connected(9);
        refuse_register(&mut p, 403, reason);
        assert!(
            matches!(p.ua.registration(), RegistrationState::Failed(_)),
            "{reason}"
        );
        assert_eq!(p.ua.refusal(), Some(refusal));
        assert!(!p.ua.auth_refused(), "new credentials would not help");
        let words: Vec<String> = p
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Registration(RegistrationState::Failed(w)) => Some(w),
                _ => None,
            })
            .collect();
        assert_eq!(words.len(), 1);
        assert!(!words[0].contains("password"), "{}", words[0]);
    }

    // A removed device is not registered again by the user agent on its own.
    let mut p = Phone::connected(10);
    refuse_register(
        &mut p,
        403,
        "Forbidden (this device was removed from the account)",
    );
    let until = p.now + 3_600_000;
    while let Some(t) = p.ua.poll_timeout().filter(|t| *t <= until) {
        p.ua.handle_timeout(t);
        assert!(
            !p.sent()
                .iter()
                .any(|m| matches!(m, Message::Request(r) if r.method == Method::Register)),
            "registered again at {t}"
        );
    }

    // A too-full extension is tried again a minute later (a device may have been removed).
    let mut p = Phone::connected(11);
    refuse_register(&mut p, 403, "Forbidden (at most 9 devices per extension)");
    let is_register =
        |m: &Message| matches!(m, Message::Request(r) if r.method == Method::Register);
    p.ua.handle_timeout(p.now + 30_000);
    assert!(!p.sent().iter().any(is_register));
    p.ua.handle_timeout(p.now + 60_000);
    assert!(p.sent().iter().any(is_register));

    // A plain 403 stays a credential problem, in the words the gateway tests expect.
    let mut p = Phone::connected(12);
    refuse_register(&mut p, 403, "Forbidden");
    assert_eq!(p.ua.refusal(), None);
    assert!(p.ua.auth_refused());
    assert_eq!(
        p.ua.registration(),
        &RegistrationState::Failed("Wrong extension or password".into())
    );
}

#[test]
fn the_device_id_is_the_gateways_hash_of_the_binding_key() {
    // SHA-256("<urn:uuid:00000000-0000-4000-8000-000000000001>#1"), first 8 bytes.
    let id = device_id("urn:uuid:00000000-0000-4000-8000-000000000001");
    assert_eq!(id, "8446315e79f23574");
    let p = Phone::connected(13);
    assert_eq!(p.ua.device_id(), id);
    assert_ne!(
        device_id("urn:uuid:00000000-0000-4000-8000-000000000002"),
        id
    );
    // The binding key as the REGISTER carries it.
    let mut p = Phone::connected(14);
    let reg = p.next_request(Method::Register);
    let contact = reg.headers.get("Contact").unwrap();
    assert!(
        contact.contains("+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\"")
            && contact.contains("reg-id=1"),
        "{contact}"
    );
}
