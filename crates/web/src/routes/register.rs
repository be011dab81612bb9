use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use tweestap_core::signin::{Page, SignInError};

use super::{describe, page_url, render, request_context, see_other, to_current_step};
use crate::app::AppState;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::Lang;
use crate::session::Session;

#[derive(Serialize)]
pub(super) struct CountryOption {
    code: &'static str,
    name: &'static str,
    calling_code: u16,
    allowed: bool,
    selected: bool,
}

/// Every country with its calling code, sorted by name in the user's language; only the
/// allowed ones can be chosen.
pub(super) fn country_options(app: &AppState, lang: Lang, selected: &str) -> Vec<CountryOption> {
    let allowed = &app.policy.allowed_countries;
    let mut options: Vec<CountryOption> = tweestap_core::countries()
        .iter()
        .map(|c| CountryOption {
            code: c.code,
            name: c.name(lang.code()),
            calling_code: c.calling_code,
            allowed: allowed.iter().any(|a| a.eq_ignore_ascii_case(c.code)),
            selected: c.code.eq_ignore_ascii_case(selected),
        })
        .collect();
    options.sort_by(|a, b| a.name.cmp(b.name));
    options
}

pub async fn get_phone_registration(
    State(app): State<AppState>,
    ctx: Ctx,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    if session.record.state.page() != Page::RegisterPhone {
        return Ok(to_current_step(&app, &session));
    }
    session.save(&app).await?;
    let countries = country_options(&app, ctx.lang, &app.policy.default_country);
    render(
        &app,
        &ctx,
        &session,
        StatusCode::OK,
        "register_phone.html",
        context! { countries, phone => "" },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PhoneForm {
    csrf: String,
    country: String,
    phone: String,
}

pub async fn post_phone_registration(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(form): Form<PhoneForm>,
) -> Result<Response, WebError> {
    let mut session = Session::load(&app, &ctx).await?;
    session.check_csrf(&form.csrf)?;
    if session.record.state.page() != Page::RegisterPhone {
        return Ok(to_current_step(&app, &session));
    }
    let country = if form.country.is_empty() {
        app.policy.default_country.clone()
    } else {
        form.country.clone()
    };
    let text = super::sms_text(&app, ctx.lang);
    let before = session.record.state.clone();
    let result = app
        .signin
        .register_phone(
            &before,
            &country,
            &form.phone,
            &request_context(&ctx),
            &text,
        )
        .await;
    let error = match result {
        Ok(next) => {
            session.record.state = next;
            session.save(&app).await?;
            if !super::delivery_failed(&app, &session.record.state).await? {
                return Ok(see_other(&app, &session, page_url(Page::EnterCode)));
            }
            // No gateway took the message: stay on the form, say so, keep the number.
            session.record.state = before;
            session.save(&app).await?;
            SignInError::NotSent(tweestap_core::signin::SendRefusal::GatewayDown)
        }
        Err(e) => e,
    };
    match error {
        SignInError::Store(e) => Err(e.into()),
        SignInError::WrongStep => {
            // The account got a method meanwhile (another tab, an administrator): start over.
            session.record.state = tweestap_core::signin::SignInState::Start;
            session.save(&app).await?;
            Ok(to_current_step(&app, &session))
        }
        e => {
            let (status, error) = describe(ctx.lang, &e)?;
            let countries = country_options(&app, ctx.lang, &country);
            render(
                &app,
                &ctx,
                &session,
                status,
                "register_phone.html",
                context! { countries, error, phone => form.phone },
            )
        }
    }
}
