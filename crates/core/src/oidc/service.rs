//! Codes, tokens and consent: the authorization server's use cases.

use std::sync::Arc;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::authorize::{AuthRequest, AuthorizeError, AuthorizeParams, PageProblem};
use super::claims::{IdToken, user_claims};
use super::error::TokenError;
use super::pkce::pkce_matches;
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::clients::secret_matches;
use crate::domain::{Client, ClientId, Timestamp, UserId};
use crate::policy::Policy;
use crate::ports::{
    Clock, Entropy, Grant, GrantKind, GrantRecord, Redeemed, Store, StoreError, TokenSigner,
    random_hex,
};

/// How a client presented itself at the token or revocation endpoint.
#[derive(Debug, Clone, Default)]
pub struct ClientAuth {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    /// The credentials came in an `Authorization: Basic` header.
    pub basic: bool,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    pub refresh_token: String,
    pub scope: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UserinfoError {
    #[error("the access token is unknown, expired or revoked")]
    InvalidToken,
    #[error("the access token was not issued for the openid scope")]
    InsufficientScope,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct OidcService {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub signer: Arc<dyn TokenSigner>,
    pub policy: Arc<Policy>,
    /// The issuer identifier: the public URL without a trailing slash.
    pub issuer: String,
}

/// SHA-256 of a code or token: what the database keeps.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl OidcService {
    /// 256 random bits, base64url: codes, access and refresh tokens.
    fn new_token(&self) -> String {
        let mut bytes = [0u8; 32];
        self.entropy.fill(&mut bytes);
        Base64UrlUnpadded::encode_string(&bytes)
    }

    pub async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        match ClientId::parse(id) {
            Ok(id) => self.store.client_get(&id).await,
            Err(_) => Ok(None),
        }
    }

    /// Checks an authorization request against its registered client.
    pub async fn authorize_request(
        &self,
        params: &AuthorizeParams,
    ) -> Result<Result<AuthRequest, AuthorizeError>, StoreError> {
        let client = match params.client_id.as_deref() {
            Some(id) if !id.is_empty() => self.client(id).await?,
            _ => return Ok(Err(AuthorizeError::Page(PageProblem::MissingClient))),
        };
        Ok(params.check(client, &self.issuer))
    }

    /// Whether the user already allowed this client every scope it asks for now.
    pub async fn consented(&self, user: UserId, req: &AuthRequest) -> Result<bool, StoreError> {
        let given = self
            .store
            .consent_get(user, &req.client.client_id)
            .await?
            .unwrap_or_default();
        Ok(req.scopes.iter().all(|s| given.contains(s)))
    }

