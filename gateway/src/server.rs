//! The gateway's outside: HTTP (the web app, `/healthz`, `/api/v1/config`), the SIP
//! WebSocket at `/sip`, and SIP over UDP and TCP. [`run`] takes bound sockets and a shutdown
//! future, so tests start a real server on `127.0.0.1:0`.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use centrala_sip::framing::{Frame, Framer};
use centrala_sip::message::{MAX_MESSAGE_SIZE, Message, bad_request_for, parse_datagram};
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tower_http::services::{ServeDir, ServeFile};
use tracing::{debug, info, warn};

use crate::api::{ApiConfig, ApiState, Origins};
use crate::core::{Core, CoreConfig, OwnAddresses, Transport};
use crate::driver::{CoreInput, Driver, ToConn, UdpIn};
use crate::headers::SecurityHeaders;
use crate::limits::{FloodGuard, Limits, source_key};
use crate::mail::{MailConfig, Mailer};
use crate::mailqueue::{MailQueue, RetryPolicy};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::trusted::{TrustedPeer, is_trusted};
use crate::ws;

/// Messages waiting for the core at most; past that UDP datagrams are dropped and stream
/// connections wait (back-pressure).
const CORE_QUEUE: usize = 8192;

/// What `centrala serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub domain: String,
    /// The built web app (Trunk's `dist/`).
    pub web_root: PathBuf,
    pub nonce_secret: [u8; 32],
    /// Peers not challenged for out-of-dialog requests other than REGISTER, each on the
    /// transports named ([`TrustedPeer`]).
    pub trusted: Vec<TrustedPeer>,
    /// Addresses besides loopback that may read `/metrics`.
    pub metrics_allow: Vec<IpAddr>,
    pub limits: Limits,
    /// Links in e-mails, session and link lifetimes.
    pub api: ApiConfig,
    /// Where e-mail goes (SMTP, or `.eml` files).
    pub mail: MailConfig,
    /// How undelivered e-mail is retried.
    pub mail_retry: RetryPolicy,
    /// The media plane and its voicemail service; `None`: no voicemail (its rules are
    /// skipped).
    pub media: Option<crate::vmserver::MediaConfig>,
    /// The media relay for browsers (TURN); `None`: browsers get no relay.
    pub turn: Option<crate::turn::TurnConfig>,
    /// A CA (PEM) that TLS trunks' certificates may chain to besides the Mozilla roots.
    pub trunk_ca: Option<PathBuf>,
}

impl ServeConfig {
    pub fn new(domain: &str, web_root: PathBuf) -> ServeConfig {
        ServeConfig {
            domain: domain.to_string(),
            web_root,
            nonce_secret: rand::random(),
            trusted: Vec::new(),
            metrics_allow: Vec::new(),
            limits: Limits::default(),
            api: ApiConfig::default(),
            mail: MailConfig::Files {
                dir: PathBuf::from("data/mail"),
                from: format!("Centrala <no-reply@{domain}>"),
            },
            mail_retry: RetryPolicy::default(),
            media: None,
            turn: None,
            trunk_ca: None,
        }
    }
}

/// The sockets to serve on: HTTP always; HTTPS/WSS, SIP over UDP, TCP and TLS when
/// configured (`tls` is needed for `https` and `sip_tls`).
pub struct Listeners {
    pub http: TcpListener,
    pub sip_udp: Option<UdpSocket>,
    pub sip_tcp: Option<TcpListener>,
    pub sip_tls: Option<TcpListener>,
    pub https: Option<TcpListener>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Listeners {
    /// Only HTTP (and SIP over WebSocket on it).
    pub fn http(http: TcpListener) -> Listeners {
        Listeners {
            http,
            sip_udp: None,
            sip_tcp: None,
            sip_tls: None,
            https: None,
            tls: None,
        }
    }
}

/// What every connection task shares.
#[derive(Clone)]
struct Edge {
    core: mpsc::Sender<CoreInput>,
    next_conn: Arc<AtomicU64>,
    domain: String,
    limits: Limits,
    gate: Gate,
    connections: Arc<Mutex<Connections>>,
    /// Pages that may open `/sip` (a request without `Origin` is not a page's).
    origins: Origins,
}

/// Admission of messages: trusted peers pass, other sources count against the flood guard.
/// Held by the UDP edge in the core's own thread, which must not hold a sender of the
/// core's queue (the queue closing is what ends the core).
#[derive(Clone)]
struct Gate {
    /// The operator's trusted peers and the trunks' addresses (these change with the
    /// trunks: see [`reload_trunks`]).
    trusted: Arc<std::sync::RwLock<Vec<TrustedPeer>>>,
    flood: Arc<Mutex<FloodGuard>>,
    epoch: tokio::time::Instant,
}

impl Gate {
    fn trusts(&self, ip: IpAddr, transport: Transport) -> bool {
        let trusted = self.trusted.read().unwrap_or_else(|e| e.into_inner());
        is_trusted(&trusted, ip, transport)
    }

