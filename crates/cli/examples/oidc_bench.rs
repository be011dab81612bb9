//! Token-endpoint benchmark: code exchanges, refreshes and JWKS requests per second against a
//! real `serve` (in this process, release build, fresh SQLite file). Run through
//! `bash tools/bench-oidc.sh`. The load generator shares the machine's cores with the server,
//! so the figures are a floor.
//!
//!   oidc_bench [requests per phase] [concurrency]
//!
//! Codes are issued through the provider's own use case (no browser sign-in per code): the
//! benchmark measures the token endpoint, not the sign-in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tweestap::config::{Config, GatewayConfig, SmsConfig};
use tweestap::server::{self, Wiring};
use tweestap_core::Secret;
use tweestap_core::admin::{PasswordInput, UserInput};
use tweestap_core::clients::{ClientInput, ClientService};
use tweestap_core::oidc::AuthorizeParams;
use tweestap_core::ports::{Clock, Store};
use tweestap_web::system::{OsEntropy, SystemClock};

const REDIRECT: &str = "https://app.example/cb";

fn report(name: &str, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{name:<22} {:>6} requests  {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        latencies.len(),
        latencies.len() as f64 / wall.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );
}

/// Runs `jobs` with `concurrency` workers; returns each job's latency and the wall time.
async fn run<F, Fut>(jobs: Vec<F>, concurrency: usize) -> (Vec<Duration>, Duration)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let queue = Arc::new(tokio::sync::Mutex::new(jobs));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let queue = queue.clone();
        workers.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let Some(job) = queue.lock().await.pop() else {
                    break;
                };
                let t = Instant::now();
                job().await;
                times.push(t.elapsed());
            }
            times
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    (all, started.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let concurrency: usize = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(16);
    let dir = tempfile::tempdir()?;
    let config = Config {
        listen: "127.0.0.1:0".into(),
        public_url: "http://localhost:8080".into(),
        data_dir: dir.path().to_path_buf(),
        sms: SmsConfig {
            gateways: vec![GatewayConfig::Outbox {
                path: dir.path().join("outbox.jsonl"),
            }],
        },
        ..Config::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let running = server::start(&config, clock.clone(), None).await?;
    let base = format!("http://{}", running.addr);
    let wiring = Wiring::new(&config, clock.clone()).await?;
    let admin = wiring.admin("bench");
    let input = UserInput {
        username: "bench".into(),
        display_name: "Bench".into(),
        email: Some("bench@school.example".into()),
        phone: Some("+31612345678".into()),
        password: Some(PasswordInput::Plain(Secret::new("bench-password-1"))),
    };
    let valid = admin.validate(&input)?;
    admin.create(vec![valid], &|| {}).await?;
    let user = wiring
        .store
        .user_by_username(&tweestap_core::Username::parse("bench")?)
        .await?
        .expect("user");
    let (client, secret) = ClientService {
        store: wiring.store.clone() as Arc<dyn Store>,
        clock: clock.clone(),
        entropy: Arc::new(OsEntropy),
        actor: "bench".into(),
    }
    .add(ClientInput {
        name: "Bench".into(),
        redirect_uris: vec![REDIRECT.into()],
        first_party: true,
        ..ClientInput::default()
    })
    .await?;
    let secret = secret.expect("confidential");
    let oidc = Arc::new(wiring.oidc("http://localhost:8080".into()));
    let request = AuthorizeParams {
        client_id: Some(client.client_id.as_str().into()),
        redirect_uri: Some(REDIRECT.into()),
        response_type: Some("code".into()),
        scope: Some("openid profile email".into()),
        nonce: Some("n".into()),
        ..AuthorizeParams::default()
    }
    .check(Some(client.clone()), "http://localhost:8080")
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let amr: Vec<String> = ["pwd", "sms", "mfa"].map(String::from).to_vec();
    let mut codes = Vec::new();
    for _ in 0..n {
        let url = oidc
            .issue_code(&request, user.id, clock.now(), &amr)
            .await?;
        let code = url
            .split("code=")
            .nth(1)
            .and_then(|s| s.split('&').next())
            .expect("code")
            .to_string();
        codes.push(code);
    }
    let http = reqwest::Client::new();
    let id = client.client_id.as_str().to_string();
    println!(
        "{n} requests per phase, {concurrency} concurrent, {} cores",
        std::thread::available_parallelism()?
    );

    // Phase 1: code exchanges (each code once), collecting refresh tokens for phase 2.
    let refresh_tokens = Arc::new(std::sync::Mutex::new(Vec::new()));
    let jobs: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let (http, base, id, secret, out) = (
                http.clone(),
                base.clone(),
                id.clone(),
                secret.clone(),
                refresh_tokens.clone(),
            );
            move || async move {
                let answer: serde_json::Value = http
                    .post(format!("{base}/oauth2/token"))
                    .basic_auth(&id, Some(&secret))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", REDIRECT),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let token = answer["refresh_token"]
                    .as_str()
                    .expect("tokens")
                    .to_string();
                out.lock().unwrap().push(token);
            }
        })
        .collect();
    let (times, wall) = run(jobs, concurrency).await;
    report("code exchange", times, wall);

    // Phase 2: one refresh per token from phase 1 (each rotates: new tokens, old one used).
    let tokens = std::mem::take(&mut *refresh_tokens.lock().unwrap());
    let jobs: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (http, base, id, secret) = (http.clone(), base.clone(), id.clone(), secret.clone());
            move || async move {
                let status = http
                    .post(format!("{base}/oauth2/token"))
                    .basic_auth(&id, Some(&secret))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", token.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert!(status.is_success(), "refresh: {status}");
            }
        })
        .collect();
    let (times, wall) = run(jobs, concurrency).await;
    report("refresh (rotation)", times, wall);

    // Phase 3: JWKS.
    let jobs: Vec<_> = (0..n * 5)
        .map(|_| {
            let (http, base) = (http.clone(), base.clone());
            move || async move {
                let status = http
                    .get(format!("{base}/oauth2/jwks"))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert!(status.is_success());
            }
        })
        .collect();
    let (times, wall) = run(jobs, concurrency).await;
    report("jwks", times, wall);
    running.stop().await;
    Ok(())
}
