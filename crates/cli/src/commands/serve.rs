use std::sync::Arc;

use crate::config::Config;
use crate::server;

pub async fn serve(config: &Config) -> anyhow::Result<()> {
    let running = server::start(config, Arc::new(tweestap_web::system::SystemClock), None).await?;
    tracing::info!(addr = %running.addr, public_url = %config.public_url, "tweestap is listening");
    running.wait().await;
    Ok(())
}

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = server::open_store(config).await?;
    store.migrate().await?;
    println!(
        "Database {} is up to date.",
        config.database_path().display()
    );
    Ok(())
}