    /// Counts a message from `ip` on `transport`; false when its source floods and is banned.
    /// Sources count by [`source_key`] (an IPv6 /64 as one).
    fn admit(&self, ip: IpAddr, transport: Transport) -> bool {
        if self.trusts(ip, transport) {
            return true;
        }
        let (now, key) = (self.epoch.elapsed().as_millis() as u64, source_key(ip));
        let mut flood = self.flood.lock().unwrap_or_else(|e| e.into_inner());
        let ok = flood.hit(&key, now);
        if !ok && !flood.is_banned(&key, now.saturating_sub(1)) {
            warn!(%ip, "flood: source banned");
        }
        ok
    }
}

/// Open connections, in all and by source address.
#[derive(Default)]
struct Connections {
    total: usize,
    by_ip: std::collections::HashMap<IpAddr, usize>,
}

/// Why a connection was not given a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// This source address has its share.
    PerAddress,
    /// The gateway holds `Limits::max_connections`.
    Full,
}

impl Edge {
    /// Hands an input to the core, waiting while its queue is full. The wait is boxed: a
    /// `Sender::send` future is ~660 bytes, and inline it would sit in every connection
    /// task's state for the connection's whole life, not only while it waits.
    async fn to_core(&self, input: CoreInput) -> bool {
        match self.core.try_send(input) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
            Err(mpsc::error::TrySendError::Full(input)) => {
                Box::pin(self.core.send(input)).await.is_ok()
            }
        }
    }

    fn now(&self) -> u64 {
        self.gate.epoch.elapsed().as_millis() as u64
    }

    /// Counts a message from `ip` on `transport`; false when its source floods and is banned.
    fn admit(&self, ip: IpAddr, transport: Transport) -> bool {
        self.gate.admit(ip, transport)
    }

    /// Whether the source of `ip` is banned by the flood guard.
    fn banned(&self, ip: IpAddr) -> bool {
        self.gate
            .flood
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_banned(&source_key(ip), self.now())
    }

    /// Takes a connection slot for `ip`, unless its source (an IPv6 /64 as one) or the
    /// gateway has too many.
    fn open_slot(&self, ip: IpAddr, transport: Transport) -> Result<Slot, Refused> {
        let mut conns = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        if conns.total >= self.limits.max_connections {
            return Err(Refused::Full);
        }
        let ip = source_key(ip);
        let n = conns.by_ip.entry(ip).or_insert(0);
        if *n >= self.limits.max_connections_per_ip && !self.gate.trusts(ip, transport) {
            return Err(Refused::PerAddress);
        }
        *n += 1;
        conns.total += 1;
        Ok(Slot {
            ip,
            connections: self.connections.clone(),
        })
    }
}

/// A connection slot, given back on drop.
struct Slot {
    ip: IpAddr,
    connections: Arc<Mutex<Connections>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut conns = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        conns.total = conns.total.saturating_sub(1);
        if let Some(n) = conns.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                conns.by_ip.remove(&self.ip);
            }
        }
    }
}

/// How often the trunks are read again (see [`reload_trunks`]).
const TRUNK_RELOAD: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the trunks again every [`TRUNK_RELOAD`] and tells the core when they changed.
async fn reload_trunks(
    store: Store,
    core: mpsc::Sender<CoreInput>,
    mut known: Vec<crate::trunks::CoreTrunk>,
    (gate, operator): (Arc<std::sync::RwLock<Vec<TrustedPeer>>>, Vec<TrustedPeer>),
) {
    loop {
        tokio::time::sleep(TRUNK_RELOAD).await;
        let trunks = match store.trunks().await {
            Ok(t) => crate::trunks::resolve(&t).await,
            Err(e) => {
                tracing::warn!(error = %e, "trunks could not be read: the last ones stay");
                continue;
            }
        };
        if trunks != known {
            known = trunks.clone();
            *gate.write().unwrap_or_else(|e| e.into_inner()) = operator
                .iter()
                .copied()
                .chain(crate::trunks::trusted_peers(&trunks))
                .collect();
            if core.send(CoreInput::Trunks(trunks)).await.is_err() {
                return;
            }
        }
    }
}

