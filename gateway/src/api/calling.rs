//! Calls to the phone network (docs/api-calling.md): the company's call permission,
//! premium-rate numbers, caller ID and main number (administrators set them), each
//! person's own settings over those (administrators), and one's own mobile number.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Admin, ApiError, ApiJson, ApiResult, ApiState, Caller, ErrorBody, Id, person};
use crate::calling::{CompanyCalling, PersonCalling};
use crate::core::Registrations;
use crate::driver::CoreInput;

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route(
            "/api/v1/company/calling",
            get(company_calling).put(set_company_calling),
        )
        .route(
            "/api/v1/employees/{id}/calling",
            get(employee_calling).put(set_employee_calling),
        )
        .route("/api/v1/me/calling", get(my_calling).put(set_my_calling))
        .route(
            "/api/v1/employees/{id}/calling/suspension",
            axum::routing::delete(lift_suspension),
        )
}

/// Tells the core that these extensions' settings changed (it reads them again).
async fn changed(st: &ApiState, company: i64, exts: Vec<String>) {
    for ext in exts {
        let _ = st
            .core
            .send(CoreInput::AccountChanged {
                company,
                ext,
                drop: Registrations::Keep,
            })
            .await;
    }
}

#[utoipa::path(get, path = "/api/v1/company/calling",
    responses((status = 200, body = CompanyCalling), (status = 401, body = ErrorBody)))]
pub(super) async fn company_calling(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<CompanyCalling>> {
    Ok(Json(st.store.company_calling(caller.company.id).await?))
}

/// Sets the company's defaults and main number (administrators).
#[utoipa::path(put, path = "/api/v1/company/calling", request_body = CompanyCalling,
    responses((status = 200, body = CompanyCalling), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn set_company_calling(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<CompanyCalling>,
) -> ApiResult<Json<CompanyCalling>> {
    let company = caller.company.id;
    st.store.set_company_calling(company, &body).await?;
    tracing::info!(
        company,
        permission = body.permission.as_str(),
        "company calling settings changed"
    );
    changed(&st, company, st.store.extensions(company).await?).await;
    Ok(Json(st.store.company_calling(company).await?))
}

/// A person's settings and what applies to them.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CallingView {
    /// Their own settings (`null`: the company's).
    pub own: PersonCalling,
    /// What applies: their own, else the company's.
    #[schema(value_type = String)]
    pub permission: crate::numbering::Permission,
    pub premium: bool,
    #[schema(value_type = String)]
    pub caller_id: crate::numbering::CallerId,
    /// Calls outside are suspended after unusual international calls (toll fraud); an
    /// administrator lifts it (`DELETE …/calling/suspension`).
    pub suspended: bool,
}

async fn view(st: &ApiState, company: i64, employee: i64) -> ApiResult<Json<CallingView>> {
    let own = st
        .store
        .person_calling(company, employee)
        .await?
        .ok_or_else(|| ApiError::not_found("employee"))?;
    let c = st.store.company_calling(company).await?;
    let suspended = st.store.outside_suspended(company, employee).await?;
    Ok(Json(CallingView {
        suspended,
        permission: own.permission.unwrap_or(c.permission),
        premium: own.premium.unwrap_or(c.premium),
        caller_id: own.caller_id.unwrap_or(c.caller_id),
        own,
    }))
}

#[utoipa::path(get, path = "/api/v1/employees/{id}/calling", params(("id" = i64, Path)),
    responses((status = 200, body = CallingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn employee_calling(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    Id(id): Id,
) -> ApiResult<Json<CallingView>> {
    view(&st, caller.company.id, id).await
}

/// Sets a person's permission, premium numbers, caller ID and mobile (administrators).
#[utoipa::path(put, path = "/api/v1/employees/{id}/calling", params(("id" = i64, Path)), request_body = PersonCalling,
    responses((status = 200, body = CallingView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn set_employee_calling(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    Id(id): Id,
    ApiJson(body): ApiJson<PersonCalling>,
) -> ApiResult<Json<CallingView>> {
    let company = caller.company.id;
    let ext = st
        .store
        .set_person_calling(company, id, &body)
        .await?
        .ok_or_else(|| ApiError::not_found("employee"))?;
    tracing::info!(company, employee = id, "person's calling settings changed");
    changed(&st, company, vec![ext]).await;
    view(&st, company, id).await
}

/// Lifts a suspension after suspected toll fraud (administrators).
#[utoipa::path(delete, path = "/api/v1/employees/{id}/calling/suspension", params(("id" = i64, Path)),
    responses((status = 200, body = CallingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn lift_suspension(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    Id(id): Id,
) -> ApiResult<Json<CallingView>> {
    let company = caller.company.id;
    let ext = st
        .store
        .lift_suspension(company, id)
        .await?
        .ok_or_else(|| ApiError::not_found("employee"))?;
    tracing::info!(company, employee = id, "suspension of calls outside lifted");
    changed(&st, company, vec![ext]).await;
    view(&st, company, id).await
}

#[utoipa::path(get, path = "/api/v1/me/calling",
    responses((status = 200, body = CallingView), (status = 401, body = ErrorBody)))]
pub(super) async fn my_calling(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<CallingView>> {
    let me = person(&caller)?;
    view(&st, caller.company.id, me.id).await
}

/// One's own mobile number (the rest is the administrators').
#[derive(Serialize, Deserialize, ToSchema)]
pub struct MyCalling {
    pub mobile: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/me/calling", request_body = MyCalling,
    responses((status = 200, body = CallingView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(super) async fn set_my_calling(
    State(st): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<MyCalling>,
) -> ApiResult<Json<CallingView>> {
    let me = person(&caller)?;
    let company = caller.company.id;
    let mut own = st
        .store
        .person_calling(company, me.id)
        .await?
        .ok_or_else(|| ApiError::not_found("employee"))?;
    own.mobile = body.mobile;
    if let Some(ext) = st.store.set_person_calling(company, me.id, &own).await? {
        changed(&st, company, vec![ext]).await;
    }
    view(&st, company, me.id).await
}
