//! Security notices: a change to an account's sign-in that its owner must hear about on every
//! channel the account has (a text to each phone, an e-mail to its address; the web layer adds
//! the tweestap app), so that whoever made it without them cannot do so quietly. The words
//! are the web layer's (they are in the user's language); the queues are the store's, so a
//! restart loses no notice.

use std::sync::Arc;

use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::domain::{Keys, PhoneNumber, User};
use crate::ports::{
    Clock, Entropy, NewEmail, NewQueuedSms, QueueWaker, Store, StoreError, random_hex,
};

/// What happened to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A method was added (a phone, an app, a passkey, a linked phone).
    MethodAdded,
    /// A method was removed.
    MethodRemoved,
    /// The account's first method was registered (at the first sign-in).
    FirstMethod,
    /// The helpdesk removed every method: the next sign-in registers again.
    MfaReset,
    /// The helpdesk issued a temporary access pass (it stands in for the second factor).
    AccessPass,
    /// The helpdesk set a new phone number in place of the account's phones.
    PhoneReplaced,
}

impl Notice {
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::MethodAdded => "method_added",
            Notice::MethodRemoved => "method_removed",
            Notice::FirstMethod => "first_method",
            Notice::MfaReset => "mfa_reset",
            Notice::AccessPass => "access_pass",
            Notice::PhoneReplaced => "phone_replaced",
        }
    }
}

/// The words of a notice, in a language ("nl", "en").
pub trait NoticeTexts: Send + Sync {
    /// The text message: short, one SMS.
    fn sms(&self, notice: Notice, lang: &str) -> String;
    /// The e-mail's subject and plain-text body.
    fn email(&self, notice: Notice, lang: &str, user: &User) -> (String, String);
}

/// Queues notices on every channel an account has.
pub struct Notifier {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub keys: Arc<Keys>,
    pub texts: Arc<dyn NoticeTexts>,
    pub sms_queue: Arc<dyn QueueWaker>,
    /// `None`: no e-mail is set up (`[email]`), so notices go by text only.
    pub email_queue: Option<Arc<dyn QueueWaker>>,
    /// For an account that never signed in (its language unknown).
    pub default_language: String,
}

/// A text sent even while texts to the account are blocked by a report (it is the owner's
/// alarm), for a day at most.
const NOTICE_SMS_SECS: i64 = 24 * 3600;
/// An e-mail notice a few days late still tells the owner something.
const NOTICE_EMAIL_SECS: i64 = 3 * 24 * 3600;

impl Notifier {
    /// Tells the owner of `user`: a text to each of `phones` (the account's phones, or the
    /// ones it had before a removal), an e-mail to its address. `lang`: the language of the
    /// person at the browser; without one, the language the account last signed in with.
    pub async fn announce(
        &self,
        user: &User,
        phones: &[PhoneNumber],
        notice: Notice,
        lang: Option<&str>,
        actor: Actor,
        ip: Option<&str>,
    ) -> Result<(), StoreError> {
        let lang = lang
            .or(user.language.as_deref())
            .unwrap_or(&self.default_language);
        let now = self.clock.now();
        let audit = |detail: String| AuditEvent {
            at: now,
            kind: AuditKind::MethodChangeAnnounced,
            outcome: "ok",
            user_id: Some(user.id),
            username: None,
            actor: actor.clone(),
            ip: ip.map(str::to_string),
            detail: Some(format!("notice={} {detail}", notice.as_str())),
            user_agent: None,
        };
        let text = self.texts.sms(notice, lang);
        for phone in phones {
            let reference = random_hex(self.entropy.as_ref(), 8);
            let mut nonce = [0u8; 12];
            self.entropy.fill(&mut nonce);
            self.store
                .sms_enqueue_notice(&NewQueuedSms {
                    reference: reference.clone(),
                    user_id: Some(user.id),
                    phone: phone.clone(),
                    sealed_text: self
                        .keys
                        .seal
                        .seal(text.as_bytes(), reference.as_bytes(), nonce),
                    network: None,
                    report_token_hash: None,
                    created_at: now,
                    expires_at: now.plus_secs(NOTICE_SMS_SECS),
                })
                .await?;
            self.store
                .audit(&audit(format!("to={} ref={reference}", phone.masked())))
                .await?;
        }
        if !phones.is_empty() {
            self.sms_queue.wake();
        }
        if let (Some(queue), Some(address)) = (&self.email_queue, &user.email) {
            let (subject, body) = self.texts.email(notice, lang, user);
            let reference = random_hex(self.entropy.as_ref(), 8);
            self.store
                .email_enqueue(&NewEmail {
                    reference: reference.clone(),
                    user_id: Some(user.id),
                    to: address.clone(),
                    subject,
                    body,
                    created_at: now,
                    expires_at: now.plus_secs(NOTICE_EMAIL_SECS),
                })
                .await?;
            self.store
                .audit(&audit(format!(
                    "email={} ref={reference}",
                    masked_email(address)
                )))
                .await?;
            queue.wake();
        }
        Ok(())
    }
}

/// "j•••@school.nl": enough for the helpdesk to recognise, not to harvest.
pub fn masked_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::masked_email;

    #[test]
    fn addresses_are_masked_in_the_audit_trail() {
        assert_eq!(masked_email("jan.jansen@school.nl"), "j•••@school.nl");
        assert_eq!(masked_email("nonsense"), "•••");
    }
}
