//! spawn_app() and helpers shared by the integration tests: a real server on 127.0.0.1:0, a
//! fresh SQLite file, the outbox gateway, and a clock the test moves.
#![allow(dead_code)]

pub mod entra;
pub mod kannel;
pub mod oidc;

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use tweestap::config::{Config, GatewayConfig, SmsConfig};
use tweestap::server::{self, Running, Wiring};
use tweestap_core::Secret;
use tweestap_core::admin::{AdminService, PasswordInput, UserInput};
use tweestap_core::audit::AuditRecord;
use tweestap_web::system::ManualClock;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub keys: Arc<tweestap_core::Keys>,
    pub clock: Arc<ManualClock>,
    pub outbox: PathBuf,
    pub config: Config,
    pub admin: AdminService,
    server: Option<Running>,
    _dir: tempfile::TempDir,
}

pub fn config_for(dir: &std::path::Path) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        public_url: "http://localhost:8080".into(),
        data_dir: dir.to_path_buf(),
        organisation: "Testschool".into(),
        sms: SmsConfig {
            gateways: vec![GatewayConfig::Outbox {
                path: dir.join("outbox.jsonl"),
            }],
        },
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_at(1_800_000_000, adjust).await
}

/// Like [`spawn_app_with`], with the server's clock starting at `now` (Unix seconds): for
/// tests that meet an outside party with a real clock.
pub async fn spawn_app_at(now: i64, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    adjust(&mut config);
    config.validate().expect("test configuration is valid");
    let clock = Arc::new(ManualClock::new(now));
    let running = server::start(&config, clock.clone(), None).await.unwrap();
    let wiring = Wiring::new(&config, clock.clone()).await.unwrap();
    let admin = wiring.admin("test");
    TestApp {
        keys: wiring.keys.clone(),
        base: format!("http://{}", running.addr),
        outbox: dir.path().join("outbox.jsonl"),
        clock,
        config,
        admin,
        server: Some(running),
        _dir: dir,
    }
}

impl TestApp {
    pub async fn add_user(&self, username: &str, phone: Option<&str>) {
        let input = UserInput {
            username: username.into(),
            display_name: format!("{username} Tester"),
            email: None,
            phone: phone.map(str::to_string),
            password: Some(PasswordInput::Plain(Secret::new(PASSWORD))),
        };
        let valid = self.admin.validate(&input).unwrap();
        self.admin.create(vec![valid], &|| {}).await.unwrap();
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base, &[])
    }

    pub fn browser_with_language(&self, accept_language: &str) -> Browser {
        Browser::new(&self.base, &[("accept-language", accept_language)])
    }

    /// A browser that sends these headers with every request.
    pub fn browser_with_headers(&self, headers: &[(&str, &str)]) -> Browser {
        Browser::new(&self.base, headers)
    }

    pub fn sms(&self) -> Vec<tweestap_sms::OutboxMessage> {
        tweestap_sms::read_outbox(&self.outbox).unwrap()
    }

    /// Waits (up to 5 s) until the outbox holds `count` messages; returns them.
    pub async fn wait_for_sms(&self, count: usize) -> Vec<tweestap_sms::OutboxMessage> {
        for _ in 0..200 {
            let messages = self.sms();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("expected {count} text messages, got {}", self.sms().len());
    }

    /// The code in the newest text message (from its WebOTP line "@host #123456").
    pub fn last_code(&self) -> String {
        let messages = self.sms();
        let last = messages.last().expect("a text message was sent");
        code_in(&last.text)
    }

    /// How many sign-in methods the user has.
    pub async fn methods_of(&self, username: &str) -> usize {
        self.method_ids(username).await.len()
    }

    pub async fn method_ids(&self, username: &str) -> Vec<i64> {
        let user = self
            .admin
            .store
            .user_by_username(&tweestap_core::Username::parse(username).unwrap())
            .await
            .unwrap()
            .unwrap();
        self.admin
            .store
            .methods(user.id)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id.0)
            .collect()
    }

    pub async fn audit(&self) -> Vec<AuditRecord> {
        let mut events = self.admin.store.audit_list(None, 1000).await.unwrap();
        events.reverse();
        events
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    /// Stops the server and starts it again on the same data (a restart or a deployment);
    /// the address may change.
    pub async fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        let running = server::start(&self.config, self.clock.clone(), None)
            .await
            .unwrap();
        self.base = format!("http://{}", running.addr);
        self.server = Some(running);
    }

    /// Adds a user with an e-mail address (and no phone).
    pub async fn add_user_with_email(&self, username: &str, email: &str) {
        let input = UserInput {
            username: username.into(),
            display_name: format!("{username} Tester"),
            email: Some(email.into()),
            phone: None,
            password: Some(PasswordInput::Plain(Secret::new(PASSWORD))),
        };
        let valid = self.admin.validate(&input).unwrap();
        self.admin.create(vec![valid], &|| {}).await.unwrap();
    }
}

