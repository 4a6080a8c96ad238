//! `centrala prices`: the operator's view and changes of the price lists (issue 15,
//! [`crate::costs`]). Amounts are written in złoty (`0.12`). A change applies from a day
//! on: the list starting that day is made as a copy of the one before it if needed, so
//! calls already recorded keep their cost and later ones are rated with the new prices.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::billing::{MonthlyFees, PriceList, Rounding, format_pln, parse_pln};
use crate::costs::PriceChange;
use crate::store::Store;

#[derive(Subcommand, Debug)]
pub enum PricesCommand {
    /// Lists every price list (one block per day it takes effect).
    List,
    /// Changes prices from a day on: a class's price per minute, the rounding, a monthly
    /// fee, a country's zone or the default zone (one or more of them at once).
    Set {
        /// The first day (UTC) the change applies to, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// A class key: landline, mobile, premium, special, intl_freephone, intl_zone1…
        #[arg(long, requires = "per_minute")]
        class: Option<String>,
        /// The class's price per minute in złoty, e.g. 0.12.
        #[arg(long, requires = "class")]
        per_minute: Option<String>,
        /// per-minute (every started minute whole) or per-second.
        #[arg(long)]
        rounding: Option<String>,
        /// A monthly fee: extension, number_block, flat_landline, flat_landline_mobile.
        #[arg(long, requires = "amount")]
        fee: Option<String>,
        /// The fee in złoty, e.g. 28.80.
        #[arg(long, requires = "fee")]
        amount: Option<String>,
        /// A country (ISO 3166 code, e.g. DE) to put in --zone.
        #[arg(long, requires = "zone")]
        country: Option<String>,
        /// The zone of --country (intl_zone1…), or without --country the zone of every
        /// country not listed.
        #[arg(long)]
        zone: Option<String>,
    },
    /// Imports rates from a CSV file with the header `class,per_minute` (złoty), e.g.
    /// `mobile,0.12`, applied from --from on.
    Import {
        #[arg(long)]
        from: String,
        file: PathBuf,
    },
}

fn pln(what: &str, s: &str) -> anyhow::Result<i64> {
    parse_pln(s).with_context(|| {
        format!("{what}: {s:?} is not an amount in złoty (e.g. 0.12, up to six decimals)")
    })
}

/// Runs a `centrala prices` command against the store; prints to stdout.
pub async fn run(store: &Store, command: PricesCommand) -> anyhow::Result<()> {
    match command {
        PricesCommand::List => {
            for list in store.price_lists().await? {
                print!("{}", describe(&list));
            }
        }
        PricesCommand::Set {
            from,
            class,
            per_minute,
            rounding,
            fee,
            amount,
            country,
            zone,
        } => {
            let mut changes = Vec::new();
            if let (Some(class), Some(p)) = (class, per_minute) {
                changes.push(PriceChange::Rate {
                    per_minute: pln("--per-minute", &p)?,
                    class,
                });
            }
            if let Some(r) = rounding {
                changes.push(PriceChange::Rounding(Rounding::parse(&r).with_context(
                    || format!("--rounding {r:?}: per-minute or per-second"),
                )?));
            }
            if let (Some(name), Some(a)) = (fee, amount) {
                changes.push(PriceChange::Fee {
                    amount: pln("--amount", &a)?,
                    name,
                });
            }
            match (country, zone) {
                (Some(country), Some(zone)) => changes.push(PriceChange::Zone {
                    country: country.to_ascii_uppercase(),
                    zone,
                }),
                (None, Some(zone)) => changes.push(PriceChange::DefaultZone(zone)),
                _ => {}
            }
            if changes.is_empty() {
                bail!(
                    "nothing to change: give --class and --per-minute, --rounding, --fee and --amount, or --zone"
                );
            }
            for c in &changes {
                c.check()?;
            }
            let mut list = None;
            for c in &changes {
                list = Some(store.change_prices(&from, c).await?);
            }
            if let Some(list) = list {
                print!("{}", describe(&list));
            }
        }
        PricesCommand::Import { from, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let headers = r.headers()?.clone();
            if headers.iter().map(str::trim).collect::<Vec<_>>() != ["class", "per_minute"] {
                bail!("{}: the header must be class,per_minute", file.display());
            }
            // Every row is checked before anything is changed.
            let mut changes = Vec::new();
            for (i, row) in r.records().enumerate() {
                let row = row?;
                let line = i + 2;
                let class = row.get(0).unwrap_or("").trim().to_string();
                if !crate::costs::rateable_class(&class) {
                    bail!("line {line}: {class:?} is not a class with a price");
                }
                let p = row.get(1).unwrap_or("").trim();
                changes.push(PriceChange::Rate {
                    per_minute: pln(&format!("line {line}"), p)?,
                    class,
                });
            }
            let mut list = None;
            for c in &changes {
                list = Some(store.change_prices(&from, c).await?);
            }
            match list {
                Some(list) => print!("{}", describe(&list)),
                None => bail!("{}: no rates in it", file.display()),
            }
        }
    }
    Ok(())
}

/// A price list as text, one fact a line.
pub fn describe(list: &PriceList) -> String {
    let mut out = format!(
        "prices from {} (billed {}):\n",
        list.valid_from,
        match list.rounding {
            Rounding::PerMinute => "per started minute",
            Rounding::PerSecond => "per second",
        }
    );
    for (class, p) in &list.per_minute {
        out.push_str(&format!("  {class:<16} {:>10} PLN/min\n", format_pln(*p)));
    }
    let mut fees = list.fees;
    for name in MonthlyFees::NAMES {
        let v = fees.get_mut(name).map_or(0, |v| *v);
        out.push_str(&format!("  {name:<22} {:>10} PLN/month\n", format_pln(v)));
    }
    let mut by_zone: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (country, zone) in &list.zones {
        by_zone.entry(zone).or_default().push(country);
    }
    for (zone, countries) in by_zone {
        out.push_str(&format!("  {zone}: {}\n", countries.join(" ")));
    }
    out.push_str(&format!("  other countries: {}\n", list.default_zone));
    out
}
