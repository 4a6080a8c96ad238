//! The admin panel: employees (search, add, edit, remove, invitations, app access in bulk),
//! number blocks, the CSV import, and API tokens. Its state is the pure reducer in
//! [`crate::state::admin`]; this component does the requests and renders.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::devices::{DevicesPanel, Subject};
use crate::i18n::Strings;
use crate::model::{ApiToken, Employee, ImportReport, Lang};
use crate::services::api::{self, Reply};
use crate::services::{browser, intl};
use crate::state::AdminSection;
use crate::state::admin::{AdminAction, AdminState, BlockField, EmpField, FormError, ImportState};
use crate::state::tokens::{NewSecret, TokenAction, TokenField, TokenForm, TokensState};

#[derive(Properties, PartialEq)]
pub struct AdminProps {
    /// The gateway answered 401: the session is over.
    pub on_session_ended: Callback<()>,
    /// Which section shows (the panel stays mounted across sections, keeping its state).
    pub section: AdminSection,
    pub lang: Lang,
}

/// What the panel's requests need: the dispatcher, the search, and who to tell about a 401.
#[derive(Clone)]
struct Ctx {
    d: UseReducerDispatcher<AdminState>,
    /// Numbers the list requests; an answer to an older one is dropped.
    list_seq: Rc<Cell<u64>>,
    query: String,
    on_session_ended: Callback<()>,
    /// The words of the moment (messages are made in the language shown when they happen).
    t: &'static Strings,
    lang: Lang,
}

impl Ctx {
    fn dispatch(&self, a: AdminAction) {
        self.d.dispatch(a);
    }

    /// Whether the session is over (and says so).
    fn ended(&self, r: &Reply) -> bool {
        if r.status == 401 {
            self.on_session_ended.emit(());
            true
        } else {
            false
        }
    }

    fn reload(&self) {
        self.list(self.query.clone());
    }

    fn list(&self, query: String) {
        let n = self.list_seq.get() + 1;
        self.list_seq.set(n);
        let c = self.clone();
        spawn_local(async move {
            let q = query.trim();
            let path = if q.is_empty() {
                "/api/v1/employees".to_string()
            } else {
                format!("/api/v1/employees?q={}", api::enc(q))
            };
            let r = api::get(&path).await;
            if c.list_seq.get() != n || c.ended(&r) {
                return;
            }
            match r.map(|v| api::list(v, api::employee)) {
                Ok((employees, total)) => c.dispatch(AdminAction::Listed { employees, total }),
                Err(p) => c.dispatch(AdminAction::Failed(format!(
                    "{}: {}",
                    c.t.adm_load_employees_failed,
                    c.t.problem(&p)
                ))),
            }
        });
    }

    fn blocks(&self) {
        let c = self.clone();
        spawn_local(async move {
            let r = api::get("/api/v1/number-blocks").await;
            if c.ended(&r) {
                return;
            }
            match r.map(|v| api::list(v, api::number_block).0) {
                Ok(blocks) => c.dispatch(AdminAction::Blocks(blocks)),
                Err(p) => c.dispatch(AdminAction::Failed(format!(
                    "{}: {}",
                    c.t.adm_load_blocks_failed,
                    c.t.problem(&p)
                ))),
            }
        });
    }

    fn next_extension(&self) {
        let c = self.clone();
        spawn_local(async move {
            let r = api::get("/api/v1/employees/next-extension").await;
            if c.ended(&r) {
                return;
            }
            if let Ok(Some(ext)) = r.map(|v| {
                js_sys::Reflect::get(v, &"extension".into())
                    .ok()
                    .and_then(|e| e.as_string())
            }) {
                c.dispatch(AdminAction::NextExtension(ext));
            }
        });
    }

    /// After a change to employees: the list, and the next free extension.
    fn employees_changed(&self) {
        self.reload();
        self.next_extension();
    }

    /// After a change to number blocks: the blocks, and the list (its numbers).
    fn blocks_changed(&self) {
        self.blocks();
        self.reload();
    }

