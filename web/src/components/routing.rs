//! The ringing and forwarding form: how one's devices ring (all at once, or the default
//! first) and the forwarding rules (always, busy, no answer, offline, do not disturb or
//! away), each to a colleague, a group of colleagues, an external number or voicemail. One
//! component for one's own settings and for an administrator's view of an employee's: only
//! `base` differs. Its state is [`crate::state::routing`].
//!
//! Ids: `ring-strategy`, `ring-first-secs`, and per rule (`always`, `busy`, `noanswer`,
//! `offline`, `unavailable`) `fwd-{rule}-kind`, `-ext`, `-group` (its members
//! `.fwd-group-member[data-ext]` with `.fwd-group-remove`), `-group-add`, `-number`, `-note`,
//! `-error`; `fwd-noanswer-secs`; `fwd-save`, `fwd-notice`, `fwd-error`.

use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::admin::{input_value, token_field};
use crate::i18n::Strings;
use crate::model::{Lang, Strategy};
use crate::services::api;
use crate::state::routing::{
    Choice, MAX_GROUP, RoutingAction, RoutingForm, Rule, RuleForm, colleagues,
};

#[derive(Properties, PartialEq)]
pub struct RoutingProps {
    /// Whose settings: `/api/v1/me`, or `/api/v1/employees/ID` for an administrator.
    pub base: AttrValue,
    /// The person's own extension (not offered as a target).
    pub own_ext: AttrValue,
    pub lang: Lang,
    /// Whether a default device is chosen (else "default first" rings all at once).
    pub has_default: bool,
    pub on_session_ended: Callback<()>,
}

/// An external number, as the field suggests it (the same in every language).
const NUMBER_PLACEHOLDER: &str = "+48 22 123 45 67";

fn select_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlSelectElement>().value()
}

fn rule_label(t: &Strings, r: Rule) -> &'static str {
    match r {
        Rule::Always => t.fwd_always,
        Rule::Busy => t.fwd_busy,
        Rule::NoAnswer => t.fwd_no_answer,
        Rule::Offline => t.fwd_offline,
        Rule::Unavailable => t.fwd_unavailable,
    }
}

fn choice_label(t: &Strings, c: Choice) -> &'static str {
    match c {
        Choice::Off => t.fwd_off,
        Choice::Colleague => t.fwd_colleague,
        Choice::Group => t.fwd_group,
        Choice::External => t.fwd_external,
        Choice::Voicemail => t.fwd_voicemail,
    }
}

