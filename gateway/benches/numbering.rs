//! What a call to the phone network costs the core and the store in CPU: reading what was
//! dialled (`numbering::parse`, libphonenumber metadata) and rating it (`billing::rate`).
//! Run: `cargo bench -p centrala-gateway --bench numbering`.

use std::collections::BTreeMap;

use centrala_gateway::billing::{FlatRate, MonthlyFees, PriceList, Rounding, rate};
use centrala_gateway::numbering::{Permission, allowed, parse};
use criterion::{Criterion, black_box, criterion_group, criterion_main};

/// As typed: a Polish mobile with spaces, a landline with 0048, an 800 number, a German
/// mobile with 00, a US number, an emergency number.
const DIALLED: [&str; 6] = [
    "601 234 567",
    "0048226006103",
    "800 123 456",
    "0049 151 23456789",
    "+1 212 555 0199",
    "112",
];

fn prices() -> PriceList {
    let per_minute: BTreeMap<String, i64> = [
        ("landline", 50_000),
        ("mobile", 120_000),
        ("premium", 500_000),
        ("special", 500_000),
        ("intl_freephone", 150_000),
        ("intl_zone1", 200_000),
        ("intl_zone2", 250_000),
        ("intl_zone3", 600_000),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let zones: BTreeMap<String, String> = [("DE", "intl_zone1"), ("US", "intl_zone2")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PriceList {
        valid_from: "2026-01-01".into(),
        rounding: Rounding::PerMinute,
        per_minute,
        zones,
        default_zone: "intl_zone3".into(),
        fees: MonthlyFees {
            extension: 28_800_000,
            number_block: 4_200_000,
            flat_landline: 10_000_000,
            flat_landline_mobile: 25_000_000,
        },
    }
}

fn bench(c: &mut Criterion) {
    c.bench_function("numbering::parse (6 numbers as typed)", |b| {
        b.iter(|| {
            for d in DIALLED {
                black_box(parse(black_box(d)).ok());
            }
        })
    });
    let parsed: Vec<_> = DIALLED.iter().filter_map(|d| parse(d).ok()).collect();
    c.bench_function("permission check (6 numbers)", |b| {
        b.iter(|| {
            for d in &parsed {
                black_box(allowed(Permission::National, false, black_box(d)).is_ok());
            }
        })
    });
    let prices = prices();
    c.bench_function("billing::rate (6 calls)", |b| {
        b.iter(|| {
            for d in &parsed {
                black_box(rate(black_box(d), 187, FlatRate::None, &prices).ok());
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
