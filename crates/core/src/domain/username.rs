use serde::{Deserialize, Serialize};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

/// A username as tweestap compares it: trimmed, Unicode NFKC-normalised and lower-cased, so that
/// "Jan.Jansen", "jan.jansen " and a decomposed "ë" all name the same account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UsernameError {
    #[error("the username is empty")]
    Empty,
    #[error("the username is longer than {max} characters")]
    TooLong { max: usize },
    #[error("the username contains {0:?}; use letters, digits and . _ - @ only")]
    BadCharacter(char),
}

impl Username {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(input: &str) -> Result<Username, UsernameError> {
        let folded: String = input.trim().nfkc().collect::<String>().to_lowercase();
        // Lower-casing can produce decomposed forms (e.g. "İ"); normalise once more.
        let normalised: String = folded.nfkc().collect();
        if normalised.is_empty() {
            return Err(UsernameError::Empty);
        }
        if normalised.chars().count() > Self::MAX_CHARS {
            return Err(UsernameError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if let Some(bad) = normalised
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '\'')))
        {
            return Err(UsernameError::BadCharacter(bad));
        }
        Ok(Username(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Username::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> String {
        value.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_whitespace_do_not_matter() {
        assert_eq!(
            Username::parse(" Jan.Jansen ").unwrap(),
            Username::parse("jan.jansen").unwrap()
        );
    }

    #[test]
    fn composed_and_decomposed_forms_are_the_same_user() {
        let composed = Username::parse("no\u{00eb}l").unwrap();
        let decomposed = Username::parse("noe\u{0308}l").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(composed.as_str(), "noël");
    }

    #[test]
    fn rejects_empty_long_and_odd_characters() {
        assert_eq!(Username::parse("   "), Err(UsernameError::Empty));
        assert!(matches!(
            Username::parse(&"a".repeat(65)),
            Err(UsernameError::TooLong { .. })
        ));
        assert_eq!(
            Username::parse("jan jansen"),
            Err(UsernameError::BadCharacter(' '))
        );
        assert_eq!(
            Username::parse("jan\r\nadmin"),
            Err(UsernameError::BadCharacter('\r'))
        );
    }

    #[test]
    fn accepts_email_style_names() {
        assert!(Username::parse("j.jansen@school.nl").is_ok());
    }
}
