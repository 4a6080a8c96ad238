//! SIP over WebSocket (RFC 7118) on the upgraded connection itself: the opening handshake
//! (RFC 6455 section 4.2) and a frame reader that holds 14 bytes while a phone is idle.
//!
//! Why not axum's `WebSocket`: tungstenite keeps a read buffer (grown to ~2 KB by the first
//! messages) and a write buffer (~0.5 KB) for the connection's whole life, and the wrappers
//! around it hold another ~0.5 KB: 3 KB of the 7.5 KB an idle registered client cost
//! (heaptrack, docs/benchmarks.md). tungstenite still parses and formats every frame header
//! and derives the accept key here; this module only owns the buffers.
//!
//! [`FrameReader::poll_event`] keeps all of its progress in the reader, so a connection may
//! stop waiting for it (to write an answer) and come back without losing a byte.

use std::io::{self, Cursor};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::{HeaderMap, Method, header};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// The longest frame header: 2 bytes, an 8-byte length and a 4-byte mask.
const MAX_HEAD: usize = 14;

/// Close codes (RFC 6455 section 7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_PROTOCOL: u16 = 1002;
pub const CLOSE_INVALID_DATA: u16 = 1007;
pub const CLOSE_TOO_BIG: u16 = 1009;

/// Why an opening handshake is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a WebSocket upgrade (`GET` with `Upgrade: websocket` and `Connection: upgrade`).
    NotUpgrade,
    /// `Sec-WebSocket-Version` is not 13: answered 426 with the version we speak.
    Version,
    /// `Sec-WebSocket-Key` is missing or is not 16 bytes in base64.
    Key,
    /// The client did not offer the `sip` subprotocol (RFC 7118 section 4).
    NoSipProtocol,
}

/// Checks an opening handshake (RFC 6455 section 4.2.1) and returns the
/// `Sec-WebSocket-Accept` value for it.
pub fn accept(method: &Method, headers: &HeaderMap) -> Result<String, Refusal> {
    if method != Method::GET
        || !has_token(headers, header::UPGRADE, "websocket")
        || !has_token(headers, header::CONNECTION, "upgrade")
    {
        return Err(Refusal::NotUpgrade);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes().trim_ascii() != b"13")
    {
        return Err(Refusal::Version);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().trim_ascii())
        .ok_or(Refusal::Key)?;
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(Refusal::Key),
    }
    if !has_token(headers, header::SEC_WEBSOCKET_PROTOCOL, "sip") {
        return Err(Refusal::NoSipProtocol);
    }
    Ok(tungstenite::handshake::derive_accept_key(key))
}

/// Whether a comma-separated header (over all its lines) lists `token`, ignoring case.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// What the reader hands on.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole text or binary message, its fragments joined.
    Message(Vec<u8>),
    /// A ping: answer with a pong carrying the same bytes.
    Ping(Vec<u8>),
    /// The peer closes, with this status code if it gave one: answer with a close, then end.
    Close(Option<u16>),
}

/// Why reading ended with an error.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// The peer broke RFC 6455: close with `code`.
    Protocol {
        code: u16,
        reason: &'static str,
    },
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Protocol { code, reason } => write!(f, "{reason} (close {code})"),
        }
    }
}

fn protocol(code: u16, reason: &'static str) -> ReadError {
    ReadError::Protocol { code, reason }
}

/// The frame being read, once its header is complete.
struct Current {
    opcode: OpCode,
    fin: bool,
    mask: [u8; 4],
    payload: Vec<u8>,
    got: usize,
}

/// Reads a client's frames (masked, no extensions) into messages of at most `max` bytes.
pub struct FrameReader {
    /// Header bytes read so far; a read may also take the start of the payload, or of the
    /// next frame, which is kept here.
    head: [u8; MAX_HEAD],
    have: u8,
    current: Option<Current>,
    /// The earlier fragments of a message, and whether it is text.
    partial: Vec<u8>,
    partial_text: Option<bool>,
    max: usize,
}

