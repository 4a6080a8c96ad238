//! The call panel: who, what state, the buttons that fit it, the videos and the stats, for
//! the call one talks in (or the one ringing); with several calls, the list of them
//! (`#calls`), each with its own buttons: answer a waiting call, switch to a held one, hang
//! up one without touching the others.

use centrala_sip::ua::CallHandle;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::transfer::{self, XferCmd};
use crate::i18n::Strings;
use crate::model::{EndReason, Lang};
use crate::services::intl;
use crate::state::keypad::{KEYS, dtmf_digit, shown_digits};
use crate::state::transfer::TransferForm;
use crate::state::{Call, CallPhase, Forwarded, Tone, format_duration, forward_reason_str};

#[derive(Properties, PartialEq)]
pub struct CallPanelProps {
    /// The call shown first (see `AppState::call`).
    pub call: Option<Call>,
    /// Every call going on.
    #[prop_or_default]
    pub calls: Vec<Call>,
    #[prop_or_default]
    pub tone: Tone,
    /// Why the last call ended (shown while idle).
    pub end_reason: Option<EndReason>,
    /// Where the last call was forwarded (shown with its end reason).
    #[prop_or_default]
    pub end_forwarded: Option<Forwarded>,
    pub lang: Lang,
    /// Answer this call (`true`: with video).
    pub on_answer: Callback<(CallHandle, bool)>,
    /// Hang up, cancel or decline this call (`None`: the one being prepared).
    pub on_hangup: Callback<Option<CallHandle>>,
    /// Hold (`true`) or resume this call; resuming holds the others.
    pub on_hold: Callback<(CallHandle, bool)>,
    pub on_mute: Callback<()>,
    /// Turn our camera on or off (a renegotiation).
    pub on_camera: Callback<()>,
    /// Transfers: the box, blind, consult, complete (see [`transfer`]).
    #[prop_or_default]
    pub on_xfer: Callback<XferCmd>,
    #[prop_or_default]
    pub transfer_form: Option<TransferForm>,
    // Keypad, devices (issue 12)
    /// Open or close this call's keypad.
    #[prop_or_default]
    pub on_keypad: Callback<CallHandle>,
    /// Send this DTMF digit in this call.
    #[prop_or_default]
    pub on_dtmf: Callback<(CallHandle, char)>,
    /// Something about devices, in words (the chosen one is gone…).
    #[prop_or_default]
    pub device_notice: Option<AttrValue>,
    // Video and Meet & Share (issue 12)
    /// Start or stop sharing the screen.
    #[prop_or_default]
    pub on_share: Callback<()>,
}

#[function_component(CallPanel)]
pub fn call_panel(p: &CallPanelProps) -> Html {
    let state = p.call.as_ref().map_or("idle", Call::data_state);
    // Video and Meet & Share (issue 12): the layout follows what is sent and received.
    let connected = p.call.as_ref().filter(|c| c.phase == CallPhase::Connected);
    let remote_camera = connected.is_some_and(|c| c.remote_video);
    let remote_screen = connected.is_some_and(|c| c.remote_screen);
    let sharing = connected.is_some_and(|c| c.sharing);
    let show_local = connected.is_some_and(|c| c.video);
    let show_video = remote_camera || remote_screen || show_local || sharing;
    // Typing digits while the keypad is open sends them (not while typing in a field).
    {
        let open = p
            .call
            .as_ref()
            .filter(|c| c.keypad_open && c.phase == CallPhase::Connected)
            .and_then(|c| c.handle);
        let on_dtmf = p.on_dtmf.clone();
        use_effect_with(open, move |open| {
            let listener = open.and_then(|h| {
                let w = web_sys::window()?;
                Some(gloo_events::EventListener::new(&w, "keydown", move |e| {
                    let Some(e) = e.dyn_ref::<KeyboardEvent>() else {
                        return;
                    };
                    if e.ctrl_key() || e.meta_key() || e.alt_key() || e.repeat() {
                        return;
                    }
                    let typing = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        .is_some_and(|el| {
                            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                        });
                    if let Some(d) = dtmf_digit(&e.key()).filter(|_| !typing) {
                        e.prevent_default();
                        on_dtmf.emit((h, d));
                    }
                }))
            });
            move || drop(listener)
        });
    }
    html! {
        <section id="call-panel" class={classes!("card", "call-panel", state)} data-state={state}
            data-tone={p.tone.as_str()} aria-live="polite" aria-label={p.lang.t().call_panel_label}>
            // The media elements come first and never move, so that the streams the phone
            // service attaches to them survive every re-render.
            // The far end's screen (when shared) is the large view, its camera beside it.
            <div class={classes!("media", (!show_video).then_some("audio-only"), (!show_local).then_some("no-local"),
                    remote_screen.then_some("has-screen"), (!remote_camera).then_some("no-remote-camera"),
                    (!sharing).then_some("no-local-screen"))}
                data-remote-video={bool_attr(remote_camera)} data-remote-screen={bool_attr(remote_screen)}>
                <video id="remote-screen" muted=true autoplay=true playsinline=true
                    aria-label={p.lang.t().remote_screen_label}></video>
                <video id="remote-video" autoplay=true playsinline=true></video>
                <video id="local-video" muted=true autoplay=true playsinline=true></video>
                <video id="local-screen" muted=true autoplay=true playsinline=true></video>
            </div>
            { match &p.call {
                None => idle(p),
                Some(call) => active(p, call),
            } }
            if p.calls.len() > 1 {
                { list(p) }
            }
            if let Some(n) = &p.device_notice {
                <p id="device-notice" class="notice" role="status">{ n.clone() }</p>
            }
        </section>
    }
}

