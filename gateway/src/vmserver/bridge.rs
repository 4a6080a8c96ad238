//! Bridged calls: a browser (WebRTC) and a desk phone (plain RTP) cannot exchange media, so
//! the core hands such a call's branch to the media service (the request URI names the
//! device's flow in [`crate::core::BRIDGE_PARAM`]). The service is a back-to-back user
//! agent: it answers the caller with one user agent, calls the device back through the core
//! with another (same caller identity, an offer the device understands), and relays the
//! media between a [`WebRtcLeg`] and an [`RtpLeg`] in a [`Bridge`]. Ringing, answer,
//! refusal, hang-up and cancel pass from one side to the other; DTMF crosses (SIP INFO on
//! the browser's side, RFC 4733 on the phone's); a silent leg ends the call.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use centrala_media::sdp::{self, AudioStream, Origin};
use centrala_media::{
    Bridge, BridgeConfig, BridgeEvent, BridgeOutput, Codec, Leg, LegId, RtpLeg, RtpLegConfig,
    WebRtcConfig, WebRtcLeg,
};
use centrala_sip::message::{Request, SipMessage, parse_datagram};
use centrala_sip::ua::{CallHandle, Event, UaConfig, UserAgent};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::{Shared, recv};

/// Which side is the browser: A is always the WebRTC leg, B the plain RTP one.
const BROWSER: LegId = LegId::A;
const PHONE: LegId = LegId::B;

/// A DTMF key sent to the phone lasts this long.
const DTMF_MS: u64 = 120;

struct Call {
    shared: Arc<Shared>,
    epoch: Instant,
    /// Answers the caller.
    inbound: UserAgent,
    in_call: Option<CallHandle>,
    /// The service's route to this task (see `route_key`).
    in_id: String,
    /// The Call-ID of the call we bridge (the caller's).
    call_id: String,
    /// Calls the device.
    outbound: UserAgent,
    out_call: Option<CallHandle>,
    out_id: Option<String>,
    /// The device to call (the request URI with the bridge parameter).
    target: String,
    /// The caller is the browser (else the phone).
    caller_is_browser: bool,
    offer: String,
    /// The phone's offer (phone → browser).
    phone_stream: Option<AudioStream>,
    /// The browser's leg, made early when we offer to the browser.
    pending_webrtc: Option<WebRtcLeg>,
    sockets: [Option<Arc<UdpSocket>>; 2],
    ports: Vec<u16>,
    bridge: Option<Bridge>,
    bridge_at: Option<Instant>,
    /// Our descriptions to the phone: one session, its version raised for each (RFC 3264 8).
    phone_origin: Origin,
    /// Who holds the call: `[browser, phone]` (each side's own re-INVITE, as its user agent
    /// reported in `Event::Hold`). Either side's hold is passed on to the other one.
    held_by: [bool; 2],
    over: bool,
    over_at: Option<Instant>,
    /// The browser's last key and when (for *8).
    last_key: Option<(char, Instant)>,
    /// *8: the call to the employee's mobile, while it rings and once it took over.
    moving: Option<Box<Moving>>,
    /// The mobile took the browser's place (the browser's leg is hung up).
    moved: bool,
}

/// *8: the media service calls the employee's mobile through the core (and a trunk); when
/// it answers, the mobile's RTP leg takes the browser's place in the bridge and the
/// browser's call is hung up. The far end keeps its leg and hears at most a moment's gap.
struct Moving {
    ua: UserAgent,
    call: CallHandle,
    /// Its Call-ID, once its INVITE went out.
    id: Option<String>,
    socket: Arc<UdpSocket>,
    /// Its user agent's route to this task.
    host: String,
}

/// The browser's * and 8 within this long move the call to the mobile.
const MOVE_KEYS_MS: u64 = 3000;

