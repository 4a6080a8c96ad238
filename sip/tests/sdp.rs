//! SDP parsing and serialising on real bodies: the WebRTC offers in the JsSIP and SIP.js
//! captures and the SDP of RFC 4475's messages, plus malformed descriptions.

use std::path::PathBuf;

use centrala_sip::message::parse_datagram;
use centrala_sip::sdp::{Direction, SdpError, SessionDescription};

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Every SIP message in `folder` whose body starts like SDP, with its body.
fn sdp_bodies(folder: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(vectors().join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .collect();
    files.sort();
    for path in files {
        let Ok(m) = parse_datagram(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        let body = match &m {
            centrala_sip::Message::Request(r) => r.body.clone(),
            centrala_sip::Message::Response(r) => r.body.clone(),
        };
        if body.starts_with(b"v=0") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, body));
        }
    }
    out
}

#[test]
fn captured_webrtc_offers_round_trip_byte_for_byte() {
    let bodies = sdp_bodies("captures");
    assert!(
        bodies.len() >= 4,
        "SDP bodies in captures: {}",
        bodies.len()
    );
    for (name, body) in bodies {
        let sd = SessionDescription::parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&sd.to_bytes()),
            String::from_utf8_lossy(&body),
            "{name}"
        );
        assert_eq!(SessionDescription::parse(&sd.to_bytes()).unwrap(), sd);
    }
}

#[test]
fn a_jssip_offer_has_one_bundled_audio_stream() {
    let (_, body) = sdp_bodies("captures")
        .into_iter()
        .find(|(n, _)| n == "jssip-02-INVITE.sip")
        .unwrap();
    let sd = SessionDescription::parse(&body).unwrap();
    assert_eq!(sd.origin.username, "-");
    assert_eq!(sd.origin.session_id, "5426733770486287305");
    assert_eq!(sd.session_name, "-");
    assert_eq!((sd.timings[0].start, sd.timings[0].stop), (0, 0));
    assert_eq!(sd.attribute("group"), Some("BUNDLE 0"));
    assert_eq!(sd.attribute("extmap-allow-mixed"), Some(""));
    assert_eq!(
        sd.attribute("msid-semantic"),
        Some(" WMS 5bd7756f-482f-4dcf-adc0-7b40d8c6cb3d")
    );
    assert!(sd.has_audio());
    assert!(!sd.has_video());
    let [audio] = sd.media() else {
        panic!("one m= line")
    };
    assert_eq!(audio.kind, "audio");
    assert_eq!(audio.port, 58336);
    assert_eq!(audio.proto, "UDP/TLS/RTP/SAVPF");
    assert_eq!(
        audio.formats,
        ["111", "63", "9", "0", "8", "13", "110", "126"]
    );
    let c = &audio.connections[0];
    assert_eq!((c.net_type.as_str(), c.addr_type.as_str()), ("IN", "IP4"));
    assert_eq!(c.address, "127.0.0.1");
    assert_eq!(audio.attribute("mid"), Some("0"));
    assert_eq!(audio.attribute("setup"), Some("actpass"));
    assert_eq!(audio.attribute("rtcp-mux"), Some(""));
    assert!(
        audio
            .attribute("fingerprint")
            .unwrap()
            .starts_with("sha-256 FE:FD:")
    );
    assert_eq!(audio.attributes("candidate").count(), 2);
    assert_eq!(audio.rtpmap("111"), Some("opus/48000/2"));
    assert_eq!(audio.rtpmap("0"), Some("PCMU/8000"));
    assert_eq!(audio.rtpmap("42"), None);
    assert_eq!(audio.direction(&sd), Direction::SendRecv);
}

#[test]
fn rfc4475_bodies_have_audio_and_video() {
    let bodies = sdp_bodies("rfc4475");
    assert!(bodies.len() >= 8, "{}", bodies.len());
    for (name, body) in bodies {
        let sd = SessionDescription::parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sd.to_bytes(), body, "{name}");
        assert!(sd.has_audio(), "{name}");
        if name != "inv2543.sip" {
            assert!(sd.has_video(), "{name}");
            let video = &sd.media()[1];
            assert_eq!(
                (video.port, video.formats.as_slice()),
                (3227, &["31".to_string()][..])
            );
            assert_eq!(video.rtpmap("31"), Some("LPC"));
        }
        assert_eq!(sd.connection.as_ref().unwrap().addr_type, "IP4");
    }
}