/// A frame header's length in bytes, once its first two bytes are known.
fn head_len(head: &[u8]) -> Option<usize> {
    let second = *head.get(1)?;
    let ext = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    Some(2 + ext + if second & 0x80 != 0 { 4 } else { 0 })
}

impl FrameReader {
    pub fn new(max: usize) -> FrameReader {
        FrameReader {
            head: [0; MAX_HEAD],
            have: 0,
            current: None,
            partial: Vec::new(),
            partial_text: None,
            max,
        }
    }

    /// The next message or control frame; `Ok(None)` when the peer ends the stream between
    /// messages. Cancel-safe: progress is kept in `self`.
    pub fn poll_event<S: AsyncRead + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Event>, ReadError>> {
        loop {
            let Some(cur) = self.current.as_mut() else {
                let have = self.have as usize;
                if let Some(n) = head_len(&self.head[..have]).filter(|n| *n <= have) {
                    self.start_frame(n)?;
                    continue;
                }
                let mut buf = ReadBuf::new(&mut self.head[have..]);
                ready!(Pin::new(&mut *io).poll_read(cx, &mut buf))?;
                let n = buf.filled().len();
                if n == 0 {
                    if have == 0 && self.partial_text.is_none() {
                        return Poll::Ready(Ok(None));
                    }
                    return Poll::Ready(Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()));
                }
                self.have += n as u8;
                continue;
            };
            if cur.got < cur.payload.len() {
                let mut buf = ReadBuf::new(&mut cur.payload[cur.got..]);
                ready!(Pin::new(&mut *io).poll_read(cx, &mut buf))?;
                let n = buf.filled().len();
                if n == 0 {
                    return Poll::Ready(Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()));
                }
                cur.got += n;
                continue;
            }
            let Some(mut frame) = self.current.take() else {
                continue;
            };
            for (i, b) in frame.payload.iter_mut().enumerate() {
                *b ^= frame.mask[i & 3];
            }
            if let Some(event) = self.finish(frame)? {
                return Poll::Ready(Ok(Some(event)));
            }
        }
    }

    /// The header (`n` bytes of `head`) is complete: checks it and makes room for the
    /// payload, moving over what of it (and of the next frame) was read with the header.
    fn start_frame(&mut self, n: usize) -> Result<(), ReadError> {
        let (header, len) = match FrameHeader::parse(&mut Cursor::new(&self.head[..n])) {
            Ok(Some(h)) => h,
            Ok(None) => return Err(protocol(CLOSE_PROTOCOL, "incomplete frame header")),
            Err(_) => return Err(protocol(CLOSE_PROTOCOL, "reserved opcode")),
        };
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(protocol(CLOSE_PROTOCOL, "reserved bits set"));
        }
        let Some(mask) = header.mask else {
            return Err(protocol(CLOSE_PROTOCOL, "unmasked frame from a client"));
        };
        match header.opcode {
            OpCode::Control(_) if !header.is_final || len > 125 => {
                return Err(protocol(CLOSE_PROTOCOL, "fragmented or long control frame"));
            }
            OpCode::Data(Data::Continue) if self.partial_text.is_none() => {
                return Err(protocol(CLOSE_PROTOCOL, "continuation without a message"));
            }
            OpCode::Data(Data::Text | Data::Binary) if self.partial_text.is_some() => {
                return Err(protocol(
                    CLOSE_PROTOCOL,
                    "new message inside a fragmented one",
                ));
            }
            _ => {}
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if matches!(header.opcode, OpCode::Data(_))
            && len.saturating_add(self.partial.len()) > self.max
        {
            return Err(protocol(CLOSE_TOO_BIG, "message too big"));
        }
        let have = self.have as usize;
        let mut payload = vec![0; len];
        let early = (have - n).min(len);
        payload[..early].copy_from_slice(&self.head[n..n + early]);
        self.head.copy_within(n + early..have, 0);
        self.have = (have - n - early) as u8;
        self.current = Some(Current {
            opcode: header.opcode,
            fin: header.is_final,
            mask,
            payload,
            got: early,
        });
        Ok(())
    }

    /// A whole frame: an event, or nothing yet (a pong, a fragment).
    fn finish(&mut self, frame: Current) -> Result<Option<Event>, ReadError> {
        let text = match frame.opcode {
            OpCode::Control(Control::Ping) => return Ok(Some(Event::Ping(frame.payload))),
            OpCode::Control(Control::Pong) => return Ok(None),
            OpCode::Control(Control::Close) => {
                return match frame.payload.as_slice() {
                    [] => Ok(Some(Event::Close(None))),
                    [a, b, ..] => match u16::from_be_bytes([*a, *b]) {
                        // Codes a peer may send (RFC 6455 section 7.4): 1005, 1006 and 1015
                        // are never sent, and 1004 and 1016-2999 are not assigned.
                        code @ (1000..=1003 | 1007..=1014 | 3000..=4999) => {
                            Ok(Some(Event::Close(Some(code))))
                        }
                        _ => Err(protocol(CLOSE_PROTOCOL, "close code that may not be sent")),
                    },
                    [_] => Err(protocol(CLOSE_PROTOCOL, "one-byte close payload")),
                };
            }
            OpCode::Data(Data::Continue) => {
                self.partial.extend_from_slice(&frame.payload);
                if !frame.fin {
                    return Ok(None);
                }
                let text = self.partial_text.take() == Some(true);
                return whole(std::mem::take(&mut self.partial), text).map(Some);
            }
            OpCode::Data(Data::Text) => true,
            _ => false,
        };
        if !frame.fin {
            self.partial = frame.payload;
            self.partial_text = Some(text);
            return Ok(None);
        }
        whole(frame.payload, text).map(Some)
    }
}