/// Serves one bridged call until both sides are done.
pub(super) async fn call(
    shared: Arc<Shared>,
    invite: Request,
    call_id: String,
    mut rx: mpsc::UnboundedReceiver<Box<str>>,
    done: mpsc::UnboundedSender<Vec<String>>,
) {
    let (user, host) = invite
        .from_user_host()
        .map(|(u, h)| (u.unwrap_or("anonymous").to_string(), h.to_string()))
        .unwrap_or_else(|| ("anonymous".into(), "invalid".into()));
    let display = invite
        .headers
        .get("From")
        .and_then(|f| centrala_sip::message::NameAddr::parse(f).ok())
        .and_then(|n| n.display)
        .filter(|d| !d.is_empty());
    let mut out_cfg = UaConfig::new(&user, &host, "");
    out_cfg.display_name = display;
    out_cfg.user_agent = "Centrala-Bridge".into();
    let mut in_cfg = UaConfig::new("bridge", "bridge.invalid", "");
    in_cfg.user_agent = "Centrala-Bridge".into();
    let mut outbound = UserAgent::new(out_cfg, rand::random());
    outbound.attach();
    let mut c = Call {
        epoch: Instant::now(),
        inbound: UserAgent::new(in_cfg, rand::random()),
        in_call: None,
        in_id: call_id,
        call_id: invite.call_id().unwrap_or_default().to_string(),
        outbound,
        out_call: None,
        out_id: None,
        target: invite.uri.to_string(),
        caller_is_browser: false,
        offer: String::new(),
        phone_stream: None,
        pending_webrtc: None,
        sockets: [None, None],
        ports: Vec::new(),
        bridge: None,
        bridge_at: None,
        phone_origin: origin(),
        held_by: [false, false],
        over: false,
        over_at: None,
        last_key: None,
        moving: None,
        moved: false,
        shared,
    };
    // Requests within either dialog and responses to either user agent come to its host.
    let hosts = [
        format!("h:{}", c.inbound.via_host()),
        format!("h:{}", c.outbound.via_host()),
    ];
    for h in &hosts {
        c.shared.alias(&c.in_id, h.clone());
    }
    let mut bufs = [vec![0u8; 2048], vec![0u8; 2048]];
    let started = Instant::now();
    // One timer for the task's life, moved only when the next deadline changes (not made
    // again for every datagram: 100 a second each way per call).
    let sleep = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(sleep);
    let mut armed: Option<Instant> = None;
    loop {
        let next = [
            c.inbound
                .poll_timeout()
                .map(|t| c.epoch + Duration::from_millis(t)),
            c.outbound
                .poll_timeout()
                .map(|t| c.epoch + Duration::from_millis(t)),
            c.moving
                .as_ref()
                .and_then(|m| m.ua.poll_timeout())
                .map(|t| c.epoch + Duration::from_millis(t)),
            c.bridge_at,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| armed.unwrap_or_else(|| Instant::now() + Duration::from_secs(1)));
        if armed != Some(next) {
            sleep.as_mut().reset(next.into());
            armed = Some(next);
        }
        let (s0, s1) = (c.sockets[0].clone(), c.sockets[1].clone());
        let [b0, b1] = &mut bufs;
        tokio::select! {
            m = rx.recv() => {
                let Some(text) = m else { break };
                c.sip(&text);
            }
            r = recv(s0.as_deref(), b0) => {
                if let Ok((n, from)) = r {
                    c.datagram(BROWSER, &b0[..n], from);
                }
            }
            r = recv(s1.as_deref(), b1) => {
                if let Ok((n, from)) = r {
                    c.datagram(PHONE, &b1[..n], from);
                }
            }
            _ = &mut sleep => {
                armed = None;
                let now = c.now_ms();
                c.inbound.handle_timeout(now);
                c.outbound.handle_timeout(now);
                if let Some(m) = &mut c.moving {
                    m.ua.handle_timeout(now);
                }
                if let Some(b) = &mut c.bridge
                    && c.bridge_at.is_some_and(|t| t <= Instant::now())
                {
                    b.handle_timeout(Instant::now());
                }
            }
        }
        c.drain().await;
        if c.over
            && c.over_at
                .is_some_and(|t| t.elapsed() > Duration::from_secs(4))
        {
            break;
        }
        if c.in_call.is_none() && started.elapsed() > Duration::from_secs(32) {
            break;
        }
    }
    for port in c.ports.drain(..) {
        c.shared.release(port);
    }
    let mut ids = vec![c.in_id.clone()];
    ids.extend(hosts);
    if let Some(m) = &c.moving {
        ids.push(m.host.clone());
    }
    let _ = done.send(ids);
}