fn idle(p: &CallPanelProps) -> Html {
    let t = p.lang.t();
    html! {
        <div class="call-idle">
            <p class="call-title">{ t.no_call }</p>
            if let Some(reason) = &p.end_reason {
                <p id="call-status" class="end-reason">
                    <span class="end-label">{ t.last_call }</span>
                    if let Some(f) = &p.end_forwarded {
                        <span id="call-forwarded" class="call-forwarded">{ forwarded_words(t, f) }</span>{ " — " }
                    }
                    <span id="call-end-reason">{ t.end_reason(reason) }</span>
                </p>
            }
        </div>
    }
}

/// "Forwarded to Bob (102)", or "Call forwarded…" when the phone system named nobody.
fn forwarded_words(t: &Strings, f: &Forwarded) -> String {
    match &f.to {
        Some(to) => (t.fwd_to)(to),
        None => t.fwd_to_unknown.to_string(),
    }
}

fn active(p: &CallPanelProps, call: &Call) -> Html {
    let t = p.lang.t();
    let title = match (call.phase, &call.forwarded) {
        // The caller's status line says where the call went.
        (CallPhase::Calling | CallPhase::Ringing, Some(f)) => forwarded_words(t, f),
        (CallPhase::Calling, None) => t.calling.to_string(),
        (CallPhase::Ringing, None) => t.ringing_out.to_string(),
        (CallPhase::Incoming, _) if call.offers_video => t.incoming_video.to_string(),
        (CallPhase::Incoming, _) => t.incoming.to_string(),
        (CallPhase::Connected, _) if call.held => t.on_hold.to_string(),
        (CallPhase::Connected, _) if call.remote_held => t.held_by_peer.to_string(),
        (CallPhase::Connected, _) => t.in_call.to_string(),
    };
    let handle = call.handle;
    let hangup = |label: &'static str| {
        html! {
            <button id="hangup" type="button" class="btn btn-hangup"
                onclick={p.on_hangup.reform(move |_: MouseEvent| handle)}>{ label }</button>
        }
    };
    let call_held = call.held;
    let buttons = match call.phase {
        CallPhase::Calling | CallPhase::Ringing => hangup(t.cancel_call),
        CallPhase::Incoming => {
            let busy = call.answering;
            html! {
                <>
                    <button id="answer-audio" type="button" class="btn btn-call" disabled={busy || handle.is_none()}
                        onclick={p.on_answer.reform(move |_: MouseEvent| (handle.unwrap_or(CallHandle(0)), false))}>
                        { if busy { t.answering } else { t.answer } }
                    </button>
                    <button id="answer-video" type="button" class="btn btn-call" disabled={busy || handle.is_none()}
                        onclick={p.on_answer.reform(move |_: MouseEvent| (handle.unwrap_or(CallHandle(0)), true))}>{ t.answer_video }</button>
                    <button id="decline" type="button" class="btn btn-hangup"
                        onclick={p.on_hangup.reform(move |_: MouseEvent| handle)}>{ t.decline }</button>
                </>
            }
        }
        CallPhase::Connected => html! {
            <>
                if let Some(h) = handle {
                    <button id="hold" type="button" class="btn btn-toggle" data-held={bool_attr(call.held)}
                        aria-pressed={bool_attr(call.held)}
                        onclick={p.on_hold.reform(move |_: MouseEvent| (h, !call_held))}>
                        { if call.held { t.resume } else { t.hold } }
                    </button>
                }
                <button id="mute" type="button" class="btn btn-toggle" aria-pressed={bool_attr(call.muted)}
                    onclick={p.on_mute.reform(|_: MouseEvent| ())}>
                    { if call.muted { t.unmute } else { t.mute } }
                </button>
                // Video and Meet & Share (issue 12): each waits while a change is under way.
                <button id="camera" type="button" class="btn btn-toggle" aria-pressed={bool_attr(call.video)}
                    disabled={call.video_busy} data-busy={bool_attr(call.video_busy)}
                    onclick={p.on_camera.reform(|_: MouseEvent| ())}>
                    { if call.video { t.camera_off } else { t.camera_on } }
                </button>
                <button id="share-screen" type="button" class="btn btn-toggle" aria-pressed={bool_attr(call.sharing)}
                    disabled={call.video_busy} onclick={p.on_share.reform(|_: MouseEvent| ())}>
                    { if call.sharing { t.stop_sharing } else { t.share_screen } }
                </button>
                // Keypad (issue 12)
                if let Some(h) = handle {
                    <button id="keypad-toggle" type="button" class="btn btn-toggle"
                        aria-expanded={bool_attr(call.keypad_open)} aria-controls="call-keypad"
                        onclick={p.on_keypad.reform(move |_: MouseEvent| h)}>
                        { if call.keypad_open { t.keypad_hide } else { t.keypad_show } }
                    </button>
                }
                { hangup(t.hang_up) }
            </>
        },
    };
    // A contact dropped on a connected call transfers it there.
    let (ondragover, ondrop) = transfer::drop_handlers(call, &p.on_xfer);
    let xfer = transfer::controls(t, call, &p.calls, p.transfer_form.as_ref(), &p.on_xfer);
    html! {
        <div class="call-active" data-drop={call.can_transfer().then_some("call")} {ondragover} {ondrop}>
            <p id="call-status" class="call-title" data-forwarded={call.forwarded.is_some().to_string()}>{ title }</p>
            <p id="call-peer" class="call-peer">
                if let Some(name) = call.peer_name() {
                    <span class="peer-name">{ name.to_string() }</span>{ " " }
                    <span class="peer-number">{ call.peer.clone() }</span>
                } else {
                    <span class="peer-name">{ call.peer.clone() }</span>
                }
            </p>
            if let Some((from, reason)) = &call.diverted_from {
                <p id="incoming-diverted" class="call-stats" data-reason={forward_reason_str(*reason)}>{ (t.fwd_from)(from) }</p>
            }
            if let Some(f) = call.forwarded.as_ref().filter(|_| call.phase == CallPhase::Connected) {
                <p id="call-forwarded" class="call-stats">{ forwarded_words(t, f) }</p>
            }
            if call.phase == CallPhase::Connected {
                <p class="call-duration">{ format_duration(call.duration_s) }</p>
            }
            <p id="call-stats" class="call-stats" data-call={call.data_id()} data-rx-bytes={call.rx_bytes.to_string()}
                data-audio-rx={call.video_stats.audio_rx.to_string()} data-video-in={call.video_stats.camera_in.to_string()}
                data-screen-in={call.video_stats.screen_in.to_string()} data-video-out={call.video_stats.video_out.to_string()}>
                if call.phase == CallPhase::Connected {
                    { (t.received)(&intl::bytes(p.lang, call.rx_bytes)) }
                }
            </p>
            if let Some(problem) = call.video_problem.as_ref().filter(|_| call.phase == CallPhase::Connected) {
                <p id="video-problem" class="call-problem" role="alert">{ problem.words(t) }</p>
            }
            if call.video_busy {
                <p id="video-busy" class="call-stats">{ t.video_busy }</p>
            }
            <div class="call-buttons">{ buttons }</div>
            { xfer }
            if call.phase == CallPhase::Connected && call.keypad_open {
                { keypad(p, call) }
            }
        </div>
    }
}

