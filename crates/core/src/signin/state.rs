use serde::{Deserialize, Serialize};

use crate::domain::{MethodId, PhoneNumber, Timestamp, UserId};
use crate::ports::ChallengeId;

/// Where a code goes: a phone being registered, or a method the user already has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CodeTarget {
    Register {
        phone: PhoneNumber,
    },
    Method {
        method_id: MethodId,
        phone: PhoneNumber,
    },
}

impl CodeTarget {
    pub fn phone(&self) -> &PhoneNumber {
        match self {
            CodeTarget::Register { phone } | CodeTarget::Method { phone, .. } => phone,
        }
    }

    pub fn is_registration(&self) -> bool {
        matches!(self, CodeTarget::Register { .. })
    }
}

/// Where a browser is in signing in. Each step carries what the next step needs, nothing more.
/// `flow` is a random id for one sign-in attempt; codes are bound to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum SignInState {
    #[default]
    Start,
    /// The password was right, the user has no second factor and the policy demands one.
    MustRegister { flow: String, user_id: UserId },
    /// A code is on its way (or, when `challenge` is `None`, still has to be sent).
    AwaitingCode {
        flow: String,
        user_id: UserId,
        target: CodeTarget,
        challenge: Option<ChallengeId>,
    },
    /// In the registration interrupt, the user chose an authenticator app instead of a
    /// phone: the app is set up (pending) and its first code is awaited.
    RegisteringApp { flow: String, user_id: UserId },
    /// The user is to type a code from their authenticator app.
    AwaitingApp {
        flow: String,
        user_id: UserId,
        method_id: MethodId,
    },
    /// The user is to confirm with one of their passkeys.
    AwaitingPasskey { flow: String, user_id: UserId },
    /// The sign-in waits for approval in the tweestap app (`approval`: the request, once
    /// started; `None` when it still has to be).
    AwaitingPush {
        flow: String,
        user_id: UserId,
        method_id: MethodId,
        approval: Option<String>,
    },
    SignedIn {
        user_id: UserId,
        auth_time: Timestamp,
        /// Authentication method references (RFC 8176): what the user really did.
        amr: Vec<String>,
    },
}

/// The page a state belongs on. A request for any other sign-in page is sent here instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    SignIn,
    RegisterPhone,
    EnterCode,
    EnterAppCode,
    EnterPasskey,
    AwaitPush,
    RegisterApp,
    Home,
}

impl SignInState {
    pub fn page(&self) -> Page {
        match self {
            SignInState::Start => Page::SignIn,
            SignInState::MustRegister { .. } => Page::RegisterPhone,
            SignInState::AwaitingCode { .. } => Page::EnterCode,
            SignInState::AwaitingApp { .. } => Page::EnterAppCode,
            SignInState::AwaitingPasskey { .. } => Page::EnterPasskey,
            SignInState::AwaitingPush { .. } => Page::AwaitPush,
            SignInState::RegisteringApp { .. } => Page::RegisterApp,
            SignInState::SignedIn { .. } => Page::Home,
        }
    }

    pub fn signed_in_user(&self) -> Option<UserId> {
        match self {
            SignInState::SignedIn { user_id, .. } => Some(*user_id),
            _ => None,
        }
    }

    /// The flow and user while a registered method is being asked for (the steps from which
    /// "sign in another way" and the access pass are offered).
    pub fn second_factor(&self) -> Option<(&str, UserId)> {
        match self {
            SignInState::AwaitingCode {
                flow,
                user_id,
                target: CodeTarget::Method { .. },
                ..
            }
            | SignInState::AwaitingApp { flow, user_id, .. }
            | SignInState::AwaitingPasskey { flow, user_id }
            | SignInState::AwaitingPush { flow, user_id, .. } => Some((flow, *user_id)),
            _ => None,
        }
    }

    /// The user whose sign-in this is, once the password is known to be right.
    pub fn user(&self) -> Option<UserId> {
        match self {
            SignInState::Start => None,
            SignInState::MustRegister { user_id, .. }
            | SignInState::AwaitingCode { user_id, .. }
            | SignInState::AwaitingApp { user_id, .. }
            | SignInState::AwaitingPasskey { user_id, .. }
            | SignInState::AwaitingPush { user_id, .. }
            | SignInState::RegisteringApp { user_id, .. }
            | SignInState::SignedIn { user_id, .. } => Some(*user_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_exactly_one_page() {
        let phone = PhoneNumber::from_stored("+31612345678").unwrap();
        assert_eq!(SignInState::Start.page(), Page::SignIn);
        let must = SignInState::MustRegister {
            flow: "f".into(),
            user_id: UserId(1),
        };
        assert_eq!(must.page(), Page::RegisterPhone);
        let awaiting = SignInState::AwaitingCode {
            flow: "f".into(),
            user_id: UserId(1),
            target: CodeTarget::Register { phone },
            challenge: None,
        };
        assert_eq!(awaiting.page(), Page::EnterCode);
        assert_eq!(awaiting.signed_in_user(), None);
    }
}