    /// A change: on success says `ok_text`, on failure `fail_text` and why; then `after`
    /// reloads what it may have changed.
    fn change(
        &self,
        (method, path, body): (&'static str, String, Option<JsValue>),
        ok_text: String,
        fail_text: &'static str,
        after: fn(&Ctx),
    ) {
        let c = self.clone();
        spawn_local(async move {
            let r = api::send(method, &path, body).await;
            if c.ended(&r) {
                return;
            }
            if r.ok() {
                c.dispatch(AdminAction::Notice(ok_text));
            } else {
                let why = c.t.problem(&r.problem());
                c.dispatch(AdminAction::Failed(format!("{fail_text}: {why}")));
            }
            after(&c);
        });
    }

    fn bulk_access(&self, ids: Vec<i64>, on: bool) {
        if ids.is_empty() {
            return;
        }
        let n = ids.len();
        let ids_js: js_sys::Array = ids.iter().map(|id| JsValue::from_f64(*id as f64)).collect();
        let body = api::obj(&[("ids", ids_js.into()), ("app_access", on.into())]);
        let n = n as u64;
        let text = if on {
            (self.t.adm_access_granted)(n)
        } else {
            (self.t.adm_access_revoked)(n)
        };
        self.change(
            ("POST", "/api/v1/employees/access".into(), Some(body)),
            text,
            self.t.adm_access_failed,
            Ctx::employees_changed,
        );
    }

    fn save_employee(&self, st: &AdminState) {
        let input = match st.form.validate(self.t) {
            Ok(i) => i,
            Err(e) => return self.dispatch(AdminAction::FormRejected(e)),
        };
        self.dispatch(AdminAction::FormSubmitted);
        let editing = st.form.editing;
        let c = self.clone();
        spawn_local(async move {
            let mut pairs = vec![
                ("name", JsValue::from_str(&input.name)),
                ("role", JsValue::from_str(&input.role)),
                ("app_access", JsValue::from_bool(input.app_access)),
            ];
            if let Some(email) = &input.email {
                pairs.push(("email", JsValue::from_str(email)));
            }
            if let Some(ext) = &input.extension {
                pairs.push(("extension", JsValue::from_str(ext)));
            }
            let body = api::obj(&pairs);
            let r = match editing {
                Some(id) => {
                    api::send("PATCH", &format!("/api/v1/employees/{id}"), Some(body)).await
                }
                None => api::post("/api/v1/employees", body).await,
            };
            if c.ended(&r) {
                return;
            }
            match r.map(api::employee) {
                Ok(e) => {
                    let name = if e.name.is_empty() {
                        input.name
                    } else {
                        e.name
                    };
                    let t = c.t;
                    let text = match editing {
                        Some(_) => (t.adm_saved)(&name),
                        None if input.app_access => (t.adm_added_invited)(&name, &e.email),
                        None => (t.adm_added)(&name),
                    };
                    c.dispatch(AdminAction::FormSaved(text));
                    c.employees_changed();
                }
                Err(p) => c.dispatch(AdminAction::FormRejected(FormError::from_problem(&p, c.t))),
            }
        });
    }

    fn add_block(&self, st: &AdminState) {
        let input = match st.block.validate(self.t) {
            Ok(i) => i,
            Err(e) => return self.dispatch(AdminAction::BlockRejected(e)),
        };
        self.dispatch(AdminAction::BlockSubmitted);
        let c = self.clone();
        spawn_local(async move {
            let mut pairs = vec![
                ("first_number", JsValue::from_str(&input.first_number)),
                ("size", JsValue::from_f64(f64::from(input.size))),
            ];
            if let Some(ext) = &input.first_extension {
                pairs.push(("first_extension", JsValue::from_str(ext)));
            }
            let r = api::post("/api/v1/number-blocks", api::obj(&pairs)).await;
            if c.ended(&r) {
                return;
            }
            if r.ok() {
                c.dispatch(AdminAction::BlockAdded);
                c.dispatch(AdminAction::Notice(c.t.adm_block_added.into()));
                c.blocks_changed();
            } else {
                c.dispatch(AdminAction::BlockRejected(FormError::from_problem(
                    &r.problem(),
                    c.t,
                )));
            }
        });
    }

    fn token(&self, a: TokenAction) {
        self.dispatch(AdminAction::Tokens(a));
    }

    fn tokens(&self) {
        let c = self.clone();
        spawn_local(async move {
            let r = api::get("/api/v1/api-tokens").await;
            if c.ended(&r) {
                return;
            }
            match r.map(|v| api::list(v, api::api_token).0) {
                Ok(tokens) => c.token(TokenAction::Listed(tokens)),
                Err(p) => c.dispatch(AdminAction::Failed(format!(
                    "{}: {}",
                    c.t.tok_load_failed,
                    c.t.problem(&p)
                ))),
            }
        });
    }

    fn create_token(&self, form: &TokenForm) {
        let input = match form.validate(self.t) {
            Ok(i) => i,
            Err(e) => return self.token(TokenAction::Rejected(e)),
        };
        self.token(TokenAction::Submitted);
        let c = self.clone();
        spawn_local(async move {
            let body = api::obj(&[
                ("name", JsValue::from_str(&input.name)),
                (
                    "expires_in_days",
                    JsValue::from_f64(f64::from(input.expires_in_days)),
                ),
            ]);
            let r = api::post("/api/v1/api-tokens", body).await;
            if c.ended(&r) {
                return;
            }
            match r.map(api::created_api_token) {
                Ok((token, secret)) if !secret.is_empty() => {
                    let text = (c.t.tok_created)(&token.name);
                    c.token(TokenAction::Created { token, secret });
                    c.dispatch(AdminAction::Notice(text));
                }
                Ok(_) => c.token(TokenAction::Rejected(FormError {
                    message: c.t.err_unreadable.into(),
                    fields: Vec::new(),
                })),
                Err(p) => c.token(TokenAction::Rejected(TokenForm::refused(&p, c.t))),
            }
        });
    }

    fn revoke_token(&self, id: i64, name: String) {
        let c = self.clone();
        spawn_local(async move {
            let r = api::send("DELETE", &format!("/api/v1/api-tokens/{id}"), None).await;
            if c.ended(&r) {
                return;
            }
            // Already gone (404): as good as revoked.
            if r.ok() || r.status == 404 {
                c.token(TokenAction::Revoked(id));
                c.dispatch(AdminAction::Notice((c.t.tok_revoked)(&name)));
            } else {
                let why = c.t.problem(&r.problem());
                c.dispatch(AdminAction::Failed(format!(
                    "{}: {why}",
                    c.t.tok_revoke_failed
                )));
            }
            c.tokens();
        });
    }

    fn import(&self, csv: String, dry_run: bool) {
        self.dispatch(AdminAction::ImportSubmitted);
        let c = self.clone();
        spawn_local(async move {
            let path = format!("/api/v1/employees/import?dry_run={dry_run}");
            let r = api::post(&path, api::obj(&[("csv", csv.into())])).await;
            if c.ended(&r) {
                return;
            }
            match api::import_report(&r.body) {
                Some(report) if r.ok() => {
                    let done = !dry_run && !report.dry_run;
                    let summary = summary(c.t, &report);
                    c.dispatch(AdminAction::ImportReported(report));
                    if done {
                        c.dispatch(AdminAction::Notice(summary));
                        c.employees_changed();
                    }
                }
                Some(report) => {
                    // Refused: nothing was written; the rows say why.
                    c.dispatch(AdminAction::ImportReported(report));
                    let why = c.t.problem(&r.problem());
                    c.dispatch(AdminAction::ImportFailed(format!(
                        "{}: {why}",
                        c.t.adm_import_nothing
                    )));
                }
                None if r.ok() => c.dispatch(AdminAction::ImportFailed(c.t.err_unreadable.into())),
                None => c.dispatch(AdminAction::ImportFailed(c.t.problem(&r.problem()))),
            }
        });
    }
}

pub(super) fn input_value(e: &InputEvent) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
}

