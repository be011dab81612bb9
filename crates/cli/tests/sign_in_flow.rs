//! The whole sign-in over real HTTP: registration, later sign-ins, pre-registered phones,
//! reset, and the choices in between.

mod support;

use reqwest::StatusCode;
use support::{PASSWORD, spawn_app, spawn_app_with};

#[tokio::test]
async fn first_sign_in_registers_a_phone_then_later_sign_ins_ask_for_a_code() {
    let app = spawn_app().await;
    app.add_user("student", None).await;
    let mut b = app.browser();

    // 1. Password → the "secure your account" interrupt, which carries the phone form.
    let page = b.sign_in("Student", PASSWORD).await;
    page.assert_redirect("/sign-in/phone");
    let page = b.open("/sign-in/phone").await;
    page.assert_contains("Beveilig je account");
    page.assert_contains("<option value=\"NL\" selected>Nederland (+31)</option>");
    page.assert_contains("autocomplete=\"tel-national\"");
    assert!(
        app.sms().is_empty(),
        "nothing is sent before a number is given"
    );

    // 2. The number as people type it → a code by SMS.
    let page = b
        .post(
            "/sign-in/phone",
            &[("country", "NL"), ("phone", "06 12345678")],
        )
        .await;
    page.assert_redirect("/sign-in/code");
    let sms = app.sms();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].to, "+31612345678");
    let code = app.last_code();
    assert!(
        sms[0]
            .text
            .starts_with(&format!("{code} is je code voor Testschool")),
        "{}",
        sms[0].text
    );
    assert!(
        sms[0].text.ends_with(&format!("\n@localhost #{code}")),
        "{}",
        sms[0].text
    );

    let page = b.open("/sign-in/code").await;
    page.assert_contains("+31 6 •••• ••78");
    page.assert_contains("autocomplete=\"one-time-code\"");
    page.assert_contains("inputmode=\"numeric\"");

    // 3. The code → where the user was going, which says it is all set (no page of its own:
    // two screens, phone and code, for the whole registration).
    let page = b.post("/sign-in/code", &[("code", &code)]).await;
    page.assert_redirect("/?welcome=1");
    let page = b.open("/?welcome=1").await;
    page.assert_contains("Klaar! Je tweede stap is ingesteld");
    page.assert_contains("student Tester");
    page.assert_contains("+31 6 •••• ••78");

    let (_, methods) = app.admin.find("student").await.unwrap();
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].phone().unwrap().e164(), "+31612345678");

    // Sign out; the old session is gone.
    let page = b.post("/sign-out", &[]).await;
    page.assert_redirect("/sign-in?signed_out=1");
    b.get("/").await.assert_redirect("/sign-in");

    // Later: password → straight to the code, which is sent at once.
    app.clock.advance(120);
    let page = b.sign_in("student", PASSWORD).await;
    page.assert_redirect("/sign-in/code");
    // The code, the notice of the first method (review item 11), the new code.
    let texts = app.wait_for_sms(3).await;
    assert_eq!(texts.len(), 3);
    assert!(
        texts[1].text.contains("deze telefoon is nu de tweede stap"),
        "{texts:?}"
    );
    let page = b.open("/sign-in/code").await;
    page.assert_contains("We hebben een sms gestuurd naar +31 6 •••• ••78");
    page.assert_contains("Log op een andere manier in");
    let page = b.post("/sign-in/code", &[("code", &app.last_code())]).await;
    page.assert_redirect("/");
    b.open("/").await.assert_contains("Je bent ingelogd");

    let events: Vec<(String, String)> = app
        .audit()
        .await
        .into_iter()
        .map(|e| (e.kind, e.outcome))
        .collect();
    let expect = [
        ("admin.user_added", "ok"),
        ("sign_in.password", "ok"),
        ("sms.code_sent", "queued"),
        ("sign_in.code", "ok"),
        ("method.registered", "ok"),
        ("sign_in.completed", "ok"),
        ("method.change_announced", "ok"),
        ("sign_out", "ok"),
        ("sign_in.password", "ok"),
        ("sms.code_sent", "queued"),
        ("sign_in.code", "ok"),
        ("sign_in.completed", "ok"),
    ];
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|(k, o)| (k.as_str(), o.as_str()))
        .collect();
    assert_eq!(got, expect);
    app.stop().await;
}

