//! Any bytes as an SDP body: parsing never panics, and a parsed description serialises to
//! text that parses to the same description and serialises the same again.
#![no_main]

use centrala_sip::sdp::SessionDescription;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = SessionDescription::parse(data) {
        let _ = (sd.has_audio(), sd.has_video());
        for m in sd.media() {
            let _ = (m.direction(&sd), m.rtpmap("0"));
        }
        let bytes = sd.to_bytes();
        let again = SessionDescription::parse(&bytes).unwrap_or_else(|e| {
            panic!(
                "re-serialised SDP does not parse: {e}\n{}",
                String::from_utf8_lossy(&bytes)
            )
        });
        assert_eq!(sd, again, "round trip changed the description");
        assert_eq!(again.to_bytes(), bytes, "serialising is not stable");
    }
});
