//! Call transfer (RFC 3515 REFER, RFC 5589 call control, RFC 3891 Replaces) and DTMF received
//! as SIP INFO, for [`UserAgent`].
//!
//! Three roles, all in this user agent:
//! - **transferor** ([`UserAgent::transfer`], blind; [`UserAgent::transfer_to_call`],
//!   attended): a REFER in the call's dialog. Its progress comes back as NOTIFYs with a
//!   `message/sipfrag` body and is reported as [`Event::Transfer`]. A blind transfer frees
//!   us once the target rings (the caller now rings someone else); an attended one once the
//!   target answered the transferee (then the consultation call ends too). A failure leaves
//!   the call as it was (usually held) so nobody is lost.
//! - **transferee**: a REFER from the far end is accepted (202) and reported as
//!   [`Event::TransferRequested`]; the app makes an offer and passes it to
//!   [`UserAgent::accept_transfer`], which calls the target (with the `Replaces` the REFER
//!   carried) and reports each step of that call back to the transferor (NOTIFY). Once the
//!   target answers, the referring call ends.
//! - **transfer target** of an attended transfer: an INVITE with `Replaces` naming one of our
//!   confirmed calls comes as [`Event::IncomingCall`] with `replaces`; answering it ends the
//!   replaced call. One naming no call of ours gets 481.
//!
//! REFERs from the network are trusted no further than the call they arrive in: only a
//! connected call takes one, one at a time, to a `sip:`/`sips:` address; the phone system
//! routes the resulting INVITE like any other call of ours (a target outside the company is
//! refused there, and reported to the transferor as the NOTIFY's final status).

use super::*;

/// How long the transferor's implicit subscription lasts (seconds, RFC 3515 2.4.4).
const REFER_EXPIRES: u32 = 60;

/// How a transfer we asked for goes (we are the transferor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferProgress {
    /// The REFER went out.
    Requested,
    /// The far end took it (202 Accepted) and calls the target.
    Accepted,
    /// The target rings.
    Ringing,
    /// The target answered; our call with the far end ends.
    Done,
    /// It did not work; the call stays as it was. `status` is the SIP code (of the REFER,
    /// or of the far end's call to the target), `reason` for a person.
    Failed { status: Option<u16>, reason: String },
}

/// Our REFER in a call (we are the transferor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Referring {
    /// The REFER's transaction, until it is answered.
    key: Option<TxKey>,
    /// Attended: the consultation call with the target, ended once the transfer is done.
    consultation: Option<CallHandle>,
}

/// A REFER we took (we are the transferee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Referred {
    target: Uri,
    /// The `Replaces` header for the INVITE (attended transfer), unescaped.
    replaces: Option<String>,
    referred_by: Option<String>,
    /// The call to the target, once the app placed it.
    new_call: Option<CallHandle>,
}

impl UserAgent {
    /// Blind transfer: asks the far end of `handle` (connected, held or not) to call `target`
    /// (an extension or a SIP address) instead of us. Progress comes as [`Event::Transfer`].
    /// `false` (and nothing sent) when the call is not connected or a transfer is under way.
    pub fn transfer(&mut self, handle: CallHandle, target: &str, now: Instant) -> bool {
        let uri = self.target_uri(target);
        let sent = self.refer(handle, format!("<{uri}>"), None, now);
        self.drain(now);
        sent
    }

    /// Attended transfer: connects the far end of `handle` with the far end of
    /// `consultation` (a call we made or took to talk to the target first): a REFER with
    /// `Replaces` naming the consultation's dialog (RFC 5589 7). Both our calls end once
    /// the target has taken the call over.
    pub fn transfer_to_call(
        &mut self,
        handle: CallHandle,
        consultation: CallHandle,
        now: Instant,
    ) -> bool {
        let Some(c) = self.calls.iter().find(|c| {
            c.handle == consultation && c.handle != handle && c.state == CallState::Connected
        }) else {
            return false;
        };
        let Some(d) = c.dialog.as_ref() else {
            return false;
        };
        let mut target = d.remote.uri.clone();
        target.params = Default::default();
        target.headers = None;
        let replaces = format!(
            "{};to-tag={};from-tag={}",
            d.id.call_id, d.id.remote_tag, d.id.local_tag
        );
        let refer_to = format!("<{target}?Replaces={}>", escape_header_value(&replaces));
        let sent = self.refer(handle, refer_to, Some(consultation), now);
        self.drain(now);
        sent
    }

