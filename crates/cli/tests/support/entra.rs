//! Microsoft Entra ID played by an independent implementation (`tests/entra/fake_entra.py`,
//! Python with PyJWT and cryptography): its own keys and JWKS on loopback, hints minted as
//! Microsoft does (already expired), and on the way back every check Entra makes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use tweestap::config::{Config, EntraConfig, EntraTenant};

use super::{TestApp, free_port, spawn_app_at};

pub const TENANT: &str = "5c3a1f7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b";
pub const OTHER_TENANT: &str = "0f0f0f0f-1111-4222-8333-444455556666";
pub const APP_ID: &str = "8d2b6c0e-1f3a-4b5c-9d7e-6f8a9b0c1d2e";
pub const CLIENT_ID: &str = "school-eam";
/// The object id of the Entra user the stand-in names unless told otherwise.
pub const DEFAULT_OID: &str = "0b6e4f1c-7d2a-4c3b-9e8f-1a2b3c4d5e6f";

/// The Python that has PyJWT and cryptography, or `None` (reason printed) outside CI.
pub fn python() -> Option<String> {
    super::python_with("jwt, cryptography", "tests/entra/requirements.txt")
}

pub struct FakeEntra {
    child: Child,
    /// Stands in for https://login.microsoftonline.com.
    pub base: String,
    http: reqwest::Client,
}

impl Drop for FakeEntra {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FakeEntra {
    fn start(python: &str, discovery: &str) -> FakeEntra {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/entra/fake_entra.py"
        );
        let mut child = Command::new(python)
            .arg(script)
            .args(["--provider-discovery", discovery, "--app-id", APP_ID])
            .args(["--public-host", "127.0.0.1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the Entra stand-in starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line).expect("the stand-in says where it is");
        FakeEntra {
            child,
            base: ready["base"].as_str().unwrap().to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn json(&self, response: reqwest::Response) -> Value {
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    /// Entra's request for tweestap: its form fields, with a freshly minted hint.
    pub async fn request(&self, app: &TestApp, options: Value) -> Value {
        let mut body = json!({
            "provider_authorize": format!("{}/entra/authorize", app.base),
            "client_id": CLIENT_ID,
            "tid": TENANT,
            "oid": DEFAULT_OID,
            "sub": "pairwise-sub-of-jan",
            "preferred_username": "jan@school.nl",
            "name": "Jan Jansen",
        });
        for (k, v) in options.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = self
            .http
            .post(format!("{}/_request", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        self.json(response).await
    }

    /// Posts tweestap's answer form to Entra, as the browser would; Entra's verdict.
    pub async fn answer(&self, action: &str, fields: &[(String, String)]) -> Value {
        assert_eq!(
            action,
            format!("{}/common/federation/externalauthprovider", self.base)
        );
        let html = self
            .http
            .post(action)
            .form(fields)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let state = fields
            .iter()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no state in the answer: {html}"));
        self.outcome(&state).await
    }

    pub async fn outcome(&self, state: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/_outcome", self.base))
            .query(&[("state", state)])
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    pub async fn fetches(&self, tid: &str) -> u64 {
        let response = self
            .http
            .get(format!("{}/_fetches", self.base))
            .query(&[("tid", tid)])
            .send()
            .await
            .unwrap();
        self.json(response).await["count"].as_u64().unwrap()
    }

    pub async fn rotate(&self, publish: bool) -> String {
        let response = self
            .http
            .post(format!("{}/_rotate", self.base))
            .json(&json!({ "publish": publish }))
            .send()
            .await
            .unwrap();
        self.json(response).await["kid"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// tweestap (on a real clock, as Entra's stand-in checks times) with one tenant whose users
/// come from the stand-in, and the stand-in; `None` outside CI without the Python libraries.
pub async fn spawn_with_entra(
    adjust: impl FnOnce(&mut EntraTenant),
) -> Option<(TestApp, FakeEntra)> {
    let python = python()?;
    let port = free_port();
    let public = format!("http://localhost:{port}");
    let entra = FakeEntra::start(
        &python,
        &format!("{public}/entra/.well-known/openid-configuration"),
    );
    let mut tenant = EntraTenant {
        name: "Testschool".into(),
        tenant_ids: vec![TENANT.into()],
        app_id: APP_ID.into(),
        client_id: CLIENT_ID.into(),
        ..Default::default()
    };
    adjust(&mut tenant);
    let authority = entra.base.clone();
    let app = spawn_app_at(now(), |c: &mut Config| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = public.clone();
        c.entra = EntraConfig {
            issuer: None,
            tenants: vec![tenant],
            test_authority: Some(authority),
        };
    })
    .await;
    Some((app, entra))
}

/// The form fields of Entra's request, for posting.
pub fn fields(request: &Value) -> Vec<(String, String)> {
    request["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// The answer form on a page: where it posts and its hidden fields.
pub fn answer_form(body: &str) -> (String, Vec<(String, String)>) {
    let form = body
        .split("<form method=\"post\" action=\"")
        .find(|part| part.contains("externalauthprovider"))
        .unwrap_or_else(|| panic!("no answer form for Entra in: {body}"));
    let action = form
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let mut fields = Vec::new();
    for input in form.split("<input type=\"hidden\" name=\"").skip(1) {
        let name = input.split('"').next().unwrap().to_string();
        let value = input
            .split("value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .replace("&#x2f;", "/")
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
        fields.push((name, value));
    }
    (action, fields)
}

/// This browser posts Entra's request (minted with `options`) to tweestap; the response and
/// the request.
pub async fn arrive_in(
    browser: &mut super::Browser,
    app: &TestApp,
    entra: &FakeEntra,
    options: Value,
) -> (super::Page, Value) {
    let request = entra.request(app, options).await;
    let owned = fields(&request);
    let borrowed: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    (
        browser.post_raw("/entra/authorize", &borrowed).await,
        request,
    )
}

/// Entra's verdict on the answer form in `body` (the page tweestap showed after the step).
pub async fn verdict(entra: &FakeEntra, body: &str) -> Value {
    let (action, answer) = answer_form(body);
    entra.answer(&action, &answer).await
}

/// Links `username` to the stand-in's default Entra user (what an import or a first sign-in
/// with `link_by_username` would do).
pub async fn link(app: &TestApp, username: &str) {
    use tweestap_core::ports::Clock;
    let store = &app.admin.store;
    let user = store
        .user_by_username(&tweestap_core::Username::parse(username).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .entra_link(TENANT, DEFAULT_OID, user.id, app.clock.now())
            .await
            .unwrap()
    );
}
