//! Prices and spending (issue 15): the administrator's "Costs" page (a month, everyone's
//! calls and costs with their flat rate and limit, the company's limits, the monthly
//! statement and its CSV) and each person's own costs under their history. Amounts are
//! shown and typed in złoty ([`crate::state::costs`]); the API speaks micros.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::admin::{message, thead};
use crate::i18n::Strings;
use crate::model::Lang;
use crate::services::{api, intl};
use crate::state::costs::{
    self, CompanyCosts, MyCosts, PersonCost, Statement, StatementLine, limit_text, parse_pln, pln,
};

#[derive(Properties, PartialEq)]
pub struct CostsProps {
    pub lang: Lang,
    /// The gateway answered 401: the session is over.
    pub on_session_ended: Callback<()>,
}

/// This month (UTC, as the API counts months), `YYYY-MM`.
fn this_month() -> String {
    let d = js_sys::Date::new_0();
    format!("{:04}-{:02}", d.get_utc_full_year(), d.get_utc_month() + 1)
}

/// The month picker: `#cost-month` (`<input type="month">`).
fn month_picker(t: &Strings, month: &str, onchange: Callback<String>) -> Html {
    let onchange = Callback::from(move |e: Event| {
        let v = e.target_unchecked_into::<HtmlInputElement>().value();
        if costs::valid_month(&v) {
            onchange.emit(v);
        }
    });
    html! {
        <div class="field field-inline">
            <label for="cost-month">{ t.cost_month }</label>
            <input id="cost-month" type="month" value={month.to_string()} {onchange} />
        </div>
    }
}

fn item_name(t: &Strings, l: &StatementLine) -> String {
    match l.item.as_str() {
        "subscription" => t.cost_item_subscription.into(),
        "numbers" => t.cost_item_numbers.into(),
        "flat_landline" => format!("{}: {}", t.cost_col_flat, t.cost_flat_landline),
        "flat_landline_mobile" => format!("{}: {}", t.cost_col_flat, t.cost_flat_landline_mobile),
        "calls" => format!(
            "{}: {}",
            t.cost_col_calls,
            (t.cost_class)(l.class.as_deref().unwrap_or(""))
        ),
        other => other.to_string(),
    }
}

/// A statement as a table, with its CSV link.
fn statement_card(t: &Strings, lang: Lang, s: &Statement, csv: String) -> Html {
    html! {
        <section class="card" aria-labelledby="cost-statement-title">
            <div class="view-head">
                <h2 id="cost-statement-title">{ t.cost_statement }{ " " }{ s.month.clone() }</h2>
                <a id="cost-csv" class="btn btn-quiet" href={csv} download="">{ t.cost_download_csv }</a>
            </div>
            <div class="table-wrap">
                <table id="cost-statement" class="table">
                    { thead(&[t.cost_col_item, t.cost_col_quantity, t.cost_col_unit, t.cost_col_time, t.cost_col_amount]) }
                    <tbody>
                        { for s.lines.iter().map(|l| html! {
                            <tr data-item={l.item.clone()} data-class={l.class.clone()}>
                                <th scope="row">{ item_name(t, l) }</th>
                                <td class="num">{ l.quantity }</td>
                                <td class="num">{ l.unit.map(|u| pln(lang, u)).unwrap_or_default() }</td>
                                <td class="num">{ l.billed_seconds.map(costs::minutes).unwrap_or_default() }</td>
                                <td class="num">{ pln(lang, l.amount) }</td>
                            </tr>
                        }) }
                    </tbody>
                    <tfoot><tr>
                        <th scope="row" colspan="4">{ t.cost_total }</th>
                        <td id="cost-statement-total" class="num">{ pln(lang, s.total) }</td>
                    </tr></tfoot>
                </table>
            </div>
        </section>
    }
}

/// What a page shows while loading, after a failure, or when loaded.
#[derive(Clone, PartialEq)]
enum Load<T> {
    Loading,
    Failed(String),
    Loaded(T),
}