// Small builders shared by the forms and tables: each `html!` costs wasm code, so repeated
// markup is built once here.

/// A labelled input in a `.field`: (id, label, type, placeholder).
#[inline(never)]
fn text_field(
    (id, label, kind, placeholder): (&'static str, &'static str, &'static str, &'static str),
    value: &str,
    invalid: bool,
    oninput: Callback<InputEvent>,
) -> Html {
    html! {
        <div class="field">
            <label for={id}>{ label }</label>
            <input {id} type={kind} autocomplete="off" placeholder={(!placeholder.is_empty()).then_some(placeholder)}
                value={value.to_string()} aria-invalid={invalid.then_some("true")} {oninput} />
        </div>
    }
}

/// A `type="button"` button; `id` or classes identify it.
#[inline(never)]
pub(super) fn button(
    id: Option<&'static str>,
    class: &'static str,
    label: &'static str,
    disabled: bool,
    onclick: Callback<MouseEvent>,
) -> Html {
    html! {
        <button {id} type="button" {class} {disabled} {onclick}>{ label }</button>
    }
}

/// A table head.
#[inline(never)]
pub(super) fn thead(cols: &[&'static str]) -> Html {
    html! {
        <thead><tr>{ for cols.iter().map(|c| html! { <th scope="col">{ *c }</th> }) }</tr></thead>
    }
}

/// A status (`role="status"`) or error (`role="alert"`) line, hidden when empty.
#[inline(never)]
pub(super) fn message(id: &'static str, alert: bool, text: Option<&str>) -> Html {
    let (class, role) = if alert {
        ("error", "alert")
    } else {
        ("notice", "status")
    };
    html! {
        <p {id} {class} {role} hidden={text.is_none()}>{ text.unwrap_or_default().to_string() }</p>
    }
}

#[function_component(Admin)]
pub fn admin(p: &AdminProps) -> Html {
    let st = use_reducer(AdminState::default);
    let list_seq: Rc<Cell<u64>> = use_memo((), |_| Cell::new(0u64));
    let ctx = Ctx {
        d: st.dispatcher(),
        list_seq,
        query: st.query.clone(),
        on_session_ended: p.on_session_ended.clone(),
        t: p.lang.t(),
        lang: p.lang,
    };
    {
        let ctx = ctx.clone();
        use_effect_with((), move |_| {
            ctx.reload();
            ctx.blocks();
            ctx.next_extension();
        });
    }
    {
        // Leaving the API tokens forgets a new token's secret; coming to them lists them.
        let ctx = ctx.clone();
        use_effect_with(p.section, move |section| {
            ctx.dispatch(AdminAction::Section(*section));
            if *section == AdminSection::ApiTokens {
                ctx.tokens();
            }
        });
    }
    // A new token's secret takes the focus, so that it is read out and copied at once.
    use_effect_with(st.tokens.secret.as_ref().map(|s| s.id), |shown| {
        if shown.is_some() {
            browser::focus("token-secret");
        }
    });

    html! {
        <section id="admin" class="admin" aria-label={ctx.t.adm_panel}>
            { message("admin-notice", false, st.notice.as_deref()) }
            { message("admin-error", true, st.error.as_deref()) }
            { match (p.section, &st.devices_of) {
                (AdminSection::Employees, Some(e)) => employee_devices(e, &ctx),
                (AdminSection::Employees, None) => html! {
                    <>
                        { employees_card(&st, &ctx) }
                        { employee_form(&st, &ctx) }
                        <super::calling::CallingCard lang={p.lang} scope={super::calling::Scope::Company}
                            on_session_ended={p.on_session_ended.clone()} />
                        <MediaRelayCard lang={p.lang} on_session_ended={p.on_session_ended.clone()} />
                    </>
                },
                (AdminSection::NumberBlocks, _) => blocks_card(&st, &ctx),
                (AdminSection::Import, _) => import_card(&st.import, &ctx),
                (AdminSection::ApiTokens, _) => tokens_card(&st.tokens, &ctx),
                (AdminSection::Costs, _) => html! {
                    <super::costs::CompanyCostsPage lang={p.lang} on_session_ended={p.on_session_ended.clone()} />
                },
            } }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct MediaRelayProps {
    lang: Lang,
    on_session_ended: Callback<()>,
}

/// The company's choice of relaying every call between browsers through the gateway
/// (`PUT /api/v1/company/media`): `#media-relay` (a checkbox), `#media-relay-saved`,
/// `#media-relay-error`.
#[function_component(MediaRelayCard)]
fn media_relay_card(p: &MediaRelayProps) -> Html {
    let t = p.lang.t();
    // (known, relay, saving, outcome: Some(true) saved, Some(false) failed)
    let state = use_state(|| (false, false, false, None::<bool>));
    {
        let (state, ended) = (state.clone(), p.on_session_ended.clone());
        use_effect_with((), move |_| {
            spawn_local(async move {
                let r = api::get("/api/v1/company/media").await;
                if r.status == 401 {
                    return ended.emit(());
                }
                let relay = js_sys::Reflect::get(&r.body, &JsValue::from_str("relay"))
                    .ok()
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                state.set((r.ok(), relay, false, None));
            });
        });
    }
    let on_change = {
        let (state, ended) = (state.clone(), p.on_session_ended.clone());
        Callback::from(move |e: Event| {
            let Some(input) = e.target_dyn_into::<HtmlInputElement>() else {
                return;
            };
            let want = input.checked();
            let (state, ended) = (state.clone(), ended.clone());
            state.set((true, want, true, None));
            spawn_local(async move {
                let body = api::obj(&[("relay", JsValue::from_bool(want))]);
                let r = api::send("PUT", "/api/v1/company/media", Some(body)).await;
                if r.status == 401 {
                    return ended.emit(());
                }
                let relay = if r.ok() { want } else { !want };
                state.set((true, relay, false, Some(r.ok())));
            });
        })
    };
    let (known, relay, saving, outcome) = *state;
    html! {
        <section class="card" aria-labelledby="media-relay-title">
            <h2 id="media-relay-title">{ t.adm_media_title }</h2>
            <label class="check">
                <input id="media-relay" type="checkbox" checked={relay}
                    disabled={!known || saving} onchange={on_change} />
                { t.adm_media_relay }
            </label>
            <p class="hint">{ t.adm_media_hint }</p>
            { match outcome {
                Some(true) => html! { <p id="media-relay-saved" class="hint" role="status">{ t.adm_media_saved }</p> },
                Some(false) => html! { <p id="media-relay-error" class="error" role="alert">{ t.adm_media_failed }</p> },
                None => html! {},
            } }
        </section>
    }
}

/// An employee's devices, lock, device logins and forwarding: the same page as a person's
/// own, for the administrator.
fn employee_devices(e: &Employee, ctx: &Ctx) -> Html {
    let on_back = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| {
            ctx.dispatch(AdminAction::Devices(None));
            ctx.reload();
        })
    };
    let subject = Subject::Employee {
        id: e.id,
        name: e.name.clone(),
    };
    html! {
        <div id="admin-devices" data-id={e.id.to_string()} data-ext={e.extension.clone()}>
            <div class="form-buttons">
                { button(Some("admin-devices-back"), "btn btn-quiet", ctx.t.adm_back_to_employees, false, on_back) }
            </div>
            <DevicesPanel {subject} ext={AttrValue::from(e.extension.clone())} lang={ctx.lang}
                on_session_ended={ctx.on_session_ended.clone()} />
            <super::calling::CallingCard lang={ctx.lang} scope={super::calling::Scope::Person(e.id)}
                on_session_ended={ctx.on_session_ended.clone()} />
        </div>
    }
}

fn employees_card(st: &AdminState, ctx: &Ctx) -> Html {
    let on_search = {
        let ctx = ctx.clone();
        Callback::from(move |e: InputEvent| {
            let q = input_value(&e);
            ctx.dispatch(AdminAction::Query(q.clone()));
            ctx.list(q);
        })
    };
    let bulk = |on: bool| {
        let (ctx, ids) = (ctx.clone(), st.selected_ids());
        Callback::from(move |_: MouseEvent| ctx.bulk_access(ids.clone(), on))
    };
    let t = ctx.t;
    let none = st.selected.is_empty();
    let rows = st
        .employees
        .iter()
        .map(|e| employee_row(e, st.selected.contains(&e.id), ctx));
    let count = if st.loaded {
        (t.adm_count)(st.total)
    } else {
        t.loading.to_string()
    };
    html! {
        <section class="card">
            <h2>{ t.admin_employees }</h2>
            <div class="toolbar">
                <input id="employee-search" type="search" aria-label={t.adm_search_label}
                    placeholder={t.adm_search_placeholder}
                    value={st.query.clone()} oninput={on_search} />
                { button(Some("bulk-grant"), "btn btn-small", t.adm_bulk_grant, none, bulk(true)) }
                { button(Some("bulk-revoke"), "btn btn-small btn-quiet", t.adm_bulk_revoke, none, bulk(false)) }
            </div>
            <div class="table-wrap">
                <table id="employees" class="table">
                    { thead(&[t.adm_col_select, t.col_name, t.field_email, t.col_ext, t.col_number, t.adm_col_role, t.adm_col_access, t.adm_col_invitation, ""]) }
                    <tbody>{ for rows }</tbody>
                </table>
            </div>
            <p id="employees-count" class="hint">{ count }</p>
        </section>
    }
}

fn employee_row(e: &Employee, selected: bool, ctx: &Ctx) -> Html {
    let (id, t) = (e.id, ctx.t);
    let on_select = {
        let ctx = ctx.clone();
        Callback::from(move |ev: Event| {
            let on = ev.target_unchecked_into::<HtmlInputElement>().checked();
            ctx.dispatch(AdminAction::Select { id, selected: on });
        })
    };
    let on_edit = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| {
            ctx.dispatch(AdminAction::Edit(id));
            scroll_to("employee-form");
        })
    };
    let on_remove = {
        let (ctx, name, ext) = (ctx.clone(), e.name.clone(), e.extension.clone());
        Callback::from(move |_: MouseEvent| {
            if browser::confirm(&(t.adm_confirm_remove)(&name, &ext)) {
                ctx.change(
                    ("DELETE", format!("/api/v1/employees/{id}"), None),
                    (t.adm_removed)(&name),
                    t.adm_remove_failed,
                    Ctx::employees_changed,
                );
            }
        })
    };
    let on_devices = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| {
            ctx.dispatch(AdminAction::Devices(Some(id)));
            scroll_to("admin");
        })
    };
    let on_invite = {
        let (ctx, email) = (ctx.clone(), e.email.clone());
        Callback::from(move |_: MouseEvent| {
            ctx.change(
                ("POST", format!("/api/v1/employees/{id}/invitation"), None),
                (t.adm_invite_sent)(&email),
                t.adm_invite_failed,
                Ctx::employees_changed,
            );
        })
    };
    html! {
        <tr class="employee" data-id={id.to_string()} data-ext={e.extension.clone()} key={id}>
            <td><input type="checkbox" class="emp-select" checked={selected}
                aria-label={(t.adm_select)(&e.name)} onchange={on_select} /></td>
            <td class="emp-name">{ e.name.clone() }</td>
            <td class="emp-email">{ e.email.clone() }</td>
            <td class="emp-ext">{ e.extension.clone() }</td>
            <td class="emp-number">{ e.number.clone().unwrap_or_else(|| "—".into()) }</td>
            <td class="emp-role" data-role={e.role.clone()}>{ t.role(&e.role) }</td>
            <td class="emp-access" data-access={e.app_access.to_string()}>
                { if e.app_access { t.yes } else { t.no } }
            </td>
            <td><span class="invite-state" data-state={e.invite_state.clone()}>{ t.invite_state(&e.invite_state) }</span></td>
            <td class="row-actions">
                { button(None, "btn btn-small btn-quiet emp-edit", t.edit, false, on_edit) }
                <button type="button" class="btn btn-small btn-quiet emp-devices"
                    aria-label={(t.adm_devices_label)(&e.name)} onclick={on_devices}>{ t.nav_devices }</button>
                if e.can_invite() {
                    { button(None, "btn btn-small btn-quiet emp-invite", t.adm_resend_invite, false, on_invite) }
                }
                { button(None, "btn btn-small btn-danger emp-remove", t.remove, false, on_remove) }
            </td>
        </tr>
    }
}

