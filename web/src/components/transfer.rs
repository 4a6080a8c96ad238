//! The call panel's transfer controls: the "Transfer" box (type a number: transfer now, or
//! talk first), the consultation's "Complete transfer" / "Back to the caller", the
//! transfer's progress, and dropping a contact onto the call (a blind transfer).

use centrala_sip::ua::{CallHandle, TransferProgress};
use web_sys::{DragEvent, HtmlInputElement};
use yew::prelude::*;

use crate::i18n::Strings;
use crate::model::EndReason;
use crate::state::transfer::{TransferForm, dropped_target, progress_str};
use crate::state::{Call, CallPhase};

/// What the transfer controls ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XferCmd {
    Open(CallHandle),
    Input(String),
    Close,
    /// Transfer the call to this number now.
    Blind(CallHandle, String),
    /// Call this number first, about the call.
    Consult(CallHandle, String),
    /// Connect the held call (first) with the consultation (second).
    Complete(CallHandle, CallHandle),
    /// End the consultation and go back to the held call.
    Back(CallHandle),
}

/// The drag-and-drop type a contact row carries (its number, as `text/plain` too).
pub const DRAG_TYPE: &str = "application/x-centrala-number";

/// Makes `call`'s area a drop target: a contact dropped on a connected call transfers it.
pub fn drop_handlers(
    call: &Call,
    on_xfer: &Callback<XferCmd>,
) -> (Callback<DragEvent>, Callback<DragEvent>) {
    let target = call.can_transfer().then_some(call.handle).flatten();
    let ondragover = Callback::from(move |e: DragEvent| {
        if target.is_some() {
            e.prevent_default(); // allows the drop
        }
    });
    let on_xfer = on_xfer.clone();
    let ondrop = Callback::from(move |e: DragEvent| {
        let Some(h) = target else { return };
        e.prevent_default();
        let text = e.data_transfer().and_then(|d| {
            d.get_data(DRAG_TYPE)
                .ok()
                .filter(|s| !s.is_empty())
                .or_else(|| d.get_data("text/plain").ok())
        });
        if let Some(number) = text.as_deref().and_then(dropped_target) {
            on_xfer.emit(XferCmd::Blind(h, number));
        }
    });
    (ondragover, ondrop)
}

