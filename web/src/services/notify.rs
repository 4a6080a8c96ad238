//! Desktop notifications of incoming calls while the page is in the background, through the
//! service worker `/sw.js` (only a persistent notification can have Answer / Decline
//! buttons). The worker, on a click, posts `{type: "centrala-notification", action, call}`
//! to the page and focuses it; [`on_action`] hands that to the app. Also the
//! `beforeunload` question while a call is going on.

use gloo_events::{EventListener, EventListenerOptions};
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::state::notify::{NotifyAction, NotifyPermission, RingingCall, tag};

const WORKER_URL: &str = "/sw.js";
const MESSAGE_TYPE: &str = "centrala-notification";

fn get(target: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(target, &name.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn call_method(target: &JsValue, name: &str, args: &Array) -> Option<JsValue> {
    let f: Function = get(target, name)?.dyn_into().ok()?;
    f.apply(target, args).ok()
}

async fn await_promise(p: Option<JsValue>) -> Option<JsValue> {
    let p: Promise = p?.dyn_into().ok()?;
    JsFuture::from(p).await.ok()
}

/// `navigator.serviceWorker`, when the browser has it here.
fn container() -> Option<JsValue> {
    get(&web_sys::window()?.navigator(), "serviceWorker")
}

/// The `Notification` constructor, when the browser has it.
fn notification_api() -> Option<JsValue> {
    get(&web_sys::window()?.into(), "Notification")
}

/// Whether notifications may be shown, without asking.
pub fn permission() -> NotifyPermission {
    match (notification_api(), container()) {
        (Some(n), Some(_)) => get(&n, "permission")
            .and_then(|p| p.as_string())
            .map_or(NotifyPermission::Default, |p| NotifyPermission::parse(&p)),
        _ => NotifyPermission::Unsupported,
    }
}

/// Asks the user (from a click: browsers ignore it otherwise) and returns the answer.
pub async fn request_permission() -> NotifyPermission {
    let Some(n) = notification_api() else {
        return NotifyPermission::Unsupported;
    };
    let _ = await_promise(call_method(&n, "requestPermission", &Array::new())).await;
    permission()
}

/// Registers the service worker (it shows nothing by itself: no permission is asked).
pub fn register_worker() {
    let Some(c) = container() else { return };
    let p = call_method(&c, "register", &Array::of1(&WORKER_URL.into()));
    wasm_bindgen_futures::spawn_local(async move {
        if await_promise(p).await.is_none() {
            web_sys::console::warn_1(
                &"service worker not registered: no call notifications".into(),
            );
        }
    });
}

async fn registration() -> Option<JsValue> {
    let c = container()?;
    await_promise(call_method(&c, "getRegistration", &Array::new())).await
}

/// The page is not in front: hidden, or another window has the focus.
pub fn in_background() -> bool {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    doc.visibility_state() == web_sys::VisibilityState::Hidden || !doc.has_focus().unwrap_or(true)
}

/// The words of a call's notification.
pub struct NotificationText<'a> {
    pub title: &'a str,
    pub answer: &'a str,
    pub decline: &'a str,
}

/// Shows call `call`'s notification with Answer and Decline; `false` when it could not be
/// shown (no permission or no service worker).
pub async fn show(call: &RingingCall, words: &NotificationText<'_>) -> bool {
    if permission() != NotifyPermission::Granted {
        return false;
    }
    let Some(reg) = registration().await else {
        return false;
    };
    let body = match &call.name {
        Some(name) => format!("{name} ({})", call.number),
        None => call.number.clone(),
    };
    let options = Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&options, &k.into(), v);
    };
    set("body", &body.into());
    set("tag", &tag(call.handle).into());
    set("requireInteraction", &JsValue::TRUE);
    set("renotify", &JsValue::TRUE);
    let action = |id: &str, title: &str| {
        let a = Object::new();
        let _ = Reflect::set(&a, &"action".into(), &id.into());
        let _ = Reflect::set(&a, &"title".into(), &title.into());
        JsValue::from(a)
    };
    set(
        "actions",
        &Array::of2(
            &action("answer", words.answer),
            &action("decline", words.decline),
        )
        .into(),
    );
    let data = Object::new();
    let _ = Reflect::set(&data, &"call".into(), &(call.handle as f64).into());
    set("data", &data.into());
    let args = Array::of2(&words.title.into(), &options.into());
    await_promise(call_method(&reg, "showNotification", &args))
        .await
        .is_some()
}

/// Closes call `handle`'s notification, if it shows.
pub async fn close(handle: u64) {
    let Some(reg) = registration().await else {
        return;
    };
    let filter = Object::new();
    let _ = Reflect::set(&filter, &"tag".into(), &tag(handle).into());
    let list = await_promise(call_method(&reg, "getNotifications", &Array::of1(&filter))).await;
    if let Some(list) = list.and_then(|l| l.dyn_into::<Array>().ok()) {
        for n in list.iter() {
            let _ = call_method(&n, "close", &Array::new());
        }
    }
}

/// Listens for the service worker's report of a notification click: `(action, call)`.
pub fn on_action(mut f: impl FnMut(NotifyAction, u64) + 'static) -> Option<EventListener> {
    let c = container()?;
    let target: web_sys::EventTarget = c.clone().dyn_into().ok()?;
    let listener = EventListener::new(&target, "message", move |e| {
        let Some(data) = get(e, "data") else { return };
        if get(&data, "type").and_then(|t| t.as_string()).as_deref() != Some(MESSAGE_TYPE) {
            return;
        }
        let action = get(&data, "action")
            .and_then(|a| a.as_string())
            .unwrap_or_default();
        let Some(call) = get(&data, "call").and_then(|c| c.as_f64()) else {
            return;
        };
        f(NotifyAction::parse(&action), call as u64);
    });
    // Messages wait until the page says it is ready for them.
    let _ = call_method(&c, "startMessages", &Array::new());
    Some(listener)
}

/// While it lives, leaving or reloading the page asks first (the browser's own question).
pub fn guard_unload() -> Option<EventListener> {
    let w = web_sys::window()?;
    let options = EventListenerOptions::enable_prevent_default();
    Some(EventListener::new_with_options(
        &w,
        "beforeunload",
        options,
        |e| {
            e.prevent_default();
            // Older browsers ask only when returnValue is set.
            let _ = Reflect::set(e, &"returnValue".into(), &"".into());
        },
    ))
}
