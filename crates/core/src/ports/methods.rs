//! Second-factor methods beyond what a sign-in needs: setting up an authenticator app,
//! accepting its codes once, removing one method.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Method, MethodId, Timestamp, UserId};

#[async_trait]
pub trait MethodStore: Send + Sync {
    /// Starts setting up an app: an unconfirmed method that does not count yet. Replaces an
    /// earlier unfinished set-up of the same user.
    async fn app_pending_put(
        &self,
        user: UserId,
        label: &str,
        sealed_secret: &[u8],
        now: Timestamp,
    ) -> Result<MethodId, StoreError>;
    /// The user's unfinished app set-up, if any (younger than `since`).
    async fn app_pending(
        &self,
        user: UserId,
        since: Timestamp,
    ) -> Result<Option<Method>, StoreError>;
    /// Makes a pending app a method, with `step` as its first used code; `false` when it is
    /// no longer pending (confirmed by another tab, or replaced).
    async fn app_confirm(
        &self,
        id: MethodId,
        step: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Accepts a code's time step, atomically: `false` when that step (or a later one) was
    /// already used, so two requests with the same code cannot both pass.
    async fn app_accept_step(
        &self,
        id: MethodId,
        step: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Removes one of the user's methods; `false` when it was not theirs or is gone.
    async fn method_remove(&self, user: UserId, id: MethodId) -> Result<bool, StoreError>;
    /// Makes one of the user's methods the one asked for first; `false` when not theirs.
    async fn method_set_default(&self, user: UserId, id: MethodId) -> Result<bool, StoreError>;
}