/// Serves until `shutdown` completes.
pub async fn run(
    listeners: Listeners,
    store: Store,
    cfg: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Bounded: under overload UDP datagrams are shed at the door (their senders retransmit)
    // instead of queueing without limit until every answer is too late.
    let (core_tx, core_rx) = mpsc::channel(CORE_QUEUE);
    // The default company follows the configured domain (requests to an IP address are
    // taken to be for it).
    store
        .set_company_domain(crate::accounts::DEFAULT_COMPANY, &cfg.domain)
        .await
        .map_err(|e| anyhow::anyhow!("domain {}: {e}", cfg.domain))?;
    let sip_secret = sip_secret(&store).await?;
    // Voicemail files an interrupted write left without a row.
    match store.sweep_voicemail_files().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "voicemail: removed files without a message"),
        Err(e) => tracing::warn!(error = %e, "voicemail: sweep failed"),
    }
    let mailer = Mailer::new(&cfg.mail)?;
    // Every e-mail goes through the database queue; its worker retries what failed, also
    // mail left over from before a restart.
    let mail = MailQueue::new(store.clone(), mailer, cfg.mail_retry);
    tokio::spawn(mail.clone().run());
    let next_conn = Arc::new(AtomicU64::new(1));
    let udp = listeners.sip_udp;
    let udp_addr = udp.as_ref().map(|u| u.local_addr()).transpose()?;
    let tls_addr = listeners
        .sip_tls
        .as_ref()
        .map(|t| t.local_addr())
        .transpose()?;
    let tcp_addr = listeners
        .sip_tcp
        .as_ref()
        .map(|t| t.local_addr())
        .transpose()?;
    // The trunks to the phone network; read again every TRUNK_RELOAD (the operator's
    // `centrala trunk add|remove` and changed DNS names take effect without a restart).
    let trunks = crate::trunks::resolve(&store.trunks().await?).await;
    let epoch = tokio::time::Instant::now();
    let unix_epoch_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let core = Core::new(
        CoreConfig {
            own: OwnAddresses {
                domain: cfg.domain.clone(),
                udp: udp_addr,
                tcp: tcp_addr,
                tls: tls_addr,
            },
            nonce_secret: cfg.nonce_secret,
            trusted: cfg.trusted.clone(),
            limits: cfg.limits.clone(),
            sip_secret,
            unix_epoch_ms,
            trunks: trunks.clone(),
        },
        // ChaCha12 seeded from the OS (rand's thread generator): branches, tags and nonce
        // salts must not be predictable.
        rand::random::<[u8; 32]>(),
        0,
    );
    let metrics = Arc::new(Metrics::new());
    let metrics_allow = Arc::new(cfg.metrics_allow.clone());
    let core_store = store.clone();
    let l = &cfg.limits;
    // The device credentials page tells phones where SIP is served.
    let mut api_cfg = cfg.api.clone();
    // The relay for browsers; it serves as long as this function runs.
    // A relay that cannot start (its port taken, say by another TURN server on this
    // machine) is reported, and the gateway serves without it: browsers then get no relay
    // (`GET /api/v1/ice` lists none) rather than no phone system.
    let _turn = match &cfg.turn {
        Some(t) => match crate::turn::start(t).await {
            Ok(server) => {
                api_cfg.turn = Some(t.clone());
                Some(server)
            }
            Err(e) => {
                tracing::error!(listen = %t.listen, error = %e, "the TURN relay for browsers did not start (--turn-port 0 turns it off); serving without it");
                None
            }
        },
        None => None,
    };
    api_cfg.sip.udp = udp_addr;
    api_cfg.sip.tcp = tcp_addr;
    api_cfg.sip.tls = tls_addr;
    let api = crate::api::router(ApiState::new(
        store.clone(),
        mail.clone(),
        core_tx.clone(),
        api_cfg,
        sip_secret,
    ));
    let edge = Edge {
        core: core_tx,
        next_conn,
        domain: cfg.domain.clone(),
        limits: cfg.limits.clone(),
        gate: Gate {
            trusted: Arc::new(std::sync::RwLock::new(
                cfg.trusted
                    .iter()
                    .copied()
                    .chain(crate::trunks::trusted_peers(&trunks))
                    .collect(),
            )),
            flood: Arc::new(Mutex::new(FloodGuard::new(
                l.flood_max_requests,
                l.flood_window_ms,
                l.flood_ban_ms,
            ))),
            epoch: tokio::time::Instant::now(),
        },
        connections: Arc::new(Mutex::new(Default::default())),
        origins: cfg.api.origins(),
    };
    if let Some(udp) = &udp {
        // A bigger receive buffer rides out bursts instead of dropping datagrams (each drop
        // costs the sender a 500 ms retransmission); the kernel caps it at rmem_max.
        let _ = socket2::SockRef::from(udp).set_recv_buffer_size(4 << 20);
        info!(addr = %udp.local_addr()?, "SIP over UDP");
    }
    // The core, its timers, the UDP socket and the store lookups' tasks run on a thread of
    // their own with a single-threaded runtime: a datagram is read, handled and answered
    // where it woke, with no hand-over between worker threads (on the shared runtime the
    // core's task moved between workers, a futex wake and a thread switch each time).
    let udp = udp.map(|u| u.into_std()).transpose()?;
    let gate = edge.gate.clone();
    // The core's own connections (to TCP trunks) run on this runtime. The core's thread
    // must not hold a sender of its own queue (its closing ends the core): a weak one.
    let connector: crate::driver::Connector = {
        let weak = edge.core.downgrade();
        let tls = Arc::new(crate::tls::connector(cfg.trunk_ca.as_deref())?);
        // The rest of the edge, with a sender of nothing in place of the core's.
        let template = Edge {
            core: mpsc::channel(1).0,
            ..edge.clone()
        };
        let handle = tokio::runtime::Handle::current();
        Box::new(move |conn, to, transport, name, tx, rx| {
            let Some(core) = weak.upgrade() else {
                return;
            };
            let edge = Edge {
                core,
                ..template.clone()
            };
            let tls = tls.clone();
            handle.spawn(outbound_connection(
                conn, to, transport, name, tls, tx, rx, edge,
            ));
        })
    };
    let core_metrics = metrics.clone();
    std::thread::Builder::new()
        .name("sip-core".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "the SIP core's runtime did not start");
                    return;
                }
            };
            runtime.block_on(async move {
                let udp = match udp.map(UdpSocket::from_std).transpose() {
                    Ok(udp) => udp.map(Arc::new),
                    Err(e) => {
                        tracing::error!(error = %e, "the SIP UDP socket could not be registered");
                        return;
                    }
                };
                let (mut driver, answered) =
                    Driver::new(core, epoch, udp.clone(), core_store, core_metrics);
                driver.set_connector(connector);
                let udp_in = udp.map(|socket| UdpIn {
                    on_datagram: Box::new(udp_edge(socket.clone(), gate)),
                    socket,
                });
                driver.run(core_rx, answered, udp_in).await;
            });
        })?;
    tokio::spawn(reload_trunks(
        store.clone(),
        edge.core.clone(),
        trunks,
        (edge.gate.trusted.clone(), cfg.trusted.clone()),
    ));
    if let Some(media) = cfg.media.clone() {
        let conn = edge.next_conn.fetch_add(1, Ordering::Relaxed);
        crate::vmserver::start(
            media,
            conn,
            edge.core.clone(),
            store.clone(),
            mail.clone(),
            cfg.api.public_url.clone(),
        )
        .await?;
    }
    if let Some(tcp) = listeners.sip_tcp {
        info!(addr = %tcp.local_addr()?, "SIP over TCP");
        tokio::spawn(tcp_loop(tcp, None, edge.clone()));
    }
    if (listeners.sip_tls.is_some() || listeners.https.is_some()) && listeners.tls.is_none() {
        anyhow::bail!("SIP over TLS and HTTPS need a certificate and key");
    }
    if let (Some(tcp), Some(acceptor)) = (listeners.sip_tls, listeners.tls.clone()) {
        info!(addr = %tcp.local_addr()?, "SIP over TLS");
        tokio::spawn(tcp_loop(tcp, Some(acceptor), edge.clone()));
    }
    let index = cfg.web_root.join("index.html");
    // The policy names the hashes of the page's inline scripts as served now: rebuilding the
    // web app (a new page) needs a restart.
    let page = std::fs::read_to_string(&index).ok();
    let security = SecurityHeaders::new(
        page.as_deref(),
        &cfg.api.origins(),
        cfg.api.public_url.starts_with("https://"),
    );
    debug!(csp = security.csp(), "Content-Security-Policy");
    let app = Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route(
            "/metrics",
            get(move |ConnectInfo(peer): ConnectInfo<SocketAddr>| {
                let (metrics, allow) = (metrics.clone(), metrics_allow.clone());
                async move {
                    // Counts, not secrets, but not everyone's business: loopback (a local
                    // Prometheus or agent) and --metrics-allow addresses only.
                    if !peer.ip().is_loopback() && !allow.contains(&peer.ip()) {
                        return error(
                            StatusCode::FORBIDDEN,
                            "forbidden",
                            "Metrics are served to loopback and --metrics-allow addresses only",
                        );
                    }
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        metrics.render(),
                    )
                        .into_response()
                }
            }),
        )
        .route("/api/v1/config", get(config))
        .route("/sip", get(sip_ws))
        .with_state(edge)
        .merge(api)
        .fallback_service(ServeDir::new(&cfg.web_root).fallback(ServeFile::new(index)));
    let shutdown = futures_util::FutureExt::shared(Box::pin(shutdown));
    if let (Some(tcp), Some(acceptor)) = (listeners.https, listeners.tls) {
        info!(addr = %tcp.local_addr()?, "serving HTTPS and SIP over secure WebSocket");
        let tls =
            axum::serve::ListenerExt::tap_io(crate::tls::TlsListener::new(tcp, acceptor)?, |tls| {
                let _ = tls.get_ref().0.set_nodelay(true);
            });
        let service = app
            .clone()
            .layer(axum::middleware::from_fn_with_state(
                security.with_hsts(),
                crate::headers::add,
            ))
            .into_make_service_with_connect_info::<SocketAddr>();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(tls, service).with_graceful_shutdown(stop).await {
                warn!(error = %e, "HTTPS server ended");
            }
        });
    }
    info!(addr = %listeners.http.local_addr()?, domain = %cfg.domain, "serving HTTP and SIP over WebSocket");
    // Small SIP writes (100 Trying, then 180) must not wait for the peer's delayed ACK.
    let http = axum::serve::ListenerExt::tap_io(listeners.http, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        http,
        app.layer(axum::middleware::from_fn_with_state(
            security,
            crate::headers::add,
        ))
        .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// The key of the web app's SIP credentials: kept in the database, so credentials handed out
/// before a restart keep working after it.
async fn sip_secret(store: &Store) -> anyhow::Result<[u8; 32]> {
    const KEY: &str = "sip_credential_secret";
    if let Some(hex) = store.setting(KEY).await?
        && hex.len() == 64
    {
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
        }
        return Ok(k);
    }
    let k: [u8; 32] = rand::random();
    let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
    store.set_setting(KEY, &hex).await?;
    Ok(k)
}

