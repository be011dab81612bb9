//! The subcommands. Each returns an error with a message meant for the person at the terminal.

pub mod clients;
pub mod demo;
pub mod keys;
pub mod serve;
pub mod sms;
pub mod user;

/// Who is running an admin command, for the audit trail.
pub fn operator() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "cli".to_string())
}
