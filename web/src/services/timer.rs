//! One re-armable browser timer (`setTimeout`) around one long-lived callback.

use std::cell::Cell;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// A single timer: `arm` replaces any earlier deadline; dropping it cancels.
pub struct Timer {
    callback: Closure<dyn FnMut()>,
    handle: Cell<Option<i32>>,
    deadline: Cell<Option<u64>>,
}

impl Timer {
    pub fn new(f: impl FnMut() + 'static) -> Timer {
        Timer {
            callback: Closure::new(f),
            handle: Cell::new(None),
            deadline: Cell::new(None),
        }
    }

    /// Fires the callback at `deadline` (same clock as `now`, milliseconds). Arming the same
    /// deadline again changes nothing.
    pub fn arm(&self, deadline: u64, now: u64) {
        if self.deadline.get() == Some(deadline) && self.handle.get().is_some() {
            return;
        }
        self.cancel();
        let delay = deadline.saturating_sub(now).min(i32::MAX as u64) as i32;
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(id) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            self.callback.as_ref().unchecked_ref(),
            delay,
        ) {
            self.handle.set(Some(id));
            self.deadline.set(Some(deadline));
        }
    }

    pub fn cancel(&self) {
        if let Some(id) = self.handle.take()
            && let Some(window) = web_sys::window()
        {
            window.clear_timeout_with_handle(id);
        }
        self.deadline.set(None);
    }

    /// Call at the start of the callback: the timer is no longer armed.
    pub fn fired(&self) {
        self.handle.set(None);
        self.deadline.set(None);
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}
