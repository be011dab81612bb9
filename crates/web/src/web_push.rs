//! Notifications to the tweestap app on phones, through the browsers' push services: a sign-in
//! waiting for approval, or a change to the account's sign-in methods. Best effort and in the
//! background: the app also shows waiting requests whenever it is opened, and changes are
//! announced by SMS as well.

use tweestap_core::MethodId;

use crate::app::AppState;
use crate::i18n::{Arg, Lang, t};

/// What a notification says.
pub enum Notice {
    /// A sign-in waits for approval (only the request's id travels; the app fetches the rest
    /// over its own authenticated call).
    Request { id: String },
    /// A sign-in method was added to or removed from the account.
    MethodsChanged { added: bool },
}

/// Sends a notice to one phone, when it has a subscription. `lang` is used when the phone's
/// own language was not kept with its subscription.
pub fn notify(
    app: &AppState,
    method: MethodId,
    subscription: Option<&str>,
    notice: Notice,
    lang: Lang,
) {
    let (Some(notifier), Some(subscription)) = (app.config.push.clone(), subscription) else {
        return;
    };
    let Ok(sub) = serde_json::from_str::<serde_json::Value>(subscription) else {
        return;
    };
    let lang = sub["lang"].as_str().and_then(Lang::parse).unwrap_or(lang);
    let text = |key: &str| sub[key].as_str().unwrap_or_default().to_string();
    let subscription = tweestap_push::Subscription {
        endpoint: text("endpoint"),
        p256dh: sub["keys"]["p256dh"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        auth: sub["keys"]["auth"].as_str().unwrap_or_default().to_string(),
    };
    let org = app.config.organisation.clone();
    let (payload, ttl, urgency) = match notice {
        Notice::Request { id } => (
            serde_json::json!({
                "request": id,
                "title": org,
                "body": t(lang, "push-notification-body", &[]),
            }),
            u32::try_from(app.policy.push.ttl_secs).unwrap_or(120),
            tweestap_push::Urgency::High,
        ),
        Notice::MethodsChanged { added } => (
            serde_json::json!({
                "title": org,
                "body": t(
                    lang,
                    if added { "sms-method-added" } else { "sms-method-removed" },
                    &[("org", Arg::Str(&org))],
                ),
            }),
            24 * 3600,
            tweestap_push::Urgency::Normal,
        ),
    };
    let payload = payload.to_string();
    let now = app.clock.now().0;
    let store = app.store.clone();
    tokio::spawn(async move {
        match notifier
            .sender
            .send(&subscription, payload.as_bytes(), ttl, urgency, None, now)
            .await
        {
            Ok(tweestap_push::PushOutcome::Gone) => {
                // The browser dropped the subscription: stop sending to it.
                tracing::info!("push subscription gone; forgotten");
                if let Err(e) = store.push_subscription_set(method, None).await {
                    tracing::warn!("forgetting a push subscription failed: {e}");
                }
            }
            Ok(outcome) => tracing::info!(?outcome, "push notification sent"),
            Err(e) => tracing::warn!("push notification failed: {e}"),
        }
    });
}