/// Every call going on, each with what can be done to it.
fn list(p: &CallPanelProps) -> Html {
    let t = p.lang.t();
    let shown = p.call.as_ref().map(|c| c.handle);
    html! {
        <ul id="calls" class="call-list" aria-label={t.calls_label}>
            { for p.calls.iter().map(|c| {
                let handle = c.handle;
                let name = c.peer_name().map_or_else(|| c.peer.clone(), |n| format!("{n} ({})", c.peer));
                let label = match c.phase {
                    CallPhase::Incoming if c.waiting => (t.waiting_from)(&name),
                    CallPhase::Incoming => format!("{} — {name}", t.incoming),
                    CallPhase::Calling => format!("{} — {name}", t.calling),
                    CallPhase::Ringing => format!("{} — {name}", t.ringing_out),
                    CallPhase::Connected if c.held => format!("{} — {name}", t.on_hold),
                    CallPhase::Connected if c.remote_held => format!("{} — {name}", t.held_by_peer),
                    CallPhase::Connected => format!("{} — {name}", t.in_call),
                };
                let current = Some(handle) == shown;
                html! {
                    <li class={classes!("call", current.then_some("current"))} data-id={c.data_id()}
                        data-state={c.data_state()} data-rx-bytes={c.rx_bytes.to_string()}>
                        <span class="call-label">{ label }</span>
                        if let Some(h) = handle {
                            if c.phase == CallPhase::Incoming {
                                <button type="button" class="btn btn-small btn-call call-answer" disabled={c.answering}
                                    onclick={p.on_answer.reform(move |_: MouseEvent| (h, false))}>{ t.answer }</button>
                            } else if c.phase == CallPhase::Connected && (c.held || !current) {
                                <button type="button" class="btn btn-small btn-toggle call-switch"
                                    onclick={p.on_hold.reform(move |_: MouseEvent| (h, false))}>{ t.switch_call }</button>
                            }
                        }
                        <button type="button" class="btn btn-small btn-hangup call-hangup"
                            onclick={p.on_hangup.reform(move |_: MouseEvent| handle)}>
                            { if c.phase == CallPhase::Incoming { t.decline } else { t.hang_up } }
                        </button>
                    </li>
                }
            }) }
        </ul>
    }
}

