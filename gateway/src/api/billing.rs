//! Prices and spending (issue 15, docs/api-billing.md): the company's call costs by person
//! and month, its calls with their costs, the monthly statement (JSON and CSV) and the
//! spend limits and flat rates (administrators); each person's own costs, spending and
//! statement. Months are `YYYY-MM` in UTC (default: the current one); amounts are integer
//! micros (millionths of a złoty) in JSON and złoty in CSV.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Admin, ApiError, ApiJson, ApiResult, ApiState, Caller, ErrorBody, Id, person};
use crate::billing::{FlatRate, Micros, Month};
use crate::costs::{BillingSettings, CostCall, CostsByPerson, SpendStatus, Statement};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/billing/costs", get(costs))
        .route("/api/v1/billing/calls", get(calls))
        .route("/api/v1/billing/statement", get(statement))
        .route("/api/v1/billing/statement.csv", get(statement_csv))
        .route("/api/v1/billing/settings", get(settings).put(set_settings))
        .route("/api/v1/employees/{id}/billing", put(set_employee_billing))
        .route("/api/v1/me/costs", get(my_costs))
        .route("/api/v1/me/statement.csv", get(my_statement_csv))
}

/// The `month` query parameter (default: this month, UTC), and `limit`/`offset` pages.
struct Params {
    month: Month,
    limit: i64,
    offset: i64,
    employee: Option<i64>,
}

fn params(q: &HashMap<String, String>) -> ApiResult<Params> {
    let mut fields = BTreeMap::new();
    let month = match q.get("month") {
        None => Month::of_ms(crate::accounts::unix_now() * 1000),
        Some(m) => Month::parse(m).unwrap_or_else(|| {
            fields.insert("month".to_string(), "a month, YYYY-MM".to_string());
            Month { year: 0, month: 1 }
        }),
    };
    let mut number = |name: &str, default: i64, range: std::ops::RangeInclusive<i64>| match q
        .get(name)
        .map(|v| v.trim().parse::<i64>())
    {
        None => default,
        Some(Ok(v)) if range.contains(&v) => v,
        Some(_) => {
            fields.insert(
                name.to_string(),
                format!("a number from {} to {}", range.start(), range.end()),
            );
            default
        }
    };
    let limit = number("limit", 100, 1..=500);
    let offset = number("offset", 0, 0..=i64::MAX);
    let employee = q
        .contains_key("employee_id")
        .then(|| number("employee_id", 0, 1..=i64::MAX));
    if !fields.is_empty() {
        return Err(ApiError::fields(fields));
    }
    Ok(Params {
        month,
        limit,
        offset,
        employee,
    })
}

/// A page of calls with their costs.
#[derive(Serialize, ToSchema)]
pub struct CostCalls {
    pub month: String,
    pub total: i64,
    pub items: Vec<CostCall>,
}