impl Call {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// A SIP message for one of the two sides, by its Call-ID (the device's call has its own).
    fn sip(&mut self, text: &str) {
        let now = self.now_ms();
        let Ok(msg) = parse_datagram(text.as_bytes()) else {
            return;
        };
        let id = msg.headers().get("Call-ID");
        if let Some(m) = &mut self.moving
            && m.id.is_some()
            && id == m.id.as_deref()
        {
            m.ua.handle_message(text.as_bytes(), now);
        } else if self.out_id.is_some() && id == self.out_id.as_deref() {
            self.outbound.handle_message(text.as_bytes(), now);
        } else {
            self.inbound.handle_message(text.as_bytes(), now);
        }
    }

    fn datagram(&mut self, leg: LegId, bytes: &[u8], from: SocketAddr) {
        match &mut self.bridge {
            Some(b) => {
                // The leg was made with its socket's address (and replaced together with the
                // socket on *8): no getsockname call for each of 100 datagrams a second.
                let local = b.local(leg);
                if let Err(e) = b.handle_input(leg, bytes, from, local, Instant::now()) {
                    debug!(%from, error = %e, "bridge: datagram dropped");
                }
            }
            // The browser may start ICE before the call is answered: it tries again.
            None => debug!(%from, "bridge: media before the answer dropped"),
        }
    }

    /// Sends what the user agents wrote, handles what they and the bridge reported, until
    /// nothing is left.
    async fn drain(&mut self) {
        loop {
            let mut busy = false;
            while let Some(text) = self.inbound.poll_transmit() {
                busy = true;
                forward(&self.shared, &text).await;
            }
            while let Some(text) = self.outbound.poll_transmit() {
                busy = true;
                if self.out_id.is_none()
                    && let Ok(m) = parse_datagram(text.as_bytes())
                    && let Some(id) = m.headers().get("Call-ID")
                {
                    self.out_id = Some(id.to_string());
                }
                forward(&self.shared, &text).await;
            }
            while let Some(e) = self.inbound.poll_event() {
                busy = true;
                self.on_inbound(e);
            }
            while let Some(e) = self.outbound.poll_event() {
                busy = true;
                self.on_outbound(e);
            }
            let mut mobile = Vec::new();
            if let Some(m) = &mut self.moving {
                while let Some(text) = m.ua.poll_transmit() {
                    if m.id.is_none()
                        && let Ok(msg) = parse_datagram(text.as_bytes())
                        && let Some(id) = msg.headers().get("Call-ID")
                    {
                        m.id = Some(id.to_string());
                    }
                    mobile.push(text);
                }
            }
            for text in mobile {
                busy = true;
                forward(&self.shared, &text).await;
            }
            while let Some(e) = self.moving.as_mut().and_then(|m| m.ua.poll_event()) {
                busy = true;
                self.on_mobile(e);
            }
            if self.media() {
                busy = true;
            }
            if !busy {
                break;
            }
        }
    }

    /// The bridge's datagrams and events; `true` if there were any.
    fn media(&mut self) -> bool {
        let Some(b) = &mut self.bridge else {
            return false;
        };
        let mut any = false;
        let mut ended = None;
        let mut keys = Vec::new();
        while let Some(out) = b.poll_output() {
            any = true;
            match out {
                BridgeOutput::Transmit(leg, t) => {
                    if let Some(s) = &self.sockets[index(leg)] {
                        let _ = s.try_send_to(&t.payload, t.to);
                    }
                }
                BridgeOutput::Event(BridgeEvent::Dtmf { from, event }) if from == PHONE => {
                    keys.push(event.digit);
                }
                BridgeOutput::Event(BridgeEvent::Ended { reason }) => ended = Some(reason),
                BridgeOutput::Event(_) => {}
            }
        }
        self.bridge_at = b.poll_timeout();
        let now = self.now_ms();
        if let Some(call) = self.in_call
            && self.caller_is_browser
        {
            for k in keys {
                self.inbound.send_dtmf_info(call, k, now);
            }
        } else if let Some(call) = self.out_call {
            for k in keys {
                self.outbound.send_dtmf_info(call, k, now);
            }
        }
        if let Some(reason) = ended {
            warn!(?reason, "bridged call ended: media stopped");
            self.end_both();
        }
        any
    }