fn whole(bytes: Vec<u8>, text: bool) -> Result<Event, ReadError> {
    if text && std::str::from_utf8(&bytes).is_err() {
        return Err(protocol(CLOSE_INVALID_DATA, "text message is not UTF-8"));
    }
    Ok(Event::Message(bytes))
}

/// Sends one unfragmented, unmasked frame (a server's frames are not masked).
pub async fn send<S: AsyncWrite + Unpin>(
    io: &mut S,
    opcode: OpCode,
    payload: &[u8],
) -> io::Result<()> {
    let header = FrameHeader {
        is_final: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: None,
    };
    let len = payload.len() as u64;
    let mut out = Vec::with_capacity(header.len(len) + payload.len());
    header.format(len, &mut out).map_err(io::Error::other)?;
    out.extend_from_slice(payload);
    io.write_all(&out).await?;
    io.flush().await
}

/// Sends a text message.
pub async fn send_text<S: AsyncWrite + Unpin>(io: &mut S, text: &str) -> io::Result<()> {
    send(io, OpCode::Data(Data::Text), text.as_bytes()).await
}

/// Sends a close frame with `code`.
pub async fn send_close<S: AsyncWrite + Unpin>(io: &mut S, code: Option<u16>) -> io::Result<()> {
    let payload = code.map(u16::to_be_bytes);
    send(
        io,
        OpCode::Control(Control::Close),
        payload.as_ref().map_or(&[][..], |p| p),
    )
    .await
}

