//! Why an external-method sign-in was refused: one reason each, the page that explains it
//! (the web layer's message key) and the `error` Entra hears, when it may hear one.

/// A refused or abandoned external-method sign-in. Nothing here carries the hint or a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a parameter appears twice")]
    Malformed,
    #[error("the redirect_uri is missing or not one of Microsoft's")]
    RedirectUri,
    #[error("no tenant has this client_id")]
    UnknownClient,
    #[error("this tenant does not use that Microsoft cloud")]
    CloudNotAllowed,
    #[error("response_type must be id_token")]
    ResponseType,
    #[error("response_mode must be form_post")]
    ResponseMode,
    #[error("scope must contain openid")]
    Scope,
    #[error("the claims request is not valid JSON of the expected shape")]
    Claims,
    #[error("none of the requested acr values can be met by a possession factor")]
    AcrUnsatisfiable,
    #[error("nonce is missing")]
    Nonce,
    #[error("id_token_hint is missing or not a JWT")]
    HintMalformed,
    #[error("the hint is from a tenant that is not this client's")]
    WrongTenant,
    #[error("Entra's signing keys could not be fetched")]
    KeysUnavailable,
    #[error("the hint is signed with a key Entra does not publish")]
    UnknownKey,
    #[error("the hint's signature is not valid")]
    BadSignature,
    #[error("the hint's issuer is not the tenant's")]
    WrongIssuer,
    #[error("the hint's audience is not this app registration")]
    WrongAudience,
    #[error("the hint is not fresh (iat)")]
    Stale,
    #[error("the hint lacks oid or sub")]
    NoSubject,
    #[error("the hint was used before")]
    Replayed,
    #[error("no account is linked to this Entra user")]
    UnknownUser,
    #[error("an account with the hint's username exists and may not be linked")]
    UsernameTaken,
    #[error("the five minutes Entra waits have passed")]
    TimeUp,
    #[error("the user said the sign-in was not theirs")]
    Denied,
    #[error("the method used is not one Entra asked for")]
    MethodNotAccepted,
}

impl Refusal {
    /// The OAuth `error` Entra is told, or `None` when the answer must not go to the
    /// `redirect_uri` (it is not Microsoft's, or the client is unknown: RFC 6749 §4.1.2.1).
    pub fn error(self) -> Option<&'static str> {
        use Refusal::*;
        match self {
            Malformed | RedirectUri | UnknownClient => None,
            ResponseType => Some("unsupported_response_type"),
            Scope => Some("invalid_scope"),
            KeysUnavailable => Some("temporarily_unavailable"),
            CloudNotAllowed | ResponseMode | Claims | Nonce | HintMalformed | WrongTenant
            | UnknownKey | BadSignature | WrongIssuer | WrongAudience | Stale | NoSubject
            | Replayed => Some("invalid_request"),
            AcrUnsatisfiable | UnknownUser | UsernameTaken | TimeUp | Denied
            | MethodNotAccepted => Some("access_denied"),
        }
    }

    /// The page's message key (a Fluent id in the web layer): what went wrong, what to do.
    pub fn key(self) -> &'static str {
        use Refusal::*;
        match self {
            Malformed | RedirectUri | UnknownClient | CloudNotAllowed | ResponseType
            | ResponseMode | Scope | Claims | AcrUnsatisfiable | Nonce => "eam-refused-setup",
            HintMalformed | WrongTenant | UnknownKey | BadSignature | WrongIssuer
            | WrongAudience | NoSubject => "eam-refused-hint",
            KeysUnavailable => "eam-refused-keys",
            Stale | TimeUp => "eam-refused-time",
            Replayed => "eam-refused-replayed",
            UnknownUser => "eam-refused-unknown-user",
            UsernameTaken => "eam-refused-username-taken",
            Denied => "eam-refused-denied",
            MethodNotAccepted => "eam-refused-method",
        }
    }

    /// A short, stable name for the audit trail and the tests.
    pub fn code(self) -> &'static str {
        use Refusal::*;
        match self {
            Malformed => "malformed",
            RedirectUri => "redirect_uri",
            UnknownClient => "unknown_client",
            CloudNotAllowed => "cloud",
            ResponseType => "response_type",
            ResponseMode => "response_mode",
            Scope => "scope",
            Claims => "claims",
            AcrUnsatisfiable => "acr",
            Nonce => "nonce",
            HintMalformed => "hint_malformed",
            WrongTenant => "tenant",
            KeysUnavailable => "keys_unavailable",
            UnknownKey => "unknown_kid",
            BadSignature => "signature",
            WrongIssuer => "issuer",
            WrongAudience => "audience",
            Stale => "stale",
            NoSubject => "subject",
            Replayed => "replayed",
            UnknownUser => "unknown_user",
            UsernameTaken => "username_taken",
            TimeUp => "time_up",
            Denied => "denied",
            MethodNotAccepted => "method",
        }
    }
}
