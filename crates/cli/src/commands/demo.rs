use std::sync::Arc;

use tweestap_core::Secret;
use tweestap_core::admin::{PasswordInput, UserInput};

use crate::cli::DemoArgs;
use crate::config::{Config, GatewayConfig};
use crate::server::{self, Wiring};

pub const DEMO_USERS: [(&str, &str, &str, Option<&str>); 2] = [
    ("student", "Sam Student", "welkom-demo-1", None),
    (
        "docent",
        "Dana Docent",
        "welkom-demo-2",
        Some("06 87654321"),
    ),
];

/// A complete tweestap on a temporary SQLite database, with two users and the outbox gateway,
/// whose messages the demo phone page shows. Everything is deleted when it stops.
pub async fn demo(args: &DemoArgs, base: Config) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("tweestap-demo-")
        .tempdir()?;
    let outbox = dir.path().join("outbox.jsonl");
    let port = args.listen.rsplit(':').next().unwrap_or("8080");
    let config = Config {
        listen: args.listen.clone(),
        public_url: format!("http://localhost:{port}"),
        data_dir: dir.path().to_path_buf(),
        database_path: None,
        database_url: None,
        secret_key_file: None,
        organisation: if base.organisation == Config::default().organisation {
            "tweestap demo".to_string()
        } else {
            base.organisation.clone()
        },
        sms: crate::config::SmsConfig {
            gateways: vec![GatewayConfig::Outbox {
                path: outbox.clone(),
            }],
        },
        ..base
    };
    config.validate()?;
    let wiring = Wiring::new(&config, Arc::new(tweestap_web::system::SystemClock)).await?;
    let admin = wiring.admin("demo");
    let inputs: Vec<UserInput> = DEMO_USERS
        .iter()
        .map(|(username, name, password, phone)| UserInput {
            username: username.to_string(),
            display_name: name.to_string(),
            email: None,
            phone: phone.map(str::to_string),
            password: Some(PasswordInput::Plain(Secret::new(*password))),
        })
        .collect();
    let valid = inputs
        .iter()
        .map(|i| admin.validate(i))
        .collect::<Result<Vec<_>, _>>()?;
    admin.create(valid, &|| {}).await?;
    drop(wiring);

    let running = server::start(
        &config,
        Arc::new(tweestap_web::system::SystemClock),
        Some(outbox),
    )
    .await?;
    let base = format!("http://localhost:{}", running.addr.port());
    println!();
    println!("  tweestap demo is running: {base}/sign-in");
    println!("  Demo phone (the text messages): {base}/demo/phone");
    println!();
    println!("  First sign-in, registers a phone:   student / welkom-demo-1");
    println!("  Phone already registered:           docent  / welkom-demo-2");
    println!();
    println!(
        "  Data lives in {} until you stop the demo (Ctrl-C).",
        dir.path().display()
    );
    running.wait().await;
    Ok(())
}
