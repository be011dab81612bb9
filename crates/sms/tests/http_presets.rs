//! Each preset against a local server that checks the request the way the provider documents
//! it, and answers the way the provider does. (The real providers cannot be reached here.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tweestap_core::PhoneNumber;
use tweestap_core::ports::{OutgoingSms, SmsError, SmsGateway};
use tweestap_sms::{HttpGateway, Preset};

#[derive(Debug, Clone, Default)]
struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

impl Request {
    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A one-route provider stand-in: records the request, answers `status` with `body`.
async fn provider(status: u16, body: &'static str) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body_start, length) = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        break (head, pos + 4, length);
                    }
                };
                while buf.len() < body_start + length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let mut lines = head.lines();
                let first: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                log.lock().unwrap().push(Request {
                    method: first.first().unwrap_or(&"").to_string(),
                    path: first.get(1).unwrap_or(&"").to_string(),
                    headers,
                    body: String::from_utf8_lossy(&buf[body_start..]).to_string(),
                });
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (base, seen)
}

fn gateway(preset: Preset, url: String) -> HttpGateway {
    let mut template = preset.template();
    template.url = url;
    HttpGateway::new(
        preset.name().into(),
        template,
        "AC123".into(),
        "s3cret\"token".into(),
        "School".into(),
        Some("https://login.school.nl/sms/dlr/http".into()),
        Box::new(|r| format!("sig-{r}")),
        Duration::from_secs(2),
    )
}

fn sms() -> OutgoingSms {
    OutgoingSms {
        to: PhoneNumber::from_stored("+31612345678").unwrap(),
        text: "123456 is je code voor \"De School\".\n\n@login.school.nl #123456".into(),
        reference: "ref42".into(),
        valid_for_secs: 540,
    }
}

const TEXT: &str = "123456 is je code voor \"De School\".\n\n@login.school.nl #123456";

#[tokio::test]
async fn cm_com_gets_its_json_message_with_the_product_token() {
    let (base, seen) = provider(200, r#"{"details":"Created 1 message(s)","errorCode":0,"messages":[{"to":"0031612345678","status":"Accepted","reference":"ref42"}]}"#).await;
    gateway(Preset::Cm, format!("{base}/v1.0/message"))
        .send(&sms())
        .await
        .unwrap();
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1.0/message")
    );
    assert_eq!(r.headers["x-cm-producttoken"], "s3cret\"token");
    assert_eq!(r.headers["content-type"], "application/json");
    let j = r.json();
    assert_eq!(
        j["messages"]["authentication"]["producttoken"],
        "s3cret\"token"
    );
    let msg = &j["messages"]["msg"][0];
    assert_eq!(msg["from"], "School");
    assert_eq!(msg["to"][0]["number"], "+31612345678");
    assert_eq!(msg["body"]["content"], TEXT);
    assert_eq!(msg["reference"], "ref42");
}

#[tokio::test]
async fn bird_gets_an_access_key_and_a_report_url() {
    let (base, seen) = provider(
        201,
        r#"{"id":"e8077d803532c0b5937c639b60216938","recipients":{"totalCount":1}}"#,
    )
    .await;
    let accepted = gateway(Preset::Messagebird, format!("{base}/messages"))
        .send(&sms())
        .await
        .unwrap();
    assert_eq!(
        accepted.provider_id.as_deref(),
        Some("e8077d803532c0b5937c639b60216938")
    );
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/messages"));
    assert_eq!(r.headers["authorization"], "AccessKey s3cret\"token");
    let j = r.json();
    assert_eq!(j["originator"], "School");
    assert_eq!(j["recipients"][0], "31612345678");
    assert_eq!(j["body"], TEXT);
    assert_eq!(j["reference"], "ref42");
    assert_eq!(
        j["reportUrl"],
        "https://login.school.nl/sms/dlr/http?ref=ref42&gw=messagebird&sig=sig-ref42:messagebird"
    );
    assert_eq!(j["validity"], 540, "not delivered after the code expires");
}

