//! The OpenID Connect provider over real HTTP: the happy path, and the negative cases of the
//! OpenID Foundation's Basic OP certification plan that apply to a code-flow-only provider.

mod support;

use reqwest::StatusCode;
use support::oidc::{
    ClientKind, LOGOUT_TO, REDIRECT, VERIFIER, authorize_path, code_from, hidden, param,
};
use support::{spawn_app, spawn_app_with};

#[tokio::test]
async fn code_flow_with_pkce_gives_verifiable_tokens_that_tell_the_truth() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(
            &app,
            &authorize_path(&client, &[("scope", "openid profile phone")]),
            "jan",
        )
        .await;
    let code = code_from(&app, &page);

    let (status, tokens) = app.exchange(&client, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile phone");
    let claims = app
        .verify_id_token(tokens["id_token"].as_str().unwrap(), &client)
        .await;
    let user = app
        .admin
        .store
        .user_by_username(&tweestap_core::Username::parse("jan").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims["sub"], user.subject.as_str());
    assert_ne!(claims["sub"], "jan", "sub is not the username");
    assert_eq!(claims["preferred_username"], "jan");
    assert_eq!(claims["name"], "jan Tester");
    assert_eq!(claims["nonce"], "n0nce");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "sms", "mfa"]));
    assert_eq!(claims["acr"], "urn:tweestap:acr:mfa");
    assert_eq!(claims["auth_time"].as_i64().unwrap(), app.clock_now());
    assert_eq!(claims["phone_number"], "+31612345678");
    assert!(claims.get("email").is_none(), "email scope not asked");
    let header = jsonwebtoken::decode_header(tokens["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);

    let (status, info) = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["sub"], user.subject.as_str());
    assert_eq!(info["preferred_username"], "jan");
    let (status, _) = app.userinfo("made-up-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Codes and tokens are stored hashed: none of them appears in the database files.
    let mut stored = Vec::new();
    for file in ["tweestap.db", "tweestap.db-wal"] {
        stored.extend(std::fs::read(app.config.data_dir.join(file)).unwrap_or_default());
    }
    assert!(!stored.is_empty());
    for secret in [
        code.as_str(),
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    ] {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the database"
        );
    }

    // The code gave no cookie-less shortcut: a second browser is not signed in.
    let mut other = app.browser();
    let page = other
        .get(&authorize_path(&client, &[("prompt", "none")]))
        .await;
    let to = page.location.unwrap();
    assert_eq!(param(&to, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&to, "state").as_deref(), Some("st4te"));
    app.stop().await;
}

#[tokio::test]
async fn rs256_clients_get_rs256_id_tokens_from_a_published_key() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app
        .add_client(ClientKind {
            rs256: true,
            ..ClientKind::default()
        })
        .await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    let (status, tokens) = app.exchange(&client, &code_from(&app, &page)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(token).unwrap().alg,
        jsonwebtoken::Algorithm::RS256
    );
    app.verify_id_token(token, &client).await;
    app.stop().await;
}

#[tokio::test]
async fn discovery_describes_what_the_provider_does() {
    let app = spawn_app().await;
    let doc: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let issuer = app.config.public_url.trim_end_matches('/');
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["token_endpoint"], format!("{issuer}/oauth2/token"));
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256", "RS256"])
    );
    // Browser-based clients may call the token endpoints from their own origin.
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/oauth2/userinfo", app.base),
        )
        .header("origin", "https://spa.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("Authorization")
    );
    app.stop().await;
}

