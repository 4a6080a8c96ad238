//! One table of typed deadlines (quinn's `connection/timer.rs`, in a heap): the core asks
//! "what is due?" instead of scanning every binding and proxy context each second.
//!
//! Entries are validated lazily: whoever owns the timed thing keeps its real deadline, and an
//! entry that fires early (the deadline moved later) is simply armed again by its owner. So
//! refreshing a registration pushes nothing, and the table holds about one entry per timed
//! thing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use centrala_sip::Instant;

/// A min-heap of `(deadline, what)`.
#[derive(Debug)]
pub struct Timers<T: Ord> {
    heap: BinaryHeap<Reverse<(Instant, T)>>,
}

impl<T: Ord> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            heap: BinaryHeap::new(),
        }
    }
}

impl<T: Ord> Timers<T> {
    /// Arms `what` at `at` (an earlier entry for the same thing stays and is ignored when it
    /// fires, if its owner says it is not due).
    pub fn arm(&mut self, at: Instant, what: T) {
        self.heap.push(Reverse((at, what)));
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// The next entry due at `now`, removed.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, T)> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(e)| e)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order_and_only_when_due() {
        let mut t = Timers::default();
        t.arm(30, "c");
        t.arm(10, "a");
        t.arm(20, "b");
        assert_eq!(t.next(), Some(10));
        assert_eq!(t.pop_due(9), None);
        assert_eq!(t.pop_due(25), Some((10, "a")));
        assert_eq!(t.pop_due(25), Some((20, "b")));
        assert_eq!(t.pop_due(25), None);
        assert_eq!(t.len(), 1);
    }
}