#[tokio::test]
async fn spryng_gets_a_bearer_token_and_its_route() {
    let (base, seen) = provider(
        200,
        r#"{"id":"9b1b2a6e","encoding":"plain","recipients":["31612345678"]}"#,
    )
    .await;
    gateway(Preset::Spryng, format!("{base}/v1/messages"))
        .send(&sms())
        .await
        .unwrap();
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(r.headers["authorization"], "Bearer s3cret\"token");
    assert_eq!(r.headers["accept"], "application/json");
    let j = r.json();
    assert_eq!(
        (
            j["originator"].as_str(),
            j["route"].as_str(),
            j["encoding"].as_str()
        ),
        (Some("School"), Some("business"), Some("auto"))
    );
    assert_eq!(j["recipients"][0], "31612345678");
    assert_eq!(j["body"], TEXT);
}

#[tokio::test]
async fn twilio_gets_basic_auth_a_form_and_a_status_callback() {
    let (base, seen) = provider(201, r#"{"sid":"SM1234567890abcdef","status":"queued"}"#).await;
    // Twilio's URL carries the account SID.
    let accepted = gateway(
        Preset::Twilio,
        format!("{base}/2010-04-01/Accounts/{{account}}/Messages.json"),
    )
    .send(&sms())
    .await
    .unwrap();
    assert_eq!(accepted.provider_id.as_deref(), Some("SM1234567890abcdef"));
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/2010-04-01/Accounts/AC123/Messages.json")
    );
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode("AC123:s3cret\"token");
    assert_eq!(r.headers["authorization"], format!("Basic {expected}"));
    assert_eq!(
        r.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let f = r.form();
    assert_eq!(f["To"], "+31612345678", "the + survives URL-encoding");
    assert_eq!(f["From"], "School");
    assert_eq!(f["Body"], TEXT);
    assert_eq!(
        f["StatusCallback"],
        "https://login.school.nl/sms/dlr/http?ref=ref42&gw=twilio&sig=sig-ref42:twilio"
    );
    assert_eq!(f["ValidityPeriod"], "540");
}

#[tokio::test]
async fn vonage_success_is_read_from_the_answer_not_the_status() {
    let (base, seen) = provider(200, r#"{"message-count":"1","messages":[{"to":"31612345678","message-id":"0C000000F00ABD35","status":"0"}]}"#).await;
    let accepted = gateway(Preset::Vonage, format!("{base}/sms/json"))
        .send(&sms())
        .await
        .unwrap();
    assert_eq!(accepted.provider_id.as_deref(), Some("0C000000F00ABD35"));
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/sms/json"));
    let f = r.form();
    assert_eq!(
        (f["api_key"].as_str(), f["api_secret"].as_str()),
        ("AC123", "s3cret\"token")
    );
    assert_eq!(
        (f["to"].as_str(), f["from"].as_str()),
        ("31612345678", "School")
    );
    assert_eq!(f["text"], TEXT);
    assert_eq!(f["client-ref"], "ref42");
    assert_eq!(f["ttl"], "540000");
    assert_eq!(f["ttl"], "540000");

    // HTTP 200 with status "2" (missing parameters) is a refusal.
    let (base, _) = provider(
        200,
        r#"{"message-count":"1","messages":[{"status":"2","error-text":"Missing to param"}]}"#,
    )
    .await;
    let err = gateway(Preset::Vonage, format!("{base}/sms/json"))
        .send(&sms())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SmsError::Rejected(ref e) if e.contains("\"2\"")),
        "{err:?}"
    );
}

#[tokio::test]
async fn provider_errors_are_sorted_into_retry_elsewhere_and_refused() {
    for (status, retryable) in [
        (401, false),
        (422, false),
        (429, true),
        (500, true),
        (503, true),
    ] {
        let (base, _) = provider(status, r#"{"error":"nope"}"#).await;
        let err = gateway(Preset::Spryng, format!("{base}/v1/messages"))
            .send(&sms())
            .await
            .unwrap_err();
        assert_eq!(
            matches!(err, SmsError::Unavailable(_)),
            retryable,
            "{status}: {err:?}"
        );
        assert!(!format!("{err}").contains("s3cret"), "no secret in errors");
    }
}
