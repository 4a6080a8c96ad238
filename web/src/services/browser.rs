//! Small reads from the browser: the clock, randomness, the page address and local storage
//! (only the RFC 5626 instance id: never a password or credential).

use wasm_bindgen::JsCast;

use crate::addr;
use crate::model::LinkKind;

const INSTANCE_KEY: &str = "centrala.instance";

/// Milliseconds on the page's monotonic clock (`performance.now()`).
pub fn now_ms() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0, |p| p.now() as u64)
}

/// 32 bytes from the browser's cryptographic generator (`crypto.getRandomValues`): the
/// seed of the SIP user agent's branches, tags and Call-IDs, which must not be guessable.
/// Every current browser has it, on secure and plain pages alike; were it ever missing, the
/// seed falls back to `Math.random()` with a warning in the console rather than failing.
pub fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut seed).is_ok());
    if !filled {
        web_sys::console::warn_1(&"no crypto.getRandomValues: weak SIP tokens".into());
        for b in seed.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    seed
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

/// The set-password link in the page's address (`?invite=…` or `?reset=…`).
pub fn page_link() -> Option<(LinkKind, String)> {
    let search = web_sys::window()?.location().search().ok()?;
    addr::link_from_query(&search)
}

/// Takes the link's token out of the address bar (and history): the page becomes "/".
pub fn forget_link() {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
}

/// Asks the user (`window.confirm`); `false` if the browser cannot ask.
pub fn confirm(message: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(message).ok())
        .unwrap_or(false)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

const CALL_WAITING_KEY: &str = "centrala.callWaiting";

/// Whether a second call may ring while one talks (the user's setting, kept in this
/// browser; on unless turned off).
pub fn call_waiting() -> bool {
    storage()
        .and_then(|s| s.get_item(CALL_WAITING_KEY).ok().flatten())
        .is_none_or(|v| v != "off")
}

/// Keeps the call-waiting setting in this browser.
pub fn set_call_waiting(on: bool) {
    if let Some(s) = storage() {
        let _ = s.set_item(CALL_WAITING_KEY, if on { "on" } else { "off" });
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
    let seed = random_seed();
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&seed[i..i + 8]);
        u64::from_le_bytes(w)
    };
    let (a, b) = (word(0), word(8));
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

/// Forgets this browser's instance id: the next login registers as a new device (after
/// this one was removed from the account, which the registrar refuses for a while).
pub fn forget_instance_id() {
    if let Some(s) = storage() {
        let _ = s.remove_item(INSTANCE_KEY);
    }
}

/// This browser's instance id, if one was made (none is made here).
pub fn stored_instance_id() -> Option<String> {
    storage()?
        .get_item(INSTANCE_KEY)
        .ok()
        .flatten()
        .filter(|id| id.starts_with("urn:uuid:"))
}

/// `navigator.userAgent` ("" when unreadable).
pub fn navigator_user_agent() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default()
}

/// The `HTMLMediaElement` with this id, if the page has it.
pub fn media_element(id: &str) -> Option<web_sys::HtmlMediaElement> {
    web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .dyn_into()
        .ok()
}

/// The browser's language (`navigator.language`), as one of the UI's.
pub fn language() -> crate::model::Lang {
    let tag = web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_default();
    crate::model::Lang::from_browser(&tag)
}

/// Sets `<html lang>` to the UI's language (screen readers pronounce by it).
pub fn set_document_lang(lang: crate::model::Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.tag());
    }
}

/// Focuses the element with this id, if the page has it.
pub fn focus(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// Scrolls the element with this id into view, if needed.
pub fn scroll_into_view(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    {
        let opts = web_sys::ScrollIntoViewOptions::new();
        opts.set_block(web_sys::ScrollLogicalPosition::Nearest);
        el.scroll_into_view_with_scroll_into_view_options(&opts);
    }
}

/// Puts `text` on the clipboard (`navigator.clipboard.writeText`); `false` when the browser
/// has no clipboard here (not https) or refuses.
pub async fn copy_text(text: &str) -> bool {
    use wasm_bindgen::JsCast;
    let attempt = || -> Option<js_sys::Promise> {
        let nav = web_sys::window()?.navigator();
        let clip = js_sys::Reflect::get(&nav, &"clipboard".into())
            .ok()
            .filter(|c| c.is_object())?;
        let write: js_sys::Function = js_sys::Reflect::get(&clip, &"writeText".into())
            .ok()?
            .dyn_into()
            .ok()?;
        write
            .call1(&clip, &text.into())
            .ok()?
            .dyn_into::<js_sys::Promise>()
            .ok()
    };
    match attempt() {
        Some(p) => wasm_bindgen_futures::JsFuture::from(p).await.is_ok(),
        None => false,
    }
}
