//! Push approval with number matching in the tweestap app, and passkeys, through the real HTTP
//! routes. The phone's WebAuthn authenticator is the software one from `tweestap-webauthn`
//! (real ES256 signatures, real CBOR); the browser tests do the same with Chromium's virtual
//! authenticator.

mod support;

use reqwest::StatusCode;
use support::{Browser, PASSWORD, TestApp, spawn_app_with};
use tweestap_webauthn::soft::{SoftAuthenticator, tamper};

const ORIGIN: &str = "http://localhost:8080";

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the first `attr="…"` in a page.
fn attr(body: &str, attr: &str) -> String {
    let marker = format!("{attr}=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {attr} in:\n{body}"))
        + marker.len();
    let end = body[start..].find('"').unwrap() + start;
    unescape(&body[start..end])
}

/// The value of the hidden field `name` in a page.
fn field(body: &str, name: &str) -> String {
    attr(body, &format!("name=\"{name}\" value"))
}

async fn app() -> TestApp {
    let app = spawn_app_with(|c| {
        c.policy.0.ask_strongest_first = true;
    })
    .await;
    app.add_user("jan", Some("0612345678")).await;
    app.add_user("piet", Some("0687654321")).await;
    app
}

async fn signed_in_with_sms(app: &TestApp, user: &str) -> Browser {
    let mut browser = app.browser();
    browser.sign_in(user, PASSWORD).await;
    browser.enter_code(&app.last_code()).await;
    app.clock.advance(61);
    browser
}

struct Phone {
    browser: Browser,
    key: SoftAuthenticator,
}

/// "Link a phone" on the computer: the path of the one-time link in the QR code.
async fn new_link(computer: &mut Browser) -> String {
    computer.open("/security-info").await;
    let page = computer.post("/security-info/tweestap-app", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let link = attr(&page.body, "data-link");
    assert!(link.starts_with(&format!("{ORIGIN}/app/link?t=")), "{link}");
    link.trim_start_matches(ORIGIN).to_string()
}

/// The phone opens the link and creates its credential.
async fn register_at(phone: &mut Phone, path: &str, label: &str) -> support::Page {
    let page = phone.browser.open(path).await;
    let response = phone
        .key
        .register(&attr(&page.body, "data-options"), ORIGIN);
    let (token, ceremony) = (field(&page.body, "t"), field(&page.body, "ceremony"));
    phone
        .browser
        .post(
            "/app/link",
            &[
                ("t", &token),
                ("ceremony", &ceremony),
                ("response", &response),
                ("label", label),
            ],
        )
        .await
}

/// The computer that showed the QR code answers "is this your phone?".
async fn decide_on_computer(computer: &mut Browser, decision: &str) -> support::Page {
    let page = computer.open("/security-info/tweestap-app").await;
    page.assert_contains("Is dit jouw telefoon?");
    let request = field(&page.body, "request");
    computer
        .post(
            "/security-info/tweestap-app/confirm",
            &[("request", &request), ("decision", decision)],
        )
        .await
}

/// The computer says the phone is the user's, then the test approval: the number on the
/// computer, typed on the phone.
async fn finish_link(computer: &mut Browser, phone: &mut Phone) {
    decide_on_computer(computer, "yes")
        .await
        .assert_redirect("/security-info/tweestap-app");
    let status = computer
        .get("/security-info/tweestap-app?json=1")
        .await
        .body;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["status"], "pending");
    let number = status["number"].as_u64().unwrap().to_string();
    let request = pending_request(phone).await;
    approve(phone, &request, &number)
        .await
        .assert_redirect("/app/?result=approved");
}

/// Adds a passkey from the security-info page of a signed-in browser.
async fn add_passkey(
    browser: &mut Browser,
    key: &mut SoftAuthenticator,
    label: &str,
) -> support::Page {
    let page = browser.open("/security-info/passkey").await;
    let response = key.register(&attr(&page.body, "data-options"), ORIGIN);
    browser
        .post(
            "/security-info/passkey",
            &[
                ("ceremony", &field(&page.body, "ceremony")),
                ("response", &response),
                ("label", label),
            ],
        )
        .await
}

/// A new browser signs in with the password, and the phone approves with the right number.
async fn approved_sign_in(app: &TestApp, phone: &mut Phone) -> Browser {
    let mut browser = app.browser();
    let number = start_push_sign_in(&mut browser).await.unwrap();
    let request = pending_request(phone).await;
    approve(phone, &request, &number)
        .await
        .assert_redirect("/app/?result=approved");
    browser
}

/// The phone says no to its newest request: "deny" or "report" ("this wasn't me").
async fn refuse_newest(phone: &mut Phone, what: &str) -> support::Page {
    let request = pending_request(phone).await;
    phone
        .browser
        .post(&format!("/app/{what}"), &[("request", &request)])
        .await
}

fn new_phone(app: &TestApp) -> Phone {
    Phone {
        browser: app.browser(),
        key: SoftAuthenticator::new(),
    }
}

