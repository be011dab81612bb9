//! The rows of an export of a tenant's phone methods (Microsoft Graph
//! `users/{id}/authentication/phoneMethods`), checked before anything is written: which
//! numbers become a pre-registered SMS method, which are reported, which are wrong.

use super::config::{EamConfig, is_tenant_id};
use crate::domain::{NewUser, PhoneNumber, Username};
use crate::ports::PhoneImport;

/// One line of the export, as read.
#[derive(Debug, Clone, Default)]
pub struct ExportRow {
    pub line: usize,
    pub user_principal_name: String,
    pub object_id: String,
    pub tenant_id: String,
    pub phone_number: String,
    pub phone_type: String,
}

/// What the rows come to.
#[derive(Debug, Default)]
pub struct Checked {
    pub imports: Vec<PhoneImport>,
    /// Rows left out on purpose (voice-only numbers, repeated rows), with why.
    pub notices: Vec<(usize, String)>,
    /// Rows that are wrong; with any, nothing is imported.
    pub problems: Vec<(usize, String)>,
}

/// Checks every row: a configured tenant, an object id, a user principal name that is a
/// username, and a mobile number in an allowed country for `mobile` rows (only those can
/// receive a text; `alternateMobile` and `office` are voice-only and reported).
pub fn check(
    rows: &[ExportRow],
    config: &EamConfig,
    region: &str,
    allowed_countries: &[String],
) -> Checked {
    let mut out = Checked::default();
    for row in rows {
        let tenant_id = row.tenant_id.trim().to_lowercase();
        let object_id = row.object_id.trim().to_lowercase();
        let mut problem = |text: String| out.problems.push((row.line, text));
        if config.tenant_by_id(&tenant_id).is_none() {
            problem(format!(
                "tenant {:?} is not one of the configured [[entra.tenants]]",
                row.tenant_id
            ));
            continue;
        }
        if !is_tenant_id(&object_id) {
            problem(format!("object id {:?} is not a GUID", row.object_id));
            continue;
        }
        let username = match Username::parse(&row.user_principal_name) {
            Ok(u) => u,
            Err(e) => {
                problem(format!(
                    "user principal name {:?}: {e}",
                    row.user_principal_name
                ));
                continue;
            }
        };
        match row.phone_type.trim() {
            t if t.eq_ignore_ascii_case("mobile") => {}
            t if t.eq_ignore_ascii_case("alternateMobile") || t.eq_ignore_ascii_case("office") => {
                out.notices.push((
                    row.line,
                    format!(
                        "{}: {t} numbers are for calls only; not imported",
                        username.as_str()
                    ),
                ));
                continue;
            }
            other => {
                problem(format!(
                    "phone type {other:?} is not mobile, alternateMobile or office"
                ));
                continue;
            }
        }
        let phone = match PhoneNumber::parse(&row.phone_number, region, allowed_countries) {
            Ok(p) => p,
            Err(e) => {
                problem(format!("number {:?}: {e}", row.phone_number));
                continue;
            }
        };
        let earlier = out
            .imports
            .iter()
            .find(|i| i.tenant_id == tenant_id && i.object_id == object_id);
        if let Some(earlier) = earlier {
            if earlier.phone == phone {
                out.notices
                    .push((row.line, format!("repeats line {}; skipped", earlier.line)));
            } else {
                problem(format!(
                    "object id {object_id} has another mobile number on line {}",
                    earlier.line
                ));
            }
            continue;
        }
        if let Some(earlier) = out.imports.iter().find(|i| i.user.username == username) {
            problem(format!(
                "{} is on line {} with another object id",
                username.as_str(),
                earlier.line
            ));
            continue;
        }
        out.imports.push(PhoneImport {
            line: row.line,
            tenant_id,
            object_id,
            user: NewUser {
                display_name: username.as_str().to_string(),
                username,
                email: None,
                password_hash: None,
                phone: None,
            },
            phone,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eam::config::{Cloud, Tenant, UnknownUsers};

    const TID: &str = "5c3a1f7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b";

    fn config() -> EamConfig {
        EamConfig {
            issuer: "https://x/entra".into(),
            tenants: vec![Tenant {
                name: "s".into(),
                tenant_ids: vec![TID.into()],
                app_id: "a".into(),
                client_id: "c".into(),
                clouds: vec![Cloud::Global],
                unknown_users: UnknownUsers::Refuse,
                link_by_username: false,
            }],
            test_authority: None,
        }
    }

    fn row(line: usize, upn: &str, oid: &str, phone: &str, kind: &str) -> ExportRow {
        ExportRow {
            line,
            user_principal_name: upn.into(),
            object_id: oid.into(),
            tenant_id: TID.to_uppercase(),
            phone_number: phone.into(),
            phone_type: kind.into(),
        }
    }

    #[test]
    fn mobile_numbers_are_imported_and_the_rest_reported_by_line() {
        let a = "11111111-1111-4111-8111-111111111111";
        let b = "22222222-2222-4222-8222-222222222222";
        let rows = vec![
            row(2, "jan@school.nl", a, "+31 612345678", "mobile"),
            row(3, "jan@school.nl", a, "+31 612345678", "mobile"),
            row(4, "piet@school.nl", b, "+31 201234567", "office"),
            row(5, "piet@school.nl", b, "+31 201234567", "mobile"),
            row(6, "kees@school.nl", "not-a-guid", "+31 612345679", "mobile"),
            row(
                7,
                "anna@school.nl",
                "33333333-3333-4333-8333-333333333333",
                "+31 6123",
                "mobile",
            ),
            ExportRow {
                tenant_id: "44444444-4444-4444-8444-444444444444".into(),
                ..row(8, "x@y.nl", a, "+31 612345678", "mobile")
            },
            row(
                9,
                "jan@school.nl",
                "55555555-5555-4555-8555-555555555555",
                "+31 612345670",
                "mobile",
            ),
        ];
        let checked = check(&rows, &config(), "NL", &["NL".into()]);
        assert_eq!(checked.imports.len(), 1);
        assert_eq!(checked.imports[0].phone.e164(), "+31612345678");
        assert_eq!(checked.imports[0].tenant_id, TID);
        let lines = |v: &[(usize, String)]| v.iter().map(|(l, _)| *l).collect::<Vec<_>>();
        assert_eq!(lines(&checked.notices), [3, 4]);
        assert_eq!(
            lines(&checked.problems),
            [5, 6, 7, 8, 9],
            "{:?}",
            checked.problems
        );
        assert!(
            checked.problems[0].1.contains("mobile"),
            "{:?}",
            checked.problems[0]
        );
    }
}
