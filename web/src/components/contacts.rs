//! The contact list (the main screen): search, favourites, presence, calls; the phone
//! book's form, import and export. State in [`crate::state::contacts`].

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{Cx, icons};
use crate::i18n::Strings;
use crate::model::NumberLabel;
use crate::state::contacts::{Feed, Move, Row, RowKey};
use crate::state::phonebook::{ContactForm, FormEdit, FormProblem};
use crate::state::{Action, AppState};

/// Whether a key event comes from a control that uses Enter itself.
fn from_control(e: &KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
        .is_some_and(|el| {
            matches!(
                el.tag_name().as_str(),
                "BUTTON" | "SELECT" | "A" | "TEXTAREA"
            )
        })
}

pub fn view(st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let c = &st.contacts;
    let rows = c.rows();
    let on_search = cx.dispatch.reform(|e: InputEvent| {
        Action::ContactsQuery(e.target_unchecked_into::<HtmlInputElement>().value())
    });
    let onkeydown = {
        let (d, call, selected, can_call) = (
            cx.dispatch.clone(),
            cx.call.clone(),
            c.selected_row(),
            st.can_call(),
        );
        Callback::from(move |e: KeyboardEvent| {
            let m = match e.key().as_str() {
                "ArrowDown" => Some(Move::Down),
                "ArrowUp" => Some(Move::Up),
                "PageDown" | "End" if !is_input(&e) => Some(Move::Last),
                "PageUp" | "Home" if !is_input(&e) => Some(Move::First),
                "Enter" if !from_control(&e) => {
                    if let Some(r) = selected.as_ref().filter(|r| !r.dial.is_empty())
                        && can_call
                    {
                        e.prevent_default();
                        call.emit((r.dial.clone(), false));
                    }
                    None
                }
                _ => None,
            };
            if let Some(m) = m {
                e.prevent_default();
                d.emit(Action::ContactsMove(m));
            }
        })
    };
    let active = c.selected.filter(|k| rows.iter().any(|r| r.key == *k));
    let stale = c.feed == Feed::Lost;
    // For tests and tools: whether presence is in (waiting, live, lost).
    let feed = match c.feed {
        Feed::Waiting => "waiting",
        Feed::Live => "live",
        Feed::Lost => "lost",
    };
    let body = if !c.loaded() && c.error.is_none() {
        html! { <p class="hint" aria-busy="true">{ t.loading }</p> }
    } else if rows.is_empty() {
        html! { <p id="contacts-empty" class="hint">{ t.no_contacts }</p> }
    } else {
        html! {
            <div class="table-wrap">
                <table id="contacts" class={classes!("table", "contacts", stale.then_some("stale"))} tabindex="0"
                    data-feed={feed}
                    aria-label={t.contacts_title} aria-rowcount={rows.len().to_string()}>
                    <thead><tr>
                        <th scope="col"><span class="visually-hidden">{ "★" }</span></th>
                        <th scope="col">{ t.col_name }</th>
                        <th scope="col">{ t.col_ext }</th>
                        <th scope="col">{ t.col_number }</th>
                        <th scope="col">{ t.col_status }</th>
                        <th scope="col"><span class="visually-hidden">{ t.col_actions }</span></th>
                    </tr></thead>
                    <tbody>{ for rows.iter().map(|r| row(r, active == Some(r.key), st, cx)) }</tbody>
                </table>
            </div>
        }
    };
    html! {
        <section id="contacts-view" class="card view" aria-labelledby="contacts-title" {onkeydown}>
            <div class="view-head">
                <h2 id="contacts-title">{ t.contacts_title }</h2>
                <button id="add-contact" type="button" class="btn btn-small"
                    onclick={cx.dispatch.reform(|_: MouseEvent| Action::OpenContactForm(ContactForm::new()))}>
                    { t.add_contact }
                </button>
            </div>
            if let Some(f) = &st.contact_form {
                { form(f, t, cx) }
            }
            <input id="contact-search" type="search" class="search" aria-label={t.search_label}
                aria-controls="contacts" aria-keyshortcuts="/" placeholder={t.search_placeholder}
                autocomplete="off" spellcheck="false"
                aria-activedescendant={active.map(RowKey::dom_id)}
                value={c.query.clone()} oninput={on_search} />
            if stale {
                <p id="presence-lost" class="hint presence-lost" role="status">{ t.presence_lost }</p>
            }
            if let Some(e) = &c.error {
                <p class="error" role="alert">{ e.clone() }</p>
            }
            { body }
            { phonebook_tools(st, cx) }
        </section>
    }
}