async fn config(State(edge): State<Edge>) -> Json<serde_json::Value> {
    Json(json!({"sip_domain": edge.domain, "ws_path": "/sip"}))
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

async fn sip_ws(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(edge): State<Edge>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    // A page of another site must not use a visitor's browser to reach this gateway (on an
    // intranet, or on localhost): WebSocket is not bound by the same-origin policy.
    if !edge
        .origins
        .allows(parts.headers.get(axum::http::header::ORIGIN))
    {
        info!(%peer, origin = ?parts.headers.get(axum::http::header::ORIGIN), "SIP WebSocket from a foreign origin refused");
        return error(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "This page may not use this phone system",
        );
    }
    let accept_key = match ws::accept(&parts.method, &parts.headers) {
        Ok(key) => key,
        Err(ws::Refusal::NotUpgrade) => {
            return error(
                StatusCode::BAD_REQUEST,
                "websocket_required",
                "This address speaks SIP over WebSocket only (a GET with Upgrade: websocket)",
            );
        }
        Err(ws::Refusal::Version) => {
            let mut resp = error(
                StatusCode::UPGRADE_REQUIRED,
                "websocket_version",
                "Only WebSocket version 13 is spoken here",
            );
            resp.headers_mut().insert(
                axum::http::header::SEC_WEBSOCKET_VERSION,
                axum::http::HeaderValue::from_static("13"),
            );
            return resp;
        }
        Err(ws::Refusal::Key) => {
            return error(
                StatusCode::BAD_REQUEST,
                "websocket_key",
                "Sec-WebSocket-Key must be 16 bytes in base64",
            );
        }
        Err(ws::Refusal::NoSipProtocol) => {
            return error(
                StatusCode::BAD_REQUEST,
                "subprotocol_required",
                "SIP over WebSocket needs the \"sip\" subprotocol (RFC 7118)",
            );
        }
    };
    if edge.banned(peer.ip()) {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "banned",
            "Too many requests from this address; try again later",
        );
    }
    let Some(upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "websocket_required",
            "This connection cannot be upgraded to a WebSocket",
        );
    };
    let slot = match edge.open_slot(peer.ip(), Transport::Ws) {
        Ok(slot) => slot,
        Err(Refused::PerAddress) => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connections",
                "Too many connections from this address",
            );
        }
        Err(Refused::Full) => {
            warn!(%peer, "connection refused: the gateway holds its maximum of connections");
            let mut resp = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_full",
                "The phone system is at its connection limit; try again shortly",
            );
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
            return resp;
        }
    };
    // The connection runs in a task of its own, which waits for hyper to hand over the
    // upgraded stream once this 101 is sent.
    tokio::spawn(ws_connection(upgrade, peer, edge, slot));
    let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = resp.headers_mut();
    use axum::http::{HeaderValue, header};
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("sip"),
    );
    if let Ok(v) = HeaderValue::from_str(&accept_key) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    resp
}

