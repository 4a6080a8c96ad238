//! The user agent's directory subscription (RFC 6665 subscriber of an RFC 4662 list) on
//! virtual time: the test plays the gateway, reading what the user agent sends and
//! answering it, and steps the clock to the user agent's deadlines.

use centrala_sip::Instant;
use centrala_sip::digest::{Credentials, ha1};
use centrala_sip::message::{Message, Method, Request, Response, SipMessage, parse_datagram};
use centrala_sip::presence::{ListNotify, ListResource, Presence, Status, list_notify};
use centrala_sip::ua::{Event, RegistrationState, UaConfig, UserAgent};

const DOMAIN: &str = "acme.example";
const SERVER_CONTACT: &str = "<sip:directory@gw.acme.example;transport=ws>";

struct Phone {
    ua: UserAgent,
    now: Instant,
    branch: u32,
}

impl Phone {
    /// A user agent, connected and registered at time 0.
    fn registered() -> Phone {
        let mut p = Phone {
            ua: UserAgent::new(UaConfig::new("101", DOMAIN, "pw"), [4; 32]),
            now: 0,
            branch: 0,
        };
        p.ua.connected(0);
        let reg = p.next_request(Method::Register);
        p.answer_register(&reg);
        assert_eq!(p.ua.registration(), &RegistrationState::Registered);
        p.events();
        p
    }

    fn answer_register(&mut self, reg: &Request) {
        let mut ok = reg.response(200, "OK");
        ok.set_to_tag("reg");
        for c in reg.headers.all("Contact") {
            ok.headers.push("Contact", c);
        }
        self.ua.handle_message(&ok.to_bytes(), self.now);
    }

    /// Everything the user agent sent since last asked (keepalives left out).
    fn sent(&mut self) -> Vec<Message> {
        std::iter::from_fn(|| self.ua.poll_transmit())
            .filter(|t| !t.trim().is_empty())
            .map(|t| parse_datagram(t.as_bytes()).expect("the user agent sends valid SIP"))
            .collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }

    /// The one request of `method` the user agent sent (REGISTER refreshes are answered).
    fn next_request(&mut self, method: Method) -> Request {
        let mut found = None;
        for m in self.sent() {
            match m {
                Message::Request(r) if r.method == method && found.is_none() => found = Some(r),
                Message::Request(r) if r.method == Method::Register => self.answer_register(&r),
                other => panic!("unexpected {other:?}"),
            }
        }
        found.unwrap_or_else(|| panic!("no {method} sent"))
    }

    /// The user agent's responses to what we just gave it.
    fn responses(&mut self) -> Vec<Response> {
        self.sent()
            .into_iter()
            .map(|m| match m {
                Message::Response(r) => r,
                Message::Request(r) => panic!("unexpected request {}", r.method),
            })
            .collect()
    }

    fn deliver(&mut self, bytes: Vec<u8>) {
        self.ua.handle_message(&bytes, self.now);
    }

