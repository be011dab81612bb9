//! What an attacker or a clumsy user tries: each test fails if the protection breaks.

mod support;

use reqwest::StatusCode;
use support::{Browser, PASSWORD, TestApp, spawn_app, spawn_app_with};

/// Signs in as a user with a registered phone and returns the browser on the code page.
async fn at_code_page(app: &TestApp, username: &str) -> Browser {
    let mut b = app.browser();
    b.sign_in(username, PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    b.open("/sign-in/code").await;
    b
}

fn wrong(code: &str) -> String {
    // A code guaranteed to differ from the right one.
    let first = if code.starts_with('9') { '0' } else { '9' };
    format!("{first}{}", &code[1..])
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let app = spawn_app().await;
    app.add_user("jan", None).await;
    let mut a = app.browser();
    let wrong_password = a.sign_in("jan", "not the password").await;
    let mut b = app.browser();
    let unknown_user = b.sign_in("jan", "not the password").await;
    // "jan" exists in one app state and not the other: compare against a name that does not exist.
    let mut c = app.browser();
    let nobody = c.sign_in("nobody", "not the password").await;

    assert_eq!(wrong_password.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(nobody.status, wrong_password.status);
    let normalise =
        |body: &str, csrf: &str, name: &str| body.replace(csrf, "CSRF").replace(name, "NAME");
    assert_eq!(
        normalise(&wrong_password.body, &a.csrf, "jan"),
        normalise(&nobody.body, &c.csrf, "nobody"),
        "the two failures must render the same page"
    );
    assert_eq!(unknown_user.status, wrong_password.status);
    wrong_password.assert_contains("Je gebruikersnaam of wachtwoord klopt niet.");
    // The typed name is kept, the password is not.
    wrong_password.assert_contains("value=\"jan\"");
    assert!(!wrong_password.body.contains("not the password"));
    app.stop().await;
}

#[tokio::test]
async fn password_guessing_is_throttled_per_username_whether_it_exists_or_not() {
    let app = spawn_app().await;
    app.add_user("jan", None).await;
    for name in ["jan", "nobody"] {
        let mut b = app.browser();
        for _ in 0..10 {
            let page = b.sign_in(name, "guess").await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        // The eleventh attempt waits, even with the right password.
        let page = b.sign_in(name, PASSWORD).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{name}");
        page.assert_contains("Te veel pogingen. Probeer het over 1 minuut opnieuw.");
    }
    // The wait grows with every further wrong password: 30 s, then 60 s, then 120 s…
    let mut b = app.browser();
    for wait in [30, 60, 120] {
        app.clock.advance(wait - 1);
        assert_eq!(
            b.sign_in("jan", PASSWORD).await.status,
            StatusCode::TOO_MANY_REQUESTS,
            "one second before the end of {wait} s"
        );
        app.clock.advance(1);
        assert_eq!(
            b.sign_in("jan", "guess").await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "at the end of {wait} s"
        );
    }
    // …and the right password, once its turn comes, gets in and clears the count.
    app.clock.advance(240);
    b.sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/phone");
    let mut again = app.browser();
    assert_eq!(
        again.sign_in("jan", "guess").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(
        app.audit()
            .await
            .iter()
            .filter(|e| e.outcome == "throttled")
            .count()
            >= 5
    );
    app.stop().await;
}

/// Review item 4: someone hammering a username gets no more than the allowed guesses (ten
/// from one network, a hundred from all networks together, then growing waits), and cannot
/// keep the owner out of the browser where they signed in before.
#[tokio::test]
async fn a_stranger_hammering_a_username_cannot_lock_its_owner_out() {
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    app.add_user("jan", Some("+31612345678")).await;
    let mut own = app.browser_with_headers(&[("x-forwarded-for", "198.51.100.7")]);
    own.sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    // Known to the account once the sign-in is finished (not after the password alone).
    let page = own.enter_code(&app.last_code()).await;
    page.assert_redirect("/");
    let known = page
        .set_cookie("tweestap_known=")
        .expect("the browser is known to the account from now on");
    assert!(
        known.contains("HttpOnly") && known.contains("Max-Age="),
        "{known}"
    );
    own.open("/").await;
    own.post("/sign-out", &[]).await;

    let checked = |audit: &[tweestap_core::audit::AuditRecord]| {
        audit
            .iter()
            .filter(|e| e.kind == "sign_in.password" && e.outcome == "bad_credentials")
            .count()
    };
    let guess = |address: String, password: &'static str| {
        let mut attacker = app.browser_with_headers(&[("x-forwarded-for", &address)]);
        async move { attacker.sign_in("jan", password).await.status }
    };
    // From one network: ten guesses, then it waits, also for the right password.
    for i in 0..15 {
        let status = guess(
            "203.0.113.1".into(),
            if i < 12 { "guess" } else { PASSWORD },
        )
        .await;
        let expected = if i < 10 {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(status, expected, "attempt {i}");
    }
    assert_eq!(checked(&app.audit().await), 10);
    // From many networks: a hundred in all, then every network waits.
    for i in 0..95 {
        let status = guess(format!("192.0.2.{i}"), "guess").await;
        assert_eq!(
            status,
            if i < 90 {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::TOO_MANY_REQUESTS
            },
            "network {i}"
        );
    }
    assert_eq!(checked(&app.audit().await), 100);
    assert_eq!(
        guess("192.0.2.200".into(), PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password is not checked for them"
    );

    // The owner, on their own browser, signs in as usual (and has a budget of their own:
    // a typo there costs the strangers' count nothing, and vice versa).
    assert_eq!(
        own.sign_in("jan", "typo").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    own.sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code");
    // A new password set by the helpdesk (who checked who is asking) ends the waits the
    // strangers built up, and what any browser was known for.
    app.admin
        .set_password("jan", tweestap_core::Secret::new("a brand new password"))
        .await
        .unwrap();
    let mut fresh = app.browser_with_headers(&[("x-forwarded-for", "198.51.100.99")]);
    fresh
        .sign_in("jan", "a brand new password")
        .await
        .assert_redirect("/sign-in/code");
    assert_eq!(
        own.sign_in("jan", support::PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the old password is no good, on the browser known under it too"
    );
    app.stop().await;
}

/// Review item 3: nothing a stranger sends is stored at its own size. A body beyond a form's
/// size is refused unread; a name too long for anyone is refused with a reason; a throttle key
/// is a keyed hash, so a typed name (or a password typed as one) is not kept.
#[tokio::test]
async fn oversized_input_is_refused_and_typed_names_are_not_stored() {
    let app = spawn_app().await;
    let audit_before = app.audit().await.len();
    let mut b = app.browser();
    b.get("/sign-in").await;
    let huge = "x".repeat(100 * 1024);
    let page = b
        .post("/sign-in", &[("username", &huge), ("password", "p")])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    page.assert_contains("veel groter dan dit formulier kan bevatten");
    let long = "y".repeat(5000);
    b.get("/sign-in").await;
    let page = b
        .post("/sign-in", &[("username", &long), ("password", "p")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Die gebruikersnaam is veel te lang");
    assert_eq!(
        app.audit().await.len(),
        audit_before,
        "nothing was recorded"
    );

    let typed = "mijn-geheime-wachtwoord-als-naam";
    b.sign_in(typed, "p").await;
    let mut stored = Vec::new();
    for file in ["tweestap.db", "tweestap.db-wal"] {
        stored.extend(std::fs::read(app.config.data_dir.join(file)).unwrap_or_default());
    }
    for text in [typed, &long[..64]] {
        assert!(
            !stored.windows(text.len()).any(|w| w == text.as_bytes()),
            "{text} is in the database"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_code_is_refused_with_the_tries_left() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = at_code_page(&app, "jan").await;
    let code = app.last_code();
    let page = b.post("/sign-in/code", &[("code", &wrong(&code))]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Deze code klopt niet. Je kunt het nog 4 keer proberen.");
    for (input, message) in [
        ("", "Vul de code in."),
        ("12345", "Een code bestaat uit 6 cijfers."),
        ("12a456", "Een code bestaat uit 6 cijfers."),
    ] {
        let page = b.post("/sign-in/code", &[("code", input)]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        page.assert_contains(message);
    }
    // Spaces as people type them are fine.
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    b.post("/sign-in/code", &[("code", &spaced)])
        .await
        .assert_redirect("/");
    app.stop().await;
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes_to_the_second() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = at_code_page(&app, "jan").await;
    app.clock.advance(599);
    b.post("/sign-in/code", &[("code", &app.last_code())])
        .await
        .assert_redirect("/");

    app.clock.advance(61);
    let mut b = at_code_page(&app, "jan").await;
    app.clock.advance(600);
    let page = b.post("/sign-in/code", &[("code", &app.last_code())]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Deze code is verlopen. Vraag een nieuwe code aan.");
    app.stop().await;
}

#[tokio::test]
async fn a_code_works_once_and_only_in_its_own_sign_in() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut first = at_code_page(&app, "jan").await;
    let code_a = app.last_code();

    // A second sign-in of the same user (another device) gets its own code.
    app.clock.advance(60);
    let mut second = at_code_page(&app, "jan").await;
    let code_b = app.last_code();
    if code_a != code_b {
        let page = second.post("/sign-in/code", &[("code", &code_a)]).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a code from another sign-in is refused"
        );
    }
    first
        .post("/sign-in/code", &[("code", &code_a)])
        .await
        .assert_redirect("/");

    // Replaying the used code in a fresh sign-in fails too.
    app.clock.advance(60);
    let mut third = at_code_page(&app, "jan").await;
    if app.last_code() != code_a {
        let page = third.post("/sign-in/code", &[("code", &code_a)]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    second
        .post("/sign-in/code", &[("code", &code_b)])
        .await
        .assert_redirect("/");
    app.stop().await;
}

#[tokio::test]
async fn a_resent_code_replaces_the_old_one() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = at_code_page(&app, "jan").await;
    let old = app.last_code();
    app.clock.advance(60);
    b.post("/sign-in/code/resend", &[])
        .await
        .assert_redirect("/sign-in/code?resent=1");
    b.open("/sign-in/code?resent=1")
        .await
        .assert_contains("We hebben een nieuwe code gestuurd.");
    let new = app.last_code();
    if old != new {
        let page = b.post("/sign-in/code", &[("code", &old)]).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "the replaced code no longer works"
        );
    }
    b.post("/sign-in/code", &[("code", &new)])
        .await
        .assert_redirect("/");
    app.stop().await;
}

#[tokio::test]
async fn five_wrong_tries_use_up_a_code_and_ten_lock_the_account_across_resends() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = at_code_page(&app, "jan").await;
    let code = app.last_code();
    for left in (0..5).rev() {
        let page = b.post("/sign-in/code", &[("code", &wrong(&code))]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        if left == 0 {
            page.assert_contains("Vraag een nieuwe code aan.");
        }
    }
    // The sixth try fails even with the right code.
    let page = b.post("/sign-in/code", &[("code", &code)]).await;
    page.assert_contains("Te vaak een verkeerde code. Vraag een nieuwe code aan.");

    // A new code does not reset the account's count: four more failures lock it.
    app.clock.advance(60);
    b.post("/sign-in/code/resend", &[])
        .await
        .assert_redirect("/sign-in/code?resent=1");
    b.open("/sign-in/code").await;
    let code = app.last_code();
    for _ in 0..4 {
        b.post("/sign-in/code", &[("code", &wrong(&code))]).await;
    }
    let page = b.post("/sign-in/code", &[("code", &code)]).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    page.assert_contains("Te veel verkeerde codes.");
    // And no new codes are sent while locked.
    app.clock.advance(60);
    let sent = app.sms().len();
    let page = b.post("/sign-in/code/resend", &[]).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.sms().len(), sent);

    // After the window the account works again (the idle session is gone by then: start over).
    app.clock.advance(3600);
    let mut b = at_code_page(&app, "jan").await;
    b.post("/sign-in/code", &[("code", &app.last_code())])
        .await
        .assert_redirect("/");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_cannot_exceed_the_per_code_limit() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let b = at_code_page(&app, "jan").await;
    let code = app.last_code();
    let right: u32 = code.parse().unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut fork = b.fork();
        let guess = format!("{:06}", (right + 1 + i) % 1_000_000);
        tasks.push(tokio::spawn(async move {
            fork.post("/sign-in/code", &[("code", &guess)]).await.status
        }));
    }
    for t in tasks {
        assert_ne!(t.await.unwrap(), StatusCode::SEE_OTHER);
    }
    let wrong_evaluated = app
        .audit()
        .await
        .iter()
        .filter(|e| e.kind == "sign_in.code" && e.outcome == "wrong_code")
        .count();
    assert!(
        wrong_evaluated <= 5,
        "{wrong_evaluated} guesses were compared; the limit is 5"
    );
    let mut b = b.fork();
    let page = b.post("/sign-in/code", &[("code", &code)]).await;
    assert_ne!(
        page.status,
        StatusCode::SEE_OTHER,
        "the right code after the limit must fail"
    );
    app.stop().await;
}

#[tokio::test]
async fn resending_waits_for_the_cooldown_and_stops_at_the_hourly_budget() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = at_code_page(&app, "jan").await;
    let page = b.post("/sign-in/code/resend", &[]).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    page.assert_contains("Wacht nog 60 seconden voordat je een nieuwe code vraagt.");
    page.assert_contains("data-wait=\"60\"");
    app.clock.advance(30);
    b.post("/sign-in/code/resend", &[])
        .await
        .assert_contains("Wacht nog 30 seconden");
    assert_eq!(app.sms().len(), 1);
    app.clock.advance(30);
    b.post("/sign-in/code/resend", &[])
        .await
        .assert_redirect("/sign-in/code?resent=1");
    assert_eq!(app.sms().len(), 2);
    // The wait doubles with every unused code: 1, 2, 4, 8 minutes.
    for (sent, wait) in [(3, 120), (4, 240), (5, 480)] {
        app.clock.advance(wait - 1);
        let page = b.post("/sign-in/code/resend", &[]).await;
        assert_eq!(
            page.status,
            StatusCode::TOO_MANY_REQUESTS,
            "one second before the {wait} s wait ends"
        );
        app.clock.advance(1);
        b.post("/sign-in/code/resend", &[])
            .await
            .assert_redirect("/sign-in/code?resent=1");
        assert_eq!(app.sms().len(), sent);
    }
    app.clock.advance(960);
    let page = b.post("/sign-in/code/resend", &[]).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    page.assert_contains("Je hebt het afgelopen uur te veel codes gevraagd.");
    assert_eq!(app.sms().len(), 5);
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.kind == "sms.send_refused" && e.outcome == "account_budget")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_per_number_budget_holds_across_accounts() {
    let app = spawn_app().await;
    for i in 0..6 {
        app.add_user(&format!("user{i}"), Some("0612345678")).await;
    }
    for i in 0..5 {
        at_code_page(&app, &format!("user{i}")).await;
    }
    let mut b = app.browser();
    b.sign_in("user5", PASSWORD)
        .await
        .assert_redirect("/sign-in/code?problem=number-budget");
    b.open("/sign-in/code?problem=number-budget")
        .await
        .assert_contains("Naar dit nummer zijn het afgelopen uur te veel codes gestuurd.");
    assert_eq!(app.sms().len(), 5);
    app.stop().await;
}

#[tokio::test]
async fn steps_cannot_be_skipped_by_typing_a_url() {
    let app = spawn_app().await;
    app.add_user("jan", None).await;
    let mut b = app.browser();
    // Before the password nothing but the sign-in page is reachable.
    b.get("/").await.assert_redirect("/sign-in");
    b.get("/sign-in/code").await.assert_redirect("/sign-in");
    b.get("/sign-in/phone").await.assert_redirect("/sign-in");
    b.get("/sign-in/done").await.assert_redirect("/sign-in");
    b.open("/sign-in").await;
    b.post("/sign-in/code", &[("code", "123456")])
        .await
        .assert_redirect("/sign-in");

    // After the password only the registration is reachable, never the signed-in page.
    b.post("/sign-in", &[("username", "jan"), ("password", PASSWORD)])
        .await
        .assert_redirect("/sign-in/phone");
    b.get("/").await.assert_redirect("/sign-in/phone");
    b.get("/sign-in/code")
        .await
        .assert_redirect("/sign-in/phone");
    b.get("/sign-in/done")
        .await
        .assert_redirect("/sign-in/phone");
    b.get("/sign-in/other-way")
        .await
        .assert_redirect("/sign-in/phone");
    b.open("/sign-in/phone").await;
    b.post("/sign-in/code", &[("code", "123456")])
        .await
        .assert_redirect("/sign-in/phone");

    // While the code is pending, the phone form is closed.
    b.post(
        "/sign-in/phone",
        &[("country", "NL"), ("phone", "0612345678")],
    )
    .await;
    b.get("/sign-in/phone")
        .await
        .assert_redirect("/sign-in/code");
    b.get("/").await.assert_redirect("/sign-in/code");
    assert!(
        app.admin.find("jan").await.unwrap().1.is_empty(),
        "no phone is registered before the code"
    );
    app.stop().await;
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let app = spawn_app().await;
    app.add_user("jan", Some("0612345678")).await;
    let mut b = app.browser();
    b.open("/sign-in").await;
    let page = b
        .post_raw("/sign-in", &[("username", "jan"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("Deze pagina was verlopen. Vul je gegevens opnieuw in");
    page.assert_contains("value=\"jan\"");
    let page = b
        .post_raw(
            "/sign-in",
            &[
                ("username", "jan"),
                ("password", PASSWORD),
                ("csrf", "0000"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(app.sms().is_empty());

    // A token from another browser's session does not work either.
    let mut other = app.browser();
    other.open("/sign-in").await;
    let foreign = other.csrf.clone();
    let page = b
        .post_raw(
            "/sign-in",
            &[
                ("username", "jan"),
                ("password", PASSWORD),
                ("csrf", &foreign),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    // Signed in halfway, every other form checks it too.
    b.sign_in("jan", PASSWORD).await;
    b.open("/sign-in/code").await;
    for path in [
        "/sign-in/code",
        "/sign-in/code/resend",
        "/sign-in/cancel",
        "/sign-out",
        "/sign-in/other-way",
        "/sign-in/restart",
    ] {
        let page = b.post_raw(path, &[("code", &app.last_code())]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_phone_numbers_get_a_clear_message_and_keep_what_was_typed() {
    let app = spawn_app().await;
    app.add_user("jan", None).await;
    let mut b = app.browser();
    b.sign_in("jan", PASSWORD).await;
    b.open("/sign-in/phone").await;
    for (country, input, message) in [
        ("NL", "071 512 3456", "Dit is geen mobiel nummer."),
        ("NL", "06 1234", "Dit nummer is te kort."),
        ("NL", "06 123456789", "Dit nummer is te lang."),
        ("NL", "0900 1234567", "Dit is geen mobiel nummer."),
        (
            "NL",
            "+32 470 12 34 56",
            "Nummers uit België kunnen we niet gebruiken.",
        ),
        (
            "BE",
            "0470 12 34 56",
            "Nummers uit België kunnen we niet gebruiken.",
        ),
        ("NL", "bel me maar", "Dit is geen telefoonnummer."),
        ("NL", "", "Vul je mobiele nummer in."),
    ] {
        let page = b
            .post("/sign-in/phone", &[("country", country), ("phone", input)])
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{input}");
        page.assert_contains(message);
        page.assert_contains(
            &format!("value=\"{}\"", input.replace('+', "&#x2b;")).replace("&#x2b;", "+"),
        );
    }
    assert!(app.sms().is_empty());
    let refused: Vec<String> = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "sms.send_refused")
        .map(|e| e.outcome)
        .collect();
    assert!(
        refused.contains(&"country_not_allowed".to_string()),
        "{refused:?}"
    );
    assert!(
        refused.contains(&"not_a_mobile_number".to_string()),
        "{refused:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn when_no_gateway_can_deliver_the_user_is_told_and_offered_another_way() {
    let app = spawn_app_with(|c| {
        // A path inside a file cannot be written: the only gateway is down.
        let blocker = c.data_dir.join("not-a-dir");
        std::fs::write(&blocker, "").unwrap();
        c.sms.gateways = vec![tweestap::config::GatewayConfig::Outbox {
            path: blocker.join("outbox.jsonl"),
        }];
    })
    .await;
    app.add_user("jan", Some("0612345678")).await;
    app.add_user("piet", None).await;
    let mut b = app.browser();
    b.sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/code?problem=gateway-down");
    let page = b.open("/sign-in/code?problem=gateway-down").await;
    page.assert_contains("We kunnen nu geen sms versturen.");
    page.assert_contains("Log op een andere manier in");

    let mut b = app.browser();
    b.sign_in("piet", PASSWORD).await;
    b.open("/sign-in/phone").await;
    let page = b
        .post(
            "/sign-in/phone",
            &[("country", "NL"), ("phone", "0687654321")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    page.assert_contains("We kunnen nu geen sms versturen.");
    app.stop().await;
}

#[tokio::test]
async fn internal_errors_show_a_reference_not_the_cause() {
    let app = spawn_app().await;
    let mut b = app.browser();
    let page = b.get("/no-such-page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    page.assert_contains("Deze pagina bestaat niet.");
    app.stop().await;
}

/// Review item 13: the audit log keeps a keyed fingerprint of names typed at the sign-in that
/// are not accounts. Whoever can read that table must not be able to turn a fingerprint into
/// a delivery-report signature.
#[tokio::test]
async fn an_audit_fingerprint_is_no_signature_for_anything_else() {
    let app = spawn_app().await;
    let chosen = "r3f:kannel";
    let mut attacker = app.browser();
    attacker.sign_in(chosen, "whatever").await;
    let fingerprint = app
        .audit()
        .await
        .iter()
        .find_map(|e| {
            e.detail
                .as_deref()?
                .strip_prefix("typed=")
                .map(str::to_string)
        })
        .expect("a fingerprint of the typed name");
    let forged = attacker
        .get(&format!(
            "/sms/dlr/kannel?ref=r3f&gw=kannel&type=2&sig={fingerprint}"
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    app.stop().await;
}

/// Review item 6: the account's limit of wrong codes (ten an hour) holds when the guesses come
/// in parallel through several sign-ins, each with its own live code (five tries each): every
/// attempt takes its place under the limit before its code is compared.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_over_several_codes_cannot_exceed_the_account_limit() {
    let app = spawn_app_with(|c| c.policy.0.code.resend_cooldown_secs = 1).await;
    app.add_user("jan", Some("0612345678")).await;
    let mut sign_ins = Vec::new();
    for _ in 0..4 {
        app.clock.advance(60);
        sign_ins.push(at_code_page(&app, "jan").await);
    }
    let codes: Vec<String> = app
        .sms()
        .iter()
        .map(|m| support::code_in(&m.text))
        .collect();
    assert_eq!(codes.len(), 4);
    let mut tasks = Vec::new();
    for (browser, code) in sign_ins.iter().zip(&codes) {
        for _ in 0..5 {
            let mut fork = browser.fork();
            let guess = wrong(code);
            tasks.push(tokio::spawn(async move {
                fork.post("/sign-in/code", &[("code", &guess)]).await.status
            }));
        }
    }
    for t in tasks {
        assert_ne!(t.await.unwrap(), StatusCode::SEE_OTHER);
    }
    let compared = app
        .audit()
        .await
        .iter()
        .filter(|e| e.kind == "sign_in.code" && e.outcome == "wrong_code")
        .count();
    assert!(
        compared <= 10,
        "{compared} guesses were compared; the account's limit is 10"
    );
    // Locked now, even for a right code that was never guessed at.
    let mut last = sign_ins[3].fork();
    let page = last.post("/sign-in/code", &[("code", &codes[3])]).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

/// The session row a browser's cookie names, if there is one.
async fn stored_session(
    app: &TestApp,
    browser: &Browser,
) -> Option<tweestap_core::ports::SessionRecord> {
    use sha2::Digest;
    let cookie = browser.last_cookie.clone()?;
    let id = cookie
        .strip_prefix("tweestap_session=")?
        .split(';')
        .next()?;
    let hash: String = sha2::Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    app.admin.store.session_get(&hash).await.unwrap()
}

/// Review item 8: opening a page (a link on another site, a prefetch, a reload) changes
/// nothing: no session is created for a visitor, and nobody's sign-in is rewritten.
#[tokio::test]
async fn opening_a_page_writes_nothing() {
    let app = spawn_app_with(|c| {
        c.policy.0.mfa = tweestap_core::policy::MfaRequirement::Optional;
        c.forward_auth.domains = vec!["school.example".into()];
    })
    .await;
    let client = app.add_client(support::oidc::ClientKind::default()).await;
    let authorize = support::oidc::authorize_path(&client, &[]);
    for path in [
        "/",
        "/sign-in?return_to=/apps/rooster",
        "/security-info",
        authorize.as_str(),
        "/auth/start?rd=http://wiki.school.example/",
    ] {
        let mut visitor = app.browser();
        visitor.get(path).await;
        assert!(visitor.last_cookie.is_some(), "{path}");
        assert!(
            stored_session(&app, &visitor).await.is_none(),
            "GET {path} stored a session"
        );
    }

    // Signed in with the password alone (the policy allows it): a protected site and an
    // application that want more ask first; opening them signs nobody out.
    app.add_user("jan", None).await;
    let mut jan = app.browser();
    jan.sign_in("jan", PASSWORD).await.assert_redirect("/");
    let before = stored_session(&app, &jan).await.expect("signed in");
    let page = jan.get("/auth/start?rd=http://wiki.school.example/").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("action=\"/auth/start\"");
    let after = stored_session(&app, &jan).await.expect("still there");
    assert_eq!(after.state, before.state);
    assert_eq!(after.return_to, before.return_to);
    assert_eq!(jan.get("/").await.status, StatusCode::OK);
    // Their own click asks for the second step (here: registering one), then back to the site.
    jan.get("/auth/start?rd=http://wiki.school.example/").await;
    jan.post("/auth/start", &[("rd", "http://wiki.school.example/")])
        .await
        .assert_redirect("/sign-in/phone");
    app.stop().await;
}

/// A rush larger than the hashing threads can serve in time: the extra attempts are told to
/// try again in a moment (503, Retry-After, in the person's language), none fails or waits
/// without end, none is counted as a wrong password, and a retry gets in.
#[tokio::test]
async fn in_a_rush_the_attempts_that_cannot_be_served_in_time_are_asked_to_retry() {
    let app = spawn_app_with(|c| {
        c.policy.0.password.max_concurrent_hashes = 1;
        c.policy.0.password.max_wait_ms = 0;
    })
    .await;
    for i in 0..12 {
        let phone = format!("06123456{i:02}");
        app.add_user(&format!("leerling{i}"), Some(&phone)).await;
    }
    let mut browsers = Vec::new();
    for _ in 0..12 {
        let mut b = app.browser();
        b.open("/sign-in").await;
        browsers.push(b);
    }
    // All at once, each its own browser.
    let tasks: Vec<_> = browsers
        .into_iter()
        .enumerate()
        .map(|(i, mut b)| {
            tokio::spawn(async move {
                let name = format!("leerling{i}");
                let page = b
                    .post("/sign-in", &[("username", &name), ("password", PASSWORD)])
                    .await;
                (b, page)
            })
        })
        .collect();
    let mut browsers = Vec::new();
    let mut pages = Vec::new();
    for task in tasks {
        let (b, page) = task.await.unwrap();
        browsers.push(b);
        pages.push(page);
    }
    let mut busy = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        match page.status {
            StatusCode::SEE_OTHER => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(page.headers["retry-after"], "2");
                page.assert_contains("heel druk met inloggen");
                busy.push(i);
            }
            other => panic!("attempt {i}: {other} {}", page.body),
        }
    }
    assert!(
        !busy.is_empty(),
        "one hashing thread, no waiting: some were asked to retry"
    );
    assert!(busy.len() < 12, "the thread served some");
    let audit = app.audit().await;
    assert!(
        !audit.iter().any(|e| e.outcome == "bad_credentials"),
        "a busy answer is not a wrong password"
    );
    // Not audited (nothing was checked) but counted, for the operator's dashboards.
    let metrics = app.browser().get("/metrics").await.body;
    assert!(
        metrics.contains(&format!("tweestap_password_busy_total {}\n", busy.len())),
        "{metrics}"
    );
    // Retried one at a time, every one gets in.
    for i in busy {
        let name = format!("leerling{i}");
        let b = &mut browsers[i];
        b.open("/sign-in").await;
        b.post("/sign-in", &[("username", &name), ("password", PASSWORD)])
            .await
            .assert_redirect("/sign-in/code");
    }
    app.stop().await;
}

/// A school's whole morning comes from one address. Attempts counted against that address in
/// the last moments may still be waiting for the hashing threads, and most turn out right:
/// while only those fill the address's limit, the next person is asked to try again in a moment
/// (nothing is checked), not told to wait until tomorrow. Settled wrong passwords still
/// throttle the address as before.
#[tokio::test]
async fn an_address_full_of_attempts_still_in_line_is_asked_to_retry_not_throttled() {
    let app = spawn_app_with(|c| {
        c.policy.0.throttle.password_failures_per_ip = 3;
    })
    .await;
    app.add_user("leerling", Some("0612345600")).await;
    // Three wrong passwords for three names, just now: as far as the address's count can tell,
    // they may still be on their way.
    for name in ["a", "b", "c"] {
        let mut b = app.browser();
        let page = b.sign_in(name, "wrong-password-1").await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
    }
    let mut b = app.browser();
    let page = b.sign_in("leerling", PASSWORD).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert_eq!(page.headers["retry-after"], "2");
    page.assert_contains("heel druk met inloggen");
    // Once they have settled as wrong passwords, the address's limit holds.
    app.clock.advance(10);
    let mut b = app.browser();
    let page = b.sign_in("leerling", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    app.stop().await;
}
