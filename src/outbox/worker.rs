//! The outbox worker: the only code that calls a provider's send API.
//!
//! One loop per channel claims due texts (conversation lane first), checks the sending
//! gates again at send time, waits for the channel's pace, sends, and records what
//! happened. The attempt is recorded when the text is claimed, before the provider is
//! called, so a crash mid-send leaves the text `sending`; on the next start such texts are
//! marked `unknown` and shown, never resent blindly.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::pacing::Pacer;
use super::retry::{NextStep, RetryPolicy};
use super::send::{OutboundText, ProviderClient, SendOutcome};
use crate::channels::{Channel, ChannelSet};
use crate::clock::{Clock, Timestamp};
use crate::privacy::seal::{SealedField, WrappedDataKey};
use crate::privacy::vault::{Field, Vault};
use crate::providers::ProviderKind;
use crate::store::{ClaimedText, ContactRecord, Store, StoreError};

/// How long a channel's loop sleeps when nothing is due and nobody wakes it.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Retryable failures in a row after which conversation texts go to the fallback channel.
const FAILOVER_AFTER: u32 = 3;
/// How long a misconfigured channel waits before it tries again.
const PAUSE_ON_MISCONFIGURATION: Duration = Duration::from_secs(5 * 60);
/// The most texts one claim takes.
const MAX_BATCH: i64 = 50;
/// How often a shared database is swept for sends that another node abandoned.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// What the worker needs; cheap to clone into each channel's loop.
#[derive(Clone)]
pub struct OutboxWorker {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    vault: Arc<Vault>,
    clock: Clock,
    channels: Arc<ChannelSet>,
    clients: HashMap<String, Arc<dyn ProviderClient>>,
    pacers: HashMap<String, Arc<Pacer>>,
    health: HashMap<String, ChannelHealth>,
    wakeup: Arc<Notify>,
    retry: RetryPolicy,
    worker_id: String,
    public_url: String,
}

#[derive(Default)]
struct ChannelHealth {
    consecutive_failures: AtomicU32,
    paused: AtomicBool,
}

/// Why a text was not sent, as stored (no personal data).
enum Gate {
    Send,
    Cancel(&'static str),
    Expire,
    Wait(Timestamp),
}

impl OutboxWorker {
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        clock: Clock,
        channels: Arc<ChannelSet>,
        clients: HashMap<String, Arc<dyn ProviderClient>>,
        wakeup: Arc<Notify>,
        public_url: String,
    ) -> Self {
        let pacers = channels
            .iter()
            .map(|channel| {
                let pacer = Pacer::new(channel.rate_per_second, channel.max_concurrent_requests);
                (channel.name.clone(), Arc::new(pacer))
            })
            .collect();
        let health = channels
            .iter()
            .map(|channel| (channel.name.clone(), ChannelHealth::default()))
            .collect();
        Self {
            inner: Arc::new(Inner {
                store,
                vault,
                clock,
                channels,
                clients,
                pacers,
                health,
                wakeup,
                retry: RetryPolicy::default(),
                worker_id: format!("worker-{}", uuid::Uuid::new_v4().simple()),
                public_url,
            }),
        }
    }

    /// Marks texts left `sending` by an earlier run as `unknown`. `claimed_before` should
    /// exclude sends another live node may still be making.
    pub async fn reconcile_interrupted(
        &self,
        claimed_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let now = self.inner.clock.now();
        let marked = self
            .inner
            .store
            .mark_interrupted_sends(claimed_before, now)
            .await?;
        if marked > 0 {
            tracing::warn!(
                outbox.unknown = marked,
                "texts were mid-send when Textline stopped; marked unknown, not resent"
            );
        }
        Ok(marked)
    }

    /// Runs one loop per channel until `stop` turns true; in-flight sends finish first.
    /// With `sweep_stale_after`, also marks `unknown`, every few seconds, texts left
    /// `sending` for longer than that: on a database several nodes share, a node that stops
    /// mid-send leaves texts that only a sweep finds, since a start reconciles only texts
    /// claimed long enough before it.
    pub fn spawn(
        &self,
        stop: watch::Receiver<bool>,
        sweep_stale_after: Option<Duration>,
    ) -> JoinSet<()> {
        let mut loops = JoinSet::new();
        for channel in self.inner.channels.iter() {
            let worker = self.clone();
            let name = channel.name.clone();
            let stop = stop.clone();
            loops.spawn(async move { worker.run_channel(&name, stop).await });
        }
        if let Some(stale_after) = sweep_stale_after {
            let worker = self.clone();
            loops.spawn(async move { worker.sweep_interrupted(stale_after, stop).await });
        }
        loops
    }

