//! Back-pressure: the bound on events the application has not taken
//! (`NodeBuilder::max_events`), at which the inbox is no longer read, and
//! `Node::hold_events` for an application whose own output is full.

use super::Node;
use log::debug;
use std::time::Instant;

impl Node {
    /// Events received and not yet taken with [`Node::next_event`]. At
    /// [`NodeBuilder::max_events`](crate::NodeBuilder::max_events) the
    /// node stops reading its inbox until some are taken.
    pub fn queued_events(&self) -> usize {
        self.core.queued_events()
    }

    /// Says that the application takes no events for now (its own
    /// output is full, say): while held, [`Node::poll`] and
    /// [`Node::next_timeout`] no longer come back at once for queued
    /// events, only for I/O, timers and inbox messages still to read; the
    /// queue fills up to
    /// [`NodeBuilder::max_events`](crate::NodeBuilder::max_events), and
    /// then the inbox waits unread (back-pressure) while beacons and
    /// timers go on. `false` again once the application takes events.
    pub fn hold_events(&mut self, held: bool) {
        if self.events_held && !held {
            // The inbox may have waited: look at it in the next pass.
            self.settled = false;
        }
        self.events_held = held;
    }

    /// Tells the core when reading the inbox stops or resumes, so that
    /// peers whose messages wait unread are not judged silent meanwhile.
    pub(super) fn sync_reading_pause(&mut self, now: Instant) {
        let paused = self.inbox_paused();
        if paused != self.reading_paused {
            self.reading_paused = paused;
            debug!(
                "{} events not taken: {} reading the inbox",
                self.core.queued_events(),
                if paused { "stopped" } else { "resumed" }
            );
            self.core.set_reading_paused(now, paused);
        }
    }

    /// The most events received and not taken before the inbox waits
    /// unread ([`NodeBuilder::max_events`](crate::NodeBuilder::max_events)):
    /// a layer that moves events into a queue of its own (another thread's,
    /// say) bounds that queue by it too, or back-pressure stops there.
    pub fn max_events(&self) -> usize {
        self.settings.max_events
    }

    /// The queue of events is at its bound: the inbox waits unread.
    pub(super) fn inbox_paused(&self) -> bool {
        self.core.queued_events() >= self.settings.max_events
    }
}
