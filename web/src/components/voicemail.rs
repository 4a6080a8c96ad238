//! The voicemail page: one's messages (play in the page, download, mark heard, delete) and
//! the greetings per situation (record with the microphone, listen, back to the built-in
//! one). Its state is [`crate::state::voicemail`].
//!
//! Ids and classes: `#voicemail-view`, `#voicemail` with rows `.vm[data-id][data-heard]`
//! (`.vm-play` an `<audio>`, `.vm-download`, `.vm-heard`, `.vm-delete`), `#voicemail-empty`,
//! `#voicemail-error`; `#greetings` with `.greeting[data-situation][data-recorded]`
//! (`.greeting-record`, `.greeting-stop`, `.greeting-play` an `<audio>`, `.greeting-remove`);
//! the PIN for listening from another phone: `#vm-pin-form[data-set]` with `#vm-pin`,
//! `#vm-pin-save`, `#vm-pin-remove`, `#vm-pin-status`, `#vm-pin-error`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::i18n::Strings;
use crate::model::Lang;
use crate::services::api::{self, Reply};
use crate::services::intl;
use crate::services::recorder::{RecordError, Recording, bytes_to_js};
use crate::state::voicemail::{
    SITUATIONS, VoicemailAction, VoicemailState, greeting_of, greetings_of, messages_of,
};

#[derive(Properties, PartialEq)]
pub struct VoicemailProps {
    pub lang: Lang,
    /// The count of new messages changed (for the menu's badge).
    pub on_new_count: Callback<usize>,
    pub on_session_ended: Callback<()>,
}

struct Reducer(VoicemailState);

impl Reducible for Reducer {
    type Action = VoicemailAction;
    fn reduce(self: Rc<Self>, a: VoicemailAction) -> Rc<Self> {
        let mut s = self.0.clone();
        s.apply(a);
        Rc::new(Reducer(s))
    }
}

fn situation_words(t: &Strings, s: &str) -> &'static str {
    match s {
        "busy" => t.vm_situation_busy,
        "no_answer" => t.vm_situation_no_answer,
        "offline" => t.vm_situation_offline,
        _ => t.vm_situation_default,
    }
}