#[function_component(RoutingEditor)]
pub fn routing_editor(p: &RoutingProps) -> Html {
    let st = use_reducer(RoutingForm::default);
    let t = p.lang.t();
    {
        // The stored settings, and whom rules can name.
        let (d, base, own, ended) = (
            st.dispatcher(),
            p.base.clone(),
            p.own_ext.clone(),
            p.on_session_ended.clone(),
        );
        use_effect_with(p.base.clone(), move |_| {
            spawn_local(async move {
                let r = api::get(&format!("{base}/routing")).await;
                if r.status == 401 {
                    return ended.emit(());
                }
                match r.map(api::routing) {
                    Ok(routing) => d.dispatch(RoutingAction::Loaded(routing)),
                    Err(p) => d.dispatch(RoutingAction::LoadFailed(format!(
                        "{}: {}",
                        t.fwd_load_failed,
                        t.problem(&p)
                    ))),
                }
                let r = api::get("/api/v1/directory").await;
                if let Ok(dir) = r.map(|v| api::list(v, api::directory_entry).0) {
                    d.dispatch(RoutingAction::Colleagues(colleagues(&dir, &own)));
                }
            });
        });
    }
    let d = st.dispatcher();
    let on_submit = {
        let (d, form, base, ended) = (
            d.clone(),
            (*st).clone(),
            p.base.clone(),
            p.on_session_ended.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if form.busy {
                return;
            }
            let routing = match form.validate(t) {
                Ok(r) => r,
                Err(err) => return d.dispatch(RoutingAction::Rejected(err)),
            };
            d.dispatch(RoutingAction::Submitted);
            let (d, base, ended) = (d.clone(), base.clone(), ended.clone());
            spawn_local(async move {
                let r = api::send(
                    "PUT",
                    &format!("{base}/routing"),
                    Some(api::routing_body(&routing)),
                )
                .await;
                if r.status == 401 {
                    return ended.emit(());
                }
                match r.map(api::routing) {
                    Ok(saved) => d.dispatch(RoutingAction::Saved(saved, t.fwd_saved.into())),
                    Err(p) => d.dispatch(RoutingAction::Rejected(RoutingForm::refused(&p, t))),
                }
            });
        })
    };

    if !st.loaded {
        return html! {
            <section id="routing-form" class="card" aria-busy={st.load_error.is_none().to_string()}>
                <h2>{ t.fwd_title }</h2>
                if let Some(e) = &st.load_error {
                    <p id="fwd-load-error" class="error" role="alert">{ e.clone() }</p>
                } else {
                    <p class="hint">{ t.loading }</p>
                }
            </section>
        };
    }

    let on_strategy = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            d.dispatch(RoutingAction::Strategy(Strategy::parse(&select_value(&e))))
        })
    };
    let on_ring_secs = {
        let d = d.clone();
        Callback::from(move |e: InputEvent| {
            d.dispatch(RoutingAction::RingFirstSecs(input_value(&e)))
        })
    };
    let on_noanswer_secs = {
        let d = d.clone();
        Callback::from(move |e: InputEvent| {
            d.dispatch(RoutingAction::NoAnswerSecs(input_value(&e)))
        })
    };
    let secs_shown = match st.ring_first_secs.trim() {
        "" => "10".to_string(),
        s => s.to_string(),
    };
    let err = st.error.as_ref();
    // The box says what the lines next to the fields do not.
    let own = |f: &str| {
        Rule::ALL.iter().any(|r| r.field() == f)
            || f == "no_answer.after_secs"
            || f == "ring_first_secs"
    };
    let general = err.is_some_and(|e| e.fields.is_empty() || e.fields.iter().any(|(f, _)| !own(f)));
    let default_first = st.strategy == Strategy::DefaultFirst;
    html! {
        <form id="routing-form" class="card" onsubmit={on_submit} novalidate=true
            data-strategy={st.strategy.as_str()}>
            <h2 id="ring-title">{ t.ring_title }</h2>
            <div class="field">
                <label for="ring-strategy" class="visually-hidden">{ t.ring_title }</label>
                <select id="ring-strategy" onchange={on_strategy}>
                    <option value="all" selected={!default_first}>{ t.ring_all }</option>
                    <option value="default_first" selected={default_first}>{ (t.ring_default_first)(&secs_shown) }</option>
                </select>
            </div>
            if default_first {
                <div class="form-grid">
                    { token_field(("ring-first-secs", "ring_first_secs", t.ring_first_secs, "number"), &st.ring_first_secs, Some(t.ring_first_hint), err, on_ring_secs) }
                </div>
                if !p.has_default {
                    <p id="ring-no-default" class="hint">{ t.ring_no_default }</p>
                }
            }
            <h2 id="fwd-title">{ t.fwd_title }</h2>
            <p class="hint">{ t.fwd_hint }</p>
            if st.always_on() {
                <p id="fwd-always-on" role="status"><strong>{ t.fwd_always_on }</strong></p>
            }
            { for Rule::ALL.iter().map(|r| rule_row(*r, &st, &d, t, on_noanswer_secs.clone())) }
            <div id="fwd-error" class="error" role="alert" hidden={err.is_none()}>
                if let Some(e) = err {
                    <p>{ if general { e.message.clone() } else { t.adm_fix_fields.to_string() } }</p>
                }
            </div>
            <p id="fwd-notice" class="notice" role="status" hidden={st.notice.is_none()}>
                { st.notice.clone().unwrap_or_default() }
            </p>
            <div class="form-buttons">
                <button id="fwd-save" type="submit" class="btn" disabled={st.busy}>
                    { if st.busy { t.saving } else { t.save } }
                </button>
            </div>
        </form>
    }
}

/// One rule: what it does, then the fields for that.
fn rule_row(
    rule: Rule,
    st: &RoutingForm,
    d: &UseReducerDispatcher<RoutingForm>,
    t: &'static Strings,
    on_noanswer_secs: Callback<InputEvent>,
) -> Html {
    let r = st.rule(rule);
    let dom = rule.dom();
    let kind_id = format!("fwd-{dom}-kind");
    let err_id = format!("fwd-{dom}-error");
    let line = st.field_error(rule.field()).map(str::to_string);
    let on_kind = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            d.dispatch(RoutingAction::Choice(
                rule,
                Choice::parse(&select_value(&e)),
            ))
        })
    };
    let options = Choice::ALL.iter().map(|c| {
        // Voicemail cannot be chosen yet; a stored one still shows.
        let disabled = *c == Choice::Voicemail && r.choice != Choice::Voicemail;
        html! {
            <option value={c.as_str()} selected={*c == r.choice} {disabled}>{ choice_label(t, *c) }</option>
        }
    });
    let detail = match r.choice {
        Choice::Off => Html::default(),
        Choice::Colleague => colleague_picker(rule, r, st, d, t, line.is_some()),
        Choice::Group => group_picker(rule, r, st, d, t),
        Choice::External => {
            let on_number = {
                let d = d.clone();
                Callback::from(move |e: InputEvent| {
                    d.dispatch(RoutingAction::Number(rule, input_value(&e)))
                })
            };
            let id = format!("fwd-{dom}-number");
            let note = format!("fwd-{dom}-note");
            html! {
                <div class="field">
                    <label for={id.clone()}>{ t.fwd_number }</label>
                    <input id={id} type="tel" autocomplete="off" placeholder={NUMBER_PLACEHOLDER}
                        value={r.number.clone()} aria-invalid={line.is_some().then_some("true")}
                        aria-describedby={note.clone()} oninput={on_number} />
                    <span id={note} class="hint">{ t.fwd_external_note }</span>
                </div>
            }
        }
        Choice::Voicemail => html! {
            <p id={format!("fwd-{dom}-note")} class="hint">{ t.fwd_voicemail_note }</p>
        },
    };
    let secs = (rule == Rule::NoAnswer && r.choice != Choice::Off).then(|| {
        token_field(
            (
                "fwd-noanswer-secs",
                "no_answer.after_secs",
                t.fwd_after,
                "number",
            ),
            &st.no_answer_secs,
            Some(t.fwd_after_hint),
            st.error.as_ref(),
            on_noanswer_secs,
        )
    });
    html! {
        <div id={format!("fwd-{dom}")} class="fwd-rule form-grid" data-rule={dom} data-kind={r.choice.as_str()}>
            <div class="field">
                <label for={kind_id.clone()}>{ rule_label(t, rule) }</label>
                <select id={kind_id} onchange={on_kind} aria-invalid={line.is_some().then_some("true")}
                    aria-describedby={line.is_some().then(|| err_id.clone())}>
                    { for options }
                </select>
                if let Some(line) = &line {
                    <span id={err_id.clone()} class="field-error" data-field={rule.field()}>{ line.clone() }</span>
                }
            </div>
            { detail }
            { secs.unwrap_or_default() }
        </div>
    }
}

