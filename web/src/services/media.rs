//! WebRTC for one call: the microphone (and camera), one `RTCPeerConnection` without ICE
//! servers, and non-trickle SDP: every offer or answer is taken from `localDescription` once
//! its candidates are in (see [`CallMedia::gathered_sdp`]).
//!
//! Hold (RFC 6337): every transceiver that sends turns `sendonly` and sends nothing (the
//! microphone is taken off its sender, so the held party does not hear us talk to someone
//! else); resuming puts the tracks back and `sendrecv`. The user agent asks for the offer.

use std::cell::{Cell, RefCell};

use futures::future::{Either, select};
use gloo_events::EventListener;
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamConstraints, MediaStreamTrack, RtcConfiguration, RtcIceGatheringState,
    RtcPeerConnection, RtcRtpSender, RtcRtpTransceiver, RtcRtpTransceiverDirection, RtcSdpType,
    RtcSessionDescriptionInit, RtcSignalingState, RtcTrackEvent,
};

use super::browser::media_element;
use super::devices;
use crate::model::MediaError;
use crate::state::media_devices::DeviceKind;
use crate::state::video::{
    VideoProblem, VideoState, VideoStats, sends_video, share_problem, video_mids,
};

/// The longest we wait for ICE gathering before sending what we have.
pub const GATHER_CAP_MS: u32 = 3_000;
/// Candidates have stopped coming when none came for this long.
pub const QUIET_MS: u32 = 20;
/// With a relay configured, how long we wait for its candidate (an allocation is a round
/// trip or two to the gateway) before sending without it.
pub const RELAY_WAIT_MS: u32 = 1_000;

pub const REMOTE_VIDEO_ID: &str = "remote-video";
pub const LOCAL_VIDEO_ID: &str = "local-video";
/// The far end's shared screen (see [`crate::state::video`] for how it is told apart).
pub const REMOTE_SCREEN_ID: &str = "remote-screen";
/// Our own shared screen, small.
pub const LOCAL_SCREEN_ID: &str = "local-screen";

/// The media of one call. [`CallMedia::close`] (or drop) stops the tracks and the connection.
pub struct CallMedia {
    pc: RtcPeerConnection,
    /// A relay (TURN) is configured: its candidate comes a round trip after the host ones.
    relay: bool,
    local: MediaStream,
    remote: MediaStream,
    /// The camera alone, for `#local-video` (empty while the camera is off).
    preview: MediaStream,
    /// Our senders and the track each sends (taken off while held).
    senders: RefCell<Vec<(RtcRtpSender, MediaStreamTrack)>>,
    closed: Cell<bool>,
    _on_track: EventListener,
    /// Chosen devices that were gone when the call opened its media (the default was used).
    gone: Vec<DeviceKind>,
    // Video and Meet & Share (issue 12)
    /// What arrives on the screen m-line, for `#remote-screen`.
    remote_screen: MediaStream,
    /// The screen we share (for `#local-screen`) and the listener of its `ended` event.
    screen: RefCell<Option<(MediaStream, EventListener)>>,
    /// The call is held by us (set by [`CallMedia::apply_hold`]).
    held: Cell<bool>,
    /// Where a camera or sharing change stands in the offer/answer.
    pub negotiation: Negotiation,
}

/// Where a camera or sharing change of a call stands. The phone service drives it: the
/// user agent takes a new offer only while no other offer is under way, so a change waits
/// ([`Negotiation::wanted`]) until it can go out.
#[derive(Default)]
pub struct Negotiation {
    /// A change was made and wants a new offer.
    pub wanted: Cell<bool>,
    /// This side is making an offer (ours, or the user agent's hold offer).
    pub offering: Cell<bool>,
    /// Our offer went out; its answer has not come yet.
    pub sent: Cell<bool>,
    /// How many hold offers were made (to tell when one overlapped ours).
    pub hold_offers: Cell<u32>,
    /// The camera or the screen is being opened.
    pub opening: Cell<bool>,
    /// A retry is scheduled.
    pub retry: Cell<bool>,
}

impl Negotiation {
    /// A change is under way (the video buttons wait).
    pub fn busy(&self) -> bool {
        self.wanted.get() || self.sent.get() || self.opening.get()
    }
}

/// The gateway's media relay (TURN) for this browser, from `GET /api/v1/ice`: the
/// `iceServers` array, whether the company relays every call, and when it was fetched.
struct Ice {
    servers: JsValue,
    relay_only: bool,
    fetched_ms: u64,
}

thread_local! {
    static ICE: RefCell<Option<Ice>> = const { RefCell::new(None) };
}

/// Credentials last 12 hours; fetched again after 5 minutes (a changed company setting
/// reaches new calls within that time).
const ICE_REFRESH_MS: u64 = 300_000;