    pub async fn record_consent(&self, user: UserId, req: &AuthRequest) -> Result<(), StoreError> {
        let mut scopes = self
            .store
            .consent_get(user, &req.client.client_id)
            .await?
            .unwrap_or_default();
        for s in &req.scopes {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        let now = self.clock.now();
        self.store
            .consent_put(user, &req.client.client_id, &scopes, now)
            .await?;
        self.audit(
            AuditKind::ConsentGiven,
            user,
            &req.client.client_id,
            scopes.join(" "),
        )
        .await
    }

    /// Issues a code for a finished sign-in; returns where to send the browser.
    pub async fn issue_code(
        &self,
        req: &AuthRequest,
        user: UserId,
        auth_time: Timestamp,
        amr: &[String],
    ) -> Result<String, StoreError> {
        let code = self.new_token();
        let now = self.clock.now();
        self.store
            .grant_put(&GrantRecord {
                token_hash: token_hash(&code),
                kind: GrantKind::Code,
                family: random_hex(self.entropy.as_ref(), 16),
                client_id: req.client.client_id.clone(),
                user_id: user,
                grant: Grant {
                    scopes: req.scopes.clone(),
                    auth_time,
                    amr: amr.to_vec(),
                    redirect_uri: Some(req.redirect_uri.as_str().to_string()),
                    code_challenge: req.code_challenge.clone(),
                    nonce: req.nonce.clone(),
                },
                created_at: now,
                expires_at: now.plus_secs(self.policy.oidc.code_ttl_secs),
            })
            .await?;
        self.audit(
            AuditKind::Authorized,
            user,
            &req.client.client_id,
            format!("scope={}", req.scopes.join(" ")),
        )
        .await?;
        Ok(req.success_url(&code))
    }

    /// Client authentication (RFC 6749 §2.3): a confidential client proves its secret; a
    /// public one only names itself.
    pub async fn authenticate(&self, auth: &ClientAuth) -> Result<Client, TokenError> {
        let invalid = TokenError::InvalidClient { basic: auth.basic };
        let Some(id) = auth.client_id.as_deref().filter(|id| !id.is_empty()) else {
            return Err(invalid);
        };
        let Some(client) = self.client(id).await? else {
            return Err(invalid);
        };
        if client.public {
            return Ok(client);
        }
        match auth.secret.as_deref() {
            Some(secret) if secret_matches(&client, secret) => Ok(client),
            _ => Err(invalid),
        }
    }

    /// The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        if code.is_empty() {
            return Err(TokenError::InvalidRequest("code is missing"));
        }
        let now = self.clock.now();
        let access = self.new_token();
        let refresh = self.new_token();
        let issue = |old: &GrantRecord| -> Result<Vec<GrantRecord>, TokenError> {
            if old.client_id != client.client_id {
                return Err(TokenError::InvalidGrant(
                    "the code was issued to another client",
                ));
            }
            if old.grant.redirect_uri.as_deref() != redirect_uri {
                return Err(TokenError::InvalidGrant(
                    "redirect_uri differs from the authorization request",
                ));
            }
            match (&old.grant.code_challenge, verifier) {
                (Some(challenge), Some(v)) if pkce_matches(challenge, v) => {}
                (Some(_), None) => {
                    return Err(TokenError::InvalidGrant("code_verifier is missing"));
                }
                (Some(_), Some(_)) => {
                    return Err(TokenError::InvalidGrant(
                        "code_verifier does not match the code_challenge",
                    ));
                }
                // A verifier without a challenge would let an injected code pass (RFC 9700 §4.8.2).
                (None, Some(_)) => {
                    return Err(TokenError::InvalidGrant(
                        "code_verifier sent, but the authorization request had no code_challenge",
                    ));
                }
                (None, None) if client.public => {
                    return Err(TokenError::InvalidGrant("public clients must use PKCE"));
                }
                (None, None) => {}
            }
            let expires = now.plus_secs(self.policy.oidc.refresh_token_ttl_secs);
            Ok(self.descendants(old, &access, &refresh, expires, now))
        };
        let old = match self
            .store
            .grant_redeem(&token_hash(code), GrantKind::Code, now, &issue)
            .await?
        {
            Redeemed::Done(old) => old,
            Redeemed::Unknown => return Err(TokenError::InvalidGrant("the code is unknown")),
            Redeemed::Expired => return Err(TokenError::InvalidGrant("the code has expired")),
            Redeemed::Revoked => return Err(TokenError::InvalidGrant("the code was revoked")),
            Redeemed::Replayed => {
                self.replayed(&client.client_id).await?;
                return Err(TokenError::InvalidGrant(
                    "the code was used before; everything issued for it is revoked",
                ));
            }
            Redeemed::Refused(e) => return Err(e),
        };
        self.respond(client, &old, access, refresh, old.grant.nonce.as_deref())
            .await
    }

    /// The refresh-token grant with rotation (RFC 9700 §4.14.2): each refresh token works
    /// once; a second use revokes the whole family.
    pub async fn refresh(
        &self,
        client: &Client,
        token: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        if token.is_empty() {
            return Err(TokenError::InvalidRequest("refresh_token is missing"));
        }
        let now = self.clock.now();
        let access = self.new_token();
        let refresh = self.new_token();
        let narrowed: Option<Vec<String>> = scope.filter(|s| !s.trim().is_empty()).map(|s| {
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        });
        let issue = |old: &GrantRecord| -> Result<Vec<GrantRecord>, TokenError> {
            if old.client_id != client.client_id {
                return Err(TokenError::InvalidGrant(
                    "the refresh token was issued to another client",
                ));
            }
            let mut old = old.clone();
            if let Some(scopes) = &narrowed {
                if !scopes.iter().all(|s| old.grant.scopes.contains(s)) {
                    return Err(TokenError::InvalidScope(
                        "a refresh cannot add scopes the user did not grant",
                    ));
                }
                old.grant.scopes = scopes.clone();
            }
            Ok(self.descendants(&old, &access, &refresh, old.expires_at, now))
        };
        let mut old = match self
            .store
            .grant_redeem(&token_hash(token), GrantKind::Refresh, now, &issue)
            .await?
        {
            Redeemed::Done(old) => old,
            Redeemed::Unknown => {
                return Err(TokenError::InvalidGrant("the refresh token is unknown"));
            }
            Redeemed::Expired => {
                return Err(TokenError::InvalidGrant("the refresh token has expired"));
            }
            Redeemed::Revoked => {
                return Err(TokenError::InvalidGrant("the refresh token was revoked"));
            }
            Redeemed::Replayed => {
                self.replayed(&client.client_id).await?;
                return Err(TokenError::InvalidGrant(
                    "the refresh token was used before; its whole family is revoked",
                ));
            }
            Redeemed::Refused(e) => return Err(e),
        };
        if let Some(scopes) = narrowed {
            old.grant.scopes = scopes;
        }
        self.respond(client, &old, access, refresh, None).await
    }

    /// The access and refresh token that replace a code or refresh token, in its family.
    fn descendants(
        &self,
        old: &GrantRecord,
        access: &str,
        refresh: &str,
        refresh_expires: Timestamp,
        now: Timestamp,
    ) -> Vec<GrantRecord> {
        let grant = Grant {
            redirect_uri: None,
            code_challenge: None,
            nonce: None,
            ..old.grant.clone()
        };
        let record = |token: &str, kind, expires_at| GrantRecord {
            token_hash: token_hash(token),
            kind,
            family: old.family.clone(),
            client_id: old.client_id.clone(),
            user_id: old.user_id,
            grant: grant.clone(),
            created_at: now,
            expires_at,
        };
        vec![
            record(
                access,
                GrantKind::Access,
                now.plus_secs(self.policy.oidc.access_token_ttl_secs),
            ),
            record(refresh, GrantKind::Refresh, refresh_expires),
        ]
    }

    async fn respond(
        &self,
        client: &Client,
        grant: &GrantRecord,
        access_token: String,
        refresh_token: String,
        nonce: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let user = self
            .store
            .user_by_id(grant.user_id)
            .await?
            .ok_or(TokenError::InvalidGrant("the user no longer exists"))?;
        let methods = self.store.methods(grant.user_id).await?;
        let now = self.clock.now();
        let claims = IdToken {
            issuer: &self.issuer,
            client_id: client.client_id.as_str(),
            now: now.0,
            ttl: self.policy.oidc.id_token_ttl_secs,
            nonce,
        }
        .claims(&user, &methods, &grant.grant);
        let id_token = self
            .signer
            .sign(client.id_token_alg, &claims)
            .await
            .map_err(|e| TokenError::Internal(e.to_string()))?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.policy.oidc.access_token_ttl_secs,
            id_token,
            refresh_token,
            scope: grant.grant.scopes.join(" "),
        })
    }

    /// The userinfo endpoint's answer (OpenID Connect Core §5.3).
    pub async fn userinfo(&self, access_token: &str) -> Result<Value, UserinfoError> {
        let record = self
            .store
            .grant_active(
                &token_hash(access_token),
                GrantKind::Access,
                self.clock.now(),
            )
            .await?
            .ok_or(UserinfoError::InvalidToken)?;
        if !record.grant.scopes.iter().any(|s| s == "openid") {
            return Err(UserinfoError::InsufficientScope);
        }
        let user = self
            .store
            .user_by_id(record.user_id)
            .await?
            .ok_or(UserinfoError::InvalidToken)?;
        let methods = self.store.methods(record.user_id).await?;
        Ok(Value::Object(user_claims(
            &user,
            &methods,
            &record.grant.scopes,
        )))
    }

    /// Token revocation (RFC 7009): unknown tokens and other clients' tokens change nothing,
    /// and the answer is the same either way.
    pub async fn revoke(&self, client: &Client, token: &str) -> Result<(), StoreError> {
        self.store
            .grant_revoke(&token_hash(token), &client.client_id, self.clock.now())
            .await?;
        Ok(())
    }

    /// The client and subject of an ID token this provider signed (`id_token_hint`).
    pub async fn id_token_hint(&self, token: &str) -> Option<(String, String)> {
        let claims = self.signer.verify(token).await?;
        if claims.get("iss")?.as_str()? != self.issuer {
            return None;
        }
        let aud = match claims.get("aud")? {
            Value::String(s) => s.clone(),
            Value::Array(list) => list.first()?.as_str()?.to_string(),
            _ => return None,
        };
        Some((aud, claims.get("sub")?.as_str()?.to_string()))
    }

    async fn replayed(&self, client: &ClientId) -> Result<(), StoreError> {
        self.store
            .audit(&AuditEvent {
                at: self.clock.now(),
                kind: AuditKind::TokenReplayed,
                outcome: "revoked",
                user_id: None,
                username: None,
                actor: Actor::User,
                ip: None,
                detail: Some(format!("client_id={}", client.as_str())),
                user_agent: None,
            })
            .await
    }

    async fn audit(
        &self,
        kind: AuditKind,
        user: UserId,
        client: &ClientId,
        detail: String,
    ) -> Result<(), StoreError> {
        self.store
            .audit(&AuditEvent {
                at: self.clock.now(),
                kind,
                outcome: "ok",
                user_id: Some(user),
                username: None,
                actor: Actor::User,
                ip: None,
                detail: Some(format!("client_id={} {detail}", client.as_str())),
                user_agent: None,
            })
            .await
    }
}
