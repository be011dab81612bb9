//! The words of security notices, as a text message and as an e-mail, in the user's language.

use tweestap_core::User;
use tweestap_core::notices::{Notice, NoticeTexts};

use crate::i18n::{Arg, Lang, t};

/// The notice texts for one organisation; `public_url` is where the e-mail sends the owner to
/// check their methods.
pub struct Texts {
    pub organisation: String,
    pub public_url: String,
}

fn key(notice: Notice) -> &'static str {
    match notice {
        Notice::MethodAdded => "added",
        Notice::MethodRemoved => "removed",
        Notice::FirstMethod => "first",
        Notice::MfaReset => "reset",
        Notice::AccessPass => "pass",
        Notice::PhoneReplaced => "phone",
    }
}

impl NoticeTexts for Texts {
    fn sms(&self, notice: Notice, lang: &str) -> String {
        crate::sms_text::notice(
            Lang::parse(lang).unwrap_or_default(),
            &self.organisation,
            notice,
        )
    }

    fn email(&self, notice: Notice, lang: &str, user: &User) -> (String, String) {
        let lang = Lang::parse(lang).unwrap_or_default();
        let org = [("org", Arg::Str(&self.organisation))];
        let kind = key(notice);
        let subject = t(lang, &format!("email-{kind}-subject"), &org);
        let link = format!("{}/security-info", self.public_url.trim_end_matches('/'));
        let body = [
            t(
                lang,
                "email-greeting",
                &[("name", Arg::Str(&user.display_name))],
            ),
            t(lang, &format!("email-{kind}-body"), &org),
            t(lang, "email-not-you", &[("link", Arg::Str(&link))]),
            t(lang, "email-footer", &org),
        ]
        .join("\n\n");
        (subject, body)
    }
}
