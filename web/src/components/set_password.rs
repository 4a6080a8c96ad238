//! The page of an invitation or password-reset link: choose a password, or, when the link
//! cannot be used, ask for a new one.
//!
//! Like the login form, the passwords are read from their fields at submit and cleared.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::addr::{MIN_PASSWORD_CHARS, check_new_password};
use crate::model::Lang;
use crate::state::LinkPage;

#[derive(Properties, PartialEq)]
pub struct SetPasswordProps {
    pub link: LinkPage,
    pub lang: Lang,
    /// The new password (already checked here).
    pub on_submit: Callback<String>,
    /// The passwords do not pass the checks; the text says why.
    pub on_invalid: Callback<String>,
    /// Ask for a new link for this address.
    pub on_request_link: Callback<String>,
    /// Leave for the login form.
    pub on_login: Callback<()>,
}

fn value(r: &NodeRef) -> String {
    r.cast::<HtmlInputElement>()
        .map(|i| i.value())
        .unwrap_or_default()
}

fn clear(r: &NodeRef) {
    if let Some(i) = r.cast::<HtmlInputElement>() {
        i.set_value("");
    }
}

#[function_component(SetPassword)]
pub fn set_password(p: &SetPasswordProps) -> Html {
    let password = use_node_ref();
    let confirm = use_node_ref();
    let request_email = use_node_ref();
    let l = &p.link;
    let t = p.lang.t();

    if let Some(problem) = &l.problem {
        let onsubmit = {
            let (r, cb) = (request_email.clone(), p.on_request_link.clone());
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                cb.emit(value(&r).trim().to_string());
            })
        };
        return html! {
            <section id="link-problem" class="card login" aria-labelledby="link-problem-title">
                <h2 id="link-problem-title">{ t.link_problem_title }</h2>
                <p id="link-problem-text" class="error" role="alert">{ problem.clone() }</p>
                <form id="link-request-form" class="login" {onsubmit} novalidate=true>
                    <p class="hint">{ t.link_request_hint }</p>
                    <label for="link-request-email">{ t.email }</label>
                    <input id="link-request-email" type="email" autocomplete="username" autocapitalize="off"
                        spellcheck="false" ref={request_email} />
                    <p id="link-request-message" class="notice" role="status" hidden={l.request_message.is_none()}>
                        { l.request_message.clone().unwrap_or_default() }
                    </p>
                    <button id="link-request-submit" type="submit" class="btn btn-primary" disabled={l.request_busy}>
                        { if l.request_busy { t.sending } else { t.link_request_submit } }
                    </button>
                </form>
                <button id="back-to-login" type="button" class="btn-link"
                    onclick={p.on_login.reform(|_: MouseEvent| ())}>{ t.back_to_login }</button>
            </section>
        };
    }

    let Some(inv) = &l.invitation else {
        return html! {
            <section id="setpw-loading" class="card login" aria-busy="true">
                <p>{ t.link_checking }</p>
            </section>
        };
    };

    let onsubmit = {
        let (password, confirm) = (password.clone(), confirm.clone());
        let (on_submit, on_invalid) = (p.on_submit.clone(), p.on_invalid.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let pw = value(&password);
            match check_new_password(&pw, &value(&confirm), t) {
                Ok(()) => {
                    // Sent once, then gone from the page.
                    clear(&password);
                    clear(&confirm);
                    on_submit.emit(pw);
                }
                Err(msg) => on_invalid.emit(msg),
            }
        })
    };
    let title = (t.setpw_title)(&inv.name, &inv.email);
    html! {
        <form id="setpw-form" class="card login" {onsubmit} novalidate=true>
            <h2 id="setpw-title">{ title }</h2>
            // For password managers: the account the new password belongs to.
            <input type="email" class="visually-hidden" autocomplete="username" value={inv.email.clone()}
                readonly=true tabindex="-1" aria-hidden="true" />
            <label for="setpw-password">{ t.new_password }</label>
            <input id="setpw-password" type="password" autocomplete="new-password"
                minlength={MIN_PASSWORD_CHARS.to_string()} aria-describedby="setpw-hint" ref={password} />
            <p id="setpw-hint" class="hint">{ (t.setpw_hint)(MIN_PASSWORD_CHARS) }</p>
            <label for="setpw-confirm">{ t.repeat_password }</label>
            <input id="setpw-confirm" type="password" autocomplete="new-password" ref={confirm} />
            <p id="setpw-error" class="error" role="alert" hidden={l.error.is_none()}>
                { l.error.clone().unwrap_or_default() }
            </p>
            <button id="setpw-submit" type="submit" class="btn btn-primary" disabled={l.busy}>
                { if l.busy { t.saving } else { t.set_password_submit } }
            </button>
        </form>
    }
}