fn is_input(e: &KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
        .is_some_and(|el| el.tag_name() == "INPUT")
}

fn row(r: &Row, selected: bool, st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let key = r.key;
    let can_call = st.can_call() && !r.dial.is_empty();
    let onclick = cx
        .dispatch
        .reform(move |_: MouseEvent| Action::ContactsSelect(key));
    let ondblclick = {
        let (call, dial) = (cx.call.clone(), r.dial.clone());
        Callback::from(move |_: MouseEvent| {
            if can_call {
                call.emit((dial.clone(), false))
            }
        })
    };
    let star = {
        let on = !r.favourite;
        let label = if r.favourite {
            (t.fav_remove)(&r.name)
        } else {
            (t.fav_add)(&r.name)
        };
        html! {
            <button type="button" class="star" aria-pressed={r.favourite.to_string()} aria-label={label.clone()}
                title={label} onclick={cx.favourite.reform(move |_: MouseEvent| (key, on))}>
                { icons::star(r.favourite) }
            </button>
        }
    };
    let call_btn = |video: bool| {
        let dial = r.dial.clone();
        let (label, text, class) = if video {
            (
                (t.video_person)(&r.name),
                icons::video(),
                "btn btn-small btn-call call-video",
            )
        } else {
            (
                (t.call_person)(&r.name),
                icons::phone(),
                "btn btn-small btn-call call-audio",
            )
        };
        html! {
            <button type="button" {class} aria-label={label.clone()} title={label} disabled={!can_call}
                onclick={cx.call.reform(move |_: MouseEvent| (dial.clone(), video))}>{ text }</button>
        }
    };
    let (presence_cell, data_presence) = match r.presence {
        Some(p) => (
            html! {
                <span class={classes!("presence", p.colour().as_str())} data-presence={p.as_str()}>
                    <span class="dot" aria-hidden="true"></span>
                    <span class="presence-text">{ t.presence(p) }</span>
                    if let Some(n) = r.note.as_ref().filter(|n| !n.trim().is_empty()) {
                        <span class="presence-note">{ format!(" · {n}") }</span>
                    }
                </span>
            },
            Some(p.as_str()),
        ),
        None => (html! { <span class="kind">{ t.kind_contact }</span> }, None),
    };
    let numbers = if r.numbers.is_empty() {
        html! { { r.number.clone().unwrap_or_default() } }
    } else {
        html! {
            <ul class="numbers">
                { for r.numbers.iter().map(|n| {
                    let number = n.number.clone();
                    html! {
                        <li>
                            <span class="num-label">{ t.number_label(n.label) }</span>{ " " }
                            <button type="button" class="btn-link num-call" disabled={!st.can_call()}
                                aria-label={(t.call_person)(&format!("{} ({})", r.name, n.number))}
                                onclick={cx.call.reform(move |_: MouseEvent| (number.clone(), false))}>
                                { n.number.clone() }
                            </button>
                        </li>
                    }
                }) }
            </ul>
        }
    };
    let contact_buttons = match key {
        RowKey::Contact(id) => {
            let edit = {
                let c = st.contacts.book.iter().find(|c| c.id == id).cloned();
                cx.dispatch.reform(move |_: MouseEvent| {
                    Action::OpenContactForm(c.as_ref().map(ContactForm::edit).unwrap_or_default())
                })
            };
            let name = r.name.clone();
            html! {
                <>
                    <button type="button" class="btn btn-small btn-quiet contact-edit" onclick={edit}
                        aria-label={format!("{}: {}", t.edit, r.name)}>{ t.edit }</button>
                    <button type="button" class="btn btn-small btn-danger contact-remove"
                        aria-label={format!("{}: {}", t.remove, r.name)}
                        onclick={cx.remove_contact.reform(move |_: MouseEvent| (id, name.clone()))}>{ t.remove }</button>
                </>
            }
        }
        RowKey::Employee(_) => Html::default(),
    };
    // Dragged onto a call, the row transfers it to this number.
    let draggable = (!r.dial.is_empty()).then_some("true");
    let ondragstart = {
        let dial = r.dial.clone();
        Callback::from(move |e: web_sys::DragEvent| {
            if let Some(d) = e.data_transfer() {
                let _ = d.set_data(crate::components::transfer::DRAG_TYPE, &dial);
                let _ = d.set_data("text/plain", &dial);
                d.set_effect_allowed("copy");
            }
        })
    };
    html! {
        <tr id={key.dom_id()} class={classes!("contact-row", selected.then_some("selected"))}
            aria-selected={selected.to_string()} data-ext={r.extension.clone()}
            data-presence={data_presence} {onclick} {ondblclick} {draggable} {ondragstart}>
            <td class="c-star">{ star }</td>
            <th scope="row" class="c-name">
                <span class="name">{ r.name.clone() }</span>
                if let Some(o) = &r.organization {
                    <span class="org">{ o.clone() }</span>
                }
            </th>
            <td class="c-ext">{ r.extension.clone().unwrap_or_default() }</td>
            <td class="c-number">{ numbers }</td>
            <td class="c-status">{ presence_cell }</td>
            <td class="c-actions"><div class="row-actions">{ call_btn(false) }{ call_btn(true) }{ contact_buttons }</div></td>
        </tr>
    }
}

