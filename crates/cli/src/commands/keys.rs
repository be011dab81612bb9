use std::sync::Arc;

use tweestap_core::SigningAlg;

use super::user::iso;
use crate::cli::KeysCommand;
use crate::config::Config;
use crate::server::Wiring;

pub async fn run(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let wiring = Wiring::new(config, Arc::new(tweestap_web::system::SystemClock)).await?;
    let keyring = wiring.keyring();
    let now = wiring.clock.now();
    match command {
        KeysCommand::List => {
            let keys = keyring.published().await?;
            if keys.is_empty() {
                println!("No signing keys yet; `tweestap serve` creates the first.");
            }
            for alg in SigningAlg::ALL {
                let current =
                    tweestap_oidc::keyring::signer_among(&keys, alg, now).map(|k| k.kid.clone());
                for key in keys.iter().filter(|k| k.alg == alg.as_str()) {
                    let state = if key.activate_at > now {
                        format!("next: signs from {}", iso(key.activate_at.0))
                    } else if current.as_deref() == Some(key.kid.as_str()) {
                        "current: signs".to_string()
                    } else {
                        "verifies only".to_string()
                    };
                    let retires = key
                        .retire_at
                        .map(|t| format!(", published until {}", iso(t.0)))
                        .unwrap_or_default();
                    println!(
                        "{}  {}  created {}  {state}{retires}",
                        key.kid,
                        key.alg,
                        iso(key.created_at.0)
                    );
                }
            }
        }
        KeysCommand::Rotate { alg, now: true, .. } => {
            for alg in algorithms(alg)? {
                let kid = keyring.replace_now(alg).await?;
                println!(
                    "New {} signing key {kid} signs now; every other {} key was withdrawn.",
                    alg.as_str(),
                    alg.as_str()
                );
            }
        }
        KeysCommand::Rotate {
            ahead_hours,
            overlap_hours,
            alg,
            ..
        } => {
            if ahead_hours < 0 || overlap_hours < 0 {
                anyhow::bail!("--ahead-hours and --overlap-hours cannot be negative");
            }
            for alg in algorithms(alg)? {
                let kid = keyring
                    .rotate(alg, ahead_hours * 3600, overlap_hours * 3600)
                    .await?;
                let alg = alg.as_str();
                println!(
                    "New {alg} signing key {kid}: published now, signs from {}; the previous {alg} keys stay published until {}.",
                    iso(now.plus_secs(ahead_hours * 3600).0),
                    iso(now.plus_secs((ahead_hours + overlap_hours) * 3600).0),
                );
            }
        }
    }
    Ok(())
}

/// The algorithm named with `--alg`, or both.
fn algorithms(alg: Option<String>) -> anyhow::Result<Vec<SigningAlg>> {
    Ok(match alg {
        Some(alg) => vec![SigningAlg::parse(&alg)?],
        None => SigningAlg::ALL.to_vec(),
    })
}