/// "Anna Nowak (101)", or the extension alone when the directory does not list it.
fn colleague_words(st: &RoutingForm, ext: &str) -> String {
    match st.colleague_name(ext) {
        Some(name) => format!("{name} ({ext})"),
        None => ext.to_string(),
    }
}

fn colleague_picker(
    rule: Rule,
    r: &RuleForm,
    st: &RoutingForm,
    d: &UseReducerDispatcher<RoutingForm>,
    t: &'static Strings,
    invalid: bool,
) -> Html {
    let id = format!("fwd-{}-ext", rule.dom());
    let on_pick = {
        let d = d.clone();
        Callback::from(move |e: Event| d.dispatch(RoutingAction::Ext(rule, select_value(&e))))
    };
    // A stored extension the directory does not list (yet) still shows as chosen.
    let unlisted = (!r.ext.is_empty() && st.colleague_name(&r.ext).is_none()).then(|| {
        html! { <option value={r.ext.clone()} selected=true>{ r.ext.clone() }</option> }
    });
    html! {
        <div class="field">
            <label for={id.clone()}>{ t.fwd_where }</label>
            <select {id} onchange={on_pick} aria-invalid={invalid.then_some("true")}>
                <option value="" selected={r.ext.is_empty()}>{ t.fwd_choose }</option>
                { unlisted.unwrap_or_default() }
                { for st.colleagues.iter().map(|(ext, name)| html! {
                    <option value={ext.clone()} selected={*ext == r.ext}>{ format!("{name} ({ext})") }</option>
                }) }
            </select>
        </div>
    }
}

fn group_picker(
    rule: Rule,
    r: &RuleForm,
    st: &RoutingForm,
    d: &UseReducerDispatcher<RoutingForm>,
    t: &'static Strings,
) -> Html {
    let dom = rule.dom();
    let add_id = format!("fwd-{dom}-group-add");
    let on_add = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let sel = e.target_unchecked_into::<HtmlSelectElement>();
            let ext = sel.value();
            sel.set_value(""); // ready for the next one
            d.dispatch(RoutingAction::AddMember(rule, ext));
        })
    };
    let members = r.group.iter().map(|ext| {
        let words = colleague_words(st, ext);
        let on_remove = {
            let (d, ext) = (d.clone(), ext.clone());
            Callback::from(move |_: MouseEvent| {
                d.dispatch(RoutingAction::RemoveMember(rule, ext.clone()))
            })
        };
        html! {
            <li class="fwd-group-member" data-ext={ext.clone()} key={ext.clone()}>
                <span>{ words.clone() }</span>{ " " }
                <button type="button" class="btn btn-small btn-quiet fwd-group-remove"
                    aria-label={(t.fwd_remove_member)(&words)} onclick={on_remove}>{ t.remove }</button>
            </li>
        }
    });
    let candidates = st.colleagues.iter().filter(|(e, _)| !r.group.contains(e));
    html! {
        <div class="field">
            <span class="hint">{ t.fwd_group_hint }</span>
            <ul id={format!("fwd-{dom}-group")} class="blocks">{ for members }</ul>
            if r.group.len() < MAX_GROUP {
                <label for={add_id.clone()} class="visually-hidden">{ t.fwd_add_member }</label>
                <select id={add_id} onchange={on_add}>
                    <option value="" selected=true>{ t.fwd_add_member }</option>
                    { for candidates.map(|(ext, name)| html! {
                        <option value={ext.clone()}>{ format!("{name} ({ext})") }</option>
                    }) }
                </select>
            }
        </div>
    }
}
