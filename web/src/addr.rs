//! Addresses and the login form's checks: pure string work, tested natively.

/// The WebSocket URL the login form starts with: `ws://` or `wss://` (as the page is served
/// over http or https) + the page's host + `/sip`.
pub fn default_server(page_protocol: &str, page_host: &str) -> String {
    let scheme = if page_protocol == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{page_host}/sip")
}

/// Where the gateway's config lives for a WebSocket URL: same host, http(s), `/api/v1/config`.
pub fn config_url(server: &str) -> Option<String> {
    let (scheme, rest) = if let Some(rest) = server.strip_prefix("wss://") {
        ("https", rest)
    } else if let Some(rest) = server.strip_prefix("ws://") {
        ("http", rest)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{authority}/api/v1/config"))
}

/// The host name (no port, no brackets) of a WebSocket URL.
pub fn hostname(server: &str) -> Option<String> {
    let rest = server
        .strip_prefix("wss://")
        .or_else(|| server.strip_prefix("ws://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_string())
}

/// Checks the login form; the error is for a person.
pub fn validate_login(extension: &str, password: &str, server: &str) -> Result<(), String> {
    let extension = extension.trim();
    if extension.is_empty() {
        return Err("Enter your extension".into());
    }
    if extension
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '@' | ':' | '<' | '>' | ';'))
    {
        return Err("An extension is a number or name without spaces, like 101".into());
    }
    if password.is_empty() {
        return Err("Enter your password".into());
    }
    if hostname(server.trim()).is_none() {
        return Err("The server address must start with ws:// or wss://".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_server_follows_the_page() {
        assert_eq!(
            default_server("http:", "127.0.0.1:8080"),
            "ws://127.0.0.1:8080/sip"
        );
        assert_eq!(
            default_server("https:", "pbx.example.com"),
            "wss://pbx.example.com/sip"
        );
    }

    #[test]
    fn config_url_is_on_the_same_host() {
        assert_eq!(
            config_url("ws://127.0.0.1:8080/sip").as_deref(),
            Some("http://127.0.0.1:8080/api/v1/config")
        );
        assert_eq!(
            config_url("wss://pbx.example.com/sip").as_deref(),
            Some("https://pbx.example.com/api/v1/config")
        );
        assert_eq!(
            config_url("wss://pbx.example.com").as_deref(),
            Some("https://pbx.example.com/api/v1/config")
        );
        assert_eq!(config_url("http://x/sip"), None);
        assert_eq!(config_url("ws:///sip"), None);
    }

    #[test]
    fn hostname_strips_port_and_path() {
        assert_eq!(
            hostname("ws://127.0.0.1:8080/sip").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            hostname("wss://pbx.example.com/sip").as_deref(),
            Some("pbx.example.com")
        );
        assert_eq!(hostname("ws://[::1]:8080/sip").as_deref(), Some("::1"));
        assert_eq!(hostname("ws://"), None);
        assert_eq!(hostname("pbx.example.com"), None);
    }

    #[test]
    fn login_checks() {
        assert_eq!(validate_login("101", "pw", "ws://h/sip"), Ok(()));
        assert_eq!(
            validate_login(" ", "pw", "ws://h/sip"),
            Err("Enter your extension".into())
        );
        assert!(validate_login("1 01", "pw", "ws://h/sip").is_err());
        assert_eq!(
            validate_login("101", "", "ws://h/sip"),
            Err("Enter your password".into())
        );
        assert!(validate_login("101", "pw", "http://h/sip").is_err());
    }
}
