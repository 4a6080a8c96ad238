//! The number field, the dial pad and the call buttons.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::icons;
use crate::model::Lang;

const KEYS: [(char, &str); 12] = [
    ('1', ""),
    ('2', "ABC"),
    ('3', "DEF"),
    ('4', "GHI"),
    ('5', "JKL"),
    ('6', "MNO"),
    ('7', "PQRS"),
    ('8', "TUV"),
    ('9', "WXYZ"),
    ('*', ""),
    ('0', "+"),
    ('#', ""),
];

#[derive(Properties, PartialEq)]
pub struct DialerProps {
    pub value: AttrValue,
    /// Registered and idle.
    pub can_call: bool,
    pub lang: Lang,
    pub on_input: Callback<String>,
    pub on_digit: Callback<char>,
    pub on_backspace: Callback<()>,
    /// The number as the field shows it, and `true` for a video call.
    pub on_call: Callback<(String, bool)>,
}

#[function_component(Dialer)]
pub fn dialer(p: &DialerProps) -> Html {
    let t = p.lang.t();
    let input = use_node_ref();
    // The field's own value (what the user sees), even if it was filled without input events.
    let call = |video: bool| {
        let (input, on_call) = (input.clone(), p.on_call.clone());
        move || {
            let number = input
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            if number.trim().is_empty() {
                if let Some(i) = input.cast::<HtmlInputElement>() {
                    let _ = i.focus();
                }
            } else {
                on_call.emit((number.trim().to_string(), video));
            }
        }
    };
    let oninput = p
        .on_input
        .reform(|e: InputEvent| e.target_unchecked_into::<HtmlInputElement>().value());
    let onkeydown = {
        let (call, can_call) = (call(false), p.can_call);
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" && can_call {
                e.prevent_default();
                call();
            }
        })
    };
    let keys = KEYS.iter().map(|&(digit, letters)| {
        let onclick = p.on_digit.reform(move |_: MouseEvent| digit);
        html! {
            <button type="button" class="dialpad-key" data-digit={digit.to_string()} {onclick}
                aria-label={(t.dial_key)(digit)}>
                <span class="digit">{ digit }</span>
                <span class="letters">{ letters }</span>
            </button>
        }
    });
    html! {
        <section class="card dialer" aria-label={t.dialer_label}>
            <div class="dial-row">
                <label for="dial-input" class="visually-hidden">{ t.dial_label }</label>
                <input id="dial-input" type="text" inputmode="tel" autocomplete="off" spellcheck="false"
                    placeholder={t.dial_placeholder} ref={input.clone()} value={p.value.clone()} {oninput} {onkeydown} />
                <button type="button" class="btn btn-quiet backspace" aria-label={t.dial_delete}
                    disabled={p.value.is_empty()} onclick={p.on_backspace.reform(|_: MouseEvent| ())}>
                    { icons::backspace() }
                </button>
            </div>
            <div class="dialpad">{ for keys }</div>
            <div class="call-buttons">
                <button id="call-audio" type="button" class="btn btn-call" disabled={!p.can_call}
                    onclick={let c = call(false); move |_: MouseEvent| c()}>{ t.call_audio }</button>
                <button id="call-video" type="button" class="btn btn-call" disabled={!p.can_call}
                    onclick={let c = call(true); move |_: MouseEvent| c()}>{ t.call_video }</button>
            </div>
        </section>
    }
}
