//! The gateway's REST API (`/api/v1`, same origin): `fetch` with the session cookie, and the
//! JSON read into [`crate::model`] values with the browser's own `JSON` (no JSON crate in
//! the wasm).

use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCache, RequestCredentials, RequestInit, Response};

use crate::model::{
    ApiToken, Company, Contact, ContactImport, Device, DeviceCredential, DeviceKind, DeviceList,
    Direction, DirectoryEntry, Employee, HistoryItem, ImportReport, ImportRow, Invitation, Lang,
    Me, MyStatus, NumberBlock, NumberLabel, Outcome, PhoneNumber, Problem, Routing, SipServer,
    Strategy, Target,
};

/// An answer: the HTTP status (0: no answer at all) and the parsed JSON body (`null` when
/// there was none).
pub struct Reply {
    pub status: u16,
    pub body: JsValue,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// What went wrong, from the body `{"error", "message", "fields"}`.
    pub fn problem(&self) -> Problem {
        let mut p = Problem::new(
            self.status,
            opt_str(&self.body, "error"),
            opt_str(&self.body, "message"),
        );
        let fields = field(&self.body, "fields");
        if fields.is_object() {
            for entry in Object::entries(fields.unchecked_ref()).iter() {
                let pair: Array = entry.unchecked_into();
                if let (Some(k), Some(v)) = (pair.get(0).as_string(), text(&pair.get(1))) {
                    p.fields.push((k, v));
                }
            }
        }
        p
    }

    /// The body read with `f` on success, the problem otherwise.
    pub fn map<T>(self, f: impl FnOnce(&JsValue) -> T) -> Result<T, Problem> {
        if self.ok() {
            Ok(f(&self.body))
        } else {
            Err(self.problem())
        }
    }
}

/// Sends `method path` with `body` (an object, sent as JSON) and reads the JSON answer.
pub async fn send(method: &str, path: &str, body: Option<JsValue>) -> Reply {
    match try_send(method, path, body).await {
        Ok(r) => r,
        Err(_) => Reply {
            status: 0,
            body: JsValue::NULL,
        },
    }
}

async fn try_send(method: &str, path: &str, body: Option<JsValue>) -> Result<Reply, JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_cache(RequestCache::NoStore);
    if let Some(body) = body {
        init.set_headers(&obj(&[("Content-Type", "application/json".into())]));
        init.set_body(&JSON::stringify(&body)?.into());
    }
    let resp: Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await?
        .dyn_into()?;
    let status = resp.status();
    let raw = JsFuture::from(resp.text()?).await?.as_string();
    let body = raw
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| JSON::parse(&t).ok())
        .unwrap_or(JsValue::NULL);
    Ok(Reply { status, body })
}

pub async fn get(path: &str) -> Reply {
    send("GET", path, None).await
}

pub async fn post(path: &str, body: JsValue) -> Reply {
    send("POST", path, Some(body)).await
}

/// A path segment or query value, percent-encoded.
pub fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// A JSON object from pairs.
pub fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

// Reading JSON values leniently: a missing or mistyped field reads as empty.