/// The relay settings, fetched when missing or 5 minutes old. Without them (no relay on the
/// gateway, or the request failed) calls go peer to peer only, as before.
async fn ice() -> (JsValue, bool) {
    let now = super::browser::now_ms();
    let fresh = ICE.with(|i| {
        i.borrow()
            .as_ref()
            .filter(|i| now.saturating_sub(i.fetched_ms) < ICE_REFRESH_MS)
            .map(|i| (i.servers.clone(), i.relay_only))
    });
    if let Some(f) = fresh {
        return f;
    }
    let r = super::api::get("/api/v1/ice").await;
    if !r.ok() {
        return (Array::new().into(), false);
    }
    let servers = Reflect::get(&r.body, &"ice_servers".into())
        .ok()
        .filter(Array::is_array)
        .unwrap_or_else(|| Array::new().into());
    let relay_only = Reflect::get(&r.body, &"relay_only".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    ICE.with(|i| {
        *i.borrow_mut() = Some(Ice {
            servers: servers.clone(),
            relay_only,
            fetched_ms: now,
        })
    });
    (servers, relay_only)
}

/// Forgets the relay settings (logged out: the credentials were the person's).
pub fn forget_ice() {
    ICE.with(|i| *i.borrow_mut() = None);
}

impl CallMedia {
    /// Asks for the microphone (and the camera when `video`) and creates the connection.
    /// Shows the camera in `#local-video` and plays what arrives in `#remote-video`.
    pub async fn open(video: bool) -> Result<CallMedia, MediaError> {
        let (local, gone) = user_media(video).await?;
        let config = RtcConfiguration::new();
        // The gateway's relay: a fallback when the browsers cannot reach each other, or the
        // only way when the company says so.
        let (servers, relay_only) = ice().await;
        let relay = Array::from(&servers).length() > 0;
        config.set_ice_servers(&servers);
        if relay_only {
            config.set_ice_transport_policy(web_sys::RtcIceTransportPolicy::Relay);
        }
        let pc = match RtcPeerConnection::new_with_configuration(&config) {
            Ok(pc) => pc,
            Err(e) => {
                stop_tracks(&local);
                return Err(MediaError::Unsupported(js_error(&e)));
            }
        };
        let remote = MediaStream::new().map_err(|e| MediaError::Unsupported(js_error(&e)))?;
        let on_track = {
            // `Clone::clone`: the same stream (`MediaStream::clone` is the JS method, which
            // makes a new stream with copies of the tracks).
            let remote = Clone::clone(&remote);
            EventListener::new(&pc, "track", move |e| {
                let Some(e) = e.dyn_ref::<RtcTrackEvent>() else {
                    return;
                };
                if e.track().kind() == "video" {
                    return; // placed by `sync_remote`, camera or screen by its m-line
                }
                remote.add_track(&e.track());
                show(REMOTE_VIDEO_ID, &remote);
            })
        };
        // The preview shows only the camera: our own voice must not play back.
        let preview = MediaStream::new_with_tracks(&local.get_video_tracks())
            .map_err(|e| MediaError::Unsupported(js_error(&e)))?;
        let remote_screen =
            MediaStream::new().map_err(|e| MediaError::Unsupported(js_error(&e)))?;
        show(LOCAL_VIDEO_ID, &preview);
        show(REMOTE_VIDEO_ID, &remote);
        Ok(CallMedia {
            pc,
            relay,
            local,
            remote,
            preview,
            senders: RefCell::new(Vec::new()),
            closed: Cell::new(false),
            _on_track: on_track,
            gone,
            remote_screen,
            screen: RefCell::new(None),
            held: Cell::new(false),
            negotiation: Negotiation::default(),
        })
    }

    /// Whether we send video.
    pub fn has_video(&self) -> bool {
        self.local.get_video_tracks().length() > 0
    }

    fn add_local_tracks(&self) {
        for track in self.local.get_tracks().iter() {
            let track: MediaStreamTrack = track.unchecked_into();
            let sender = self.pc.add_track_0(&track, &self.local);
            self.senders.borrow_mut().push((sender, track));
        }
    }

    /// Holds or resumes this side's media without renegotiating: the transceivers' direction
    /// (sendrecv ↔ sendonly, recvonly ↔ inactive) and what the senders send.
    pub async fn apply_hold(&self, hold: bool) {
        use RtcRtpTransceiverDirection as D;
        self.held.set(hold);
        for t in self.pc.get_transceivers().iter() {
            let t: RtcRtpTransceiver = t.unchecked_into();
            let next = match (t.direction(), hold) {
                (D::Sendrecv, true) => D::Sendonly,
                (D::Recvonly, true) => D::Inactive,
                (D::Sendonly, false) => D::Sendrecv,
                (D::Inactive, false) => D::Recvonly,
                (d, _) => d,
            };
            set_direction(&t, next);
        }
        let senders = self.senders.borrow().clone();
        for (sender, track) in senders {
            let track = (!hold).then_some(&track);
            let _ = JsFuture::from(sender.replace_track(track)).await;
        }
    }

    /// A new offer to hold (`sendonly`, nothing sent) or resume (`sendrecv`) the call.
    pub async fn hold_offer(&self, hold: bool) -> Result<String, MediaError> {
        self.apply_hold(hold).await;
        let offer = JsFuture::from(self.pc.create_offer())
            .await
            .map_err(|e| sdp_error(&e))?;
        self.set_local(&offer).await?;
        self.gathered_sdp().await
    }

    /// Takes back an offer not taken (ours by the far end, or the far end's by us): RFC 8829
    /// rollback.
    pub async fn rollback(&self) {
        let desc = RtcSessionDescriptionInit::new(RtcSdpType::Rollback);
        let promise = match self.pc.signaling_state() {
            RtcSignalingState::HaveLocalOffer => self.pc.set_local_description(&desc),
            RtcSignalingState::HaveRemoteOffer => self.pc.set_remote_description(&desc),
            _ => return,
        };
        let _ = JsFuture::from(promise).await;
    }

    /// Plays what this call receives in `#remote-video` (the call one talks in).
    pub fn show_remote(&self) {
        if !self.closed.get() {
            show(REMOTE_VIDEO_ID, &self.remote);
            show(REMOTE_SCREEN_ID, &self.remote_screen);
        }
    }

    /// Our offer for a new outgoing call.
    pub async fn offer(&self) -> Result<String, MediaError> {
        self.add_local_tracks();
        let offer = JsFuture::from(self.pc.create_offer())
            .await
            .map_err(|e| sdp_error(&e))?;
        self.set_local(&offer).await?;
        self.gathered_sdp().await
    }

    /// Our answer to the caller's offer (a new incoming call).
    pub async fn answer(&self, offer: &str) -> Result<String, MediaError> {
        self.set_remote(RtcSdpType::Offer, offer).await?;
        self.add_local_tracks();
        self.create_answer().await
    }

    /// Our answer to a new offer during the call (re-INVITE or UPDATE).
    pub async fn answer_reoffer(&self, offer: &str) -> Result<String, MediaError> {
        self.set_remote(RtcSdpType::Offer, offer).await?;
        self.place_tracks().await;
        self.create_answer().await
    }

    /// The far end's answer to our offer.
    pub async fn accept_answer(&self, answer: &str) -> Result<(), MediaError> {
        if self.pc.signaling_state() != RtcSignalingState::HaveLocalOffer {
            return Ok(()); // a repeated answer: already applied
        }
        self.set_remote(RtcSdpType::Answer, answer).await
    }

    async fn create_answer(&self) -> Result<String, MediaError> {
        let answer = JsFuture::from(self.pc.create_answer())
            .await
            .map_err(|e| sdp_error(&e))?;
        self.set_local(&answer).await?;
        self.gathered_sdp().await
    }

    async fn set_local(&self, desc: &JsValue) -> Result<(), MediaError> {
        let desc: &RtcSessionDescriptionInit = desc.unchecked_ref();
        JsFuture::from(self.pc.set_local_description(desc))
            .await
            .map(drop)
            .map_err(|e| sdp_error(&e))
    }

    async fn set_remote(&self, kind: RtcSdpType, sdp: &str) -> Result<(), MediaError> {
        let desc = RtcSessionDescriptionInit::new(kind);
        desc.set_sdp(sdp);
        JsFuture::from(self.pc.set_remote_description(&desc))
            .await
            .map(drop)
            .map_err(|e| MediaError::RemoteRefused(js_error(&e)))?;
        self.sync_remote();
        Ok(())
    }

    /// Waits until the candidates are in, then returns the local SDP with them in it. Without
    /// ICE servers every candidate is a host one and they come in a burst within a few ms,
    /// while Chromium reports gathering complete only ~130 ms later: so the wait ends when
    /// gathering completes or when candidates have come and none for [`QUIET_MS`] (at most
    /// [`GATHER_CAP_MS`]), and, with the gateway's relay configured, its candidate is in
    /// (at most [`RELAY_WAIT_MS`]). That keeps the INVITE from waiting on nothing (issue 12's
    /// click-to-ringing benchmark, `bench/call-setup.bench.mjs`).
    async fn gathered_sdp(&self) -> Result<String, MediaError> {
        if self.pc.ice_gathering_state() != RtcIceGatheringState::Complete {
            let (tx, mut rx) = futures::channel::oneshot::channel::<()>();
            let mut tx = Some(tx);
            let pc = self.pc.clone();
            let _complete = EventListener::new(&self.pc, "icegatheringstatechange", move |_| {
                if pc.ice_gathering_state() == RtcIceGatheringState::Complete
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
            });
            // The candidates so far are in the local description (some may have come
            // before this listens: count them there, not by events).
            let candidates = |pc: &RtcPeerConnection| {
                pc.local_description()
                    .map_or(0, |d| d.sdp().matches("a=candidate:").count())
            };
            let (mut waited, mut before) = (0, 0);
            while waited < GATHER_CAP_MS {
                match select(&mut rx, TimeoutFuture::new(QUIET_MS)).await {
                    Either::Left(_) => break,
                    Either::Right(_) => {
                        waited += QUIET_MS;
                        let now = candidates(&self.pc);
                        // The host candidates' burst is not the end when the relayed one
                        // is still on its way (browsers that cannot reach each other need
                        // it); we wait for it up to RELAY_WAIT_MS.
                        let relay_pending = self.relay
                            && waited < RELAY_WAIT_MS
                            && !self
                                .pc
                                .local_description()
                                .is_some_and(|d| d.sdp().contains(" typ relay"));
                        if now > 0 && now == before && !relay_pending {
                            break;
                        }
                        before = now;
                    }
                }
            }
        }
        self.pc
            .local_description()
            .map(|d| d.sdp())
            .filter(|s| !s.is_empty())
            .ok_or(MediaError::Prepare(None))
    }

    /// Mutes or unmutes the microphone.
    pub fn set_audio_enabled(&self, enabled: bool) {
        set_enabled(&self.local.get_audio_tracks(), enabled);
    }

    /// Bytes received so far: `bytesReceived` summed over the `inbound-rtp` stats.
    pub async fn rx_bytes(&self) -> Option<u64> {
        let report = JsFuture::from(self.pc.get_stats()).await.ok()?;
        let mut total = 0.0;
        for entry in js_sys::try_iter(&report).ok()??.flatten() {
            // Each entry is [id, stats].
            let stats = Reflect::get(&entry, &JsValue::from_f64(1.0)).ok()?;
            let kind = Reflect::get(&stats, &JsValue::from_str("type"))
                .ok()
                .and_then(|v| v.as_string());
            if kind.as_deref() == Some("inbound-rtp") {
                total += Reflect::get(&stats, &JsValue::from_str("bytesReceived"))
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0);
            }
        }
        Some(total as u64)
    }

    /// Stops the microphone and camera, closes the connection and clears the video elements.
    pub fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        stop_tracks(&self.local);
        stop_tracks(&self.remote);
        if let Some((screen, _)) = self.screen.take() {
            stop_tracks(&screen);
            unshow(LOCAL_SCREEN_ID, &screen);
        }
        self.pc.close();
        unshow(LOCAL_VIDEO_ID, &self.preview);
        unshow(REMOTE_VIDEO_ID, &self.remote);
        unshow(REMOTE_SCREEN_ID, &self.remote_screen);
    }

    // Video and Meet & Share (issue 12). The m-line order that tells the camera from the
    // screen is explained in `crate::state::video`.

    /// Whether we share our screen.
    pub fn sharing(&self) -> bool {
        self.screen.borrow().is_some()
    }

    /// What this call sends and receives in video now (`busy` from [`Self::negotiation`]).
    pub fn video_state(&self) -> VideoState {
        let (remote_camera, remote_screen) = self
            .pc
            .remote_description()
            .map_or((false, false), |d| sends_video(&d.sdp()));
        VideoState {
            camera: self.has_video(),
            sharing: self.sharing(),
            remote_camera,
            remote_screen,
            busy: self.negotiation.busy(),
        }
    }

    /// Turns our camera on (asks for it and sends it on the camera m-line) or off (stops it,
    /// so the camera light goes off, and only receives there). A new offer is then needed.
    pub async fn set_camera(&self, on: bool) -> Result<(), VideoProblem> {
        if on == self.has_video() || self.closed.get() {
            return Ok(());
        }
        if on {
            let track = camera_track().await?;
            if self.closed.get() || self.has_video() {
                track.stop();
                return Ok(());
            }
            self.ensure_video_slot(false);
            self.local.add_track(&track);
            self.preview.add_track(&track);
        } else {
            for track in self.local.get_video_tracks().iter() {
                let track: MediaStreamTrack = track.unchecked_into();
                track.stop();
                self.local.remove_track(&track);
                self.preview.remove_track(&track);
            }
        }
        self.place_tracks().await;
        show(LOCAL_VIDEO_ID, &self.preview);
        Ok(())
    }

    /// Shares the screen (`getDisplayMedia`, on the second video m-line, with a camera
    /// m-line before it if there was none) or stops sharing. `on_ended` runs when the
    /// browser's own "Stop sharing" ends the screen track. A new offer is then needed.
    pub async fn set_sharing(
        &self,
        on: bool,
        on_ended: impl FnMut(&web_sys::Event) + 'static,
    ) -> Result<(), VideoProblem> {
        if on == self.sharing() || self.closed.get() {
            return Ok(());
        }
        if on {
            let stream = display_media().await?;
            let Some(track) = first_video(&stream) else {
                stop_tracks(&stream);
                return Err(VideoProblem::ShareUnavailable);
            };
            if self.closed.get() || self.sharing() {
                stop_tracks(&stream);
                return Ok(());
            }
            self.ensure_video_slot(true);
            let ended = EventListener::new(&track, "ended", on_ended);
            show(LOCAL_SCREEN_ID, &stream);
            *self.screen.borrow_mut() = Some((stream, ended));
        } else if let Some((stream, _ended)) = self.screen.take() {
            stop_tracks(&stream); // `stop` fires no `ended`
            unshow(LOCAL_SCREEN_ID, &stream);
        }
        self.place_tracks().await;
        Ok(())
    }

    /// A new offer with the transceivers as they are now (a camera or sharing change).
    pub async fn renegotiation_offer(&self) -> Result<String, MediaError> {
        self.place_tracks().await;
        let offer = JsFuture::from(self.pc.create_offer())
            .await
            .map_err(|e| sdp_error(&e))?;
        self.set_local(&offer).await?;
        self.gathered_sdp().await
    }

    /// Whether `sdp` is still our local offer waiting for its answer (no other offer, ours
    /// or the far end's, replaced it meanwhile).
    pub fn is_pending_offer(&self, sdp: &str) -> bool {
        self.pc.signaling_state() == RtcSignalingState::HaveLocalOffer
            && self.pc.local_description().is_some_and(|d| d.sdp() == sdp)
    }

    /// Takes back our own offer, if one waits for its answer (never the far end's).
    pub async fn rollback_own(&self) {
        if self.pc.signaling_state() == RtcSignalingState::HaveLocalOffer {
            let desc = RtcSessionDescriptionInit::new(RtcSdpType::Rollback);
            let _ = JsFuture::from(self.pc.set_local_description(&desc)).await;
        }
    }

    /// No offer is under way in the connection.
    pub fn is_stable(&self) -> bool {
        self.pc.signaling_state() == RtcSignalingState::Stable
    }

    /// Video frames so far, for the call panel's stats: decoded from the far end's camera
    /// and screen, encoded and sent by us; and audio bytes received.
    pub async fn video_stats(&self) -> VideoStats {
        let mut out = VideoStats::default();
        for (screen, slot) in [
            (false, self.video_slot(false)),
            (true, self.video_slot(true)),
        ] {
            let Some(t) = slot else { continue };
            let receiver = Reflect::get(&t, &JsValue::from_str("receiver")).unwrap_or_default();
            let frames = stats_sum(&receiver, "inbound-rtp", "framesDecoded").await;
            if screen {
                out.screen_in = frames;
            } else {
                out.camera_in = frames;
            }
        }
        let pc: JsValue = self.pc.clone().into();
        out.video_out = stats_sum_kind(&pc, "outbound-rtp", "video", "framesEncoded").await;
        out.audio_rx = stats_sum_kind(&pc, "inbound-rtp", "audio", "bytesReceived").await;
        out
    }

    /// The video transceivers by the order of their m-lines (see `crate::state::video`):
    /// index 0 the camera's, 1 the screen's. The order is the latest offer's (the far end's
    /// while we answer it); those in none yet come last, in the order they were made.
    fn video_slots(&self) -> Vec<RtcRtpTransceiver> {
        let latest = if self.pc.signaling_state() == RtcSignalingState::HaveRemoteOffer {
            self.pc.remote_description()
        } else {
            self.pc
                .local_description()
                .or_else(|| self.pc.remote_description())
        };
        let order = latest.map(|d| video_mids(&d.sdp())).unwrap_or_default();
        let mut video: Vec<(usize, RtcRtpTransceiver)> = self
            .pc
            .get_transceivers()
            .iter()
            .map(|t| t.unchecked_into::<RtcRtpTransceiver>())
            // A transceiver stopped by a rolled-back offer (a glare) takes no direction.
            .filter(|t| {
                t.direction() != RtcRtpTransceiverDirection::Stopped
                    && t.current_direction() != Some(RtcRtpTransceiverDirection::Stopped)
            })
            .filter(|t| receiver_track(t).is_some_and(|r| r.kind() == "video"))
            .map(|t| {
                let at = t
                    .mid()
                    .and_then(|m| order.iter().position(|o| *o == m))
                    .unwrap_or(usize::MAX);
                (at, t)
            })
            .collect();
        video.sort_by_key(|(at, _)| *at);
        video.into_iter().map(|(_, t)| t).collect()
    }

    /// The camera's (`screen` false) or the screen's video transceiver.
    fn video_slot(&self, screen: bool) -> Option<RtcRtpTransceiver> {
        self.video_slots().into_iter().nth(usize::from(screen))
    }

    /// Makes the camera's (or the screen's) transceiver when missing, receiving only (the
    /// tracks are placed by [`Self::place_tracks`]); a screen's comes after a camera's.
    fn ensure_video_slot(&self, screen: bool) {
        while self.video_slot(screen).is_none() {
            let t = self.pc.add_transceiver_with_str("video");
            set_direction(&t, RtcRtpTransceiverDirection::Recvonly);
        }
    }

    /// Puts our camera on the first video m-line's sender and our screen on the second's,
    /// nothing on any other, each with its direction: sending and receiving where a track
    /// is (`sendonly` while held), receiving only elsewhere (`inactive` while held). While
    /// held the senders stay empty; resuming puts the tracks on (see `apply_hold`).
    ///
    /// Done after every change and before every answer to a far end's offer: when both
    /// sides add a video m-line at once (a glare, both offers taken back), the far end's
    /// offer comes with its new m-line first, and our camera moves onto it rather than onto
    /// an m-line after it, which would make it arrive as a screen.
    async fn place_tracks(&self) {
        use RtcRtpTransceiverDirection as D;
        let camera = first_video(&self.local);
        let screen = self
            .screen
            .borrow()
            .as_ref()
            .and_then(|(s, _)| first_video(s));
        let held = self.held.get();
        for (i, t) in self.video_slots().into_iter().enumerate() {
            let want = match i {
                0 => camera.clone(),
                1 => screen.clone(),
                _ => None,
            };
            let sender = t.sender();
            let had = {
                let mut senders = self.senders.borrow_mut();
                let at = senders.iter().position(|(s, _)| *s == sender);
                at.map(|at| senders.remove(at).1)
            };
            if let Some(w) = &want {
                self.senders.borrow_mut().push((sender.clone(), w.clone()));
            }
            if had != want && !held {
                let _ = JsFuture::from(sender.replace_track(want.as_ref())).await;
            }
            let direction = match (want.is_some(), held) {
                (true, false) => D::Sendrecv,
                (true, true) => D::Sendonly,
                (false, false) => D::Recvonly,
                (false, true) => D::Inactive,
            };
            set_direction(&t, direction);
        }
    }

    /// Puts the far end's camera track in `#remote-video` (with the sound) and its screen in
    /// `#remote-screen`, by their m-lines; after every remote description.
    fn sync_remote(&self) {
        if self.closed.get() {
            return;
        }
        for (screen, stream, id) in [
            (false, &self.remote, REMOTE_VIDEO_ID),
            (true, &self.remote_screen, REMOTE_SCREEN_ID),
        ] {
            let want = self.video_slot(screen).and_then(|t| receiver_track(&t));
            let mut changed = false;
            for t in stream.get_video_tracks().iter() {
                let t: MediaStreamTrack = t.unchecked_into();
                if want.as_ref() != Some(&t) {
                    stream.remove_track(&t);
                    changed = true;
                }
            }
            if let Some(w) = want
                && stream.get_track_by_id(&w.id()).is_none()
            {
                stream.add_track(&w);
                changed = true;
            }
            if changed {
                show(id, stream);
            }
        }
    }

    // Keypad, devices (issue 12)

    /// Chosen devices that were gone when this call opened its media.
    pub fn gone_devices(&self) -> &[DeviceKind] {
        &self.gone
    }

    /// Sends DTMF `tones` (RFC 4733 telephone-events) on the call's audio sender, after
    /// those still queued. `false` when this call cannot: no audio sender, no
    /// `RTCDTMFSender`, or `canInsertDTMF` false (the far end took no telephone-event).
    pub fn send_dtmf(&self, tones: &str) -> bool {
        let senders = self.senders.borrow();
        let Some(dtmf) = senders
            .iter()
            .find(|(_, t)| t.kind() == "audio")
            .and_then(|(s, _)| s.dtmf())
        else {
            return false;
        };
        let can = Reflect::get(&dtmf, &JsValue::from_str("canInsertDTMF"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true); // browsers without the attribute throw below instead
        if !can {
            return false;
        }
        // insertDTMF replaces the queue: keep the digits not played yet.
        let queued = dtmf.tone_buffer();
        // Through Reflect: web-sys's `insert_dtmf` does not catch the InvalidStateError a
        // sender that cannot send throws.
        let insert = Reflect::get(&dtmf, &JsValue::from_str("insertDTMF"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        insert.is_some_and(|f| {
            f.call1(&dtmf, &JsValue::from_str(&format!("{queued}{tones}")))
                .is_ok()
        })
    }

    /// Plays the call on the speaker chosen in Settings; `Err` with the browser's words when
    /// that one is gone (the default plays).
    pub async fn apply_speaker(&self) -> Result<(), devices::SinkError> {
        match media_element(REMOTE_VIDEO_ID) {
            Some(el) => devices::apply_speaker(&el).await,
            None => Ok(()),
        }
    }

    /// Switches the microphone or camera to device `id` (`None`: the default) without
    /// renegotiating: the new track replaces the old on its sender (`replaceTrack`), keeps
    /// its mute, and is held back while the call is held. A camera switch in an audio call
    /// does nothing.
    pub async fn switch_input(&self, kind: DeviceKind, id: Option<&str>) -> Result<(), MediaError> {
        let video = kind == DeviceKind::Camera;
        let track_kind = if video { "video" } else { "audio" };
        if self.closed.get() || (video && !self.has_video()) {
            return Ok(());
        }
        let (audio, vid) = if video {
            (None, Some(id))
        } else {
            (Some(id), None)
        };
        let stream = get_media(audio, vid)
            .await
            .map_err(|(name, e)| media_error(&name, video, || js_error(&e)))?;
        let Some(track) = stream
            .get_tracks()
            .iter()
            .map(|t| t.unchecked_into::<MediaStreamTrack>())
            .find(|t| t.kind() == track_kind)
        else {
            stop_tracks(&stream);
            return Err(MediaError::NotFound { video });
        };
        // The camera's sender, not the shared screen's (both send video).
        let screen_ids: Vec<String> = self
            .screen
            .borrow()
            .as_ref()
            .map(|(s, _)| {
                s.get_tracks()
                    .iter()
                    .map(|t| t.unchecked_into::<MediaStreamTrack>().id())
                    .collect()
            })
            .unwrap_or_default();
        let entry = self
            .senders
            .borrow()
            .iter()
            .position(|(_, t)| t.kind() == track_kind && !screen_ids.contains(&t.id()));
        let Some(i) = entry else {
            track.stop();
            return Ok(());
        };
        let (sender, old) = self.senders.borrow()[i].clone();
        track.set_enabled(old.enabled());
        // While held the sender sends nothing: the new track goes on at resume.
        if sender.track().is_some()
            && let Err(e) = JsFuture::from(sender.replace_track(Some(&track))).await
        {
            track.stop();
            return Err(MediaError::Other {
                video,
                detail: js_error(&e),
            });
        }
        if self.closed.get() {
            track.stop();
            return Ok(());
        }
        self.senders.borrow_mut()[i].1 = track.clone();
        self.local.remove_track(&old);
        self.local.add_track(&track);
        if video {
            self.preview.remove_track(&old);
            self.preview.add_track(&track);
            show(LOCAL_VIDEO_ID, &self.preview);
        }
        old.stop();
        Ok(())
    }
}

impl Drop for CallMedia {
    fn drop(&mut self) {
        self.close();
    }
}

/// The microphone (and camera) for a call: the devices chosen in Settings, else the
/// defaults. A chosen device that is gone (`OverconstrainedError`, `NotFoundError`) gives way
/// to the default; the kinds that did so come back with the stream.
async fn user_media(video: bool) -> Result<(MediaStream, Vec<DeviceKind>), MediaError> {
    let mic = devices::chosen(DeviceKind::Microphone);
    let cam = devices::chosen(DeviceKind::Camera).filter(|_| video);
    // With each chosen device, then without the microphone's, the camera's, both.
    let mut tries: Vec<(Option<&str>, Option<&str>)> = vec![(mic.as_deref(), cam.as_deref())];
    for t in [(None, cam.as_deref()), (mic.as_deref(), None), (None, None)] {
        if !tries.contains(&t) {
            tries.push(t);
        }
    }
    let mut first_error = None;
    for (m, c) in tries {
        match get_media(Some(m), video.then_some(c)).await {
            Ok(stream) => {
                let mut gone = Vec::new();
                if mic.is_some() && m.is_none() {
                    gone.push(DeviceKind::Microphone);
                }
                if cam.is_some() && c.is_none() {
                    gone.push(DeviceKind::Camera);
                }
                return Ok((stream, gone));
            }
            Err((name, _)) if name == INSECURE => return Err(MediaError::Insecure),
            Err((name, e)) => {
                let missing = matches!(name.as_str(), "OverconstrainedError" | "NotFoundError");
                let error = first_error.get_or_insert(media_error(&name, video, || js_error(&e)));
                if !missing {
                    return Err(error.clone());
                }
            }
        }
    }
    Err(first_error.unwrap_or(MediaError::NotFound { video }))
}

/// Our own name for "the browser offers no devices here" (not a `DOMException`'s).
const INSECURE: &str = "centrala.Insecure";

/// `getUserMedia` with the audio and video members: `None` leaves one out, `Some(None)` is
/// the default device, `Some(Some(id))` that device. `Err`: the `DOMException`'s name and
/// the error.
async fn get_media(
    audio: Option<Option<&str>>,
    video: Option<Option<&str>>,
) -> Result<MediaStream, (String, JsValue)> {
    let insecure = || (INSECURE.to_string(), JsValue::from_str("no mediaDevices"));
    let window = web_sys::window().ok_or_else(insecure)?;
    let devices = window.navigator().media_devices().map_err(|_| insecure())?;
    if JsValue::from(devices.clone()).is_undefined() {
        return Err(insecure());
    }
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio(&audio.map_or(JsValue::FALSE, devices::constraint));
    constraints.set_video(&video.map_or(JsValue::FALSE, devices::constraint));
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| ("TypeError".to_string(), e))?;
    match JsFuture::from(promise).await {
        Ok(stream) => Ok(stream.unchecked_into()),
        Err(e) => {
            let name = Reflect::get(&e, &JsValue::from_str("name"))
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default();
            Err((name, e))
        }
    }
}

/// A `getUserMedia` failure by the `DOMException`'s name; `detail` gives the browser's
/// words for an unexpected one.
pub fn media_error(name: &str, video: bool, detail: impl FnOnce() -> String) -> MediaError {
    match name {
        "NotAllowedError" | "SecurityError" => MediaError::Denied { video },
        "NotFoundError" | "OverconstrainedError" => MediaError::NotFound { video },
        "NotReadableError" | "AbortError" => MediaError::InUse { video },
        _ => MediaError::Other {
            video,
            detail: detail(),
        },
    }
}

fn sdp_error(e: &JsValue) -> MediaError {
    MediaError::Prepare(Some(js_error(e)))
}

/// The message of a JS error, or its text.
fn js_error(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|v| v.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn set_enabled(tracks: &Array, enabled: bool) {
    for t in tracks.iter() {
        t.unchecked_into::<MediaStreamTrack>().set_enabled(enabled);
    }
}

fn stop_tracks(stream: &MediaStream) {
    for t in stream.get_tracks().iter() {
        t.unchecked_into::<MediaStreamTrack>().stop();
    }
}

/// Puts `stream` in the video element `id` and starts playing.
fn show(id: &str, stream: &MediaStream) {
    let Some(el) = media_element(id) else { return };
    if id == LOCAL_VIDEO_ID {
        el.set_muted(true);
    }
    // Setting it again makes the element pick up tracks added since.
    el.set_src_object(None);
    el.set_src_object(Some(stream));
    if let Ok(p) = el.play() {
        // Autoplay may be refused until the user interacts; the call buttons count as that.
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(p).await;
        });
    }
}

