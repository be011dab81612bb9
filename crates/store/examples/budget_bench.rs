//! What one SMS budget decision costs as the hour fills: queues `sends` codes spread over the
//! last hour (200 accounts, 200 numbers, 50 networks), then times the counts a sign-in asks
//! for before it queues a code, and the code page's resend countdown.
//!
//!   cargo run --release -p tweestap-store --example budget_bench -- [sends] [lookups]

use std::time::Instant;
use tweestap_core::ports::AccountStore;
use tweestap_core::ports::CodeStore;

use tweestap_core::ports::{NewChallenge, NewQueuedSms, SendCountsQuery, SmsOutbox};
use tweestap_core::{CodeHash, NewUser, PhoneNumber, Timestamp, Username};
use tweestap_store::SqliteStore;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let sends: i64 = args.next().map_or(10_800, |a| a.parse().unwrap());
    let lookups: usize = args.next().map_or(2_000, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("bench.db"))
        .await
        .unwrap();
    let people: Vec<_> = (0..200)
        .map(|i| {
            (
                NewUser {
                    username: Username::parse(&format!("s{i}")).unwrap(),
                    display_name: format!("Student {i}"),
                    email: None,
                    password_hash: None,
                    phone: None,
                },
                format!("sub-{i}"),
            )
        })
        .collect();
    let users = store.create_users(&people, Timestamp(1)).await.unwrap();
    let phone = |i: i64| PhoneNumber::from_stored(&format!("+316{:08}", 10_000 + i % 200)).unwrap();
    let now = 10_000_000i64;
    let started = Instant::now();
    for n in 0..sends {
        let at = now - 3600 + n * 3600 / sends.max(1);
        let user = users[(n % 200) as usize];
        let number = phone(n);
        let network = format!("192.0.2.{}", n % 50);
        let query = SendCountsQuery {
            user,
            phone: &number,
            network: &network,
            now: Timestamp(at),
            failure_key: "none",
            failure_since: Timestamp(at),
        };
        store
            .challenge_create(
                &NewChallenge {
                    flow: format!("f{n}"),
                    user_id: user,
                    phone: number.clone(),
                    code_hash: CodeHash([0; 32]),
                    created_at: Timestamp(at),
                    expires_at: Timestamp(at + 600),
                },
                &NewQueuedSms {
                    reference: format!("r{n}"),
                    user_id: Some(user),
                    phone: number.clone(),
                    sealed_text: vec![0],
                    network: Some(network.clone()),
                    report_token_hash: None,
                    created_at: Timestamp(at),
                    expires_at: Timestamp(at + 600),
                },
                &query,
                &|_| Ok(()),
            )
            .await
            .unwrap()
            .unwrap();
    }
    println!(
        "queued {sends} codes over the last hour in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let number = phone(7);
    let query = SendCountsQuery {
        user: users[7],
        phone: &number,
        network: "192.0.2.7",
        now: Timestamp(now),
        failure_key: "code:user:7",
        failure_since: Timestamp(now - 900),
    };
    let mut times = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        let t = Instant::now();
        std::hint::black_box(store.sms_send_counts(&query).await.unwrap());
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report("budget counts before a send", &mut times);
    times.clear();
    for _ in 0..lookups {
        let t = Instant::now();
        std::hint::black_box(
            store
                .sms_resend_state(users[7], Timestamp(now))
                .await
                .unwrap(),
        );
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report("resend countdown of the code page", &mut times);
}

fn report(what: &str, times: &mut [f64]) {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{what}: p50 {:.0} µs, p99 {:.0} µs ({} lookups)",
        at(0.5),
        at(0.99),
        times.len()
    );
}
