//! tweestap as Microsoft Entra ID's external MFA method, against an independent stand-in for
//! Entra (tests/entra/fake_entra.py): Entra's form post in, tweestap's steps, the answer out,
//! checked the way Entra checks it.

mod support;

use serde_json::{Value, json};
use support::entra::{
    FakeEntra, OTHER_TENANT, TENANT, answer_form, arrive_in, fields, spawn_with_entra, verdict,
};
use support::{Browser, TestApp};
use tweestap_core::Username;
use tweestap_core::ports::Store;

/// A browser posts Entra's request to tweestap.
async fn arrive(
    app: &TestApp,
    entra: &FakeEntra,
    options: Value,
) -> (Browser, support::Page, Value) {
    let mut browser = app.browser();
    let (page, request) = arrive_in(&mut browser, app, entra, options).await;
    (browser, page, request)
}

/// The account "jan" with a phone, linked to the stand-in's default Entra user.
async fn linked_jan(app: &TestApp) {
    app.add_user("jan", Some("0612345678")).await;
    support::entra::link(app, "jan").await;
}

/// Gives the code that was just texted; the page that answers Entra.
async fn enter_code(app: &TestApp, browser: &mut Browser) -> support::Page {
    app.wait_for_sms(1).await;
    let page = browser.get("/sign-in/code").await;
    page.assert_contains("Microsoft wacht nog op deze stap");
    browser
        .post("/sign-in/code", &[("code", &app.last_code())])
        .await
}

