//! What a change to an account's sign-in methods ends, and who hears about it.

mod support;

use reqwest::StatusCode;
use support::oidc::{ClientKind, authorize_path, code_from};
use support::{Browser, PASSWORD, TestApp, spawn_app};

async fn signed_in_with_sms(app: &TestApp, user: &str) -> Browser {
    let mut browser = app.browser();
    browser.sign_in(user, PASSWORD).await;
    browser.enter_code(&app.last_code()).await;
    browser
}

/// Adds a second phone from the security-info page, confirmed with its own code.
async fn add_phone(app: &TestApp, browser: &mut Browser, number: &str) {
    browser.open("/security-info").await;
    let before = app.sms().len();
    browser
        .post(
            "/security-info/phone",
            &[("country", "NL"), ("phone", number)],
        )
        .await
        .assert_redirect("/security-info/phone");
    let sms = app.wait_for_sms(before + 1).await;
    let code = support::code_in(&sms[before].text);
    browser.open("/security-info/phone").await;
    browser
        .post("/security-info/phone/confirm", &[("code", &code)])
        .await
        .assert_redirect("/security-info?notice=phone-added");
}

/// Review item 12: someone who got in once (a shoulder-surfed code, a borrowed phone) adds
/// their own phone and takes tokens for an application. When the owner removes that phone,
/// the intruder's session, and the tokens it obtained, end with it; the owner stays in.
#[tokio::test]
async fn removing_a_method_ends_the_other_sessions_and_their_tokens() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;

    let mut intruder = signed_in_with_sms(&app, "jan").await;
    app.clock.advance(120);
    add_phone(&app, &mut intruder, "06 87654321").await;
    let page = intruder
        .get(&authorize_path(
            &client,
            &[("scope", "openid offline_access")],
        ))
        .await;
    let (status, tokens) = app.exchange(&client, &code_from(&app, &page)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    app.clock.advance(300);
    let mut owner = signed_in_with_sms(&app, "jan").await;
    let ids = app.method_ids("jan").await;
    let intruders = ids.last().unwrap().to_string();
    owner.open("/security-info").await;
    owner
        .post("/security-info/remove", &[("method", &intruders)])
        .await
        .assert_redirect("/security-info?notice=removed");
    assert_eq!(app.methods_of("jan").await, 1);

    let page = intruder.get("/security-info").await;
    assert!(page.status.is_redirection(), "{}", page.status);
    assert!(page.location.unwrap().starts_with("/sign-in"));
    let (status, answer) = app.refresh(&client, &refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"], "invalid_grant");
    // The owner's own browser is still signed in.
    owner.open("/security-info").await;
    app.stop().await;
}