/// A browser's audio and video offer with the video turned down (port 0), then on hold.
#[test]
fn a_disabled_video_stream_is_not_video() {
    let offer = "v=0\r\n\
        o=- 1 2 IN IP4 127.0.0.1\r\n\
        s=-\r\n\
        t=0 0\r\n\
        a=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
        c=IN IP4 0.0.0.0\r\n\
        a=mid:0\r\n\
        a=sendonly\r\n\
        a=rtpmap:111 opus/48000/2\r\n\
        m=video 0 UDP/TLS/RTP/SAVPF 96 97\r\n\
        c=IN IP4 0.0.0.0\r\n\
        b=AS:2000\r\n\
        a=mid:1\r\n\
        a=rtpmap:96 VP8/90000\r\n\
        a=rtpmap:97 rtx/90000\r\n\
        a=fmtp:97 apt=96\r\n";
    let sd: SessionDescription = offer.parse().unwrap();
    assert_eq!(sd.to_string(), offer);
    assert!(sd.has_audio());
    assert!(!sd.has_video());
    assert_eq!(sd.media()[1].bandwidths[0].value, 2000);
    assert_eq!(sd.media()[0].direction(&sd), Direction::SendOnly);
    let mut on = sd.clone();
    on.media[1].port = 9;
    assert!(on.has_video());
    // Built by hand, a value with a line break cannot inject a line.
    on.media[1].attributes[0].value = Some("1\r\na=injected".into());
    let text = on.to_string();
    assert!(text.contains("a=mid:1a=injected\r\n"), "{text}");
    assert_eq!(
        SessionDescription::parse(text.as_bytes())
            .unwrap()
            .media()
            .len(),
        2
    );
}

#[test]
fn lf_line_endings_and_session_level_lines_are_accepted() {
    let sd = SessionDescription::parse(
        b"v=0\no=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\ns=Call\n\
          i=A call\nu=http://example.com/\ne=alice@example.com\np=+1 617 555-6011\n\
          c=IN IP4 192.0.2.1/127\nb=CT:128\nt=2873397496 2873404696\nr=7d 1h 0 25h\n\
          z=2882844526 -1h\nk=prompt\na=recvonly\n\
          m=audio 49170/2 RTP/AVP 0\ni=voice\nk=prompt\nm=text 0 RTP/AVP 98\n",
    )
    .unwrap();
    assert_eq!(sd.information.as_deref(), Some("A call"));
    assert_eq!(sd.timings[0].repeats, ["7d 1h 0 25h"]);
    assert_eq!(sd.connection.as_ref().unwrap().address, "192.0.2.1/127");
    assert_eq!(sd.media()[0].port_count, Some(2));
    assert_eq!(sd.media()[0].title.as_deref(), Some("voice"));
    assert_eq!(sd.media()[0].direction(&sd), Direction::RecvOnly);
    assert!(sd.has_audio() && !sd.has_video());
    let again = SessionDescription::parse(&sd.to_bytes()).unwrap();
    assert_eq!(again, sd);
}

#[test]
fn malformed_descriptions_are_typed_errors() {
    use SdpError::*;
    let cases: &[(&[u8], SdpError)] = &[
        (b"", Empty),
        (b"\r\n", BadLine { line: 1 }),
        (b"o=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n", Missing('v')),
        (b"v=1\r\n", Version("1".into())),
        (b"v=0\r\ns=-\r\nt=0 0\r\n", Missing('o')),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\n", Missing('s')),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", Missing('t')),
        (
            b"v=0\r\no=- x 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n",
            BadField {
                line: 2,
                what: "o= line",
            },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n",
            BadField {
                line: 5,
                what: "m= line",
            },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP\r\n",
            BadField {
                line: 5,
                what: "m= line",
            },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nc=IN IP4\r\n",
            BadField {
                line: 5,
                what: "c= line",
            },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=now 0\r\n",
            BadField {
                line: 4,
                what: "t= line",
            },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nt=0 0\r\n",
            Misplaced { line: 6, kind: 't' },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nx=what\r\n",
            UnknownType { line: 5, kind: 'x' },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\na=\r\n",
            BadField {
                line: 5,
                what: "a= line",
            },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nsome text\r\n",
            BadLine { line: 5 },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 h\r\n\r\ns=-\r\nt=0 0\r\n",
            BadLine { line: 3 },
        ),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=\xff\r\n", NotUtf8),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            SessionDescription::parse(bytes).as_ref().err(),
            Some(want),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Every prefix and every single-byte change of a real offer: an error or a description
/// that survives a round trip, never a panic.
#[test]
fn truncated_and_mutated_offers_never_panic() {
    let (_, body) = sdp_bodies("captures").remove(0);
    let check = |bytes: &[u8]| {
        if let Ok(sd) = SessionDescription::parse(bytes) {
            assert_eq!(SessionDescription::parse(&sd.to_bytes()).unwrap(), sd);
        }
    };
    for n in 0..body.len() {
        check(&body[..n]);
    }
    for i in (0..body.len()).step_by(3) {
        for b in [b'\n', b'\r', b' ', b'=', b'0', b':', b'/', 0, 0xff] {
            let mut m = body.clone();
            m[i] = b;
            check(&m);
        }
    }
}
