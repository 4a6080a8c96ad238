//! The REST API under `/api/v1`: web login (session cookie), the web app's short-lived SIP
//! credentials, one-time links (invitation, password reset), each person's own things
//! (presence choice, language, favourite colleagues, personal phone book, call history), and
//! the admin resources (employees, number blocks, API tokens). Lists are `{"total", "items"}`, errors
//! `{"error", "message", "fields"?}`. Every handler takes a [`Caller`] or [`Admin`] and works in
//! that caller's company only: another company's ids answer 404, as if they did not exist.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::{info, warn};
use utoipa::{OpenApi, ToSchema};

use crate::accounts::{
    self, ApiToken, Company, Contact, ContactNumber, Employee, EmployeePatch, InviteState,
    LinkInfo, LinkKind, LinkProblem, NewEmployee, NumberBlock, NumberLabel, Role,
};
use crate::core::{Choice, Registrations};
use crate::driver::CoreInput;
use crate::limits::{RateLimiter, source_key};
use crate::mail::{self, Lang};
use crate::mailqueue::{MailQueue, Outgoing};

mod billing;
mod calling;
mod media;
pub mod operator;
mod phonebook;
mod routing;
mod voicemail;
use crate::sipcred;
use crate::store::{Store, StoreError};
pub use routing::{SipAccess, SipInfo};

pub const SESSION_COOKIE: &str = "centrala_session";

/// The API's settings.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Where people reach the web app (links in e-mails), e.g. `https://phone.example.com`.
    /// Its origin may use the API and `/sip` from a browser.
    pub public_url: String,
    /// Other origins (`https://x.example`) whose pages may use the API and `/sip`.
    pub allowed_origins: Vec<String>,
    pub session_ttl_secs: i64,
    pub invite_ttl_secs: i64,
    pub reset_ttl_secs: i64,
    /// Where phones register (the device credentials page's `sip` block).
    pub sip: SipAccess,
    /// The media relay browsers are given (`GET /api/v1/ice`).
    pub turn: Option<crate::turn::TurnConfig>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            public_url: "http://127.0.0.1:8080".into(),
            allowed_origins: Vec::new(),
            session_ttl_secs: 7 * 24 * 3600,
            invite_ttl_secs: 72 * 3600,
            reset_ttl_secs: 24 * 3600,
            sip: SipAccess::default(),
            turn: None,
        }
    }
}

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    /// Outgoing e-mail, through the database queue.
    pub mail: MailQueue,
    pub core: mpsc::Sender<CoreInput>,
    pub cfg: ApiConfig,
    pub sip_secret: [u8; 32],
    /// Web login attempts per (source, e-mail) and per source; reset mails per address.
    limits: Arc<Mutex<Limiters>>,
    epoch: std::time::Instant,
}

/// Login attempts count before the password is hashed (a burst cannot buy more hashing than
/// the limits allow) and by source ([`source_key`]: an IPv6 /64 as one): bad tries from one
/// place lock that place out, not the user everywhere.
struct Limiters {
    /// Attempts for one e-mail from one source; a successful login clears them.
    login_user: RateLimiter<(IpAddr, String)>,
    /// Attempts from one source, for any e-mail.
    login_source: RateLimiter<IpAddr>,
    reset_email: RateLimiter<String>,
}

impl ApiState {
    pub fn new(
        store: Store,
        mail: MailQueue,
        core: mpsc::Sender<CoreInput>,
        cfg: ApiConfig,
        sip_secret: [u8; 32],
    ) -> ApiState {
        ApiState {
            store,
            mail,
            core,
            cfg,
            sip_secret,
            limits: Arc::new(Mutex::new(Limiters {
                login_user: RateLimiter::new(10, 300_000, 300_000),
                login_source: RateLimiter::new(100, 300_000, 300_000),
                reset_email: RateLimiter::new(5, 3_600_000, 3_600_000),
            })),
            epoch: std::time::Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn secure_cookies(&self) -> bool {
        self.cfg.public_url.starts_with("https://")
    }
}

impl ApiConfig {
    /// The origins whose pages may use the API and `/sip`: the public URL's and the others
    /// configured.
    pub fn origins(&self) -> Origins {
        Origins::new(std::iter::once(&self.public_url).chain(&self.allowed_origins))
    }
}

// ---- origins ----

/// `scheme://host[:port]` of a URL, lower case, without a default port (80, 443) or path;
/// `None` for anything but an http(s) URL with a host.
pub fn normalize_origin(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') || authority.contains(char::is_whitespace) {
        return None;
    }
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

/// The origins a gateway serving HTTP on `http` (and HTTPS on `https`) is reached at when no
/// public URL is configured: the listening address, and for a loopback or unspecified one
/// also `localhost` and `127.0.0.1` on the same port.
pub fn default_origins(http: SocketAddr, https: Option<SocketAddr>) -> Vec<String> {
    let mut out = Vec::new();
    for (scheme, addr) in std::iter::once(("http", http)).chain(https.map(|a| ("https", a))) {
        out.push(format!("{scheme}://{addr}"));
        if addr.ip().is_loopback() || addr.ip().is_unspecified() {
            out.push(format!("{scheme}://localhost:{}", addr.port()));
            out.push(format!("{scheme}://127.0.0.1:{}", addr.port()));
        }
    }
    out
}

/// The origins (RFC 6454) whose pages may make state-changing API calls and open `/sip`;
/// a request without `Origin` is no browser page's and is not checked.
#[derive(Clone, Debug, Default)]
pub struct Origins(Arc<Vec<String>>);

impl Origins {
    pub fn new<S: AsRef<str>>(urls: impl IntoIterator<Item = S>) -> Origins {
        let mut list: Vec<String> = Vec::new();
        for o in urls
            .into_iter()
            .filter_map(|u| normalize_origin(u.as_ref()))
        {
            if !list.contains(&o) {
                list.push(o);
            }
        }
        Origins(Arc::new(list))
    }

    /// Whether a request with this `Origin` header may go on (no header: yes).
    pub fn allows(&self, origin: Option<&HeaderValue>) -> bool {
        let Some(origin) = origin else { return true };
        origin
            .to_str()
            .ok()
            .and_then(normalize_origin)
            .is_some_and(|o| self.0.contains(&o))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Refuses (403) a state-changing API request that a page of another origin sent.
async fn check_origin(
    State(origins): State<Origins>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let changes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if changes && !origins.allows(req.headers().get(header::ORIGIN)) {
        warn!(origin = ?req.headers().get(header::ORIGIN), path = %req.uri().path(), "API request from a foreign origin refused");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "This request came from a page of another site; it is not allowed.",
        )
        .into_response();
    }
    next.run(req).await
}

// ---- errors ----

/// An API error: status, machine-readable code, a sentence for people, and per-field
/// messages for forms.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Option<BTreeMap<String, String>>,
    /// Seconds for a `Retry-After` header (503).
    retry_after: Option<u32>,
}

/// The error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `validation_failed`, `unauthenticated`, `forbidden`,
    /// `not_found`, `conflict`, `link_used`, `link_expired`, …
    error: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<BTreeMap<String, String>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: None,
            retry_after: None,
        }
    }
    fn field(code: &'static str, status: StatusCode, field: &str, message: &str) -> ApiError {
        ApiError {
            status,
            code,
            message: format!("{field}: {message}"),
            fields: Some(BTreeMap::from([(field.to_string(), message.to_string())])),
            retry_after: None,
        }
    }
    /// 400 `validation_failed` with a message for each field.
    fn fields(fields: BTreeMap<String, String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "validation_failed",
            message: fields
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; "),
            fields: Some(fields),
            retry_after: None,
        }
    }
    fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Please log in (or send an API token).",
        )
    }
    fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No such {what}."),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(ErrorBody {
                error: self.code.to_string(),
                message: self.message,
                fields: self.fields,
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Field { field, message } => ApiError::field(
                "validation_failed",
                StatusCode::BAD_REQUEST,
                field,
                &message,
            ),
            StoreError::Conflict { field, message } => {
                ApiError::field("conflict", StatusCode::CONFLICT, field, &message)
            }
            StoreError::Duplicate(ext) => ApiError::field(
                "conflict",
                StatusCode::CONFLICT,
                "extension",
                &format!("extension {ext} is already taken"),
            ),
            StoreError::NotFound(what) => ApiError::not_found(&what),
            StoreError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m),
            StoreError::Busy => {
                warn!("password hashing busy: request refused");
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "The server is busy; try again in a few seconds.",
                );
                e.retry_after = Some(5);
                e
            }
            e => {
                warn!(error = %e, "store error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on the server; nothing was changed. Try again.",
                )
            }
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// `Json` whose rejections are API errors (400 with a JSON body) instead of plain text.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_request",
                "Send JSON with Content-Type: application/json.",
            )),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                e.body_text(),
            )),
        }
    }
}

