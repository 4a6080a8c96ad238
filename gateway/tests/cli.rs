//! The `centrala` command's account commands, run as a person would: the first admin's and
//! the demo's web and SIP passwords are separate, and a SIP password's digest algorithm is
//! a setting.

use std::path::Path;
use std::process::Command;

use centrala_gateway::accounts::DEFAULT_COMPANY;
use centrala_gateway::store::Store;
use centrala_sip::digest::{Algorithm, ha1};

fn centrala(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_centrala"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("CENTRALA_ADMIN_PASSWORD")
        .env_remove("CENTRALA_USER_PASSWORD")
        .env_remove("CENTRALA_WEB_PASSWORD")
        .env_remove("CENTRALA_DOMAIN")
        .output()
        .expect("run centrala");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "centrala {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The word after `label` on the line that contains `key`.
fn word_after(out: &str, key: &str, label: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.contains(key) && l.contains(label))
        .unwrap_or_else(|| panic!("{key} / {label} in:\n{out}"));
    let rest = &line[line.find(label).unwrap() + label.len()..];
    rest.split_whitespace().next().unwrap().to_string()
}

#[tokio::test]
async fn company_admin_gets_a_web_password_and_no_sip_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = centrala(
        dir.path(),
        &[
            "company",
            "create",
            "--name",
            "Acme",
            "--domain",
            "acme.example",
            "--admin-email",
            "boss@acme.example",
        ],
    );
    let web = word_after(&out, "boss@acme.example", "web login password:");
    let store = Store::open(dir.path()).await.unwrap();
    let c = store
        .company_by_domain("acme.example")
        .await
        .unwrap()
        .unwrap();
    let login = store.login("boss@acme.example", &web).await.unwrap();
    assert!(login.is_ok(), "the printed web password logs in");
    let sip = store.find_sip_user(c.id, "101").await.unwrap().unwrap();
    assert_eq!(sip.ha1_md5, None, "no SIP password: {out}");
    assert_eq!(sip.ha1_sha256, None);
    assert!(out.contains("no SIP password"), "{out}");
}

#[tokio::test]
async fn demo_prints_separate_web_and_sip_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let out = centrala(dir.path(), &["demo", "--domain", "demo.example"]);
    let web = word_after(&out, "alice@demo.example", "web password");
    let sip = word_after(&out, "101@demo.example", "SIP password");
    assert_ne!(web, sip, "{out}");
    let store = Store::open(dir.path()).await.unwrap();
    let u = store
        .find_sip_user(DEFAULT_COMPANY, "101")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        u.ha1_md5.as_deref(),
        Some(ha1(Algorithm::Md5, "101", "demo.example", &sip).as_str())
    );
    assert_ne!(
        u.ha1_md5.as_deref(),
        Some(ha1(Algorithm::Md5, "101", "demo.example", &web).as_str()),
        "the web password is no SIP password"
    );
    assert!(
        store
            .login("alice@demo.example", &web)
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        store
            .login("alice@demo.example", &sip)
            .await
            .unwrap()
            .is_err()
    );
}

#[tokio::test]
async fn digest_algorithm_is_set_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    centrala(
        d,
        &[
            "user",
            "add",
            "--ext",
            "201",
            "--name",
            "Desk",
            "--password",
            "desk-secret",
            "--digest",
            "sha-256",
        ],
    );
    centrala(
        d,
        &[
            "user",
            "add",
            "--ext",
            "202",
            "--name",
            "Soft",
            "--password",
            "soft-secret",
        ],
    );
    let digest = |ext: &'static str| async move {
        let store = Store::open(d).await.unwrap();
        store
            .find_sip_user(DEFAULT_COMPANY, ext)
            .await
            .unwrap()
            .unwrap()
            .digest
    };
    assert_eq!(digest("201").await, Some(Algorithm::Sha256));
    assert_eq!(digest("202").await, None);
    centrala(d, &["user", "set", "--ext", "202", "--digest", "md5"]);
    assert_eq!(digest("202").await, Some(Algorithm::Md5));
    centrala(d, &["user", "set", "--ext", "201", "--digest", "default"]);
    assert_eq!(digest("201").await, None);
    centrala(
        d,
        &[
            "user",
            "set",
            "--ext",
            "201",
            "--password",
            "new-desk-secret",
        ],
    );
    let store = Store::open(d).await.unwrap();
    let u = store
        .find_sip_user(DEFAULT_COMPANY, "201")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        u.ha1_md5.as_deref(),
        Some(ha1(Algorithm::Md5, "201", &u.realm, "new-desk-secret").as_str())
    );
}

/// `centrala prices`: the seeded list, a change from a day on (the earlier list stays as it
/// was), a CSV import, and bad input refused with nothing changed.
#[tokio::test]
async fn prices_are_listed_and_changed_from_a_day_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = centrala(d, &["prices", "list"]);
    assert!(
        out.contains("prices from 2026-01-01 (billed per started minute)"),
        "{out}"
    );
    assert!(
        out.contains("  mobile                 0.12 PLN/min"),
        "{out}"
    );
    assert!(
        out.contains("  extension                   28.80 PLN/month"),
        "{out}"
    );
    assert!(out.contains("other countries: intl_zone3"), "{out}");
    let out = centrala(
        d,
        &[
            "prices",
            "set",
            "--from",
            "2026-07-01",
            "--class",
            "mobile",
            "--per-minute",
            "0.09",
            "--rounding",
            "per-second",
        ],
    );
    assert!(
        out.contains("prices from 2026-07-01 (billed per second)"),
        "{out}"
    );
    let csv = d.join("rates.csv");
    std::fs::write(&csv, "class,per_minute\nlandline,0.04\nintl_zone2,0.22\n").unwrap();
    centrala(
        d,
        &[
            "prices",
            "import",
            "--from",
            "2026-07-01",
            csv.to_str().unwrap(),
        ],
    );
    let store = Store::open(d).await.unwrap();
    let july = store.price_list_on("2026-07-15").await.unwrap().unwrap();
    assert_eq!(
        (
            july.per_minute["mobile"],
            july.per_minute["landline"],
            july.per_minute["intl_zone2"],
            july.per_minute["premium"]
        ),
        (90_000, 40_000, 220_000, 500_000)
    );
    let june = store.price_list_on("2026-06-30").await.unwrap().unwrap();
    assert_eq!(june.per_minute["mobile"], 120_000);
    drop(store);
    // Refused: a made-up class, a bad amount, a bad row in a file (nothing applied).
    for args in [
        &[
            "prices",
            "set",
            "--from",
            "2026-08-01",
            "--class",
            "gold",
            "--per-minute",
            "1",
        ][..],
        &[
            "prices",
            "set",
            "--from",
            "2026-08-01",
            "--class",
            "mobile",
            "--per-minute",
            "-1",
        ],
        &[
            "prices",
            "set",
            "--from",
            "2026-02-30",
            "--rounding",
            "per-second",
        ],
        // A good change beside a bad one: neither is made.
        &[
            "prices",
            "set",
            "--from",
            "2026-08-01",
            "--class",
            "mobile",
            "--per-minute",
            "0.01",
            "--zone",
            "gold",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_centrala"))
            .args(args)
            .arg("--data")
            .arg(d)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
    }
    std::fs::write(&csv, "class,per_minute\nmobile,0.01\nplatinum,9\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_centrala"))
        .args(["prices", "import", "--from", "2026-08-01"])
        .arg(&csv)
        .arg("--data")
        .arg(d)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3"));
    let store = Store::open(d).await.unwrap();
    assert_eq!(store.price_lists().await.unwrap().len(), 2);
}