    async fn sweep_interrupted(&self, stale_after: Duration, mut stop: watch::Receiver<bool>) {
        let stale_after = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
        loop {
            tokio::select! {
                () = tokio::time::sleep(SWEEP_EVERY) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            let before = Timestamp(self.inner.clock.now().millis().saturating_sub(stale_after));
            if let Err(error) = self.reconcile_interrupted(before).await {
                tracing::warn!(error = %error, "outbox sweep for interrupted sends failed");
            }
        }
    }

    async fn run_channel(&self, name: &str, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let sent = match self.send_due(name).await {
                Ok(sent) => sent,
                Err(error) => {
                    tracing::warn!(channel.name = name, error = %error, "outbox claim failed");
                    0
                }
            };
            if sent == 0 {
                let wakeup = self.inner.wakeup.notified();
                tokio::select! {
                    () = wakeup => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Claims and sends one batch of due texts for a channel; returns how many it handled.
    pub async fn send_due(&self, name: &str) -> Result<usize, StoreError> {
        let inner = &self.inner;
        let (Some(channel), Some(pacer)) = (inner.channels.get(name), inner.pacers.get(name))
        else {
            return Ok(0);
        };
        if inner.health[name].paused.load(Ordering::SeqCst) {
            return Ok(0);
        }
        let batch = (channel.rate_per_second.ceil() as i64).clamp(1, MAX_BATCH);
        let now = inner.clock.now();
        let claimed = inner
            .store
            .claim_due(name, &inner.worker_id, now, batch)
            .await?;
        let count = claimed.len();

        let mut sends = JoinSet::new();
        for text in claimed {
            let permit = pacer
                .wait_for(u32::try_from(text.segments).unwrap_or(1))
                .await;
            let worker = self.clone();
            let name = name.to_owned();
            sends.spawn(async move {
                let _permit = permit;
                if let Err(error) = worker.process(&name, text).await {
                    tracing::error!(channel.name = %name, error = %error, "outbox send not recorded");
                }
            });
        }
        while sends.join_next().await.is_some() {}
        Ok(count)
    }

    async fn process(&self, name: &str, text: ClaimedText) -> Result<(), StoreError> {
        let inner = &self.inner;
        let channel = inner
            .channels
            .get(name)
            .expect("claimed texts belong to a known channel");
        let now = inner.clock.now();
        let contact = inner.store.find_contact_by_id(text.contact_id).await?;

        match check_gates(channel, &text, contact.as_ref(), now) {
            Gate::Send => {}
            Gate::Cancel(reason) => {
                return inner
                    .store
                    .mark_finished(&text, "cancelled", reason, now)
                    .await;
            }
            Gate::Expire => {
                inner
                    .store
                    .mark_finished(&text, "expired", "too late to send safely", now)
                    .await?;
                if let Some(ticket_id) = text.ticket_id {
                    inner
                        .store
                        .add_ticket_event(ticket_id, "reply.expired", now)
                        .await?;
                }
                return Ok(());
            }
            Gate::Wait(until) => {
                return inner
                    .store
                    .mark_retry(
                        text.id,
                        until,
                        "waiting for the texter's quiet hours to end",
                    )
                    .await;
            }
        }

        let Some((number, body)) = self.open(&text, contact.as_ref()) else {
            return inner
                .store
                .mark_finished(&text, "failed", "sealed text could not be opened", now)
                .await;
        };
        let client = inner.clients.get(name).expect("every channel has a client");
        let callback = (channel.provider == ProviderKind::Twilio).then(|| {
            format!(
                "{}/webhooks/{}/{}/status",
                inner.public_url, channel.provider, channel.name
            )
        });
        let outcome = client
            .send(OutboundText {
                to: &number,
                from: &channel.from,
                body: &body,
                status_callback: callback.as_deref(),
                reference: format!("tl-{}", text.id),
            })
            .await;
        self.record(channel, &text, outcome).await
    }

    async fn record(
        &self,
        channel: &Channel,
        text: &ClaimedText,
        outcome: SendOutcome,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let health = &inner.health[&channel.name];
        match outcome {
            SendOutcome::Accepted {
                provider_message_id,
            } => {
                health.consecutive_failures.store(0, Ordering::SeqCst);
                inner
                    .store
                    .mark_sent(text, &provider_message_id, now)
                    .await?;
                if channel.provider == ProviderKind::Simulator {
                    inner
                        .store
                        .apply_delivery_status(
                            &channel.name,
                            &provider_message_id,
                            "delivered",
                            2,
                            None,
                        )
                        .await?;
                }
                tracing::info!(channel.name = %channel.name, outbox.id = text.id, outbox.attempt = text.attempts, "text sent");
            }
            SendOutcome::Retry { after, reason } => {
                let failures = health.consecutive_failures.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some(fallback) = channel
                    .fallback
                    .as_deref()
                    .filter(|_| failures >= FAILOVER_AFTER && text.lane == 0)
                {
                    tracing::warn!(channel.name = %channel.name, fallback, outbox.id = text.id, "failing over");
                    return inner.store.reroute(text.id, fallback, now).await;
                }
                let attempts = u32::try_from(text.attempts).unwrap_or(u32::MAX);
                match inner
                    .retry
                    .next_step(attempts, after, now, text.expires_at.map(Timestamp))
                {
                    NextStep::RetryAt(at) => {
                        tracing::warn!(channel.name = %channel.name, outbox.id = text.id, outbox.attempt = attempts, reason, "send failed; will retry");
                        inner.store.mark_retry(text.id, at, &reason).await?;
                    }
                    NextStep::GiveUp => {
                        tracing::warn!(channel.name = %channel.name, outbox.id = text.id, reason, "send failed; giving up");
                        inner
                            .store
                            .mark_finished(text, "failed", &reason, now)
                            .await?;
                        if let Some(ticket_id) = text.ticket_id {
                            inner
                                .store
                                .add_ticket_event(ticket_id, "reply.failed", now)
                                .await?;
                        }
                    }
                }
            }
            SendOutcome::Permanent { reason, opted_out } => {
                inner
                    .store
                    .mark_finished(text, "failed", &reason, now)
                    .await?;
                if opted_out {
                    inner.store.mark_opted_out(text.contact_id, now).await?;
                }
                if let Some(ticket_id) = text.ticket_id {
                    inner
                        .store
                        .add_ticket_event(ticket_id, "reply.failed", now)
                        .await?;
                }
                tracing::info!(channel.name = %channel.name, outbox.id = text.id, reason, "send refused for good");
            }
            SendOutcome::Misconfigured { reason } => {
                health.paused.store(true, Ordering::SeqCst);
                inner
                    .store
                    .mark_retry(text.id, now.plus(PAUSE_ON_MISCONFIGURATION), &reason)
                    .await?;
                tracing::error!(channel.name = %channel.name, reason, "channel misconfigured; paused until an admin fixes it and restarts");
            }
        }
        Ok(())
    }

    /// The number and body, opened with the text's own key or its contact's.
    fn open(
        &self,
        text: &ClaimedText,
        contact: Option<&ContactRecord>,
    ) -> Option<(crate::privacy::phone::PhoneNumber, String)> {
        let (wrapped, sealed_number) = match (
            &text.own_key_id,
            &text.own_wrapped_key,
            &text.own_sealed_number,
        ) {
            (Some(key_id), Some(wrapped), Some(number)) => (
                WrappedDataKey {
                    key_id: key_id.clone(),
                    ciphertext: wrapped.clone(),
                },
                SealedField::from_bytes(number.clone()),
            ),
            _ => {
                let contact = contact?;
                (contact.wrapped_key()?, contact.sealed_number()?)
            }
        };
        let key = self.inner.vault.contact_key(&wrapped).ok()?;
        let number = key.open_number(&sealed_number).ok()?;
        let body = key
            .open_text(
                Field::OutboxBody,
                &SealedField::from_bytes(text.sealed_body.clone()?),
            )
            .ok()?;
        Some((number, body.to_string()))
    }
}

/// The sending gates, checked at send time, not only when the text was queued.
fn check_gates(
    channel: &Channel,
    text: &ClaimedText,
    contact: Option<&ContactRecord>,
    now: Timestamp,
) -> Gate {
    let Some(contact) = contact else {
        return Gate::Cancel("contact no longer exists");
    };
    let last_words = text.purpose == "erase_confirmation";
    if contact.erased_at.is_some() && !last_words {
        return Gate::Cancel("contact erased");
    }
    if contact
        .blocked_until
        .is_some_and(|until| until > now.millis())
    {
        return Gate::Cancel("contact blocked");
    }
    if text.unsolicited && contact.opted_out_at.is_some() {
        return Gate::Cancel("texter opted out");
    }
    if channel.discreet_only && text.form == "standard" {
        return Gate::Cancel("standard form on a discreet-only channel");
    }
    if text.expires_at.is_some_and(|expiry| expiry < now.millis()) {
        return Gate::Expire;
    }
    if text.unsolicited
        && let Some(until) = super::quiet_hours::next_allowed(channel, now)
    {
        return Gate::Wait(until);
    }
    Gate::Send
}
