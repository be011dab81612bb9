//! What an organisation can decide, with defaults that are safe without any configuration.
//! Read from the `[policy]` section of the configuration file.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MfaRequirement {
    /// Everyone must register and use a second factor (the default).
    #[default]
    Required,
    /// Users with a method must use it; users without one may sign in with the password alone.
    Optional,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub mfa: MfaRequirement,
    /// Countries whose mobile numbers may be registered (ISO 3166-1 alpha-2).
    pub allowed_countries: Vec<String>,
    /// The country preselected on the phone form, and assumed for numbers typed without "+".
    pub default_country: String,
    pub code: CodePolicy,
    pub throttle: ThrottlePolicy,
    pub password: PasswordPolicy,
    pub session: SessionPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mfa: MfaRequirement::Required,
            allowed_countries: vec!["NL".to_string()],
            default_country: "NL".to_string(),
            code: CodePolicy::default(),
            throttle: ThrottlePolicy::default(),
            password: PasswordPolicy::default(),
            session: SessionPolicy::default(),
        }
    }
}

/// One-time codes sent by SMS.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodePolicy {
    /// How long a code stays valid.
    pub ttl_secs: i64,
    /// Wrong tries allowed on one code before a new one must be requested.
    pub max_attempts_per_code: u32,
    /// Wrong codes allowed per account within `failure_window_secs`, across resends.
    pub max_failures_per_account: u32,
    pub failure_window_secs: i64,
    /// Minimum wait between two codes to the same account.
    pub resend_cooldown_secs: i64,
    pub max_sends_per_account_per_hour: u32,
    pub max_sends_per_number_per_hour: u32,
}

impl Default for CodePolicy {
    fn default() -> Self {
        CodePolicy {
            ttl_secs: 600,
            max_attempts_per_code: 5,
            max_failures_per_account: 10,
            failure_window_secs: 3600,
            resend_cooldown_secs: 60,
            max_sends_per_account_per_hour: 5,
            max_sends_per_number_per_hour: 5,
        }
    }
}

/// Password guessing.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottlePolicy {
    /// Failed passwords per username within the window before that username must wait.
    /// Counted per name typed, known or not, so it reveals nothing about who exists.
    pub password_failures_per_username: u32,
    /// Failed passwords per client IP within the window (credential stuffing).
    pub password_failures_per_ip: u32,
    pub window_secs: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            password_failures_per_username: 10,
            password_failures_per_ip: 100,
            window_secs: 900,
        }
    }
}

/// Argon2id cost. OWASP's recommendation by default; raising it makes sign-ins rehash.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// How many hashes may run at once (each takes `argon2_memory_kib` of memory);
    /// 0 means one per CPU core.
    pub max_concurrent_hashes: usize,
    pub min_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 0,
            min_length: 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionPolicy {
    /// A session unused for this long is forgotten.
    pub idle_timeout_secs: i64,
    /// A session older than this is forgotten, however active.
    pub absolute_timeout_secs: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_timeout_secs: 3600,
            absolute_timeout_secs: 12 * 3600,
        }
    }
}