    fn on_inbound(&mut self, e: Event) {
        let now = self.now_ms();
        match e {
            Event::IncomingCall { call, sdp, .. } => {
                if self.in_call.is_some() {
                    self.inbound.reject(call, 486, now);
                    return;
                }
                self.in_call = Some(call);
                self.offer = sdp.clone();
                self.caller_is_browser = is_webrtc(&sdp);
                if let Err((status, why)) = self.place_call(&sdp) {
                    info!(status, %why, "bridge: call refused");
                    // `why` may start with the status ("488 Not Acceptable Here (…)").
                    let phrase = why
                        .strip_prefix(&format!("{status} "))
                        .unwrap_or(&why)
                        .to_string();
                    self.inbound.reject_with(call, status, &phrase, now);
                    self.over();
                }
            }
            Event::Dtmf { digit, .. } => self.key_from(true, digit),
            e @ (Event::Reoffer { .. }
            | Event::OfferNeeded { .. }
            | Event::OfferFailed { .. }
            | Event::Hold { .. }
            | Event::Answered { .. }) => self.renegotiation(true, e),
            Event::Ended { .. } => {
                if self.moved && self.caller_is_browser {
                    // The browser's leg, hung up by us: the call goes on at the mobile.
                    return;
                }
                if let Some(call) = self.out_call {
                    self.outbound.hangup(call, now);
                }
                self.hang_up_mobile();
                self.over();
            }
            _ => {}
        }
    }

    fn on_outbound(&mut self, e: Event) {
        let now = self.now_ms();
        match e {
            // Once the bridge runs, an answer is to one of our new offers.
            e @ (Event::Reoffer { .. }
            | Event::OfferNeeded { .. }
            | Event::OfferFailed { .. }
            | Event::Hold { .. }
            | Event::Answered { .. })
                if self.bridge.is_some() =>
            {
                self.renegotiation(false, e)
            }
            Event::Answered { sdp, .. } => {
                if let Err((status, why)) = self.answered(&sdp) {
                    warn!(status, %why, "bridge: the device's answer cannot be bridged");
                    if let Some(call) = self.out_call {
                        self.outbound.hangup(call, now);
                    }
                    if let Some(call) = self.in_call {
                        let phrase = why
                            .strip_prefix(&format!("{status} "))
                            .unwrap_or(&why)
                            .to_string();
                        self.inbound.reject_with(call, status, &phrase, now);
                    }
                    self.over();
                }
            }
            Event::Dtmf { digit, .. } => self.key_from(false, digit),
            Event::Reoffer { call, .. } => self.outbound.reject_reoffer(call, now),
            Event::Ended { status, phrase, .. } => {
                if self.moved && !self.caller_is_browser {
                    // The browser's leg, hung up by us: the call goes on at the mobile.
                    return;
                }
                self.hang_up_mobile();
                if let Some(call) = self.in_call {
                    if self.bridge.is_some() {
                        self.inbound.hangup(call, now);
                    } else {
                        // Refused or unreachable: the caller's proxy context goes on to
                        // the other devices (or forwarding) with this status, and the
                        // device's (or the core's) words for it.
                        match (status.filter(|s| *s >= 300), phrase) {
                            (Some(s), Some(p)) => self.inbound.reject_with(call, s, &p, now),
                            (s, _) => self.inbound.reject(call, s.unwrap_or(480), now),
                        }
                    }
                }
                self.over();
            }
            _ => {}
        }
    }

