use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The migrations, compiled into the binary so a deployment is one file. Built at run time
/// rather than with `sqlx::migrate!` to keep sqlx's macro stack out of the build.
const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "sms outbox",
        include_str!("../migrations/sqlite/0002_sms_outbox.sql"),
    ),
    (
        3,
        "sms safety",
        include_str!("../migrations/sqlite/0003_sms_safety.sql"),
    ),
    (
        4,
        "signing keys",
        include_str!("../migrations/sqlite/0004_signing_keys.sql"),
    ),
    (
        5,
        "clients",
        include_str!("../migrations/sqlite/0005_clients.sql"),
    ),
    (
        6,
        "oidc grants",
        include_str!("../migrations/sqlite/0006_oidc_grants.sql"),
    ),
    (
        7,
        "session parent",
        include_str!("../migrations/sqlite/0007_session_parent.sql"),
    ),
    (
        8,
        "totp",
        include_str!("../migrations/sqlite/0008_totp.sql"),
    ),
    (
        9,
        "default method",
        include_str!("../migrations/sqlite/0009_default_method.sql"),
    ),
    (
        10,
        "remembered devices",
        include_str!("../migrations/sqlite/0010_remembered_devices.sql"),
    ),
    (
        11,
        "app campaign",
        include_str!("../migrations/sqlite/0011_app_campaign.sql"),
    ),
    (
        12,
        "phone additions",
        include_str!("../migrations/sqlite/0012_phone_additions.sql"),
    ),
    (
        13,
        "audit user agent",
        include_str!("../migrations/sqlite/0013_audit_user_agent.sql"),
    ),
    (
        14,
        "access passes",
        include_str!("../migrations/sqlite/0014_access_passes.sql"),
    ),
    (
        15,
        "passkeys and push approval",
        include_str!("../migrations/sqlite/0015_passkeys_and_push.sql"),
    ),
    (
        16,
        "forward-auth cookie",
        include_str!("../migrations/sqlite/0016_forward_auth_cookie.sql"),
    ),
    (
        17,
        "session strict",
        include_str!("../migrations/sqlite/0017_session_strict.sql"),
    ),
    (
        18,
        "email",
        include_str!("../migrations/sqlite/0018_email.sql"),
    ),
    (
        19,
        "link confirmation",
        include_str!("../migrations/sqlite/0019_link_confirmation.sql"),
    ),
    (
        20,
        "entra external method",
        include_str!("../migrations/sqlite/0020_entra.sql"),
    ),
    (
        21,
        "sms tallies",
        include_str!("../migrations/sqlite/0021_sms_tallies.sql"),
    ),
];

/// PostgreSQL's migrations: its schema starts where SQLite's 21 steps arrived.
const POSTGRES: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../migrations/postgres/0001_init.sql"),
)];

pub fn sqlite() -> Migrator {
    sqlite_until(i64::MAX)
}

pub fn postgres() -> Migrator {
    migrator(POSTGRES, i64::MAX)
}

/// The migrations up to and including `last` (tests upgrade a database made by an older
/// version).
fn sqlite_until(last: i64) -> Migrator {
    migrator(SQLITE, last)
}

