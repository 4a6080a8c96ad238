//! Personal call routing on virtual time: forwarding rules, ring strategies, loops, devices
//! (lock, removal, credentials). Uses the `World` of `tests.rs`.

use std::sync::Arc;

use crate::forwarding::{Cause, NoAnswer, Routing, Strategy, Target};

use super::tests::{DOMAIN, Dest, World, password};
use super::*;

fn ext(e: &str) -> Target {
    Target::Extension { ext: e.into() }
}

fn set(w: &mut World, who: &str, r: Routing) {
    w.users.get_mut(who).unwrap().routing = Arc::new(r);
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: who.into(),
            drop: Registrations::Keep,
        },
        w.now,
    );
}

fn statuses(r: &[Response]) -> Vec<u16> {
    r.iter().map(|r| r.status).collect()
}

fn invite_at(w: &mut World, flow: u64) -> Request {
    w.requests(Dest::Flow(flow))
        .into_iter()
        .find(|r| r.method == Method::Invite)
        .unwrap_or_else(|| panic!("an INVITE rings flow {flow}"))
}

#[test]
fn no_answer_forwards_after_n_seconds_keeping_the_caller_and_saying_from_whom() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    w.register(3, "103");
    set(
        &mut w,
        "102",
        Routing {
            no_answer: Some(NoAnswer {
                after_secs: 5,
                target: ext("103"),
            }),
            ..Routing::default()
        },
    );
    assert_eq!(statuses(&w.call(1, "101", "102", "na")), [100]);
    let inv2 = invite_at(&mut w, 2);
    w.answer_invite(2, &inv2, 180, "d2");
    w.responses(Dest::Flow(1));
    w.advance(4_999);
    assert!(w.requests(Dest::Flow(3)).is_empty(), "103 waits its turn");
    w.advance(2);
    let cancel = w.requests(Dest::Flow(2)).pop().expect("102 stops ringing");
    assert_eq!(cancel.method, Method::Cancel);
    let got = w.responses(Dest::Flow(1));
    assert_eq!(statuses(&got), [181], "the caller hears of the forwarding");
    let hi: Vec<&str> = got[0].headers.all("History-Info").collect();
    assert_eq!(hi.len(), 2, "{hi:?}");
    assert!(
        hi[1].contains("\"User 103\" <sip:103@d.example;cause=408>;index=1.1"),
        "{hi:?}"
    );
    let inv3 = invite_at(&mut w, 3);
    assert!(inv3.uri.to_string().contains("c3.invalid"));
    let div = inv3.headers.get("Diversion").expect("Diversion");
    assert!(
        div.contains("<sip:102@d.example>;reason=no-answer"),
        "{div}"
    );
    assert!(
        inv3.headers.get("From").unwrap().contains("sip:101@"),
        "the caller stays"
    );
    assert!(
        inv3.headers
            .get("P-Asserted-Identity")
            .unwrap()
            .contains("101"),
        "the caller's identity stays"
    );
    // 102's 487 does not end the call; 103 answers it.
    w.answer_invite(2, &inv2, 487, "d2");
    assert!(statuses(&w.responses(Dest::Flow(1))).is_empty());
    w.answer_invite(3, &inv3, 200, "d3");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [200]);
}

#[test]
fn a_forwarded_call_is_recorded_for_both_and_ring_out_is_480() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    w.register(3, "103");
    set(
        &mut w,
        "102",
        Routing {
            no_answer: Some(NoAnswer {
                after_secs: 5,
                target: ext("103"),
            }),
            ..Routing::default()
        },
    );
    w.call(1, "101", "102", "rec");
    let inv2 = invite_at(&mut w, 2);
    w.answer_invite(2, &inv2, 180, "d2");
    w.advance(5_001);
    let inv3 = invite_at(&mut w, 3);
    w.answer_invite(3, &inv3, 180, "d3");
    w.answer_invite(2, &inv2, 487, "d2");
    // 103 has no rule: it rings for the full ring time, then the caller hears 480.
    w.advance(RING_TIMEOUT_MS + 1);
    let cancel = w.requests(Dest::Flow(3)).pop().expect("103 cancelled");
    assert_eq!(cancel.method, Method::Cancel);
    w.answer_invite(3, &inv3, 487, "d3");
    let last = w.responses(Dest::Flow(1)).pop().unwrap();
    assert_eq!(last.status, 480, "{}", last.reason);
    let rec = w.records.last().expect("a record");
    assert_eq!(rec.callee_ext.as_deref(), Some("103"));
    assert_eq!(rec.diverted_from.as_deref(), Some("102"));
    assert_eq!(rec.diversion, Some(Cause::NoAnswer));
    assert_eq!(rec.outcome, Outcome::Missed);
    assert_eq!(w.core.stats().proxy_contexts, 0);
}

