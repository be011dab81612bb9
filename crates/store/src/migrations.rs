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
];

pub fn sqlite() -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            SQLITE
                .iter()
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