/// Empties the video element `id` if it still shows `stream` (not a newer call's).
fn unshow(id: &str, stream: &MediaStream) {
    let Some(el) = media_element(id) else { return };
    if el
        .src_object()
        .is_some_and(|s| JsValue::from(s) == JsValue::from(Clone::clone(stream)))
    {
        el.set_src_object(None);
    }
}

// Video and Meet & Share (issue 12)

/// The first video track of `stream`.
fn first_video(stream: &MediaStream) -> Option<MediaStreamTrack> {
    stream
        .get_video_tracks()
        .iter()
        .next()
        .map(|t| t.unchecked_into())
}

/// The track a transceiver receives (always there, muted while nothing arrives).
fn receiver_track(t: &RtcRtpTransceiver) -> Option<MediaStreamTrack> {
    let receiver = Reflect::get(t, &JsValue::from_str("receiver")).ok()?;
    let track = Reflect::get(&receiver, &JsValue::from_str("track")).ok()?;
    track.dyn_into::<MediaStreamTrack>().ok()
}

/// The sum of `field` over the stats of `kind` (`type`) that `source.getStats()` reports.
async fn stats_sum(source: &JsValue, kind: &str, field: &str) -> u64 {
    stats_fold(source, kind, None, field).await
}

/// Likewise, only for the `media_kind` (`kind`: audio or video).
async fn stats_sum_kind(source: &JsValue, kind: &str, media_kind: &str, field: &str) -> u64 {
    stats_fold(source, kind, Some(media_kind), field).await
}

