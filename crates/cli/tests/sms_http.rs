//! An HTTP provider (the Twilio preset) end to end: the code goes out as the provider's
//! documented form, and the provider's status callback marks it delivered.

mod support;

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use support::{PASSWORD, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tweestap::config::{GatewayConfig, HttpGatewayConfig, Redacted};
use tweestap_core::ports::SmsState;

/// Answers like Twilio's Messages API (201 Created) and keeps each form it was sent.
async fn twilio_stand_in() -> (String, Arc<Mutex<Vec<String>>>) {
    stand_in("201 Created", r#"{"sid":"SM0123456789","status":"queued"}"#).await
}

/// A provider stand-in that answers every request with `status` and `body`.
async fn stand_in(status: &'static str, body: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let forms = Arc::new(Mutex::new(Vec::new()));
    let log = forms.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some(pos) = text.find("\r\n\r\n") {
                        let length: usize = text[..pos]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if data.len() >= pos + 4 + length {
                            log.lock().unwrap().push(text[pos + 4..].to_string());
                            break;
                        }
                    }
                }
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (base, forms)
}

#[tokio::test]
async fn a_code_goes_out_through_the_twilio_preset_and_the_status_callback_is_believed_only_when_signed()
 {
    let (base, forms) = twilio_stand_in().await;
    let app = spawn_app_with(move |c| {
        c.sms.gateways = vec![GatewayConfig::Http(HttpGatewayConfig {
            preset: Some(tweestap_sms::Preset::Twilio),
            url: Some(format!(
                "{base}/2010-04-01/Accounts/{{account}}/Messages.json"
            )),
            account: Some("AC0000".into()),
            secret: Some(Redacted("twilio-token".into())),
            from: Some("+3197010000000".into()),
            ..Default::default()
        })];
    })
    .await;
    app.add_user("jan", Some("0612345678")).await;
    app.browser()
        .sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");

    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(forms.lock().unwrap()[0].as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["To"], "+31612345678");
    assert!(form["Body"].contains("is je code voor Testschool"));
    let callback = form["StatusCallback"].clone();
    assert!(
        callback.starts_with("http://localhost:8080/sms/dlr/http?ref="),
        "{callback}"
    );
    let path = callback.trim_start_matches("http://localhost:8080");
    let messages = app.admin.store.sms_list(None, 10).await.unwrap();
    assert_eq!(
        (messages[0].state, messages[0].gateway.as_deref()),
        (SmsState::Sent, Some("twilio"))
    );

    // Twilio posts MessageStatus to the callback; a forged signature is refused.
    let client = reqwest::Client::new();
    let forged = path.replace("sig=", "sig=00");
    let answer = client
        .post(format!("{}{forged}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("MessageSid=SM0123456789&MessageStatus=delivered")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let answer = client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("MessageSid=SM0123456789&MessageStatus=delivered")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        app.admin.store.sms_list(None, 10).await.unwrap()[0].state,
        SmsState::Delivered
    );
    app.stop().await;
}

#[tokio::test]
async fn account_wide_reports_from_cm_and_spryng_need_the_gateway_token() {
    let (cm, _) = stand_in(
        "200 OK",
        r#"{"details":"Created 1 message(s)","errorCode":0}"#,
    )
    .await;
    let app = spawn_app_with(move |c| {
        c.sms.gateways = vec![
            GatewayConfig::Http(HttpGatewayConfig {
                preset: Some(tweestap_sms::Preset::Cm),
                url: Some(format!("{cm}/v1.0/message")),
                secret: Some(Redacted("product-token".into())),
                ..Default::default()
            }),
            GatewayConfig::Http(HttpGatewayConfig {
                preset: Some(tweestap_sms::Preset::Spryng),
                url: Some("http://127.0.0.1:9/v1/messages".into()),
                secret: Some(Redacted("spryng-token".into())),
                ..Default::default()
            }),
        ];
    })
    .await;
    app.add_user("jan", Some("0612345678")).await;
    app.browser()
        .sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    let reference = app.admin.store.sms_list(None, 1).await.unwrap()[0]
        .reference
        .clone();
    let client = reqwest::Client::new();
    let url = |gw: &str, token: &str| format!("{}/sms/dlr/account?gw={gw}&token={token}", app.base);
    let cm_token = app.keys.callback.sign("account-report:cm");
    let spryng_token = app.keys.callback.sign("account-report:spryng");
    let cm_report = format!(
        r#"{{"messages":{{"msg":{{"received":"2026-11-25T10:00:00","to":"0031612345678","reference":"{reference}","status":{{"code":"2","errorCode":"","errorDescription":""}}}}}}}}"#
    );
    // A wrong token, or another gateway's token, is refused.
    let wrong = client
        .post(url("cm", &spryng_token))
        .body(cm_report.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    // Spryng reporting on a message CM sent changes nothing.
    let other = client
        .get(format!(
            "{}&REFERENCE={reference}&STATUS=Not+Delivered",
            url("spryng", &spryng_token)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(
        app.admin.store.sms_list(None, 1).await.unwrap()[0].state,
        SmsState::Sent
    );
    // CM's own report counts.
    let ok = client
        .post(url("cm", &cm_token))
        .header("content-type", "application/json")
        .body(cm_report)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        app.admin.store.sms_list(None, 1).await.unwrap()[0].state,
        SmsState::Delivered
    );
    app.stop().await;
}