#[test]
fn busy_and_declined_forward_on_busy() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    w.register(3, "103");
    set(
        &mut w,
        "102",
        Routing {
            busy: Some(ext("103")),
            ..Routing::default()
        },
    );
    for (call, status) in [("busy1", 486), ("busy2", 603)] {
        w.call(1, "101", "102", call);
        let inv2 = invite_at(&mut w, 2);
        w.answer_invite(2, &inv2, status, "d2");
        assert_eq!(statuses(&w.responses(Dest::Flow(1))), [181], "{status}");
        let inv3 = invite_at(&mut w, 3);
        assert!(
            inv3.headers
                .get("Diversion")
                .unwrap()
                .contains("reason=user-busy"),
            "{status}"
        );
        w.answer_invite(3, &inv3, 200, "d3");
        assert_eq!(statuses(&w.responses(Dest::Flow(1))), [200]);
    }
    // Without the rule, busy is busy.
    set(&mut w, "102", Routing::default());
    w.call(1, "101", "102", "busy3");
    let inv2 = invite_at(&mut w, 2);
    w.answer_invite(2, &inv2, 486, "d2");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [486]);
    assert!(w.requests(Dest::Flow(3)).is_empty());
}

#[test]
fn offline_always_and_do_not_disturb_forward_at_once() {
    let mut w = World::new();
    for f in [1, 3] {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(3, "103");
    // 102 has no device: the offline rule.
    set(
        &mut w,
        "102",
        Routing {
            offline: Some(ext("103")),
            ..Routing::default()
        },
    );
    assert_eq!(statuses(&w.call(1, "101", "102", "off")), [100, 181]);
    let inv3 = invite_at(&mut w, 3);
    assert!(
        inv3.headers
            .get("Diversion")
            .unwrap()
            .contains("reason=unavailable")
    );
    w.answer_invite(3, &inv3, 486, "d3");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [486]);
    // Without it, nobody is logged in.
    set(&mut w, "102", Routing::default());
    let got = w.call(1, "101", "102", "off2");
    assert_eq!(got.last().unwrap().status, 480);
    // Always: 104's own devices do not ring.
    w.connect(4);
    w.register(4, "104");
    set(
        &mut w,
        "104",
        Routing {
            always: Some(ext("103")),
            ..Routing::default()
        },
    );
    assert_eq!(statuses(&w.call(1, "101", "104", "alw")), [100, 181]);
    assert!(w.requests(Dest::Flow(4)).is_empty());
    let inv3 = invite_at(&mut w, 3);
    assert!(
        inv3.headers
            .get("Diversion")
            .unwrap()
            .contains("reason=unconditional")
    );
    w.answer_invite(3, &inv3, 486, "d3");
    w.responses(Dest::Flow(1));
    // Do not disturb or away with the unavailable rule: forwarded; DND without: busy.
    set(
        &mut w,
        "104",
        Routing {
            unavailable: Some(ext("103")),
            ..Routing::default()
        },
    );
    for (choice, call) in [(Choice::Away, "away"), (Choice::Dnd, "dnd")] {
        w.core.handle(
            Input::PresenceChoice {
                company: 1,
                ext: "104".into(),
                choice,
            },
            w.now,
        );
        assert_eq!(
            statuses(&w.call(1, "101", "104", call)),
            [100, 181],
            "{choice:?}"
        );
        assert!(w.requests(Dest::Flow(4)).is_empty(), "{choice:?}");
        let inv3 = invite_at(&mut w, 3);
        assert!(
            inv3.headers
                .get("Diversion")
                .unwrap()
                .contains("do-not-disturb")
        );
        w.answer_invite(3, &inv3, 486, "d3");
        w.responses(Dest::Flow(1));
    }
    set(&mut w, "104", Routing::default());
    let got = w.call(1, "101", "104", "dnd-busy");
    assert_eq!(got.last().unwrap().status, 486);
    // Voicemail without its service (and outside numbers without a trunk): the rule is
    // skipped.
    set(
        &mut w,
        "104",
        Routing {
            unavailable: Some(Target::Voicemail),
            ..Routing::default()
        },
    );
    let got = w.call(1, "101", "104", "vm");
    assert_eq!(got.last().unwrap().status, 486);
}

#[test]
fn forwarding_loops_end_with_482_instead_of_spinning() {
    let mut w = World::new();
    for f in 1..=4 {
        w.connect(f);
    }
    for (f, e) in [(1, "101"), (2, "102"), (3, "103"), (4, "104")] {
        w.register(f, e);
    }
    set(
        &mut w,
        "102",
        Routing {
            always: Some(ext("103")),
            ..Routing::default()
        },
    );
    set(
        &mut w,
        "103",
        Routing {
            always: Some(ext("102")),
            ..Routing::default()
        },
    );
    let got = w.call(1, "101", "102", "loop1");
    let last = got.last().unwrap();
    assert_eq!(last.status, 482, "{}", last.reason);
    assert!(last.reason.contains("Loop"), "{}", last.reason);
    assert!(w.requests(Dest::Flow(2)).is_empty() && w.requests(Dest::Flow(3)).is_empty());
    // A longer one, on no answer: 102 → 103 → 104 → 102.
    let na = |t: &str| Routing {
        no_answer: Some(NoAnswer {
            after_secs: 5,
            target: ext(t),
        }),
        ..Routing::default()
    };
    set(&mut w, "102", na("103"));
    set(&mut w, "103", na("104"));
    set(&mut w, "104", na("102"));
    w.call(1, "101", "102", "loop2");
    let mut invites = Vec::new();
    for f in [2, 3, 4] {
        let inv = invite_at(&mut w, f);
        w.answer_invite(f, &inv, 180, "x");
        invites.push((f, inv));
        w.advance(5_001);
    }
    for (f, inv) in &invites {
        w.answer_invite(*f, inv, 487, "x");
    }
    let last = w.responses(Dest::Flow(1)).pop().unwrap();
    assert_eq!(last.status, 482, "{}", last.reason);
    assert!(
        w.requests(Dest::Flow(2))
            .iter()
            .all(|r| r.method != Method::Invite),
        "102 does not ring again"
    );
    assert_eq!(w.core.stats().proxy_contexts, 0);
}

