//! What the authorize endpoint does with a checked request, given the browser's sign-in.

use super::authorize::AuthRequest;
use super::claims::has_mfa;
use crate::domain::{Timestamp, UserId};

/// The browser's sign-in as the authorize endpoint sees it: finished, or not at all.
/// A browser in the middle of signing in (password only, or in the registration interrupt)
/// counts as not signed in: it never gets a code.
#[derive(Debug, Clone)]
pub struct SignedInView<'a> {
    pub user_id: UserId,
    pub auth_time: Timestamp,
    pub amr: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send the browser through the sign-in; `again`: forget the current one first.
    SignIn {
        again: bool,
    },
    /// The user signed in without a second factor, but this client needs one: register one.
    RegisterSecondFactor,
    /// Ask the user whether the client may have the scopes.
    Consent,
    Issue,
    /// Answer the client with this error (prompt=none could not be honoured).
    Fail(&'static str, &'static str),
}

/// `consented`: the user allowed this client these scopes, just now or earlier (an earlier
/// answer does not count when the request says `prompt=consent`; see [`consent_counts`]).
pub fn decide(
    req: &AuthRequest,
    signed_in: Option<&SignedInView<'_>>,
    now: Timestamp,
    consented: bool,
) -> Next {
    let interactive = |next: Next, error: &'static str, why: &'static str| {
        if req.prompt.none {
            Next::Fail(error, why)
        } else {
            next
        }
    };
    let Some(view) = signed_in else {
        return interactive(
            Next::SignIn { again: false },
            "login_required",
            "the user is not signed in",
        );
    };
    if req.prompt.login {
        return Next::SignIn { again: true };
    }
    if let Some(max_age) = req.max_age
        && view.auth_time.secs_until(now) > max_age
    {
        return interactive(
            Next::SignIn { again: true },
            "login_required",
            "the sign-in is older than max_age",
        );
    }
    if req.require_mfa && !has_mfa(view.amr) {
        return interactive(
            Next::RegisterSecondFactor,
            "interaction_required",
            "this application requires a second factor",
        );
    }
    // First-party applications are not asked, unless they ask for it themselves.
    let ask = if req.client.first_party {
        req.prompt.consent && !consented
    } else {
        !consented
    };
    if ask {
        return interactive(
            Next::Consent,
            "consent_required",
            "the user has not allowed this application yet",
        );
    }
    Next::Issue
}

/// Whether a stored consent answers this request (`prompt=consent` asks again).
pub fn consent_counts(req: &AuthRequest, stored: bool) -> bool {
    stored && !req.prompt.consent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Client, ClientId, RedirectUri, SigningAlg};
    use crate::oidc::Prompt;

    fn req(first_party: bool, prompt: Prompt, max_age: Option<i64>, mfa: bool) -> AuthRequest {
        AuthRequest {
            client: Client {
                client_id: ClientId::parse("c").unwrap(),
                name: "C".into(),
                redirect_uris: vec![],
                post_logout_uris: vec![],
                public: false,
                first_party,
                scopes: vec![],
                require_mfa: mfa,
                id_token_alg: SigningAlg::Es256,
                secret_hash: None,
                created_at: Timestamp(0),
            },
            redirect_uri: RedirectUri::parse("https://a/cb").unwrap(),
            scopes: vec!["openid".into()],
            state: None,
            nonce: None,
            prompt,
            max_age,
            login_hint: None,
            ui_locales: vec![],
            code_challenge: None,
            require_mfa: mfa,
            issuer: "https://idp".into(),
        }
    }

    #[test]
    fn codes_only_for_finished_sign_ins_that_meet_the_request() {
        let mfa = vec!["pwd".to_string(), "sms".to_string(), "mfa".to_string()];
        let pwd = vec!["pwd".to_string()];
        let view = |amr| SignedInView {
            user_id: UserId(1),
            auth_time: Timestamp(1000),
            amr,
        };
        let none = Prompt {
            none: true,
            ..Prompt::default()
        };
        let login = Prompt {
            login: true,
            ..Prompt::default()
        };
        let now = Timestamp(1100);
        let plain = Prompt::default();
        assert_eq!(
            decide(&req(true, plain, None, false), None, now, false),
            Next::SignIn { again: false }
        );
        assert_eq!(
            decide(&req(true, none, None, false), None, now, false),
            Next::Fail("login_required", "the user is not signed in")
        );
        let signed = view(&mfa);
        assert_eq!(
            decide(&req(true, plain, None, false), Some(&signed), now, false),
            Next::Issue
        );
        assert_eq!(
            decide(&req(true, login, None, false), Some(&signed), now, false),
            Next::SignIn { again: true }
        );
        assert_eq!(
            decide(
                &req(true, plain, Some(100), false),
                Some(&signed),
                now,
                false
            ),
            Next::Issue
        );
        assert_eq!(
            decide(
                &req(true, plain, Some(99), false),
                Some(&signed),
                now,
                false
            ),
            Next::SignIn { again: true }
        );
        assert_eq!(
            decide(&req(false, plain, None, false), Some(&signed), now, false),
            Next::Consent
        );
        assert_eq!(
            decide(&req(false, plain, None, false), Some(&signed), now, true),
            Next::Issue
        );
        let weak = view(&pwd);
        assert_eq!(
            decide(&req(true, plain, None, true), Some(&weak), now, false),
            Next::RegisterSecondFactor
        );
        assert_eq!(
            decide(&req(true, plain, None, false), Some(&weak), now, false),
            Next::Issue
        );
    }
}
