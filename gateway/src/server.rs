//! The HTTP side: the web app, `/healthz`, `/api/v1/config` and the SIP WebSocket at `/sip`.
//! [`run`] takes a bound listener and a shutdown future, so tests start a real server on
//! `127.0.0.1:0`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use centrala_sip::message::{MAX_MESSAGE_SIZE, bad_request_for, parse_datagram};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tower_http::services::{ServeDir, ServeFile};
use tracing::{debug, info};

use crate::core::{Core, CoreConfig, CoreInput};
use crate::store::Store;

/// What `centrala serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub domain: String,
    /// The built web app (Trunk's `dist/`).
    pub web_root: PathBuf,
    pub nonce_secret: [u8; 32],
}

#[derive(Clone)]
struct AppState {
    core: mpsc::UnboundedSender<CoreInput>,
    next_conn: Arc<AtomicU64>,
    domain: String,
}

/// Serves until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    store: Store,
    cfg: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (core_tx, core_rx) = mpsc::unbounded_channel();
    let core = Core::new(
        CoreConfig {
            domain: cfg.domain.clone(),
            nonce_secret: cfg.nonce_secret,
        },
        store,
        rand::random(),
    );
    tokio::spawn(core.run(core_rx));
    let state = AppState {
        core: core_tx,
        next_conn: Arc::new(AtomicU64::new(1)),
        domain: cfg.domain.clone(),
    };
    let index = cfg.web_root.join("index.html");
    let app = Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/api/v1/config", get(config))
        .route("/sip", get(sip_ws))
        .fallback_service(ServeDir::new(&cfg.web_root).fallback(ServeFile::new(index)))
        .with_state(state);
    info!(addr = %listener.local_addr()?, domain = %cfg.domain, "serving");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

async fn config(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({"sip_domain": state.domain, "ws_path": "/sip"}))
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

async fn sip_ws(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<AppState>,
) -> Response {
    let ws = ws
        .protocols(["sip"])
        .max_message_size(MAX_MESSAGE_SIZE)
        .max_frame_size(MAX_MESSAGE_SIZE);
    // axum upgrades even when the client offered no "sip" subprotocol; RFC 7118 requires it.
    if ws.selected_protocol().is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "subprotocol_required",
            "SIP over WebSocket needs the \"sip\" subprotocol (RFC 7118)",
        );
    }
    ws.on_upgrade(move |socket| connection(socket, peer, state))
}

/// One SIP-over-WebSocket connection: parses frames, answers keepalives and malformed
/// requests itself, and hands everything else to the core.
async fn connection(socket: WebSocket, peer: SocketAddr, state: AppState) {
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    if state
        .core
        .send(CoreInput::Connected {
            conn,
            sender: out_tx.clone(),
            peer,
        })
        .is_err()
    {
        return;
    }
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            frame = stream.next() => {
                let bytes = match frame {
                    Some(Ok(WsMessage::Text(t))) => t.as_str().as_bytes().to_vec(),
                    Some(Ok(WsMessage::Binary(b))) => b.to_vec(),
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    Some(Ok(WsMessage::Close(_))) | None => break,
                    Some(Err(e)) => {
                        debug!(conn, error = %e, "websocket error");
                        break;
                    }
                };
                if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                    // RFC 5626 keepalive: a double CRLF ping gets a single CRLF pong.
                    if bytes.windows(4).any(|w| w == b"\r\n\r\n") {
                        let _ = out_tx.send("\r\n".into());
                    }
                    continue;
                }
                match parse_datagram(&bytes) {
                    Ok(message) => {
                        if state.core.send(CoreInput::Message { conn, message }).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        info!(conn, %peer, error = %e, "malformed SIP message");
                        if let Some(resp) = bad_request_for(&bytes, &e.to_string()) {
                            let _ = out_tx.send(String::from_utf8_lossy(&resp.to_bytes()).into_owned());
                        }
                    }
                }
            }
            out = out_rx.recv() => {
                let Some(text) = out else { break };
                if sink.send(WsMessage::Text(text.into())).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = state.core.send(CoreInput::Closed { conn });
}