#[test]
fn a_group_rings_together_and_the_first_answer_takes_it() {
    let mut w = World::new();
    for f in 1..=4 {
        w.connect(f);
    }
    for (f, e) in [(1, "101"), (2, "102"), (3, "103"), (4, "104")] {
        w.register(f, e);
    }
    set(
        &mut w,
        "102",
        Routing {
            busy: Some(Target::Group {
                exts: vec!["103".into(), "104".into()],
            }),
            ..Routing::default()
        },
    );
    w.call(1, "101", "102", "grp");
    let inv2 = invite_at(&mut w, 2);
    w.answer_invite(2, &inv2, 486, "d2");
    let got = w.responses(Dest::Flow(1));
    assert_eq!(statuses(&got), [181]);
    assert_eq!(got[0].headers.all("History-Info").count(), 3);
    let inv3 = invite_at(&mut w, 3);
    let inv4 = invite_at(&mut w, 4);
    w.answer_invite(4, &inv4, 200, "d4");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [200]);
    // The record names who answered (104), and whom it was forwarded from.
    w.core.handle(Input::Closed { flow: FlowId(1) }, w.now);
    w.step();
    let rec = w.records.last().expect("recorded when the caller left");
    assert_eq!(rec.callee_ext.as_deref(), Some("104"));
    assert_eq!(rec.diverted_from.as_deref(), Some("102"));
    assert_eq!(rec.diversion, Some(Cause::Busy));
    assert_eq!(rec.outcome, Outcome::Answered);
    let cancel = w.requests(Dest::Flow(3));
    assert!(cancel.is_empty() || cancel[0].method == Method::Cancel);
    let _ = inv3;
}

#[test]
fn a_forward_to_a_group_skips_members_on_do_not_disturb() {
    let mut w = World::new();
    for f in 1..=4 {
        w.connect(f);
    }
    for (f, e) in [(1, "101"), (2, "102"), (3, "103"), (4, "104")] {
        w.register(f, e);
    }
    set(
        &mut w,
        "102",
        Routing {
            always: Some(Target::Group {
                exts: vec!["103".into(), "104".into()],
            }),
            ..Routing::default()
        },
    );
    w.choose("103", Choice::Dnd);
    w.call(1, "101", "102", "gd1");
    assert!(w.requests(Dest::Flow(3)).is_empty(), "103 is not disturbed");
    let inv4 = invite_at(&mut w, 4);
    w.answer_invite(4, &inv4, 200, "d4");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))).last(), Some(&200));

    w.choose("104", Choice::Dnd);
    let got = w.call(1, "101", "102", "gd2");
    let last = got.last().unwrap();
    assert_eq!(last.status, 486, "{}", last.reason);
    assert!(last.reason.contains("do not disturb"), "{}", last.reason);
    assert!(w.requests(Dest::Flow(3)).is_empty());
    assert!(w.requests(Dest::Flow(4)).is_empty());
}

#[test]
fn default_first_rings_the_default_device_alone_then_the_rest() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    w.register(3, "102");
    let id = w.core.devices(1, "102", w.now)[1].id.clone();
    assert_eq!(w.core.devices(1, "102", w.now).len(), 2);
    w.users.get_mut("102").unwrap().default_device = Some(id.as_str().into());
    set(
        &mut w,
        "102",
        Routing {
            strategy: Strategy::DefaultFirst,
            ring_first_secs: 5,
            ..Routing::default()
        },
    );
    w.call(1, "101", "102", "df");
    let first: Vec<u64> = [2, 3]
        .into_iter()
        .filter(|f| !w.requests(Dest::Flow(*f)).is_empty())
        .collect();
    assert_eq!(first.len(), 1, "only the default device rings first");
    let default_flow = first[0];
    let other = if default_flow == 2 { 3 } else { 2 };
    w.advance(4_999);
    assert!(w.requests(Dest::Flow(other)).is_empty());
    w.advance(2);
    let inv = invite_at(&mut w, other);
    w.answer_invite(other, &inv, 200, "o");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [200]);
    // The default device is cancelled, told it was answered elsewhere.
    let cancel = w.requests(Dest::Flow(default_flow));
    assert!(cancel.iter().all(|c| c.method == Method::Cancel));
}

#[test]
fn other_devices_hear_the_call_was_completed_elsewhere() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    w.register(3, "102");
    w.call(1, "101", "102", "else");
    let inv2 = invite_at(&mut w, 2);
    let inv3 = invite_at(&mut w, 3);
    w.answer_invite(2, &inv2, 180, "d2");
    w.answer_invite(3, &inv3, 180, "d3");
    w.answer_invite(2, &inv2, 200, "d2");
    let cancel = w.requests(Dest::Flow(3)).pop().expect("CANCEL");
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(
        cancel.headers.get("Reason"),
        Some("SIP;cause=200;text=\"Call completed elsewhere\"")
    );
}

