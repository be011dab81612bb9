use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;
use tweestap_core::ports::{Accepted, OutgoingSms, SmsError, SmsGateway};

/// Writes each message as one JSON line to a file instead of sending it: for development, the
/// demo and tests. The file is the only place a code appears in clear text, by design.
pub struct OutboxGateway {
    path: PathBuf,
    // One writer at a time, so lines never interleave.
    lock: Mutex<()>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutboxMessage {
    pub to: String,
    pub text: String,
    pub created_at: String,
    pub reference: String,
}

impl OutboxGateway {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OutboxGateway {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl SmsGateway for OutboxGateway {
    fn name(&self) -> &str {
        "outbox"
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SmsError> {
        let created_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| SmsError::Unavailable(e.to_string()))?;
        let mut line = serde_json::to_string(&OutboxMessage {
            to: sms.to.e164().to_string(),
            text: sms.text.clone(),
            created_at,
            reference: sms.reference.clone(),
        })
        .map_err(|e| SmsError::Rejected(e.to_string()))?;
        line.push('\n');
        let _guard = self.lock.lock().await;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| SmsError::Unavailable(format!("{}: {e}", dir.display())))?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| SmsError::Unavailable(format!("{}: {e}", self.path.display())))?;
        file.write_all(line.as_bytes())
            .await
            .map_err(|e| SmsError::Unavailable(e.to_string()))?;
        file.flush()
            .await
            .map_err(|e| SmsError::Unavailable(e.to_string()))?;
        Ok(Accepted::default())
    }
}

/// Reads every message in an outbox file, oldest first. A missing file is an empty outbox.
pub fn read_outbox(path: &Path) -> std::io::Result<Vec<OutboxMessage>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tweestap_core::PhoneNumber;

    #[tokio::test]
    async fn appends_one_json_line_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/outbox.jsonl");
        let gw = OutboxGateway::new(&path);
        for text in ["first", "second\nline"] {
            gw.send(&OutgoingSms {
                to: PhoneNumber::from_stored("+31612345678").unwrap(),
                text: text.into(),
                reference: "r1".into(),
                valid_for_secs: 600,
            })
            .await
            .unwrap();
        }
        let raw = std::fs::read_to_string(&path).unwrap();
        assert_eq!(raw.lines().count(), 2);
        let messages = read_outbox(&path).unwrap();
        assert_eq!(messages[0].to, "+31612345678");
        assert_eq!(messages[1].text, "second\nline");
        assert!(messages[0].created_at.contains('T'));
    }

    #[tokio::test]
    async fn an_unwritable_path_is_reported_as_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let gw = OutboxGateway::new(file.join("outbox.jsonl"));
        let err = gw
            .send(&OutgoingSms {
                to: PhoneNumber::from_stored("+31612345678").unwrap(),
                text: "x".into(),
                reference: "r".into(),
                valid_for_secs: 600,
            })
            .await
            .unwrap_err();
        assert!(matches!(err, SmsError::Unavailable(_)));
    }
}
