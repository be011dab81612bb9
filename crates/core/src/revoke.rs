//! What a changed credential ends. When a password is set, a method removed or the second
//! factors reset, whatever was opened with the old ones (possibly by whoever made the change
//! necessary) must not outlive it: other browsers' sessions, "don't ask again" devices, and
//! applications' tokens.

use crate::domain::{Timestamp, UserId};
use crate::ports::{Store, StoreError};

/// Ends the account's sessions (all but `keep`, the browser that made the change), forgets its
/// remembered devices and revokes the tokens applications hold for it.
pub async fn end_access(
    store: &dyn Store,
    user: UserId,
    keep: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    store.sessions_delete_for_user(user, keep).await?;
    store.devices_remove_user(user).await?;
    store.grants_revoke_user(user, now).await?;
    Ok(())
}