#[test]
fn a_locked_extension_keeps_its_devices_and_refuses_new_ones() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "102");
    w.users.get_mut("102").unwrap().locked = true;
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: "102".into(),
            drop: Registrations::Keep,
        },
        w.now,
    );
    w.register(1, "102"); // a refresh goes on
    let r = w.register_with(
        Dest::Flow(2),
        "102",
        "<sip:102x2@c2.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 403);
    assert!(r.reason.contains("locked"), "{}", r.reason);
    assert_eq!(w.core.devices(1, "102", w.now).len(), 1);
    // A device it had when locked comes back (a reloaded tab): allowed; others still not.
    let kept = w.core.devices(1, "102", w.now)[0].id.clone();
    w.users.get_mut("102").unwrap().locked_devices = vec![kept.into()];
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: "102".into(),
            drop: Registrations::Keep,
        },
        w.now,
    );
    w.close(1);
    assert!(w.core.devices(1, "102", w.now).is_empty());
    w.connect(3);
    let r = w.register_with(
        Dest::Flow(3),
        "102",
        "<sip:102x1@c1.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 200, "the kept device: {}", r.reason);
    let r = w.register_with(
        Dest::Flow(2),
        "102",
        "<sip:102x2@c2.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 403, "a new one: {}", r.reason);
}

#[test]
fn a_removed_device_is_closed_and_refused_until_it_comes_back_as_a_new_one() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "102");
    w.register(2, "102");
    let devices = w.core.devices(1, "102", w.now);
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].transport, "ws");
    assert!(!w.core.remove_device(1, "102", "0000000000000000", w.now));
    assert!(
        !w.core.remove_device(2, "102", &devices[1].id, w.now),
        "another company"
    );
    assert!(w.core.remove_device(1, "102", &devices[1].id, w.now));
    w.step();
    assert_eq!(w.closed, [2], "its connection is closed so it notices");
    assert_eq!(w.core.devices(1, "102", w.now).len(), 1);
    // It comes back on a new connection with the same contact: refused, saying why.
    let r = w.register_with(
        Dest::Flow(3),
        "102",
        "<sip:102x2@c2.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 403);
    assert!(r.reason.contains("removed"), "{}", r.reason);
    // After the block, it may register again.
    w.advance(devices::REMOVED_FOR_MS + 1);
    w.connect(4);
    let r = w.register_with(
        Dest::Flow(4),
        "102",
        "<sip:102x2@c2.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 200, "{}", r.reason);
}

#[test]
fn a_device_credential_registers_under_its_name_and_survives_renumbering() {
    use centrala_sip::digest::{Algorithm, ha1};
    let mut w = World::new();
    w.connect(1);
    let login = "dk3m9x2qa7";
    let cred = |ext: &str| {
        let mut u = w_user(ext);
        u.login = Some(login.into());
        u.ha1_md5 = Some(ha1(Algorithm::Md5, login, DOMAIN, &password(login)));
        u.ha1_sha256 = Some(ha1(Algorithm::Sha256, login, DOMAIN, &password(login)));
        u
    };
    w.users.insert(login.into(), cred("102"));
    let r = w.register_with(
        Dest::Flow(1),
        login,
        "<sip:desk@c1.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 200, "{}", r.reason);
    let d = w.core.devices(1, "102", w.now);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].credential.as_deref(), Some(login));
    // The credential may not register another extension.
    w.connect(2);
    let r = register_as(&mut w, 2, login, "103");
    assert_eq!(r.status, 403, "{}", r.reason);
    assert!(w.core.devices(1, "103", w.now).is_empty());
    // 102 becomes 105: the phone's next REGISTER lands on 105.
    w.users.insert(login.into(), cred("105"));
    w.core.handle(
        Input::AccountChanged {
            company: 1,
            ext: "102".into(),
            drop: Registrations::All,
        },
        w.now,
    );
    w.step();
    let r = w.register_with(
        Dest::Flow(1),
        login,
        "<sip:desk@c1.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 200, "{}", r.reason);
    assert!(w.core.devices(1, "102", w.now).is_empty());
    assert_eq!(w.core.devices(1, "105", w.now).len(), 1);
    // Removed from the devices page: the phone is refused even when it restarts with a new
    // contact (the credential is what it keeps).
    let id = w.core.devices(1, "105", w.now)[0].id.clone();
    assert!(w.core.remove_device(1, "105", &id, w.now));
    let r = w.register_with(
        Dest::Flow(1),
        login,
        "<sip:desk-new@c1.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 403);
    assert!(r.reason.contains("removed"), "{}", r.reason);
    // Revoked: the device goes at once and the credential is refused.
    w.users.remove(login);
    w.core.credential_revoked(1, "105", login, w.now);
    w.step();
    assert!(w.core.devices(1, "105", w.now).is_empty());
    let r = w.register_with(
        Dest::Flow(1),
        login,
        "<sip:desk@c1.invalid;transport=ws>",
        600,
    );
    assert_eq!(r.status, 401);
}

fn w_user(e: &str) -> SipUser {
    super::tests::user(e)
}

/// Registers with `login`'s credentials for the extension `to` (To header).
fn register_as(w: &mut World, flow: u64, login: &str, to: &str) -> Response {
    use centrala_sip::digest::{Challenge, Credentials};
    let contact = format!("<sip:x@c{flow}.invalid;transport=ws>");
    let fix = |t: String| t.replace(&format!("To: <sip:{login}@"), &format!("To: <sip:{to}@"));
    let text = fix(w.register_text(Dest::Flow(flow), login, &contact, 600, ""));
    w.send(Dest::Flow(flow), &text);
    let r = w.responses(Dest::Flow(flow)).pop().unwrap();
    let ch = Challenge::pick(r.headers.all("WWW-Authenticate")).unwrap();
    let creds = Credentials::answer(
        &ch,
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        login,
        &password(login),
        "c",
        1,
    );
    let text = fix(w.register_text(
        Dest::Flow(flow),
        login,
        &contact,
        600,
        &format!("Authorization: {creds}\n"),
    ));
    w.send(Dest::Flow(flow), &text);
    w.responses(Dest::Flow(flow)).pop().unwrap()
}

/// Sends `method` within the dialog of call `cA` from `flow` (101 is the caller, tag tcA;
/// 102 the callee, tag b1); returns whether the other side got it.
fn in_dialog(w: &mut World, flow: u64, method: &str, cseq: u32, extra: &str) -> Option<Request> {
    let (uri, from, to) = if flow == 2 {
        (
            "sip:101@c1.invalid;transport=ws",
            format!("<sip:102@{DOMAIN}>;tag=b1"),
            format!("<sip:101@{DOMAIN}>;tag=tcA"),
        )
    } else {
        (
            "sip:callee@c2.invalid;transport=ws",
            format!("<sip:101@{DOMAIN}>;tag=tcA"),
            format!("<sip:102@{DOMAIN}>;tag=b1"),
        )
    };
    let text = format!(
        "{method} {uri} SIP/2.0\nVia: SIP/2.0/WSS c{flow}.invalid;branch=z9hG4bKid{method}{cseq}{flow}\nMax-Forwards: 70\nTo: {to}\nFrom: {from}\nCall-ID: cA\nCSeq: {cseq} {method}\n{extra}Content-Length: 0\n\n"
    );
    w.send(Dest::Flow(flow), &text);
    let other = if flow == 2 { 1 } else { 2 };
    w.requests(Dest::Flow(other))
        .into_iter()
        .find(|r| r.method.as_str() == method)
}

#[test]
fn re_invite_update_info_refer_and_notify_pass_within_a_call_and_only_between_its_sides() {
    let mut w = World::new();
    for f in 1..=3 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    w.register(3, "103");
    w.call(1, "101", "102", "cA");
    let inv = invite_at(&mut w, 2);
    let mut ok = inv.response(200, "OK");
    ok.set_to_tag("b1");
    ok.headers
        .push("Record-Route", inv.headers.get("Record-Route").unwrap());
    ok.headers
        .push("Contact", "<sip:callee@c2.invalid;transport=ws>");
    w.send(Dest::Flow(2), &String::from_utf8(ok.to_bytes()).unwrap());
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [200]);
    // Hold from the callee (re-INVITE), DTMF as INFO, a session refresh (UPDATE), a blind
    // transfer (REFER) and its progress (NOTIFY), each way.
    let cases = [
        (2, "INVITE", ""),
        (1, "INFO", "Content-Type: application/dtmf-relay\n"),
        (2, "UPDATE", ""),
        (
            2,
            "REFER",
            "Refer-To: <sip:103@d.example>\nReferred-By: <sip:102@d.example>\n",
        ),
        (
            1,
            "NOTIFY",
            "Event: refer\nSubscription-State: active;expires=60\n",
        ),
    ];
    for (i, (flow, method, extra)) in cases.into_iter().enumerate() {
        let got = in_dialog(&mut w, flow, method, 10 + i as u32, extra);
        let got = got.unwrap_or_else(|| panic!("{method} from {flow} reaches the other side"));
        assert!(
            got.headers.get("P-Asserted-Identity").is_none(),
            "no identity from a client within a dialog"
        );
        if method == "REFER" {
            assert!(got.headers.get("Refer-To").unwrap().contains("103"));
        }
    }
    // A REFER sending the caller out of the company (another domain, a tel: or http: URI)
    // is refused here, with a reason; one without a Refer-To is a bad request.
    for (n, (extra, status)) in [
        ("Refer-To: <sip:900@evil.example>\n", 403),
        ("Refer-To: <tel:+48221234567>\n", 403),
        ("Refer-To: <https://evil.example/x>\n", 403),
        ("", 400),
    ]
    .into_iter()
    .enumerate()
    {
        let got = in_dialog(&mut w, 2, "REFER", 40 + n as u32, extra);
        assert!(got.is_none(), "{extra}: not forwarded");
        let r = w.responses(Dest::Flow(2)).pop().expect("an answer");
        assert_eq!(r.status, status, "{extra}: {}", r.reason);
        if status == 403 {
            assert!(r.reason.contains("this company"), "{}", r.reason);
        }
    }
    // The callee's re-INVITE is answered by the caller; the callee's ACK reaches the caller.
    let ack = in_dialog(&mut w, 2, "ACK", 10, "");
    assert!(
        ack.is_some(),
        "the ACK of the callee's re-INVITE is forwarded"
    );
    // A third party (103's connection) cannot inject into the call.
    let text = format!(
        "REFER sip:101@c1.invalid;transport=ws SIP/2.0\nVia: SIP/2.0/WSS c3.invalid;branch=z9hG4bKevil\nMax-Forwards: 70\nTo: <sip:101@{DOMAIN}>;tag=tcA\nFrom: <sip:102@{DOMAIN}>;tag=b1\nCall-ID: cA\nCSeq: 99 REFER\nRefer-To: <sip:900@evil.example>\nContent-Length: 0\n\n"
    );
    w.send(Dest::Flow(3), &text);
    let r = w.responses(Dest::Flow(3)).pop().expect("an answer");
    assert_eq!(r.status, 403, "{}", r.reason);
    assert!(w.requests(Dest::Flow(1)).is_empty());
    // Nor an ACK: it is dropped.
    let ack = format!(
        "ACK sip:101@c1.invalid;transport=ws SIP/2.0\nVia: SIP/2.0/WSS c3.invalid;branch=z9hG4bKevilack\nMax-Forwards: 70\nTo: <sip:101@{DOMAIN}>;tag=tcA\nFrom: <sip:102@{DOMAIN}>;tag=b1\nCall-ID: cA\nCSeq: 10 ACK\nContent-Length: 0\n\n"
    );
    w.send(Dest::Flow(3), &ack);
    assert!(
        w.requests(Dest::Flow(1)).is_empty(),
        "a third party's ACK goes nowhere"
    );
}

#[test]
fn an_invite_with_replaces_rings_only_the_device_in_that_dialog_and_is_not_forwarded() {
    let mut w = World::new();
    for f in 1..=4 {
        w.connect(f);
    }
    w.register(1, "101");
    w.register(2, "102");
    w.register(3, "102");
    w.register(4, "103");
    w.call(1, "101", "102", "cA");
    let inv = invite_at(&mut w, 2);
    w.requests(Dest::Flow(3));
    let mut ok = inv.response(200, "OK");
    ok.set_to_tag("b1");
    ok.headers
        .push("Record-Route", inv.headers.get("Record-Route").unwrap());
    ok.headers
        .push("Contact", "<sip:callee@c2.invalid;transport=ws>");
    w.send(Dest::Flow(2), &String::from_utf8(ok.to_bytes()).unwrap());
    w.requests(Dest::Flow(3));
    // 102 forwards everything to 101, but a call that replaces its dialog is for its device.
    set(
        &mut w,
        "102",
        Routing {
            always: Some(ext("101")),
            ..Routing::default()
        },
    );
    let text = |auth: &str| {
        format!(
            "INVITE sip:102@{DOMAIN} SIP/2.0\nVia: SIP/2.0/WSS c4.invalid;branch=z9hG4bKrep{}\nMax-Forwards: 70\nTo: <sip:102@{DOMAIN}>\nFrom: <sip:103@{DOMAIN}>;tag=rep\nCall-ID: rep\nCSeq: 1 INVITE\nContact: <sip:103@c4.invalid;transport=ws>\nReplaces: cA;to-tag=b1;from-tag=tcA\n{auth}Content-Length: 0\n\n",
            auth.len()
        )
    };
    w.send(Dest::Flow(4), &text(""));
    let r = w.responses(Dest::Flow(4)).pop().unwrap();
    let ch = centrala_sip::digest::Challenge::pick(r.headers.all("Proxy-Authenticate")).unwrap();
    let creds = centrala_sip::digest::Credentials::answer(
        &ch,
        "INVITE",
        &format!("sip:102@{DOMAIN}"),
        "103",
        &password("103"),
        "c",
        1,
    );
    w.send(
        Dest::Flow(4),
        &text(&format!("Proxy-Authorization: {creds}\n")),
    );
    assert_eq!(
        statuses(&w.responses(Dest::Flow(4))),
        [100],
        "not forwarded (no 181)"
    );
    let got = invite_at(&mut w, 2);
    assert_eq!(
        got.headers.get("Replaces"),
        Some("cA;to-tag=b1;from-tag=tcA")
    );
    assert!(
        w.requests(Dest::Flow(3)).is_empty(),
        "102's other device does not ring"
    );
    assert!(
        w.requests(Dest::Flow(1))
            .iter()
            .all(|r| r.method != Method::Invite),
        "the always rule is not applied"
    );
}

/// The in-process media service (voicemail and the bridge) on `flow`, as the driver starts it.
fn start_media_service(w: &mut World, flow: u64) {
    let input = Input::Connected {
        flow: FlowId(flow),
        peer: "127.0.0.1:0".parse().unwrap(),
        transport: Transport::Tcp,
    };
    w.core.handle(input, w.now);
    w.core
        .handle(Input::Voicemail { flow: FlowId(flow) }, w.now);
    w.step();
}

/// A desk phone on a TCP flow (as SIP over TCP or TLS reaches the core), registered as `ext`.
fn desk_phone(w: &mut World, flow: u64, ext: &str) {
    let input = Input::Connected {
        flow: FlowId(flow),
        peer: "198.51.100.7:5060".parse().unwrap(),
        transport: Transport::Tcp,
    };
    w.core.handle(input, w.now);
    w.step();
    let contact = format!("<sip:{ext}@198.51.100.7:5060;transport=tcp>");
    let r = w.register_with(Dest::Flow(flow), ext, &contact, 600);
    assert_eq!(r.status, 200, "{}", r.reason);
}

const BROWSER_OFFER: &str = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\nc=IN IP4 0.0.0.0\na=rtpmap:111 opus/48000/2\n";
const PHONE_OFFER: &str = "v=0\no=- 1 1 IN IP4 198.51.100.7\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0 101\nc=IN IP4 198.51.100.7\na=rtpmap:0 PCMU/8000\n";

#[test]
fn a_voicemail_rule_rings_the_voicemail_service_with_owner_and_cause_or_rings_out_without_it() {
    let mut w = World::new();
    w.connect(1);
    w.connect(2);
    w.register(1, "101");
    w.register(2, "102");
    set(
        &mut w,
        "102",
        Routing {
            no_answer: Some(NoAnswer {
                after_secs: 5,
                target: Target::Voicemail,
            }),
            ..Routing::default()
        },
    );
    // No voicemail service (started with --no-voicemail): the call rings out as if unset.
    w.call(1, "101", "102", "nv");
    let inv = invite_at(&mut w, 2);
    w.answer_invite(2, &inv, 180, "d2");
    w.responses(Dest::Flow(1));
    w.advance(6_000);
    assert!(
        w.requests(Dest::Flow(2)).is_empty(),
        "no voicemail to go to: 102 rings on"
    );
    w.answer_invite(2, &inv, 486, "d2");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [486]);

    // With the service: after 5 s the call goes to it, naming the owner, company and cause.
    start_media_service(&mut w, 9);
    w.call(1, "101", "102", "vm");
    let inv = invite_at(&mut w, 2);
    w.answer_invite(2, &inv, 180, "d3");
    w.responses(Dest::Flow(1));
    w.advance(4_999);
    assert!(w.requests(Dest::Flow(9)).is_empty(), "not before 5 s");
    w.advance(2);
    let vm = invite_at(&mut w, 9);
    assert_eq!(
        vm.uri.to_string(),
        "sip:102@voicemail.invalid;company=1;cause=no_answer"
    );
    assert!(vm.headers.get("From").unwrap().contains("sip:101@"));
    assert_eq!(
        statuses(&w.responses(Dest::Flow(1))),
        [181],
        "the caller hears of the forwarding"
    );
    w.answer_invite(2, &inv, 487, "d3");
    w.answer_invite(9, &vm, 200, "vmtag");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [200]);
    // The service going away takes the target with it (and ends the call it held, which
    // the history shows as gone to voicemail, for the box's owner).
    w.close(9);
    let rec = w
        .records
        .iter()
        .find(|r| r.sip_call_id == "vm")
        .expect("the voicemail call is recorded");
    assert_eq!(rec.outcome, Outcome::Voicemail);
    assert_eq!(rec.callee_ext.as_deref(), Some("102"));
    w.call(1, "101", "102", "gone");
    let inv = invite_at(&mut w, 2);
    w.answer_invite(2, &inv, 180, "d4");
    w.advance(30_000);
    assert!(w.requests(Dest::Flow(9)).is_empty());
}

