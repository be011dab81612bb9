//! Audit events: who did what, when, from where, with what outcome. Never a secret or a code.

use crate::domain::{Timestamp, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    PasswordChecked,
    CodeSent,
    CodeSendRefused,
    CodeChecked,
    UnrequestedCodeReported,
    SmsBlockCleared,
    SmsConversionAlert,
    MethodRegistered,
    MethodRemoved,
    MethodDefaultSet,
    MethodRenamed,
    DeviceRemembered,
    DevicesForgotten,
    AppInviteSkipped,
    AccessPassIssued,
    MethodChangeAnnounced,
    /// The computer that showed a phone link said whether the phone is the user's.
    LinkConfirmed,
    SignedIn,
    SignedOut,
    UserAdded,
    UsersImported,
    MfaReset,
    PhoneSet,
    PasswordSet,
    ClientAdded,
    ClientRemoved,
    /// An application received an authorization code for a user.
    Authorized,
    ConsentGiven,
    /// A used code or refresh token came back: its family was revoked.
    TokenReplayed,
    /// A push approval request went to the tweestap app, or was refused (caps, pause, block).
    PushRequested,
    /// The phone answered a push approval request.
    PushAnswered,
    /// "This wasn't me": push and SMS blocked, the account flagged for administrators.
    PushReported,
    AccountUnflagged,
    /// Entra sent a user for the external MFA method (outcome: `ok`, or why not).
    EntraRequested,
    /// An Entra user was linked to an account, or an account was made for them.
    EntraLinked,
    /// tweestap answered Entra: an id_token (`ok`) or an error.
    EntraAnswered,
    /// Numbers were imported from an export of a tenant's phone methods.
    EntraPhonesImported,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::PasswordChecked => "sign_in.password",
            AuditKind::CodeSent => "sms.code_sent",
            AuditKind::CodeSendRefused => "sms.send_refused",
            AuditKind::CodeChecked => "sign_in.code",
            AuditKind::UnrequestedCodeReported => "sms.reported_unrequested",
            AuditKind::SmsBlockCleared => "admin.sms_unblocked",
            AuditKind::SmsConversionAlert => "sms.conversion_alert",
            AuditKind::MethodRegistered => "method.registered",
            AuditKind::MethodRemoved => "method.removed",
            AuditKind::MethodDefaultSet => "method.default_set",
            AuditKind::MethodRenamed => "method.renamed",
            AuditKind::DeviceRemembered => "device.remembered",
            AuditKind::DevicesForgotten => "device.forgotten",
            AuditKind::AppInviteSkipped => "campaign.app_skipped",
            AuditKind::AccessPassIssued => "admin.access_pass_issued",
            AuditKind::MethodChangeAnnounced => "method.change_announced",
            AuditKind::LinkConfirmed => "push.link_confirmed",
            AuditKind::PushRequested => "push.requested",
            AuditKind::PushAnswered => "push.answered",
            AuditKind::PushReported => "push.reported_unrequested",
            AuditKind::AccountUnflagged => "admin.unflagged",
            AuditKind::SignedIn => "sign_in.completed",
            AuditKind::SignedOut => "sign_out",
            AuditKind::UserAdded => "admin.user_added",
            AuditKind::UsersImported => "admin.users_imported",
            AuditKind::MfaReset => "admin.mfa_reset",
            AuditKind::PhoneSet => "admin.phone_set",
            AuditKind::PasswordSet => "admin.password_set",
            AuditKind::ClientAdded => "admin.client_added",
            AuditKind::ClientRemoved => "admin.client_removed",
            AuditKind::Authorized => "oidc.authorized",
            AuditKind::ConsentGiven => "oidc.consent",
            AuditKind::TokenReplayed => "oidc.token_replayed",
            AuditKind::EntraRequested => "entra.requested",
            AuditKind::EntraLinked => "entra.linked",
            AuditKind::EntraAnswered => "entra.answered",
            AuditKind::EntraPhonesImported => "admin.entra_phones_imported",
        }
    }
}

/// Who acted: the user in their browser, or an administrator through the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User,
    Admin(String),
}

impl Actor {
    pub fn as_string(&self) -> String {
        match self {
            Actor::User => "user".to_string(),
            Actor::Admin(who) => format!("admin:{who}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: Timestamp,
    pub kind: AuditKind,
    /// "ok", or a short reason such as "wrong_password", "throttled", "expired".
    pub outcome: &'static str,
    pub user_id: Option<UserId>,
    /// The username as typed (normalised when it parsed), so failed attempts on unknown names
    /// are traceable too.
    pub username: Option<String>,
    pub actor: Actor,
    pub ip: Option<String>,
    /// Extra facts, e.g. a masked phone number. Never a secret.
    pub detail: Option<String>,
    /// The browser's User-Agent, for requests from one.
    pub user_agent: Option<String>,
}

/// An audit event as read back.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub at: Timestamp,
    pub kind: String,
    pub outcome: String,
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    pub actor: String,
    pub ip: Option<String>,
    pub detail: Option<String>,
    pub user_agent: Option<String>,
}
