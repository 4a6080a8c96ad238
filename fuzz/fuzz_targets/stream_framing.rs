//! Arbitrary bytes fed to the TCP/TLS framer in arbitrary chunks: it never panics, never
//! yields a message that does not re-parse, and never holds more than the size limit
//! without refusing the stream.
#![no_main]

use centrala_sip::framing::{Frame, Framer};
use centrala_sip::message::{MAX_MESSAGE_SIZE, parse_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk sizes, so the same bytes arrive in different reads.
    let Some((&seed, bytes)) = data.split_first() else {
        return;
    };
    let mut framer = Framer::new();
    let mut size = usize::from(seed % 64) + 1;
    let mut rest = bytes;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        size = (size * 7 + 3) % 97 + 1;
        framer.push(piece);
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(m))) => {
                    let bytes = m.to_bytes();
                    if let Err(e) = parse_datagram(&bytes) {
                        panic!(
                            "framed message does not re-parse: {e}\n{}",
                            String::from_utf8_lossy(&bytes)
                        );
                    }
                }
                Ok(Some(Frame::Ping | Frame::Pong)) => {}
                Ok(None) => break,
                Err(_) => return, // the stream is out of sync: the transport closes it
            }
        }
        assert!(framer.pending() <= MAX_MESSAGE_SIZE + 128);
    }
});
