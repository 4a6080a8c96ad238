//! Desktop notifications of incoming calls while the page is in the background: which calls
//! want one, and which shown ones must close (the call stopped ringing here).

use super::{Call, CallPhase};

/// Whether the browser may show notifications (`Notification.permission`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NotifyPermission {
    /// Not asked yet.
    #[default]
    Default,
    Granted,
    Denied,
    /// No Notification API or service workers here (an old browser, or not https).
    Unsupported,
}

impl NotifyPermission {
    /// From `Notification.permission`.
    pub fn parse(s: &str) -> NotifyPermission {
        match s {
            "granted" => NotifyPermission::Granted,
            "denied" => NotifyPermission::Denied,
            _ => NotifyPermission::Default,
        }
    }

    /// `#notify-state[data-state]`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyPermission::Default => "default",
            NotifyPermission::Granted => "granted",
            NotifyPermission::Denied => "denied",
            NotifyPermission::Unsupported => "unsupported",
        }
    }
}

/// A call ringing here, as its notification shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingingCall {
    pub handle: u64,
    /// The caller's name, when known.
    pub name: Option<String>,
    pub number: String,
}

/// The calls ringing here now (incoming, not being answered), for notifications.
pub fn ringing_calls(calls: &[Call]) -> Vec<RingingCall> {
    calls
        .iter()
        .filter(|c| c.phase == CallPhase::Incoming && !c.answering)
        .filter_map(|c| {
            Some(RingingCall {
                handle: c.handle?.0,
                name: c.peer_name().map(str::to_string),
                number: c.peer.clone(),
            })
        })
        .collect()
}

/// What to do with notifications when the ringing calls change from `shown` (those with a
/// notification) to `now`: the calls to notify (new ones, when `background`), and the
/// handles whose notification closes (they stopped ringing).
pub fn notification_changes(
    shown: &[u64],
    now: &[RingingCall],
    background: bool,
) -> (Vec<RingingCall>, Vec<u64>) {
    let show = if background {
        now.iter()
            .filter(|c| !shown.contains(&c.handle))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let close = shown
        .iter()
        .copied()
        .filter(|h| !now.iter().any(|c| c.handle == *h))
        .collect();
    (show, close)
}

/// The notification's tag for call `handle` (one notification per call).
pub fn tag(handle: u64) -> String {
    format!("centrala-call-{handle}")
}

/// What the user did with a call's notification, as the service worker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyAction {
    Answer,
    Decline,
    /// Clicked the notification itself: only bring the page forward.
    Open,
}

impl NotifyAction {
    pub fn parse(s: &str) -> NotifyAction {
        match s {
            "answer" => NotifyAction::Answer,
            "decline" => NotifyAction::Decline,
            _ => NotifyAction::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use centrala_sip::ua::CallHandle;

    fn ringing(h: u64) -> RingingCall {
        RingingCall {
            handle: h,
            name: None,
            number: format!("10{h}"),
        }
    }

    #[test]
    fn only_incoming_calls_not_being_answered_ring() {
        let mut a = Call::new("101".into(), CallPhase::Incoming);
        a.handle = Some(CallHandle(1));
        a.peer_display = Some("Anna".into());
        let mut b = a.clone();
        b.handle = Some(CallHandle(2));
        b.answering = true;
        let mut c = a.clone();
        c.handle = Some(CallHandle(3));
        c.phase = CallPhase::Connected;
        let r = ringing_calls(&[a, b, c]);
        assert_eq!(
            r,
            [RingingCall {
                handle: 1,
                name: Some("Anna".into()),
                number: "101".into()
            }]
        );
    }

    #[test]
    fn new_calls_notify_in_the_background_and_gone_ones_close() {
        let (show, close) = notification_changes(&[], &[ringing(1)], true);
        assert_eq!((show, close), (vec![ringing(1)], vec![]));
        let (show, close) = notification_changes(&[], &[ringing(1)], false);
        assert!(
            show.is_empty() && close.is_empty(),
            "in front: the page itself rings"
        );
        let (show, close) = notification_changes(&[1], &[ringing(1), ringing(2)], true);
        assert_eq!((show, close), (vec![ringing(2)], vec![]), "once per call");
        let (show, close) = notification_changes(&[1, 2], &[ringing(2)], false);
        assert_eq!((show, close), (vec![], vec![1]), "1 stopped ringing");
        assert_eq!(tag(7), "centrala-call-7");
    }

    #[test]
    fn permissions_and_actions_from_the_browser() {
        assert_eq!(
            NotifyPermission::parse("granted"),
            NotifyPermission::Granted
        );
        assert_eq!(NotifyPermission::parse("denied"), NotifyPermission::Denied);
        assert_eq!(
            NotifyPermission::parse("default"),
            NotifyPermission::Default
        );
        assert_eq!(NotifyPermission::Unsupported.as_str(), "unsupported");
        assert_eq!(NotifyAction::parse("answer"), NotifyAction::Answer);
        assert_eq!(NotifyAction::parse("decline"), NotifyAction::Decline);
        assert_eq!(NotifyAction::parse(""), NotifyAction::Open);
    }
}
