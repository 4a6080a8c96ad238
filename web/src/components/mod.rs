//! Thin views: each takes what it shows as props and reports clicks as callbacks.

pub mod call_panel;
pub mod dialer;
pub mod login;
pub mod status_bar;
