//! Wiring: the configuration turned into a store, SMS gateways, the core's services and the
//! HTTP server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::oneshot;
use tweestap_core::CodeKey;
use tweestap_core::admin::AdminService;
use tweestap_core::ports::{Clock, Entropy, PasswordHashing, SmsGateway, Store};
use tweestap_core::signin::SignInService;
use tweestap_sms::{Failover, OutboxGateway};
use tweestap_store::SqliteStore;
use tweestap_web::i18n::Lang;
use tweestap_web::passwords::Argon2Pool;
use tweestap_web::system::OsEntropy;
use tweestap_web::{AppState, WebConfig};

use crate::config::{Config, GatewayConfig};

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<SqliteStore>> {
    let path = config.database_path();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    Ok(Arc::new(SqliteStore::open(&path).await?))
}

/// Reads the code-hashing key, creating it (readable by the owner only) on first start.
pub fn load_or_create_key(path: &Path, entropy: &dyn Entropy) -> anyhow::Result<CodeKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim())
                .with_context(|| format!("{} must hold 64 hex characters", path.display()))?;
            if bytes.len() < 32 {
                bail!(
                    "{} holds {} bytes; at least 32 are needed",
                    path.display(),
                    bytes.len()
                );
            }
            Ok(CodeKey::new(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = vec![0u8; 32];
            entropy.fill(&mut bytes);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            writeln!(file, "{}", hex::encode(&bytes))?;
            tracing::info!(path = %path.display(), "created a new secret key");
            Ok(CodeKey::new(bytes))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

pub fn gateways(config: &Config) -> Failover {
    let list: Vec<Box<dyn SmsGateway>> = config
        .sms
        .gateways
        .iter()
        .map(|g| match g {
            GatewayConfig::Outbox { path } => {
                Box::new(OutboxGateway::new(path)) as Box<dyn SmsGateway>
            }
        })
        .collect();
    Failover::new(list)
}

/// Everything the services need, built once from the configuration.
pub struct Wiring {
    pub store: Arc<SqliteStore>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub passwords: Arc<dyn PasswordHashing>,
    pub policy: Arc<tweestap_core::policy::Policy>,
}

impl Wiring {
    pub async fn new(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Wiring> {
        let store = open_store(config).await?;
        let entropy: Arc<dyn Entropy> = Arc::new(OsEntropy);
        let policy = Arc::new(config.policy.0.clone());
        let passwords: Arc<dyn PasswordHashing> =
            Arc::new(Argon2Pool::new(policy.password.clone(), entropy.clone())?);
        Ok(Wiring {
            store,
            clock,
            entropy,
            passwords,
            policy,
        })
    }

    pub fn admin(&self, actor: &str) -> AdminService {
        AdminService {
            store: self.store.clone() as Arc<dyn Store>,
            clock: self.clock.clone(),
            entropy: self.entropy.clone(),
            passwords: self.passwords.clone(),
            policy: self.policy.clone(),
            actor: actor.to_string(),
        }
    }

    pub fn app_state(
        &self,
        config: &Config,
        demo_outbox: Option<std::path::PathBuf>,
    ) -> anyhow::Result<AppState> {
        let code_key = load_or_create_key(&config.secret_key_path(), self.entropy.as_ref())?;
        let signin = SignInService {
            store: self.store.clone() as Arc<dyn Store>,
            sms: Arc::new(gateways(config)),
            clock: self.clock.clone(),
            entropy: self.entropy.clone(),
            passwords: self.passwords.clone(),
            code_key,
            policy: self.policy.clone(),
        };
        let web = WebConfig {
            public_url: url::Url::parse(&config.public_url)?,
            organisation: config.organisation.clone(),
            default_language: Lang::parse(&config.default_language).unwrap_or_default(),
            help_url: config.help_url.clone(),
            trusted_proxies: config.trusted_proxy_addrs()?,
            demo_outbox,
        };
        Ok(AppState::new(signin, web))
    }
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub store: Arc<SqliteStore>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server ends (Ctrl-C or SIGTERM when started by `serve`).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Binds the configured address and serves in the background. Port 0 picks a free port;
/// `Running::addr` tells which.
pub async fn start(
    config: &Config,
    clock: Arc<dyn Clock>,
    demo_outbox: Option<std::path::PathBuf>,
) -> anyhow::Result<Running> {
    let wiring = Wiring::new(config, clock).await?;
    let state = wiring.app_state(config, demo_outbox)?;
    // The first phone-number parse loads metadata (~80 ms): do it now, not in a user's request.
    let _ = tweestap_core::PhoneNumber::parse("0612345678", "NL", &["NL".to_string()]);
    let listener = tokio::net::TcpListener::bind(config.listen_addr()?)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another program using it?)",
                config.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let purge = tokio::spawn(purge_sessions(
        wiring.store.clone(),
        wiring.clock.clone(),
        wiring.policy.clone(),
    ));
    let app = tweestap_web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            tokio::select! {
                _ = stop_rx => {}
                _ = shutdown_signal() => {}
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "server stopped with an error");
        }
        purge.abort();
    });
    Ok(Running {
        addr,
        store: wiring.store,
        stop: Some(stop_tx),
        task,
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Forgets expired sessions, old failure counts and old codes every few minutes, so the
/// tables do not grow without bound.
async fn purge_sessions(
    store: Arc<SqliteStore>,
    clock: Arc<dyn Clock>,
    policy: Arc<tweestap_core::policy::Policy>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        let now = clock.now();
        let idle = now.minus_secs(policy.session.idle_timeout_secs);
        let old = now.minus_secs(policy.session.absolute_timeout_secs);
        if let Err(e) = store.session_purge(idle, old).await {
            tracing::warn!(error = %e, "purging expired sessions failed");
        }
        // Failure counts and codes matter for an hour or so; a week is far beyond any window.
        if let Err(e) = store.purge_before(now.minus_secs(7 * 24 * 3600)).await {
            tracing::warn!(error = %e, "purging old failure counts and codes failed");
        }
    }
}