#[tokio::test]
async fn a_pre_registered_phone_skips_registration() {
    let app = spawn_app().await;
    app.add_user("docent", None).await;
    app.admin
        .set_phone("docent", "0031 6 87654321")
        .await
        .unwrap();
    let mut b = app.browser();
    b.sign_in("docent", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    assert_eq!(app.sms()[0].to, "+31687654321");
    b.enter_code(&app.last_code()).await.assert_redirect("/");
    app.stop().await;
}

#[tokio::test]
async fn reset_mfa_makes_the_user_register_again() {
    let app = spawn_app().await;
    app.add_user("piet", Some("06 11111111")).await;
    assert_eq!(app.admin.reset_mfa("piet").await.unwrap(), 1);
    let mut b = app.browser();
    b.sign_in("piet", PASSWORD)
        .await
        .assert_redirect("/sign-in/phone");
    assert!(app.sms().is_empty());
    let events = app.audit().await;
    assert!(
        events
            .iter()
            .any(|e| e.kind == "admin.mfa_reset" && e.actor == "admin:test")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_return_url_is_followed_only_when_it_stays_on_this_site() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = app.browser();
    let page = b.open("/sign-in?return_to=/apps/rooster%3Fweek%3D3").await;
    // It travels in the form (opening the page stores nothing).
    let back = support::oidc::hidden(&page.body, "return_to");
    assert_eq!(back, "/apps/rooster?week=3");
    b.post(
        "/sign-in",
        &[
            ("username", "jan"),
            ("password", PASSWORD),
            ("return_to", &back),
        ],
    )
    .await;
    b.enter_code(&app.last_code())
        .await
        .assert_redirect("/apps/rooster?week=3");

    // A form shown again (a field left empty) carries the checked return on.
    let mut b = app.browser();
    b.open("/sign-in").await;
    let again = b
        .post("/sign-in", &[("username", "jan"), ("return_to", &back)])
        .await;
    again.assert_contains("Vul je wachtwoord in");
    assert_eq!(
        support::oidc::hidden(&again.body, "return_to"),
        "/apps/rooster?week=3"
    );

    // Another site, as a link or typed into the form, is dropped: not followed, and not
    // carried on by a form shown again.
    let mut b = app.browser();
    let page = b.open("/sign-in?return_to=//evil.example/steal").await;
    assert!(!page.body.contains("name=\"return_to\""));
    let again = b
        .post(
            "/sign-in",
            &[("username", "jan"), ("return_to", "//evil.example/steal")],
        )
        .await;
    assert!(!again.body.contains("evil.example"), "{}", again.body);
    b.post(
        "/sign-in",
        &[
            ("username", "jan"),
            ("password", PASSWORD),
            ("return_to", "//evil.example/steal"),
        ],
    )
    .await;
    b.enter_code(&app.last_code()).await.assert_redirect("/");
    app.stop().await;
}

#[tokio::test]
async fn sign_in_another_way_offers_only_the_users_own_methods() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    app.add_user("kees", Some("0687654321")).await;
    let (_, kees_methods) = app.admin.find("kees").await.unwrap();
    let mut b = app.browser();
    b.sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    let page = b.open("/sign-in/other-way").await;
    page.assert_contains("Sms naar +31 6 •••• ••78");
    assert!(
        !page.body.contains("••21"),
        "kees's phone must not be listed"
    );

    // Someone else's method id is refused, and nothing is sent to that phone.
    let before = app.sms().len();
    let page = b
        .post(
            "/sign-in/other-way",
            &[("method", &kees_methods[0].id.0.to_string())],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.sms().len(), before);

    // Choosing the own method (after the cooldown) sends a new code to it.
    app.clock.advance(60);
    let (_, jan_methods) = app.admin.find("jan").await.unwrap();
    let page = b
        .post(
            "/sign-in/other-way",
            &[("method", &jan_methods[0].id.0.to_string())],
        )
        .await;
    page.assert_redirect("/sign-in/code");
    assert_eq!(app.sms().len(), before + 1);
    assert_eq!(app.sms().last().unwrap().to, "+31612345678");
    app.stop().await;
}

#[tokio::test]
async fn english_is_chosen_by_the_browser_or_the_switch() {
    let app = spawn_app().await;
    app.add_user("jan", None).await;
    let mut b = app.browser_with_language("en-GB,en;q=0.9,nl;q=0.5");
    let page = b.open("/sign-in").await;
    page.assert_contains("<html lang=\"en\">");
    page.assert_contains("Sign in with your Testschool account.");
    let page = b.get("/lang/nl?next=/sign-in").await;
    page.assert_redirect("/sign-in");
    assert!(
        page.headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("tweestap_lang=nl")
    );
    b.open("/sign-in")
        .await
        .assert_contains("<html lang=\"nl\">");
    // The switch never sends anyone to another site.
    b.get("/lang/en?next=https://evil.example")
        .await
        .assert_redirect("/sign-in");

    // An English text message for an English-speaking user.
    let mut b = app.browser_with_language("en");
    b.sign_in("jan", PASSWORD).await;
    b.open("/sign-in/phone")
        .await
        .assert_contains("Secure your account");
    b.post(
        "/sign-in/phone",
        &[("country", "NL"), ("phone", "0612345678")],
    )
    .await;
    assert!(app.sms()[0].text.contains("is your Testschool code"));
    app.stop().await;
}

#[tokio::test]
async fn optional_policy_lets_users_without_a_method_in_with_a_password() {
    let app =
        spawn_app_with(|c| c.policy.0.mfa = tweestap_core::policy::MfaRequirement::Optional).await;
    app.add_user("gast", None).await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = app.browser();
    b.sign_in("gast", PASSWORD).await.assert_redirect("/");
    // A user who has a method still has to use it.
    let mut b = app.browser();
    b.sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    app.stop().await;
}

#[tokio::test]
async fn the_pages_carry_security_headers_and_safe_cookies() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = app.browser();
    let page = b.open("/sign-in").await;
    let h = &page.headers;
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let first = b.last_cookie.clone().unwrap();
    assert!(
        first.contains("HttpOnly") && first.contains("SameSite=Lax") && first.contains("Path=/"),
        "{first}"
    );

    // A new session id after the password and after the code (no session fixation).
    b.post("/sign-in", &[("username", "jan"), ("password", PASSWORD)])
        .await;
    let second = b.last_cookie.clone().unwrap();
    assert_ne!(first, second);
    b.enter_code(&app.last_code()).await;
    let third = b.last_cookie.clone().unwrap();
    assert_ne!(second, third);
    app.stop().await;
}