/// Everyone's call costs in a month, with the company's limits.
#[utoipa::path(get, path = "/api/v1/billing/costs",
    params(("month" = Option<String>, Query, description = "YYYY-MM (UTC); default this month")),
    responses((status = 200, body = CostsByPerson), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn costs(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<CostsByPerson>> {
    let p = params(&q)?;
    Ok(Json(
        st.store.costs_by_person(caller.company.id, p.month).await?,
    ))
}

/// The company's external calls in a month with their costs (one person's with
/// `employee_id`), newest first.
#[utoipa::path(get, path = "/api/v1/billing/calls",
    params(("month" = Option<String>, Query, description = "YYYY-MM (UTC)"),
        ("employee_id" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "1 to 500, default 100"),
        ("offset" = Option<i64>, Query)),
    responses((status = 200, body = CostCalls), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn calls(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<CostCalls>> {
    let p = params(&q)?;
    let (total, items) = st
        .store
        .cost_calls(caller.company.id, p.employee, p.month, p.limit, p.offset)
        .await?;
    Ok(Json(CostCalls {
        month: p.month.to_string(),
        total,
        items,
    }))
}

/// The company's statement of a month: subscriptions, numbers, flat rates and calls.
#[utoipa::path(get, path = "/api/v1/billing/statement",
    params(("month" = Option<String>, Query, description = "YYYY-MM (UTC)")),
    responses((status = 200, body = Statement), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn statement(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Statement>> {
    let p = params(&q)?;
    Ok(Json(
        st.store.statement(caller.company.id, None, p.month).await?,
    ))
}

fn csv_response(s: &Statement, name: &str) -> Response {
    let mut resp = s.to_csv().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"{name}-{}.csv\"", s.month))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// The company's statement as CSV (amounts in złoty).
#[utoipa::path(get, path = "/api/v1/billing/statement.csv",
    params(("month" = Option<String>, Query, description = "YYYY-MM (UTC)")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn statement_csv(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let p = params(&q)?;
    let s = st.store.statement(caller.company.id, None, p.month).await?;
    Ok(csv_response(&s, "statement"))
}

#[utoipa::path(get, path = "/api/v1/billing/settings",
    responses((status = 200, body = BillingSettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn settings(
    State(st): State<ApiState>,
    Admin(caller): Admin,
) -> ApiResult<Json<BillingSettings>> {
    Ok(Json(st.store.billing_settings(caller.company.id).await?))
}

/// Sets the company's monthly spend limit and each person's default limit (`null`: none).
#[utoipa::path(put, path = "/api/v1/billing/settings", request_body = BillingSettings,
    responses((status = 200, body = BillingSettings), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn set_settings(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<BillingSettings>,
) -> ApiResult<Json<BillingSettings>> {
    st.store
        .set_billing_settings(caller.company.id, &body)
        .await?;
    tracing::info!(
        company = caller.company.id,
        limit = ?body.spend_limit_micros,
        person_limit = ?body.person_spend_limit_micros,
        "spend limits changed"
    );
    // The core reads its people again: calls outside stop (or go on) at once.
    super::numbers_changed(&st, caller.company.id).await?;
    Ok(Json(body))
}

/// A person's flat rate and own monthly limit.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EmployeeBilling {
    /// `none`, `landline` or `landline_mobile`.
    pub flat_rate: String,
    /// `null`: the company's default for each person.
    pub spend_limit_micros: Option<Micros>,
}

#[utoipa::path(put, path = "/api/v1/employees/{id}/billing", request_body = EmployeeBilling,
    responses((status = 200, body = EmployeeBilling), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn set_employee_billing(
    State(st): State<ApiState>,
    Admin(caller): Admin,
    Id(id): Id,
    ApiJson(body): ApiJson<EmployeeBilling>,
) -> ApiResult<Json<EmployeeBilling>> {
    let flat = FlatRate::parse(&body.flat_rate).ok_or_else(|| {
        ApiError::fields(BTreeMap::from([(
            "flat_rate".to_string(),
            "none, landline or landline_mobile".to_string(),
        )]))
    })?;
    if !st
        .store
        .set_employee_billing(caller.company.id, id, flat, body.spend_limit_micros)
        .await?
    {
        return Err(ApiError::not_found("employee"));
    }
    tracing::info!(company = caller.company.id, employee = id, flat_rate = flat.as_str(),
        limit = ?body.spend_limit_micros, "employee billing changed");
    super::notify_employee(&st, id).await?;
    Ok(Json(body))
}

/// A person's own costs in a month.
#[derive(Serialize, ToSchema)]
pub struct MyCosts {
    pub month: String,
    /// Spending against the limits in the current month (not `month`).
    pub spend: SpendStatus,
    /// Their flat rate and calls in `month`.
    pub statement: Statement,
    pub calls: CostCalls,
}

/// The caller's own calls with their costs, statement and spending.
#[utoipa::path(get, path = "/api/v1/me/costs",
    params(("month" = Option<String>, Query, description = "YYYY-MM (UTC)"),
        ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = MyCosts), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(super) async fn my_costs(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<MyCosts>> {
    let me = person(&caller)?;
    let p = params(&q)?;
    let company = caller.company.id;
    let spend = st
        .store
        .spend_status(company, me.id, crate::accounts::unix_now() * 1000)
        .await?;
    let statement = st.store.statement(company, Some(me.id), p.month).await?;
    let (total, items) = st
        .store
        .cost_calls(company, Some(me.id), p.month, p.limit, p.offset)
        .await?;
    Ok(Json(MyCosts {
        month: p.month.to_string(),
        spend,
        statement,
        calls: CostCalls {
            month: p.month.to_string(),
            total,
            items,
        },
    }))
}

/// The caller's own statement as CSV.
#[utoipa::path(get, path = "/api/v1/me/statement.csv",
    params(("month" = Option<String>, Query, description = "YYYY-MM (UTC)")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(super) async fn my_statement_csv(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let me = person(&caller)?;
    let p = params(&q)?;
    let s = st
        .store
        .statement(caller.company.id, Some(me.id), p.month)
        .await?;
    Ok(csv_response(&s, "my-calls"))
}