    /// Steps the clock deadline by deadline up to `until`, answering REGISTER refreshes;
    /// returns the first SUBSCRIBE sent on the way, with its time.
    fn run_to_subscribe(&mut self, until: Instant) -> Option<(Instant, Request)> {
        while let Some(t) = self.ua.poll_timeout() {
            if t > until {
                break;
            }
            self.now = self.now.max(t);
            self.ua.handle_timeout(self.now);
            for m in self.sent() {
                match m {
                    Message::Request(r) if r.method == Method::Register => self.answer_register(&r),
                    Message::Request(r) if r.method == Method::Subscribe => {
                        return Some((self.now, r));
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        self.now = self.now.max(until);
        None
    }

    /// A NOTIFY from the gateway in the subscription `sub` made, From tag `tag`.
    fn notify(
        &mut self,
        sub: &Request,
        tag: &str,
        cseq: u32,
        state: &str,
        body: Option<(&str, &str)>,
    ) -> Vec<u8> {
        self.branch += 1;
        let contact = sub.headers.get("Contact").unwrap();
        let uri = contact.trim_start_matches('<').trim_end_matches('>');
        let mut text = format!(
            "NOTIFY {uri} SIP/2.0\r\n\
             Via: SIP/2.0/WSS gw.acme.example;branch=z9hG4bKn{}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:directory@{DOMAIN}>;tag={tag}\r\n\
             To: {}\r\n\
             Call-ID: {}\r\n\
             CSeq: {cseq} NOTIFY\r\n\
             Contact: {SERVER_CONTACT}\r\n\
             Event: presence\r\n\
             Subscription-State: {state}\r\n",
            self.branch,
            sub.headers.get("From").unwrap(),
            sub.call_id().unwrap(),
        );
        match body {
            Some((ct, b)) => text.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            )),
            None => text.push_str("Content-Length: 0\r\n\r\n"),
        }
        text.into_bytes()
    }
}

/// The gateway's 2xx to a SUBSCRIBE, To tag `tag`.
fn accepted(sub: &Request, tag: &str, expires: u32) -> Vec<u8> {
    let mut ok = sub.response(200, "OK");
    ok.set_to_tag(tag);
    ok.headers.push("Contact", SERVER_CONTACT);
    ok.headers.push("Expires", expires.to_string());
    ok.to_bytes()
}

fn person(ext: &str, status: Status) -> ListResource {
    let uri = format!("sip:{ext}@{DOMAIN}");
    ListResource {
        uri: uri.clone(),
        name: Some(format!("Person {ext}")),
        presence: Some(Presence {
            entity: uri,
            status,
            note: None,
        }),
        terminated: false,
    }
}

fn full_list() -> ListNotify {
    ListNotify {
        uri: format!("sip:directory@{DOMAIN}"),
        version: 0,
        full_state: true,
        resources: vec![
            person("101", Status::Available),
            person("102", Status::InCall),
        ],
    }
}

/// Subscribes and has the gateway accept (To tag "gw", Expires 600) and send the full list.
fn subscribed(p: &mut Phone) -> Request {
    p.ua.subscribe_directory(p.now);
    let sub = p.next_request(Method::Subscribe);
    p.deliver(accepted(&sub, "gw", 600));
    let (ct, body) = list_notify(&full_list(), "b1");
    let n = p.notify(&sub, "gw", 1, "active;expires=600", Some((&ct, &body)));
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 200);
    assert_eq!(p.events(), vec![Event::Presence(full_list())]);
    sub
}

#[test]
fn subscribe_answers_a_challenge_and_the_full_notify_becomes_an_event() {
    let mut p = Phone::registered();
    p.now = 100;
    p.ua.subscribe_directory(p.now);
    let first = p.next_request(Method::Subscribe);
    assert_eq!(first.uri.to_string(), format!("sip:directory@{DOMAIN}"));
    assert_eq!(first.headers.get("Event"), Some("presence"));
    let accept: Vec<_> = first.headers.all("Accept").collect();
    for t in [
        "application/pidf+xml",
        "application/rlmi+xml",
        "multipart/related",
    ] {
        assert!(accept.iter().any(|a| a.contains(t)), "{accept:?}");
    }
    assert_eq!(first.headers.get("Supported"), Some("eventlist"));
    assert_eq!(first.expires(), Some(600));
    assert!(first.to_tag().is_none());
    assert!(first.from_tag().is_some());
    assert!(
        first
            .headers
            .get("From")
            .unwrap()
            .contains(&format!("sip:101@{DOMAIN}"))
    );
    let contact = first.headers.get("Contact").unwrap();
    assert!(contact.contains(";transport=ws;ob"), "{contact}");
    assert!(first.headers.get("Authorization").is_none());

    let mut challenge = first.response(407, "Proxy Authentication Required");
    challenge.set_to_tag("auth");
    challenge.headers.push(
        "Proxy-Authenticate",
        format!("Digest realm=\"{DOMAIN}\", nonce=\"n7\", qop=\"auth\", algorithm=MD5"),
    );
    p.deliver(challenge.to_bytes());
    let second = p.next_request(Method::Subscribe);
    assert_eq!(second.call_id(), first.call_id());
    assert_eq!(second.from_tag(), first.from_tag());
    assert_eq!(second.cseq().unwrap().seq, first.cseq().unwrap().seq + 1);
    assert_ne!(second.branch(), first.branch());
    let creds = Credentials::parse(second.headers.get("Proxy-Authorization").unwrap()).unwrap();
    assert_eq!(creds.username, "101");
    assert!(creds.verify("SUBSCRIBE", &ha1(creds.algorithm, "101", DOMAIN, "pw")));

    p.deliver(accepted(&second, "gw", 600));
    assert!(p.events().is_empty(), "the NOTIFY brings the state");
    assert!(p.sent().is_empty());

    let (ct, body) = list_notify(&full_list(), "b1");
    let n = p.notify(&second, "gw", 1, "active;expires=600", Some((&ct, &body)));
    p.deliver(n);
    let r = p.responses();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, 200);
    assert_eq!(p.events(), vec![Event::Presence(full_list())]);
}