/// A numeric id from the path; anything else is a 404.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("resource"))?;
        raw.parse()
            .map(Id)
            .map_err(|_| ApiError::not_found("resource"))
    }
}

// ---- who is asking ----

/// The authenticated caller: an employee with a session cookie, or a script with an admin
/// API token (`Authorization: Bearer ctk_…`).
#[derive(Clone)]
pub struct Caller {
    pub employee: Option<Employee>,
    pub company: Company,
    pub role: Role,
    /// For an API token: the admin who made it (a token made with it is theirs too).
    pub token_creator: Option<i64>,
}

impl Caller {
    /// The admin on whose behalf this caller acts (the employee, or a token's creator).
    fn acting_admin(&self) -> Option<i64> {
        self.employee.as_ref().map(|e| e.id).or(self.token_creator)
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &ApiState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|a| a.strip_prefix("Bearer "))
                .ok_or_else(ApiError::unauthenticated)?;
            let (company, creator) = match st.store.check_api_token(token.trim()).await? {
                accounts::TokenCheck::Valid { company, creator } => (company, creator),
                accounts::TokenCheck::Expired => {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "token_expired",
                        "That API token has expired; make a new one.",
                    ));
                }
                accounts::TokenCheck::CreatorNotAdmin => {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "That API token's creator is no longer an administrator; an admin must make a new one.",
                    ));
                }
                accounts::TokenCheck::Unknown => {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "That API token is not valid (revoked?).",
                    ));
                }
            };
            return Ok(Caller {
                employee: None,
                company,
                role: Role::Admin,
                token_creator: Some(creator),
            });
        }
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(ApiError::unauthenticated)?;
        let (employee, company) = st.store.session(&token).await?.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Your session has ended. Please log in again.",
            )
        })?;
        Ok(Caller {
            role: employee.role,
            employee: Some(employee),
            company,
            token_creator: None,
        })
    }
}

/// A caller who is an administrator of their company.
pub struct Admin(pub Caller);

impl FromRequestParts<ApiState> for Admin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &ApiState) -> Result<Self, ApiError> {
        let c = Caller::from_request_parts(parts, st).await?;
        if c.role != Role::Admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Only administrators of the company may do this.",
            ));
        }
        Ok(Admin(c))
    }
}

// ---- bodies ----

macro_rules! list {
    ($name:ident, $item:ty) => {
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub total: i64,
            pub items: Vec<$item>,
        }
    };
}
list!(EmployeeList, Employee);
list!(NumberBlockList, NumberBlock);
list!(ApiTokenList, ApiToken);
list!(DirectoryList, DirectoryEntry);

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub employee: Employee,
    pub company: Company,
    /// The person's own status choice.
    pub presence: PresenceStatus,
    /// The language they chose (for the app and their e-mails); null: none chosen yet.
    pub language: Option<Lang>,
}

/// A person's own status choice: available, do not disturb (calls get busy treatment), away.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum PresenceStatus {
    Available,
    Dnd,
    Away,
}

impl From<Choice> for PresenceStatus {
    fn from(c: Choice) -> Self {
        match c {
            Choice::Available => PresenceStatus::Available,
            Choice::Dnd => PresenceStatus::Dnd,
            Choice::Away => PresenceStatus::Away,
        }
    }
}

impl From<PresenceStatus> for Choice {
    fn from(p: PresenceStatus) -> Self {
        match p {
            PresenceStatus::Available => Choice::Available,
            PresenceStatus::Dnd => Choice::Dnd,
            PresenceStatus::Away => Choice::Away,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

/// Short-lived SIP credentials for the web app (digest username and password).
#[derive(Serialize, ToSchema)]
pub struct SipCredentials {
    pub username: String,
    pub password: String,
    pub domain: String,
    pub extension: String,
    pub display_name: String,
    pub expires_in: i64,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DirectoryEntry {
    /// The employee's id (for favourites).
    pub id: i64,
    pub name: String,
    pub extension: String,
    pub number: Option<String>,
    pub email: Option<String>,
    /// One of the caller's favourites.
    pub favourite: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct EmailBody {
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct MessageBody {
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct NextExtension {
    pub extension: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct AccessBody {
    pub ids: Vec<i64>,
    pub app_access: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct NewNumberBlock {
    /// The first number, international form ("+48 22 600 61 00").
    pub first_number: String,
    #[serde(default = "ten")]
    pub size: i64,
    /// The first number's extension; by default its last digits.
    #[serde(default)]
    pub first_extension: Option<String>,
}

fn ten() -> i64 {
    10
}

#[derive(Deserialize, ToSchema)]
pub struct NewApiToken {
    pub name: String,
    /// Days until the token expires: 1 to 365, 90 when left out.
    #[serde(default = "default_token_days")]
    pub expires_in_days: i64,
}

fn default_token_days() -> i64 {
    accounts::API_TOKEN_DEFAULT_DAYS
}

/// A new API token: the secret is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiToken {
    #[serde(flatten)]
    pub token: ApiToken,
    pub secret: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Filter by name, e-mail, extension or number.
    #[serde(default)]
    pub q: String,
    #[serde(default = "default_limit")]
    pub limit: i64,
    #[serde(default)]
    pub offset: i64,
}

fn default_limit() -> i64 {
    100
}

#[derive(Deserialize, ToSchema)]
pub struct ImportBody {
    /// CSV with a header row: name, email, and optionally extension, role, app_access.
    pub csv: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// Only report what would change (the default).
    #[serde(default = "yes")]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, ToSchema, Clone)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImportAction {
    Create,
    Update,
    Unchanged,
    Error,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct ImportRow {
    /// The line in the file (the header is line 1).
    pub row: usize,
    pub action: ImportAction,
    pub name: String,
    pub email: String,
    pub extension: String,
    pub errors: Vec<FieldError>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: usize,
    pub rows: Vec<ImportRow>,
}

// ---- the router ----

pub fn router(state: ApiState) -> Router {
    let origins = state.cfg.origins();
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/sessions", post(login))
        .route("/api/v1/sessions/current", axum::routing::delete(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/sip-credentials", post(sip_credentials))
        .route("/api/v1/me/presence", axum::routing::put(set_presence))
        .route("/api/v1/me/language", axum::routing::put(set_language))
        .route(
            "/api/v1/favourites/{id}",
            axum::routing::put(add_favourite).delete(remove_favourite),
        )
        .route("/api/v1/contacts", get(list_contacts).post(create_contact))
        .route("/api/v1/contacts/import", post(import_contacts))
        .route("/api/v1/contacts/export", get(export_contacts))
        .route(
            "/api/v1/contacts/{id}",
            get(get_contact).put(update_contact).delete(delete_contact),
        )
        .route("/api/v1/history", get(history))
        .route("/api/v1/history/seen", post(history_seen))
        .route("/api/v1/history/missed", get(history_missed))
        .route("/api/v1/company", get(company))
        .route("/api/v1/directory", get(directory))
        .route("/api/v1/invitations/{token}", get(link_info))
        .route("/api/v1/invitations/{token}/accept", post(accept_link))
        .route("/api/v1/password-resets", post(password_reset))
        .route(
            "/api/v1/employees",
            get(list_employees).post(create_employee),
        )
        .route("/api/v1/employees/next-extension", get(next_extension))
        .route("/api/v1/employees/access", post(set_access))
        .route("/api/v1/employees/import", post(import_employees))
        .route(
            "/api/v1/employees/{id}",
            get(get_employee)
                .patch(update_employee)
                .delete(delete_employee),
        )
        .route("/api/v1/employees/{id}/invitation", post(resend_invitation))
        .route("/api/v1/number-blocks", get(list_blocks).post(create_block))
        .route(
            "/api/v1/number-blocks/{id}",
            axum::routing::delete(delete_block),
        )
        .route("/api/v1/api-tokens", get(list_tokens).post(create_token))
        .route(
            "/api/v1/api-tokens/{id}",
            axum::routing::delete(delete_token),
        )
        .merge(routing::routes())
        .merge(voicemail::routes())
        .merge(media::routes())
        .merge(calling::routes())
        .merge(operator::routes())
        .merge(billing::routes())
        // Unknown API paths answer JSON, not the web app's page.
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such API endpoint.")
            }),
        )
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(origins, check_origin))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Centrala API", description = "Companies' phone system: employees, numbers, login and onboarding; each person's status, language, favourites, phone book and call history; devices, device credentials and call routing."),
    paths(
        login, logout, me, sip_credentials, company, directory, link_info, accept_link,
        password_reset, list_employees, create_employee, next_extension, set_access,
        import_employees, get_employee, update_employee, delete_employee, resend_invitation,
        list_blocks, create_block, delete_block, list_tokens, create_token, delete_token,
        set_presence, set_language, add_favourite, remove_favourite, list_contacts,
        create_contact, get_contact, update_contact, delete_contact, import_contacts,
        export_contacts, history, history_seen, history_missed,
        routing::my_devices, routing::remove_my_device, routing::set_my_default_device,
        routing::employee_devices, routing::remove_employee_device,
        routing::set_employee_default_device, routing::lock_employee, routing::my_credentials,
        routing::create_my_credential, routing::delete_my_credential,
        routing::employee_credentials, routing::create_employee_credential,
        routing::delete_employee_credential, routing::my_routing, routing::set_my_routing,
        routing::employee_routing, routing::set_employee_routing,
        voicemail::my_voicemail, voicemail::update_voicemail, voicemail::delete_voicemail,
        voicemail::voicemail_audio, voicemail::my_greetings, voicemail::set_greeting,
        voicemail::greeting_audio, voicemail::delete_greeting, voicemail::builtin_greeting,
        voicemail::my_voicemail_pin, voicemail::set_voicemail_pin, voicemail::delete_voicemail_pin,
        media::ice, media::company_media, media::set_company_media,
        calling::company_calling, calling::set_company_calling, calling::employee_calling,
        calling::set_employee_calling, calling::my_calling, calling::set_my_calling,
        calling::lift_suspension,
        operator::list_trunks, operator::add_trunk, operator::remove_trunk,
        billing::costs, billing::calls, billing::statement, billing::statement_csv,
        billing::settings, billing::set_settings, billing::set_employee_billing,
        billing::my_costs, billing::my_statement_csv
    ),
    components(schemas(ErrorBody, InviteState, LinkKind, NumberLabel, ContactNumber)),
    modifiers(&Security)
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
        c.add_security_scheme(
            "api_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of this API.
pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_doc())
}

fn session_cookie(st: &ApiState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if st.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

// ---- login and the web app ----

/// Logs in with e-mail and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/sessions", request_body = LoginBody,
    responses((status = 201, body = Me), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(st): State<ApiState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let email = body.email.trim().to_lowercase();
    let now = st.now_ms();
    let source = source_key(peer.ip());
    let key = (source, email.clone());
    {
        // Counted before hashing: a burst of attempts is limited as it arrives.
        let mut l = st.limits.lock().unwrap_or_else(|e| e.into_inner());
        let user_ok = !l.login_source.is_banned(&source, now) && l.login_user.hit(&key, now);
        if !user_ok || !l.login_source.hit(&source, now) {
            info!(%source, "web login refused: too many attempts");
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Too many failed logins. Wait a few minutes, or use \"Forgot password\".",
            ));
        }
    }
    match st.store.login(&email, &body.password).await? {
        Ok((employee, company)) => {
            st.limits
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .login_user
                .clear(&key);
            let token = st
                .store
                .create_session(employee.id, st.cfg.session_ttl_secs)
                .await?;
            info!(employee = employee.id, company = company.id, "web login");
            let me = me_of(&st, employee, company).await?;
            let mut resp = (StatusCode::CREATED, Json(me)).into_response();
            resp.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&st, &token, st.cfg.session_ttl_secs),
            );
            Ok(resp)
        }
        Err(no_access) => {
            if no_access {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "no_app_access",
                    "Your account has no access to the app. Ask your administrator.",
                ));
            }
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Wrong e-mail or password.",
            ))
        }
    }
}

