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

/// A sign-in that has reached the code page with its code in hand.
pub struct AtCode {
    browser: Browser,
    code_page: String,
    code: String,
}

impl Run<'_> {
    pub async fn sign_in(&self, student: &Student) -> Outcome {
        let mut outcome = Outcome::default();
        let started = Instant::now();
        let result = match self.until_code(student, &mut outcome).await {
            Ok(at) => self.enter_code(at, &mut outcome, true).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => outcome.total = Some(started.elapsed()),
            Err(e) => outcome.error = Some(e),
        }
        outcome
    }

    /// The page, the password (again after each "busy" answer's Retry-After, as the page's
    /// script does), the code page, and the code from the outbox.
    pub async fn until_code(&self, student: &Student, out: &mut Outcome) -> Result<AtCode, String> {
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
        Ok(AtCode {
            browser,
            code_page,
            code,
        })
    }

    /// The code, and (when `arrive`) the page it leads to, through any further redirects.
    pub async fn enter_code(
        &self,
        at: AtCode,
        out: &mut Outcome,
        arrive: bool,
    ) -> Result<(), String> {
        let AtCode {
            mut browser,
            code_page,
            code,
        } = at;
        let answer = browser
            .post(&code_page, &[("code", &code)])
            .await
            .map_err(|e| format!("code: {e}"))?;
        let mut next = redirected("code", &answer)?;
        out.steps.push(("code", answer.took));
        if !arrive {
            return Ok(());
        }
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
