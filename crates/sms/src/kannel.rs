use std::time::Duration;

use async_trait::async_trait;
use tweestap_core::ports::{Accepted, OutgoingSms, SmsError, SmsGateway};

/// Kannel's smsbox `sendsms` HTTP interface; Kannel then speaks SMPP (or another protocol) to
/// the operator. Delivery reports come back on our `dlr-url`, which carries our own message
/// reference and a signature over it.
pub struct KannelGateway {
    pub name: String,
    /// e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`
    pub url: String,
    pub username: String,
    pub password: String,
    pub from: Option<String>,
    /// Base of our delivery-report endpoint, e.g. `https://login.school.nl/sms/dlr/kannel`;
    /// `None` asks for no reports.
    pub report_url: Option<String>,
    /// Signs a message reference for the report URL.
    pub sign: Box<dyn Fn(&str) -> String + Send + Sync>,
    client: reqwest::Client,
}

impl KannelGateway {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        url: String,
        username: String,
        password: String,
        from: Option<String>,
        report_url: Option<String>,
        sign: Box<dyn Fn(&str) -> String + Send + Sync>,
        timeout: Duration,
    ) -> KannelGateway {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .expect("an HTTP client with a timeout can always be built");
        KannelGateway {
            name,
            url,
            username,
            password,
            from,
            report_url,
            sign,
            client,
        }
    }
}

#[async_trait]
impl SmsGateway for KannelGateway {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SmsError> {
        // Every value is URL-encoded by `query`: a bare "+" in `to` would arrive as a space.
        let mut query: Vec<(&str, String)> = vec![
            ("username", self.username.clone()),
            ("password", self.password.clone()),
            ("to", sms.to.e164().to_string()),
            ("text", sms.text.clone()),
            ("charset", "UTF-8".to_string()),
            ("coding", "0".to_string()),
            // Minutes the operator may keep trying: never past the code's expiry.
            (
                "validity",
                ((sms.valid_for_secs.max(60) + 59) / 60).to_string(),
            ),
        ];
        if let Some(from) = &self.from {
            query.push(("from", from.clone()));
        }
        if let Some(base) = &self.report_url {
            // Kannel fills in %d (the report type); its %I would be Kannel's id, not ours.
            // Signed over reference and gateway: only this gateway may report on it.
            let signed = format!("{}:{}", sms.reference, self.name);
            let url = format!(
                "{base}?ref={}&gw={}&sig={}&type=%d",
                sms.reference,
                self.name,
                (self.sign)(&signed)
            );
            query.push(("dlr-mask", "31".to_string()));
            query.push(("dlr-url", url));
        }
        let response = self
            .client
            .get(&self.url)
            .query(&query)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let body = excerpt(&body, &[&self.password, &sms.text, code_of(&sms.text)]);
        match status.as_u16() {
            200..=299 => Ok(Accepted::default()),
            429 | 500..=599 => Err(SmsError::Unavailable(format!("HTTP {status}: {body}"))),
            _ => Err(SmsError::Rejected(format!("HTTP {status}: {body}"))),
        }
    }
}

/// Sorts a transport error: nothing reached the gateway (it is down: try another), or the
/// request went out and no answer came (it may have the message: never give it again).
pub(crate) fn classify(e: &reqwest::Error) -> SmsError {
    if e.is_connect() || e.is_builder() {
        SmsError::Unavailable(describe(e))
    } else {
        SmsError::Uncertain(describe(e))
    }
}

/// The code in a text (its WebOTP line ends "#123456"), to keep it out of error messages.
pub(crate) fn code_of(text: &str) -> &str {
    text.rsplit('#')
        .next()
        .filter(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("")
}

/// A short piece of a gateway's answer for logs and `sms status`, unless it repeats something
/// secret from the request (some providers echo it back).
pub(crate) fn excerpt(body: &str, secrets: &[&str]) -> String {
    if secrets.iter().any(|s| !s.is_empty() && body.contains(s)) {
        return "(answer withheld: it repeats part of the request)".to_string();
    }
    body.trim().chars().take(160).collect()
}

/// A reqwest error without the URL, which holds the Kannel password.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        e.without_url_string()
    }
}

trait WithoutUrl {
    fn without_url_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_string(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<url>");
        }
        text
    }
}
