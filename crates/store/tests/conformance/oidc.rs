//! The OpenID Connect provider's clients, signing keys, codes and tokens, and consents: each
//! code and refresh token used once, also when many present it at once.

use tweestap_core::oidc::TokenError;
use tweestap_core::ports::{
    AccountStore, Grant, GrantKind, GrantRecord, OidcStore, Redeemed, SigningKeyRecord, StoreError,
};
use tweestap_core::{Client, ClientId, RedirectUri, SigningAlg, Timestamp, UserId};

use crate::accounts::new_user;

fn client(id: &str) -> Client {
    Client {
        client_id: ClientId::parse(id).unwrap(),
        name: format!("App {id}"),
        redirect_uris: vec![RedirectUri::parse("https://app.school.example/cb").unwrap()],
        post_logout_uris: vec![],
        public: false,
        first_party: true,
        scopes: vec!["openid".into(), "profile".into()],
        require_mfa: true,
        id_token_alg: SigningAlg::Rs256,
        secret_hash: Some("hash".into()),
        created_at: Timestamp(5),
    }
}

fn grant(hash: &str, kind: GrantKind, family: &str, user: UserId, expires: i64) -> GrantRecord {
    GrantRecord {
        token_hash: hash.into(),
        kind,
        family: family.into(),
        client_id: ClientId::parse("rooster").unwrap(),
        user_id: user,
        grant: Grant {
            scopes: vec!["openid".into()],
            auth_time: Timestamp(10),
            amr: vec!["pwd".into(), "sms".into()],
            redirect_uri: Some("https://app.school.example/cb".into()),
            code_challenge: None,
            nonce: Some("n".into()),
        },
        created_at: Timestamp(10),
        expires_at: Timestamp(expires),
    }
}

pub async fn clients_are_added_once_listed_and_removed<S: OidcStore>(s: &S) {
    s.client_add(&client("rooster")).await.unwrap();
    s.client_add(&client("magister")).await.unwrap();
    let err = s.client_add(&client("rooster")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref id) if id == "rooster"),
        "{err:?}"
    );
    let back = s
        .client_get(&ClientId::parse("rooster").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.name, "App rooster");
    assert_eq!(back.redirect_uris, client("rooster").redirect_uris);
    assert!(!back.public && back.first_party && back.require_mfa);
    assert_eq!(back.id_token_alg, SigningAlg::Rs256);
    assert_eq!(back.scopes, ["openid", "profile"]);
    let ids: Vec<_> = s
        .client_list()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id.as_str().to_string())
        .collect();
    assert_eq!(ids, ["magister", "rooster"]);
    assert!(
        s.client_remove(&ClientId::parse("rooster").unwrap())
            .await
            .unwrap()
    );
    assert!(
        !s.client_remove(&ClientId::parse("rooster").unwrap())
            .await
            .unwrap()
    );
}

pub async fn signing_keys_are_published_newest_first_until_retired<S: OidcStore>(s: &S) {
    let key = |kid: &str, alg: &str, at: i64| SigningKeyRecord {
        kid: kid.into(),
        alg: alg.into(),
        sealed_private: vec![7; 8],
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        created_at: Timestamp(at),
        activate_at: Timestamp(at),
        retire_at: None,
    };
    s.signing_key_add(&key("es-old", "ES256", 10))
        .await
        .unwrap();
    s.signing_key_add(&key("es-new", "ES256", 20))
        .await
        .unwrap();
    s.signing_key_add(&key("rs", "RS256", 15)).await.unwrap();
    let kids = |keys: Vec<SigningKeyRecord>| keys.into_iter().map(|k| k.kid).collect::<Vec<_>>();
    assert_eq!(
        kids(s.signing_keys_published(Timestamp(30)).await.unwrap()),
        ["es-new", "es-old", "rs"]
    );
    assert_eq!(
        s.signing_keys_retire_others("es-new", Timestamp(40))
            .await
            .unwrap(),
        1
    );
    let published = s.signing_keys_published(Timestamp(30)).await.unwrap();
    assert_eq!(
        kids(published.clone()),
        ["es-new", "rs", "es-old"],
        "retiring last"
    );
    assert_eq!(published[2].retire_at, Some(Timestamp(40)));
    assert_eq!(published[0].sealed_private, vec![7; 8]);
    assert_eq!(
        kids(s.signing_keys_published(Timestamp(41)).await.unwrap()),
        ["es-new", "rs"]
    );
    s.signing_key_set_public_jwk("rs", "{\"x5c\":[]}")
        .await
        .unwrap();
    let rs = s
        .signing_keys_published(Timestamp(41))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(rs.public_jwk, "{\"x5c\":[]}");
}

