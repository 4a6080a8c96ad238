//! The root component: the reducer, the session (SIP credentials and the phone), and the
//! screens.
//!
//! Flow: at page load, a set-password link in the address opens that page; otherwise
//! `GET /api/v1/me` decides between the phone and the login form. While the reducer is on
//! the phone screen, the phone runs: SIP credentials are fetched
//! (`POST /api/v1/me/sip-credentials`), the phone starts with them, and a new credential is
//! fetched at 2/3 of each one's lifetime. A 401 there ends the session (login form).

use std::cell::RefCell;
use std::rc::Rc;

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::addr::{looks_like_email, refresh_delay_ms, validate_login};
use crate::components::admin::Admin;
use crate::components::call_panel::CallPanel;
use crate::components::dialer::Dialer;
use crate::components::login::{LoginForm, LoginRequest};
use crate::components::set_password::SetPassword;
use crate::components::status_bar::StatusBar;
use crate::services::phone::{Phone, PhoneConfig};
use crate::services::{api, browser};
use crate::state::{Action, AppState, Screen, View};

/// Retry after a failed credential fetch (no answer, server error).
const RETRY_MS: u32 = 15_000;

/// The phone of the current login and its credential timer. `seq` changes at every login
/// and logout, so an answer for an earlier login can tell it has been abandoned.
#[derive(Default)]
struct Session {
    seq: u64,
    phone: Option<Phone>,
    refresh: Option<Timeout>,
}

type SessionRef = Rc<RefCell<Session>>;

/// Runs `f` on the phone, if there is one.
fn with_phone(session: &SessionRef, f: impl FnOnce(&Phone)) {
    if let Some(p) = session.borrow().phone.as_ref() {
        f(p);
    }
}

/// Logged in: fetch a SIP credential and start the phone with it.
fn begin(session: &SessionRef, dispatch: &Callback<Action>) {
    let seq = {
        let mut s = session.borrow_mut();
        s.seq += 1;
        s.seq
    };
    fetch_credentials(session.clone(), dispatch.clone(), seq, false);
}

/// Logged out (or the page goes away): stop the phone and the credential timer.
fn end(session: &SessionRef) {
    let phone = {
        let mut s = session.borrow_mut();
        s.seq += 1;
        s.refresh = None;
        s.phone.take()
    };
    if let Some(p) = phone {
        p.shutdown();
    }
}

/// Fetches a SIP credential for login `seq`: starts the phone with the first, hands later
/// ones to it (registering again at once with `reregister`), and schedules the next fetch.
fn fetch_credentials(session: SessionRef, dispatch: Callback<Action>, seq: u64, reregister: bool) {
    spawn_local(async move {
        let result = api::sip_credentials().await;
        if session.borrow().seq != seq {
            return; // logged out meanwhile
        }
        match result {
            Ok(c) => {
                let delay = refresh_delay_ms(c.expires_in);
                let running = session.borrow().phone.is_some();
                if running {
                    with_phone(&session, |p| {
                        p.set_credentials(c.username, c.password, reregister)
                    });
                } else {
                    let on_auth_refused = {
                        let (session, dispatch) = (session.clone(), dispatch.clone());
                        Callback::from(move |()| {
                            fetch_credentials(session.clone(), dispatch.clone(), seq, true)
                        })
                    };
                    let cfg = PhoneConfig {
                        server: browser::default_server(),
                        extension: c.extension,
                        auth_user: c.username,
                        password: c.password,
                        domain: c.domain,
                        display_name: c.display_name,
                    };
                    let phone = Phone::start(cfg, dispatch.clone(), on_auth_refused);
                    session.borrow_mut().phone = Some(phone);
                }
                schedule(&session, &dispatch, seq, delay, false);
            }
            Err(p) if p.status == 401 => dispatch.emit(Action::SessionEnded),
            Err(p) => {
                let stopped = session.borrow().phone.is_none();
                if stopped || reregister {
                    dispatch.emit(Action::PhoneUnavailable(format!(
                        "Cannot get your phone login: {}",
                        p.message
                    )));
                }
                schedule(&session, &dispatch, seq, RETRY_MS, reregister);
            }
        }
    });
}

fn schedule(
    session: &SessionRef,
    dispatch: &Callback<Action>,
    seq: u64,
    delay_ms: u32,
    reregister: bool,
) {
    let (s, d) = (session.clone(), dispatch.clone());
    let timer = Timeout::new(delay_ms, move || fetch_credentials(s, d, seq, reregister));
    session.borrow_mut().refresh = Some(timer);
}

/// Page load without a link: is there a session?
async fn check_session(dispatch: Callback<Action>) {
    let r = api::get("/api/v1/me").await;
    if r.ok() {
        dispatch.emit(Action::SignedIn(api::me(&r.body)));
        return;
    }
    dispatch.emit(Action::ShowLogin);
    if !matches!(r.status, 401 | 403) {
        dispatch.emit(Action::LoginFailed(r.problem().message));
    }
}

