//! Settings for calls in this browser (issue 12): which microphone, camera, speaker and
//! ringtone output; notifications of calls ringing in the background.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::Cx;
use crate::i18n::Strings;
use crate::state::AppState;
use crate::state::media_devices::{DeviceKind, DeviceNotice};
use crate::state::notify::NotifyPermission;

/// A device notice in words.
pub fn device_notice_words(t: &Strings, n: &DeviceNotice) -> String {
    match n {
        DeviceNotice::Gone(DeviceKind::Microphone) => t.mic_gone.into(),
        DeviceNotice::Gone(DeviceKind::Camera) => t.camera_gone.into(),
        DeviceNotice::Gone(DeviceKind::Speaker) => t.speaker_gone.into(),
        DeviceNotice::Gone(DeviceKind::Ringer) => t.ringer_gone.into(),
        DeviceNotice::SwitchFailed(_, e) => (t.device_switch_failed)(&t.media_error(e)),
        DeviceNotice::SpeakerFailed(why) => (t.speaker_failed)(why),
        DeviceNotice::Denied => t.devices_denied.into(),
        DeviceNotice::Unsupported => t.devices_unsupported.into(),
    }
}

/// The devices section: a select per kind, the button that lets the browser name them.
pub fn devices(st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let b = &st.browser;
    let select = |kind: DeviceKind, label: &'static str, unnamed: &'static str| {
        let id = format!("{}-select", kind.as_str());
        let chosen = b.choices.get(kind).map(str::to_string);
        let choices = b.devices.choices(kind, unnamed);
        // A chosen device the browser does not list (unplugged, or not listed yet).
        let missing = chosen
            .clone()
            .filter(|c| !choices.iter().any(|(i, _)| i == c));
        let onchange = cx.choose_device.reform(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            (kind, Some(v).filter(|v| !v.is_empty()))
        });
        html! {
            <div class="field narrow">
                <label for={id.clone()}>{ label }</label>
                <select id={id} data-kind={kind.as_str()} {onchange}>
                    <option value="" selected={chosen.is_none()}>{ t.device_default }</option>
                    { for choices.iter().map(|(i, l)| html! {
                        <option value={i.clone()} selected={chosen.as_deref() == Some(i.as_str())}>{ l.clone() }</option>
                    }) }
                    if let Some(m) = missing {
                        <option value={m.clone()} selected=true>
                            { if b.devices.loaded { format!("{} ({})", t.device_default, t.device_not_connected) } else { "…".to_string() } }
                        </option>
                    }
                </select>
            </div>
        }
    };
    let notice = b.notice.as_ref().map(|n| device_notice_words(t, n));
    html! {
        <section id="device-settings" class="settings-section" aria-labelledby="devices-title">
            <h3 id="devices-title">{ t.devices_title }</h3>
            if b.devices.needs_permission() {
                <p class="hint">{ t.devices_allow_hint }</p>
                <button id="devices-allow" type="button" class="btn"
                    onclick={cx.allow_devices.reform(|_: MouseEvent| ())}>{ t.devices_allow }</button>
            }
            { select(DeviceKind::Microphone, t.mic_label, t.unnamed_mic) }
            { select(DeviceKind::Camera, t.camera_label, t.unnamed_camera) }
            if b.can_pick_speaker {
                { select(DeviceKind::Speaker, t.speaker_label, t.unnamed_output) }
            } else {
                <p id="speaker-hint" class="hint">{ t.speaker_unsupported_hint }</p>
            }
            if b.can_pick_ringer {
                { select(DeviceKind::Ringer, t.ringtone_label, t.unnamed_output) }
            } else {
                <p id="ringtone-hint" class="hint">{ t.ringtone_unsupported_hint }</p>
            }
            if let Some(n) = notice {
                <p id="devices-notice" class="notice" role="status">{ n }</p>
            }
        </section>
    }
}

/// The notifications section: the button that asks, and what the browser allows now.
pub fn notifications(st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let p = st.browser.notify;
    let words = match p {
        NotifyPermission::Default => t.notify_hint,
        NotifyPermission::Granted => t.notify_granted,
        NotifyPermission::Denied => t.notify_denied,
        NotifyPermission::Unsupported => t.notify_unsupported,
    };
    html! {
        <section id="notify-settings" class="settings-section" aria-labelledby="notify-title">
            <h3 id="notify-title">{ t.notify_title }</h3>
            <p id="notify-state" class={classes!("hint", (p == NotifyPermission::Denied).then_some("error"))}
                data-state={p.as_str()}>{ words }</p>
            if p == NotifyPermission::Default {
                <button id="notify-enable" type="button" class="btn"
                    onclick={cx.enable_notify.reform(|_: MouseEvent| ())}>{ t.notify_enable }</button>
            }
        </section>
    }
}
