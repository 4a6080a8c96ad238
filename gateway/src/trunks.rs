//! SIP trunks: the lines to the phone network (issue 15), kept in the `trunks` table and
//! set up by the installation's operator (`centrala trunk add|list|remove`). A trunk is a
//! carrier's SIP server by host and port; calls out go to the trunk with the lowest
//! priority first and fail over to the next when it answers 5xx or not at all. A trunk
//! without a user name is a trusted peer by its address (its calls in are not challenged);
//! one with a user name registers to the carrier.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::Serialize;
use sqlx::Row;

use crate::store::{Store, StoreError};

/// A trunk's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrunkTransport {
    Udp,
    Tcp,
    Tls,
}

impl TrunkTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            TrunkTransport::Udp => "udp",
            TrunkTransport::Tcp => "tcp",
            TrunkTransport::Tls => "tls",
        }
    }
}

impl FromStr for TrunkTransport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "udp" => Ok(TrunkTransport::Udp),
            "tcp" => Ok(TrunkTransport::Tcp),
            "tls" => Ok(TrunkTransport::Tls),
            _ => Err(format!("{s:?} is not a transport: udp, tcp or tls")),
        }
    }
}

/// A trunk as stored. `password` is never shown ([`fmt::Debug`] and serialisation leave
/// it out).
#[derive(Clone, Serialize)]
pub struct Trunk {
    pub id: i64,
    pub name: String,
    pub priority: i64,
    pub host: String,
    pub port: u16,
    pub transport: TrunkTransport,
    pub username: Option<String>,
    #[serde(skip)]
    pub password: Option<String>,
    pub codecs: Vec<String>,
}

impl fmt::Debug for Trunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trunk")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("priority", &self.priority)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("transport", &self.transport)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("codecs", &self.codecs)
            .finish()
    }
}

/// A new trunk, checked.
#[derive(Clone)]
pub struct NewTrunk {
    pub name: String,
    pub priority: i64,
    pub host: String,
    pub port: u16,
    pub transport: TrunkTransport,
    /// User name and password when the trunk registers.
    pub credentials: Option<(String, String)>,
    pub codecs: Vec<String>,
}

/// Codecs a trunk may name (the bridge carries G.711 to the network).
pub const TRUNK_CODECS: [&str; 2] = ["PCMA", "PCMU"];

impl NewTrunk {
    /// Checks what an operator typed; the error says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 40
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(format!(
                "{:?} is not a trunk name: 1-40 letters, digits, - or _",
                self.name
            ));
        }
        let host_ok = !self.host.is_empty()
            && self.host.len() <= 253
            && self
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !host_ok {
            return Err(format!("{:?} is not a host name or IP address", self.host));
        }
        if self.port == 0 {
            return Err("the port must be 1-65535".into());
        }
        if !(0..=1000).contains(&self.priority) {
            return Err("the priority must be 0-1000 (lower is tried first)".into());
        }
        if let Some((u, p)) = &self.credentials {
            if u.is_empty() || u.len() > 128 || u.chars().any(|c| c.is_control() || c == ' ') {
                return Err("the user name must be 1-128 characters without spaces".into());
            }
            if p.is_empty() || p.len() > 128 || p.chars().any(char::is_control) {
                return Err("the password must be 1-128 characters".into());
            }
        }
        if self.codecs.is_empty() {
            return Err("name at least one codec: PCMA, PCMU".into());
        }
        if let Some(c) = self
            .codecs
            .iter()
            .find(|c| !TRUNK_CODECS.contains(&c.as_str()))
        {
            return Err(format!(
                "{c:?} is not a codec a trunk can carry: PCMA, PCMU"
            ));
        }
        Ok(())
    }
}

