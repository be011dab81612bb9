use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use tweestap_core::ports::StoreError;
use tweestap_core::{NewUser, Timestamp, UserId};

use crate::{OpenError, migrations};
use connections::Connections;
use rows::backend;

mod accounts;
mod approvals;
mod audit;
mod codes;
mod connections;
mod email;
mod entra;
mod methods;
mod oidc;
mod outbox;
mod rows;
mod sessions;
mod tallies;

/// SQLite in WAL mode: readers never wait for the writer, and a crash loses nothing committed.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) db: std::sync::Arc<Connections>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<SqliteStore, OpenError> {
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|source| OpenError::Open {
                path: path.display().to_string(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // SQLite's own page cache is 2 MiB per connection by default, kept for good once a
            // rush has used every connection; the operating system caches the file anyway.
            .pragma("cache_size", "-512");
        let db = Connections::open(options, 8)
            .await
            .map_err(|source| OpenError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let store = SqliteStore { db: db.into() };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), OpenError> {
        let mut conn = self.db.acquire().await.map_err(OpenError::Store)?;
        migrations::sqlite().run(&mut *conn).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// Adds an account (without its phone) in `tx`; a taken username is a `Conflict` naming it.
pub(crate) async fn insert_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    user: &NewUser,
    subject: &str,
    now: Timestamp,
) -> Result<UserId, StoreError> {
    let id: i64 = sqlx::query(
        "INSERT INTO users (subject, username, display_name, email, password_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(subject)
    .bind(user.username.as_str())
    .bind(&user.display_name)
    .bind(&user.email)
    .bind(&user.password_hash)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(user.username.as_str().to_string())
        } else {
            backend(e)
        }
    })?
    .try_get("id")
    .map_err(backend)?;
    Ok(UserId(id))
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
