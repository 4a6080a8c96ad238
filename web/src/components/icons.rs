//! Small inline SVG icons (24×24, stroked in `currentColor`), so buttons do not depend on an
//! emoji font: without one (headless Chromium, many Linux desktops) emoji render as empty
//! boxes. Each icon is decorative (`aria-hidden`); the button or text next to it carries the
//! name. Sized by CSS (`.icon`, 1.1em), so it follows the font size and text colour.

use yew::prelude::*;

/// The `<svg>` frame every icon shares.
fn svg(name: &'static str, body: Html) -> Html {
    html! {
        <svg class={classes!("icon", format!("icon-{name}"))} viewBox="0 0 24 24" fill="none"
            stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"
            aria-hidden="true" focusable="false">
            { body }
        </svg>
    }
}

/// A person: the contacts (phone) section.
pub fn contacts() -> Html {
    svg(
        "contacts",
        html! { <>
            <circle cx="12" cy="8" r="4" />
            <path d="M4 21a8 8 0 0 1 16 0" />
        </> },
    )
}

/// A clock: call history.
pub fn history() -> Html {
    svg(
        "history",
        html! { <>
            <circle cx="12" cy="12" r="9" />
            <path d="M12 7v5l3 2" />
        </> },
    )
}

/// A grid of keys: the dial pad.
pub fn dialpad() -> Html {
    let keys = [
        (6, 4),
        (12, 4),
        (18, 4),
        (6, 9),
        (12, 9),
        (18, 9),
        (6, 14),
        (12, 14),
        (18, 14),
        (12, 19),
    ];
    svg(
        "dialpad",
        html! { <g fill="currentColor" stroke="none">
            { for keys.iter().map(|(x, y)| html! { <circle cx={x.to_string()} cy={y.to_string()} r="1.6" /> }) }
        </g> },
    )
}

/// A gear: settings.
pub fn settings() -> Html {
    svg(
        "settings",
        html! { <>
            <path d="M19.39 10.23L21.91 10.67L21.91 13.33L19.39 13.77L18.48 15.97L19.95 18.07L18.07 19.95L15.97 18.48L13.77 19.39L13.33 21.91L10.67 21.91L10.23 19.39L8.03 18.48L5.93 19.95L4.05 18.07L5.52 15.97L4.61 13.77L2.09 13.33L2.09 10.67L4.61 10.23L5.52 8.03L4.05 5.93L5.93 4.05L8.03 5.52L10.23 4.61L10.67 2.09L13.33 2.09L13.77 4.61L15.97 5.52L18.07 4.05L19.95 5.93L18.48 8.03Z" />
            <circle cx="12" cy="12" r="3" />
        </> },
    )
}

/// A shield: the admin panel.
pub fn admin() -> Html {
    svg(
        "admin",
        html! { <>
            <path d="M12 3l8 3v6c0 4.5-3.4 7.8-8 9c-4.6-1.2-8-4.5-8-9V6z" />
            <path d="M9 12l2 2l4-4" />
        </> },
    )
}

/// The handset outline, shared by `phone` and `missed`.
const HANDSET: &str = "M5 4h3.5l2 5l-2.5 1.5a11 11 0 0 0 5.5 5.5l1.5-2.5l5 2V19a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z";

/// A telephone handset: an audio call.
pub fn phone() -> Html {
    svg("phone", html! { <path d={HANDSET} /> })
}

/// A video camera: a video call.
pub fn video() -> Html {
    svg(
        "video",
        html! { <>
            <rect x="2" y="6" width="13" height="12" rx="2" />
            <path d="M15 10.5l6-3.5v10l-6-3.5z" />
        </> },
    )
}

/// An arrow out (up and right): an outgoing call.
pub fn outgoing() -> Html {
    svg("outgoing", html! { <path d="M7 17L17 7M9 7h8v8" /> })
}

/// An arrow in (down and left): an incoming call.
pub fn incoming() -> Html {
    svg("incoming", html! { <path d="M17 7L7 17M15 17H7V9" /> })
}

/// A handset with a cross: a missed call.
pub fn missed() -> Html {
    svg(
        "missed",
        html! { <>
            <path d={HANDSET} />
            <path d="M16 3l5 5M21 3l-5 5" />
        </> },
    )
}

/// A star, filled when `on`: a favourite.
pub fn star(on: bool) -> Html {
    html! {
        <svg class={classes!("icon", "icon-star", on.then_some("on"))} viewBox="0 0 24 24"
            fill={if on { "currentColor" } else { "none" }} stroke="currentColor" stroke-width="2"
            stroke-linejoin="round" aria-hidden="true" focusable="false">
            <path d="M12 2.8L14.47 9.4L21.51 9.71L15.99 14.1L17.88 20.89L12 17L6.12 20.89L8.01 14.1L2.49 9.71L9.53 9.4Z" />
        </svg>
    }
}

/// A cross: remove.
pub fn close() -> Html {
    svg("close", html! { <path d="M6 6l12 12M18 6L6 18" /> })
}

/// A key with a cross: delete the last digit.
pub fn backspace() -> Html {
    svg(
        "backspace",
        html! { <>
            <path d="M9 5h11a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-7-7z" />
            <path d="M12 9l6 6M18 9l-6 6" />
        </> },
    )
}

/// A screen with a stand: a browser (the devices list, and the devices section).
pub fn browser() -> Html {
    svg(
        "browser",
        html! { <>
            <rect x="3" y="4" width="18" height="12" rx="2" />
            <path d="M8 20h8M12 16v4" />
        </> },
    )
}

/// A desk phone: a SIP phone or app in the devices list.
pub fn desk_phone() -> Html {
    svg(
        "desk-phone",
        html! { <>
            <rect x="4" y="9" width="16" height="11" rx="2" />
            <path d="M7 9V5a2 2 0 0 1 2-2h6a2 2 0 0 1 2 2v4" />
            <path d="M9 13h1M14 13h1M9 16h1M14 16h1" />
        </> },
    )
}

/// An arrow bending away: a call forwarded (history).
pub fn forwarded() -> Html {
    svg(
        "forwarded",
        html! { <path d="M4 18v-4a5 5 0 0 1 5-5h11M16 5l4 4-4 4" /> },
    )
}
