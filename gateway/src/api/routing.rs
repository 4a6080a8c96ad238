//! Each person's devices, device credentials and call routing (docs/api-routing.md): the
//! devices registered now (live from the SIP core), removing one, the default device and,
//! for admins, locking an extension against new devices; SIP user names and passwords for
//! desk phones and third-party softphones; forwarding rules and ring strategy. Every
//! resource is the caller's own under `/me`, and any employee's of the caller's company
//! under `/employees/{id}` for admins. A change the registrar or proxy must see makes the
//! core forget its cached copy of the person, so the next request reads it anew.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tracing::info;
use utoipa::ToSchema;

use super::{
    Admin, ApiError, ApiJson, ApiResult, ApiState, Caller, ErrorBody, Id, account_changed, person,
};
use crate::accounts::{Company, Employee};
use crate::core::{DeviceInfo, MAX_BINDINGS, Registrations};
use crate::driver::CoreInput;
use crate::forwarding::{Routing, Target};
use crate::store::{DeviceCredential, MAX_DEVICE_CREDENTIALS};

/// How long the API waits for the core's list of devices.
const CORE_WAIT: Duration = Duration::from_secs(5);
/// The longest device credential label (characters, after trimming).
pub const MAX_LABEL: usize = 60;

// ---- where phones register ----

/// Where phones reach the gateway's SIP, for the device credentials page. The server fills
/// in the addresses it listens on; `host` is `--sip-host`.
#[derive(Clone, Debug, Default)]
pub struct SipAccess {
    /// The host name or address phones use; left out: see [`SipAccess::info`].
    pub host: Option<String>,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
}

/// How to configure a phone: the SIP domain, and the outbound proxy / registrar.
#[derive(Serialize, ToSchema, Debug, PartialEq, Eq)]
pub struct SipInfo {
    /// The company's SIP domain (and digest realm): the phone's "domain" or "server".
    pub domain: String,
    /// `host:port` of SIP over UDP (and TCP when on the same port): the phone's outbound
    /// proxy / registrar. Null when the gateway serves no SIP over UDP or TCP.
    pub proxy: Option<String>,
    /// The transports `proxy` takes: `udp`, `tcp`.
    pub transports: Vec<String>,
    /// `host:port` of SIP over TLS, if served.
    pub tls_proxy: Option<String>,
}

impl SipAccess {
    /// What phones of a company with SIP domain `domain` are told. The host is `--sip-host`
    /// if given; else the listening address when it is a specific, non-loopback one; else
    /// the public URL's host (the name people already reach the gateway by); else the domain.
    pub fn info(&self, public_url: &str, domain: &str) -> SipInfo {
        let at = |a: SocketAddr| {
            let host = self.host.clone().unwrap_or_else(|| {
                let ip = a.ip();
                if !ip.is_unspecified() && !ip.is_loopback() {
                    ip.to_string()
                } else {
                    url_host(public_url).unwrap_or_else(|| domain.to_string())
                }
            });
            if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:{}", a.port())
            } else {
                format!("{host}:{}", a.port())
            }
        };
        let main = self.udp.or(self.tcp);
        let mut transports = Vec::new();
        if self.udp.is_some() {
            transports.push("udp".to_string());
        }
        if let Some(t) = self.tcp
            && main.is_some_and(|m| m.port() == t.port())
        {
            transports.push("tcp".to_string());
        }
        SipInfo {
            domain: domain.to_string(),
            proxy: main.map(at),
            transports,
            tls_proxy: self.tls.map(at),
        }
    }
}

