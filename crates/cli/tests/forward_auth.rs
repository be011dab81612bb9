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
    // Off to the sign-in, with the way back in the link: nothing is stored for a GET.
    let to = page.location.clone().unwrap();
    assert!(to.starts_with("/sign-in?return_to=%2Fauth%2Fstart"), "{to}");
    let sign_in = browser.open(&to).await;
    let back = support::oidc::hidden(&sign_in.body, "return_to");
    app.add_user("jan", Some("+31612345678")).await;
    browser
        .post(
            "/sign-in",
            &[
                ("username", "jan"),
                ("password", support::PASSWORD),
                ("return_to", &back),
            ],
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
        .set_cookie("__Secure-tweestap-fa=")
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

/// The value of the forward-auth cookie a response sets.
fn forward_auth_cookie(page: &support::Page) -> String {
    let cookie = page
        .set_cookie("tweestap_fa=")
        .expect("the forward-auth cookie");
    cookie["tweestap_fa=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// Review item 1: whoever runs a site behind the proxy sees the forward-auth cookie. Presented
/// as tweestap's own session cookie it must get nothing: no code for an application, no way
/// into the security-info page.
#[tokio::test]
async fn a_forward_auth_cookie_is_not_a_sign_in() {
    let app = app().await;
    let client = app.add_client(support::oidc::ClientKind::default()).await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = app.browser();
    browser.sign_in("jan", support::PASSWORD).await;
    browser.enter_code(&app.last_code()).await;
    let page = browser
        .get("/auth/start?rd=http://wiki.school.example/")
        .await;
    let stolen = forward_auth_cookie(&page);

    let mut wiki_operator =
        app.browser_with_headers(&[("cookie", &format!("tweestap_session={stolen}"))]);
    let silent = support::oidc::authorize_path(&client, &[("prompt", "none")]);
    let page = wiki_operator.get(&silent).await;
    let to = page.location.clone().unwrap();
    assert_eq!(
        support::oidc::param(&to, "error").as_deref(),
        Some("login_required"),
        "{to}"
    );
    assert!(support::oidc::param(&to, "code").is_none(), "{to}");
    let page = wiki_operator.get("/security-info").await;
    assert!(page.status.is_redirection(), "{}", page.status);
    assert!(page.location.unwrap().starts_with("/sign-in"));
    // The cookie itself still works where it belongs.
    let mut proxy = app.browser_with_headers(&[("cookie", &format!("tweestap_fa={stolen}"))]);
    assert_eq!(proxy.get("/auth/nginx").await.status, StatusCode::OK);
    app.stop().await;
}

/// Review item 2: the proxy's cookie lives exactly as long as the sign-in it came from. Its use
/// through the proxy does not keep that sign-in alive, and every way a sign-in ends ends it.
#[tokio::test]
async fn a_forward_auth_cookie_ends_with_its_sign_in() {
    let app = app().await;
    let idle = tweestap_core::policy::SessionPolicy::default().idle_timeout_secs;

    // Idle at tweestap, however busy the wiki is: the wiki asks every 20 minutes.
    let mut browser = signed_in(&app).await;
    let mut elapsed = 0;
    while elapsed + 1200 < idle {
        app.clock.advance(1200);
        elapsed += 1200;
        assert_eq!(browser.get("/auth/nginx").await.status, StatusCode::OK);
    }
    app.clock.advance(idle - elapsed);
    assert_eq!(
        browser.get("/auth/nginx").await.status,
        StatusCode::UNAUTHORIZED
    );

    // A password change and an MFA reset by the helpdesk end it too.
    for end in ["password", "reset-mfa"] {
        let app = self::app().await;
        let mut browser = signed_in(&app).await;
        assert_eq!(browser.get("/auth/nginx").await.status, StatusCode::OK);
        match end {
            "password" => app
                .admin
                .set_password("jan", tweestap_core::Secret::new("another long password"))
                .await
                .unwrap(),
            _ => {
                app.admin.reset_mfa("jan").await.unwrap();
            }
        }
        assert_eq!(
            browser.get("/auth/nginx").await.status,
            StatusCode::UNAUTHORIZED,
            "{end}"
        );
        app.stop().await;
    }
    app.stop().await;
}

/// Review follow-up: a sign-in whose second factor a remembered device skipped gets through
/// the proxy only where the configuration says so.
#[tokio::test]
async fn a_remembered_device_passes_the_proxy_only_when_allowed() {
    for accept in [false, true] {
        let app = spawn_app_with(|c| {
            c.forward_auth.domains = vec!["school.example".into()];
            c.forward_auth.accept_remembered_devices = accept;
            c.policy.0.session.remember_device_days = 30;
        })
        .await;
        app.add_user("jan", Some("+31612345678")).await;
        let mut browser = app.browser();
        browser.sign_in("jan", support::PASSWORD).await;
        browser.open("/sign-in/code").await;
        browser
            .post(
                "/sign-in/code",
                &[("code", &app.last_code()), ("remember", "1")],
            )
            .await;
        browser.open("/").await;
        browser.post("/sign-out", &[]).await;
        // Signed in again on the remembered browser: password only.
        browser
            .sign_in("jan", support::PASSWORD)
            .await
            .assert_redirect("/");
        let page = browser
            .get("/auth/start?rd=http://wiki.school.example/")
            .await;
        if accept {
            page.assert_redirect("http://wiki.school.example/");
            assert_eq!(browser.get("/auth/nginx").await.status, StatusCode::OK);
        } else {
            assert_eq!(page.status, StatusCode::OK, "asks for a second step first");
            page.assert_contains("action=\"/auth/start\"");
            assert_eq!(
                browser.get("/auth/nginx").await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        app.stop().await;
    }
}
