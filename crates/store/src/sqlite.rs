use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use tweestap_core::audit::{AuditEvent, AuditRecord};
use tweestap_core::ports::{
    Challenge, ChallengeId, Consumed, NewChallenge, NewQueuedSms, SendCounts, SendCountsQuery,
    SessionRecord, SigningKeyRecord, Store, StoreError,
};
use tweestap_core::signin::SendRefusal;
use tweestap_core::{
    Client, ClientId, Method, MethodId, MethodKind, NewUser, PhoneNumber, RedirectUri, Timestamp,
    User, UserId, Username,
};

use crate::connections::Connections;
use crate::rows::{self, backend};
use crate::{OpenError, migrations};

/// SQLite in WAL mode: readers never wait for the writer, and a crash loses nothing committed.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) db: std::sync::Arc<Connections>,
}

const USER_COLUMNS: &str =
    "id, subject, username, display_name, email, password_hash, created_at, language";
const CLIENT_COLUMNS: &str = "client_id, name, redirect_uris, post_logout_uris, public, first_party, scopes, require_mfa, id_token_alg, secret_hash, created_at";
const CHALLENGE_COLUMNS: &str =
    "id, flow, user_id, phone, code_hash, created_at, expires_at, attempts, used_at, superseded";

impl SqliteStore {
    /// The oldest (`MIN`) or newest (`MAX`) failure of a key since `since`.
    async fn failure_edge(
        &self,
        key: &str,
        since: Timestamp,
        edge: &'static str,
    ) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = sqlx::query(&format!(
            "SELECT {edge}(at) AS at FROM auth_failures WHERE key = ? AND at >= ?"
        ))
        .bind(key)
        .bind(since.0)
        .fetch_one(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .try_get("at")
        .map_err(backend)?;
        Ok(at.map(Timestamp))
    }

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

/// Audit lines per statement: nine values each, well inside SQLite's limit of bound values.
const AUDIT_LINES_PER_STATEMENT: usize = 500;

/// Writes audit lines, several to a statement: each statement is a hand-off to the
/// connection's thread and back, which costs more than SQLite's own work.
async fn insert_audits(
    conn: &mut sqlx::SqliteConnection,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    for chunk in events.chunks(AUDIT_LINES_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO audit_events (at, kind, outcome, user_id, username, actor, ip, detail, user_agent) ",
        );
        insert.push_values(chunk, |mut row, e| {
            row.push_bind(e.at.0)
                .push_bind(e.kind.as_str())
                .push_bind(e.outcome)
                .push_bind(e.user_id.map(|u| u.0))
                .push_bind(&e.username)
                .push_bind(e.actor.as_string())
                .push_bind(&e.ip)
                .push_bind(&e.detail)
                .push_bind(&e.user_agent);
        });
        insert.build().execute(&mut *conn).await.map_err(backend)?;
    }
    Ok(())
}