async fn stats_fold(source: &JsValue, kind: &str, media: Option<&str>, field: &str) -> u64 {
    let get = |o: &JsValue, k: &str| Reflect::get(o, &JsValue::from_str(k)).unwrap_or_default();
    let Ok(f) = get(source, "getStats").dyn_into::<js_sys::Function>() else {
        return 0;
    };
    let Ok(promise) = f
        .call0(source)
        .and_then(|p| p.dyn_into::<js_sys::Promise>())
    else {
        return 0;
    };
    let Ok(report) = JsFuture::from(promise).await else {
        return 0;
    };
    let Ok(Some(entries)) = js_sys::try_iter(&report) else {
        return 0;
    };
    let mut total = 0.0;
    for entry in entries.flatten() {
        let stats = get(&entry, "1");
        if get(&stats, "type").as_string().as_deref() != Some(kind) {
            continue;
        }
        if let Some(m) = media
            && get(&stats, "kind").as_string().as_deref() != Some(m)
        {
            continue;
        }
        total += get(&stats, field).as_f64().unwrap_or(0.0);
    }
    total as u64
}

/// The camera alone (the microphone is already in the call): the one chosen in Settings,
/// else (gone) the default.
async fn camera_track() -> Result<MediaStreamTrack, VideoProblem> {
    let problem = |name: &str, e: &JsValue| {
        if name == INSECURE {
            VideoProblem::Camera(MediaError::Insecure)
        } else {
            VideoProblem::Camera(media_error(name, true, || js_error(e)))
        }
    };
    let chosen = devices::chosen(DeviceKind::Camera);
    let stream = match get_media(None, Some(chosen.as_deref())).await {
        Ok(s) => s,
        Err((name, _))
            if chosen.is_some()
                && matches!(name.as_str(), "OverconstrainedError" | "NotFoundError") =>
        {
            get_media(None, Some(None))
                .await
                .map_err(|(n, e)| problem(&n, &e))?
        }
        Err((name, e)) => return Err(problem(&name, &e)),
    };
    stream
        .get_video_tracks()
        .iter()
        .next()
        .map(|t| t.unchecked_into())
        .ok_or(VideoProblem::Camera(MediaError::NotFound { video: true }))
}

