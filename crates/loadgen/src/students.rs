//! The people who sign in: read from a `tweestap user import` file, or written as one.

use std::path::Path;

/// One account the load signs in with.
#[derive(Debug, Clone)]
pub struct Student {
    pub username: String,
    /// The number its code goes to, as the outbox writes it (E.164).
    pub phone: String,
    pub password: String,
}

/// Reads an import file (username, display name, e-mail, phone, password or PHC hash). Rows
/// with a hash sign in with `password`; rows without a phone cannot do an SMS sign-in and are
/// skipped.
pub fn read(path: &Path, password: Option<&str>) -> Result<Vec<Student>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut students = Vec::new();
    for (line, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("{}: {e}", path.display()))?;
        let field = |i: usize| row.get(i).unwrap_or("").trim().to_string();
        let (username, phone, secret) = (field(0), field(3), field(4));
        if line == 0 && username.eq_ignore_ascii_case("username") {
            continue;
        }
        if phone.is_empty() {
            continue;
        }
        let password = if secret.starts_with("$argon2") {
            password
                .ok_or_else(|| {
                    format!(
                        "{}: line {} holds a password hash; give the password with --password",
                        path.display(),
                        line + 1
                    )
                })?
                .to_string()
        } else {
            secret
        };
        students.push(Student {
            username,
            phone: e164(&phone),
            password,
        });
    }
    if students.is_empty() {
        return Err(format!(
            "{}: no account with a phone number",
            path.display()
        ));
    }
    Ok(students)
}

/// Dutch mobile numbers as written in an import (06…, 0031…, +31…) as the outbox writes them.
fn e164(phone: &str) -> String {
    let digits: String = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if phone.trim_start().starts_with('+') {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("+31{rest}")
    } else {
        format!("+{digits}")
    }
}

/// Writes `count` students, each with their own 06 number, all with one password hash (hashing
/// 20,000 passwords would take minutes and measure nothing the load does not measure anyway).
pub fn write(path: &Path, count: u32, password: &str) -> Result<(), String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(b"tweestap-loadgen").map_err(|e| e.to_string())?;
    let hash = crate::ceiling::argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string();
    let mut writer =
        csv::Writer::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for i in 0..count {
        writer
            .write_record([
                format!("student{i:05}"),
                format!("Student {i}"),
                String::new(),
                format!("06{:08}", 20_000_000 + i),
                hash.clone(),
            ])
            .map_err(|e| e.to_string())?;
    }
    writer.flush().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_the_outbox_writes_them() {
        assert_eq!(e164("06 12345678"), "+31612345678");
        assert_eq!(e164("0031612345678"), "+31612345678");
        assert_eq!(e164("+32 470 12 34 56"), "+32470123456");
    }

    #[test]
    fn a_written_file_reads_back_with_the_password() {
        let dir = std::env::temp_dir().join(format!("loadgen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("students.csv");
        write(&path, 3, "Zomer-Vakantie-2026").unwrap();
        assert!(read(&path, None).is_err(), "a hash needs --password");
        let students = read(&path, Some("Zomer-Vakantie-2026")).unwrap();
        assert_eq!(students.len(), 3);
        assert_eq!(students[2].username, "student00002");
        assert_eq!(students[2].phone, "+31620000002");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