fn form(f: &ContactForm, t: &'static Strings, cx: &Cx) -> Html {
    let edit = |make: fn(String) -> FormEdit| {
        cx.dispatch.reform(move |e: InputEvent| {
            Action::ContactFormEdit(make(e.target_unchecked_into::<HtmlInputElement>().value()))
        })
    };
    let onsubmit = {
        let save = cx.save_contact.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            save.emit(());
        })
    };
    let problem = f.problem.as_ref().map(|p| match p {
        FormProblem::NameMissing => t.form_name_missing.to_string(),
        FormProblem::NumberMissing => t.form_number_missing.to_string(),
        FormProblem::NumberInvalid(i) => format!("{} ({})", t.form_number_invalid, i + 1),
        FormProblem::Server(m) => m.clone(),
    });
    let bad_row = match f.problem {
        Some(FormProblem::NumberInvalid(i)) => Some(i),
        Some(FormProblem::NumberMissing) => Some(0),
        _ => None,
    };
    let numbers = f.numbers.iter().enumerate().map(|(i, n)| {
        let on_number = cx.dispatch.reform(move |e: InputEvent| {
            Action::ContactFormEdit(FormEdit::Number(
                i,
                e.target_unchecked_into::<HtmlInputElement>().value(),
            ))
        });
        let on_label = cx.dispatch.reform(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            Action::ContactFormEdit(FormEdit::Label(i, NumberLabel::parse(&v)))
        });
        let id = format!("contact-number-{i}");
        html! {
            <div class="number-row">
                <select class="number-label" aria-label={format!("{} {}", t.contact_numbers, i + 1)} onchange={on_label}>
                    { for NumberLabel::ALL.iter().map(|l| html! {
                        <option value={l.as_str()} selected={*l == n.label}>{ t.number_label(*l) }</option>
                    }) }
                </select>
                <input id={id} type="tel" inputmode="tel" autocomplete="off" value={n.number.clone()}
                    aria-label={format!("{} {}", t.col_number, i + 1)}
                    aria-invalid={(bad_row == Some(i)).then_some("true")} oninput={on_number} />
                <button type="button" class="btn btn-small btn-quiet" aria-label={t.remove_number}
                    onclick={cx.dispatch.reform(move |_: MouseEvent| Action::ContactFormEdit(FormEdit::RemoveNumber(i)))}>{ icons::close() }</button>
            </div>
        }
    });
    let title = if f.editing.is_some() {
        t.edit_contact
    } else {
        t.add_contact
    };
    html! {
        <form id="contact-form" class="contact-form" {onsubmit} novalidate=true aria-label={title}>
            <h3>{ title }</h3>
            <div class="form-grid">
                <div class="field">
                    <label for="contact-name">{ t.contact_name }</label>
                    <input id="contact-name" type="text" autocomplete="off" value={f.name.clone()}
                        aria-invalid={(f.problem == Some(FormProblem::NameMissing)).then_some("true")}
                        oninput={edit(FormEdit::Name)} />
                </div>
                <div class="field">
                    <label for="contact-org">{ t.contact_org }</label>
                    <input id="contact-org" type="text" autocomplete="off" value={f.organization.clone()}
                        oninput={edit(FormEdit::Organization)} />
                </div>
            </div>
            <fieldset class="numbers-field">
                <legend>{ t.contact_numbers }</legend>
                { for numbers }
                <button id="contact-add-number" type="button" class="btn btn-small btn-quiet"
                    onclick={cx.dispatch.reform(|_: MouseEvent| Action::ContactFormEdit(FormEdit::AddNumber))}>{ t.add_number }</button>
            </fieldset>
            <p id="contact-error" class="error" role="alert" hidden={problem.is_none()}>{ problem.unwrap_or_default() }</p>
            <div class="form-buttons">
                <button id="contact-save" type="submit" class="btn" disabled={f.busy}>
                    { if f.busy { t.saving } else { t.save } }
                </button>
                <button id="contact-cancel" type="button" class="btn btn-quiet"
                    onclick={cx.dispatch.reform(|_: MouseEvent| Action::CloseContactForm)}>{ t.cancel }</button>
            </div>
        </form>
    }
}

