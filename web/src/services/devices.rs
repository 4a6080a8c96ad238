//! The browser's media devices: listing them (`enumerateDevices`), the user's choices kept in
//! `localStorage` (device ids only), the `getUserMedia` constraints that ask for a chosen
//! device, and outputs (`setSinkId`) where the browser can choose one.

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaDeviceInfo, MediaStream, MediaStreamConstraints, MediaStreamTrack};

use crate::state::media_devices::{DeviceChoices, DeviceKind, DeviceList, MediaDevice};

fn key(kind: DeviceKind) -> String {
    format!("centrala.device.{}", kind.as_str())
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The device chosen for `kind` in this browser (`None`: the default).
pub fn chosen(kind: DeviceKind) -> Option<String> {
    storage()?
        .get_item(&key(kind))
        .ok()
        .flatten()
        .filter(|id| !id.is_empty())
}

/// Every choice kept in this browser.
pub fn stored_choices() -> DeviceChoices {
    let mut c = DeviceChoices::default();
    for kind in DeviceKind::ALL {
        c.set(kind, chosen(kind));
    }
    c
}

/// Keeps the choice for `kind` (`None`: back to the default).
pub fn store_choice(kind: DeviceKind, id: Option<&str>) {
    if let Some(s) = storage() {
        let _ = match id.filter(|i| !i.is_empty()) {
            Some(id) => s.set_item(&key(kind), id),
            None => s.remove_item(&key(kind)),
        };
    }
}

fn media_devices() -> Option<web_sys::MediaDevices> {
    let devices = web_sys::window()?.navigator().media_devices().ok()?;
    (!JsValue::from(devices.clone()).is_undefined()).then_some(devices)
}

/// The devices the browser lists; `None` when it lists none here (not https, old browser).
pub async fn list() -> Option<DeviceList> {
    let promise = media_devices()?.enumerate_devices().ok()?;
    let arr: Array = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
    let devices = arr
        .iter()
        .filter_map(|d| d.dyn_into::<MediaDeviceInfo>().ok())
        .map(|d| MediaDevice {
            kind: kind_str(&d),
            id: d.device_id(),
            label: d.label(),
        })
        .collect();
    Some(DeviceList::new(devices))
}

fn kind_str(d: &MediaDeviceInfo) -> String {
    Reflect::get(d, &"kind".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Why asking for the devices failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowError {
    Denied,
    Unsupported,
}

/// Asks for the microphone (and the camera, when there is one) once, so that the browser
/// names the devices; stops them at once.
pub async fn allow() -> Result<(), AllowError> {
    let devices = media_devices().ok_or(AllowError::Unsupported)?;
    let mut last = AllowError::Unsupported;
    for video in [true, false] {
        let c = MediaStreamConstraints::new();
        c.set_audio(&JsValue::TRUE);
        c.set_video(&JsValue::from_bool(video));
        let Ok(p) = devices.get_user_media_with_constraints(&c) else {
            continue;
        };
        match JsFuture::from(p).await {
            Ok(stream) => {
                let stream: MediaStream = stream.unchecked_into();
                for t in stream.get_tracks().iter() {
                    t.unchecked_into::<MediaStreamTrack>().stop();
                }
                return Ok(());
            }
            Err(e) => {
                let name = Reflect::get(&e, &"name".into())
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default();
                if matches!(name.as_str(), "NotAllowedError" | "SecurityError") {
                    return Err(AllowError::Denied);
                }
                last = AllowError::Unsupported;
            }
        }
    }
    Err(last)
}

/// The `audio` / `video` member of `getUserMedia` constraints: `true` for the default
/// device, `{deviceId: {exact: id}}` for a chosen one.
pub fn constraint(id: Option<&str>) -> JsValue {
    let Some(id) = id else {
        return JsValue::TRUE;
    };
    let exact = Object::new();
    let _ = Reflect::set(&exact, &"exact".into(), &id.into());
    let c = Object::new();
    let _ = Reflect::set(&c, &"deviceId".into(), &exact);
    c.into()
}

/// Whether `proto_of` (e.g. `HTMLMediaElement`) has `setSinkId` on its prototype.
fn has_set_sink_id(constructor: &str) -> bool {
    let Some(w) = web_sys::window() else {
        return false;
    };
    Reflect::get(&w, &constructor.into())
        .and_then(|c| Reflect::get(&c, &"prototype".into()))
        .and_then(|p| Reflect::get(&p, &"setSinkId".into()))
        .is_ok_and(|f| f.is_function())
}

/// Which outputs this browser can choose: (speaker for calls, ringtone).
pub fn outputs_supported() -> (bool, bool) {
    (
        has_set_sink_id("HTMLMediaElement"),
        has_set_sink_id("AudioContext"),
    )
}

/// Why an output could not be chosen: the `DOMException`'s name and the browser's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError {
    pub name: String,
    pub message: String,
}

impl SinkError {
    /// The device is not there (unplugged, or an id from another browser profile).
    pub fn is_gone(&self) -> bool {
        self.name == "NotFoundError"
    }

    /// What the user is told about the speaker.
    pub fn speaker_notice(&self) -> crate::state::media_devices::DeviceNotice {
        use crate::state::media_devices::DeviceNotice;
        if self.is_gone() {
            DeviceNotice::Gone(DeviceKind::Speaker)
        } else {
            DeviceNotice::SpeakerFailed(format!("{}: {}", self.name, self.message))
        }
    }
}

/// Plays `target` (a media element or an `AudioContext`) on output `id` ("" the default).
/// `Ok(false)` when the browser cannot choose.
pub async fn set_sink(target: &JsValue, id: &str) -> Result<bool, SinkError> {
    let Some(f) = Reflect::get(target, &"setSinkId".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return Ok(false);
    };
    let sink_error = |e: &JsValue| SinkError {
        name: Reflect::get(e, &"name".into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        message: error_words(e),
    };
    let p: Promise = f
        .call1(target, &id.into())
        .map_err(|e| sink_error(&e))?
        .dyn_into()
        .map_err(|e| sink_error(&e))?;
    JsFuture::from(p)
        .await
        .map(|_| true)
        .map_err(|e| sink_error(&e))
}

/// Attempts at choosing an element's output: Chromium aborts a `setSinkId` while the
/// element loads a new `srcObject` (as when a call's tracks arrive), so it is tried again.
const SINK_ATTEMPTS: u32 = 10;
const SINK_RETRY_MS: u32 = 200;

/// The remote media element `#remote-video` on the chosen speaker. `Err`: the chosen one
/// could not be used (the element then plays on the default).
pub async fn apply_speaker(el: &web_sys::HtmlMediaElement) -> Result<(), SinkError> {
    let id = chosen(DeviceKind::Speaker).unwrap_or_default();
    let mut attempt = 1;
    loop {
        match set_sink(el, &id).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_gone() || attempt >= SINK_ATTEMPTS => {
                web_sys::console::warn_1(&format!("speaker: {}: {}", e.name, e.message).into());
                let _ = set_sink(el, "").await;
                return Err(e);
            }
            Err(_) => {
                attempt += 1;
                gloo_timers::future::TimeoutFuture::new(SINK_RETRY_MS).await;
            }
        }
    }
}

fn error_words(e: &JsValue) -> String {
    Reflect::get(e, &"message".into())
        .ok()
        .and_then(|v| v.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// Calls `on_change` whenever a device is plugged in or out (`devicechange`).
pub fn on_change(on_change: impl FnMut() + 'static) -> Option<gloo_events::EventListener> {
    let devices = media_devices()?;
    let mut f = on_change;
    Some(gloo_events::EventListener::new(
        &devices,
        "devicechange",
        move |_| f(),
    ))
}