fn scroll_to(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    {
        el.scroll_into_view();
    }
}

/// The error box of a form: the message, then one line per field it does not name.
#[inline(never)]
fn form_error(id: &'static str, err: Option<&FormError>) -> Html {
    html! {
        <div {id} class="error" role="alert" hidden={err.is_none()}>
            if let Some(err) = err {
                <p>{ err.message.clone() }</p>
                <ul class="field-errors">
                    { for err.field_lines().into_iter().map(|(f, line)| html! {
                        <li data-field={f}>{ line }</li>
                    }) }
                </ul>
            }
        </div>
    }
}

fn employee_form(st: &AdminState, ctx: &Ctx) -> Html {
    let (f, t) = (&st.form, ctx.t);
    let on = |which: EmpField| {
        let ctx = ctx.clone();
        Callback::from(move |e: InputEvent| {
            ctx.dispatch(AdminAction::FormField(which, input_value(&e)))
        })
    };
    let on_role = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            ctx.dispatch(AdminAction::FormField(EmpField::Role, v));
        })
    };
    let on_access = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            ctx.dispatch(AdminAction::FormAccess(on));
        })
    };
    let on_submit = {
        let (ctx, st) = (ctx.clone(), st.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            ctx.save_employee(&st);
        })
    };
    let on_cancel = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| {
            ctx.dispatch(AdminAction::NewEmployee);
            ctx.next_extension();
        })
    };
    let invalid = |name: &str| f.error.as_ref().is_some_and(|e| e.has(name));
    let editing = f.editing.is_some();
    let save = match (f.busy, editing) {
        (true, _) => t.saving,
        (false, true) => t.adm_save_changes,
        (false, false) => t.adm_add_employee,
    };
    html! {
        <form id="employee-form" class="card" data-mode={if editing { "edit" } else { "new" }}
            onsubmit={on_submit} novalidate=true>
            <h2>{ if editing { t.adm_edit_employee } else { t.adm_add_employee } }</h2>
            <div class="form-grid">
                { text_field(("emp-name", t.field_name, "text", ""), &f.name, invalid("name"), on(EmpField::Name)) }
                { text_field(("emp-email", t.field_email, "email", ""), &f.email, invalid("email"), on(EmpField::Email)) }
                { text_field(("emp-ext", t.field_extension, "text", t.adm_ext_next_free), &f.extension, invalid("extension"), on(EmpField::Extension)) }
                <div class="field">
                    <label for="emp-role">{ t.adm_col_role }</label>
                    <select id="emp-role" onchange={on_role}>
                        <option value="user" selected={f.role != "admin"}>{ t.adm_role_user }</option>
                        <option value="admin" selected={f.role == "admin"}>{ t.adm_role_admin }</option>
                    </select>
                </div>
            </div>
            <label class="check">
                <input id="emp-access" type="checkbox" checked={f.app_access} onchange={on_access} />
                { t.adm_access_check }
            </label>
            { form_error("emp-error", f.error.as_ref()) }
            <div class="form-buttons">
                <button id="emp-save" type="submit" class="btn" disabled={f.busy}>{ save }</button>
                { button(Some("emp-cancel"), "btn btn-quiet", t.cancel, false, on_cancel) }
            </div>
        </form>
    }
}

