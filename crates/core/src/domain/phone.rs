use std::str::FromStr;

use phonenumber::{Mode, Type, country::Id};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A mobile phone number that can receive SMS, in E.164 form ("+31612345678").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    e164: String,
    country: String,
}

#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum PhoneError {
    #[error("no phone number was given")]
    Empty,
    #[error("this is not a phone number")]
    NotANumber,
    #[error("the number is too short")]
    TooShort,
    #[error("the number is too long")]
    TooLong,
    #[error("this number does not exist in its country's numbering plan")]
    Invalid,
    #[error("this is not a mobile number (it is a {0})")]
    NotMobile(&'static str),
    #[error("numbers from {0} are not accepted here")]
    CountryNotAllowed(String),
    #[error("unknown country {0}")]
    UnknownCountry(String),
}

impl PhoneNumber {
    /// Reads what people type ("06 12345678", "0612345678", "+31 6 1234 5678", "0031612345678")
    /// with `region` as the country for numbers written without a country code. Only mobile
    /// numbers in an allowed country are accepted.
    pub fn parse(input: &str, region: &str, allowed: &[String]) -> Result<PhoneNumber, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if trimmed
            .chars()
            .any(|c| !(c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | '/')))
        {
            return Err(PhoneError::NotANumber);
        }
        let id = Id::from_str(&region.to_ascii_uppercase())
            .map_err(|_| PhoneError::UnknownCountry(region.to_string()))?;
        let parsed = phonenumber::parse(Some(id), trimmed).map_err(|e| match e {
            phonenumber::ParseError::TooShortNsn | phonenumber::ParseError::TooShortAfterIdd => {
                PhoneError::TooShort
            }
            phonenumber::ParseError::TooLong => PhoneError::TooLong,
            _ => PhoneError::NotANumber,
        })?;
        let digits = parsed.national().value().to_string().len();
        if !parsed.is_valid() {
            // Say "too short" / "too long" where that is what is wrong; people mistype digits.
            return Err(match digits {
                0..=6 => PhoneError::TooShort,
                16.. => PhoneError::TooLong,
                _ if parsed.code().value() == 31 && digits < 9 => PhoneError::TooShort,
                _ if parsed.code().value() == 31 && digits > 9 => PhoneError::TooLong,
                _ => PhoneError::Invalid,
            });
        }
        let country = parsed
            .country()
            .id()
            .map(|id| id.as_ref().to_string())
            .ok_or(PhoneError::Invalid)?;
        match parsed.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => {}
            other => return Err(PhoneError::NotMobile(type_name(other))),
        }
        let e164 = parsed.format().mode(Mode::E164).to_string();
        // Dutch 097 numbers are "mobile" in the plan but reserved for machine-to-machine SIMs,
        // which cannot receive a text from a person's service.
        if e164.starts_with("+3197") {
            return Err(PhoneError::NotMobile("machine-to-machine number"));
        }
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&country)) {
            return Err(PhoneError::CountryNotAllowed(country));
        }
        Ok(PhoneNumber { e164, country })
    }

    /// Trusts a value that was validated before it was stored (E.164 from our own database).
    pub fn from_stored(e164: &str) -> Result<PhoneNumber, PhoneError> {
        let parsed = phonenumber::parse(None, e164).map_err(|_| PhoneError::NotANumber)?;
        let country = parsed
            .country()
            .id()
            .map(|id| id.as_ref().to_string())
            .ok_or(PhoneError::Invalid)?;
        Ok(PhoneNumber {
            e164: parsed.format().mode(Mode::E164).to_string(),
            country,
        })
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// ISO 3166-1 alpha-2 of the number's country.
    pub fn country(&self) -> &str {
        &self.country
    }

    /// The number as shown on screen: country code, first digit and last two digits visible,
    /// e.g. "+31 6 •••• ••78".
    pub fn masked(&self) -> String {
        let calling_code = super::country(&self.country)
            .map(|c| c.calling_code.to_string())
            .unwrap_or_default();
        let national = self
            .e164
            .trim_start_matches('+')
            .strip_prefix(calling_code.as_str())
            .unwrap_or(&self.e164[1..]);
        let chars: Vec<char> = national.chars().collect();
        if chars.len() < 4 {
            return format!("+{calling_code} ••••");
        }
        let hidden = chars.len() - 3;
        let mut middle = String::new();
        for i in 0..hidden {
            if i > 0 && i % 4 == 0 {
                middle.push(' ');
            }
            middle.push('•');
        }
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("+{calling_code} {} {middle}{tail}", chars[0])
    }
}

