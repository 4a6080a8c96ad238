//! The login form: extension, password and (under "Advanced") the server address.

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// What the user typed. The password goes straight to the phone service, never to the state.
#[derive(Clone, PartialEq)]
pub struct LoginRequest {
    pub extension: String,
    pub password: String,
    pub server: String,
}

#[derive(Properties, PartialEq)]
pub struct LoginProps {
    pub extension: AttrValue,
    pub server: AttrValue,
    pub error: Option<AttrValue>,
    pub on_submit: Callback<LoginRequest>,
}

fn input_value(e: &InputEvent) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
}

#[function_component(LoginForm)]
pub fn login_form(p: &LoginProps) -> Html {
    let extension = use_state(|| p.extension.to_string());
    let password = use_state(String::new);
    let server = use_state(|| p.server.to_string());

    let onsubmit = {
        let (extension, password, server, on_submit) = (
            extension.clone(),
            password.clone(),
            server.clone(),
            p.on_submit.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            on_submit.emit(LoginRequest {
                extension: extension.trim().to_string(),
                password: (*password).clone(),
                server: server.trim().to_string(),
            });
        })
    };
    let set = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |e: InputEvent| h.set(input_value(&e)))
    };

    html! {
        <form class="card login" {onsubmit} novalidate=true>
            <h2>{ "Sign in to your phone" }</h2>
            <label for="login-ext">{ "Extension" }</label>
            <input id="login-ext" type="text" autocomplete="username" autocapitalize="off"
                placeholder="e.g. 101" value={(*extension).clone()} oninput={set(&extension)} />
            <label for="login-password">{ "Password" }</label>
            <input id="login-password" type="password" autocomplete="current-password"
                value={(*password).clone()} oninput={set(&password)} />
            <details class="advanced">
                <summary>{ "Advanced" }</summary>
                <label for="login-server">{ "Server" }</label>
                <input id="login-server" type="url" spellcheck="false"
                    value={(*server).clone()} oninput={set(&server)} />
            </details>
            <p id="login-error" class="error" role="alert" hidden={p.error.is_none()}>
                { p.error.clone().unwrap_or_default() }
            </p>
            <button id="login-submit" type="submit" class="btn btn-primary">{ "Log in" }</button>
        </form>
    }
}