#[test]
fn browser_and_plain_rtp_phone_calls_go_through_the_media_bridge_and_webrtc_offers_do_not() {
    let mut w = World::new();
    w.connect(1);
    w.register(1, "101");
    desk_phone(&mut w, 3, "103");
    start_media_service(&mut w, 9);

    // Browser → desk phone: the branch goes to the service, naming the phone's flow.
    w.call_with_offer(1, "101", "103", "b1", BROWSER_OFFER);
    assert!(
        w.requests(Dest::Flow(3)).is_empty(),
        "not straight to the phone"
    );
    let to_service = invite_at(&mut w, 9);
    assert_eq!(
        to_service.uri.params.value(BRIDGE_PARAM),
        Some("3"),
        "{}",
        to_service.uri
    );
    // The service calls the phone back through the core, keeping the caller's identity.
    let uri = to_service.uri.to_string();
    w.send(
        Dest::Flow(9),
        &format!(
            "INVITE {uri} SIP/2.0\nVia: SIP/2.0/TCP 127.0.0.1:0;branch=z9hG4bKbr1\nMax-Forwards: 70\nTo: <sip:103@d.example>\nFrom: <sip:101@d.example>;tag=svc1\nCall-ID: svc-b1\nCSeq: 1 INVITE\nContact: <sip:media@127.0.0.1:0;transport=tcp>\nContent-Length: {}\n\n{}",
            PHONE_OFFER.replace('\n', "\r\n").len(),
            PHONE_OFFER
        ),
    );
    let at_phone = invite_at(&mut w, 3);
    assert_eq!(
        at_phone.uri.params.value(BRIDGE_PARAM),
        None,
        "the parameter is ours"
    );
    assert!(at_phone.headers.get("From").unwrap().contains("sip:101@"));
    assert!(String::from_utf8_lossy(&at_phone.body).contains("RTP/AVP"));

    // Out of dialog, the service may only make bridged calls.
    w.send(
        Dest::Flow(9),
        "INVITE sip:103@d.example SIP/2.0\nVia: SIP/2.0/TCP 127.0.0.1:0;branch=z9hG4bKbr2\nMax-Forwards: 70\nTo: <sip:103@d.example>\nFrom: <sip:101@d.example>;tag=svc2\nCall-ID: svc-b2\nCSeq: 1 INVITE\nContact: <sip:media@127.0.0.1:0;transport=tcp>\nContent-Length: 0\n\n",
    );
    let r = w.responses(Dest::Flow(9));
    assert!(r.iter().any(|r| r.status == 403), "{:?}", statuses(&r));
    assert!(w.requests(Dest::Flow(3)).is_empty());

    // A browser cannot smuggle the parameter to reach a flow of its choosing: it is a normal
    // call to 103 (bridged again), never a direct INVITE to flow 3.
    w.connect(4);
    w.register(4, "104");
    w.call_with_offer(4, "104", "103;centrala-bridge=1", "b3", BROWSER_OFFER);
    assert!(w.requests(Dest::Flow(1)).is_empty(), "101 is not rung");

    // Desk phone → browser, plain RTP: bridged. A WebRTC-capable SIP client: peer to peer.
    w.call_with_offer(3, "103", "101", "p1", PHONE_OFFER);
    let to_service = invite_at(&mut w, 9);
    assert_eq!(to_service.uri.params.value(BRIDGE_PARAM), Some("1"));
    assert!(w.requests(Dest::Flow(1)).is_empty());
    let webrtc = PHONE_OFFER.replace("RTP/AVP", "UDP/TLS/RTP/SAVPF");
    w.call_with_offer(3, "103", "101", "p2", &webrtc);
    assert!(w.requests(Dest::Flow(9)).is_empty());
    invite_at(&mut w, 1);

    // Browser to browser stays peer to peer; without the service, no bridge at all.
    w.call_with_offer(4, "104", "101", "b4", BROWSER_OFFER);
    invite_at(&mut w, 1);
    w.close(9);
    w.call_with_offer(1, "101", "103", "b5", BROWSER_OFFER);
    invite_at(&mut w, 3);
}

