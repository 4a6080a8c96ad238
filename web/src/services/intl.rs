//! Dates, times, durations and numbers in the UI's language, by the browser's `Intl`.

use js_sys::{Array, Date, Function, Intl, Object};
use wasm_bindgen::JsValue;

use super::api::obj;
use crate::model::Lang;

fn locales(lang: Lang) -> Array {
    Array::of1(&JsValue::from_str(lang.tag()))
}

fn call(f: Function, v: &JsValue) -> String {
    f.call1(&JsValue::NULL, v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// A moment (milliseconds since the epoch): "12 mar 2025, 14:05" / "Mar 12, 2025, 2:05 PM";
/// today only the time.
pub fn date_time(lang: Lang, ms: i64) -> String {
    let when = Date::new(&JsValue::from_f64(ms as f64));
    let now = Date::new_0();
    let today = when.get_full_year() == now.get_full_year()
        && when.get_month() == now.get_month()
        && when.get_date() == now.get_date();
    let opts: Object = if today {
        obj(&[("timeStyle", "short".into())]).into()
    } else {
        obj(&[
            ("dateStyle", "medium".into()),
            ("timeStyle", "short".into()),
        ])
        .into()
    };
    let f = Intl::DateTimeFormat::new(&locales(lang), &opts);
    call(f.format(), &when.into())
}

/// An RFC 3339 moment as [`date_time`] writes it; unreadable text is shown as it is.
pub fn date_time_text(lang: Lang, rfc3339: &str) -> String {
    match millis(rfc3339) {
        Some(ms) => date_time(lang, ms),
        None => rfc3339.to_string(),
    }
}

/// An RFC 3339 moment in milliseconds since the epoch.
pub fn millis(rfc3339: &str) -> Option<i64> {
    let ms = Date::parse(rfc3339);
    (!ms.is_nan()).then_some(ms as i64)
}

/// The full date and time, for a tooltip and `<time datetime>`.
pub fn iso(ms: i64) -> String {
    Date::new(&JsValue::from_f64(ms as f64))
        .to_iso_string()
        .into()
}

fn unit(lang: Lang, unit: &str, n: u64) -> String {
    let opts: Object = obj(&[
        ("style", "unit".into()),
        ("unit", unit.into()),
        ("unitDisplay", "short".into()),
    ])
    .into();
    let f = Intl::NumberFormat::new(&locales(lang), &opts);
    call(f.format(), &JsValue::from_f64(n as f64))
}

/// A call's length: "45 s", "2 min 5 s", "1 godz. 2 min".
pub fn duration(lang: Lang, secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(unit(lang, "hour", h));
    }
    if m > 0 {
        parts.push(unit(lang, "minute", m));
    }
    if (s > 0 || parts.is_empty()) && h == 0 {
        parts.push(unit(lang, "second", s));
    }
    parts.join(" ")
}

/// A byte count: "999 B", "12,3 kB".
pub fn bytes(lang: Lang, n: u64) -> String {
    let (value, u) = match n {
        0..1_000 => (n as f64, "byte"),
        1_000..1_000_000 => (n as f64 / 1e3, "kilobyte"),
        1_000_000..1_000_000_000 => (n as f64 / 1e6, "megabyte"),
        _ => (n as f64 / 1e9, "gigabyte"),
    };
    let opts: Object = obj(&[
        ("style", "unit".into()),
        ("unit", u.into()),
        ("unitDisplay", "short".into()),
        ("maximumFractionDigits", 1.into()),
    ])
    .into();
    let f = Intl::NumberFormat::new(&locales(lang), &opts);
    call(f.format(), &JsValue::from_f64(value))
}
