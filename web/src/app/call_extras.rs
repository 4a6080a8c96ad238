//! The root's part for issue 12's keypad, devices and notifications: the effects that list
//! devices, show and close call notifications, take the service worker's answers, and ask
//! before leaving a page with a call; and the callbacks of their Settings.

use std::cell::RefCell;
use std::rc::Rc;

use centrala_sip::ua::CallHandle;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::{SessionRef, with_phone};
use crate::services::{devices, notify};
use crate::state::media_devices::{DeviceKind, DeviceNotice};
use crate::state::notify::{NotifyAction, NotifyPermission, notification_changes, ringing_calls};
use crate::state::{Action, AppState, Screen, View};

/// The browser's part of the state at page load: the kept device choices, which outputs
/// can be chosen, the notification permission.
pub fn initial(mut s: AppState) -> AppState {
    s.browser.choices = devices::stored_choices();
    let (speaker, ringer) = devices::outputs_supported();
    s.browser.can_pick_speaker = speaker;
    s.browser.can_pick_ringer = ringer;
    s.browser.notify = notify::permission();
    s
}

/// Lists the devices into the state.
fn relist(dispatch: Callback<Action>) {
    spawn_local(async move {
        match devices::list().await {
            Some(list) => dispatch.emit(Action::DevicesListed(list)),
            None => dispatch.emit(Action::DeviceNotice(Some(DeviceNotice::Unsupported))),
        }
    });
}

#[hook]
pub fn use_call_extras(state: &AppState, session: &SessionRef, dispatch: &Callback<Action>) {
    let logged_in = state.screen == Screen::Phone;

    // Devices: listed when Settings opens, after each call (the browser names them once
    // the microphone was allowed), and whenever one is plugged in or out.
    {
        let on_settings = logged_in && state.view == View::Settings;
        let dispatch = dispatch.clone();
        use_effect_with((on_settings, state.calls_ended), move |&(on, _)| {
            let listener = on.then(|| {
                // Perhaps changed in the browser's site settings meanwhile.
                dispatch.emit(Action::NotifyPermission(notify::permission()));
                relist(dispatch.clone());
                devices::on_change(move || relist(dispatch.clone()))
            });
            move || drop(listener)
        });
    }

    // The service worker (for notifications) and what it reports of their clicks.
    {
        let (session, dispatch) = (session.clone(), dispatch.clone());
        use_effect_with(logged_in, move |&on| {
            let listener = on
                .then(|| {
                    notify::register_worker();
                    dispatch.emit(Action::NotifyPermission(notify::permission()));
                    notify::on_action(move |action, call| {
                        let call = CallHandle(call);
                        match action {
                            NotifyAction::Answer => with_phone(&session, |p| p.answer(call, false)),
                            NotifyAction::Decline => with_phone(&session, |p| p.hangup(Some(call))),
                            NotifyAction::Open => {}
                        }
                    })
                })
                .flatten();
            move || drop(listener)
        });
    }

    // A notification per call ringing while the page is in the background; closed when
    // the call stops ringing here.
    {
        let shown: Rc<RefCell<Vec<u64>>> = use_mut_ref(Vec::new);
        let ringing = ringing_calls(&state.calls);
        let t = state.t();
        use_effect_with(ringing, move |now| {
            // Without permission nothing shows (Settings says why).
            let notify_now =
                notify::in_background() && notify::permission() == NotifyPermission::Granted;
            let (show, close) = notification_changes(&shown.borrow(), now, notify_now);
            shown.borrow_mut().retain(|h| !close.contains(h));
            for h in close {
                spawn_local(notify::close(h));
            }
            for call in show {
                shown.borrow_mut().push(call.handle);
                spawn_local(async move {
                    let words = notify::NotificationText {
                        title: t.notify_incoming,
                        answer: t.answer,
                        decline: t.decline,
                    };
                    if !notify::show(&call, &words).await {
                        // Allowed, yet the browser refused (no service worker yet…): the
                        // page itself rings as it does in front.
                        web_sys::console::warn_1(&"call notification not shown".into());
                    }
                });
            }
        });
    }

    // Leaving or reloading the page during a call asks first; never while idle.
    use_effect_with(!state.calls.is_empty(), |&busy| {
        let guard = busy.then(notify::guard_unload).flatten();
        move || drop(guard)
    });
}

/// The Settings callbacks: choose a device, allow devices, enable notifications.
type SettingsCallbacks = (
    Callback<(DeviceKind, Option<String>)>,
    Callback<()>,
    Callback<()>,
);

pub fn callbacks(session: &SessionRef, dispatch: &Callback<Action>) -> SettingsCallbacks {
    let choose = {
        let (session, d) = (session.clone(), dispatch.clone());
        Callback::from(move |(kind, id): (DeviceKind, Option<String>)| {
            devices::store_choice(kind, id.as_deref());
            d.emit(Action::DeviceChosen(kind, id.clone()));
            match kind {
                DeviceKind::Microphone | DeviceKind::Camera => {
                    with_phone(&session, |p| p.switch_input(kind, id))
                }
                DeviceKind::Speaker => {
                    let d = d.clone();
                    spawn_local(async move {
                        let el = crate::services::browser::media_element(
                            crate::services::media::REMOTE_VIDEO_ID,
                        );
                        if let Some(el) = el
                            && let Err(e) = devices::apply_speaker(&el).await
                        {
                            d.emit(Action::DeviceNotice(Some(e.speaker_notice())));
                        }
                    });
                }
                // The next ring plays there.
                DeviceKind::Ringer => {}
            }
        })
    };
    let allow = {
        let d = dispatch.clone();
        Callback::from(move |()| {
            let d = d.clone();
            spawn_local(async move {
                match devices::allow().await {
                    Ok(()) => d.emit(Action::DeviceNotice(None)),
                    Err(devices::AllowError::Denied) => {
                        d.emit(Action::DeviceNotice(Some(DeviceNotice::Denied)))
                    }
                    Err(devices::AllowError::Unsupported) => {
                        d.emit(Action::DeviceNotice(Some(DeviceNotice::Unsupported)))
                    }
                }
                relist(d);
            });
        })
    };
    let enable_notify = {
        let d = dispatch.clone();
        Callback::from(move |()| {
            let d = d.clone();
            spawn_local(async move {
                let p = notify::request_permission().await;
                d.emit(Action::NotifyPermission(p));
            });
        })
    };
    (choose, allow, enable_notify)
}
