//! Passkeys, the tweestap app and its approval requests: every "once" (a ceremony, a link, an
//! answer) and every cap, also when requests race.

use tweestap_core::Timestamp;
use tweestap_core::approval::ApprovalStatus;
use tweestap_core::ports::{
    AccountStore, ApprovalPurpose, ApprovalStore, MethodStore, StoredApproval,
};

use crate::accounts::new_user;

pub async fn webauthn_ceremonies_are_taken_once_by_their_owner_and_bounded_per_account<S>(s: &S)
where
    S: AccountStore + MethodStore + ApprovalStore,
{
    use tweestap_core::ports::CeremonyPurpose;
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
    let take = |id: &'static str, who, purpose, at| async move {
        s.ceremony_take(id, who, purpose, at).await.unwrap()
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
pub async fn a_link_request_is_answered_only_after_the_computer_confirms_it<S>(s: &S)
where
    S: AccountStore + MethodStore + ApprovalStore,
{
    use tweestap_core::approval::ApprovalStatus;
    use tweestap_core::ports::{ApprovalPurpose, StoredApproval};
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
    let decide = |id: &'static str, who, yes: bool, at: i64| async move {
        s.approval_link_decide(id, who, yes, Timestamp(at), until)
            .await
            .unwrap()
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

pub async fn sign_in_requests_raced_at_once_stop_at_one_pending<S>(s: &S)
where
    S: AccountStore + ApprovalStore + Clone + 'static,
{
    let jan = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
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
    let mut tasks = Vec::new();
    for n in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let request = StoredApproval {
                id: format!("req-{n}"),
                user_id: jan,
                method_id: phone,
                purpose: ApprovalPurpose::SignIn,
                number: 42,
                offered: [42, 17, 88],
                context: "{}".into(),
                created_at: Timestamp(20),
                expires_at: Timestamp(140),
                status: ApprovalStatus::Pending,
                consumed: false,
                confirmed: true,
            };
            s.approval_insert(&request, Some(5)).await.unwrap()
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += usize::from(t.await.unwrap());
    }
    assert_eq!(
        sent, 1,
        "one request waits on the phone at a time, however many ask"
    );
}
