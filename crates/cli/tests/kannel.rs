//! A sign-in code through a real Kannel: tweestap → smsbox → bearerbox → fake SMS centre,
//! and the delivery report back to tweestap.

mod support;

use std::time::{Duration, Instant};

use support::kannel::{self, Kannel};
use support::{PASSWORD, spawn_app_with};
use tweestap::config::GatewayConfig;
use tweestap_core::ports::SmsState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_travels_through_kannel_and_its_delivery_report_comes_back() {
    let Some(kannel) = Kannel::start() else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = kannel.sendsms_url.clone();
    let app = spawn_app_with(move |c| {
        c.listen = format!("127.0.0.1:{port}");
        // Kannel must reach us for delivery reports.
        c.public_url = format!("http://127.0.0.1:{port}");
        c.sms.gateways = vec![GatewayConfig::Kannel {
            url,
            username: kannel::USER.into(),
            password: Some(tweestap::config::Redacted(kannel::PASSWORD.into())),
            password_file: None,
            password_env: None,
            from: Some("Tweestap".into()),
            timeout_secs: 5,
            delivery_reports: true,
        }];
    })
    .await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = app.browser();
    b.sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");

    // The fake SMS centre prints each line of the text; the last one is "@host #123456".
    let started = Instant::now();
    let code = loop {
        let received = kannel.received();
        if let Some(pos) = received.find("#") {
            let digits: String = received[pos + 1..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if digits.len() == 6 {
                assert!(received.contains("+31612345678"), "{received}");
                break digits;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nothing arrived at the SMS centre:\n{received}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!kannel.received().contains(kannel::PASSWORD));

    b.enter_code(&code).await.assert_redirect("/");

    // The delivery report (type 1) reaches us through the signed dlr-url.
    let (_, methods) = app.admin.find("jan").await.unwrap();
    assert_eq!(methods.len(), 1);
    let started = Instant::now();
    loop {
        let messages = app.admin.store.sms_list(None, 10).await.unwrap();
        let m = &messages[0];
        if m.state == SmsState::Delivered {
            assert_eq!(m.gateway.as_deref(), Some("kannel"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no delivery report: {m:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}
