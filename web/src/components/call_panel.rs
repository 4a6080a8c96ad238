//! The call panel: who, what state, the buttons that fit it, the videos and the stats.

use yew::prelude::*;

use crate::state::{Call, CallPhase, format_bytes, format_duration};

#[derive(Properties, PartialEq)]
pub struct CallPanelProps {
    pub call: Option<Call>,
    /// Why the last call ended (shown while idle).
    pub end_reason: Option<AttrValue>,
    /// `true` to answer with video.
    pub on_answer: Callback<bool>,
    /// Hang up, cancel or decline.
    pub on_hangup: Callback<()>,
    pub on_mute: Callback<()>,
    pub on_camera: Callback<()>,
}

#[function_component(CallPanel)]
pub fn call_panel(p: &CallPanelProps) -> Html {
    let state = p.call.as_ref().map_or("idle", |c| c.phase.data_state());
    let show_video = p
        .call
        .as_ref()
        .is_some_and(|c| c.phase == CallPhase::Connected && (c.video || c.offers_video));
    let show_local = p.call.as_ref().is_some_and(|c| c.video);
    html! {
        <section id="call-panel" class={classes!("card", "call-panel", state)} data-state={state} aria-live="polite">
            // The media elements come first and never move, so that the streams the phone
            // service attaches to them survive every re-render.
            <div class={classes!("media", (!show_video).then_some("audio-only"), (!show_local).then_some("no-local"))}>
                <video id="remote-video" autoplay=true playsinline=true></video>
                <video id="local-video" muted=true autoplay=true playsinline=true></video>
            </div>
            { match &p.call {
                None => idle(p),
                Some(call) => active(p, call),
            } }
        </section>
    }
}

fn idle(p: &CallPanelProps) -> Html {
    html! {
        <div class="call-idle">
            <p class="call-title">{ "No call" }</p>
            if let Some(reason) = &p.end_reason {
                <p class="end-reason">
                    <span class="end-label">{ "Last call: " }</span>
                    <span id="call-end-reason">{ reason }</span>
                </p>
            }
        </div>
    }
}

fn active(p: &CallPanelProps, call: &Call) -> Html {
    let title = match call.phase {
        CallPhase::Calling => "Calling…",
        CallPhase::Ringing => "Ringing…",
        CallPhase::Incoming if call.offers_video => "Incoming video call",
        CallPhase::Incoming => "Incoming call",
        CallPhase::Connected => "In call",
    };
    let hangup = |label: &'static str| {
        html! {
            <button id="hangup" type="button" class="btn btn-hangup"
                onclick={p.on_hangup.reform(|_: MouseEvent| ())}>{ label }</button>
        }
    };
    let buttons = match call.phase {
        CallPhase::Calling | CallPhase::Ringing => hangup("Cancel call"),
        CallPhase::Incoming => {
            let busy = call.answering;
            html! {
                <>
                    <button id="answer-audio" type="button" class="btn btn-call" disabled={busy}
                        onclick={p.on_answer.reform(|_: MouseEvent| false)}>
                        { if busy { "Answering…" } else { "Answer" } }
                    </button>
                    <button id="answer-video" type="button" class="btn btn-call" disabled={busy}
                        onclick={p.on_answer.reform(|_: MouseEvent| true)}>{ "Answer with video" }</button>
                    <button id="decline" type="button" class="btn btn-hangup"
                        onclick={p.on_hangup.reform(|_: MouseEvent| ())}>{ "Decline" }</button>
                </>
            }
        }
        CallPhase::Connected => html! {
            <>
                <button id="mute" type="button" class="btn btn-toggle" aria-pressed={bool_attr(call.muted)}
                    onclick={p.on_mute.reform(|_: MouseEvent| ())}>
                    { if call.muted { "Unmute" } else { "Mute" } }
                </button>
                if call.video {
                    <button id="camera" type="button" class="btn btn-toggle" aria-pressed={bool_attr(call.camera_off)}
                        onclick={p.on_camera.reform(|_: MouseEvent| ())}>
                        { if call.camera_off { "Camera on" } else { "Camera off" } }
                    </button>
                }
                { hangup("Hang up") }
            </>
        },
    };
    html! {
        <div class="call-active">
            <p class="call-title">{ title }</p>
            <p id="call-peer" class="call-peer">{ call.peer_label() }</p>
            if call.phase == CallPhase::Connected {
                <p class="call-duration">{ format_duration(call.duration_s) }</p>
            }
            <p id="call-stats" class="call-stats" data-rx-bytes={call.rx_bytes.to_string()}>
                if call.phase == CallPhase::Connected {
                    { format!("Received {}", format_bytes(call.rx_bytes)) }
                }
            </p>
            <div class="call-buttons">{ buttons }</div>
        </div>
    }
}

fn bool_attr(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}
