use crate::ports::StoreError;

/// Token-endpoint failures, each with its RFC 6749 §5.2 error code.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Unknown client, missing or wrong secret. `basic` says the client tried HTTP Basic, which
    /// must then be answered with 401 and a `WWW-Authenticate` challenge.
    #[error("client authentication failed")]
    InvalidClient { basic: bool },
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("grant_type must be authorization_code or refresh_token")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient { .. } => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::Store(_) | TokenError::Internal(_) => "server_error",
        }
    }

    /// Whether the failure is the server's, not the client's.
    pub fn is_internal(&self) -> bool {
        matches!(self, TokenError::Store(_) | TokenError::Internal(_))
    }
}
