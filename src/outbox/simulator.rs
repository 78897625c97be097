//! The simulator channel's "provider": accepts every text and keeps it for the phone
//! simulator, so a new install shows the whole loop without an SMS account, and
//! caseworkers can train on it.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::send::{OutboundText, ProviderClient, SendFuture, SendOutcome};
use crate::clock::Timestamp;

/// Texts kept for the simulator page; older ones fall off.
const KEPT: usize = 500;

/// A text the simulator "delivered" to a simulated phone.
#[derive(Debug, Clone)]
pub struct SimulatedText {
    pub provider_message_id: String,
    /// The simulated phone's number as typed on the simulator page.
    pub to: String,
    pub body: String,
    pub at: Timestamp,
}

#[derive(Default)]
pub struct Simulator {
    delivered: Mutex<VecDeque<SimulatedText>>,
}

impl Simulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Texts sent to simulated phones, oldest first.
    pub fn delivered(&self) -> Vec<SimulatedText> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<SimulatedText>> {
        self.delivered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ProviderClient for Simulator {
    fn send<'a>(&'a self, text: OutboundText<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let provider_message_id = format!("SIM{}", uuid::Uuid::new_v4().simple());
            let mut delivered = self.lock();
            if delivered.len() == KEPT {
                delivered.pop_front();
            }
            delivered.push_back(SimulatedText {
                provider_message_id: provider_message_id.clone(),
                to: text.to.expose().to_owned(),
                body: text.body.to_owned(),
                at: crate::clock::Clock::system().now(),
            });
            SendOutcome::Accepted {
                provider_message_id,
            }
        })
    }
}
