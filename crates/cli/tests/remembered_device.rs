//! "Don't ask again on this device": it skips the second factor for the same user on the same
//! browser, never the password, and ends on revoke, password change, MFA reset and expiry.

mod support;

use reqwest::StatusCode;
use support::{Browser, PASSWORD, TestApp, spawn_app_with};

async fn app() -> TestApp {
    spawn_app_with(|c| c.policy.0.session.remember_device_days = 30).await
}

/// Signs in with the SMS code and "don't ask again" ticked.
async fn remember(app: &TestApp, browser: &mut Browser, user: &str) {
    browser.sign_in(user, PASSWORD).await;
    let page = browser.open("/sign-in/code").await;
    page.assert_contains("Niet meer vragen op dit apparaat gedurende 30 dagen");
    let page = browser
        .post(
            "/sign-in/code",
            &[("code", &app.last_code()), ("remember", "1")],
        )
        .await;
    let cookie = page
        .set_cookie("tweestap_device=")
        .expect("a device cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Max-Age=2592000"),
        "{cookie}"
    );
}

async fn sign_out(browser: &mut Browser) {
    browser.open("/").await;
    browser.post("/sign-out", &[]).await;
}

#[tokio::test]
async fn a_remembered_device_skips_the_code_but_never_the_password() {
    let app = app().await;
    app.add_user("jan", Some("+31612345678")).await;
    app.add_user("piet", Some("+31687654321")).await;
    let mut browser = app.browser();
    remember(&app, &mut browser, "jan").await;
    sign_out(&mut browser).await;
    let texts = app.sms().len();

    // Password right: straight in, no code sent.
    app.clock.advance(3600);
    let page = browser.sign_in("jan", PASSWORD).await;
    page.assert_redirect("/");
    assert_eq!(app.sms().len(), texts);
    // Without a real second factor, the methods cannot be changed (a stolen laptop).
    browser.open("/security-info").await;
    let page = browser.post("/security-info/app", &[("label", "x")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // "Confirm it's you" asks for the code even on this remembered browser, then allows it.
    browser.open("/security-info").await;
    browser
        .post("/security-info/verify", &[])
        .await
        .assert_redirect("/sign-in");
    let page = browser.sign_in("jan", PASSWORD).await;
    assert!(page.location.unwrap().starts_with("/sign-in/code"));
    let page = browser.enter_code(&app.last_code()).await;
    page.assert_redirect("/security-info");
    browser.open("/security-info").await;
    let page = browser.post("/security-info/app", &[("label", "x")]).await;
    page.assert_redirect("/security-info/app");
    sign_out(&mut browser).await;
    // Password wrong: nothing.
    let page = browser.sign_in("jan", "wrong password").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Another user on the same browser still needs a code.
    let page = browser.sign_in("piet", PASSWORD).await;
    assert!(page.location.unwrap().starts_with("/sign-in/code"));
    browser.open("/sign-in/code").await;
    browser.post("/sign-in/cancel", &[]).await;

    // Listed on the security-info page, and forgotten from there.
    let page = browser.sign_in("jan", PASSWORD).await;
    page.assert_redirect("/");
    let page = browser.open("/security-info").await;
    page.assert_contains("Apparaten die niet om een tweede stap vragen");
    let id = page
        .body
        .split("name=\"device\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let page = browser
        .post("/security-info/device/forget", &[("device", &id)])
        .await;
    page.assert_redirect("/security-info?notice=device");
    sign_out(&mut browser).await;
    app.clock.advance(120);
    let page = browser.sign_in("jan", PASSWORD).await;
    assert!(page.location.unwrap().starts_with("/sign-in/code"));
    app.stop().await;
}

#[tokio::test]
async fn password_change_mfa_reset_admin_and_expiry_end_it() {
    let app = app().await;
    app.add_user("jan", Some("+31612345678")).await;
    for ending in ["password", "reset", "admin", "expiry"] {
        app.clock.advance(3600);
        let mut browser = app.browser();
        remember(&app, &mut browser, "jan").await;
        sign_out(&mut browser).await;
        match ending {
            "password" => {
                app.admin
                    .set_password("jan", tweestap_core::Secret::new(PASSWORD))
                    .await
                    .unwrap();
            }
            "reset" => {
                app.admin.reset_mfa("jan").await.unwrap();
                app.admin.set_phone("jan", "+31612345678").await.unwrap();
            }
            "admin" => {
                assert_eq!(app.admin.forget_devices("jan").await.unwrap(), 1);
            }
            _ => app.clock.advance(31 * 86_400),
        }
        app.clock.advance(3600);
        let page = browser.sign_in("jan", PASSWORD).await;
        assert!(
            page.location
                .as_deref()
                .unwrap_or("")
                .starts_with("/sign-in/code"),
            "{ending}: {:?}",
            page.location
        );
        browser.post("/sign-in/cancel", &[]).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn not_offered_unless_the_policy_says_so() {
    let app = support::spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = app.browser();
    browser.sign_in("jan", PASSWORD).await;
    let page = browser.open("/sign-in/code").await;
    assert!(!page.body.contains("name=\"remember\""));
    // Ticking it anyway (a crafted form) remembers nothing.
    let page = browser
        .post(
            "/sign-in/code",
            &[("code", &app.last_code()), ("remember", "1")],
        )
        .await;
    assert!(
        !page
            .headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("tweestap_device="))
    );
    app.stop().await;
}

/// Review item 13: on https the device cookie carries the `__Host-` prefix, so a sibling
/// subdomain can neither plant nor overwrite it.
#[tokio::test]
async fn on_https_the_device_cookie_is_host_only_and_prefixed() {
    let app = spawn_app_with(|c| {
        c.public_url = "https://login.school.example".into();
        c.policy.0.session.remember_device_days = 30;
    })
    .await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = app.browser();
    browser.sign_in("jan", PASSWORD).await;
    browser.open("/sign-in/code").await;
    let page = browser
        .post(
            "/sign-in/code",
            &[("code", &app.last_code()), ("remember", "1")],
        )
        .await;
    let cookie = page
        .set_cookie("__Host-tweestap-device=")
        .expect("a __Host- device cookie");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    sign_out(&mut browser).await;
    // And it is what the next sign-in looks for.
    let page = browser.sign_in("jan", PASSWORD).await;
    page.assert_redirect("/");
    app.stop().await;
}

/// Review item 7: a remembered device skips the code, and says so: the ID token claims no MFA.
/// An application that requires MFA, `prompt=login` and `max_age` get a real sign-in with a
/// real second factor, also from a browser that is signed out.
#[tokio::test]
async fn a_remembered_device_never_stands_in_where_a_second_factor_is_required() {
    use support::oidc::{ClientKind, authorize_path, code_from, hidden};
    let app = app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let plain = app.add_client(ClientKind::default()).await;
    let strict = app
        .add_client(ClientKind {
            require_mfa: true,
            ..ClientKind::default()
        })
        .await;
    let mut browser = app.browser();
    remember(&app, &mut browser, "jan").await;
    sign_out(&mut browser).await;
    app.clock.advance(120);

    // The plain application gets what really happened: password and a remembered device.
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&plain, &[]), "jan")
        .await;
    let (_, tokens) = app.exchange(&plain, &code_from(&app, &page)).await;
    let claims = app
        .verify_id_token(tokens["id_token"].as_str().unwrap(), &plain)
        .await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "remembered"]));
    assert_eq!(claims["acr"], "urn:tweestap:acr:pwd");

    // The one that requires MFA asks for the second step: a sign-in again, where the
    // remembered device does not stand in (a second factor alone, approved out of habit,
    // must not make an unattended browser's sign-in fresh).
    let texts = app.sms().len();
    let page = browser.get(&authorize_path(&strict, &[])).await;
    page.assert_contains("action=\"/oauth2/step-up\"");
    let request = hidden(&page.body, "request");
    let page = browser
        .post(
            "/oauth2/step-up",
            &[("request", &request), ("decision", "continue")],
        )
        .await;
    page.assert_redirect("/sign-in");
    browser
        .sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    assert_eq!(app.wait_for_sms(texts + 1).await.len(), texts + 1);
    let page = browser.enter_code(&app.last_code()).await;
    let back = page.location.clone().unwrap();
    assert!(back.starts_with("/oauth2/authorize?"), "{back}");
    let page = browser.get(&back).await;
    let (_, tokens) = app.exchange(&strict, &code_from(&app, &page)).await;
    let claims = app
        .verify_id_token(tokens["id_token"].as_str().unwrap(), &strict)
        .await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "sms", "mfa"]));

    // prompt=login and max_age: password and a real second factor, remembered device or not,
    // signed in or signed out.
    for (extra, signed_out) in [
        (("prompt", "login"), false),
        (("max_age", "0"), false),
        (("prompt", "login"), true),
        (("max_age", "60"), true),
    ] {
        app.clock.advance(120);
        if signed_out {
            sign_out(&mut browser).await;
        }
        let texts = app.sms().len();
        let path = authorize_path(&plain, &[extra]);
        let page = browser.authorize_signing_in(&app, &path, "jan").await;
        assert!(app.sms().len() > texts, "{extra:?}: no code was asked for");
        let (_, tokens) = app.exchange(&plain, &code_from(&app, &page)).await;
        let claims = app
            .verify_id_token(tokens["id_token"].as_str().unwrap(), &plain)
            .await;
        assert_eq!(
            claims["amr"],
            serde_json::json!(["pwd", "sms", "mfa"]),
            "{extra:?}"
        );
    }
    app.stop().await;
}