    fn refer(
        &mut self,
        handle: CallHandle,
        refer_to: String,
        consultation: Option<CallHandle>,
        now: Instant,
    ) -> bool {
        let Some(i) = self.calls.iter().position(|c| {
            c.handle == handle
                && c.state == CallState::Connected
                && c.referring.is_none()
                && c.referred.is_none()
        }) else {
            return false;
        };
        let via = self.via();
        let contact = self.contact_uri();
        let referred_by = format!("<{}>", self.aor());
        let Some(dialog) = self.calls[i].dialog.as_mut() else {
            return false;
        };
        let mut r = dialog.request(Method::Refer, &via, None);
        r.headers.push("Contact", format!("<{contact}>"));
        r.headers.push("Refer-To", refer_to);
        r.headers.push("Referred-By", referred_by);
        let key = self.tx.send_request(r, (), true, now);
        self.calls[i].referring = Some(Referring {
            key: Some(key),
            consultation,
        });
        self.events.push_back(Event::Transfer {
            call: handle,
            progress: TransferProgress::Requested,
        });
        true
    }

    /// The far end's answer to our REFER (`true`: it was ours).
    pub(super) fn on_refer_response(&mut self, key: &TxKey, resp: &Response) -> bool {
        let Some(i) = self.calls.iter().position(|c| {
            c.referring
                .as_ref()
                .is_some_and(|r| r.key.as_ref() == Some(key))
        }) else {
            return false;
        };
        let handle = self.calls[i].handle;
        match resp.status {
            100..=199 => {}
            200..=299 => {
                if let Some(r) = self.calls[i].referring.as_mut() {
                    r.key = None;
                }
                self.events.push_back(Event::Transfer {
                    call: handle,
                    progress: TransferProgress::Accepted,
                });
            }
            status => {
                let reason = match status {
                    403 => "The transfer was refused".to_string(),
                    405 | 501 => "The other side cannot be transferred".to_string(),
                    408 => "No answer to the transfer".to_string(),
                    481 => "The call is over".to_string(),
                    _ => format!("Transfer failed: {} {}", status, resp.reason),
                };
                self.transfer_failed(i, Some(status), reason);
            }
        }
        true
    }

    /// Our REFER was not answered (`true`: it was ours).
    pub(super) fn on_refer_timeout(&mut self, key: &TxKey) -> bool {
        let Some(i) = self.calls.iter().position(|c| {
            c.referring
                .as_ref()
                .is_some_and(|r| r.key.as_ref() == Some(key))
        }) else {
            return false;
        };
        self.transfer_failed(i, Some(408), "No answer to the transfer".into());
        true
    }

    fn transfer_failed(&mut self, i: usize, status: Option<u16>, reason: String) {
        self.calls[i].referring = None;
        self.events.push_back(Event::Transfer {
            call: self.calls[i].handle,
            progress: TransferProgress::Failed { status, reason },
        });
    }