pub async fn a_code_presented_many_times_at_once_is_redeemed_once_and_the_rest_revoked<S>(s: &S)
where
    S: AccountStore + OidcStore + Clone + 'static,
{
    let jan = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    s.grant_put(&grant("code-1", GrantKind::Code, "fam", jan, 100))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let issue = move |found: &GrantRecord| {
                Ok(vec![GrantRecord {
                    token_hash: format!("refresh-{n}"),
                    kind: GrantKind::Refresh,
                    ..found.clone()
                }])
            };
            s.grant_redeem("code-1", GrantKind::Code, Timestamp(20), &issue)
                .await
                .unwrap()
        }));
    }
    let mut done = Vec::new();
    for (n, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Redeemed::Done(found) => {
                assert_eq!(found.grant.nonce.as_deref(), Some("n"));
                done.push(n);
            }
            Redeemed::Replayed | Redeemed::Revoked => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(done.len(), 1, "one code, one set of tokens");
    // The replays revoked the family: the refresh token issued for the winner is dead too.
    let refresh = format!("refresh-{}", done[0]);
    assert!(
        s.grant_active(&refresh, GrantKind::Refresh, Timestamp(21))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn tokens_are_active_until_revoked_or_expired<S>(s: &S)
where
    S: AccountStore + OidcStore,
{
    let jan = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    s.grant_put(&grant("access-1", GrantKind::Access, "f1", jan, 100))
        .await
        .unwrap();
    s.grant_put(&grant("refresh-1", GrantKind::Refresh, "f1", jan, 1_000))
        .await
        .unwrap();
    s.grant_put(&grant("access-2", GrantKind::Access, "f2", jan, 100))
        .await
        .unwrap();
    let active = |hash: &'static str, kind| async move {
        s.grant_active(hash, kind, Timestamp(50))
            .await
            .unwrap()
            .is_some()
    };
    assert!(active("access-1", GrantKind::Access).await);
    assert!(
        s.grant_active("access-1", GrantKind::Access, Timestamp(100))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let rooster = ClientId::parse("rooster").unwrap();
    assert!(
        !s.grant_revoke(
            "refresh-1",
            &ClientId::parse("other").unwrap(),
            Timestamp(40)
        )
        .await
        .unwrap(),
        "only the client's own"
    );
    assert!(
        s.grant_revoke("refresh-1", &rooster, Timestamp(40))
            .await
            .unwrap()
    );
    assert!(
        !active("access-1", GrantKind::Access).await,
        "the family went with it"
    );
    assert!(active("access-2", GrantKind::Access).await);
    assert_eq!(s.grants_revoke_user(jan, Timestamp(45)).await.unwrap(), 1);
    assert!(!active("access-2", GrantKind::Access).await);
    // A refused redemption changes nothing.
    s.grant_put(&grant("code-9", GrantKind::Code, "f9", jan, 100))
        .await
        .unwrap();
    let refuse = |_: &GrantRecord| Err(TokenError::InvalidGrant("redirect_uri differs"));
    assert!(matches!(
        s.grant_redeem("code-9", GrantKind::Code, Timestamp(46), &refuse)
            .await
            .unwrap(),
        Redeemed::Refused(_)
    ));
    let none = |_: &GrantRecord| Ok(vec![]);
    assert!(matches!(
        s.grant_redeem("code-9", GrantKind::Code, Timestamp(47), &none)
            .await
            .unwrap(),
        Redeemed::Done(_)
    ));
    assert!(matches!(
        s.grant_redeem("nothing", GrantKind::Code, Timestamp(47), &none)
            .await
            .unwrap(),
        Redeemed::Unknown
    ));
}

pub async fn consents_are_kept_per_user_and_client_and_go_with_the_client<S>(s: &S)
where
    S: AccountStore + OidcStore,
{
    let jan = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    let rooster = ClientId::parse("rooster").unwrap();
    assert!(s.consent_get(jan, &rooster).await.unwrap().is_none());
    s.consent_put(jan, &rooster, &["openid".into()], Timestamp(2))
        .await
        .unwrap();
    s.consent_put(
        jan,
        &rooster,
        &["openid".into(), "email".into()],
        Timestamp(3),
    )
    .await
    .unwrap();
    assert_eq!(
        s.consent_get(jan, &rooster).await.unwrap().unwrap(),
        ["openid", "email"]
    );
    s.grant_put(&grant("access-1", GrantKind::Access, "f1", jan, 100))
        .await
        .unwrap();
    assert_eq!(
        s.grants_revoke_client(&rooster, Timestamp(4))
            .await
            .unwrap(),
        1
    );
    assert!(s.consent_get(jan, &rooster).await.unwrap().is_none());
}
