//! The audit trail.

use async_trait::async_trait;

use super::StoreError;
use crate::audit::{AuditEvent, AuditRecord};
use crate::domain::UserId;

#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Many events in one transaction (an import's line per account).
    async fn audit_all(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
    async fn audit_list(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}
