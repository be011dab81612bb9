use thiserror::Error;

use crate::domain::{OtpCodeError, PhoneError};
use crate::ports::StoreError;

/// Why no code was sent. Each has its own message for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefusal {
    /// Wait this many seconds before asking again.
    Cooldown { retry_after_secs: i64 },
    /// This account had its codes for this hour.
    AccountBudget,
    /// This phone number had its codes for this hour.
    NumberBudget,
    /// Too many wrong codes for this account: no new codes until the window passes.
    AccountLocked { retry_after_secs: i64 },
    /// Too many codes from this client network this hour.
    NetworkBudget,
    /// Too many codes to this country this hour.
    CountryBudget,
    /// The organisation-wide hourly or daily budget is spent.
    GlobalBudget,
    /// The owner reported an unrequested code: no sends until then.
    Blocked { until: crate::domain::Timestamp },
    /// The number is in a country that is no longer allowed.
    NumberNotAllowed,
    /// No gateway could deliver the message.
    GatewayDown,
}

/// Everything that can go wrong while signing in, as the web layer needs to tell it apart.
/// Failures that must look alike from outside (unknown user, wrong password) share a variant.
#[derive(Debug, Error)]
pub enum SignInError {
    /// Unknown user or wrong password: deliberately one case.
    #[error("username or password is wrong")]
    BadCredentials,
    #[error("too many attempts; retry after {retry_after_secs} s")]
    Throttled { retry_after_secs: i64 },
    /// Every password check is taken (a rush): nothing was checked or counted; try again.
    #[error("busy; retry after {retry_after_secs} s")]
    Busy { retry_after_secs: i64 },
    /// The request does not fit the step this sign-in is at (a skipped step, an old tab).
    #[error("this step is not available now")]
    WrongStep,
    #[error("bad phone number: {0}")]
    Phone(#[from] PhoneError),
    #[error("bad name: {0}")]
    Label(#[from] crate::domain::LabelError),
    #[error("bad code: {0}")]
    MalformedCode(#[from] OtpCodeError),
    #[error("wrong code")]
    WrongCode { attempts_left: u32 },
    /// An authenticator-app code that is wrong, too old, or used before.
    #[error("wrong app code")]
    WrongAppCode,
    /// The policy requires a second factor and this is the user's only one.
    #[error("the last method cannot be removed")]
    LastMethod,
    #[error("this phone is registered already")]
    PhoneAlreadyAdded,
    #[error("wrong or expired access pass")]
    WrongAccessPass,
    #[error("the code has expired")]
    CodeExpired,
    #[error("the code was already used or replaced by a newer one")]
    CodeUsed,
    #[error("too many wrong tries for this code")]
    CodeExhausted,
    #[error("no code was sent yet")]
    NoCode,
    #[error("too many wrong codes for this account")]
    AccountLocked { retry_after_secs: i64 },
    /// A passkey or app approval that did not prove what it must (bad signature, another
    /// account's credential, no user verification, a ceremony used before).
    #[error("the passkey or approval was not accepted")]
    WebAuthnRefused,
    #[error("no push request: {0:?}")]
    PushRefused(crate::approval::StartRefusal),
    /// The owner said "this wasn't me": no push (or SMS) for the account until then.
    #[error("push is blocked for this account")]
    PushBlocked { until: crate::domain::Timestamp },
    #[error("no code sent: {0:?}")]
    NotSent(SendRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}