/// Page load with a link: what is it for?
async fn check_link(token: String, dispatch: Callback<Action>) {
    let r = api::get(&format!("/api/v1/invitations/{}", api::enc(&token))).await;
    match r.map(api::invitation) {
        Ok(inv) => dispatch.emit(Action::LinkLoaded(inv)),
        Err(p) => dispatch.emit(Action::LinkProblem(p.link_problem().unwrap_or(p.message))),
    }
}

/// `POST /api/v1/password-resets`: the gateway's message, or why it failed.
async fn request_reset(email: String) -> String {
    let r = api::post(
        "/api/v1/password-resets",
        api::obj(&[("email", email.into())]),
    )
    .await;
    if r.ok() {
        r.message().unwrap_or_else(|| {
            "If an account uses this address, a link to choose a new password is on its way.".into()
        })
    } else {
        r.problem().message
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| AppState::new(browser::page_link()));
    let session: SessionRef = use_mut_ref(Session::default);
    let dispatch = {
        let d = state.dispatcher();
        Callback::from(move |a: Action| d.dispatch(a))
    };
    let logged_in = state.screen == Screen::Phone;

    // Page load: a set-password link, or ask whether a session exists.
    {
        let (dispatch, token) = (
            dispatch.clone(),
            state.link.as_ref().map(|l| l.token.clone()),
        );
        use_effect_with((), move |_| match token {
            Some(token) => spawn_local(check_link(token, dispatch)),
            None => spawn_local(check_session(dispatch)),
        });
    }

    // The phone runs exactly while the reducer is on the phone screen.
    {
        let (session, dispatch) = (session.clone(), dispatch.clone());
        use_effect_with(logged_in, move |&on| {
            if on {
                begin(&session, &dispatch);
            }
            move || {
                if on {
                    end(&session);
                }
            }
        });
    }

    // Closing the tab: hang up and unregister rather than leave the far end waiting.
    {
        let session = session.clone();
        use_effect_with((), move |_| {
            let listener = web_sys::window().map(|w| {
                EventListener::new(&w, "pagehide", move |e| {
                    let persisted =
                        js_sys::Reflect::get(e, &"persisted".into()).is_ok_and(|v| v.is_truthy());
                    if !persisted {
                        end(&session);
                    }
                })
            });
            move || drop(listener)
        });
    }

    let body = match state.screen {
        Screen::Loading => html! {
            <section id="loading" class="card login" aria-busy="true"><p>{ "Loading…" }</p></section>
        },
        Screen::Login => login_screen(&state, &dispatch),
        Screen::SetPassword => set_password_screen(&state, &dispatch),
        Screen::Phone => phone_screen(&state, &session, &dispatch),
    };

    let on_logout = {
        let dispatch = dispatch.clone();
        Callback::from(move |()| {
            dispatch.emit(Action::Logout);
            spawn_local(async {
                let _ = api::send("DELETE", "/api/v1/sessions/current", None).await;
            });
        })
    };
    let nav = |view: View, id: &'static str, label: &'static str| {
        let onclick = dispatch.reform(move |_: MouseEvent| Action::Navigate(view));
        let current = state.view == view;
        html! {
            <button {id} type="button" class={classes!("nav-item", current.then_some("current"))}
                aria-pressed={current.to_string()} {onclick}>{ label }</button>
        }
    };
    let screen = match state.screen {
        Screen::Loading => "loading",
        Screen::Login => "login",
        Screen::SetPassword => "set-password",
        Screen::Phone => "phone",
    };
    let wide = logged_in && state.view == View::Admin;

    html! {
        <div class={classes!("app", wide.then_some("wide"))} data-screen={screen} data-call={state.call_state()}>
            <header class="topbar">
                <div class="brand-row">
                    <h1 class="brand">{ "Centrala" }</h1>
                    if let Some(name) = state.company_name().filter(|_| logged_in) {
                        <span id="company-name" class="company">{ name.to_string() }</span>
                    }
                </div>
                <StatusBar
                    registration={state.registration.clone()}
                    extension={state.extension.clone()}
                    {logged_in}
                    {on_logout}
                />
            </header>
            if logged_in && state.is_admin() {
                <nav class="nav" aria-label="Sections">
                    { nav(View::Phone, "nav-phone", "Phone") }
                    { nav(View::Admin, "nav-admin", "Admin") }
                </nav>
            }
            <main class="content">{ body }</main>
        </div>
    }
}

