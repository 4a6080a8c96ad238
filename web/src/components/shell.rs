//! The logged-in frame: the side navigation (a bottom bar on a phone), one's own status
//! picker, and the Settings screen.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{Cx, icons};
use crate::model::{Lang, MyStatus};
use crate::state::{Action, AdminSection, AppState, View};

/// The side navigation. Ids: `nav-phone` (contacts, the phone's main screen),
/// `nav-history`, `nav-dialpad`, `nav-devices`, `nav-settings`, `nav-admin` (+ `-blocks`,
/// `-import`, `-tokens`).
pub fn nav(st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let item = |view: View,
                id: &'static str,
                icon: Html,
                label: &'static str,
                badge: Option<(String, String)>| {
        let current = st.view == view
            || (matches!(view, View::Admin(_))
                && matches!(st.view, View::Admin(_))
                && id == "nav-admin");
        let exact = st.view == view;
        html! {
            <li>
                <button {id} type="button" class={classes!("nav-item", current.then_some("current"), exact.then_some("exact"))}
                    aria-current={exact.then_some("page")} data-view={view.data_view()}
                    onclick={cx.dispatch.reform(move |_: MouseEvent| Action::Navigate(view))}>
                    <span class="nav-icon" aria-hidden="true">{ icon }</span>
                    <span class="nav-label">{ label }</span>
                    if let Some((n, words)) = badge {
                        <span id={if id == "nav-history" { "missed-badge" } else { "voicemail-badge" }}
                            class="badge" aria-label={words.clone()} title={words}>{ n }</span>
                    }
                </button>
            </li>
        }
    };
    let badge = st
        .history
        .badge()
        .map(|b| (b, (t.missed_badge)(st.history.missed_unseen)));
    let admin_open = matches!(st.view, View::Admin(_));
    html! {
        <nav class="sidenav" aria-label={t.sections}>
            <ul>
                { item(View::Contacts, "nav-phone", icons::contacts(), t.nav_contacts, None) }
                { item(View::History, "nav-history", icons::history(), t.nav_history, badge) }
                { item(View::Voicemail, "nav-voicemail", icons::history(), t.nav_voicemail,
                    (st.voicemail_new > 0).then(|| (st.voicemail_new.to_string(), format!("{} {}", st.voicemail_new, t.vm_badge_label)))) }
                { item(View::Dialpad, "nav-dialpad", icons::dialpad(), t.nav_dialpad, None) }
                { item(View::Devices, "nav-devices", icons::desk_phone(), t.nav_devices, None) }
                { item(View::Settings, "nav-settings", icons::settings(), t.nav_settings, None) }
                if st.is_admin() {
                    { item(View::Admin(AdminSection::Employees), "nav-admin", icons::admin(), t.nav_admin, None) }
                    if admin_open {
                        <li class="subnav"><ul aria-label={t.nav_admin}>
                            { item(View::Admin(AdminSection::Employees), "nav-admin-employees", html! { "·" }, t.admin_employees, None) }
                            { item(View::Admin(AdminSection::NumberBlocks), "nav-admin-blocks", html! { "·" }, t.admin_blocks, None) }
                            { item(View::Admin(AdminSection::Import), "nav-admin-import", html! { "·" }, t.admin_import, None) }
                            { item(View::Admin(AdminSection::ApiTokens), "nav-admin-tokens", html! { "·" }, t.admin_tokens, None) }
                            { item(View::Admin(AdminSection::Costs), "nav-admin-costs", html! { "·" }, t.admin_costs, None) }
                        </ul></li>
                    }
                }
            </ul>
        </nav>
    }
}

/// Who is logged in and the status picker, for the top bar.
pub fn me_and_status(st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let Some(me) = &st.me else {
        return Html::default();
    };
    let onchange = cx.set_status.reform(|e: Event| {
        let v = e.target_unchecked_into::<HtmlSelectElement>().value();
        MyStatus::parse(&v).unwrap_or_default()
    });
    let p = st.my_status.presence();
    html! {
        <div class="me">
            <span id="me-name" class="me-name">{ me.employee.name.clone() }
                <span class="me-ext">{ format!(" · {}", me.employee.extension) }</span></span>
            <span class={classes!("status-picker", "presence", p.colour().as_str())} data-presence={p.as_str()}>
                <span class="dot" aria-hidden="true"></span>
                <label for="my-status" class="visually-hidden">{ t.my_status }</label>
                <select id="my-status" {onchange}>
                    { for MyStatus::ALL.iter().map(|s| html! {
                        <option value={s.as_str()} selected={*s == st.my_status}>{ t.my_status_name(*s) }</option>
                    }) }
                </select>
            </span>
            if let Some(e) = &st.status_error {
                <span id="status-error" class="error" role="alert">{ e.clone() }</span>
            }
        </div>
    }
}

pub fn settings(st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let onchange = cx.set_lang.reform(|e: Event| {
        let v = e.target_unchecked_into::<HtmlSelectElement>().value();
        Lang::parse(&v).unwrap_or_default()
    });
    let me = st.me.as_ref();
    let field = |label: &'static str, value: String| {
        html! { <><dt>{ label }</dt><dd>{ if value.is_empty() { "—".to_string() } else { value } }</dd></> }
    };
    html! {
        <section id="settings-view" class="card view" aria-labelledby="settings-title">
            <div class="view-head"><h2 id="settings-title">{ t.settings_title }</h2></div>
            <div class="field narrow">
                <label for="language">{ t.language }</label>
                <select id="language" {onchange}>
                    { for Lang::ALL.iter().map(|l| html! {
                        <option value={l.tag()} lang={l.tag()} selected={*l == st.lang}>{ l.name() }</option>
                    }) }
                </select>
            </div>
            <div class="field narrow checkbox">
                <label for="call-waiting">
                    <input id="call-waiting" type="checkbox" checked={st.call_waiting}
                        onchange={cx.set_call_waiting.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().checked())} />
                    { " " }{ t.call_waiting_setting }
                </label>
                <p class="hint">{ t.call_waiting_hint }</p>
            </div>
            if st.me.is_some() {
                <super::calling::CallingCard lang={st.lang} scope={super::calling::Scope::Me}
                    on_session_ended={cx.dispatch.reform(|_| crate::state::Action::SessionEnded)} />
            }
            { super::call_settings::devices(st, cx) }
            { super::call_settings::notifications(st, cx) }
            <p id="settings-notice" class="notice" role="status" hidden={st.settings_notice.is_none()}>
                { st.settings_notice.clone().unwrap_or_default() }
            </p>
            if let Some(me) = me {
                <h3>{ t.account }</h3>
                <dl class="account">
                    { field(t.field_name, me.employee.name.clone()) }
                    { field(t.field_email, me.employee.email.clone()) }
                    { field(t.field_extension, me.employee.extension.clone()) }
                    { field(t.field_number, me.employee.number.clone().unwrap_or_default()) }
                    { field(t.field_company, me.company.name.clone()) }
                </dl>
            }
        </section>
    }
}
