//! The devices page: the devices registered now (make default, remove after a confirm), the
//! extension's lock, the ringing and forwarding form ([`super::routing`]), and device logins
//! for desk phones (the password shown once, with Copy, and how to set up a phone). One
//! component for one's own page and for an administrator's view of an employee, where the
//! lock can be changed too. Its state is [`crate::state::devices`].
//!
//! Ids and classes: `#devices-view[data-subject][data-locked]`, `#devices` with rows
//! `.device[data-id][data-kind][data-default][data-this]`, `.device-default`,
//! `.device-remove`, `.device-this`, `#devices-empty`, `#devices-locked`, `#admin-lock`,
//! `#devices-notice`, `#devices-error`; `#device-credentials`, `#cred-label`, `#cred-create`,
//! `#cred-new` with `#cred-username`, `#cred-password`, `#cred-domain`, `#cred-proxy`,
//! `#cred-copy`, `#cred-done`; rows `.cred[data-id]` with `.cred-revoke`; `#creds-empty`.

use gloo_timers::callback::Interval;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::admin::{button, input_value, message, thead, token_field};
use super::icons;
use super::routing::RoutingEditor;
use crate::i18n::Strings;
use crate::model::{Device, DeviceCredential, DeviceKind, Lang};
use crate::services::api::{self, Reply};
use crate::services::{browser, intl};
use crate::state::devices::{DevicesAction, DevicesState, NewLogin, device_name, login_refused};

/// How often the devices are read again while the page shows.
const REFRESH_MS: u32 = 30_000;

/// Whose devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// One's own.
    Me,
    /// An employee's, for an administrator.
    Employee { id: i64, name: String },
}

