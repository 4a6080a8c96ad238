//! Centrala's browser softphone.
//!
//! Codemap:
//! - [`state`]: the pure reducer (`AppState`, `Action`); no browser types, tested natively;
//! - [`addr`]: URL defaults and the login form's checks (pure);
//! - [`services`]: the IO shell: WebSocket + SIP user agent ([`services::phone`]), WebRTC
//!   ([`services::media`]), ringtone, timers, browser reads;
//! - [`components`]: thin views; [`app`]: the root that wires them.

mod addr;
mod app;
mod components;
mod services;
mod state;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
