//! The WebAuthn adapter against the soft authenticator: whole ceremonies, and the answers it
//! must refuse. Each refusal is paired with the same ceremony succeeding once the one defect is
//! removed, so a test cannot pass because something unrelated broke.
#![cfg(feature = "soft-authenticator")]

use std::slice::from_ref;

use tweestap_webauthn::soft::{SoftAuthenticator, SoftError, tamper};
use tweestap_webauthn::{NewCredential, WebAuthn, WebAuthnError, credential_id};

/// WebAuthn refuses IP addresses, so tests use localhost.
const ORIGIN: &str = "http://localhost:8080";

fn relying_party() -> WebAuthn {
    WebAuthn::new(&url::Url::parse(ORIGIN).unwrap(), "tweestap").unwrap()
}

fn register(rp: &WebAuthn, authenticator: &mut SoftAuthenticator) -> NewCredential {
    let (options, state) = rp
        .start_registration("user-1", "alice", "Alice", &[])
        .unwrap();
    let response = authenticator.register(&options, ORIGIN);
    rp.finish_registration(&state, &response).unwrap()
}

/// The signature counter inside a stored credential.
fn counter(stored: &str) -> u64 {
    let value: serde_json::Value = serde_json::from_str(stored).unwrap();
    value["cred"]["counter"]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter in the stored credential: {stored}"))
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// Refused (never Malformed: the soft authenticator's answers are well formed), for the
/// expected reason (webauthn-rs's error message).
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, WebAuthnError>, reason: &str) {
    match result {
        Err(WebAuthnError::Refused(message)) => assert!(
            message.contains(reason),
            "refused, but for another reason than {reason:?}: {message}"
        ),
        other => panic!("expected a refusal ({reason}), got {other:?}"),
    }
}

#[test]
fn registration_then_authentication_returns_the_same_credential() {
    let rp = relying_party();
    let mut authenticator = SoftAuthenticator::new();

    let (options, state) = rp
        .start_registration("user-1", "alice", "Alice", &[])
        .unwrap();
    let response = authenticator.register(&options, ORIGIN);
    let new = rp.finish_registration(&state, &response).unwrap();
    assert_eq!(new.id, authenticator.credential_id());
    assert_eq!(credential_id(&new.stored).unwrap(), new.id);
    let user_id = json(&options)["publicKey"]["user"]["id"].clone();
    assert!(user_id.is_string());

    let (options, state) = rp.start_authentication(from_ref(&new.stored)).unwrap();
    let allowed = json(&options)["publicKey"]["allowCredentials"][0]["id"].clone();
    assert_eq!(allowed, new.id.as_str());
    let response = authenticator.authenticate(&options, ORIGIN);
    assert_eq!(json(&response)["response"]["userHandle"], user_id);
    let done = rp
        .finish_authentication(&state, &response, from_ref(&new.stored))
        .unwrap();
    assert_eq!(done.credential_id, new.id);
    let updated = done
        .updated
        .expect("a higher counter updates the credential");
    assert_eq!(credential_id(&updated).unwrap(), new.id);
    assert!(counter(&updated) > counter(&new.stored));

    // Again with the updated credential: the counter keeps rising.
    let (options, state) = rp.start_authentication(from_ref(&updated)).unwrap();
    let response = authenticator.authenticate(&options, ORIGIN);
    let again = rp
        .finish_authentication(&state, &response, from_ref(&updated))
        .unwrap();
    assert_eq!(again.credential_id, new.id);
    assert!(counter(&again.updated.unwrap()) > counter(&updated));
}

#[test]
fn a_counter_that_does_not_rise_is_refused() {
    let rp = relying_party();
    let mut authenticator = SoftAuthenticator::new();
    let new = register(&rp, &mut authenticator);
    let (options, state) = rp.start_authentication(from_ref(&new.stored)).unwrap();
    let response = authenticator.authenticate(&options, ORIGIN);
    let stored = rp
        .finish_authentication(&state, &response, from_ref(&new.stored))
        .unwrap()
        .updated
        .unwrap();

    // A clone of the authenticator that missed the last use sends the same counter again.
    authenticator.set_sign_count(counter(&stored) as u32 - 1);
    let (options, state) = rp.start_authentication(from_ref(&stored)).unwrap();
    let response = authenticator.authenticate(&options, ORIGIN);
    assert_refused(
        rp.finish_authentication(&state, &response, from_ref(&stored)),
        "compromised",
    );

    // The next use counts past the stored value again.
    let (options, state) = rp.start_authentication(from_ref(&stored)).unwrap();
    let response = authenticator.authenticate(&options, ORIGIN);
    rp.finish_authentication(&state, &response, &[stored])
        .unwrap();
}

const FOREIGN_ORIGINS: [&str; 4] = [
    "http://localhost:8081",
    "https://localhost:8080",
    "http://evil.localhost:8080",
    "http://example.com:8080",
];