fn migrator(all: &'static [(i64, &'static str, &'static str)], last: i64) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            all.iter()
                .filter(|(version, _, _)| *version <= last)
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(name),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::Row;
    use sqlx::SqlitePool;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    /// A database as an older version left it: migrated up to `version`.
    async fn database_of_version(version: i64) -> (tempfile::TempDir, SqlitePool) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        super::sqlite_until(version).run(&pool).await.unwrap();
        (dir, pool)
    }

    /// A database with methods made before passkeys (migration 14) keeps them, their ids, the
    /// default, and AUTOINCREMENT's promise through the rebuild in migration 15.
    #[tokio::test]
    async fn upgrading_to_passkeys_keeps_methods_and_never_reuses_an_id() {
        let (_dir, pool) = database_of_version(14).await;
        for sql in [
            "INSERT INTO users (id, username, display_name, subject, created_at) VALUES (1, 'jan', 'Jan', 's1', 1)",
            "INSERT INTO mfa_methods (user_id, kind, phone, created_at, confirmed_at, is_default) VALUES (1, 'sms', '+31612345678', 1, 1, 0)",
            "INSERT INTO mfa_methods (user_id, kind, label, secret, last_step, created_at, confirmed_at, is_default) VALUES (1, 'totp', 'Aegis', x'01', 7, 2, 2, 1)",
            "INSERT INTO mfa_methods (user_id, kind, label, secret, created_at, confirmed_at) VALUES (1, 'totp', 'Weg', x'02', 3, 3)",
            "DELETE FROM mfa_methods WHERE id = 3",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        super::sqlite().run(&pool).await.unwrap();

        let rows = sqlx::query(
            "SELECT id, kind, label, last_step, is_default FROM mfa_methods ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        // id, kind, label, last step, asked first
        type Seen = (i64, String, Option<String>, Option<i64>, bool);
        let seen: Vec<Seen> = rows
            .iter()
            .map(|r| {
                (
                    r.get("id"),
                    r.get("kind"),
                    r.get("label"),
                    r.get("last_step"),
                    r.get("is_default"),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, "sms".into(), None, None, false),
                (2, "totp".into(), Some("Aegis".into()), Some(7), true),
            ]
        );
        // Id 3 was given once (then removed): the next method gets 4, never 3 again.
        let id: i64 = sqlx::query(
            "INSERT INTO mfa_methods (user_id, kind, label, credential_id, credential, created_at, confirmed_at)
             VALUES (1, 'passkey', 'Laptop', 'cred', '{}', 4, 4) RETURNING id",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("id");
        assert_eq!(id, 4);
        // Requests go with their phone.
        let phone: i64 = sqlx::query(
            "INSERT INTO mfa_methods (user_id, kind, label, credential_id, credential, created_at)
             VALUES (1, 'push', 'Pixel', 'cred2', '{}', 5) RETURNING id",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("id");
        sqlx::query(
            "INSERT INTO approvals (id, user_id, method_id, purpose, number, offered, context, created_at, expires_at)
             VALUES ('a', 1, ?, 'link', 42, '42,17,88', '{}', 5, 125)",
        )
        .bind(phone)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("DELETE FROM mfa_methods WHERE id = ?")
            .bind(phone)
            .execute(&pool)
            .await
            .unwrap();
        let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM approvals")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("n");
        assert_eq!(left, 0);
    }

    /// The running SMS totals start from the messages already queued: codes count for their
    /// account, number, network, country and the installation; a notice (no code, no network)
    /// for its country and the installation only.
    #[tokio::test]
    async fn upgrading_to_tallies_counts_the_queued_messages_notices_included() {
        let (_dir, pool) = database_of_version(20).await;
        for sql in [
            "INSERT INTO users (id, username, display_name, subject, created_at) VALUES (1, 'jan', 'Jan', 's1', 1)",
            "INSERT INTO sms_challenges (id, flow, user_id, phone, code_hash, created_at, expires_at) VALUES (1, 'f', 1, '+31612345678', x'00', 100, 700)",
            "INSERT INTO sms_outbox (reference, challenge_id, user_id, phone, country, network, next_attempt_at, created_at, expires_at)
             VALUES ('code', 1, 1, '+31612345678', 'NL', '192.0.2.1', 100, 100, 700)",
            "INSERT INTO sms_outbox (reference, user_id, phone, country, network, next_attempt_at, created_at, expires_at)
             VALUES ('notice', 1, '+31612345678', 'NL', NULL, 105, 105, 700)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        super::sqlite().run(&pool).await.unwrap();
        let rows = sqlx::query("SELECT scope, key, at, total FROM sms_tallies ORDER BY scope, at")
            .fetch_all(&pool)
            .await
            .unwrap();
        let seen: Vec<(String, String, i64, i64)> = rows
            .iter()
            .map(|r| (r.get("scope"), r.get("key"), r.get("at"), r.get("total")))
            .collect();
        let row = |scope: &str, key: &str, at: i64, total: i64| {
            (scope.to_string(), key.to_string(), at, total)
        };
        assert_eq!(
            seen,
            vec![
                row("account", "1", 100, 1),
                row("all", "", 100, 1),
                row("all", "", 105, 2),
                row("country", "NL", 100, 1),
                row("country", "NL", 105, 2),
                row("network", "192.0.2.1", 100, 1),
                row("number", "+31612345678", 100, 1),
            ]
        );
    }
}