/// Logs out: ends this session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/sessions/current", responses((status = 204)))]
async fn logout(State(st): State<ApiState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Some(employee) = st.store.delete_session(&token).await?
    {
        // The SIP credentials this browser (or any other) was given stop working.
        sip_credentials_revoked(&st, employee).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&st, "", 0));
    Ok(resp)
}

/// Who is logged in, their company, status choice and language.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(State(st): State<ApiState>, caller: Caller) -> ApiResult<Json<Me>> {
    let employee = caller.employee.ok_or_else(not_an_employee)?;
    Ok(Json(me_of(&st, employee, caller.company).await?))
}

fn not_an_employee() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "An API token is not an employee.",
    )
}

/// The caller's own employee record: personal resources are an employee's, not a token's.
fn person(caller: &Caller) -> ApiResult<&Employee> {
    caller.employee.as_ref().ok_or_else(not_an_employee)
}

async fn me_of(st: &ApiState, employee: Employee, company: Company) -> ApiResult<Me> {
    let (choice, language) = st
        .store
        .employee_settings(employee.id)
        .await?
        .unwrap_or_default();
    Ok(Me {
        employee,
        company,
        presence: choice.into(),
        language,
    })
}

/// Short-lived SIP credentials for the logged-in employee's web app.
#[utoipa::path(post, path = "/api/v1/me/sip-credentials", responses((status = 200, body = SipCredentials), (status = 401, body = ErrorBody)))]
async fn sip_credentials(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<SipCredentials>> {
    let Some(e) = caller.employee else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "SIP credentials are for employees' web sessions.",
        ));
    };
    let generation = st
        .store
        .sip_generation(e.id)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    let expires = accounts::unix_now() + sipcred::LIFETIME_SECS;
    let username = sipcred::username(&e.extension, expires);
    Ok(Json(SipCredentials {
        password: sipcred::password(
            &st.sip_secret,
            &username,
            &caller.company.domain,
            e.id,
            generation,
        ),
        username,
        domain: caller.company.domain,
        extension: e.extension,
        display_name: e.name,
        expires_in: sipcred::LIFETIME_SECS,
        expires_at: accounts::rfc3339(expires),
    }))
}

/// The caller's company.
#[utoipa::path(get, path = "/api/v1/company", responses((status = 200, body = Company), (status = 401, body = ErrorBody)))]
async fn company(caller: Caller) -> Json<Company> {
    Json(caller.company)
}

/// The company's phone directory (every employee's name, extension and number).
#[utoipa::path(get, path = "/api/v1/directory", responses((status = 200, body = DirectoryList), (status = 401, body = ErrorBody)))]
async fn directory(State(st): State<ApiState>, caller: Caller) -> ApiResult<Json<DirectoryList>> {
    let (total, items) = st.store.employees(caller.company.id, "", 10_000, 0).await?;
    let favourites = match &caller.employee {
        Some(e) => st.store.favourites(e.id).await?,
        None => HashSet::new(),
    };
    Ok(Json(DirectoryList {
        total,
        items: items
            .into_iter()
            .map(|e| DirectoryEntry {
                favourite: favourites.contains(&e.id),
                id: e.id,
                name: e.name,
                extension: e.extension,
                number: e.number,
                email: e.email,
            })
            .collect(),
    }))
}

fn link_error(p: LinkProblem) -> ApiError {
    match p {
        LinkProblem::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "link_not_found",
            "This link is not valid. Ask for a new one below.",
        ),
        LinkProblem::Used => ApiError::new(
            StatusCode::GONE,
            "link_used",
            "This link has already been used. Log in, or ask for a new link below.",
        ),
        LinkProblem::Expired => ApiError::new(
            StatusCode::GONE,
            "link_expired",
            "This link has expired. Ask for a new one below.",
        ),
    }
}

/// What an invitation or password link is for (before the password is chosen).
#[utoipa::path(get, path = "/api/v1/invitations/{token}", params(("token" = String, Path)),
    responses((status = 200, body = LinkInfo), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
async fn link_info(
    State(st): State<ApiState>,
    Path(token): Path<String>,
) -> ApiResult<Json<LinkInfo>> {
    st.store.link(&token).await?.map(Json).map_err(link_error)
}

/// Sets the password with a link and logs in (sets the session cookie).
#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", params(("token" = String, Path)), request_body = PasswordBody,
    responses((status = 200, body = Me), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
async fn accept_link(
    State(st): State<ApiState>,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<Response> {
    let info = st.store.link(&token).await?.map_err(link_error)?;
    if let Err(m) = accounts::check_password_strength(&body.password, &info.email, &info.name) {
        return Err(ApiError::field(
            "validation_failed",
            StatusCode::BAD_REQUEST,
            "password",
            &m,
        ));
    }
    let id = st
        .store
        .use_link(&token, &body.password)
        .await?
        .map_err(link_error)?;
    // use_link raised the SIP generation; the core forgets its cached copy.
    notify_sip_change(&st, id).await?;
    let (employee, company) = match st.store.employee_by_email(&info.email).await? {
        Some((e, _)) if e.id == id => {
            let c = st
                .store
                .company(e.company_id)
                .await?
                .ok_or_else(|| ApiError::not_found("company"))?;
            (e, c)
        }
        _ => return Err(ApiError::not_found("employee")),
    };
    let session = st
        .store
        .create_session(employee.id, st.cfg.session_ttl_secs)
        .await?;
    info!(employee = employee.id, kind = ?info.kind, "password set with a link");
    let mut resp = Json(me_of(&st, employee, company).await?).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&st, &session, st.cfg.session_ttl_secs),
    );
    Ok(resp)
}

const RESET_MESSAGE: &str = "If that address belongs to an account with app access, a link to set a new password is on its way. Check your inbox.";

/// "Forgot password": e-mails a link to set a new one. Always 202, whether or not the
/// address has an account.
#[utoipa::path(post, path = "/api/v1/password-resets", request_body = EmailBody,
    responses((status = 202, body = MessageBody), (status = 400, body = ErrorBody)))]
