//! One student's morning sign-in, step by step, as a browser without JavaScript does it: the
//! page, the password (again after the "busy" answer's Retry-After, as the page's script does),
//! the code page, the code from the outbox, the code, and the page they arrive on.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::browser::{Answer, Browser};
use crate::outbox::Outbox;
use crate::students::Student;

/// The steps, in order, as they are reported.
pub const STEPS: [&str; 6] = ["page", "password", "code page", "sms", "code", "arrival"];

#[derive(Debug, Default)]
pub struct Outcome {
    /// Each step's time; "password" includes the waits after "busy" answers.
    pub steps: Vec<(&'static str, Duration)>,
    /// Every password request answered other than "busy": how long the server took.
    pub served_password: Vec<Duration>,
    /// Every "busy" answer: how long it took to come.
    pub busy: Vec<Duration>,
    pub total: Option<Duration>,
    pub error: Option<String>,
}

pub struct Run<'a> {
    pub client: reqwest::Client,
    pub base: &'a str,
    pub outbox: &'a Outbox,
    pub sms_timeout: Duration,
}

impl Run<'_> {
    pub async fn sign_in(&self, student: &Student) -> Outcome {
        let mut outcome = Outcome::default();
        let started = Instant::now();
        if let Err(e) = self.steps(student, &mut outcome).await {
            outcome.error = Some(e);
        } else {
            outcome.total = Some(started.elapsed());
        }
        outcome
    }

    async fn steps(&self, student: &Student, out: &mut Outcome) -> Result<(), String> {
        let mut browser = Browser::new(self.client.clone(), self.base);
        let page = browser
            .get("/sign-in")
            .await
            .map_err(|e| format!("page: {e}"))?;
        expect("page", &page, StatusCode::OK)?;
        out.steps.push(("page", page.took));

        let code = self.outbox.expect(&student.phone);
        let started = Instant::now();
        let answer = loop {
            let answer = browser
                .post(
                    "/sign-in",
                    &[
                        ("username", &student.username),
                        ("password", &student.password),
                    ],
                )
                .await
                .map_err(|e| format!("password: {e}"))?;
            if answer.status != StatusCode::SERVICE_UNAVAILABLE {
                out.served_password.push(answer.took);
                break answer;
            }
            out.busy.push(answer.took);
            let wait = answer
                .retry_after
                .ok_or("password: busy without Retry-After")?;
            tokio::time::sleep(wait).await;
        };
        let code_page = redirected("password", &answer)?;
        out.steps.push(("password", started.elapsed()));

        let page = browser
            .get(&code_page)
            .await
            .map_err(|e| format!("code page: {e}"))?;
        expect("code page", &page, StatusCode::OK)?;
        out.steps.push(("code page", page.took));

        let waiting = Instant::now();
        let (code, _) = tokio::time::timeout(self.sms_timeout, code)
            .await
            .map_err(|_| "sms: no code in the outbox in time".to_string())?
            .map_err(|_| "sms: a newer sign-in of the same number took the code".to_string())?;
        out.steps.push(("sms", waiting.elapsed()));

        let answer = browser
            .post(&code_page, &[("code", &code)])
            .await
            .map_err(|e| format!("code: {e}"))?;
        let mut next = redirected("code", &answer)?;
        out.steps.push(("code", answer.took));

        // The page they arrive on, through any further redirects.
        let mut took = Duration::ZERO;
        for _ in 0..5 {
            let page = browser
                .get(&next)
                .await
                .map_err(|e| format!("arrival: {e}"))?;
            took += page.took;
            if page.status == StatusCode::OK {
                out.steps.push(("arrival", took));
                return Ok(());
            }
            next = redirected("arrival", &page)?;
        }
        Err("arrival: too many redirects".into())
    }
}

fn expect(step: &str, answer: &Answer, status: StatusCode) -> Result<(), String> {
    if answer.status == status {
        Ok(())
    } else {
        Err(format!("{step}: status {}", answer.status.as_u16()))
    }
}

fn redirected(step: &str, answer: &Answer) -> Result<String, String> {
    if answer.status.is_redirection() {
        answer
            .location
            .clone()
            .ok_or_else(|| format!("{step}: redirect without a location"))
    } else {
        Err(format!("{step}: status {}", answer.status.as_u16()))
    }
}
