//! The root component: the reducer, the phone service, and the screens.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_events::EventListener;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::addr::validate_login;
use crate::components::call_panel::CallPanel;
use crate::components::dialer::Dialer;
use crate::components::login::{LoginForm, LoginRequest};
use crate::components::status_bar::StatusBar;
use crate::services::browser;
use crate::services::phone::{Phone, PhoneConfig};
use crate::state::{Action, AppState, Screen};

/// The phone of the current login. `seq` changes at every login and logout, so a login
/// still fetching the config can tell it has been abandoned.
#[derive(Default)]
struct Session {
    seq: u64,
    phone: Option<Phone>,
}

type SessionRef = Rc<RefCell<Session>>;

/// Runs `f` on the phone, if there is one.
fn with_phone(session: &SessionRef, f: impl FnOnce(&Phone)) {
    if let Some(p) = session.borrow().phone.as_ref() {
        f(p);
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| AppState::new(browser::last_extension(), browser::default_server()));
    let session: SessionRef = use_mut_ref(Session::default);

    // Leaving the phone screen (logout, or the first registration failed) ends the session.
    {
        let session = session.clone();
        use_effect_with(state.screen, move |screen| {
            if *screen == Screen::Login {
                let phone = {
                    let mut s = session.borrow_mut();
                    s.seq += 1;
                    s.phone.take()
                };
                if let Some(p) = phone {
                    p.shutdown();
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
                        let phone = session.borrow_mut().phone.take();
                        if let Some(p) = phone {
                            p.shutdown();
                        }
                    }
                })
            });
            move || drop(listener)
        });
    }

    let on_login = {
        let (session, dispatcher) = (session.clone(), state.dispatcher());
        Callback::from(move |req: LoginRequest| {
            if let Err(msg) = validate_login(&req.extension, &req.password, &req.server) {
                dispatcher.dispatch(Action::LoginInvalid(msg));
                return;
            }
            browser::remember_extension(&req.extension);
            dispatcher.dispatch(Action::LoginSubmitted {
                extension: req.extension.clone(),
                server: req.server.clone(),
            });
            let seq = {
                let mut s = session.borrow_mut();
                s.seq += 1;
                s.seq
            };
            let (session, dispatcher) = (session.clone(), dispatcher.clone());
            spawn_local(async move {
                let domain = browser::sip_domain(&req.server).await;
                if session.borrow().seq != seq {
                    return; // logged out while fetching the config
                }
                let dispatch = Callback::from(move |a: Action| dispatcher.dispatch(a));
                let cfg = PhoneConfig {
                    server: req.server,
                    extension: req.extension,
                    password: req.password,
                    domain,
                };
                let phone = Phone::start(cfg, dispatch);
                session.borrow_mut().phone = Some(phone);
            });
        })
    };

    let on_logout = {
        let dispatcher = state.dispatcher();
        Callback::from(move |()| dispatcher.dispatch(Action::Logout))
    };

    let body = match state.screen {
        Screen::Login => html! {
            <LoginForm
                extension={state.extension.clone()}
                server={state.server.clone()}
                error={state.login_error.clone().map(AttrValue::from)}
                on_submit={on_login}
            />
        },
        Screen::Phone => phone_screen(&state, &session),
    };

    html! {
        <div class="app" data-call={state.call_state()}>
            <header class="topbar">
                <h1 class="brand">{ "Centrala" }</h1>
                <StatusBar
                    registration={state.registration.clone()}
                    extension={state.extension.clone()}
                    logged_in={state.screen == Screen::Phone}
                    {on_logout}
                />
            </header>
            <main class="content">{ body }</main>
        </div>
    }
}

fn phone_screen(state: &UseReducerHandle<AppState>, session: &SessionRef) -> Html {
    let dispatcher = state.dispatcher();
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
    html! {
        <>
            <CallPanel
                call={state.call.clone()}
                end_reason={state.end_reason.clone().map(AttrValue::from)}
                {on_answer}
                {on_hangup}
                {on_mute}
                {on_camera}
            />
            if state.call.is_none() {
                <Dialer
                    value={state.dial.clone()}
                    can_call={state.can_call()}
                    on_input={let d = dispatcher.clone(); Callback::from(move |v| d.dispatch(Action::DialInput(v)))}
                    on_digit={let d = dispatcher.clone(); Callback::from(move |c| d.dispatch(Action::DialDigit(c)))}
                    on_backspace={let d = dispatcher.clone(); Callback::from(move |()| d.dispatch(Action::DialBackspace))}
                    {on_call}
                />
            }
        </>
    }
}
