//! Second-factor methods: the account's list, setting up an authenticator app, accepting its
//! codes once, removing one method, remembered devices and temporary access passes.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Method, MethodId, MethodKind, PhoneNumber, Timestamp, UserId};

#[async_trait]
pub trait MethodStore: Send + Sync {
    async fn methods(&self, user: UserId) -> Result<Vec<Method>, StoreError>;
    async fn add_method(
        &self,
        user: UserId,
        kind: &MethodKind,
        now: Timestamp,
    ) -> Result<MethodId, StoreError>;
    /// Replaces every SMS method of the user with this phone (administrator pre-registration).
    async fn replace_phone(
        &self,
        user: UserId,
        phone: &PhoneNumber,
        now: Timestamp,
    ) -> Result<MethodId, StoreError>;
    /// Removes every method; returns how many there were.
    async fn remove_methods(&self, user: UserId) -> Result<u64, StoreError>;
    /// Records that a method was used; `false` when it no longer exists.
    async fn touch_method(&self, id: MethodId, now: Timestamp) -> Result<bool, StoreError>;

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
    /// no longer pending (confirmed by another tab, or replaced), or, with `only_if_first`,
    /// when the user has a method by now (the registration interrupt adds the first only).
    async fn app_confirm(
        &self,
        id: MethodId,
        step: i64,
        now: Timestamp,
        only_if_first: bool,
    ) -> Result<bool, StoreError>;
    /// Accepts a code's time step, atomically: `false` when that step (or a later one) was
    /// already used, so two requests with the same code cannot both pass.
    async fn app_accept_step(
        &self,
        id: MethodId,
        step: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Removes one of the user's methods; `false` when it was not theirs, is gone, or (with
    /// `keep_one`) is the last one. Decided in one statement, so two tabs cannot remove the
    /// last two at once.
    async fn method_remove(
        &self,
        user: UserId,
        id: MethodId,
        keep_one: bool,
    ) -> Result<bool, StoreError>;
    /// Renames one of the user's apps, passkeys or linked phones; `false` when not theirs (or
    /// a phone number, which has no name).
    async fn method_rename(
        &self,
        user: UserId,
        id: MethodId,
        label: &str,
    ) -> Result<bool, StoreError>;
    /// Makes one of the user's methods the one asked for first; `false` when not theirs.
    async fn method_set_default(&self, user: UserId, id: MethodId) -> Result<bool, StoreError>;

    // A signed-in user adding a phone: the pending code step, as JSON.
    async fn phone_addition_put(
        &self,
        user: UserId,
        state: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    async fn phone_addition(
        &self,
        user: UserId,
        since: Timestamp,
    ) -> Result<Option<String>, StoreError>;
    async fn phone_addition_delete(&self, user: UserId) -> Result<(), StoreError>;

    // The invitation to use an app.
    async fn app_invite_skips(&self, user: UserId) -> Result<u32, StoreError>;
    async fn app_invite_skip(&self, user: UserId) -> Result<(), StoreError>;

    // Temporary access passes.
    async fn access_pass_add(
        &self,
        user: UserId,
        pass_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
        once: bool,
    ) -> Result<(), StoreError>;
    /// Whether the user holds a live pass (to offer it at sign-in).
    async fn access_pass_live(&self, user: UserId, now: Timestamp) -> Result<bool, StoreError>;
    /// Uses a pass of this user, atomically: `false` when it is unknown, someone else's,
    /// expired, or a one-time pass used already.
    async fn access_pass_use(
        &self,
        user: UserId,
        pass_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    // Remembered devices.
    async fn device_add(&self, device: &NewDevice) -> Result<(), StoreError>;
    /// Whether a live device token belongs to this user; marks it used when it does.
    async fn device_use(
        &self,
        token_hash: &str,
        user: UserId,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    async fn devices(&self, user: UserId, now: Timestamp) -> Result<Vec<Device>, StoreError>;
    /// Forgets one of the user's devices; `false` when it was not theirs.
    async fn device_remove(&self, user: UserId, id: i64) -> Result<bool, StoreError>;
    /// Forgets all of the user's devices; returns how many.
    async fn devices_remove_user(&self, user: UserId) -> Result<u64, StoreError>;
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub user_id: UserId,
    pub token_hash: String,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Device {
    pub id: i64,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}