/// What to do with one message's bytes, common to WebSocket and UDP. Returned and matched
/// at once, never stored: boxing the message would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
enum Inbound {
    Message(Message),
    /// Answer this (a 400, a keepalive pong) on the same flow.
    Reply(String),
    Nothing,
}

fn inbound(bytes: &[u8], peer: SocketAddr) -> Inbound {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        // RFC 5626 keepalive: a double CRLF ping gets a single CRLF pong.
        return if bytes.windows(4).any(|w| w == b"\r\n\r\n") {
            Inbound::Reply("\r\n".into())
        } else {
            Inbound::Nothing
        };
    }
    match parse_datagram(bytes) {
        Ok(m) => Inbound::Message(m),
        Err(e) => {
            info!(%peer, error = %e, "malformed SIP message");
            match bad_request_for(bytes, &e.to_string()) {
                Some(resp) => {
                    Inbound::Reply(String::from_utf8_lossy(&resp.to_bytes()).into_owned())
                }
                None => Inbound::Nothing,
            }
        }
    }
}

/// One SIP-over-WebSocket connection.
/// A plain function returning an `async move` block, not an `async fn`: the block uses its
/// captures in place, where an `async fn` would keep a second copy of every argument in its
/// state for the connection's whole life. While idle, the task holds the stream, a
/// [`ws::FrameReader`] (14 bytes of buffer), its channel and the edge: no read or write
/// buffer (see `ws`).
#[allow(clippy::manual_async_fn)]
fn ws_connection(
    upgrade: hyper::upgrade::OnUpgrade,
    peer: SocketAddr,
    edge: Edge,
    _slot: Slot,
) -> impl Future<Output = ()> + Send {
    async move {
        let _slot = _slot;
        let mut io = match upgrade.await {
            Ok(upgraded) => hyper_util::rt::TokioIo::new(upgraded),
            Err(e) => {
                debug!(%peer, error = %e, "websocket upgrade failed");
                return;
            }
        };
        let conn = edge.next_conn.fetch_add(1, Ordering::Relaxed);
        let (out_tx, mut out_rx) = futures_channel::mpsc::unbounded::<ToConn>();
        let hello = CoreInput::Connected {
            conn,
            sender: out_tx.clone(),
            peer,
            transport: Transport::Ws,
        };
        if !edge.to_core(hello).await {
            return;
        }
        let mut reader = ws::FrameReader::new(MAX_MESSAGE_SIZE);
        // The never-spoke timer lives on the heap and is dropped with the first SIP message,
        // so an idle registered client does not carry it.
        let mut idle = Some(Box::pin(tokio::time::sleep(Duration::from_millis(
            edge.limits.idle_timeout_ms,
        ))));
        // What to send before ending: a close frame with this code.
        let close = loop {
            // select! drops the other branch's future before a handler runs, so a handler
            // may write to the stream the reader was reading; the reader keeps its progress.
            tokio::select! {
                event = std::future::poll_fn(|cx| reader.poll_event(&mut io, cx)) => {
                    let bytes = match event {
                        Ok(Some(ws::Event::Message(bytes))) => bytes,
                        Ok(Some(ws::Event::Ping(payload))) => {
                            if ws::send_pong(&mut io, &payload).await.is_err() {
                                break None;
                            }
                            continue;
                        }
                        Ok(Some(ws::Event::Close(code))) => break Some(code.unwrap_or(ws::CLOSE_NORMAL)),
                        Ok(None) => break None,
                        Err(ws::ReadError::Protocol { code, reason }) => {
                            info!(conn, %peer, reason, "closing a WebSocket that broke the protocol");
                            break Some(code);
                        }
                        Err(ws::ReadError::Io(e)) => {
                            debug!(conn, error = %e, "websocket read error");
                            break None;
                        }
                    };
                    if !edge.admit(peer.ip(), Transport::Ws) {
                        break None;
                    }
                    match inbound(&bytes, peer) {
                        Inbound::Message(message) => {
                            idle = None;
                            if !edge.to_core(CoreInput::Message { conn, message }).await {
                                break Some(ws::CLOSE_NORMAL);
                            }
                        }
                        Inbound::Reply(text) => {
                            if ws::send_text(&mut io, &text).await.is_err() {
                                break None;
                            }
                        }
                        Inbound::Nothing => {}
                    }
                }
                out = out_rx.next() => {
                    let text = match out {
                        Some(ToConn::Sip(text)) => text,
                        Some(ToConn::Close) => {
                            info!(conn, %peer, "closing: the account's access was revoked");
                            break Some(ws::CLOSE_NORMAL);
                        }
                        None => break Some(ws::CLOSE_NORMAL),
                    };
                    if ws::send_text(&mut io, &text).await.is_err() {
                        break None;
                    }
                }
                _ = async {
                    match idle.as_mut() {
                        Some(timer) => timer.await,
                        None => std::future::pending().await,
                    }
                }, if idle.is_some() => {
                    info!(conn, %peer, "closing a connection that sent no SIP");
                    break Some(ws::CLOSE_NORMAL);
                }
            }
        };
        edge.to_core(CoreInput::Closed { conn }).await;
        if let Some(code) = close {
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                let _ = ws::send_close(&mut io, Some(code)).await;
                let _ = io.shutdown().await;
            })
            .await;
        }
    }
}