pub fn code_in(text: &str) -> String {
    let line = text.lines().last().unwrap();
    let code = line.rsplit('#').next().unwrap().to_string();
    assert_eq!(code.len(), 6, "{text:?}");
    code
}

/// One browser: its own cookies, no automatic redirects (tests check where they go).
pub struct Browser {
    client: reqwest::Client,
    base: String,
    /// The CSRF token of the last page that had a form.
    pub csrf: String,
    pub last_cookie: Option<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn assert_redirect(&self, to: &str) {
        assert!(
            self.status.is_redirection(),
            "expected a redirect to {to}, got {} {}",
            self.status,
            self.body
        );
        assert_eq!(self.location.as_deref(), Some(to));
    }

    /// The `Set-Cookie` line of the response that starts with `prefix` (a cookie's name and
    /// "=", or part of its name).
    pub fn set_cookie(&self, prefix: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with(prefix))
    }

    /// Checks the page text; minijinja writes "/" in values as "&#x2f;", which is undone here.
    pub fn assert_contains(&self, text: &str) {
        let body = self.body.replace("&#x2f;", "/").replace('\u{a0}', " ");
        assert!(
            body.contains(text),
            "page does not contain {text:?}:\n{}",
            self.body
        );
    }
}

impl Browser {
    /// A browser for a server started elsewhere (a `tweestap serve` subprocess).
    pub fn at(base: &str) -> Browser {
        Browser::new(base, &[])
    }

    /// Waits until the server answers its health check (no fixed sleep).
    pub async fn wait_until_healthy(&self) {
        for _ in 0..400 {
            if self
                .client
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("{} did not become healthy", self.base);
    }

    fn new(base: &str, extra: &[(&str, &str)]) -> Browser {
        let mut headers = HeaderMap::new();
        for (name, value) in extra {
            headers.insert(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
            base: base.to_string(),
            csrf: String::new(),
            last_cookie: None,
        }
    }

    async fn page(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(c) = headers.get(SET_COOKIE) {
            self.last_cookie = Some(c.to_str().unwrap().to_string());
        }
        let location = headers
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let body = response.text().await.unwrap();
        if let Some(token) = csrf_in(&body) {
            self.csrf = token;
        }
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        self.page(response).await
    }

    /// Posts a form with this browser's CSRF token added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone();
        all.push(("csrf", &csrf));
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (for CSRF tests).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = url_encode(fields);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .unwrap();
        self.page(response).await
    }

    /// Posts a JSON body with extra headers (the app's script calls).
    pub async fn post_json(&mut self, path: &str, headers: &[(&str, &str)], body: &str) -> Page {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        self.page(response).await
    }

    /// Opens the sign-in page and submits username and password.
    /// Sends the next requests to another server (another node of the same installation),
    /// with the same cookies: a load balancer without sticky sessions.
    pub fn switch_to(&mut self, base: &str) {
        self.base = base.to_string();
    }

    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let page = self.get("/sign-in").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        self.post(
            "/sign-in",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Another handle on the same browser (same cookies and token), for parallel requests.
    pub fn fork(&self) -> Browser {
        Browser {
            client: self.client.clone(),
            base: self.base.clone(),
            csrf: self.csrf.clone(),
            last_cookie: None,
        }
    }

    /// Opens the code page and submits `code`.
    pub async fn enter_code(&mut self, code: &str) -> Page {
        self.open("/sign-in/code").await;
        self.post("/sign-in/code", &[("code", code)]).await
    }

    /// The body of a response as bytes (images).
    pub async fn get_bytes(&mut self, path: &str) -> Vec<u8> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.bytes().await.unwrap().to_vec()
    }

    /// Loads a page so that its CSRF token is current.
    pub async fn open(&mut self, path: &str) -> Page {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "GET {path}: {}", page.body);
        page
    }
}

fn url_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn csrf_in(body: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_string())
}

/// `TEST_PUSH_PYTHON` (else `python3`) when it can import `modules`; otherwise `None` with the
/// reason printed, or a failure under `CI=true`, where every test must run.
pub fn python_with(modules: &str, requirements: &str) -> Option<String> {
    let python = std::env::var("TEST_PUSH_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{python} cannot import {modules} (see {requirements})");
    }
    eprintln!("skipped: {python} cannot import {modules} (see {requirements})");
    None
}

/// A port nobody listens on now (for a service the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