    /// New offers and answers in a call that is up: hold and resume. Each side's offer is
    /// answered here, in that side's terms (str0m renegotiates the browser's session; the
    /// phone gets our plain RTP description with the direction mirrored), and a side that
    /// holds the call has the other side held by us, by a re-INVITE of our own, until it
    /// resumes. While the call is held the bridge does not end it for the silence the hold
    /// asks for (see `Bridge::set_held`).
    fn renegotiation(&mut self, inbound: bool, e: Event) {
        let now = self.now_ms();
        let browser = inbound == self.caller_is_browser;
        let side = if browser { 0 } else { 1 };
        let Some(bridge) = &mut self.bridge else {
            // Before the answer: nothing to renegotiate yet.
            if let Event::Reoffer { call, .. } = e {
                self.ua(inbound).reject_reoffer(call, now);
            }
            return;
        };
        let phone_addr = bridge.local(PHONE);
        match e {
            Event::Reoffer { call, sdp } => {
                let answer = if browser {
                    match bridge.leg_mut(BROWSER) {
                        Leg::WebRtc(l) => l
                            .accept_offer(&sdp, Instant::now())
                            .map_err(|e| e.to_string()),
                        Leg::Rtp(_) => Err("not a browser leg".into()),
                    }
                } else {
                    self.phone_origin.version += 1;
                    let origin = self.phone_origin;
                    phone_reanswer(bridge, &sdp, phone_addr, origin)
                };
                bridge.renegotiated(Instant::now());
                match answer {
                    Ok(a) => self.ua(inbound).accept_reoffer(call, a, now),
                    Err(why) => {
                        info!(%why, browser, "bridge: a new offer refused");
                        self.ua(inbound).reject_reoffer(call, now);
                    }
                }
            }
            Event::OfferNeeded { call, hold } => {
                let offer = if browser {
                    match bridge.leg_mut(BROWSER) {
                        Leg::WebRtc(l) => l.create_reoffer(hold).ok(),
                        Leg::Rtp(_) => None,
                    }
                } else {
                    self.phone_origin.version += 1;
                    match bridge.leg(PHONE) {
                        Leg::Rtp(l) => Some(sdp::phone_reoffer(
                            phone_addr,
                            self.phone_origin,
                            l.formats(),
                            hold,
                        )),
                        Leg::WebRtc(_) => None,
                    }
                };
                match offer {
                    Some(o) => self.ua(inbound).send_offer(call, o, now),
                    None => warn!(browser, "bridge: no new offer could be made"),
                }
            }
            Event::Answered { sdp, .. } => {
                let result = if browser {
                    match bridge.leg_mut(BROWSER) {
                        Leg::WebRtc(l) => l.accept_answer(&sdp).map_err(|e| e.to_string()),
                        Leg::Rtp(_) => Ok(()),
                    }
                } else {
                    phone_moved(bridge, &sdp);
                    Ok(())
                };
                bridge.renegotiated(Instant::now());
                if let Err(why) = result {
                    warn!(%why, "bridge: the browser's answer to our new offer was not taken");
                }
            }
            Event::OfferFailed { .. } => {
                if browser && let Leg::WebRtc(l) = bridge.leg_mut(BROWSER) {
                    l.cancel_offer();
                }
            }
            Event::Hold { remote, .. } => {
                if self.held_by[side] != remote {
                    self.held_by[side] = remote;
                    info!(
                        browser,
                        held = remote,
                        "bridge: hold passed on to the other side"
                    );
                    // The other side is held by us while this one holds.
                    let other_inbound = !inbound;
                    let call = if other_inbound {
                        self.in_call
                    } else {
                        self.out_call
                    };
                    if let Some(call) = call {
                        if remote {
                            self.ua(other_inbound).hold(call, now);
                        } else {
                            self.ua(other_inbound).resume(call, now);
                        }
                    }
                }
                let held = self.held_by.iter().any(|h| *h);
                if let Some(b) = &mut self.bridge {
                    b.set_held(held, Instant::now());
                }
            }
            _ => {}
        }
    }

    fn ua(&mut self, inbound: bool) -> &mut UserAgent {
        if inbound {
            &mut self.inbound
        } else {
            &mut self.outbound
        }
    }

    /// A key pressed on one side (SIP INFO) goes to the other: RFC 4733 to a phone, INFO
    /// to a browser.
    fn key_from(&mut self, inbound: bool, digit: char) {
        let from_browser = inbound == self.caller_is_browser;
        if from_browser {
            let now = Instant::now();
            let star = self.last_key.take().is_some_and(|(k, at)| {
                k == '*' && now.duration_since(at) < Duration::from_millis(MOVE_KEYS_MS)
            });
            self.last_key = Some((digit, now));
            if star && digit == '8' {
                self.start_move();
            }
            if let Some(b) = &mut self.bridge {
                let _ = b.send_dtmf(PHONE, digit, Duration::from_millis(DTMF_MS), Instant::now());
            }
        } else {
            let now = self.now_ms();
            let (ua, call) = if inbound {
                (&mut self.outbound, self.out_call)
            } else {
                (&mut self.inbound, self.in_call)
            };
            if let Some(call) = call {
                ua.send_dtmf_info(call, digit, now);
            }
        }
    }

