use thiserror::Error;

/// The name a user gives one of their methods ("Aegis", "Werklaptop"). It is shown on pages,
/// in texts and on the helpdesk's terminal, so it holds no control characters (a newline
/// would forge lines in `tweestap user show`, an escape sequence would drive the terminal)
/// and no invisible direction overrides (which make a name read as something else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("the name is empty")]
    Empty,
    #[error("the name holds a control character")]
    ControlCharacter,
}

impl Label {
    pub const MAX_CHARS: usize = 40;

    /// Trimmed, and cut to [`Label::MAX_CHARS`] characters.
    pub fn parse(input: &str) -> Result<Label, LabelError> {
        if Self::refuses(input) {
            return Err(LabelError::ControlCharacter);
        }
        let label: String = input.trim().chars().take(Self::MAX_CHARS).collect();
        if label.is_empty() {
            return Err(LabelError::Empty);
        }
        Ok(Label(label))
    }

    /// The input holds what no name may (an empty one is not refused: a default stands in).
    /// Pages check this before anything is used up (a passkey ceremony, an app's secret).
    pub fn refuses(input: &str) -> bool {
        input.trim().chars().any(is_unsafe)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Control characters (C0, DEL, C1) and the bidirectional formatting characters.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_cut() {
        assert_eq!(Label::parse("  Aegis ").unwrap().as_str(), "Aegis");
        assert_eq!(Label::parse(&"x".repeat(50)).unwrap().as_str().len(), 40);
        assert_eq!(Label::parse("Télé 📱").unwrap().as_str(), "Télé 📱");
        assert_eq!(Label::parse("   "), Err(LabelError::Empty));
    }

    #[test]
    fn control_and_direction_characters_are_refused() {
        for bad in [
            "Aegis\n  - [9] sms +31600000000",
            "a\rb",
            "\u{1b}[2Jwiped",
            "tab\there",
            "del\u{7f}",
            "c1\u{85}x",
            "evil\u{202e}gpj.exe",
            "iso\u{2066}late",
        ] {
            assert_eq!(
                Label::parse(bad),
                Err(LabelError::ControlCharacter),
                "{bad:?}"
            );
        }
    }
}
