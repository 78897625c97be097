//! The inbound pipeline: a verified text from a provider becomes a sealed message on the
//! texter's ticket, with its keyword handled and its automatic reply queued, all in one
//! transaction. Only after it commits may the webhook be acknowledged.

mod contact;
pub mod language;
mod replies;
pub mod triage;

use std::time::Duration;

use crate::audit::{Action, Actor, AuditEntry};
use crate::catalog::{Catalog, KeywordKind, Language};
use crate::channels::Channel;
use crate::clock::{Clock, Timestamp};
use crate::privacy::MessageBody;
use crate::privacy::vault::{ContactKey, Field, Vault};
use crate::providers::InboundText;
use crate::sms;
use crate::store::{NewMessage, NewTicket, Store, StoreError, StoreTx, TicketRecord};
use replies::AutoReply;
use triage::Priority;

/// A closed ticket is reopened by a new text within this time; later, a new ticket opens.
const REOPEN_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Longest text accepted, in characters (a concatenated SMS tops out far below this).
pub const MAX_BODY_CHARS: usize = 5_000;

/// What the pipeline needs.
pub struct Pipeline<'a> {
    pub store: &'a Store,
    pub vault: &'a Vault,
    pub catalog: &'a Catalog,
    pub clock: &'a Clock,
}

/// What became of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored on a ticket.
    Stored {
        ticket_id: i64,
        alias: String,
        priority: Priority,
        reply_queued: bool,
    },
    /// The provider sent this text before; nothing changed.
    Duplicate,
    /// One part of a long text, kept until the others arrive.
    PartKept,
    /// An erase keyword: the texter's data is gone; only the confirmation is queued.
    Erased,
}

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("text is longer than {MAX_BODY_CHARS} characters")]
    TooLong,
    #[error("a stored field could not be opened")]
    Damaged,
    #[error("no reply text for this language: {0}")]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The keyword a text is, once Twilio's own opt-out signal is taken into account.
struct Keyword {
    kind: KeywordKind,
    language: Language,
    /// The provider already handled it (and replied); record it without replying.
    handled_by_provider: bool,
}

