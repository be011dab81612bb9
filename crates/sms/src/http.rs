//! A configurable HTTP SMS provider: method, URL, headers and a body template with
//! placeholders, plus what counts as success. Presets fill these in for CM.com,
//! Bird (MessageBird), Spryng, Twilio and Vonage, following each provider's documented API.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tweestap_core::ports::{Accepted, OutgoingSms, SmsError, SmsGateway};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// A JSON template: placeholders stand inside JSON strings and are JSON-escaped.
    Json,
    /// A form template (`a={to}&b={text}`): values are URL-encoded.
    Form,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Cm,
    Messagebird,
    Spryng,
    Twilio,
    Vonage,
}

/// Everything that describes one provider's request. Placeholders: `{to}` (E.164, with "+"),
/// `{to_digits}` (without "+"), `{text}`, `{reference}`, `{from}`, `{account}`, `{secret}`,
/// `{basic}` (base64 of `account:secret`), `{report_url}`, `{validity_secs}`, `{validity_ms}`.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpTemplate {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub format: BodyFormat,
    pub body: String,
    pub success_status: Vec<u16>,
    /// When set, the JSON answer must hold this value at this pointer (e.g. Vonage answers 200
    /// and puts the real outcome in `/messages/0/status`, where "0" means accepted).
    pub success_json: Option<(String, String)>,
    /// Where the provider's id for the message is in the JSON answer.
    pub provider_id_pointer: Option<String>,
}

/// Header values may hold tokens: `Debug` shows their names only.
impl std::fmt::Debug for HttpTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTemplate")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::Cm => "cm",
            Preset::Messagebird => "messagebird",
            Preset::Spryng => "spryng",
            Preset::Twilio => "twilio",
            Preset::Vonage => "vonage",
        }
    }

    /// The provider's documented request. The URL can be overridden (a regional endpoint,
    /// or a local stand-in in tests).
    pub fn template(self) -> HttpTemplate {
        let headers = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        match self {
            // CM.com Business Messaging: JSON with the product token in a header and the body.
            Preset::Cm => HttpTemplate {
                method: "POST".into(),
                url: "https://gw.messaging.cm.com/v1.0/message".into(),
                headers: headers(&[("X-CM-PRODUCTTOKEN", "{secret}")]),
                format: BodyFormat::Json,
                body: r#"{"messages":{"authentication":{"producttoken":"{secret}"},"msg":[{"from":"{from}","to":[{"number":"{to}"}],"body":{"type":"auto","content":"{text}"},"reference":"{reference}"}]}}"#.into(),
                success_status: vec![200],
                success_json: None,
                provider_id_pointer: None,
            },
            // Bird (MessageBird) REST API: AccessKey authorisation, 201 Created.
            Preset::Messagebird => HttpTemplate {
                method: "POST".into(),
                url: "https://rest.messagebird.com/messages".into(),
                headers: headers(&[("Authorization", "AccessKey {secret}")]),
                format: BodyFormat::Json,
                body: r#"{"originator":"{from}","recipients":["{to_digits}"],"body":"{text}","reference":"{reference}","reportUrl":"{report_url}","validity":{validity_secs}}"#.into(),
                success_status: vec![201],
                success_json: None,
                provider_id_pointer: Some("/id".into()),
            },
            // Spryng REST API v1: Bearer token.
            Preset::Spryng => HttpTemplate {
                method: "POST".into(),
                url: "https://rest.spryngsms.com/v1/messages".into(),
                headers: headers(&[("Authorization", "Bearer {secret}"), ("Accept", "application/json")]),
                format: BodyFormat::Json,
                body: r#"{"body":"{text}","encoding":"auto","originator":"{from}","recipients":["{to_digits}"],"route":"business","reference":"{reference}"}"#.into(),
                success_status: vec![200, 201],
                success_json: None,
                provider_id_pointer: Some("/id".into()),
            },
            // Twilio Messages API: HTTP Basic with the account SID, form body, 201 Created.
            Preset::Twilio => HttpTemplate {
                method: "POST".into(),
                url: "https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json".into(),
                headers: headers(&[("Authorization", "Basic {basic}")]),
                format: BodyFormat::Form,
                body: "To={to}&From={from}&Body={text}&StatusCallback={report_url}&ValidityPeriod={validity_secs}".into(),
                success_status: vec![201],
                success_json: None,
                provider_id_pointer: Some("/sid".into()),
            },
            // Vonage SMS API: form body with key and secret; HTTP 200 whatever happened, the
            // outcome is messages[0].status ("0" = accepted).
            Preset::Vonage => HttpTemplate {
                method: "POST".into(),
                url: "https://rest.nexmo.com/sms/json".into(),
                headers: BTreeMap::new(),
                format: BodyFormat::Form,
                body: "api_key={account}&api_secret={secret}&from={from}&to={to_digits}&text={text}&client-ref={reference}&callback={report_url}&ttl={validity_ms}".into(),
                success_status: vec![200],
                success_json: Some(("/messages/0/status".into(), "0".into())),
                provider_id_pointer: Some("/messages/0/message-id".into()),
            },
        }
    }
}

