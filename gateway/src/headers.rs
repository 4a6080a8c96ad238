//! Security headers on every HTTP response (web app, API, errors): a Content-Security-Policy
//! that lets the web app run and nothing else, `nosniff`, no referrer, no framing, and HSTS
//! when served over HTTPS.
//!
//! Trunk puts the start-up of the app in an inline `<script type="module">` in
//! `index.html`; rather than allow every inline script (`'unsafe-inline'`), the policy names
//! the SHA-256 of each inline script of the `index.html` being served, read at start.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::api::Origins;

/// The headers added to every response.
#[derive(Clone, Debug)]
pub struct SecurityHeaders(Arc<Vec<(HeaderName, HeaderValue)>>);

impl SecurityHeaders {
    /// Headers for a web app whose page is `index_html` (if there is one), reached from
    /// `origins`; `hsts` adds Strict-Transport-Security.
    pub fn new(index_html: Option<&str>, origins: &Origins, hsts: bool) -> SecurityHeaders {
        let csp = content_security_policy(index_html, origins);
        let mut h = vec![
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&csp).unwrap_or_else(|_| {
                    HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'")
                }),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ];
        if hsts {
            h.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            ));
        }
        SecurityHeaders(Arc::new(h))
    }

    /// The same, with HSTS (for responses served over HTTPS).
    pub fn with_hsts(&self) -> SecurityHeaders {
        let mut h = (*self.0).clone();
        if !h
            .iter()
            .any(|(k, _)| k == header::STRICT_TRANSPORT_SECURITY)
        {
            h.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            ));
        }
        SecurityHeaders(Arc::new(h))
    }

    /// The Content-Security-Policy.
    pub fn csp(&self) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == header::CONTENT_SECURITY_POLICY)
            .and_then(|(_, v)| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// Middleware: sets the headers on the response (replacing any a handler set).
pub async fn add(State(h): State<SecurityHeaders>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    for (k, v) in h.0.iter() {
        resp.headers_mut().insert(k.clone(), v.clone());
    }
    resp
}

/// The policy: the app's own scripts and WebAssembly, the inline scripts of `index_html` by
/// hash, styles from files only (the app sets no inline styles), and connections to this
/// server and the WebSocket origins of the allowed origins.
pub fn content_security_policy(index_html: Option<&str>, origins: &Origins) -> String {
    let mut script = String::from("'self' 'wasm-unsafe-eval'");
    for s in index_html.map(inline_scripts).unwrap_or_default() {
        script.push_str(&format!(
            " 'sha256-{}'",
            STANDARD.encode(Sha256::digest(s.as_bytes()))
        ));
    }
    let mut connect = String::from("'self'");
    for o in origins.iter() {
        let ws = if let Some(rest) = o.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = o.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            continue;
        };
        connect.push(' ');
        connect.push_str(&ws);
    }
    format!(
        "default-src 'self'; script-src {script}; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
}

/// The text of each inline `<script>` (one without `src`) in an HTML page, as the browser
/// hashes it: everything between the opening tag's `>` and `</script>`.
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<script").map(|i| at + i) {
        let Some(open_end) = lower[start..].find('>').map(|i| start + i + 1) else {
            break;
        };
        let Some(close) = lower[open_end..].find("</script").map(|i| open_end + i) else {
            break;
        };
        let tag = &lower[start..open_end];
        let has_src = tag
            .split(|c: char| c.is_ascii_whitespace())
            .any(|attr| attr.starts_with("src=") || attr == "src");
        if !has_src {
            out.push(&html[open_end..close]);
        }
        at = close;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found_and_external_ones_skipped() {
        let html = "<html><head><script type=\"module\">\nimport init from '/a.js';\nawait init();\n</script><script src=\"/x.js\"></script><SCRIPT>b()</SCRIPT></head></html>";
        assert_eq!(
            inline_scripts(html),
            vec!["\nimport init from '/a.js';\nawait init();\n", "b()"]
        );
    }

    #[test]
    fn policy_names_script_hashes_and_websocket_origins() {
        let origins = Origins::new(["https://phone.example.com", "http://127.0.0.1:8080"]);
        let csp = content_security_policy(Some("<script>x</script>"), &origins);
        // echo -n x | sha256sum | xxd -r -p | base64
        assert!(
            csp.contains("'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE='"),
            "{csp}"
        );
        assert!(csp.contains("wss://phone.example.com"), "{csp}");
        assert!(csp.contains("ws://127.0.0.1:8080"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}
