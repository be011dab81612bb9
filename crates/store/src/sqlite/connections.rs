//! The SQLite connections, lent out one at a time without sqlx's pool.
//!
//! Each sqlx SQLite connection runs on its own thread, and every statement is a hand-off to
//! that thread and back. sqlx's pool adds a second hand-off to every use: it pings the
//! connection each time it comes back (and spawns a task to do so). On a sign-in's dozen short
//! statements those pings cost as much CPU as the statements (measured in docs/benchmarks.md).
//! So the store keeps its own small set: opened when first needed, up to a maximum, and
//! handed back as they are. A connection is pinged only when some statement has failed in a
//! way that says a connection's thread may be gone ([`note_error`]) since it was last known
//! to work; one whose thread is gone is replaced.
//!
//! The connection handed back last is lent first: its SQLite page cache is the warmest.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::Semaphore;
use tweestap_core::ports::StoreError;

/// How long a request waits for a free connection before it fails (sqlx's pool default).
const WAIT: Duration = Duration::from_secs(30);

/// How many statements have failed because their connection's thread or its file went away.
/// Process-wide: after one, every connection is checked once before its next use.
static LOST: AtomicU64 = AtomicU64::new(0);

/// Called with every database error: one that means a connection may be unusable makes the
/// connections prove themselves before their next use.
pub(crate) fn note_error(e: &sqlx::Error) {
    if matches!(e, sqlx::Error::WorkerCrashed | sqlx::Error::Io(_)) {
        LOST.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) struct Connections {
    options: SqliteConnectOptions,
    /// One permit per connection that may be lent out (open or not yet opened).
    free: Semaphore,
    idle: Mutex<Idle>,
}

/// The connections not lent out, each with the [`LOST`] count when it last worked.
struct Idle {
    connections: Vec<(SqliteConnection, u64)>,
    closed: bool,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("free", &self.free.available_permits())
            .finish_non_exhaustive()
    }
}

impl Connections {
    /// Opens the first connection now, so a database that cannot be opened fails at start-up.
    pub(crate) async fn open(
        options: SqliteConnectOptions,
        max: usize,
    ) -> Result<Connections, sqlx::Error> {
        let first = options.connect().await?;
        Ok(Connections {
            options,
            free: Semaphore::new(max),
            idle: Mutex::new(Idle {
                connections: vec![(first, LOST.load(Ordering::Relaxed))],
                closed: false,
            }),
        })
    }

    /// A connection of its own until the returned guard is dropped.
    pub(crate) async fn acquire(&self) -> Result<Conn<'_>, StoreError> {
        let permit = tokio::time::timeout(WAIT, self.free.acquire())
            .await
            .map_err(|_| {
                StoreError::Backend(format!(
                    "no database connection became free within {} s",
                    WAIT.as_secs()
                ))
            })?
            .map_err(|_| StoreError::Backend("the database is closed".into()))?;
        let lost = LOST.load(Ordering::Relaxed);
        let idle = self.lock().connections.pop();
        let conn = match idle {
            Some((conn, seen)) if seen == lost => conn,
            Some((mut conn, _)) => match conn.ping().await {
                Ok(()) => conn,
                // Its thread is gone: this permit's connection is opened afresh.
                Err(_) => self.connect().await?,
            },
            // Fewer open than allowed: this permit's connection was never opened.
            None => self.connect().await?,
        };
        // The guard gives the permit back with the connection.
        permit.forget();
        Ok(Conn {
            conn: Some(conn),
            seen: lost,
            owner: self,
        })
    }

    /// Closes the idle connections and refuses new loans; a lent one is closed when it
    /// comes back.
    pub(crate) async fn close(&self) {
        self.free.close();
        let idle = {
            let mut idle = self.lock();
            idle.closed = true;
            std::mem::take(&mut idle.connections)
        };
        for (conn, _) in idle {
            // Closing flushes the connection's thread; an error here has nowhere to go.
            let _ = conn.close().await;
        }
    }

    async fn connect(&self) -> Result<SqliteConnection, StoreError> {
        self.options
            .connect()
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open the database: {e}")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        // A panic while holding this lock cannot leave the list half-changed (push and pop).
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A lent connection; dropping it hands it back. A statement or transaction still running on
/// the connection's thread (its request was dropped) finishes before the next borrower's
/// commands, which the thread runs in order, and an unfinished transaction is rolled back by
/// sqlx's own drop first.
pub(crate) struct Conn<'a> {
    conn: Option<SqliteConnection>,
    /// [`LOST`] when it was lent: if that moved meanwhile, it is checked before its next use.
    seen: u64,
    owner: &'a Connections,
}

