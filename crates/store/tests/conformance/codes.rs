//! One-time codes and failure counters: single use and every limit, also when many requests
//! arrive at once (on PostgreSQL, from several connections as from several nodes).

use tweestap_core::ports::{
    AccountStore, ChallengeId, CodeStore, Consumed, NewChallenge, NewQueuedSms, SendCountsQuery,
};
use tweestap_core::signin::SendRefusal;
use tweestap_core::{CodeKey, OtpCode, PhoneNumber, Timestamp, UserId};

use crate::accounts::new_user;

/// How many requests race in the parallel tests.
const RACERS: usize = 40;

pub fn challenge(user: UserId, flow: &str, now: i64) -> NewChallenge {
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

pub fn message(user: UserId, reference: &str, now: i64) -> NewQueuedSms {
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

/// Queues a code and its message unless `budget` codes went out in the last hour.
pub async fn send(
    s: &impl CodeStore,
    user: UserId,
    flow: &str,
    now: i64,
    budget: u64,
) -> Result<ChallengeId, SendRefusal> {
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
        &|counts| {
            if counts.sent_last_hour >= budget {
                Err(SendRefusal::AccountBudget)
            } else {
                Ok(())
            }
        },
    )
    .await
    .unwrap()
}

async fn jan(s: &impl AccountStore) -> UserId {
    s.create_users(&[new_user("jan", None)], Timestamp(1))
        .await
        .unwrap()[0]
}

pub async fn parallel_attempts_are_each_counted_once<S>(s: &S)
where
    S: AccountStore + CodeStore + Clone + 'static,
{
    let u = jan(s).await;
    let id = send(s, u, "A", 10, 100).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
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
    let expected: Vec<u32> = (1..=RACERS as u32).collect();
    assert_eq!(seen, expected, "every attempt got its own number");
}

pub async fn a_code_used_by_many_at_once_signs_in_only_one<S>(s: &S)
where
    S: AccountStore + CodeStore + Clone + 'static,
{
    let u = jan(s).await;
    let id = send(s, u, "A", 10, 100).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.challenge_consume(id, Timestamp(20), None).await.unwrap()
        }));
    }
    let mut done = 0;
    for t in tasks {
        if t.await.unwrap() != Consumed::AlreadyUsed {
            done += 1;
        }
    }
    assert_eq!(done, 1, "one code, one sign-in");
}

pub async fn two_registrations_at_once_add_one_first_phone<S>(s: &S)
where
    S: AccountStore + CodeStore + Clone + 'static,
{
    let u = jan(s).await;
    // Two tabs, each with its own code, both typed at the same moment.
    let mut codes = Vec::new();
    for tab in 0..RACERS {
        codes.push(send(s, u, &format!("tab-{tab}"), 10, 1_000).await.unwrap());
    }
    let phone = PhoneNumber::from_stored("+31612345678").unwrap();
    let mut tasks = Vec::new();
    for id in codes {
        let s = s.clone();
        let phone = phone.clone();
        tasks.push(tokio::spawn(async move {
            s.challenge_consume(id, Timestamp(20), Some((u, &phone)))
                .await
                .unwrap()
        }));
    }
    let mut added = 0;
    for t in tasks {
        match t.await.unwrap() {
            Consumed::Done {
                new_method: Some(_),
            } => added += 1,
            Consumed::AlreadyRegistered => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(added, 1, "the first phone is added once");
}

pub async fn codes_sent_at_once_stop_at_the_budget<S>(s: &S)
where
    S: AccountStore + CodeStore + Clone + 'static,
{
    let u = jan(s).await;
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            send(&s, u, &format!("flow-{i}"), 10, 5).await
        }));
    }
    let mut sent = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => sent += 1,
            Err(refusal) => assert_eq!(refusal, SendRefusal::AccountBudget),
        }
    }
    assert_eq!(
        sent, 5,
        "the budget counts every code, however many ask at once"
    );
}

pub async fn failures_at_once_stop_at_the_limit<S>(s: &S)
where
    S: CodeStore + Clone + 'static,
{
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.failure_reserve("code:user:7", Timestamp(100 + i as i64), Timestamp(0), 5)
                .await
                .unwrap()
        }));
    }
    let mut reserved = 0;
    for t in tasks {
        if t.await.unwrap() {
            reserved += 1;
        }
    }
    assert_eq!(
        reserved, 5,
        "parallel guesses cannot pass the limit together"
    );
    assert_eq!(
        s.failure_count_since("code:user:7", Timestamp(0))
            .await
            .unwrap(),
        5
    );
    s.failure_unreserve("code:user:7", Timestamp(100))
        .await
        .ok();
    assert!(
        s.failure_count_since("code:user:7", Timestamp(0))
            .await
            .unwrap()
            <= 5,
        "taking one back never adds"
    );
}

pub async fn failures_are_counted_per_key_and_window_and_cleared(s: &impl CodeStore) {
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
        s.failure_latest_since("pwd:user:jan", Timestamp(15))
            .await
            .unwrap(),
        Some(Timestamp(30))
    );
    assert_eq!(
        s.failure_latest_since("pwd:user:jan", Timestamp(31))
            .await
            .unwrap(),
        None
    );
    // A prefix clears exactly the keys it starts: taken literally, not as a pattern.
    for key in [
        "pwd:net:aa:1",
        "pwd:net:aa:2",
        "pwd:net:ab:1",
        "pwd:net:a_:1",
    ] {
        s.failure_record(key, Timestamp(40)).await.unwrap();
    }
    s.failure_clear_prefix("pwd:net:a_:").await.unwrap();
    s.failure_clear_prefix("pwd:net:aa:").await.unwrap();
    for (key, left) in [
        ("pwd:net:aa:1", 0),
        ("pwd:net:aa:2", 0),
        ("pwd:net:ab:1", 1),
        ("pwd:net:a_:1", 0),
    ] {
        assert_eq!(
            s.failure_count_since(key, Timestamp(0)).await.unwrap(),
            left,
            "{key}"
        );
    }
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
