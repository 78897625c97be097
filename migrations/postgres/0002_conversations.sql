-- Contacts (sealed), tickets, messages, notes, ticket events and the audit chain.
-- Personal data lives only in `sealed_*` columns, encrypted with the contact's data key.

CREATE TABLE contacts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alias TEXT NOT NULL UNIQUE,
    blind_index BYTEA NOT NULL UNIQUE,
    key_id TEXT,
    wrapped_data_key BYTEA,
    sealed_number BYTEA,
    language TEXT,
    opted_out_at BIGINT,
    blocked_until BIGINT,
    erased_at BIGINT,
    created_at BIGINT NOT NULL,
    last_inbound_at BIGINT
);

CREATE INDEX contacts_key ON contacts (key_id);

CREATE TABLE tickets (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('new', 'open', 'waiting', 'closed')),
    priority TEXT NOT NULL CHECK (priority IN ('urgent', 'high', 'normal')),
    priority_rank BIGINT NOT NULL,
    language TEXT NOT NULL,
    assignee_id BIGINT REFERENCES users (id),
    opened_at BIGINT NOT NULL,
    waiting_since BIGINT,
    first_response_at BIGINT,
    last_inbound_at BIGINT,
    last_outbound_at BIGINT,
    unanswered_count BIGINT NOT NULL DEFAULT 0,
    last_acknowledged_at BIGINT,
    closed_at BIGINT,
    updated_at BIGINT NOT NULL
);

CREATE INDEX tickets_queue ON tickets (status, priority_rank, waiting_since);
CREATE INDEX tickets_contact ON tickets (contact_id, status);
CREATE INDEX tickets_assignee ON tickets (assignee_id, status);

CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    channel TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    kind TEXT NOT NULL,
    provider_message_id TEXT,
    sealed_body BYTEA,
    body_chars BIGINT NOT NULL,
    segments BIGINT NOT NULL,
    encoding TEXT NOT NULL,
    author_id BIGINT REFERENCES users (id),
    delivery_status TEXT,
    error_code TEXT,
    created_at BIGINT NOT NULL,
    body_destroyed_at BIGINT,
    UNIQUE (channel, provider_message_id)
);

CREATE INDEX messages_ticket ON messages (ticket_id, id);
CREATE INDEX messages_contact ON messages (contact_id);

CREATE TABLE ticket_notes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    author_id BIGINT REFERENCES users (id),
    sealed_body BYTEA,
    created_at BIGINT NOT NULL,
    body_destroyed_at BIGINT
);

CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id);

CREATE TABLE ticket_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    detail TEXT,
    created_at BIGINT NOT NULL
);

CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

-- Parts of a long text that the provider delivers one by one (Vonage), sealed, until all
-- have arrived and are joined.
CREATE TABLE inbound_parts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel TEXT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    reference TEXT NOT NULL,
    part BIGINT NOT NULL,
    total BIGINT NOT NULL,
    provider_message_id TEXT NOT NULL,
    sealed_body BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (channel, contact_id, reference, part)
);

CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);

-- One row: the newest entry of the chain, and where expiry has cut it.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL,
    last_hash BYTEA NOT NULL,
    expired_through_id BIGINT NOT NULL,
    expired_anchor_hash BYTEA NOT NULL
);

INSERT INTO audit_head (id, last_id, last_hash, expired_through_id, expired_anchor_hash)
VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0, decode(repeat('00', 32), 'hex'));