fn phonebook_tools(st: &AppState, cx: &Cx) -> Html {
    let t = st.t();
    let im = &st.import;
    let onchange = {
        let import = cx.import.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                import.emit(file);
            }
            input.set_value("");
        })
    };
    html! {
        <details class="phonebook-tools">
            <summary>{ t.phonebook_title }</summary>
            <label for="contacts-import">{ t.import_label }</label>
            <input id="contacts-import" type="file" accept=".vcf,.vcard,.csv,text/vcard,text/csv"
                disabled={im.busy} {onchange} />
            if im.busy {
                <p class="hint" aria-busy="true">{ t.importing }</p>
            }
            if let Some(r) = &im.result {
                <div id="import-result" role="status">
                    <p class="notice">{ (t.imported)(r.imported) }</p>
                    if r.duplicates > 0 {
                        <p class="hint">{ (t.duplicates)(r.duplicates) }</p>
                    }
                    if !r.errors.is_empty() {
                        <ul class="import-errors error">
                            { for r.errors.iter().map(|(line, msg)| html! { <li>{ (t.import_line)(*line, msg) }</li> }) }
                        </ul>
                    }
                </div>
            }
            if let Some(e) = &im.error {
                <p id="import-error" class="error" role="alert">{ e.clone() }</p>
            }
            <p class="export-links">
                <a id="export-vcard" class="btn btn-small btn-quiet" href="/api/v1/contacts/export?format=vcard"
                    download="contacts.vcf">{ t.export_vcard }</a>
                <a id="export-csv" class="btn btn-small btn-quiet" href="/api/v1/contacts/export?format=csv"
                    download="contacts.csv">{ t.export_csv }</a>
            </p>
        </details>
    }
}