impl Subject {
    /// The API path the requests start with.
    fn base(&self) -> String {
        match self {
            Subject::Me => "/api/v1/me".into(),
            Subject::Employee { id, .. } => format!("/api/v1/employees/{id}"),
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct DevicesProps {
    pub subject: Subject,
    /// The person's extension.
    pub ext: AttrValue,
    pub lang: Lang,
    /// This browser's device id, to mark "this device" (one's own page).
    #[prop_or_default]
    pub this_device: Option<AttrValue>,
    pub on_session_ended: Callback<()>,
}

/// What the page's requests need.
#[derive(Clone)]
struct Ctx {
    d: UseReducerDispatcher<DevicesState>,
    base: String,
    t: &'static Strings,
    lang: Lang,
    on_session_ended: Callback<()>,
}

impl Ctx {
    fn dispatch(&self, a: DevicesAction) {
        self.d.dispatch(a);
    }

    fn ended(&self, r: &Reply) -> bool {
        if r.status == 401 {
            self.on_session_ended.emit(());
            true
        } else {
            false
        }
    }

    fn failed(&self, what: &str, r: &Reply) {
        let why = self.t.problem(&r.problem());
        self.dispatch(DevicesAction::Failed(format!("{what}: {why}")));
    }

    fn devices(&self) {
        let c = self.clone();
        spawn_local(async move {
            let r = api::get(&format!("{}/devices", c.base)).await;
            if c.ended(&r) {
                return;
            }
            if r.ok() {
                c.dispatch(DevicesAction::Listed(api::device_list(&r.body)));
            } else {
                c.failed(c.t.dev_load_failed, &r);
            }
        });
    }

    fn logins(&self) {
        let c = self.clone();
        spawn_local(async move {
            let r = api::get(&format!("{}/device-credentials", c.base)).await;
            if c.ended(&r) {
                return;
            }
            if r.ok() {
                let (logins, sip, max) = api::device_credentials(&r.body);
                c.dispatch(DevicesAction::Logins { logins, sip, max });
            } else {
                c.failed(c.t.cred_load_failed, &r);
            }
        });
    }

    fn make_default(&self, id: String) {
        self.dispatch(DevicesAction::DeviceBusy(id.clone()));
        let c = self.clone();
        spawn_local(async move {
            let body = api::obj(&[("id", JsValue::from_str(&id))]);
            let r = api::send("PUT", &format!("{}/default-device", c.base), Some(body)).await;
            if c.ended(&r) {
                return;
            }
            if r.ok() {
                c.dispatch(DevicesAction::Listed(api::device_list(&r.body)));
                c.dispatch(DevicesAction::Notice(c.t.dev_default_set.into()));
            } else {
                c.failed(c.t.dev_default_failed, &r);
                c.devices();
            }
        });
    }

    fn remove(&self, id: String) {
        self.dispatch(DevicesAction::DeviceBusy(id.clone()));
        let c = self.clone();
        spawn_local(async move {
            let path = format!("{}/devices/{}", c.base, api::enc(&id));
            let r = api::send("DELETE", &path, None).await;
            if c.ended(&r) {
                return;
            }
            // Gone already (404): as good as removed.
            if r.ok() || r.status == 404 {
                c.dispatch(DevicesAction::DeviceRemoved(id));
                c.dispatch(DevicesAction::Notice(c.t.dev_removed.into()));
            } else {
                c.failed(c.t.dev_remove_failed, &r);
            }
            c.devices();
        });
    }

    fn set_lock(&self, locked: bool) {
        self.dispatch(DevicesAction::LockBusy);
        let c = self.clone();
        spawn_local(async move {
            let body = api::obj(&[("locked", locked.into())]);
            let r = api::send("PUT", &format!("{}/lock", c.base), Some(body)).await;
            if c.ended(&r) {
                return;
            }
            if r.ok() {
                c.dispatch(DevicesAction::Listed(api::device_list(&r.body)));
                let words = if locked {
                    c.t.dev_lock_done
                } else {
                    c.t.dev_unlock_done
                };
                c.dispatch(DevicesAction::Notice(words.into()));
            } else {
                c.failed(c.t.dev_lock_failed, &r);
            }
        });
    }

    fn create_login(&self, st: &DevicesState) {
        let label = match st.form.validate(self.t) {
            Ok(l) => l,
            Err(e) => return self.dispatch(DevicesAction::LoginRejected(e)),
        };
        self.dispatch(DevicesAction::LoginSubmitted);
        let c = self.clone();
        spawn_local(async move {
            let body = api::obj(&[("label", JsValue::from_str(&label))]);
            let r = api::post(&format!("{}/device-credentials", c.base), body).await;
            if c.ended(&r) {
                return;
            }
            match r.map(api::created_device_credential) {
                Ok((login, password)) if !password.is_empty() => {
                    let words = (c.t.cred_created)(&login.label);
                    c.dispatch(DevicesAction::LoginCreated { login, password });
                    c.dispatch(DevicesAction::Notice(words));
                    // Where to register, should the first read have failed.
                    c.logins();
                }
                Ok(_) => c.dispatch(DevicesAction::LoginRejected(
                    crate::state::admin::FormError {
                        message: c.t.err_unreadable.into(),
                        fields: Vec::new(),
                    },
                )),
                Err(p) => c.dispatch(DevicesAction::LoginRejected(login_refused(&p, c.t))),
            }
        });
    }

    fn revoke(&self, id: i64, label: String) {
        let c = self.clone();
        spawn_local(async move {
            let path = format!("{}/device-credentials/{id}", c.base);
            let r = api::send("DELETE", &path, None).await;
            if c.ended(&r) {
                return;
            }
            if r.ok() || r.status == 404 {
                c.dispatch(DevicesAction::LoginRevoked(id));
                c.dispatch(DevicesAction::Notice((c.t.cred_revoked)(&label)));
            } else {
                c.failed(c.t.cred_revoke_failed, &r);
            }
            // Its devices are gone too.
            c.devices();
        });
    }
}

#[function_component(DevicesPanel)]
pub fn devices_panel(p: &DevicesProps) -> Html {
    let st = use_reducer(DevicesState::default);
    let ctx = Ctx {
        d: st.dispatcher(),
        base: p.subject.base(),
        t: p.lang.t(),
        lang: p.lang,
        on_session_ended: p.on_session_ended.clone(),
    };
    {
        // Read at once, then the devices again every half minute (phones come and go).
        let ctx = ctx.clone();
        use_effect_with(p.subject.clone(), move |_| {
            ctx.devices();
            ctx.logins();
            let timer = Interval::new(REFRESH_MS, move || ctx.devices());
            move || drop(timer)
        });
    }
    // A new login's password takes the focus, so that it is read out and copied at once.
    use_effect_with(st.new_login.as_ref().map(|n| n.id), |shown| {
        if shown.is_some() {
            browser::focus("cred-password");
        }
    });
    let admin = matches!(p.subject, Subject::Employee { .. });
    let locked = st.list.as_ref().is_some_and(|l| l.locked);
    let has_default = st
        .list
        .as_ref()
        .is_some_and(|l| l.devices.iter().any(|d| d.default) || l.default_device.is_some());
    html! {
        <section id="devices-view" class="view devices" data-subject={if admin { "employee" } else { "me" }}
            data-locked={locked.to_string()} aria-labelledby="devices-title">
            { devices_card(&st, &ctx, p, admin) }
            <RoutingEditor base={AttrValue::from(ctx.base.clone())} own_ext={p.ext.clone()} lang={p.lang}
                {has_default} on_session_ended={p.on_session_ended.clone()} />
            { logins_card(&st, &ctx) }
        </section>
    }
}

fn devices_card(st: &DevicesState, ctx: &Ctx, p: &DevicesProps, admin: bool) -> Html {
    let t = ctx.t;
    let title = match &p.subject {
        Subject::Me => t.dev_title.to_string(),
        Subject::Employee { name, .. } => (t.adm_devices_title)(name, &p.ext),
    };
    let body = match &st.list {
        None => html! { <p class="hint" aria-busy="true">{ t.loading }</p> },
        Some(list) if list.devices.is_empty() => {
            html! { <p id="devices-empty" class="hint">{ t.dev_none }</p> }
        }
        Some(list) => {
            let this = p.this_device.as_deref();
            let rows = list
                .devices
                .iter()
                .map(|d| device_row(d, this == Some(d.id.as_str()), st, ctx));
            html! {
                <div class="table-wrap">
                    <table id="devices" class="table">
                        { thead(&[t.dev_col_device, t.dev_col_connection, t.dev_col_since, t.dev_col_seen, ""]) }
                        <tbody>{ for rows }</tbody>
                    </table>
                </div>
            }
        }
    };
    let locked = st.list.as_ref().is_some_and(|l| l.locked);
    let on_lock = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| ctx.set_lock(!locked))
    };
    let count = st
        .list
        .as_ref()
        .filter(|l| !l.devices.is_empty())
        .map(|l| (t.dev_count)(l.devices.len() as u64, l.max_devices));
    html! {
        <section id="devices-card" class="card">
            <div class="view-head"><h2 id="devices-title">{ title }</h2></div>
            <p class="hint">{ if admin { t.dev_admin_hint } else { t.dev_hint } }</p>
            { message("devices-notice", false, st.notice.as_deref()) }
            { message("devices-error", true, st.error.as_deref()) }
            if locked {
                <p id="devices-locked" class="locked" role="status">
                    <strong>{ if admin { t.dev_locked_admin } else { t.dev_locked } }</strong>
                </p>
            }
            { body }
            if let Some(count) = count {
                <p id="devices-count" class="hint">{ count }</p>
            }
            if admin && st.list.is_some() {
                <div class="form-buttons">
                    if !locked {
                        <span class="hint">{ t.dev_unlocked_admin }</span>
                    }
                    <button id="admin-lock" type="button" class={if locked { "btn btn-quiet" } else { "btn btn-danger" }}
                        data-locked={locked.to_string()} aria-pressed={locked.to_string()}
                        disabled={st.lock_busy} onclick={on_lock}>
                        { if locked { t.dev_unlock } else { t.dev_lock } }
                    </button>
                </div>
            }
        </section>
    }
}

/// A moment of the list in the UI's language, with the full one in `datetime`.
fn moment(lang: Lang, ms: i64) -> Html {
    if ms <= 0 {
        return html! { "—" };
    }
    html! { <time datetime={intl::iso(ms)}>{ intl::date_time(lang, ms) }</time> }
}

fn device_row(d: &Device, this: bool, st: &DevicesState, ctx: &Ctx) -> Html {
    let t = ctx.t;
    let name = device_name(t, d.kind, d.user_agent.as_deref());
    let busy = st.busy_device.as_deref() == Some(d.id.as_str());
    let on_default = {
        let (ctx, id) = (ctx.clone(), d.id.clone());
        Callback::from(move |_: MouseEvent| ctx.make_default(id.clone()))
    };
    let on_remove = {
        let (ctx, id, name) = (ctx.clone(), d.id.clone(), name.clone());
        Callback::from(move |_: MouseEvent| {
            let question = if this {
                t.dev_confirm_remove_this.to_string()
            } else {
                (t.dev_confirm_remove)(&name)
            };
            if browser::confirm(&question) {
                ctx.remove(id.clone());
            }
        })
    };
    let (icon, kind_words) = match d.kind {
        DeviceKind::Browser => (icons::browser(), t.dev_kind_browser),
        DeviceKind::Phone => (icons::desk_phone(), t.dev_kind_phone),
    };
    html! {
        <tr class={classes!("device", this.then_some("this-device"), d.default.then_some("default"))}
            data-id={d.id.clone()} data-kind={d.kind.as_str()} data-default={d.default.to_string()}
            data-this={this.to_string()} key={d.id.clone()}>
            <th scope="row" class="device-name h-peer">
                <span class="device-icon" title={kind_words}>{ icon }</span>
                <span class="visually-hidden">{ format!("{kind_words}: ") }</span>
                <span class="name">{ name.clone() }</span>
                if this {
                    { " " }<span class="invite-state device-this" data-state="invited">{ t.dev_this }</span>
                }
                if d.default {
                    { " " }<span class="invite-state device-is-default" data-state="active">{ t.dev_default }</span>
                }
                if let Some(login) = &d.credential {
                    <span class="org hint device-login">{ (t.dev_login)(login) }</span>
                }
            </th>
            <td class="device-transport">
                { t.transport(&d.transport) }
                if !d.source.is_empty() {
                    <span class="org hint device-source">{ format!(" · {}", d.source) }</span>
                }
            </td>
            <td class="device-since">{ moment(ctx.lang, d.registered_ms) }</td>
            <td class="device-seen">{ moment(ctx.lang, d.last_seen_ms) }</td>
            <td class="row-actions">
                if !d.default {
                    <button type="button" class="btn btn-small btn-quiet device-default" disabled={busy}
                        aria-label={(t.dev_default_label)(&name)} onclick={on_default}>{ t.dev_make_default }</button>
                }
                <button type="button" class="btn btn-small btn-danger device-remove" disabled={busy}
                    aria-label={(t.dev_remove_label)(&name)} onclick={on_remove}>{ t.remove }</button>
            </td>
        </tr>
    }
}

fn logins_card(st: &DevicesState, ctx: &Ctx) -> Html {
    let t = ctx.t;
    let creator = st.shows_creator();
    let mut cols = vec![t.cred_col_label, t.cred_col_username, t.tok_col_created];
    if creator {
        cols.push(t.tok_col_created_by);
    }
    cols.push("");
    let rows = st.logins.iter().map(|l| login_row(l, creator, ctx));
    html! {
        <section id="device-credentials" class="card">
            <h2>{ t.cred_title }</h2>
            <p class="hint">{ t.cred_hint }</p>
            if let Some(n) = &st.new_login {
                { new_login_box(n, st, ctx) }
            }
            if !st.logins.is_empty() {
                <div class="table-wrap">
                    <table id="creds" class="table">
                        { thead(&cols) }
                        <tbody>{ for rows }</tbody>
                    </table>
                </div>
            } else if st.logins_loaded {
                <p id="creds-empty" class="hint">{ t.cred_none }</p>
            } else {
                <p class="hint">{ t.loading }</p>
            }
            { login_form(st, ctx) }
        </section>
    }
}

fn login_row(l: &DeviceCredential, creator: bool, ctx: &Ctx) -> Html {
    let (id, t) = (l.id, ctx.t);
    let on_revoke = {
        let (ctx, label) = (ctx.clone(), l.label.clone());
        Callback::from(move |_: MouseEvent| {
            if browser::confirm(&(t.cred_confirm_revoke)(&label)) {
                ctx.revoke(id, label.clone());
            }
        })
    };
    html! {
        <tr class="cred" data-id={id.to_string()} data-username={l.username.clone()} key={id}>
            <td class="cred-label">{ l.label.clone() }</td>
            <td class="cred-username"><code>{ l.username.clone() }</code></td>
            <td class="cred-created">{ moment(ctx.lang, l.created_ms) }</td>
            if creator {
                <td class="cred-created-by">{ l.created_by.clone().unwrap_or_else(|| "—".into()) }</td>
            }
            <td class="row-actions">
                <button type="button" class="btn btn-small btn-danger cred-revoke"
                    aria-label={(t.cred_revoke_label)(&l.label)} onclick={on_revoke}>{ t.tok_revoke }</button>
            </td>
        </tr>
    }
}

/// A read-only value with its label, selected on focus.
fn read_only(id: &'static str, label: &'static str, value: &str) -> Html {
    let on_focus = Callback::from(|e: FocusEvent| {
        e.target_unchecked_into::<HtmlInputElement>().select();
    });
    html! {
        <div class="field">
            <label for={id}>{ label }</label>
            <input {id} type="text" readonly=true spellcheck="false" autocomplete="off"
                value={value.to_string()} onfocus={on_focus} />
        </div>
    }
}

/// The new login: user name, password (this once, with Copy), where to register, and how
/// to set up a desk phone.
fn new_login_box(n: &NewLogin, st: &DevicesState, ctx: &Ctx) -> Html {
    let t = ctx.t;
    let on_copy = {
        let (ctx, text) = (ctx.clone(), n.password.clone());
        Callback::from(move |_: MouseEvent| {
            let (ctx, text) = (ctx.clone(), text.clone());
            spawn_local(async move {
                let ok = browser::copy_text(&text).await;
                ctx.dispatch(DevicesAction::Copied(ok));
            });
        })
    };
    let on_focus = Callback::from(|e: FocusEvent| {
        e.target_unchecked_into::<HtmlInputElement>().select();
    });
    let on_done = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| ctx.dispatch(DevicesAction::HideNewLogin))
    };
    let copied = match n.copied {
        Some(true) => Some(t.tok_copied),
        Some(false) => Some(t.cred_copy_failed),
        None => None,
    };
    let sip = st.sip.clone().unwrap_or_default();
    let transport = if sip.transports.is_empty() {
        "UDP".to_string()
    } else {
        sip.transports
            .iter()
            .map(|t| t.to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    html! {
        <div id="cred-new" class="token-secret-box" data-id={n.id.to_string()}>
            <h3>{ format!("{}: {}", t.cred_new_title, n.label) }</h3>
            <p id="cred-once" class="warning"><strong>{ t.cred_once }</strong></p>
            <div class="form-grid">
                { read_only("cred-username", t.cred_username, &n.username) }
                <div class="field">
                    <label for="cred-password">{ t.password }</label>
                    <div class="secret-row">
                        <input id="cred-password" type="text" readonly=true spellcheck="false" autocomplete="off"
                            value={n.password.clone()} aria-describedby="cred-once" onfocus={on_focus} />
                        { button(Some("cred-copy"), "btn btn-small", t.tok_copy, false, on_copy) }
                    </div>
                </div>
                { read_only("cred-domain", t.cred_domain, &sip.domain) }
                if !sip.proxy.is_empty() {
                    { read_only("cred-proxy", t.cred_proxy, &sip.proxy) }
                    { read_only("cred-transport", t.cred_transports, &transport) }
                }
                if let Some(tls) = &sip.tls_proxy {
                    { read_only("cred-tls-proxy", t.cred_tls_proxy, tls) }
                }
            </div>
            <p id="cred-copy-status" class={if n.copied == Some(false) { "error" } else { "notice" }}
                role="status" hidden={copied.is_none()}>{ copied.unwrap_or_default() }</p>
            <h3>{ t.cred_setup_title }</h3>
            <ol id="cred-setup" class="hint">
                <li>{ t.cred_step_open }</li>
                <li>{ t.cred_step_login }</li>
                <li>{ match (sip.proxy.is_empty(), &sip.tls_proxy) {
                    (true, Some(tls)) => (t.cred_step_server)(&sip.domain, tls, "TLS"),
                    _ => (t.cred_step_server)(&sip.domain, &sip.proxy, &transport),
                } }</li>
                <li>{ t.cred_step_done }</li>
            </ol>
            <div class="form-buttons">
                { button(Some("cred-done"), "btn btn-quiet", t.tok_done, false, on_done) }
            </div>
        </div>
    }
}

fn login_form(st: &DevicesState, ctx: &Ctx) -> Html {
    let t = ctx.t;
    let f = &st.form;
    let on_label = {
        let ctx = ctx.clone();
        Callback::from(move |e: InputEvent| ctx.dispatch(DevicesAction::Label(input_value(&e))))
    };
    let on_submit = {
        let (ctx, st) = (ctx.clone(), st.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if !st.form.busy {
                ctx.create_login(&st);
            }
        })
    };
    let err = f.error.as_ref();
    let general = err.filter(|e| e.fields.is_empty() || e.fields.iter().any(|(f, _)| f != "label"));
    let full = !st.can_add_login();
    html! {
        <form id="cred-form" onsubmit={on_submit} novalidate=true>
            <h3>{ t.cred_create }</h3>
            <div class="form-grid">
                { token_field(("cred-label", "label", t.cred_label, "text"), &f.label, None, err, on_label) }
            </div>
            <div id="cred-error" class="error" role="alert" hidden={err.is_none()}>
                if let Some(e) = err {
                    <p>{ if general.is_some() { e.message.clone() } else { t.adm_fix_fields.to_string() } }</p>
                }
            </div>
            if full {
                <p id="cred-full" class="hint">{ t.cred_full }</p>
            }
            <div class="form-buttons">
                <button id="cred-create" type="submit" class="btn" disabled={f.busy || full}>
                    { if f.busy { t.tok_creating } else { t.cred_create } }
                </button>
            </div>
        </form>
    }
}
