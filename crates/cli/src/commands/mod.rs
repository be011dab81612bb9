//! The subcommands. Each returns an error with a message meant for the person at the terminal.

pub mod clients;
pub mod demo;
pub mod entra;
pub mod keys;
pub mod serve;
pub mod sms;
pub mod user;

/// Text that came from users, applications or providers, made safe for the terminal: control
/// and direction characters are shown escaped (`\u{a}`), so nobody can forge lines in the
/// helpdesk's output or send escape sequences to their terminal.
pub fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if tweestap_core::is_unsafe(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Who is running an admin command, for the audit trail.
pub fn operator() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "cli".to_string())
}
