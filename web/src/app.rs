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
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{JsFuture, spawn_local};
use yew::prelude::*;

use crate::addr::{looks_like_email, refresh_delay_ms, validate_login};
use crate::components::admin::Admin;
use crate::components::call_panel::CallPanel;
use crate::components::costs::MyCostsPanel;
use crate::components::devices::{DevicesPanel, Subject};
use crate::components::dialer::Dialer;
use crate::components::login::{LoginForm, LoginRequest};
use crate::components::set_password::SetPassword;
use crate::components::status_bar::StatusBar;
use crate::components::transfer::XferCmd;
use crate::components::voicemail::VoicemailPanel;
use crate::components::{Cx, contacts, history, shell};
use crate::i18n::Strings;
use crate::model::{Lang, MyStatus, PhoneNotice};
use crate::state::transfer::TransferAction;
use centrala_sip::ua::CallHandle;

use crate::services::phone::{Phone, PhoneConfig};
use crate::services::{api, browser};
use crate::state::contacts::RowKey;
use crate::state::phonebook::{ContactInput, FormProblem, is_vcard};
use crate::state::{Action, AppState, Screen, View};

mod call_extras;

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
                    let on_removed = {
                        let dispatch = dispatch.clone();
                        Callback::from(move |()| {
                            // A new login is a new device: this one is refused for a while.
                            browser::forget_instance_id();
                            crate::services::media::forget_ice();
                            dispatch.emit(Action::DeviceRemoved);
                            spawn_local(async {
                                let _ = api::send("DELETE", "/api/v1/sessions/current", None).await;
                            });
                        })
                    };
                    let phone = Phone::start(cfg, dispatch.clone(), on_auth_refused, on_removed);
                    session.borrow_mut().phone = Some(phone);
                }
                schedule(&session, &dispatch, seq, delay, false);
            }
            Err(p) if p.status == 401 => dispatch.emit(Action::SessionEnded),
            Err(p) => {
                let stopped = session.borrow().phone.is_none();
                if stopped || reregister {
                    dispatch.emit(Action::PhoneUnavailable(PhoneNotice::NoCredentials(p)));
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
async fn check_session(dispatch: Callback<Action>, t: &'static Strings) {
    let r = api::get("/api/v1/me").await;
    if r.ok() {
        dispatch.emit(Action::SignedIn(api::me(&r.body)));
        return;
    }
    dispatch.emit(Action::ShowLogin);
    if !matches!(r.status, 401 | 403) {
        dispatch.emit(Action::LoginFailed(t.problem(&r.problem())));
    }
}

/// Page load with a link: what is it for?
async fn check_link(token: String, dispatch: Callback<Action>, t: &'static Strings) {
    let r = api::get(&format!("/api/v1/invitations/{}", api::enc(&token))).await;
    match r.map(api::invitation) {
        Ok(inv) => dispatch.emit(Action::LinkLoaded(inv)),
        Err(p) => dispatch.emit(Action::LinkProblem(match t.link_problem(&p) {
            Some(words) => words.into(),
            None => t.problem(&p),
        })),
    }
}

/// `POST /api/v1/password-resets`: that a link is on its way, or why it failed.
async fn request_reset(email: String, t: &'static Strings) -> String {
    let r = api::post(
        "/api/v1/password-resets",
        api::obj(&[("email", email.into())]),
    )
    .await;
    if r.ok() {
        t.reset_sent.into()
    } else {
        t.problem(&r.problem())
    }
}

/// Whether the gateway ended the session (and says so to the reducer).
fn session_over(r: &api::Reply, dispatch: &Callback<Action>) -> bool {
    if r.status == 401 {
        dispatch.emit(Action::SessionEnded);
        true
    } else {
        false
    }
}

/// The directory, the phone book and the missed-call count, after login.
async fn load_contacts(dispatch: Callback<Action>, t: &'static Strings) {
    let r = api::get("/api/v1/directory").await;
    if session_over(&r, &dispatch) {
        return;
    }
    match r.map(|v| api::list(v, api::directory_entry).0) {
        Ok(d) => dispatch.emit(Action::DirectoryLoaded(d)),
        Err(p) => dispatch.emit(Action::ContactsFailed(t.problem(&p))),
    }
    let r = api::get("/api/v1/contacts").await;
    match r.map(|v| api::list(v, api::contact).0) {
        Ok(b) => dispatch.emit(Action::BookLoaded(b)),
        // No phone book (yet): the directory alone.
        Err(_) => dispatch.emit(Action::BookLoaded(Vec::new())),
    }
    load_missed(dispatch).await;
}

/// How long after a call ends the missed-call count is read again.
const MISSED_RECHECK_MS: u32 = 1_500;

async fn load_missed(dispatch: Callback<Action>) {
    let r = api::get("/api/v1/history/missed").await;
    if r.ok() {
        dispatch.emit(Action::MissedCount(api::missed_unseen(&r.body)));
    }
    // The voicemail badge follows with it (a call may have left a message).
    let r = api::get("/api/v1/me/voicemail").await;
    if r.ok() {
        let new = crate::state::voicemail::messages_of(&r.body)
            .iter()
            .filter(|m| !m.heard)
            .count();
        dispatch.emit(Action::VoicemailCount(new as u64));
    }
}

/// The newest page of the history (or the page before `before`), then marks missed calls
/// seen when the history is on screen.
async fn load_history(
    dispatch: Callback<Action>,
    t: &'static Strings,
    before: Option<i64>,
    seen: bool,
) {
    dispatch.emit(Action::HistoryLoading);
    let path = match before {
        Some(ms) => format!("/api/v1/history?before={ms}&limit=50"),
        None => "/api/v1/history?limit=50".to_string(),
    };
    let r = api::get(&path).await;
    if session_over(&r, &dispatch) {
        return;
    }
    match r.map(api::history_page) {
        Ok((items, missed)) => dispatch.emit(Action::HistoryLoaded {
            items,
            missed_unseen: if seen { None } else { missed },
            append: before.is_some(),
        }),
        Err(p) => dispatch.emit(Action::HistoryFailed(t.problem(&p))),
    }
    if seen {
        let r = api::send("POST", "/api/v1/history/seen", None).await;
        if r.ok() {
            dispatch.emit(Action::HistorySeen);
        }
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| {
        call_extras::initial(
            AppState::new(browser::page_link())
                .with_lang(browser::language())
                .with_call_waiting(browser::call_waiting()),
        )
    });
    let session: SessionRef = use_mut_ref(Session::default);
    let dispatch = {
        let d = state.dispatcher();
        Callback::from(move |a: Action| d.dispatch(a))
    };
    let logged_in = state.screen == Screen::Phone;
    let t = state.t();
    call_extras::use_call_extras(&state, &session, &dispatch);

    // Page load: a set-password link, or ask whether a session exists.
    {
        let (dispatch, token) = (
            dispatch.clone(),
            state.link.as_ref().map(|l| l.token.clone()),
        );
        use_effect_with((), move |_| match token {
            Some(token) => spawn_local(check_link(token, dispatch, t)),
            None => spawn_local(check_session(dispatch, t)),
        });
    }

    use_effect_with(state.lang, |&lang| browser::set_document_lang(lang));

    // The phone runs exactly while the reducer is on the phone screen.
    {
        let (session, dispatch) = (session.clone(), dispatch.clone());
        use_effect_with(logged_in, move |&on| {
            if on {
                begin(&session, &dispatch);
                spawn_local(load_contacts(dispatch.clone(), t));
            }
            move || {
                if on {
                    end(&session);
                }
            }
        });
    }

    // The history on screen: fetched when opened and after every call; missed calls seen.
    {
        let on_history = logged_in && state.view == View::History;
        let dispatch = dispatch.clone();
        use_effect_with((on_history, state.calls_ended), move |&(on, ended)| {
            if on {
                spawn_local(load_history(dispatch, t, None, true));
            } else if ended > 0 {
                // The gateway writes a call's record once the call is over on its side too
                // (the callee's 487 after a CANCEL, then a batched write): ask a moment
                // later, or the count read may not have the call yet and would hide the badge
                // the call just raised.
                spawn_local(async move {
                    gloo_timers::future::TimeoutFuture::new(MISSED_RECHECK_MS).await;
                    load_missed(dispatch).await;
                });
            }
        });
    }

    // The selected row stays in view.
    use_effect_with(state.contacts.selected, |sel| {
        if let Some(k) = sel {
            browser::scroll_into_view(&k.dom_id());
        }
    });

    // "/" focuses the contact search (from anywhere but a text field).
    {
        let dispatch = dispatch.clone();
        use_effect_with(logged_in, move |&on| {
            let listener = on.then(web_sys::window).flatten().map(|w| {
                EventListener::new(&w, "keydown", move |e| {
                    let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
                        return;
                    };
                    if e.key() != "/" || e.ctrl_key() || e.meta_key() || e.alt_key() {
                        return;
                    }
                    let typing = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        .is_some_and(|el| {
                            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                        });
                    if !typing {
                        e.prevent_default();
                        dispatch.emit(Action::Navigate(View::Contacts));
                        // After the render that shows the list.
                        Timeout::new(0, || browser::focus("contact-search")).forget();
                    }
                })
            });
            move || drop(listener)
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
            <section id="loading" class="card login" aria-busy="true"><p>{ t.loading }</p></section>
        },
        Screen::Login => login_screen(&state, &dispatch),
        Screen::SetPassword => set_password_screen(&state, &dispatch),
        Screen::Phone => Html::default(),
    };

    let on_logout = {
        let dispatch = dispatch.clone();
        Callback::from(move |()| {
            dispatch.emit(Action::Logout);
            crate::services::media::forget_ice();
            spawn_local(async {
                let _ = api::send("DELETE", "/api/v1/sessions/current", None).await;
            });
        })
    };
    let screen = match state.screen {
        Screen::Loading => "loading",
        Screen::Login => "login",
        Screen::SetPassword => "set-password",
        Screen::Phone => "phone",
    };
    let cx = logged_in.then(|| make_cx(&state, &session, &dispatch));

    html! {
        <div class={classes!("app", logged_in.then_some("shell"))} data-screen={screen}
            data-call={state.call_state()} data-view={state.view.data_view()}>
            <header class="topbar">
                <div class="brand-row">
                    <h1 class="brand">{ "Centrala" }</h1>
                    if let Some(name) = state.company_name().filter(|_| logged_in) {
                        <span id="company-name" class="company">{ name.to_string() }</span>
                    }
                </div>
                if let Some(cx) = &cx {
                    { shell::me_and_status(&state, cx) }
                }
                <StatusBar
                    registration={state.registration.clone()}
                    extension={state.extension.clone()}
                    {logged_in}
                    lang={state.lang}
                    {on_logout}
                />
            </header>
            if let Some(cx) = &cx {
                { shell::nav(&state, cx) }
                { phone_screen(&state, &session, &dispatch, cx) }
            } else {
                <main class="content">{ body }</main>
            }
        </div>
    }
}

/// The callbacks of the logged-in screens.
fn make_cx(state: &AppState, session: &SessionRef, dispatch: &Callback<Action>) -> Cx {
    let t = state.t();
    let call = {
        let session = session.clone();
        Callback::from(move |(number, video): (String, bool)| {
            // "+48 601 234-567" is dialled as +48601234567 (a SIP address as written).
            let target = if number.contains(':') || number.contains('@') {
                number
            } else {
                crate::addr::compact_number(&number)
            };
            with_phone(&session, |p| p.call(target, video))
        })
    };
    let favourite = {
        let (d, book) = (dispatch.clone(), state.contacts.book.clone());
        Callback::from(move |(key, on): (RowKey, bool)| {
            d.emit(Action::Favourite(key, on));
            let (d, book) = (d.clone(), book.clone());
            spawn_local(async move {
                let r = match key {
                    RowKey::Employee(id) => {
                        let method = if on { "PUT" } else { "DELETE" };
                        api::send(method, &format!("/api/v1/favourites/{id}"), None).await
                    }
                    RowKey::Contact(id) => {
                        let Some(mut c) = book.into_iter().find(|c| c.id == id) else {
                            return;
                        };
                        c.favourite = on;
                        let input = ContactInput {
                            name: c.name,
                            organization: c.organization,
                            numbers: c.numbers,
                            favourite: on,
                        };
                        api::send(
                            "PUT",
                            &format!("/api/v1/contacts/{id}"),
                            Some(contact_body(&input)),
                        )
                        .await
                    }
                };
                if !session_over(&r, &d) && !r.ok() {
                    d.emit(Action::Favourite(key, !on)); // put it back
                }
            });
        })
    };
    let save_contact = {
        let (d, form) = (dispatch.clone(), state.contact_form.clone());
        Callback::from(move |()| {
            let Some(f) = form.clone() else { return };
            let input = match f.validate() {
                Ok(i) => i,
                Err(p) => return d.emit(Action::ContactFormRejected(p)),
            };
            d.emit(Action::ContactFormSubmitted);
            let d = d.clone();
            spawn_local(async move {
                let body = Some(contact_body(&input));
                let r = match f.editing {
                    Some(id) => api::send("PUT", &format!("/api/v1/contacts/{id}"), body).await,
                    None => api::send("POST", "/api/v1/contacts", body).await,
                };
                if session_over(&r, &d) {
                    return;
                }
                match r.map(api::contact) {
                    Ok(c) => d.emit(Action::ContactSaved(c)),
                    Err(p) => d.emit(Action::ContactFormRejected(FormProblem::Server(
                        t.problem(&p),
                    ))),
                }
            });
        })
    };
    let remove_contact = {
        let (d, t) = (dispatch.clone(), state.t());
        Callback::from(move |(id, name): (i64, String)| {
            if !browser::confirm(&(t.confirm_remove)(&name)) {
                return;
            }
            let d = d.clone();
            spawn_local(async move {
                let r = api::send("DELETE", &format!("/api/v1/contacts/{id}"), None).await;
                if !session_over(&r, &d) && (r.ok() || r.status == 404) {
                    d.emit(Action::ContactRemoved(id));
                }
            });
        })
    };
    let import = {
        let d = dispatch.clone();
        Callback::from(move |file: web_sys::File| {
            d.emit(Action::ImportSubmitted);
            let d = d.clone();
            spawn_local(async move {
                let text = JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default();
                let kind = if is_vcard(&file.name(), &text) {
                    "text/vcard"
                } else {
                    "text/csv"
                };
                let r = api::send_text("/api/v1/contacts/import", kind, &text).await;
                if session_over(&r, &d) {
                    return;
                }
                match r.map(api::contact_import) {
                    Ok(report) => {
                        d.emit(Action::ImportDone(report));
                        let r = api::get("/api/v1/contacts").await;
                        if let Ok(b) = r.map(|v| api::list(v, api::contact).0) {
                            d.emit(Action::BookLoaded(b));
                        }
                    }
                    Err(p) => d.emit(Action::ImportFailed(t.problem(&p))),
                }
            });
        })
    };
    let load_more_history = {
        let (d, before) = (dispatch.clone(), state.history.before());
        Callback::from(move |()| spawn_local(load_history(d.clone(), t, before, false)))
    };
    let set_lang = {
        let d = dispatch.clone();
        Callback::from(move |lang: Lang| {
            d.emit(Action::SetLang(lang));
            let d = d.clone();
            spawn_local(async move {
                let body = api::obj(&[("language", lang.tag().into())]);
                let r = api::send("PUT", "/api/v1/me/language", Some(body)).await;
                if !session_over(&r, &d) {
                    d.emit(Action::LangSaved(if r.ok() {
                        Ok(())
                    } else {
                        Err(lang.t().problem(&r.problem()))
                    }));
                }
            });
        })
    };
    let set_call_waiting = {
        let (d, session) = (dispatch.clone(), session.clone());
        Callback::from(move |on: bool| {
            browser::set_call_waiting(on);
            with_phone(&session, |p| p.set_call_waiting(on));
            d.emit(Action::CallWaiting(on));
        })
    };
    let set_status = {
        let (d, before, t) = (dispatch.clone(), state.my_status, state.t());
        Callback::from(move |st: MyStatus| {
            d.emit(Action::SetMyStatus(st));
            let d = d.clone();
            spawn_local(async move {
                let body = api::obj(&[("status", st.as_str().into())]);
                let r = api::send("PUT", "/api/v1/me/presence", Some(body)).await;
                if !session_over(&r, &d) && !r.ok() {
                    let why = format!("{}: {}", t.status_save_failed, t.problem(&r.problem()));
                    d.emit(Action::StatusFailed(before, why));
                }
            });
        })
    };
    let (choose_device, allow_devices, enable_notify) = call_extras::callbacks(session, dispatch);
    Cx {
        dispatch: dispatch.clone(),
        call,
        favourite,
        save_contact,
        remove_contact,
        import,
        load_more_history,
        set_lang,
        set_call_waiting,
        set_status,
        choose_device,
        allow_devices,
        enable_notify,
    }
}

/// A contact as the API takes it.
fn contact_body(c: &ContactInput) -> JsValue {
    let numbers = api::arr(c.numbers.iter().map(|n| {
        api::obj(&[
            ("label", n.label.as_str().into()),
            ("number", n.number.as_str().into()),
        ])
    }));
    api::obj(&[
        ("name", c.name.as_str().into()),
        (
            "organization",
            c.organization
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
        ),
        ("numbers", numbers),
        ("favourite", c.favourite.into()),
    ])
}

fn login_screen(state: &AppState, dispatch: &Callback<Action>) -> Html {
    let t = state.t();
    let on_submit = {
        let (dispatch, busy) = (dispatch.clone(), state.login_busy);
        Callback::from(move |req: LoginRequest| {
            if busy {
                return;
            }
            if let Err(msg) = validate_login(&req.email, &req.password, t) {
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
                    Err(p) => dispatch.emit(Action::LoginFailed(t.problem(&p))),
                }
            });
        })
    };
    let on_forgot = dispatch.reform(Action::ForgotPassword);
    let on_reset = {
        let dispatch = dispatch.clone();
        Callback::from(move |email: String| {
            if !looks_like_email(&email) {
                dispatch.emit(Action::ResetAnswered(t.email_hint.into()));
                return;
            }
            dispatch.emit(Action::ResetSubmitted);
            let dispatch = dispatch.clone();
            spawn_local(async move {
                dispatch.emit(Action::ResetAnswered(request_reset(email, t).await));
            });
        })
    };
    html! {
        <LoginForm
            lang={state.lang}
            notice={state.login_notice.map(|n| AttrValue::from(t.login_notice(n)))}
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
    let t = state.t();
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
                    Err(p) => match t.link_problem(&p) {
                        Some(words) => dispatch.emit(Action::LinkProblem(words.into())),
                        None => dispatch.emit(Action::SetPasswordFailed(t.problem(&p))),
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
                dispatch.emit(Action::LinkRequestAnswered(t.email_hint.into()));
                return;
            }
            dispatch.emit(Action::LinkRequestSubmitted);
            let dispatch = dispatch.clone();
            spawn_local(async move {
                dispatch.emit(Action::LinkRequestAnswered(request_reset(email, t).await));
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
        <SetPassword {link} lang={state.lang} {on_submit} {on_invalid} {on_request_link} {on_login} />
    }
}

fn phone_screen(
    state: &AppState,
    session: &SessionRef,
    dispatch: &Callback<Action>,
    cx: &Cx,
) -> Html {
    let on_answer = {
        let session = session.clone();
        Callback::from(move |(call, video)| with_phone(&session, |p| p.answer(call, video)))
    };
    let on_hangup = {
        let session = session.clone();
        Callback::from(move |call| with_phone(&session, |p| p.hangup(call)))
    };
    let on_hold = {
        let session = session.clone();
        Callback::from(move |(call, hold): (CallHandle, bool)| {
            with_phone(
                &session,
                |p| if hold { p.hold(call) } else { p.resume(call) },
            )
        })
    };
    let shown = state.call();
    let on_mute = {
        let (session, call) = (session.clone(), shown.map(|c| (c.handle, c.muted)));
        Callback::from(move |()| {
            if let Some((Some(h), muted)) = call {
                with_phone(&session, |p| p.set_muted(h, !muted));
            }
        })
    };
    // Video and Meet & Share (issue 12): the camera and the screen on and off.
    let on_camera = {
        let (session, call) = (session.clone(), shown.map(|c| (c.handle, c.video)));
        Callback::from(move |()| {
            if let Some((Some(h), on)) = call {
                with_phone(&session, |p| p.set_camera(h, !on));
            }
        })
    };
    let on_share = {
        let (session, call) = (session.clone(), shown.map(|c| (c.handle, c.sharing)));
        Callback::from(move |()| {
            if let Some((Some(h), on)) = call {
                with_phone(&session, |p| p.set_sharing(h, !on));
            }
        })
    };
    let on_xfer = {
        let (session, dispatch) = (session.clone(), dispatch.clone());
        Callback::from(move |cmd: XferCmd| match cmd {
            XferCmd::Open(h) => dispatch.emit(Action::Transfer(TransferAction::Open(h))),
            XferCmd::Input(v) => dispatch.emit(Action::Transfer(TransferAction::Input(v))),
            XferCmd::Close => dispatch.emit(Action::Transfer(TransferAction::Close)),
            XferCmd::Blind(h, target) => with_phone(&session, |p| p.transfer(h, target)),
            XferCmd::Consult(h, target) => with_phone(&session, |p| p.consult(h, target)),
            XferCmd::Complete(original, consult) => {
                with_phone(&session, |p| p.complete_transfer(original, consult))
            }
            XferCmd::Back(consult) => with_phone(&session, |p| p.hangup(Some(consult))),
        })
    };
    let d = dispatch;
    let main = match state.view {
        View::Contacts | View::Dialpad => contacts::view(state, cx),
        View::History => html! {
            <>
                { history::view(state, cx) }
                <MyCostsPanel lang={state.lang} on_session_ended={d.reform(|()| Action::SessionEnded)} />
            </>
        },
        View::Settings => shell::settings(state, cx),
        View::Voicemail => html! {
            <VoicemailPanel lang={state.lang}
                on_new_count={d.reform(|n: usize| Action::VoicemailCount(n as u64))}
                on_session_ended={d.reform(|()| Action::SessionEnded)} />
        },
        View::Devices => {
            let this_device = browser::stored_instance_id()
                .map(|id| AttrValue::from(centrala_sip::ua::device_id(&id)));
            html! {
                <DevicesPanel subject={Subject::Me} ext={AttrValue::from(state.extension.clone())}
                    lang={state.lang} {this_device}
                    on_session_ended={d.reform(|()| Action::SessionEnded)} />
            }
        }
        View::Admin(section) => html! {
            <Admin on_session_ended={d.reform(|()| Action::SessionEnded)} {section} lang={state.lang} />
        },
    };
    html! {
        <>
            <main class="content" id="main">{ main }</main>
            // Always here, beside every section: calls keep coming in.
            <aside class="call-column" aria-label={state.t().call_panel_label}>
                <CallPanel
                    call={state.call().cloned()}
                    calls={state.calls.clone()}
                    tone={state.tone}
                    end_reason={state.end_reason.clone()}
                    end_forwarded={state.end_forwarded.clone()}
                    lang={state.lang}
                    {on_answer}
                    {on_hangup}
                    {on_hold}
                    {on_mute}
                    {on_camera}
                    {on_xfer}
                    transfer_form={state.transfer_form.clone()}
                    on_keypad={d.reform(|call| Action::KeypadToggle { call })}
                    on_dtmf={{
                        let session = session.clone();
                        Callback::from(move |(call, digit)| with_phone(&session, |p| p.send_dtmf(call, digit)))
                    }}
                    device_notice={state.browser.notice.as_ref().filter(|_| !state.calls.is_empty())
                        .map(|n| AttrValue::from(crate::components::call_settings::device_notice_words(state.t(), n)))}
                    {on_share}
                />
                if state.calls.is_empty() {
                    <Dialer
                        value={state.dial.clone()}
                        can_call={state.can_call()}
                        lang={state.lang}
                        on_input={d.reform(Action::DialInput)}
                        on_digit={d.reform(Action::DialDigit)}
                        on_backspace={d.reform(|()| Action::DialBackspace)}
                        on_call={cx.call.clone()}
                    />
                }
            </aside>
        </>
    }
}
