use std::sync::Arc;

use serde_json::json;
use tweestap_core::Client;
use tweestap_core::clients::{ClientInput, ClientService};
use tweestap_core::ports::Store;

use super::user::iso;
use crate::cli::ClientCommand;
use crate::config::Config;
use crate::server::Wiring;

fn client_json(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.client_id.as_str(),
        "name": c.name,
        "redirect_uris": c.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "post_logout_uris": c.post_logout_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "public": c.public,
        "first_party": c.first_party,
        "scopes": c.scopes,
        "require_mfa": c.require_mfa,
        "id_token_alg": c.id_token_alg.as_str(),
        "created_at": iso(c.created_at.0),
    })
}

pub async fn run(config: &Config, command: ClientCommand) -> anyhow::Result<()> {
    let wiring = Wiring::new(config, Arc::new(tweestap_web::system::SystemClock)).await?;
    let service = ClientService {
        store: wiring.store.clone() as Arc<dyn Store>,
        clock: wiring.clock.clone(),
        entropy: wiring.entropy.clone(),
        actor: super::operator(),
    };
    match command {
        ClientCommand::Add {
            name,
            redirect_uris,
            post_logout_uris,
            client_id,
            public,
            first_party,
            scopes,
            require_mfa,
            id_token_alg,
            json,
        } => {
            let id_token_alg = tweestap_core::SigningAlg::parse(&id_token_alg)?;
            let (client, secret) = service
                .add(ClientInput {
                    name,
                    client_id,
                    redirect_uris,
                    post_logout_uris,
                    public,
                    first_party,
                    scopes,
                    require_mfa,
                    id_token_alg,
                    secret: None,
                })
                .await?;
            if json {
                println!(
                    "{}",
                    json!({ "client_id": client.client_id.as_str(), "client_secret": secret })
                );
            } else {
                println!("Client id:     {}", client.client_id.as_str());
                match &secret {
                    Some(secret) => {
                        println!("Client secret: {secret}");
                        println!("The secret is shown only now; tweestap keeps only its hash.");
                    }
                    None => println!("Public client: no secret; it must use PKCE."),
                }
            }
        }
        ClientCommand::List { json } => {
            let clients = service.list().await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &clients.iter().map(client_json).collect::<Vec<_>>()
                    )?
                );
            } else if clients.is_empty() {
                println!("No clients yet. Add one with `tweestap client add`.");
            } else {
                for c in &clients {
                    let kind = if c.public { "public" } else { "confidential" };
                    println!(
                        "{:<26} {:<30} {kind}",
                        c.client_id.as_str(),
                        super::shown(&c.name)
                    );
                }
            }
        }
        ClientCommand::Show { client_id, json } => {
            let client = service.get(&client_id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&client_json(&client))?);
            } else {
                println!("Client id:         {}", client.client_id.as_str());
                println!("Name:              {}", super::shown(&client.name));
                println!(
                    "Type:              {}",
                    if client.public {
                        "public (PKCE)"
                    } else {
                        "confidential"
                    }
                );
                println!(
                    "First party:       {}",
                    if client.first_party {
                        "yes (no consent page)"
                    } else {
                        "no"
                    }
                );
                println!("Scopes:            {}", client.scopes.join(" "));
                for uri in &client.redirect_uris {
                    println!("Redirect URI:      {}", uri.as_str());
                }
                for uri in &client.post_logout_uris {
                    println!("Post-logout URI:   {}", uri.as_str());
                }
                println!("Created:           {}", iso(client.created_at.0));
            }
        }
        ClientCommand::Remove { client_id } => {
            service.remove(&client_id).await?;
            println!("Client {client_id} removed.");
        }
    }
    Ok(())
}