#[test]
fn the_short_code_takes_the_caller_to_their_own_voicemail_box() {
    let mut w = World::new();
    w.connect(1);
    w.register(1, "101");
    // No voicemail service: a clear refusal.
    let r = w.call(1, "101", "*98", "l0");
    let last = r.last().expect("an answer");
    assert_eq!(
        (last.status, &*last.reason),
        (480, "Temporarily Unavailable (voicemail is off)")
    );
    start_media_service(&mut w, 9);
    w.call(1, "101", "*98", "l1");
    let inv = invite_at(&mut w, 9);
    assert_eq!(
        inv.uri.to_string(),
        "sip:101@voicemail.invalid;company=1;mode=listen",
        "the caller's own box, whatever else the request says"
    );
    w.answer_invite(9, &inv, 200, "lb");
    assert_eq!(statuses(&w.responses(Dest::Flow(1))), [200]);
    // The other code: the service asks which box and its PIN, in the caller's company.
    w.call(1, "101", "*97", "l2");
    let inv = invite_at(&mut w, 9);
    assert_eq!(
        inv.uri.to_string(),
        "sip:101@voicemail.invalid;company=1;mode=login"
    );
}

#[test]
fn a_trunk_cannot_reach_a_voicemail_box_by_short_code() {
    let mut w = World::with(|c| {
        c.trusted = vec![crate::trusted::TrustedPeer::stream(
            "198.51.100.9".parse().unwrap(),
        )]
    });
    start_media_service(&mut w, 9);
    w.connect_tcp(5, "198.51.100.9:5060");
    for (code, call) in [("*98", "t1"), ("*97", "t2")] {
        let text = format!(
            "INVITE sip:{code}@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/TCP 198.51.100.9:5060;branch=z9hG4bK{call}\r\n\
             Max-Forwards: 70\r\nTo: <sip:{code}@{DOMAIN}>\r\nFrom: <sip:+48226006100@carrier.example>;tag={call}\r\n\
             Call-ID: {call}\r\nCSeq: 1 INVITE\r\nContact: <sip:+48226006100@198.51.100.9:5060;transport=tcp>\r\n\
             Content-Length: 0\r\n\r\n"
        );
        w.send(Dest::Flow(5), &text);
        let r = w.responses(Dest::Flow(5));
        let last = r.last().expect("an answer");
        assert_eq!(
            (last.status, &*last.reason),
            (403, "Forbidden (voicemail is for employees)"),
            "{code}"
        );
    }
    assert!(
        w.requests(Dest::Flow(9)).is_empty(),
        "nothing reached the service"
    );
}

#[test]
fn a_number_outside_the_company_is_refused_with_the_reason() {
    let mut w = World::new();
    w.connect(1);
    w.register(1, "101");
    for (dialled, call, status, reason) in [
        (
            "+48601234567",
            "o1",
            403,
            "Forbidden (no line to the phone network is set up)",
        ),
        (
            "112",
            "o2",
            403,
            "Forbidden (emergency call: no line to the phone network is set up)",
        ),
        ("199", "o3", 404, "Not Found (no such extension)"),
    ] {
        let r = w.call(1, "101", dialled, call);
        let last = r.last().expect("an answer");
        assert_eq!((last.status, &*last.reason), (status, reason), "{dialled}");
    }
}