/// The administrator's costs page: `#costs`.
#[function_component(CompanyCostsPage)]
pub fn company_costs_page(p: &CostsProps) -> Html {
    let t = p.lang.t();
    let lang = p.lang;
    let month = use_state(this_month);
    let data = use_state(|| Load::<(CompanyCosts, Statement)>::Loading);
    // Reloads after a change.
    let generation = use_state(|| 0u32);
    let notice = use_state(|| None::<(bool, String)>);
    {
        let (data, ended) = (data.clone(), p.on_session_ended.clone());
        use_effect_with(((*month).clone(), *generation), move |(m, _)| {
            let m = m.clone();
            spawn_local(async move {
                let q = format!("?month={}", api::enc(&m));
                let r = api::get(&format!("/api/v1/billing/costs{q}")).await;
                if r.status == 401 {
                    return ended.emit(());
                }
                let s = api::get(&format!("/api/v1/billing/statement{q}")).await;
                data.set(match (r.map(api::company_costs), s.map(api::statement)) {
                    (Ok(c), Ok(s)) => Load::Loaded((c, s)),
                    (Err(e), _) | (_, Err(e)) => Load::Failed(lang.t().problem(&e)),
                });
            });
        });
    }
    let on_month = {
        let (month, notice) = (month.clone(), notice.clone());
        Callback::from(move |m: String| {
            notice.set(None);
            month.set(m);
        })
    };
    // A change (PUT path body), then the page is read again.
    let put = {
        let (generation, notice, ended) = (
            generation.clone(),
            notice.clone(),
            p.on_session_ended.clone(),
        );
        Callback::from(move |(path, body): (String, JsValue)| {
            let (generation, notice, ended) = (generation.clone(), notice.clone(), ended.clone());
            spawn_local(async move {
                let r = api::send("PUT", &path, Some(body)).await;
                if r.status == 401 {
                    return ended.emit(());
                }
                let t = lang.t();
                if r.ok() {
                    notice.set(Some((false, t.cost_saved.into())));
                } else {
                    notice.set(Some((
                        true,
                        format!("{}: {}", t.cost_save_failed, t.problem(&r.problem())),
                    )));
                }
                generation.set(*generation + 1);
            });
        })
    };
    let body = match &*data {
        Load::Loading => html! { <p class="hint" aria-busy="true">{ t.loading }</p> },
        Load::Failed(e) => html! { <p class="error" role="alert">{ e.clone() }</p> },
        Load::Loaded((c, s)) => html! {
            <>
                { people_card(t, lang, c, &put, &notice) }
                { statement_card(t, lang, s, format!("/api/v1/billing/statement.csv?month={}", api::enc(&s.month))) }
                <LimitsCard {lang} company={c.spend_limit} person={c.person_spend_limit} put={put.clone()}
                    on_invalid={let n = notice.clone(); Callback::from(move |m: String| n.set(Some((true, m))))} />
            </>
        },
    };
    let (err, ok) = match &*notice {
        Some((true, m)) => (Some(m.as_str()), None),
        Some((false, m)) => (None, Some(m.as_str())),
        None => (None, None),
    };
    html! {
        <section id="costs" aria-labelledby="costs-title">
            <div class="card">
                <div class="view-head"><h2 id="costs-title">{ t.cost_title }</h2></div>
                { month_picker(t, &month, on_month) }
                { message("costs-saved", false, ok) }
                { message("costs-error", true, err) }
            </div>
            { body }
        </section>
    }
}

fn people_card(
    t: &'static Strings,
    lang: Lang,
    c: &CompanyCosts,
    put: &Callback<(String, JsValue)>,
    notice: &UseStateHandle<Option<(bool, String)>>,
) -> Html {
    html! {
        <section class="card" aria-labelledby="cost-people-title">
            <h2 id="cost-people-title">{ t.cost_people }</h2>
            <div class="table-wrap">
                <table id="cost-people" class="table">
                    { thead(&[t.col_name, t.col_ext, t.cost_col_calls, t.cost_col_time, t.cost_col_cost, t.cost_col_flat, t.cost_col_limit]) }
                    <tbody>{ for c.people.iter().map(|p| person_row(t, lang, p, put, notice)) }</tbody>
                    <tfoot>
                        if c.former_employees_cost > 0 {
                            <tr><th scope="row" colspan="4">{ t.cost_former }</th>
                                <td class="num">{ pln(lang, c.former_employees_cost) }</td><td colspan="2"></td></tr>
                        }
                        <tr><th scope="row" colspan="4">{ t.cost_total }</th>
                            <td id="cost-total" class="num">{ pln(lang, c.total_cost) }</td><td colspan="2"></td></tr>
                    </tfoot>
                </table>
            </div>
        </section>
    }
}

