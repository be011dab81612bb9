use axum::extract::{Path, Query};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::context::LANG_COOKIE;
use crate::error::WebError;
use crate::i18n::Lang;
use crate::return_to::safe_return_to;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LangQuery {
    next: Option<String>,
}

/// The language switch: remembers the choice for a year and goes back to the page.
pub async fn get_lang(
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, WebError> {
    let lang = Lang::parse(&code).ok_or(WebError::NotFound)?;
    let back = q
        .next
        .as_deref()
        .and_then(safe_return_to)
        .unwrap_or_else(|| "/sign-in".to_string());
    let mut response = Redirect::to(&back).into_response();
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
