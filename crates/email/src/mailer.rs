//! The SMTP adapter: submission with STARTTLS (or implicit TLS), authentication, one message
//! per notice. TLS is never optional once configured: a server that does not offer STARTTLS
//! gets nothing, not even the credentials.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tweestap_core::ports::{MailError, MailSender};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS at all: only for a relay on the same machine.
    None,
}

/// Where and how to submit mail.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, String)>,
    /// The sender, e.g. `"mboRijnland <noreply@mborijnland.nl>"`.
    pub from: String,
    /// A CA certificate (PEM) trusted besides the public ones: a school's own relay.
    pub extra_root_pem: Option<Vec<u8>>,
    pub timeout: Duration,
    /// The name tweestap gives in EHLO (its public host).
    pub hello_name: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("email.from {0:?} is not an e-mail address (write \"Name <address@domain>\")")]
    From(String),
    #[error("email.ca_file does not hold a PEM certificate: {0}")]
    Certificate(String),
    #[error("TLS settings for {0}: {1}")]
    Tls(String, String),
}

/// Submits messages to one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings) -> Result<SmtpMailer, SmtpError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|_| SmtpError::From(settings.from.clone()))?;
        let mut tls = TlsParameters::builder(settings.host.clone());
        if let Some(pem) = &settings.extra_root_pem {
            let cert =
                Certificate::from_pem(pem).map_err(|e| SmtpError::Certificate(e.to_string()))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| SmtpError::Tls(settings.host.clone(), e.to_string()))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(match settings.security {
                Security::StartTls => Tls::Required(tls),
                Security::Tls => Tls::Wrapper(tls),
                Security::None => Tls::None,
            })
            .timeout(Some(settings.timeout))
            .hello_name(ClientId::Domain(settings.hello_name.clone()));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl MailSender for SmtpMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| MailError::Permanent(format!("{to:?} is not an e-mail address")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| MailError::Permanent(format!("the message cannot be built: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // 5xx: the server refuses this for good (no such mailbox, not allowed).
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }
}
