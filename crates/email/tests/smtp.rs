//! The SMTP adapter and the queue's worker against a real SMTP server (Python's aiosmtpd,
//! independent of this code): STARTTLS with a private CA, authentication, the message as the
//! other side decodes it, refusals, and retries until the server is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tweestap_core::ports::{EmailOutbox, MailError, MailSender, NewEmail};
use tweestap_core::{Timestamp, UserId};
use tweestap_email::sink::{self, SmtpSink};
use tweestap_email::{EmailWorker, Security, SmtpMailer, SmtpSettings, WorkerSettings};

fn settings(port: u16, ca: Option<Vec<u8>>) -> SmtpSettings {
    SmtpSettings {
        host: "localhost".into(),
        port,
        security: Security::StartTls,
        credentials: Some((sink::USER.into(), sink::PASSWORD.into())),
        from: "Testschool <noreply@school.example>".into(),
        extra_root_pem: ca,
        timeout: Duration::from_secs(5),
        hello_name: "login.school.example".into(),
    }
}

#[tokio::test]
async fn a_message_goes_over_starttls_with_authentication_and_arrives_intact() {
    let Some(server) = SmtpSink::start() else {
        return;
    };
    let mailer = SmtpMailer::new(&settings(server.port, Some(server.certificate_pem()))).unwrap();
    let body = "Hallo Zoë,\n\nEr is een inlogmethode toegevoegd — was jij dit niet?\n\nGroet";
    mailer
        .send(
            "zoe@school.example",
            "Testschool: je account heeft nu een tweede stap ✓",
            body,
        )
        .await
        .unwrap();
    let got = server.wait_for(1).await;
    let m = &got[0];
    assert!(m.tls, "sent only after STARTTLS");
    assert!(m.authenticated);
    assert_eq!(m.mail_from, "noreply@school.example");
    assert_eq!(m.rcpt_tos, ["zoe@school.example"]);
    assert_eq!(m.from, "Testschool <noreply@school.example>");
    assert_eq!(
        m.subject,
        "Testschool: je account heeft nu een tweede stap ✓"
    );
    assert_eq!(m.content_type, "text/plain");
    // SMTP carries lines as CRLF.
    assert_eq!(m.body.replace("\r\n", "\n").trim_end(), body);
}

#[tokio::test]
async fn an_untrusted_certificate_or_a_refused_mailbox_is_an_error() {
    let Some(server) = SmtpSink::start() else {
        return;
    };
    // The server's certificate is self-signed: without trusting it, nothing is sent (and the
    // password never leaves).
    let untrusting = SmtpMailer::new(&settings(server.port, None)).unwrap();
    let error = untrusting
        .send("zoe@school.example", "s", "b")
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    // A mailbox the server refuses (550) is refused for good: no point in trying again.
    let mailer = SmtpMailer::new(&settings(server.port, Some(server.certificate_pem()))).unwrap();
    let error = mailer
        .send("nobody@bounce.invalid", "s", "b")
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");
    let error = mailer.send("not an address", "s", "b").await.unwrap_err();
    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");
    assert!(server.received().is_empty());
    // A sender that is no address is refused when the mailer is built.
    let mut bad = settings(server.port, None);
    bad.from = "noreply".into();
    assert!(SmtpMailer::new(&bad).is_err());
}

/// A clock the test moves.
struct Clock(AtomicI64);

impl tweestap_core::ports::Clock for Clock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[tokio::test]
async fn the_worker_retries_until_the_server_is_back_and_gives_up_on_refusals() {
    let Some(mut server) = SmtpSink::start() else {
        return;
    };
    let mailer = SmtpMailer::new(&settings(server.port, Some(server.certificate_pem()))).unwrap();
    server.stop();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        tweestap_store::SqliteStore::open(&dir.path().join("t.db"))
            .await
            .unwrap(),
    );
    let clock = Arc::new(Clock(AtomicI64::new(1_000)));
    let now = |c: &Clock| tweestap_core::ports::Clock::now(c);
    for (reference, to, expires) in [
        ("r1", "jan@school.example", 3 * 86_400),
        ("r2", "x@bounce.invalid", 3 * 86_400),
        ("r3", "late@school.example", 60),
    ] {
        store
            .email_enqueue(&NewEmail {
                reference: reference.into(),
                user_id: None::<UserId>,
                to: to.into(),
                subject: "Onderwerp".into(),
                body: "Tekst".into(),
                created_at: now(&clock),
                expires_at: now(&clock).plus_secs(expires),
            })
            .await
            .unwrap();
    }
    let worker = EmailWorker::new(
        store.clone(),
        Arc::new(mailer),
        clock.clone(),
        WorkerSettings::default(),
    );
    // Down: every message is tried once and waits 30 s.
    assert_eq!(worker.run_once().await.unwrap(), 3);
    let states = |list: Vec<tweestap_core::ports::EmailStatus>| {
        let mut v: Vec<(String, String, u32)> = list
            .into_iter()
            .map(|e| (e.reference, e.state, e.attempts))
            .collect();
        v.sort();
        v
    };
    let queued = |r: &str, n: u32| (r.to_string(), "queued".to_string(), n);
    assert_eq!(
        states(store.email_list(None, 10).await.unwrap()),
        [queued("r1", 1), queued("r2", 1), queued("r3", 1)]
    );
    assert_eq!(
        worker.run_once().await.unwrap(),
        0,
        "nothing due before the wait"
    );
    // Back up, and the wait over: sent, refused for good, and too late to be of use.
    server.resume();
    clock.0.fetch_add(61, Ordering::SeqCst);
    assert_eq!(worker.run_once().await.unwrap(), 3);
    let final_state = |r: &str, s: &str| (r.to_string(), s.to_string(), 2);
    assert_eq!(
        states(store.email_list(None, 10).await.unwrap()),
        [
            final_state("r1", "sent"),
            final_state("r2", "failed"),
            final_state("r3", "failed")
        ]
    );
    let got = server.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_tos, ["jan@school.example"]);
    assert_eq!(worker.run_once().await.unwrap(), 0, "nothing is sent twice");
}
