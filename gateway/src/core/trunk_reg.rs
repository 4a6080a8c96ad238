//! Registering to a carrier (a trunk with an account): the gateway is the carrier's client.
//! It sends REGISTER over UDP from its SIP address (so the carrier's calls come to that
//! address), answers one digest challenge per attempt with the trunk's account (RFC 3261
//! 22.2; `qop=auth` when offered), refreshes at 80 % of what the carrier granted, and tries
//! again a minute after a refusal or silence. Calls from the carrier name the account in
//! the Request-URI and the number dialled in To (see [`Core::trunk_dialled`]).

use centrala_sip::Instant;
use centrala_sip::digest::{Challenge, Credentials};
use centrala_sip::message::{Message, Request, Response, SipMessage, parse_datagram};
use centrala_sip::transaction::TxKey;
use tracing::{info, warn};

use super::{Core, Timer, Transport};

/// Registration lifetime asked for, seconds.
pub const TRUNK_REG_EXPIRES: u32 = 600;
/// After a refusal or no answer, the next try.
pub const TRUNK_REG_RETRY_MS: u64 = 60_000;

/// One registering trunk's state.
#[derive(Debug)]
pub struct TrunkReg {
    call_id: String,
    tag: String,
    cseq: u32,
    /// The REGISTER waiting for its answer.
    tx: Option<TxKey>,
    /// It carried credentials (a second challenge is a refusal, not a new round).
    answered: bool,
    /// Registered until (as the carrier said).
    pub until: Option<Instant>,
}

impl Core {
    /// The trunks changed: registering ones not known yet register now; others go.
    pub(super) fn sync_trunk_regs(&mut self, now: Instant) {
        let names: Vec<String> = self
            .trunks
            .iter()
            .filter(|t| t.auth.is_some())
            .map(|t| t.name.clone())
            .collect();
        self.trunk_regs.retain(|name, _| names.contains(name));
        for name in names {
            if !self.trunk_regs.contains_key(&name) {
                let reg = TrunkReg {
                    call_id: format!("{}@centrala", self.rng.token(16)),
                    tag: self.rng.token(10),
                    cseq: 0,
                    tx: None,
                    answered: false,
                    until: None,
                };
                self.trunk_regs.insert(name.clone(), reg);
                self.timers.arm(now, Timer::TrunkRegister(name));
            }
        }
    }

    /// Whether a trunk is registered now (for metrics and tests).
    pub fn trunk_registered(&self, name: &str, now: Instant) -> bool {
        self.trunk_regs
            .get(name)
            .and_then(|r| r.until)
            .is_some_and(|u| u > now)
    }

