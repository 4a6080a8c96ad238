//! The call history screen and the missed-calls badge. Pure, tested natively.

use crate::model::HistoryItem;

/// One page of `GET /api/v1/history`.
pub const PAGE: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryState {
    /// Newest first.
    pub items: Vec<HistoryItem>,
    pub loaded: bool,
    pub loading: bool,
    /// The last page was full: there may be older calls.
    pub more: bool,
    pub error: Option<String>,
    /// Missed calls not yet seen (the badge).
    pub missed_unseen: u64,
    /// The selected row (keyboard), by id.
    pub selected: Option<i64>,
}

impl HistoryState {
    /// A page arrived: the first one replaces the list, a later one (`append`) adds older
    /// calls (skipping any already shown).
    pub fn loaded(&mut self, items: Vec<HistoryItem>, missed_unseen: Option<u64>, append: bool) {
        self.more = items.len() >= PAGE;
        if append {
            for i in items {
                if !self.items.iter().any(|x| x.id == i.id) {
                    self.items.push(i);
                }
            }
        } else {
            self.items = items;
        }
        if let Some(n) = missed_unseen {
            self.missed_unseen = n;
        }
        self.loaded = true;
        self.loading = false;
        self.error = None;
        if self
            .selected
            .is_some_and(|id| !self.items.iter().any(|i| i.id == id))
        {
            self.selected = None;
        }
    }

    /// Where the next page starts (`before=`): the oldest call shown.
    pub fn before(&self) -> Option<i64> {
        self.items.last().map(|i| i.started_ms)
    }

    /// The badge's text: none at 0, "99+" above 99.
    pub fn badge(&self) -> Option<String> {
        match self.missed_unseen {
            0 => None,
            n if n > 99 => Some("99+".into()),
            n => Some(n.to_string()),
        }
    }

    /// An incoming call ended unanswered here (not declined by us): one more missed call,
    /// until the gateway's count replaces it.
    pub fn missed_live(&mut self) {
        self.missed_unseen += 1;
    }

    pub fn move_selection(&mut self, down: bool) {
        if self.items.is_empty() {
            return;
        }
        let at = self
            .selected
            .and_then(|id| self.items.iter().position(|i| i.id == id));
        let i = match (at, down) {
            (None, true) => 0,
            (None, false) => self.items.len() - 1,
            (Some(i), true) => (i + 1).min(self.items.len() - 1),
            (Some(i), false) => i.saturating_sub(1),
        };
        self.selected = Some(self.items[i].id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Direction, Outcome};

    fn item(id: i64, started_ms: i64, missed: bool) -> HistoryItem {
        HistoryItem {
            id,
            direction: Direction::Incoming,
            outcome: if missed {
                Outcome::Missed
            } else {
                Outcome::Answered
            },
            missed,
            peer_name: Some("Bartek Żak".into()),
            peer_number: "102".into(),
            peer_extension: Some("102".into()),
            started_ms,
            answered_ms: None,
            ended_ms: started_ms + 1000,
            duration_s: 0,
            ..HistoryItem::default()
        }
    }

    #[test]
    fn pages_replace_then_append() {
        let mut h = HistoryState {
            loading: true,
            ..HistoryState::default()
        };
        let first: Vec<_> = (0..PAGE as i64)
            .map(|i| item(100 - i, 1000 - i, false))
            .collect();
        h.loaded(first, Some(2), false);
        assert!(h.loaded && !h.loading && h.more);
        assert_eq!(h.missed_unseen, 2);
        assert_eq!(h.before(), Some(1000 - PAGE as i64 + 1));
        h.loaded(vec![item(51, 1, true), item(50, 0, false)], None, true);
        assert_eq!(h.items.len(), PAGE + 1, "the repeated one is skipped");
        assert!(!h.more);
        assert_eq!(h.missed_unseen, 2, "no count: unchanged");
        h.loaded(vec![item(7, 5, false)], Some(0), false);
        assert_eq!(h.items.len(), 1);
    }

    #[test]
    fn the_badge_counts_missed_calls_until_seen() {
        let mut h = HistoryState::default();
        assert_eq!(h.badge(), None);
        h.missed_live();
        h.missed_live();
        assert_eq!(h.badge().as_deref(), Some("2"));
        h.loaded(vec![], Some(3), false);
        assert_eq!(h.badge().as_deref(), Some("3"), "the gateway's count wins");
        h.missed_unseen = 120;
        assert_eq!(h.badge().as_deref(), Some("99+"));
        h.missed_unseen = 0;
        assert_eq!(h.badge(), None);
    }

    #[test]
    fn keyboard_selection_and_callback_targets() {
        let mut h = HistoryState::default();
        h.move_selection(true);
        assert_eq!(h.selected, None);
        h.loaded(vec![item(3, 30, true), item(2, 20, false)], None, false);
        h.move_selection(true);
        assert_eq!(h.selected, Some(3));
        h.move_selection(true);
        h.move_selection(true);
        assert_eq!(h.selected, Some(2));
        h.move_selection(false);
        assert_eq!(h.selected, Some(3));
        h.loaded(vec![item(9, 90, false)], None, false);
        assert_eq!(h.selected, None, "gone from the list");

        let mut i = item(1, 0, false);
        assert_eq!(i.callback_target(), "102");
        assert_eq!(i.peer_label(), "Bartek Żak");
        i.peer_extension = None;
        i.peer_name = None;
        i.peer_number = "+48601200300".into();
        assert_eq!(i.callback_target(), "+48601200300");
        assert_eq!(i.peer_label(), "+48601200300");
    }
}