#[tokio::test]
async fn https_deployments_get_host_prefixed_secure_cookies_and_hsts() {
    let app = spawn_app_with(|c| c.public_url = "https://login.school.nl".into()).await;
    let mut b = app.browser();
    let page = b.get("/sign-in").await;
    let cookie = b.last_cookie.clone().unwrap();
    assert!(
        cookie.starts_with("__Host-tweestap=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert!(page.headers.contains_key("strict-transport-security"));
    app.stop().await;
}

#[tokio::test]
async fn an_idle_session_is_forgotten() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = app.browser();
    b.sign_in("jan", PASSWORD).await;
    b.enter_code(&app.last_code()).await.assert_redirect("/");
    app.clock.advance(3599);
    b.open("/").await;
    app.clock.advance(3601);
    b.get("/").await.assert_redirect("/sign-in");
    app.stop().await;
}

#[tokio::test]
async fn the_demo_phone_page_exists_only_in_demo_mode() {
    let app = spawn_app().await;
    let mut b = app.browser();
    assert_eq!(b.get("/demo/phone").await.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy() {
    for (trusted, expected) in [(true, "203.0.113.9"), (false, "127.0.0.1")] {
        let app = spawn_app_with(|c| {
            if trusted {
                c.trusted_proxies = vec!["127.0.0.1".into()];
            }
        })
        .await;
        // The client claims an address (left-most); the proxy appends the one it saw.
        let mut b = app.browser_with_headers(&[("x-forwarded-for", "198.51.100.1, 203.0.113.9")]);
        b.sign_in("nobody", "wrong").await;
        let events = app.audit().await;
        assert_eq!(
            events.last().unwrap().ip.as_deref(),
            Some(expected),
            "trusted={trusted}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_password_hashed_with_old_parameters_is_rehashed_at_sign_in() {
    let app = spawn_app().await;
    let old = tweestap_core::policy::PasswordPolicy {
        argon2_memory_kib: 8192,
        argon2_iterations: 1,
        ..Default::default()
    };
    let phc = tweestap_core::password::hash(PASSWORD, &[5; 16], &old).unwrap();
    let input = tweestap_core::admin::UserInput {
        username: "oud".into(),
        display_name: "Oud Wachtwoord".into(),
        password: Some(tweestap_core::admin::PasswordInput::Hash(phc.clone())),
        ..Default::default()
    };
    app.admin
        .create(vec![app.admin.validate(&input).unwrap()], &|| {})
        .await
        .unwrap();

    // A failed attempt changes nothing.
    app.browser().sign_in("oud", "not it").await;
    assert_eq!(
        app.admin
            .find("oud")
            .await
            .unwrap()
            .0
            .password_hash
            .as_deref(),
        Some(phc.as_str())
    );

    app.browser()
        .sign_in("oud", PASSWORD)
        .await
        .assert_redirect("/sign-in/phone");
    let now = app
        .admin
        .find("oud")
        .await
        .unwrap()
        .0
        .password_hash
        .unwrap();
    assert!(now.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{now}");
    // And the new hash still verifies.
    app.browser()
        .sign_in("oud", PASSWORD)
        .await
        .assert_redirect("/sign-in/phone");
    app.stop().await;
}

/// Review item 15: signing in again right after a successful sign-in (a second device, an
/// application's redirect) gets its code at once: only unused codes start the resend wait.
#[tokio::test]
async fn a_sign_in_right_after_a_successful_one_gets_its_code_at_once() {
    let app = support::spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut first = app.browser();
    first.sign_in("jan", support::PASSWORD).await;
    first
        .enter_code(&app.last_code())
        .await
        .assert_redirect("/");
    app.clock.advance(5);
    let mut second = app.browser();
    second
        .sign_in("jan", support::PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    let texts = app.wait_for_sms(2).await;
    assert_eq!(texts.len(), 2);
    // An unused code does start it: asking for another one at once is refused.
    second.open("/sign-in/code").await;
    let page = second.post("/sign-in/code/resend", &[]).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    second
        .enter_code(&app.last_code())
        .await
        .assert_redirect("/");
    app.stop().await;
}

/// Review follow-up: the hourly budgets of an account and a number are against SMS pumping:
/// codes that signed someone in do not use them up, so a teacher who signs in many times in
/// an hour (applications, devices) always gets a code; unused codes still count, and so do
/// all codes together, at a higher limit (someone who reads their own codes cannot loop).
#[tokio::test]
async fn used_codes_do_not_use_up_the_hourly_budget() {
    let app = support::spawn_app_with(|c| c.policy.0.code.max_codes_per_hour = 8).await;
    app.add_user("docent", Some("+31612345678")).await;
    for round in 0..8 {
        app.clock.advance(60);
        let mut b = app.browser();
        b.sign_in("docent", support::PASSWORD)
            .await
            .assert_redirect("/sign-in/code");
        let texts = app.wait_for_sms(round + 1).await;
        b.enter_code(&support::code_in(&texts[round].text))
            .await
            .assert_redirect("/");
    }
    app.clock.advance(60);
    let mut b = app.browser();
    b.sign_in("docent", support::PASSWORD)
        .await
        .assert_redirect("/sign-in/code?problem=account-budget");
    app.stop().await;
}

/// An import hashes its plain passwords side by side, a window at a time: each account still
/// gets its own password, across the windows.
#[tokio::test]
async fn an_imports_passwords_hashed_side_by_side_each_belong_to_their_account() {
    use tweestap_core::Secret;
    use tweestap_core::admin::{PasswordInput, UserInput};
    let app = spawn_app().await;
    let inputs: Vec<_> = (0..70)
        .map(|i| {
            app.admin
                .validate(&UserInput {
                    username: format!("leerling{i}"),
                    display_name: format!("Leerling {i}"),
                    email: None,
                    phone: Some(format!("06123457{i:02}")),
                    password: Some(PasswordInput::Plain(Secret::new(format!(
                        "wachtwoord-van-{i}"
                    )))),
                })
                .unwrap()
        })
        .collect();
    app.admin.create(inputs, &|| {}).await.unwrap();
    for i in [0, 63, 64, 69] {
        let mut own = app.browser();
        own.sign_in(&format!("leerling{i}"), &format!("wachtwoord-van-{i}"))
            .await
            .assert_redirect("/sign-in/code");
        let mut other = app.browser();
        let page = other
            .sign_in(
                &format!("leerling{i}"),
                &format!("wachtwoord-van-{}", (i + 1) % 70),
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    app.stop().await;
}
