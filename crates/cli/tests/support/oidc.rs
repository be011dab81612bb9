//! Acting as an OpenID Connect client in tests: registering clients, following the browser
//! through the sign-in, and calling the token endpoints.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tweestap_core::SigningAlg;
use tweestap_core::clients::{ClientInput, ClientService};
use tweestap_core::ports::Store;

use super::{Browser, Page, TestApp};

pub const REDIRECT: &str = "https://app.example/callback";
pub const LOGOUT_TO: &str = "https://app.example/bye";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

#[derive(Default, Clone, Copy)]
pub struct ClientKind {
    pub public: bool,
    pub third_party: bool,
    pub require_mfa: bool,
    pub rs256: bool,
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl TestApp {
    pub async fn add_client(&self, kind: ClientKind) -> TestClient {
        let service = ClientService {
            store: self.admin.store.clone() as Arc<dyn Store>,
            clock: self.clock.clone(),
            entropy: Arc::new(tweestap_web::system::OsEntropy),
            actor: "test".into(),
        };
        let (client, secret) = service
            .add(ClientInput {
                name: "Het Rooster".into(),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_uris: vec![LOGOUT_TO.into()],
                public: kind.public,
                first_party: !kind.third_party,
                scopes: vec![
                    "openid".into(),
                    "profile".into(),
                    "email".into(),
                    "phone".into(),
                    "offline_access".into(),
                ],
                require_mfa: kind.require_mfa,
                id_token_alg: if kind.rs256 {
                    SigningAlg::Rs256
                } else {
                    SigningAlg::Es256
                },
                ..ClientInput::default()
            })
            .await
            .unwrap();
        TestClient {
            id: client.client_id.as_str().to_string(),
            secret,
        }
    }

    /// Calls the token (or revocation) endpoint as `client`, with client_secret_basic.
    pub async fn token_request(
        &self,
        client: &TestClient,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, serde_json::Value) {
        let http = reqwest::Client::new();
        let mut request = http.post(format!("{}{path}", self.base));
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        match &client.secret {
            Some(secret) => request = request.basic_auth(&client.id, Some(secret)),
            None => all.push(("client_id", &client.id)),
        }
        let response = request.form(&all).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn exchange(
        &self,
        client: &TestClient,
        code: &str,
    ) -> (StatusCode, serde_json::Value) {
        self.token_request(
            client,
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }

    pub async fn refresh(
        &self,
        client: &TestClient,
        token: &str,
    ) -> (StatusCode, serde_json::Value) {
        self.token_request(
            client,
            "/oauth2/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }

    pub async fn userinfo(&self, access_token: &str) -> (StatusCode, serde_json::Value) {
        let response = reqwest::Client::new()
            .get(format!("{}/oauth2/userinfo", self.base))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Checks an ID token's signature against the published JWKS; returns its claims.
    pub async fn verify_id_token(&self, token: &str, client: &TestClient) -> serde_json::Value {
        let header = jsonwebtoken::decode_header(token).unwrap();
        let jwks: serde_json::Value = reqwest::get(format!("{}/oauth2/jwks", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kid = header.kid.expect("kid in the header");
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("the kid is published")
            .clone();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_audience(&[&client.id]);
        validation.set_issuer(&[self.config.public_url.trim_end_matches('/')]);
        // The server's clock is the test's: check expiry against it, not the wall clock.
        validation.validate_exp = false;
        let claims: serde_json::Value = jsonwebtoken::decode(token, &key, &validation)
            .expect("the ID token verifies")
            .claims;
        let now = self.clock_now();
        assert!(claims["exp"].as_i64().unwrap() > now, "not expired");
        claims
    }

    pub fn clock_now(&self) -> i64 {
        use tweestap_core::ports::Clock;
        self.clock.now().0
    }
}

/// An authorization request's query.
pub fn authorize_path(client: &TestClient, extra: &[(&str, &str)]) -> String {
    let mut fields: Vec<(&str, String)> = vec![
        ("client_id", client.id.clone()),
        ("redirect_uri", REDIRECT.to_string()),
        ("response_type", "code".to_string()),
        ("scope", "openid profile email".to_string()),
        ("state", "st4te".to_string()),
        ("nonce", "n0nce".to_string()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".to_string()),
    ];
    for (k, v) in extra {
        fields.retain(|(name, _)| name != k);
        if !v.is_empty() {
            fields.push((k, v.to_string()));
        }
    }
    let query: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", tweestap_core::oidc::percent_encode(v)))
        .collect();
    format!("/oauth2/authorize?{}", query.join("&"))
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Browser {
    /// Follows redirects on this server until one leaves it (for the client) or a page shows.
    pub async fn follow(&mut self, mut page: Page) -> Page {
        for _ in 0..10 {
            match page.location.clone() {
                Some(to) if page.status.is_redirection() && to.starts_with('/') => {
                    page = self.get(&to).await;
                }
                _ => return page,
            }
        }
        panic!("too many redirects");
    }

    /// Starts an authorization request and signs in with password and SMS code; returns the
    /// first response that leaves the server (or a page such as consent).
    pub async fn authorize_signing_in(&mut self, app: &TestApp, path: &str, user: &str) -> Page {
        let page = self.get(path).await;
        let mut page = self.follow(page).await;
        // "Sign in again" (prompt=login, max_age): continue.
        if page.body.contains("action=\"/oauth2/reauth\"") {
            let request = hidden(&page.body, "request");
            let next = self
                .post(
                    "/oauth2/reauth",
                    &[("request", &request), ("decision", "continue")],
                )
                .await;
            page = self.follow(next).await;
        }
        if page.status == StatusCode::OK && page.body.contains("name=\"password\"") {
            // The way back travels in the form, as a browser sends it.
            let field = |name: &str| {
                if page.body.contains(&format!("name=\"{name}\"")) {
                    hidden(&page.body, name)
                } else {
                    String::new()
                }
            };
            let (back, strict) = (field("return_to"), field("strict"));
            let mut fields = vec![
                ("username", user),
                ("password", super::PASSWORD),
                ("return_to", back.as_str()),
            ];
            if !strict.is_empty() {
                fields.push(("strict", strict.as_str()));
            }
            let page = self.post("/sign-in", &fields).await;
            let page = self.follow(page).await;
            if page.body.contains("name=\"code\"") {
                let page = self
                    .post("/sign-in/code", &[("code", &app.last_code())])
                    .await;
                return self.follow(page).await;
            }
            return page;
        }
        page
    }
}

/// The code from a redirect to the client, after checking `state` and `iss`.
pub fn code_from(app: &TestApp, page: &Page) -> String {
    let to = page
        .location
        .clone()
        .unwrap_or_else(|| panic!("no redirect: {} {}", page.status, page.body));
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("st4te"));
    assert_eq!(
        param(&to, "iss").as_deref(),
        Some(app.config.public_url.trim_end_matches('/'))
    );
    param(&to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

/// The value of a hidden form field, unescaped.
pub fn hidden(body: &str, name: &str) -> String {
    body.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no field {name}"))
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&quot;", "\"")
}

/// RFC 4648 base32 (no padding) to bytes, for checking what is stored.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0, Vec::new());
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    out
}
