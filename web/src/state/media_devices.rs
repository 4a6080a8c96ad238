//! Choosing the microphone, camera, speaker and ringtone output: the browser's device list
//! (`enumerateDevices`) as plain data, and what the user chose (kept in this browser).

/// What a device is for, and which of the user's choices it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Microphone,
    Camera,
    Speaker,
    /// The output the ringtone plays on (a speaker too, chosen apart: ring loud, talk in
    /// a headset).
    Ringer,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 4] = [
        DeviceKind::Microphone,
        DeviceKind::Camera,
        DeviceKind::Speaker,
        DeviceKind::Ringer,
    ];

    /// `MediaDeviceInfo.kind` of the devices that fit.
    pub fn browser_kind(self) -> &'static str {
        match self {
            DeviceKind::Microphone => "audioinput",
            DeviceKind::Camera => "videoinput",
            DeviceKind::Speaker | DeviceKind::Ringer => "audiooutput",
        }
    }

    /// The key in `localStorage` and the select's id (`#mic-select`…).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Microphone => "mic",
            DeviceKind::Camera => "camera",
            DeviceKind::Speaker => "speaker",
            DeviceKind::Ringer => "ringtone",
        }
    }
}

/// One device as `enumerateDevices` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDevice {
    /// `audioinput`, `videoinput` or `audiooutput`.
    pub kind: String,
    pub id: String,
    /// Empty until the page was allowed the microphone or camera once.
    pub label: String,
}

/// The devices the browser lists, and whether it names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceList {
    pub devices: Vec<MediaDevice>,
    /// The list was read at least once.
    pub loaded: bool,
}

impl DeviceList {
    pub fn new(devices: Vec<MediaDevice>) -> DeviceList {
        DeviceList {
            devices,
            loaded: true,
        }
    }

    /// The devices for `kind`, each with the words to show: its label, or "Microphone 2"
    /// (`unnamed` with the number) while the browser hides labels. The browser's own
    /// "default" and "communications" aliases are left out: the "Default" entry of the
    /// select stands for them.
    pub fn choices(&self, kind: DeviceKind, unnamed: &str) -> Vec<(String, String)> {
        self.devices
            .iter()
            .filter(|d| d.kind == kind.browser_kind())
            .filter(|d| !d.id.is_empty() && d.id != "default" && d.id != "communications")
            .enumerate()
            .map(|(i, d)| {
                let label = if d.label.trim().is_empty() {
                    format!("{unnamed} {}", i + 1)
                } else {
                    d.label.clone()
                };
                (d.id.clone(), label)
            })
            .collect()
    }

    /// The browser hides the devices' names and ids until the page is allowed the
    /// microphone or camera: the user should be offered to allow that.
    pub fn needs_permission(&self) -> bool {
        self.loaded
            && self
                .devices
                .iter()
                .filter(|d| d.kind != "audiooutput")
                .any(|d| d.label.is_empty() || d.id.is_empty())
    }
}

/// The user's choice per kind: a device id, or `None` for the browser's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceChoices {
    pub microphone: Option<String>,
    pub camera: Option<String>,
    pub speaker: Option<String>,
    pub ringer: Option<String>,
}

impl DeviceChoices {
    pub fn get(&self, kind: DeviceKind) -> Option<&str> {
        match kind {
            DeviceKind::Microphone => self.microphone.as_deref(),
            DeviceKind::Camera => self.camera.as_deref(),
            DeviceKind::Speaker => self.speaker.as_deref(),
            DeviceKind::Ringer => self.ringer.as_deref(),
        }
    }

    /// Sets one choice; an empty id is the default.
    pub fn set(&mut self, kind: DeviceKind, id: Option<String>) {
        let id = id.filter(|i| !i.is_empty());
        match kind {
            DeviceKind::Microphone => self.microphone = id,
            DeviceKind::Camera => self.camera = id,
            DeviceKind::Speaker => self.speaker = id,
            DeviceKind::Ringer => self.ringer = id,
        }
    }
}

/// Something about devices the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceNotice {
    /// The chosen device of this kind is gone: the default one is used.
    Gone(DeviceKind),
    /// Switching to the chosen device failed during a call: the call keeps the one it had.
    SwitchFailed(DeviceKind, crate::model::MediaError),
    /// The chosen speaker could not be used (the browser's words): the call plays on the
    /// default output.
    SpeakerFailed(String),
    /// The user refused the microphone and camera, so the browser names no device.
    Denied,
    /// The browser lists no devices here (not https, or too old).
    Unsupported,
}

/// What this browser offers and the user chose for calls here: devices, outputs,
/// notifications. Kept across logins (it belongs to the browser, not the account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSettings {
    pub devices: DeviceList,
    pub choices: DeviceChoices,
    pub notice: Option<DeviceNotice>,
    /// Media elements have `setSinkId` (a speaker can be chosen).
    pub can_pick_speaker: bool,
    /// `AudioContext` has `setSinkId` (the ringtone's output can be chosen).
    pub can_pick_ringer: bool,
    pub notify: super::notify::NotifyPermission,
}