#[tokio::test]
async fn redirect_uri_variants_are_refused_without_redirecting() {
    let app = spawn_app().await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    for variant in [
        format!("{REDIRECT}/"),
        REDIRECT.replace("app.example", "APP.example"),
        format!("{REDIRECT}?extra=1"),
        REDIRECT.replace("/callback", "/other"),
        REDIRECT.replace("https", "http"),
        "https://evil.example/callback".to_string(),
    ] {
        let page = browser
            .get(&authorize_path(&client, &[("redirect_uri", &variant)]))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{variant}");
        assert!(page.location.is_none(), "never redirected to {variant}");
        page.assert_contains("niet voor die app is geregistreerd");
    }
    let page = browser
        .get(&authorize_path(&client, &[("redirect_uri", "")]))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let page = browser
        .get(&authorize_path(&client, &[("client_id", "nobody")]))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // A parameter given twice is refused (RFC 6749 §3.1).
    let twice = format!("{}&state=again", authorize_path(&client, &[]));
    assert_eq!(browser.get(&twice).await.status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_known_go_back_to_the_client() {
    let app = spawn_app().await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    for (extra, error) in [
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("scope", "profile")], "invalid_scope"),
        (vec![("request", "eyJ...")], "request_not_supported"),
        (vec![("max_age", "soon")], "invalid_request"),
        (vec![("prompt", "none login")], "invalid_request"),
    ] {
        let page = browser.get(&authorize_path(&client, &extra)).await;
        let to = page
            .location
            .unwrap_or_else(|| panic!("{extra:?}: {}", page.body));
        assert!(to.starts_with(REDIRECT));
        assert_eq!(param(&to, "error").as_deref(), Some(error), "{extra:?}");
        assert_eq!(param(&to, "state").as_deref(), Some("st4te"));
        assert!(param(&to, "iss").is_some());
    }
    app.stop().await;
}