/// Links a phone to jan's account from a signed-in browser, including the test approval.
async fn link_phone(app: &TestApp, computer: &mut Browser) -> Phone {
    let path = new_link(computer).await;
    let mut phone = new_phone(app);
    register_at(&mut phone, &path, "Pixel")
        .await
        .assert_redirect("/app/");
    // (The link works once: opened again it stops the linking, see
    // a_code_used_twice_stops_linking_and_stop_works_after_yes.)
    // Not a method until the test approval.
    assert_eq!(app.methods_of("jan").await, 1);
    finish_link(computer, &mut phone).await;
    assert_eq!(app.methods_of("jan").await, 2);
    let page = computer.get("/security-info/tweestap-app").await;
    page.assert_redirect("/security-info?notice=push-added");
    phone
}

/// The id of the newest request on the phone's page.
async fn pending_request(phone: &mut Phone) -> String {
    let page = phone.browser.open("/app/").await;
    field(&page.body, "request")
}

/// Picks `number` and confirms with the phone's credential.
async fn approve(phone: &mut Phone, request: &str, number: &str) -> support::Page {
    let (ceremony, response) = proof(phone, request).await;
    phone
        .browser
        .post(
            "/app/approve",
            &[
                ("request", request),
                ("number", number),
                ("ceremony", &ceremony),
                ("response", &response),
            ],
        )
        .await
}

async fn proof(phone: &mut Phone, request: &str) -> (String, String) {
    let page = phone
        .browser
        .post("/app/options", &[("request", request)])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let json: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    let response = phone.key.authenticate(&json["options"].to_string(), ORIGIN);
    (json["ceremony"].as_str().unwrap().to_string(), response)
}

/// Signs in with the password; with push the strongest method, the page waits for the phone.
/// Returns the number shown.
async fn start_push_sign_in(computer: &mut Browser) -> Option<String> {
    let page = computer.sign_in("jan", PASSWORD).await;
    page.assert_redirect("/sign-in/push");
    let page = computer.open("/sign-in/push").await;
    page.body
        .find("id=\"push-number\">")
        .map(|i| page.body[i + 17..i + 19].to_string())
}

fn other_number(offered_page: &str, right: &str) -> String {
    let form = &offered_page[offered_page.find("/app/approve").unwrap()..];
    let mut numbers = form
        .split("name=\"number\" value=\"")
        .skip(1)
        .map(|s| s[..2].to_string());
    numbers.find(|n| n != right).unwrap()
}