/// The host of an `http(s)://host[:port]/...` URL (an IPv6 address without brackets).
fn url_host(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

// ---- bodies ----

/// A registered device as the devices page shows it.
#[derive(Serialize, ToSchema)]
pub struct Device {
    #[serde(flatten)]
    pub info: DeviceInfo,
    /// It is the person's default device.
    pub default: bool,
}

/// A person's devices registered now, with their default device and lock.
#[derive(Serialize, ToSchema)]
pub struct Devices {
    /// Oldest registration first.
    pub devices: Vec<Device>,
    /// The stored choice (may name a device not registered now).
    pub default_device: Option<String>,
    /// No new device may register (an admin's choice).
    pub locked: bool,
    /// Most devices registered at once.
    pub max_devices: usize,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultDeviceBody {
    /// A registered device's id; null clears the choice.
    pub id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockBody {
    pub locked: bool,
}

/// A device credential (its password is shown only when it is made).
#[derive(Serialize, ToSchema)]
pub struct Credential {
    pub id: i64,
    /// The SIP user name and digest user name.
    pub username: String,
    pub label: String,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// Who made it (their name now), if they still exist.
    pub created_by: Option<String>,
}

impl From<DeviceCredential> for Credential {
    fn from(d: DeviceCredential) -> Credential {
        Credential {
            id: d.id,
            username: d.username,
            label: d.label,
            created_ms: d.created_at * 1000,
            created_by: d.created_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Credentials {
    /// Oldest first.
    pub credentials: Vec<Credential>,
    pub sip: SipInfo,
    /// Most credentials one person may have.
    pub max: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    /// What it is for ("Desk phone"): 1 to 60 characters.
    pub label: String,
}

/// A new device credential: the password is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedCredential {
    #[serde(flatten)]
    pub credential: Credential,
    pub password: String,
}

// ---- the routes ----

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/me/devices", get(my_devices))
        .route("/api/v1/me/devices/{id}", delete(remove_my_device))
        .route("/api/v1/me/default-device", put(set_my_default_device))
        .route(
            "/api/v1/me/device-credentials",
            get(my_credentials).post(create_my_credential),
        )
        .route(
            "/api/v1/me/device-credentials/{id}",
            delete(delete_my_credential),
        )
        .route("/api/v1/me/routing", get(my_routing).put(set_my_routing))
        .route("/api/v1/employees/{id}/devices", get(employee_devices))
        .route(
            "/api/v1/employees/{id}/devices/{device}",
            delete(remove_employee_device),
        )
        .route(
            "/api/v1/employees/{id}/default-device",
            put(set_employee_default_device),
        )
        .route("/api/v1/employees/{id}/lock", put(lock_employee))
        .route(
            "/api/v1/employees/{id}/device-credentials",
            get(employee_credentials).post(create_employee_credential),
        )
        .route(
            "/api/v1/employees/{id}/device-credentials/{cred}",
            delete(delete_employee_credential),
        )
        .route(
            "/api/v1/employees/{id}/routing",
            get(employee_routing).put(set_employee_routing),
        )
}

// ---- shared steps ----

/// An employee of the admin's company (404 for anyone else).
async fn employee_of(st: &ApiState, c: &Caller, id: i64) -> ApiResult<Employee> {
    st.store
        .employee(c.company.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("employee"))
}

/// A numeric id from a path of two (anything else: 404).
fn path_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found("resource"))
}

fn core_unavailable() -> ApiError {
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "The phone system is not answering; try again in a few seconds.",
    );
    e.retry_after = Some(5);
    e
}

/// Asks the core something and waits (at most [`CORE_WAIT`]) for the answer.
async fn ask_core<T>(
    st: &ApiState,
    make: impl FnOnce(oneshot::Sender<T>) -> CoreInput,
) -> ApiResult<T> {
    let (reply, answer) = oneshot::channel();
    st.core
        .send(make(reply))
        .await
        .map_err(|_| core_unavailable())?;
    tokio::time::timeout(CORE_WAIT, answer)
        .await
        .map_err(|_| core_unavailable())?
        .map_err(|_| core_unavailable())
}

async fn live_devices(st: &ApiState, e: &Employee) -> ApiResult<Vec<DeviceInfo>> {
    let (company, ext) = (e.company_id, e.extension.clone());
    ask_core(st, |reply| CoreInput::Devices {
        company,
        ext,
        reply,
    })
    .await
}

async fn devices_body(st: &ApiState, e: &Employee) -> ApiResult<Devices> {
    let settings = st
        .store
        .routing_settings(e.company_id, e.id)
        .await?
        .ok_or_else(|| ApiError::not_found("employee"))?;
    let devices = live_devices(st, e)
        .await?
        .into_iter()
        .map(|info| Device {
            default: settings.default_device.as_deref() == Some(info.id.as_str()),
            info,
        })
        .collect();
    Ok(Devices {
        devices,
        default_device: settings.default_device,
        locked: settings.locked,
        max_devices: MAX_BINDINGS,
    })
}

/// Tells the core to read the person again (routing, lock, default device, credentials).
async fn reread(st: &ApiState, e: &Employee) {
    account_changed(st, e.company_id, e.extension.clone(), Registrations::Keep).await;
}

async fn remove_device(st: &ApiState, e: &Employee, device: String) -> ApiResult<StatusCode> {
    // Ids are 16 hex digits; anything else is no device.
    if device.len() != 16 || !device.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found("device"));
    }
    let (company, ext, id) = (e.company_id, e.extension.clone(), device.clone());
    let removed = ask_core(st, |reply| CoreInput::RemoveDevice {
        company,
        ext,
        id,
        reply,
    })
    .await?;
    if !removed {
        return Err(ApiError::not_found("device"));
    }
    info!(company, employee = e.id, device = %device, "device removed");
    Ok(StatusCode::NO_CONTENT)
}