fn bool_attr(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The in-call dial pad: its keys send DTMF; the digits sent so far; why none can be sent.
fn keypad(p: &CallPanelProps, call: &Call) -> Html {
    let t = p.lang.t();
    let Some(h) = call.handle else {
        return Html::default();
    };
    html! {
        <div id="call-keypad" class="call-keypad" role="group" aria-label={t.keypad_label}>
            <div class="keypad-keys">
                { for KEYS.iter().map(|&d| html! {
                    <button type="button" class="dialpad-key key" data-digit={d.to_string()}
                        aria-label={(t.dial_key)(d)}
                        onclick={p.on_dtmf.reform(move |_: MouseEvent| (h, d))}>
                        <span class="digit">{ d.to_string() }</span>
                    </button>
                }) }
            </div>
            <p class="dtmf-sent">
                <span class="dtmf-label">{ t.dtmf_sent_label }</span>{ " " }
                <output id="dtmf-sent" data-digits={call.dtmf_sent.clone()}>{ shown_digits(&call.dtmf_sent, 24) }</output>
            </p>
            if call.dtmf_unavailable {
                <p id="dtmf-error" class="error" role="alert">{ t.dtmf_unavailable }</p>
            }
            if call.dtmf_sent.ends_with("*8") {
                <p id="move-hint" class="hint" role="status">{ t.move_hint }</p>
            }
        </div>
    }
}
