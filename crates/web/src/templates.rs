use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, State, Value};

use crate::i18n::{Arg, Lang, t};

/// The page templates, compiled into the binary. Named `*.html` so minijinja escapes every
/// value for HTML.
pub struct Templates {
    env: Environment<'static>,
}

pub(crate) const PAGES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    (
        "register_phone.html",
        include_str!("../templates/register_phone.html"),
    ),
    ("code.html", include_str!("../templates/code.html")),
    (
        "entra_answer.html",
        include_str!("../templates/entra_answer.html"),
    ),
    (
        "other_way.html",
        include_str!("../templates/other_way.html"),
    ),
    ("home.html", include_str!("../templates/home.html")),
    (
        "demo_phone.html",
        include_str!("../templates/demo_phone.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
    ("report.html", include_str!("../templates/report.html")),
    ("consent.html", include_str!("../templates/consent.html")),
    ("logout.html", include_str!("../templates/logout.html")),
    ("reauth.html", include_str!("../templates/reauth.html")),
    (
        "interstitial.html",
        include_str!("../templates/interstitial.html"),
    ),
    ("app_code.html", include_str!("../templates/app_code.html")),
    (
        "security_info.html",
        include_str!("../templates/security_info.html"),
    ),
    (
        "app_setup.html",
        include_str!("../templates/app_setup.html"),
    ),
    (
        "app_invite.html",
        include_str!("../templates/app_invite.html"),
    ),
    (
        "phone_add.html",
        include_str!("../templates/phone_add.html"),
    ),
    (
        "access_pass.html",
        include_str!("../templates/access_pass.html"),
    ),
    ("passkey.html", include_str!("../templates/passkey.html")),
    (
        "push_wait.html",
        include_str!("../templates/push_wait.html"),
    ),
    ("app_link.html", include_str!("../templates/app_link.html")),
    (
        "app_link_phone.html",
        include_str!("../templates/app_link_phone.html"),
    ),
    (
        "app_phone.html",
        include_str!("../templates/app_phone.html"),
    ),
];

impl Templates {
    pub fn new() -> Templates {
        let mut env = Environment::new();
        for (name, source) in PAGES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        env.add_function("t", translate);
        Templates { env }
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<String, Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// `{{ t("key", name=value) }}` in the language of the page being rendered.
fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or_default();
    let mut owned: Vec<(String, Value)> = Vec::new();
    for name in kwargs.args() {
        owned.push((name.to_string(), kwargs.get::<Value>(name)?));
    }
    let strings: Vec<String> = owned.iter().map(|(_, v)| v.to_string()).collect();
    let args: Vec<(&str, Arg<'_>)> = owned
        .iter()
        .zip(&strings)
        .map(|((name, value), text)| {
            let arg = match value.as_i64() {
                Some(n) if value.is_number() => Arg::Num(n),
                _ => Arg::Str(text),
            };
            (name.as_str(), arg)
        })
        .collect();
    let out = t(lang, key, &args);
    if out.starts_with("Unknown localization") {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            format!("no translation for {key}"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::PAGES;

    #[test]
    fn every_template_file_is_compiled_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                PAGES.iter().any(|(page, _)| *page == name),
                "templates/{name} is not in PAGES"
            );
        }
    }
}