#[test]
fn an_answer_for_another_origin_is_refused() {
    let rp = relying_party();
    let mut authenticator = SoftAuthenticator::new();

    for origin in FOREIGN_ORIGINS {
        let (options, state) = rp
            .start_registration("user-1", "alice", "Alice", &[])
            .unwrap();
        let response = authenticator.register(&options, origin);
        assert_refused(rp.finish_registration(&state, &response), "origin");
    }
    let new = register(&rp, &mut authenticator);

    for origin in FOREIGN_ORIGINS {
        let (options, state) = rp.start_authentication(from_ref(&new.stored)).unwrap();
        let response = authenticator.authenticate(&options, origin);
        assert_refused(
            rp.finish_authentication(&state, &response, from_ref(&new.stored)),
            "origin",
        );
    }
    let (options, state) = rp.start_authentication(from_ref(&new.stored)).unwrap();
    let response = authenticator.authenticate(&options, ORIGIN);
    rp.finish_authentication(&state, &response, &[new.stored])
        .unwrap();
}

#[test]
fn a_tampered_signature_is_refused() {
    let rp = relying_party();
    let mut authenticator = SoftAuthenticator::new();
    let new = register(&rp, &mut authenticator);

    let (options, state) = rp.start_authentication(from_ref(&new.stored)).unwrap();
    let response = authenticator.authenticate(&options, ORIGIN);
    let tampered = tamper(&response);
    assert_ne!(tampered, response);
    assert_refused(
        rp.finish_authentication(&state, &tampered, from_ref(&new.stored)),
        "Authentication has failed",
    );
    // The very same answer, untouched, passes.
    rp.finish_authentication(&state, &response, &[new.stored])
        .unwrap();
}

#[test]
fn an_authenticator_without_user_verification_is_refused() {
    let rp = relying_party();
    let mut authenticator = SoftAuthenticator::without_user_verification();

    let (options, state) = rp
        .start_registration("user-1", "alice", "Alice", &[])
        .unwrap();
    let response = authenticator.register(&options, ORIGIN);
    assert_refused(
        rp.finish_registration(&state, &response),
        "user verified bit is not set",
    );
    // The same options answered with user verification pass.
    authenticator.set_user_verification(true);
    let response = authenticator.register(&options, ORIGIN);
    let new = rp.finish_registration(&state, &response).unwrap();

    authenticator.set_user_verification(false);
    let (options, state) = rp.start_authentication(from_ref(&new.stored)).unwrap();
    let response = authenticator.authenticate(&options, ORIGIN);
    assert_refused(
        rp.finish_authentication(&state, &response, from_ref(&new.stored)),
        "user verified bit is not set",
    );
    authenticator.set_user_verification(true);
    let response = authenticator.authenticate(&options, ORIGIN);
    rp.finish_authentication(&state, &response, &[new.stored])
        .unwrap();
}

#[test]
fn an_answer_to_another_challenge_is_refused() {
    let rp = relying_party();
    let mut authenticator = SoftAuthenticator::new();

    let (options_a, state_a) = rp
        .start_registration("user-1", "alice", "Alice", &[])
        .unwrap();
    let (_, state_b) = rp
        .start_registration("user-1", "alice", "Alice", &[])
        .unwrap();
    let response_a = authenticator.register(&options_a, ORIGIN);
    assert_refused(
        rp.finish_registration(&state_b, &response_a),
        "challenge differs",
    );
    let new = rp.finish_registration(&state_a, &response_a).unwrap();

    let (options_a, state_a) = rp.start_authentication(from_ref(&new.stored)).unwrap();
    let (options_b, state_b) = rp.start_authentication(from_ref(&new.stored)).unwrap();
    assert_ne!(
        json(&options_a)["publicKey"]["challenge"],
        json(&options_b)["publicKey"]["challenge"]
    );
    let response_a = authenticator.authenticate(&options_a, ORIGIN);
    assert_refused(
        rp.finish_authentication(&state_b, &response_a, from_ref(&new.stored)),
        "challenge differs",
    );
    rp.finish_authentication(&state_a, &response_a, &[new.stored])
        .unwrap();
}

#[test]
fn registered_credentials_are_excluded_from_registration() {
    let rp = relying_party();
    let mut authenticator = SoftAuthenticator::new();
    let new = register(&rp, &mut authenticator);

    let excluded_ids = |options: &str| -> Vec<String> {
        json(options)["publicKey"]["excludeCredentials"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|d| d["id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (options, _) = rp
        .start_registration("user-1", "alice", "Alice", &[])
        .unwrap();
    assert!(excluded_ids(&options).is_empty());
    let (options, state) = rp
        .start_registration("user-1", "alice", "Alice", from_ref(&new.stored))
        .unwrap();
    assert_eq!(excluded_ids(&options), vec![new.id.clone()]);

    // A browser refuses to register an excluded credential again ...
    assert_eq!(
        authenticator.try_register(&options, ORIGIN),
        Err(SoftError::Excluded)
    );
    // ... and so does the server, should a client do it anyway.
    let response = authenticator.register_ignoring_exclusions(&options, ORIGIN);
    assert_refused(
        rp.finish_registration(&state, &response),
        "credential alg that was not allowed",
    );
    // Another authenticator is welcome.
    let mut other = SoftAuthenticator::new();
    let response = other.register(&options, ORIGIN);
    let second = rp.finish_registration(&state, &response).unwrap();
    assert_ne!(second.id, new.id);
}
