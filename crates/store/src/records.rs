//! Turning rows into domain types, the same for every backend: each backend's rows read their
//! columns through [`Columns`]. A stored value that no longer parses is a backend error: it
//! means the database was edited by hand or a migration is missing.

use tweestap_core::approval::ApprovalStatus;
use tweestap_core::audit::AuditRecord;
use tweestap_core::ports::{
    ApprovalPurpose, Challenge, ChallengeId, SessionRecord, SmsId, SmsState, SmsStatus, StoreError,
    StoredApproval,
};
use tweestap_core::{
    Client, ClientId, CodeHash, Method, MethodId, MethodKind, PhoneNumber, RedirectUri, SigningAlg,
    Timestamp, User, UserId, Username,
};

/// A row's columns by name, as the types tweestap stores: text, 64-bit integers (times are
/// Unix seconds), flags and bytes.
pub trait Columns {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn text_or_none(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn int_or_none(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    fn bytes_or_none(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError>;

    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        self.bytes_or_none(column)?
            .ok_or_else(|| corrupt(column, "missing"))
    }
}

/// Implements [`Columns`] for a backend's row type, mapping its errors with `$backend`.
macro_rules! columns_for {
    ($row:ty, $backend:path) => {
        impl $crate::records::Columns for $row {
            fn text(&self, column: &str) -> Result<String, StoreError> {
                sqlx::Row::try_get(self, column).map_err($backend)
            }
            fn text_or_none(&self, column: &str) -> Result<Option<String>, StoreError> {
                sqlx::Row::try_get(self, column).map_err($backend)
            }
            fn int(&self, column: &str) -> Result<i64, StoreError> {
                sqlx::Row::try_get(self, column).map_err($backend)
            }
            fn int_or_none(&self, column: &str) -> Result<Option<i64>, StoreError> {
                sqlx::Row::try_get(self, column).map_err($backend)
            }
            fn flag(&self, column: &str) -> Result<bool, StoreError> {
                sqlx::Row::try_get(self, column).map_err($backend)
            }
            fn bytes_or_none(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError> {
                sqlx::Row::try_get(self, column).map_err($backend)
            }
        }
    };
}
pub(crate) use columns_for;

/// A counter column (attempts).
pub fn count(row: &impl Columns, column: &str) -> Result<u32, StoreError> {
    let n = row.int(column)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} is invalid: {e}"))
}

pub fn user(row: &impl Columns) -> Result<User, StoreError> {
    let username: String = row.text("username")?;
    Ok(User {
        id: UserId(row.int("id")?),
        subject: row.text("subject")?,
        username: Username::parse(&username).map_err(|e| corrupt("username", e))?,
        display_name: row.text("display_name")?,
        email: row.text_or_none("email")?,
        password_hash: row.text_or_none("password_hash")?,
        created_at: Timestamp(row.int("created_at")?),
        language: row.text_or_none("language")?,
    })
}

/// The columns [`method`] reads.
pub const METHOD_COLUMNS: &str = "id, user_id, kind, phone, label, secret, last_step, created_at, last_used_at, is_default, credential_id, credential, subscription";

fn required(row: &impl Columns, column: &str) -> Result<String, StoreError> {
    row.text_or_none(column)?
        .ok_or_else(|| corrupt(column, "missing"))
}

pub fn method(row: &impl Columns) -> Result<Method, StoreError> {
    let kind: String = row.text("kind")?;
    let kind = match kind.as_str() {
        "sms" => {
            let phone: String = row.text("phone")?;
            MethodKind::Sms {
                phone: PhoneNumber::from_stored(&phone).map_err(|e| corrupt("phone", e))?,
            }
        }
        "totp" => MethodKind::Totp {
            label: row.text_or_none("label")?.unwrap_or_default(),
            sealed_secret: row
                .bytes_or_none("secret")?
                .ok_or_else(|| corrupt("totp secret", "missing"))?,
            last_step: row.int_or_none("last_step")?,
        },
        "passkey" => MethodKind::Passkey {
            label: row.text_or_none("label")?.unwrap_or_default(),
            credential_id: required(row, "credential_id")?,
            credential: required(row, "credential")?,
        },
        "push" => MethodKind::PushApp {
            label: row.text_or_none("label")?.unwrap_or_default(),
            credential_id: required(row, "credential_id")?,
            credential: required(row, "credential")?,
            subscription: row.text_or_none("subscription")?,
        },
        other => return Err(corrupt("method kind", other)),
    };
    Ok(Method {
        id: MethodId(row.int("id")?),
        user_id: UserId(row.int("user_id")?),
        kind,
        created_at: Timestamp(row.int("created_at")?),
        last_used_at: row.int_or_none("last_used_at")?.map(Timestamp),
        is_default: row.flag("is_default")?,
    })
}

pub fn challenge(row: &impl Columns) -> Result<Challenge, StoreError> {
    let phone: String = row.text("phone")?;
    let hash: Vec<u8> = row.bytes("code_hash")?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| corrupt("code hash", "length"))?;
    Ok(Challenge {
        id: ChallengeId(row.int("id")?),
        flow: row.text("flow")?,
        user_id: UserId(row.int("user_id")?),
        phone: PhoneNumber::from_stored(&phone).map_err(|e| corrupt("phone", e))?,
        code_hash: CodeHash(hash),
        created_at: Timestamp(row.int("created_at")?),
        expires_at: Timestamp(row.int("expires_at")?),
        attempts: count(row, "attempts")?,
        used_at: row.int_or_none("used_at")?.map(Timestamp),
        superseded: row.flag("superseded")?,
    })
}

pub fn session(row: &impl Columns) -> Result<SessionRecord, StoreError> {
    let state: String = row.text("state")?;
    Ok(SessionRecord {
        id_hash: row.text("id_hash")?,
        csrf_token: row.text("csrf_token")?,
        state: serde_json::from_str(&state).map_err(|e| corrupt("session state", e))?,
        return_to: row.text_or_none("return_to")?,
        created_at: Timestamp(row.int("created_at")?),
        last_seen_at: Timestamp(row.int("last_seen_at")?),
        strict: row.flag("strict")?,
        external: row
            .text_or_none("external")?
            .map(|json| serde_json::from_str(&json).map_err(|e| corrupt("session external", e)))
            .transpose()?,
    })
}

pub fn audit(row: &impl Columns) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        at: Timestamp(row.int("at")?),
        kind: row.text("kind")?,
        outcome: row.text("outcome")?,
        user_id: row.int_or_none("user_id")?.map(UserId),
        username: row.text_or_none("username")?,
        actor: row.text("actor")?,
        ip: row.text_or_none("ip")?,
        detail: row.text_or_none("detail")?,
        user_agent: row.text_or_none("user_agent")?,
    })
}

