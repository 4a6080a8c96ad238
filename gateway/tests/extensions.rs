//! An integration creating employees through the API without an extension gets the next
//! free one even when it sends many at once (issue 13: 8 clients creating 480 employees
//! used to get 409 "extension 104 is already taken" for 354 of them).

use std::collections::HashSet;

use centrala_gateway::accounts::{NewEmployee, Role};
use centrala_gateway::store::{Store, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creations_without_an_extension_all_get_a_free_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let company = store
        .create_company("Many", "many.example", 3)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for client in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..60 {
                let new = NewEmployee {
                    name: format!("Person {client}-{i}"),
                    email: format!("p{client}-{i}@many.example"),
                    extension: None,
                    role: Role::User,
                    app_access: false,
                };
                got.push(store.create_employee(company.id, &new).await);
            }
            got
        }));
    }
    let mut exts = HashSet::new();
    for t in tasks {
        for r in t.await.unwrap() {
            let e = r.expect("every creation succeeds");
            assert!(exts.insert(e.extension.clone()), "{} twice", e.extension);
        }
    }
    assert_eq!(exts.len(), 480);
    // An extension asked for explicitly and taken is still a clear 409-style conflict.
    let taken = NewEmployee {
        name: "Late".into(),
        email: "late@many.example".into(),
        extension: Some("101".into()),
        role: Role::User,
        app_access: false,
    };
    match store.create_employee(company.id, &taken).await {
        Err(StoreError::Conflict { field, message }) => {
            assert_eq!(field, "extension");
            assert_eq!(message, "extension 101 is already taken");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}