fn person_row(
    t: &'static Strings,
    lang: Lang,
    p: &PersonCost,
    put: &Callback<(String, JsValue)>,
    notice: &UseStateHandle<Option<(bool, String)>>,
) -> Html {
    let path = format!("/api/v1/employees/{}/billing", p.employee_id);
    let body = |flat: &str, limit: Option<i64>| {
        api::obj(&[
            ("flat_rate", JsValue::from_str(flat)),
            ("spend_limit_micros", api::micros_or_null(limit)),
        ])
    };
    let on_flat = {
        let (put, path, limit) = (put.clone(), path.clone(), p.spend_limit);
        Callback::from(move |e: Event| {
            let flat = e.target_unchecked_into::<HtmlSelectElement>().value();
            put.emit((path.clone(), body(&flat, limit)));
        })
    };
    let on_limit = {
        let (put, path, flat, notice) = (
            put.clone(),
            path.clone(),
            p.flat_rate.clone(),
            notice.clone(),
        );
        Callback::from(move |e: Event| {
            let typed = e.target_unchecked_into::<HtmlInputElement>().value();
            match parse_pln(&typed) {
                Ok(limit) => put.emit((path.clone(), body(&flat, limit))),
                Err(()) => notice.set(Some((true, t.cost_limit_invalid.into()))),
            }
        })
    };
    let flat_options = [
        ("none", t.cost_flat_none),
        ("landline", t.cost_flat_landline),
        ("landline_mobile", t.cost_flat_landline_mobile),
    ];
    let label = format!("{} ({})", p.name, p.extension);
    html! {
        <tr data-ext={p.extension.clone()}>
            <th scope="row">{ p.name.clone() }</th>
            <td>{ p.extension.clone() }</td>
            <td class="num">{ p.calls }</td>
            <td class="num">{ costs::minutes(p.billed_seconds) }</td>
            <td class="num cost">{ pln(lang, p.cost) }</td>
            <td><select class="cost-flat" aria-label={format!("{}: {label}", t.cost_col_flat)} onchange={on_flat}>
                { for flat_options.iter().map(|(v, words)| html! {
                    <option value={*v} selected={p.flat_rate == *v}>{ *words }</option>
                }) }
            </select></td>
            <td><input class="cost-limit" type="text" inputmode="decimal" size="8"
                aria-label={format!("{}: {label}", t.cost_col_limit)} title={t.cost_person_limit_hint}
                placeholder="—" value={limit_text(lang, p.spend_limit)} onchange={on_limit} /></td>
        </tr>
    }
}

#[derive(Properties, PartialEq)]
struct LimitsProps {
    lang: Lang,
    company: Option<i64>,
    person: Option<i64>,
    put: Callback<(String, JsValue)>,
    on_invalid: Callback<String>,
}