fn blocks_card(st: &AdminState, ctx: &Ctx) -> Html {
    let (b, t) = (&st.block, ctx.t);
    let on = |which: BlockField| {
        let ctx = ctx.clone();
        Callback::from(move |e: InputEvent| {
            ctx.dispatch(AdminAction::BlockField(which, input_value(&e)))
        })
    };
    let on_submit = {
        let (ctx, st) = (ctx.clone(), st.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            ctx.add_block(&st);
        })
    };
    let items = st.blocks.iter().map(|blk| {
        let on_remove = {
            let (ctx, id) = (ctx.clone(), blk.id);
            Callback::from(move |_: MouseEvent| {
                ctx.change(
                    ("DELETE", format!("/api/v1/number-blocks/{id}"), None),
                    t.adm_block_removed.into(),
                    t.adm_block_remove_failed,
                    Ctx::blocks_changed,
                );
            })
        };
        html! {
            <li class="block" data-id={blk.id.to_string()} key={blk.id}>
                <span class="block-range">{ format!("{} – {}", blk.first_number, blk.last_number) }</span>
                <span class="hint">{ (t.adm_block_info)(blk.size, &blk.first_extension) }</span>
                { button(None, "btn btn-small btn-danger block-remove", t.remove, false, on_remove) }
            </li>
        }
    });
    let invalid = |name: &str| b.error.as_ref().is_some_and(|e| e.has(name));
    html! {
        <section class="card">
            <h2>{ t.admin_blocks }</h2>
            <ul id="blocks" class="blocks">{ for items }</ul>
            if st.blocks.is_empty() {
                <p class="hint">{ t.adm_no_blocks }</p>
            }
            <form id="block-form" onsubmit={on_submit} novalidate=true>
                <h3>{ t.adm_add_block_title }</h3>
                <div class="form-grid">
                    { text_field(("block-first", t.adm_first_number, "tel", "+48 22 6006100"), &b.first_number, invalid("first_number"), on(BlockField::FirstNumber)) }
                    { text_field(("block-size", t.adm_size, "number", ""), &b.size, invalid("size"), on(BlockField::Size)) }
                    { text_field(("block-ext", t.adm_first_ext_optional, "text", ""), &b.first_extension, invalid("first_extension"), on(BlockField::FirstExtension)) }
                </div>
                { form_error("block-error", b.error.as_ref()) }
                <div class="form-buttons">
                    <button id="block-add" type="submit" class="btn" disabled={b.busy}>
                        { if b.busy { t.adm_adding } else { t.adm_add_block } }
                    </button>
                </div>
            </form>
        </section>
    }
}