async fn password_reset(
    State(st): State<ApiState>,
    RequestLang(lang): RequestLang,
    ApiJson(body): ApiJson<EmailBody>,
) -> ApiResult<(StatusCode, Json<MessageBody>)> {
    let email = accounts::normalize_email(&body.email)?;
    let accepted = (
        StatusCode::ACCEPTED,
        Json(MessageBody {
            message: RESET_MESSAGE.into(),
        }),
    );
    let now = st.now_ms();
    if !st
        .limits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .reset_email
        .hit(&email, now)
    {
        return Ok(accepted);
    }
    if let Some((e, _)) = st.store.employee_by_email(&email).await?
        && e.app_access
    {
        // Someone never invited, or whose invitation was lost, gets an invitation instead.
        let kind = if e.invite_state == InviteState::Active {
            LinkKind::Reset
        } else {
            LinkKind::Invite
        };
        if let Err(err) = send_link(&st, &e, kind, lang).await {
            warn!(employee = e.id, error = %err.message, "password link not sent");
        }
    }
    Ok(accepted)
}

/// Makes a link and e-mails it, in the recipient's language: the one they chose, else
/// `hint` (the language of the request that caused it), else English.
async fn send_link(
    st: &ApiState,
    e: &Employee,
    kind: LinkKind,
    hint: Option<Lang>,
) -> ApiResult<()> {
    let Some(email) = &e.email else {
        return Err(ApiError::field(
            "validation_failed",
            StatusCode::BAD_REQUEST,
            "email",
            "the employee has no e-mail address",
        ));
    };
    let company = st
        .store
        .company(e.company_id)
        .await?
        .ok_or_else(|| ApiError::not_found("company"))?;
    let ttl = match kind {
        LinkKind::Invite => st.cfg.invite_ttl_secs,
        LinkKind::Reset => st.cfg.reset_ttl_secs,
    };
    let token = st.store.create_link(e.id, kind, ttl).await?;
    let lang = st
        .store
        .employee_settings(e.id)
        .await?
        .and_then(|(_, l)| l)
        .or(hint)
        .unwrap_or_default();
    let base = st.cfg.public_url.trim_end_matches('/');
    let hours = ttl / 3600;
    let (link, letter) = match kind {
        LinkKind::Invite => {
            let link = format!("{base}/?invite={token}");
            let letter = mail::invitation(
                lang,
                &e.name,
                &company.name,
                &e.extension,
                e.number.as_deref(),
                &link,
                hours,
            );
            (link, letter)
        }
        LinkKind::Reset => {
            let link = format!("{base}/?reset={token}");
            let letter = mail::password_reset(lang, &e.name, &company.name, &link, hours);
            (link, letter)
        }
    };
    // Queued first (nothing is lost), then one attempt now so that whoever asked learns at
    // once when the mail settings are wrong.
    let sent = st
        .mail
        .send_now(Outgoing {
            to_name: e.name.clone(),
            to: email.clone(),
            letter,
            link,
            kind: kind.as_str(),
            attachment: None,
        })
        .await?;
    if kind == LinkKind::Invite {
        st.store.mark_invited(e.id).await?;
    }
    sent.map_err(|err| {
        warn!(employee = e.id, error = %err, "e-mail not sent yet; queued for retries");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "mail_failed",
            format!(
                "The e-mail could not be sent yet ({err}). It stays queued and is tried again \
                 for 24 hours; check the mail settings."
            ),
        )
    })
}

/// Ends the web app's SIP credentials of `employee` (logout): raises the generation and
/// tells the core, whose cached copy would accept the old credentials for a few seconds.
async fn sip_credentials_revoked(st: &ApiState, employee: i64) -> ApiResult<()> {
    if let Some((company, ext)) = st.store.bump_sip_generation(employee).await? {
        account_changed(st, company, ext, Registrations::Keep).await;
    }
    Ok(())
}

/// Tells the core that `employee`'s SIP generation changed in the store.
async fn notify_sip_change(st: &ApiState, employee: i64) -> ApiResult<()> {
    if let Some((company, ext)) = st.store.employee_ext(employee).await? {
        account_changed(st, company, ext, Registrations::Keep).await;
    }
    Ok(())
}

async fn account_changed(st: &ApiState, company: i64, ext: String, drop: Registrations) {
    let _ = st
        .core
        .send(CoreInput::AccountChanged { company, ext, drop })
        .await;
}

// ---- employees (admins) ----

/// The core's presence lists follow a company's employees (names, extensions, who exists).
async fn roster_changed(st: &ApiState, company: i64) {
    let _ = st.core.send(CoreInput::RosterChanged { company }).await;
}

/// The language an API request's `Accept-Language` prefers among ours, if any: e-mails it
/// causes go out in it to people who chose none.
pub struct RequestLang(pub Option<Lang>);

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestLang(
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language),
        ))
    }
}

/// What follows a change to an employee: an invitation when access is granted (in `lang`
/// unless they chose one), and the core told to drop registrations when access is revoked
/// or the extension changes. The caller tells the core the roster changed
/// ([`roster_changed`]), once for a batch.
async fn after_change(
    st: &ApiState,
    before: Option<&Employee>,
    after: Option<&Employee>,
    lang: Option<Lang>,
) -> Option<String> {
    let mut warning = None;
    if let Some(a) = after
        && a.app_access
        && a.invite_state != InviteState::Active
        && before.is_none_or(|b| !b.app_access)
        && let Err(e) = send_link(st, a, LinkKind::Invite, lang).await
    {
        warning = Some(e.message);
    }
    if let Some(b) = before {
        let revoked = b.app_access && after.is_none_or(|a| !a.app_access);
        let gone = after.is_none_or(|a| a.extension != b.extension);
        let drop = if gone {
            Registrations::All
        } else if revoked {
            Registrations::App
        } else {
            Registrations::Keep
        };
        account_changed(st, b.company_id, b.extension.clone(), drop).await;
    }
    if let Some(a) = after
        && before.is_none_or(|b| b.extension != a.extension)
    {
        // The registrar may have cached "no such extension".
        account_changed(st, a.company_id, a.extension.clone(), Registrations::Keep).await;
    }
    warning
}

