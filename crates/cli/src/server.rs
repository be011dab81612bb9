//! Wiring: the configuration turned into a store, SMS gateways, the core's services and the
//! HTTP server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use std::time::Duration;
use tweestap_core::oidc::OidcService;

use anyhow::{Context, bail};
use tokio::sync::oneshot;
use tweestap_core::Keys;
use tweestap_core::admin::AdminService;
use tweestap_core::metrics::Metrics;
use tweestap_core::notices::{NoticeTexts, Notifier};
use tweestap_core::ports::{
    Clock, EmailOutbox, Entropy, PasswordHashing, QueueWaker, SmsGateway, SmsOutbox, Store,
};
use tweestap_core::signin::SignInService;
use tweestap_email::{EmailWorker, WorkerSettings};
use tweestap_sms::{
    ConversionWatch, DispatchSettings, Dispatcher, HttpGateway, KannelGateway, OutboxGateway,
};
use tweestap_store::Database;
use tweestap_web::i18n::Lang;
use tweestap_web::passwords::Argon2Pool;
use tweestap_web::system::OsEntropy;
use tweestap_web::{AppState, WebConfig};

use crate::config::{Config, GatewayConfig, SecretSource};

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let database = config.database()?;
    if let Database::Sqlite(path) = &database
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    Ok(tweestap_store::open(&database).await?)
}

/// Reads the secret key file, creating it (readable by the owner only) on first start. Every
/// key tweestap uses is derived from it (see `Keys`).
/// The key that hashes codes and seals secrets at rest (app secrets, signing keys, queued
/// texts): from the environment variable named by `secret_key_env`, or the key file. A new
/// installation gets a new key file. An installation that already sealed data with a key
/// refuses to start without it: a new key could open nothing, and nothing is ever stored in
/// the clear instead.
async fn secret_key(
    config: &Config,
    store: &dyn Store,
    entropy: &dyn Entropy,
) -> anyhow::Result<Keys> {
    if let Some(var) = &config.secret_key_env {
        let text = std::env::var(var).map_err(|_| {
            anyhow::anyhow!(
                "secret_key_env names {var}, but that environment variable is not set; \
                 set it to the installation's key (64 hex characters)"
            )
        })?;
        let keys = keys_from_hex(&text, &format!("environment variable {var}"))?;
        check_key(&keys, store).await?;
        return Ok(keys);
    }
    let path = config.secret_key_path();
    if !path.exists() {
        let sealed = store
            .signing_keys_published(tweestap_core::Timestamp(i64::MIN))
            .await?;
        if !sealed.is_empty() {
            bail!(
                "the secret key file {} is missing, but this database already holds data sealed \
                 with it (signing keys, authenticator-app secrets). Restore the file from your \
                 backup (or set secret_key_file / secret_key_env); tweestap will not start with \
                 a new key.",
                path.display()
            );
        }
    }
    let keys = load_or_create_key(&path, entropy)?;
    check_key(&keys, store).await?;
    Ok(keys)
}

/// A key that opens nothing this database sealed (a wrong backup, a new variable) is refused
/// at once, not discovered at someone's sign-in.
async fn check_key(keys: &Keys, store: &dyn Store) -> anyhow::Result<()> {
    let sealed = store
        .signing_keys_published(tweestap_core::Timestamp(i64::MIN))
        .await?;
    if let Some(record) = sealed.first()
        && keys
            .seal
            .open(&record.sealed_private, record.kid.as_bytes())
            .is_err()
    {
        bail!(
            "the secret key is not the one this database's data was sealed with (signing key {} \
             does not open). Use the installation's own key file or variable; tweestap will not \
             start with another.",
            record.kid
        );
    }
    Ok(())
}

fn keys_from_hex(text: &str, source: &str) -> anyhow::Result<Keys> {
    let bytes = hex::decode(text.trim())
        .with_context(|| format!("{source} must hold 64 hex characters"))?;
    if bytes.len() < 32 {
        bail!(
            "{source} holds {} bytes; at least 32 are needed",
            bytes.len()
        );
    }
    Ok(Keys::derive(&bytes))
}