impl Pipeline<'_> {
    /// Stores `text` from `channel` and queues what it calls for.
    pub async fn receive(
        &self,
        channel: &Channel,
        text: InboundText,
    ) -> Result<Received, InboundError> {
        if text.body.char_count() > MAX_BODY_CHARS {
            return Err(InboundError::TooLong);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if tx
            .message_exists(&channel.name, &text.provider_message_id)
            .await?
        {
            return Ok(Received::Duplicate);
        }

        let contact =
            contact::find_or_create(&mut tx, self.vault, &text.from, channel, now).await?;
        tx.lock_contact(contact.id).await?;
        let (provider_message_id, body) = match &text.concat {
            None => (text.provider_message_id.clone(), text.body.clone()),
            Some(part) => {
                match contact::join_parts(&mut tx, channel, &contact, &text, part, now).await? {
                    Some(joined) => joined,
                    None => {
                        tx.commit().await?;
                        return Ok(Received::PartKept);
                    }
                }
            }
        };

        let keyword = self.keyword(&text, &body, contact.language);
        let language = keyword
            .as_ref()
            .filter(|keyword| keyword.kind == KeywordKind::Language)
            .map(|keyword| keyword.language)
            .or_else(|| language::detect(body.expose()))
            .or(contact.language)
            .unwrap_or_else(|| channel_language(channel));

        if keyword
            .as_ref()
            .is_some_and(|keyword| keyword.kind == KeywordKind::Erase)
        {
            return self
                .erase(tx, channel, &contact, &text, language, now)
                .await;
        }

        let latest = tx.latest_ticket(contact.id).await?;
        let first_contact = latest.is_none();
        let routed_to_caseworker = keyword
            .as_ref()
            .is_none_or(|keyword| matches!(keyword.kind, KeywordKind::Help));
        let assessment = triage::assess(
            self.catalog,
            language,
            body.expose(),
            first_contact,
            latest.as_ref().map_or(0, |ticket| {
                u32::try_from(ticket.unanswered_count).unwrap_or(0)
            }),
        );
        let priority = if contact.is_blocked(now) {
            Priority::Normal
        } else {
            assessment.priority
        };
        let (ticket, ticket_is_new) = thread_into_ticket(
            &mut tx, channel, contact.id, latest, priority, language, now,
        )
        .await?;

        let counted = sms::count_segments(body.expose());
        let sealed = contact
            .key
            .seal(Field::MessageBody, body.expose().as_bytes());
        let stored = tx
            .insert_message(
                &NewMessage {
                    ticket_id: ticket.id,
                    contact_id: contact.id,
                    channel: &channel.name,
                    direction: "inbound",
                    kind: if keyword.is_some() { "keyword" } else { "text" },
                    provider_message_id: Some(&provider_message_id),
                    sealed_body: sealed.as_bytes(),
                    body_chars: i64::try_from(body.char_count()).unwrap_or(i64::MAX),
                    segments: i64::from(counted.segments),
                    encoding: counted.encoding.as_str(),
                    author_id: None,
                    delivery_status: None,
                },
                now,
            )
            .await?;
        if stored.is_none() {
            return Ok(Received::Duplicate);
        }
        if routed_to_caseworker && !contact.is_blocked(now) {
            tx.record_inbound_on_ticket(
                ticket.id,
                priority.as_str(),
                priority.rank(),
                language.code(),
                now,
            )
            .await?;
        }
        tx.note_contact_inbound(contact.id, language.code(), now)
            .await?;

        let reply = match &keyword {
            Some(keyword) => {
                self.apply_keyword(&mut tx, &contact, ticket.id, keyword, now)
                    .await?
            }
            None if contact.is_blocked(now) => None,
            None => replies::choose(channel, &ticket, ticket_is_new, first_contact, now),
        };
        let reply_queued = match reply {
            Some(reply) => {
                self.queue_reply(
                    &mut tx,
                    channel,
                    &contact.key,
                    contact.id,
                    ticket.id,
                    reply,
                    language,
                    now,
                )
                .await?;
                true
            }
            None => false,
        };
        tx.commit().await?;

        tracing::info!(
            channel.name = %channel.name,
            ticket.id = ticket.id,
            ticket.priority = priority.as_str(),
            contact.alias = %contact.alias,
            keyword = keyword.as_ref().map(|keyword| keyword.kind.as_str()),
            reply_queued,
            "text received"
        );
        Ok(Received::Stored {
            ticket_id: ticket.id,
            alias: contact.alias,
            priority,
            reply_queued,
        })
    }

    fn keyword(
        &self,
        text: &InboundText,
        body: &MessageBody,
        known: Option<Language>,
    ) -> Option<Keyword> {
        let matched = self
            .catalog
            .match_keyword_preferring(body.expose(), known.unwrap_or(Language::En));
        let signalled = text.opt_out_type.as_deref().and_then(|signal| {
            match signal.to_ascii_uppercase().as_str() {
                "STOP" => Some(KeywordKind::Stop),
                "START" => Some(KeywordKind::Start),
                "HELP" => Some(KeywordKind::Help),
                _ => None,
            }
        });
        match (signalled, matched) {
            (Some(kind), matched) => Some(Keyword {
                kind,
                language: matched.map_or(known.unwrap_or(Language::En), |(_, language)| language),
                handled_by_provider: true,
            }),
            (None, Some((kind, language))) => Some(Keyword {
                kind,
                language,
                handled_by_provider: false,
            }),
            (None, None) => None,
        }
    }

    /// Applies a keyword's effect and returns the reply it calls for, if any.
    async fn apply_keyword(
        &self,
        tx: &mut StoreTx,
        contact: &contact::OpenedContact,
        ticket_id: i64,
        keyword: &Keyword,
        now: Timestamp,
    ) -> Result<Option<AutoReply>, InboundError> {
        tx.insert_ticket_event(
            ticket_id,
            &format!("keyword.{}", keyword.kind.as_str()),
            None,
            now,
        )
        .await?;
        let provider_replies = keyword.handled_by_provider;
        let reply = match keyword.kind {
            KeywordKind::Stop => {
                tx.set_opted_out(contact.id, Some(now)).await?;
                tx.cancel_unsolicited(contact.id, "texter sent STOP", now)
                    .await?;
                (!provider_replies).then_some(AutoReply::Keyword(
                    crate::catalog::ReplyKey::StopConfirmation,
                ))
            }
            KeywordKind::Start => {
                tx.set_opted_out(contact.id, None).await?;
                (!provider_replies).then_some(AutoReply::Keyword(
                    crate::catalog::ReplyKey::StartConfirmation,
                ))
            }
            KeywordKind::Help => {
                (!provider_replies).then_some(AutoReply::Keyword(crate::catalog::ReplyKey::Help))
            }
            KeywordKind::Language => Some(AutoReply::Keyword(
                crate::catalog::ReplyKey::LanguageChanged,
            )),
            // TODO(#8): JOIN should subscribe the texter to campaigns with its consent recorded;
            // until campaigns exist it is only shown to the caseworker as an event.
            KeywordKind::Join => None,
            KeywordKind::Erase => None,
        };
        Ok(reply)
    }

    /// An erase keyword: destroy everything, then queue one last text that carries its own
    /// key, since the texter's key is gone.
    async fn erase(
        &self,
        mut tx: StoreTx,
        channel: &Channel,
        contact: &contact::OpenedContact,
        text: &InboundText,
        language: Language,
        now: Timestamp,
    ) -> Result<Received, InboundError> {
        if let Some(ticket) = tx.latest_ticket(contact.id).await? {
            tx.insert_ticket_event(ticket.id, "keyword.erase", None, now)
                .await?;
        }
        tx.erase_contact(contact.id, now).await?;
        tx.cancel_all_for_contact(contact.id, "texter erased their data", now)
            .await?;
        let parting = self.vault.seal_new_contact(&text.from);
        let body = self.render(
            channel,
            replies::reply_key(AutoReply::Keyword(
                crate::catalog::ReplyKey::EraseConfirmation,
            )),
            language,
        )?;
        let counted = sms::count_segments(&body);
        tx.queue_text(&replies::outbox_text(
            channel,
            contact.id,
            None,
            parting
                .key
                .seal(Field::OutboxBody, body.as_bytes())
                .into_bytes(),
            Some((parting.wrapped_key, parting.sealed_number.into_bytes())),
            &counted,
            "erase_confirmation",
            form_for(channel),
            now,
        ))
        .await?;
        let entry = AuditEntry {
            actor: Actor::Texter(contact.alias.clone()),
            action: Action::ContactErased,
            subject: format!("contact:{}", contact.alias),
            reason: None,
        };
        tx.append_audit(&entry, now).await?;
        tx.commit().await?;
        self.store.checkpoint().await?;
        tracing::info!(channel.name = %channel.name, contact.alias = %contact.alias, "texter erased their data");
        Ok(Received::Erased)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; a struct would only rename them"
    )]
    async fn queue_reply(
        &self,
        tx: &mut StoreTx,
        channel: &Channel,
        key: &ContactKey,
        contact_id: i64,
        ticket_id: i64,
        reply: AutoReply,
        language: Language,
        now: Timestamp,
    ) -> Result<(), InboundError> {
        let reply_key = replies::reply_key(reply);
        let body = self.render(channel, reply_key, language)?;
        let counted = sms::count_segments(&body);
        let sealed_message = key.seal(Field::MessageBody, body.as_bytes());
        let message_id = tx
            .insert_message(
                &NewMessage {
                    ticket_id,
                    contact_id,
                    channel: &channel.name,
                    direction: "outbound",
                    kind: "auto_reply",
                    provider_message_id: None,
                    sealed_body: sealed_message.as_bytes(),
                    body_chars: i64::try_from(body.chars().count()).unwrap_or(i64::MAX),
                    segments: i64::from(counted.segments),
                    encoding: counted.encoding.as_str(),
                    author_id: None,
                    delivery_status: Some("queued"),
                },
                now,
            )
            .await?;
        let mut outbox = replies::outbox_text(
            channel,
            contact_id,
            Some(ticket_id),
            key.seal(Field::OutboxBody, body.as_bytes()).into_bytes(),
            None,
            &counted,
            reply_key.as_str(),
            form_for(channel),
            now,
        );
        outbox.message_id = message_id;
        tx.queue_text(&outbox).await?;
        if matches!(reply, AutoReply::Acknowledgement | AutoReply::OutOfHours) {
            tx.mark_acknowledged(ticket_id, now).await?;
        }
        Ok(())
    }

    fn render(
        &self,
        channel: &Channel,
        key: crate::catalog::ReplyKey,
        language: Language,
    ) -> Result<String, InboundError> {
        let form = form_for(channel);
        let hours = channel.hours.describe();
        let values: Vec<(&str, &str)> = match key {
            crate::catalog::ReplyKey::OutOfHours => {
                vec![
                    ("emergency_number", channel.emergency_number.as_str()),
                    ("opening_hours", hours.as_str()),
                ]
            }
            _ => Vec::new(),
        };
        Ok(self.catalog.reply(language, key, form, &values)?)
    }
}

