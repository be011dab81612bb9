//! Translations (Fluent files in `locales/`, compiled in) and choosing the user's language.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{Loader, static_loader};
use unic_langid::{LanguageIdentifier, langid};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "nl",
        // No Unicode isolation marks around arguments: in an SMS they would force UCS-2
        // encoding (70 instead of 160 characters), and our two languages are both left-to-right.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static NL: LanguageIdentifier = langid!("nl");
static EN: LanguageIdentifier = langid!("en");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Nl,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Nl, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, for the language switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Nl => Lang::En,
            Lang::En => Lang::Nl,
        }
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }

    /// Picks a language: an explicit choice (cookie) wins, then the browser's preferences in
    /// order of quality, then the organisation's default.
    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>, default: Lang) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::parse) {
            return lang;
        }
        let mut offers: Vec<(f32, Lang)> = accept_language
            .unwrap_or("")
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::parse(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        // Stable sort: equal weights keep the browser's order.
        offers.sort_by(|a, b| b.0.total_cmp(&a.0));
        offers.first().map(|(_, l)| *l).unwrap_or(default)
    }
}

/// An argument for a translated message.
pub enum Arg<'a> {
    Str(&'a str),
    Num(i64),
}

pub fn t(lang: Lang, key: &str, args: &[(&str, Arg<'_>)]) -> String {
    if args.is_empty() {
        return LOCALES.lookup(lang.id(), key);
    }
    let map: HashMap<Cow<'static, str>, FluentValue> = args
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Arg::Str(s) => FluentValue::from(s.to_string()),
                Arg::Num(n) => FluentValue::from(*n),
            };
            (Cow::Owned(k.to_string()), value)
        })
        .collect();
    LOCALES.lookup_with_args(lang.id(), key, &map)
}

/// Whether a key exists in a language (no fallback), for the completeness test.
pub fn has_key(lang: Lang, key: &str) -> bool {
    // A message with variables only formats when they are given: offer every name we use.
    let args: HashMap<Cow<'static, str>, FluentValue> = [
        "org", "phone", "code", "minutes", "seconds", "left", "name", "date", "country", "id",
        "link", "until", "app", "username", "days", "left", "device", "browser", "place",
    ]
    .into_iter()
    .map(|name| (Cow::Borrowed(name), FluentValue::from(1)))
    .collect();
    LOCALES
        .try_lookup_with_args(lang.id(), key, &args)
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(src: &str) -> Vec<String> {
        src.lines()
            .filter_map(|l| l.split_once(" =").map(|(k, _)| k))
            .filter(|k| !k.starts_with(['#', ' ']) && !k.is_empty())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_key_exists_in_every_language() {
        let nl = keys(include_str!("../locales/nl/main.ftl"));
        let en = keys(include_str!("../locales/en/main.ftl"));
        assert!(nl.len() > 50);
        assert!(
            !has_key(Lang::Nl, "no-such-key"),
            "the check itself must be able to fail"
        );
        assert_eq!(
            nl, en,
            "the two files must define the same keys in the same order"
        );
        for key in &nl {
            for lang in Lang::ALL {
                assert!(has_key(lang, key), "{key} missing in {}", lang.code());
            }
        }
    }

    #[test]
    fn templates_only_use_keys_that_exist() {
        // Every page template the application has.
        let templates = crate::templates::PAGES.iter().map(|(_, src)| *src);
        for src in templates {
            for piece in src.split("t(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                assert!(
                    has_key(Lang::Nl, key) && has_key(Lang::En, key),
                    "unknown key {key}"
                );
            }
        }
    }

    #[test]
    fn plurals_and_arguments() {
        assert_eq!(
            t(Lang::Nl, "error-code-wrong", &[("left", Arg::Num(1))]),
            "Deze code klopt niet. Je kunt het nog 1 keer proberen."
        );
        assert_eq!(
            t(Lang::En, "error-code-wrong", &[("left", Arg::Num(3))]),
            "This code is wrong. You have 3 tries left."
        );
        let msg = t(
            Lang::Nl,
            "code-intro",
            &[("phone", Arg::Str("+31 6 •••• ••78"))],
        );
        assert!(msg.contains("+31 6 •••• ••78") && !msg.contains('\u{2068}'));
    }

    #[test]
    fn negotiation_prefers_cookie_then_quality() {
        assert_eq!(Lang::negotiate(Some("en"), Some("nl"), Lang::Nl), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("de-DE, en;q=0.8, nl;q=0.9"), Lang::Nl),
            Lang::Nl
        );
        assert_eq!(
            Lang::negotiate(None, Some("en-GB,en;q=0.9"), Lang::Nl),
            Lang::En
        );
        assert_eq!(Lang::negotiate(None, Some("fr"), Lang::En), Lang::En);
        assert_eq!(Lang::negotiate(None, None, Lang::Nl), Lang::Nl);
    }
}
