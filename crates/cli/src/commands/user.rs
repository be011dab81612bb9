use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::json;
use tweestap_core::admin::{AdminService, PasswordInput, UserInput};
use tweestap_core::{Method, Secret, User};

use super::shown;
use crate::cli::UserCommand;
use crate::config::Config;
use crate::server::Wiring;

pub async fn run(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let wiring = Wiring::new(config, Arc::new(tweestap_web::system::SystemClock)).await?;
    let admin = wiring.admin(&super::operator());
    match command {
        UserCommand::Add {
            username,
            display_name,
            email,
            phone,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(PasswordInput::Plain(read_secret_line()?))
            } else {
                None
            };
            let input = UserInput {
                username,
                display_name,
                email,
                phone,
                password,
            };
            let valid = admin.validate(&input)?;
            let name = valid.username.clone();
            admin.create(vec![valid], &|| {}).await?;
            println!("Created user {name}.");
            if !password_stdin {
                eprintln!(
                    "Note: no password was set; set one with `tweestap user set-password {name}`."
                );
            }
        }
        UserCommand::List { json } => {
            let users = admin.list().await?;
            if json {
                let list: Vec<_> = users.iter().map(|(u, m)| user_json(u, m)).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if users.is_empty() {
                println!("No users yet. Add one with `tweestap user add`.");
            } else {
                println!("{:<24} {:<30} METHODS", "USERNAME", "DISPLAY NAME");
                for (user, methods) in &users {
                    let flagged = if admin.store.user_flag(user.id).await?.is_some() {
                        "  [FLAGGED: see `tweestap user show`]"
                    } else {
                        ""
                    };
                    println!(
                        "{:<24} {:<30} {}{flagged}",
                        user.username,
                        shown(&user.display_name),
                        methods_summary(methods)
                    );
                }
            }
        }
        UserCommand::Show { username, json } => {
            let (user, methods) = admin.find(&username).await?;
            let events = admin.store.audit_list(Some(user.id), 20).await?;
            let flag = admin.store.user_flag(user.id).await?;
            if json {
                let mut value = user_json(&user, &methods);
                value["flagged"] = match &flag {
                    Some((at, reason)) => json!({"at": iso(at.0), "reason": reason}),
                    None => serde_json::Value::Null,
                };
                value["events"] = events
                    .iter()
                    .map(|e| json!({"at": iso(e.at.0), "event": e.kind, "outcome": e.outcome, "ip": e.ip, "actor": e.actor}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("Username:     {}", user.username);
                println!("Display name: {}", shown(&user.display_name));
                println!(
                    "Email:        {}",
                    shown(user.email.as_deref().unwrap_or("-"))
                );
                println!("Subject:      {}", user.subject);
                println!(
                    "Password:     {}",
                    if user.password_hash.is_some() {
                        "set"
                    } else {
                        "not set"
                    }
                );
                println!("Created:      {}", iso(user.created_at.0));
                if let Some((at, reason)) = &flag {
                    println!(
                        "FLAGGED:      {} ({}); push and texts are blocked. Clear with `tweestap user unflag {}`.",
                        iso(at.0),
                        shown(reason),
                        user.username
                    );
                }
                println!("Methods:      {}", methods_summary(&methods));
                for m in &methods {
                    let used = m
                        .last_used_at
                        .map(|t| iso(t.0))
                        .unwrap_or_else(|| "never".into());
                    let default = if m.is_default { ", asked first" } else { "" };
                    println!(
                        "  - [{}] {} (added {}, last used {used}{default})",
                        m.id.0,
                        method_name(m, true),
                        iso(m.created_at.0)
                    );
                }
                println!("Recent events:");
                for e in &events {
                    println!(
                        "  {} {} {} {}",
                        iso(e.at.0),
                        e.kind,
                        e.outcome,
                        shown(e.ip.as_deref().unwrap_or(""))
                    );
                }
            }
        }
        UserCommand::Import { file } => import(&admin, &file).await?,
        UserCommand::ResetMfa { username } => {
            let removed = admin.reset_mfa(&username).await?;
            println!(
                "Removed {removed} method(s) from {username}; they will register again at their next sign-in."
            );
        }
        UserCommand::SetPhone { username, phone } => {
            let phone = admin.set_phone(&username, &phone).await?;
            println!(
                "{username} now signs in with codes sent to {}.",
                phone.e164()
            );
        }
        UserCommand::Unflag { username } => {
            if admin.unflag(&username).await? {
                println!("Cleared the flag of {username}; push and texts work again.");
            } else {
                println!("{username} was not flagged.");
            }
        }
        UserCommand::UnblockSms { username } => {
            if admin.unblock_sms(&username).await? {
                println!("Codes are sent to {username} again.");
            } else {
                println!("{username} was not blocked.");
            }
        }
        UserCommand::Tap {
            username,
            valid,
            once,
        } => {
            let secs = duration_secs(&valid)?;
            let (pass, until) = admin.issue_access_pass(&username, secs, once).await?;
            println!("Temporary access pass for {username}: {pass}");
            println!(
                "Valid until {}{}. Shown only now; tweestap keeps only its hash.",
                iso(until.0),
                if once { ", for one sign-in" } else { "" }
            );
        }
        UserCommand::ForgetDevices { username } => {
            let removed = admin.forget_devices(&username).await?;
            println!(
                "Forgot {removed} device(s) of {username}; they ask for the second step again."
            );
        }
        UserCommand::RemoveMethod { username, method } => {
            admin.remove_method(&username, method).await?;
            println!("Removed method {method} from {username}.");
        }
        UserCommand::SetPassword { username } => {
            admin.set_password(&username, read_secret_line()?).await?;
            println!("Password of {username} changed.");
        }
    }
    Ok(())
}

fn read_secret_line() -> anyhow::Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(Secret::new(password))
}

pub fn iso(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

fn methods_summary(methods: &[Method]) -> String {
    if methods.is_empty() {
        return "none (registers at next sign-in)".to_string();
    }
    methods
        .iter()
        .map(|m| method_name(m, false))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "sms +31 6 •••• ••78" (or the full number for `show`), "app Aegis".
fn method_name(m: &Method, full: bool) -> String {
    match &m.kind {
        tweestap_core::MethodKind::Sms { phone } if full => format!("sms {}", phone.e164()),
        tweestap_core::MethodKind::Sms { phone } => format!("sms {}", phone.masked()),
        tweestap_core::MethodKind::Totp { label, .. } => format!("app {}", shown(label)),
        tweestap_core::MethodKind::Passkey { label, .. } => format!("passkey {}", shown(label)),
        tweestap_core::MethodKind::PushApp { label, .. } => {
            format!("tweestap-app {}", shown(label))
        }
    }
}

fn user_json(user: &User, methods: &[Method]) -> serde_json::Value {
    json!({
        "username": user.username.as_str(),
        "display_name": user.display_name,
        "email": user.email,
        "subject": user.subject,
        "password_set": user.password_hash.is_some(),
        "created_at": iso(user.created_at.0),
        "methods": methods.iter().map(|m| json!({
            "id": m.id.0,
            "kind": match &m.kind {
                tweestap_core::MethodKind::Sms { .. } => "sms",
                tweestap_core::MethodKind::Totp { .. } => "app",
                tweestap_core::MethodKind::Passkey { .. } => "passkey",
                tweestap_core::MethodKind::PushApp { .. } => "push",
            },
            "phone": m.phone().map(|p| p.e164()),
            "label": m.label(),
            "default": m.is_default,
            "created_at": iso(m.created_at.0),
            "last_used_at": m.last_used_at.map(|t| iso(t.0)),
        })).collect::<Vec<_>>(),
    })
}

/// Reads the CSV, checks every row, and creates all accounts in one transaction, or none.
async fn import(admin: &AdminService, file: &Path) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let mut rows = Vec::new();
    let mut problems: Vec<(u64, String)> = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(index as u64 + 1);
                problems.push((line, format!("not valid CSV: {e}")));
                continue;
            }
        };
        let line = record
            .position()
            .map(|p| p.line())
            .unwrap_or(index as u64 + 1);
        if index == 0
            && record
                .get(0)
                .is_some_and(|f| f.eq_ignore_ascii_case("username"))
        {
            continue; // a header row
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        // An Argon2 PHC string holds commas ("m=19456,t=2,p=1"); accept it unquoted too.
        let record = if record.len() > 5 && record.get(4).is_some_and(|f| f.starts_with("$argon2"))
        {
            let mut fields: Vec<String> = record.iter().take(4).map(str::to_string).collect();
            fields.push(record.iter().skip(4).collect::<Vec<_>>().join(","));
            csv::StringRecord::from(fields)
        } else {
            record
        };
        if record.len() != 5 {
            problems.push((
                line,
                format!(
                    "expected 5 columns (username, display name, email, phone, password), found {}",
                    record.len()
                ),
            ));
            continue;
        }
        let field = |i: usize| record.get(i).map(str::to_string).filter(|s| !s.is_empty());
        let password = field(4).map(|p| {
            if p.starts_with('$') {
                PasswordInput::Hash(p)
            } else {
                PasswordInput::Plain(Secret::new(p))
            }
        });
        rows.push((
            line,
            UserInput {
                username: field(0).unwrap_or_default(),
                display_name: field(1).unwrap_or_default(),
                email: field(2),
                phone: field(3),
                password,
            },
        ));
    }
    let valid = match admin.validate_import(rows).await? {
        Ok(valid) if problems.is_empty() => valid,
        Ok(_) => Vec::new(),
        Err(more) => {
            problems.extend(more);
            Vec::new()
        }
    };
    if !problems.is_empty() {
        problems.sort_by_key(|(line, _)| *line);
        for (line, problem) in &problems {
            eprintln!("{}:{line}: {problem}", file.display());
        }
        bail!(
            "{} bad row(s); nothing was imported. Fix them and run the import again.",
            problems.len()
        );
    }
    if valid.is_empty() {
        bail!("{} holds no accounts", file.display());
    }
    let bar = indicatif::ProgressBar::new(valid.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} accounts ({eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let count = valid.len();
    let tick = bar.clone();
    admin.create(valid, &move || tick.inc(1)).await?;
    bar.finish_and_clear();
    println!("Imported {count} account(s).");
    Ok(())
}

/// "30m", "1h", "2d" or plain seconds; at most 30 days.
fn duration_secs(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("--valid {text:?}: write e.g. 30m, 1h or 2d"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => anyhow::bail!("--valid {text:?}: the unit is s, m, h or d (e.g. 1h)"),
    };
    if secs <= 0 || secs > 30 * 86_400 {
        anyhow::bail!("--valid {text:?}: between 1 second and 30 days");
    }
    Ok(secs)
}