fn type_name(t: Type) -> &'static str {
    match t {
        Type::FixedLine => "landline number",
        Type::TollFree => "toll-free number",
        Type::PremiumRate => "premium-rate number",
        Type::SharedCost => "shared-cost number",
        Type::Voip => "VoIP number",
        Type::PersonalNumber => "personal number",
        Type::Pager => "pager number",
        Type::Uan => "company number",
        Type::Voicemail => "voicemail number",
        _ => "number of an unknown kind",
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneNumber::from_stored(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> String {
        value.e164
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl() -> Vec<String> {
        vec!["NL".to_string()]
    }

    #[test]
    fn the_ways_people_type_a_dutch_mobile_number_all_mean_the_same() {
        for input in [
            "06 12345678",
            "0612345678",
            "+31 6 1234 5678",
            "0031612345678",
            "06-12345678",
            "+31 (0)6 12345678",
        ] {
            let n =
                PhoneNumber::parse(input, "NL", &nl()).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.e164(), "+31612345678", "{input}");
            assert_eq!(n.country(), "NL");
        }
    }

    #[test]
    fn refuses_landlines_short_numbers_and_other_countries() {
        assert!(matches!(
            PhoneNumber::parse("071 5123456", "NL", &nl()),
            Err(PhoneError::NotMobile(_))
        ));
        assert_eq!(
            PhoneNumber::parse("06 1234", "NL", &nl()),
            Err(PhoneError::TooShort)
        );
        assert_eq!(
            PhoneNumber::parse("06 123456789", "NL", &nl()),
            Err(PhoneError::TooLong)
        );
        assert_eq!(
            PhoneNumber::parse("+32 470 12 34 56", "NL", &nl()),
            Err(PhoneError::CountryNotAllowed("BE".into()))
        );
        assert_eq!(
            PhoneNumber::parse("bel me", "NL", &nl()),
            Err(PhoneError::NotANumber)
        );
        assert_eq!(
            PhoneNumber::parse("  ", "NL", &nl()),
            Err(PhoneError::Empty)
        );
    }

    #[test]
    fn refuses_premium_rate_and_machine_numbers() {
        assert!(matches!(
            PhoneNumber::parse("0900 1234567", "NL", &nl()),
            Err(PhoneError::NotMobile(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("097 012345678", "NL", &nl()),
            Err(PhoneError::NotMobile(_) | PhoneError::Invalid)
        ));
    }

    #[test]
    fn accepts_an_allowed_foreign_number() {
        let allowed = vec!["NL".to_string(), "BE".to_string()];
        let n = PhoneNumber::parse("0470 12 34 56", "BE", &allowed).unwrap();
        assert_eq!(n.e164(), "+32470123456");
    }

    #[test]
    fn masks_all_but_the_first_and_last_two_digits() {
        let n = PhoneNumber::parse("0612345678", "NL", &nl()).unwrap();
        assert_eq!(n.masked(), "+31 6 •••• ••78");
    }

    #[test]
    fn round_trips_through_storage() {
        let n = PhoneNumber::parse("0612345678", "NL", &nl()).unwrap();
        assert_eq!(PhoneNumber::from_stored(n.e164()).unwrap(), n);
    }
}