async fn set_default_device(
    st: &ApiState,
    e: &Employee,
    body: DefaultDeviceBody,
) -> ApiResult<Json<Devices>> {
    if let Some(id) = &body.id
        && !live_devices(st, e).await?.iter().any(|d| &d.id == id)
    {
        return Err(ApiError::fields(BTreeMap::from([(
            "id".to_string(),
            "no device with this id is registered now".to_string(),
        )])));
    }
    if !st
        .store
        .set_default_device(e.company_id, e.id, body.id.as_deref())
        .await?
    {
        return Err(ApiError::not_found("employee"));
    }
    info!(company = e.company_id, employee = e.id, device = ?body.id, "default device set");
    reread(st, e).await;
    Ok(Json(devices_body(st, e).await?))
}

async fn credentials_body(
    st: &ApiState,
    company: &Company,
    e: &Employee,
) -> ApiResult<Credentials> {
    Ok(Credentials {
        credentials: st
            .store
            .device_credentials(company.id, e.id)
            .await?
            .into_iter()
            .map(Credential::from)
            .collect(),
        sip: st.cfg.sip.info(&st.cfg.public_url, &company.domain),
        max: MAX_DEVICE_CREDENTIALS,
    })
}

async fn create_credential(
    st: &ApiState,
    caller: &Caller,
    e: &Employee,
    body: NewCredential,
) -> ApiResult<(StatusCode, Json<CreatedCredential>)> {
    let label = body.label.trim();
    if label.is_empty() || label.chars().count() > MAX_LABEL || label.chars().any(char::is_control)
    {
        return Err(ApiError::fields(BTreeMap::from([(
            "label".to_string(),
            format!("a label of 1 to {MAX_LABEL} characters (one line) is needed"),
        )])));
    }
    let Some((cred, password)) = st
        .store
        .create_device_credential(e.company_id, e.id, label, caller.acting_admin())
        .await?
    else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "At most {MAX_DEVICE_CREDENTIALS} device credentials per person; revoke one first."
            ),
        ));
    };
    info!(company = e.company_id, employee = e.id, username = %cred.username, by = ?caller.acting_admin(), "device credential created");
    reread(st, e).await;
    // The core may have cached "no such user" under the new name.
    account_changed(st, e.company_id, cred.username.clone(), Registrations::Keep).await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedCredential {
            credential: cred.into(),
            password,
        }),
    ))
}