impl Default for BrowserSettings {
    fn default() -> BrowserSettings {
        BrowserSettings {
            devices: DeviceList::default(),
            choices: DeviceChoices::default(),
            notice: None,
            can_pick_speaker: true,
            can_pick_ringer: true,
            notify: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(kind: &str, id: &str, label: &str) -> MediaDevice {
        MediaDevice {
            kind: kind.into(),
            id: id.into(),
            label: label.into(),
        }
    }

    #[test]
    fn choices_per_kind_without_the_default_aliases() {
        let list = DeviceList::new(vec![
            dev("audioinput", "default", "Default"),
            dev("audioinput", "a1", "Fake Default Audio Input"),
            dev("audioinput", "a2", "fake_audio_input_1"),
            dev("videoinput", "v1", "fake_device_0"),
            dev("audiooutput", "communications", "Communications"),
            dev("audiooutput", "o1", "Fake Audio Output 1"),
        ]);
        assert_eq!(
            list.choices(DeviceKind::Microphone, "Mic"),
            [
                ("a1".to_string(), "Fake Default Audio Input".to_string()),
                ("a2".to_string(), "fake_audio_input_1".to_string())
            ]
        );
        assert_eq!(list.choices(DeviceKind::Camera, "Cam").len(), 1);
        assert_eq!(
            list.choices(DeviceKind::Speaker, "Out"),
            list.choices(DeviceKind::Ringer, "Out")
        );
        assert!(!list.needs_permission());
    }

    #[test]
    fn unnamed_devices_ask_for_permission_and_get_numbers() {
        let list = DeviceList::new(vec![
            dev("audioinput", "x", ""),
            dev("audioinput", "y", ""),
            dev("audiooutput", "o", ""),
        ]);
        assert!(list.needs_permission());
        assert_eq!(
            list.choices(DeviceKind::Microphone, "Microphone")[1].1,
            "Microphone 2"
        );
        // Before permission Chromium lists each kind once with an empty id.
        let hidden = DeviceList::new(vec![dev("audioinput", "", "")]);
        assert!(hidden.needs_permission());
        assert!(hidden.choices(DeviceKind::Microphone, "M").is_empty());
        assert!(!DeviceList::default().needs_permission(), "not read yet");
    }

    #[test]
    fn a_choice_per_kind_and_empty_is_the_default() {
        let mut c = DeviceChoices::default();
        c.set(DeviceKind::Microphone, Some("a2".into()));
        c.set(DeviceKind::Ringer, Some("o1".into()));
        assert_eq!(c.get(DeviceKind::Microphone), Some("a2"));
        assert_eq!(c.get(DeviceKind::Ringer), Some("o1"));
        assert_eq!(c.get(DeviceKind::Speaker), None);
        c.set(DeviceKind::Microphone, Some(String::new()));
        assert_eq!(c.get(DeviceKind::Microphone), None);
        let keys: Vec<_> = DeviceKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["mic", "camera", "speaker", "ringtone"]);
    }

    #[test]
    fn the_reducer_keeps_browser_settings_across_logins_and_clears_stale_notices() {
        use crate::model::MediaError;
        use crate::state::notify::NotifyPermission;
        use crate::state::{Action, AppState};
        let mut s = AppState::new(None);
        s.apply(Action::ShowLogin);
        s.apply(Action::DeviceChosen(
            DeviceKind::Microphone,
            Some("a2".into()),
        ));
        s.apply(Action::NotifyPermission(NotifyPermission::Granted));
        s.apply(Action::DeviceNotice(Some(DeviceNotice::Gone(
            DeviceKind::Microphone,
        ))));
        // Choosing another camera leaves the microphone's notice; choosing a microphone
        // clears it.
        s.apply(Action::DeviceChosen(DeviceKind::Camera, None));
        assert_eq!(
            s.browser.notice,
            Some(DeviceNotice::Gone(DeviceKind::Microphone))
        );
        s.apply(Action::DeviceChosen(
            DeviceKind::Microphone,
            Some("a1".into()),
        ));
        assert_eq!(s.browser.notice, None);
        let failed =
            DeviceNotice::SwitchFailed(DeviceKind::Camera, MediaError::InUse { video: true });
        s.apply(Action::DeviceNotice(Some(failed)));
        s.apply(Action::DeviceChosen(DeviceKind::Camera, Some("v1".into())));
        assert_eq!(s.browser.notice, None);
        // A list with names ends the "denied" notice.
        s.apply(Action::DeviceNotice(Some(DeviceNotice::Denied)));
        s.apply(Action::DevicesListed(DeviceList::new(vec![dev(
            "audioinput",
            "a1",
            "Mic",
        )])));
        assert_eq!(s.browser.notice, None);
        assert!(s.browser.devices.loaded);
        // The browser's settings are the browser's: kept through a logout.
        let kept = s.browser.clone();
        s.apply(Action::SignedIn(me()));
        s.apply(Action::Logout);
        assert_eq!(s.browser, kept);
        assert_eq!(s.browser.choices.get(DeviceKind::Microphone), Some("a1"));
        assert_eq!(s.browser.notify, NotifyPermission::Granted);
    }

    fn me() -> crate::model::Me {
        use crate::model::{Company, Employee, Me};
        Me {
            employee: Employee {
                id: 1,
                name: "Alice".into(),
                email: "a@example.com".into(),
                extension: "101".into(),
                number: None,
                role: "user".into(),
                app_access: true,
                invite_state: "active".into(),
            },
            company: Company {
                id: 1,
                name: "Acme".into(),
                domain: "acme.example".into(),
            },
            presence: None,
            language: None,
        }
    }
}
