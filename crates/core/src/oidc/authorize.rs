//! Checking an authorization request (OpenID Connect Core §3.1.2.1, RFC 6749 §4.1.1,
//! RFC 7636, RFC 9700). Until the client and its redirect URI are known to be genuine, an error
//! is shown to the user as a page: redirecting would make tweestap an open redirector.

use serde::{Deserialize, Serialize};

use super::pkce::valid_challenge;
use super::urlencode::append_query;
use crate::domain::{Client, RedirectUri};

/// The parameters as they arrive. Every one is optional here; [`AuthorizeParams::check`]
/// decides what is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// Why a request cannot even be answered at the client's redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageProblem {
    MissingClient,
    UnknownClient,
    MissingRedirectUri,
    RedirectUriMismatch,
    /// A parameter appears twice (RFC 6749 §3.1) or the query cannot be read.
    Malformed,
    /// Longer than tweestap keeps for the way back from the sign-in.
    TooLong,
}

impl PageProblem {
    /// A stable name for logs and the page's translation key.
    pub fn name(self) -> &'static str {
        match self {
            PageProblem::MissingClient => "missing-client",
            PageProblem::UnknownClient => "unknown-client",
            PageProblem::MissingRedirectUri => "missing-redirect-uri",
            PageProblem::RedirectUriMismatch => "redirect-uri-mismatch",
            PageProblem::Malformed => "malformed",
            PageProblem::TooLong => "too-long",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    Page(PageProblem),
    /// An error response to the client (RFC 6749 §4.1.2.1), carried on its redirect URI.
    Redirect(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client: Client,
    pub redirect_uri: RedirectUri,
    /// Those requested that the client may have, in the client's order.
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    pub code_challenge: Option<String>,
    /// The client, or its `acr_values`, asks for a second factor.
    pub require_mfa: bool,
    pub issuer: String,
}

impl AuthRequest {
    /// The error response for this request: `error`, `error_description`, `state` and `iss`
    /// on the redirect URI.
    pub fn error(&self, error: &str, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect(error_url(
            self.redirect_uri.as_str(),
            &self.issuer,
            self.state.as_deref(),
            error,
            description,
        ))
    }

    /// The successful response: the code, `state` and `iss` (RFC 9207).
    pub fn success_url(&self, code: &str) -> String {
        let mut params = vec![("code", code)];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", &self.issuer));
        append_query(self.redirect_uri.as_str(), &params)
    }
}

fn error_url(
    redirect_uri: &str,
    issuer: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> String {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    append_query(redirect_uri, &params)
}

/// Requests for an MFA sign-in through `acr_values`.
pub const MFA_ACR_VALUES: [&str; 2] = [super::claims::ACR_MFA, "mfa"];

impl AuthorizeParams {
    /// Checks the request against its client (`None`: no such client).
    pub fn check(
        &self,
        client: Option<Client>,
        issuer: &str,
    ) -> Result<AuthRequest, AuthorizeError> {
        if self.client_id.as_deref().unwrap_or("").is_empty() {
            return Err(AuthorizeError::Page(PageProblem::MissingClient));
        }
        let client = client.ok_or(AuthorizeError::Page(PageProblem::UnknownClient))?;
        let Some(given) = self.redirect_uri.as_deref().filter(|u| !u.is_empty()) else {
            return Err(AuthorizeError::Page(PageProblem::MissingRedirectUri));
        };
        // Exact string comparison, no normalisation (RFC 9700 §4.1.3); the code goes back to
        // the URI as sent (for a loopback address, with the port the app chose).
        if !client.redirect_uris.iter().any(|u| u.matches(given)) {
            return Err(AuthorizeError::Page(PageProblem::RedirectUriMismatch));
        }
        let redirect_uri = RedirectUri::parse(given)
            .map_err(|_| AuthorizeError::Page(PageProblem::RedirectUriMismatch))?;

        let fail = |error: &str, description: &str| {
            Err(AuthorizeError::Redirect(error_url(
                redirect_uri.as_str(),
                issuer,
                self.state.as_deref(),
                error,
                description,
            )))
        };
        if self.request.is_some() {
            return fail("request_not_supported", "request objects are not supported");
        }
        if self.request_uri.is_some() {
            return fail("request_uri_not_supported", "request_uri is not supported");
        }
        match self.response_type.as_deref() {
            Some("code") => {}
            None | Some("") => return fail("invalid_request", "response_type is missing"),
            Some(_) => {
                return fail(
                    "unsupported_response_type",
                    "only the authorization code flow (response_type=code) is supported",
                );
            }
        }
        match self.response_mode.as_deref() {
            None | Some("query") => {}
            Some(_) => return fail("invalid_request", "only response_mode=query is supported"),
        }
        let requested: Vec<&str> = self
            .scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect();
        if !requested.contains(&"openid") {
            return fail("invalid_scope", "the openid scope is required");
        }
        if !client.scopes.iter().any(|s| s == "openid") {
            return fail("invalid_scope", "this client may not use the openid scope");
        }
        // Scopes the client may not have are left out rather than refused (RFC 6749 §3.3).
        let scopes: Vec<String> = client
            .scopes
            .iter()
            .filter(|s| requested.contains(&s.as_str()))
            .cloned()
            .collect();

        let code_challenge = match (
            self.code_challenge.as_deref().filter(|c| !c.is_empty()),
            self.code_challenge_method.as_deref(),
        ) {
            (None, None) if client.public => {
                return fail(
                    "invalid_request",
                    "public clients must use PKCE (code_challenge with code_challenge_method=S256)",
                );
            }
            (None, None) => None,
            (None, Some(_)) => return fail("invalid_request", "code_challenge is missing"),
            (Some(_), None) | (Some(_), Some("plain")) => {
                return fail(
                    "invalid_request",
                    "code_challenge_method must be S256 (plain is not accepted)",
                );
            }
            (Some(challenge), Some("S256")) => {
                if !valid_challenge(challenge) {
                    return fail(
                        "invalid_request",
                        "code_challenge must be 43 base64url characters (S256)",
                    );
                }
                Some(challenge.to_string())
            }
            (Some(_), Some(_)) => {
                return fail("invalid_request", "code_challenge_method must be S256");
            }
        };

        let mut prompt = Prompt::default();
        for value in self.prompt.as_deref().unwrap_or("").split(' ') {
            match value {
                "" | "select_account" => {}
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                _ => return fail("invalid_request", "unknown prompt value"),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return fail(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            );
        }
        let max_age = match self.max_age.as_deref() {
            None | Some("") => None,
            Some(text) => match text.parse::<i64>() {
                Ok(secs) if secs >= 0 => Some(secs),
                _ => return fail("invalid_request", "max_age must be a number of seconds"),
            },
        };
        let acr_mfa = self
            .acr_values
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .any(|v| MFA_ACR_VALUES.contains(&v));
        Ok(AuthRequest {
            require_mfa: client.require_mfa || acr_mfa,
            redirect_uri,
            scopes,
            state: self.state.clone(),
            nonce: self.nonce.clone(),
            prompt,
            max_age,
            login_hint: self.login_hint.clone().filter(|h| !h.is_empty()),
            ui_locales: self
                .ui_locales
                .as_deref()
                .unwrap_or("")
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            code_challenge,
            issuer: issuer.to_string(),
            client,
        })
    }

    /// The same request without what forced a fresh sign-in, for coming back to once the user
    /// has signed in again; otherwise `prompt=login` or `max_age=0` would ask forever.
    pub fn after_reauthentication(&self) -> AuthorizeParams {
        let prompt = self.prompt.as_deref().map(|p| {
            p.split(' ')
                .filter(|v| *v != "login")
                .collect::<Vec<_>>()
                .join(" ")
        });
        AuthorizeParams {
            prompt: prompt.filter(|p| !p.is_empty()),
            max_age: None,
            ..self.clone()
        }
    }

    /// As a query string (for the sign-in's return URL and the consent form).
    pub fn to_query(&self) -> String {
        let fields: [(&str, &Option<String>); 16] = [
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("response_type", &self.response_type),
            ("response_mode", &self.response_mode),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("login_hint", &self.login_hint),
            ("ui_locales", &self.ui_locales),
            ("acr_values", &self.acr_values),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("request", &self.request),
            ("request_uri", &self.request_uri),
        ];
        let present: Vec<(&str, &str)> = fields
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
            .collect();
        append_query("", &present)
            .trim_start_matches('?')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientId, SigningAlg, Timestamp};

    fn client(public: bool) -> Client {
        Client {
            client_id: ClientId::parse("app").unwrap(),
            name: "App".into(),
            redirect_uris: vec![RedirectUri::parse("https://app.example/cb").unwrap()],
            post_logout_uris: vec![],
            public,
            first_party: true,
            scopes: vec!["openid".into(), "profile".into()],
            require_mfa: false,
            id_token_alg: SigningAlg::Es256,
            secret_hash: None,
            created_at: Timestamp(0),
        }
    }

    fn params() -> AuthorizeParams {
        AuthorizeParams {
            client_id: Some("app".into()),
            redirect_uri: Some("https://app.example/cb".into()),
            response_type: Some("code".into()),
            scope: Some("openid profile email".into()),
            state: Some("s 1".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            code_challenge_method: Some("S256".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_request_keeps_only_the_clients_scopes() {
        let req = params().check(Some(client(true)), "https://idp").unwrap();
        assert_eq!(req.scopes, vec!["openid", "profile"]);
        assert_eq!(
            req.success_url("c0de"),
            "https://app.example/cb?code=c0de&state=s%201&iss=https%3A%2F%2Fidp"
        );
    }

    #[test]
    fn redirect_uri_variants_are_refused_without_redirecting() {
        for variant in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example/other",
            "http://app.example/cb",
        ] {
            let p = AuthorizeParams {
                redirect_uri: Some(variant.into()),
                ..params()
            };
            assert_eq!(
                p.check(Some(client(false)), "https://idp").unwrap_err(),
                AuthorizeError::Page(PageProblem::RedirectUriMismatch),
                "{variant}"
            );
        }
        assert_eq!(
            params().check(None, "i").unwrap_err(),
            AuthorizeError::Page(PageProblem::UnknownClient)
        );
    }

    #[test]
    fn pkce_is_required_for_public_clients_and_never_plain() {
        let without = AuthorizeParams {
            code_challenge: None,
            code_challenge_method: None,
            ..params()
        };
        assert!(matches!(
            without.check(Some(client(true)), "i"),
            Err(AuthorizeError::Redirect(u)) if u.contains("error=invalid_request")
        ));
        assert!(without.check(Some(client(false)), "i").is_ok());
        let plain = AuthorizeParams {
            code_challenge_method: Some("plain".into()),
            ..params()
        };
        assert!(plain.check(Some(client(false)), "i").is_err());
    }

    #[test]
    fn prompt_none_stands_alone_and_reauthentication_drops_login() {
        let p = AuthorizeParams {
            prompt: Some("none login".into()),
            ..params()
        };
        assert!(p.check(Some(client(true)), "i").is_err());
        let p = AuthorizeParams {
            prompt: Some("login consent".into()),
            max_age: Some("0".into()),
            ..params()
        };
        let after = p.after_reauthentication();
        assert_eq!(after.prompt.as_deref(), Some("consent"));
        assert_eq!(after.max_age, None);
        assert!(after.to_query().contains("state=s%201"));
    }
}
