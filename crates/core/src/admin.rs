//! What administrators may do to accounts. Only the CLI constructs an [`AdminService`]: holding
//! one is the capability, so no web route can reach these operations by forgetting a check.

use std::collections::HashSet;
use std::sync::Arc;

use thiserror::Error;

use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::domain::{
    Method, NewUser, PhoneError, PhoneNumber, Secret, User, UserId, Username, UsernameError,
};
use crate::notices::Notice;
use crate::password::{self, PasswordError};
use crate::policy::Policy;
use crate::ports::{Clock, Entropy, PasswordHashing, Store, StoreError, random_hex};

#[derive(Debug, Error)]
pub enum AdminError {
    #[error("no user named {0:?}")]
    UnknownUser(String),
    #[error("username: {0}")]
    Username(#[from] UsernameError),
    #[error("phone: {0}")]
    Phone(#[from] PhoneError),
    #[error("password: {0}")]
    Password(#[from] PasswordError),
    #[error("a user named {0:?} already exists")]
    Exists(String),
    #[error("display name: {0}")]
    DisplayName(&'static str),
    #[error("email: {0}")]
    Email(&'static str),
    #[error("the user has no method with id {0} (see `tweestap user show`)")]
    NoSuchMethod(i64),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => AdminError::Exists(what),
            other => AdminError::Store(other),
        }
    }
}

/// A password as an administrator supplies it: typed, or an Argon2 hash from another system.
#[derive(Debug, Clone)]
pub enum PasswordInput {
    Plain(Secret),
    Hash(String),
}

/// An account as typed on the command line or read from a CSV row, not yet checked.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password: Option<PasswordInput>,
}

/// An account that passed every check and can be created.
#[derive(Debug, Clone)]
pub struct ValidUser {
    pub username: Username,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub password: Option<PasswordInput>,
}

pub struct AdminService {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub passwords: Arc<dyn PasswordHashing>,
    pub policy: Arc<Policy>,
    /// Who is acting, for the audit trail (e.g. the OS user running the CLI).
    pub actor: String,
    /// Security notices: the owner hears of what the helpdesk did to the account.
    pub notices: Arc<crate::notices::Notifier>,
}

impl AdminService {
    /// Checks one account without touching the database.
    pub fn validate(&self, input: &UserInput) -> Result<ValidUser, AdminError> {
        let username = Username::parse(&input.username)?;
        let display_name = input.display_name.trim().to_string();
        if display_name.is_empty() {
            return Err(AdminError::DisplayName("is empty"));
        }
        if display_name.chars().count() > 200 {
            return Err(AdminError::DisplayName("is longer than 200 characters"));
        }
        if display_name.chars().any(char::is_control) {
            return Err(AdminError::DisplayName("contains control characters"));
        }
        let email = match input
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            None => None,
            Some(e) => {
                let (local, domain) = e.split_once('@').ok_or(AdminError::Email("has no @"))?;
                if local.is_empty()
                    || !domain.contains('.')
                    || e.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(AdminError::Email("is not an email address"));
                }
                Some(e.to_string())
            }
        };
        let phone = match input
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            None => None,
            Some(p) => Some(PhoneNumber::parse(
                p,
                &self.policy.default_country,
                &self.policy.allowed_countries,
            )?),
        };
        match &input.password {
            Some(PasswordInput::Plain(secret)) => {
                password::check_new(secret.expose(), &self.policy.password)?
            }
            Some(PasswordInput::Hash(phc)) => password::parse_phc(phc)?,
            None => {}
        }
        Ok(ValidUser {
            username,
            display_name,
            email,
            phone,
            password: input.password.clone(),
        })
    }

    /// Checks a whole import: every row on its own, then duplicates within the file and against
    /// existing accounts. Returns every problem with its line number, or the valid rows.
    pub async fn validate_import(
        &self,
        rows: Vec<(u64, UserInput)>,
    ) -> Result<Result<Vec<ValidUser>, Vec<(u64, String)>>, AdminError> {
        let mut valid = Vec::new();
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        for (line, input) in rows {
            match self.validate(&input) {
                Err(e) => problems.push((line, e.to_string())),
                Ok(user) => {
                    if !seen.insert(user.username.clone()) {
                        problems.push((
                            line,
                            format!(
                                "username {:?} appears twice in the file",
                                user.username.as_str()
                            ),
                        ));
                    } else if self.store.user_by_username(&user.username).await?.is_some() {
                        problems.push((
                            line,
                            format!("a user named {:?} already exists", user.username.as_str()),
                        ));
                    } else {
                        valid.push(user);
                    }
                }
            }
        }
        Ok(if problems.is_empty() {
            Ok(valid)
        } else {
            Err(problems)
        })
    }

    /// Creates the accounts, all or none. `progress` is called once per account hashed.
    pub async fn create(
        &self,
        users: Vec<ValidUser>,
        progress: &(dyn Fn() + Sync),
    ) -> Result<Vec<UserId>, AdminError> {
        let mut rows = Vec::with_capacity(users.len());
        let mut users = users.into_iter().peekable();
        while users.peek().is_some() {
            // Plain passwords are hashed side by side, a window at a time, so every hashing
            // thread (one per core) has work and memory stays flat.
            let window: Vec<ValidUser> = users.by_ref().take(HASH_WINDOW).collect();
            let hashes = join_all(window.iter().map(|user| {
                let passwords = self.passwords.clone();
                let password = user.password.clone();
                async move {
                    match password {
                        Some(PasswordInput::Plain(secret)) => {
                            passwords.hash(secret).await.map(Some)
                        }
                        Some(PasswordInput::Hash(phc)) => Ok(Some(phc)),
                        None => Ok(None),
                    }
                }
            }))
            .await;
            for (user, password_hash) in window.into_iter().zip(hashes) {
                let password_hash = password_hash?;
                progress();
                rows.push(self.new_row(user, password_hash));
            }
        }
        let now = self.clock.now();
        let ids = self.store.create_users(&rows, now).await?;
        let kind = if ids.len() == 1 {
            AuditKind::UserAdded
        } else {
            AuditKind::UsersImported
        };
        let events: Vec<AuditEvent> = rows
            .iter()
            .zip(&ids)
            .map(|((user, _), id)| self.event(kind, Some(*id), Some(user.username.as_str()), None))
            .collect();
        self.store.audit_all(&events).await?;
        Ok(ids)
    }

    /// The account row for `user`, with its subject (random, as applications see it).
    fn new_row(&self, user: ValidUser, password_hash: Option<String>) -> (NewUser, String) {
        let subject = random_hex(self.entropy.as_ref(), 16);
        (
            NewUser {
                username: user.username,
                display_name: user.display_name,
                email: user.email,
                password_hash,
                phone: user.phone,
            },
            subject,
        )
    }

    pub async fn find(&self, username: &str) -> Result<(User, Vec<Method>), AdminError> {
        let name = Username::parse(username)?;
        let user = self
            .store
            .user_by_username(&name)
            .await?
            .ok_or_else(|| AdminError::UnknownUser(username.to_string()))?;
        let methods = self.store.methods(user.id).await?;
        Ok((user, methods))
    }

    pub async fn list(&self) -> Result<Vec<(User, Vec<Method>)>, AdminError> {
        let mut out = Vec::new();
        for user in self.store.list_users().await? {
            let methods = self.store.methods(user.id).await?;
            out.push((user, methods));
        }
        Ok(out)
    }

    /// Lifts a block set by an "I didn't ask for this" report.
    pub async fn unblock_sms(&self, username: &str) -> Result<bool, AdminError> {
        let (user, _) = self.find(username).await?;
        let lifted = self.store.sms_unblock(user.id).await?;
        self.audit(
            AuditKind::SmsBlockCleared,
            Some(user.id),
            Some(user.username.as_str()),
            None,
        )
        .await?;
        Ok(lifted)
    }

    /// Clears a "this wasn't me" flag and the blocks that came with it.
    pub async fn unflag(&self, username: &str) -> Result<bool, AdminError> {
        let (user, _) = self.find(username).await?;
        let cleared = self.store.user_unflag(user.id).await?;
        self.store.sms_unblock(user.id).await?;
        self.audit(
            AuditKind::AccountUnflagged,
            Some(user.id),
            Some(user.username.as_str()),
            None,
        )
        .await?;
        Ok(cleared)
    }

    /// Sets a new password (checked against the length rules) and audits it.
    pub async fn set_password(&self, username: &str, secret: Secret) -> Result<(), AdminError> {
        let (user, _) = self.find(username).await?;
        let phc = self.passwords.hash(secret).await?;
        self.store.set_password_hash(user.id, &phc).await?;
        // The helpdesk checked who is asking: the waits strangers' guesses built up for this
        // name end with the old password, so the owner can sign in with the new one at once.
        let name = user.username.as_str();
        crate::signin::clear_name_waits(self.store.as_ref(), &self.notices.keys, name).await?;
        // A new password usually means the old one leaked: end what it opened.
        self.end_access(user.id).await?;
        self.audit(
            AuditKind::PasswordSet,
            Some(user.id),
            Some(user.username.as_str()),
            None,
        )
        .await?;
        Ok(())
    }

    /// Removes every second factor: the user registers again at the next sign-in. The owner
    /// hears of it on every channel the account had (whoever asked the helpdesk may not be
    /// the owner).
    pub async fn reset_mfa(&self, username: &str) -> Result<u64, AdminError> {
        let (user, methods) = self.find(username).await?;
        let phones = Method::phones(&methods);
        let removed = self.store.remove_methods(user.id).await?;
        // Sign-ins under way would still send codes to, and accept codes from, the old phone;
        // applications' tokens and remembered devices came from sign-ins with it.
        self.end_access(user.id).await?;
        self.audit(
            AuditKind::MfaReset,
            Some(user.id),
            Some(user.username.as_str()),
            Some(format!("removed={removed}")),
        )
        .await?;
        self.announce(&user, &phones, Notice::MfaReset).await?;
        Ok(removed)
    }

    /// Pre-registers a phone: the user skips registration and goes straight to the code.
    pub async fn set_phone(&self, username: &str, number: &str) -> Result<PhoneNumber, AdminError> {
        let (user, methods) = self.find(username).await?;
        let mut phones = Method::phones(&methods);
        let phone = PhoneNumber::parse(
            number,
            &self.policy.default_country,
            &self.policy.allowed_countries,
        )?;
        self.store
            .replace_phone(user.id, &phone, self.clock.now())
            .await?;
        self.end_access(user.id).await?;
        self.audit(
            AuditKind::PhoneSet,
            Some(user.id),
            Some(user.username.as_str()),
            Some(format!("phone={}", phone.masked())),
        )
        .await?;
        // Someone who talked the helpdesk into "my new phone" must not go unnoticed: the old
        // phones, the new one and the e-mail address hear of it.
        let notice = if methods.is_empty() {
            Notice::FirstMethod
        } else {
            Notice::PhoneReplaced
        };
        if !phones.contains(&phone) {
            phones.push(phone.clone());
        }
        self.announce(&user, &phones, notice).await?;
        Ok(phone)
    }

    /// Issues a temporary access pass (shown once; only its hash is kept): after the
    /// password it stands in for the second factor until `valid_secs` have passed (or once).
    pub async fn issue_access_pass(
        &self,
        username: &str,
        valid_secs: i64,
        once: bool,
    ) -> Result<(String, crate::domain::Timestamp), AdminError> {
        let (user, methods) = self.find(username).await?;
        let phones = Method::phones(&methods);
        let mut bytes = [0u8; 10];
        self.entropy.fill(&mut bytes);
        let plain = crate::domain::base32(&bytes);
        let pass = plain
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        let now = self.clock.now();
        let expires = now.plus_secs(valid_secs);
        self.store
            .access_pass_add(
                user.id,
                &crate::signin::pass_hash(&pass),
                now,
                expires,
                once,
            )
            .await?;
        self.audit(
            AuditKind::AccessPassIssued,
            Some(user.id),
            Some(user.username.as_str()),
            Some(format!("valid_secs={valid_secs} once={once}")),
        )
        .await?;
        self.announce(&user, &phones, Notice::AccessPass).await?;
        Ok((pass, expires))
    }

    /// Forgets every remembered device of the user (a lost laptop); returns how many.
    pub async fn forget_devices(&self, username: &str) -> Result<u64, AdminError> {
        let (user, _) = self.find(username).await?;
        let removed = self.store.devices_remove_user(user.id).await?;
        // A lost laptop: what it is signed in with (sessions, forward-auth access, the
        // applications' tokens) ends too.
        self.end_access(user.id).await?;
        self.audit(
            AuditKind::DevicesForgotten,
            Some(user.id),
            Some(user.username.as_str()),
            Some(format!("devices={removed}")),
        )
        .await?;
        Ok(removed)
    }

    /// Removes one method (a lost phone's app, an old number). Unlike the user, an
    /// administrator may remove the last one: the user then registers again.
    pub async fn remove_method(&self, username: &str, method: i64) -> Result<(), AdminError> {
        let (user, methods) = self.find(username).await?;
        let Some(found) = methods.iter().find(|m| m.id.0 == method) else {
            return Err(AdminError::NoSuchMethod(method));
        };
        let phones = Method::phones(&methods);
        self.store.method_remove(user.id, found.id, false).await?;
        // Sign-ins under way may be waiting for this method's code; whoever added it may be
        // signed in with it.
        self.end_access(user.id).await?;
        self.audit(
            AuditKind::MethodRemoved,
            Some(user.id),
            Some(user.username.as_str()),
            Some(format!("method_id={method}")),
        )
        .await?;
        self.announce(&user, &phones, Notice::MethodRemoved).await
    }

    /// Ends what the account is signed in with everywhere: sessions, sign-ins under way,
    /// forward-auth access, remembered devices, applications' tokens.
    async fn end_access(&self, user: UserId) -> Result<(), StoreError> {
        crate::revoke::end_access(self.store.as_ref(), user, None, self.clock.now()).await
    }

    /// The owner hears what the helpdesk changed (in the language they last signed in with).
    async fn announce(
        &self,
        user: &User,
        phones: &[PhoneNumber],
        notice: Notice,
    ) -> Result<(), AdminError> {
        let actor = Actor::Admin(self.actor.clone());
        self.notices
            .announce(user, phones, notice, None, actor, None)
            .await?;
        Ok(())
    }

    /// Pre-registers numbers from an export of Entra's phone methods (checked by
    /// [`crate::eam::phones::check`]), all or none; one audit line says what changed.
    pub async fn import_entra_phones(
        &self,
        rows: Vec<crate::ports::PhoneImport>,
        link_existing: bool,
    ) -> Result<Vec<crate::ports::PhoneImported>, AdminError> {
        let with_subjects: Vec<(crate::ports::PhoneImport, String)> = rows
            .into_iter()
            .map(|row| (row, random_hex(self.entropy.as_ref(), 16)))
            .collect();
        let outcomes = self
            .store
            .entra_import_phones(&with_subjects, link_existing, self.clock.now())
            .await?;
        let count = |o: crate::ports::PhoneImported| outcomes.iter().filter(|x| **x == o).count();
        use crate::ports::PhoneImported as I;
        let detail = format!(
            "created={} added={} unchanged={} kept_other={} unlinked={}",
            count(I::Created),
            count(I::Added),
            count(I::Unchanged),
            count(I::KeptOther),
            count(I::Unlinked)
        );
        self.audit(AuditKind::EntraPhonesImported, None, None, Some(detail))
            .await?;
        Ok(outcomes)
    }

    async fn audit(
        &self,
        kind: AuditKind,
        user_id: Option<UserId>,
        username: Option<&str>,
        detail: Option<String>,
    ) -> Result<(), AdminError> {
        self.store
            .audit(&self.event(kind, user_id, username, detail))
            .await?;
        Ok(())
    }

    fn event(
        &self,
        kind: AuditKind,
        user_id: Option<UserId>,
        username: Option<&str>,
        detail: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            kind,
            outcome: "ok",
            user_id,
            username: username.map(str::to_string),
            actor: Actor::Admin(self.actor.clone()),
            ip: None,
            detail,
            user_agent: None,
        }
    }
}

/// How many plain passwords of an import are hashed side by side.
const HASH_WINDOW: usize = 64;

/// Awaits the futures side by side (in this task; the work itself runs on the hashing
/// threads) and returns their outputs in order.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (future, slot) in pending.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => *slot = Some(output),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    done.into_iter().flatten().collect()
}