pub fn load_or_create_key(path: &Path, entropy: &dyn Entropy) -> anyhow::Result<Keys> {
    match std::fs::read_to_string(path) {
        Ok(text) => keys_from_hex(&text, &path.display().to_string()),
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
            Ok(Keys::derive(&bytes))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The configured gateways, in order.
pub fn gateways(config: &Config, keys: &Arc<Keys>) -> anyhow::Result<Vec<Arc<dyn SmsGateway>>> {
    let public = config.public_url.trim_end_matches('/').to_string();
    let mut list: Vec<Arc<dyn SmsGateway>> = Vec::new();
    for (index, gateway) in config.sms.gateways.iter().enumerate() {
        let built: Arc<dyn SmsGateway> = match gateway {
            GatewayConfig::Outbox { path } => Arc::new(OutboxGateway::new(path)),
            GatewayConfig::Kannel {
                url,
                username,
                password,
                password_file,
                password_env,
                from,
                timeout_secs,
                delivery_reports,
            } => {
                let secret = SecretSource {
                    password: password.as_ref(),
                    password_file: password_file.as_ref(),
                    password_env: password_env.as_ref(),
                }
                .resolve("sms.gateways.password")?;
                let signer = keys.clone();
                Arc::new(KannelGateway::new(
                    format!(
                        "kannel{}",
                        if index == 0 {
                            String::new()
                        } else {
                            format!("#{}", index + 1)
                        }
                    ),
                    url.clone(),
                    username.clone(),
                    secret,
                    from.clone(),
                    delivery_reports.then(|| format!("{public}/sms/dlr/kannel")),
                    Box::new(move |reference| signer.callback.sign(reference)),
                    Duration::from_secs(*timeout_secs),
                ))
            }
            GatewayConfig::Http(http) => {
                let template = http.template()?;
                let name = http.name.clone().unwrap_or_else(|| {
                    http.preset
                        .map(|p| p.name().to_string())
                        .unwrap_or_else(|| "http".into())
                });
                let signer = keys.clone();
                Arc::new(HttpGateway::new(
                    name,
                    template,
                    http.account.clone().unwrap_or_default(),
                    http.secret()?,
                    http.from.clone().unwrap_or_else(|| "tweestap".into()),
                    http.delivery_reports
                        .unwrap_or(true)
                        .then(|| format!("{public}/sms/dlr/http")),
                    Box::new(move |reference| signer.callback.sign(reference)),
                    Duration::from_secs(http.timeout_secs.unwrap_or(10)),
                ))
            }
        };
        list.push(built);
    }
    Ok(list)
}

/// Everything the services need, built once from the configuration.
pub struct Wiring {
    pub store: Arc<dyn Store>,
    pub keys: Arc<Keys>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub passwords: Arc<dyn PasswordHashing>,
    pub policy: Arc<tweestap_core::policy::Policy>,
    /// The words of security notices (the web layer's, in every language).
    pub texts: Arc<dyn NoticeTexts>,
    pub default_language: String,
    /// E-mail notices are set up (`[email]`).
    pub email: Option<tweestap_email::SmtpSettings>,
}

impl Wiring {
    pub async fn new(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Wiring> {
        let store = open_store(config).await?;
        let entropy: Arc<dyn Entropy> = Arc::new(OsEntropy);
        let policy = Arc::new(config.policy.0.clone());
        let passwords: Arc<dyn PasswordHashing> =
            Arc::new(Argon2Pool::new(policy.password.clone(), entropy.clone())?);
        let keys = Arc::new(secret_key(config, store.as_ref(), entropy.as_ref()).await?);
        Ok(Wiring {
            store,
            keys,
            metrics: Arc::new(Metrics::default()),
            clock,
            entropy,
            passwords,
            policy,
            texts: Arc::new(tweestap_web::notices::Texts {
                organisation: config.organisation.clone(),
                public_url: config.public_url.clone(),
            }),
            default_language: config.default_language.clone(),
            email: config.email.settings(&config.public_url_host())?,
        })
    }

    /// Security notices, queued for the workers that `wake` (in a command-line process there
    /// are none: the running server's workers find the messages when they next look).
    pub fn notifier(&self, sms: Arc<dyn QueueWaker>, email: Arc<dyn QueueWaker>) -> Arc<Notifier> {
        Arc::new(Notifier {
            store: self.store.clone() as Arc<dyn Store>,
            clock: self.clock.clone(),
            entropy: self.entropy.clone(),
            keys: self.keys.clone(),
            texts: self.texts.clone(),
            sms_queue: sms,
            email_queue: self.email.is_some().then_some(email),
            default_language: self.default_language.clone(),
        })
    }

    /// The e-mail worker, when `[email]` is set up.
    pub fn email_worker(&self) -> anyhow::Result<Option<Arc<EmailWorker>>> {
        let Some(settings) = &self.email else {
            return Ok(None);
        };
        let mailer = tweestap_email::SmtpMailer::new(settings)?;
        Ok(Some(Arc::new(EmailWorker::new(
            self.store.clone() as Arc<dyn EmailOutbox>,
            Arc::new(mailer),
            self.clock.clone(),
            WorkerSettings::default(),
        ))))
    }

    /// Web Push with the VAPID key derived from the secret key (the same on every node).
    fn push_notifier(&self, config: &Config) -> anyhow::Result<tweestap_web::PushNotifier> {
        let key = tweestap_push::vapid_key(&self.keys.vapid_seed)
            .map_err(|e| anyhow::anyhow!("deriving the VAPID key: {e}"))?;
        let public = key
            .public_point()
            .ok_or_else(|| anyhow::anyhow!("the VAPID key has no public point"))?;
        use base64::Engine;
        let public_key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public);
        let contact = config.push.contact.clone().unwrap_or_else(|| {
            // VAPID wants mailto: or https:.
            if config.public_url.starts_with("https://") {
                config.public_url.clone()
            } else {
                format!("mailto:postmaster@{}", config.public_url_host())
            }
        });
        Ok(tweestap_web::PushNotifier {
            sender: tweestap_push::PushSender::new(
                key,
                contact,
                config.push.allow_loopback_endpoints,
            )
            .with_allowed_hosts(config.push.allowed_hosts.clone()),
            public_key,
        })
    }

    pub fn keyring(&self) -> tweestap_oidc::Keyring {
        tweestap_oidc::Keyring::new(
            self.store.clone() as Arc<dyn Store>,
            self.keys.clone(),
            self.clock.clone(),
            self.entropy.clone(),
        )
    }

    /// The OpenID Connect provider's use cases, signing with the keyring.
    pub fn oidc(&self, issuer: String) -> OidcService {
        OidcService {
            store: self.store.clone() as Arc<dyn Store>,
            clock: self.clock.clone(),
            entropy: self.entropy.clone(),
            signer: Arc::new(self.keyring()),
            policy: self.policy.clone(),
            issuer,
        }
    }

    /// Writes the clients declared in the configuration file to the database (replacing an
    /// earlier version of each).
    pub async fn declare_clients(&self, config: &Config) -> anyhow::Result<()> {
        let service = tweestap_core::clients::ClientService {
            store: self.store.clone() as Arc<dyn Store>,
            clock: self.clock.clone(),
            entropy: self.entropy.clone(),
            actor: "config".to_string(),
        };
        for declared in &config.oidc.clients {
            service
                .declare(declared.input()?)
                .await
                .with_context(|| format!("oidc.clients {:?}", declared.client_id))?;
        }
        Ok(())
    }

    pub fn admin(&self, actor: &str) -> AdminService {
        AdminService {
            store: self.store.clone() as Arc<dyn Store>,
            clock: self.clock.clone(),
            entropy: self.entropy.clone(),
            passwords: self.passwords.clone(),
            policy: self.policy.clone(),
            actor: actor.to_string(),
            notices: self.notifier(Arc::new(NoWorker), Arc::new(NoWorker)),
        }
    }

    /// The SMS worker for the configured gateways.
    pub fn dispatcher(&self, config: &Config) -> anyhow::Result<Arc<Dispatcher>> {
        let settings = DispatchSettings {
            max_rounds: self.policy.sms.max_rounds.max(1),
            ..DispatchSettings::default()
        };
        Ok(Arc::new(Dispatcher::new(
            self.store.clone() as Arc<dyn SmsOutbox>,
            gateways(config, &self.keys)?,
            self.keys.clone(),
            self.clock.clone(),
            self.metrics.clone(),
            settings,
        )))
    }

    pub fn app_state(
        &self,
        config: &Config,
        dispatcher: &Dispatcher,
        email_worker: Option<&EmailWorker>,
        demo_outbox: Option<std::path::PathBuf>,
    ) -> anyhow::Result<AppState> {
        let email_waker: Arc<dyn QueueWaker> = match email_worker {
            Some(worker) => worker.waker(),
            None => Arc::new(NoWorker),
        };
        let signin = SignInService {
            notices: self.notifier(dispatcher.waker(), email_waker),
            store: self.store.clone() as Arc<dyn Store>,
            sms_queue: dispatcher.waker(),
            clock: self.clock.clone(),
            entropy: self.entropy.clone(),
            passwords: self.passwords.clone(),
            keys: self.keys.clone(),
            policy: self.policy.clone(),
        };
        let web = WebConfig {
            public_url: url::Url::parse(&config.public_url)?,
            organisation: config.organisation.clone(),
            default_language: Lang::parse(&config.default_language).unwrap_or_default(),
            help_url: config.help_url.clone(),
            trusted_proxies: config.trusted_proxy_addrs()?,
            metrics_allow: config.metrics_allow_addrs()?,
            loopback_is_local: !config.behind_unconfigured_proxy(config.listen_addr()?),
            demo_outbox,
            geoip: match &config.geoip_database {
                Some(path) => Some(Arc::new(
                    tweestap_web::geo::GeoIp::open(path).map_err(anyhow::Error::msg)?,
                )),
                None => None,
            },
            forward_auth: (!config.forward_auth.domains.is_empty()).then(|| {
                tweestap_web::ForwardAuthConfig {
                    domains: config.forward_auth.domains.clone(),
                    cookie_domain: config.forward_auth.cookie_domain.clone(),
                    accept_remembered_devices: config.forward_auth.accept_remembered_devices,
                }
            }),
            webauthn: None,
            push: None,
            sms_progress: Some(dispatcher.progress()),
        };
        let mut web = web;
        web.webauthn = match tweestap_webauthn::WebAuthn::new(&web.public_url, &web.organisation) {
            Ok(w) => Some(Arc::new(w)),
            Err(e) => {
                tracing::warn!("passkeys and the tweestap app are off: {e}");
                None
            }
        };
        web.push = Some(Arc::new(self.push_notifier(config)?));
        let oidc = self.oidc(web.issuer());
        let eam = config.entra.settings(&config.public_url)?.map(|settings| {
            tweestap_core::eam::EamService {
                config: Arc::new(settings),
                signatures: Arc::new(tweestap_oidc::EntraKeys::new(self.clock.clone())),
                signer: oidc.signer.clone(),
                clock: self.clock.clone(),
                entropy: self.entropy.clone(),
            }
        });
        Ok(AppState::new(signin, oidc, web, self.metrics.clone(), eam))
    }
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
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
    // A new installation gets its first signing key now, not in someone's sign-in.
    wiring.keyring().ensure_all().await?;
    wiring.declare_clients(config).await?;
    let dispatcher = wiring.dispatcher(config)?;
    let email_worker = wiring.email_worker()?;
    let state = wiring.app_state(config, &dispatcher, email_worker.as_deref(), demo_outbox)?;
    let mut worker = tokio::spawn(dispatcher.clone().run());
    let mut mailer = email_worker.clone().map(|w| tokio::spawn(w.run()));
    let watch = Arc::new(ConversionWatch::new(
        wiring.store.clone() as Arc<dyn Store>,
        wiring.clock.clone(),
        wiring.metrics.clone(),
        wiring.policy.sms.clone(),
    ));
    let watcher = tokio::spawn(watch.run(Duration::from_secs(60)));
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
        watcher.abort();
        // Let the workers finish what they are sending, so a restart interrupts no send.
        dispatcher.stop();
        if let Some(w) = &email_worker {
            w.stop();
        }
        if tokio::time::timeout(Duration::from_secs(20), &mut worker)
            .await
            .is_err()
        {
            worker.abort();
        }
        if let Some(mailer) = &mut mailer
            && tokio::time::timeout(Duration::from_secs(20), &mut *mailer)
                .await
                .is_err()
        {
            mailer.abort();
        }
    });
    Ok(Running {
        addr,
        store: wiring.store,
        stop: Some(stop_tx),
        task,
    })
}

/// A queue's worker that runs in another process (the server's, for what the command line
/// queues): it finds new messages when it next looks.
struct NoWorker;

impl QueueWaker for NoWorker {
    fn wake(&self) {}
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
    store: Arc<dyn Store>,
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
