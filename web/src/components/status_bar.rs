//! The status line, always visible: registration state and "Log out".

use yew::prelude::*;

use crate::model::Lang;
use crate::state::Registration;

#[derive(Properties, PartialEq)]
pub struct StatusBarProps {
    pub registration: Registration,
    pub extension: AttrValue,
    pub logged_in: bool,
    pub lang: Lang,
    pub on_logout: Callback<()>,
}

#[function_component(StatusBar)]
pub fn status_bar(p: &StatusBarProps) -> Html {
    let t = p.lang.t();
    let state = p.registration.data_state();
    let onclick = p.on_logout.reform(|_: MouseEvent| ());
    html! {
        <div class="status-bar">
            <span id="reg-status" class={classes!("reg-status", state)} data-state={state} role="status" aria-live="polite">
                <span class="dot" aria-hidden="true"></span>
                { p.registration.describe(t, &p.extension) }
            </span>
            if p.logged_in {
                <button id="logout" type="button" class="btn btn-quiet" {onclick}>{ t.logout }</button>
            }
        </div>
    }
}
