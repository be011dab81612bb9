//! What a change to an account's sign-in methods ends, and who hears about it.

mod support;

use reqwest::StatusCode;
use support::oidc::{ClientKind, authorize_path, code_from};
use support::{Browser, PASSWORD, TestApp, spawn_app, spawn_app_with};
use tweestap_email::sink::{self, SmtpSink};

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

/// The app, set to send e-mail through `sink` (STARTTLS, its private CA, its account).
async fn app_with_email(sink: &SmtpSink) -> TestApp {
    let port = sink.port;
    let ca = sink.certificate_path();
    spawn_app_with(move |c| {
        c.email = tweestap::config::EmailConfig {
            host: Some("localhost".into()),
            port: Some(port),
            username: Some(sink::USER.into()),
            password: Some(tweestap::config::Redacted(sink::PASSWORD.into())),
            from: Some("Testschool <noreply@school.example>".into()),
            ca_file: Some(ca),
            ..Default::default()
        };
    })
    .await
}

/// Signs in for the first time and registers an authenticator app (the interrupt's "use an
/// app instead"); the code comes from the secret the page shows.
async fn register_app(app: &TestApp, browser: &mut Browser, user: &str) {
    browser
        .sign_in(user, PASSWORD)
        .await
        .assert_redirect("/sign-in/phone");
    browser.open("/sign-in/phone").await;
    browser
        .post("/sign-in/phone/app", &[])
        .await
        .assert_redirect("/sign-in/app-setup");
    let page = browser.open("/sign-in/app-setup").await;
    let shown = page
        .body
        .split("class=\"secret\"")
        .nth(1)
        .expect("the secret to type");
    let typed = shown.split_once('>').unwrap().1;
    let typed = typed.split('<').next().unwrap().replace(' ', "");
    let secret = tweestap_core::TotpSecret::from_bytes(&support::oidc::base32_decode(&typed));
    let step = app.clock_now() / 30;
    let code = format!("{:06}", secret.code_at_step(step));
    browser
        .post("/sign-in/app-setup", &[("code", &code)])
        .await
        .assert_redirect("/?welcome=1");
}

/// Review items 11 and 14: the first method of an account is announced on every channel it
/// has (the new phone, and by e-mail through a real SMTP server, in the user's language).
#[tokio::test]
async fn the_first_method_is_announced_by_text_and_by_e_mail() {
    let Some(smtp) = SmtpSink::start() else {
        return;
    };
    let app = app_with_email(&smtp).await;
    app.add_user_with_email("sam", "sam@school.example").await;
    let mut browser = app.browser();
    browser.sign_in("sam", PASSWORD).await;
    browser.open("/sign-in/phone").await;
    browser
        .post(
            "/sign-in/phone",
            &[("country", "NL"), ("phone", "0612345678")],
        )
        .await;
    browser
        .enter_code(&app.last_code())
        .await
        .assert_redirect("/?welcome=1");
    let texts = app.wait_for_sms(2).await;
    assert!(texts[1].text.contains("deze telefoon is nu de tweede stap"));
    let mail = smtp.wait_for(1).await;
    let m = &mail[0];
    assert!(m.tls && m.authenticated);
    assert_eq!(m.rcpt_tos, ["sam@school.example"]);
    assert_eq!(m.from, "Testschool <noreply@school.example>");
    assert_eq!(m.subject, "Testschool: je account heeft nu een tweede stap");
    assert!(m.body.contains("Hallo sam Tester,"), "{}", m.body);
    assert!(
        m.body.contains("http://localhost:8080/security-info"),
        "{}",
        m.body
    );
    // No secret, no code, travels by e-mail.
    assert!(!m.data.contains(&support::code_in(&texts[0].text)));
    app.stop().await;
}

/// Review items 11 and 14: an account with only an app (no phone) hears of its changes by
/// e-mail, in the language it signs in with, also of what the helpdesk does while it is away.
#[tokio::test]
async fn an_account_without_a_phone_hears_of_changes_and_an_mfa_reset_by_e_mail() {
    let Some(smtp) = SmtpSink::start() else {
        return;
    };
    let app = app_with_email(&smtp).await;
    app.add_user_with_email("erik", "erik@school.example").await;
    let mut browser = app.browser_with_language("en-GB,en;q=0.9");
    register_app(&app, &mut browser, "erik").await;
    let mail = smtp.wait_for(1).await;
    assert_eq!(
        mail[0].subject,
        "Testschool: your account now has a second step"
    );
    assert!(mail[0].body.contains("Hello erik Tester,"));

    app.admin.reset_mfa("erik").await.unwrap();
    let mail = smtp.wait_for(2).await;
    assert_eq!(
        mail[1].subject,
        "Testschool: the helpdesk reset your sign-in methods"
    );
    assert!(
        mail[1]
            .body
            .contains("At your next sign-in you'll set up a new one")
    );
    assert!(app.sms().is_empty(), "no phone, no text");
    let audit = app.audit().await;
    assert!(audit.iter().any(|e| {
        e.kind == "method.change_announced"
            && e.actor == "admin:test"
            && e.detail
                .as_deref()
                .unwrap_or("")
                .starts_with("notice=mfa_reset email=e•••@")
    }));
    app.stop().await;
}