#[tokio::test]
async fn pkce_missing_plain_or_wrong_is_refused() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let public = app
        .add_client(ClientKind {
            public: true,
            ..ClientKind::default()
        })
        .await;
    let mut browser = app.browser();
    // A public client must send a challenge, and never "plain".
    for extra in [
        vec![("code_challenge", ""), ("code_challenge_method", "")],
        vec![
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ],
        vec![("code_challenge_method", "")],
    ] {
        let page = browser.get(&authorize_path(&public, &extra)).await;
        let to = page.location.unwrap();
        assert_eq!(
            param(&to, "error").as_deref(),
            Some("invalid_request"),
            "{extra:?}"
        );
    }
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&public, &[]), "jan")
        .await;
    let code = code_from(&app, &page);
    let wrong = "x".repeat(43);
    for verifier in ["", wrong.as_str()] {
        let (status, body) = app
            .token_request(
                &public,
                "/oauth2/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", verifier),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant", "{verifier:?}: {body}");
    }
    // A confidential client that sent no challenge cannot add a verifier later either.
    let confidential = app.add_client(ClientKind::default()).await;
    let page = browser
        .get(&authorize_path(
            &confidential,
            &[("code_challenge", ""), ("code_challenge_method", "")],
        ))
        .await;
    let code = code_from(&app, &page);
    let (status, body) = app.exchange(&confidential, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_what_it_issued() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    let code = code_from(&app, &page);
    let (status, tokens) = app.exchange(&client, &code).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.exchange(&client, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the access token is revoked"
    );
    let (status, body) = app
        .refresh(&client, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        app.audit()
            .await
            .iter()
            .any(|e| e.kind == "oidc.token_replayed"),
        "the replay is audited"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    let code = code_from(&app, &page);
    app.clock.advance(60);
    let (status, body) = app.exchange(&client, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    app.stop().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    let (_, first) = app.exchange(&client, &code_from(&app, &page)).await;
    let auth_time = app.clock_now();
    app.clock.advance(300);
    let (status, second) = app
        .refresh(&client, first["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let claims = app
        .verify_id_token(second["id_token"].as_str().unwrap(), &client)
        .await;
    assert_eq!(
        claims["auth_time"].as_i64().unwrap(),
        auth_time,
        "still the original sign-in"
    );
    assert!(claims.get("nonce").is_none());
    // Narrowing the scope is allowed, widening is not.
    let (status, body) = app
        .token_request(
            &client,
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", second["refresh_token"].as_str().unwrap()),
                ("scope", "openid phone"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
    // Another client cannot use it.
    let other = app.add_client(ClientKind::default()).await;
    let (status, _) = app
        .refresh(&other, second["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The old one again: refused, and the newest one dies with it.
    let (status, body) = app
        .refresh(&client, first["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = app
        .refresh(&client, second["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the family is revoked");
    let (status, _) = app.userinfo(second["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn client_authentication_is_checked() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    let code = code_from(&app, &page);
    let http = reqwest::Client::new();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let wrong = http
        .post(format!("{}/oauth2/token", app.base))
        .basic_auth(&client.id, Some("not-the-secret"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("www-authenticate").is_some());
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // No secret at all.
    let none = http
        .post(format!("{}/oauth2/token", app.base))
        .form(&[fields.as_slice(), &[("client_id", client.id.as_str())]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    assert!(none.headers().get("www-authenticate").is_none());
    let body: serde_json::Value = none.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // Both methods at once.
    let secret = client.secret.clone().unwrap();
    let both = http
        .post(format!("{}/oauth2/token", app.base))
        .basic_auth(&client.id, Some(&secret))
        .form(&[fields.as_slice(), &[("client_secret", secret.as_str())]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    // client_secret_post works, and the failed attempts did not use the code up.
    let post = http
        .post(format!("{}/oauth2/token", app.base))
        .form(
            &[
                fields.as_slice(),
                &[
                    ("client_id", client.id.as_str()),
                    ("client_secret", secret.as_str()),
                ],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::OK);
    assert_eq!(post.headers()["cache-control"], "no-store");
    // Unknown grant types.
    let (status, body) = app
        .token_request(&client, "/oauth2/token", &[("grant_type", "password")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    app.stop().await;
}

#[tokio::test]
async fn prompt_none_and_max_age_follow_the_session() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .get(&authorize_path(&client, &[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&page.location.unwrap(), "error").as_deref(),
        Some("login_required")
    );
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    code_from(&app, &page);
    let first_auth = app.clock_now();
    // Signed in: prompt=none gets a code silently.
    let page = browser
        .get(&authorize_path(&client, &[("prompt", "none")]))
        .await;
    code_from(&app, &page);

    // An older sign-in than max_age allows: sign in again, then the code.
    app.clock.advance(120);
    let page = browser
        .get(&authorize_path(
            &client,
            &[("max_age", "60"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(
        param(&page.location.unwrap(), "error").as_deref(),
        Some("login_required")
    );
    let sent = app.sms().len();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[("max_age", "60")]), "jan")
        .await;
    assert_eq!(app.sms().len(), sent + 1, "a new SMS code was needed");
    let (_, tokens) = app.exchange(&client, &code_from(&app, &page)).await;
    let claims = app
        .verify_id_token(tokens["id_token"].as_str().unwrap(), &client)
        .await;
    assert_eq!(claims["auth_time"].as_i64().unwrap(), first_auth + 120);

    // prompt=login always asks again, but only the user's own click ends the sign-in: a link
    // elsewhere cannot sign anyone out.
    let page = browser
        .get(&authorize_path(&client, &[("prompt", "login")]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Opnieuw inloggen");
    let request = support::oidc::hidden(&page.body, "request");
    let page = browser
        .get(&authorize_path(&client, &[("prompt", "none")]))
        .await;
    code_from(&app, &page);
    let forged = browser
        .post_raw(
            "/oauth2/reauth",
            &[("request", &request), ("decision", "continue")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cancel = browser
        .post(
            "/oauth2/reauth",
            &[("request", &request), ("decision", "cancel")],
        )
        .await;
    assert_eq!(
        param(&cancel.location.unwrap(), "error").as_deref(),
        Some("access_denied")
    );
    let page = browser
        .post(
            "/oauth2/reauth",
            &[("request", &request), ("decision", "continue")],
        )
        .await;
    page.assert_redirect("/sign-in?strict=1");
    app.stop().await;
}

#[tokio::test]
async fn the_registration_interrupt_and_the_password_alone_never_get_a_code() {
    let app = spawn_app().await;
    app.add_user("new", None).await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let start = authorize_path(&client, &[]);
    let page = browser.authorize_signing_in(&app, &start, "new").await;
    // Password right, no phone yet: the registration interrupt, not the client.
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"phone\""), "{}", page.body);
    // Asking again (or silently) does not skip it: the request waits until the user carries
    // on with the registration (a button: a GET changes nothing).
    let page = browser.get(&start).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("action=\"/sign-in/continue\"");
    let back = hidden(&page.body, "return_to");
    browser
        .post("/sign-in/continue", &[("return_to", &back)])
        .await
        .assert_redirect("/sign-in/phone");
    let page = browser
        .get(&authorize_path(&client, &[("prompt", "none")]))
        .await;
    let to = page.location.unwrap();
    assert_eq!(param(&to, "error").as_deref(), Some("login_required"));
    assert!(param(&to, "code").is_none());

    browser
        .post(
            "/sign-in/phone",
            &[("country", "NL"), ("phone", "0612345678")],
        )
        .await;
    // Registration done: straight back to the application's request.
    let page = browser.enter_code(&app.last_code()).await;
    let next = page.location.clone().unwrap();
    assert!(next.starts_with("/oauth2/authorize?"), "{next}");
    let page = browser.get(&next).await;
    let (status, tokens) = app.exchange(&client, &code_from(&app, &page)).await;
    assert_eq!(status, StatusCode::OK);
    let claims = app
        .verify_id_token(tokens["id_token"].as_str().unwrap(), &client)
        .await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "sms", "mfa"]));
    app.stop().await;
}

#[tokio::test]
async fn a_client_can_require_mfa_where_the_policy_does_not() {
    let app = spawn_app_with(|c| {
        c.policy.0.mfa = tweestap_core::policy::MfaRequirement::Optional;
    })
    .await;
    app.add_user("lax", None).await;
    let relaxed = app.add_client(ClientKind::default()).await;
    let strict = app
        .add_client(ClientKind {
            require_mfa: true,
            ..ClientKind::default()
        })
        .await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&relaxed, &[]), "lax")
        .await;
    let (_, tokens) = app.exchange(&relaxed, &code_from(&app, &page)).await;
    let claims = app
        .verify_id_token(tokens["id_token"].as_str().unwrap(), &relaxed)
        .await;
    assert_eq!(
        claims["amr"],
        serde_json::json!(["pwd"]),
        "the truth: password only"
    );
    assert_eq!(claims["acr"], "urn:tweestap:acr:pwd");

    let page = browser
        .get(&authorize_path(&strict, &[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&page.location.unwrap(), "error").as_deref(),
        Some("interaction_required")
    );
    // The request asks; opening it changes nothing (review item 8: a link elsewhere must not
    // sign anyone out or restart their sign-in)…
    let page = browser.get(&authorize_path(&strict, &[])).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("action=\"/oauth2/step-up\"");
    page.assert_contains("Nog één stap");
    assert_eq!(
        browser.get("/").await.status,
        StatusCode::OK,
        "still signed in"
    );
    // …the user's click does: no second factor yet, so registering one.
    let request = hidden(&page.body, "request");
    browser.open(&authorize_path(&strict, &[])).await;
    browser
        .post(
            "/oauth2/step-up",
            &[("request", &request), ("decision", "continue")],
        )
        .await
        .assert_redirect("/sign-in/phone");
    app.stop().await;
}

#[tokio::test]
async fn third_party_clients_ask_consent_once() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app
        .add_client(ClientKind {
            third_party: true,
            ..ClientKind::default()
        })
        .await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Het Rooster");
    page.assert_contains("Je naam en gebruikersnaam");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    let request = support::oidc::hidden(&page.body, "request");
    // Declining goes back to the client with access_denied.
    let page = browser
        .post(
            "/oauth2/consent",
            &[("request", &request), ("decision", "deny")],
        )
        .await;
    assert_eq!(
        param(&page.location.unwrap(), "error").as_deref(),
        Some("access_denied")
    );
    // A forged consent (no CSRF token) changes nothing.
    let page = browser
        .post_raw(
            "/oauth2/consent",
            &[("request", &request), ("decision", "allow")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = browser
        .post(
            "/oauth2/consent",
            &[("request", &request), ("decision", "allow")],
        )
        .await;
    code_from(&app, &page);
    // Next time: no question.
    let page = browser.get(&authorize_path(&client, &[])).await;
    code_from(&app, &page);
    // Unless the client asks for it.
    let page = browser
        .get(&authorize_path(&client, &[("prompt", "consent")]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("name=\"decision\"");
    // …and answering it gives the code (not the question again).
    let request = support::oidc::hidden(&page.body, "request");
    let page = browser
        .post(
            "/oauth2/consent",
            &[("request", &request), ("decision", "allow")],
        )
        .await;
    code_from(&app, &page);
    app.stop().await;
}

#[tokio::test]
async fn logout_goes_only_to_registered_uris_and_asks_without_proof() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    let (_, tokens) = app.exchange(&client, &code_from(&app, &page)).await;
    let hint = tokens["id_token"].as_str().unwrap().to_string();

    let page = browser
        .get(&format!(
            "/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F"
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location.is_none());
    // Without proof of who signs out: a question, not a sign-out.
    let page = browser.get("/oauth2/logout").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Uitloggen?");
    let page = browser
        .get(&authorize_path(&client, &[("prompt", "none")]))
        .await;
    code_from(&app, &page);

    let page = browser
        .get(&format!(
            "/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye1",
            tweestap_core::oidc::percent_encode(LOGOUT_TO)
        ))
        .await;
    page.assert_redirect(&format!("{LOGOUT_TO}?state=bye1"));
    let page = browser
        .get(&authorize_path(&client, &[("prompt", "none")]))
        .await;
    assert_eq!(
        param(&page.location.unwrap(), "error").as_deref(),
        Some("login_required"),
        "signed out"
    );
    app.stop().await;
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    let other = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    let (_, tokens) = app.exchange(&client, &code_from(&app, &page)).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    // Another client's revocation does nothing (and says nothing).
    let (status, _) = app
        .token_request(&other, "/oauth2/revoke", &[("token", refresh)])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .token_request(&client, "/oauth2/revoke", &[("token", refresh)])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.refresh(&client, refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .token_request(&client, "/oauth2/revoke", &[("token", "unknown")])
        .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn clients_declared_in_the_configuration_work_with_their_configured_secret() {
    let secret = "a-configured-secret-of-at-least-32-chars";
    let app = spawn_app_with(|c| {
        c.oidc.clients = vec![tweestap::config::DeclaredClient {
            client_id: "rooster".into(),
            name: "Het Rooster".into(),
            redirect_uris: vec![REDIRECT.into()],
            first_party: true,
            secret: Some(tweestap::config::Redacted(secret.into())),
            ..Default::default()
        }];
    })
    .await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = support::oidc::TestClient {
        id: "rooster".into(),
        secret: Some(secret.into()),
    };
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    let (status, tokens) = app.exchange(&client, &code_from(&app, &page)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let stored = app
        .admin
        .store
        .client_get(&tweestap_core::ClientId::parse("rooster").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.secret_hash.as_deref(), Some(secret), "stored hashed");

    // A short secret is refused with the key named.
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config_for(dir.path());
    config.oidc.clients = vec![tweestap::config::DeclaredClient {
        client_id: "weak".into(),
        name: "Weak".into(),
        redirect_uris: vec![REDIRECT.into()],
        secret: Some(tweestap::config::Redacted("short".into())),
        ..Default::default()
    }];
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("oidc.clients.secret"), "{error}");
    app.stop().await;
}

#[tokio::test]
async fn a_password_change_or_mfa_reset_revokes_applications_tokens() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    for reset in ["password", "mfa"] {
        // Past the wait between two texts to the same number.
        app.clock.advance(3600);
        let mut browser = app.browser();
        let page = browser
            .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
            .await;
        let (_, tokens) = app.exchange(&client, &code_from(&app, &page)).await;
        match reset {
            "password" => app
                .admin
                .set_password("jan", tweestap_core::Secret::new("another good password"))
                .await
                .unwrap(),
            _ => {
                app.admin.reset_mfa("jan").await.unwrap();
            }
        }
        let (status, _) = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{reset}");
        let (status, _) = app
            .refresh(&client, tokens["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reset}");
        if reset == "password" {
            app.admin
                .set_password("jan", tweestap_core::Secret::new(support::PASSWORD))
                .await
                .unwrap();
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn login_hint_and_ui_locales_shape_the_sign_in_page() {
    let app = spawn_app().await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .get(&authorize_path(
            &client,
            &[("login_hint", "j.jansen"), ("ui_locales", "en-GB nl")],
        ))
        .await;
    let to = page.location.unwrap();
    assert!(to.starts_with("/lang/en?next="), "{to}");
    let page = browser.get(&to).await;
    let page = browser.follow(page).await;
    page.assert_contains("lang=\"en\"");
    page.assert_contains("value=\"j.jansen\"");
    app.stop().await;
}

#[tokio::test]
async fn an_authorization_post_becomes_the_same_get() {
    let app = spawn_app().await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let query = authorize_path(&client, &[]);
    let query = query.split_once('?').unwrap().1;
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // A post from the application's site carries no cookie: no new one may replace the
    // browser's, and the request continues as a GET (which carries it).
    let page = browser.post_raw("/oauth2/authorize", &fields).await;
    assert!(page.status.is_redirection());
    assert!(page.headers.get("set-cookie").is_none());
    let to = page.location.unwrap();
    assert!(to.starts_with("/oauth2/authorize?client_id="), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("st4te"));
    app.stop().await;
}

#[tokio::test]
async fn first_party_clients_are_asked_only_with_prompt_consent() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app.add_client(ClientKind::default()).await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    code_from(&app, &page);
    let page = browser
        .get(&authorize_path(&client, &[("prompt", "consent")]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("name=\"decision\"");
    app.stop().await;
}

#[tokio::test]
async fn removing_a_client_ends_its_tokens_and_consents() {
    let app = spawn_app().await;
    app.add_user("jan", Some("+31612345678")).await;
    let client = app
        .add_client(ClientKind {
            third_party: true,
            ..ClientKind::default()
        })
        .await;
    let mut browser = app.browser();
    let page = browser
        .authorize_signing_in(&app, &authorize_path(&client, &[]), "jan")
        .await;
    let request = support::oidc::hidden(&page.body, "request");
    let page = browser
        .post(
            "/oauth2/consent",
            &[("request", &request), ("decision", "allow")],
        )
        .await;
    let (_, tokens) = app.exchange(&client, &code_from(&app, &page)).await;
    let service = tweestap_core::clients::ClientService {
        store: app.admin.store.clone(),
        clock: app.clock.clone(),
        entropy: std::sync::Arc::new(tweestap_web::system::OsEntropy),
        actor: "test".into(),
    };
    service.remove(&client.id).await.unwrap();
    let (status, _) = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        app.admin
            .store
            .consent_get(
                tweestap_core::UserId(1),
                &tweestap_core::ClientId::parse(&client.id).unwrap()
            )
            .await
            .unwrap()
            .is_none()
    );
    app.stop().await;
}

#[tokio::test]
async fn cross_site_posts_cannot_replace_the_session_cookie() {
    let app = spawn_app().await;
    // A post from another site arrives without the (SameSite=Lax) cookie. Answering it with
    // a new cookie would overwrite the browser's and sign the user out.
    for path in ["/oauth2/logout", "/sign-in", "/sign-out", "/oauth2/consent"] {
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{}{path}", app.base))
            .form(&[("username", "jan"), ("password", "x")])
            .send()
            .await
            .unwrap();
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{path} set a cookie"
        );
    }
    app.stop().await;
}