    /// *8 from the browser: calls the employee's mobile (the core finds it, from the call
    /// and the side the browser is on) with an offer of the codec this call carries.
    fn start_move(&mut self) {
        if self.moving.is_some() || self.moved || self.over {
            return;
        }
        let Some(bridge) = &self.bridge else {
            return;
        };
        let formats = match bridge.leg(PHONE) {
            Leg::Rtp(l) => l.formats().clone(),
            Leg::WebRtc(_) => return,
        };
        let Some((socket, port)) = self.shared.bind() else {
            warn!("*8: no free media port");
            return;
        };
        self.ports.push(port);
        let Ok(local) = socket.local_addr() else {
            return;
        };
        let offer = sdp::phone_reoffer(local, origin(), &formats, false);
        let mut cfg = UaConfig::new("move", "bridge.invalid", "");
        cfg.user_agent = "Centrala-Bridge".into();
        let mut ua = UserAgent::new(cfg, rand::random());
        ua.attach();
        let host = format!("h:{}", ua.via_host());
        self.shared.alias(&self.in_id, host.clone());
        let side = if self.caller_is_browser {
            "caller"
        } else {
            "callee"
        };
        // The Call-ID of the call we bridge, in hex: a Call-ID may hold characters a URI
        // parameter may not.
        let call_id = self.call_id.as_str();
        let target = format!(
            "sip:mobile@mobile.invalid;{}={};{}={side}",
            crate::core::MOVE_PARAM,
            crate::core::hex_param(call_id),
            crate::core::SIDE_PARAM
        );
        let now = self.now_ms();
        let call = ua.call(&target, offer, now);
        info!(side, "*8: calling the mobile");
        self.moving = Some(Box::new(Moving {
            ua,
            call,
            id: None,
            socket: Arc::new(socket),
            host,
        }));
    }

    /// What the call to the mobile did.
    fn on_mobile(&mut self, e: Event) {
        let now = self.now_ms();
        match e {
            Event::Answered { sdp, .. } if !self.moved => {
                if let Err(why) = self.complete_move(&sdp) {
                    warn!(%why, "*8: the mobile's answer cannot be bridged");
                    if let Some(m) = &mut self.moving {
                        m.ua.hangup(m.call, now);
                    }
                }
            }
            Event::Reoffer { call, .. } => {
                if let Some(m) = &mut self.moving {
                    m.ua.reject_reoffer(call, now);
                }
            }
            Event::Ended { status, .. } => {
                if self.over {
                    // Hung up by us, after the far end.
                } else if self.moved {
                    info!("*8: the mobile hung up");
                    let (ua, call) = if self.caller_is_browser {
                        (&mut self.outbound, self.out_call)
                    } else {
                        (&mut self.inbound, self.in_call)
                    };
                    if let Some(call) = call {
                        ua.hangup(call, now);
                    }
                    self.over();
                } else {
                    info!(
                        ?status,
                        "*8: the mobile did not take the call; it stays here"
                    );
                    // Its socket's port is returned with the others when the call ends.
                    if let Some(m) = self.moving.take() {
                        self.shared.unalias(&m.host);
                    }
                }
            }
            _ => {}
        }
    }

    /// The mobile answered: its leg takes the browser's place, the browser is hung up.
    fn complete_move(&mut self, answer: &str) -> Result<(), String> {
        let (stream, _) = sdp::answer_from_phone(answer).map_err(|r| r.status_line())?;
        let m = self.moving.as_ref().ok_or("no call to the mobile")?;
        let local = m.socket.local_addr().map_err(|e| e.to_string())?;
        let socket = m.socket.clone();
        let bridge = self.bridge.as_mut().ok_or("the call is over")?;
        let now = Instant::now();
        let mut rtp = RtpLeg::new(
            RtpLegConfig {
                local,
                ssrc: rand::random(),
            },
            now,
        );
        rtp.set_remote(stream.addr, stream.formats);
        bridge.replace_leg(BROWSER, Leg::Rtp(rtp), now);
        self.sockets[index(BROWSER)] = Some(socket);
        self.moved = true;
        let t = self.now_ms();
        let (ua, call) = if self.caller_is_browser {
            (&mut self.inbound, self.in_call)
        } else {
            (&mut self.outbound, self.out_call)
        };
        if let Some(call) = call {
            ua.hangup(call, t);
        }
        info!(target = %self.target, "*8: the call moved to the mobile");
        Ok(())
    }

