//! Presence documents: round trips through the builders and parsers, documents other
//! clients send (written from RFC 3863/4479/4480/4662's examples), hostile input, and the
//! generated XML checked against the schemas' required elements and attributes by a
//! separate, namespace-aware reader (not the parser under test).

use centrala_sip::presence::{
    DialogPhase, DialogState, Direction, ListNotify, ListResource, NS_DIALOG_INFO, NS_DM, NS_PIDF,
    NS_RLMI, NS_RPID, Presence, PresenceError, Status, dialog_info, list_notify, parse_dialog_info,
    parse_list_notify, parse_pidf, pidf,
};
use centrala_sip::rng::Rng;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

// The independent schema check (shared with the gateway's core tests).
include!("support/schema.rs");

// ---------------------------------------------------------------------------------------
// PIDF

fn presence(status: Status, note: Option<&str>) -> Presence {
    Presence {
        entity: "sip:102@acme.example".into(),
        status,
        note: note.map(str::to_string),
    }
}

#[test]
fn status_names_round_trip() {
    let names: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        ["offline", "available", "ringing", "in-call", "dnd", "away"]
    );
    for s in Status::ALL {
        assert_eq!(Status::parse(s.as_str()), Some(s));
        assert_eq!(
            Status::parse(&format!(" {} ", s.as_str().to_uppercase())),
            Some(s)
        );
    }
    assert_eq!(Status::parse("busy"), None);
}

#[test]
fn pidf_round_trips_every_status_with_and_without_a_note() {
    for s in Status::ALL {
        for note in [None, Some("Back at 3")] {
            let p = presence(s, note);
            let xml = pidf(&p);
            check_pidf_schema(&xml);
            assert_eq!(parse_pidf(&xml), Ok(p), "{xml}");
        }
    }
}

#[test]
fn pidf_says_each_status_the_documented_way() {
    let check = |s: Status, basic: &str, activity: Option<(&str, &str)>| {
        let root = check_pidf_schema(&pidf(&presence(s, None)));
        let t = root.kids(NS_PIDF, "tuple").next().unwrap();
        let b = &t.kids(NS_PIDF, "status").next().unwrap().children[0];
        assert_eq!(b.text, basic, "{s}");
        let acts: Vec<_> = root
            .kids(NS_DM, "person")
            .flat_map(|p| p.kids(NS_RPID, "activities"))
            .flat_map(|a| a.children.iter())
            .map(|c| (c.name.as_str(), c.text.as_str()))
            .collect();
        assert_eq!(acts, activity.into_iter().collect::<Vec<_>>(), "{s}");
    };
    check(Status::Offline, "closed", None);
    check(Status::Available, "open", None);
    check(Status::InCall, "open", Some(("on-the-phone", "")));
    check(Status::Ringing, "open", Some(("other", "ringing")));
    check(Status::Dnd, "open", Some(("busy", "")));
    check(Status::Away, "open", Some(("away", "")));
}

#[test]
fn names_and_notes_that_need_escaping_survive() {
    let p = Presence {
        entity: "sip:\"o'brien\"&<co>@acme.example".into(),
        status: Status::Away,
        note: Some("Zażółć gęślą jaźń <b>&amp;</b> \"quoted\" 'single'\nsecond line".into()),
    };
    let xml = pidf(&p);
    let root = check_pidf_schema(&xml);
    assert_eq!(root.attr("entity"), Some(p.entity.as_str()));
    assert_eq!(parse_pidf(&xml), Ok(p));
    // Control characters XML cannot carry are dropped, not sent.
    let q = presence(Status::Available, Some("a\u{7}b"));
    let xml = pidf(&q);
    check_pidf_schema(&xml);
    assert_eq!(parse_pidf(&xml).unwrap().note.as_deref(), Some("ab"));
}

/// What a softphone such as linphone PUBLISHes: the data model with a person, RPID
/// activities, a tuple with contact and timestamp (after RFC 4479 / RFC 4480's examples).
const LINPHONE_STYLE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
  xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:104@acme.example">
  <tuple id="qwes8a">
    <status>
      <basic>open</basic>
    </status>
    <contact priority="0.8">sip:104@192.0.2.7:5060;transport=udp</contact>
    <timestamp>2026-12-03T07:00:00Z</timestamp>
  </tuple>
  <dm:person id="sipaddr1">
    <rpid:activities>
      <rpid:on-the-phone/>
    </rpid:activities>
    <dm:note>Rozmawiam &amp; oddzwonię</dm:note>
  </dm:person>
