use std::sync::Arc;

use anyhow::bail;
use serde_json::json;
use tweestap_core::ports::SmsStatus;

use super::user::iso;
use crate::cli::SmsCommand;
use crate::config::Config;
use crate::server::Wiring;

pub async fn run(config: &Config, command: SmsCommand) -> anyhow::Result<()> {
    let wiring = Wiring::new(config, Arc::new(tweestap_web::system::SystemClock)).await?;
    let admin = wiring.admin(&super::operator());
    match command {
        SmsCommand::ReportUrl { gateway } => {
            let names: Vec<String> = crate::server::gateways(config, &wiring.keys)?
                .iter()
                .map(|g| g.name().to_string())
                .collect();
            if !names.contains(&gateway) {
                bail!(
                    "no gateway named {gateway:?}; configured: {}",
                    names.join(", ")
                );
            }
            let token = wiring
                .keys
                .callback
                .sign(&format!("account-report:{gateway}"));
            println!(
                "{}/sms/dlr/account?gw={gateway}&token={token}",
                config.public_url.trim_end_matches('/')
            );
        }
        SmsCommand::Status {
            user,
            reference,
            limit,
            json,
        } => {
            let messages: Vec<SmsStatus> = match (user, reference) {
                (_, Some(reference)) => match admin.store.sms_by_reference(&reference).await? {
                    Some(m) => vec![m],
                    None => bail!("no text message with reference {reference:?}"),
                },
                (Some(name), None) => {
                    let (user, _) = admin.find(&name).await?;
                    admin.store.sms_list(Some(user.id), limit).await?
                }
                (None, None) => admin.store.sms_list(None, limit).await?,
            };
            if json {
                let list: Vec<_> = messages
                    .iter()
                    .map(|m| {
                        json!({
                            "reference": m.reference,
                            "to": m.phone.e164(),
                            "state": m.state.as_str(),
                            "gateway": m.gateway,
                            "attempts": m.attempts,
                            "error": m.last_error,
                            "created_at": iso(m.created_at.0),
                            "sent_at": m.sent_at.map(|t| iso(t.0)),
                            "delivered_at": m.delivered_at.map(|t| iso(t.0)),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if messages.is_empty() {
                println!("No text messages yet.");
            } else {
                println!(
                    "{:<17} {:<21} {:<16} {:<10} {:<10} PROBLEM",
                    "REFERENCE", "CREATED", "TO", "STATE", "GATEWAY"
                );
                for m in &messages {
                    println!(
                        "{:<17} {:<21} {:<16} {:<10} {:<10} {}",
                        m.reference,
                        iso(m.created_at.0),
                        m.phone.masked().replace(' ', ""),
                        m.state.as_str(),
                        m.gateway.as_deref().unwrap_or("-"),
                        super::shown(m.last_error.as_deref().unwrap_or(""))
                    );
                }
            }
        }
    }
    Ok(())
}
