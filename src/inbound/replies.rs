//! Which automatic reply a text calls for, and the outbox row that carries it.
//!
//! A new ticket gets the first-contact greeting (or, on a later ticket, an
//! acknowledgement); outside opening hours it gets the out-of-hours notice with the
//! emergency number instead. While a ticket waits, at most one notice goes out per burst
//! of texts, so a frightened texter sending ten texts gets one answer, not ten.

use std::time::Duration;

use crate::catalog::{Form, ReplyKey};
use crate::channels::Channel;
use crate::clock::Timestamp;
use crate::privacy::seal::WrappedDataKey;
use crate::sms::SegmentCount;
use crate::store::{NewOutboxText, TicketRecord};

/// An automatic reply that arrives later than this is dropped: a greeting hours late can
/// surprise the texter at a dangerous moment.
const AUTO_REPLY_MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// The lane that goes before campaigns.
pub const CONVERSATION_LANE: i64 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoReply {
    FirstContact,
    Acknowledgement,
    OutOfHours,
    Keyword(ReplyKey),
}

pub fn choose(
    channel: &Channel,
    ticket: &TicketRecord,
    ticket_is_new: bool,
    first_contact: bool,
    now: Timestamp,
) -> Option<AutoReply> {
    let open = channel.hours.is_open(now);
    if ticket_is_new {
        return Some(match (open, first_contact) {
            (false, _) => AutoReply::OutOfHours,
            (true, true) => AutoReply::FirstContact,
            (true, false) => AutoReply::Acknowledgement,
        });
    }
    let answered_since = ticket.last_outbound_at.unwrap_or(0);
    let acknowledged_this_burst = ticket
        .last_acknowledged_at
        .is_some_and(|acknowledged| acknowledged >= answered_since);
    (!open && !acknowledged_this_burst).then_some(AutoReply::OutOfHours)
}

pub fn reply_key(reply: AutoReply) -> ReplyKey {
    match reply {
        AutoReply::FirstContact => ReplyKey::FirstContact,
        AutoReply::Acknowledgement => ReplyKey::Acknowledgement,
        AutoReply::OutOfHours => ReplyKey::OutOfHours,
        AutoReply::Keyword(key) => key,
    }
}

/// An outbox row for an automatic reply: conversation lane, solicited, short-lived.
#[expect(clippy::too_many_arguments, reason = "plain fields of one row")]
pub fn outbox_text(
    channel: &Channel,
    contact_id: i64,
    ticket_id: Option<i64>,
    sealed_body: Vec<u8>,
    own_key: Option<(WrappedDataKey, Vec<u8>)>,
    counted: &SegmentCount,
    purpose: &'static str,
    form: Form,
    now: Timestamp,
) -> NewOutboxText {
    NewOutboxText {
        contact_id,
        ticket_id,
        message_id: None,
        campaign_id: None,
        channel: channel.name.clone(),
        lane: CONVERSATION_LANE,
        purpose,
        unsolicited: false,
        form: form.as_str(),
        sealed_body,
        own_key,
        segments: i64::from(counted.segments),
        encoding: counted.encoding.as_str(),
        not_before: now,
        expires_at: Some(now.plus(AUTO_REPLY_MAX_AGE)),
    }
}
