//! `tweestap entra import-phones`: the mobile numbers Entra already has become pre-registered
//! SMS methods, so students keep the number they know and skip registration.

use std::path::Path;

use anyhow::{Context, bail};
use tweestap_core::eam::phones::{ExportRow, check};
use tweestap_core::ports::PhoneImported;

use super::{operator, shown};
use crate::cli::EntraCommand;
use crate::config::Config;
use crate::server::Wiring;

const COLUMNS: [&str; 5] = [
    "userPrincipalName",
    "objectId",
    "tenantId",
    "phoneNumber",
    "phoneType",
];

pub async fn run(config: &Config, command: EntraCommand) -> anyhow::Result<()> {
    match command {
        EntraCommand::ImportPhones {
            file,
            dry_run,
            link_existing,
        } => import_phones(config, &file, dry_run, link_existing).await,
    }
}

/// Problems found, by line number.
type Problems = Vec<(usize, String)>;

/// The rows of the export; a file without the five columns is refused as a whole.
fn read(file: &Path) -> anyhow::Result<(Vec<ExportRow>, Problems)> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let headers = reader.headers().context("no header line")?.clone();
    let index = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let columns: Vec<usize> = COLUMNS
        .iter()
        .map(|c| {
            index(c).with_context(|| {
                format!(
                    "{}: the header line has no column {c:?} (expected {})",
                    file.display(),
                    COLUMNS.join(",")
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push((line, format!("not valid CSV: {e}")));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |n: usize| record.get(columns[n]).unwrap_or_default().to_string();
        if (0..5).any(|n| field(n).is_empty()) {
            problems.push((
                line,
                format!("every row needs all of {}", COLUMNS.join(", ")),
            ));
            continue;
        }
        rows.push(ExportRow {
            line,
            user_principal_name: field(0),
            object_id: field(1),
            tenant_id: field(2),
            phone_number: field(3),
            phone_type: field(4),
        });
    }
    Ok((rows, problems))
}

async fn import_phones(
    config: &Config,
    file: &Path,
    dry_run: bool,
    link_existing: bool,
) -> anyhow::Result<()> {
    let Some(settings) = config.entra.settings(&config.public_url)? else {
        bail!("no [[entra.tenants]] are configured; add the tenant first (docs/entra.md)");
    };
    let (rows, mut problems) = read(file)?;
    let policy = &config.policy.0;
    let checked = check(
        &rows,
        &settings,
        &policy.default_country,
        &policy.allowed_countries,
    );
    problems.extend(checked.problems);
    problems.sort_by_key(|(line, _)| *line);
    for (line, notice) in &checked.notices {
        println!("{}:{line}: {}", file.display(), shown(notice));
    }
    if !problems.is_empty() {
        for (line, problem) in &problems {
            eprintln!("{}:{line}: {}", file.display(), shown(problem));
        }
        bail!(
            "{} bad row(s); nothing was imported. Fix them and run the import again.",
            problems.len()
        );
    }
    if dry_run {
        println!(
            "{} mobile number(s) would be imported; nothing was written (--dry-run).",
            checked.imports.len()
        );
        return Ok(());
    }
    let wiring = Wiring::new(
        config,
        std::sync::Arc::new(tweestap_web::system::SystemClock),
    )
    .await?;
    let lines: Vec<(usize, String)> = checked
        .imports
        .iter()
        .map(|i| (i.line, i.user.username.as_str().to_string()))
        .collect();
    let outcomes = wiring
        .admin(&operator())
        .import_entra_phones(checked.imports, link_existing)
        .await?;
    let count = |o: PhoneImported| outcomes.iter().filter(|x| **x == o).count();
    for ((line, username), outcome) in lines.iter().zip(&outcomes) {
        let why = match outcome {
            PhoneImported::KeptOther => "has sign-in methods of its own; the number was not added",
            PhoneImported::Unlinked => {
                "is an existing account not linked to this Entra user; left alone (--link-existing links it)"
            }
            _ => continue,
        };
        println!("{}:{line}: {} {why}", file.display(), shown(username));
    }
    println!(
        "Imported: {} new account(s), {} number(s) added, {} unchanged, {} kept their own methods, {} not linked.",
        count(PhoneImported::Created),
        count(PhoneImported::Added),
        count(PhoneImported::Unchanged),
        count(PhoneImported::KeptOther),
        count(PhoneImported::Unlinked),
    );
    Ok(())
}