#[tokio::test]
async fn a_linked_student_answers_entra_with_an_sms_code() {
    let Some((app, entra)) = spawn_with_entra(|_| {}).await else {
        return;
    };
    linked_jan(&app).await;
    // Only the object id counts: a changed user principal name is the same person.
    let (mut browser, page, request) = arrive(
        &app,
        &entra,
        json!({ "preferred_username": "j.jansen@school.nl" }),
    )
    .await;
    page.assert_redirect("/sign-in/code");
    let cookie = page
        .set_cookie("tweestap_entra=")
        .expect("the cross-site post starts a session");
    assert!(cookie.contains("Path=/;"), "{cookie}");
    assert!(
        page.set_cookie("tweestap_session").is_none(),
        "the browser's own stays"
    );
    let page = enter_code(&app, &mut browser).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_contains("data-autosubmit");
    // The answer may post to Entra (and follow Entra's redirects onwards), nowhere else on http.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains(&format!("form-action 'self' {} https:;", entra.base)),
        "{csp}"
    );
    let (action, answer) = answer_form(&page.body);
    assert_eq!(
        answer.iter().find(|(k, _)| k == "state").unwrap().1,
        request["state"]
    );
    let verdict = entra.answer(&action, &answer).await;
    assert_eq!(verdict["outcome"], "accepted", "{verdict}");
    assert_eq!(verdict["claims"]["amr"], json!(["sms"]));
    assert_eq!(verdict["claims"]["acr"], "possessionorinherence");
    assert_eq!(verdict["claims"]["sub"], "pairwise-sub-of-jan");
    assert_eq!(verdict["claims"]["aud"], "school-eam");
    // Entra checked the password, not tweestap: this browser is not signed in here.
    browser
        .get("/security-info")
        .await
        .assert_redirect("/sign-in?return_to=/security-info");
    let kinds: Vec<String> = app
        .audit()
        .await
        .iter()
        .filter(|e| e.kind.starts_with("entra."))
        .map(|e| format!("{} {}", e.kind, e.outcome))
        .collect();
    assert_eq!(kinds, ["entra.requested ok", "entra.answered ok"]);
    // Nothing the hint or the answer could be rebuilt from is in the database.
    let hint = request["fields"]["id_token_hint"].as_str().unwrap();
    let signature = hint.rsplit('.').next().unwrap();
    let token = &answer.iter().find(|(k, _)| k == "id_token").unwrap().1;
    let db = std::fs::read(app.config.data_dir.join("tweestap.db")).unwrap();
    for secret in [signature, token.rsplit('.').next().unwrap()] {
        assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_student_registers_a_phone_inside_entras_sign_in() {
    let Some((app, entra)) = spawn_with_entra(|t| t.unknown_users = "register".into()).await else {
        return;
    };
    let (mut browser, page, _) = arrive(&app, &entra, json!({})).await;
    page.assert_redirect("/sign-in/phone");
    browser
        .get("/sign-in/phone")
        .await
        .assert_contains("Microsoft wacht nog");
    browser
        .post("/sign-in/phone", &[("phone", "06 1234 5678")])
        .await
        .assert_redirect("/sign-in/code");
    let page = enter_code(&app, &mut browser).await;
    let (action, answer) = answer_form(&page.body);
    let verdict = entra.answer(&action, &answer).await;
    assert_eq!(verdict["outcome"], "accepted", "{verdict}");
    assert_eq!(verdict["claims"]["amr"], json!(["sms"]));
    // The account is made from the hint and linked by object id.
    let store = &app.admin.store;
    let user = store
        .user_by_username(&Username::parse("jan@school.nl").unwrap())
        .await
        .unwrap()
        .expect("an account from preferred_username");
    assert_eq!(user.display_name, "Jan Jansen");
    assert!(
        user.password_hash.is_none(),
        "the password stays at Microsoft"
    );
    assert_eq!(
        store
            .entra_user(TENANT, support::entra::DEFAULT_OID)
            .await
            .unwrap(),
        Some(user.id)
    );
    assert_eq!(app.methods_of("jan@school.nl").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn cancelling_tells_entra_access_denied() {
    let Some((app, entra)) = spawn_with_entra(|_| {}).await else {
        return;
    };
    linked_jan(&app).await;
    let (mut browser, _, request) = arrive(&app, &entra, json!({})).await;
    browser.get("/sign-in/code").await;
    let page = browser.post("/sign-in/entra/cancel", &[]).await;
    page.assert_contains("Je hebt de aanmelding geweigerd");
    let (action, answer) = answer_form(&page.body);
    let verdict = entra.answer(&action, &answer).await;
    assert_eq!(verdict["outcome"], "error");
    assert_eq!(verdict["error"], "access_denied");
    assert_eq!(
        request["state"],
        answer.iter().find(|(k, _)| k == "state").unwrap().1
    );
    app.stop().await;
}

/// A refused request: its page, and Entra's verdict on the error it was sent (`None`: no
/// answer may go to Entra).
async fn refused(
    options: Value,
    tenant: impl FnOnce(&mut tweestap::config::EntraTenant),
) -> Option<(String, Option<Value>)> {
    let (app, entra) = spawn_with_entra(tenant).await?;
    linked_jan(&app).await;
    let (_, page, _) = arrive(&app, &entra, options).await;
    assert!(
        page.status.is_client_error(),
        "{} {}",
        page.status,
        page.body
    );
    assert!(app.sms().is_empty(), "nothing was sent");
    let verdict = if page.body.contains("externalauthprovider") {
        let (action, answer) = answer_form(&page.body);
        Some(entra.answer(&action, &answer).await)
    } else {
        None
    };
    app.stop().await;
    Some((page.body, verdict))
}

fn invalid_request(verdict: &Option<Value>) {
    let verdict = verdict.as_ref().expect("Entra hears the refusal");
    assert_eq!(verdict["outcome"], "error", "{verdict}");
    assert_eq!(verdict["error"], "invalid_request", "{verdict}");
}

#[tokio::test]
async fn a_hint_from_another_tenant_is_refused() {
    let Some((body, verdict)) = refused(json!({ "tid": OTHER_TENANT }), |_| {}).await else {
        return;
    };
    assert!(body.contains("kon niet worden gecontroleerd"), "{body}");
    invalid_request(&verdict);
}

#[tokio::test]
async fn a_hint_for_another_audience_is_refused() {
    let Some((_, verdict)) = refused(json!({ "aud": "another-app" }), |_| {}).await else {
        return;
    };
    invalid_request(&verdict);
}

#[tokio::test]
async fn a_forged_hint_is_refused() {
    let Some((_, verdict)) = refused(json!({ "forge": true }), |_| {}).await else {
        return;
    };
    invalid_request(&verdict);
}

#[tokio::test]
async fn a_stale_hint_is_refused() {
    let Some((body, verdict)) = refused(json!({ "iat_offset": -600 }), |_| {}).await else {
        return;
    };
    assert!(body.contains("vijf minuten"), "{body}");
    invalid_request(&verdict);
}

#[tokio::test]
async fn a_request_without_nonce_is_refused() {
    let Some((body, verdict)) = refused(json!({ "nonce": null }), |_| {}).await else {
        return;
    };
    assert!(body.contains("niet goed is ingesteld"), "{body}");
    invalid_request(&verdict);
}

#[tokio::test]
async fn a_claims_request_for_knowledge_only_is_refused() {
    let Some((_, verdict)) = refused(json!({ "acr_values": ["knowledge"] }), |_| {}).await else {
        return;
    };
    let verdict = verdict.unwrap();
    assert_eq!(verdict["error"], "access_denied", "{verdict}");
}

#[tokio::test]
async fn a_redirect_uri_that_is_not_microsofts_gets_a_page_and_no_answer() {
    let Some((body, verdict)) = refused(
        json!({ "redirect_uri": "https://evil.example/common/federation/externalauthprovider" }),
        |_| {},
    )
    .await
    else {
        return;
    };
    assert!(verdict.is_none(), "nothing is posted to a stranger");
    assert!(!body.contains("evil.example"), "{body}");
    assert!(body.contains("niet goed is ingesteld"), "{body}");
}

#[tokio::test]
async fn an_unlinked_user_is_refused_when_the_policy_says_so() {
    let Some((body, verdict)) = refused(
        json!({ "oid": "99999999-9999-4999-8999-999999999999" }),
        |_| {},
    )
    .await
    else {
        return;
    };
    assert!(body.contains("nog niet ingesteld"), "{body}");
    assert_eq!(verdict.unwrap()["error"], "access_denied");
}

#[tokio::test]
async fn a_replayed_hint_is_refused() {
    let Some((app, entra)) = spawn_with_entra(|_| {}).await else {
        return;
    };
    linked_jan(&app).await;
    let request = entra.request(&app, json!({})).await;
    let owned = fields(&request);
    let borrowed: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.browser()
        .post_raw("/entra/authorize", &borrowed)
        .await
        .assert_redirect("/sign-in/code");
    // The same form again (the back button, or someone who copied it).
    let again = app.browser().post_raw("/entra/authorize", &borrowed).await;
    assert_eq!(again.status, 403);
    again.assert_contains("al gebruikt");
    assert_eq!(app.sms().len(), 1, "no second text");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_key_is_fetched_again_at_a_bounded_rate_then_refused() {
    let Some((app, entra)) = spawn_with_entra(|_| {}).await else {
        return;
    };
    linked_jan(&app).await;
    let (_, page, _) = arrive(&app, &entra, json!({})).await;
    page.assert_redirect("/sign-in/code");
    assert_eq!(entra.fetches(TENANT).await, 1);
    // Entra rotates. Right after a fetch, an unknown kid does not make tweestap fetch again.
    entra.rotate(true).await;
    let (_, page, _) = arrive(&app, &entra, json!({})).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(
        entra.fetches(TENANT).await,
        1,
        "bounded: no fetch within five minutes"
    );
    // Five minutes on, it fetches again and learns the new key.
    app.clock.advance(301);
    let (_, page, _) = arrive(&app, &entra, json!({ "iat_offset": 301 })).await;
    page.assert_redirect("/sign-in/code");
    assert_eq!(entra.fetches(TENANT).await, 2);
    // A key Entra never published: fetched once more (after five minutes), then refused.
    app.clock.advance(301);
    let (_, page, _) = arrive(
        &app,
        &entra,
        json!({ "unpublished_kid": true, "iat_offset": 602 }),
    )
    .await;
    assert_eq!(page.status, 403, "{}", page.body);
    page.assert_contains("kon niet worden gecontroleerd");
    assert_eq!(
        entra.fetches(TENANT).await,
        3,
        "refetched for the unknown kid"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_five_minutes_passed_is_a_clear_page_and_an_error_for_entra() {
    let Some((app, entra)) = spawn_with_entra(|_| {}).await else {
        return;
    };
    linked_jan(&app).await;
    let (mut browser, _, _) = arrive(&app, &entra, json!({})).await;
    app.wait_for_sms(1).await;
    browser.get("/sign-in/code").await;
    app.clock.advance(301);
    browser
        .get("/sign-in/code")
        .await
        .assert_contains("zijn voorbij");
    let page = browser
        .post("/sign-in/code", &[("code", &app.last_code())])
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    page.assert_contains("langer dan de vijf minuten");
    let (action, answer) = answer_form(&page.body);
    let verdict = entra.answer(&action, &answer).await;
    assert_eq!(verdict["error"], "access_denied", "{verdict}");
    app.stop().await;
}

#[tokio::test]
async fn an_abandoned_entra_sign_in_is_forgotten_ten_minutes_after_entra_gave_up() {
    let Some((app, entra)) = spawn_with_entra(|_| {}).await else {
        return;
    };
    linked_jan(&app).await;
    let (mut browser, _, _) = arrive(&app, &entra, json!({})).await;
    app.clock.advance(301);
    browser
        .get("/sign-in/code")
        .await
        .assert_contains("zijn voorbij");
    app.clock.advance(600);
    let page = browser.get("/sign-in/code").await;
    page.assert_redirect("/sign-in");
    let gone = page
        .set_cookie("tweestap_entra=")
        .expect("the Entra cookie is removed");
    assert!(gone.contains("Max-Age=0"), "{gone}");
    browser
        .get("/sign-in")
        .await
        .assert_contains("Gebruikersnaam");
    app.stop().await;
}

#[tokio::test]
async fn the_discovery_document_is_exact_and_the_keys_rotate_in_view_of_entra() {
    let Some((app, entra)) = spawn_with_entra(|_| {}).await else {
        return;
    };
    let response = reqwest::get(format!(
        "{}/entra/.well-known/openid-configuration",
        app.base
    ))
    .await
    .unwrap();
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = response.text().await.unwrap();
    assert_eq!(length, body.len());
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["issuer"], format!("{}/entra", app.config.public_url));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks = |app: &TestApp| {
        let url = format!("{}/entra/jwks", app.base);
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let before = jwks(&app).await;
    assert_eq!(
        before["keys"].as_array().unwrap().len(),
        1,
        "only RS256 keys: {before}"
    );
    let old = before["keys"][0]["kid"].as_str().unwrap().to_string();

    // The next key is published at once, two days before it signs.
    let keyring = tweestap_oidc::Keyring::new(
        app.admin.store.clone() as std::sync::Arc<dyn Store>,
        app.keys.clone(),
        app.clock.clone(),
        std::sync::Arc::new(tweestap_web::system::OsEntropy),
    );
    let new = keyring
        .rotate(tweestap_core::SigningAlg::Rs256, 48 * 3600, 48 * 3600)
        .await
        .unwrap();
    // Rotated by another process (as `tweestap keys rotate` is): the server serves its keys
    // from memory and reads them again within a minute.
    let reread = tweestap_oidc::keyring::REREAD_SECS;
    app.clock.advance(reread);
    let kids: Vec<String> = jwks(&app).await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert!(kids.contains(&new) && kids.contains(&old), "{kids:?}");
    linked_jan(&app).await;
    assert_eq!(
        signing_kid(&app, &entra, reread).await,
        old,
        "the old key still signs"
    );
    app.clock.advance(48 * 3600 + 1);
    assert_eq!(
        signing_kid(&app, &entra, reread + 48 * 3600 + 1).await,
        new,
        "then the new one"
    );
    let kids = jwks(&app).await.to_string();
    assert!(
        kids.contains(&old),
        "the old key stays published for the overlap"
    );
    app.clock.advance(48 * 3600);
    assert!(
        !jwks(&app).await.to_string().contains(&old),
        "and then retires"
    );
    app.stop().await;
}

/// Signs in through Entra (the clock `ahead` of real time) and returns the answer's key id,
/// after Entra accepted the answer.
async fn signing_kid(app: &TestApp, entra: &FakeEntra, ahead: i64) -> String {
    let sent = app.sms().len();
    let (mut browser, page, _) = arrive(app, entra, json!({ "iat_offset": ahead })).await;
    page.assert_redirect("/sign-in/code");
    app.wait_for_sms(sent + 1).await;
    browser.get("/sign-in/code").await;
    let page = browser
        .post("/sign-in/code", &[("code", &app.last_code())])
        .await;
    let (action, answer) = answer_form(&page.body);
    let token = answer
        .iter()
        .find(|(k, _)| k == "id_token")
        .unwrap()
        .1
        .clone();
    // Entra's stand-in runs on the real clock: it can judge answers from a server clock that
    // is at most a few minutes ahead.
    if ahead < 300 {
        let verdict = entra.answer(&action, &answer).await;
        assert_eq!(verdict["outcome"], "accepted", "{verdict}");
    }
    jsonwebtoken::decode_header(&token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn entras_sign_in_leaves_the_browsers_own_sign_in_alone() {
    let Some((app, entra)) = spawn_with_entra(|_| {}).await else {
        return;
    };
    linked_jan(&app).await;
    let mut browser = app.browser();
    browser.sign_in("jan", support::PASSWORD).await;
    browser.enter_code(&app.last_code()).await;
    assert_eq!(browser.get("/security-info").await.status, 200);
    let (page, _) = arrive_in(&mut browser, &app, &entra, json!({})).await;
    page.assert_redirect("/sign-in/code");
    // Off the sign-in pages the browser is still its own signed-in self meanwhile.
    assert_eq!(browser.get("/security-info").await.status, 200);
    app.wait_for_sms(2).await;
    browser.get("/sign-in/code").await;
    let page = browser
        .post("/sign-in/code", &[("code", &app.last_code())])
        .await;
    let (action, answer) = answer_form(&page.body);
    assert_eq!(entra.answer(&action, &answer).await["outcome"], "accepted");
    let gone = page
        .set_cookie("tweestap_entra=")
        .expect("the Entra cookie is removed");
    assert!(gone.contains("Max-Age=0"), "{gone}");
    // Still signed in here, as before Entra's sign-in.
    assert_eq!(browser.get("/security-info").await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn linking_by_username_happens_once_and_then_only_the_object_id_counts() {
    let Some((app, entra)) = spawn_with_entra(|t| t.link_by_username = true).await else {
        return;
    };
    app.add_user("jan@school.nl", Some("0612345678")).await;
    let first = json!({ "oid": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa" });
    let (_, page, _) = arrive(&app, &entra, first.clone()).await;
    page.assert_redirect("/sign-in/code");
    // Another Entra user with the same name gets nothing: the account is linked already.
    let (_, page, _) = arrive(
        &app,
        &entra,
        json!({ "oid": "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb" }),
    )
    .await;
    assert_eq!(page.status, 403);
    page.assert_contains("nog niet ingesteld");
    // The first one, renamed in Entra, is still that account.
    let renamed = json!({ "oid": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "preferred_username": "j.jansen@school.nl" });
    let (_, page, _) = arrive(&app, &entra, renamed).await;
    // (to jan's code step; the second text waits for the resend cool-down)
    assert!(page.location.unwrap().starts_with("/sign-in/code"));
    let linked = app
        .audit()
        .await
        .iter()
        .filter(|e| e.kind == "entra.linked")
        .map(|e| e.outcome.clone())
        .collect::<Vec<_>>();
    assert_eq!(linked, ["by_username"]);
    app.stop().await;
}

#[tokio::test]
async fn a_helpdesk_access_pass_answers_entra_as_a_one_time_code() {
    let Some((app, entra)) = spawn_with_entra(|_| {}).await else {
        return;
    };
    linked_jan(&app).await;
    let (pass, _) = app
        .admin
        .issue_access_pass("jan", 3600, true)
        .await
        .unwrap();
    let (mut browser, page, _) = arrive(&app, &entra, json!({})).await;
    page.assert_redirect("/sign-in/code");
    browser
        .get("/sign-in/other-way")
        .await
        .assert_contains("tijdelijke toegangscode");
    browser.get("/sign-in/pass").await;
    let page = browser.post("/sign-in/pass", &[("pass", &pass)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let seen = verdict(&entra, &page.body).await;
    assert_eq!(seen["outcome"], "accepted", "{seen}");
    assert_eq!(seen["claims"]["amr"], json!(["otp"]));
    app.stop().await;
}
