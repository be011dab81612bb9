//! The store against a real SQLite file.

use std::sync::Arc;

use tweestap_core::ports::{NewChallenge, SessionRecord, SmsCount, SmsRecord, Store, StoreError};
use tweestap_core::signin::SignInState;
use tweestap_core::{
    CodeKey, MethodKind, NewUser, OtpCode, PhoneNumber, Timestamp, UserId, Username,
};
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
async fn a_clash_in_a_batch_creates_nobody() {
    let (s, _dir) = store().await;
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
async fn replace_phone_leaves_exactly_one_sms_method() {
    let (s, _dir) = store().await;
    let ids = s
        .create_users(&[new_user("jan", Some("+31612345678"))], Timestamp(1))
        .await
        .unwrap();
    let other = PhoneNumber::from_stored("+31687654321").unwrap();
    s.add_method(
        ids[0],
        &MethodKind::Sms {
            phone: other.clone(),
        },
        Timestamp(2),
    )
    .await
    .unwrap();
    s.replace_phone(ids[0], &other, Timestamp(3)).await.unwrap();
    let methods = s.methods(ids[0]).await.unwrap();
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].phone(), Some(&other));
    assert_eq!(s.remove_methods(ids[0]).await.unwrap(), 1);
    assert!(s.methods(ids[0]).await.unwrap().is_empty());
}

fn challenge(user: UserId, flow: &str, now: i64) -> NewChallenge {
    let key = CodeKey::new(vec![1; 32]);
    NewChallenge {
        flow: flow.into(),
        user_id: user,
        phone: PhoneNumber::from_stored("+31612345678").unwrap(),
        code_hash: key.hash(flow, &OtpCode::parse("123456").unwrap()),
        created_at: Timestamp(now),
        expires_at: Timestamp(now + 600),
    }
}

#[tokio::test]
async fn a_new_code_supersedes_the_old_one_of_the_same_flow_only() {
    let (s, _dir) = store().await;
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    let a1 = s.challenge_create(&challenge(u, "A", 10)).await.unwrap();
    let b1 = s.challenge_create(&challenge(u, "B", 10)).await.unwrap();
    let a2 = s.challenge_create(&challenge(u, "A", 20)).await.unwrap();
    assert!(s.challenge_get(a1).await.unwrap().unwrap().superseded);
    assert!(!s.challenge_get(a2).await.unwrap().unwrap().superseded);
    assert!(!s.challenge_get(b1).await.unwrap().unwrap().superseded);
    assert!(!s.challenge_consume(a1, Timestamp(30)).await.unwrap());
    assert!(s.challenge_consume(a2, Timestamp(30)).await.unwrap());
    assert!(
        !s.challenge_consume(a2, Timestamp(31)).await.unwrap(),
        "single use"
    );
}

#[tokio::test]
async fn parallel_attempts_are_each_counted_once() {
    let (s, _dir) = store().await;
    let s = Arc::new(s);
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    let id = s.challenge_create(&challenge(u, "A", 10)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.challenge_attempt(id).await.unwrap().unwrap().attempts
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort();
    assert_eq!(
        seen,
        (1..=50).collect::<Vec<u32>>(),
        "every attempt got its own number"
    );
}

#[tokio::test]
async fn sms_budgets_count_only_delivered_messages_in_the_window() {
    let (s, _dir) = store().await;
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    let phone = PhoneNumber::from_stored("+31612345678").unwrap();
    for (at, status) in [(100, "sent"), (200, "failed"), (300, "sent")] {
        s.sms_record(&SmsRecord {
            user_id: Some(u),
            phone: phone.clone(),
            gateway: "outbox".into(),
            status: status.into(),
            created_at: Timestamp(at),
        })
        .await
        .unwrap();
    }
    assert_eq!(
        s.sms_count_since(SmsCount::ToUser(u), Timestamp(0))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.sms_count_since(SmsCount::ToPhone(&phone), Timestamp(150))
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.sms_last_to_user(u).await.unwrap(), Some(Timestamp(300)));
}

#[tokio::test]
async fn failures_are_counted_per_key_and_window_and_cleared() {
    let (s, _dir) = store().await;
    for at in [10, 20, 30] {
        s.failure_record("pwd:user:jan", Timestamp(at))
            .await
            .unwrap();
    }
    s.failure_record("pwd:user:piet", Timestamp(25))
        .await
        .unwrap();
    assert_eq!(
        s.failure_count_since("pwd:user:jan", Timestamp(15))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.failure_oldest_since("pwd:user:jan", Timestamp(15))
            .await
            .unwrap(),
        Some(Timestamp(20))
    );
    assert_eq!(
        s.purge_before(Timestamp(15)).await.unwrap(),
        1,
        "only the failure at 10 is older"
    );
    assert_eq!(
        s.failure_count_since("pwd:user:jan", Timestamp(0))
            .await
            .unwrap(),
        2
    );
    s.failure_clear("pwd:user:jan").await.unwrap();
    assert_eq!(
        s.failure_count_since("pwd:user:jan", Timestamp(0))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.failure_count_since("pwd:user:piet", Timestamp(0))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn sessions_round_trip_and_expire() {
    let (s, _dir) = store().await;
    let record = SessionRecord {
        id_hash: "abc".into(),
        csrf_token: "tok".into(),
        state: SignInState::SignedIn {
            user_id: UserId(4),
            auth_time: Timestamp(5),
            amr: vec!["pwd".into(), "sms".into()],
            just_registered: true,
        },
        return_to: Some("/x".into()),
        created_at: Timestamp(1),
        last_seen_at: Timestamp(2),
    };
    s.session_put(&record).await.unwrap();
    let back = s.session_get("abc").await.unwrap().unwrap();
    assert_eq!(back.state, record.state);
    assert_eq!(back.return_to.as_deref(), Some("/x"));
    assert_eq!(
        s.session_purge(Timestamp(3), Timestamp(0)).await.unwrap(),
        1
    );
    assert!(s.session_get("abc").await.unwrap().is_none());
}