#[function_component(VoicemailPanel)]
pub fn voicemail_panel(p: &VoicemailProps) -> Html {
    let t = p.lang.t();
    let state = use_reducer(|| Reducer(VoicemailState::default()));
    // The recording under way (not state: it is not shown, only stopped).
    let recording = use_mut_ref(|| None::<Recording>);
    {
        // Leaving the page while recording releases the microphone.
        let rec = recording.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(r) = take(&rec) {
                    r.cancel();
                }
            }
        });
    }
    let failed = {
        let (state, ended) = (state.dispatcher(), p.on_session_ended.clone());
        move |what: &str, r: &Reply| {
            if r.status == 401 {
                ended.emit(());
            } else {
                state.dispatch(VoicemailAction::Failed(format!(
                    "{what}: {}",
                    r.problem().message
                )));
            }
        }
    };
    {
        let (state, failed) = (state.dispatcher(), failed.clone());
        use_effect_with((), move |_| {
            spawn_local(async move {
                let (m, g) = (
                    api::get("/api/v1/me/voicemail").await,
                    api::get("/api/v1/me/greetings").await,
                );
                if !m.ok() {
                    return failed(t.vm_load_failed, &m);
                }
                state.dispatch(VoicemailAction::Loaded {
                    messages: messages_of(&m.body),
                    greetings: if g.ok() {
                        greetings_of(&g.body)
                    } else {
                        Vec::new()
                    },
                });
            });
        });
    }
    {
        let on_new = p.on_new_count.clone();
        let n = state.0.new_count();
        let loaded = state.0.loaded;
        use_effect_with((n, loaded), move |&(n, loaded)| {
            if loaded {
                on_new.emit(n);
            }
        });
    }
    let s = &state.0;
    let messages = if !s.loaded {
        html! {}
    } else if s.messages.is_empty() {
        html! { <p id="voicemail-empty" class="hint">{ t.vm_empty }</p> }
    } else {
        html! {
            <table id="voicemail" class="table voicemail">
                <thead><tr>
                    <th scope="col">{ t.vm_col_from }</th>
                    <th scope="col">{ t.vm_col_when }</th>
                    <th scope="col">{ t.vm_col_length }</th>
                    <th scope="col">{ t.vm_listen }</th>
                    <th scope="col"></th>
                </tr></thead>
                <tbody>
                { for s.messages.iter().map(|m| {
                    let id = m.id;
                    let src = format!("/api/v1/me/voicemail/{id}/audio");
                    let who = match &m.caller_name {
                        Some(n) if !n.trim().is_empty() => format!("{n} ({})", m.caller),
                        _ => m.caller.clone(),
                    };
                    // Playing a new message marks it heard.
                    let onplay = {
                        let (state, failed, heard) = (state.dispatcher(), failed.clone(), m.heard);
                        Callback::from(move |_: Event| {
                            if heard { return; }
                            let (state, failed) = (state.clone(), failed.clone());
                            spawn_local(async move {
                                let r = api::send("PATCH", &format!("/api/v1/me/voicemail/{id}"),
                                    Some(api::obj(&[("heard", JsValue::TRUE)]))).await;
                                if r.ok() { state.dispatch(VoicemailAction::Heard(id, true)) } else { failed(t.vm_record_failed, &r) }
                            });
                        })
                    };
                    let toggle = {
                        let (state, failed, to) = (state.dispatcher(), failed.clone(), !m.heard);
                        Callback::from(move |_: MouseEvent| {
                            let (state, failed) = (state.clone(), failed.clone());
                            spawn_local(async move {
                                let r = api::send("PATCH", &format!("/api/v1/me/voicemail/{id}"),
                                    Some(api::obj(&[("heard", JsValue::from_bool(to))]))).await;
                                if r.ok() { state.dispatch(VoicemailAction::Heard(id, to)) } else { failed(t.vm_load_failed, &r) }
                            });
                        })
                    };
                    let delete = {
                        let (state, failed) = (state.dispatcher(), failed.clone());
                        Callback::from(move |_: MouseEvent| {
                            let (state, failed) = (state.clone(), failed.clone());
                            spawn_local(async move {
                                let r = api::send("DELETE", &format!("/api/v1/me/voicemail/{id}"), None).await;
                                if r.ok() || r.status == 404 { state.dispatch(VoicemailAction::Deleted(id)) } else { failed(t.vm_load_failed, &r) }
                            });
                        })
                    };
                    html! {
                        <tr class={classes!("vm", (!m.heard).then_some("new"))} data-id={id.to_string()} data-heard={m.heard.to_string()}>
                            <th scope="row">
                                { who }
                                if !m.heard { { " " }<span class="badge">{ t.vm_new }</span> }
                                <span class="hint">{ situation_words(t, &m.situation) }</span>
                            </th>
                            <td>{ intl::date_time_text(p.lang, &m.received_at) }</td>
                            <td>{ intl::duration(p.lang, (m.duration_ms / 1000).max(1) as u64) }</td>
                            <td><audio class="vm-play" controls=true preload="none" src={src.clone()} {onplay}></audio></td>
                            <td class="actions">
                                <a class="btn btn-small btn-quiet vm-download" href={format!("{src}?download")} download="">{ t.vm_download }</a>
                                <button type="button" class="btn btn-small btn-quiet vm-heard" onclick={toggle}>
                                    { if m.heard { t.vm_mark_new } else { t.vm_mark_heard } }
                                </button>
                                <button type="button" class="btn btn-small btn-danger vm-delete" onclick={delete}>{ t.vm_delete }</button>
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        }
    };
    let greetings = SITUATIONS.iter().map(|&sit| {
        let g = s.greeting(sit);
        let recording_this = s.recording.as_deref() == Some(sit);
        let busy = s.recording.is_some() || s.saving;
        let record = {
            let (state, rec) = (state.dispatcher(), recording.clone());
            Callback::from(move |_: MouseEvent| {
                let (state, rec) = (state.clone(), rec.clone());
                spawn_local(async move {
                    match Recording::start().await {
                        Ok(r) => {
                            *rec.borrow_mut() = Some(r);
                            state.dispatch(VoicemailAction::RecordingStarted(sit.to_string()));
                        }
                        Err(RecordError::Microphone(_)) => {
                            state.dispatch(VoicemailAction::Failed(t.vm_mic_refused.to_string()))
                        }
                        Err(e) => state.dispatch(VoicemailAction::Failed(format!(
                            "{}: {e:?}",
                            t.vm_record_failed
                        ))),
                    }
                });
            })
        };
        let stop = {
            let (state, rec, failed) = (state.dispatcher(), recording.clone(), failed.clone());
            Callback::from(move |_: MouseEvent| {
                let Some(r) = take(&rec) else { return };
                let (state, failed) = (state.clone(), failed.clone());
                state.dispatch(VoicemailAction::Saving);
                spawn_local(async move {
                    let (wav, _ms) = match r.stop().await {
                        Ok(x) => x,
                        Err(e) => {
                            return state.dispatch(VoicemailAction::Failed(format!(
                                "{}: {e:?}",
                                t.vm_record_failed
                            )));
                        }
                    };
                    let r = api::send_bytes("PUT", &format!("/api/v1/me/greetings/{sit}"), "audio/wav", &bytes_to_js(&wav)).await;
                    match greeting_of(&r.body).filter(|_| r.ok()) {
                        Some(g) => state.dispatch(VoicemailAction::GreetingSaved(g)),
                        None => failed(t.vm_record_failed, &r),
                    }
                });
            })
        };
        let remove = {
            let (state, failed) = (state.dispatcher(), failed.clone());
            Callback::from(move |_: MouseEvent| {
                let (state, failed) = (state.clone(), failed.clone());
                spawn_local(async move {
                    let r = api::send("DELETE", &format!("/api/v1/me/greetings/{sit}"), None).await;
                    if r.ok() || r.status == 404 { state.dispatch(VoicemailAction::GreetingRemoved(sit.to_string())) } else { failed(t.vm_record_failed, &r) }
                });
            })
        };
        html! {
            <li class="greeting" data-situation={sit} data-recorded={g.is_some().to_string()}>
                <span class="greeting-name">{ situation_words(t, sit) }</span>
                { match g {
                    Some(g) => html! {
                        <>
                            <audio class="greeting-play" controls=true preload="none"
                                src={format!("/api/v1/me/greetings/{sit}?v={}", api::enc(&g.updated_at))}></audio>
                            <span class="hint">{ intl::duration(p.lang, (g.duration_ms / 1000).max(1) as u64) }</span>
                            <button type="button" class="btn btn-small btn-quiet greeting-remove" disabled={busy} onclick={remove}>{ t.vm_remove_greeting }</button>
                        </>
                    },
                    None => html! {
                        <>
                            <audio class="greeting-play builtin" controls=true preload="none"
                                src={format!("/api/v1/greetings/builtin/{}", p.lang.tag())}></audio>
                            <span class="hint greeting-builtin">{ t.vm_builtin }</span>
                        </>
                    },
                } }
                if recording_this {
                    <button type="button" class="btn btn-small btn-hangup greeting-stop" disabled={s.saving} onclick={stop}>
                        { if s.saving { t.vm_saving } else { t.vm_stop } }
                    </button>
                } else {
                    <button type="button" class="btn btn-small greeting-record" disabled={busy} onclick={record}>{ t.vm_record }</button>
                }
            </li>
        }
    });
    html! {
        <section id="voicemail-view" class="card view" aria-labelledby="voicemail-title">
            <h2 id="voicemail-title">{ t.vm_title }</h2>
            if let Some(e) = &s.error {
                <p id="voicemail-error" class="error" role="alert">{ e.clone() }</p>
            }
            { messages }
            <h3>{ t.vm_greetings_title }</h3>
            <p class="hint">{ t.vm_greetings_hint }</p>
            <ul id="greetings" class="greetings">{ for greetings }</ul>
            <PinSettings lang={p.lang} on_session_ended={p.on_session_ended.clone()} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct PinProps {
    lang: Lang,
    on_session_ended: Callback<()>,
}

/// What the PIN form shows.
#[derive(Clone, Default, PartialEq)]
struct PinView {
    /// Whether a PIN is set (`None` until known).
    set: Option<bool>,
    busy: bool,
    /// The last outcome: a confirmation, or an error (`true`).
    said: Option<(String, bool)>,
}

/// The same rules as the server's (`api::voicemail::pin_problem`), for a message in the
/// user's language before anything is sent: the format here; "too easy" comes back as 400.
fn pin_format_ok(pin: &str) -> bool {
    (4..=10).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

#[function_component(PinSettings)]
fn pin_settings(p: &PinProps) -> Html {
    let t = p.lang.t();
    let view = use_state(PinView::default);
    let input = use_node_ref();
    {
        let (view, ended) = (view.clone(), p.on_session_ended.clone());
        use_effect_with((), move |_| {
            spawn_local(async move {
                let r = api::get("/api/v1/me/voicemail-pin").await;
                if r.status == 401 {
                    return ended.emit(());
                }
                let set = r.ok().then(|| {
                    js_sys::Reflect::get(&r.body, &JsValue::from_str("set"))
                        .ok()
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false)
                });
                view.set(PinView {
                    set,
                    ..PinView::default()
                });
            });
        });
    }
    // Saves the PIN typed, or removes the PIN.
    let change: Rc<dyn Fn(bool)> = {
        let (view, input, ended) = (view.clone(), input.clone(), p.on_session_ended.clone());
        Rc::new(move |remove: bool| {
            let field = input.cast::<web_sys::HtmlInputElement>();
            let pin = field.as_ref().map(|f| f.value()).unwrap_or_default();
            let pin = pin.trim().to_string();
            if !remove && !pin_format_ok(&pin) {
                view.set(PinView {
                    said: Some((t.vm_pin_invalid.into(), true)),
                    ..(*view).clone()
                });
                return;
            }
            view.set(PinView {
                busy: true,
                said: None,
                ..(*view).clone()
            });
            let (view, ended) = (view.clone(), ended.clone());
            spawn_local(async move {
                let r = if remove {
                    api::send("DELETE", "/api/v1/me/voicemail-pin", None).await
                } else {
                    let body = api::obj(&[("pin", JsValue::from_str(&pin))]);
                    api::send("PUT", "/api/v1/me/voicemail-pin", Some(body)).await
                };
                if r.status == 401 {
                    return ended.emit(());
                }
                let (set, said) = if r.ok() {
                    if let Some(f) = &field {
                        f.set_value("");
                    }
                    let words = if remove {
                        t.vm_pin_removed
                    } else {
                        t.vm_pin_saved
                    };
                    (Some(!remove), (words.to_string(), false))
                } else if r.status == 400 {
                    (view.set, (t.vm_pin_weak.to_string(), true))
                } else {
                    let m = format!("{}: {}", t.vm_pin_failed, r.problem().message);
                    (view.set, (m, true))
                };
                view.set(PinView {
                    set,
                    busy: false,
                    said: Some(said),
                });
            });
        })
    };
    let save = {
        let change = change.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            change(false);
        })
    };
    let remove = Callback::from(move |_: MouseEvent| change(true));
    let v = &*view;
    html! {
        <>
            <h3>{ t.vm_pin_title }</h3>
            <p class="hint">{ t.vm_pin_hint }</p>
            <form id="vm-pin-form" class="pin-form" onsubmit={save}
                data-set={v.set.map(|s| s.to_string()).unwrap_or_default()}>
                <p id="vm-pin-status" class="hint">
                    { match v.set { Some(true) => t.vm_pin_is_set, Some(false) => t.vm_pin_not_set, None => "" } }
                </p>
                <label for="vm-pin">{ t.vm_pin_label }</label>
                <input id="vm-pin" ref={input} type="password" inputmode="numeric"
                    autocomplete="off" maxlength="10" disabled={v.busy} />
                <button id="vm-pin-save" type="submit" class="btn btn-small" disabled={v.busy}>{ t.vm_pin_save }</button>
                if v.set == Some(true) {
                    <button id="vm-pin-remove" type="button" class="btn btn-small btn-quiet"
                        disabled={v.busy} onclick={remove}>{ t.vm_pin_remove }</button>
                }
                if let Some((words, error)) = &v.said {
                    if *error {
                        <p id="vm-pin-error" class="error" role="alert">{ words.clone() }</p>
                    } else {
                        <p id="vm-pin-saved" class="hint" role="status">{ words.clone() }</p>
                    }
                }
            </form>
        </>
    }
}

fn take(rec: &Rc<RefCell<Option<Recording>>>) -> Option<Recording> {
    rec.borrow_mut().take()
}