/// The transfer part of the panel for `call` (the one shown), given every call.
pub fn controls(
    t: &'static Strings,
    call: &Call,
    calls: &[Call],
    form: Option<&TransferForm>,
    on_xfer: &Callback<XferCmd>,
) -> Html {
    let Some(h) = call.handle else {
        return html! {};
    };
    let consult_of = call
        .xfer
        .consult_for
        .and_then(|o| calls.iter().find(|c| c.handle == Some(o)));
    let status = call.xfer.ours.as_ref().map(|(to, p)| {
        let words = match p {
            TransferProgress::Requested | TransferProgress::Accepted => {
                format!("{} {to}…", t.xfer_requested)
            }
            TransferProgress::Ringing => format!("{} {to}…", t.xfer_ringing),
            TransferProgress::Done => format!("{} {to}", t.xfer_done),
            TransferProgress::Failed { status, reason } => {
                let why = match status {
                    Some(code) => t.end_reason(&EndReason::Status {
                        code: *code,
                        words: reason.clone(),
                    }),
                    None => reason.clone(),
                };
                format!("{}: {why}", t.xfer_failed)
            }
        };
        html! {
            <p id="transfer-status" class="call-stats" role="status" data-progress={progress_str(p)}>{ words }</p>
        }
    });
    let away = call.xfer.away_to.as_ref().map(|to| {
        html! { <p id="transfer-away" class="call-stats" role="status">{ format!("{} {to}", t.xfer_away) }</p> }
    });
    let dtmf = (!call.xfer.dtmf_received.is_empty()).then(|| {
        html! {
            <p id="dtmf-received" class="call-stats" data-digits={call.xfer.dtmf_received.clone()}>
                { format!("{}: {}", t.dtmf_received_label, call.xfer.dtmf_received) }
            </p>
        }
    });
    let consult = match consult_of {
        Some(original) if call.phase == CallPhase::Connected => {
            let o = original.handle;
            let ready = original.can_transfer();
            html! {
                <div id="consultation" class="transfer-consult">
                    <p class="call-stats">{ format!("{} {}", t.xfer_consulting, original.peer_words()) }</p>
                    <button id="complete-transfer" type="button" class="btn btn-call" disabled={!ready}
                        onclick={on_xfer.reform(move |_: MouseEvent| XferCmd::Complete(o.unwrap_or(CallHandle(0)), h))}>
                        { t.xfer_complete }
                    </button>
                    <button id="cancel-consult" type="button" class="btn btn-quiet"
                        onclick={on_xfer.reform(move |_: MouseEvent| XferCmd::Back(h))}>{ t.xfer_back }</button>
                </div>
            }
        }
        Some(_) => {
            // Still ringing: hanging up goes back as well.
            html! {
                <div id="consultation" class="transfer-consult">
                    <button id="cancel-consult" type="button" class="btn btn-quiet"
                        onclick={on_xfer.reform(move |_: MouseEvent| XferCmd::Back(h))}>{ t.xfer_back }</button>
                </div>
            }
        }
        None => html! {},
    };
    let open_form = form.filter(|f| f.call == h);
    let form_html = match open_form {
        Some(f) => {
            let target = f.target.trim().to_string();
            let valid = dropped_target(&target).is_some();
            let (t1, t2) = (target.clone(), target);
            let onkeydown = {
                let (on_xfer, t3) = (on_xfer.clone(), t1.clone());
                Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
                    "Enter" if valid => on_xfer.emit(XferCmd::Blind(h, t3.clone())),
                    "Escape" => on_xfer.emit(XferCmd::Close),
                    _ => {}
                })
            };
            html! {
                <div id="transfer-form" class="transfer-form" role="group" aria-label={t.xfer_button}>
                    <label for="transfer-target">{ t.xfer_target_label }</label>
                    <input id="transfer-target" type="text" inputmode="tel" autocomplete="off" value={f.target.clone()}
                        oninput={on_xfer.reform(|e: InputEvent| XferCmd::Input(e.target_unchecked_into::<HtmlInputElement>().value()))}
                        {onkeydown} />
                    if !valid && !f.target.trim().is_empty() {
                        <p class="hint" role="alert">{ t.xfer_invalid }</p>
                    }
                    <div class="call-buttons">
                        <button id="transfer-blind" type="button" class="btn btn-call" disabled={!valid}
                            onclick={on_xfer.reform(move |_: MouseEvent| XferCmd::Blind(h, t1.clone()))}>{ t.xfer_blind }</button>
                        <button id="transfer-consult" type="button" class="btn" disabled={!valid}
                            onclick={on_xfer.reform(move |_: MouseEvent| XferCmd::Consult(h, t2.clone()))}>{ t.xfer_consult }</button>
                        <button id="transfer-close" type="button" class="btn btn-quiet"
                            onclick={on_xfer.reform(|_: MouseEvent| XferCmd::Close)}>{ t.xfer_close }</button>
                    </div>
                    <p class="hint">{ t.xfer_drop_hint }</p>
                </div>
            }
        }
        None if call.can_transfer() && consult_of.is_none() => html! {
            <button id="transfer" type="button" class="btn btn-toggle" title={t.xfer_drop_hint}
                onclick={on_xfer.reform(move |_: MouseEvent| XferCmd::Open(h))}>{ t.xfer_button }</button>
        },
        None => html! {},
    };
    html! {
        <div class="transfer">
            { for status }
            { for away }
            { for dtmf }
            { consult }
            { form_html }
        </div>
    }
}
