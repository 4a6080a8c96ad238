//! How browsers reach each other's media (docs/api.md, "Media relay"): the ICE servers a
//! logged-in person's browser uses (the gateway's TURN relay, with credentials for a few
//! hours, see `crate::turn`), and the company's choice of relaying every call's media.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Admin, ApiJson, ApiResult, ApiState, Caller, ErrorBody, person};
use crate::turn::{CREDENTIAL_TTL, credentials};

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/ice", get(ice)).route(
        "/api/v1/company/media",
        get(company_media).put(set_company_media),
    )
}

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Serialize, ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// What a browser's `RTCPeerConnection` is configured with.
#[derive(Serialize, ToSchema)]
pub struct IceConfig {
    /// Empty when the gateway runs no relay.
    pub ice_servers: Vec<IceServer>,
    /// The company relays every call's media: `iceTransportPolicy: "relay"`.
    pub relay_only: bool,
    /// When the credentials stop working (RFC 3339); fetch again before.
    pub expires_at: String,
}

/// The relay (TURN) for the caller's browser, with credentials valid for 12 hours, and
/// whether the company wants media relayed only.
#[utoipa::path(get, path = "/api/v1/ice",
    responses((status = 200, body = IceConfig), (status = 401, body = ErrorBody)))]
pub(super) async fn ice(State(st): State<ApiState>, caller: Caller) -> ApiResult<Json<IceConfig>> {
    let me = person(&caller)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ice_servers = match &st.cfg.turn {
        Some(t) => {
            let (username, credential) = credentials(&t.secret, me.id, now, CREDENTIAL_TTL);
            vec![IceServer {
                urls: vec![t.url()],
                username,
                credential,
            }]
        }
        None => Vec::new(),
    };
    let relay_only =
        !ice_servers.is_empty() && st.store.company_relay_media(caller.company.id).await?;
    Ok(Json(IceConfig {
        ice_servers,
        relay_only,
        expires_at: crate::accounts::rfc3339((now + CREDENTIAL_TTL.as_secs()) as i64),
    }))
}

/// The company's media setting.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CompanyMedia {
    /// Every call between browsers goes through the gateway's relay, never directly.
    pub relay: bool,
}

#[utoipa::path(get, path = "/api/v1/company/media",
    responses((status = 200, body = CompanyMedia), (status = 401, body = ErrorBody)))]
pub(super) async fn company_media(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<CompanyMedia>> {
    let relay = st.store.company_relay_media(caller.company.id).await?;
    Ok(Json(CompanyMedia { relay }))
}

/// Sets the company's media setting (administrators).
#[utoipa::path(put, path = "/api/v1/company/media", request_body = CompanyMedia,
    responses((status = 200, body = CompanyMedia), (status = 403, body = ErrorBody)))]
pub(super) async fn set_company_media(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<CompanyMedia>,
) -> ApiResult<Json<CompanyMedia>> {
    st.store
        .set_company_relay_media(caller.company.id, body.relay)
        .await?;
    tracing::info!(
        company = caller.company.id,
        relay = body.relay,
        "company media relay setting changed"
    );
    Ok(Json(CompanyMedia { relay: body.relay }))
}
