// An independent check of generated presence documents against the schemas' required
// elements and attributes (RFC 3863 PIDF, RFC 4235 dialog-info, RFC 4662 RLMI), with
// quick-xml's namespace-aware reader, not the parser under test. Included (`include!`) by
// sip/tests/presence.rs and by the gateway's core tests, which check every NOTIFY body.
// Needs in scope: quick_xml's `Event`, `ResolveResult`, `NsReader`, and the namespace
// constants of `centrala_sip::presence`.


#[derive(Debug)]
pub struct Node {
    ns: String,
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn attr(&self, n: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    }
    fn kids<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a Node> {
        self.children
            .iter()
            .filter(move |c| c.ns == ns && c.name == name)
    }
    /// Asserts the element is `{ns}name` with every attribute in `attrs`, non-empty.
    fn require(&self, ns: &str, name: &str, attrs: &[&str]) {
        assert_eq!((self.ns.as_str(), self.name.as_str()), (ns, name));
        for a in attrs {
            assert!(
                self.attr(a).is_some_and(|v| !v.is_empty()),
                "<{name}> lacks required attribute {a}"
            );
        }
    }
}

fn node(resolved: &ResolveResult<'_>, e: &quick_xml::events::BytesStart<'_>) -> Node {
    let ns = match resolved {
        ResolveResult::Bound(ns) => ns.as_ref().to_string(),
        _ => String::new(),
    };
    let attrs = e
        .attributes()
        .map(|a| a.expect("well-formed attribute"))
        .filter(|a| !a.key.as_ref().starts_with("xmlns"))
        .map(|a| {
            (
                a.key.local_name().as_ref().to_string(),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .expect("attribute value")
                    .into_owned(),
            )
        })
        .collect();
    Node {
        ns,
        name: e.local_name().as_ref().to_string(),
        attrs,
        children: Vec::new(),
        text: String::new(),
    }
}

/// Parses well-formed XML (panics otherwise) into a namespace-resolved tree.
fn tree(xml: &str) -> Node {
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let mut r = NsReader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        let (res, ev) = r.read_resolved_event().expect("well-formed XML");
        match ev {
            Event::Start(e) => stack.push(node(&res, &e)),
            Event::Empty(e) => {
                let n = node(&res, &e);
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            Event::End(_) => {
                let n = stack.pop().expect("balanced");
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(g) => {
                let c = match g.resolve_char_ref().expect("char ref") {
                    Some(c) => c,
                    None => match g.into_inner().as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("unknown entity {other}"),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty());
    root.expect("a root element")
}

/// An xs:ID / NCName: a letter or `_` first.
fn is_ncname(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// PIDF (RFC 3863): presence@entity; tuple@id (an xs:ID) with status; the data model's
/// person@id; RPID activities in the RPID namespace.
pub fn check_pidf_schema(xml: &str) -> Node {
    let root = tree(xml);
    root.require(NS_PIDF, "presence", &["entity"]);
    let tuples: Vec<_> = root.kids(NS_PIDF, "tuple").collect();
    assert!(!tuples.is_empty(), "a tuple");
    for t in tuples {
        t.require(NS_PIDF, "tuple", &["id"]);
        assert!(is_ncname(t.attr("id").unwrap()));
        let status = t.kids(NS_PIDF, "status").next().expect("tuple/status");
        let basic = status.kids(NS_PIDF, "basic").next().expect("status/basic");
        assert!(matches!(basic.text.as_str(), "open" | "closed"));
    }
    for p in root.kids(NS_DM, "person") {
        p.require(NS_DM, "person", &["id"]);
        assert!(is_ncname(p.attr("id").unwrap()));
        for a in p.kids(NS_RPID, "activities") {
            assert!(!a.children.is_empty(), "activities name one");
            assert!(a.children.iter().all(|c| c.ns == NS_RPID));
        }
        // RFC 4479's person: extensions, then notes, then timestamp.
        let order: Vec<_> = p.children.iter().map(|c| c.name.as_str()).collect();
        if let Some(i) = order.iter().position(|n| *n == "note") {
            assert!(order[i..].iter().all(|n| *n == "note" || *n == "timestamp"));
        }
    }
    root
}

/// dialog-info (RFC 4235): dialog-info@version/@state/@entity; dialog@id with a state.
pub fn check_dialog_info_schema(xml: &str) -> Node {
    let root = tree(xml);
    root.require(
        NS_DIALOG_INFO,
        "dialog-info",
        &["version", "state", "entity"],
    );
    assert!(matches!(root.attr("state"), Some("full" | "partial")));
    root.attr("version").unwrap().parse::<u32>().unwrap();
    for d in root.kids(NS_DIALOG_INFO, "dialog") {
        d.require(NS_DIALOG_INFO, "dialog", &["id"]);
        let s = d
            .kids(NS_DIALOG_INFO, "state")
            .next()
            .expect("dialog/state");
        assert!(matches!(
            s.text.as_str(),
            "trying" | "proceeding" | "early" | "confirmed" | "terminated"
        ));
        // The schema's order: state before local and remote.
        let names: Vec<_> = d.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[0], "state");
    }
    root
}

/// RLMI (RFC 4662): list@uri/@version/@fullState; resource@uri; instance@id/@state.
pub fn check_rlmi_schema(xml: &str) -> Node {
    let root = tree(xml);
    root.require(NS_RLMI, "list", &["uri", "version", "fullState"]);
    assert!(matches!(root.attr("fullState"), Some("true" | "false")));
    root.attr("version").unwrap().parse::<u32>().unwrap();
    for r in root.kids(NS_RLMI, "resource") {
        r.require(NS_RLMI, "resource", &["uri"]);
        for i in r.kids(NS_RLMI, "instance") {
            i.require(NS_RLMI, "instance", &["id", "state"]);
            assert!(matches!(
                i.attr("state"),
                Some("active" | "pending" | "terminated")
            ));
        }
    }
    root
}

/// Checks a generated list NOTIFY: Content-Type parameters, the RLMI root's required parts,
/// and that every active instance's cid names a PIDF part.
pub fn check_list_notify(ct: &str, body: &str) {
    assert!(ct.starts_with("multipart/related;"));
    assert!(ct.contains("type=\"application/rlmi+xml\""));
    let start = ct
        .split("start=\"<")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    let boundary = ct
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    assert!(body.starts_with(&format!("--{boundary}\r\n")));
    assert!(body.ends_with(&format!("\r\n--{boundary}--\r\n")));
    let parts: Vec<&str> = body
        .split(&format!("--{boundary}"))
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .collect();
    let (head, rlmi) = parts[0].split_once("\r\n\r\n").unwrap();
    assert!(head.contains(&format!("Content-ID: <{start}>")));
    assert!(head.contains("Content-Type: application/rlmi+xml"));
    let root = check_rlmi_schema(rlmi.trim_end());
    let cids: Vec<String> = root
        .kids(NS_RLMI, "resource")
        .flat_map(|r| r.kids(NS_RLMI, "instance"))
        .filter_map(|i| i.attr("cid").map(str::to_string))
        .collect();
    assert_eq!(cids.len(), parts.len() - 1);
    for (cid, part) in cids.iter().zip(&parts[1..]) {
        let (head, doc) = part.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-ID: <{cid}>")), "{head}");
        assert!(head.contains("Content-Type: application/pidf+xml"));
        check_pidf_schema(doc.trim_end());
    }
}