pub struct HttpGateway {
    name: String,
    template: HttpTemplate,
    account: String,
    secret: String,
    from: String,
    /// Base of our delivery-report URL for this gateway; the reference and a signature are added.
    report_url: Option<String>,
    sign: Box<dyn Fn(&str) -> String + Send + Sync>,
    client: reqwest::Client,
}

impl HttpGateway {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        template: HttpTemplate,
        account: String,
        secret: String,
        from: String,
        report_url: Option<String>,
        sign: Box<dyn Fn(&str) -> String + Send + Sync>,
        timeout: Duration,
    ) -> HttpGateway {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .expect("an HTTP client with a timeout can always be built");
        HttpGateway {
            name,
            template,
            account,
            secret,
            from,
            report_url,
            sign,
            client,
        }
    }

    fn values(&self, sms: &OutgoingSms) -> Vec<(&'static str, String)> {
        let report = self
            .report_url
            .as_ref()
            .map(|base| {
                // Signed over reference and gateway: only this gateway may report on it.
                let signed = format!("{}:{}", sms.reference, self.name);
                format!(
                    "{base}?ref={}&gw={}&sig={}",
                    sms.reference,
                    self.name,
                    (self.sign)(&signed)
                )
            })
            .unwrap_or_default();
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.account, self.secret));
        vec![
            (
                "to_digits",
                sms.to.e164().trim_start_matches('+').to_string(),
            ),
            ("to", sms.to.e164().to_string()),
            ("text", sms.text.clone()),
            ("reference", sms.reference.clone()),
            ("from", self.from.clone()),
            ("account", self.account.clone()),
            ("secret", self.secret.clone()),
            ("basic", basic),
            ("report_url", report),
            ("validity_secs", sms.valid_for_secs.max(1).to_string()),
            (
                "validity_ms",
                (sms.valid_for_secs.max(20) * 1000).to_string(),
            ),
        ]
    }

    /// Fills a template; `escape` makes each value safe where it lands.
    /// One pass over the template, so a value that happens to contain "{secret}" is never
    /// expanded again.
    fn fill(
        template: &str,
        values: &[(&'static str, String)],
        escape: impl Fn(&str) -> String,
    ) -> String {
        let mut out = String::with_capacity(template.len() + 64);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let known = after.find('}').and_then(|end| {
                let name = &after[..end];
                values
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (end, v))
            });
            match known {
                Some((end, value)) => {
                    out.push_str(&escape(value));
                    rest = &after[end + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The request as it would be sent (for tests and for `Debug`-free inspection).
    pub fn render(&self, sms: &OutgoingSms) -> (String, String, Vec<(String, String)>, String) {
        let values = self.values(sms);
        let url = Self::fill(&self.template.url, &values, |v| {
            url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
        });
        let headers = self
            .template
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Self::fill(v, &values, str::to_string)))
            .collect();
        let body = match self.template.format {
            BodyFormat::Json => Self::fill(&self.template.body, &values, |v| {
                let quoted = serde_json::to_string(v).unwrap_or_default();
                quoted[1..quoted.len() - 1].to_string()
            }),
            BodyFormat::Form => Self::fill(&self.template.body, &values, |v| {
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
            }),
        };
        (self.template.method.clone(), url, headers, body)
    }
}

#[async_trait]
impl SmsGateway for HttpGateway {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Accepted, SmsError> {
        let (method, url, headers, body) = self.render(sms);
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| SmsError::Rejected(e.to_string()))?;
        let content_type = match self.template.format {
            BodyFormat::Json => "application/json",
            BodyFormat::Form => "application/x-www-form-urlencoded",
        };
        let mut request = self
            .client
            .request(method, &url)
            .header("Content-Type", content_type)
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| crate::kannel::classify(&e))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let short = crate::kannel::excerpt(
            &text,
            &[&self.secret, &sms.text, crate::kannel::code_of(&sms.text)],
        );
        if !self.template.success_status.contains(&status) {
            return Err(match status {
                429 | 500..=599 => SmsError::Unavailable(format!("HTTP {status}: {short}")),
                _ => SmsError::Rejected(format!("HTTP {status}: {short}")),
            });
        }
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        if let Some((pointer, expected)) = &self.template.success_json {
            let found = json
                .as_ref()
                .and_then(|j| j.pointer(pointer))
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            if found.as_deref() != Some(expected.as_str()) {
                return Err(SmsError::Rejected(format!(
                    "provider said {pointer} = {found:?}: {short}"
                )));
            }
        }
        let provider_id = self
            .template
            .provider_id_pointer
            .as_ref()
            .and_then(|p| json.as_ref()?.pointer(p)?.as_str().map(str::to_string));
        Ok(Accepted { provider_id })
    }
}
