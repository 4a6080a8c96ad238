//! The installation's operator (docs/api-operator.md): trunks to the phone network. Not a
//! company's: authenticated by the operator's token alone (`Authorization: Bearer cop_…`,
//! made with `centrala operator token`, only its SHA-256 kept), never by a web session or a
//! company's API token.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, ApiJson, ApiResult, ApiState, ErrorBody};
use crate::driver::CoreInput;
use crate::trunks::{NewTrunk, Trunk, TrunkTransport, parse_codecs};

/// The setting that holds the operator token's SHA-256.
pub const OPERATOR_TOKEN_SETTING: &str = "operator_token_sha256";
/// What an operator token starts with.
pub const OPERATOR_TOKEN_PREFIX: &str = "cop_";

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/operator/trunks", get(list_trunks).post(add_trunk))
        .route("/api/v1/operator/trunks/{name}", delete(remove_trunk))
}

/// A request from the operator (its token checked).
pub struct Operator;

impl FromRequestParts<ApiState> for Operator {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &ApiState) -> Result<Self, ApiError> {
        let refused = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "This is for the installation's operator: send its token (centrala operator token) as Authorization: Bearer.",
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|a| a.to_str().ok())
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(OPERATOR_TOKEN_PREFIX))
            .ok_or_else(refused)?;
        let want = st
            .store
            .setting(OPERATOR_TOKEN_SETTING)
            .await?
            .ok_or_else(refused)?;
        let got = crate::accounts::token_hash(token);
        // Equal length hex: compare all of it whatever differs first.
        let same = got.len() == want.len()
            && got
                .bytes()
                .zip(want.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(refused());
        }
        Ok(Operator)
    }
}

#[derive(Serialize, ToSchema)]
pub struct TrunkList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Trunk>,
}

/// A trunk to add.
#[derive(Deserialize, ToSchema)]
pub struct TrunkBody {
    pub name: String,
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// udp, tcp or tls.
    #[serde(default = "default_transport")]
    pub transport: String,
    /// Lower is tried first.
    #[serde(default = "default_priority")]
    pub priority: i64,
    /// The carrier's codecs in its order of preference: PCMA, PCMU.
    #[serde(default = "default_codecs")]
    pub codecs: Vec<String>,
    /// A registering trunk's account (both or neither); the password is never returned.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

fn default_port() -> u16 {
    5060
}
fn default_transport() -> String {
    "udp".into()
}
fn default_priority() -> i64 {
    10
}
fn default_codecs() -> Vec<String> {
    vec!["PCMA".into(), "PCMU".into()]
}

/// The core learns the trunks as they are now (the periodic reload would within 10 s).
async fn trunks_changed(st: &ApiState) -> ApiResult<()> {
    let trunks = crate::trunks::resolve(&st.store.trunks().await?).await;
    let _ = st.core.send(CoreInput::Trunks(trunks)).await;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/operator/trunks",
    responses((status = 200, body = TrunkList), (status = 401, body = ErrorBody)))]
pub(super) async fn list_trunks(
    State(st): State<ApiState>,
    _: Operator,
) -> ApiResult<Json<TrunkList>> {
    Ok(Json(TrunkList {
        items: st.store.trunks().await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/operator/trunks", request_body = TrunkBody,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(super) async fn add_trunk(
    State(st): State<ApiState>,
    _: Operator,
    ApiJson(b): ApiJson<TrunkBody>,
) -> ApiResult<(StatusCode, Json<Trunk>)> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", &m);
    let transport: TrunkTransport = b.transport.parse().map_err(bad)?;
    let t = NewTrunk {
        name: b.name,
        priority: b.priority,
        host: b.host,
        port: b.port,
        transport,
        credentials: match (b.username, b.password) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, None) => None,
            _ => return Err(bad("give both username and password, or neither".into())),
        },
        codecs: parse_codecs(&b.codecs.join(" ")),
    };
    t.check().map_err(bad)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let id = st.store.add_trunk(&t, now).await.map_err(|e| match e {
        crate::store::StoreError::Invalid(m) => ApiError::new(StatusCode::CONFLICT, "conflict", &m),
        e => e.into(),
    })?;
    tracing::info!(trunk = %t.name, host = %t.host, port = t.port, "trunk added");
    trunks_changed(&st).await?;
    let added = st
        .store
        .trunks()
        .await?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| ApiError::not_found("trunk"))?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[utoipa::path(delete, path = "/api/v1/operator/trunks/{name}", params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn remove_trunk(
    State(st): State<ApiState>,
    _: Operator,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    if !st.store.remove_trunk(&name).await? {
        return Err(ApiError::not_found("trunk"));
    }
    tracing::info!(trunk = %name, "trunk removed");
    trunks_changed(&st).await?;
    Ok(StatusCode::NO_CONTENT)
}
