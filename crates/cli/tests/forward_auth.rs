//! Forward-auth for reverse proxies, asked the way nginx, Traefik and Caddy ask. (The test
//! with a real nginx lives in tests/interop/nginx.test.mjs.)

mod support;

use reqwest::StatusCode;
use support::{Browser, TestApp, spawn_app_with};

async fn app() -> TestApp {
    spawn_app_with(|c| {
        c.forward_auth.domains = vec!["school.example".into()];
    })
    .await
}

async fn signed_in(app: &TestApp) -> Browser {
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = app.browser();
    browser.sign_in("jan", support::PASSWORD).await;
    browser.enter_code(&app.last_code()).await;
    browser
        .get("/auth/start?rd=http://wiki.school.example/")
        .await
        .assert_redirect("http://wiki.school.example/");
    browser
}

#[tokio::test]
async fn only_a_signed_in_browser_with_a_second_factor_passes() {
    let app = app().await;
    let mut anonymous = app.browser();
    assert_eq!(
        anonymous.get("/auth/nginx").await.status,
        StatusCode::UNAUTHORIZED
    );

    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = app.browser();
    browser.sign_in("jan", support::PASSWORD).await;
    // The password alone is not enough.
    assert_eq!(
        browser.get("/auth/nginx").await.status,
        StatusCode::UNAUTHORIZED
    );
    browser.enter_code(&app.last_code()).await;
    // Signed in at tweestap, but the proxy's cookie is only handed out on the way back to a
    // protected site: the sign-in session's own cookie never works here.
    assert_eq!(
        browser.get("/auth/nginx").await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = browser
        .get("/auth/start?rd=http://wiki.school.example/")
        .await;
    page.assert_redirect("http://wiki.school.example/");
    let cookie = browser.last_cookie.clone().unwrap();
    assert!(cookie.starts_with("tweestap_fa="), "{cookie}");
    let page = browser.get("/auth/nginx").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["remote-user"], "jan");
    assert_eq!(page.headers["remote-name"], "jan Tester");
    assert!(page.headers.get("remote-subject").is_some());
    assert_ne!(page.headers["remote-subject"], "jan");

    // Signed out: no more.
    browser.open("/").await;
    browser.post("/sign-out", &[]).await;
    assert_eq!(
        browser.get("/auth/nginx").await.status,
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_returns_only_to_configured_domains() {
    let app = app().await;
    let mut browser = app.browser();
    for bad in [
        "http://evil.example/",
        "http://school.example.evil.example/",
        "http://user@school.example/",
        "javascript:alert(1)",
        "/relative",
    ] {
        let page = browser
            .get(&format!(
                "/auth/start?rd={}",
                tweestap_core::oidc::percent_encode(bad)
            ))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(page.location.is_none(), "{bad}");
    }
    let wanted = "http://wiki.school.example/page?x=1";
    let page = browser
        .get(&format!(
            "/auth/start?rd={}",
            tweestap_core::oidc::percent_encode(wanted)
        ))
        .await;
    page.assert_redirect("/sign-in");
    browser.open("/sign-in").await;
    app.add_user("jan", Some("+31612345678")).await;
    browser
        .post(
            "/sign-in",
            &[("username", "jan"), ("password", support::PASSWORD)],
        )
        .await;
    let code_page = browser.open("/sign-in/code").await;
    // The form's redirect chain ends at the protected site: the page's CSP allows it.
    let csp = code_page.headers["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("form-action 'self' http://wiki.school.example"),
        "{csp}"
    );
    let page = browser
        .post("/sign-in/code", &[("code", &app.last_code())])
        .await;
    // Back through /auth/start, which hands out the proxy's cookie, then to the page.
    let to = page.location.clone().unwrap();
    assert!(to.starts_with("/auth/start?rd="), "{to}");
    let page = browser.get(&to).await;
    page.assert_redirect(wanted);
    assert_eq!(browser.get("/auth/nginx").await.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn traefik_style_requests_get_a_redirect_or_the_identity() {
    let app = app().await;
    let proxy_headers = [
        ("x-forwarded-proto", "http"),
        ("x-forwarded-host", "wiki.school.example"),
        ("x-forwarded-uri", "/page"),
    ];
    let mut anonymous = app.browser_with_headers(&proxy_headers);
    let page = anonymous.get("/auth/forward").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let to = page.location.unwrap();
    assert!(
        to.ends_with("/auth/start?rd=http%3A%2F%2Fwiki.school.example%2Fpage"),
        "{to}"
    );
    // A host that is not ours gets no redirect.
    let mut elsewhere = app.browser_with_headers(&[
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-uri", "/"),
    ]);
    assert_eq!(
        elsewhere.get("/auth/forward").await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut browser = signed_in(&app).await;
    let page = browser.get("/auth/forward").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["remote-user"], "jan");
    app.stop().await;
}

#[tokio::test]
async fn the_cookie_is_shared_with_the_parent_domain_when_configured() {
    let app = spawn_app_with(|c| {
        c.public_url = "https://login.school.example".into();
        c.forward_auth.domains = vec!["school.example".into()];
        c.forward_auth.cookie_domain = Some("school.example".into());
    })
    .await;
    // The sign-in session stays host-only…
    let mut browser = app.browser();
    browser.get("/sign-in").await;
    let cookie = browser.last_cookie.clone().unwrap();
    assert!(cookie.starts_with("__Host-tweestap="), "{cookie}");
    assert!(!cookie.contains("Domain="), "{cookie}");
    // …and the forward-auth cookie, its own id, is shared with the parent domain.
    app.add_user("jan", Some("+31612345678")).await;
    browser.sign_in("jan", support::PASSWORD).await;
    browser.enter_code(&app.last_code()).await;
    let page = browser
        .get("/auth/start?rd=https://wiki.school.example/")
        .await;
    page.assert_redirect("https://wiki.school.example/");
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("__Secure-tweestap-fa="))
        .expect("the forward-auth cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("; Domain=school.example"), "{cookie}");
    app.stop().await;

    // A cookie domain that is not a parent of tweestap's own host is refused at start.
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config_for(dir.path());
    config.public_url = "https://login.school.example".into();
    config.forward_auth.domains = vec!["school.example".into()];
    config.forward_auth.cookie_domain = Some("other.example".into());
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("forward_auth.cookie_domain"), "{error}");
}