</presence>
"#;

/// A terse one-line document with other prefixes, the person before the tuple (the order
/// baresip writes) and a busy activity.
const BARESIP_STYLE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:d=\"urn:ietf:params:xml:ns:pidf:data-model\" xmlns:r=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:103@acme.example\"><d:person id=\"p4386\"><r:activities><r:busy/></r:activities></d:person><tuple id=\"t4386\"><status><basic>open</basic></status><contact>sip:103@acme.example</contact></tuple></presence>\r\n";

/// RFC 3863 section 6's style: two tuples, the IM extension's status, notes in two
/// languages and one for the whole document.
const RFC3863_STYLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<impp:presence xmlns:impp="urn:ietf:params:xml:ns:pidf"
    xmlns:im="urn:ietf:params:xml:ns:pidf:im"
    xmlns:myex="http://id.example.com/presence/"
    entity="pres:someone@example.com">
  <impp:tuple id="bs35r9">
    <impp:status>
      <impp:basic>open</impp:basic>
      <im:im>busy</im:im>
      <myex:location>home</myex:location>
    </impp:status>
    <impp:contact priority="0.8">im:someone@mobilecarrier.net</impp:contact>
    <impp:note xml:lang="en">Don't Disturb Please!</impp:note>
    <impp:note xml:lang="fr">Ne derangez pas, s'il vous plait</impp:note>
    <impp:timestamp>2001-10-27T16:49:29Z</impp:timestamp>
  </impp:tuple>
  <impp:tuple id="eg92n8">
    <impp:status>
      <impp:basic>closed</impp:basic>
    </impp:status>
    <impp:contact priority="1.0">mailto:someone@example.com</impp:contact>
  </impp:tuple>
  <impp:note>I'll be in Tokyo next week</impp:note>
</impp:presence>
"#;

#[test]
fn documents_from_other_clients_are_understood() {
    let p = parse_pidf(LINPHONE_STYLE).unwrap();
    assert_eq!(p.entity, "sip:104@acme.example");
    assert_eq!(p.status, Status::InCall);
    assert_eq!(p.note.as_deref(), Some("Rozmawiam & oddzwonię"));

    let p = parse_pidf(BARESIP_STYLE).unwrap();
    assert_eq!(
        (p.entity.as_str(), p.status, p.note),
        ("sip:103@acme.example", Status::Dnd, None)
    );

    let p = parse_pidf(RFC3863_STYLE).unwrap();
    assert_eq!(p.entity, "pres:someone@example.com");
    assert_eq!(p.status, Status::Dnd, "one tuple open, IM status busy");
    assert_eq!(p.note.as_deref(), Some("Don't Disturb Please!"));
}

#[test]
fn activities_map_to_statuses() {
    let doc = |basic: &str, acts: &str| {
        format!(
            "<presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' \
             entity='sip:1@x'><tuple id='t'><status><basic>{basic}</basic></status></tuple>\
             <dm:person id='p'><activities xmlns='urn:ietf:params:xml:ns:pidf:rpid'>{acts}</activities></dm:person></presence>"
        )
    };
    let cases = [
        ("open", "", Status::Available),
        ("open", "<unknown/>", Status::Available),
        ("open", "<working/>", Status::Available),
        ("open", "<busy/>", Status::Dnd),
        ("open", "<do-not-disturb/>", Status::Dnd),
        ("open", "<meeting/>", Status::Dnd),
        ("open", "<other>Do Not Disturb</other>", Status::Dnd),
        ("open", "<away/>", Status::Away),
        ("open", "<vacation/>", Status::Away),
        ("open", "<lunch/>", Status::Away),
        ("open", "<other>ringing</other>", Status::Ringing),
        ("open", "<on-the-phone/>", Status::InCall),
        ("open", "<away/><on-the-phone/>", Status::InCall),
        ("OPEN", "<busy/><away/>", Status::Dnd),
        ("closed", "<on-the-phone/>", Status::Offline),
        ("closed", "", Status::Offline),
    ];
    for (basic, acts, want) in cases {
        assert_eq!(
            parse_pidf(&doc(basic, acts)).unwrap().status,
            want,
            "{basic} {acts}"
        );
    }
    // No tuple: the activity alone; nothing at all: offline.
    let bare = "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:1@x'/>";
    assert_eq!(parse_pidf(bare).unwrap().status, Status::Offline);
    // An older RPID use: activities inside a tuple's status.
    let old = "<presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:es='urn:ietf:params:xml:ns:pidf:status:rpid-status' entity='sip:1@x'>\
               <tuple id='t'><status><basic>open</basic><es:activities><es:activity>away</es:activity><es:away/></es:activities></status></tuple></presence>";
    assert_eq!(parse_pidf(old).unwrap().status, Status::Away);
}