impl Deref for Conn<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("lent until dropped")
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("lent until dropped")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.owner.lock();
            // After `close`, a connection that comes back is dropped, which ends its thread.
            if !idle.closed {
                idle.connections.push((conn, self.seen));
            }
            drop(idle);
            self.owner.free.add_permits(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::{Connection, Row};

    use super::*;

    async fn two_connections() -> (Connections, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .expect("url")
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let db = Connections::open(options, 2).await.expect("open");
        let mut conn = db.acquire().await.expect("conn");
        sqlx::query("CREATE TABLE t (n INTEGER)")
            .execute(&mut *conn)
            .await
            .expect("create");
        drop(conn);
        (db, dir)
    }

    #[tokio::test]
    async fn lends_no_more_than_the_maximum_and_a_returned_one_is_lent_again() {
        let (db, _dir) = two_connections().await;
        let a = db.acquire().await.expect("first");
        let b = db.acquire().await.expect("second");
        let waiting = tokio::time::timeout(Duration::from_millis(200), db.acquire()).await;
        assert!(waiting.is_err(), "a third borrower waits while two are out");
        drop(a);
        let c = tokio::time::timeout(Duration::from_secs(5), db.acquire())
            .await
            .expect("free again once one came back")
            .expect("conn");
        drop(b);
        db.close().await;
        assert!(db.acquire().await.is_err(), "closed: no more loans");
        drop(c);
        assert!(
            db.lock().connections.is_empty(),
            "one lent before the close is not kept when it comes back"
        );
    }

    #[tokio::test]
    async fn after_a_lost_connection_each_is_checked_once_and_still_works() {
        let (db, _dir) = two_connections().await;
        note_error(&sqlx::Error::WorkerCrashed);
        let before = LOST.load(Ordering::Relaxed);
        let mut conn = db.acquire().await.expect("checked, then lent");
        assert_eq!(conn.seen, before, "lent as known good after the check");
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *conn)
            .await
            .expect("a working connection")
            .get(0);
        assert_eq!(n, 0);
        drop(conn);
        assert_eq!(db.lock().connections[0].1, before, "no second check");
        // A row that cannot be read is not a lost connection.
        note_error(&sqlx::Error::RowNotFound);
        assert_eq!(LOST.load(Ordering::Relaxed), before);
    }

    #[tokio::test]
    async fn a_transaction_dropped_half_way_is_rolled_back_before_the_next_borrower() {
        let (db, _dir) = two_connections().await;
        {
            let mut conn = db.acquire().await.expect("conn");
            let mut tx = conn.begin().await.expect("begin");
            sqlx::query("INSERT INTO t (n) VALUES (1)")
                .execute(&mut *tx)
                .await
                .expect("insert");
            // The request ends here (an error, or the browser went away): no commit.
        }
        let mut conn = db.acquire().await.expect("the same connection, lent again");
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *conn)
            .await
            .expect("count")
            .get(0);
        assert_eq!(n, 0, "the unfinished insert is gone");
        let mut tx = conn.begin().await.expect("a new transaction can begin");
        sqlx::query("INSERT INTO t (n) VALUES (2)")
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
    }
}
