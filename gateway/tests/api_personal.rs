//! Each person's own things through the API, against a running gateway: status choice and
//! language, favourite colleagues in the directory, the personal phone book (its checks,
//! search, vCard and CSV import and export), call history from the `calls` table with the
//! missed-call badge, and e-mails in the recipient's language. Every resource: 401 without
//! a session, 404 for another person's or company's ids, 400 with field errors.

mod common;

use std::net::SocketAddr;

use base64::Engine;
use serde_json::{Value, json};

#[path = "support/http.rs"]
mod http;
use http::{Auth, Request, Resp, http, http_raw, login};
#[path = "support/seed.rs"]
mod seed;
use seed::{WEB_PASSWORD, start_seeded};

async fn me(a: SocketAddr, session: &str) -> Value {
    let r = http(a, "GET", "/api/v1/me", Auth::Cookie(session), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn my_id(a: SocketAddr, session: &str) -> i64 {
    me(a, session).await["employee"]["id"].as_i64().unwrap()
}

fn field_errors(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error(), "validation_failed", "{}", r.body);
    r.json()["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("fields in {}", r.body))
        .keys()
        .cloned()
        .collect()
}

/// Every new endpoint answers 401 without a session, and the personal ones 400 for an API
/// token (a script is nobody's phone book).
#[tokio::test]
async fn personal_endpoints_need_a_session() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let routes = [
        ("PUT", "/api/v1/me/presence", Some(json!({"status": "dnd"}))),
        (
            "PUT",
            "/api/v1/me/language",
            Some(json!({"language": "pl"})),
        ),
        ("PUT", "/api/v1/favourites/1", None),
        ("DELETE", "/api/v1/favourites/1", None),
        ("GET", "/api/v1/contacts", None),
        (
            "POST",
            "/api/v1/contacts",
            Some(json!({"name": "X", "numbers": [{"label": "work", "number": "123"}]})),
        ),
        ("GET", "/api/v1/contacts/1", None),
        (
            "PUT",
            "/api/v1/contacts/1",
            Some(json!({"name": "X", "numbers": [{"label": "work", "number": "123"}]})),
        ),
        ("DELETE", "/api/v1/contacts/1", None),
        ("GET", "/api/v1/contacts/export?format=csv", None),
        ("GET", "/api/v1/history", None),
        ("POST", "/api/v1/history/seen", None),
        ("GET", "/api/v1/history/missed", None),
    ];
    for (method, path, body) in &routes {
        let r = http(a, method, path, Auth::None, body.clone()).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.body);
        assert_eq!(r.error(), "unauthenticated");
    }
    let r = http_raw(
        a,
        "POST",
        "/api/v1/contacts/import",
        Auth::None,
        Some(("text/csv", "name,number\nA,123\n".into())),
    )
    .await;
    assert_eq!(r.status, 401);
    // An admin's API token is not a person.
    let admin = login(a, "alice@a.test", WEB_PASSWORD).await;
    let r = http(
        a,
        "POST",
        "/api/v1/api-tokens",
        Auth::Cookie(&admin),
        Some(json!({"name": "script"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.json()["secret"].as_str().unwrap().to_string();
    for (method, path, body) in &routes {
        let r = http(a, method, path, Auth::Bearer(&token), body.clone()).await;
        assert_eq!(r.status, 400, "{method} {path}: {}", r.body);
    }
    // The directory still works for a token, with no favourites.
    let r = http(a, "GET", "/api/v1/directory", Auth::Bearer(&token), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"][0]["favourite"], false);
    // The OpenAPI document names the new endpoints.
    let doc = http(a, "GET", "/api/v1/openapi.json", Auth::None, None)
        .await
        .json();
    for path in [
        "/api/v1/me/presence",
        "/api/v1/me/language",
        "/api/v1/favourites/{employee_id}",
        "/api/v1/contacts",
        "/api/v1/contacts/{id}",
        "/api/v1/contacts/import",
        "/api/v1/contacts/export",
        "/api/v1/history",
        "/api/v1/history/seen",
        "/api/v1/history/missed",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} in the document");
    }
}

#[tokio::test]
async fn status_choice_and_language() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let m = me(a, &bob).await;
    assert_eq!(m["presence"], "available");
    assert_eq!(m["language"], Value::Null);
    for status in ["dnd", "away", "available", "dnd"] {
        let r = http(
            a,
            "PUT",
            "/api/v1/me/presence",
            Auth::Cookie(&bob),
            Some(json!({"status": status})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json(), json!({"status": status}));
    }
    assert_eq!(me(a, &bob).await["presence"], "dnd");
    // Stored where the core reads it at start.
    let choices = gw.store.presence_choices().await.unwrap();
    assert!(
        choices
            .iter()
            .any(|(c, ext, ch)| *c == 1 && ext == "102" && ch.as_str() == "dnd"),
        "{choices:?}"
    );
    for bad in [
        json!({"status": "busy"}),
        json!({"status": 1}),
        json!({"status": null}),
        json!({}),
    ] {
        let r = http(
            a,
            "PUT",
            "/api/v1/me/presence",
            Auth::Cookie(&bob),
            Some(bad),
        )
        .await;
        assert_eq!(field_errors(&r), ["status"]);
    }
    assert_eq!(me(a, &bob).await["presence"], "dnd");
    // Language.
    let r = http(
        a,
        "PUT",
        "/api/v1/me/language",
        Auth::Cookie(&bob),
        Some(json!({"language": "pl"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"language": "pl"}));
    assert_eq!(me(a, &bob).await["language"], "pl");
    for bad in [
        json!({"language": "de"}),
        json!({"language": "PL"}),
        json!({}),
    ] {
        let r = http(
            a,
            "PUT",
            "/api/v1/me/language",
            Auth::Cookie(&bob),
            Some(bad),
        )
        .await;
        assert_eq!(field_errors(&r), ["language"]);
    }
    // The login answer carries both too.
    let r = http(
        a,
        "POST",
        "/api/v1/sessions",
        Auth::None,
        Some(json!({"email": "bob@a.test", "password": WEB_PASSWORD})),
    )
    .await;
    assert_eq!(r.json()["presence"], "dnd");
    assert_eq!(r.json()["language"], "pl");
    // null forgets the choice.
    let r = http(
        a,
        "PUT",
        "/api/v1/me/language",
        Auth::Cookie(&bob),
        Some(json!({"language": null})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(me(a, &bob).await["language"], Value::Null);
}

#[tokio::test]
async fn favourites_in_the_directory() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let olga = login(a, "olga@b.test", WEB_PASSWORD).await;
    let (alice_id, olga_id) = (my_id(a, &alice).await, my_id(a, &olga).await);
    let dir = |s: String| async move {
        let r = http(a, "GET", "/api/v1/directory", Auth::Cookie(&s), None).await;
        assert_eq!(r.status, 200);
        r.json()["items"].as_array().unwrap().clone()
    };
    let items = dir(bob.clone()).await;
    assert_eq!(items.len(), 3);
    let first = &items[0];
    assert_eq!(first["id"], alice_id);
    assert_eq!(first["email"], "alice@a.test");
    assert_eq!(first["extension"], "101");
    assert!(items.iter().all(|e| e["favourite"] == false));
    for _ in 0..2 {
        let r = http(
            a,
            "PUT",
            &format!("/api/v1/favourites/{alice_id}"),
            Auth::Cookie(&bob),
            None,
        )
        .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let items = dir(bob.clone()).await;
    let fav: Vec<&Value> = items.iter().filter(|e| e["favourite"] == true).collect();
    assert_eq!(fav.len(), 1);
    assert_eq!(fav[0]["id"], alice_id);
    // Alice's own list is hers: no favourites.
    assert!(
        dir(alice.clone())
            .await
            .iter()
            .all(|e| e["favourite"] == false)
    );
    // Another company's employee, a made-up id, not a number: 404.
    for path in [
        format!("/api/v1/favourites/{olga_id}"),
        "/api/v1/favourites/99999".into(),
        "/api/v1/favourites/abc".into(),
    ] {
        for method in ["PUT", "DELETE"] {
            let r = http(a, method, &path, Auth::Cookie(&bob), None).await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        }
    }
    // Olga cannot mark Alice either.
    let r = http(
        a,
        "PUT",
        &format!("/api/v1/favourites/{alice_id}"),
        Auth::Cookie(&olga),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let r = http(
        a,
        "DELETE",
        &format!("/api/v1/favourites/{alice_id}"),
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(dir(bob).await.iter().all(|e| e["favourite"] == false));
}

#[tokio::test]
async fn phone_book_checks_search_and_owners() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let cecil = login(a, "cecil@a.test", WEB_PASSWORD).await;
    let olga = login(a, "olga@b.test", WEB_PASSWORD).await;
    let b = Auth::Cookie(&bob);
    let new = json!({
        "name": "Józef Żółkiewski",
        "organization": "Hurtownia „Łąka” Sp. z o.o.",
        "numbers": [
            {"label": "mobile", "number": "+48 600 100 200"},
            {"label": "work", "number": "(22) 600-61-00 *12#"}
        ],
        "favourite": true
    });
    let r = http(a, "POST", "/api/v1/contacts", Auth::Cookie(&bob), Some(new)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let c = r.json();
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["name"], "Józef Żółkiewski");
    assert_eq!(c["organization"], "Hurtownia „Łąka” Sp. z o.o.");
    assert_eq!(c["favourite"], true);
    assert_eq!(
        c["numbers"],
        json!([
            {"label": "mobile", "number": "+48 600 100 200"},
            {"label": "work", "number": "(22) 600-61-00 *12#"}
        ])
    );
    let r = http(
        a,
        "POST",
        "/api/v1/contacts",
        Auth::Cookie(&bob),
        Some(json!({"name": "Ala", "numbers": [{"label": "home", "number": "12 345 67 89"}]})),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["organization"], Value::Null);
    assert_eq!(r.json()["favourite"], false);
    // Search: name, organization, digits whatever the punctuation; alphabetical order.
    let search = |q: &str| {
        let (bob, q) = (bob.clone(), q.to_string());
        async move {
            let r = http(
                a,
                "GET",
                &format!("/api/v1/contacts?q={q}"),
                Auth::Cookie(&bob),
                None,
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("").await, ["Ala", "Józef Żółkiewski"]);
    assert_eq!(search("%C5%BC%C3%B3%C5%82k").await, ["Józef Żółkiewski"]); // "żółk"
    assert_eq!(search("hurtownia").await, ["Józef Żółkiewski"]);
    assert_eq!(search("600100").await, ["Józef Żółkiewski"]);
    assert_eq!(search("22%20600%2061").await, ["Józef Żółkiewski"]);
    assert_eq!(search("3456789").await, ["Ala"]);
    assert!(search("nobody").await.is_empty());
    // Field errors.
    let bad = [
        (
            json!({"name": "", "numbers": [{"label": "work", "number": "123"}]}),
            vec!["name"],
        ),
        (
            json!({"name": "x".repeat(101), "numbers": [{"label": "work", "number": "123"}]}),
            vec!["name"],
        ),
        (json!({"name": "A", "numbers": []}), vec!["numbers"]),
        (
            json!({"name": "A", "numbers": vec![json!({"label": "work", "number": "123"}); 11]}),
            vec!["numbers"],
        ),
        (
            json!({"name": "A", "numbers": [{"label": "fax", "number": "1"}, {"label": "work", "number": "12a"}]}),
            vec!["numbers[0].label", "numbers[0].number", "numbers[1].number"],
        ),
        (
            json!({"name": "A", "numbers": [{"label": "work", "number": "1".repeat(33)}]}),
            vec!["numbers[0].number"],
        ),
    ];
    for (body, fields) in &bad {
        let r = http(
            a,
            "POST",
            "/api/v1/contacts",
            Auth::Cookie(&bob),
            Some(body.clone()),
        )
        .await;
        assert_eq!(field_errors(&r), *fields, "{body}");
        let r = http(
            a,
            "PUT",
            &format!("/api/v1/contacts/{id}"),
            Auth::Cookie(&bob),
            Some(body.clone()),
        )
        .await;
        assert_eq!(field_errors(&r), *fields, "{body}");
    }
    // Update.
    let r = http(
        a,
        "PUT",
        &format!("/api/v1/contacts/{id}"),
        Auth::Cookie(&bob),
        Some(json!({"name": "Józef Ż.", "numbers": [{"label": "other", "number": "*21#"}]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["name"], "Józef Ż.");
    assert_eq!(r.json()["organization"], Value::Null);
    assert_eq!(r.json()["favourite"], false);
    assert_eq!(r.json()["numbers"].as_array().unwrap().len(), 1);
    let r = http(a, "GET", &format!("/api/v1/contacts/{id}"), b, None).await;
    assert_eq!(r.json()["numbers"][0]["number"], "*21#");
    // Another person (same company or not) does not see it: 404, even with a bad body.
    for other in [&cecil, &olga] {
        let o = || Auth::Cookie(other);
        assert!(
            http(a, "GET", "/api/v1/contacts", o(), None).await.json()["items"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let path = format!("/api/v1/contacts/{id}");
        assert_eq!(http(a, "GET", &path, o(), None).await.status, 404);
        let ok = json!({"name": "Mine", "numbers": [{"label": "work", "number": "123"}]});
        let r = http(a, "PUT", &path, o(), Some(ok)).await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.error(), "not_found");
        let r = http(a, "PUT", &path, o(), Some(json!({"name": ""}))).await;
        assert_eq!(r.status, 404);
        assert_eq!(http(a, "DELETE", &path, o(), None).await.status, 404);
    }
    let path = format!("/api/v1/contacts/{id}");
    assert_eq!(
        http(a, "DELETE", &path, Auth::Cookie(&bob), None)
            .await
            .status,
        204
    );
    assert_eq!(
        http(a, "DELETE", &path, Auth::Cookie(&bob), None)
            .await
            .status,
        404
    );
    assert_eq!(
        http(a, "GET", "/api/v1/contacts/nope", Auth::Cookie(&bob), None)
            .await
            .status,
        404
    );
}

async fn import(a: SocketAddr, session: &str, content_type: &str, body: &str) -> Resp {
    http_raw(
        a,
        "POST",
        "/api/v1/contacts/import",
        Auth::Cookie(session),
        Some((content_type, body.to_string())),
    )
    .await
}

/// The contacts of a book without ids, for comparing books.
async fn book(a: SocketAddr, session: &str) -> Vec<Value> {
    let r = http(a, "GET", "/api/v1/contacts", Auth::Cookie(session), None).await;
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.as_object_mut().unwrap().remove("id");
            c
        })
        .collect()
}

#[tokio::test]
async fn phone_book_vcard_and_csv_round_trip() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let cecil = login(a, "cecil@a.test", WEB_PASSWORD).await;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let vcf = "BEGIN:VCARD\r\n\
VERSION:3.0\r\n\
N:Brzęczyszczykiewicz;Grzegorz;;;\r\n\
FN:Grzegorz Brzęczyszczykiewicz\r\n\
ORG:Chrząszcz i Syn\r\n\
TEL;TYPE=CELL:+48 601 222 333\r\n\
TEL;TYPE=WORK,VOICE:22 600 61 00\r\n\
END:VCARD\r\n\
BEGIN:VCARD\r\n\
VERSION:4.0\r\n\
FN:Zażółć Gęślą-Jaźń\r\n\
TEL;VALUE=uri;TYPE=home:tel:+48-12-345-67-89\r\n\
END:VCARD\r\n\
BEGIN:VCARD\r\n\
VERSION:3.0\r\n\
FN:Bez Numeru\r\n\
END:VCARD\r\n\
BEGIN:VCARD\r\n\
VERSION:3.0\r\n\
FN:Zły Numer\r\n\
TEL:abc\r\n\
TEL;TYPE=CELL:600 700 800\r\n\
END:VCARD\r\n";
    let r = import(a, &bob, "text/vcard", vcf).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rep = r.json();
    assert_eq!(rep["imported"], 3, "{rep}");
    let errors = rep["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{rep}");
    assert_eq!(errors[0]["line"], 14, "{rep}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("Bez Numeru")
    );
    assert_eq!(errors[1]["line"], 18, "{rep}");
    assert!(errors[1]["message"].as_str().unwrap().contains("abc"));
    let bobs = book(a, &bob).await;
    assert_eq!(bobs.len(), 3);
    assert_eq!(
        bobs[0],
        json!({
            "name": "Grzegorz Brzęczyszczykiewicz",
            "organization": "Chrząszcz i Syn",
            "numbers": [
                {"label": "mobile", "number": "+48 601 222 333"},
                {"label": "work", "number": "22 600 61 00"}
            ],
            "favourite": false
        })
    );
    assert_eq!(bobs[1]["name"], "Zażółć Gęślą-Jaźń");
    assert_eq!(bobs[1]["numbers"][0]["label"], "home");
    assert_eq!(bobs[1]["numbers"][0]["number"], "+48-12-345-67-89");
    assert_eq!(bobs[2]["name"], "Zły Numer");
    // The same file again: nothing doubled.
    let rep = import(a, &bob, "text/vcard", vcf).await.json();
    assert_eq!(rep["imported"], 0);
    assert_eq!(rep["duplicates"], 3);
    // Export as vCard, import into Cecil's book: the same book.
    let r = http(
        a,
        "GET",
        "/api/v1/contacts/export?format=vcard",
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/vcard"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"contacts.vcf\"")
    );
    assert!(r.body.contains("FN:Zażółć Gęślą-Jaźń\r\n"), "{}", r.body);
    let rep = import(a, &cecil, "text/vcard", &r.body).await.json();
    assert_eq!(rep["imported"], 3, "{rep}");
    assert!(rep["errors"].as_array().unwrap().is_empty(), "{rep}");
    assert_eq!(book(a, &cecil).await, bobs);
    // Export as CSV, import into Alice's: the same book again.
    let r = http(
        a,
        "GET",
        "/api/v1/contacts/export?format=csv",
        Auth::Cookie(&bob),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"contacts.csv\"")
    );
    assert!(
        r.body
            .starts_with("\u{feff}name,organization,label,number\n"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("Grzegorz Brzęczyszczykiewicz,Chrząszcz i Syn,mobile,+48 601 222 333")
    );
    let rep = import(a, &alice, "text/csv; charset=utf-8", &r.body)
        .await
        .json();
    assert_eq!(rep["imported"], 3, "{rep}");
    assert_eq!(book(a, &alice).await, bobs);
    // A CSV with problems: good rows kept, bad ones reported by line.
    let csv = "name,organization,label,number\n\
Łucja Wiśniewska,,mobile,601 000 001\n\
Łucja Wiśniewska,,home,22 111 11 11\n\
,,,\n\
Bez Nazwy,,work,x\n";
    let rep = import(a, &alice, "text/csv", csv).await.json();
    assert_eq!(rep["imported"], 1, "{rep}");
    assert_eq!(rep["errors"][0]["line"], 5, "{rep}");
    let r = http(
        a,
        "GET",
        "/api/v1/contacts?q=wi%C5%9Bniewska",
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.json()["items"][0]["numbers"].as_array().unwrap().len(), 2);
    // A header with no name or number column is the file's error.
    let r = import(a, &alice, "text/csv", "foo,bar\n1,2\n").await;
    assert_eq!(field_errors(&r), ["file"]);
    // Other types, and files over 2 MiB, are refused.
    let r = import(a, &alice, "application/json", "{}").await;
    assert_eq!(r.status, 415, "{}", r.body);
    let big = format!(
        "name,number\n{}",
        "A,123\n".repeat(2 * 1024 * 1024 / 6 + 10)
    );
    let r = import(a, &alice, "text/csv", &big).await;
    assert_eq!(r.status, 413, "{}", r.body);
    let r = http(
        a,
        "GET",
        "/api/v1/contacts/export?format=xml",
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(field_errors(&r), ["format"]);
}

/// A row of the `calls` table, as the core writes it.
#[allow(clippy::too_many_arguments)]
async fn call(
    db: &sqlx::SqlitePool,
    company: i64,
    caller: (Option<i64>, &str, Option<&str>),
    dialled: &str,
    callee: Option<i64>,
    started_ms: i64,
    answered_ms: Option<i64>,
    ended_ms: i64,
    outcome: &str,
) {
    sqlx::query(
        "INSERT INTO calls (company_id, sip_call_id, caller_id, caller_number, caller_name, \
         dialled, callee_id, callee_number, callee_name, started_ms, answered_ms, ended_ms, outcome) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
    )
    .bind(company)
    .bind(format!("call-{started_ms}"))
    .bind(caller.0)
    .bind(caller.1)
    .bind(caller.2)
    .bind(dialled)
    .bind(callee)
    .bind(callee.map(|_| dialled))
    .bind(started_ms)
    .bind(answered_ms)
    .bind(ended_ms)
    .bind(outcome)
    .execute(db)
    .await
    .unwrap();
}

#[tokio::test]
async fn call_history_and_missed_badge() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let cecil = login(a, "cecil@a.test", WEB_PASSWORD).await;
    let olga = login(a, "olga@b.test", WEB_PASSWORD).await;
    let (al, bo, ce, ol) = (
        my_id(a, &alice).await,
        my_id(a, &bob).await,
        my_id(a, &cecil).await,
        my_id(a, &olga).await,
    );
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        gw.dir.path().join("centrala.db").display()
    ))
    .await
    .unwrap();
    let t = 1_700_000_000_000i64;
    // Alice calls Bob: answered, a minute.
    call(
        &db,
        1,
        (Some(al), "101", Some("User 101")),
        "102",
        Some(bo),
        t,
        Some(t + 2_000),
        t + 62_000,
        "answered",
    )
    .await;
    // An outside caller rings Bob; nobody answers.
    call(
        &db,
        1,
        (None, "+48600100200", None),
        "+48226006102",
        Some(bo),
        t + 100_000,
        None,
        t + 130_000,
        "missed",
    )
    .await;
    // Alice again: Bob is on do not disturb.
    call(
        &db,
        1,
        (Some(al), "101", Some("User 101")),
        "102",
        Some(bo),
        t + 200_000,
        None,
        t + 200_500,
        "busy",
    )
    .await;
    // Bob calls out; it fails.
    call(
        &db,
        1,
        (Some(bo), "102", Some("User 102")),
        "0226006100",
        None,
        t + 300_000,
        None,
        t + 301_000,
        "failed",
    )
    .await;
    // Not Bob's: Cecil calls Alice; Olga's company.
    call(
        &db,
        1,
        (Some(ce), "103", None),
        "101",
        Some(al),
        t + 400_000,
        None,
        t + 401_000,
        "missed",
    )
    .await;
    call(
        &db,
        2,
        (None, "+48600100200", None),
        "101",
        Some(ol),
        t + 500_000,
        None,
        t + 501_000,
        "missed",
    )
    .await;
    // Bob's phone book names the outside caller.
    let r = http(
        a,
        "POST",
        "/api/v1/contacts",
        Auth::Cookie(&bob),
        Some(json!({"name": "Zenon Żuraw", "numbers": [{"label": "mobile", "number": "600 100 200"}]})),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = http(a, "GET", "/api/v1/history", Auth::Cookie(&bob), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let h = r.json();
    assert_eq!(h["missed_unseen"], 2, "{h}");
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{h}");
    assert_eq!(
        items[0],
        json!({
            "id": items[0]["id"], "direction": "outgoing", "outcome": "failed", "missed": false,
            "peer": {"name": null, "number": "0226006100", "extension": null},
            "started_ms": t + 300_000, "answered_ms": null, "ended_ms": t + 301_000, "duration_s": 0,
            "diverted_from_number": null, "diverted_from_name": null, "diversion": null,
            "forwarded_to_number": null, "forwarded_to_name": null
        })
    );
    assert_eq!(items[1]["direction"], "incoming");
    assert_eq!(items[1]["outcome"], "busy");
    assert_eq!(items[1]["missed"], true);
    assert_eq!(
        items[1]["peer"],
        json!({"name": "User 101", "number": "101", "extension": "101"})
    );
    assert_eq!(items[2]["missed"], true);
    assert_eq!(
        items[2]["peer"],
        json!({"name": "Zenon Żuraw", "number": "+48600100200", "extension": null})
    );
    assert_eq!(items[3]["outcome"], "answered");
    assert_eq!(items[3]["missed"], false);
    assert_eq!(items[3]["duration_s"], 60);
    assert_eq!(items[3]["answered_ms"], t + 2_000);
    // Alice sees the same calls from her side, and Cecil's missed call to her.
    let h = http(a, "GET", "/api/v1/history", Auth::Cookie(&alice), None)
        .await
        .json();
    let dirs: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["direction"].as_str().unwrap())
        .collect();
    assert_eq!(dirs, ["incoming", "outgoing", "outgoing"]);
    assert_eq!(h["items"][1]["peer"]["name"], "User 102");
    assert_eq!(h["items"][1]["peer"]["extension"], "102");
    assert_eq!(h["missed_unseen"], 1);
    // Olga sees only her company's call.
    let h = http(a, "GET", "/api/v1/history", Auth::Cookie(&olga), None)
        .await
        .json();
    assert_eq!(h["items"].as_array().unwrap().len(), 1);
    // Pages.
    let page = http(
        a,
        "GET",
        "/api/v1/history?limit=2",
        Auth::Cookie(&bob),
        None,
    )
    .await
    .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let last = page["items"][1]["started_ms"].as_i64().unwrap();
    let rest = http(
        a,
        "GET",
        &format!("/api/v1/history?limit=2&before={last}"),
        Auth::Cookie(&bob),
        None,
    )
    .await
    .json();
    let starts: Vec<i64> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["started_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(starts, [t + 100_000, t]);
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=x", "limit"),
        ("before=yesterday", "before"),
    ] {
        let r = http(
            a,
            "GET",
            &format!("/api/v1/history?{q}"),
            Auth::Cookie(&bob),
            None,
        )
        .await;
        assert_eq!(field_errors(&r), [field], "{q}");
    }
    // The badge: seen clears it; a later missed call counts again.
    let r = http(a, "GET", "/api/v1/history/missed", Auth::Cookie(&bob), None).await;
    assert_eq!(r.json(), json!({"missed_unseen": 2}));
    let r = http(a, "POST", "/api/v1/history/seen", Auth::Cookie(&bob), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"missed_unseen": 0}));
    let r = http(a, "GET", "/api/v1/history/missed", Auth::Cookie(&bob), None).await;
    assert_eq!(r.json(), json!({"missed_unseen": 0}));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    call(
        &db,
        1,
        (Some(ce), "103", None),
        "102",
        Some(bo),
        now,
        None,
        now + 60_000,
        "missed",
    )
    .await;
    let r = http(a, "GET", "/api/v1/history/missed", Auth::Cookie(&bob), None).await;
    assert_eq!(r.json(), json!({"missed_unseen": 1}));
    // Alice's badge is her own.
    let r = http(
        a,
        "GET",
        "/api/v1/history/missed",
        Auth::Cookie(&alice),
        None,
    )
    .await;
    assert_eq!(r.json(), json!({"missed_unseen": 1}));
}

// ---- e-mail language ----

/// The `.eml` files written for `to`, decoded: (headers, body).
fn mails_to(dir: &std::path::Path, to: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(dir.join("mail")).unwrap().flatten() {
        let raw = std::fs::read_to_string(f.path()).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        if !head.contains(&format!("<{to}>")) {
            continue;
        }
        let lower = head.to_ascii_lowercase();
        let body = if lower.contains("content-transfer-encoding: base64") {
            let b64: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            )
            .unwrap()
        } else if lower.contains("content-transfer-encoding: quoted-printable") {
            quoted_printable(body)
        } else {
            body.to_string()
        };
        out.push((head.to_string(), body));
    }
    out
}

fn quoted_printable(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 3 <= b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn emails_in_the_recipients_language() {
    let gw = start_seeded(None).await;
    let a = gw.addr;
    let alice = login(a, "alice@a.test", WEB_PASSWORD).await;
    let bob = login(a, "bob@a.test", WEB_PASSWORD).await;
    let cecil = login(a, "cecil@a.test", WEB_PASSWORD).await;
    // A new employee, invited by an admin whose browser speaks Polish: Polish.
    let r = Request::new("POST", "/api/v1/employees")
        .auth(Auth::Cookie(&alice))
        .header("Accept-Language", "pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7")
        .json(json!({"name": "Zofia Wójcik", "email": "zofia@a.test", "app_access": true}))
        .send(a)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mails = mails_to(gw.dir.path(), "zofia@a.test");
    assert_eq!(mails.len(), 1);
    let (head, body) = &mails[0];
    assert!(head.contains("Content-Language: pl"), "{head}");
    assert!(body.starts_with("Dzień dobry,"), "{body}");
    assert!(
        body.contains("przygotowała dla Ciebie telefon: numer wewnętrzny 104."),
        "{body}"
    );
    assert!(body.contains("wygasa za 72 godziny"), "{body}");
    assert!(body.contains("/?invite="), "{body}");
    // The same admin's invitation without Accept-Language: English.
    let r = http(
        a,
        "POST",
        "/api/v1/employees",
        Auth::Cookie(&alice),
        Some(json!({"name": "Ewan Gray", "email": "ewan@a.test", "app_access": true})),
    )
    .await;
    assert_eq!(r.status, 201);
    let (head, body) = &mails_to(gw.dir.path(), "ewan@a.test")[0];
    assert!(head.contains("Content-Language: en"), "{head}");
    assert!(body.starts_with("Hello Ewan Gray,"), "{body}");
    // A person's own choice wins over the admin's browser: Bob chose English, Cecil Polish.
    for (s, lang) in [(&bob, "en"), (&cecil, "pl")] {
        let r = http(
            a,
            "PUT",
            "/api/v1/me/language",
            Auth::Cookie(s),
            Some(json!({"language": lang})),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let ids = (my_id(a, &bob).await, my_id(a, &cecil).await);
    for (id, accept) in [(ids.0, "pl"), (ids.1, "en-GB")] {
        let r = Request::new("POST", &format!("/api/v1/employees/{id}/invitation"))
            .auth(Auth::Cookie(&alice))
            .header("Accept-Language", accept)
            .send(a)
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let (_, body) = &mails_to(gw.dir.path(), "bob@a.test")[0];
    assert!(body.contains("Choose a new password here:"), "{body}");
    let (_, body) = &mails_to(gw.dir.path(), "cecil@a.test")[0];
    assert!(body.contains("Nowe hasło ustawisz tutaj:"), "{body}");
    assert!(body.contains("w firmie Default company."), "{body}");
    assert!(body.contains("wygasa za 24 godziny"), "{body}");
    // "Forgot password" follows the asking browser for someone who chose nothing.
    let r = Request::new("POST", "/api/v1/password-resets")
        .header("Accept-Language", "pl")
        .json(json!({"email": "ewan@a.test"}))
        .send(a)
        .await;
    assert_eq!(r.status, 202);
    let mails = mails_to(gw.dir.path(), "ewan@a.test");
    assert_eq!(mails.len(), 2);
    assert!(
        mails
            .iter()
            .any(|(_, b)| b.contains("Aby zacząć, ustaw hasło:")),
        "{mails:?}"
    );
}