/// Review item 14: a notice queued while the SMTP server is down survives a restart of
/// tweestap and goes out once the server is back.
#[tokio::test]
async fn an_e_mail_queued_while_the_server_is_down_survives_a_restart() {
    let Some(mut smtp) = SmtpSink::start() else {
        return;
    };
    let mut app = app_with_email(&smtp).await;
    smtp.stop();
    app.add_user_with_email("anna", "anna@school.example").await;
    app.admin.set_phone("anna", "0612345678").await.unwrap();
    app.admin.reset_mfa("anna").await.unwrap();
    // The phone it had hears of it at once (after the notice that it was set)…
    let texts = app.wait_for_sms(2).await;
    assert!(texts[0].text.contains("deze telefoon is nu de tweede stap"));
    assert_eq!(texts[1].to, "+31612345678");
    assert!(
        texts[1]
            .text
            .contains("de helpdesk heeft de inlogmethoden van je account gewist")
    );
    // …the e-mail waits: the worker tries, fails, and keeps the message.
    let mut tried = false;
    for _ in 0..200 {
        let list = app.admin.store.email_list(None, 10).await.unwrap();
        if list.first().is_some_and(|e| e.attempts >= 1) {
            assert_eq!(list[0].state, "queued");
            assert!(list[0].last_error.is_some());
            tried = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(tried, "the worker did not try to send");
    app.restart().await;
    smtp.resume();
    app.clock.advance(300);
    // Both notices (the phone set, the reset) arrive.
    let mail = smtp.wait_for(2).await;
    assert!(mail.iter().all(|m| m.rcpt_tos == ["anna@school.example"]));
    let subjects: Vec<&str> = mail.iter().map(|m| m.subject.as_str()).collect();
    assert!(
        subjects.contains(&"Testschool: de helpdesk heeft je inlogmethoden gewist"),
        "{subjects:?}"
    );
    for _ in 0..100 {
        let list = app.admin.store.email_list(None, 10).await.unwrap();
        if list.iter().all(|e| e.state == "sent") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let list = app.admin.store.email_list(None, 10).await.unwrap();
    assert!(list.iter().all(|e| e.state == "sent"), "{list:?}");
    app.stop().await;
}

/// Review follow-up: what the helpdesk does for a caller ("my new phone", an access pass) is
/// announced to the account's phones, old and new, and its e-mail address: a caller who is
/// not the owner cannot take the account over quietly.
#[tokio::test]
async fn the_helpdesks_new_phone_and_access_pass_are_announced() {
    let Some(smtp) = SmtpSink::start() else {
        return;
    };
    let app = app_with_email(&smtp).await;
    app.add_user_with_email("jan", "jan@school.example").await;
    app.admin.set_phone("jan", "0612345678").await.unwrap();
    app.admin.set_phone("jan", "0687654321").await.unwrap();
    let texts = app.wait_for_sms(3).await;
    let to: Vec<&str> = texts[1..].iter().map(|m| m.to.as_str()).collect();
    assert!(
        to.contains(&"+31612345678") && to.contains(&"+31687654321"),
        "{to:?}"
    );
    assert!(texts[1..].iter().all(|m| {
        m.text
            .contains("nieuw telefoonnummer voor je account ingesteld")
    }));
    app.admin
        .issue_access_pass("jan", 3600, true)
        .await
        .unwrap();
    let texts = app.wait_for_sms(4).await;
    assert_eq!(texts[3].to, "+31687654321");
    assert!(texts[3].text.contains("tijdelijke toegangspas"));
    let mail = smtp.wait_for(3).await;
    assert_eq!(
        mail[2].subject,
        "Testschool: de helpdesk heeft een tijdelijke toegangspas voor je account gemaakt"
    );
    app.stop().await;
}