fn import_card(im: &ImportState, ctx: &Ctx) -> Html {
    let t = ctx.t;
    let on_csv = {
        let ctx = ctx.clone();
        Callback::from(move |e: InputEvent| {
            let v = e.target_unchecked_into::<HtmlTextAreaElement>().value();
            ctx.dispatch(AdminAction::ImportCsv(v));
        })
    };
    let on_file = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            let ctx = ctx.clone();
            spawn_local(async move {
                match JsFuture::from(file.text()).await.map(|t| t.as_string()) {
                    Ok(Some(text)) => ctx.dispatch(AdminAction::ImportCsv(text)),
                    _ => ctx.dispatch(AdminAction::ImportFailed(t.adm_file_unreadable.into())),
                }
            });
        })
    };
    let run = |dry_run: bool| {
        let (ctx, csv) = (ctx.clone(), im.csv.clone());
        Callback::from(move |_: MouseEvent| ctx.import(csv.clone(), dry_run))
    };
    html! {
        <section id="import" class="card">
            <h2>{ t.adm_import_title }</h2>
            <p class="hint">{ t.adm_import_hint }</p>
            <label for="import-file">{ t.adm_csv_file }</label>
            <input id="import-file" type="file" accept=".csv,text/csv,text/plain" onchange={on_file} />
            <label for="import-csv">{ t.adm_csv_text }</label>
            <textarea id="import-csv" rows="6" spellcheck="false" value={im.csv.clone()} oninput={on_csv} />
            <div class="form-buttons">
                { button(Some("import-dry-run"), "btn btn-quiet", t.adm_check, im.busy || im.csv.trim().is_empty(), run(true)) }
                { button(Some("import-apply"), "btn", t.adm_import_run, !im.can_apply(), run(false)) }
            </div>
            { message("import-error", true, im.error.as_deref()) }
            if let Some(report) = &im.report {
                { import_result(report, t) }
            }
        </section>
    }
}

