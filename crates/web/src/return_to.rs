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