    /// The far end hung up (or the call failed): the mobile's call goes too.
    fn hang_up_mobile(&mut self) {
        let now = self.now_ms();
        if let Some(m) = &mut self.moving {
            m.ua.hangup(m.call, now);
        }
    }

    /// Opens both media sockets and calls the device with an offer it understands.
    fn place_call(&mut self, offer: &str) -> Result<(), (u16, String)> {
        let busy = || (503, "Service Unavailable (no free media port)".to_string());
        for i in 0..2 {
            let (s, port) = self.shared.bind().ok_or_else(busy)?;
            self.ports.push(port);
            self.sockets[i] = Some(Arc::new(s));
        }
        let local = |i: usize| -> Result<SocketAddr, (u16, String)> {
            self.sockets[i]
                .as_ref()
                .and_then(|s| s.local_addr().ok())
                .ok_or_else(busy)
        };
        let (browser_addr, phone_addr) = (local(0)?, local(1)?);
        let our_offer = if self.caller_is_browser {
            // A carrier's trunk takes its own codecs (the core names them on the target).
            let carrier: Vec<Codec> = centrala_sip::message::Uri::parse(&self.target)
                .ok()
                .and_then(|u| {
                    u.params
                        .value(crate::core::CODECS_PARAM)
                        .map(|v| v.split('.').map(Codec::from_name).collect())
                })
                .unwrap_or_default();
            sdp::offer_for_carrier(offer, phone_addr, self.phone_origin, &carrier)
                .map_err(|r| (r.status(), r.status_line()))?
        } else {
            let (stream, codecs) =
                sdp::phone_offer(offer).map_err(|r| (r.status(), r.status_line()))?;
            self.phone_stream = Some(stream);
            let mut leg = WebRtcLeg::new(
                WebRtcConfig {
                    local: browser_addr,
                    codecs,
                },
                Instant::now(),
            )
            .map_err(|e| (500, format!("Server Internal Error ({e})")))?;
            let o = leg
                .create_offer()
                .map_err(|e| (500, format!("Server Internal Error ({e})")))?;
            self.pending_webrtc = Some(leg);
            o
        };
        let now = self.now_ms();
        info!(target = %self.target, browser_calls = self.caller_is_browser, "bridging a call");
        self.out_call = Some(self.outbound.call(&self.target, our_offer, now));
        Ok(())
    }

    /// The device answered: both legs are negotiated, the caller gets our answer and the
    /// bridge starts.
    fn answered(&mut self, answer: &str) -> Result<(), (u16, String)> {
        let now = Instant::now();
        let local = |i: usize| {
            self.sockets[i]
                .as_ref()
                .and_then(|s| s.local_addr().ok())
                .ok_or((500, "Server Internal Error (no media socket)".to_string()))
        };
        let (browser_addr, phone_addr) = (local(0)?, local(1)?);
        let bad = |e: centrala_media::MediaError| (488, format!("Not Acceptable Here ({e})"));
        let (webrtc, stream, ours) = if self.caller_is_browser {
            let (stream, codec) =
                sdp::answer_from_phone(answer).map_err(|r| (r.status(), r.status_line()))?;
            // The phone's codec when the browser has it (relayed), else Opus (transcoded).
            let codec = sdp::browser_codec(&self.offer, &codec)
                .map_err(|r| (r.status(), r.status_line()))?;
            let mut leg = WebRtcLeg::new(
                WebRtcConfig {
                    local: browser_addr,
                    codecs: vec![codec],
                },
                now,
            )
            .map_err(bad)?;
            let ours = leg.accept_offer(&self.offer, now).map_err(bad)?;
            (leg, stream, ours)
        } else {
            let mut leg = self
                .pending_webrtc
                .take()
                .ok_or((500, "Server Internal Error (no offer made)".to_string()))?;
            leg.accept_answer(answer).map_err(bad)?;
            let codec: Codec = leg
                .formats()
                .0
                .iter()
                .find(|f| f.codec.is_g711())
                .map(|f| f.codec.clone())
                .ok_or((
                    488,
                    "Not Acceptable Here (no G.711 in the answer)".to_string(),
                ))?;
            let ours = sdp::answer_for_phone(&self.offer, &codec, phone_addr, self.phone_origin)
                .map_err(|r| (r.status(), r.status_line()))?;
            let stream = self
                .phone_stream
                .take()
                .ok_or((500, "Server Internal Error".to_string()))?;
            (leg, stream, ours)
        };
        let mut rtp = RtpLeg::new(
            RtpLegConfig {
                local: phone_addr,
                ssrc: rand::random(),
            },
            now,
        );
        rtp.set_remote(stream.addr, stream.formats);
        let cfg = BridgeConfig {
            media_timeout: self.shared.cfg.timeout,
        };
        self.bridge = Some(Bridge::new(
            Leg::WebRtc(Box::new(webrtc)),
            Leg::Rtp(rtp),
            cfg,
            now,
        ));
        if let Some(call) = self.in_call {
            let t = self.now_ms();
            self.inbound.answer(call, ours, t);
        }
        let transcodes = self.bridge.as_ref().is_some_and(Bridge::transcodes);
        info!(target = %self.target, transcodes, "bridged call answered");
        Ok(())
    }

