//! Turning rows into domain types. A stored value that no longer parses is a backend error:
//! it means the database was edited by hand or a migration is missing.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use tweestap_core::audit::AuditRecord;
use tweestap_core::ports::{Challenge, ChallengeId, SessionRecord, StoreError};
use tweestap_core::{
    Client, ClientId, CodeHash, Method, MethodId, MethodKind, PhoneNumber, RedirectUri, SigningAlg,
    Timestamp, User, UserId, Username,
};

pub fn backend(e: sqlx::Error) -> StoreError {
    super::connections::note_error(&e);
    StoreError::Backend(e.to_string())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} is invalid: {e}"))
}

/// A counter column (attempts), stored as SQLite's integer.
pub fn count(row: &SqliteRow, column: &str) -> Result<u32, StoreError> {
    let n: i64 = row.try_get(column).map_err(backend)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

pub fn user(row: &SqliteRow) -> Result<User, StoreError> {
    let username: String = row.try_get("username").map_err(backend)?;
    Ok(User {
        id: UserId(row.try_get("id").map_err(backend)?),
        subject: row.try_get("subject").map_err(backend)?,
        username: Username::parse(&username).map_err(|e| corrupt("username", e))?,
        display_name: row.try_get("display_name").map_err(backend)?,
        email: row.try_get("email").map_err(backend)?,
        password_hash: row.try_get("password_hash").map_err(backend)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
        language: row.try_get("language").map_err(backend)?,
    })
}

/// The columns [`method`] reads.
pub const METHOD_COLUMNS: &str = "id, user_id, kind, phone, label, secret, last_step, created_at, last_used_at, is_default, credential_id, credential, subscription";

fn required(row: &SqliteRow, column: &str) -> Result<String, StoreError> {
    row.try_get::<Option<String>, _>(column)
        .map_err(backend)?
        .ok_or_else(|| corrupt(column, "missing"))
}

pub fn method(row: &SqliteRow) -> Result<Method, StoreError> {
    let kind: String = row.try_get("kind").map_err(backend)?;
    let kind = match kind.as_str() {
        "sms" => {
            let phone: String = row.try_get("phone").map_err(backend)?;
            MethodKind::Sms {
                phone: PhoneNumber::from_stored(&phone).map_err(|e| corrupt("phone", e))?,
            }
        }
        "totp" => MethodKind::Totp {
            label: row
                .try_get::<Option<String>, _>("label")
                .map_err(backend)?
                .unwrap_or_default(),
            sealed_secret: row
                .try_get::<Option<Vec<u8>>, _>("secret")
                .map_err(backend)?
                .ok_or_else(|| corrupt("totp secret", "missing"))?,
            last_step: row.try_get("last_step").map_err(backend)?,
        },
        "passkey" => MethodKind::Passkey {
            label: row
                .try_get::<Option<String>, _>("label")
                .map_err(backend)?
                .unwrap_or_default(),
            credential_id: required(row, "credential_id")?,
            credential: required(row, "credential")?,
        },
        "push" => MethodKind::PushApp {
            label: row
                .try_get::<Option<String>, _>("label")
                .map_err(backend)?
                .unwrap_or_default(),
            credential_id: required(row, "credential_id")?,
            credential: required(row, "credential")?,
            subscription: row.try_get("subscription").map_err(backend)?,
        },
        other => return Err(corrupt("method kind", other)),
    };
    Ok(Method {
        id: MethodId(row.try_get("id").map_err(backend)?),
        user_id: UserId(row.try_get("user_id").map_err(backend)?),
        kind,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")
            .map_err(backend)?
            .map(Timestamp),
        is_default: row.try_get("is_default").map_err(backend)?,
    })
}

pub fn challenge(row: &SqliteRow) -> Result<Challenge, StoreError> {
    let phone: String = row.try_get("phone").map_err(backend)?;
    let hash: Vec<u8> = row.try_get("code_hash").map_err(backend)?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| corrupt("code hash", "length"))?;
    Ok(Challenge {
        id: ChallengeId(row.try_get("id").map_err(backend)?),
        flow: row.try_get("flow").map_err(backend)?,
        user_id: UserId(row.try_get("user_id").map_err(backend)?),
        phone: PhoneNumber::from_stored(&phone).map_err(|e| corrupt("phone", e))?,
        code_hash: CodeHash(hash),
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
        expires_at: Timestamp(row.try_get("expires_at").map_err(backend)?),
        attempts: count(row, "attempts")?,
        used_at: row
            .try_get::<Option<i64>, _>("used_at")
            .map_err(backend)?
            .map(Timestamp),
        superseded: row.try_get::<i64, _>("superseded").map_err(backend)? != 0,
    })
}

pub fn session(row: &SqliteRow) -> Result<SessionRecord, StoreError> {
    let state: String = row.try_get("state").map_err(backend)?;
    Ok(SessionRecord {
        id_hash: row.try_get("id_hash").map_err(backend)?,
        csrf_token: row.try_get("csrf_token").map_err(backend)?,
        state: serde_json::from_str(&state).map_err(|e| corrupt("session state", e))?,
        return_to: row.try_get("return_to").map_err(backend)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
        last_seen_at: Timestamp(row.try_get("last_seen_at").map_err(backend)?),
        strict: row.try_get::<i64, _>("strict").map_err(backend)? != 0,
        external: row
            .try_get::<Option<String>, _>("external")
            .map_err(backend)?
            .map(|json| serde_json::from_str(&json).map_err(|e| corrupt("session external", e)))
            .transpose()?,
    })
}

pub fn audit(row: &SqliteRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        at: Timestamp(row.try_get("at").map_err(backend)?),
        kind: row.try_get("kind").map_err(backend)?,
        outcome: row.try_get("outcome").map_err(backend)?,
        user_id: row
            .try_get::<Option<i64>, _>("user_id")
            .map_err(backend)?
            .map(UserId),
        username: row.try_get("username").map_err(backend)?,
        actor: row.try_get("actor").map_err(backend)?,
        ip: row.try_get("ip").map_err(backend)?,
        detail: row.try_get("detail").map_err(backend)?,
        user_agent: row.try_get("user_agent").map_err(backend)?,
    })
}

pub fn client(row: &SqliteRow) -> Result<Client, StoreError> {
    let uris = |column: &str| -> Result<Vec<RedirectUri>, StoreError> {
        let text: String = row.try_get(column).map_err(backend)?;
        let list: Vec<String> = serde_json::from_str(&text).map_err(|e| corrupt(column, e))?;
        list.iter()
            .map(|u| RedirectUri::parse(u).map_err(|e| corrupt(column, e)))
            .collect()
    };
    let id: String = row.try_get("client_id").map_err(backend)?;
    let scopes: String = row.try_get("scopes").map_err(backend)?;
    Ok(Client {
        client_id: ClientId::parse(&id).map_err(|e| corrupt("client id", e))?,
        name: row.try_get("name").map_err(backend)?,
        redirect_uris: uris("redirect_uris")?,
        post_logout_uris: uris("post_logout_uris")?,
        public: row.try_get("public").map_err(backend)?,
        first_party: row.try_get("first_party").map_err(backend)?,
        scopes: serde_json::from_str(&scopes).map_err(|e| corrupt("scopes", e))?,
        require_mfa: row.try_get("require_mfa").map_err(backend)?,
        id_token_alg: SigningAlg::parse(
            &row.try_get::<String, _>("id_token_alg").map_err(backend)?,
        )
        .map_err(|e| corrupt("id_token_alg", e))?,
        secret_hash: row.try_get("secret_hash").map_err(backend)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
    })
}
