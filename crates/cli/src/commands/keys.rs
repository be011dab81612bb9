use std::sync::Arc;

use tweestap_core::SigningAlg;

use super::user::iso;
use crate::cli::KeysCommand;
use crate::config::Config;
use crate::server::Wiring;

pub async fn run(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let wiring = Wiring::new(config, Arc::new(tweestap_web::system::SystemClock)).await?;
    let keyring = wiring.keyring();
    match command {
        KeysCommand::List => {
            let keys = keyring.published().await?;
            if keys.is_empty() {
                println!("No signing keys yet; `tweestap serve` creates the first.");
            }
            for key in keys {
                let state = match key.retire_at {
                    None => "current".to_string(),
                    Some(t) => format!("retires {}", iso(t.0)),
                };
                println!(
                    "{}  {}  created {}  {state}",
                    key.kid,
                    key.alg,
                    iso(key.created_at.0)
                );
            }
        }
        KeysCommand::Rotate { overlap_hours, alg } => {
            if overlap_hours < 0 {
                anyhow::bail!("--overlap-hours cannot be negative");
            }
            let algs = match alg {
                Some(alg) => vec![SigningAlg::parse(&alg)?],
                None => SigningAlg::ALL.to_vec(),
            };
            for alg in algs {
                let kid = keyring.rotate(alg, overlap_hours * 3600).await?;
                println!(
                    "New {} signing key {kid}; previous {} keys stay published for {overlap_hours} h.",
                    alg.as_str(),
                    alg.as_str()
                );
            }
        }
    }
    Ok(())
}