/// The screen (or a window or tab) the user picks, by `getDisplayMedia`.
async fn display_media() -> Result<MediaStream, VideoProblem> {
    let devices = web_sys::window()
        .and_then(|w| w.navigator().media_devices().ok())
        .map(JsValue::from)
        .filter(|d| !d.is_undefined())
        .ok_or(VideoProblem::ShareUnsupported)?;
    let Ok(f) = Reflect::get(&devices, &JsValue::from_str("getDisplayMedia"))
        .and_then(|f| f.dyn_into::<js_sys::Function>())
    else {
        return Err(VideoProblem::ShareUnsupported);
    };
    let constraints = js_sys::Object::new();
    let _ = Reflect::set(&constraints, &JsValue::from_str("video"), &JsValue::TRUE);
    let _ = Reflect::set(&constraints, &JsValue::from_str("audio"), &JsValue::FALSE);
    let result = f
        .call1(&devices, &constraints)
        .and_then(|p| p.dyn_into::<js_sys::Promise>());
    let promise = match result {
        Ok(p) => p,
        Err(e) => return Err(share_problem(&error_name(&e), || js_error(&e))),
    };
    match JsFuture::from(promise).await {
        Ok(stream) => Ok(stream.unchecked_into()),
        Err(e) => Err(share_problem(&error_name(&e), || js_error(&e))),
    }
}

