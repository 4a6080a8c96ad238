//! Thin views: each takes what it shows as props (or the state) and reports clicks as
//! callbacks.

pub mod admin;
pub mod call_panel;
pub mod call_settings;
pub mod calling;
pub mod contacts;
pub mod costs;
pub mod devices;
pub mod dialer;
pub mod history;
pub mod icons;
pub mod login;
pub mod routing;
pub mod set_password;
pub mod shell;
pub mod status_bar;
pub mod transfer;
pub mod voicemail;

use yew::Callback;

use crate::model::{Lang, MyStatus};
use crate::state::Action;
use crate::state::contacts::RowKey;

/// What the logged-in screens can ask for: the reducer, and the requests and calls the
/// root performs.
#[derive(Clone)]
pub struct Cx {
    pub dispatch: Callback<Action>,
    /// Call a number or extension (`true`: video).
    pub call: Callback<(String, bool)>,
    pub favourite: Callback<(RowKey, bool)>,
    /// Save the open contact form.
    pub save_contact: Callback<()>,
    /// Remove a phone-book contact (id, name for the question).
    pub remove_contact: Callback<(i64, String)>,
    pub import: Callback<web_sys::File>,
    pub load_more_history: Callback<()>,
    pub set_lang: Callback<Lang>,
    /// Turn call waiting on or off (kept in this browser).
    pub set_call_waiting: Callback<bool>,
    pub set_status: Callback<MyStatus>,
    // Keypad, devices, notifications (issue 12)
    /// Use this device for this kind (`None`: the default), now and from now on.
    pub choose_device: Callback<(crate::state::media_devices::DeviceKind, Option<String>)>,
    /// Let the browser name the devices (asks for the microphone once).
    pub allow_devices: Callback<()>,
    /// Ask for permission to notify of calls in the background.
    pub enable_notify: Callback<()>,
}
