/// Percent-encodes everything but RFC 3986 unreserved characters (safe in any query value).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Adds parameters to a URL that may already have a query (a registered redirect URI may).
pub fn append_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut out = url.to_string();
    let mut separator = if url.contains('?') { '&' } else { '?' };
    if url.ends_with('?') || url.ends_with('&') {
        separator = '\0';
    }
    for (name, value) in params {
        if separator != '\0' {
            out.push(separator);
        }
        separator = '&';
        out.push_str(name);
        out.push('=');
        out.push_str(&percent_encode(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_an_existing_query() {
        assert_eq!(
            append_query("https://a/cb", &[("code", "x y"), ("state", "é")]),
            "https://a/cb?code=x%20y&state=%C3%A9"
        );
        assert_eq!(
            append_query("https://a/cb?tenant=1", &[("code", "c")]),
            "https://a/cb?tenant=1&code=c"
        );
    }
}
