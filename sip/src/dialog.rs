//! Dialogs (RFC 3261 section 12): the state two user agents share after an INVITE, and the
//! requests made inside it (ACK, BYE, re-INVITE, UPDATE, INFO).

use crate::message::{CSeq, Method, NameAddr, Request, Response, SipMessage, Uri};

/// Why a dialog could not be made or a request did not fit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// A header needed to make the dialog is missing or malformed.
    #[error("missing or bad {0} header")]
    MissingHeader(&'static str),
    /// The request's CSeq is not above the last one (RFC 3261 12.2.2): answer 500.
    #[error("CSeq out of order")]
    CSeqOutOfOrder,
}

/// Which side of the dialog we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Uac,
    Uas,
}

/// A dialog's identity: Call-ID and both tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

/// One dialog's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    pub role: Role,
    pub local: NameAddr,
    pub remote: NameAddr,
    pub local_seq: u32,
    pub remote_seq: Option<u32>,
    pub remote_target: Uri,
    /// Route set, in the order requests carry it.
    pub route_set: Vec<String>,
}

impl Dialog {
    /// The caller's dialog from its INVITE and a 1xx (with To tag) or 2xx.
    pub fn uac(request: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let from = request.from().ok_or(DialogError::MissingHeader("From"))?;
        let to = response.to().ok_or(DialogError::MissingHeader("To"))?;
        let remote_tag = to
            .tag()
            .ok_or(DialogError::MissingHeader("To"))?
            .to_string();
        let contact = response
            .contacts()
            .into_iter()
            .next()
            .ok_or(DialogError::MissingHeader("Contact"))?;
        let mut route_set: Vec<String> = response
            .headers
            .all("Record-Route")
            .map(str::to_string)
            .collect();
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: request
                    .call_id()
                    .ok_or(DialogError::MissingHeader("Call-ID"))?
                    .to_string(),
                local_tag: from
                    .tag()
                    .ok_or(DialogError::MissingHeader("From"))?
                    .to_string(),
                remote_tag,
            },
            role: Role::Uac,
            local: from,
            remote: to,
            local_seq: request
                .cseq()
                .ok_or(DialogError::MissingHeader("CSeq"))?
                .seq,
            remote_seq: None,
            remote_target: contact.uri,
            route_set,
        })
    }

    /// The callee's dialog from an INVITE it answers with `local_tag`.
    pub fn uas(request: &Request, local_tag: &str) -> Result<Dialog, DialogError> {
        let from = request.from().ok_or(DialogError::MissingHeader("From"))?;
        let mut to = request.to().ok_or(DialogError::MissingHeader("To"))?;
        to.params.set("tag", Some(local_tag));
        let contact = request
            .contacts()
            .into_iter()
            .next()
            .ok_or(DialogError::MissingHeader("Contact"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: request
                    .call_id()
                    .ok_or(DialogError::MissingHeader("Call-ID"))?
                    .to_string(),
                local_tag: local_tag.to_string(),
                remote_tag: from
                    .tag()
                    .ok_or(DialogError::MissingHeader("From"))?
                    .to_string(),
            },
            role: Role::Uas,
            local: to,
            remote: from,
            local_seq: 0,
            remote_seq: Some(
                request
                    .cseq()
                    .ok_or(DialogError::MissingHeader("CSeq"))?
                    .seq,
            ),
            remote_target: contact.uri,
            route_set: request
                .headers
                .all("Record-Route")
                .map(str::to_string)
                .collect(),
        })
    }

    /// Whether a message belongs to this dialog (Call-ID and tags, from our side's view).
    pub fn matches(&self, msg: &impl SipMessage, incoming_request: bool) -> bool {
        let (ours, theirs) = if incoming_request {
            (msg.to_tag(), msg.from_tag())
        } else {
            (msg.from_tag(), msg.to_tag())
        };
        msg.call_id() == Some(self.id.call_id.as_str())
            && ours.as_deref() == Some(self.id.local_tag.as_str())
            && theirs.as_deref() == Some(self.id.remote_tag.as_str())
    }

    /// Checks an incoming in-dialog request and takes its CSeq and target refresh.
    pub fn on_request(&mut self, request: &Request) -> Result<(), DialogError> {
        let cseq = request.cseq().ok_or(DialogError::MissingHeader("CSeq"))?;
        if request.method != Method::Ack && request.method != Method::Cancel {
            if self.remote_seq.is_some_and(|s| cseq.seq <= s) {
                return Err(DialogError::CSeqOutOfOrder);
            }
            self.remote_seq = Some(cseq.seq);
        }
        if matches!(request.method, Method::Invite | Method::Update)
            && let Some(c) = request.contacts().into_iter().next()
        {
            self.remote_target = c.uri;
        }
        Ok(())
    }

    /// Takes the target refresh of a 2xx to our re-INVITE or UPDATE.
    pub fn on_refresh_response(&mut self, response: &Response) {
        if let Some(c) = response.contacts().into_iter().next() {
            self.remote_target = c.uri;
        }
    }

    /// A new in-dialog request (RFC 3261 12.2.1.1), CSeq incremented, with `via` on top.
    /// ACK takes `cseq` of the INVITE it acknowledges and does not increment.
    pub fn request(&mut self, method: Method, via: &str, ack_of: Option<u32>) -> Request {
        let seq = match ack_of {
            Some(s) => s,
            None => {
                self.local_seq += 1;
                self.local_seq
            }
        };
        let first_is_loose = self
            .route_set
            .first()
            .and_then(|r| NameAddr::parse(r).ok())
            .is_some_and(|r| r.uri.params.has("lr"));
        let mut routes = self.route_set.clone();
        let uri = if routes.is_empty() || first_is_loose {
            self.remote_target.clone()
        } else {
            // Strict routing: the first route becomes the Request-URI.
            let first = NameAddr::parse(&routes.remove(0))
                .map(|n| n.uri)
                .unwrap_or_else(|_| self.remote_target.clone());
            routes.push(format!("<{}>", self.remote_target));
            first
        };
        let mut req = Request::new(method.clone(), uri);
        req.headers.push("Via", via);
        req.headers.push("Max-Forwards", "70");
        for r in routes {
            req.headers.push("Route", r);
        }
        req.headers.push("From", self.local.to_string());
        req.headers.push("To", self.remote.to_string());
        req.headers.push("Call-ID", self.id.call_id.clone());
        req.headers.push("CSeq", CSeq { seq, method }.to_string());
        req
    }
}

