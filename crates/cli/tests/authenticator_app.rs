//! Authenticator apps, the way a phone takes them: the QR code is read with zbarimg (Debian's
//! zbar-tools) and the codes are computed by oathtool, an independent TOTP implementation.

mod support;

use std::process::Command;

use reqwest::StatusCode;
use support::{Browser, PASSWORD, TestApp, spawn_app};

/// The tools, or `None` (with the reason printed) outside CI when they are not installed.
fn tools() -> Option<()> {
    let have = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have("oathtool") && have("zbarimg") {
        return Some(());
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("oathtool and zbarimg are required under CI (apt-get install oathtool zbar-tools)");
    }
    eprintln!("skipped: oathtool or zbarimg not installed (apt-get install oathtool zbar-tools)");
    None
}

/// What the phone app would show at the server's current time.
fn oathtool(secret: &str, app: &TestApp) -> String {
    let out = Command::new("oathtool")
        .args([
            "--totp",
            "-b",
            "--now",
            &format!("@{}", app.clock_now()),
            secret,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Scans the set-up page's QR code like a phone camera would; returns the otpauth URI.
async fn scan_qr(browser: &mut Browser) -> String {
    scan_qr_at(browser, "/security-info/app/qr.png").await
}

async fn scan_qr_at(browser: &mut Browser, path: &str) -> String {
    let image = browser.get_bytes(path).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qr.png");
    std::fs::write(&path, image).unwrap();
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "zbarimg could not read the QR code");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn signed_in_with_sms(app: &TestApp, user: &str) -> Browser {
    let mut browser = app.browser();
    browser.sign_in(user, PASSWORD).await;
    browser.enter_code(&app.last_code()).await;
    browser
}

/// Sets up an app from the security-info page; returns its base32 secret.
async fn set_up_app(app: &TestApp, browser: &mut Browser) -> String {
    browser.open("/security-info").await;
    let page = browser
        .post("/security-info/app", &[("label", "Aegis")])
        .await;
    page.assert_redirect("/security-info/app");
    let page = browser.open("/security-info/app").await;
    let uri = scan_qr(browser).await;
    assert!(uri.starts_with("otpauth://totp/Testschool:"), "{uri}");
    assert!(uri.contains("issuer=Testschool"), "{uri}");
    let secret = support::oidc::param(&uri, "secret").unwrap();
    // The key for typing is the same secret.
    page.assert_contains(&secret[..4]);
    // The app is not a method until its first code comes back right.
    assert_eq!(app.methods_of("jan").await, 1);
    let page = browser
        .post("/security-info/app/confirm", &[("code", "000000")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.methods_of("jan").await, 1);
    let page = browser
        .post(
            "/security-info/app/confirm",
            &[("code", &oathtool(&secret, app))],
        )
        .await;
    page.assert_redirect("/security-info?notice=app-added");
    assert_eq!(app.methods_of("jan").await, 2);
    secret
}

#[tokio::test]
async fn an_app_set_up_from_its_qr_code_signs_in_and_each_code_works_once() {
    let Some(()) = tools() else { return };
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = signed_in_with_sms(&app, "jan").await;
    let texts = app.sms().len();
    let secret = set_up_app(&app, &mut browser).await;
    // The phone hears about it.
    let sms = app.wait_for_sms(texts + 1).await;
    assert!(
        sms.last().unwrap().text.contains("toegevoegd"),
        "{}",
        sms.last().unwrap().text
    );
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.kind == "method.registered"
                && e.detail.as_deref().unwrap_or("").contains("method=app")),
    );

    // Next sign-in: the app (used last) is asked for, with a fresh code.
    app.clock.advance(60);
    browser.open("/").await;
    browser.post("/sign-out", &[]).await;
    let mut browser = app.browser();
    let page = browser.sign_in("jan", PASSWORD).await;
    page.assert_redirect("/sign-in/app");
    let code = oathtool(&secret, &app);
    browser.open("/sign-in/app").await;
    let page = browser.post("/sign-in/app", &[("code", &code)]).await;
    page.assert_redirect("/");

    // The same code again, in another sign-in within its 30 seconds: refused.
    let mut thief = app.browser();
    thief.sign_in("jan", PASSWORD).await;
    thief.open("/sign-in/app").await;
    let page = thief.post("/sign-in/app", &[("code", &code)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("klopt niet");
    // "Sign in another way" offers the user's own methods: the phone and the app.
    let page = thief.open("/sign-in/other-way").await;
    page.assert_contains("Sms naar +31 6 •••• ••78");
    page.assert_contains("Authenticator-app (Aegis)");
    app.stop().await;
}

#[tokio::test]
async fn skew_is_one_step_either_way() {
    let Some(()) = tools() else { return };
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = signed_in_with_sms(&app, "jan").await;
    let secret = set_up_app(&app, &mut browser).await;
    for (offset, accepted) in [(-30, true), (30, true), (-60, false), (60, false)] {
        app.clock.advance(300);
        let mut b = app.browser();
        b.sign_in("jan", PASSWORD).await;
        b.open("/sign-in/app").await;
        // The phone's clock is `offset` seconds off.
        let code = Command::new("oathtool")
            .args([
                "--totp",
                "-b",
                "--now",
                &format!("@{}", app.clock_now() + offset),
                &secret,
            ])
            .output()
            .unwrap();
        let code = String::from_utf8(code.stdout).unwrap().trim().to_string();
        let page = b.post("/sign-in/app", &[("code", &code)]).await;
        assert_eq!(page.status.is_redirection(), accepted, "offset {offset}");
    }
    app.stop().await;
}

#[tokio::test]
async fn changes_need_a_recent_second_factor_and_the_last_method_stays() {
    let Some(()) = tools() else { return };
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = signed_in_with_sms(&app, "jan").await;
    // A stolen session cookie, 11 minutes after the sign-in, cannot add a method.
    app.clock.advance(660);
    browser.open("/security-info").await;
    let page = browser.post("/security-info/app", &[("label", "x")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("bevestig eerst dat jij het bent");

    // Nor read or finish a set-up that a fresh session of the owner started.
    let mut owner = signed_in_with_sms(&app, "jan").await;
    owner.open("/security-info").await;
    owner.post("/security-info/app", &[("label", "x")]).await;
    owner.open("/security-info/app").await;
    browser
        .get("/security-info/app")
        .await
        .assert_redirect("/security-info");
    assert_eq!(
        browser.get("/security-info/app/qr.png").await.status,
        StatusCode::NOT_FOUND
    );
    let page = browser
        .post("/security-info/app/confirm", &[("code", "123456")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    app.clock.advance(120);

    let mut browser = signed_in_with_sms(&app, "jan").await;
    let page = browser.open("/security-info").await;
    // With one method and MFA required, there is nothing to remove.
    assert!(!page.body.contains("action=\"/security-info/remove\""));
    let phone_id = app.method_ids("jan").await[0];
    let page = browser
        .post(
            "/security-info/remove",
            &[("method", &phone_id.to_string())],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.methods_of("jan").await, 1);

    // With an app as well, the phone can go: announced to that phone, and audited.
    set_up_app(&app, &mut browser).await;
    // Three sign-in codes and the "app added" notice so far.
    let texts = app.wait_for_sms(4).await.len();
    assert_eq!(texts, 4);
    let page = browser
        .post(
            "/security-info/remove",
            &[("method", &phone_id.to_string())],
        )
        .await;
    page.assert_redirect("/security-info?notice=removed");
    assert_eq!(app.methods_of("jan").await, 1);
    let sms = app.wait_for_sms(texts + 1).await;
    assert_eq!(sms.last().unwrap().to, "+31612345678");
    assert!(sms.last().unwrap().text.contains("verwijderd"));
    assert!(app.audit().await.iter().any(|e| e.kind == "method.removed"));
    // Someone else's method id is not found.
    let page = browser
        .post("/security-info/remove", &[("method", "999999")])
        .await;
    page.assert_redirect("/security-info");
    app.stop().await;
}

#[tokio::test]
async fn app_secrets_are_sealed_in_the_database() {
    let Some(()) = tools() else { return };
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = signed_in_with_sms(&app, "jan").await;
    let secret = set_up_app(&app, &mut browser).await;
    let raw = support::oidc::base32_decode(&secret);
    let mut stored = Vec::new();
    for file in ["tweestap.db", "tweestap.db-wal"] {
        stored.extend(std::fs::read(app.config.data_dir.join(file)).unwrap_or_default());
    }
    assert!(!stored.is_empty());
    assert!(!stored.windows(raw.len()).any(|w| w == raw.as_slice()));
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()));
    app.stop().await;
}

#[tokio::test]
async fn the_registration_interrupt_can_set_up_an_app_instead_of_a_phone() {
    let Some(()) = tools() else { return };
    let app = spawn_app().await;
    app.add_user("nieuw", None).await;
    let mut browser = app.browser();
    browser.sign_in("nieuw", PASSWORD).await;
    let page = browser.open("/sign-in/phone").await;
    page.assert_contains("Ik gebruik liever een authenticator-app");
    let page = browser.post("/sign-in/phone/app", &[]).await;
    page.assert_redirect("/sign-in/app-setup");
    browser.open("/sign-in/app-setup").await;
    let uri = scan_qr_at(&mut browser, "/sign-in/app-setup/qr.png").await;
    let secret = support::oidc::param(uri.trim(), "secret").unwrap();
    // Nothing is registered and nobody is signed in before the first code.
    assert_eq!(app.methods_of("nieuw").await, 0);
    assert_eq!(
        browser.get("/").await.location.as_deref(),
        Some("/sign-in/app-setup")
    );
    let page = browser
        .post("/sign-in/app-setup", &[("code", &oathtool(&secret, &app))])
        .await;
    page.assert_redirect("/?welcome=1");
    assert_eq!(app.methods_of("nieuw").await, 1);
    assert_eq!(app.sms().len(), 0, "no phone, no text message");
    app.stop().await;
}

#[tokio::test]
async fn the_user_chooses_which_method_comes_first_unless_policy_wants_the_strongest() {
    let Some(()) = tools() else { return };
    for strongest in [false, true] {
        let app = support::spawn_app_with(|c| c.policy.0.ask_strongest_first = strongest).await;
        app.add_user("jan", Some("+31612345678")).await;
        let mut browser = signed_in_with_sms(&app, "jan").await;
        set_up_app(&app, &mut browser).await;
        let phone = app.method_ids("jan").await[0];
        browser.open("/security-info").await;
        let page = browser
            .post("/security-info/default", &[("method", &phone.to_string())])
            .await;
        page.assert_redirect("/security-info?notice=default");
        app.clock.advance(120);
        let mut next = app.browser();
        let page = next.sign_in("jan", PASSWORD).await;
        let expected = if strongest {
            "/sign-in/app"
        } else {
            "/sign-in/code"
        };
        page.assert_redirect(expected);

        // The helpdesk removes the app (lost phone): the phone is asked again.
        let app_id = app.method_ids("jan").await[1];
        app.admin.remove_method("jan", app_id).await.unwrap();
        assert!(app.admin.remove_method("jan", app_id).await.is_err());
        app.clock.advance(120);
        let mut after = app.browser();
        let page = after.sign_in("jan", PASSWORD).await;
        assert!(
            page.location
                .as_deref()
                .unwrap()
                .starts_with("/sign-in/code"),
            "{:?}",
            page.location
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn after_an_sms_sign_in_users_are_invited_to_use_an_app_a_limited_number_of_times() {
    let Some(()) = tools() else { return };
    let app = support::spawn_app_with(|c| {
        c.policy.0.app_campaign.enabled = true;
        c.policy.0.app_campaign.skips_allowed = 2;
    })
    .await;
    app.add_user("jan", Some("+31612345678")).await;
    for left in [2, 1] {
        app.clock.advance(3600);
        let mut browser = app.browser();
        browser.sign_in("jan", PASSWORD).await;
        let page = browser.enter_code(&app.last_code()).await;
        page.assert_redirect("/security-info/invite");
        let page = browser.open("/security-info/invite").await;
        page.assert_contains(&format!("Niet nu (nog {left} keer)"));
        let page = browser.post("/security-info/invite/skip", &[]).await;
        page.assert_redirect("/");
    }
    // No "not now" left: only setting it up is offered (and a crafted skip is refused).
    app.clock.advance(3600);
    let mut browser = app.browser();
    browser.sign_in("jan", PASSWORD).await;
    browser.enter_code(&app.last_code()).await;
    let page = browser.open("/security-info/invite").await;
    assert!(!page.body.contains("/security-info/invite/skip"));
    let page = browser.post("/security-info/invite/skip", &[]).await;
    page.assert_redirect("/security-info/invite");
    // Setting it up ends the invitations.
    let page = browser.post("/security-info/app", &[("label", "")]).await;
    page.assert_redirect("/security-info/app");
    browser.open("/security-info/app").await;
    let uri = scan_qr(&mut browser).await;
    let secret = support::oidc::param(&uri, "secret").unwrap();
    browser
        .post(
            "/security-info/app/confirm",
            &[("code", &oathtool(&secret, &app))],
        )
        .await;
    // The next sign-in by SMS (chosen as the default) is not interrupted any more.
    let sms_id = app.method_ids("jan").await[0].to_string();
    browser.open("/security-info").await;
    browser
        .post("/security-info/default", &[("method", &sms_id)])
        .await;
    app.clock.advance(3600);
    let mut browser = app.browser();
    let page = browser.sign_in("jan", PASSWORD).await;
    assert!(page.location.unwrap().starts_with("/sign-in/code"));
    let page = browser.enter_code(&app.last_code()).await;
    page.assert_redirect("/");
    app.stop().await;
}

#[tokio::test]
async fn a_second_phone_is_added_after_its_own_code_and_announced() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = signed_in_with_sms(&app, "jan").await;
    // Past the wait between two texts of one account, still within the fresh sign-in.
    app.clock.advance(120);
    browser.open("/security-info").await;
    // The number already registered is refused.
    let page = browser
        .post(
            "/security-info/phone",
            &[("country", "NL"), ("phone", "06 12345678")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("al een van je inlogmethoden");
    let page = browser
        .post(
            "/security-info/phone",
            &[("country", "NL"), ("phone", "06 87654321")],
        )
        .await;
    page.assert_redirect("/security-info/phone");
    let sms = app.wait_for_sms(2).await;
    assert_eq!(sms.last().unwrap().to, "+31687654321");
    assert_eq!(app.methods_of("jan").await, 1, "not before the code");
    let page = browser.open("/security-info/phone").await;
    page.assert_contains("+31 6 •••• ••21");
    let wrong = if app.last_code() == "000000" {
        "111111"
    } else {
        "000000"
    };
    let page = browser
        .post("/security-info/phone/confirm", &[("code", wrong)])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = browser
        .post(
            "/security-info/phone/confirm",
            &[("code", &app.last_code())],
        )
        .await;
    page.assert_redirect("/security-info?notice=phone-added");
    assert_eq!(app.methods_of("jan").await, 2);
    // Both phones hear about it.
    let sms = app.wait_for_sms(4).await;
    let notices: Vec<&str> = sms[2..].iter().map(|m| m.to.as_str()).collect();
    assert!(notices.contains(&"+31612345678") && notices.contains(&"+31687654321"));
    assert!(sms[2..].iter().all(|m| m.text.contains("toegevoegd")));
    app.stop().await;
}

#[tokio::test]
async fn recent_sign_ins_show_time_result_address_and_browser() {
    let app = support::spawn_app_with(|c| {
        c.geoip_database = Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/geoip-test.mmdb"),
        );
    })
    .await;
    app.add_user("jan", Some("+31612345678")).await;
    let phone_ua = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
    let mut attacker = app.browser_with_headers(&[("user-agent", "curl/8.5.0")]);
    attacker.sign_in("jan", "not the password").await;
    let mut browser = app.browser_with_headers(&[("user-agent", phone_ua)]);
    browser.sign_in("jan", PASSWORD).await;
    browser.enter_code(&app.last_code()).await;
    let page = browser.open("/security-info").await;
    page.assert_contains("Recente inlogpogingen");
    page.assert_contains("ingelogd");
    page.assert_contains("Chrome · Android");
    page.assert_contains("verkeerd wachtwoord");
    // The approximate place from the location database, and the address.
    page.assert_contains("Leiden, Nederland (127.0.0.1)");
    page.assert_contains("curl");
    app.stop().await;
}

#[tokio::test]
async fn signing_in_with_the_app_lifts_an_unrequested_code_report_block() {
    let Some(()) = tools() else { return };
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = signed_in_with_sms(&app, "jan").await;
    let secret = set_up_app(&app, &mut browser).await;
    let user = app
        .admin
        .store
        .user_by_username(&tweestap_core::Username::parse("jan").unwrap())
        .await
        .unwrap()
        .unwrap();
    // Someone reported a code they did not ask for: texts to the account stop.
    app.admin
        .store
        .sms_block(
            user.id,
            tweestap_core::Timestamp(app.clock_now() + 86_400),
            None,
            "test",
        )
        .await
        .unwrap();
    let sms_id = app.method_ids("jan").await[0].to_string();
    let try_sms = |mut b: Browser| {
        let sms_id = sms_id.clone();
        async move {
            b.sign_in("jan", PASSWORD).await;
            b.open("/sign-in/other-way").await;
            b.post("/sign-in/other-way", &[("method", &sms_id)]).await
        }
    };
    app.clock.advance(120);
    let page = try_sms(app.browser()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    // The owner signs in with the app: proven another way, the block ends.
    app.clock.advance(120);
    let mut owner = app.browser();
    owner.sign_in("jan", PASSWORD).await;
    owner.open("/sign-in/app").await;
    let page = owner
        .post("/sign-in/app", &[("code", &oathtool(&secret, &app))])
        .await;
    page.assert_redirect("/");
    app.clock.advance(120);
    let page = try_sms(app.browser()).await;
    assert!(
        page.location
            .as_deref()
            .unwrap_or("")
            .starts_with("/sign-in/code"),
        "{} {:?}",
        page.status,
        page.location
    );
    app.stop().await;
}

#[tokio::test]
async fn parallel_app_code_guesses_cannot_pass_the_account_limit() {
    let Some(()) = tools() else { return };
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = signed_in_with_sms(&app, "jan").await;
    let secret = set_up_app(&app, &mut browser).await;
    app.clock.advance(120);
    let mut thief = app.browser();
    thief.sign_in("jan", PASSWORD).await;
    thief.open("/sign-in/app").await;
    let right = oathtool(&secret, &app);
    let wrong: Vec<String> = (0..20)
        .map(|i| format!("{:06}", (i * 7919 + 13) % 1_000_000))
        .filter(|c| *c != right)
        .take(20)
        .collect();
    let mut tasks = Vec::new();
    for code in wrong {
        let mut b = thief.fork();
        tasks.push(tokio::spawn(async move {
            b.post("/sign-in/app", &[("code", &code)]).await.status
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let failures = app
        .audit()
        .await
        .iter()
        .filter(|e| {
            e.outcome == "wrong_app_code" && !e.detail.as_deref().unwrap_or("").contains("setup")
        })
        .count();
    assert!(failures <= 10, "{failures} guesses were checked");
    // Locked now: even the right code is not checked.
    let page = thief.post("/sign-in/app", &[("code", &right)]).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn the_interrupt_adds_an_app_only_as_the_first_method() {
    let Some(()) = tools() else { return };
    let app = spawn_app().await;
    app.add_user("nieuw", None).await;
    let mut browser = app.browser();
    browser.sign_in("nieuw", PASSWORD).await;
    browser.open("/sign-in/phone").await;
    browser.post("/sign-in/phone/app", &[]).await;
    browser.open("/sign-in/app-setup").await;
    let uri = scan_qr_at(&mut browser, "/sign-in/app-setup/qr.png").await;
    let secret = support::oidc::param(uri.trim(), "secret").unwrap();
    // Meanwhile the account got a method (the helpdesk pre-registered the phone).
    app.admin.set_phone("nieuw", "+31612345678").await.unwrap();
    browser
        .post("/sign-in/app-setup", &[("code", &oathtool(&secret, &app))])
        .await;
    let ids = app.method_ids("nieuw").await;
    assert_eq!(ids.len(), 1, "the app was not added as a second method");
    app.stop().await;
}

#[tokio::test]
async fn an_app_code_answers_microsoft_entra() {
    let Some(()) = tools() else { return };
    let Some((app, entra)) = support::entra::spawn_with_entra(|_| {}).await else {
        return;
    };
    app.add_user("jan", Some("+31612345678")).await;
    let mut browser = signed_in_with_sms(&app, "jan").await;
    let secret = set_up_app(&app, &mut browser).await;
    support::entra::link(&app, "jan").await;
    // The app is the account's newest method: Entra's sign-in asks for its code.
    let mut laptop = app.browser();
    let (page, _) =
        support::entra::arrive_in(&mut laptop, &app, &entra, serde_json::json!({})).await;
    page.assert_redirect("/sign-in/app");
    laptop.get("/sign-in/app").await;
    app.clock.advance(30);
    let page = laptop
        .post("/sign-in/app", &[("code", &oathtool(&secret, &app))])
        .await;
    let seen = support::entra::verdict(&entra, &page.body).await;
    assert_eq!(seen["outcome"], "accepted", "{seen}");
    assert_eq!(seen["claims"]["amr"], serde_json::json!(["otp"]));
    app.stop().await;
}