pub fn client(row: &impl Columns) -> Result<Client, StoreError> {
    let uris = |column: &str| -> Result<Vec<RedirectUri>, StoreError> {
        let text: String = row.text(column)?;
        let list: Vec<String> = serde_json::from_str(&text).map_err(|e| corrupt(column, e))?;
        list.iter()
            .map(|u| RedirectUri::parse(u).map_err(|e| corrupt(column, e)))
            .collect()
    };
    let id: String = row.text("client_id")?;
    let scopes: String = row.text("scopes")?;
    Ok(Client {
        client_id: ClientId::parse(&id).map_err(|e| corrupt("client id", e))?,
        name: row.text("name")?,
        redirect_uris: uris("redirect_uris")?,
        post_logout_uris: uris("post_logout_uris")?,
        public: row.flag("public")?,
        first_party: row.flag("first_party")?,
        scopes: serde_json::from_str(&scopes).map_err(|e| corrupt("scopes", e))?,
        require_mfa: row.flag("require_mfa")?,
        id_token_alg: SigningAlg::parse(&row.text("id_token_alg")?)
            .map_err(|e| corrupt("id_token_alg", e))?,
        secret_hash: row.text_or_none("secret_hash")?,
        created_at: Timestamp(row.int("created_at")?),
    })
}

/// The columns [`sms_status`] reads.
pub const STATUS_COLUMNS: &str = "id, reference, user_id, phone, state, gateway, attempts, round, last_error, \
                                  created_at, sent_at, delivered_at";

/// A queued text message as the outbox reports it.
pub fn sms_status(row: &impl Columns) -> Result<SmsStatus, StoreError> {
    let phone = row.text("phone")?;
    let state = row.text("state")?;
    Ok(SmsStatus {
        id: SmsId(row.int("id")?),
        reference: row.text("reference")?,
        user_id: row.int_or_none("user_id")?.map(UserId),
        phone: PhoneNumber::from_stored(&phone).map_err(|e| corrupt("phone", e))?,
        state: SmsState::parse(&state).ok_or_else(|| corrupt("SMS state", &state))?,
        gateway: row.text_or_none("gateway")?,
        attempts: count(row, "attempts")?,
        round: count(row, "round")?,
        last_error: row.text_or_none("last_error")?,
        created_at: Timestamp(row.int("created_at")?),
        sent_at: row.int_or_none("sent_at")?.map(Timestamp),
        delivered_at: row.int_or_none("delivered_at")?.map(Timestamp),
    })
}

/// The columns [`approval`] reads.
pub const APPROVAL_COLUMNS: &str = "id, user_id, method_id, purpose, number, offered, context, created_at, expires_at, status, consumed_at, confirmed";

/// A push approval request as stored.
pub fn approval(row: &impl Columns) -> Result<StoredApproval, StoreError> {
    let offered: Vec<u8> = row
        .text("offered")?
        .split(',')
        .map(|n| n.parse().map_err(|e| corrupt("approval offered", e)))
        .collect::<Result<_, _>>()?;
    let purpose = row.text("purpose")?;
    let status = row.text("status")?;
    Ok(StoredApproval {
        id: row.text("id")?,
        user_id: UserId(row.int("user_id")?),
        method_id: MethodId(row.int("method_id")?),
        purpose: match purpose.as_str() {
            "sign_in" => ApprovalPurpose::SignIn,
            "link" => ApprovalPurpose::Link,
            other => return Err(corrupt("approval purpose", other)),
        },
        number: u8::try_from(row.int("number")?).map_err(|e| corrupt("approval number", e))?,
        offered: offered
            .try_into()
            .map_err(|_| corrupt("approval offered", "not three numbers"))?,
        context: row.text("context")?,
        created_at: Timestamp(row.int("created_at")?),
        expires_at: Timestamp(row.int("expires_at")?),
        status: ApprovalStatus::parse(&status)
            .ok_or_else(|| corrupt("approval status", &status))?,
        consumed: row.int_or_none("consumed_at")?.is_some(),
        confirmed: row.flag("confirmed")?,
    })
}
