//! Queue benchmark: how fast codes go from "queued" to "handed to Kannel", on a real SQLite
//! file and a real Kannel. Run through `bash tools/bench-sms.sh`, which starts Kannel.
//!
//!   queue_bench <sendsms-url> <user> <password> [rate per second] [seconds]
//!
//! Phase 1 queues `rate` messages per second for `seconds` and reports the latency from
//! queueing to hand-off (p50, p99). Phase 2 queues 2,000 at once and reports how many per
//! second the worker hands over.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tweestap_core::ports::AccountStore;
use tweestap_core::ports::CodeStore;

use async_trait::async_trait;
use tweestap_core::metrics::Metrics;
use tweestap_core::ports::{
    Accepted, Clock, NewChallenge, NewQueuedSms, OutgoingSms, SendCountsQuery, SmsError,
    SmsGateway, SmsOutbox,
};
use tweestap_core::{CodeHash, Keys, NewUser, PhoneNumber, Timestamp, UserId, Username};
use tweestap_sms::{DispatchSettings, Dispatcher, KannelGateway};
use tweestap_store::SqliteStore;

struct WallClock;
impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        )
    }
}

/// Notes when each message was handed over.
struct Timed {
    inner: KannelGateway,
    handed: Arc<Mutex<HashMap<String, Instant>>>,
}

#[async_trait]
impl SmsGateway for Timed {
    fn name(&self) -> &str {
        "kannel"
    }
    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SmsError> {
        let result = self.inner.send(sms).await;
        if result.is_ok() {
            self.handed
                .lock()
                .unwrap()
                .insert(sms.reference.clone(), Instant::now());
        }
        result
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, kannel_user, password, ..] = args.as_slice() else {
        eprintln!("usage: queue_bench <sendsms-url> <user> <password> [rate] [seconds]");
        std::process::exit(2);
    };
    let rate: u64 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(100);
    let seconds: u64 = args.get(5).and_then(|a| a.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("bench.db"))
            .await
            .unwrap(),
    );
    let user = store
        .create_users(
            &[(
                NewUser {
                    username: Username::parse("bench").unwrap(),
                    display_name: "Bench".into(),
                    email: None,
                    password_hash: None,
                    phone: None,
                },
                "sub".into(),
            )],
            Timestamp(0),
        )
        .await
        .unwrap()[0];
    let keys = Arc::new(Keys::derive(&[5; 32]));
    let handed = Arc::new(Mutex::new(HashMap::new()));
    let gateway = Timed {
        inner: KannelGateway::new(
            "kannel".into(),
            url.clone(),
            kannel_user.clone(),
            password.clone(),
            Some("Bench".into()),
            None,
            Box::new(|_| String::new()),
            Duration::from_secs(10),
        ),
        handed: handed.clone(),
    };
    let dispatcher = Arc::new(Dispatcher::new(
        store.clone() as Arc<dyn SmsOutbox>,
        vec![Arc::new(gateway)],
        keys.clone(),
        Arc::new(WallClock),
        Arc::new(Metrics::default()),
        DispatchSettings::default(),
    ));
    let waker = dispatcher.waker();
    tokio::spawn(dispatcher.clone().run());

    let counter = AtomicI64::new(0);
    let queue = |store: Arc<SqliteStore>, keys: Arc<Keys>, user: UserId| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        async move {
            let reference = format!("b{n}");
            let now = WallClock.now();
            let phone = PhoneNumber::from_stored(&format!("+316{:08}", 10_000_000 + n)).unwrap();
            let query = SendCountsQuery {
                user,
                phone: &phone,
                network: "bench",
                now,
                failure_key: "f",
                failure_since: now,
            };
            store
                .challenge_create(
                    &NewChallenge {
                        flow: reference.clone(),
                        user_id: user,
                        phone: phone.clone(),
                        code_hash: CodeHash([0; 32]),
                        created_at: now,
                        expires_at: now.plus_secs(600),
                    },
                    &NewQueuedSms {
                        reference: reference.clone(),
                        user_id: Some(user),
                        phone: phone.clone(),
                        sealed_text: keys.seal.seal(
                            b"123456 is je code\n\n@bench #123456",
                            reference.as_bytes(),
                            [1; 12],
                        ),
                        network: None,
                        report_token_hash: None,
                        created_at: now,
                        expires_at: now.plus_secs(600),
                    },
                    &query,
                    &|_| Ok(()),
                )
                .await
                .unwrap()
                .unwrap();
            (reference, Instant::now())
        }
    };

    // Phase 1: a steady rate.
    let mut queued = HashMap::new();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    for i in 0..rate * seconds {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (reference, at) = queue(store.clone(), keys.clone(), user).await;
        waker.wake();
        queued.insert(reference, at);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while handed.lock().unwrap().len() < queued.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let handed_now = handed.lock().unwrap().clone();
    let mut latencies: Vec<Duration> = queued
        .iter()
        .filter_map(|(r, at)| handed_now.get(r).map(|h| h.duration_since(*at)))
        .collect();
    latencies.sort();
    println!(
        "steady {rate}/s for {seconds} s: {} of {} handed to Kannel; queue→hand-off p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        queued.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0
    );

    // Phase 2: a burst, to find the hand-off rate.
    handed.lock().unwrap().clear();
    let burst = 2000;
    let start = Instant::now();
    for _ in 0..burst {
        queue(store.clone(), keys.clone(), user).await;
    }
    let queued_in = start.elapsed();
    waker.wake();
    let drain_start = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    while handed.lock().unwrap().len() < burst && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drained = drain_start.elapsed();
    let done = handed.lock().unwrap().len();
    println!(
        "burst: {burst} queued in {:.2} s ({:.0} codes queued/s); {done} handed to Kannel in {:.2} s ({:.0}/s)",
        queued_in.as_secs_f64(),
        burst as f64 / queued_in.as_secs_f64(),
        drained.as_secs_f64(),
        done as f64 / drained.as_secs_f64()
    );
}
