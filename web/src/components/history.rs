//! The call history: outgoing, incoming and missed calls; click or Enter calls back.

use yew::prelude::*;

use super::{Cx, icons};
use crate::i18n::Strings;
use crate::model::{Direction, HistoryItem};
use crate::services::intl;
use crate::state::{Action, AppState};

pub fn view(st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let h = &st.history;
    let onkeydown = {
        let (d, call, selected, can_call) = (
            cx.dispatch.clone(),
            cx.call.clone(),
            h.selected
                .and_then(|id| h.items.iter().find(|i| i.id == id))
                .map(|i| i.callback_target().to_string()),
            st.can_call(),
        );
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "ArrowDown" | "ArrowUp" => {
                e.prevent_default();
                d.emit(Action::HistoryMove(e.key() == "ArrowDown"));
            }
            "Enter" => {
                let tag = e
                    .target()
                    .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                    .map(|el| el.tag_name())
                    .unwrap_or_default();
                if tag != "BUTTON"
                    && can_call
                    && let Some(target) = &selected
                {
                    e.prevent_default();
                    call.emit((target.clone(), false));
                }
            }
            _ => {}
        })
    };
    let body = if !h.loaded {
        html! { <p class="hint" aria-busy="true">{ t.loading }</p> }
    } else if h.items.is_empty() {
        html! { <p id="history-empty" class="hint">{ t.history_empty }</p> }
    } else {
        html! {
            <div class="table-wrap">
                <table id="history" class="table history" aria-label={t.history_title} tabindex="0"
                    aria-activedescendant={h.selected.map(|id| format!("call-{id}"))}>
                    <thead><tr>
                        <th scope="col">{ t.col_direction }</th>
                        <th scope="col">{ t.col_name }</th>
                        <th scope="col">{ t.col_time }</th>
                        <th scope="col">{ t.col_duration }</th>
                        <th scope="col">{ t.col_outcome }</th>
                        <th scope="col"><span class="visually-hidden">{ t.col_actions }</span></th>
                    </tr></thead>
                    <tbody>{ for h.items.iter().map(|i| row(i, h.selected == Some(i.id), st, cx)) }</tbody>
                </table>
            </div>
        }
    };
    html! {
        <section id="history-view" class="card view" aria-labelledby="history-title" {onkeydown}>
            <div class="view-head"><h2 id="history-title">{ t.history_title }</h2></div>
            if let Some(e) = &h.error {
                <p class="error" role="alert">{ e.clone() }</p>
            }
            { body }
            if h.more {
                <button id="history-more" type="button" class="btn btn-quiet" disabled={h.loading}
                    onclick={cx.load_more_history.reform(|_: MouseEvent| ())}>{ t.load_more }</button>
            }
        </section>
    }
}

/// A forwarded call's line under the peer: "forwarded to Bob (102) — no answer" for a call
/// my rules sent away, "forwarded from Anna (101)" for one forwarded to me.
fn forwarding(i: &HistoryItem, t: &Strings) -> Html {
    let why = t.diversion(i.diversion.as_deref());
    if i.direction == Direction::Forwarded {
        let to = i.forwarded_to().unwrap_or_else(|| "?".into());
        return html! {
            <span class="org h-forward" data-to={i.forwarded_to_number.clone()} data-why={i.diversion.clone()}>
                { (t.hist_forwarded_to)(&to, why) }
            </span>
        };
    }
    match i.diverted_from() {
        Some(from) => html! {
            <span class="org h-diverted" data-from={i.diverted_from_number.clone()} data-why={i.diversion.clone()}>
                { (t.hist_forwarded_from)(&from, why) }
            </span>
        },
        None => Html::default(),
    }
}

fn row(i: &HistoryItem, selected: bool, st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let lang = st.lang;
    let (icon, kind) = match (i.direction, i.missed) {
        (Direction::Forwarded, _) => (icons::forwarded(), "forwarded"),
        (_, true) => (icons::missed(), "missed"),
        (Direction::Outgoing, _) => (icons::outgoing(), "outgoing"),
        (Direction::Incoming, _) => (icons::incoming(), "incoming"),
    };
    let id = i.id;
    let target = i.callback_target().to_string();
    let label = i.peer_label().to_string();
    let can_call = st.can_call() && !target.is_empty();
    let onclick = cx
        .dispatch
        .reform(move |_: MouseEvent| Action::HistorySelect(id));
    let ondblclick = {
        let (call, target) = (cx.call.clone(), target.clone());
        Callback::from(move |_: MouseEvent| {
            if can_call {
                call.emit((target.clone(), false))
            }
        })
    };
    let number = if i.peer_name.is_some() {
        i.peer_extension
            .clone()
            .unwrap_or_else(|| i.peer_number.clone())
    } else {
        String::new()
    };
    html! {
        <tr id={format!("call-{id}")} class={classes!("call-row", kind, selected.then_some("selected"))}
            data-kind={kind} data-outcome={i.outcome.as_str()} data-peer={target.clone()}
            aria-selected={selected.to_string()} {onclick} {ondblclick}>
            <td class="h-kind"><span class={classes!("call-icon", kind)} aria-hidden="true">{ icon }</span>
                <span class="kind-text">{ t.direction(i.direction, i.missed) }</span></td>
            <th scope="row" class="h-peer"><span class="name">{ label.clone() }</span>
                if !number.is_empty() { <span class="org">{ number }</span> }
                { forwarding(i, t) }</th>
            <td class="h-time"><time datetime={intl::iso(i.started_ms)}>{ intl::date_time(lang, i.started_ms) }</time></td>
            <td class="h-duration">{ if i.answered_ms.is_some() || i.duration_s > 0 { intl::duration(lang, i.duration_s) } else { "—".into() } }</td>
            <td class="h-outcome">{ t.outcome(i.outcome) }</td>
            <td class="h-actions">
                <button type="button" class="btn btn-small btn-call call-back" disabled={!can_call}
                    aria-label={(t.call_back)(&label)} title={(t.call_back)(&label)}
                    onclick={cx.call.reform(move |_: MouseEvent| (target.clone(), false))}>{ icons::phone() }</button>
            </td>
        </tr>
    }
}
