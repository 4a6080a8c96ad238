//! The voicemail page: one's messages (new / heard, play, download, delete) and greetings
//! per situation (record, listen, remove). Pure, tested natively; the component
//! ([`crate::components::voicemail`]) does the requests.

use wasm_bindgen::JsValue;

/// Why a call went to voicemail, which also picks the greeting (the API's names).
pub const SITUATIONS: [&str; 4] = ["default", "busy", "no_answer", "offline"];

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub caller: String,
    pub caller_name: Option<String>,
    pub situation: String,
    /// RFC 3339.
    pub received_at: String,
    pub duration_ms: i64,
    pub heard: bool,
}

/// One recorded greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreetingInfo {
    pub situation: String,
    pub duration_ms: i64,
    /// Changes with each new recording (to reload the player).
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VoicemailState {
    pub messages: Vec<Message>,
    pub greetings: Vec<GreetingInfo>,
    pub loaded: bool,
    /// Why loading or a change failed, in words.
    pub error: Option<String>,
    /// The situation whose greeting is being recorded.
    pub recording: Option<String>,
    /// A greeting is being converted and uploaded.
    pub saving: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoicemailAction {
    Loaded {
        messages: Vec<Message>,
        greetings: Vec<GreetingInfo>,
    },
    Failed(String),
    Heard(i64, bool),
    Deleted(i64),
    RecordingStarted(String),
    /// Recording stopped: converting and uploading.
    Saving,
    GreetingSaved(GreetingInfo),
    GreetingRemoved(String),
}

impl VoicemailState {
    pub fn apply(&mut self, a: VoicemailAction) {
        match a {
            VoicemailAction::Loaded {
                messages,
                greetings,
            } => {
                self.messages = messages;
                self.greetings = greetings;
                self.loaded = true;
                self.error = None;
            }
            VoicemailAction::Failed(e) => {
                self.error = Some(e);
                self.recording = None;
                self.saving = false;
            }
            VoicemailAction::Heard(id, heard) => {
                if let Some(m) = self.messages.iter_mut().find(|m| m.id == id) {
                    m.heard = heard;
                }
            }
            VoicemailAction::Deleted(id) => self.messages.retain(|m| m.id != id),
            VoicemailAction::RecordingStarted(s) => {
                self.recording = Some(s);
                self.error = None;
            }
            VoicemailAction::Saving => {
                self.saving = true;
            }
            VoicemailAction::GreetingSaved(g) => {
                self.greetings.retain(|x| x.situation != g.situation);
                self.greetings.push(g);
                self.recording = None;
                self.saving = false;
            }
            VoicemailAction::GreetingRemoved(s) => self.greetings.retain(|g| g.situation != s),
        }
    }

    /// Messages not heard yet.
    pub fn new_count(&self) -> usize {
        self.messages.iter().filter(|m| !m.heard).count()
    }

    pub fn greeting(&self, situation: &str) -> Option<&GreetingInfo> {
        self.greetings.iter().find(|g| g.situation == situation)
    }
}

fn text(v: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(v, &JsValue::from_str(key))
        .ok()
        .and_then(|x| x.as_string())
}

fn num(v: &JsValue, key: &str) -> Option<i64> {
    js_sys::Reflect::get(v, &JsValue::from_str(key))
        .ok()
        .and_then(|x| x.as_f64())
        .map(|f| f as i64)
}

fn array(v: &JsValue, key: &str) -> Vec<JsValue> {
    js_sys::Reflect::get(v, &JsValue::from_str(key))
        .ok()
        .filter(js_sys::Array::is_array)
        .map(|a| js_sys::Array::from(&a).iter().collect())
        .unwrap_or_default()
}

/// `GET /me/voicemail`'s messages.
pub fn messages_of(body: &JsValue) -> Vec<Message> {
    array(body, "items")
        .iter()
        .filter_map(|m| {
            Some(Message {
                id: num(m, "id")?,
                caller: text(m, "caller")?,
                caller_name: text(m, "caller_name"),
                situation: text(m, "situation").unwrap_or_default(),
                received_at: text(m, "received_at").unwrap_or_default(),
                duration_ms: num(m, "duration_ms").unwrap_or(0),
                heard: js_sys::Reflect::get(m, &JsValue::from_str("heard"))
                    .ok()
                    .and_then(|h| h.as_bool())
                    .unwrap_or(false),
            })
        })
        .collect()
}

/// A greeting as the API gives it.
pub fn greeting_of(g: &JsValue) -> Option<GreetingInfo> {
    Some(GreetingInfo {
        situation: text(g, "situation")?,
        duration_ms: num(g, "duration_ms").unwrap_or(0),
        updated_at: text(g, "updated_at").unwrap_or_default(),
    })
}

/// `GET /me/greetings`'s greetings.
pub fn greetings_of(body: &JsValue) -> Vec<GreetingInfo> {
    array(body, "greetings")
        .iter()
        .filter_map(greeting_of)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: i64, heard: bool) -> Message {
        Message {
            id,
            caller: "102".into(),
            caller_name: None,
            situation: "busy".into(),
            received_at: String::new(),
            duration_ms: 1000,
            heard,
        }
    }

    #[test]
    fn messages_count_new_and_follow_changes() {
        let mut s = VoicemailState::default();
        s.apply(VoicemailAction::Loaded {
            messages: vec![msg(1, false), msg(2, true), msg(3, false)],
            greetings: vec![],
        });
        assert_eq!(s.new_count(), 2);
        s.apply(VoicemailAction::Heard(1, true));
        assert_eq!(s.new_count(), 1);
        s.apply(VoicemailAction::Deleted(3));
        assert_eq!(s.new_count(), 0);
        assert_eq!(s.messages.len(), 2);
    }

    #[test]
    fn recording_a_greeting_replaces_the_old_one_and_a_failure_ends_recording() {
        let mut s = VoicemailState::default();
        s.apply(VoicemailAction::RecordingStarted("busy".into()));
        assert_eq!(s.recording.as_deref(), Some("busy"));
        s.apply(VoicemailAction::Saving);
        let g = |d| GreetingInfo {
            situation: "busy".into(),
            duration_ms: d,
            updated_at: String::new(),
        };
        s.apply(VoicemailAction::GreetingSaved(g(1000)));
        s.apply(VoicemailAction::GreetingSaved(g(2000)));
        assert_eq!(s.greetings.len(), 1);
        assert_eq!(s.greeting("busy").unwrap().duration_ms, 2000);
        assert!(s.recording.is_none() && !s.saving);
        s.apply(VoicemailAction::RecordingStarted("offline".into()));
        s.apply(VoicemailAction::Failed("microphone refused".into()));
        assert!(s.recording.is_none());
        assert_eq!(s.error.as_deref(), Some("microphone refused"));
        s.apply(VoicemailAction::GreetingRemoved("busy".into()));
        assert!(s.greeting("busy").is_none());
    }
}
