//! The login form (e-mail and password) and "Forgot your password?".
//!
//! The password is read from its field at submit, handed to the login request and cleared
//! from the field: no state of ours ever holds it.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::model::Lang;

/// What the user typed. The password goes straight into the login request.
#[derive(Clone, PartialEq)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Properties, PartialEq)]
pub struct LoginProps {
    /// Why the form shows ("This device was removed from your account").
    #[prop_or_default]
    pub notice: Option<AttrValue>,
    pub error: Option<AttrValue>,
    pub lang: Lang,
    /// The login request is under way.
    pub busy: bool,
    pub reset_open: bool,
    pub reset_busy: bool,
    pub reset_message: Option<AttrValue>,
    pub on_submit: Callback<LoginRequest>,
    /// Open (`true`) or close the reset form.
    pub on_forgot: Callback<bool>,
    /// Send a reset link to this address.
    pub on_reset: Callback<String>,
}

fn value(r: &NodeRef) -> String {
    r.cast::<HtmlInputElement>()
        .map(|i| i.value())
        .unwrap_or_default()
}

#[function_component(LoginForm)]
pub fn login_form(p: &LoginProps) -> Html {
    let t = p.lang.t();
    let email = use_node_ref();
    let password = use_node_ref();
    let reset_email = use_node_ref();

    let onsubmit = {
        let (email, password, on_submit) = (email.clone(), password.clone(), p.on_submit.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let req = LoginRequest {
                email: value(&email).trim().to_string(),
                password: value(&password),
            };
            if let Some(i) = password.cast::<HtmlInputElement>() {
                i.set_value("");
            }
            on_submit.emit(req);
        })
    };
    let on_forgot = p.on_forgot.reform({
        let open = !p.reset_open;
        move |_: MouseEvent| open
    });
    // The reset form starts with the address typed for logging in.
    {
        let (email, reset_email) = (email.clone(), reset_email.clone());
        use_effect_with(p.reset_open, move |open| {
            let typed = value(&email);
            if let Some(i) = reset_email.cast::<HtmlInputElement>()
                && *open
                && i.value().is_empty()
            {
                i.set_value(typed.trim());
            }
        });
    }
    let on_reset = {
        let (reset_email, cb) = (reset_email.clone(), p.on_reset.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            cb.emit(value(&reset_email).trim().to_string());
        })
    };

    html! {
        <>
            <form id="login-form" class="card login" {onsubmit} novalidate=true>
                <h2>{ t.login_title }</h2>
                if let Some(notice) = &p.notice {
                    <p id="login-notice" class="warning" role="status">{ notice.clone() }</p>
                }
                <label for="login-email">{ t.email }</label>
                <input id="login-email" type="email" autocomplete="username" autocapitalize="off"
                    spellcheck="false" placeholder={t.email_placeholder} ref={email} />
                <label for="login-password">{ t.password }</label>
                <input id="login-password" type="password" autocomplete="current-password" ref={password} />
                <p id="login-error" class="error" role="alert" hidden={p.error.is_none()}>
                    { p.error.clone().unwrap_or_default() }
                </p>
                <button id="login-submit" type="submit" class="btn btn-primary" disabled={p.busy}>
                    { if p.busy { t.logging_in } else { t.log_in } }
                </button>
                <button id="forgot-password" type="button" class="btn-link" aria-expanded={p.reset_open.to_string()}
                    aria-controls="reset-form" onclick={on_forgot}>
                    { t.forgot_password }
                </button>
            </form>
            if p.reset_open {
                <form id="reset-form" class="card login" onsubmit={on_reset} novalidate=true>
                    <h2>{ t.reset_title }</h2>
                    <p class="hint">{ t.reset_hint }</p>
                    <label for="reset-email">{ t.email }</label>
                    <input id="reset-email" type="email" autocomplete="username" autocapitalize="off"
                        spellcheck="false" ref={reset_email} />
                    <p id="reset-message" class="notice" role="status" hidden={p.reset_message.is_none()}>
                        { p.reset_message.clone().unwrap_or_default() }
                    </p>
                    <button id="reset-submit" type="submit" class="btn btn-primary" disabled={p.reset_busy}>
                        { if p.reset_busy { t.sending } else { t.send_reset } }
                    </button>
                </form>
            }
        </>
    }
}
