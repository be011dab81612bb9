use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// tweestap: sign-in with a second factor (SMS codes) for your organisation.
#[derive(Debug, Parser)]
#[command(name = "tweestap", version, about)]
pub struct Cli {
    /// Configuration file (TOML). Also read from TWEESTAP_CONFIG.
    #[arg(long, global = true, env = "TWEESTAP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Try tweestap: a throw-away server with demo users and a demo phone page.
    Demo(DemoArgs),
    /// Bring the database schema up to date (serve does this too).
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Text messages: where they are.
    #[command(subcommand)]
    Sms(SmsCommand),
    /// OpenID Connect signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// OpenID Connect clients (the applications that sign users in through tweestap).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Microsoft Entra ID: tweestap as a tenant's external MFA method.
    #[command(subcommand)]
    Entra(EntraCommand),
}

#[derive(Debug, Subcommand)]
pub enum EntraCommand {
    /// Pre-register the mobile numbers Entra already has, from an export of the tenants' phone
    /// methods (CSV: userPrincipalName, objectId, tenantId, phoneNumber, phoneType; see
    /// docs/entra.md). All rows or none; a re-run changes nothing.
    ImportPhones {
        file: PathBuf,
        /// Check the file and say what would happen, without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// Link an existing account whose username is the row's user principal name (and
        /// that no Entra user is linked to yet). Without it such rows are reported and left.
        #[arg(long)]
        link_existing: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an application. A confidential client's secret is shown once.
    Add {
        name: String,
        /// Where tweestap may send users back to (exact match); repeat for more.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where users may go after signing out (exact match); repeat for more.
        #[arg(long = "post-logout-uri")]
        post_logout_uris: Vec<String>,
        /// Choose the client id (default: random).
        #[arg(long)]
        client_id: Option<String>,
        /// No secret (mobile or browser app): PKCE is required.
        #[arg(long)]
        public: bool,
        /// The organisation's own application: no consent page.
        #[arg(long)]
        first_party: bool,
        /// Allowed scopes (default: openid profile email); repeat for more.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Only sign-ins with a second factor get a code for this client.
        #[arg(long)]
        require_mfa: bool,
        /// Sign this client's ID tokens with ES256 (default) or RS256.
        #[arg(long, default_value = "ES256")]
        id_token_alg: String,
        /// Print {"client_id": …, "client_secret": …} for scripts.
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    Remove {
        client_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The published keys: the next (published, not signing yet), the current one and those
    /// still within their overlap.
    List,
    /// Publish a new signing key now; it signs after `--ahead-hours` (relying parties that
    /// cache the keys, like Entra for 24 hours, learn it first). The old keys stay published
    /// `--overlap-hours` after that, then retire.
    Rotate {
        /// Hours between publishing the new key and its first signature.
        #[arg(long, default_value_t = 48)]
        ahead_hours: i64,
        /// Hours the previous keys stay published once the new one signs (tokens they signed
        /// keep verifying).
        #[arg(long, default_value_t = 48)]
        overlap_hours: i64,
        /// Only this algorithm's key (ES256 or RS256); default: both.
        #[arg(long)]
        alg: Option<String>,
        /// A key may have leaked: the new key signs at once and every other key (a waiting
        /// next key too) is withdrawn now. Relying parties that cached the keys (Entra: up to
        /// 24 hours) refuse new tokens until they fetch them again.
        #[arg(long, conflicts_with_all = ["ahead_hours", "overlap_hours"])]
        now: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SmsCommand {
    /// Recent messages, newest first: queued, sent, delivered, failed (with the reason).
    Status {
        /// Only this user's messages.
        #[arg(long)]
        user: Option<String>,
        /// One message, by its reference.
        #[arg(long)]
        reference: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// The delivery-report URL to enter in a provider's portal, for providers whose
    /// webhook is set once per account (CM.com, Spryng). Give the gateway's name.
    ReportUrl { gateway: String },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Add {
        username: String,
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        email: Option<String>,
        /// Pre-register this mobile number: the user goes straight to the code at sign-in.
        #[arg(long)]
        phone: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one account, its methods and recent events.
    Show {
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Create accounts from a CSV file: username, display name, email, phone, password (or an
    /// Argon2id PHC hash). All rows are checked first; one bad row means nothing is imported.
    Import { file: PathBuf },
    /// Remove the account's second factors, so the user registers again at the next sign-in.
    ResetMfa { username: String },
    /// Pre-register a mobile number for the account (replaces any registered phone).
    SetPhone { username: String, phone: String },
    /// Set a new password, read from the first line of standard input.
    SetPassword { username: String },
    /// Send codes again to an account blocked by an "I didn't ask for this" report.
    UnblockSms { username: String },
    /// Clear the flag a "this wasn't me" report on a push request set, after looking into it:
    /// push and texts work again for the user.
    Unflag { username: String },
    /// Remove one sign-in method (its id from `user show`), e.g. a lost phone's app.
    RemoveMethod { username: String, method: i64 },
    /// Forget every device the user ticked "don't ask again" on (a lost laptop).
    ForgetDevices { username: String },
    /// Issue a temporary access pass: after the password it stands in for the second factor,
    /// so a user who lost their phone can register a new method. Shown once.
    Tap {
        username: String,
        /// How long it works: e.g. 30m, 1h, 2d (default 1h).
        #[arg(long, default_value = "1h")]
        valid: String,
        /// It works for one sign-in only.
        #[arg(long)]
        once: bool,
    },
}
