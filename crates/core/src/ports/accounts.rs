//! The accounts: who may sign in, with which password hash.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{NewUser, Timestamp, User, UserId, Username};

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates all users or none (one transaction). A clash names the username that clashed.
    async fn create_users(
        &self,
        users: &[(NewUser, String)],
        now: Timestamp,
    ) -> Result<Vec<UserId>, StoreError>;
    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError>;
    /// Remembers the language the user signs in with (for notices sent in their absence).
    async fn user_set_language(&self, id: UserId, language: &str) -> Result<(), StoreError>;
}