fn login_screen(state: &AppState, dispatch: &Callback<Action>) -> Html {
    let on_submit = {
        let (dispatch, busy) = (dispatch.clone(), state.login_busy);
        Callback::from(move |req: LoginRequest| {
            if busy {
                return;
            }
            if let Err(msg) = validate_login(&req.email, &req.password) {
                dispatch.emit(Action::LoginFailed(msg));
                return;
            }
            dispatch.emit(Action::LoginSubmitted);
            let dispatch = dispatch.clone();
            spawn_local(async move {
                // The password lives only in this request.
                let LoginRequest { email, password } = req;
                let body = api::obj(&[("email", email.into()), ("password", password.into())]);
                let r = api::post("/api/v1/sessions", body).await;
                match r.map(api::me) {
                    Ok(me) => dispatch.emit(Action::SignedIn(me)),
                    Err(p) => dispatch.emit(Action::LoginFailed(p.message)),
                }
            });
        })
    };
    let on_forgot = dispatch.reform(Action::ForgotPassword);
    let on_reset = {
        let dispatch = dispatch.clone();
        Callback::from(move |email: String| {
            if !looks_like_email(&email) {
                dispatch.emit(Action::ResetAnswered(
                    "Enter an e-mail address like name@example.com".into(),
                ));
                return;
            }
            dispatch.emit(Action::ResetSubmitted);
            let dispatch = dispatch.clone();
            spawn_local(async move {
                dispatch.emit(Action::ResetAnswered(request_reset(email).await));
            });
        })
    };
    html! {
        <LoginForm
            error={state.login_error.clone().map(AttrValue::from)}
            busy={state.login_busy}
            reset_open={state.reset_open}
            reset_busy={state.reset_busy}
            reset_message={state.reset_message.clone().map(AttrValue::from)}
            {on_submit}
            {on_forgot}
            {on_reset}
        />
    }
}

fn set_password_screen(state: &AppState, dispatch: &Callback<Action>) -> Html {
    let Some(link) = state.link.clone() else {
        return Html::default();
    };
    let on_submit = {
        let (dispatch, token) = (dispatch.clone(), link.token.clone());
        Callback::from(move |password: String| {
            dispatch.emit(Action::SetPasswordSubmitted);
            let (dispatch, token) = (dispatch.clone(), token.clone());
            spawn_local(async move {
                let path = format!("/api/v1/invitations/{}/accept", api::enc(&token));
                let r = api::post(&path, api::obj(&[("password", password.into())])).await;
                match r.map(api::me) {
                    Ok(me) => {
                        browser::forget_link();
                        dispatch.emit(Action::SignedIn(me));
                    }
                    Err(p) => match p.link_problem() {
                        Some(words) => dispatch.emit(Action::LinkProblem(words)),
                        None => dispatch.emit(Action::SetPasswordFailed(p.display_message())),
                    },
                }
            });
        })
    };
    let on_invalid = dispatch.reform(Action::SetPasswordFailed);
    let on_request_link = {
        let dispatch = dispatch.clone();
        Callback::from(move |email: String| {
            if !looks_like_email(&email) {
                dispatch.emit(Action::LinkRequestAnswered(
                    "Enter an e-mail address like name@example.com".into(),
                ));
                return;
            }
            dispatch.emit(Action::LinkRequestSubmitted);
            let dispatch = dispatch.clone();
            spawn_local(async move {
                dispatch.emit(Action::LinkRequestAnswered(request_reset(email).await));
            });
        })
    };
    let on_login = {
        let dispatch = dispatch.clone();
        Callback::from(move |()| {
            browser::forget_link();
            dispatch.emit(Action::ShowLogin);
        })
    };
    html! {
        <SetPassword {link} {on_submit} {on_invalid} {on_request_link} {on_login} />
    }
}

fn phone_screen(state: &AppState, session: &SessionRef, dispatch: &Callback<Action>) -> Html {
    let on_call = {
        let session = session.clone();
        Callback::from(move |(number, video): (String, bool)| {
            with_phone(&session, |p| p.call(number, video))
        })
    };
    let on_answer = {
        let session = session.clone();
        Callback::from(move |video: bool| with_phone(&session, |p| p.answer(video)))
    };
    let on_hangup = {
        let session = session.clone();
        Callback::from(move |()| with_phone(&session, Phone::hangup))
    };
    let on_mute = {
        let (session, muted) = (
            session.clone(),
            state.call.as_ref().is_some_and(|c| c.muted),
        );
        Callback::from(move |()| with_phone(&session, |p| p.set_muted(!muted)))
    };
    let on_camera = {
        let (session, off) = (
            session.clone(),
            state.call.as_ref().is_some_and(|c| c.camera_off),
        );
        Callback::from(move |()| with_phone(&session, |p| p.set_camera_off(!off)))
    };
    let d = dispatch;
    html! {
        <>
            // Always here, also under the admin panel: calls keep coming in.
            <CallPanel
                call={state.call.clone()}
                end_reason={state.end_reason.clone().map(AttrValue::from)}
                {on_answer}
                {on_hangup}
                {on_mute}
                {on_camera}
            />
            if state.view == View::Admin {
                <Admin on_session_ended={d.reform(|()| Action::SessionEnded)} />
            } else if state.call.is_none() {
                <Dialer
                    value={state.dial.clone()}
                    can_call={state.can_call()}
                    on_input={d.reform(Action::DialInput)}
                    on_digit={d.reform(Action::DialDigit)}
                    on_backspace={d.reform(|()| Action::DialBackspace)}
                    {on_call}
                />
            }
        </>
    }
}
