//! The SMS worker against real SQLite files, the real outbox gateway and Kannel's HTTP
//! interface spoken by a local stand-in that can fail in each way a gateway fails.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tweestap_core::ports::AccountStore;
use tweestap_core::ports::CodeStore;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tweestap_core::metrics::Metrics;
use tweestap_core::ports::{
    Clock, NewChallenge, NewQueuedSms, SendCountsQuery, SmsGateway, SmsOutbox, SmsState,
};
use tweestap_core::{CodeHash, Keys, NewUser, PhoneNumber, Timestamp, UserId, Username};
use tweestap_sms::{DispatchSettings, Dispatcher, KannelGateway, OutboxGateway, read_outbox};
use tweestap_store::SqliteStore;

struct TestClock(AtomicI64);
impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Accept,
    Status(u16),
    Hang,
}

/// Speaks Kannel's sendsms: 202 "0: Accepted for delivery", or fails as told. Records every
/// request line it gets.
async fn fake_kannel(mode: Mode) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cgi-bin/sendsms", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                log.lock()
                    .unwrap()
                    .push(head.lines().next().unwrap_or("").to_string());
                let (status, body) = match mode {
                    Mode::Accept => (202, "0: Accepted for delivery"),
                    Mode::Status(code) => (code, "Temporal failure, try again later."),
                    Mode::Hang => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                };
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

fn kannel(url: &str, keys: &Arc<Keys>) -> Arc<dyn SmsGateway> {
    let k = keys.clone();
    Arc::new(KannelGateway::new(
        "kannel".into(),
        url.into(),
        "tweestap".into(),
        "s3cret".into(),
        Some("School".into()),
        Some("https://login.school.nl/sms/dlr/kannel".into()),
        Box::new(move |r| k.callback.sign(r)),
        Duration::from_millis(300),
    ))
}

