//! An independent SMTP server for tests (`test-sink` feature): Python's aiosmtpd, started from
//! `testing/smtp_sink.py`, with STARTTLS required, one account, and every accepted message
//! kept as a file to read back. The Python comes from `TEST_SMTP_PYTHON` (default `python3`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const USER: &str = "tweestap";
pub const PASSWORD: &str = "smtp-test-password";

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// It came over TLS (after STARTTLS).
    pub tls: bool,
    pub authenticated: bool,
    /// The whole message as it arrived: headers and body.
    pub data: String,
    /// Headers and text as Python's e-mail package decodes them.
    pub from: String,
    pub to: String,
    pub subject: String,
    pub content_type: String,
    pub body: String,
}

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// The Python to run the server with, or `None` (with the reason printed) outside CI when it
/// lacks aiosmtpd. Under `CI=true` a missing server is a failure.
pub fn python() -> Option<String> {
    let python = std::env::var("TEST_SMTP_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import aiosmtpd, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{python} lacks aiosmtpd/cryptography (pip install -r crates/email/testing/requirements.txt)"
        );
    }
    eprintln!("skipped: {python} lacks aiosmtpd or cryptography (the SMTP server for this test)");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SmtpSink {
    /// Starts the server on a free port; `None` when no suitable Python is here (see
    /// [`python`]).
    pub fn start() -> Option<SmtpSink> {
        python()?;
        let mut sink = SmtpSink {
            port: free_port(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            child: None,
        };
        sink.resume();
        Some(sink)
    }

    /// Stops the server (an outage); what it received stays readable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, on the same port with the same certificate.
    pub fn resume(&mut self) {
        let python = python().expect("the Python that started it");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testing/smtp_sink.py");
        let mut child = Command::new(python)
            .arg(script)
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--user", USER, "--password", PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SMTP test server starts");
        let stdout = child.stdout.take().expect("its output");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the SMTP test server says it is ready");
        assert_eq!(line.trim(), "ready", "the SMTP test server did not start");
        self.child = Some(child);
    }

    /// The private CA that signed the server's certificate (for localhost and 127.0.0.1), PEM.
    pub fn certificate_pem(&self) -> Vec<u8> {
        std::fs::read(self.certificate_path()).expect("the certificate")
    }

    pub fn certificate_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The messages received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .map(|p| {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(p).expect("a message file"))
                        .expect("a message record");
                let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                Received {
                    mail_from: v["mail_from"].as_str().unwrap_or_default().to_string(),
                    rcpt_tos: v["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    tls: v["tls"].as_bool().unwrap_or(false),
                    authenticated: v["authenticated"].as_bool().unwrap_or(false),
                    data: text("data"),
                    from: text("from"),
                    to: text("to"),
                    subject: text("subject"),
                    content_type: text("content_type"),
                    body: text("body"),
                }
            })
            .collect()
    }

    /// Waits (up to 10 s) until `count` messages arrived; returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "expected {count} e-mails, the SMTP server got {}",
            self.received().len()
        );
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
