//! Stream framing for SIP over TCP and TLS (RFC 3261 18.3): messages are delimited by the
//! empty line after the headers plus Content-Length bytes of body. CRLF keepalives between
//! messages (RFC 5626 4.4.1) are reported separately so the transport can answer them.

use crate::message::{MAX_MESSAGE_SIZE, Message, ParseError, header_end, parse};

/// What the framer found in the bytes so far.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // short-lived: handed on at once
pub enum Frame {
    /// A whole message.
    Message(Message),
    /// A double-CRLF keepalive ping; answer with a single CRLF.
    Ping,
    /// A lone CRLF (a pong, or padding); nothing to do.
    Pong,
}

/// Accumulates stream bytes and yields frames. Each byte is scanned for the end of the
/// headers once, and the body is waited for by length, so a sender trickling a message in
/// tiny pieces costs linear, not quadratic, work.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no end of headers.
    scanned: usize,
    /// The whole message's length, once its headers have ended.
    need: Option<usize>,
}

impl Framer {
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that do not yet make a message (for idle and slow-sender limits).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, `Ok(None)` when more bytes are needed. After `Err` the stream is out of
    /// sync and should be closed (a 400 may be sent first).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        if self.buf.starts_with(b"\r\n\r\n") {
            self.buf.drain(..4);
            return Ok(Some(Frame::Ping));
        }
        if self.buf.starts_with(b"\r\n") && self.buf.get(2).is_some_and(|b| *b != b'\r') {
            self.buf.drain(..2);
            return Ok(Some(Frame::Pong));
        }
        if self.buf == b"\r\n" || self.buf == b"\r\n\r" || self.buf == b"\r" {
            return Ok(None);
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        // Stray line ends before a message are skipped (a lone CRLF was a pong above).
        let stray = self
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        if stray == self.buf.len() {
            return Ok(None);
        }
        if stray > 0 {
            self.buf.drain(..stray);
        }
        let need = match self.need {
            Some(n) => n,
            None => {
                let from = self.scanned.saturating_sub(2);
                let Some((head_end, body_start)) = header_end(&self.buf[from..]) else {
                    self.scanned = self.buf.len();
                    return if self.buf.len() > MAX_MESSAGE_SIZE {
                        Err(ParseError::TooLarge)
                    } else {
                        Ok(None)
                    };
                };
                let body = content_length(&self.buf[..from + head_end])?;
                // A Content-Length near usize::MAX must not wrap the sum into a small
                // number (it would frame garbage): anything past the limit is refused.
                let n = (from + body_start)
                    .checked_add(body)
                    .ok_or(ParseError::TooLarge)?;
                self.need = Some(n);
                n
            }
        };
        if need > MAX_MESSAGE_SIZE {
            return Err(ParseError::TooLarge);
        }
        if self.buf.len() < need {
            return Ok(None);
        }
        self.need = None;
        self.scanned = 0;
        let (msg, used) = parse(&self.buf[..need])?;
        self.buf.drain(..used.max(need));
        Ok(Some(Frame::Message(msg)))
    }
}

/// The Content-Length of a header block (0 when absent: on a stream it is mandatory, and a
/// message without one has no body).
fn content_length(head: &[u8]) -> Result<usize, ParseError> {
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]);
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            let value = String::from_utf8_lossy(&line[colon + 1..]);
            return value.trim().parse::<usize>().map_err(|_| {
                ParseError::Invalid(format!("bad Content-Length {:?}", value.trim()))
            });
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 3\r\n\r\nabc";

    #[test]
    fn a_content_length_near_the_integer_limit_is_refused_not_wrapped() {
        // Found by the stream_framing fuzz target: 18446744073709551615 (u64::MAX) parsed
        // as a length, and the frame's end overflowed.
        let head = String::from_utf8_lossy(OPTIONS).replace(
            "Content-Length: 3",
            "Content-Length: 00018446744073709551615",
        );
        let mut f = Framer::new();
        f.push(head.as_bytes());
        assert!(matches!(f.next_frame(), Err(ParseError::TooLarge)));
    }

    #[test]
    fn messages_split_across_reads_and_joined_in_one_read() {
        let mut f = Framer::new();
        for b in OPTIONS.chunks(7) {
            assert!(matches!(f.next_frame(), Ok(None)));
            f.push(b);
        }
        assert!(matches!(f.next_frame(), Ok(Some(Frame::Message(_)))));
        f.push(b"\r\n\r\n");
        f.push(OPTIONS);
        f.push(OPTIONS);
        assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)));
        assert!(matches!(f.next_frame(), Ok(Some(Frame::Message(_)))));
        assert!(matches!(f.next_frame(), Ok(Some(Frame::Message(_)))));
        assert_eq!(f.next_frame(), Ok(None));
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn endless_headers_are_refused() {
        let mut f = Framer::new();
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\n");
        for _ in 0..5000 {
            f.push(b"X-Filler: 0123456789\r\n");
        }
        assert_eq!(f.next_frame(), Err(ParseError::TooLarge));
    }
}
