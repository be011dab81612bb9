//! The SMS budgets are answered from running totals kept as messages are queued. These tests
//! hold the totals to the rows they replaced: for random traffic over more than a day, with
//! used codes, notices, two networks, two countries, a clock that steps back, at every second
//! around each hour boundary, and after old rows are purged.

use sqlx::{Row, SqlitePool};
use tweestap_core::ports::AccountStore;
use tweestap_core::ports::CodeStore;
use tweestap_core::ports::{NewChallenge, NewQueuedSms, SendCounts, SendCountsQuery, SmsOutbox};
use tweestap_core::{CodeKey, NewUser, OtpCode, PhoneNumber, Timestamp, UserId, Username};
use tweestap_store::SqliteStore;

/// The counts as the rows say, in the queries the totals replaced.
async fn counted_from_rows(db: &SqlitePool, q: &SendCountsQuery<'_>) -> SendCounts {
    let hour = q.now.0 - 3600;
    let day = q.now.0 - 86_400;
    let count = |sql: &'static str, bind: Option<String>, since: i64| {
        let db = db.clone();
        async move {
            let mut query = sqlx::query(sql);
            if let Some(value) = bind {
                query = query.bind(value);
            }
            let n: i64 = query.bind(since).fetch_one(&db).await.unwrap().get(0);
            n as u64
        }
    };
    let user = q.user.0.to_string();
    let phone = q.phone.e164().to_string();
    let last_success: Option<i64> =
        sqlx::query("SELECT MAX(used_at) FROM sms_challenges WHERE user_id = ?")
            .bind(q.user.0)
            .fetch_one(db)
            .await
            .unwrap()
            .get(0);
    let last_sent: Option<i64> = sqlx::query(
        "SELECT MAX(created_at) FROM sms_outbox WHERE user_id = ? AND challenge_id IS NOT NULL",
    )
    .bind(q.user.0)
    .fetch_one(db)
    .await
    .unwrap()
    .get(0);
    let unused =
        "SELECT COUNT(*) FROM sms_outbox WHERE user_id = ? AND created_at >= ? AND challenge_id IN
                   (SELECT id FROM sms_challenges WHERE used_at IS NULL)";
    SendCounts {
        last_sent_to_account: last_sent.map(Timestamp),
        sent_to_account_since_success: count(
            "SELECT COUNT(*) FROM sms_outbox WHERE user_id = ? AND challenge_id IS NOT NULL AND created_at > ?",
            Some(user.clone()),
            last_success.unwrap_or(0).max(day),
        )
        .await,
        sent_to_account_last_hour: count(unused, Some(user.clone()), hour).await,
        all_to_account_last_hour: count(
            "SELECT COUNT(*) FROM sms_outbox WHERE user_id = ? AND created_at >= ? AND challenge_id IS NOT NULL",
            Some(user),
            hour,
        )
        .await,
        all_to_number_last_hour: count(
            "SELECT COUNT(*) FROM sms_outbox WHERE phone = ? AND created_at >= ? AND challenge_id IS NOT NULL",
            Some(phone.clone()),
            hour,
        )
        .await,
        sent_to_number_last_hour: count(
            "SELECT COUNT(*) FROM sms_outbox WHERE phone = ? AND created_at >= ? AND challenge_id IN
             (SELECT id FROM sms_challenges WHERE used_at IS NULL)",
            Some(phone),
            hour,
        )
        .await,
        sent_from_network_last_hour: count(
            "SELECT COUNT(*) FROM sms_outbox WHERE network = ? AND created_at >= ?",
            Some(q.network.to_string()),
            hour,
        )
        .await,
        sent_to_country_last_hour: count(
            "SELECT COUNT(*) FROM sms_outbox WHERE country = ? AND created_at >= ?",
            Some(q.phone.country().to_string()),
            hour,
        )
        .await,
        sent_last_hour: count("SELECT COUNT(*) FROM sms_outbox WHERE created_at >= ?", None, hour)
            .await,
        sent_last_day: count("SELECT COUNT(*) FROM sms_outbox WHERE created_at >= ?", None, day)
            .await,
        account_failures_in_window: 0,
        oldest_failure_in_window: None,
        blocked_until: None,
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % sides
    }
}

struct Traffic {
    store: SqliteStore,
    rows: SqlitePool,
    users: Vec<UserId>,
    phones: Vec<PhoneNumber>,
    networks: [&'static str; 2],
    _dir: tempfile::TempDir,
}

impl Traffic {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let new_users: Vec<_> = ["jan", "piet", "klaas"]
            .iter()
            .map(|name| {
                (
                    NewUser {
                        username: Username::parse(name).unwrap(),
                        display_name: name.to_string(),
                        email: None,
                        password_hash: None,
                        phone: None,
                    },
                    format!("sub-{name}"),
                )
            })
            .collect();
        let users = store.create_users(&new_users, Timestamp(1)).await.unwrap();
        let rows = SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        Traffic {
            store,
            rows,
            users,
            phones: ["+31612345678", "+31687654321", "+32470123456"]
                .iter()
                .map(|p| PhoneNumber::from_stored(p).unwrap())
                .collect(),
            networks: ["192.0.2.1", "198.51.100.7"],
            _dir: dir,
        }
    }

