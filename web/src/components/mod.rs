//! Thin views: each takes what it shows as props and reports clicks as callbacks.

pub mod admin;
pub mod call_panel;
pub mod dialer;
pub mod login;
pub mod set_password;
pub mod status_bar;
