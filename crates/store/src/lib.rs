//! tweestap's storage: the `Store` port of `tweestap-core` implemented on SQLite (WAL mode,
//! migrations embedded in the binary). SQL stays in this crate; callers see domain types only.
//!
//! The queries use plain `?` placeholders and portable SQL so that a PostgreSQL backend can be
//! added beside this one with its own migrations folder.

mod migrations;
mod sqlite;

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the database at {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot open the database: {0}")]
    Store(tweestap_core::ports::StoreError),
}