/// The `name` of a `DOMException`.
fn error_name(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("name"))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Sets a transceiver's direction, unless it is stopped: a glare's rolled-back offer can stop
/// one while we await something between choosing it and setting it, and the browser throws
/// for a stopped one. A refusal is logged, never thrown into the app.
fn set_direction(t: &RtcRtpTransceiver, d: RtcRtpTransceiverDirection) {
    use RtcRtpTransceiverDirection as D;
    if t.direction() == d
        || t.direction() == D::Stopped
        || t.current_direction() == Some(D::Stopped)
    {
        return;
    }
    let value = match d {
        D::Sendrecv => "sendrecv",
        D::Sendonly => "sendonly",
        D::Recvonly => "recvonly",
        D::Inactive => "inactive",
        _ => return,
    };
    if let Err(e) = Reflect::set(
        t,
        &JsValue::from_str("direction"),
        &JsValue::from_str(value),
    ) {
        web_sys::console::warn_2(&JsValue::from_str("transceiver direction not set:"), &e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{EN, PL};

    #[test]
    fn get_user_media_failures_become_causes_in_polish_too() {
        let no_detail = || unreachable!("only for unexpected names");
        let denied = media_error("NotAllowedError", false, no_detail);
        assert_eq!(denied, MediaError::Denied { video: false });
        assert_eq!(PL.media_error(&denied), "Odmówiono dostępu do mikrofonu");
        assert_eq!(
            EN.media_error(&denied),
            "Access to the microphone was denied"
        );
        assert_eq!(
            media_error("SecurityError", true, no_detail),
            MediaError::Denied { video: true }
        );
        let missing = media_error("NotFoundError", false, no_detail);
        assert_eq!(PL.media_error(&missing), "Nie znaleziono mikrofonu");
        assert_eq!(
            media_error("OverconstrainedError", true, no_detail),
            MediaError::NotFound { video: true }
        );
        let busy = media_error("NotReadableError", true, no_detail);
        assert_eq!(
            PL.media_error(&busy),
            "Kamera lub mikrofon są używane przez inny program"
        );
        assert_eq!(
            media_error("AbortError", false, no_detail),
            MediaError::InUse { video: false }
        );
        let odd = media_error("TypeError", false, || "bad constraints".into());
        assert_eq!(
            EN.media_error(&odd),
            "Could not use the microphone (bad constraints)"
        );
        assert_eq!(
            PL.media_error(&odd),
            "Nie można użyć mikrofonu (bad constraints)"
        );
    }
}