/// The company's limits: `#cost-company-limit`, `#cost-person-limit`, `#cost-save-limits`.
#[function_component(LimitsCard)]
fn limits_card(p: &LimitsProps) -> Html {
    let t = p.lang.t();
    let company = use_state(|| limit_text(p.lang, p.company));
    let person = use_state(|| limit_text(p.lang, p.person));
    let input = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |e: InputEvent| {
            h.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_save = {
        let (company, person, put, invalid) = (
            (*company).clone(),
            (*person).clone(),
            p.put.clone(),
            p.on_invalid.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match (parse_pln(&company), parse_pln(&person)) {
                (Ok(c), Ok(pp)) => put.emit((
                    "/api/v1/billing/settings".into(),
                    api::obj(&[
                        ("spend_limit_micros", api::micros_or_null(c)),
                        ("person_spend_limit_micros", api::micros_or_null(pp)),
                    ]),
                )),
                _ => invalid.emit(t.cost_limit_invalid.into()),
            }
        })
    };
    html! {
        <form class="card" aria-labelledby="cost-limits-title" onsubmit={on_save}>
            <h2 id="cost-limits-title">{ t.cost_limits_title }</h2>
            <p class="hint">{ t.cost_limits_hint }</p>
            <div class="field">
                <label for="cost-company-limit">{ t.cost_company_limit }</label>
                <input id="cost-company-limit" type="text" inputmode="decimal" value={(*company).clone()} oninput={input(&company)} />
            </div>
            <div class="field">
                <label for="cost-person-limit">{ t.cost_person_limit }</label>
                <input id="cost-person-limit" type="text" inputmode="decimal" value={(*person).clone()} oninput={input(&person)} />
            </div>
            <button id="cost-save-limits" type="submit" class="btn btn-primary">{ t.cost_save_limits }</button>
        </form>
    }
}

/// One's own costs, under the history: `#my-costs`.
#[function_component(MyCostsPanel)]
pub fn my_costs_panel(p: &CostsProps) -> Html {
    let t = p.lang.t();
    let lang = p.lang;
    let month = use_state(this_month);
    let data = use_state(|| Load::<MyCosts>::Loading);
    {
        let (data, ended) = (data.clone(), p.on_session_ended.clone());
        use_effect_with((*month).clone(), move |m| {
            let m = m.clone();
            spawn_local(async move {
                let r = api::get(&format!(
                    "/api/v1/me/costs?month={}&limit=200",
                    api::enc(&m)
                ))
                .await;
                if r.status == 401 {
                    return ended.emit(());
                }
                data.set(match r.map(api::my_costs) {
                    Ok(c) => Load::Loaded(c),
                    Err(e) => Load::Failed(lang.t().problem(&e)),
                });
            });
        });
    }
    let on_month = {
        let month = month.clone();
        Callback::from(move |m: String| month.set(m))
    };
    let body = match &*data {
        Load::Loading => html! { <p class="hint" aria-busy="true">{ t.loading }</p> },
        Load::Failed(e) => html! { <p class="error" role="alert">{ e.clone() }</p> },
        Load::Loaded(c) => {
            let spent = pln(lang, c.spend.person_spent);
            let spend = match c.spend.person_limit {
                Some(l) => (t.cost_spent_of)(
                    &spent,
                    &pln(lang, l),
                    costs::percent(c.spend.person_spent, l),
                ),
                None => format!("{spent} ({})", t.cost_no_limit),
            };
            html! {
                <>
                    <p id="my-spend"><strong>{ t.cost_my_spent }{ ": " }</strong>{ spend }</p>
                    if c.calls.is_empty() {
                        <p id="my-costs-empty" class="hint">{ t.cost_no_calls }</p>
                    } else {
                        <div class="table-wrap">
                            <table id="my-cost-calls" class="table">
                                { thead(&[t.col_time, t.cost_col_number, t.cost_col_class, t.cost_col_time, t.cost_col_cost]) }
                                <tbody>{ for c.calls.iter().map(|k| html! {
                                    <tr data-class={k.class.clone()}>
                                        <td>{ intl::date_time_text(lang, &k.started_at) }</td>
                                        <th scope="row">{ k.dialled.clone() }</th>
                                        <td>{ (t.cost_class)(&k.class) }</td>
                                        <td class="num">{ costs::minutes(k.billed_seconds) }</td>
                                        <td class="num">{ k.cost.map(|m| pln(lang, m)).unwrap_or_else(|| t.cost_unpriced.into()) }</td>
                                    </tr>
                                }) }</tbody>
                            </table>
                        </div>
                    }
                    { statement_card(t, lang, &c.statement, format!("/api/v1/me/statement.csv?month={}", api::enc(&c.statement.month))) }
                </>
            }
        }
    };
    html! {
        <section id="my-costs" class="card view" aria-labelledby="my-costs-title">
            <div class="view-head"><h2 id="my-costs-title">{ t.cost_my_title }</h2></div>
            { month_picker(t, &month, on_month) }
            { body }
        </section>
    }
}