/// Employees of the caller's company, filtered by `q`.
#[utoipa::path(get, path = "/api/v1/employees", params(ListQuery),
    responses((status = 200, body = EmployeeList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_employees(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<EmployeeList>> {
    let (total, items) = st
        .store
        .employees(c.company.id, &q.q, q.limit, q.offset)
        .await?;
    Ok(Json(EmployeeList { total, items }))
}

/// Adds an employee; with `app_access` an invitation e-mail goes out.
#[utoipa::path(post, path = "/api/v1/employees", request_body = NewEmployee,
    responses((status = 201, body = Employee), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_employee(
    State(st): State<ApiState>,
    Admin(c): Admin,
    RequestLang(lang): RequestLang,
    ApiJson(new): ApiJson<NewEmployee>,
) -> ApiResult<(StatusCode, Json<Employee>)> {
    let e = st.store.create_employee(c.company.id, &new).await?;
    info!(company = c.company.id, employee = e.id, ext = %e.extension, "employee added");
    after_change(&st, None, Some(&e), lang).await;
    roster_changed(&st, c.company.id).await;
    let e = st.store.employee(c.company.id, e.id).await?.unwrap_or(e);
    Ok((StatusCode::CREATED, Json(e)))
}

/// The next free extension, to suggest for a new employee.
#[utoipa::path(get, path = "/api/v1/employees/next-extension",
    responses((status = 200, body = NextExtension), (status = 403, body = ErrorBody)))]
async fn next_extension(
    State(st): State<ApiState>,
    Admin(c): Admin,
) -> ApiResult<Json<NextExtension>> {
    Ok(Json(NextExtension {
        extension: st.store.next_extension(c.company.id).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/employees/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Employee), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_employee(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
) -> ApiResult<Json<Employee>> {
    st.store
        .employee(c.company.id, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("employee"))
}

/// Changes an employee. Revoking app access ends their sessions and registrations at once.
#[utoipa::path(patch, path = "/api/v1/employees/{id}", params(("id" = i64, Path)), request_body = EmployeePatch,
    responses((status = 200, body = Employee), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_employee(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
    RequestLang(lang): RequestLang,
    ApiJson(patch): ApiJson<EmployeePatch>,
) -> ApiResult<Json<Employee>> {
    if let Some(me) = &c.employee
        && me.id == id
        && (patch.role == Some(Role::User) || patch.app_access == Some(false))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "You cannot take away your own admin role or app access; ask another admin.",
        ));
    }
    let (before, after) = st.store.update_employee(c.company.id, id, &patch).await?;
    info!(company = c.company.id, employee = id, "employee changed");
    after_change(&st, Some(&before), Some(&after), lang).await;
    roster_changed(&st, c.company.id).await;
    let after = st.store.employee(c.company.id, id).await?.unwrap_or(after);
    Ok(Json(after))
}

/// Removes an employee, their sessions and registrations.
#[utoipa::path(delete, path = "/api/v1/employees/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn delete_employee(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    if c.employee.as_ref().is_some_and(|me| me.id == id) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "You cannot remove yourself; ask another admin.",
        ));
    }
    let e = st.store.delete_employee(c.company.id, id).await?;
    info!(company = c.company.id, employee = id, ext = %e.extension, "employee removed");
    after_change(&st, Some(&e), None, None).await;
    roster_changed(&st, c.company.id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the invitation again (a new link; the old one stops working).
#[utoipa::path(post, path = "/api/v1/employees/{id}/invitation", params(("id" = i64, Path)),
    responses((status = 202, body = Employee), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn resend_invitation(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
    RequestLang(lang): RequestLang,
) -> ApiResult<(StatusCode, Json<Employee>)> {
    let e = st
        .store
        .employee(c.company.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("employee"))?;
    if !e.app_access {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Grant app access first: the invitation is for the app.",
        ));
    }
    let kind = if e.invite_state == InviteState::Active {
        LinkKind::Reset
    } else {
        LinkKind::Invite
    };
    send_link(&st, &e, kind, lang).await?;
    let e = st.store.employee(c.company.id, id).await?.unwrap_or(e);
    Ok((StatusCode::ACCEPTED, Json(e)))
}

/// Grants or revokes app access for many employees at once (invitations go out to those
/// newly granted).
#[utoipa::path(post, path = "/api/v1/employees/access", request_body = AccessBody,
    responses((status = 200, body = EmployeeList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_access(
    State(st): State<ApiState>,
    Admin(c): Admin,
    RequestLang(lang): RequestLang,
    ApiJson(body): ApiJson<AccessBody>,
) -> ApiResult<Json<EmployeeList>> {
    if body.ids.is_empty() || body.ids.len() > 1000 {
        return Err(ApiError::field(
            "validation_failed",
            StatusCode::BAD_REQUEST,
            "ids",
            "select 1 to 1000 employees",
        ));
    }
    // Check all first: nothing changes if one id is wrong.
    let mut found = Vec::new();
    for id in &body.ids {
        let e = st
            .store
            .employee(c.company.id, *id)
            .await?
            .ok_or_else(|| ApiError::not_found(&format!("employee {id}")))?;
        if !body.app_access && c.employee.as_ref().is_some_and(|me| me.id == e.id) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "You cannot take away your own app access.",
            ));
        }
        if body.app_access && e.email.is_none() {
            return Err(ApiError::field(
                "validation_failed",
                StatusCode::BAD_REQUEST,
                "ids",
                &format!("{} has no e-mail address to invite", e.name),
            ));
        }
        found.push(e);
    }
    let patch = EmployeePatch {
        app_access: Some(body.app_access),
        ..Default::default()
    };
    let mut items = Vec::new();
    for e in found {
        let (before, after) = st.store.update_employee(c.company.id, e.id, &patch).await?;
        after_change(&st, Some(&before), Some(&after), lang).await;
        items.push(
            st.store
                .employee(c.company.id, e.id)
                .await?
                .unwrap_or(after),
        );
    }
    roster_changed(&st, c.company.id).await;
    Ok(Json(EmployeeList {
        total: items.len() as i64,
        items,
    }))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" | "off" => Some(false),
        "yes" | "y" | "true" | "1" | "on" => Some(true),
        _ => None,
    }
}

/// Bulk import from CSV (header: name, email, extension, role, app_access; the last three
/// optional). Rows are matched to employees by e-mail. A dry run (the default) reports what
/// would change and every row's errors; an import with any error writes nothing (400).
#[utoipa::path(post, path = "/api/v1/employees/import", params(ImportQuery), request_body = ImportBody,
    responses((status = 200, body = ImportReport), (status = 400, body = ImportReport), (status = 403, body = ErrorBody)))]
async fn import_employees(
    State(st): State<ApiState>,
    Admin(c): Admin,
    RequestLang(lang): RequestLang,
    Query(q): Query<ImportQuery>,
    ApiJson(body): ApiJson<ImportBody>,
) -> ApiResult<Response> {
    let company = c.company.id;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body.csv.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            ApiError::field(
                "validation_failed",
                StatusCode::BAD_REQUEST,
                "csv",
                &format!("cannot read the header row: {e}"),
            )
        })?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase().replace([' ', '-'], "_"))
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c_name), Some(c_email)) = (col("name"), col("email")) else {
        return Err(ApiError::field(
            "validation_failed",
            StatusCode::BAD_REQUEST,
            "csv",
            "the first row must name the columns: name, email (and optionally extension, role, app_access)",
        ));
    };
    let (c_ext, c_role, c_access) = (col("extension"), col("role"), col("app_access"));
    let (_, existing) = st.store.employees(company, "", 100_000, 0).await?;
    let by_email: HashMap<String, &Employee> = existing
        .iter()
        .filter_map(|e| e.email.clone().map(|m| (m, e)))
        .collect();
    let mut taken: HashMap<String, i64> = existing
        .iter()
        .map(|e| (e.extension.clone(), e.id))
        .collect();
    let mut seen_emails = HashSet::new();
    let digits = c.company.extension_digits as usize;
    let mut rows = Vec::new();
    let mut plans: Vec<(Option<i64>, NewEmployee)> = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let mut errors = Vec::new();
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                rows.push(ImportRow {
                    row: line,
                    action: ImportAction::Error,
                    name: String::new(),
                    email: String::new(),
                    extension: String::new(),
                    errors: vec![FieldError {
                        field: "csv".into(),
                        message: e.to_string(),
                    }],
                });
                continue;
            }
        };
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").to_string();
        let name = get(Some(c_name));
        let raw_email = get(Some(c_email));
        let mut ext = get(c_ext);
        macro_rules! err {
            ($field:expr, $message:expr) => {
                errors.push(FieldError {
                    field: $field.into(),
                    message: $message,
                })
            };
        }
        if name.is_empty() || name.chars().count() > 100 {
            err!("name", "a name of 1 to 100 characters is needed".into());
        }
        let email = match accounts::normalize_email(&raw_email) {
            Ok(e) => {
                if !seen_emails.insert(e.clone()) {
                    err!("email", "appears twice in the file".into());
                }
                e
            }
            Err(StoreError::Field { message, .. }) => {
                err!("email", message);
                raw_email.clone()
            }
            Err(e) => return Err(e.into()),
        };
        let role = match get(c_role).to_ascii_lowercase().as_str() {
            "" | "user" => Role::User,
            "admin" => Role::Admin,
            other => {
                err!("role", format!("{other:?} is not a role (admin or user)"));
                Role::User
            }
        };
        let access = parse_bool(&get(c_access)).unwrap_or_else(|| {
            err!("app_access", "use yes or no".into());
            false
        });
        let current = by_email.get(&email).copied();
        if current.is_none()
            && errors.iter().all(|e| e.field != "email")
            && st.store.employee_by_email(&email).await?.is_some()
        {
            err!(
                "email",
                "this address is used by an account elsewhere".into()
            );
        }
        if ext.is_empty() {
            ext = match current {
                Some(e) => e.extension.clone(),
                None => match accounts::first_free_extension(digits, |e| taken.contains_key(e)) {
                    Some(e) => e,
                    None => {
                        err!("extension", "every extension is taken".into());
                        String::new()
                    }
                },
            };
        }
        if !ext.is_empty() {
            if !accounts::valid_extension(&ext, digits) {
                err!(
                    "extension",
                    format!("extensions have {digits} digits and do not start with 0")
                );
            } else if let Some(owner) = taken.get(&ext)
                && current.is_none_or(|e| e.id != *owner)
            {
                err!("extension", format!("extension {ext} is already taken"));
            }
        }
        let action = if !errors.is_empty() {
            ImportAction::Error
        } else if let Some(cur) = current {
            let same = cur.name == name
                && cur.extension == ext
                && cur.role == role
                && cur.app_access == access;
            if same {
                ImportAction::Unchanged
            } else {
                ImportAction::Update
            }
        } else {
            ImportAction::Create
        };
        if action != ImportAction::Error {
            if let Some(cur) = current {
                taken.retain(|_, id| *id != cur.id);
            }
            taken.insert(ext.clone(), current.map_or(-1, |e| e.id));
            if action != ImportAction::Unchanged {
                plans.push((
                    current.map(|e| e.id),
                    NewEmployee {
                        name: name.clone(),
                        email: email.clone(),
                        extension: Some(ext.clone()),
                        role,
                        app_access: access,
                    },
                ));
            }
        }
        rows.push(ImportRow {
            row: line,
            action,
            name,
            email,
            extension: ext,
            errors,
        });
    }
    let count = |a: ImportAction| rows.iter().filter(|r| r.action == a).count();
    let mut report = ImportReport {
        dry_run: q.dry_run,
        created: count(ImportAction::Create),
        updated: count(ImportAction::Update),
        unchanged: count(ImportAction::Unchanged),
        errors: count(ImportAction::Error),
        rows,
    };
    if report.rows.is_empty() {
        return Err(ApiError::field(
            "validation_failed",
            StatusCode::BAD_REQUEST,
            "csv",
            "the file has no employees after the header row",
        ));
    }
    if q.dry_run {
        return Ok(Json(report).into_response());
    }
    if report.errors > 0 {
        return Ok((StatusCode::BAD_REQUEST, Json(report)).into_response());
    }
    // In file order, which the checks above followed: an extension is free for a row only
    // once an earlier row moved its owner away, so no step collides.
    for (id, new) in plans {
        match id {
            Some(id) => {
                let patch = EmployeePatch {
                    name: Some(new.name),
                    email: None,
                    extension: new.extension,
                    role: Some(new.role),
                    app_access: Some(new.app_access),
                };
                let (before, after) = st.store.update_employee(company, id, &patch).await?;
                after_change(&st, Some(&before), Some(&after), lang).await;
            }
            None => {
                let e = st.store.create_employee(company, &new).await?;
                after_change(&st, None, Some(&e), lang).await;
            }
        }
    }
    roster_changed(&st, company).await;
    info!(
        company,
        created = report.created,
        updated = report.updated,
        "employees imported"
    );
    report.dry_run = false;
    Ok(Json(report).into_response())
}