async fn delete_credential(st: &ApiState, e: &Employee, id: i64) -> ApiResult<StatusCode> {
    let username = st
        .store
        .delete_device_credential(e.company_id, e.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("device credential"))?;
    info!(company = e.company_id, employee = e.id, username = %username, "device credential revoked");
    let _ = st
        .core
        .send(CoreInput::CredentialRevoked {
            company: e.company_id,
            ext: e.extension.clone(),
            username,
        })
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn routing_of(st: &ApiState, e: &Employee) -> ApiResult<Json<Routing>> {
    st.store
        .routing_settings(e.company_id, e.id)
        .await?
        .map(|s| Json(s.routing))
        .ok_or_else(|| ApiError::not_found("employee"))
}

/// The rules' targets by the field names of the API's errors.
fn targets(r: &Routing) -> [(&'static str, Option<&Target>); 5] {
    [
        ("always", r.always.as_ref()),
        ("busy", r.busy.as_ref()),
        ("no_answer.target", r.no_answer.as_ref().map(|n| &n.target)),
        ("offline", r.offline.as_ref()),
        ("unavailable", r.unavailable.as_ref()),
    ]
}

async fn set_routing(st: &ApiState, e: &Employee, routing: Routing) -> ApiResult<Json<Routing>> {
    let mut fields = BTreeMap::new();
    for p in routing.validate(&e.extension) {
        fields.entry(p.field).or_insert(p.message);
    }
    let missing = st
        .store
        .missing_extensions(e.company_id, &routing.extensions())
        .await?;
    if !missing.is_empty() {
        for (field, target) in targets(&routing) {
            let exts: Vec<&str> = match target {
                Some(Target::Extension { ext }) => vec![ext.as_str()],
                Some(Target::Group { exts }) => exts.iter().map(String::as_str).collect(),
                _ => continue,
            };
            let absent: Vec<&str> = exts
                .into_iter()
                .filter(|x| missing.iter().any(|m| m == x))
                .collect();
            if !absent.is_empty() {
                let what = if absent.len() == 1 {
                    "extension"
                } else {
                    "extensions"
                };
                fields
                    .entry(field.to_string())
                    .or_insert(format!("no {what} {} in your company", absent.join(", ")));
            }
        }
    }
    if !fields.is_empty() {
        return Err(ApiError::fields(fields));
    }
    if !st.store.set_routing(e.company_id, e.id, &routing).await? {
        return Err(ApiError::not_found("employee"));
    }
    info!(
        company = e.company_id,
        employee = e.id,
        "routing settings changed"
    );
    reread(st, e).await;
    routing_of(st, e).await
}

// ---- devices ----

/// The caller's devices registered now (live from the SIP core), default device and lock.
#[utoipa::path(get, path = "/api/v1/me/devices",
    responses((status = 200, body = Devices), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(super) async fn my_devices(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<Devices>> {
    Ok(Json(devices_body(&st, person(&caller)?).await?))
}

/// Removes one of the caller's devices: its registration ends now, a browser tab's
/// connection is closed, and the same device is refused with a 403 "removed" for 12 hours.
#[utoipa::path(delete, path = "/api/v1/me/devices/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn remove_my_device(
    State(st): State<ApiState>,
    caller: Caller,
    Path(device): Path<String>,
) -> ApiResult<StatusCode> {
    remove_device(&st, person(&caller)?, device).await
}

/// Picks the caller's default device (a device registered now), or clears the choice.
#[utoipa::path(put, path = "/api/v1/me/default-device", request_body = DefaultDeviceBody,
    responses((status = 200, body = Devices), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(super) async fn set_my_default_device(
    State(st): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<DefaultDeviceBody>,
) -> ApiResult<Json<Devices>> {
    set_default_device(&st, person(&caller)?, body).await
}

/// An employee's devices (admins).
#[utoipa::path(get, path = "/api/v1/employees/{id}/devices", params(("id" = i64, Path)),
    responses((status = 200, body = Devices), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn employee_devices(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
) -> ApiResult<Json<Devices>> {
    let e = employee_of(&st, &c, id).await?;
    Ok(Json(devices_body(&st, &e).await?))
}

/// Removes an employee's device (admins).
#[utoipa::path(delete, path = "/api/v1/employees/{id}/devices/{device}",
    params(("id" = i64, Path), ("device" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn remove_employee_device(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Path((id, device)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let e = employee_of(&st, &c, path_id(&id)?).await?;
    remove_device(&st, &e, device).await
}

/// Picks an employee's default device (admins).
#[utoipa::path(put, path = "/api/v1/employees/{id}/default-device", params(("id" = i64, Path)),
    request_body = DefaultDeviceBody,
    responses((status = 200, body = Devices), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn set_employee_default_device(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
    ApiJson(body): ApiJson<DefaultDeviceBody>,
) -> ApiResult<Json<Devices>> {
    let e = employee_of(&st, &c, id).await?;
    set_default_device(&st, &e, body).await
}

/// Locks an employee's extension (no new device may register; those registered go on) or
/// unlocks it (admins).
#[utoipa::path(put, path = "/api/v1/employees/{id}/lock", params(("id" = i64, Path)),
    request_body = LockBody,
    responses((status = 200, body = Devices), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn lock_employee(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
    ApiJson(body): ApiJson<LockBody>,
) -> ApiResult<Json<Devices>> {
    let e = employee_of(&st, &c, id).await?;
    // The devices registered now may come back while locked (a reloaded tab, a restarted
    // phone): a browser by its id, a phone by its device credential.
    let kept: Vec<String> = if body.locked {
        live_devices(&st, &e)
            .await?
            .into_iter()
            .map(|d| match d.credential {
                Some(login) => format!("login:{login}"),
                None => d.id,
            })
            .collect()
    } else {
        Vec::new()
    };
    if !st
        .store
        .set_locked(e.company_id, e.id, body.locked, &kept)
        .await?
    {
        return Err(ApiError::not_found("employee"));
    }
    info!(company = e.company_id, employee = e.id, locked = body.locked, by = ?c.acting_admin(), "extension lock set");
    reread(&st, &e).await;
    Ok(Json(devices_body(&st, &e).await?))
}

// ---- device credentials ----

/// The caller's device credentials (never their passwords) and how to set up a phone.
#[utoipa::path(get, path = "/api/v1/me/device-credentials",
    responses((status = 200, body = Credentials), (status = 401, body = ErrorBody)))]
pub(super) async fn my_credentials(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<Credentials>> {
    Ok(Json(
        credentials_body(&st, &caller.company, person(&caller)?).await?,
    ))
}

/// Makes a device credential for the caller; the password is in this answer only.
#[utoipa::path(post, path = "/api/v1/me/device-credentials", request_body = NewCredential,
    responses((status = 201, body = CreatedCredential), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn create_my_credential(
    State(st): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewCredential>,
) -> ApiResult<(StatusCode, Json<CreatedCredential>)> {
    let e = person(&caller)?;
    create_credential(&st, &caller, e, body).await
}

/// Revokes one of the caller's device credentials; the phones using it are removed at once.
#[utoipa::path(delete, path = "/api/v1/me/device-credentials/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn delete_my_credential(
    State(st): State<ApiState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    delete_credential(&st, person(&caller)?, id).await
}

/// An employee's device credentials (admins).
#[utoipa::path(get, path = "/api/v1/employees/{id}/device-credentials", params(("id" = i64, Path)),
    responses((status = 200, body = Credentials), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn employee_credentials(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
) -> ApiResult<Json<Credentials>> {
    let e = employee_of(&st, &c, id).await?;
    Ok(Json(credentials_body(&st, &c.company, &e).await?))
}

/// Makes a device credential for an employee (admins); the password is in this answer only.
#[utoipa::path(post, path = "/api/v1/employees/{id}/device-credentials", params(("id" = i64, Path)),
    request_body = NewCredential,
    responses((status = 201, body = CreatedCredential), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn create_employee_credential(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
    ApiJson(body): ApiJson<NewCredential>,
) -> ApiResult<(StatusCode, Json<CreatedCredential>)> {
    let e = employee_of(&st, &c, id).await?;
    create_credential(&st, &c, &e, body).await
}

/// Revokes an employee's device credential (admins).
#[utoipa::path(delete, path = "/api/v1/employees/{id}/device-credentials/{cred}",
    params(("id" = i64, Path), ("cred" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn delete_employee_credential(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Path((id, cred)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let e = employee_of(&st, &c, path_id(&id)?).await?;
    delete_credential(&st, &e, path_id(&cred)?).await
}

// ---- routing ----

/// The caller's forwarding rules and ring strategy.
#[utoipa::path(get, path = "/api/v1/me/routing",
    responses((status = 200, body = Routing), (status = 401, body = ErrorBody)))]
pub(super) async fn my_routing(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<Routing>> {
    routing_of(&st, person(&caller)?).await
}

/// Replaces the caller's forwarding rules and ring strategy; the stored settings come back.
/// Target extensions must exist in the company and not be the caller's own.
#[utoipa::path(put, path = "/api/v1/me/routing", request_body = Routing,
    responses((status = 200, body = Routing), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(super) async fn set_my_routing(
    State(st): State<ApiState>,
    caller: Caller,
    ApiJson(routing): ApiJson<Routing>,
) -> ApiResult<Json<Routing>> {
    set_routing(&st, person(&caller)?, routing).await
}

/// An employee's forwarding rules and ring strategy (admins).
#[utoipa::path(get, path = "/api/v1/employees/{id}/routing", params(("id" = i64, Path)),
    responses((status = 200, body = Routing), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn employee_routing(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
) -> ApiResult<Json<Routing>> {
    let e = employee_of(&st, &c, id).await?;
    routing_of(&st, &e).await
}

/// Replaces an employee's forwarding rules and ring strategy (admins).
#[utoipa::path(put, path = "/api/v1/employees/{id}/routing", params(("id" = i64, Path)),
    request_body = Routing,
    responses((status = 200, body = Routing), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn set_employee_routing(
    State(st): State<ApiState>,
    Admin(c): Admin,
    Id(id): Id,
    ApiJson(routing): ApiJson<Routing>,
) -> ApiResult<Json<Routing>> {
    let e = employee_of(&st, &c, id).await?;
    set_routing(&st, &e, routing).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_told_a_reachable_host() {
        let a = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        let both = SipAccess {
            host: None,
            udp: a("0.0.0.0:5060"),
            tcp: a("0.0.0.0:5060"),
            tls: a("0.0.0.0:5061"),
        };
        assert_eq!(
            both.info("https://Phone.Example.com/app", "acme.example"),
            SipInfo {
                domain: "acme.example".into(),
                proxy: Some("phone.example.com:5060".into()),
                transports: vec!["udp".into(), "tcp".into()],
                tls_proxy: Some("phone.example.com:5061".into()),
            }
        );
        // A specific public address is used as it is; --sip-host wins over everything.
        let specific = SipAccess {
            udp: a("203.0.113.5:5060"),
            tcp: a("203.0.113.5:5070"),
            ..SipAccess::default()
        };
        let i = specific.info("https://phone.example.com", "acme.example");
        assert_eq!(i.proxy.as_deref(), Some("203.0.113.5:5060"));
        assert_eq!(i.transports, ["udp"], "TCP is on another port");
        let named = SipAccess {
            host: Some("sip.example.com".into()),
            ..specific
        };
        assert_eq!(
            named.info("https://x", "d").proxy.as_deref(),
            Some("sip.example.com:5060")
        );
        // Loopback: the public URL's host, IPv6 in brackets.
        let local = SipAccess {
            tcp: a("[::1]:5062"),
            ..SipAccess::default()
        };
        let i = local.info("http://[::1]:8080", "d");
        assert_eq!(i.proxy.as_deref(), Some("[::1]:5062"));
        assert_eq!(i.transports, ["tcp"]);
        assert_eq!(i.tls_proxy, None);
        // No SIP for phones at all.
        let none = SipAccess::default().info("http://127.0.0.1:8080", "d");
        assert_eq!((none.proxy, none.transports.len()), (None, 0));
    }

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("http://127.0.0.1:8080").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            url_host("https://a.example/x?y").as_deref(),
            Some("a.example")
        );
        assert_eq!(
            url_host("https://[2001:db8::1]:8443/").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(url_host("nonsense"), None);
    }
}
