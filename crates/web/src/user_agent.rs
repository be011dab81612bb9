//! A short, recognisable name for a browser from its User-Agent ("Chrome on Android"), for
//! people checking their own recent sign-ins and remembered devices. Rough on purpose: it
//! only has to be recognisable, and is never used for a decision.

pub fn describe(ua: &str) -> String {
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        // Any other client: its product token, when it is one word ("curl", "okhttp"). The
        // header is the client's own words, shown to the user on security pages and when a
        // phone asks to link: never a sentence it chose ("Your iPhone (recognised)").
        let token = ua.split('/').next().unwrap_or("");
        let word = token.len() <= 20
            && token.starts_with(|c: char| c.is_ascii_alphabetic())
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        return if word {
            token.to_string()
        } else {
            "?".to_string()
        };
    };
    let system = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") {
        "iPhone"
    } else if ua.contains("iPad") {
        "iPad"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") {
        "macOS"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        return browser.to_string();
    };
    format!("{browser} · {system}")
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn other_clients_get_one_word_never_a_sentence() {
        assert_eq!(describe("curl/8.5.0"), "curl");
        assert_eq!(describe("Jouw iPhone (herkend)"), "?");
        assert_eq!(describe("Your phone — verified by IT/1.0"), "?");
        assert_eq!(describe(""), "?");
    }

    #[test]
    fn common_browsers_are_named() {
        assert_eq!(
            describe(
                "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
            ),
            "Chrome · Android"
        );
        assert_eq!(
            describe(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
            ),
            "Safari · iPhone"
        );
        assert_eq!(
            describe(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
            ),
            "Firefox · Windows"
        );
        assert_eq!(describe("curl/8.5.0"), "curl");
    }
}