// ---- number blocks ----

#[utoipa::path(get, path = "/api/v1/number-blocks",
    responses((status = 200, body = NumberBlockList), (status = 403, body = ErrorBody)))]
async fn list_blocks(
    State(st): State<ApiState>,
    Admin(c): Admin,
) -> ApiResult<Json<NumberBlockList>> {
    let items = st.store.number_blocks(c.company.id).await?;
    Ok(Json(NumberBlockList {
        total: items.len() as i64,
        items,
    }))
}

#[utoipa::path(post, path = "/api/v1/number-blocks", request_body = NewNumberBlock,
    responses((status = 201, body = NumberBlock), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_block(
    State(st): State<ApiState>,
    Admin(c): Admin,
    ApiJson(b): ApiJson<NewNumberBlock>,
) -> ApiResult<(StatusCode, Json<NumberBlock>)> {
    let block = st
        .store
        .add_number_block(
            c.company.id,
            &b.first_number,
            b.size,
            b.first_extension.as_deref(),
        )
        .await?;
    info!(company = c.company.id, first = %block.first_number, size = block.size, "number block added");
    numbers_changed(&st, c.company.id).await?;
    Ok((StatusCode::CREATED, Json(block)))
}

#[utoipa::path(delete, path = "/api/v1/number-blocks/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_block(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    st.store.delete_number_block(c.company.id, id).await?;
    numbers_changed(&st, c.company.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An employee's settings the core keeps changed (it reads them again).
async fn notify_employee(st: &ApiState, employee: i64) -> ApiResult<()> {
    if let Some((company, ext)) = st.store.employee_ext(employee).await? {
        account_changed(st, company, ext, Registrations::Keep).await;
    }
    Ok(())
}

/// The company's public numbers (or limits) changed: its people's own numbers (their
/// caller ID on calls out) and spending are read again.
async fn numbers_changed(st: &ApiState, company: i64) -> ApiResult<()> {
    for ext in st.store.extensions(company).await? {
        account_changed(st, company, ext, Registrations::Keep).await;
    }
    Ok(())
}

// ---- API tokens ----

#[utoipa::path(get, path = "/api/v1/api-tokens",
    responses((status = 200, body = ApiTokenList), (status = 403, body = ErrorBody)))]
async fn list_tokens(State(st): State<ApiState>, Admin(c): Admin) -> ApiResult<Json<ApiTokenList>> {
    let items = st.store.api_tokens(c.company.id).await?;
    Ok(Json(ApiTokenList {
        total: items.len() as i64,
        items,
    }))
}

/// A new admin API token for scripts; its secret is in this answer only. It expires after
/// `expires_in_days`, and stops working as soon as its creator is no longer an admin.
#[utoipa::path(post, path = "/api/v1/api-tokens", request_body = NewApiToken,
    responses((status = 201, body = CreatedApiToken), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_token(
    State(st): State<ApiState>,
    Admin(c): Admin,
    ApiJson(b): ApiJson<NewApiToken>,
) -> ApiResult<(StatusCode, Json<CreatedApiToken>)> {
    let by = c.acting_admin().ok_or_else(ApiError::unauthenticated)?;
    let (token, secret) = st
        .store
        .create_api_token(c.company.id, &b.name, by, b.expires_in_days)
        .await?;
    info!(
        company = c.company.id,
        token = token.id,
        "API token created"
    );
    Ok((StatusCode::CREATED, Json(CreatedApiToken { token, secret })))
}

#[utoipa::path(delete, path = "/api/v1/api-tokens/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_token(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    st.store.delete_api_token(c.company.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- each person's own things: status, language, favourites ----

/// A status choice, as sent and answered.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PresenceBody {
    pub status: PresenceStatus,
}

/// A language choice, as sent and answered (null: none, follow the browser).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct LanguageBody {
    pub language: Option<Lang>,
}

/// The string field `name` of a JSON object, if it is one of `allowed`; else a 400 naming it.
fn choice_field<'a>(
    body: &'a serde_json::Value,
    name: &str,
    allowed: &[&str],
    null_ok: bool,
) -> ApiResult<Option<&'a str>> {
    let bad = || {
        let list = allowed.join(", ");
        ApiError::fields(BTreeMap::from([(
            name.to_string(),
            if null_ok {
                format!("use one of: {list}, or null")
            } else {
                format!("use one of: {list}")
            },
        )]))
    };
    match body.get(name) {
        Some(serde_json::Value::String(v)) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        Some(serde_json::Value::Null) if null_ok => Ok(None),
        _ => Err(bad()),
    }
}