    /// Sends (or refreshes) a trunk's REGISTER, with `auth` (the header's name and value)
    /// answering a challenge.
    pub(super) fn send_trunk_register(
        &mut self,
        name: &str,
        auth: Option<(&'static str, String)>,
        now: Instant,
    ) {
        let Some(t) = self.trunks.iter().find(|t| t.name == name).cloned() else {
            return;
        };
        let (transport, ours, flag, param) = match t.transport {
            crate::trunks::TrunkTransport::Udp => {
                (Transport::Udp, self.cfg.own.udp, "--sip-udp", "")
            }
            crate::trunks::TrunkTransport::Tcp => (
                Transport::Tcp,
                self.cfg.own.tcp,
                "--sip-tcp",
                ";transport=tcp",
            ),
            crate::trunks::TrunkTransport::Tls => (
                Transport::Tls,
                self.cfg.own.tls,
                "--sip-tls",
                ";transport=tls",
            ),
        };
        let (Some(account), Some(ours)) = (t.auth.clone(), ours) else {
            warn!(trunk = %name, "cannot register to the trunk: the gateway serves no SIP on its transport ({flag})");
            return;
        };
        let branch = self.rng.branch();
        let via = self.flows.via(transport, &branch);
        let Some(reg) = self.trunk_regs.get_mut(name) else {
            return;
        };
        if auth.is_none() && reg.tx.is_some() {
            // One REGISTER at a time: the one out ends in an answer or a timeout.
            return;
        }
        reg.cseq += 1;
        reg.answered = auth.is_some();
        let host = if t.host.contains(':') && !t.host.starts_with('[') {
            format!("[{}]", t.host)
        } else {
            t.host.clone()
        };
        let auth_line = auth
            .map(|(h, v)| format!("{h}: {v}\r\n"))
            .unwrap_or_default();
        let text = format!(
            "REGISTER sip:{host} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@{host}>;tag={tag}\r\nTo: <sip:{user}@{host}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{ours}{param}>\r\nExpires: {TRUNK_REG_EXPIRES}\r\n{auth_line}User-Agent: Centrala\r\nContent-Length: 0\r\n\r\n",
            user = account.username,
            tag = reg.tag,
            call_id = reg.call_id,
            cseq = reg.cseq,
            param = param,
        );
        let Ok(Message::Request(req)) = parse_datagram(text.as_bytes()) else {
            warn!(trunk = %name, "a REGISTER to the trunk could not be made");
            return;
        };
        let (flow, _) = self.trunk_flow(&t, now);
        let tx = self.tx.send_request(req, flow, transport.reliable(), now);
        if let Some(reg) = self.trunk_regs.get_mut(name) {
            reg.tx = Some(tx);
        }
    }

    /// The answer to a trunk's REGISTER (or its timeout, `None`); false when `key` is not
    /// one of ours.
    pub(super) fn on_trunk_reg_answer(
        &mut self,
        key: &TxKey,
        resp: Option<&Response>,
        now: Instant,
    ) -> bool {
        let Some(name) = self
            .trunk_regs
            .iter()
            .find(|(_, r)| r.tx.as_ref() == Some(key))
            .map(|(n, _)| n.clone())
        else {
            return false;
        };
        let Some(resp) = resp else {
            warn!(trunk = %name, "the trunk's registrar does not answer; trying again in a minute");
            self.trunk_reg_retry(&name, now);
            return true;
        };
        let status = resp.status;
        if status < 200 {
            return true;
        }
        let answered = self.trunk_regs.get(&name).is_some_and(|r| r.answered);
        match status {
            401 | 407 if !answered => {
                let header = if status == 401 {
                    "WWW-Authenticate"
                } else {
                    "Proxy-Authenticate"
                };
                let account = self
                    .trunks
                    .iter()
                    .find(|t| t.name == name)
                    .and_then(|t| t.auth.clone().map(|a| (a, t.host.clone())));
                let (Some(ch), Some((account, host))) =
                    (Challenge::pick(resp.headers.all(header)), account)
                else {
                    warn!(trunk = %name, status, "the trunk's challenge cannot be answered");
                    self.trunk_reg_retry(&name, now);
                    return true;
                };
                let cnonce = self.rng.token(12);
                let creds = Credentials::answer(
                    &ch,
                    "REGISTER",
                    &format!("sip:{host}"),
                    &account.username,
                    &account.password,
                    &cnonce,
                    1,
                );
                let name_h = if status == 401 {
                    "Authorization"
                } else {
                    "Proxy-Authorization"
                };
                self.send_trunk_register(&name, Some((name_h, creds.to_string())), now);
            }
            200..=299 => {
                let granted = granted_expires(resp).unwrap_or(TRUNK_REG_EXPIRES).max(60);
                let was = self.trunk_registered(&name, now);
                if let Some(r) = self.trunk_regs.get_mut(&name) {
                    r.tx = None;
                    r.until = Some(now + u64::from(granted) * 1000);
                }
                if !was {
                    info!(trunk = %name, expires = granted, "registered to the trunk");
                }
                let refresh = now + u64::from(granted) * 800;
                self.timers.arm(refresh, Timer::TrunkRegister(name));
            }
            _ => {
                warn!(trunk = %name, status, reason = %resp.reason, "the trunk refused the registration; trying again in a minute");
                self.trunk_reg_retry(&name, now);
            }
        }
        true
    }

    fn trunk_reg_retry(&mut self, name: &str, now: Instant) {
        if let Some(r) = self.trunk_regs.get_mut(name) {
            r.tx = None;
        }
        self.timers.arm(
            now + TRUNK_REG_RETRY_MS,
            Timer::TrunkRegister(name.to_string()),
        );
    }

    /// What a call from a trunk is for: the Request-URI's user, unless that is the account
    /// the gateway registered with there (the carrier sends calls to our registered
    /// Contact): then the number in To.
    pub(super) fn trunk_dialled(&self, req: &Request, flow: super::FlowId) -> Option<String> {
        let user = req.uri.user.clone()?;
        let peer = self.flows.get(flow)?.peer;
        let account = self.trunks.iter().any(|t| {
            t.addr.ip() == peer.ip() && t.auth.as_ref().is_some_and(|a| a.username == user)
        });
        if account {
            return req.to().and_then(|to| to.uri.user);
        }
        Some(user)
    }
}

/// The lifetime a registrar granted: our Contact's `expires`, else the Expires header.
fn granted_expires(resp: &Response) -> Option<u32> {
    let from_contact = resp.headers.all("Contact").find_map(|c| {
        c.split(';')
            .find_map(|p| p.trim().strip_prefix("expires="))
            .and_then(|v| v.trim().parse().ok())
    });
    from_contact.or_else(|| {
        resp.headers
            .get("Expires")
            .and_then(|e| e.trim().parse().ok())
    })
}
