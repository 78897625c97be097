//! Live updates: a broadcast of "something changed" signals that open caseworker pages
//! listen to (over server-sent events), so a new texter appears without a reload.
//!
//! Signals carry no content, only what kind of thing changed; pages fetch what they show.

use tokio::sync::broadcast;

/// How many signals a slow listener may fall behind before it skips to the newest.
const BACKLOG: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveEvent {
    /// A ticket was created, changed priority, or got a new text.
    QueueChanged,
}

#[derive(Clone)]
pub struct LiveUpdates {
    sender: broadcast::Sender<LiveEvent>,
}

impl LiveUpdates {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
        }
    }

    pub fn publish_queue_changed(&self) {
        // No listener is not an error: nobody has a page open.
        let _ = self.sender.send(LiveEvent::QueueChanged);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }
}

impl Default for LiveUpdates {
    fn default() -> Self {
        Self::new()
    }
}
