//! The SMS outbox: queueing with the code, claiming (each message to one worker, also with
//! several claiming at once), reports and blocks.

use std::collections::HashSet;

use tweestap_core::ports::{
    AccountStore, CodeStore, Consumed, SendCountsQuery, SmsOutbox, SmsState,
};
use tweestap_core::signin::SendRefusal;
use tweestap_core::{PhoneNumber, Timestamp};

use crate::accounts::new_user;
use crate::codes::{challenge, message, send};

pub async fn a_new_code_supersedes_the_old_one_of_the_same_flow_only<S>(s: &S)
where
    S: AccountStore + CodeStore + SmsOutbox,
{
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    let a1 = send(s, u, "A", 10, 1_000).await.unwrap();
    let b1 = send(s, u, "B", 10, 1_000).await.unwrap();
    let a2 = send(s, u, "A", 20, 1_000).await.unwrap();
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

pub async fn a_refused_budget_writes_neither_code_nor_message<S>(s: &S)
where
    S: AccountStore + CodeStore + SmsOutbox,
{
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    send(s, u, "A", 10, 1_000).await.unwrap();
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

pub async fn the_outbox_hands_each_message_to_one_worker_and_remembers_interruptions<S>(s: &S)
where
    S: AccountStore + CodeStore + SmsOutbox,
{
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    send(s, u, "A", 10, 1_000).await.unwrap();
    send(s, u, "B", 10, 1_000).await.unwrap();
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

pub async fn blocking_an_account_cancels_what_is_queued_and_uses_up_the_report_link<S>(s: &S)
where
    S: AccountStore + CodeStore + SmsOutbox,
{
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    send(s, u, "A", 10, 1_000).await.unwrap();
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

pub async fn workers_claiming_at_once_each_get_their_own_messages<S>(s: &S)
where
    S: AccountStore + CodeStore + SmsOutbox + Clone + 'static,
{
    let u = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    for n in 0..120 {
        send(s, u, &format!("m{n}"), 10, 1_000).await.unwrap();
    }
    let mut workers = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = s.sms_claim(Timestamp(20), Timestamp(80), 7).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().map(|id| id.0).collect();
    assert_eq!(
        all.len(),
        120,
        "every message claimed once: {} claims",
        all.len()
    );
    assert_eq!(distinct.len(), 120);
}
