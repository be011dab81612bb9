use async_trait::async_trait;
use tweestap_core::ports::{OutgoingSms, SmsError, SmsGateway};

/// The configured gateways in order: a message goes to the first that accepts it. A gateway
/// that is unavailable passes the message on; one that rejects it ends the attempt, because
/// the next gateway would reject the same number or text.
pub struct Failover {
    gateways: Vec<Box<dyn SmsGateway>>,
    name: String,
}

impl Failover {
    pub fn new(gateways: Vec<Box<dyn SmsGateway>>) -> Self {
        let name = gateways
            .iter()
            .map(|g| g.name())
            .collect::<Vec<_>>()
            .join(",");
        Failover { gateways, name }
    }
}

#[async_trait]
impl SmsGateway for Failover {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<(), SmsError> {
        let mut last = SmsError::Unavailable("no SMS gateway is configured".into());
        for gateway in &self.gateways {
            match gateway.send(sms).await {
                Ok(()) => return Ok(()),
                Err(e @ SmsError::Rejected(_)) => return Err(e),
                Err(e) => {
                    tracing::warn!(gateway = gateway.name(), reference = %sms.reference, error = %e, "SMS gateway failed; trying the next");
                    last = e;
                }
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OutboxGateway;
    use tweestap_core::PhoneNumber;

    #[tokio::test]
    async fn falls_over_to_the_next_gateway() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "").unwrap();
        let good = dir.path().join("good.jsonl");
        let f = Failover::new(vec![
            Box::new(OutboxGateway::new(blocked.join("x.jsonl"))),
            Box::new(OutboxGateway::new(&good)),
        ]);
        f.send(&OutgoingSms {
            to: PhoneNumber::from_stored("+31612345678").unwrap(),
            text: "hi".into(),
            reference: "r".into(),
        })
        .await
        .unwrap();
        assert_eq!(crate::read_outbox(&good).unwrap().len(), 1);
    }

    #[tokio::test]
    async fn no_gateways_means_unavailable() {
        let f = Failover::new(vec![]);
        let err = f
            .send(&OutgoingSms {
                to: PhoneNumber::from_stored("+31612345678").unwrap(),
                text: "hi".into(),
                reference: "r".into(),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, SmsError::Unavailable(_)));
    }
}