/// Finds the ticket a text belongs to: the open one, a recently closed one reopened, or a
/// new one. Returns it and whether it is new (or newly reopened).
async fn thread_into_ticket(
    tx: &mut StoreTx,
    channel: &Channel,
    contact_id: i64,
    latest: Option<TicketRecord>,
    priority: Priority,
    language: Language,
    now: Timestamp,
) -> Result<(TicketRecord, bool), StoreError> {
    match latest {
        Some(ticket) if ticket.status != "closed" => Ok((ticket, false)),
        Some(ticket)
            if ticket
                .closed_at
                .is_some_and(|closed| now.millis() - closed < window_millis()) =>
        {
            tx.reopen_ticket(ticket.id, now).await?;
            Ok((ticket, true))
        }
        _ => {
            let new = NewTicket {
                contact_id,
                channel: &channel.name,
                priority: priority.as_str(),
                priority_rank: priority.rank(),
                language: language.code(),
            };
            let id = tx.create_ticket(&new, now).await?;
            let ticket = tx
                .latest_ticket(contact_id)
                .await?
                .filter(|ticket| ticket.id == id);
            Ok((ticket.ok_or(StoreError::Conflict)?, true))
        }
    }
}

fn window_millis() -> i64 {
    i64::try_from(REOPEN_WINDOW.as_millis()).unwrap_or(i64::MAX)
}

/// Discreet-only channels send the discreet form of every catalog text.
fn form_for(channel: &Channel) -> crate::catalog::Form {
    if channel.discreet_only {
        crate::catalog::Form::Discreet
    } else {
        crate::catalog::Form::Standard
    }
}

fn channel_language(channel: &Channel) -> Language {
    channel.language.parse().unwrap_or(Language::En)
}
