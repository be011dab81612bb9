use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use tweestap_core::Secret;
use tweestap_core::password::{self, PasswordError};
use tweestap_core::policy::PasswordPolicy;
use tweestap_core::ports::{Entropy, PasswordCheck, PasswordHashing};

/// Runs Argon2id on the blocking thread pool, at most `permits` at a time. Each hash holds
/// `argon2_memory_kib` of memory for ~15 ms of CPU: a login storm waits here, in line,
/// instead of starting hundreds of hashes at once.
pub struct Argon2Pool {
    policy: Arc<PasswordPolicy>,
    permits: Arc<Semaphore>,
    entropy: Arc<dyn Entropy>,
    /// A real hash of a random password, verified when the user does not exist, so unknown
    /// users cost the same time as known ones.
    dummy: String,
    /// The time a verification against the dummy takes here: every check lasts at least this
    /// long, so hashes with other (older, cheaper) parameters or unreadable ones do not answer
    /// faster than an unknown user does.
    floor: std::time::Duration,
}

impl Argon2Pool {
    pub fn new(
        policy: PasswordPolicy,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Argon2Pool, PasswordError> {
        let permits = match policy.max_concurrent_hashes {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let mut secret = [0u8; 24];
        let mut salt = [0u8; 16];
        entropy.fill(&mut secret);
        entropy.fill(&mut salt);
        let dummy = password::hash(&hex::encode(secret), &salt, &policy)?;
        // The fastest of three, so a cold first run (fresh memory pages) does not set the bar.
        let floor = (0..3)
            .map(|_| {
                let started = std::time::Instant::now();
                let _ = password::verify("not the password", &dummy, &policy);
                started.elapsed()
            })
            .min()
            .unwrap_or_default();
        tracing::debug!(
            floor_ms = floor.as_secs_f64() * 1000.0,
            "password check time floor"
        );
        Ok(Argon2Pool {
            policy: Arc::new(policy),
            permits: Arc::new(Semaphore::new(permits)),
            entropy,
            dummy,
            floor,
        })
    }
}

#[async_trait]
impl PasswordHashing for Argon2Pool {
    async fn verify(&self, phc: Option<String>, secret: Secret) -> PasswordCheck {
        let Ok(_permit) = self.permits.acquire().await else {
            return PasswordCheck {
                ok: false,
                needs_rehash: false,
            };
        };
        let started = tokio::time::Instant::now();
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.clone());
        let policy = self.policy.clone();
        let result =
            tokio::task::spawn_blocking(move || password::verify(secret.expose(), &phc, &policy))
                .await;
        tokio::time::sleep_until(started + self.floor).await;
        match result {
            Ok((ok, needs_rehash)) => PasswordCheck {
                ok: ok && known,
                needs_rehash,
            },
            Err(_) => PasswordCheck {
                ok: false,
                needs_rehash: false,
            },
        }
    }

    async fn hash(&self, secret: Secret) -> Result<String, PasswordError> {
        password::check_new(secret.expose(), &self.policy)?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::BadParams("shutting down".into()))?;
        let mut salt = [0u8; 16];
        self.entropy.fill(&mut salt);
        let policy = self.policy.clone();
        tokio::task::spawn_blocking(move || password::hash(secret.expose(), &salt, &policy))
            .await
            .map_err(|e| PasswordError::BadParams(e.to_string()))?
    }
}