/// "Check: 3 new, 1 updated, 0 unchanged, 0 with errors."
fn summary(t: &Strings, r: &ImportReport) -> String {
    (t.adm_import_summary)(r.dry_run, r.created, r.updated, r.unchanged, r.errors)
}

fn import_result(r: &ImportReport, t: &Strings) -> Html {
    let rows = r.rows.iter().map(|row| {
        let problems = row.errors.iter().map(|(f, m)| {
            let line = if f.is_empty() {
                m.clone()
            } else {
                format!("{}: {}", t.field_label(f), (t.field_error)("validation_failed", f, m))
            };
            html! { <li data-field={f.clone()}>{ line }</li> }
        });
        html! {
            <tr class="import-row" data-action={row.action.clone()} data-row={row.row.to_string()}>
                <td>{ row.row }</td>
                <td class={classes!("import-action", row.action.clone())}>{ t.import_action(&row.action) }</td>
                <td>{ row.name.clone() }</td>
                <td>{ row.email.clone() }</td>
                <td>{ row.extension.clone() }</td>
                <td class="import-errors"><ul>{ for problems }</ul></td>
            </tr>
        }
    });
    html! {
        <>
            <p id="import-summary" class={if r.errors > 0 { "error" } else { "notice" }} role="status" data-errors={r.errors.to_string()}
                data-dry-run={r.dry_run.to_string()}>{ summary(t, r) }</p>
            <div class="table-wrap">
                <table id="import-result" class="table">
                    { thead(&[t.adm_col_row, t.adm_col_action, t.col_name, t.field_email, t.col_ext, t.adm_col_problems]) }
                    <tbody>{ for rows }</tbody>
                </table>
            </div>
        </>
    }
}

fn tokens_card(ts: &TokensState, ctx: &Ctx) -> Html {
    let t = ctx.t;
    let creator = ts.shows_creator();
    let mut cols = vec![t.col_name, t.tok_col_created];
    if creator {
        cols.push(t.tok_col_created_by);
    }
    cols.extend([t.tok_col_expires, t.tok_col_last_used, ""]);
    let rows = ts.tokens.iter().map(|tok| token_row(tok, creator, ctx));
    html! {
        <section id="api-tokens" class="card">
            <h2>{ t.tok_title }</h2>
            <p class="hint">{ t.tok_hint }</p>
            if let Some(secret) = &ts.secret {
                { secret_box(secret, ctx) }
            }
            <div class="table-wrap">
                <table id="tokens" class="table">
                    { thead(&cols) }
                    <tbody>{ for rows }</tbody>
                </table>
            </div>
            if ts.loaded && ts.tokens.is_empty() {
                <p id="tokens-empty" class="hint">{ t.tok_none }</p>
            } else if !ts.loaded {
                <p class="hint">{ t.loading }</p>
            }
            { token_form(&ts.form, ctx) }
        </section>
    }
}

/// A moment of the list, with the full one in `datetime`.
fn when(lang: Lang, rfc3339: &str) -> Html {
    html! {
        <time datetime={rfc3339.to_string()}>{ intl::date_time_text(lang, rfc3339) }</time>
    }
}

fn token_row(tok: &ApiToken, creator: bool, ctx: &Ctx) -> Html {
    let (id, t, lang) = (tok.id, ctx.t, ctx.lang);
    let on_revoke = {
        let (ctx, name) = (ctx.clone(), tok.name.clone());
        Callback::from(move |_: MouseEvent| {
            if browser::confirm(&(t.tok_confirm_revoke)(&name)) {
                ctx.revoke_token(id, name.clone());
            }
        })
    };
    let expired = tok
        .expires_at
        .as_deref()
        .and_then(intl::millis)
        .is_some_and(|ms| ms <= browser::now_ms() as i64);
    let name = tok.name.clone();
    html! {
        <tr class={classes!("token", expired.then_some("expired"))} data-id={id.to_string()} key={id}>
            <td class="token-name">{ tok.name.clone() }</td>
            <td class="token-created">{ when(lang, &tok.created_at) }</td>
            if creator {
                <td class="token-created-by">{ tok.created_by.clone().unwrap_or_else(|| "—".into()) }</td>
            }
            <td class="token-expires">
                { match &tok.expires_at {
                    Some(at) => when(lang, at),
                    None => html! { t.tok_no_expiry },
                } }
                if expired {
                    { " " }<span class="badge-expired">{ format!("({})", t.tok_expired) }</span>
                }
            </td>
            <td class="token-last-used">
                { match &tok.last_used_at {
                    Some(at) => when(lang, at),
                    None => html! { t.tok_never },
                } }
            </td>
            <td class="row-actions">
                <button type="button" class="btn btn-small btn-danger token-revoke"
                    aria-label={(t.tok_revoke_label)(&name)} onclick={on_revoke}>{ t.tok_revoke }</button>
            </td>
        </tr>
    }
}

