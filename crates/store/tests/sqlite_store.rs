//! The store against a real SQLite file.

use tweestap_core::ports::AccountStore;
use tweestap_core::ports::CodeStore;
use tweestap_core::ports::MethodStore;

use tweestap_core::ports::{
    ChallengeId, Consumed, NewChallenge, NewQueuedSms, SendCountsQuery, SmsOutbox, SmsState,
};
use tweestap_core::signin::SendRefusal;
use tweestap_core::{
    CodeKey, NewUser, OtpCode, PhoneNumber, Timestamp, UserId, Username,
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

fn message(user: UserId, reference: &str, now: i64) -> NewQueuedSms {
    NewQueuedSms {
        reference: reference.into(),
        user_id: Some(user),
        phone: PhoneNumber::from_stored("+31612345678").unwrap(),
        sealed_text: vec![1, 2, 3],
        network: Some("192.0.2.1".into()),
        report_token_hash: Some(format!("hash-{reference}")),
        created_at: Timestamp(now),
        expires_at: Timestamp(now + 600),
    }
}

/// Creates a code and its queued message, with every budget allowing it.
async fn create(s: &SqliteStore, user: UserId, flow: &str, now: i64) -> ChallengeId {
    let phone = PhoneNumber::from_stored("+31612345678").unwrap();
    let query = SendCountsQuery {
        user,
        phone: &phone,
        network: "192.0.2.1",
        now: Timestamp(now),
        failure_key: "code:user:x",
        failure_since: Timestamp(0),
    };
    s.challenge_create(
        &challenge(user, flow, now),
        &message(user, &format!("{flow}-{now}"), now),
        &query,
        &|_| Ok(()),
    )
    .await
    .unwrap()
    .unwrap()
}

#[tokio::test]
async fn a_new_code_supersedes_the_old_one_of_the_same_flow_only() {
    let (s, _dir) = store().await;
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    let a1 = create(&s, u, "A", 10).await;
    let b1 = create(&s, u, "B", 10).await;
    let a2 = create(&s, u, "A", 20).await;
    assert!(s.challenge_get(a1).await.unwrap().unwrap().superseded);
    assert!(!s.challenge_get(a2).await.unwrap().unwrap().superseded);
    assert!(!s.challenge_get(b1).await.unwrap().unwrap().superseded);
    assert_eq!(
        s.challenge_consume(a1, Timestamp(30), None).await.unwrap(),
        Consumed::AlreadyUsed
    );
    assert_eq!(
        s.challenge_consume(a2, Timestamp(30), None).await.unwrap(),
        Consumed::Done { new_method: None }
    );
    assert_eq!(
        s.challenge_consume(a2, Timestamp(31), None).await.unwrap(),
        Consumed::AlreadyUsed,
        "single use"
    );
    // The superseded code's message, still queued, is cancelled.
    assert_eq!(
        s.sms_by_reference("A-10").await.unwrap().unwrap().state,
        SmsState::Failed
    );
    assert_eq!(
        s.sms_by_reference("A-20").await.unwrap().unwrap().state,
        SmsState::Queued
    );
}

#[tokio::test]
async fn a_refused_budget_writes_neither_code_nor_message() {
    let (s, _dir) = store().await;
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    create(&s, u, "A", 10).await;
    let phone = PhoneNumber::from_stored("+31612345678").unwrap();
    let query = SendCountsQuery {
        user: u,
        phone: &phone,
        network: "192.0.2.1",
        now: Timestamp(20),
        failure_key: "code:user:x",
        failure_since: Timestamp(0),
    };
    let seen = std::sync::Mutex::new(None);
    let refused = s
        .challenge_create(
            &challenge(u, "A", 20),
            &message(u, "A-20", 20),
            &query,
            &|counts| {
                *seen.lock().unwrap() = Some(*counts);
                Err(SendRefusal::AccountBudget)
            },
        )
        .await
        .unwrap();
    assert_eq!(refused, Err(SendRefusal::AccountBudget));
    let counts = seen.lock().unwrap().unwrap();
    assert_eq!(
        counts.sent_to_account_last_hour, 1,
        "the new message is not counted, the old one is"
    );
    assert_eq!(counts.sent_from_network_last_hour, 1);
    assert_eq!(counts.last_sent_to_account, Some(Timestamp(10)));
    assert!(s.sms_by_reference("A-20").await.unwrap().is_none());
    assert_eq!(s.sms_list(None, 10).await.unwrap().len(), 1);
    // The earlier code was not superseded either: the rollback undid that too.
    assert_eq!(
        s.sms_by_reference("A-10").await.unwrap().unwrap().state,
        SmsState::Queued
    );
}

#[tokio::test]
async fn the_outbox_hands_each_message_to_one_worker_and_remembers_interruptions() {
    let (s, _dir) = store().await;
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    create(&s, u, "A", 10).await;
    create(&s, u, "B", 10).await;
    let claimed = s.sms_claim(Timestamp(10), Timestamp(70), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(
        s.sms_claim(Timestamp(11), Timestamp(71), 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed messages are leased"
    );
    s.sms_mark_sent(claimed[0].id, "kannel", Some("k-1"), Timestamp(12))
        .await
        .unwrap();
    // The second worker died: after the lease the message comes back, marked interrupted.
    let again = s
        .sms_claim(Timestamp(71), Timestamp(131), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].reference, claimed[1].reference);
    assert!(again[0].interrupted);
    // A retry waits for its time.
    s.sms_mark_retry(again[0].id, 1, 0, Timestamp(200), "timeout", &[0])
        .await
        .unwrap();
    assert!(
        s.sms_claim(Timestamp(199), Timestamp(259), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retried = s
        .sms_claim(Timestamp(200), Timestamp(260), 10)
        .await
        .unwrap();
    assert_eq!(
        (retried[0].gateway_index, retried[0].interrupted),
        (1, false)
    );
    assert_eq!(retried[0].avoid, vec![0]);
    // Sent messages keep no text; delivery reports move them on.
    let sent = s
        .sms_by_reference(&claimed[0].reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (sent.state, sent.gateway.as_deref()),
        (SmsState::Sent, Some("kannel"))
    );
    assert!(
        !s.sms_delivery_report(
            &claimed[0].reference,
            "other",
            false,
            "failed",
            Timestamp(15)
        )
        .await
        .unwrap(),
        "only the gateway that took it may fail it"
    );
    assert!(
        s.sms_delivery_report(
            &claimed[0].reference,
            "kannel",
            true,
            "delivered",
            Timestamp(15)
        )
        .await
        .unwrap()
    );
    assert_eq!(
        s.sms_by_reference(&claimed[0].reference)
            .await
            .unwrap()
            .unwrap()
            .state,
        SmsState::Delivered
    );
    assert!(
        !s.sms_delivery_report("nope", "kannel", true, "", Timestamp(15))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn blocking_an_account_cancels_what_is_queued_and_uses_up_the_report_link() {
    let (s, _dir) = store().await;
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    create(&s, u, "A", 10).await;
    assert!(s.sms_report_lookup("hash-A-10").await.unwrap().is_some());
    s.sms_block(u, Timestamp(1000), Some("hash-A-10"), "reported")
        .await
        .unwrap();
    assert!(
        s.sms_report_lookup("hash-A-10").await.unwrap().is_none(),
        "a link works once"
    );
    assert_eq!(
        s.sms_by_reference("A-10").await.unwrap().unwrap().state,
        SmsState::Failed
    );
    assert!(s.sms_unblock(u).await.unwrap());
    assert!(!s.sms_unblock(u).await.unwrap());
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
