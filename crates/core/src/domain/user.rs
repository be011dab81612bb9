use serde::{Deserialize, Serialize};

use super::{PhoneNumber, Timestamp, Username};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MethodId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    /// The stable, opaque identifier applications see (OIDC `sub`); never the username.
    pub subject: String,
    pub username: Username,
    pub display_name: String,
    pub email: Option<String>,
    /// Argon2id PHC string; `None` when the account cannot sign in with a password.
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    /// The language the account last signed in with ("nl", "en"), for notices sent while
    /// the user is not there.
    pub language: Option<String>,
}

/// A registered second factor. Each kind carries its own data (no "type number + blob").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MethodKind {
    Sms {
        phone: PhoneNumber,
    },
    /// An authenticator app. The secret is sealed with the server's key (never stored or
    /// carried in the clear); `last_step` is the time step of the last accepted code.
    Totp {
        label: String,
        sealed_secret: Vec<u8>,
        last_step: Option<i64>,
    },
    /// A passkey (WebAuthn, user verification required): phishing-resistant, the strongest.
    /// `credential` is the public key and counter as the WebAuthn library stores them.
    Passkey {
        label: String,
        credential_id: String,
        credential: String,
    },
    /// The tweestap app on a phone: sign-ins are approved there with number matching and the
    /// phone's own WebAuthn credential (so the approval key never leaves the phone).
    PushApp {
        label: String,
        credential_id: String,
        credential: String,
        /// The app's Web Push subscription (JSON), when the phone allowed notifications.
        subscription: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    pub id: MethodId,
    pub user_id: UserId,
    pub kind: MethodKind,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// The user chose this one to be asked for first.
    pub is_default: bool,
}

impl Method {
    pub fn phone(&self) -> Option<&PhoneNumber> {
        match &self.kind {
            MethodKind::Sms { phone } => Some(phone),
            _ => None,
        }
    }

    /// The phone numbers among `methods`: who hears of a change to the account.
    pub fn phones(methods: &[Method]) -> Vec<PhoneNumber> {
        methods.iter().filter_map(|m| m.phone().cloned()).collect()
    }

    pub fn is_passkey(&self) -> bool {
        matches!(self.kind, MethodKind::Passkey { .. })
    }

    pub fn is_push(&self) -> bool {
        matches!(self.kind, MethodKind::PushApp { .. })
    }

    /// The name the user gave it (phones have none: their number is shown).
    pub fn label(&self) -> Option<&str> {
        match &self.kind {
            MethodKind::Sms { .. } => None,
            MethodKind::Totp { label, .. }
            | MethodKind::Passkey { label, .. }
            | MethodKind::PushApp { label, .. } => Some(label),
        }
    }

    /// How strong a method is, for "ask for the strongest method first": a passkey resists
    /// phishing; the app's push (number matching, device key) and codes from an app beat a text.
    pub fn strength(&self) -> u8 {
        match self.kind {
            MethodKind::Passkey { .. } => 3,
            MethodKind::PushApp { .. } => 2,
            MethodKind::Totp { .. } => 1,
            MethodKind::Sms { .. } => 0,
        }
    }

    pub fn is_app(&self) -> bool {
        matches!(self.kind, MethodKind::Totp { .. })
    }

    /// The associated data a TOTP secret is sealed with: bound to its user, so a sealed
    /// secret copied to another account's row does not open.
    pub fn seal_context(user: UserId) -> Vec<u8> {
        format!("totp:{}", user.0).into_bytes()
    }
}

/// An account about to be created.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub display_name: String,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub phone: Option<PhoneNumber>,
}
