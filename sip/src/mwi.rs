//! Message waiting (RFC 3842): the `application/simple-message-summary` body of
//! `Event: message-summary` NOTIFYs, built by the gateway for desk phones and SIP clients
//! and parsed by whoever reads them (tests, the web app).

use std::fmt::Write as _;

/// The event package.
pub const EVENT: &str = "message-summary";
/// The body's media type.
pub const CONTENT_TYPE: &str = "application/simple-message-summary";

/// A voice mailbox's counts: new (not heard) and old messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mailbox {
    pub new: u32,
    pub old: u32,
}

/// The NOTIFY body for `account` (the mailbox's SIP URI): whether messages wait and the
/// `Voice-Message` counts (urgent counts are always 0: we have no urgent messages).
pub fn message_summary(account: &str, mailbox: Mailbox) -> String {
    let mut s = String::with_capacity(96);
    let waiting = if mailbox.new > 0 { "yes" } else { "no" };
    let _ = write!(
        s,
        "Messages-Waiting: {waiting}\r\nMessage-Account: {account}\r\nVoice-Message: {}/{} (0/0)\r\n",
        mailbox.new, mailbox.old
    );
    s
}

/// Reads a message-summary body: whether messages wait, and the voice counts when given.
/// `None` when `Messages-Waiting` is missing or not yes/no (the only mandatory line).
pub fn parse_message_summary(body: &str) -> Option<(bool, Option<Mailbox>)> {
    let mut waiting = None;
    let mut voice = None;
    for line in body.lines().take(64) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.trim().eq_ignore_ascii_case("Messages-Waiting") {
            waiting = match value.to_ascii_lowercase().as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => return None,
            };
        } else if name.trim().eq_ignore_ascii_case("Voice-Message") {
            let counts = value.split_whitespace().next().unwrap_or("");
            voice = counts.split_once('/').and_then(|(n, o)| {
                Some(Mailbox {
                    new: n.trim().parse().ok()?,
                    old: o.trim().parse().ok()?,
                })
            });
        }
    }
    waiting.map(|w| (w, voice))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_the_rfc_3842_body() {
        let body = message_summary("sip:103@c.example", Mailbox { new: 2, old: 5 });
        assert_eq!(
            body,
            "Messages-Waiting: yes\r\nMessage-Account: sip:103@c.example\r\nVoice-Message: 2/5 (0/0)\r\n"
        );
        assert_eq!(
            parse_message_summary(&body),
            Some((true, Some(Mailbox { new: 2, old: 5 })))
        );
        let none = message_summary("sip:103@c.example", Mailbox { new: 0, old: 1 });
        assert!(none.starts_with("Messages-Waiting: no\r\n"));
    }

    #[test]
    fn reads_other_servers_bodies_and_refuses_nonsense() {
        // RFC 3842's example, with fax and urgent counts.
        let rfc = "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 2/8 (0/2)\r\nFax-Message: 0/1\r\n";
        assert_eq!(
            parse_message_summary(rfc),
            Some((true, Some(Mailbox { new: 2, old: 8 })))
        );
        assert_eq!(
            parse_message_summary("messages-waiting: NO\n"),
            Some((false, None))
        );
        assert_eq!(parse_message_summary("Voice-Message: 1/0\r\n"), None);
        assert_eq!(parse_message_summary("Messages-Waiting: maybe\r\n"), None);
        assert_eq!(
            parse_message_summary("Messages-Waiting: yes\r\nVoice-Message: x/y\r\n"),
            Some((true, None))
        );
        assert_eq!(parse_message_summary(""), None);
    }
}