/// The new token's secret, read-only, with Copy; shown this once.
fn secret_box(secret: &NewSecret, ctx: &Ctx) -> Html {
    let t = ctx.t;
    let on_copy = {
        let (ctx, text) = (ctx.clone(), secret.secret.clone());
        Callback::from(move |_: MouseEvent| {
            let (ctx, text) = (ctx.clone(), text.clone());
            spawn_local(async move {
                let ok = browser::copy_text(&text).await;
                ctx.token(TokenAction::Copied(ok));
            });
        })
    };
    let on_focus = Callback::from(|e: FocusEvent| {
        e.target_unchecked_into::<HtmlInputElement>().select();
    });
    let on_done = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| ctx.token(TokenAction::HideSecret))
    };
    let copied = match secret.copied {
        Some(true) => Some(t.tok_copied),
        Some(false) => Some(t.tok_copy_failed),
        None => None,
    };
    html! {
        <div id="token-new" class="token-secret-box" data-id={secret.id.to_string()}>
            <h3>{ format!("{}: {}", t.tok_new_title, secret.name) }</h3>
            <p id="token-secret-note" class="warning"><strong>{ t.tok_secret_once }</strong></p>
            <label for="token-secret">{ t.tok_secret }</label>
            <div class="secret-row">
                <input id="token-secret" type="text" readonly=true spellcheck="false" autocomplete="off"
                    value={secret.secret.clone()} aria-describedby="token-secret-note" onfocus={on_focus} />
                { button(Some("token-copy"), "btn btn-small", t.tok_copy, false, on_copy) }
            </div>
            <p id="token-copy-status" class={if secret.copied == Some(false) { "error" } else { "notice" }}
                role="status" hidden={copied.is_none()}>{ copied.unwrap_or_default() }</p>
            <div class="form-buttons">
                { button(Some("token-done"), "btn btn-quiet", t.tok_done, false, on_done) }
            </div>
        </div>
    }
}

/// A token form field with its own error line under it.
#[inline(never)]
pub(super) fn token_field(
    (id, field, label, kind): (&'static str, &'static str, &'static str, &'static str),
    value: &str,
    hint: Option<&'static str>,
    err: Option<&FormError>,
    oninput: Callback<InputEvent>,
) -> Html {
    let line = err.and_then(|e| {
        e.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, l)| l.clone())
    });
    let err_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described: Vec<&str> = [
        hint.is_some().then_some(hint_id.as_str()),
        line.is_some().then_some(err_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    // A number typed as text: a number input reads "" for "12x", which would pass as the
    // default instead of being refused.
    let numeric = kind == "number";
    let (kind, inputmode) = if numeric {
        ("text", Some("numeric"))
    } else {
        (kind, None)
    };
    html! {
        <div class="field">
            <label for={id}>{ label }</label>
            <input {id} type={kind} {inputmode} autocomplete="off" value={value.to_string()}
                aria-invalid={line.is_some().then_some("true")}
                aria-describedby={(!described.is_empty()).then(|| described.join(" "))} {oninput} />
            if let Some(hint) = hint {
                <span id={hint_id.clone()} class="hint">{ hint }</span>
            }
            if let Some(line) = line {
                <span id={err_id.clone()} class="field-error" data-field={field}>{ line }</span>
            }
        </div>
    }
}

fn token_form(f: &TokenForm, ctx: &Ctx) -> Html {
    let t = ctx.t;
    let on = |which: TokenField| {
        let ctx = ctx.clone();
        Callback::from(move |e: InputEvent| ctx.token(TokenAction::Field(which, input_value(&e))))
    };
    let on_submit = {
        let (ctx, f) = (ctx.clone(), f.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            ctx.create_token(&f);
        })
    };
    let err = f.error.as_ref();
    // The box says what the lines next to the fields do not (no connection, not allowed,
    // a field this form does not have).
    let own = |field: &str| field == "token_name" || field == "expires_in_days";
    let others: Vec<String> = err
        .map(|e| {
            e.fields
                .iter()
                .filter(|(f, _)| !own(f))
                .map(|(_, l)| l.clone())
                .collect()
        })
        .unwrap_or_default();
    let general = err.filter(|e| e.fields.is_empty() || !others.is_empty());
    html! {
        <form id="token-form" onsubmit={on_submit} novalidate=true>
            <h3>{ t.tok_create }</h3>
            <div class="form-grid">
                { token_field(("token-name", "token_name", t.tok_name, "text"), &f.name, None, err, on(TokenField::Name)) }
                { token_field(("token-days", "expires_in_days", t.tok_days, "number"), &f.days, Some(t.tok_days_hint), err, on(TokenField::Days)) }
            </div>
            <div id="token-error" class="error" role="alert" hidden={err.is_none()}>
                if let Some(e) = err {
                    <p>{ if general.is_some() { e.message.clone() } else { t.adm_fix_fields.to_string() } }</p>
                }
            </div>
            <div class="form-buttons">
                <button id="token-create" type="submit" class="btn" disabled={f.busy}>
                    { if f.busy { t.tok_creating } else { t.tok_create } }
                </button>
            </div>
        </form>
    }
}