/// SIP over UDP, the edge's part: the driver reads each datagram (in the core's task) and
/// hands it here for the flood guard, keepalives and malformed messages; what is left goes
/// to the core.
fn udp_edge(
    socket: Arc<UdpSocket>,
    gate: Gate,
) -> impl FnMut(&[u8], SocketAddr) -> Option<CoreInput> + Send {
    move |bytes, peer| {
        if !gate.admit(peer.ip(), Transport::Udp) {
            return None;
        }
        match inbound(bytes, peer) {
            Inbound::Message(message) => Some(CoreInput::Datagram { peer, message }),
            Inbound::Reply(text) => {
                let _ = socket.try_send_to(text.as_bytes(), peer);
                None
            }
            Inbound::Nothing => None,
        }
    }
}

/// Accepts SIP over TCP, or over TLS when `tls` is given.
async fn tcp_loop(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, edge: Edge) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let transport = if tls.is_some() {
            Transport::Tls
        } else {
            Transport::Tcp
        };
        let banned = edge.banned(peer.ip());
        let slot = match edge.open_slot(peer.ip(), transport) {
            Ok(slot) if !banned => slot,
            Ok(_) | Err(Refused::PerAddress) => {
                debug!(%peer, "tcp connection refused (address limit or ban)");
                continue;
            }
            Err(Refused::Full) => {
                warn!(%peer, "tcp connection refused: the gateway holds its maximum of connections");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let edge = edge.clone();
        match tls.clone() {
            None => {
                tokio::spawn(stream_connection(stream, peer, Transport::Tcp, edge, slot));
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    if let Some(tls) = crate::tls::handshake(&acceptor, stream).await {
                        stream_connection(tls, peer, Transport::Tls, edge, slot).await;
                    }
                });
            }
        }
    }
}

