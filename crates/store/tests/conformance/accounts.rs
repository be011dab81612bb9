//! Accounts.

use tweestap_core::ports::{AccountStore, StoreError};
use tweestap_core::{NewUser, PhoneNumber, Timestamp, UserId, Username};

pub fn new_user(name: &str, phone: Option<&str>) -> (NewUser, String) {
    (
        NewUser {
            username: Username::parse(name).unwrap(),
            display_name: name.to_uppercase(),
            email: None,
            password_hash: None,
            phone: phone.map(|p| PhoneNumber::from_stored(p).unwrap()),
        },
        format!("sub-{name}"),
    )
}

pub async fn a_clash_in_a_batch_creates_nobody(s: &impl AccountStore) {
    s.create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap();
    let err = s
        .create_users(
            &[
                new_user("piet", Some("+31612345678")),
                new_user("JAN", None),
            ],
            Timestamp(2),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref n) if n == "jan"),
        "{err:?}"
    );
    let users = s.list_users().await.unwrap();
    assert_eq!(users.len(), 1, "piet must not have been created half-way");
}

pub async fn accounts_are_found_by_name_and_id_and_listed_in_order(s: &impl AccountStore) {
    let ids = s
        .create_users(
            &[
                new_user("piet", None),
                new_user("Anna", Some("+31612345678")),
            ],
            Timestamp(7),
        )
        .await
        .unwrap();
    assert_ne!(ids[0], ids[1]);
    let anna = s
        .user_by_username(&Username::parse("ANNA").unwrap())
        .await
        .unwrap()
        .expect("found whatever the case typed");
    assert_eq!(anna.id, ids[1]);
    assert_eq!(anna.subject, "sub-Anna");
    assert_eq!(anna.display_name, "ANNA");
    assert_eq!(anna.created_at, Timestamp(7));
    assert_eq!(anna.language, None);
    let piet = s.user_by_id(ids[0]).await.unwrap().expect("by id");
    assert_eq!(piet.username.as_str(), "piet");
    assert!(
        s.user_by_id(UserId(ids[1].0 + 1000))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.user_by_username(&Username::parse("kees").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let names: Vec<String> = s
        .list_users()
        .await
        .unwrap()
        .iter()
        .map(|u| u.username.as_str().to_string())
        .collect();
    assert_eq!(names, ["anna", "piet"], "by name, byte order");
}

pub async fn password_and_language_are_written(s: &impl AccountStore) {
    let id = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    s.set_password_hash(id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .await
        .unwrap();
    s.user_set_language(id, "en").await.unwrap();
    s.user_set_language(id, "en").await.unwrap();
    let jan = s.user_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        jan.password_hash.as_deref(),
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
    );
    assert_eq!(jan.language.as_deref(), Some("en"));
    s.user_set_language(id, "nl").await.unwrap();
    let jan = s.user_by_id(id).await.unwrap().unwrap();
    assert_eq!(jan.language.as_deref(), Some("nl"));
}
