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
    /// Ask for the strongest registered method first (an authenticator app before SMS),
    /// whatever the user chose or used last.
    pub ask_strongest_first: bool,
    /// Countries whose mobile numbers may be registered (ISO 3166-1 alpha-2).
    pub allowed_countries: Vec<String>,
    /// The country preselected on the phone form, and assumed for numbers typed without "+".
    pub default_country: String,
    pub code: CodePolicy,
    pub sms: SmsPolicy,
    pub throttle: ThrottlePolicy,
    pub password: PasswordPolicy,
    pub session: SessionPolicy,
    pub oidc: OidcPolicy,
    pub app_campaign: AppCampaignPolicy,
    /// Push approval in the tweestap app.
    pub push: crate::approval::ApprovalPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mfa: MfaRequirement::Required,
            ask_strongest_first: false,
            allowed_countries: vec!["NL".to_string()],
            default_country: "NL".to_string(),
            code: CodePolicy::default(),
            sms: SmsPolicy::default(),
            throttle: ThrottlePolicy::default(),
            password: PasswordPolicy::default(),
            session: SessionPolicy::default(),
            oidc: OidcPolicy::default(),
            app_campaign: AppCampaignPolicy::default(),
            push: crate::approval::ApprovalPolicy::default(),
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
    /// Unused codes per account, and per number, per hour (against SMS pumping; a code that
    /// signed someone in does not count).
    pub max_sends_per_account_per_hour: u32,
    pub max_sends_per_number_per_hour: u32,
    /// All codes, used or not, per account and per number per hour: someone who can read the
    /// codes of their own account cannot loop sign-ins to spend the organisation's budgets.
    pub max_codes_per_hour: u32,
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
            max_codes_per_hour: 20,
        }
    }
}

/// Text messages cost money and attract fraud (SMS pumping): budgets beyond the per-account
/// and per-number ones in [`CodePolicy`], and how the queue behaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsPolicy {
    /// Codes requested from one client network (IPv4 address or IPv6 /64) per hour. A school
    /// puts many students behind one address: keep this well above a busy hour on campus.
    pub max_sends_per_network_per_hour: u32,
    /// Codes to numbers of one country per hour.
    pub max_sends_per_country_per_hour: u32,
    /// Codes in all, per hour and per day.
    pub max_sends_per_hour: u32,
    pub max_sends_per_day: u32,
    /// The wait between resends doubles with every code that is not used
    /// (code.resend_cooldown_secs, ×2, ×4 …) up to this.
    pub max_resend_wait_secs: i64,
    /// Add a "didn't ask for this?" link to each text message.
    pub report_link: bool,
    /// How long sends to an account stop after its owner reports an unrequested code.
    pub report_block_secs: i64,
    /// Alert when fewer than this share of codes sent in the last hour were used…
    pub alert_min_verified_ratio: f64,
    /// …once at least this many were sent.
    pub alert_min_sent: u32,
    /// How often the whole gateway list is tried before a message fails (waits of 2, 4 … 30
    /// seconds between rounds; the code's expiry ends it sooner).
    pub max_rounds: u32,
    /// How long a sign-in page waits for the first gateway's answer before showing the code
    /// page anyway (which then follows the message's progress).
    pub wait_for_send_ms: u64,
}

impl Default for SmsPolicy {
    fn default() -> Self {
        SmsPolicy {
            max_sends_per_network_per_hour: 200,
            max_sends_per_country_per_hour: 500,
            max_sends_per_hour: 2000,
            max_sends_per_day: 20_000,
            max_resend_wait_secs: 1920,
            report_link: true,
            report_block_secs: 86_400,
            alert_min_verified_ratio: 0.5,
            alert_min_sent: 20,
            max_rounds: 100,
            wait_for_send_ms: 2500,
        }
    }
}

/// Password guessing. Wrong passwords for a username are not a lock but a growing wait, and a
/// browser where the account signed in before has a budget of its own, so whoever hammers a
/// username from elsewhere cannot keep its owner out (OWASP's "device cookies").
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottlePolicy {
    /// Wrong passwords for a username (from browsers it never signed in on; or on one browser
    /// that it did) before each further try has to wait. Counted per name typed, known or not,
    /// so it reveals nothing about who exists.
    pub password_failures_per_username: u32,
    /// The same for a name from every network together: a higher threshold, so strangers on
    /// other networks slow a name down only after many tries.
    pub password_failures_per_username_total: u32,
    /// The first wait, in seconds; it doubles with every further wrong password…
    pub password_delay_secs: i64,
    /// …up to this many seconds.
    pub password_max_delay_secs: i64,
    /// Wrong passwords for a username are remembered this long, or until the right one.
    pub password_window_secs: i64,
    /// Failed passwords per client IP within `window_secs` (credential stuffing).
    pub password_failures_per_ip: u32,
    pub window_secs: i64,
    /// How long a browser stays known to an account it signed in on, in days.
    pub known_device_days: u32,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            password_failures_per_username: 10,
            password_failures_per_username_total: 100,
            password_delay_secs: 30,
            password_max_delay_secs: 3600,
            password_window_secs: 86_400,
            password_failures_per_ip: 100,
            window_secs: 900,
            known_device_days: 180,
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
    /// The longest a password check may wait in line for a hashing thread (milliseconds).
    /// Beyond that the person is asked to try again in a moment, instead of waiting without
    /// end while the line grows. 0: never wait for more than the threads can start now.
    pub max_wait_ms: u64,
    pub min_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 0,
            max_wait_ms: 1000,
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
    /// Changing sign-in methods needs a second-factor sign-in at most this old.
    pub fresh_mfa_secs: i64,
    /// Offer "don't ask again on this device" for this many days (0: not offered). It only
    /// skips the second factor, never the password.
    pub remember_device_days: u32,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_timeout_secs: 3600,
            absolute_timeout_secs: 12 * 3600,
            fresh_mfa_secs: 600,
            remember_device_days: 0,
        }
    }
}

/// Lifetimes of what the OpenID Connect provider hands out.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcPolicy {
    /// An authorization code is exchanged within seconds; a minute is generous (RFC 9700).
    pub code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    /// A refresh-token family lives this long from the sign-in, however often it is rotated.
    pub refresh_token_ttl_secs: i64,
}

impl Default for OidcPolicy {
    fn default() -> Self {
        OidcPolicy {
            code_ttl_secs: 60,
            access_token_ttl_secs: 600,
            id_token_ttl_secs: 600,
            refresh_token_ttl_secs: 12 * 3600,
        }
    }
}

/// After a sign-in by SMS, users without an authenticator app are invited to set one up.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppCampaignPolicy {
    pub enabled: bool,
    /// How often "not now" may be chosen; after that only "set it up" is offered.
    pub skips_allowed: u32,
}

impl Default for AppCampaignPolicy {
    fn default() -> Self {
        // Off unless the organisation turns it on: it adds a page to sign-ins (also those
        // of applications), which helpdesks should know about before users see it.
        AppCampaignPolicy {
            enabled: false,
            skips_allowed: 3,
        }
    }
}
