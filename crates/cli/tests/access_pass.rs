//! Temporary access passes: the helpdesk gets a user who lost their phone back in, once, to
//! register a new method.

mod support;

use reqwest::StatusCode;
use support::{PASSWORD, spawn_app};

#[tokio::test]
async fn a_pass_stands_in_for_the_lost_phone_once_then_a_new_method_is_added() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    // Without a pass nothing is offered.
    let mut browser = app.browser();
    browser.sign_in("jan", PASSWORD).await;
    let page = browser.open("/sign-in/other-way").await;
    assert!(!page.body.contains("/sign-in/pass"));
    browser
        .get("/sign-in/pass")
        .await
        .assert_redirect("/sign-in/code");

    let (pass, _) = app
        .admin
        .issue_access_pass("jan", 3600, true)
        .await
        .unwrap();
    assert_eq!(pass.len(), 19, "{pass}");
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.kind == "admin.access_pass_issued")
    );
    let page = browser.open("/sign-in/other-way").await;
    page.assert_contains("tijdelijke toegangscode");
    browser.open("/sign-in/pass").await;
    let page = browser
        .post("/sign-in/pass", &[("pass", "AAAA-BBBB-CCCC-DDDD")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Typed loosely (lower case, spaces) it still works; straight to the security-info page.
    let typed = pass.to_lowercase().replace('-', " ");
    let page = browser.post("/sign-in/pass", &[("pass", &typed)]).await;
    page.assert_redirect("/security-info");
    browser.open("/security-info").await;
    app.clock.advance(120);
    let page = browser
        .post(
            "/security-info/phone",
            &[("country", "NL"), ("phone", "06 87654321")],
        )
        .await;
    page.assert_redirect("/security-info/phone");

    // Once: the next sign-in is not offered it, and a replayed pass is refused.
    app.clock.advance(120);
    let mut again = app.browser();
    again.sign_in("jan", PASSWORD).await;
    let page = again.open("/sign-in/other-way").await;
    assert!(!page.body.contains("/sign-in/pass"));
    let page = again.post("/sign-in/pass", &[("pass", &pass)]).await;
    assert!(page.status.is_redirection());
    assert!(
        !page
            .location
            .unwrap_or_default()
            .starts_with("/security-info")
    );

    // Stored as a hash only.
    let mut stored = Vec::new();
    for file in ["tweestap.db", "tweestap.db-wal"] {
        stored.extend(std::fs::read(app.config.data_dir.join(file)).unwrap_or_default());
    }
    let plain = pass.replace('-', "");
    assert!(!stored.windows(plain.len()).any(|w| w == plain.as_bytes()));
    assert!(!stored.windows(pass.len()).any(|w| w == pass.as_bytes()));
    app.stop().await;
}

#[tokio::test]
async fn an_expired_pass_does_nothing_and_it_never_skips_the_password() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let (pass, _) = app
        .admin
        .issue_access_pass("jan", 600, false)
        .await
        .unwrap();
    // The password still comes first.
    let mut browser = app.browser();
    let page = browser.get("/sign-in/pass").await;
    page.assert_redirect("/sign-in");
    app.clock.advance(601);
    browser.sign_in("jan", PASSWORD).await;
    let page = browser.open("/sign-in/other-way").await;
    assert!(!page.body.contains("/sign-in/pass"), "expired");
    let page = browser.post("/sign-in/pass", &[("pass", &pass)]).await;
    assert!(
        !page
            .location
            .unwrap_or_default()
            .starts_with("/security-info")
    );
    app.stop().await;
}