    /// A NOTIFY of our REFER's implicit subscription (RFC 3515 2.4.4), in call `i`.
    pub(super) fn on_refer_notify(&mut self, i: usize, key: TxKey, req: Request, now: Instant) {
        let event = req.headers.get("Event").unwrap_or("");
        let is_refer = event
            .split(';')
            .next()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case("refer"));
        if !is_refer || self.calls[i].referring.is_none() {
            self.tx
                .send_response(&key, req.response(481, "Subscription Does Not Exist"), now);
            return;
        }
        self.tx.send_response(&key, req.response(200, "OK"), now);
        let terminated = req.headers.get("Subscription-State").is_some_and(|s| {
            s.trim_start()
                .to_ascii_lowercase()
                .starts_with("terminated")
        });
        let frag = sipfrag_status(&req.body);
        let handle = self.calls[i].handle;
        let consultation = self.calls[i]
            .referring
            .as_ref()
            .and_then(|r| r.consultation);
        match frag {
            Some((180 | 183, _)) if !terminated => {
                self.events.push_back(Event::Transfer {
                    call: handle,
                    progress: TransferProgress::Ringing,
                });
                if consultation.is_none() {
                    // Blind: the caller rings the target now; we are free.
                    self.transfer_done(i, now);
                }
            }
            Some((100..=199, _)) if !terminated => {}
            Some((200..=299, _)) => self.transfer_done(i, now),
            Some((status, reason)) if status >= 300 => {
                let reason = match status {
                    404 => "Transfer failed: no such extension".to_string(),
                    480 => "Transfer failed: nobody is logged in there".to_string(),
                    486 | 600 => "Transfer failed: busy".to_string(),
                    603 => "Transfer failed: declined".to_string(),
                    403 => "Transfer failed: the phone system refused it".to_string(),
                    487 => "Transfer failed: cancelled".to_string(),
                    _ => format!("Transfer failed: {status} {reason}"),
                };
                self.transfer_failed(i, Some(status), reason);
            }
            _ if terminated => {
                self.transfer_failed(i, None, "The transfer ended without a result".into())
            }
            _ => {}
        }
    }

    /// The transfer worked: our call (and the consultation) end.
    fn transfer_done(&mut self, i: usize, now: Instant) {
        let handle = self.calls[i].handle;
        let consultation = self.calls[i].referring.take().and_then(|r| r.consultation);
        self.events.push_back(Event::Transfer {
            call: handle,
            progress: TransferProgress::Done,
        });
        self.send_in_dialog(i, Method::Bye, now);
        self.end(i, "Call transferred", None, true);
        if let Some(c) = consultation
            && let Some(j) = self.calls.iter().position(|x| x.handle == c)
            && self.calls[j].live()
        {
            self.send_in_dialog(j, Method::Bye, now);
            self.end(j, "Call transferred", None, true);
        }
    }

    /// A REFER from the far end of call `i` (we are the transferee).
    pub(super) fn on_refer(&mut self, i: usize, key: TxKey, req: Request, now: Instant) {
        let refuse = |ua: &mut UserAgent, status: u16, reason: &str| {
            ua.tx.send_response(&key, req.response(status, reason), now);
        };
        if self.calls[i].state != CallState::Connected {
            return refuse(self, 403, "Forbidden (the call is not connected)");
        }
        if self.calls[i].referred.is_some() || self.calls[i].referring.is_some() {
            return refuse(self, 491, "Request Pending (a transfer is under way)");
        }
        let mut targets = req.headers.all("Refer-To");
        let (Some(refer_to), None) = (targets.next(), targets.next()) else {
            return refuse(self, 400, "Bad Request (one Refer-To is required)");
        };
        let Ok(na) = NameAddr::parse(refer_to.trim()) else {
            return refuse(self, 400, "Bad Request (Refer-To is not an address)");
        };
        if !matches!(na.uri.scheme.as_str(), "sip" | "sips") || na.uri.host.is_empty() {
            return refuse(self, 403, "Forbidden (only sip: addresses can be called)");
        }
        let Some(user) = na.uri.user.clone().filter(|u| !u.is_empty()) else {
            return refuse(self, 400, "Bad Request (Refer-To names nobody)");
        };
        let replaces = na.uri.headers.as_deref().and_then(|h| {
            h.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                k.eq_ignore_ascii_case("Replaces").then(|| unescape(v))
            })
        });
        if let Some(Some(bad)) = replaces.as_ref().map(|r| r.as_ref().err()) {
            return refuse(self, 400, bad);
        }
        let replaces = replaces.and_then(Result::ok);
        let mut target = na.uri.clone();
        target.headers = None;
        let contact = self.contact_uri();
        let mut accepted = req.response(202, "Accepted");
        accepted.headers.push("Contact", format!("<{contact}>"));
        self.tx.send_response(&key, accepted, now);
        self.calls[i].referred = Some(Referred {
            target,
            replaces: replaces.clone(),
            referred_by: req.headers.get("Referred-By").map(str::to_string),
            new_call: None,
        });
        self.notify_refer(i, "SIP/2.0 100 Trying", false, now);
        self.events.push_back(Event::TransferRequested {
            call: self.calls[i].handle,
            target: Party {
                user,
                display: na.display.filter(|d| !d.trim().is_empty()),
            },
            replacing: replaces.is_some(),
        });
    }

    /// Places the call a REFER in `handle` asked for, with our SDP offer (after
    /// [`Event::TransferRequested`]). Its progress goes back to the transferor; once it is
    /// answered, `handle` ends. `None` when no transfer waits for a call.
    pub fn accept_transfer(
        &mut self,
        handle: CallHandle,
        sdp: String,
        now: Instant,
    ) -> Option<CallHandle> {
        let i = self.calls.iter().position(|c| {
            c.handle == handle
                && c.live()
                && c.referred.as_ref().is_some_and(|r| r.new_call.is_none())
        })?;
        let referred = self.calls[i].referred.clone()?;
        let mut extra = Vec::new();
        if let Some(r) = &referred.replaces {
            extra.push(("Replaces", r.clone()));
        }
        if let Some(by) = &referred.referred_by {
            extra.push(("Referred-By", by.clone()));
        }
        let new = self.place_call(referred.target, sdp, &extra, Some(handle), now);
        if let Some(j) = self.calls.iter().position(|c| c.handle == handle)
            && let Some(r) = self.calls[j].referred.as_mut()
        {
            r.new_call = Some(new);
        }
        if let Some(k) = self.calls.iter().position(|c| c.handle == new) {
            self.calls[k].refer_of = Some(handle);
        }
        self.drain(now);
        Some(new)
    }

    /// Declines the transfer asked for in `handle` (the app could not make the call): the
    /// transferor hears 603 and the call goes on.
    pub fn refuse_transfer(&mut self, handle: CallHandle, now: Instant) {
        let Some(i) = self.calls.iter().position(|c| {
            c.handle == handle && c.referred.as_ref().is_some_and(|r| r.new_call.is_none())
        }) else {
            return;
        };
        self.calls[i].referred = None;
        self.notify_refer(i, "SIP/2.0 603 Declined", true, now);
        self.drain(now);
    }

    /// The call `new` (placed for a REFER) got a response with `status`: tell the
    /// transferor; on an answer, end the referring call.
    pub(super) fn referral_progress(
        &mut self,
        new: CallHandle,
        status: u16,
        reason: &str,
        now: Instant,
    ) {
        let Some(i) = self
            .calls
            .iter()
            .position(|c| c.referred.as_ref().is_some_and(|r| r.new_call == Some(new)))
        else {
            return;
        };
        match status {
            180 | 183 => {
                self.notify_refer(i, &format!("SIP/2.0 {status} {reason}"), false, now);
            }
            200..=299 => {
                self.calls[i].referred = None;
                self.notify_refer(i, &format!("SIP/2.0 {status} {reason}"), true, now);
                if self.calls[i].live() {
                    self.send_in_dialog(i, Method::Bye, now);
                    self.end(i, "Call transferred", None, true);
                }
            }
            300.. => {
                self.calls[i].referred = None;
                self.notify_refer(i, &format!("SIP/2.0 {status} {reason}"), true, now);
            }
            _ => {}
        }
    }

    /// A NOTIFY of the REFER's implicit subscription in call `i` (RFC 3515 2.4.4).
    fn notify_refer(&mut self, i: usize, frag: &str, terminated: bool, now: Instant) {
        let via = self.via();
        let contact = self.contact_uri();
        let Some(dialog) = self.calls[i].dialog.as_mut() else {
            return;
        };
        let mut r = dialog.request(Method::Notify, &via, None);
        r.headers.push("Contact", format!("<{contact}>"));
        r.headers.push("Event", "refer");
        r.headers.push(
            "Subscription-State",
            if terminated {
                "terminated;reason=noresource".to_string()
            } else {
                format!("active;expires={REFER_EXPIRES}")
            },
        );
        r.headers
            .push("Content-Type", "message/sipfrag;version=2.0");
        r.body = format!("{frag}\r\n").into_bytes();
        self.tx.send_request(r, (), true, now);
    }

    /// The call an INVITE's `Replaces` header names (RFC 3891 3): one of our confirmed
    /// calls whose dialog has that Call-ID, our tag as `to-tag` and the far end's as
    /// `from-tag`.
    pub(super) fn replaced_call(&self, replaces: &str) -> Option<CallHandle> {
        let mut parts = replaces.split(';').map(str::trim);
        let call_id = parts.next().filter(|c| !c.is_empty())?;
        let (mut to_tag, mut from_tag) = (None, None);
        for p in parts {
            match p.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("to-tag") => to_tag = Some(v.trim()),
                Some((k, v)) if k.trim().eq_ignore_ascii_case("from-tag") => {
                    from_tag = Some(v.trim())
                }
                _ => {}
            }
        }
        let (to_tag, from_tag) = (to_tag?, from_tag?);
        self.calls
            .iter()
            .find(|c| {
                matches!(c.state, CallState::Connected | CallState::Answered { .. })
                    && c.dialog.as_ref().is_some_and(|d| {
                        d.id.call_id == call_id
                            && d.id.local_tag == to_tag
                            && d.id.remote_tag == from_tag
                    })
            })
            .map(|c| c.handle)
    }

    /// Sends key `digit` (0-9, *, #, A-D) in call `handle` as SIP INFO
    /// (`application/dtmf-relay`), for a far end that takes no RFC 4733 events in the media.
    /// `false` when the call is not connected or `digit` is not a key.
    pub fn send_dtmf_info(&mut self, handle: CallHandle, digit: char, now: Instant) -> bool {
        let Some(digit) = dtmf_digit(&digit.to_string()) else {
            return false;
        };
        let Some(i) = self
            .calls
            .iter()
            .position(|c| c.handle == handle && c.state == CallState::Connected)
        else {
            return false;
        };
        let via = self.via();
        let Some(dialog) = self.calls[i].dialog.as_mut() else {
            return false;
        };
        let mut r = dialog.request(Method::Info, &via, None);
        r.headers.push("Content-Type", "application/dtmf-relay");
        r.body = format!("Signal={digit}\r\nDuration=160\r\n").into_bytes();
        self.tx.send_request(r, (), true, now);
        self.drain(now);
        true
    }

    /// DTMF sent as SIP INFO in call `i` (`application/dtmf-relay`, `application/dtmf`):
    /// the digit, when the body carries one.
    pub(super) fn on_info_dtmf(&mut self, i: usize, req: &Request) {
        let Some(ct) = req.content_type() else {
            return;
        };
        let ct = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let body = String::from_utf8_lossy(&req.body);
        let digit = match ct.as_str() {
            "application/dtmf-relay" => body.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("Signal")
                    .then(|| dtmf_digit(v.trim()))
                    .flatten()
            }),
            "application/dtmf" => dtmf_digit(body.trim()),
            _ => None,
        };
        if let Some(digit) = digit {
            self.events.push_back(Event::Dtmf {
                call: self.calls[i].handle,
                digit,
            });
        }
    }
}