/// One SIP connection over a byte stream (TCP, or TLS once configured): framed by
/// Content-Length, with keepalives, an idle limit before the first message, and a limit on
/// how long a partial message may take (slowloris).
async fn stream_connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    edge: Edge,
    _slot: Slot,
) {
    let conn = edge.next_conn.fetch_add(1, Ordering::Relaxed);
    let (out_tx, out_rx) = futures_channel::mpsc::unbounded::<ToConn>();
    let hello = CoreInput::Connected {
        conn,
        sender: out_tx.clone(),
        peer,
        transport,
    };
    if !edge.to_core(hello).await {
        return;
    }
    pump(stream, peer, transport, edge, conn, out_tx, out_rx).await;
}

/// A connection the core asked for (to a carrier's TCP trunk): connected within 3 s, then
/// served as any other; what the core sent meanwhile waits in `out_rx`. A failure is a
/// closed connection for the core (its transactions there end at once: failover).
#[allow(clippy::too_many_arguments)]
async fn outbound_connection(
    conn: u64,
    to: SocketAddr,
    transport: Transport,
    name: String,
    tls: Arc<tokio_rustls::TlsConnector>,
    out_tx: crate::driver::Outbound,
    out_rx: futures_channel::mpsc::UnboundedReceiver<ToConn>,
    edge: Edge,
) {
    let failed = |e: String| {
        let edge = edge.clone();
        async move {
            warn!(conn, %to, error = %e, "could not connect to a trunk");
            edge.to_core(CoreInput::Closed { conn }).await;
        }
    };
    let stream = match tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(to),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return failed(e.to_string()).await,
        Err(_) => return failed("timed out".into()).await,
    };
    let _ = stream.set_nodelay(true);
    match transport {
        Transport::Tcp => {
            info!(conn, %to, "connected to a trunk");
            pump(stream, to, transport, edge, conn, out_tx, out_rx).await;
        }
        Transport::Tls => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            let server = match rustls_pki_types::ServerName::try_from(name.to_string()) {
                Ok(s) => s,
                Err(e) => return failed(format!("{name:?} is no TLS server name: {e}")).await,
            };
            match tokio::time::timeout(Duration::from_secs(5), tls.connect(server, stream)).await {
                Ok(Ok(s)) => {
                    info!(conn, %to, "connected to a trunk over TLS");
                    pump(s, to, transport, edge, conn, out_tx, out_rx).await;
                }
                Ok(Err(e)) => failed(format!("TLS: {e}")).await,
                Err(_) => failed("TLS handshake timed out".into()).await,
            }
        }
        _ => failed(format!("{} is not opened by the gateway", transport.name())).await,
    }
}