/// Sets one's own status: available, do not disturb (incoming calls get busy treatment) or
/// away. Kept across restarts; colleagues watching see it at once.
#[utoipa::path(put, path = "/api/v1/me/presence", request_body = PresenceBody,
    responses((status = 200, body = PresenceBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn set_presence(
    State(st): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Json<PresenceBody>> {
    let e = person(&caller)?;
    let raw = choice_field(&body, "status", &["available", "dnd", "away"], false)?;
    let choice: Choice = raw.unwrap_or_default().parse().unwrap_or_default();
    if !st
        .store
        .save_presence(caller.company.id, &e.extension, choice)
        .await?
    {
        return Err(ApiError::not_found("employee"));
    }
    let _ = st
        .core
        .send(CoreInput::PresenceChoice {
            company: caller.company.id,
            ext: e.extension.clone(),
            choice,
        })
        .await;
    info!(employee = e.id, %choice, "status chosen");
    Ok(Json(PresenceBody {
        status: choice.into(),
    }))
}

/// Sets one's language ("pl" or "en"; null forgets the choice): the app's, and that of
/// the e-mails sent to this person.
#[utoipa::path(put, path = "/api/v1/me/language", request_body = LanguageBody,
    responses((status = 200, body = LanguageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn set_language(
    State(st): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Json<LanguageBody>> {
    let e = person(&caller)?;
    let language = choice_field(&body, "language", &["pl", "en"], true)?.and_then(Lang::parse);
    st.store.set_language(e.id, language).await?;
    Ok(Json(LanguageBody { language }))
}

/// Marks a colleague (an employee of the caller's company) as a favourite.
#[utoipa::path(put, path = "/api/v1/favourites/{employee_id}", params(("employee_id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_favourite(
    State(st): State<ApiState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    favourite(&st, &caller, id, true).await
}

/// Unmarks a favourite colleague.
#[utoipa::path(delete, path = "/api/v1/favourites/{employee_id}", params(("employee_id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_favourite(
    State(st): State<ApiState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    favourite(&st, &caller, id, false).await
}

async fn favourite(st: &ApiState, caller: &Caller, id: i64, on: bool) -> ApiResult<StatusCode> {
    let e = person(caller)?;
    if !st
        .store
        .set_favourite(caller.company.id, e.id, id, on)
        .await?
    {
        return Err(ApiError::not_found("employee"));
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---- the personal phone book ----

/// A number as sent.
#[derive(Deserialize, ToSchema)]
pub struct NumberBody {
    /// work, mobile, home or other (other when left out).
    #[serde(default = "other_label")]
    pub label: String,
    #[serde(default)]
    pub number: String,
}

fn other_label() -> String {
    "other".into()
}

/// A contact as sent (POST and PUT).
#[derive(Deserialize, ToSchema)]
pub struct ContactBody {
    /// 1 to 100 characters.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub organization: Option<String>,
    /// 1 to 10 numbers: digits, spaces and + - ( ) * #, at least 2 digits, at most 32
    /// characters.
    #[serde(default)]
    pub numbers: Vec<NumberBody>,
    #[serde(default)]
    pub favourite: bool,
}

impl ContactBody {
    fn check(&self) -> ApiResult<accounts::ContactData> {
        let numbers: Vec<(Option<NumberLabel>, &str)> = self
            .numbers
            .iter()
            .map(|n| (NumberLabel::parse(&n.label), n.number.as_str()))
            .collect();
        phonebook::check(
            &self.name,
            self.organization.as_deref(),
            &numbers,
            self.favourite,
        )
        .map_err(ApiError::fields)
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContactList {
    pub items: Vec<Contact>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ContactQuery {
    /// Filter by name, organization or number (digits compared without spaces or
    /// punctuation).
    #[serde(default)]
    pub q: String,
}

fn sort_contacts(items: &mut [Contact]) {
    items.sort_by_cached_key(|c| (phonebook::collation_key(&c.name), c.id));
}

/// The caller's phone book, in alphabetical order, filtered by `q`.
#[utoipa::path(get, path = "/api/v1/contacts", params(ContactQuery),
    responses((status = 200, body = ContactList), (status = 401, body = ErrorBody)))]
async fn list_contacts(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<ContactQuery>,
) -> ApiResult<Json<ContactList>> {
    let e = person(&caller)?;
    let mut items: Vec<Contact> = st
        .store
        .contacts(caller.company.id, e.id)
        .await?
        .into_iter()
        .filter(|c| phonebook::matches(c, &q.q))
        .collect();
    sort_contacts(&mut items);
    Ok(Json(ContactList { items }))
}

fn book_full() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "limit_reached",
        format!(
            "Your phone book is full ({} contacts); remove some first.",
            accounts::MAX_CONTACTS
        ),
    )
}

/// Adds a contact to the caller's phone book.
#[utoipa::path(post, path = "/api/v1/contacts", request_body = ContactBody,
    responses((status = 201, body = Contact), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_contact(
    State(st): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<ContactBody>,
) -> ApiResult<(StatusCode, Json<Contact>)> {
    let e = person(&caller)?;
    let data = body.check()?;
    let company = caller.company.id;
    if st.store.contact_count(company, e.id).await? >= accounts::MAX_CONTACTS {
        return Err(book_full());
    }
    let id = st
        .store
        .add_contacts(company, e.id, std::slice::from_ref(&data))
        .await?
        .pop()
        .unwrap_or_default();
    let c = st
        .store
        .contact(company, e.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Contact), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_contact(
    State(st): State<ApiState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<Json<Contact>> {
    let e = person(&caller)?;
    st.store
        .contact(caller.company.id, e.id, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("contact"))
}

/// Replaces a contact of the caller's phone book (all fields, numbers included).
#[utoipa::path(put, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)), request_body = ContactBody,
    responses((status = 200, body = Contact), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_contact(
    State(st): State<ApiState>,
    caller: Caller,
    Id(id): Id,
    ApiJson(body): ApiJson<ContactBody>,
) -> ApiResult<Json<Contact>> {
    let e = person(&caller)?;
    let company = caller.company.id;
    // Another person's contact is a 404 even when the body is bad.
    if st.store.contact(company, e.id, id).await?.is_none() {
        return Err(ApiError::not_found("contact"));
    }
    let data = body.check()?;
    if !st.store.update_contact(company, e.id, id, &data).await? {
        return Err(ApiError::not_found("contact"));
    }
    st.store
        .contact(company, e.id, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("contact"))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_contact(
    State(st): State<ApiState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    let e = person(&caller)?;
    if !st.store.delete_contact(caller.company.id, e.id, id).await? {
        return Err(ApiError::not_found("contact"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The largest phone book file taken.
pub const MAX_UPLOAD: usize = 2 * 1024 * 1024;

#[derive(Serialize, ToSchema)]
pub struct ImportProblem {
    /// The line in the file (1 first; for a vCard, the line its card starts on).
    pub line: usize,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContactImport {
    /// Contacts added.
    pub imported: usize,
    /// Contacts left out because the phone book already has them (same name,
    /// organization and numbers).
    pub duplicates: usize,
    /// Entries (or numbers) left out, and why.
    pub errors: Vec<ImportProblem>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BookFormat {
    Vcard,
    Csv,
}

/// Imports contacts from a vCard file (`Content-Type: text/vcard`; versions 2.1, 3.0 and
/// 4.0: FN or N, ORG, TEL with TYPE) or a CSV file (`text/csv`; header `name,organization,
/// label,number`, or Google's or Outlook's export). Good entries are added, bad ones
/// reported by line; at most 5,000 contacts per person and 2 MiB per file. Text that is not
/// UTF-8 is read as Windows-1250 (Polish Excel and Outlook).
#[utoipa::path(post, path = "/api/v1/contacts/import",
    request_body(content = String, content_type = "text/vcard"),
    responses((status = 200, body = ContactImport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn import_contacts(
    State(st): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Json<ContactImport>> {
    let e = person(&caller)?.clone();
    let company = caller.company.id;
    let bytes = axum::body::to_bytes(body, MAX_UPLOAD).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The file is larger than 2 MiB; split it and import the parts.",
        )
    })?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => {
            encoding_rs::WINDOWS_1250
                .decode_without_bom_handling(bytes)
                .0
        }
    };
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let looks_vcard = text
        .trim_start()
        .get(..11)
        .is_some_and(|h| h.eq_ignore_ascii_case("BEGIN:VCARD"));
    let format = match essence.as_str() {
        "text/vcard" | "text/x-vcard" | "text/directory" => BookFormat::Vcard,
        "text/csv"
        | "application/csv"
        | "text/comma-separated-values"
        | "application/vnd.ms-excel" => BookFormat::Csv,
        "" | "text/plain" | "application/octet-stream" => {
            if looks_vcard {
                BookFormat::Vcard
            } else {
                BookFormat::Csv
            }
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send a vCard (Content-Type: text/vcard) or CSV (text/csv) file.",
            ));
        }
    };
    let (entries, mut problems) = match format {
        BookFormat::Vcard => phonebook::read_vcards(&text),
        BookFormat::Csv => phonebook::read_csv(&text)
            .map_err(|m| ApiError::fields(BTreeMap::from([("file".to_string(), m)])))?,
    };
    let existing = st.store.contacts(company, e.id).await?;
    let mut room = (accounts::MAX_CONTACTS as usize).saturating_sub(existing.len());
    let mut known: HashSet<_> = existing
        .iter()
        .map(|c| {
            phonebook::identity(&accounts::ContactData {
                name: c.name.clone(),
                organization: c.organization.clone(),
                numbers: c.numbers.clone(),
                favourite: c.favourite,
            })
        })
        .collect();
    let mut add = Vec::new();
    let mut duplicates = 0;
    for entry in &entries {
        let Some(data) = phonebook::check_entry(entry, &mut problems) else {
            continue;
        };
        if !known.insert(phonebook::identity(&data)) {
            duplicates += 1;
        } else if room == 0 {
            problems.push(phonebook::LineError {
                line: entry.line,
                message: format!(
                    "{:?} left out: the phone book is full ({} contacts)",
                    data.name,
                    accounts::MAX_CONTACTS
                ),
            });
        } else {
            room -= 1;
            add.push(data);
        }
    }
    st.store.add_contacts(company, e.id, &add).await?;
    problems.sort_by_key(|p| p.line);
    info!(
        employee = e.id,
        imported = add.len(),
        errors = problems.len(),
        "phone book imported"
    );
    Ok(Json(ContactImport {
        imported: add.len(),
        duplicates,
        errors: problems
            .into_iter()
            .map(|p| ImportProblem {
                line: p.line,
                message: p.message,
            })
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// vcard (the default; vCard 3.0) or csv (`name,organization,label,number`).
    #[serde(default)]
    pub format: Option<String>,
}

/// The caller's phone book as a file to download.
#[utoipa::path(get, path = "/api/v1/contacts/export", params(ExportQuery),
    responses((status = 200, content_type = "text/vcard", body = String), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn export_contacts(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let e = person(&caller)?;
    let format = match q.format.as_deref().unwrap_or("vcard") {
        "vcard" | "vcf" => BookFormat::Vcard,
        "csv" => BookFormat::Csv,
        _ => {
            return Err(ApiError::fields(BTreeMap::from([(
                "format".to_string(),
                "use vcard or csv".to_string(),
            )])));
        }
    };
    let mut items = st.store.contacts(caller.company.id, e.id).await?;
    sort_contacts(&mut items);
    let (body, content_type, file) = match format {
        BookFormat::Vcard => (
            phonebook::write_vcards(&items),
            "text/vcard; charset=utf-8",
            "contacts.vcf",
        ),
        BookFormat::Csv => (
            phonebook::write_csv(&items),
            "text/csv; charset=utf-8",
            "contacts.csv",
        ),
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

// ---- call history ----

#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Outgoing,
    Incoming,
    /// A call for the person that was forwarded to someone else (the peer is the caller).
    Forwarded,
}

/// The other party of a call.
#[derive(Serialize, ToSchema)]
pub struct Peer {
    /// A colleague's name (as now), the name the call carried, or the caller's phone book's.
    pub name: Option<String>,
    /// What to dial to call back: the number dialled, or the caller's number.
    pub number: String,
    /// A colleague's extension (as now).
    pub extension: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryItem {
    pub id: i64,
    pub direction: Direction,
    /// answered, missed, declined, busy, unavailable, failed or voicemail (taken by voicemail).
    pub outcome: String,
    /// An incoming call nobody answered.
    pub missed: bool,
    pub peer: Peer,
    /// Unix milliseconds.
    pub started_ms: i64,
    pub answered_ms: Option<i64>,
    pub ended_ms: i64,
    /// Seconds talked (0 when not answered).
    pub duration_s: i64,
    /// A forwarded call: the extension it was first for, and that person's name (as now).
    pub diverted_from_number: Option<String>,
    pub diverted_from_name: Option<String>,
    /// Why it was forwarded: always, busy, no_answer, offline or unavailable.
    pub diversion: Option<String>,
    /// A call forwarded away from the person (`direction` forwarded): where it went.
    pub forwarded_to_number: Option<String>,
    pub forwarded_to_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct History {
    /// Newest first.
    pub items: Vec<HistoryItem>,
    pub missed_unseen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MissedCount {
    /// Incoming calls nobody answered since the history was last seen.
    pub missed_unseen: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[allow(dead_code)]
pub struct HistoryQuery {
    /// Only calls that started before this (Unix ms): the last page's oldest `started_ms`.
    pub before: Option<i64>,
    /// 1 to 200; 50 when left out.
    pub limit: Option<i64>,
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Whether two numbers are the same line: the same digits, or (both long enough to hold
/// a country or trunk prefix) the same last nine.
fn same_number(a: &str, b: &str) -> bool {
    a == b || (a.len() >= 9 && b.len() >= 9 && a[a.len() - 9..] == b[b.len() - 9..])
}

/// The caller's calls, made and received (and those for them that were forwarded to someone
/// else, `direction` forwarded), newest first; pages with `before`.
#[utoipa::path(get, path = "/api/v1/history", params(HistoryQuery),
    responses((status = 200, body = History), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn history(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<History>> {
    let e = person(&caller)?;
    let company = caller.company.id;
    let mut fields = BTreeMap::new();
    let before = match q.get("before").map(|b| b.trim().parse::<i64>()) {
        None => i64::MAX,
        Some(Ok(b)) => b,
        Some(Err(_)) => {
            fields.insert(
                "before".to_string(),
                "a time in Unix milliseconds".to_string(),
            );
            0
        }
    };
    let limit = match q.get("limit").map(|l| l.trim().parse::<i64>()) {
        None => 50,
        Some(Ok(l)) if (1..=200).contains(&l) => l,
        Some(_) => {
            fields.insert("limit".to_string(), "1 to 200".to_string());
            0
        }
    };
    if !fields.is_empty() {
        return Err(ApiError::fields(fields));
    }
    let rows = st.store.call_history(company, e.id, before, limit).await?;
    let book = if rows.iter().any(|r| r.peer_name.is_none()) {
        st.store.contact_names_by_digits(company, e.id).await?
    } else {
        Vec::new()
    };
    let items = rows
        .into_iter()
        .map(|r| {
            let name = r.peer_name.or_else(|| {
                let digits = accounts::number_digits(&r.peer_number);
                (digits.len() >= 2)
                    .then(|| {
                        book.iter()
                            .find(|(d, _)| same_number(d, &digits))
                            .map(|(_, n)| n.clone())
                    })
                    .flatten()
            });
            let direction = if r.outgoing {
                Direction::Outgoing
            } else if r.forwarded_away {
                Direction::Forwarded
            } else {
                Direction::Incoming
            };
            HistoryItem {
                id: r.id,
                direction,
                missed: direction == Direction::Incoming && r.answered_ms.is_none(),
                outcome: r.outcome,
                peer: Peer {
                    name,
                    number: r.peer_number,
                    extension: r.peer_extension,
                },
                started_ms: r.started_ms,
                answered_ms: r.answered_ms,
                ended_ms: r.ended_ms,
                duration_s: r
                    .answered_ms
                    .map_or(0, |a| ((r.ended_ms - a).max(0) + 500) / 1000),
                diverted_from_number: r.diverted_from_number,
                diverted_from_name: r.diverted_from_name,
                diversion: r.diversion,
                forwarded_to_number: r.forwarded_to_number,
                forwarded_to_name: r.forwarded_to_name,
            }
        })
        .collect();
    Ok(Json(History {
        items,
        missed_unseen: st.store.missed_unseen(company, e.id).await?,
    }))
}

/// The history has been seen: missed calls until now no longer count on the badge.
#[utoipa::path(post, path = "/api/v1/history/seen",
    responses((status = 200, body = MissedCount), (status = 401, body = ErrorBody)))]
async fn history_seen(State(st): State<ApiState>, caller: Caller) -> ApiResult<Json<MissedCount>> {
    let e = person(&caller)?;
    st.store.mark_history_seen(e.id, unix_ms()).await?;
    Ok(Json(MissedCount {
        missed_unseen: st.store.missed_unseen(caller.company.id, e.id).await?,
    }))
}

/// How many calls were missed since the history was last seen (the badge).
#[utoipa::path(get, path = "/api/v1/history/missed",
    responses((status = 200, body = MissedCount), (status = 401, body = ErrorBody)))]
async fn history_missed(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<MissedCount>> {
    let e = person(&caller)?;
    Ok(Json(MissedCount {
        missed_unseen: st.store.missed_unseen(caller.company.id, e.id).await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_as_scheme_host_and_port() {
        assert_eq!(
            normalize_origin("HTTPS://Phone.Example.com:443/app?x").as_deref(),
            Some("https://phone.example.com")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(normalize_origin("null"), None);
        assert_eq!(normalize_origin("ftp://x.example"), None);
        let o = Origins::new(["https://phone.example.com/", "http://127.0.0.1:8080"]);
        let allows = |v: &str| o.allows(Some(&HeaderValue::from_str(v).unwrap()));
        assert!(allows("https://phone.example.com"));
        assert!(allows("http://127.0.0.1:8080"));
        assert!(!allows("http://phone.example.com"));
        assert!(!allows("https://evil.example"));
        assert!(!allows("null"));
        assert!(o.allows(None), "no Origin: not a browser page");
    }

    #[test]
    fn without_a_public_url_loopback_is_reachable_by_name_and_address() {
        let http: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let https: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        let o = default_origins(http, Some(https));
        for want in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "https://127.0.0.1:8443",
            "https://localhost:8443",
        ] {
            assert!(o.iter().any(|x| x == want), "{want} in {o:?}");
        }
        let o = default_origins("192.0.2.5:80".parse().unwrap(), None);
        assert_eq!(o, vec!["http://192.0.2.5:80".to_string()]);
    }
}
