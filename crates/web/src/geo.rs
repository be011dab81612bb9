//! "Approximate place" of an address, for people checking their own recent sign-ins: looked
//! up in a MaxMind-format database (GeoLite2 / DB-IP City or Country) when one is configured.
//! Without one, pages show the address itself.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use crate::i18n::Lang;

pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    names: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Record {
    city: Option<Named>,
    country: Option<Named>,
}

fn name(named: &Option<Named>, lang: Lang) -> Option<String> {
    let names = &named.as_ref()?.names;
    names.get(lang.code()).or_else(|| names.get("en")).cloned()
}

impl GeoIp {
    pub fn open(path: &Path) -> Result<GeoIp, String> {
        maxminddb::Reader::open_readfile(path)
            .map(|reader| GeoIp { reader })
            .map_err(|e| format!("cannot read the location database {}: {e}", path.display()))
    }

    /// "Leiden, Nederland", or the country alone; `None` when the address is not in it.
    pub fn place(&self, ip: &str, lang: Lang) -> Option<String> {
        let ip: IpAddr = ip.parse().ok()?;
        let record: Record = self.reader.lookup(ip).ok()?.decode().ok()??;
        match (name(&record.city, lang), name(&record.country, lang)) {
            (Some(city), Some(country)) => Some(format!("{city}, {country}")),
            (None, Some(country)) => Some(country),
            (Some(city), None) => Some(city),
            (None, None) => None,
        }
    }
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GeoIp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_from_the_test_database() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/geoip-test.mmdb"
        );
        let geo = GeoIp::open(Path::new(path)).unwrap();
        assert_eq!(
            geo.place("127.0.0.1", Lang::Nl).as_deref(),
            Some("Leiden, Nederland")
        );
        assert_eq!(
            geo.place("127.0.0.1", Lang::En).as_deref(),
            Some("Leiden, Netherlands")
        );
        assert_eq!(geo.place("::1", Lang::Nl).as_deref(), Some("Nederland"));
        assert_eq!(geo.place("192.0.2.1", Lang::Nl), None);
        assert_eq!(geo.place("not an address", Lang::Nl), None);
        assert!(GeoIp::open(Path::new("/nonexistent.mmdb")).is_err());
    }
}
