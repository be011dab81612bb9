use std::sync::Arc;

use crate::config::Config;
use crate::server;

pub async fn serve(config: &Config) -> anyhow::Result<()> {
    let running = server::start(config, Arc::new(tweestap_web::system::SystemClock), None).await?;
    tracing::info!(addr = %running.addr, public_url = %config.public_url, "tweestap is listening");
    if let Some(warning) = proxy_warning(config, running.addr) {
        tracing::warn!("{warning}");
    }
    running.wait().await;
    Ok(())
}

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    // Opening a database brings its schema up to date.
    server::open_store(config).await?;
    println!("Database {} is up to date.", config.database()?);
    Ok(())
}

/// Listening on loopback while people reach tweestap at a public name means a reverse proxy
/// sits in front. Without `trusted_proxies` every client then looks like that proxy.
fn proxy_warning(config: &Config, addr: std::net::SocketAddr) -> Option<String> {
    config.behind_unconfigured_proxy(addr).then(|| {
        format!(
            "tweestap listens on {addr} but is reached as {}: a reverse proxy is in front, yet \
             trusted_proxies is empty. Every client will count as the proxy (one shared password \
             limit and SMS budget, one address in the audit trail), and /metrics does not \
             answer loopback (it cannot tell the proxy from this machine). Set trusted_proxies \
             to the proxy's address, e.g. TWEESTAP_TRUSTED_PROXIES=127.0.0.1",
            config.public_url
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_without_trusted_proxies_is_pointed_out() {
        let addr: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let mut config = Config {
            public_url: "https://login.school.nl".into(),
            ..Config::default()
        };
        assert!(
            proxy_warning(&config, addr)
                .unwrap()
                .contains("trusted_proxies")
        );
        config.trusted_proxies = vec!["127.0.0.1".into()];
        assert!(proxy_warning(&config, addr).is_none());
        config.trusted_proxies.clear();
        config.public_url = "http://localhost:8080".into();
        assert!(proxy_warning(&config, addr).is_none());
        let public: std::net::SocketAddr = "0.0.0.0:443".parse().unwrap();
        config.public_url = "https://login.school.nl".into();
        assert!(proxy_warning(&config, public).is_none());
    }
}
