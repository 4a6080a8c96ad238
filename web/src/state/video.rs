//! Video in a call and Meet & Share (issue 12): the pure parts — which m-line carries what,
//! what the far end sends according to its SDP, and the problems shown to the user.
//!
//! **Which video is the camera and which the screen.** Both sides follow one fixed order of
//! the video m-lines: the *first* video m-line of the session carries the cameras (both
//! ways), the *second* carries shared screens (both ways). A side that shares its screen in
//! a call with no video yet first adds a camera transceiver that only receives
//! (`recvonly`), so that the screen always lands on the second video m-line. Transceivers
//! are never stopped (a stopped one frees its m-line for reuse, which would shift the
//! order); turning the camera or the sharing off only takes the track off its sender and
//! sets the direction back to `recvonly`. So the far end tells a screen from a camera by
//! the position of the m-line alone ([`video_mids`]), in any browser, with no extra
//! signalling: mids and msids are kept as the browser makes them.

use crate::i18n::Strings;
use crate::model::MediaError;

/// What a call sends and receives in video, as the phone service reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VideoState {
    /// We send our camera.
    pub camera: bool,
    /// We share our screen.
    pub sharing: bool,
    /// The far end sends its camera (its SDP says so).
    pub remote_camera: bool,
    /// The far end shares its screen.
    pub remote_screen: bool,
    /// A change is being made (the camera or screen being opened, or the new offer not yet
    /// answered): the video buttons wait.
    pub busy: bool,
}

/// Frames and bytes for the call panel's stats (`#call-stats` data attributes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VideoStats {
    /// Frames decoded from the far end's camera.
    pub camera_in: u64,
    /// Frames decoded from the far end's shared screen.
    pub screen_in: u64,
    /// Video frames we encoded (camera and screen).
    pub video_out: u64,
    /// Audio bytes received.
    pub audio_rx: u64,
}

/// Why turning on the camera or sharing the screen did not work, or why the other side did
/// not take the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoProblem {
    /// `getUserMedia` for the camera failed.
    Camera(MediaError),
    /// The user or the browser refused sharing (`NotAllowedError`).
    ShareDenied,
    /// Nothing can be shared here (`NotFoundError`; headless Firefox says so).
    ShareUnavailable,
    /// The browser has no screen sharing (no `getDisplayMedia`, as on phones).
    ShareUnsupported,
    /// Another `getDisplayMedia` failure, with the browser's words.
    ShareOther(String),
    /// The other side did not accept the new offer; the call goes on as it was.
    Refused,
    /// The new offer could not be made (the browser's words, if any).
    Offer(MediaError),
}

impl VideoProblem {
    /// The problem in words, in the language of `t`.
    pub fn words(&self, t: &Strings) -> String {
        match self {
            VideoProblem::Camera(MediaError::Denied { .. }) => t.camera_denied.into(),
            VideoProblem::Camera(MediaError::NotFound { .. }) => t.camera_not_found.into(),
            VideoProblem::Camera(MediaError::InUse { .. }) => t.camera_in_use.into(),
            VideoProblem::Camera(MediaError::Other { detail, .. }) => (t.camera_problem)(detail),
            VideoProblem::Camera(e) => (t.camera_problem)(&t.media_error(e)),
            VideoProblem::ShareDenied => t.share_denied.into(),
            VideoProblem::ShareUnavailable => t.share_unavailable.into(),
            VideoProblem::ShareUnsupported => t.share_unsupported.into(),
            VideoProblem::ShareOther(why) => (t.share_other)(why),
            VideoProblem::Refused => t.video_refused.into(),
            VideoProblem::Offer(e) => t.media_error(e),
        }
    }
}

/// A `getDisplayMedia` failure by the `DOMException`'s name; `detail` gives the browser's
/// words for an unexpected one.
pub fn share_problem(name: &str, detail: impl FnOnce() -> String) -> VideoProblem {
    match name {
        "NotAllowedError" | "SecurityError" | "AbortError" => VideoProblem::ShareDenied,
        "NotFoundError" | "NotReadableError" => VideoProblem::ShareUnavailable,
        "NotSupportedError" | "TypeError" => VideoProblem::ShareUnsupported,
        _ => VideoProblem::ShareOther(detail()),
    }
}

/// One m-line of an SDP: its kind, mid and whether its sender sends.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MLine {
    kind: String,
    mid: Option<String>,
    /// Port not 0 and direction `sendrecv` or `sendonly` (the default is `sendrecv`).
    sends: bool,
}

fn mlines(sdp: &str) -> Vec<MLine> {
    let mut out: Vec<MLine> = Vec::new();
    let mut session_dir: Option<&str> = None;
    let mut dir: Option<&str> = None;
    let mut port_zero = false;
    let finish = |out: &mut Vec<MLine>, dir: Option<&str>, session_dir, port_zero: bool| {
        if let Some(m) = out.last_mut() {
            let d = dir.or(session_dir).unwrap_or("sendrecv");
            m.sends = !port_zero && matches!(d, "sendrecv" | "sendonly");
        }
    };
    for line in sdp.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("m=") {
            if !out.is_empty() {
                finish(&mut out, dir, session_dir, port_zero);
            }
            let mut parts = rest.split_whitespace();
            let kind = parts.next().unwrap_or_default().to_string();
            port_zero = parts.next() == Some("0");
            dir = None;
            out.push(MLine {
                kind,
                mid: None,
                sends: false,
            });
        } else if let Some(a) = line.strip_prefix("a=") {
            let d = match a {
                "sendrecv" | "sendonly" | "recvonly" | "inactive" => Some(a),
                _ => None,
            };
            match (out.last_mut(), d) {
                (None, Some(d)) => session_dir = Some(d),
                (Some(_), Some(d)) => dir = Some(d),
                (Some(m), None) => {
                    if let Some(mid) = a.strip_prefix("mid:") {
                        m.mid = Some(mid.to_string());
                    }
                }
                (None, None) => {}
            }
        }
    }
    if !out.is_empty() {
        finish(&mut out, dir, session_dir, port_zero);
    }
    out
}