fn external_json(s: &SessionRecord) -> Result<Option<String>, StoreError> {
    s.external
        .as_ref()
        .map(|e| serde_json::to_string(e).map_err(|e| StoreError::Backend(e.to_string())))
        .transpose()
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

#[async_trait]
impl Store for SqliteStore {
    async fn create_users(
        &self,
        users: &[(NewUser, String)],
        now: Timestamp,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        let mut ids = Vec::with_capacity(users.len());
        for (user, subject) in users {
            let id = insert_user(&mut tx, user, subject, now).await?.0;
            if let Some(phone) = &user.phone {
                sqlx::query("INSERT INTO mfa_methods (user_id, kind, phone, created_at, confirmed_at) VALUES (?, 'sms', ?, ?, ?)")
                    .bind(id)
                    .bind(phone.e164())
                    .bind(now.0)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            ids.push(UserId(id));
        }
        tx.commit().await.map_err(backend)?;
        Ok(ids)
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?"
        ))
        .bind(username.as_str())
        .fetch_optional(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .map(|r| rows::user(&r))
        .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?
            .map(|r| rows::user(&r))
            .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        ))
        .fetch_all(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::user)
        .collect()
    }

    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(phc)
            .bind(id.0)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn user_set_language(&self, id: UserId, language: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET language = ? WHERE id = ? AND language IS NOT ?")
            .bind(language)
            .bind(id.0)
            .bind(language)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn methods(&self, user: UserId) -> Result<Vec<Method>, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM mfa_methods
             WHERE user_id = ? AND confirmed_at IS NOT NULL ORDER BY id",
            rows::METHOD_COLUMNS
        ))
        .bind(user.0)
        .fetch_all(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::method)
        .collect()
    }

    async fn add_method(
        &self,
        user: UserId,
        kind: &MethodKind,
        now: Timestamp,
    ) -> Result<MethodId, StoreError> {
        let (kind, phone, label, secret) = match kind {
            MethodKind::Sms { phone } => ("sms", Some(phone.e164()), None, None),
            MethodKind::Totp {
                label,
                sealed_secret,
                ..
            } => (
                "totp",
                None,
                Some(label.as_str()),
                Some(sealed_secret.as_slice()),
            ),
            MethodKind::Passkey { .. } | MethodKind::PushApp { .. } => {
                return Err(StoreError::Backend(
                    "WebAuthn credentials are added with credential_method_add".into(),
                ));
            }
        };
        let id: i64 = sqlx::query(
            "INSERT INTO mfa_methods (user_id, kind, phone, label, secret, created_at, confirmed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
            .bind(user.0)
            .bind(kind)
            .bind(phone)
            .bind(label)
            .bind(secret)
            .bind(now.0)
            .bind(now.0)
            .fetch_one(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?
            .try_get("id")
            .map_err(backend)?;
        Ok(MethodId(id))
    }

    async fn replace_phone(
        &self,
        user: UserId,
        phone: &PhoneNumber,
        now: Timestamp,
    ) -> Result<MethodId, StoreError> {
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        sqlx::query("DELETE FROM mfa_methods WHERE user_id = ? AND kind = 'sms'")
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let id: i64 = sqlx::query("INSERT INTO mfa_methods (user_id, kind, phone, created_at, confirmed_at) VALUES (?, 'sms', ?, ?, ?) RETURNING id")
            .bind(user.0)
            .bind(phone.e164())
            .bind(now.0)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?
            .try_get("id")
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(MethodId(id))
    }

    async fn remove_methods(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM mfa_methods WHERE user_id = ?")
            .bind(user.0)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn touch_method(&self, id: MethodId, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE mfa_methods SET last_used_at = ? WHERE id = ?")
            .bind(now.0)
            .bind(id.0)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_get(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        sqlx::query(
            "SELECT id_hash, csrf_token, state, return_to, created_at, last_seen_at, strict, external
             FROM sessions WHERE id_hash = ?",
        )
        .bind(id_hash)
        .fetch_optional(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .map(|r| rows::session(&r))
        .transpose()
    }

    async fn session_insert(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let state =
            serde_json::to_string(&s.state).map_err(|e| StoreError::Backend(e.to_string()))?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, csrf_token, state, return_to, created_at, last_seen_at, user_id, strict, external)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id_hash)
        .bind(&s.csrf_token)
        .bind(state)
        .bind(&s.return_to)
        .bind(s.created_at.0)
        .bind(s.last_seen_at.0)
        .bind(s.state.user().map(|u| u.0))
        .bind(s.strict)
        .bind(external_json(s)?)
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn session_update(&self, s: &SessionRecord) -> Result<bool, StoreError> {
        let state =
            serde_json::to_string(&s.state).map_err(|e| StoreError::Backend(e.to_string()))?;
        let done = sqlx::query(
            "UPDATE sessions SET csrf_token = ?, state = ?, return_to = ?, last_seen_at = ?,
                 user_id = ?, strict = ?, external = ?
             WHERE id_hash = ?",
        )
        .bind(&s.csrf_token)
        .bind(state)
        .bind(&s.return_to)
        .bind(s.last_seen_at.0)
        .bind(s.state.user().map(|u| u.0))
        .bind(s.strict)
        .bind(external_json(s)?)
        .bind(&s.id_hash)
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_rekey(
        &self,
        old_id_hash: &str,
        s: &SessionRecord,
    ) -> Result<bool, StoreError> {
        let state =
            serde_json::to_string(&s.state).map_err(|e| StoreError::Backend(e.to_string()))?;
        let done = sqlx::query(
            "UPDATE sessions SET id_hash = ?, csrf_token = ?, state = ?, return_to = ?, created_at = ?,
                 last_seen_at = ?, user_id = ?, strict = ?, external = ?
             WHERE id_hash = ?",
        )
        .bind(&s.id_hash)
        .bind(&s.csrf_token)
        .bind(state)
        .bind(&s.return_to)
        .bind(s.created_at.0)
        .bind(s.last_seen_at.0)
        .bind(s.state.user().map(|u| u.0))
        .bind(s.strict)
        .bind(external_json(s)?)
        .bind(old_id_hash)
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_delete(&self, id_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn sessions_delete_for_user(
        &self,
        user: UserId,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ? AND id_hash IS NOT ?")
            .bind(user.0)
            .bind(keep)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn session_purge(
        &self,
        idle_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?")
            .bind(idle_before.0)
            .bind(created_before.0)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn challenge_create(
        &self,
        c: &NewChallenge,
        sms: &NewQueuedSms,
        counts: &SendCountsQuery<'_>,
        check: &(dyn for<'c> Fn(&'c SendCounts) -> Result<(), SendRefusal> + Sync),
    ) -> Result<Result<ChallengeId, SendRefusal>, StoreError> {
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        // Writing first takes SQLite's write lock: the counts below cannot change under us.
        sqlx::query("UPDATE sms_challenges SET superseded = 1 WHERE flow = ? AND used_at IS NULL")
            .bind(&c.flow)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "UPDATE sms_outbox SET cancelled = 1,
                 state = CASE WHEN state = 'queued' THEN 'failed' ELSE state END,
                 sealed_text = CASE WHEN state = 'queued' THEN NULL ELSE sealed_text END,
                 last_error = 'replaced by a newer code'
             WHERE state IN ('queued', 'sending')
               AND challenge_id IN (SELECT id FROM sms_challenges WHERE flow = ? AND superseded = 1)",
        )
        .bind(&c.flow)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let id: i64 = sqlx::query(
            "INSERT INTO sms_challenges (flow, user_id, phone, code_hash, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&c.flow)
        .bind(c.user_id.0)
        .bind(c.phone.e164())
        .bind(&c.code_hash.0[..])
        .bind(c.created_at.0)
        .bind(c.expires_at.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?
        .try_get("id")
        .map_err(backend)?;
        let found = crate::outbox::send_counts(&mut tx, counts).await?;
        if let Err(refusal) = check(&found) {
            tx.rollback().await.map_err(backend)?;
            return Ok(Err(refusal));
        }
        crate::outbox::enqueue(&mut tx, sms, ChallengeId(id)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Ok(ChallengeId(id)))
    }

    async fn challenge_get(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHALLENGE_COLUMNS} FROM sms_challenges WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .map(|r| rows::challenge(&r))
        .transpose()
    }

    async fn challenge_attempt(&self, id: ChallengeId) -> Result<Option<Challenge>, StoreError> {
        sqlx::query(&format!(
            "UPDATE sms_challenges SET attempts = attempts + 1 WHERE id = ? RETURNING {CHALLENGE_COLUMNS}"
        ))
        .bind(id.0)
        .fetch_optional(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .map(|r| rows::challenge(&r))
        .transpose()
    }

    async fn challenge_consume(
        &self,
        id: ChallengeId,
        now: Timestamp,
        register: Option<(UserId, &PhoneNumber)>,
    ) -> Result<Consumed, StoreError> {
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE sms_challenges SET used_at = ? WHERE id = ? AND used_at IS NULL AND superseded = 0",
        )
        .bind(now.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() != 1 {
            return Ok(Consumed::AlreadyUsed);
        }
        let mut new_method = None;
        if let Some((user, phone)) = register {
            let existing: i64 =
                sqlx::query("SELECT COUNT(*) AS n FROM mfa_methods WHERE user_id = ? AND confirmed_at IS NOT NULL")
                    .bind(user.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?
                    .try_get("n")
                    .map_err(backend)?;
            if existing > 0 {
                tx.rollback().await.map_err(backend)?;
                return Ok(Consumed::AlreadyRegistered);
            }
            let method: i64 = sqlx::query(
                "INSERT INTO mfa_methods (user_id, kind, phone, created_at, confirmed_at, last_used_at) VALUES (?, 'sms', ?, ?, ?, ?) RETURNING id",
            )
            .bind(user.0)
            .bind(phone.e164())
            .bind(now.0)
            .bind(now.0)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?
            .try_get("id")
            .map_err(backend)?;
            new_method = Some(MethodId(method));
        }
        tx.commit().await.map_err(backend)?;
        Ok(Consumed::Done { new_method })
    }

    async fn failure_record(&self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO auth_failures (key, at) VALUES (?, ?)")
            .bind(key)
            .bind(at.0)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn failure_reserve(
        &self,
        key: &str,
        at: Timestamp,
        since: Timestamp,
        limit: u32,
    ) -> Result<bool, StoreError> {
        // One statement: SQLite runs it under its write lock, so check and insert are atomic.
        let done = sqlx::query(
            "INSERT INTO auth_failures (key, at)
             SELECT ?, ? WHERE (SELECT COUNT(*) FROM auth_failures WHERE key = ? AND at >= ?) < ?",
        )
        .bind(key)
        .bind(at.0)
        .bind(key)
        .bind(since.0)
        .bind(i64::from(limit))
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn failure_unreserve(&self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM auth_failures WHERE rowid = (SELECT rowid FROM auth_failures WHERE key = ? AND at = ? LIMIT 1)")
            .bind(key)
            .bind(at.0)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn failure_count_since(&self, key: &str, since: Timestamp) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM auth_failures WHERE key = ? AND at >= ?")
                .bind(key)
                .bind(since.0)
                .fetch_one(&mut *self.db.acquire().await?)
                .await
                .map_err(backend)?
                .try_get("n")
                .map_err(backend)?;
        Ok(n as u64)
    }

    async fn failure_oldest_since(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.failure_edge(key, since, "MIN").await
    }

    async fn failure_latest_since(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.failure_edge(key, since, "MAX").await
    }

    async fn failure_clear_prefix(&self, prefix: &str) -> Result<(), StoreError> {
        // substr, not LIKE: the prefix is taken literally.
        sqlx::query("DELETE FROM auth_failures WHERE substr(key, 1, length(?1)) = ?1")
            .bind(prefix)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn failure_clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM auth_failures WHERE key = ?")
            .bind(key)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn purge_before(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        let failures = sqlx::query("DELETE FROM auth_failures WHERE at < ?")
            .bind(before.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        let messages = sqlx::query("DELETE FROM sms_outbox WHERE created_at < ?")
            .bind(before.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        let codes = sqlx::query("DELETE FROM sms_challenges WHERE expires_at < ?")
            .bind(before.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        let tallies = crate::tallies::purge(&mut tx, before).await?;
        // Used codes and refresh tokens stay until they expire, so a replay is still recognised.
        let grants = sqlx::query("DELETE FROM oidc_grants WHERE expires_at < ?")
            .bind(before.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        // Push requests keep the address and browser of a sign-in: not longer than the rest.
        let mut webauthn = 0;
        for sql in [
            "DELETE FROM approvals WHERE expires_at < ?",
            "DELETE FROM webauthn_ceremonies WHERE expires_at < ?",
            "DELETE FROM app_links WHERE expires_at < ?",
        ] {
            webauthn += sqlx::query(sql)
                .bind(before.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
        }
        tx.commit().await.map_err(backend)?;
        Ok(failures + messages + codes + tallies + grants + webauthn)
    }

    async fn client_add(&self, c: &Client) -> Result<(), StoreError> {
        let list = |uris: &[RedirectUri]| {
            serde_json::to_string(&uris.iter().map(|u| u.as_str()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        sqlx::query(
            "INSERT INTO oidc_clients (client_id, name, redirect_uris, post_logout_uris, public, first_party, scopes,
                                       require_mfa, id_token_alg, secret_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.client_id.as_str())
        .bind(&c.name)
        .bind(list(&c.redirect_uris))
        .bind(list(&c.post_logout_uris))
        .bind(c.public)
        .bind(c.first_party)
        .bind(serde_json::to_string(&c.scopes).unwrap_or_default())
        .bind(c.require_mfa)
        .bind(c.id_token_alg.as_str())
        .bind(&c.secret_hash)
        .bind(c.created_at.0)
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict(c.client_id.as_str().to_string()) } else { backend(e) })?;
        Ok(())
    }

    async fn client_get(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = ?"
        ))
        .bind(id.as_str())
        .fetch_optional(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .map(|r| rows::client(&r))
        .transpose()
    }

    async fn client_list(&self) -> Result<Vec<Client>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY client_id"
        ))
        .fetch_all(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::client)
        .collect()
    }

    async fn client_remove(&self, id: &ClientId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM oidc_clients WHERE client_id = ?")
            .bind(id.as_str())
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn signing_key_add(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_private, public_jwk, created_at, activate_at, retire_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.sealed_private)
        .bind(&key.public_jwk)
        .bind(key.created_at.0)
        .bind(key.activate_at.0)
        .bind(key.retire_at.map(|t| t.0))
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict(key.kid.clone()) } else { backend(e) })?;
        Ok(())
    }

    async fn signing_keys_published(
        &self,
        now: Timestamp,
    ) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_private, public_jwk, created_at, activate_at, retire_at FROM signing_keys
             WHERE retire_at IS NULL OR retire_at > ? ORDER BY retire_at IS NOT NULL, alg, activate_at DESC, created_at DESC, rowid DESC",
        )
        .bind(now.0)
        .fetch_all(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRecord {
                    kid: r.try_get("kid").map_err(backend)?,
                    alg: r.try_get("alg").map_err(backend)?,
                    sealed_private: r.try_get("sealed_private").map_err(backend)?,
                    public_jwk: r.try_get("public_jwk").map_err(backend)?,
                    created_at: Timestamp(r.try_get("created_at").map_err(backend)?),
                    activate_at: Timestamp(r.try_get("activate_at").map_err(backend)?),
                    retire_at: r
                        .try_get::<Option<i64>, _>("retire_at")
                        .map_err(backend)?
                        .map(Timestamp),
                })
            })
            .collect()
    }

    async fn signing_key_set_public_jwk(&self, kid: &str, jwk: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE signing_keys SET public_jwk = ? WHERE kid = ?")
            .bind(jwk)
            .bind(kid)
            .execute(&mut *self.db.acquire().await?)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn signing_keys_retire_others(
        &self,
        kid: &str,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE signing_keys SET retire_at = ?
             WHERE kid != ? AND (retire_at IS NULL OR retire_at > ?)
               AND alg = (SELECT alg FROM signing_keys WHERE kid = ?)",
        )
        .bind(at.0)
        .bind(kid)
        .bind(at.0)
        .bind(kid)
        .execute(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        self.audit_all(std::slice::from_ref(e)).await
    }

    async fn audit_all(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.len() <= AUDIT_LINES_PER_STATEMENT {
            // One statement is all or nothing by itself.
            let mut conn = self.db.acquire().await?;
            return insert_audits(&mut conn, events).await;
        }
        let mut conn = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(backend)?;
        insert_audits(&mut tx, events).await?;
        tx.commit().await.map_err(backend)
    }

    async fn audit_list(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        // Newest first.
        let rows = match user {
            Some(u) => sqlx::query(
                "SELECT at, kind, outcome, user_id, username, actor, ip, detail, user_agent FROM audit_events
                 WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            )
            .bind(u.0),
            None => sqlx::query(
                "SELECT at, kind, outcome, user_id, username, actor, ip, detail, user_agent FROM audit_events
                 WHERE ? IS NULL ORDER BY id DESC LIMIT ?",
            )
            .bind(None::<i64>),
        }
        .bind(i64::from(limit))
        .fetch_all(&mut *self.db.acquire().await?)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::audit).collect()
    }
}
