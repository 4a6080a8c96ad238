//! The IO shell: everything that talks to the browser. The reducer in [`crate::state`] never
//! does; these modules turn sockets, timers and media into its actions.

pub mod api;
pub mod browser;
pub mod devices;
pub mod intl;
pub mod media;
pub mod notify;
pub mod phone;
pub mod recorder;
pub mod ringtone;
pub mod timer;
