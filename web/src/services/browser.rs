//! Small reads from the browser: the clock, randomness, the page address, local storage and
//! the gateway's config.

use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::addr;

const LAST_EXTENSION_KEY: &str = "centrala.extension";
const INSTANCE_KEY: &str = "centrala.instance";

/// Milliseconds on the page's monotonic clock (`performance.now()`).
pub fn now_ms() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0, |p| p.now() as u64)
}

/// 64 random bits from `Math.random()` (a seed for the SIP user agent's tokens).
pub fn random_u64() -> u64 {
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) ^ lo ^ now_ms().rotate_left(17)
}

/// A number in [0, 1).
pub fn random_unit() -> f64 {
    js_sys::Math::random()
}

/// The WebSocket URL for the page's own host.
pub fn default_server() -> String {
    let loc = web_sys::window().map(|w| w.location());
    let protocol = loc
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .unwrap_or_default();
    let host = loc
        .as_ref()
        .and_then(|l| l.host().ok())
        .unwrap_or_else(|| "localhost".into());
    addr::default_server(&protocol, &host)
}

fn page_hostname() -> Option<String> {
    web_sys::window()?
        .location()
        .hostname()
        .ok()
        .filter(|h| !h.is_empty())
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The extension used last on this browser (never the password).
pub fn last_extension() -> String {
    storage()
        .and_then(|s| s.get_item(LAST_EXTENSION_KEY).ok().flatten())
        .unwrap_or_default()
}

pub fn remember_extension(ext: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(LAST_EXTENSION_KEY, ext);
    }
}

/// This browser's RFC 5626 instance id (`urn:uuid:…`), created once and kept.
pub fn instance_id() -> String {
    let store = storage();
    if let Some(id) = store
        .as_ref()
        .and_then(|s| s.get_item(INSTANCE_KEY).ok().flatten())
        && id.starts_with("urn:uuid:")
    {
        return id;
    }
    let (a, b) = (random_u64(), random_u64());
    // UUID version 4, variant 10.
    let id = format!(
        "urn:uuid:{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    );
    if let Some(s) = store {
        let _ = s.set_item(INSTANCE_KEY, &id);
    }
    id
}

/// The SIP domain (digest realm) from the gateway's `GET /api/v1/config`; if that fails, the
/// server's host name (the page's, by default).
pub async fn sip_domain(server: &str) -> String {
    let fallback = || {
        addr::hostname(server)
            .or_else(page_hostname)
            .unwrap_or_else(|| "localhost".into())
    };
    let Some(url) = addr::config_url(server) else {
        return fallback();
    };
    match select(Box::pin(fetch_json(&url)), TimeoutFuture::new(5_000)).await {
        Either::Left((Ok(json), _)) => Reflect::get(&json, &JsValue::from_str("sip_domain"))
            .ok()
            .and_then(|v| v.as_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(fallback),
        _ => fallback(),
    }
}

async fn fetch_json(url: &str) -> Result<JsValue, JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let init = web_sys::RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoStore);
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await?
        .dyn_into()?;
    if !resp.ok() {
        return Err(JsValue::from_f64(f64::from(resp.status())));
    }
    JsFuture::from(resp.json()?).await
}

/// The `HTMLMediaElement` with this id, if the page has it.
pub fn media_element(id: &str) -> Option<web_sys::HtmlMediaElement> {
    web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .dyn_into()
        .ok()
}
