//! The text of the sign-in SMS: short, in the user's language, GSM-7 only (so it fits one
//! 160-character message), and ending with the WebOTP line that lets phones fill the code in.

use tweestap_core::OtpCode;

use crate::i18n::{Arg, Lang, t};

/// GSM 03.38 basic character set (without the escape table, whose characters count double).
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| GSM7.contains(c))
}

/// Replaces what GSM-7 cannot carry: common accents lose their accent, the rest becomes "?".
fn to_gsm7(text: &str) -> String {
    text.chars()
        .map(|c| {
            if GSM7.contains(c) {
                return c;
            }
            match c {
                'á' | 'â' | 'ã' => 'a',
                'Á' | 'À' | 'Â' | 'Ã' => 'A',
                'ê' | 'ë' => 'e',
                'È' | 'Ê' | 'Ë' => 'E',
                'í' | 'î' | 'ï' => 'i',
                'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
                'ó' | 'ô' | 'õ' => 'o',
                'Ó' | 'Ò' | 'Ô' | 'Õ' => 'O',
                'ú' | 'û' => 'u',
                'Ú' | 'Ù' | 'Û' => 'U',
                'ç' => 'c',
                '’' | '‘' => '\'',
                '“' | '”' => '"',
                '–' | '—' => '-',
                _ => '?',
            }
        })
        .collect()
}

/// `report_link`: where the phone's owner can say "I didn't ask for this".
pub fn sign_in_code(
    lang: Lang,
    organisation: &str,
    host: &str,
    code: &OtpCode,
    report_link: Option<&str>,
) -> String {
    let body = t(
        lang,
        "sms-code",
        &[
            ("code", Arg::Str(code.expose())),
            ("org", Arg::Str(organisation)),
        ],
    );
    let report = report_link
        .map(|link| format!("\n{}", t(lang, "sms-report", &[("link", Arg::Str(link))])))
        .unwrap_or_default();
    to_gsm7(&format!("{body}{report}\n\n@{host} #{}", code.expose()))
}

/// The alarm sent to the account's phones when its sign-in methods change.
pub fn notice(lang: Lang, organisation: &str, notice: tweestap_core::notices::Notice) -> String {
    use tweestap_core::notices::Notice as N;
    let key = match notice {
        N::MethodAdded => "sms-method-added",
        N::MethodRemoved => "sms-method-removed",
        N::FirstMethod => "sms-first-method",
        N::MfaReset => "sms-mfa-reset",
        N::AccessPass => "sms-access-pass",
        N::PhoneReplaced => "sms-phone-replaced",
    };
    to_gsm7(&t(lang, key, &[("org", Arg::Str(organisation))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dutch_text_is_gsm7_short_and_ends_with_the_webotp_line() {
        let code = OtpCode::parse("123456").unwrap();
        let link = "https://login.mborijnland.nl/r/0123456789abcdef01";
        let text = sign_in_code(
            Lang::Nl,
            "mboRijnland",
            "login.mborijnland.nl",
            &code,
            Some(link),
        );
        assert!(is_gsm7(&text), "{text:?}");
        assert!(
            text.chars().count() <= 160,
            "{} characters: {text}",
            text.chars().count()
        );
        assert!(
            text.contains("Niet aangevraagd? https://login.mborijnland.nl/r/0123456789abcdef01"),
            "{text}"
        );
        assert!(text.ends_with("\n@login.mborijnland.nl #123456"));
        let text = sign_in_code(Lang::Nl, "mboRijnland", "login.example.nl", &code, None);
        assert!(text.starts_with("123456 is je code voor mboRijnland"));
        assert!(text.ends_with("\n@login.example.nl #123456"));
    }

    #[test]
    fn english_text_and_odd_organisation_names_stay_gsm7() {
        let code = OtpCode::parse("000042").unwrap();
        let text = sign_in_code(Lang::En, "Lycée Ōsaka “Zuid”", "localhost", &code, None);
        assert!(is_gsm7(&text), "{text:?}");
        assert!(text.contains("is your Lyc"));
        assert!(text.contains("Lycée ?saka \"Zuid\""));
    }
}
