//! tweestap's storage: the parts of `tweestap-core`'s `Store` port implemented on SQLite (the
//! default: one file, WAL mode) and on PostgreSQL (several nodes sharing one database). Each
//! backend is a folder with one file per part and its own migrations, embedded in the binary;
//! turning rows into domain types is shared (`records`). SQL stays in this crate; callers see
//! domain types only.

mod migrations;
mod postgres;
mod records;
mod sqlite;
mod tally;

pub use postgres::PgStore;
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