/// Reads SIP from a stream into the core and writes what the core sends, until either side
/// ends; the core learns the end.
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    edge: Edge,
    conn: u64,
    out_tx: crate::driver::Outbound,
    mut out_rx: futures_channel::mpsc::UnboundedReceiver<ToConn>,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut framer = Framer::new();
    let mut buf = vec![0u8; 16 * 1024];
    let idle = Duration::from_millis(edge.limits.idle_timeout_ms);
    let partial = Duration::from_millis(edge.limits.partial_timeout_ms);
    let mut deadline = tokio::time::Instant::now() + idle;
    let mut spoke = false;
    let mut partial_since: Option<tokio::time::Instant> = None;
    'conn: loop {
        tokio::select! {
            read = reader.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                framer.push(&buf[..n]);
                loop {
                    match framer.next_frame() {
                        Ok(None) => break,
                        Ok(Some(Frame::Ping)) => { let _ = out_tx.unbounded_send(ToConn::Sip("\r\n".into())); }
                        Ok(Some(Frame::Pong)) => {}
                        Ok(Some(Frame::Message(message))) => {
                            if !edge.admit(peer.ip(), transport) {
                                break 'conn;
                            }
                            spoke = true;
                            if !edge.to_core(CoreInput::Message { conn, message }).await {
                                break 'conn;
                            }
                        }
                        Err(e) => {
                            info!(conn, %peer, error = %e, "malformed SIP on a stream; closing");
                            break 'conn;
                        }
                    }
                }
                // A message under way must finish within `partial` of its first byte, however
                // slowly the rest trickles in; an idle stream that has spoken may wait.
                partial_since = match (framer.pending(), partial_since) {
                    (0, _) => None,
                    (_, Some(t)) => Some(t),
                    (_, None) => Some(tokio::time::Instant::now()),
                };
                deadline = match partial_since {
                    Some(t) => t + partial,
                    None if spoke => tokio::time::Instant::now() + Duration::from_secs(24 * 3600),
                    None => deadline,
                };
            }
            out = out_rx.next() => {
                let Some(ToConn::Sip(text)) = out else { break };
                if writer.write_all(text.as_bytes()).await.is_err() {
                    break;
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                info!(conn, %peer, partial = framer.pending(), "closing a stalled connection");
                break;
            }
        }
    }
    edge.to_core(CoreInput::Closed { conn }).await;
}
