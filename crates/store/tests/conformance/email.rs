//! The e-mail outbox: due messages claimed once (also by several workers at once), retries,
//! failures and the list.

use std::collections::HashSet;

use tweestap_core::Timestamp;
use tweestap_core::ports::{AccountStore, EmailOutbox, NewEmail};

use crate::accounts::new_user;

fn email(reference: &str, user: Option<tweestap_core::UserId>) -> NewEmail {
    NewEmail {
        reference: reference.into(),
        user_id: user,
        to: format!("{reference}@school.example"),
        subject: format!("Over {reference}"),
        body: "Er is een nieuwe telefoon toegevoegd.".into(),
        created_at: Timestamp(10),
        expires_at: Timestamp(10_000),
    }
}

pub async fn e_mails_go_out_once_are_retried_and_listed<S>(s: &S)
where
    S: AccountStore + EmailOutbox,
{
    let jan = s
        .create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0];
    s.email_enqueue(&email("a", Some(jan))).await.unwrap();
    s.email_enqueue(&email("b", None)).await.unwrap();
    s.email_enqueue(&email("c", Some(jan))).await.unwrap();
    let claimed = s
        .email_claim(Timestamp(10), Timestamp(70), 2)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].body, "Er is een nieuwe telefoon toegevoegd.");
    let rest = s
        .email_claim(Timestamp(11), Timestamp(71), 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1, "the leased ones are not claimed again");
    s.email_sent(claimed[0].id, Timestamp(12)).await.unwrap();
    s.email_retry(claimed[1].id, Timestamp(100), "421 try later")
        .await
        .unwrap();
    s.email_failed(rest[0].id, "550 no such user")
        .await
        .unwrap();
    assert!(
        s.email_claim(Timestamp(50), Timestamp(110), 10)
            .await
            .unwrap()
            .is_empty(),
        "the retry waits for its moment"
    );
    let again = s
        .email_claim(Timestamp(100), Timestamp(160), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, claimed[1].id);
    assert_eq!(again[0].attempts, 1);
    // A worker that died: its lease lapses and the message is due again.
    let after_lapse = s
        .email_claim(Timestamp(161), Timestamp(220), 10)
        .await
        .unwrap();
    assert_eq!(after_lapse.len(), 1);
    let all = s.email_list(None, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    let jans = s.email_list(Some(jan), 10).await.unwrap();
    let states: Vec<_> = jans
        .iter()
        .map(|e| (e.reference.as_str(), e.state.as_str()))
        .collect();
    assert_eq!(states.len(), 2, "only jan's: {states:?}");
    let failed = jans
        .iter()
        .find(|e| e.state == "failed")
        .expect("one failed");
    assert_eq!(failed.last_error.as_deref(), Some("550 no such user"));
}

pub async fn workers_claiming_e_mails_at_once_each_get_their_own<S>(s: &S)
where
    S: EmailOutbox + Clone + 'static,
{
    for n in 0..60 {
        s.email_enqueue(&email(&format!("m{n}"), None))
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = s
                    .email_claim(Timestamp(20), Timestamp(80), 5)
                    .await
                    .unwrap();
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
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(
        all.len(),
        60,
        "every e-mail claimed once: {} claims",
        all.len()
    );
    assert_eq!(distinct.len(), 60);
}
