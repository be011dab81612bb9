//! One browser without JavaScript: its own cookies and the CSRF token of the page it last
//! loaded; redirects are followed by the caller, so each request is timed on its own.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};

pub struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
    csrf: String,
}

/// A response as the load needs it.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub retry_after: Option<Duration>,
    pub took: Duration,
}

impl Browser {
    pub fn new(client: reqwest::Client, base: &str) -> Browser {
        Browser {
            client,
            base: base.trim_end_matches('/').to_string(),
            cookies: Vec::new(),
            csrf: String::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Result<Answer, String> {
        let request = self.client.get(self.url(path));
        self.send(request).await
    }

    /// Submits a form on the last page loaded, with its CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Answer, String> {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone();
        form.push(("csrf", &csrf));
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&form));
        self.send(request).await
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Result<Answer, String> {
        let request = if self.cookies.is_empty() {
            request
        } else {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request.header(COOKIE, jar.join("; "))
        };
        let started = Instant::now();
        let response = request.send().await.map_err(|e| transport(&e))?;
        let status = response.status();
        for line in response.headers().get_all(SET_COOKIE) {
            if let Ok(line) = line.to_str() {
                self.keep_cookie(line);
            }
        }
        let location = header(&response, LOCATION);
        let retry_after = header(&response, RETRY_AFTER)
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs);
        let body = response.text().await.map_err(|e| transport(&e))?;
        let took = started.elapsed();
        if let Some(token) = csrf_in(&body) {
            self.csrf = token;
        }
        Ok(Answer {
            status,
            location,
            retry_after,
            took,
        })
    }

    fn keep_cookie(&mut self, line: &str) {
        let pair = line.split(';').next().unwrap_or("");
        let Some((name, value)) = pair.split_once('=') else {
            return;
        };
        let gone = line.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
        self.cookies.retain(|(k, _)| k != name);
        if !gone {
            self.cookies.push((name.to_string(), value.to_string()));
        }
    }
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Errors by kind, not by message: "connection refused" once per thousand requests is one line.
fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        "connection broken".into()
    }
}

fn csrf_in(body: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_string())
}

fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_and_tokens_found() {
        assert_eq!(encode(&[("a b", "x&y=z")]), "a%20b=x%26y%3Dz");
        assert_eq!(
            csrf_in(r#"<input type="hidden" name="csrf" value="abc123">"#).as_deref(),
            Some("abc123")
        );
    }

    #[test]
    fn a_cookie_is_replaced_and_a_deleted_one_forgotten() {
        let mut b = Browser::new(reqwest::Client::new(), "http://127.0.0.1:1/");
        b.keep_cookie("tweestap=one; Path=/; HttpOnly");
        b.keep_cookie("tweestap=two; Path=/; HttpOnly");
        assert_eq!(b.cookies, vec![("tweestap".into(), "two".into())]);
        b.keep_cookie("tweestap=; Max-Age=0");
        assert!(b.cookies.is_empty());
    }
}