#[tokio::test]
async fn a_phone_links_with_a_test_approval_and_signs_in_by_number_matching() {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    let mut phone = link_phone(&app, &mut computer).await;

    let mut laptop = app.browser();
    let number = start_push_sign_in(&mut laptop).await.expect("a number");
    // Without an approval, "continue" does not sign in.
    let page = laptop.post("/sign-in/push", &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let status = laptop.get("/sign-in/push/status").await.body;
    assert!(status.contains("\"pending\""), "{status}");

    // The phone shows the request with the three numbers, the right one among them.
    let page = phone.browser.open("/app/").await;
    page.assert_contains(&format!("value=\"{number}\""));
    page.assert_contains("127.0.0.1");
    let request = field(&page.body, "request");

    // A replayed proof: the ceremony is used once.
    let (ceremony, response) = proof(&mut phone, &request).await;
    let fields = [
        ("request", request.as_str()),
        ("number", number.as_str()),
        ("ceremony", ceremony.as_str()),
        ("response", response.as_str()),
    ];
    phone
        .browser
        .post("/app/approve", &fields)
        .await
        .assert_redirect("/app/?result=approved");
    let replay = phone.browser.post("/app/approve", &fields).await;
    assert_eq!(replay.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A second answer with a fresh proof does not change the first.
    let page = approve(&mut phone, &request, &number).await;
    page.assert_redirect("/app/?result=already_answered");

    let status = laptop.get("/sign-in/push/status").await.body;
    assert!(status.contains("\"approved\""), "{status}");
    let page = laptop.post("/sign-in/push", &[]).await;
    page.assert_redirect("/");
    let audit = app.audit().await;
    assert!(audit.iter().any(|e| e.kind == "sign_in.completed"
        && e.detail.as_deref() == Some("amr=pwd,pop,mfa method=push")));

    // The approval continues one sign-in only: another browser cannot reuse it.
    let mut other = app.browser();
    start_push_sign_in(&mut other).await;
    let page = other.post("/sign-in/push", &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_wrong_number_a_forged_proof_and_another_account_are_refused() {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    let mut phone = link_phone(&app, &mut computer).await;

    let mut laptop = app.browser();
    let number = start_push_sign_in(&mut laptop).await.unwrap();
    let page = phone.browser.open("/app/").await;
    let request = field(&page.body, "request");
    let wrong = other_number(&page.body, &number);

    // A tampered signature is no proof.
    let (ceremony, response) = proof(&mut phone, &request).await;
    let page = phone
        .browser
        .post(
            "/app/approve",
            &[
                ("request", &request),
                ("number", &number),
                ("ceremony", &ceremony),
                ("response", &tamper(&response)),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another account's phone cannot see or answer jan's request.
    let mut piet = signed_in_with_sms(&app, "piet").await;
    let mut piet_phone = link_phone_for(&app, &mut piet).await;
    let page = piet_phone.browser.open("/app/").await;
    assert!(!page.body.contains(&request));
    let page = piet_phone
        .browser
        .post("/app/options", &[("request", &request)])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = piet_phone
        .browser
        .post("/app/deny", &[("request", &request)])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // The wrong number closes the request as a failed attempt.
    let page = approve(&mut phone, &request, &wrong).await;
    page.assert_redirect("/app/?result=wrong_number");
    let page = laptop.open("/sign-in/push").await;
    page.assert_contains("ander getal");
    let page = laptop.post("/sign-in/push", &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let audit = app.audit().await;
    assert!(
        audit
            .iter()
            .any(|e| e.kind == "push.answered" && e.outcome == "wrong_number")
    );
}

/// Like `link_phone`, for any signed-in user (the methods count is checked for jan only).
async fn link_phone_for(app: &TestApp, computer: &mut Browser) -> Phone {
    let path = new_link(computer).await;
    let mut phone = new_phone(app);
    register_at(&mut phone, &path, "Phone")
        .await
        .assert_redirect("/app/");
    finish_link(computer, &mut phone).await;
    phone
}

#[tokio::test]
async fn late_answers_and_denials_do_not_sign_in_and_repeated_denials_pause_push() {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    let mut phone = link_phone(&app, &mut computer).await;

    // Late: the request expired before the phone answered.
    let mut laptop = app.browser();
    let number = start_push_sign_in(&mut laptop).await.unwrap();
    let request = pending_request(&mut phone).await;
    let (ceremony, response) = proof(&mut phone, &request).await;
    app.clock.advance(121);
    let page = phone
        .browser
        .post(
            "/app/approve",
            &[
                ("request", &request),
                ("number", &number),
                ("ceremony", &ceremony),
                ("response", &response),
            ],
        )
        .await;
    page.assert_redirect("/app/?result=expired");
    assert!(
        laptop
            .get("/sign-in/push/status")
            .await
            .body
            .contains("expired")
    );
    assert_eq!(
        laptop.post("/sign-in/push", &[]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Three denials in a row pause push; the user is told to choose another way.
    for _ in 0..3 {
        laptop.post("/sign-in/push/retry", &[]).await;
        laptop.open("/sign-in/push").await;
        refuse_newest(&mut phone, "deny")
            .await
            .assert_redirect("/app/?result=denied");
        assert!(
            laptop
                .get("/sign-in/push/status")
                .await
                .body
                .contains("denied")
        );
    }
    let page = laptop.post("/sign-in/push/retry", &[]).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    page.assert_contains("sign-in/other-way");
}

#[tokio::test]
async fn this_wasnt_me_blocks_push_and_texts_and_flags_the_account() {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    let mut phone = link_phone(&app, &mut computer).await;

    let mut attacker = app.browser();
    start_push_sign_in(&mut attacker).await.unwrap();
    refuse_newest(&mut phone, "report")
        .await
        .assert_redirect("/app/?result=reported");
    assert!(
        attacker
            .get("/sign-in/push/status")
            .await
            .body
            .contains("reported")
    );

    // No new push…
    let mut again = app.browser();
    let page = again.sign_in("jan", PASSWORD).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // …and no texts either.
    let sent = app.sms().len();
    let mut by_sms = app.browser();
    by_sms.sign_in("jan", PASSWORD).await;
    by_sms.open("/sign-in/other-way").await;
    let sms_method = app.method_ids("jan").await[0].to_string();
    by_sms
        .post("/sign-in/other-way", &[("method", &sms_method)])
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.sms().len(), sent, "a text was sent after the report");

    // Counted for the operators' dashboards (an MFA-fatigue attack shows as reports).
    let metrics = app.browser().get("/metrics").await.body;
    assert!(
        metrics.contains("tweestap_push_reported_total 1\n"),
        "{metrics}"
    );
    // Both sign-ins after the report were refused a push.
    assert!(
        metrics.contains("tweestap_push_refused_total 2\n"),
        "{metrics}"
    );
    // Audited and flagged for the administrators.
    let audit = app.audit().await;
    assert!(audit.iter().any(|e| e.kind == "push.reported_unrequested"));
    let (user, _) = app.admin.find("jan").await.unwrap();
    let flag = app.admin.store.user_flag(user.id).await.unwrap();
    assert!(flag.is_some());
    assert!(app.admin.unflag("jan").await.unwrap());
    assert!(app.admin.store.user_flag(user.id).await.unwrap().is_none());
    let mut after = app.browser();
    after.sign_in("jan", PASSWORD).await;
    assert_eq!(after.get("/sign-in/push").await.status, StatusCode::OK);
}

#[tokio::test]
async fn twenty_sign_in_attempts_make_at_most_the_hourly_cap_of_requests() {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    link_phone(&app, &mut computer).await;
    for _ in 0..20 {
        let mut attacker = app.browser();
        attacker.sign_in("jan", PASSWORD).await;
        attacker.get("/sign-in/push").await;
        // Past the "one pending at a time" rule: only the hourly cap holds them back.
        app.clock.advance(121);
    }
    let requested = app
        .audit()
        .await
        .iter()
        .filter(|e| e.kind == "push.requested" && e.outcome == "ok")
        .count();
    // One was the linking test approval; the policy allows 5 sign-in requests per hour.
    assert_eq!(requested, 1 + 5);
    // The form that leads to the page asks the phone; opening the page (again, or as a
    // browser's prefetch) asks nothing (review item 8: a GET changes nothing).
    let app3 = app_with_phone().await.0;
    let mut prefetching = app3.browser_with_headers(&[("sec-purpose", "prefetch")]);
    prefetching
        .sign_in("jan", PASSWORD)
        .await
        .assert_redirect("/sign-in/push");
    for _ in 0..3 {
        assert_eq!(
            prefetching.get("/sign-in/push").await.status,
            StatusCode::OK
        );
    }
    let requested = app3
        .audit()
        .await
        .iter()
        .filter(|e| e.kind == "push.requested" && e.outcome == "ok")
        .count();
    assert_eq!(requested, 1 + 1, "the linking test approval, and one");
    // Without waiting for expiry, two attempts in a row give one request.
    let app2 = app_with_phone().await;
    let (app2, _phone) = app2;
    for _ in 0..2 {
        let mut attacker = app2.browser();
        attacker.sign_in("jan", PASSWORD).await;
        attacker.get("/sign-in/push").await;
    }
    let requested = app2
        .audit()
        .await
        .iter()
        .filter(|e| e.kind == "push.requested" && e.outcome == "ok")
        .count();
    assert_eq!(requested, 1 + 1);
}

async fn app_with_phone() -> (TestApp, Phone) {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    let phone = link_phone(&app, &mut computer).await;
    (app, phone)
}

#[tokio::test]
async fn a_passkey_is_added_with_a_fresh_second_factor_and_signs_in() {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    let mut key = SoftAuthenticator::new();
    add_passkey(&mut computer, &mut key, "Laptop")
        .await
        .assert_redirect("/security-info?notice=passkey-added");
    assert_eq!(app.methods_of("jan").await, 2);
    // Announced to the phone.
    let texts = app.wait_for_sms(2).await;
    assert!(texts.last().unwrap().text.contains("toegevoegd"));

    // The strongest method is asked first: the passkey.
    let mut laptop = app.browser();
    let page = laptop.sign_in("jan", PASSWORD).await;
    page.assert_redirect("/sign-in/passkey");
    let page = laptop.open("/sign-in/passkey").await;
    let options = attr(&page.body, "data-options");
    // Without user verification: refused.
    key.set_user_verification(false);
    let bad = key.authenticate(&options, ORIGIN);
    key.set_user_verification(true);
    let refused = laptop
        .post(
            "/sign-in/passkey",
            &[
                ("ceremony", &field(&page.body, "ceremony")),
                ("response", &bad),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A fresh ceremony, answered properly.
    let options = attr(&refused.body, "data-options");
    let response = key.authenticate(&options, ORIGIN);
    let page = laptop
        .post(
            "/sign-in/passkey",
            &[
                ("ceremony", &field(&refused.body, "ceremony")),
                ("response", &response),
            ],
        )
        .await;
    page.assert_redirect("/");
    let audit = app.audit().await;
    assert!(audit.iter().any(|e| e.kind == "sign_in.completed"
        && e.detail.as_deref() == Some("amr=pwd,pop,mfa method=passkey")));

    // Renamed and then removed from the security-info page (the passkey sign-in is fresh).
    let passkey_id = app.method_ids("jan").await.last().unwrap().to_string();
    laptop.open("/security-info").await;
    laptop
        .post(
            "/security-info/rename",
            &[("method", &passkey_id), ("label", "Werklaptop")],
        )
        .await
        .assert_redirect("/security-info?notice=renamed");
    laptop
        .open("/security-info")
        .await
        .assert_contains("Toegangssleutel (Werklaptop)");
    laptop
        .post("/security-info/remove", &[("method", &passkey_id)])
        .await
        .assert_redirect("/security-info?notice=removed");
    assert_eq!(app.methods_of("jan").await, 1);
    let page = app.browser().sign_in("jan", PASSWORD).await;
    assert!(
        page.location
            .as_deref()
            .unwrap_or("")
            .starts_with("/sign-in/code"),
        "{:?}",
        page.location
    );

    // The removal ended the account's other sessions…
    let page = computer.get("/security-info").await;
    assert!(page.location.unwrap().starts_with("/sign-in"));
    // …and a session that is not fresh cannot add one.
    app.clock.advance(700);
    let page = laptop.get("/security-info/passkey").await;
    page.assert_redirect("/security-info");
}

#[tokio::test]
async fn a_passkey_answer_for_another_account_or_replayed_is_refused() {
    let app = app().await;
    let mut jan = signed_in_with_sms(&app, "jan").await;
    let mut piet = signed_in_with_sms(&app, "piet").await;
    let mut jan_key = SoftAuthenticator::new();
    let mut piet_key = SoftAuthenticator::new();
    for (browser, key) in [(&mut jan, &mut jan_key), (&mut piet, &mut piet_key)] {
        add_passkey(browser, key, "Key")
            .await
            .assert_redirect("/security-info?notice=passkey-added");
    }
    // Piet's passkey answers jan's sign-in: not jan's credential.
    let mut attacker = app.browser();
    attacker.sign_in("jan", PASSWORD).await;
    let page = attacker.open("/sign-in/passkey").await;
    let mut options: serde_json::Value =
        serde_json::from_str(&attr(&page.body, "data-options")).unwrap();
    options["publicKey"]["allowCredentials"] =
        serde_json::json!([{ "type": "public-key", "id": piet_key.credential_id() }]);
    let forged = piet_key.authenticate(&options.to_string(), ORIGIN);
    let page = attacker
        .post(
            "/sign-in/passkey",
            &[
                ("ceremony", &field(&page.body, "ceremony")),
                ("response", &forged),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A real answer replayed on a second ceremony is refused (the challenge differs).
    let mut laptop = app.browser();
    laptop.sign_in("jan", PASSWORD).await;
    let page = laptop.open("/sign-in/passkey").await;
    let response = jan_key.authenticate(&attr(&page.body, "data-options"), ORIGIN);
    let mut second = app.browser();
    second.sign_in("jan", PASSWORD).await;
    let other = second.open("/sign-in/passkey").await;
    let page2 = second
        .post(
            "/sign-in/passkey",
            &[
                ("ceremony", &field(&other.body, "ceremony")),
                ("response", &response),
            ],
        )
        .await;
    assert_eq!(page2.status, StatusCode::UNPROCESSABLE_ENTITY);
    laptop
        .post(
            "/sign-in/passkey",
            &[
                ("ceremony", &field(&page.body, "ceremony")),
                ("response", &response),
            ],
        )
        .await
        .assert_redirect("/");
}

/// The Python with http_ece, PyJWT and cryptography, or `None` (reason printed) outside CI.
fn push_python() -> Option<String> {
    support::python_with(
        "http_ece, jwt, cryptography",
        "crates/push/tests/requirements.txt",
    )
}

fn push_check(python: &str, args: &[&str], input: Option<&str>) -> Result<String, String> {
    use std::io::Write;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../push/tests/webpush_check.py"
    );
    let mut child = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

#[tokio::test]
async fn a_sign_in_request_reaches_the_phone_by_web_push_encrypted_and_signed() {
    let Some(python) = push_python() else { return };
    // A stand-in for the browser vendor's push service, on loopback.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(axum::http::HeaderMap, Vec<u8>)>();
    let service = axum::Router::new().route(
        "/push/{id}",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let tx = tx.clone();
                async move {
                    tx.send((headers, body.to_vec())).unwrap();
                    axum::http::StatusCode::CREATED
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });

    let app = spawn_app_with(|c| {
        c.policy.0.ask_strongest_first = true;
        c.push.allow_loopback_endpoints = true;
        c.push.contact = Some("mailto:helpdesk@testschool.example".into());
    })
    .await;
    app.add_user("jan", Some("0612345678")).await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    let mut phone = link_phone(&app, &mut computer).await;

    // The phone subscribes (what PushManager.subscribe() gives), with keys made independently.
    let keys: serde_json::Value =
        serde_json::from_str(&push_check(&python, &["keys"], None).unwrap()).unwrap();
    let subscription = serde_json::json!({
        "endpoint": format!("{origin}/push/phone-1"),
        "keys": { "p256dh": keys["p256dh"], "auth": keys["auth"] },
    })
    .to_string();
    let page = phone.browser.open("/app/").await;
    let vapid = attr(&page.body, "data-push-subscribe");
    let csrf = phone.browser.csrf.clone();
    // Without the page's token: refused.
    let page = phone
        .browser
        .post_json("/app/subscription", &[], &subscription)
        .await;
    assert_ne!(page.status, StatusCode::OK);
    let page = phone
        .browser
        .post_json(
            "/app/subscription",
            &[("x-csrf-token", &csrf)],
            &subscription,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    // The sign-in is in English; the notification speaks the phone's language (Dutch here).
    let mut laptop = app.browser_with_language("en");
    start_push_sign_in(&mut laptop).await.unwrap();
    let (headers, body) = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("a push message within 10 s")
        .unwrap();
    assert_eq!(headers["content-encoding"], "aes128gcm");
    assert_eq!(headers["urgency"], "high");
    let authorization = headers["authorization"].to_str().unwrap().to_string();
    assert!(
        authorization.contains(&format!("k={vapid}")),
        "{authorization}"
    );
    use base64::Engine;
    let job = serde_json::json!({
        "private": keys["private"],
        "auth": keys["auth"],
        "body": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&body),
        "authorization": authorization,
        "origin": origin,
    });
    let plaintext = push_check(&python, &["check"], Some(&job.to_string())).unwrap();
    let payload: serde_json::Value = serde_json::from_str(&plaintext).unwrap();
    // Only the request's id and display text travel through the push service.
    let request = pending_request(&mut phone).await;
    assert_eq!(payload["request"], request.as_str());
    assert_eq!(payload["title"], "Testschool");
    assert!(
        payload["body"]
            .as_str()
            .unwrap()
            .contains("Probeer je in te loggen"),
        "{payload}"
    );
    // A flipped bit does not decrypt.
    let mut tampered = body.clone();
    tampered[40] ^= 1;
    let job = serde_json::json!({
        "private": keys["private"], "auth": keys["auth"], "origin": origin,
        "body": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tampered),
        "authorization": headers["authorization"].to_str().unwrap(),
    });
    assert!(push_check(&python, &["check"], Some(&job.to_string())).is_err());

    // A change to the account's methods reaches the phone too (an account may have no number).
    let mut key = SoftAuthenticator::new();
    add_passkey(&mut computer, &mut key, "Laptop")
        .await
        .assert_redirect("/security-info?notice=passkey-added");
    let (headers, body) = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("a notice within 10 s")
        .unwrap();
    assert_eq!(headers["urgency"], "normal");
    let job = serde_json::json!({
        "private": keys["private"], "auth": keys["auth"], "origin": origin,
        "body": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&body),
        "authorization": headers["authorization"].to_str().unwrap(),
    });
    let notice: serde_json::Value =
        serde_json::from_str(&push_check(&python, &["check"], Some(&job.to_string())).unwrap())
            .unwrap();
    assert!(notice["request"].is_null());
    assert!(
        notice["body"].as_str().unwrap().contains("toegevoegd"),
        "{notice}"
    );
}

#[tokio::test]
async fn linking_is_announced_methods_can_be_renamed_and_a_new_link_drops_an_unfinished_one() {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    let texts = app.sms().len();
    link_phone(&app, &mut computer).await;
    let sms = app.wait_for_sms(texts + 1).await;
    assert!(sms.last().unwrap().text.contains("toegevoegd"), "{sms:?}");

    // Rename the linked phone; someone else's method cannot be renamed.
    let push_id = *app.method_ids("jan").await.last().unwrap();
    computer.open("/security-info").await;
    let page = computer
        .post(
            "/security-info/rename",
            &[
                ("method", &push_id.to_string()),
                ("label", "  Telefoon van Jan  "),
            ],
        )
        .await;
    page.assert_redirect("/security-info?notice=renamed");
    computer
        .open("/security-info")
        .await
        .assert_contains("tweestap-app (Telefoon van Jan)");
    // Review item 9: a name with a line break (or another control character) is refused with
    // a reason, and the old name stays.
    let page = computer
        .post(
            "/security-info/rename",
            &[
                ("method", &push_id.to_string()),
                ("label", "Jan\n  - [9] sms +31600000000"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Een naam mag geen regeleinden");
    computer
        .open("/security-info")
        .await
        .assert_contains("tweestap-app (Telefoon van Jan)");
    let mut piet = signed_in_with_sms(&app, "piet").await;
    piet.open("/security-info").await;
    piet.post(
        "/security-info/rename",
        &[("method", &push_id.to_string()), ("label", "stolen")],
    )
    .await
    .assert_redirect("/security-info");
    computer
        .open("/security-info")
        .await
        .assert_contains("tweestap-app (Telefoon van Jan)");
    // A phone number has no name to change.
    let sms_id = app.method_ids("jan").await[0];
    computer
        .post(
            "/security-info/rename",
            &[("method", &sms_id.to_string()), ("label", "x")],
        )
        .await
        .assert_redirect("/security-info");

    // A phone that got as far as the link but never approved stops working when a new link
    // is made.
    let path = new_link(&mut computer).await;
    let mut half = new_phone(&app);
    register_at(&mut half, &path, "Half")
        .await
        .assert_redirect("/app/");
    half.browser
        .open("/app/")
        .await
        .assert_contains("Koppelen afronden");
    let unused = new_link(&mut computer).await;
    let page = half.browser.open("/app/").await;
    page.assert_contains("nog niet gekoppeld");
    assert_eq!(app.browser().get(&unused).await.status, StatusCode::OK);
    // A newer link also retires an unused one.
    new_link(&mut computer).await;
    assert_eq!(
        app.browser().get(&unused).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.browser().get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn parallel_sign_ins_cannot_pass_the_caps_together() {
    let (app, _phone) = app_with_phone().await;
    // Ten browsers send the password at the same moment; each would ask the phone.
    let mut waiting = Vec::new();
    for _ in 0..10 {
        let mut b = app.browser();
        b.open("/sign-in").await;
        waiting.push(b);
    }
    let tasks: Vec<_> = waiting
        .into_iter()
        .map(|mut b| {
            tokio::spawn(async move {
                let fields = [("username", "jan"), ("password", PASSWORD)];
                b.post("/sign-in", &fields).await.status
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::SEE_OTHER {
            ok += 1;
        }
    }
    let requested = app
        .audit()
        .await
        .iter()
        .filter(|e| e.kind == "push.requested" && e.outcome == "ok")
        .count();
    // The linking test approval, and exactly one sign-in request.
    assert_eq!(
        requested,
        2,
        "parallel sign-ins made {} requests",
        requested - 1
    );
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn an_approval_not_yet_used_dies_with_a_report_with_the_phone_and_with_time() {
    let (app, mut phone) = app_with_phone().await;

    // Approved by mistake, then "this wasn't me" on the next request: the first is void too.
    let mut attacker = approved_sign_in(&app, &mut phone).await;
    app.clock.advance(121);
    let mut second = app.browser();
    start_push_sign_in(&mut second).await.unwrap();
    refuse_newest(&mut phone, "report")
        .await
        .assert_redirect("/app/?result=reported");
    app.admin.unflag("jan").await.unwrap();
    assert_eq!(
        attacker.post("/sign-in/push", &[]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Approved, then the phone is removed by the helpdesk before the page continued.
    let mut laptop = approved_sign_in(&app, &mut phone).await;
    // After a reload the page still offers to continue (no JavaScript needed).
    let page = laptop.open("/sign-in/push").await;
    page.assert_contains("action=\"/sign-in/push\"");
    let phone_id = *app.method_ids("jan").await.last().unwrap();
    app.admin.remove_method("jan", phone_id).await.unwrap();
    let page = laptop.post("/sign-in/push", &[]).await;
    assert_ne!(page.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn an_approval_must_be_used_soon_and_failures_are_forgotten_after_the_pause() {
    let (app, mut phone) = app_with_phone().await;
    let mut laptop = approved_sign_in(&app, &mut phone).await;
    // An idle tab comes back after the request's time and the grace after it: the page says
    // the request expired and offers a new one, and "continue" does not work.
    app.clock.advance(200);
    assert!(
        laptop
            .get("/sign-in/push/status")
            .await
            .body
            .contains("expired")
    );
    let page = laptop.open("/sign-in/push").await;
    page.assert_contains("/sign-in/push/retry");
    assert_eq!(
        laptop.post("/sign-in/push", &[]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Three denials pause push; after the pause one more denial does not pause it again.
    let mut laptop = app.browser();
    start_push_sign_in(&mut laptop).await.unwrap();
    for i in 0..3 {
        if i > 0 {
            laptop.post("/sign-in/push/retry", &[]).await;
            laptop.open("/sign-in/push").await;
        }
        refuse_newest(&mut phone, "deny")
            .await
            .assert_redirect("/app/?result=denied");
    }
    assert_eq!(
        laptop.post("/sign-in/push/retry", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(3601);
    let mut laptop = app.browser();
    start_push_sign_in(&mut laptop).await.unwrap();
    refuse_newest(&mut phone, "deny")
        .await
        .assert_redirect("/app/?result=denied");
    laptop.post("/sign-in/push/retry", &[]).await;
    assert_eq!(laptop.get("/sign-in/push").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_pause_runs_from_the_last_denial() {
    let (app, mut phone) = app_with_phone().await;
    // Three denials spread over most of an hour.
    for gap in [0, 30 * 60, 29 * 60] {
        app.clock.advance(gap);
        let mut laptop = app.browser();
        start_push_sign_in(&mut laptop).await.unwrap();
        refuse_newest(&mut phone, "deny")
            .await
            .assert_redirect("/app/?result=denied");
    }
    // An hour after the first denial, still paused: the hour runs from the last one.
    app.clock.advance(2 * 60);
    let mut laptop = app.browser();
    assert_eq!(
        laptop.sign_in("jan", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(59 * 60);
    let mut laptop = app.browser();
    laptop.sign_in("jan", PASSWORD).await;
    assert_eq!(laptop.get("/sign-in/push").await.status, StatusCode::OK);
}

#[tokio::test]
async fn linking_cannot_be_reported_nor_steal_a_phone_from_another_account() {
    let app = app().await;
    let mut jan = signed_in_with_sms(&app, "jan").await;
    let mut phone = link_phone(&app, &mut jan).await;

    // Piet sends jan's phone a link to piet's account: refused, jan keeps the phone.
    let mut piet = signed_in_with_sms(&app, "piet").await;
    let path = new_link(&mut piet).await;
    let page = phone.browser.get(&path).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    page.assert_contains("al gekoppeld aan een ander account");
    phone
        .browser
        .open("/app/")
        .await
        .assert_contains("Gekoppeld aan");

    // The same user linking the same phone again replaces the old link (one phone, not two).
    let before = app.methods_of("jan").await;
    let path = new_link(&mut jan).await;
    register_at(&mut phone, &path, "Pixel 2")
        .await
        .assert_redirect("/app/");
    // "This wasn't me" on a link request only cancels it: no block, no flag; the phone's
    // earlier link still counts (it gives way only to a link that works).
    decide_on_computer(&mut jan, "yes").await;
    refuse_newest(&mut phone, "report")
        .await
        .assert_redirect("/app/?result=denied");
    let (user, _) = app.admin.find("jan").await.unwrap();
    assert!(app.admin.store.user_flag(user.id).await.unwrap().is_none());
    assert_eq!(app.methods_of("jan").await, before);
    let old_ids = app.method_ids("jan").await;

    // Linked again and confirmed: one phone, not two, and not the old one.
    let path = new_link(&mut jan).await;
    register_at(&mut phone, &path, "Pixel 3")
        .await
        .assert_redirect("/app/");
    finish_link(&mut jan, &mut phone).await;
    assert_eq!(app.methods_of("jan").await, before);
    let new_ids = app.method_ids("jan").await;
    assert_ne!(old_ids.last(), new_ids.last());
    jan.open("/security-info")
        .await
        .assert_contains("tweestap-app (Pixel 3)");
}

/// Review item 10: whoever gets hold of the link first (a photo of the QR code on a shared
/// screen) cannot bind their own phone: the computer that showed the code is asked whether
/// the phone is the user's, with what is known of it, and until it says yes the phone can
/// answer nothing.
#[tokio::test]
async fn the_computer_confirms_a_phone_before_it_can_link() {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;
    let path = new_link(&mut computer).await;
    let mut stranger = Phone {
        browser: app.browser_with_headers(&[(
            "user-agent",
            "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
        )]),
        key: SoftAuthenticator::new(),
    };
    register_at(&mut stranger, &path, "Mine now")
        .await
        .assert_redirect("/app/");
    // The phone is told to wait for the computer, and no number is shown anywhere yet.
    let page = stranger.browser.open("/app/").await;
    page.assert_contains("Geef op de computer waar je de code scande aan dat dit jouw telefoon is");
    let status = computer
        .get("/security-info/tweestap-app?json=1")
        .await
        .body;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["status"], "confirm");
    assert!(status["number"].is_null());
    // The computer shows what it knows of the phone.
    let page = computer.open("/security-info/tweestap-app").await;
    page.assert_contains("Android");
    assert!(
        !page.body.contains("link-number"),
        "no number before the user's yes"
    );
    // Answering anyway (a crafted form, any number) is refused.
    let request = field(&page.body, "request");
    for number in ["10", "42", "99"] {
        let page = approve(&mut stranger, &request, number).await;
        assert_ne!(page.location.as_deref(), Some("/app/?result=approved"));
    }
    assert_eq!(app.methods_of("jan").await, 1);
    // The user says no.
    decide_on_computer(&mut computer, "no")
        .await
        .assert_redirect("/security-info?notice=link-refused");
    assert_eq!(
        app.methods_of("jan").await,
        1,
        "the stranger's phone is not linked"
    );
    let page = stranger.browser.open("/app/").await;
    assert!(
        !page.body.contains("Geef op de computer"),
        "nothing left to wait for"
    );
    let audit = app.audit().await;
    assert!(
        audit
            .iter()
            .any(|e| e.kind == "push.link_confirmed" && e.outcome == "refused")
    );

    // The user's own phone, with a new code, links as usual (the computer says yes).
    let phone = link_phone(&app, &mut computer).await;
    drop(phone);
    assert_eq!(app.methods_of("jan").await, 2);
}

/// Second review: the owner beaten to the QR code (a photo of a shared screen) opens it too:
/// linking stops for everyone, so they cannot end up confirming the stranger's phone. And a
/// "stop" after a yes still stops it, dropping the phone that was linking.
#[tokio::test]
async fn a_code_used_twice_stops_linking_and_stop_works_after_yes() {
    let app = app().await;
    let mut computer = signed_in_with_sms(&app, "jan").await;

    let path = new_link(&mut computer).await;
    let mut stranger = new_phone(&app);
    register_at(&mut stranger, &path, "Mine now")
        .await
        .assert_redirect("/app/");
    let mut owners_phone = new_phone(&app);
    let page = owners_phone.browser.get(&path).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    page.assert_contains("Een andere telefoon gebruikte deze code eerst");
    let status = computer
        .get("/security-info/tweestap-app?json=1")
        .await
        .body;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["status"], "denied", "{status}");
    assert!(app.audit().await.iter().any(|e| e.outcome == "contested"));

    // Stop after yes: the number is on the screen, then the user sees it is not their phone.
    app.clock.advance(60);
    let path = new_link(&mut computer).await;
    let mut stranger = new_phone(&app);
    register_at(&mut stranger, &path, "Mine now")
        .await
        .assert_redirect("/app/");
    decide_on_computer(&mut computer, "yes")
        .await
        .assert_redirect("/security-info/tweestap-app");
    let page = computer.open("/security-info/tweestap-app").await;
    page.assert_contains("Stop: dit is niet mijn telefoon");
    let request = field(&page.body, "request");
    computer
        .post(
            "/security-info/tweestap-app/confirm",
            &[("request", &request), ("decision", "no")],
        )
        .await
        .assert_redirect("/security-info?notice=link-refused");
    let number = serde_json::from_str::<serde_json::Value>(
        &computer
            .get("/security-info/tweestap-app?json=1")
            .await
            .body,
    )
    .unwrap();
    assert!(number["number"].is_null(), "{number}");
    assert_eq!(app.methods_of("jan").await, 1);
    // The stranger's phone is no longer linked to anything.
    let page = stranger.browser.open("/app/").await;
    assert!(!page.body.contains("Gekoppeld aan"), "{}", page.body);
}