/// Reads a codec list: "PCMA PCMU" or "pcma,pcmu".
pub fn parse_codecs(s: &str) -> Vec<String> {
    s.split([' ', ','])
        .filter(|c| !c.is_empty())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What the SIP core needs of a trunk: where it is and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreTrunk {
    pub name: String,
    /// The carrier's address (the host resolved at start or when the trunks change).
    pub addr: SocketAddr,
    /// The host as configured, for the Request-URI of calls to it.
    pub host: String,
    pub transport: TrunkTransport,
    /// The account the gateway registers with (a registering trunk).
    pub auth: Option<TrunkAuth>,
    /// The carrier's codecs in its order of preference ("PCMA", "PCMU").
    pub codecs: Vec<String>,
}

/// A registering trunk's account; the password is shown nowhere.
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkAuth {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for TrunkAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrunkAuth")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// The trusted peers trunks add to the operator's: each carrier's address on its transport
/// (the core takes calls from it unchallenged; the flood guard leaves it alone).
pub fn trusted_peers(trunks: &[CoreTrunk]) -> Vec<crate::trusted::TrustedPeer> {
    trunks
        .iter()
        .map(|t| crate::trusted::TrustedPeer {
            ip: t.addr.ip(),
            udp: t.transport == TrunkTransport::Udp,
            tcp: t.transport == TrunkTransport::Tcp,
            tls: t.transport == TrunkTransport::Tls,
        })
        .collect()
}

impl Store {
    /// Every trunk, in the order calls try them.
    pub async fn trunks(&self) -> Result<Vec<Trunk>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, priority, host, port, transport, username, password, codecs FROM trunks ORDER BY priority, id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Trunk {
                id: r.get(0),
                name: r.get(1),
                priority: r.get(2),
                host: r.get(3),
                port: r.get::<i64, _>(4) as u16,
                transport: r.get::<String, _>(5).parse().unwrap_or(TrunkTransport::Udp),
                username: r.get(6),
                password: r.get(7),
                codecs: parse_codecs(&r.get::<String, _>(8)),
            })
            .collect())
    }

    /// Adds a trunk (checked first); a name already taken is an error that says so.
    pub async fn add_trunk(&self, t: &NewTrunk, now: i64) -> Result<i64, StoreError> {
        t.check().map_err(StoreError::Invalid)?;
        let (user, pass) = match &t.credentials {
            Some((u, p)) => (Some(u.as_str()), Some(p.as_str())),
            None => (None, None),
        };
        let r = sqlx::query(
            "INSERT INTO trunks (name, priority, host, port, transport, username, password, codecs, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.name)
        .bind(t.priority)
        .bind(&t.host)
        .bind(t.port as i64)
        .bind(t.transport.as_str())
        .bind(user)
        .bind(pass)
        .bind(t.codecs.join(" "))
        .bind(now)
        .execute(self.pool())
        .await;
        match r {
            Ok(r) => Ok(r.last_insert_rowid()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Invalid(
                format!("a trunk named {:?} exists already", t.name),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a trunk by name; whether there was one.
    pub async fn remove_trunk(&self, name: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM trunks WHERE name = ?")
            .bind(name)
            .execute(self.pool())
            .await?
            .rows_affected()
            > 0)
    }
}

/// Resolves the trunks' hosts for the core; a host that does not resolve is left out with
/// a warning (calls go to the others).
pub async fn resolve(trunks: &[Trunk]) -> Vec<CoreTrunk> {
    let mut out = Vec::new();
    for t in trunks {
        let host = t.host.trim_start_matches('[').trim_end_matches(']');
        match tokio::net::lookup_host((host, t.port)).await {
            Ok(mut addrs) => match addrs.next() {
                Some(addr) => out.push(CoreTrunk {
                    name: t.name.clone(),
                    addr,
                    host: t.host.clone(),
                    transport: t.transport,
                    auth: t
                        .username
                        .clone()
                        .zip(t.password.clone())
                        .map(|(username, password)| TrunkAuth { username, password }),
                    codecs: t.codecs.clone(),
                }),
                None => {
                    tracing::warn!(trunk = %t.name, host = %t.host, "trunk host has no address: not used")
                }
            },
            Err(e) => {
                tracing::warn!(trunk = %t.name, host = %t.host, error = %e, "trunk host does not resolve: not used")
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str) -> NewTrunk {
        NewTrunk {
            name: name.into(),
            priority: 10,
            host: "sip.carrier.example".into(),
            port: 5060,
            transport: TrunkTransport::Udp,
            credentials: None,
            codecs: vec!["PCMA".into()],
        }
    }

    #[test]
    fn bad_trunks_are_refused_with_the_reason() {
        assert!(new("main").check().is_ok());
        assert!(new("").check().unwrap_err().contains("not a trunk name"));
        assert!(new("a b").check().unwrap_err().contains("not a trunk name"));
        let mut t = new("x");
        t.host = "bad host".into();
        assert!(t.check().unwrap_err().contains("host"));
        let mut t = new("x");
        t.codecs = vec!["G729".into()];
        assert!(t.check().unwrap_err().contains("G729"));
        let mut t = new("x");
        t.credentials = Some(("user".into(), String::new()));
        assert!(t.check().unwrap_err().contains("password"));
        let mut t = new("x");
        t.port = 0;
        assert!(t.check().is_err());
        assert_eq!(parse_codecs("pcma, PCMU"), vec!["PCMA", "PCMU"]);
    }

    #[test]
    fn the_password_is_never_shown() {
        let t = Trunk {
            id: 1,
            name: "main".into(),
            priority: 1,
            host: "h".into(),
            port: 5060,
            transport: TrunkTransport::Udp,
            username: Some("acme".into()),
            password: Some("s3cret-pass".into()),
            codecs: vec![],
        };
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(!serde_json::to_string(&t).unwrap().contains("s3cret"));
    }

    #[tokio::test]
    async fn trunks_are_stored_in_priority_order_and_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mut b = new("backup");
        b.priority = 20;
        store.add_trunk(&b, 0).await.unwrap();
        let mut a = new("main");
        a.priority = 5;
        a.credentials = Some(("acme".into(), "pw".into()));
        store.add_trunk(&a, 0).await.unwrap();
        let e = store.add_trunk(&a, 0).await.unwrap_err();
        assert!(e.to_string().contains("exists already"), "{e}");
        let all = store.trunks().await.unwrap();
        let names: Vec<_> = all.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["main", "backup"]);
        assert_eq!(all[0].password.as_deref(), Some("pw"));
        assert!(store.remove_trunk("backup").await.unwrap());
        assert!(!store.remove_trunk("backup").await.unwrap());
        assert_eq!(store.trunks().await.unwrap().len(), 1);
    }
}