/// The CANCEL for a request we sent (RFC 3261 9.1): same Request-URI, Call-ID, From, To,
/// CSeq number, top Via and Route.
pub fn cancel_for(request: &Request) -> Request {
    let mut c = Request::new(Method::Cancel, request.uri.clone());
    if let Some(v) = request.headers.get("Via") {
        c.headers.push("Via", v);
    }
    for name in ["Route", "From", "To", "Call-ID"] {
        for v in request.headers.all(name) {
            c.headers.push(name, v);
        }
    }
    let seq = request.cseq().map_or(1, |c| c.seq);
    c.headers.push("CSeq", format!("{seq} CANCEL"));
    c.headers.push("Max-Forwards", "70");
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, parse_datagram};

    fn parse_req(s: &str) -> Request {
        match parse_datagram(s.replace('\n', "\r\n").as_bytes()).unwrap() {
            Message::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn uac_dialog_routes_in_reverse_record_route_order_and_counts_cseq() {
        let invite = parse_req(
            "INVITE sip:102@d SIP/2.0\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\nFrom: <sip:101@d>;tag=aa\nTo: <sip:102@d>\nCall-ID: c1\nCSeq: 7 INVITE\nContact: <sip:x@a.invalid;transport=ws>\n\n",
        );
        let mut ok = invite.response(200, "OK");
        ok.set_to_tag("bb");
        ok.headers.push("Record-Route", "<sip:p2;lr>");
        ok.headers.push("Record-Route", "<sip:p1;lr>");
        ok.headers.push("Contact", "<sip:y@b.invalid;transport=ws>");
        let mut d = Dialog::uac(&invite, &ok).unwrap();
        let ack = d.request(
            Method::Ack,
            "SIP/2.0/WSS a.invalid;branch=z9hG4bK2",
            Some(7),
        );
        assert_eq!(ack.uri.host, "b.invalid");
        assert_eq!(
            ack.headers.all("Route").collect::<Vec<_>>(),
            ["<sip:p1;lr>", "<sip:p2;lr>"]
        );
        assert_eq!(ack.cseq().unwrap().seq, 7);
        let bye = d.request(Method::Bye, "SIP/2.0/WSS a.invalid;branch=z9hG4bK3", None);
        assert_eq!(bye.cseq().unwrap().seq, 8);
        assert_eq!(bye.to_tag().as_deref(), Some("bb"));
        assert!(
            d.matches(
                &parse_req(
                    &String::from_utf8(ok.to_bytes())
                        .unwrap()
                        .replace("SIP/2.0 200 OK", "BYE sip:x SIP/2.0")
                        .replace("7 INVITE", "8 BYE")
                        .replace("\r\n", "\n")
                ),
                false
            )
        );
    }

    #[test]
    fn uas_refuses_old_cseq() {
        let invite = parse_req(
            "INVITE sip:102@d SIP/2.0\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\nFrom: <sip:101@d>;tag=aa\nTo: <sip:102@d>\nCall-ID: c1\nCSeq: 7 INVITE\nContact: <sip:x@a.invalid;transport=ws>\n\n",
        );
        let mut d = Dialog::uas(&invite, "bb").unwrap();
        let stale = parse_req(
            "BYE sip:102@d SIP/2.0\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK9\nFrom: <sip:101@d>;tag=aa\nTo: <sip:102@d>;tag=bb\nCall-ID: c1\nCSeq: 7 BYE\n\n",
        );
        assert_eq!(d.on_request(&stale), Err(DialogError::CSeqOutOfOrder));
        let ok = parse_req(
            "BYE sip:102@d SIP/2.0\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK9\nFrom: <sip:101@d>;tag=aa\nTo: <sip:102@d>;tag=bb\nCall-ID: c1\nCSeq: 8 BYE\n\n",
        );
        assert!(d.matches(&ok, true));
        assert_eq!(d.on_request(&ok), Ok(()));
    }

    #[test]
    fn cancel_copies_the_invite() {
        let invite = parse_req(
            "INVITE sip:102@d SIP/2.0\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\nFrom: <sip:101@d>;tag=aa\nTo: <sip:102@d>\nCall-ID: c1\nCSeq: 7 INVITE\nRoute: <sip:gw;lr>\n\n",
        );
        let c = cancel_for(&invite);
        assert_eq!(c.branch().as_deref(), Some("z9hG4bK1"));
        assert_eq!(c.cseq().unwrap().to_string(), "7 CANCEL");
        assert_eq!(c.headers.get("Route"), Some("<sip:gw;lr>"));
    }
}
