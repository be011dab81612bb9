//! PostgreSQL (14 or newer): the shared state of several tweestap nodes. Each part of the
//! storage port has its own file here, as in `sqlite/`; the SQL is PostgreSQL's own
//! (numbered parameters, BOOLEAN, BYTEA, identities).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::{OpenError, migrations};

mod accounts;
mod approvals;
mod audit;
mod codes;
mod email;
mod entra;
mod methods;
mod oidc;
mod outbox;
mod rows;
mod sessions;
mod tallies;

// Every part of the storage port, so a node can run on it as on SQLite.
const _: fn() = || {
    fn whole_store<T: tweestap_core::ports::Store>() {}
    whole_store::<PgStore>();
};

/// A pool of connections to one PostgreSQL database, shared by every node that uses it.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host/database`) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<PgStore, OpenError> {
        let options = PgConnectOptions::from_str(url).map_err(|source| OpenError::Open {
            path: "the postgres:// URL".into(),
            source,
        })?;
        let open_error = |source| OpenError::Open {
            path: described(&options),
            source,
        };
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            // sqlx checks a connection when it comes back to the pool (which also clears what
            // a cancelled request left on it); a second check before each use buys nothing.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        let store = PgStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), OpenError> {
        migrations::postgres().run(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A `postgres://` URL without its password, for messages.
pub(crate) fn redacted(url: &str) -> String {
    PgConnectOptions::from_str(url)
        .map(|options| described(&options))
        .unwrap_or_else(|_| "(an unreadable postgres:// URL)".into())
}

/// Where `options` point, without the password, for messages.
fn described(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    )
}

/// Takes the account's row lock until the transaction ends: rules about an account's methods
/// as a whole ("at least one", "the first") are checked and changed by one request at a time,
/// whichever node it reaches. `NO KEY UPDATE`: the foreign-key checks of rows being added for
/// the account (a code, a message) do not wait for it. Taken before any other row lock.
pub(crate) async fn lock_account(
    conn: &mut sqlx::PgConnection,
    user: tweestap_core::UserId,
) -> Result<(), tweestap_core::ports::StoreError> {
    sqlx::query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(user.0)
        .execute(conn)
        .await
        .map_err(rows::backend)?;
    Ok(())
}

/// Takes the account lock of the user a method belongs to; `false` when the method is gone.
pub(crate) async fn lock_method_owner(
    conn: &mut sqlx::PgConnection,
    method: tweestap_core::MethodId,
) -> Result<bool, tweestap_core::ports::StoreError> {
    let owner: Option<i64> = sqlx::query_scalar("SELECT user_id FROM mfa_methods WHERE id = $1")
        .bind(method.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(rows::backend)?;
    match owner {
        Some(owner) => lock_account(conn, tweestap_core::UserId(owner))
            .await
            .map(|()| true),
        None => Ok(false),
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