#[test]
fn a_partial_notify_with_a_terminated_resource_is_passed_on() {
    let mut p = Phone::registered();
    let sub = subscribed(&mut p);
    let partial = ListNotify {
        uri: format!("sip:directory@{DOMAIN}"),
        version: 1,
        full_state: false,
        resources: vec![
            person("102", Status::Available),
            ListResource {
                uri: format!("sip:109@{DOMAIN}"),
                name: None,
                presence: None,
                terminated: true,
            },
        ],
    };
    let (ct, body) = list_notify(&partial, "b2");
    let n = p.notify(&sub, "gw", 2, "active;expires=590", Some((&ct, &body)));
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 200);
    assert_eq!(p.events(), vec![Event::Presence(partial)]);
    // A bare PIDF body is read as a one-person list.
    let pidf = centrala_sip::presence::pidf(&Presence {
        entity: format!("sip:103@{DOMAIN}"),
        status: Status::Away,
        note: None,
    });
    let n = p.notify(
        &sub,
        "gw",
        3,
        "active",
        Some(("application/pidf+xml", &pidf)),
    );
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 200);
    match &p.events()[..] {
        [Event::Presence(l)] => {
            assert_eq!(
                l.resources[0].presence.as_ref().unwrap().status,
                Status::Away
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_subscription_is_refreshed_in_its_dialog_at_two_thirds_of_the_granted_expiry() {
    let mut p = Phone::registered();
    p.now = 1_000;
    p.ua.subscribe_directory(p.now);
    let sub = p.next_request(Method::Subscribe);
    p.deliver(accepted(&sub, "gw", 300));
    let (at, refresh) = p.run_to_subscribe(1_000_000).expect("a refresh");
    assert_eq!(at, 1_000 + 200_000);
    assert_eq!(refresh.to_tag().as_deref(), Some("gw"));
    assert_eq!(refresh.from_tag(), sub.from_tag());
    assert_eq!(refresh.call_id(), sub.call_id());
    assert_eq!(
        refresh.uri.to_string(),
        "sip:directory@gw.acme.example;transport=ws"
    );
    assert!(refresh.cseq().unwrap().seq > sub.cseq().unwrap().seq);
    assert_eq!(refresh.expires(), Some(600));
    assert_eq!(refresh.headers.get("Event"), Some("presence"));
    // The server grants less this time: the next refresh comes sooner.
    p.deliver(accepted(&refresh, "gw", 90));
    let (at2, again) = p.run_to_subscribe(2_000_000).expect("another refresh");
    assert_eq!(at2, at + 60_000);
    assert!(again.cseq().unwrap().seq > refresh.cseq().unwrap().seq);
    assert!(p.events().is_empty());
}

#[test]
fn a_notify_before_the_2xx_is_taken_and_makes_the_dialog() {
    let mut p = Phone::registered();
    p.ua.subscribe_directory(p.now);
    let sub = p.next_request(Method::Subscribe);
    let (ct, body) = list_notify(&full_list(), "early");
    let n = p.notify(&sub, "gw", 1, "active;expires=600", Some((&ct, &body)));
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 200);
    assert_eq!(p.events(), vec![Event::Presence(full_list())]);
    p.deliver(accepted(&sub, "gw", 600));
    let (_, refresh) = p.run_to_subscribe(1_000_000).expect("a refresh");
    assert_eq!(refresh.to_tag().as_deref(), Some("gw"));
}

#[test]
fn notifies_for_no_subscription_of_ours_get_481() {
    let mut p = Phone::registered();
    // No subscription at all.
    let mut fake = Request::new(
        Method::Subscribe,
        centrala_sip::Uri::sip(Some("directory"), DOMAIN),
    );
    fake.headers.push("From", "<sip:101@acme.example>;tag=mine");
    fake.headers.push("Call-ID", "nope");
    fake.headers
        .push("Contact", "<sip:x@y.invalid;transport=ws>");
    let n = p.notify(&fake, "gw", 1, "active", None);
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 481);

    let sub = subscribed(&mut p);
    // Our Call-ID, a To tag that is not ours.
    let mut wrong_to = sub.clone();
    wrong_to
        .headers
        .set("From", format!("<sip:101@{DOMAIN}>;tag=someone-else"));
    let n = p.notify(&wrong_to, "gw", 5, "active", None);
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 481);
    // The dialog is made: another From tag (a forked notifier) is not it.
    let n = p.notify(&sub, "other", 5, "active", None);
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 481);
    // Another Call-ID.
    let mut other_call = sub.clone();
    other_call.headers.set("Call-ID", "elsewhere");
    let n = p.notify(&other_call, "gw", 5, "active", None);
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 481);
    assert!(p.events().is_empty());
    // The real dialog still works.
    let n = p.notify(&sub, "gw", 6, "active", None);
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 200);
}