    fn query(&self, user: usize, phone: usize, network: usize, now: i64) -> SendCountsQuery<'_> {
        SendCountsQuery {
            user: self.users[user],
            phone: &self.phones[phone],
            network: self.networks[network],
            now: Timestamp(now),
            failure_key: "none",
            failure_since: Timestamp(now),
        }
    }

    fn message(&self, user: usize, phone: usize, network: usize, now: i64, n: u32) -> NewQueuedSms {
        NewQueuedSms {
            reference: format!("m{n}"),
            user_id: Some(self.users[user]),
            phone: self.phones[phone].clone(),
            sealed_text: vec![1],
            network: Some(self.networks[network].into()),
            report_token_hash: None,
            created_at: Timestamp(now),
            expires_at: Timestamp(now + 600),
        }
    }

    /// Every combination the budgets are asked about, totals against rows.
    async fn agree(&self, now: i64, when: &str) {
        for user in 0..self.users.len() {
            for phone in 0..self.phones.len() {
                for network in 0..self.networks.len() {
                    let q = self.query(user, phone, network, now);
                    let mut kept = self.store.sms_send_counts(&q).await.unwrap();
                    kept.account_failures_in_window = 0;
                    kept.oldest_failure_in_window = None;
                    let rows = counted_from_rows(&self.rows, &q).await;
                    assert_eq!(
                        kept, rows,
                        "{when}: at {now}, user {user}, phone {phone}, network {network}"
                    );
                    let resend = self.store.sms_resend_state(q.user, q.now).await.unwrap();
                    assert_eq!(resend.last_sent, rows.last_sent_to_account, "{when}");
                    assert_eq!(
                        resend.sent_since_success, rows.sent_to_account_since_success,
                        "{when}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_running_totals_agree_with_the_rows_at_every_hour_boundary_and_after_a_purge() {
    let t = Traffic::new().await;
    let key = CodeKey::new(vec![1; 32]);
    let mut dice = Dice(7);
    let mut now: i64 = 1_000_000;
    let mut sends = Vec::new();
    for n in 0..160u32 {
        // Mostly seconds apart, sometimes minutes or most of an hour, and now and then the
        // clock steps back a little (an NTP correction).
        now += match dice.roll(10) {
            0 => 0,
            1..=4 => dice.roll(30) as i64,
            5..=6 => 60 + dice.roll(600) as i64,
            7 => 1800 + dice.roll(1800) as i64,
            8 => 3600,
            _ => -(dice.roll(20) as i64),
        };
        let (user, phone, network) = (
            dice.roll(3) as usize,
            dice.roll(3) as usize,
            dice.roll(2) as usize,
        );
        let sms = t.message(user, phone, network, now, n);
        if dice.roll(6) == 0 {
            t.store.sms_enqueue_notice(&sms).await.unwrap();
        } else {
            let challenge = NewChallenge {
                flow: format!("flow-{n}"),
                user_id: t.users[user],
                phone: t.phones[phone].clone(),
                code_hash: key.hash("f", &OtpCode::parse("123456").unwrap()),
                created_at: Timestamp(now),
                expires_at: Timestamp(now + 600),
            };
            let q = t.query(user, phone, network, now);
            let id = t
                .store
                .challenge_create(&challenge, &sms, &q, &|_| Ok(()))
                .await
                .unwrap()
                .unwrap();
            if dice.roll(2) == 0 {
                t.store
                    .challenge_consume(id, Timestamp(now + dice.roll(60) as i64), None)
                    .await
                    .unwrap();
            }
        }
        sends.push(now);
        t.agree(now, "right after a send").await;
    }
    // Around each send's hour and day boundary, second by second.
    let mut probes: Vec<i64> = sends
        .iter()
        .flat_map(|s| {
            [
                s + 3599,
                s + 3600,
                s + 3601,
                s + 86_399,
                s + 86_400,
                s + 86_401,
            ]
        })
        .collect();
    probes.sort();
    probes.dedup();
    for at in probes.iter().step_by(12) {
        t.agree(*at, "at a window's edge").await;
    }
    // Purged totals still answer every window that starts after the purge line.
    let last = *sends.iter().max().unwrap();
    let line = last - 2 * 3600;
    let tallies = |pool: SqlitePool| async move {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM sms_tallies")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        n
    };
    let kept_before = tallies(t.rows.clone()).await;
    t.store
        .purge_before(Timestamp(line - 86_400))
        .await
        .unwrap();
    let kept_after = tallies(t.rows.clone()).await;
    assert!(
        0 < kept_after && kept_after < kept_before,
        "the purge forgets old totals: {kept_before} -> {kept_after}"
    );
    for at in [line, line + 1800, last, last + 3600, last + 86_400] {
        t.agree(at, "after a purge").await;
    }
}