/// A DTMF key from its name in an INFO body: 0-9, *, #, A-D, or the event codes 10 (*) and
/// 11 (#) of RFC 4733.
fn dtmf_digit(s: &str) -> Option<char> {
    match s {
        "10" => Some('*'),
        "11" => Some('#'),
        _ => {
            let mut chars = s.chars();
            let c = chars.next()?.to_ascii_uppercase();
            (chars.next().is_none() && matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')).then_some(c)
        }
    }
}

/// The status line of a `message/sipfrag` body: ("SIP/2.0 180 Ringing" → (180, "Ringing")).
fn sipfrag_status(body: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let mut parts = line.splitn(3, ' ');
    if !parts.next()?.eq_ignore_ascii_case("SIP/2.0") {
        return None;
    }
    let status: u16 = parts.next()?.parse().ok()?;
    (100..700)
        .contains(&status)
        .then(|| (status, parts.next().unwrap_or("").trim().to_string()))
}

/// A header value escaped for a URI's `?headers` part (RFC 3261 25.1 `hvalue`): everything
/// but unreserved characters and a few marks is %-encoded.
fn escape_header_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len() * 2);
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes %-encoding; an error names what is wrong.
fn unescape(v: &str) -> Result<String, &'static str> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("Bad Request (a broken %-escape in Refer-To)")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "Bad Request (Refer-To is not UTF-8)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_round_trips_through_a_refer_to_uri() {
        let r = "a8f@host;to-tag=x y;from-tag=1=2";
        let e = escape_header_value(r);
        assert!(!e.contains(';') && !e.contains('=') && !e.contains('@') && !e.contains(' '));
        assert_eq!(unescape(&e).unwrap(), r);
        assert!(unescape("%4").is_err());
        assert!(unescape("%zz").is_err());
    }

    #[test]
    fn sipfrag_and_dtmf_bodies() {
        assert_eq!(
            sipfrag_status(b"SIP/2.0 180 Ringing\r\n"),
            Some((180, "Ringing".into()))
        );
        assert_eq!(
            sipfrag_status(b"SIP/2.0 200\r\n"),
            Some((200, String::new()))
        );
        assert_eq!(sipfrag_status(b"HTTP/1.1 200 OK"), None);
        assert_eq!(sipfrag_status(b"SIP/2.0 99 x"), None);
        assert_eq!(dtmf_digit("5"), Some('5'));
        assert_eq!(dtmf_digit("10"), Some('*'));
        assert_eq!(dtmf_digit("11"), Some('#'));
        assert_eq!(dtmf_digit("d"), Some('D'));
        assert_eq!(dtmf_digit("55"), None);
        assert_eq!(dtmf_digit("x"), None);
    }
}
