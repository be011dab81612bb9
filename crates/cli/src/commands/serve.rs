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
    let store = server::open_store(config).await?;
    store.migrate().await?;
    println!(
        "Database {} is up to date.",
        config.database_path().display()
    );
    Ok(())
}

/// Listening on loopback while people reach tweestap at a public name means a reverse proxy
/// sits in front. Without `trusted_proxies` every client then looks like that proxy.
fn proxy_warning(config: &Config, addr: std::net::SocketAddr) -> Option<String> {
    let public_host = url::Url::parse(&config.public_url)
        .ok()?
        .host_str()?
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    let public_is_local = public_host == "localhost"
        || public_host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (addr.ip().is_loopback() && !public_is_local && config.trusted_proxies.is_empty()).then(|| {
        format!(
            "tweestap listens on {addr} but is reached as {}: a reverse proxy is in front, yet \
             trusted_proxies is empty. Every client will count as the proxy (one shared password \
             limit and SMS budget, one address in the audit trail). Set trusted_proxies to the \
             proxy's address, e.g. TWEESTAP_TRUSTED_PROXIES=127.0.0.1",
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