struct Setup {
    store: Arc<SqliteStore>,
    clock: Arc<TestClock>,
    keys: Arc<Keys>,
    metrics: Arc<Metrics>,
    user: UserId,
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
    let user = store
        .create_users(
            &[(
                NewUser {
                    username: Username::parse("jan").unwrap(),
                    display_name: "Jan".into(),
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
    Setup {
        store,
        clock: Arc::new(TestClock(AtomicI64::new(1000))),
        keys: Arc::new(Keys::derive(&[3; 32])),
        metrics: Arc::new(Metrics::default()),
        user,
        dir,
    }
}

impl Setup {
    fn dispatcher(&self, gateways: Vec<Arc<dyn SmsGateway>>, max_rounds: u32) -> Arc<Dispatcher> {
        Arc::new(Dispatcher::new(
            self.store.clone() as Arc<dyn SmsOutbox>,
            gateways,
            self.keys.clone(),
            self.clock.clone(),
            self.metrics.clone(),
            DispatchSettings {
                max_rounds,
                ..Default::default()
            },
        ))
    }

    fn outbox(&self) -> Arc<dyn SmsGateway> {
        Arc::new(OutboxGateway::new(self.dir.path().join("outbox.jsonl")))
    }

    fn delivered(&self) -> Vec<tweestap_sms::OutboxMessage> {
        read_outbox(&self.dir.path().join("outbox.jsonl")).unwrap()
    }

    async fn queue(&self, reference: &str, text: &str) {
        let now = self.clock.now();
        let phone = PhoneNumber::from_stored("+31612345678").unwrap();
        let query = SendCountsQuery {
            user: self.user,
            phone: &phone,
            network: "192.0.2.1",
            now,
            failure_key: "f",
            failure_since: now,
        };
        self.store
            .challenge_create(
                &NewChallenge {
                    flow: reference.into(),
                    user_id: self.user,
                    phone: phone.clone(),
                    code_hash: CodeHash([0; 32]),
                    created_at: now,
                    expires_at: now.plus_secs(600),
                },
                &NewQueuedSms {
                    reference: reference.into(),
                    user_id: Some(self.user),
                    phone: phone.clone(),
                    sealed_text: self.keys.seal.seal(
                        text.as_bytes(),
                        reference.as_bytes(),
                        [9; 12],
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
    }

    async fn state(&self, reference: &str) -> (SmsState, Option<String>, u32) {
        let m = self
            .store
            .sms_by_reference(reference)
            .await
            .unwrap()
            .unwrap();
        (m.state, m.gateway, m.round)
    }
}

#[tokio::test]
async fn kannel_gets_a_well_formed_request_with_our_reference_in_the_report_url() {
    let s = setup().await;
    let (url, seen) = fake_kannel(Mode::Accept).await;
    let d = s.dispatcher(vec![kannel(&url, &s.keys)], 3);
    s.queue("ref1", "123456 is je code\n\n@host #123456").await;
    assert_eq!(d.run_once().await.unwrap(), 1);
    assert_eq!(
        s.state("ref1").await,
        (SmsState::Sent, Some("kannel".into()), 0)
    );
    let line = seen.lock().unwrap()[0].clone();
    assert!(line.starts_with("GET /cgi-bin/sendsms?"), "{line}");
    for part in [
        "username=tweestap",
        "password=s3cret",
        "to=%2B31612345678",
        "from=School",
        "dlr-mask=31",
        "charset=UTF-8",
        "text=123456+is+je+code%0A%0A%40host+%23123456",
    ] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    let sig = s.keys.callback.sign("ref1:kannel");
    let dlr = format!(
        "dlr-url=https%3A%2F%2Flogin.school.nl%2Fsms%2Fdlr%2Fkannel%3Fref%3Dref1%26gw%3Dkannel%26sig%3D{sig}%26type%3D%25d"
    );
    assert!(line.contains(&dlr), "{line}");
    assert!(
        line.contains("validity=10"),
        "the operator may not deliver after the code expires: {line}"
    );
    assert_eq!(s.metrics.sms_sent.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_failing_gateway_passes_the_message_to_the_next() {
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/cgi-bin/sendsms", l.local_addr().unwrap())
    };
    let (e500, _) = fake_kannel(Mode::Status(500)).await;
    let (e429, _) = fake_kannel(Mode::Status(429)).await;
    let (hang, _) = fake_kannel(Mode::Hang).await;
    for (why, url) in [
        ("500", e500),
        ("429", e429),
        ("timeout", hang),
        ("connection refused", refused),
    ] {
        let s = setup().await;
        let d = s.dispatcher(vec![kannel(&url, &s.keys), s.outbox()], 3);
        s.queue("ref", "hallo").await;
        for _ in 0..2 {
            d.run_once().await.unwrap();
        }
        assert_eq!(s.state("ref").await.0, SmsState::Sent, "{why}");
        assert_eq!(s.state("ref").await.1.as_deref(), Some("outbox"), "{why}");
        assert_eq!(s.delivered().len(), 1, "{why}: sent exactly once");
        assert_eq!(s.delivered()[0].text, "hallo");
        assert_eq!(
            s.metrics.sms_gateway_errors.load(Ordering::Relaxed),
            1,
            "{why}"
        );
    }
}

#[tokio::test]
async fn when_every_gateway_fails_it_retries_later_then_gives_up() {
    let s = setup().await;
    let (e500, seen) = fake_kannel(Mode::Status(503)).await;
    let d = s.dispatcher(vec![kannel(&e500, &s.keys)], 3);
    s.queue("ref", "hallo").await;
    d.run_once().await.unwrap();
    assert_eq!(s.state("ref").await, (SmsState::Queued, None, 1));
    // Not before its time…
    assert_eq!(d.run_once().await.unwrap(), 0);
    s.clock.0.fetch_add(2, Ordering::SeqCst);
    d.run_once().await.unwrap();
    assert_eq!(s.state("ref").await.2, 2);
    s.clock.0.fetch_add(4, Ordering::SeqCst);
    d.run_once().await.unwrap();
    let m = s.store.sms_by_reference("ref").await.unwrap().unwrap();
    assert_eq!(m.state, SmsState::Failed);
    assert!(m.last_error.unwrap().contains("503"));
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_message_whose_code_expired_is_dropped_not_sent_late() {
    let s = setup().await;
    let d = s.dispatcher(vec![s.outbox()], 3);
    s.queue("ref", "hallo").await;
    s.clock.0.fetch_add(600, Ordering::SeqCst);
    d.run_once().await.unwrap();
    assert_eq!(s.state("ref").await.0, SmsState::Expired);
    assert!(s.delivered().is_empty());
    assert_eq!(s.metrics.sms_expired.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn queued_messages_survive_a_restart_and_are_sent_once() {
    let s = setup().await;
    s.queue("ref", "hallo").await;
    // Nothing was running when it was queued; a worker started later sends it, once.
    let d = s.dispatcher(vec![s.outbox()], 3);
    d.run_once().await.unwrap();
    d.run_once().await.unwrap();
    let again = s.dispatcher(vec![s.outbox()], 3);
    again.run_once().await.unwrap();
    assert_eq!(s.delivered().len(), 1);
}

#[tokio::test]
async fn a_message_interrupted_mid_send_never_goes_to_the_same_gateway_again() {
    let s = setup().await;
    let (first, first_seen) = fake_kannel(Mode::Accept).await;
    s.queue("ref", "hallo").await;
    // A worker claimed it and died before recording the outcome.
    let claimed = s
        .store
        .sms_claim(s.clock.now(), s.clock.now().plus_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let d = s.dispatcher(vec![kannel(&first, &s.keys), s.outbox()], 3);
    assert_eq!(d.run_once().await.unwrap(), 0, "leased to the dead worker");
    s.clock.0.fetch_add(61, Ordering::SeqCst);
    d.run_once().await.unwrap();
    assert_eq!(s.state("ref").await.1.as_deref(), Some("outbox"));
    assert!(
        first_seen.lock().unwrap().is_empty(),
        "the first gateway may have it already"
    );

    // With no other gateway it is given up rather than possibly sent twice, also in later rounds.
    let t = setup().await;
    t.queue("ref", "hallo").await;
    t.store
        .sms_claim(t.clock.now(), t.clock.now().plus_secs(60), 10)
        .await
        .unwrap();
    t.clock.0.fetch_add(61, Ordering::SeqCst);
    t.dispatcher(vec![t.outbox()], 3).run_once().await.unwrap();
    assert_eq!(t.state("ref").await.0, SmsState::Failed);
    assert!(t.delivered().is_empty());
}

#[tokio::test]
async fn a_gateway_that_took_the_request_but_never_answered_does_not_get_it_again() {
    let s = setup().await;
    let (hang, seen) = fake_kannel(Mode::Hang).await;
    let d = s.dispatcher(vec![kannel(&hang, &s.keys)], 5);
    s.queue("ref", "hallo").await;
    d.run_once().await.unwrap();
    s.clock.0.fetch_add(60, Ordering::SeqCst);
    d.run_once().await.unwrap();
    let m = s.store.sms_by_reference("ref").await.unwrap().unwrap();
    assert_eq!(m.state, SmsState::Failed);
    assert!(m.last_error.unwrap().contains("may already have it"));
    assert_eq!(seen.lock().unwrap().len(), 1, "asked once, never again");
}

#[tokio::test]
async fn a_message_cancelled_while_it_was_being_sent_is_not_retried() {
    let s = setup().await;
    s.queue("ref", "hallo").await;
    let claimed = s
        .store
        .sms_claim(s.clock.now(), s.clock.now().plus_secs(60), 10)
        .await
        .unwrap();
    // The owner reports the code while the worker is sending it; the gateway then fails.
    s.store
        .sms_block(s.user, s.clock.now().plus_secs(3600), None, "reported")
        .await
        .unwrap();
    s.store
        .sms_mark_retry(claimed[0].id, 0, 1, s.clock.now(), "HTTP 503", &[])
        .await
        .unwrap();
    assert_eq!(s.state("ref").await.0, SmsState::Failed);
    s.clock.0.fetch_add(5, Ordering::SeqCst);
    let d = s.dispatcher(vec![s.outbox()], 5);
    assert_eq!(d.run_once().await.unwrap(), 0);
    assert!(s.delivered().is_empty());
}

#[tokio::test]
async fn a_late_failure_report_from_a_gateway_failed_over_from_changes_nothing() {
    let s = setup().await;
    let (e500, _) = fake_kannel(Mode::Status(500)).await;
    let d = s.dispatcher(vec![kannel(&e500, &s.keys), s.outbox()], 3);
    s.queue("ref", "hallo").await;
    d.run_once().await.unwrap();
    d.run_once().await.unwrap();
    assert_eq!(s.state("ref").await.1.as_deref(), Some("outbox"));
    assert!(
        !s.store
            .sms_delivery_report("ref", "kannel", false, "undeliverable", s.clock.now())
            .await
            .unwrap()
    );
    assert_eq!(s.state("ref").await.0, SmsState::Sent);
    assert!(
        s.store
            .sms_delivery_report("ref", "outbox", true, "delivered", s.clock.now())
            .await
            .unwrap()
    );
    assert_eq!(s.state("ref").await.0, SmsState::Delivered);
}

#[tokio::test]
async fn after_a_gateway_times_out_the_next_messages_skip_it_while_another_is_up() {
    let s = setup().await;
    let (hang, seen) = fake_kannel(Mode::Hang).await;
    let d = s.dispatcher(vec![kannel(&hang, &s.keys), s.outbox()], 3);
    s.queue("first", "een").await;
    d.run_once().await.unwrap();
    d.run_once().await.unwrap();
    s.queue("second", "twee").await;
    let started = std::time::Instant::now();
    d.run_once().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "no second wait for the hung gateway"
    );
    assert_eq!(s.state("second").await.1.as_deref(), Some("outbox"));
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the hung gateway was asked once"
    );
    assert_eq!(s.delivered().len(), 2);
}
