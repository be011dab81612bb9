//! Browsers' sessions, kept server-side.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Timestamp, UserId};
use crate::signin::SignInState;

/// A browser's server-side session. The cookie holds a random id; the database only its hash.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id_hash: String,
    pub csrf_token: String,
    pub state: SignInState,
    /// Where to go after signing in: a same-site path, checked before it is stored.
    pub return_to: Option<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The sign-in under way must verify a real second factor: a remembered device does not
    /// stand in for it (`prompt=login`, `max_age`, "confirm it's you").
    pub strict: bool,
    /// The Entra sign-in this session answers (external MFA method), while it is under way.
    pub external: Option<crate::eam::Pending>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn session_get(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Stores a new session.
    async fn session_insert(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// Writes a session back; `false` when it no longer exists (it ended meanwhile: signed
    /// out, or its account's methods or password changed). An ended session is never
    /// brought back by a request that read it before it ended.
    async fn session_update(&self, session: &SessionRecord) -> Result<bool, StoreError>;
    /// Gives a session a new id (and with it everything in `session`) in one write, after an
    /// authentication step; `false` when the session under `old_id_hash` had ended meanwhile
    /// (it stays ended).
    async fn session_rekey(
        &self,
        old_id_hash: &str,
        session: &SessionRecord,
    ) -> Result<bool, StoreError>;
    /// Ends a session; `false` when it had ended already.
    async fn session_delete(&self, id_hash: &str) -> Result<bool, StoreError>;
    /// Ends every session of a user (after their methods change under them), except `keep`
    /// (the id hash of the session that made the change).
    async fn sessions_delete_for_user(
        &self,
        user: UserId,
        keep: Option<&str>,
    ) -> Result<u64, StoreError>;
    /// Drops sessions idle since `idle_before` or created before `created_before`.
    async fn session_purge(
        &self,
        idle_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError>;
}
