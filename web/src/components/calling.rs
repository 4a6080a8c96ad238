//! Calls outside the company (issue 15): the company's defaults and main number (an
//! administrator, `#calling-company`), one person's own settings (an administrator, on
//! their Devices page, `#calling-person`), and one's own mobile for *8 (Settings,
//! `#calling-me`). Each card loads its settings, saves them with PUT, and says what
//! happened (`.calling-saved`, `.calling-error` with the server's words).

use js_sys::Reflect;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::model::Lang;
use crate::services::api;

/// Whose settings a card shows.
#[derive(Clone, Copy, PartialEq)]
pub enum Scope {
    Company,
    Person(i64),
    Me,
}

impl Scope {
    fn path(self) -> String {
        match self {
            Scope::Company => "/api/v1/company/calling".into(),
            Scope::Person(id) => format!("/api/v1/employees/{id}/calling"),
            Scope::Me => "/api/v1/me/calling".into(),
        }
    }

    fn id(self) -> &'static str {
        match self {
            Scope::Company => "calling-company",
            Scope::Person(_) => "calling-person",
            Scope::Me => "calling-me",
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct CallingProps {
    pub lang: Lang,
    pub scope: Scope,
    pub on_session_ended: Callback<()>,
}

/// The form's values as the selects and inputs hold them ("" in a select: the company's).
#[derive(Clone, Default, PartialEq)]
struct Form {
    permission: String,
    premium: String,
    caller_id: String,
    main_number: String,
    main_ext: String,
    mobile: String,
    /// What applies to the person (for the Me card): their permission, or the company's.
    effective: String,
    /// Calls outside are suspended (toll fraud).
    suspended: bool,
}

#[derive(Clone, PartialEq)]
enum Status {
    Loading,
    Ready,
    Saving,
    Saved,
    Failed(String),
}

fn text(v: &JsValue, k: &str) -> String {
    let f = Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::NULL);
    if let Some(b) = f.as_bool() {
        return b.to_string();
    }
    f.as_string().unwrap_or_default()
}

fn form_of(scope: Scope, v: &JsValue) -> Form {
    match scope {
        Scope::Company => Form {
            permission: text(v, "permission"),
            premium: text(v, "premium"),
            caller_id: text(v, "caller_id"),
            main_number: text(v, "main_number"),
            main_ext: {
                // A group shows as its extensions, comma-separated, in the same field.
                let group = Reflect::get(v, &JsValue::from_str("main_group"))
                    .ok()
                    .filter(|g| g.is_object())
                    .map(|g| {
                        js_sys::Array::from(&g)
                            .iter()
                            .filter_map(|e| e.as_string())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                if group.is_empty() {
                    text(v, "main_extension")
                } else {
                    group.join(", ")
                }
            },
            ..Form::default()
        },
        Scope::Person(_) | Scope::Me => {
            let own = Reflect::get(v, &JsValue::from_str("own")).unwrap_or(JsValue::NULL);
            Form {
                permission: text(&own, "permission"),
                premium: text(&own, "premium"),
                caller_id: text(&own, "caller_id"),
                mobile: text(&own, "mobile"),
                effective: text(v, "permission"),
                suspended: text(v, "suspended") == "true",
                ..Form::default()
            }
        }
    }
}

/// Extensions as typed: one, or several separated by commas or spaces (a group).
fn extensions(s: &str) -> Vec<&str> {
    s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .collect()
}

fn opt(s: &str) -> JsValue {
    if s.trim().is_empty() {
        JsValue::NULL
    } else {
        JsValue::from_str(s.trim())
    }
}

fn body_of(scope: Scope, f: &Form) -> JsValue {
    match scope {
        Scope::Company => api::obj(&[
            ("permission", JsValue::from_str(&f.permission)),
            ("premium", JsValue::from_bool(f.premium == "true")),
            ("caller_id", JsValue::from_str(&f.caller_id)),
            ("main_number", opt(&f.main_number)),
            ("main_extension", {
                let exts = extensions(&f.main_ext);
                if exts.len() == 1 {
                    JsValue::from_str(exts[0])
                } else {
                    JsValue::NULL
                }
            }),
            ("main_group", {
                let exts = extensions(&f.main_ext);
                let group = js_sys::Array::new();
                if exts.len() > 1 {
                    for e in exts {
                        group.push(&JsValue::from_str(e));
                    }
                }
                group.into()
            }),
        ]),
        Scope::Person(_) => api::obj(&[
            ("permission", opt(&f.permission)),
            (
                "premium",
                match f.premium.as_str() {
                    "true" => JsValue::TRUE,
                    "false" => JsValue::FALSE,
                    _ => JsValue::NULL,
                },
            ),
            ("caller_id", opt(&f.caller_id)),
            ("mobile", opt(&f.mobile)),
        ]),
        Scope::Me => api::obj(&[("mobile", opt(&f.mobile))]),
    }
}

/// One card of settings for calls outside (see the module docs).
#[function_component(CallingCard)]
pub fn calling_card(p: &CallingProps) -> Html {
    let t = p.lang.t();
    let scope = p.scope;
    let form = use_state(Form::default);
    let status = use_state(|| Status::Loading);
    {
        let (form, status, ended) = (form.clone(), status.clone(), p.on_session_ended.clone());
        use_effect_with(scope, move |scope| {
            let scope = *scope;
            spawn_local(async move {
                let r = api::get(&scope.path()).await;
                if r.status == 401 {
                    return ended.emit(());
                }
                if r.ok() {
                    form.set(form_of(scope, &r.body));
                    status.set(Status::Ready);
                } else {
                    status.set(Status::Failed(t.problem(&r.problem())));
                }
            });
        });
    }
    let set = |apply: fn(&mut Form, String)| {
        let form = form.clone();
        Callback::from(move |v: String| {
            let mut f = (*form).clone();
            apply(&mut f, v);
            form.set(f);
        })
    };
    let select_value = |cb: Callback<String>| {
        cb.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())
    };
    let input_value = |cb: Callback<String>| {
        cb.reform(|e: InputEvent| e.target_unchecked_into::<HtmlInputElement>().value())
    };
    let on_save = {
        let (form, status, ended) = (form.clone(), status.clone(), p.on_session_ended.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (form, status, ended) = (form.clone(), status.clone(), ended.clone());
            status.set(Status::Saving);
            spawn_local(async move {
                let r = api::send("PUT", &scope.path(), Some(body_of(scope, &form))).await;
                if r.status == 401 {
                    return ended.emit(());
                }
                if r.ok() {
                    form.set(form_of(scope, &r.body));
                    status.set(Status::Saved);
                } else {
                    status.set(Status::Failed(t.problem(&r.problem())));
                }
            });
        })
    };
    let on_lift = {
        let (form, status, ended) = (form.clone(), status.clone(), p.on_session_ended.clone());
        Callback::from(move |_: MouseEvent| {
            let Scope::Person(employee) = scope else {
                return;
            };
            let (form, status, ended) = (form.clone(), status.clone(), ended.clone());
            status.set(Status::Saving);
            spawn_local(async move {
                let path = format!("/api/v1/employees/{employee}/calling/suspension");
                let r = api::send("DELETE", &path, None).await;
                if r.status == 401 {
                    return ended.emit(());
                }
                if r.ok() {
                    form.set(form_of(scope, &r.body));
                    status.set(Status::Saved);
                } else {
                    status.set(Status::Failed(t.problem(&r.problem())));
                }
            });
        })
    };
    let id = scope.id();
    let fid = |k: &str| format!("{id}-{k}");
    let f = &*form;
    let default_option = |on: bool| {
        html! { if on { <option value="" selected={f.permission.is_empty()}>{ t.cl_company_default }</option> } }
    };
    let person = matches!(scope, Scope::Person(_));
    let permission_words = |p: &str| match p {
        "internal" => t.cl_perm_internal,
        "international" => t.cl_perm_international,
        _ => t.cl_perm_national,
    };
    let busy = matches!(*status, Status::Loading | Status::Saving);
    let (title, hint) = match scope {
        Scope::Company => (t.cl_title, t.cl_company_hint),
        Scope::Person(_) => (t.cl_title, t.cl_person_hint),
        Scope::Me => (t.cl_my_title, t.cl_mobile_hint),
    };
    html! {
        <section class="card" id={id} aria-labelledby={fid("title")}>
            <h2 id={fid("title")}>{ title }</h2>
            <p class="hint">{ hint }</p>
            if f.suspended {
                <p class="error" role="alert" id={fid("suspended")}>{ t.cl_suspended }</p>
                if person {
                    <button type="button" id={fid("lift")} class="btn" disabled={busy} onclick={on_lift}>{ t.cl_lift }</button>
                }
            }
            <form onsubmit={on_save}>
                if scope != Scope::Me {
                    <div class="field narrow">
                        <label for={fid("permission")}>{ t.cl_permission }</label>
                        <select id={fid("permission")} onchange={select_value(set(|f, v| f.permission = v))}>
                            { default_option(person) }
                            { for ["internal", "national", "international"].iter().map(|p| html! {
                                <option value={*p} selected={f.permission == *p}>{ permission_words(p) }</option>
                            }) }
                        </select>
                    </div>
                    <div class="field narrow">
                        <label for={fid("premium")}>{ t.cl_premium }</label>
                        <select id={fid("premium")} onchange={select_value(set(|f, v| f.premium = v))}>
                            if person {
                                <option value="" selected={f.premium.is_empty()}>{ t.cl_company_default }</option>
                            }
                            <option value="true" selected={f.premium == "true"}>{ t.cl_allowed }</option>
                            <option value="false" selected={f.premium == "false" || (!person && f.premium.is_empty())}>{ t.cl_not_allowed }</option>
                        </select>
                    </div>
                    <div class="field narrow">
                        <label for={fid("caller-id")}>{ t.cl_caller_id }</label>
                        <select id={fid("caller-id")} onchange={select_value(set(|f, v| f.caller_id = v))}>
                            if person {
                                <option value="" selected={f.caller_id.is_empty()}>{ t.cl_company_default }</option>
                            }
                            <option value="own" selected={f.caller_id == "own"}>{ t.cl_cid_own }</option>
                            <option value="main" selected={f.caller_id == "main"}>{ t.cl_cid_main }</option>
                            <option value="withheld" selected={f.caller_id == "withheld"}>{ t.cl_cid_withheld }</option>
                        </select>
                    </div>
                }
                if scope == Scope::Company {
                    <div class="field narrow">
                        <label for={fid("main-number")}>{ t.cl_main_number }</label>
                        <input id={fid("main-number")} type="tel" value={f.main_number.clone()}
                            placeholder="+48 22 600 61 00" oninput={input_value(set(|f, v| f.main_number = v))} />
                    </div>
                    <div class="field narrow">
                        <label for={fid("main-ext")}>{ t.cl_main_ext }</label>
                        <input id={fid("main-ext")} value={f.main_ext.clone()} placeholder="101"
                            oninput={input_value(set(|f, v| f.main_ext = v))} />
                        <p class="hint">{ t.cl_main_ext_hint }</p>
                    </div>
                } else {
                    <div class="field narrow">
                        <label for={fid("mobile")}>{ t.cl_mobile }</label>
                        <input id={fid("mobile")} type="tel" value={f.mobile.clone()}
                            placeholder="+48 601 234 567" oninput={input_value(set(|f, v| f.mobile = v))} />
                        if person {
                            <p class="hint">{ t.cl_mobile_hint }</p>
                        }
                    </div>
                }
                if scope == Scope::Me && !f.effective.is_empty() {
                    <p class="hint" id={fid("effective")} data-permission={f.effective.clone()}>
                        { format!("{}: {}", t.cl_you_may, permission_words(&f.effective)) }
                    </p>
                }
                <button type="submit" id={fid("save")} class="btn" disabled={busy}>{ t.cl_save }</button>
            </form>
            { match &*status {
                Status::Saved => html! { <p class="hint calling-saved" role="status">{ t.cl_saved }</p> },
                Status::Failed(why) => html! { <p class="error calling-error" role="alert">{ format!("{}: {why}", t.cl_failed) }</p> },
                _ => html! {},
            } }
        </section>
    }
}
