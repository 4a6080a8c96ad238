//! Centrala's browser softphone.
//!
//! Codemap:
//! - [`state`]: the pure reducers (`AppState`, `Action`; the admin panel's in
//!   [`state::admin`]); no browser types, tested natively;
//! - [`model`]: what the gateway's REST API answers, as plain values;
//! - [`addr`]: URL defaults, links and the forms' checks (pure);
//! - [`services`]: the IO shell: the REST API ([`services::api`]), WebSocket + SIP user agent
//!   ([`services::phone`]), WebRTC ([`services::media`]), ringtone, timers, browser reads;
//! - [`components`]: thin views; [`app`]: the root that wires them.

mod addr;
mod app;
mod components;
mod i18n;
mod model;
mod services;
mod state;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
