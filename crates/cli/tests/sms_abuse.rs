//! Toll-fraud defences seen from outside: reports of unrequested codes, budgets per client
//! network, the conversion alarm, and the delivery-report endpoint's signature check.

mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use support::{PASSWORD, spawn_app, spawn_app_with};
use tweestap_core::metrics::Metrics;
use tweestap_core::ports::{Clock, Store};
use tweestap_sms::ConversionWatch;

fn report_link(text: &str) -> String {
    let start = text.find("/r/").expect("the text has a report link");
    text[start..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test]
async fn the_owner_can_report_an_unrequested_code_and_no_more_codes_go_out() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut attacker = app.browser();
    attacker
        .sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    let text = app.sms()[0].text.clone();
    assert!(
        text.contains("Niet aangevraagd? http://localhost:8080/r/"),
        "{text}"
    );
    let link = report_link(&text);

    // The phone's owner opens the link: it explains, and only a button reports.
    let mut owner = app.browser();
    let page = owner.open(&link).await;
    page.assert_contains("Heb je niet om deze code gevraagd?");
    page.assert_contains("+31 6 •••• ••78");
    assert!(
        app.audit()
            .await
            .iter()
            .all(|e| e.kind != "sms.reported_unrequested"),
        "opening is not reporting"
    );
    let page = owner.post(&link, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Bedankt voor je melding");
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.kind == "sms.reported_unrequested" && e.outcome == "blocked")
    );

    // No more codes for this account, also not after the cooldown.
    app.clock.advance(3600);
    let mut again = app.browser();
    again
        .sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code?problem=blocked");
    again
        .open("/sign-in/code?problem=blocked")
        .await
        .assert_contains("Voor dit account sturen we tijdelijk geen codes");
    assert_eq!(app.sms().len(), 1);
    // A link works once.
    let page = owner.post(&link, &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // The helpdesk lifts the block.
    assert!(app.admin.unblock_sms("jan").await.unwrap());
    let mut later = app.browser();
    later
        .sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    assert_eq!(app.sms().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn one_client_network_cannot_make_more_than_its_share_of_codes() {
    let app = spawn_app_with(|c| c.policy.0.sms.max_sends_per_network_per_hour = 3).await;
    for i in 0..4 {
        app.add_user(&format!("user{i}"), Some(&format!("06 1234567{i}")))
            .await;
    }
    for i in 0..3 {
        app.browser()
            .sign_in(&format!("user{i}"), PASSWORD)
            .await
            .assert_redirect("/sign-in/code");
    }
    let mut b = app.browser();
    b.sign_in("user3", PASSWORD)
        .await
        .assert_redirect("/sign-in/code?problem=network-budget");
    b.open("/sign-in/code?problem=network-budget")
        .await
        .assert_contains("Er worden nu te veel codes gevraagd.");
    assert_eq!(app.sms().len(), 3);
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.kind == "sms.send_refused" && e.outcome == "network_budget")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_global_hourly_budget_stops_everything() {
    let app = spawn_app_with(|c| {
        c.policy.0.sms.max_sends_per_hour = 2;
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    for i in 0..3 {
        app.add_user(&format!("user{i}"), Some(&format!("06 1234567{i}")))
            .await;
    }
    // Different client addresses, different numbers: only the global budget applies.
    for i in 0..3 {
        let addr = format!("198.51.100.{i}");
        let mut b = app.browser_with_headers(&[("x-forwarded-for", &addr)]);
        let page = b.sign_in(&format!("user{i}"), PASSWORD).await;
        let expected = if i < 2 {
            "/sign-in/code"
        } else {
            "/sign-in/code?problem=global-budget"
        };
        page.assert_redirect(expected);
    }
    assert_eq!(app.sms().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn the_per_country_budget_holds_across_accounts_and_networks() {
    let app = spawn_app_with(|c| {
        c.policy.0.sms.max_sends_per_country_per_hour = 2;
        c.policy.0.allowed_countries = vec!["NL".into(), "BE".into()];
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    app.add_user("nl1", Some("06 12345671")).await;
    app.add_user("nl2", Some("06 12345672")).await;
    app.add_user("nl3", Some("06 12345673")).await;
    app.add_user("be1", Some("+32 470 12 34 56")).await;
    for (i, (user, expected)) in [
        ("nl1", "/sign-in/code"),
        ("nl2", "/sign-in/code"),
        ("nl3", "/sign-in/code?problem=country-budget"),
        // Another country has its own budget.
        ("be1", "/sign-in/code"),
    ]
    .into_iter()
    .enumerate()
    {
        let addr = format!("203.0.113.{i}");
        let mut b = app.browser_with_headers(&[("x-forwarded-for", &addr)]);
        b.sign_in(user, PASSWORD).await.assert_redirect(expected);
    }
    assert_eq!(app.sms().len(), 3);
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.kind == "sms.send_refused" && e.outcome == "country_budget")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_global_daily_budget_stops_everything() {
    let app = spawn_app_with(|c| c.policy.0.sms.max_sends_per_day = 1).await;
    app.add_user("a", Some("06 12345671")).await;
    app.add_user("b", Some("06 12345672")).await;
    app.browser()
        .sign_in("a", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    app.clock.advance(2 * 3600);
    app.browser()
        .sign_in("b", PASSWORD)
        .await
        .assert_redirect("/sign-in/code?problem=global-budget");
    app.clock.advance(23 * 3600);
    app.browser()
        .sign_in("b", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    app.stop().await;
}

#[tokio::test]
async fn a_number_from_a_country_no_longer_allowed_gets_no_code() {
    let app = spawn_app().await;
    // A Belgian number registered while Belgium was allowed (written straight to the store).
    app.add_user("be", None).await;
    let (user, _) = app.admin.find("be").await.unwrap();
    let phone = tweestap_core::PhoneNumber::from_stored("+32470123456").unwrap();
    app.admin
        .store
        .replace_phone(user.id, &phone, app.clock.now())
        .await
        .unwrap();
    let mut b = app.browser();
    b.sign_in("be", PASSWORD)
        .await
        .assert_redirect("/sign-in/code?problem=number-not-allowed");
    b.open("/sign-in/code?problem=number-not-allowed")
        .await
        .assert_contains("Naar dit nummer sturen we geen codes meer.");
    assert!(app.sms().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn few_used_codes_raise_the_pumping_alarm() {
    let app = spawn_app_with(|c| {
        c.policy.0.sms.max_sends_per_network_per_hour = 100;
    })
    .await;
    for i in 0..5 {
        app.add_user(&format!("user{i}"), Some(&format!("06 1234567{i}")))
            .await;
        app.browser()
            .sign_in(&format!("user{i}"), PASSWORD)
            .await
            .assert_redirect("/sign-in/code");
    }
    let mut policy = app.config.policy.0.sms.clone();
    policy.alert_min_sent = 5;
    let metrics = Arc::new(Metrics::default());
    let watch = ConversionWatch::new(
        app.admin.store.clone() as Arc<dyn Store>,
        app.clock.clone(),
        metrics.clone(),
        policy,
    );
    assert!(
        watch.check().await.unwrap(),
        "5 sent, 0 used: below the 50% threshold"
    );
    assert!(!watch.check().await.unwrap(), "one alert per hour");
    assert_eq!(
        metrics
            .sms_pumping_alerts
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert!(
        metrics
            .render()
            .contains("tweestap_sms_verified_ratio 0.000")
    );
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.kind == "sms.conversion_alert")
    );
    app.stop().await;
}

#[tokio::test]
async fn delivery_reports_need_our_signature_and_metrics_are_exposed() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let forged = client
        .get(format!(
            "{}/sms/dlr/kannel?ref=abc&sig=0000&type=1",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let metrics = client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("tweestap_sms_sent_total")
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_only_for_loopback_and_configured_scrapers() {
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let client = reqwest::Client::new();
    // Through the proxy, for an outside client: hidden.
    let outside = client
        .get(format!("{}/metrics", app.base))
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::NOT_FOUND);
    app.stop().await;

    let app = spawn_app_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
        c.metrics_allow = vec!["198.51.100.7".into()];
    })
    .await;
    let scraper = client
        .get(format!("{}/metrics", app.base))
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(scraper.status(), StatusCode::OK);
    app.stop().await;
}

/// Review item 5: a request a proxy forwarded (it carries X-Forwarded-For) is never taken for
/// one from this machine, whoever the proxy is: /metrics answers it 404.
#[tokio::test]
async fn a_forwarded_request_is_not_loopback_for_the_metrics() {
    let app = support::spawn_app().await;
    assert_eq!(app.browser().get("/metrics").await.status, StatusCode::OK);
    let mut proxied = app.browser_with_headers(&[("x-forwarded-for", "203.0.113.9")]);
    assert_eq!(proxied.get("/metrics").await.status, StatusCode::NOT_FOUND);
    let mut trusted_elsewhere = app.browser_with_headers(&[("forwarded", "for=203.0.113.9")]);
    assert_eq!(
        trusted_elsewhere.get("/metrics").await.status,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}