fn field(v: &JsValue, key: &str) -> JsValue {
    if v.is_object() {
        Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// A string, or a whole number written out ("101" either way). (No float formatting or
/// parsing in Rust: it would add kilobytes to the wasm.)
fn text(v: &JsValue) -> Option<String> {
    v.as_string()
        .or_else(|| v.as_f64().map(|n| (n as i64).to_string()))
}

fn opt_str(v: &JsValue, key: &str) -> Option<String> {
    text(&field(v, key))
}

fn str_(v: &JsValue, key: &str) -> String {
    opt_str(v, key).unwrap_or_default()
}

fn num(v: &JsValue, key: &str) -> f64 {
    let x = field(v, key);
    x.as_f64()
        .or_else(|| {
            x.as_string()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .map(|n| n as f64)
        })
        .unwrap_or(0.0)
}

fn u64_(v: &JsValue, key: &str) -> u64 {
    num(v, key).max(0.0) as u64
}

fn bool_(v: &JsValue, key: &str) -> bool {
    field(v, key).as_bool().unwrap_or(false)
}

fn array(v: &JsValue, key: &str) -> Vec<JsValue> {
    let x = field(v, key);
    if Array::is_array(&x) {
        Array::from(&x).iter().collect()
    } else {
        Vec::new()
    }
}

/// A list answer `{"total", "items"}`.
pub fn list<T>(v: &JsValue, f: impl Fn(&JsValue) -> T) -> (Vec<T>, u64) {
    let items: Vec<T> = array(v, "items").iter().map(f).collect();
    let total = if field(v, "total").is_undefined() {
        items.len() as u64
    } else {
        u64_(v, "total")
    };
    (items, total)
}

pub fn employee(v: &JsValue) -> Employee {
    Employee {
        id: num(v, "id") as i64,
        name: str_(v, "name"),
        email: str_(v, "email"),
        extension: str_(v, "extension"),
        number: opt_str(v, "number").filter(|n| !n.is_empty()),
        role: str_(v, "role"),
        app_access: bool_(v, "app_access"),
        invite_state: str_(v, "invite_state"),
    }
}

/// `{"employee", "company", "presence"?, "language"?}`.
pub fn me(v: &JsValue) -> Me {
    let c = field(v, "company");
    let e = field(v, "employee");
    // Top level, or inside "employee".
    let either = |k: &str| opt_str(v, k).or_else(|| opt_str(&e, k));
    Me {
        employee: employee(&e),
        company: Company {
            id: num(&c, "id") as i64,
            name: str_(&c, "name"),
            domain: str_(&c, "domain"),
        },
        presence: either("presence").and_then(|p| MyStatus::parse(&p)),
        language: either("language").and_then(|l| Lang::parse(&l)),
    }
}

/// Sends `method path` with a binary body (`body`: a `Uint8Array` or `Blob`) of
/// `content_type`, and reads the JSON answer.
pub async fn send_bytes(method: &str, path: &str, content_type: &str, body: &JsValue) -> Reply {
    let attempt = async {
        let window = web_sys::window().ok_or(JsValue::NULL)?;
        let init = RequestInit::new();
        init.set_method(method);
        init.set_credentials(RequestCredentials::SameOrigin);
        init.set_cache(RequestCache::NoStore);
        init.set_headers(&obj(&[("Content-Type", content_type.into())]));
        init.set_body(body);
        let resp: Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
            .await?
            .dyn_into()?;
        let status = resp.status();
        let raw = JsFuture::from(resp.text()?).await?.as_string();
        let body = raw
            .filter(|t| !t.trim().is_empty())
            .and_then(|t| JSON::parse(&t).ok())
            .unwrap_or(JsValue::NULL);
        Ok::<Reply, JsValue>(Reply { status, body })
    };
    attempt.await.unwrap_or(Reply {
        status: 0,
        body: JsValue::NULL,
    })
}

/// Sends a request with a text body (`text/vcard`, `text/csv`) and reads the JSON answer.
pub async fn send_text(path: &str, content_type: &str, body: &str) -> Reply {
    send_bytes("POST", path, content_type, &JsValue::from_str(body)).await
}

fn opt_i64(v: &JsValue, key: &str) -> Option<i64> {
    let x = field(v, key);
    x.as_f64().map(|n| n as i64)
}

/// An item of `GET /api/v1/directory`.
pub fn directory_entry(v: &JsValue) -> DirectoryEntry {
    DirectoryEntry {
        id: num(v, "id") as i64,
        name: str_(v, "name"),
        extension: str_(v, "extension"),
        number: opt_str(v, "number").filter(|n| !n.is_empty()),
        email: str_(v, "email"),
        favourite: bool_(v, "favourite"),
    }
}

/// A phone-book contact.
pub fn contact(v: &JsValue) -> Contact {
    Contact {
        id: num(v, "id") as i64,
        name: str_(v, "name"),
        organization: opt_str(v, "organization").filter(|o| !o.is_empty()),
        numbers: array(v, "numbers")
            .iter()
            .map(|n| PhoneNumber {
                label: NumberLabel::parse(&str_(n, "label")),
                number: str_(n, "number"),
            })
            .collect(),
        favourite: bool_(v, "favourite"),
    }
}

/// The answer to `POST /api/v1/contacts/import`.
pub fn contact_import(v: &JsValue) -> ContactImport {
    ContactImport {
        imported: u64_(v, "imported"),
        duplicates: u64_(v, "duplicates"),
        errors: array(v, "errors")
            .iter()
            .map(|e| (u64_(e, "line"), str_(e, "message")))
            .collect(),
    }
}

/// An item of `GET /api/v1/history`.
pub fn history_item(v: &JsValue) -> HistoryItem {
    let peer = field(v, "peer");
    let nonempty = |k: &str| opt_str(v, k).filter(|s| !s.trim().is_empty());
    HistoryItem {
        id: num(v, "id") as i64,
        direction: match str_(v, "direction").as_str() {
            "incoming" => Direction::Incoming,
            "forwarded" => Direction::Forwarded,
            _ => Direction::Outgoing,
        },
        outcome: Outcome::parse(&str_(v, "outcome")),
        missed: bool_(v, "missed"),
        peer_name: opt_str(&peer, "name").filter(|n| !n.trim().is_empty()),
        peer_number: str_(&peer, "number"),
        peer_extension: opt_str(&peer, "extension").filter(|e| !e.is_empty()),
        started_ms: num(v, "started_ms") as i64,
        answered_ms: opt_i64(v, "answered_ms"),
        ended_ms: num(v, "ended_ms") as i64,
        duration_s: u64_(v, "duration_s"),
        diverted_from_number: nonempty("diverted_from_number"),
        diverted_from_name: nonempty("diverted_from_name"),
        diversion: nonempty("diversion"),
        forwarded_to_number: nonempty("forwarded_to_number"),
        forwarded_to_name: nonempty("forwarded_to_name"),
    }
}

/// `{"items", "missed_unseen"}` of `GET /api/v1/history`.
pub fn history_page(v: &JsValue) -> (Vec<HistoryItem>, Option<u64>) {
    let items = array(v, "items").iter().map(history_item).collect();
    let missed = (!field(v, "missed_unseen").is_undefined()).then(|| u64_(v, "missed_unseen"));
    (items, missed)
}

/// `{"missed_unseen"}`.
pub fn missed_unseen(v: &JsValue) -> u64 {
    u64_(v, "missed_unseen")
}

/// A JSON array from values.
pub fn arr(items: impl IntoIterator<Item = JsValue>) -> JsValue {
    items.into_iter().collect::<Array>().into()
}

pub fn invitation(v: &JsValue) -> Invitation {
    Invitation {
        email: str_(v, "email"),
        name: str_(v, "name"),
        kind: str_(v, "kind"),
    }
}

pub fn number_block(v: &JsValue) -> NumberBlock {
    NumberBlock {
        id: num(v, "id") as i64,
        first_number: str_(v, "first_number"),
        last_number: str_(v, "last_number"),
        size: u64_(v, "size"),
        first_extension: str_(v, "first_extension"),
    }
}

/// An import answer, or `None` when the body is not one (a plain error).
pub fn import_report(v: &JsValue) -> Option<ImportReport> {
    if !Array::is_array(&field(v, "rows")) {
        return None;
    }
    let rows = array(v, "rows")
        .iter()
        .map(|r| ImportRow {
            row: u64_(r, "row"),
            action: str_(r, "action"),
            name: str_(r, "name"),
            email: str_(r, "email"),
            extension: str_(r, "extension"),
            errors: array(r, "errors")
                .iter()
                .map(|e| (str_(e, "field"), str_(e, "message")))
                .collect(),
        })
        .collect();
    Some(ImportReport {
        dry_run: bool_(v, "dry_run"),
        created: u64_(v, "created"),
        updated: u64_(v, "updated"),
        unchanged: u64_(v, "unchanged"),
        errors: u64_(v, "errors"),
        rows,
    })
}

/// A short-lived SIP credential (`POST /api/v1/me/sip-credentials`). Memory only: never in
/// the reducer's state, never in storage.
pub struct SipCredentials {
    /// The digest username, e.g. "1764300000:101".
    pub username: String,
    pub password: String,
    pub domain: String,
    pub extension: String,
    pub display_name: String,
    pub expires_in: u64,
}

pub async fn sip_credentials() -> Result<SipCredentials, Problem> {
    let reply = send("POST", "/api/v1/me/sip-credentials", None).await;
    reply.map(|v| SipCredentials {
        username: str_(v, "username"),
        password: str_(v, "password"),
        domain: str_(v, "domain"),
        extension: str_(v, "extension"),
        display_name: str_(v, "display_name"),
        expires_in: u64_(v, "expires_in"),
    })
}

/// An item of `GET /api/v1/api-tokens` (and the token part of the `POST` answer).
pub fn api_token(v: &JsValue) -> ApiToken {
    let nonempty = |k: &str| opt_str(v, k).filter(|s| !s.trim().is_empty());
    // Who made it: a name, or an object with one (an id alone says nothing to a person).
    let by = field(v, "created_by");
    let created_by = nonempty("created_by_name")
        .or_else(|| by.as_string())
        .or_else(|| opt_str(&by, "name"))
        .filter(|s| !s.trim().is_empty());
    ApiToken {
        id: num(v, "id") as i64,
        name: str_(v, "name"),
        created_at: str_(v, "created_at"),
        created_by,
        expires_at: nonempty("expires_at"),
        last_used_at: nonempty("last_used_at"),
    }
}

/// The answer to `POST /api/v1/api-tokens`: the token and its secret (shown this once).
pub fn created_api_token(v: &JsValue) -> (ApiToken, String) {
    (api_token(v), str_(v, "secret"))
}

/// `GET /api/v1/me/devices` (and the admin's, and the answers to PUT default-device and lock).
pub fn device_list(v: &JsValue) -> DeviceList {
    let nonempty = |d: &JsValue, k: &str| opt_str(d, k).filter(|s| !s.trim().is_empty());
    DeviceList {
        devices: array(v, "devices")
            .iter()
            .map(|d| Device {
                id: str_(d, "id"),
                kind: if str_(d, "kind") == "phone" {
                    DeviceKind::Phone
                } else {
                    DeviceKind::Browser
                },
                user_agent: nonempty(d, "user_agent"),
                transport: str_(d, "transport"),
                source: str_(d, "source"),
                registered_ms: num(d, "registered_ms") as i64,
                last_seen_ms: num(d, "last_seen_ms") as i64,
                expires_ms: num(d, "expires_ms") as i64,
                credential: nonempty(d, "credential"),
                default: bool_(d, "default"),
            })
            .collect(),
        default_device: nonempty(v, "default_device"),
        locked: bool_(v, "locked"),
        max_devices: u64_(v, "max_devices"),
    }
}

/// An item of `GET /api/v1/me/device-credentials` (and the credential of the POST answer).
pub fn device_credential(v: &JsValue) -> DeviceCredential {
    let by = field(v, "created_by");
    DeviceCredential {
        id: num(v, "id") as i64,
        username: str_(v, "username"),
        label: str_(v, "label"),
        created_ms: num(v, "created_ms") as i64,
        created_by: by
            .as_string()
            .or_else(|| opt_str(&by, "name"))
            .filter(|s| !s.trim().is_empty()),
    }
}

/// `GET /api/v1/me/device-credentials`: the logins, where phones register, and the most a
/// person may have.
pub fn device_credentials(v: &JsValue) -> (Vec<DeviceCredential>, SipServer, u64) {
    let sip = field(v, "sip");
    let server = SipServer {
        domain: str_(&sip, "domain"),
        proxy: str_(&sip, "proxy"),
        transports: array(&sip, "transports")
            .iter()
            .filter_map(|t| t.as_string())
            .collect(),
        tls_proxy: opt_str(&sip, "tls_proxy").filter(|s| !s.trim().is_empty()),
    };
    let list = array(v, "credentials")
        .iter()
        .map(device_credential)
        .collect();
    (list, server, u64_(v, "max"))
}

/// The answer to `POST /api/v1/me/device-credentials`: the login and its password (shown
/// this once).
pub fn created_device_credential(v: &JsValue) -> (DeviceCredential, String) {
    (device_credential(v), str_(v, "password"))
}

fn target(v: &JsValue) -> Option<Target> {
    if !v.is_object() {
        return None;
    }
    Some(match str_(v, "kind").as_str() {
        "extension" => Target::Extension(str_(v, "ext")),
        "group" => Target::Group(array(v, "exts").iter().filter_map(text).collect()),
        "external" => Target::External(str_(v, "number")),
        "voicemail" => Target::Voicemail,
        _ => return None,
    })
}

/// `GET /api/v1/me/routing`.
pub fn routing(v: &JsValue) -> Routing {
    let na = field(v, "no_answer");
    Routing {
        always: target(&field(v, "always")),
        busy: target(&field(v, "busy")),
        no_answer: target(&field(&na, "target")).map(|t| (u64_(&na, "after_secs") as u32, t)),
        offline: target(&field(v, "offline")),
        unavailable: target(&field(v, "unavailable")),
        strategy: Strategy::parse(&str_(v, "strategy")),
        ring_first_secs: u64_(v, "ring_first_secs") as u32,
    }
}

fn target_body(t: Option<&Target>) -> JsValue {
    match t {
        None => JsValue::NULL,
        Some(Target::Extension(ext)) => {
            obj(&[("kind", "extension".into()), ("ext", ext.as_str().into())])
        }
        Some(Target::Group(exts)) => obj(&[
            ("kind", "group".into()),
            ("exts", arr(exts.iter().map(|e| JsValue::from_str(e)))),
        ]),
        Some(Target::External(number)) => obj(&[
            ("kind", "external".into()),
            ("number", number.as_str().into()),
        ]),
        Some(Target::Voicemail) => obj(&[("kind", "voicemail".into())]),
    }
}

/// The body of `PUT /api/v1/me/routing`.
pub fn routing_body(r: &Routing) -> JsValue {
    let no_answer = match &r.no_answer {
        Some((secs, t)) => obj(&[
            ("after_secs", JsValue::from_f64(f64::from(*secs))),
            ("target", target_body(Some(t))),
        ]),
        None => JsValue::NULL,
    };
    obj(&[
        ("always", target_body(r.always.as_ref())),
        ("busy", target_body(r.busy.as_ref())),
        ("no_answer", no_answer),
        ("offline", target_body(r.offline.as_ref())),
        ("unavailable", target_body(r.unavailable.as_ref())),
        ("strategy", r.strategy.as_str().into()),
        (
            "ring_first_secs",
            JsValue::from_f64(f64::from(r.ring_first_secs)),
        ),
    ])
}

// ---- prices and spending (docs/api-billing.md) ----

fn i64_(v: &JsValue, key: &str) -> i64 {
    num(v, key) as i64
}

pub fn company_costs(v: &JsValue) -> crate::state::costs::CompanyCosts {
    use crate::state::costs::{CompanyCosts, PersonCost};
    let settings = field(v, "settings");
    CompanyCosts {
        month: str_(v, "month"),
        people: array(v, "people")
            .iter()
            .map(|p| PersonCost {
                employee_id: i64_(p, "employee_id"),
                name: str_(p, "name"),
                extension: str_(p, "extension"),
                flat_rate: str_(p, "flat_rate"),
                spend_limit: opt_i64(p, "spend_limit_micros"),
                calls: i64_(p, "calls"),
                billed_seconds: i64_(p, "billed_seconds"),
                cost: i64_(p, "cost_micros"),
            })
            .collect(),
        former_employees_cost: i64_(v, "former_employees_cost_micros"),
        total_cost: i64_(v, "total_cost_micros"),
        spend_limit: opt_i64(&settings, "spend_limit_micros"),
        person_spend_limit: opt_i64(&settings, "person_spend_limit_micros"),
    }
}

pub fn statement(v: &JsValue) -> crate::state::costs::Statement {
    use crate::state::costs::{Statement, StatementLine};
    Statement {
        month: str_(v, "month"),
        lines: array(v, "lines")
            .iter()
            .map(|l| StatementLine {
                item: str_(l, "item"),
                class: opt_str(l, "class"),
                quantity: i64_(l, "quantity"),
                unit: opt_i64(l, "unit_micros"),
                billed_seconds: opt_i64(l, "billed_seconds"),
                amount: i64_(l, "amount_micros"),
            })
            .collect(),
        total: i64_(v, "total_micros"),
    }
}

pub fn my_costs(v: &JsValue) -> crate::state::costs::MyCosts {
    use crate::state::costs::{CostCall, MyCosts, Spend};
    let spend = field(v, "spend");
    let (calls, calls_total) = list(&field(v, "calls"), |c| CostCall {
        id: i64_(c, "id"),
        dialled: str_(c, "dialled"),
        started_at: str_(c, "started_at"),
        class: str_(c, "class"),
        billed_seconds: i64_(c, "billed_seconds"),
        cost: opt_i64(c, "cost_micros"),
    });
    MyCosts {
        spend: Spend {
            person_spent: i64_(&spend, "person_spent_micros"),
            person_limit: opt_i64(&spend, "person_limit_micros"),
            company_spent: i64_(&spend, "company_spent_micros"),
            company_limit: opt_i64(&spend, "company_limit_micros"),
        },
        statement: statement(&field(v, "statement")),
        calls,
        calls_total,
    }
}

/// A limit for a JSON body: micros, or `null`.
pub fn micros_or_null(m: Option<i64>) -> JsValue {
    m.map_or(JsValue::NULL, |m| JsValue::from_f64(m as f64))
}
