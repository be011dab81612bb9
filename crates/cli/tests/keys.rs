//! OIDC signing keys: created at start, sealed at rest, rotated with an overlap, published.

mod support;

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use support::spawn_app;
use tweestap_core::SigningAlg;
use tweestap_core::ports::{Clock, Store};
use tweestap_oidc::Keyring;
use tweestap_oidc::keyring::REREAD_SECS;

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

async fn jwks(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/oauth2/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The server's key ring, opened beside it (as `tweestap keys` does).
fn keyring(app: &support::TestApp) -> Keyring {
    Keyring::new(
        app.admin.store.clone() as Arc<dyn Store>,
        app.keys.clone(),
        app.clock.clone(),
        Arc::new(tweestap_web::system::OsEntropy),
    )
}

#[tokio::test]
async fn keys_are_published_rotated_with_an_overlap_and_sealed_at_rest() {
    let app = spawn_app().await;
    let keyring = keyring(&app);
    // `serve` made the first keys at start-up: ES256 (listed first) and RS256.
    let first = keyring.current(SigningAlg::Es256).await.unwrap();
    let rsa = keyring.current(SigningAlg::Rs256).await.unwrap();
    let published = jwks(&app.base).await;
    assert_eq!(published["keys"].as_array().unwrap().len(), 2);
    assert_eq!(published["keys"][1]["kid"], rsa.kid.as_str());
    assert_eq!(published["keys"][1]["kty"], "RSA");
    assert_eq!(published["keys"][0]["kid"], first.kid.as_str());
    assert_eq!(published["keys"][0]["alg"], "ES256");
    assert!(
        published["keys"][0].get("d").is_none(),
        "never the private part"
    );

    // Sealed at rest: the stored bytes are not the key.
    let stored = app
        .admin
        .store
        .signing_keys_published(app.clock.now())
        .await
        .unwrap();
    assert!(
        !stored[0]
            .sealed_private
            .windows(32)
            .any(|w| first.pkcs8().windows(32).any(|k| k == w))
    );

    // A token signed before the rotation keeps verifying during the overlap.
    let token = first
        .sign(&Claims {
            sub: "s".into(),
            exp: 4_000_000_000,
        })
        .unwrap();
    let second = keyring.rotate(SigningAlg::Es256, 0, 3600).await.unwrap();
    // The server (another key ring, as after `tweestap keys rotate`) reads again within a minute.
    app.clock.advance(REREAD_SECS);
    assert_eq!(
        keyring.current(SigningAlg::Es256).await.unwrap().kid,
        second
    );
    assert_eq!(
        keyring.current(SigningAlg::Rs256).await.unwrap().kid,
        rsa.kid,
        "rotating one algorithm leaves the other's key alone"
    );
    let published = jwks(&app.base).await;
    let kids: Vec<&str> = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        vec![second.as_str(), rsa.kid.as_str(), first.kid.as_str()]
    );
    let old: jsonwebtoken::jwk::Jwk = serde_json::from_value(published["keys"][2].clone()).unwrap();
    let key = DecodingKey::from_jwk(&old).unwrap();
    assert!(
        jsonwebtoken::decode::<Claims>(&token, &key, &Validation::new(Algorithm::ES256)).is_ok()
    );

    // After the overlap only the new key is published.
    app.clock.advance(3601);
    let published = jwks(&app.base).await;
    assert_eq!(published["keys"].as_array().unwrap().len(), 2);
    assert_eq!(published["keys"][0]["kid"], second.as_str());
    assert_eq!(published["keys"][1]["kid"], rsa.kid.as_str());
    app.stop().await;
}

#[tokio::test]
async fn a_next_key_is_published_before_it_signs_and_a_leaked_key_is_withdrawn_at_once() {
    let app = spawn_app().await;
    let keyring = keyring(&app);
    let first = keyring
        .current(SigningAlg::Rs256)
        .await
        .unwrap()
        .kid
        .clone();
    jwks(&app.base).await;
    let next = keyring
        .rotate(SigningAlg::Rs256, 48 * 3600, 48 * 3600)
        .await
        .unwrap();
    // The running server serves its keys from memory: it sees the new one within a minute.
    assert!(!jwks(&app.base).await.to_string().contains(&next));
    app.clock.advance(REREAD_SECS);
    let published = jwks(&app.base).await.to_string();
    assert!(published.contains(&next) && published.contains(&first));
    assert_eq!(keyring.current(SigningAlg::Rs256).await.unwrap().kid, first);
    // One next key at a time.
    assert!(
        keyring
            .rotate(SigningAlg::Rs256, 48 * 3600, 0)
            .await
            .unwrap_err()
            .to_string()
            .contains("already published and waits")
    );
    // Every RSA key carries its certificate, whose thumbprint is published with it.
    let set = jwks(&app.base).await;
    for key in set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kty"] == "RSA")
    {
        assert_eq!(key["x5c"].as_array().unwrap().len(), 1, "{key}");
        assert!(key["x5t"].as_str().unwrap().len() == 27, "{key}");
    }
    // Leaked: the replacement signs now and nothing else of that algorithm is published.
    let fresh = keyring.replace_now(SigningAlg::Rs256).await.unwrap();
    app.clock.advance(REREAD_SECS);
    assert_eq!(keyring.current(SigningAlg::Rs256).await.unwrap().kid, fresh);
    let published = jwks(&app.base).await.to_string();
    assert!(published.contains(&fresh));
    assert!(
        !published.contains(&first) && !published.contains(&next),
        "{published}"
    );
    app.stop().await;
}
