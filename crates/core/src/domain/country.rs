use std::sync::OnceLock;

/// A country or region a phone number can belong to, with its names in the languages tweestap
/// speaks and its international calling code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2, e.g. "NL".
    pub code: &'static str,
    pub calling_code: u16,
    pub name_en: &'static str,
    pub name_nl: &'static str,
}

impl Country {
    pub fn name(&self, lang: &str) -> &'static str {
        if lang == "en" {
            self.name_en
        } else {
            self.name_nl
        }
    }
}

const TABLE: &str = include_str!("../../data/countries.tsv");

/// Every country the phone-number metadata knows, in table order (alphabetical by code).
pub fn countries() -> &'static [Country] {
    static ALL: OnceLock<Vec<Country>> = OnceLock::new();
    ALL.get_or_init(|| {
        TABLE
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .filter_map(|line| {
                let mut cols = line.split('\t');
                let (code, name_en, name_nl) = (cols.next()?, cols.next()?, cols.next()?);
                // Countries without numbering metadata (e.g. Antarctica) cannot be dialled.
                let meta = phonenumber::metadata::DATABASE.by_id(code)?;
                Some(Country {
                    code,
                    calling_code: meta.country_code(),
                    name_en,
                    name_nl,
                })
            })
            .collect()
    })
}

pub fn country(code: &str) -> Option<&'static Country> {
    countries()
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_netherlands_in_both_languages() {
        let nl = country("nl").unwrap();
        assert_eq!(nl.calling_code, 31);
        assert_eq!(nl.name("nl"), "Nederland");
        assert_eq!(nl.name("en"), "Netherlands");
    }

    #[test]
    fn lists_most_of_the_world() {
        assert!(countries().len() > 230, "{}", countries().len());
        assert_eq!(country("BE").unwrap().calling_code, 32);
    }
}
