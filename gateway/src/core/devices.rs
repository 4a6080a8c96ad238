//! Devices as people see them: the list for the devices page, and removing one. A removed
//! device's registration ends at once; a web app tab's connection is closed so that it
//! notices, and the same device is refused for a while with a 403 that says why, so it does
//! not simply register again: a browser by its instance id, a phone by the device credential
//! it used (a restarted phone comes back with a new contact). Logging in anew (the web app
//! makes a new instance id) or a new device credential is a new device.

use std::collections::BTreeMap;

use centrala_sip::Instant;
use serde::Serialize;
use tracing::info;
use utoipa::ToSchema;

use super::location::{AorKey, device_id};
use super::{Core, Output};

/// How long a removed device is refused: as long as the web app's credentials live.
pub const REMOVED_FOR_MS: u64 = crate::sipcred::LIFETIME_SECS as u64 * 1000;
/// At most this many removed devices are remembered (the oldest go first).
const MAX_REMOVED: usize = 10_000;

/// What kind of device it is, as far as the gateway can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// The web app in a browser tab.
    Browser,
    /// A phone or softphone with a device credential or the SIP password.
    Phone,
}

/// One registered device, for the devices page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeviceInfo {
    /// Stable id (see [`device_id`]), for removing it or making it the default.
    pub id: String,
    pub kind: DeviceKind,
    pub user_agent: Option<String>,
    /// `ws`, `wss`, `udp`, `tcp` or `tls`.
    pub transport: String,
    /// Where its requests come from (`ip:port`).
    pub source: String,
    /// Unix milliseconds.
    pub registered_ms: i64,
    pub last_seen_ms: i64,
    pub expires_ms: i64,
    /// The device credential's user name it registered with.
    pub credential: Option<String>,
}

/// What is refused after a removal, on an extension: a device by its key, or, for a phone
/// that registered with a device credential, that credential (a phone that restarts comes
/// back with a new contact; the credential is what stays the same).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Block {
    Key(Box<str>),
    Login(Box<str>),
}

/// Removed devices, refused until a time.
#[derive(Debug, Default)]
pub struct Removed {
    until: BTreeMap<(AorKey, Block), Instant>,
}

impl Removed {
    pub fn add(&mut self, aor: AorKey, key: Box<str>, login: Option<Box<str>>, until: Instant) {
        if self.until.len() >= MAX_REMOVED
            && let Some(oldest) = self
                .until
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(k, _)| k.clone())
        {
            self.until.remove(&oldest);
        }
        let block = match login {
            Some(l) => Block::Login(l),
            None => Block::Key(key),
        };
        self.until.insert((aor, block), until);
    }

    /// Whether a new registration of `key` (with the device credential `login`) is refused.
    pub fn is_removed(
        &mut self,
        aor: &AorKey,
        key: &str,
        login: Option<&str>,
        now: Instant,
    ) -> bool {
        let mut blocks = vec![Block::Key(key.into())];
        blocks.extend(login.map(|l| Block::Login(l.into())));
        let mut refused = false;
        for b in blocks {
            let k = (aor.clone(), b);
            match self.until.get(&k) {
                Some(t) if *t > now => refused = true,
                Some(_) => {
                    self.until.remove(&k);
                }
                None => {}
            }
        }
        refused
    }

    /// A new device credential was made or one revoked: the blocks of that credential go
    /// with it (a revoked one cannot register anyway).
    pub fn forget_login(&mut self, aor: &AorKey, login: &str) {
        self.until
            .remove(&(aor.clone(), Block::Login(login.into())));
    }
}

impl Core {
    /// An extension's registered devices, oldest first.
    pub fn devices(&self, company: i64, ext: &str, now: Instant) -> Vec<DeviceInfo> {
        let aor = AorKey::new(company, ext);
        let mut list: Vec<DeviceInfo> = self
            .location
            .bindings(&aor)
            .iter()
            .filter(|b| b.expires_at > now)
            .map(|b| {
                let (transport, source) = self
                    .flows
                    .get(b.flow)
                    .map(|f| (f.transport.as_str().to_string(), f.peer.to_string()))
                    .unwrap_or_default();
                DeviceInfo {
                    id: device_id(&b.key),
                    kind: if b.app {
                        DeviceKind::Browser
                    } else {
                        DeviceKind::Phone
                    },
                    user_agent: b.user_agent.as_deref().map(str::to_string),
                    transport,
                    source,
                    registered_ms: self.unix_ms(b.since),
                    last_seen_ms: self.unix_ms(b.seen),
                    expires_ms: self.unix_ms(b.expires_at),
                    credential: b.login.as_deref().map(str::to_string),
                }
            })
            .collect();
        list.sort_by_key(|d| d.registered_ms);
        list
    }

    /// Removes the device `id` of an extension: its registration ends now, a web app tab's
    /// connection is closed (it then hears why at its next REGISTER), and it is refused for
    /// [`REMOVED_FOR_MS`]. False when there is no such device.
    pub fn remove_device(&mut self, company: i64, ext: &str, id: &str, now: Instant) -> bool {
        let aor = AorKey::new(company, ext);
        let Some(b) = self
            .location
            .bindings(&aor)
            .iter()
            .find(|b| device_id(&b.key) == id)
            .cloned()
        else {
            return false;
        };
        self.location.remove(&aor, &b.key, &mut self.flows);
        self.removed.add(
            aor.clone(),
            b.key.clone(),
            b.login.clone(),
            now + REMOVED_FOR_MS,
        );
        info!(%aor, device = id, "device removed");
        self.close_if_idle(b.flow);
        self.presence_changed(std::slice::from_ref(&aor), now);
        true
    }

    /// A device credential was revoked: the devices registered with it go now (and the
    /// cached credential is forgotten, so it is refused from the next request on).
    pub fn credential_revoked(&mut self, company: i64, ext: &str, username: &str, now: Instant) {
        self.cache.account_changed(company, ext);
        let aor = AorKey::new(company, ext);
        let flows: Vec<_> = self
            .location
            .bindings(&aor)
            .iter()
            .filter(|b| b.login.as_deref() == Some(username))
            .map(|b| b.flow)
            .collect();
        if flows.is_empty() {
            return;
        }
        self.location.remove_where(&aor, &mut self.flows, |b| {
            b.login.as_deref() == Some(username)
        });
        self.removed.forget_login(&aor, username);
        info!(%aor, devices = flows.len(), "device credential revoked: its devices removed");
        for flow in flows {
            self.close_if_idle(flow);
        }
        self.presence_changed(std::slice::from_ref(&aor), now);
    }

    /// A stream flow whose device was removed and that carries no other registration is
    /// closed, so the device notices at once (UDP has nothing to close).
    fn close_if_idle(&mut self, flow: super::FlowId) {
        if !flow.is_udp() && self.flows.get(flow).is_some_and(|f| f.aors.is_empty()) {
            self.out.push_back(Output::Close { flow });
        }
    }
}