#[test]
fn hostile_or_malformed_xml_is_an_error_not_a_panic() {
    let deep = format!(
        "<presence entity='x'>{}{}</presence>",
        "<a>".repeat(5000),
        "</a>".repeat(5000)
    );
    let many = format!(
        "<presence entity='x'>{}</presence>",
        "<tuple id='t'/>".repeat(5000)
    );
    let huge = format!(
        "<presence entity='x'><note>{}</note></presence>",
        "a".repeat(70_000)
    );
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("spaces", "   \n".into()),
        ("not xml", "hello".into()),
        ("unclosed", "<presence entity='x'><tuple>".into()),
        ("mismatched", "<presence entity='x'><tuple></presence>".into()),
        ("two roots", "<presence entity='x'/><presence entity='y'/>".into()),
        ("text after", "<presence entity='x'/>trailing".into()),
        ("wrong root", "<html><body/></html>".into()),
        ("no entity", "<presence xmlns='urn:ietf:params:xml:ns:pidf'/>".into()),
        (
            "dtd",
            "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><presence entity='x'><note>&lol2;</note></presence>".into(),
        ),
        ("unknown entity", "<presence entity='x'><note>&nbsp;</note></presence>".into()),
        ("bad char ref", "<presence entity='x'><note>&#0;</note></presence>".into()),
        ("bad attr", "<presence entity='x' entity='y'/>".into()),
        ("unquoted attr", "<presence entity=x/>".into()),
        ("deep", deep),
        ("many", many),
        ("huge", huge),
    ];
    for (what, xml) in cases {
        let err = parse_pidf(&xml).expect_err(what);
        assert!(!err.to_string().is_empty());
    }
    assert!(matches!(
        parse_pidf("<html/>"),
        Err(PresenceError::WrongRoot { .. })
    ));
    assert_eq!(
        parse_pidf("<presence/>"),
        Err(PresenceError::Missing("presence@entity"))
    );
}