#[test]
fn a_body_that_does_not_parse_gets_400_with_a_reason_and_no_event() {
    let mut p = Phone::registered();
    let sub = subscribed(&mut p);
    for (i, (ct, body)) in [
        ("application/pidf+xml", "<presence><tuple></presence>"),
        ("multipart/related;boundary=x", "--x\r\nno end"),
        ("text/plain", "hello"),
    ]
    .into_iter()
    .enumerate()
    {
        let n = p.notify(&sub, "gw", 2 + i as u32, "active", Some((ct, body)));
        p.deliver(n);
        let r = p.responses();
        assert_eq!(r[0].status, 400);
        assert!(r[0].reason.len() > "Bad Request".len(), "{}", r[0].reason);
        assert!(p.events().is_empty());
    }
    // The subscription is still there.
    let (ct, body) = list_notify(&full_list(), "b9");
    let n = p.notify(&sub, "gw", 10, "active", Some((&ct, &body)));
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 200);
    assert_eq!(p.events().len(), 1);
}

#[test]
fn a_terminated_subscription_is_reported_and_made_again_after_retry_after() {
    let mut p = Phone::registered();
    let sub = subscribed(&mut p);
    p.now = 10_000;
    let n = p.notify(
        &sub,
        "gw",
        2,
        "terminated;reason=deactivated;retry-after=90",
        None,
    );
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 200);
    match &p.events()[..] {
        [Event::PresenceLost { reason }] => assert!(reason.contains("deactivated"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let (at, again) = p.run_to_subscribe(1_000_000).expect("a new subscription");
    assert_eq!(at, 100_000);
    assert!(again.to_tag().is_none(), "a new dialog");
    assert_ne!(again.call_id(), sub.call_id());
    assert_ne!(again.from_tag(), sub.from_tag());
    // Without retry-after: 30 s.
    p.deliver(accepted(&again, "gw2", 600));
    let n = p.notify(&again, "gw2", 1, "terminated;reason=timeout", None);
    p.deliver(n);
    p.responses();
    assert_eq!(p.events().len(), 1);
    let (at2, _) = p.run_to_subscribe(1_000_000).expect("a new subscription");
    assert_eq!(at2, at + 30_000);
}

#[test]
fn a_refused_or_lost_refresh_and_a_refused_subscribe_are_retried() {
    let mut p = Phone::registered();
    subscribed(&mut p);
    let (at, refresh) = p.run_to_subscribe(1_000_000).expect("a refresh");
    p.deliver(
        refresh
            .response(481, "Subscription Does Not Exist")
            .to_bytes(),
    );
    assert!(matches!(&p.events()[..], [Event::PresenceLost { .. }]));
    let (at2, fresh) = p.run_to_subscribe(10_000_000).expect("a new subscription");
    assert_eq!(at2, at + 30_000);
    assert!(fresh.to_tag().is_none());
    // Refused outright, with a Retry-After.
    let mut no = fresh.response(403, "Forbidden");
    no.headers.push("Retry-After", "120");
    p.deliver(no.to_bytes());
    match &p.events()[..] {
        [Event::PresenceLost { reason }] => assert!(reason.contains("403"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let (at3, unanswered) = p.run_to_subscribe(10_000_000).expect("again");
    assert_eq!(at3, at2 + 120_000);
    // Never answered: Timer F, then lost and retried.
    let (at4, _) = p.run_to_subscribe(10_000_000).expect("after the timeout");
    assert!(matches!(&p.events()[..], [Event::PresenceLost { .. }]));
    assert_eq!(at4, at3 + 32_000 + 30_000);
    let _ = unanswered;
}

#[test]
fn unsubscribe_sends_expires_0_and_the_final_notify_ends_it_quietly() {
    let mut p = Phone::registered();
    let sub = subscribed(&mut p);
    p.now = 5_000;
    p.ua.unsubscribe_directory(p.now);
    let bye = p.next_request(Method::Subscribe);
    assert_eq!(bye.expires(), Some(0));
    assert_eq!(bye.to_tag().as_deref(), Some("gw"));
    assert_eq!(bye.call_id(), sub.call_id());
    p.deliver(accepted(&bye, "gw", 0));
    let n = p.notify(&sub, "gw", 2, "terminated;reason=timeout", None);
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 200);
    assert!(p.events().is_empty());
    assert!(!p.ua.directory_subscribed());
    assert!(
        p.run_to_subscribe(5_000_000).is_none(),
        "nothing more after unsubscribing"
    );
}

#[test]
fn unsubscribing_while_the_subscribe_is_under_way_ends_it_once_accepted() {
    let mut p = Phone::registered();
    p.ua.subscribe_directory(p.now);
    let sub = p.next_request(Method::Subscribe);
    p.ua.unsubscribe_directory(p.now);
    assert!(p.sent().is_empty());
    p.deliver(accepted(&sub, "gw", 600));
    let bye = p.next_request(Method::Subscribe);
    assert_eq!(bye.expires(), Some(0));
    assert_eq!(bye.to_tag().as_deref(), Some("gw"));
    p.deliver(accepted(&bye, "gw", 0));
    // No final NOTIFY: forgotten after a while, and no new subscription.
    assert!(p.run_to_subscribe(5_000_000).is_none());
    assert!(!p.ua.directory_subscribed());
    assert!(p.events().is_empty());
}

#[test]
fn after_a_reconnect_the_directory_is_subscribed_again_by_itself() {
    let mut p = Phone::registered();
    let sub = subscribed(&mut p);
    p.ua.disconnected();
    match &p.events()[..] {
        [
            Event::Registration(RegistrationState::Unregistered),
            Event::PresenceLost { .. },
        ]
        | [
            Event::PresenceLost { .. },
            Event::Registration(RegistrationState::Unregistered),
        ] => {}
        other => panic!("{other:?}"),
    }
    // Registered again: subscribed at once.
    p.now = 50_000;
    p.ua.connected(p.now);
    let reg = p.next_request(Method::Register);
    p.answer_register(&reg);
    let again = p.next_request(Method::Subscribe);
    assert_ne!(again.call_id(), sub.call_id());
    assert!(again.to_tag().is_none());
    // The old dialog's NOTIFYs are not ours any more.
    let n = p.notify(&sub, "gw", 9, "active", None);
    p.deliver(n);
    assert_eq!(p.responses()[0].status, 481);

    // Not registered (yet): 5 s after connecting at the latest.
    p.deliver(accepted(&again, "gw3", 600));
    p.ua.disconnected();
    p.events();
    p.now = 100_000;
    p.ua.connected(p.now);
    let _unanswered_register = p.next_request(Method::Register);
    let (at, _) = p.run_to_subscribe(1_000_000).expect("subscribed");
    assert_eq!(at, 105_000);
}

#[test]
fn without_subscribe_directory_nothing_is_subscribed() {
    let mut p = Phone::registered();
    assert!(p.run_to_subscribe(2_000_000).is_none());
    p.ua.disconnected();
    p.ua.connected(2_000_000);
    p.now = 2_000_000;
    let reg = p.next_request(Method::Register);
    p.answer_register(&reg);
    assert!(p.sent().is_empty());
    assert!(p.run_to_subscribe(3_000_000).is_none());
}
