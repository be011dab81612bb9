//! The store against a real SQLite file.

use tweestap_core::ports::AccountStore;
use tweestap_core::ports::MethodStore;

use tweestap_core::{NewUser, PhoneNumber, Timestamp, Username};
use tweestap_store::SqliteStore;

fn new_user(name: &str, phone: Option<&str>) -> (NewUser, String) {
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

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = SqliteStore::open(&path).await.unwrap();
    s.create_users(&[new_user("jan", Some("+31612345678"))], Timestamp(1))
        .await
        .unwrap();
    s.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    let jan = s
        .user_by_username(&Username::parse("Jan").unwrap())
        .await
        .unwrap()
        .unwrap();
    let methods = s.methods(jan.id).await.unwrap();
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].phone().unwrap().e164(), "+31612345678");
}
