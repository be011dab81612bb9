//! The store against a real SQLite file.

use tweestap_core::ports::AccountStore;
use tweestap_core::ports::MethodStore;

use tweestap_core::{NewUser, PhoneNumber, Timestamp, Username};
use tweestap_store::SqliteStore;

async fn store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    (store, dir)
}

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

#[tokio::test]
async fn webauthn_ceremonies_are_taken_once_by_their_owner_and_bounded_per_account() {
    use tweestap_core::ports::{ApprovalStore, CeremonyPurpose};
    let (s, _dir) = store().await;
    let ids = s
        .create_users(
            &[new_user("jan", None), new_user("piet", None)],
            Timestamp(1),
        )
        .await
        .unwrap();
    let (user, other) = (ids[0], ids[1]);
    let (now, expires) = (Timestamp(1_000), Timestamp(1_300));
    s.ceremony_put(
        "link",
        user,
        CeremonyPurpose::LinkApp,
        "link-state",
        expires,
    )
    .await
    .unwrap();
    for i in 0..30 {
        s.ceremony_put(
            &format!("c{i}"),
            user,
            CeremonyPurpose::Approve,
            "state",
            expires,
        )
        .await
        .unwrap();
    }
    let take = |id: &'static str, who, purpose, at| {
        let s = &s;
        async move { s.ceremony_take(id, who, purpose, at).await.unwrap() }
    };
    // Reloading cannot pile them up: the oldest beyond twenty are gone.
    assert!(
        take("c9", user, CeremonyPurpose::Approve, now)
            .await
            .is_none()
    );
    assert_eq!(
        take("c10", user, CeremonyPurpose::Approve, now)
            .await
            .as_deref(),
        Some("state")
    );
    // Once only; only its owner; only for its purpose; not after it expired.
    assert!(
        take("c10", user, CeremonyPurpose::Approve, now)
            .await
            .is_none()
    );
    assert!(
        take("c11", other, CeremonyPurpose::Approve, now)
            .await
            .is_none()
    );
    assert!(
        take("c11", user, CeremonyPurpose::Approve, now)
            .await
            .is_none(),
        "a wrong taker ends it"
    );
    assert!(
        take("c12", user, CeremonyPurpose::LinkApp, now)
            .await
            .is_none()
    );
    assert!(
        take("c13", user, CeremonyPurpose::Approve, expires)
            .await
            .is_none()
    );
    assert!(
        take("c14", user, CeremonyPurpose::Approve, now)
            .await
            .is_some()
    );
    // The bound is per purpose: thirty of one kind did not push out another.
    assert_eq!(
        take("link", user, CeremonyPurpose::LinkApp, now)
            .await
            .as_deref(),
        Some("link-state")
    );
}

/// A phone's link request waits for the computer: nothing answers it before the user's yes,
/// only the account's own yes or no counts, and each is given once.
#[tokio::test]
async fn a_link_request_is_answered_only_after_the_computer_confirms_it() {
    use tweestap_core::approval::ApprovalStatus;
    use tweestap_core::ports::{ApprovalPurpose, ApprovalStore, StoredApproval};
    let (s, _dir) = store().await;
    let ids = s
        .create_users(
            &[new_user("jan", None), new_user("piet", None)],
            Timestamp(1),
        )
        .await
        .unwrap();
    let (jan, piet) = (ids[0], ids[1]);
    let kind = tweestap_core::MethodKind::PushApp {
        label: "Pixel".into(),
        credential_id: "cred".into(),
        credential: "{}".into(),
        subscription: None,
    };
    let phone = s
        .credential_method_add(jan, &kind, Some("device"), None, Timestamp(10))
        .await
        .unwrap();
    let request = |id: &str, confirmed: bool| StoredApproval {
        id: id.into(),
        user_id: jan,
        method_id: phone,
        purpose: ApprovalPurpose::Link,
        number: 42,
        offered: [42, 17, 88],
        context: "{}".into(),
        created_at: Timestamp(10),
        expires_at: Timestamp(130),
        status: ApprovalStatus::Pending,
        consumed: false,
        confirmed,
    };
    assert!(s.approval_insert(&request("a", false), None).await.unwrap());
    assert!(!s.approval_get("a").await.unwrap().unwrap().confirmed);
    // The phone cannot answer yet.
    assert!(
        !s.approval_answer("a", ApprovalStatus::Approved, Timestamp(20))
            .await
            .unwrap()
    );
    // Another account's yes changes nothing; the owner's counts once, with a new time limit.
    let until = Timestamp(200);
    let decide = |id: &'static str, who, yes: bool, at: i64| {
        let s = &s;
        async move {
            s.approval_link_decide(id, who, yes, Timestamp(at), until)
                .await
                .unwrap()
        }
    };
    assert!(!decide("a", piet, true, 20).await);
    assert!(decide("a", jan, true, 20).await);
    assert!(!decide("a", jan, true, 21).await, "once");
    let a = s.approval_get("a").await.unwrap().unwrap();
    assert!(a.confirmed && a.expires_at == until);
    assert!(
        s.approval_answer("a", ApprovalStatus::Approved, Timestamp(150))
            .await
            .unwrap()
    );
    // Answered: nothing left to stop.
    assert!(!decide("a", jan, false, 151).await);
    // An expired one cannot be confirmed.
    assert!(s.approval_insert(&request("c", false), None).await.unwrap());
    assert!(!decide("c", jan, true, 130).await);
    // A no, also after a yes, closes it and drops the phone that was linking.
    assert!(s.approval_insert(&request("b", false), None).await.unwrap());
    assert!(decide("b", jan, true, 20).await);
    assert!(decide("b", jan, false, 30).await);
    assert!(
        s.approval_get("b").await.unwrap().is_none(),
        "gone with its phone"
    );
    assert!(s.push_method_by_device("device").await.unwrap().is_none());
}