/// Cuts and corrupts valid documents at many places: every parser answers, none panics.
#[test]
fn mangled_documents_never_panic() {
    let mut rng = Rng::new([42; 32]);
    let (ct, list) = list_notify(&sample_list(), "b0und");
    let docs = [
        LINPHONE_STYLE.to_string(),
        RFC3863_STYLE.to_string(),
        dialog_info("sip:1@x", 3, true, &[sample_dialog()]),
        list.clone(),
    ];
    for doc in &docs {
        let bytes = doc.as_bytes();
        for cut in 0..bytes.len() {
            if let Ok(s) = std::str::from_utf8(&bytes[..cut]) {
                let _ = parse_pidf(s);
                let _ = parse_dialog_info(s);
                let _ = parse_list_notify(&ct, s);
            }
        }
        for _ in 0..2000 {
            let mut b = bytes.to_vec();
            for _ in 0..1 + rng.next_u64() % 4 {
                let i = (rng.next_u64() % b.len() as u64) as usize;
                b[i] = b"<>/&;\"'=:-\r\n x#"[(rng.next_u64() % 15) as usize];
            }
            if let Ok(s) = std::str::from_utf8(&b) {
                let _ = parse_pidf(s);
                let _ = parse_dialog_info(s);
                let _ = parse_list_notify(&ct, s);
                let _ = parse_list_notify("multipart/related;boundary=\"\"", s);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// dialog-info

fn sample_dialog() -> DialogState {
    DialogState {
        id: "d1".into(),
        call_id: "a84b4c76e66710@pc33".into(),
        direction: Some(Direction::Initiator),
        state: DialogPhase::Confirmed,
        remote: Some("sip:101@acme.example".into()),
    }
}

#[test]
fn dialog_info_round_trips_and_has_the_required_parts() {
    let dialogs = vec![
        sample_dialog(),
        DialogState {
            id: "d2".into(),
            call_id: String::new(),
            direction: Some(Direction::Recipient),
            state: DialogPhase::Early,
            remote: Some("sip:\"x\"&<y>@acme.example".into()),
        },
        DialogState {
            id: "d3".into(),
            call_id: "c3".into(),
            direction: None,
            state: DialogPhase::Terminated,
            remote: None,
        },
    ];
    for full in [true, false] {
        let xml = dialog_info("sip:102@acme.example", 7, full, &dialogs);
        let root = check_dialog_info_schema(&xml);
        assert_eq!(root.kids(NS_DIALOG_INFO, "dialog").count(), 3);
        assert_eq!(
            parse_dialog_info(&xml),
            Ok(("sip:102@acme.example".to_string(), 7, full, dialogs.clone()))
        );
    }
    let empty = dialog_info("sip:102@acme.example", 0, true, &[]);
    check_dialog_info_schema(&empty);
    assert_eq!(parse_dialog_info(&empty).unwrap().3, vec![]);
    for p in [
        DialogPhase::Trying,
        DialogPhase::Proceeding,
        DialogPhase::Early,
        DialogPhase::Confirmed,
        DialogPhase::Terminated,
    ] {
        let d = DialogState {
            state: p,
            ..sample_dialog()
        };
        let xml = dialog_info("sip:1@x", 1, false, std::slice::from_ref(&d));
        assert_eq!(parse_dialog_info(&xml).unwrap().3, vec![d]);
    }
}

#[test]
fn dialog_info_from_a_desk_phone_is_read_and_broken_ones_refused() {
    // RFC 4235 section 6's style, with prefixes and extra elements.
    let xml = r#"<?xml version="1.0"?>
<di:dialog-info xmlns:di="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:alice@example.com">
  <di:dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774" direction="initiator">
    <di:state event="remote-bye" code="200">terminated</di:state>
    <di:duration>274</di:duration>
    <di:local><di:identity display="Alice">sip:alice@example.com</di:identity></di:local>
    <di:remote><di:identity display="Bob">sip:bob@example.org</di:identity><di:target uri="sip:bob@pc33.example.org"/></di:remote>
  </di:dialog>
</di:dialog-info>"#;
    let (entity, version, full, dialogs) = parse_dialog_info(xml).unwrap();
    assert_eq!(
        (entity.as_str(), version, full),
        ("sip:alice@example.com", 1, true)
    );
    assert_eq!(
        dialogs,
        vec![DialogState {
            id: "as7d900as8".into(),
            call_id: "a84b4c76e66710".into(),
            direction: Some(Direction::Initiator),
            state: DialogPhase::Terminated,
            remote: Some("sip:bob@example.org".into()),
        }]
    );
    for bad in [
        "<dialog-info state='full' entity='e'/>",
        "<dialog-info version='x' state='full' entity='e'/>",
        "<dialog-info version='1' state='whole' entity='e'/>",
        "<dialog-info version='1' state='full'/>",
        "<dialog-info version='1' state='full' entity='e'><dialog><state>early</state></dialog></dialog-info>",
        "<dialog-info version='1' state='full' entity='e'><dialog id='a'/></dialog-info>",
        "<dialog-info version='1' state='full' entity='e'><dialog id='a'><state>ringing</state></dialog></dialog-info>",
        "<presence entity='e'/>",
    ] {
        assert!(parse_dialog_info(bad).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------
// Resource lists

fn sample_list() -> ListNotify {
    ListNotify {
        uri: "sip:directory@acme.example".into(),
        version: 0,
        full_state: true,
        resources: vec![
            ListResource {
                uri: "sip:101@acme.example".into(),
                name: Some("Anna Kowalska-Żółć".into()),
                presence: Some(Presence {
                    entity: "sip:101@acme.example".into(),
                    status: Status::Available,
                    note: None,
                }),
                terminated: false,
            },
            ListResource {
                uri: "sip:102@acme.example".into(),
                name: Some("Bob \"B&B\" <O'Neil>".into()),
                presence: Some(Presence {
                    entity: "sip:102@acme.example".into(),
                    status: Status::InCall,
                    note: Some("z klientem".into()),
                }),
                terminated: false,
            },
            ListResource {
                uri: "sip:103@acme.example".into(),
                name: None,
                presence: None,
                terminated: false,
            },
        ],
    }
}

#[test]
fn a_full_list_round_trips_and_has_the_required_parts() {
    let n = sample_list();
    let (ct, body) = list_notify(&n, "zK3p9QrT");
    check_list_notify(&ct, &body);
    assert_eq!(parse_list_notify(&ct, &body), Ok(n.clone()));
    // The same body with LF line ends only.
    assert_eq!(
        parse_list_notify(&ct, &body.replace("\r\n", "\n")),
        Ok(n.clone())
    );
    // A boundary with characters a boundary may not have is cleaned, not broken.
    let (ct2, body2) = list_notify(&n, "a b\"c;d");
    check_list_notify(&ct2, &body2);
    assert_eq!(parse_list_notify(&ct2, &body2), Ok(n));
}

#[test]
fn a_partial_list_with_a_terminated_resource_round_trips() {
    let n = ListNotify {
        uri: "sip:directory@acme.example".into(),
        version: 5,
        full_state: false,
        resources: vec![
            ListResource {
                uri: "sip:104@acme.example".into(),
                name: Some("Dorota".into()),
                presence: Some(Presence {
                    entity: "sip:104@acme.example".into(),
                    status: Status::Ringing,
                    note: None,
                }),
                terminated: false,
            },
            ListResource {
                uri: "sip:105@acme.example".into(),
                name: Some("Left the company".into()),
                presence: None,
                terminated: true,
            },
        ],
    };
    let (ct, body) = list_notify(&n, "partial1");
    check_list_notify(&ct, &body);
    assert!(body.contains("state=\"terminated\" reason=\"deactivated\""));
    assert_eq!(body.matches("application/pidf+xml").count(), 1);
    assert_eq!(parse_list_notify(&ct, &body), Ok(n.clone()));
    assert_eq!(parse_list_notify(&ct, &body.replace("\r\n", "\n")), Ok(n));
}

/// A list NOTIFY as another server writes it (after RFC 4662's examples): LF line ends,
/// preamble and epilogue, parameters in another order and unquoted, extra part headers,
/// transport padding, several names, a pending instance, and a PIDF part with prefixes.
#[test]
fn a_list_notify_from_another_server_is_read() {
    let ct = "Multipart/Related; boundary=50UBfW7LSCVLtggUPe5z; type=\"application/rlmi+xml\"; start=\"<nXYxAE@pres.vancouver.example.com>\"";
    let body = "This is a preamble.\n\
--50UBfW7LSCVLtggUPe5z  \n\
Content-Transfer-Encoding: binary\n\
Content-ID: <nXYxAE@pres.vancouver.example.com>\n\
Content-Type: application/rlmi+xml;charset=\"UTF-8\"\n\
\n\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:adam-friends@pres.vancouver.example.com\" version=\"1\" fullState=\"true\">\n\
  <name xml:lang=\"en\">Buddy List at COM</name>\n\
  <resource uri=\"sip:bob@vancouver.example.com\">\n\
    <name>Bob Smith</name>\n\
    <name xml:lang=\"pl\">Bob Kowalski</name>\n\
    <instance id=\"juwigmtboe\" state=\"active\" cid=\"bUZBsM@pres.vancouver.example.com\"/>\n\
  </resource>\n\
  <resource uri=\"sip:dave@vancouver.example.com\">\n\
    <name>Dave Jones</name>\n\
    <instance id=\"hqzsuxtfyq\" state=\"active\" cid=\"ZvSvkz@pres.vancouver.example.com\"/>\n\
  </resource>\n\
  <resource uri=\"sip:ed@dallas.example.net\">\n\
    <name>Ed at NET</name>\n\
    <instance id=\"x\" state=\"pending\"/>\n\
  </resource>\n\
</list>\n\
\n\
--50UBfW7LSCVLtggUPe5z\n\
Content-Transfer-Encoding: binary\n\
Content-ID: <ZvSvkz@pres.vancouver.example.com>\n\
Content-Type: application/pidf+xml;\n  charset=\"UTF-8\"\n\
\n\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<p:presence xmlns:p=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:dave@vancouver.example.com\">\n\
  <p:tuple id=\"ZvSvkz\"><p:status><p:basic>closed</p:basic></p:status></p:tuple>\n\
</p:presence>\n\
--50UBfW7LSCVLtggUPe5z\n\
Content-Transfer-Encoding: binary\n\
Content-ID: <bUZBsM@pres.vancouver.example.com>\n\
Content-Type: application/pidf+xml;charset=\"UTF-8\"\n\
\n\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:bob@vancouver.example.com\">\n\
  <tuple id=\"bUZBsM\"><status><basic>open</basic></status><rpid:activities><rpid:away/></rpid:activities></tuple>\n\
  <note>Lunch</note>\n\
</presence>\n\
--50UBfW7LSCVLtggUPe5z--\n\
This is an epilogue.\n";
    let n = parse_list_notify(ct, body).unwrap();
    assert_eq!(n.uri, "sip:adam-friends@pres.vancouver.example.com");
    assert_eq!((n.version, n.full_state), (1, true));
    let got: Vec<_> = n
        .resources
        .iter()
        .map(|r| {
            (
                r.uri.as_str(),
                r.name.as_deref(),
                r.presence.as_ref().map(|p| (p.status, p.note.as_deref())),
                r.terminated,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "sip:bob@vancouver.example.com",
                Some("Bob Smith"),
                Some((Status::Away, Some("Lunch"))),
                false
            ),
            (
                "sip:dave@vancouver.example.com",
                Some("Dave Jones"),
                Some((Status::Offline, None)),
                false
            ),
            ("sip:ed@dallas.example.net", Some("Ed at NET"), None, false),
        ]
    );
}

#[test]
fn bare_pidf_and_rlmi_bodies_are_read_too() {
    let p = presence(Status::Dnd, Some("Meeting"));
    let n = parse_list_notify("application/pidf+xml", &pidf(&p)).unwrap();
    assert_eq!(
        n,
        ListNotify {
            uri: p.entity.clone(),
            version: 0,
            full_state: true,
            resources: vec![ListResource {
                uri: p.entity.clone(),
                name: None,
                presence: Some(p),
                terminated: false,
            }],
        }
    );
    let rlmi = "<list xmlns='urn:ietf:params:xml:ns:rlmi' uri='sip:l@x' version='2' fullState='false'>\
                <resource uri='sip:1@x'><instance id='i' state='terminated' reason='rejected'/></resource></list>";
    let n = parse_list_notify("application/rlmi+xml", rlmi).unwrap();
    assert_eq!((n.version, n.full_state), (2, false));
    assert!(n.resources[0].terminated);
}

#[test]
fn broken_list_bodies_are_errors_and_broken_parts_only_lose_their_presence() {
    let (ct, body) = list_notify(&sample_list(), "bnd");
    assert!(matches!(
        parse_list_notify("text/plain", "hi"),
        Err(PresenceError::ContentType(_))
    ));
    assert!(
        parse_list_notify("multipart/related", &body).is_err(),
        "no boundary"
    );
    assert!(parse_list_notify(&ct, "").is_err());
    assert!(parse_list_notify(&ct, "garbage").is_err());
    let unclosed = body.trim_end().trim_end_matches("--bnd--");
    assert_eq!(
        parse_list_notify(&ct, unclosed),
        Err(PresenceError::Multipart("no closing boundary"))
    );
    let wrong_start = ct.replace("start=\"<", "start=\"<nope");
    assert!(parse_list_notify(&wrong_start, &body).is_err());
    // A root part that is not RLMI.
    let ct_no_start = "multipart/related;boundary=bnd";
    let swapped = "--bnd\r\nContent-Type: application/pidf+xml\r\n\r\n<x/>\r\n--bnd--\r\n";
    assert!(matches!(
        parse_list_notify(ct_no_start, swapped),
        Err(PresenceError::ContentType(_))
    ));
    // A garbled PIDF part: that resource has no presence, the others keep theirs.
    let garbled = body.replacen("<basic>open</basic>", "<basic>open</basi>", 1);
    let n = parse_list_notify(&ct, &garbled).unwrap();
    assert_eq!(n.resources[0].presence, None);
    assert!(n.resources[1].presence.is_some());
    // A broken RLMI root is an error.
    let broken = body.replacen("fullState=\"true\"", "fullState=\"maybe\"", 1);
    assert!(matches!(
        parse_list_notify(&ct, &broken),
        Err(PresenceError::BadValue { .. })
    ));
}