/// Sends a pong answering a ping's `payload`.
pub async fn send_pong<S: AsyncWrite + Unpin>(io: &mut S, payload: &[u8]) -> io::Result<()> {
    send(io, OpCode::Control(Control::Pong), payload).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::future::poll_fn;

    /// A client's frame, masked.
    fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let header = FrameHeader {
            is_final: fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: OpCode::from(opcode),
            mask: Some([0x37, 0xfa, 0x21, 0x3d]),
        };
        let mut out = Vec::new();
        header.format(payload.len() as u64, &mut out).unwrap();
        let mask = header.mask.unwrap();
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        out
    }

    /// Gives its bytes `step` at a time, and says "not yet" between reads.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
        pending: bool,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.pending {
                self.pending = false;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.pending = true;
            let n = self
                .step
                .min(self.data.len() - self.pos)
                .min(buf.remaining());
            let start = self.pos;
            buf.put_slice(&self.data[start..start + n]);
            self.pos += n;
            Poll::Ready(Ok(()))
        }
    }

    /// Every event of `data` read `step` bytes at a time, and how reading ended.
    async fn read_all(data: Vec<u8>, step: usize, max: usize) -> (Vec<Event>, Option<ReadError>) {
        let mut io = Trickle {
            data,
            pos: 0,
            step,
            pending: false,
        };
        let mut reader = FrameReader::new(max);
        let mut events = Vec::new();
        loop {
            match poll_fn(|cx| reader.poll_event(&mut io, cx)).await {
                Ok(Some(e)) => events.push(e),
                Ok(None) => return (events, None),
                Err(e) => return (events, Some(e)),
            }
        }
    }

    fn code(e: Option<ReadError>) -> Option<u16> {
        match e {
            Some(ReadError::Protocol { code, .. }) => Some(code),
            _ => None,
        }
    }

    #[tokio::test]
    async fn messages_pings_and_fragments_arrive_whole_at_any_read_size() {
        let long = "REGISTER sip:example.com SIP/2.0\r\n".repeat(40); // 1,360 bytes: 16-bit length
        let mut data = frame(1, true, b"OPTIONS");
        data.extend(frame(9, true, b"hi"));
        data.extend(frame(10, true, b"")); // a pong is dropped
        data.extend(frame(1, false, b"INV"));
        data.extend(frame(9, true, b"")); // a ping between fragments
        data.extend(frame(0, false, b"IT"));
        data.extend(frame(0, true, b"E"));
        data.extend(frame(2, true, long.as_bytes()));
        data.extend(frame(8, true, &1001u16.to_be_bytes()));
        for step in [1, 2, 3, 5, 13, 14, 100, 4096] {
            let (events, end) = read_all(data.clone(), step, 65_536).await;
            assert!(end.is_none(), "step {step}: {end:?}");
            assert_eq!(
                events,
                vec![
                    Event::Message(b"OPTIONS".to_vec()),
                    Event::Ping(b"hi".to_vec()),
                    Event::Ping(Vec::new()),
                    Event::Message(b"INVITE".to_vec()),
                    Event::Message(long.as_bytes().to_vec()),
                    Event::Close(Some(1001)),
                ],
                "step {step}"
            );
        }
    }

    #[tokio::test]
    async fn broken_frames_close_with_the_right_code() {
        let mut unmasked = frame(1, true, b"x");
        unmasked[1] &= 0x7f;
        unmasked.drain(2..6);
        let mut rsv = frame(1, true, b"x");
        rsv[0] |= 0x40;
        let mut long_ping = frame(9, true, &[0; 126]);
        long_ping.truncate(10);
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            ("unmasked", unmasked, CLOSE_PROTOCOL),
            ("reserved bits", rsv, CLOSE_PROTOCOL),
            ("reserved opcode", frame(3, true, b"x"), CLOSE_PROTOCOL),
            ("fragmented ping", frame(9, false, b"x"), CLOSE_PROTOCOL),
            ("long ping", long_ping, CLOSE_PROTOCOL),
            ("lone continuation", frame(0, true, b"x"), CLOSE_PROTOCOL),
            (
                "text inside a fragmented message",
                [frame(1, false, b"a"), frame(1, true, b"b")].concat(),
                CLOSE_PROTOCOL,
            ),
            (
                "bad UTF-8",
                frame(1, true, &[0xff, 0xfe]),
                CLOSE_INVALID_DATA,
            ),
            ("one-byte close", frame(8, true, &[3]), CLOSE_PROTOCOL),
            (
                "close code 1005, which is never sent",
                frame(8, true, &1005u16.to_be_bytes()),
                CLOSE_PROTOCOL,
            ),
            (
                "close code 2000, not assigned",
                frame(8, true, &2000u16.to_be_bytes()),
                CLOSE_PROTOCOL,
            ),
            ("too big", frame(2, true, &[0; 101]), CLOSE_TOO_BIG),
            (
                "too big in fragments",
                [frame(2, false, &[0; 60]), frame(0, true, &[0; 60])].concat(),
                CLOSE_TOO_BIG,
            ),
        ];
        for (name, data, want) in cases {
            let (_, end) = read_all(data, 7, 100).await;
            assert_eq!(code(end), Some(want), "{name}");
        }
    }

    #[tokio::test]
    async fn a_stream_cut_inside_a_frame_is_an_error_and_between_frames_an_end() {
        let whole = frame(1, true, b"OPTIONS");
        let (events, end) = read_all(whole.clone(), 3, 100).await;
        assert_eq!(events.len(), 1);
        assert!(end.is_none());
        for cut in [1, 4, whole.len() - 1] {
            let (events, end) = read_all(whole[..cut].to_vec(), 3, 100).await;
            assert!(events.is_empty());
            assert!(
                matches!(end, Some(ReadError::Io(ref e)) if e.kind() == io::ErrorKind::UnexpectedEof),
                "cut {cut}"
            );
        }
        let (_, end) = read_all(frame(1, false, b"INV"), 3, 100).await;
        assert!(
            matches!(end, Some(ReadError::Io(_))),
            "a message cut between fragments"
        );
    }

    #[tokio::test]
    async fn frames_sent_are_unmasked_and_read_back() {
        let mut out = Vec::new();
        send_text(&mut out, "SIP/2.0 200 OK").await.unwrap();
        send_close(&mut out, Some(CLOSE_NORMAL)).await.unwrap();
        send_pong(&mut out, b"p").await.unwrap();
        assert_eq!(&out[..2], &[0x81, 14]);
        assert_eq!(&out[2..16], b"SIP/2.0 200 OK");
        assert_eq!(&out[16..], &[0x88, 2, 0x03, 0xe8, 0x8a, 1, b'p']);
    }

    fn handshake(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_opening_handshake_is_checked_and_answered() {
        let good = [
            ("upgrade", "WebSocket"),
            ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-protocol", "chat"),
            ("sec-websocket-protocol", "foo, sip"),
        ];
        // RFC 6455 section 1.3's example key and answer.
        assert_eq!(
            accept(&Method::GET, &handshake(&good)).as_deref(),
            Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        assert_eq!(
            accept(&Method::POST, &handshake(&good)),
            Err(Refusal::NotUpgrade)
        );
        let without = |name: &str| -> Vec<(&str, &str)> {
            good.iter().copied().filter(|(k, _)| *k != name).collect()
        };
        assert_eq!(
            accept(&Method::GET, &handshake(&without("upgrade"))),
            Err(Refusal::NotUpgrade)
        );
        assert_eq!(
            accept(&Method::GET, &handshake(&without("connection"))),
            Err(Refusal::NotUpgrade)
        );
        assert_eq!(
            accept(&Method::GET, &handshake(&without("sec-websocket-version"))),
            Err(Refusal::Version)
        );
        assert_eq!(
            accept(&Method::GET, &handshake(&without("sec-websocket-key"))),
            Err(Refusal::Key)
        );
        assert_eq!(
            accept(&Method::GET, &handshake(&without("sec-websocket-protocol"))),
            Err(Refusal::NoSipProtocol)
        );
        let mut v8 = without("sec-websocket-version");
        v8.push(("sec-websocket-version", "8"));
        assert_eq!(accept(&Method::GET, &handshake(&v8)), Err(Refusal::Version));
        let mut short_key = without("sec-websocket-key");
        short_key.push(("sec-websocket-key", "c2hvcnQ="));
        assert_eq!(
            accept(&Method::GET, &handshake(&short_key)),
            Err(Refusal::Key)
        );
        let mut sips = without("sec-websocket-protocol");
        sips.push(("sec-websocket-protocol", "sips, sipx"));
        assert_eq!(
            accept(&Method::GET, &handshake(&sips)),
            Err(Refusal::NoSipProtocol)
        );
    }
}
