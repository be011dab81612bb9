//! Web Push end to end against a stand-in push service on loopback; an independent
//! implementation (Python `http_ece` and PyJWT) decrypts the payload and checks VAPID.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tweestap_oidc::SigningKey;
use tweestap_push::{PushError, PushOutcome, PushSender, Subscription, Urgency};

/// The Python with http_ece, PyJWT and cryptography, or `None` (reason printed) outside CI.
fn python() -> Option<String> {
    let python = std::env::var("TEST_PUSH_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import http_ece, jwt, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{python} lacks http_ece/PyJWT/cryptography (pip install -r crates/push/tests/requirements.txt)"
        );
    }
    eprintln!("skipped: {python} lacks http_ece, PyJWT or cryptography");
    None
}

fn script() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webpush_check.py").to_string()
}

/// One request to the stand-in push service: its headers and body.
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A push service stand-in: answers one request with `status`, hands over what it got.
async fn push_service(status: u16) -> (String, tokio::task::JoinHandle<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            data.extend_from_slice(&buf[..n]);
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_string();
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                while data.len() < end + 4 + length {
                    let n = socket.read(&mut buf).await.unwrap();
                    data.extend_from_slice(&buf[..n]);
                }
                let body = data[end + 4..end + 4 + length].to_vec();
                let reason = if status == 201 { "Created" } else { "Gone" };
                socket
                    .write_all(
                        format!("HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n\r\n")
                            .as_bytes(),
                    )
                    .await
                    .unwrap();
                return Received { headers, body };
            }
        }
    });
    (
        format!("http://127.0.0.1:{}/push/abc123", addr.port()),
        task,
    )
}

fn check(
    python: &str,
    keys: &serde_json::Value,
    received: &Received,
    origin: &str,
) -> Result<String, String> {
    let job = serde_json::json!({
        "private": keys["private"],
        "auth": keys["auth"],
        "body": URL_SAFE_NO_PAD.encode(&received.body),
        "authorization": received.header("authorization").unwrap_or(""),
        "origin": origin,
    });
    let mut child = Command::new(python)
        .args([script().as_str(), "check"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

fn sender(loopback: bool) -> PushSender {
    let key = SigningKey::generate("vapid".into(), tweestap_core::SigningAlg::Es256).unwrap();
    PushSender::new(key, "mailto:helpdesk@school.example".into(), loopback)
}

#[tokio::test]
async fn an_independent_decryptor_reads_the_message_and_verifies_vapid() {
    let Some(python) = python() else { return };
    let keys: serde_json::Value = serde_json::from_slice(
        &Command::new(&python)
            .args([script().as_str(), "keys"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let (endpoint, service) = push_service(201).await;
    let subscription = Subscription {
        endpoint: endpoint.clone(),
        p256dh: keys["p256dh"].as_str().unwrap().into(),
        auth: keys["auth"].as_str().unwrap().into(),
    };
    let payload = r#"{"request":"r-42","text":"Inloggen bij Testschool? Kies 37"}"#;
    let outcome = sender(true)
        .send(
            &subscription,
            payload.as_bytes(),
            120,
            Urgency::High,
            Some("sign-in"),
            1_800_000_000,
        )
        .await
        .unwrap();
    assert_eq!(outcome, PushOutcome::Delivered);
    let received = service.await.unwrap();
    assert_eq!(received.header("content-encoding"), Some("aes128gcm"));
    assert_eq!(received.header("ttl"), Some("120"));
    assert_eq!(received.header("urgency"), Some("high"));
    assert_eq!(received.header("topic"), Some("sign-in"));
    assert!(
        !received
            .body
            .windows(8)
            .any(|w| w == b"Testschool"[..8].as_ref()),
        "the push service sees no plaintext"
    );
    // The JWT's expiry is checked against the real clock by PyJWT: sign with it.
    let (endpoint2, service2) = push_service(201).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let subscription2 = Subscription {
        endpoint: endpoint2.clone(),
        ..subscription.clone()
    };
    sender(true)
        .send(
            &subscription2,
            payload.as_bytes(),
            120,
            Urgency::High,
            None,
            now,
        )
        .await
        .unwrap();
    let received2 = service2.await.unwrap();
    let origin2 = url::Url::parse(&endpoint2)
        .unwrap()
        .origin()
        .ascii_serialization();
    assert_eq!(
        check(&python, &keys, &received2, &origin2).unwrap(),
        payload
    );
    // The audience carries the port: another origin does not verify.
    assert!(check(&python, &keys, &received2, "http://127.0.0.1").is_err());
    // A flipped bit is refused by the decryptor.
    let mut tampered = Received {
        headers: received2.headers.clone(),
        body: received2.body.clone(),
    };
    let last = tampered.body.len() - 1;
    tampered.body[last] ^= 1;
    assert!(check(&python, &keys, &tampered, &origin2).is_err());
}

#[tokio::test]
async fn a_gone_subscription_is_reported() {
    let (endpoint, service) = push_service(410).await;
    let key = aws_lc_point();
    let outcome = sender(true)
        .send(
            &Subscription {
                endpoint,
                p256dh: key,
                auth: URL_SAFE_NO_PAD.encode([7u8; 16]),
            },
            b"x",
            60,
            Urgency::Normal,
            None,
            1_800_000_000,
        )
        .await
        .unwrap();
    assert_eq!(outcome, PushOutcome::Gone);
    service.await.unwrap();
}

/// A valid P-256 public point for a subscription nobody decrypts.
fn aws_lc_point() -> String {
    let key = SigningKey::generate("x".into(), tweestap_core::SigningAlg::Es256).unwrap();
    URL_SAFE_NO_PAD.encode(key.public_point().unwrap())
}

#[test]
fn endpoints_from_browsers_are_checked() {
    let strict = sender(false);
    for bad in [
        "http://push.example/x",
        "https://127.0.0.1/x",
        "https://10.0.0.8/x",
        "https://192.168.1.1/x",
        "https://localhost/x",
        "ftp://push.example/x",
        "not a url",
        // Not a browser's push service: an intranet host, another port, an IP in disguise.
        "https://intranet.school.lan/x",
        "https://fcm.googleapis.com:8443/x",
        "https://fcm.googleapis.com.attacker.example/x",
        "https://evilfcm.googleapis.com/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://[fe80::1]/x",
        "https://100.64.0.1/x",
    ] {
        assert!(
            matches!(strict.check_endpoint(bad), Err(PushError::BadEndpoint(_))),
            "{bad}"
        );
    }
    assert!(
        strict
            .check_endpoint(&format!("https://push.example/{}", "a".repeat(1000)))
            .is_err()
    );
    for good in [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QAbc",
        "https://wns2-par02p.notify.windows.com/w/?token=abc",
        "https://FCM.googleapis.com./fcm/send/abc",
    ] {
        assert!(strict.check_endpoint(good).is_ok(), "{good}");
    }
    let own = sender(false).with_allowed_hosts(vec!["push.school.example".into()]);
    assert!(own.check_endpoint("https://push.school.example/x").is_ok());
    assert!(own.check_endpoint("https://fcm.googleapis.com/x").is_err());
    assert!(
        sender(true)
            .check_endpoint("http://127.0.0.1:8080/x")
            .is_ok()
    );
}
