//! What a browser carries about itself: the "signed in here before" cookie (its own password
//! budget) and the "don't ask again" cookie, and the request facts the core's rules need.

use axum::response::Response;
use tweestap_core::signin::RequestContext;

use crate::app::AppState;
use crate::context::Ctx;

pub fn request_context(ctx: &Ctx) -> RequestContext {
    RequestContext {
        ip: ctx.ip.clone(),
        device_token: ctx
            .cookies
            .get(remembered_cookie(ctx.secure))
            .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .cloned(),
        user_agent: ctx.user_agent.clone(),
        known_devices: known_device_entries(ctx),
    }
}

/// What a phone or a computer is shown of the device on the other side of a request (to
/// tell a stranger's): its browser, the place its address is in (with a GeoIP database), the
/// address.
pub fn device_details(app: &AppState, ctx: &Ctx) -> serde_json::Value {
    serde_json::json!({
        "browser": ctx.user_agent.as_deref().map(crate::user_agent::describe),
        "place": app.config.geoip.as_ref().and_then(|g| g.place(&ctx.ip, ctx.lang)),
        "ip": ctx.ip,
    })
}

/// The "signed in here before" cookie: signed entries, one per account, that give this browser
/// a password budget of its own (see `ThrottlePolicy`). Host-only, prefixed on https.
fn known_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-tweestap-known"
    } else {
        "tweestap_known"
    }
}

fn known_device_entries(ctx: &Ctx) -> Vec<String> {
    ctx.cookies
        .get(known_cookie(ctx.secure))
        .map(|v| {
            v.split('.')
                .take(tweestap_core::signin::KNOWN_DEVICE_ENTRIES)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// After a finished sign-in: this browser is known to the account from now on (under its
/// current password).
pub(super) fn remember_known_device(
    app: &AppState,
    ctx: &Ctx,
    user: &tweestap_core::User,
    response: &mut Response,
) {
    let Some(value) = app
        .signin
        .known_device_cookie(&known_device_entries(ctx), user)
    else {
        return;
    };
    let max_age = i64::from(app.policy.throttle.known_device_days) * 86_400;
    let attributes = format!("Lax; Max-Age={max_age}");
    crate::security::append_cookie(app, response, known_cookie(ctx.secure), &value, &attributes);
}

/// The "don't ask again on this device" cookie: its own random token, host-only. On https the
/// `__Host-` prefix makes browsers refuse one planted by a sibling subdomain.
pub(super) fn remembered_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-tweestap-device"
    } else {
        "tweestap_device"
    }
}