    fn end_both(&mut self) {
        let now = self.now_ms();
        if let Some(call) = self.in_call {
            self.inbound.hangup(call, now);
        }
        if let Some(call) = self.out_call {
            self.outbound.hangup(call, now);
        }
        self.over();
    }

    fn over(&mut self) {
        if !self.over {
            self.over = true;
            self.over_at = Some(Instant::now());
        }
        // No more relaying (nor a media timeout reported for a call already over) while
        // the user agents finish their transactions.
        self.bridge = None;
        self.bridge_at = None;
    }
}

/// Answers a phone's new offer in the call: the codec the bridge carries (on the phone's
/// payload types), from our address, its direction mirrored; the phone's new address is
/// taken unless it is the old-style hold address 0.0.0.0.
fn phone_reanswer(
    bridge: &mut Bridge,
    offer: &str,
    ours: SocketAddr,
    origin: Origin,
) -> Result<String, String> {
    let Leg::Rtp(leg) = bridge.leg(PHONE) else {
        return Err("not a phone leg".into());
    };
    let codec = leg
        .formats()
        .0
        .iter()
        .find(|f| f.codec.is_g711())
        .map(|f| f.codec.clone())
        .ok_or("no G.711 negotiated")?;
    let answer = sdp::answer_for_phone(offer, &codec, ours, origin).map_err(|r| r.status_line())?;
    let ours = sdp::audio_stream(&answer, sdp::Side::Phone).map_err(|r| r.status_line())?;
    let theirs = sdp::audio_stream(offer, sdp::Side::Phone).map_err(|r| r.status_line())?;
    if let Leg::Rtp(leg) = bridge.leg_mut(PHONE)
        && !theirs.addr.ip().is_unspecified()
    {
        leg.set_remote(theirs.addr, ours.formats);
    }
    Ok(answer)
}

/// The phone's answer to our new offer: its address may have changed.
fn phone_moved(bridge: &mut Bridge, answer: &str) {
    if let Ok(theirs) = sdp::audio_stream(answer, sdp::Side::Phone)
        && !theirs.addr.ip().is_unspecified()
        && let Leg::Rtp(leg) = bridge.leg_mut(PHONE)
    {
        let formats = leg.formats().clone();
        leg.set_remote(theirs.addr, formats);
    }
}

/// Sends what a user agent wrote to the core. (A free function: the call itself, which
/// holds libopus state when it transcodes, is `Send` but not `Sync`.)
async fn forward(shared: &Shared, text: &str) {
    match parse_datagram(text.as_bytes()) {
        Ok(m) => shared.send(m).await,
        Err(e) => warn!(error = %e, "bridge: our own message did not parse"),
    }
}

fn index(leg: LegId) -> usize {
    match leg {
        LegId::A => 0,
        LegId::B => 1,
    }
}

fn origin() -> Origin {
    Origin {
        session_id: rand::random::<u32>().into(),
        version: 1,
    }
}

/// A browser's offer (ICE and DTLS-SRTP) rather than a plain RTP one.
fn is_webrtc(sdp: &str) -> bool {
    sdp.contains("a=ice-ufrag") || sdp.contains("RTP/SAVPF")
}