/// The mids of the video m-lines of `sdp`, in m-line order: the first is the camera's, the
/// second the screen's (see the module's comment). An m-line without a mid counts as "".
pub fn video_mids(sdp: &str) -> Vec<String> {
    mlines(sdp)
        .into_iter()
        .filter(|m| m.kind == "video")
        .map(|m| m.mid.unwrap_or_default())
        .collect()
}

/// What the side that wrote `sdp` sends in video: (camera, screen).
pub fn sends_video(sdp: &str) -> (bool, bool) {
    let mut video = mlines(sdp).into_iter().filter(|m| m.kind == "video");
    let camera = video.next().is_some_and(|m| m.sends);
    let screen = video.next().is_some_and(|m| m.sends);
    (camera, screen)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIO: &str = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n";

    fn with_video(cam: &str, screen: Option<&str>) -> String {
        let mut s = format!("{AUDIO}m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na={cam}\r\n");
        if let Some(d) = screen {
            s += &format!("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na={d}\r\n");
        }
        s
    }

    #[test]
    fn an_audio_call_sends_no_video() {
        assert_eq!(sends_video(AUDIO), (false, false));
        assert!(video_mids(AUDIO).is_empty());
    }

    #[test]
    fn the_first_video_mline_is_the_camera_the_second_the_screen() {
        assert_eq!(sends_video(&with_video("sendrecv", None)), (true, false));
        assert_eq!(sends_video(&with_video("sendonly", None)), (true, false));
        // The answer of a side whose camera is off: it only receives.
        assert_eq!(sends_video(&with_video("recvonly", None)), (false, false));
        // Sharing with the camera off: the camera m-line is there, receiving only.
        let sdp = with_video("recvonly", Some("sendrecv"));
        assert_eq!(sends_video(&sdp), (false, true));
        assert_eq!(video_mids(&sdp), ["1", "2"]);
        assert_eq!(
            sends_video(&with_video("inactive", Some("inactive"))),
            (false, false),
            "held"
        );
    }

    #[test]
    fn a_rejected_mline_and_the_session_direction_count() {
        let rejected = format!("{AUDIO}m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n");
        assert_eq!(sends_video(&rejected), (false, false));
        // No direction on the m-line: the session's, else sendrecv.
        let plain = format!("{AUDIO}m=video 9 RTP/AVP 96\r\n");
        assert_eq!(sends_video(&plain), (true, false));
        assert_eq!(video_mids(&plain), [""]);
        let session = "v=0\r\ns=-\r\nt=0 0\r\na=recvonly\r\nm=video 9 RTP/AVP 96\r\n";
        assert_eq!(sends_video(session), (false, false));
        // Firefox-style mids and LF line ends.
        let ff = "v=0\nm=audio 9 X 0\na=mid:{a}\nm=video 9 X 96\na=sendonly\na=mid:{b}\n";
        assert_eq!(video_mids(ff), ["{b}"]);
        assert_eq!(sends_video(ff), (true, false));
    }

    #[test]
    fn get_display_media_failures_become_problems() {
        let none = || unreachable!("only for unexpected names");
        assert_eq!(
            share_problem("NotAllowedError", none),
            VideoProblem::ShareDenied
        );
        assert_eq!(
            share_problem("NotFoundError", none),
            VideoProblem::ShareUnavailable
        );
        assert_eq!(
            share_problem("TypeError", none),
            VideoProblem::ShareUnsupported
        );
        assert_eq!(
            share_problem("InvalidStateError", || "not now".into()),
            VideoProblem::ShareOther("not now".into())
        );
    }

    #[test]
    fn problems_have_words_in_each_language() {
        use crate::i18n::{EN, PL};
        let unavailable = share_problem("NotFoundError", String::new);
        assert_eq!(
            unavailable.words(&EN),
            "There is nothing this browser can share here (no screen to capture)"
        );
        assert_eq!(
            unavailable.words(&PL),
            "Ta przeglądarka nie ma tu czego udostępnić (brak ekranu do przechwycenia)"
        );
        let denied = VideoProblem::Camera(MediaError::Denied { video: true });
        assert_eq!(denied.words(&EN), "Access to the camera was denied");
        assert_eq!(denied.words(&PL), "Odmówiono dostępu do kamery");
        let busy = VideoProblem::Camera(MediaError::InUse { video: true });
        assert_eq!(busy.words(&PL), "Kamera jest używana przez inny program");
        let odd = VideoProblem::Camera(MediaError::Other {
            video: true,
            detail: "bad constraint".into(),
        });
        assert_eq!(
            odd.words(&EN),
            "Could not turn the camera on: bad constraint"
        );
        assert!(
            VideoProblem::Camera(MediaError::Insecure)
                .words(&PL)
                .starts_with("Nie można włączyć kamery: ")
        );
        assert_eq!(
            VideoProblem::ShareOther("x".into()).words(&PL),
            "Nie można udostępnić ekranu (x)"
        );
        assert!(VideoProblem::Refused.words(&EN).contains("did not accept"));
    }
}
