use crate::app::AppState;

/// Where to come back to after signing in, as a link or a form carries it: a page of this
/// site, an authorization request of a registered application (checked again here, since its
/// redirect URI widens the page's `form-action`), or a forward-auth return to a configured
/// site. Anything else is dropped.
pub async fn accepted_return_to(app: &AppState, input: &str) -> Option<String> {
    let target = safe_return_to(input)?;
    if let Some(query) = target.strip_prefix("/oauth2/authorize?") {
        let params = crate::routes::authorize_params(query)?;
        return matches!(app.oidc.authorize_request(&params).await, Ok(Ok(_))).then_some(target);
    }
    if let Some(query) = target.strip_prefix("/auth/start?") {
        return crate::routes::forward_auth_return(app, query).map(|_| target);
    }
    (!target.starts_with("/oauth2/") && !target.starts_with("/auth/")).then_some(target)
}

/// Accepts only a path on this site ("/apps/x?y=1"), never another origin: not "//evil",
/// "/\evil", "https://…", nor anything with control characters.
pub fn safe_return_to(input: &str) -> Option<String> {
    let ok = input.starts_with('/')
        && !input.starts_with("//")
        && !input.starts_with("/\\")
        && input.len() <= 4096
        && !input.chars().any(|c| c.is_control() || c == '\\');
    ok.then(|| input.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_pass() {
        assert_eq!(
            safe_return_to("/apps/moodle?x=1").as_deref(),
            Some("/apps/moodle?x=1")
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/a\r\nSet-Cookie: x",
            "",
        ] {
            assert_eq!(safe_return_to(bad), None, "{bad:?}");
        }
    }
}
