-- Contacts (sealed), tickets, messages, notes, ticket events and the audit chain.
-- Personal data lives only in `sealed_*` columns, encrypted with the contact's data key.

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alias TEXT NOT NULL UNIQUE,
    blind_index BLOB NOT NULL UNIQUE,
    key_id TEXT,
    wrapped_data_key BLOB,
    sealed_number BLOB,
    language TEXT,
    opted_out_at INTEGER,
    blocked_until INTEGER,
    erased_at INTEGER,
    created_at INTEGER NOT NULL,
    last_inbound_at INTEGER
);

CREATE INDEX contacts_key ON contacts (key_id);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('new', 'open', 'waiting', 'closed')),
    priority TEXT NOT NULL CHECK (priority IN ('urgent', 'high', 'normal')),
    priority_rank INTEGER NOT NULL,
    language TEXT NOT NULL,
    assignee_id INTEGER REFERENCES users (id),
    opened_at INTEGER NOT NULL,
    waiting_since INTEGER,
    first_response_at INTEGER,
    last_inbound_at INTEGER,
    last_outbound_at INTEGER,
    unanswered_count INTEGER NOT NULL DEFAULT 0,
    last_acknowledged_at INTEGER,
    closed_at INTEGER,
    updated_at INTEGER NOT NULL
);

CREATE INDEX tickets_queue ON tickets (status, priority_rank, waiting_since);
CREATE INDEX tickets_contact ON tickets (contact_id, status);
CREATE INDEX tickets_assignee ON tickets (assignee_id, status);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    channel TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    kind TEXT NOT NULL,
    provider_message_id TEXT,
    sealed_body BLOB,
    body_chars INTEGER NOT NULL,
    segments INTEGER NOT NULL,
    encoding TEXT NOT NULL,
    author_id INTEGER REFERENCES users (id),
    delivery_status TEXT,
    error_code TEXT,
    created_at INTEGER NOT NULL,
    body_destroyed_at INTEGER,
    UNIQUE (channel, provider_message_id)
);

CREATE INDEX messages_ticket ON messages (ticket_id, id);
CREATE INDEX messages_contact ON messages (contact_id);

CREATE TABLE ticket_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    author_id INTEGER REFERENCES users (id),
    sealed_body BLOB,
    created_at INTEGER NOT NULL,
    body_destroyed_at INTEGER
);

CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id);

CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    actor_id INTEGER REFERENCES users (id),
    detail TEXT,
    created_at INTEGER NOT NULL
);

CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

-- Parts of a long text that the provider delivers one by one (Vonage), sealed, until all
-- have arrived and are joined.
CREATE TABLE inbound_parts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    reference TEXT NOT NULL,
    part INTEGER NOT NULL,
    total INTEGER NOT NULL,
    provider_message_id TEXT NOT NULL,
    sealed_body BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (channel, contact_id, reference, part)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);

-- One row: the newest entry of the chain, and where expiry has cut it.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_id INTEGER NOT NULL,
    last_hash BLOB NOT NULL,
    expired_through_id INTEGER NOT NULL,
    expired_anchor_hash BLOB NOT NULL
);

INSERT INTO audit_head (id, last_id, last_hash, expired_through_id, expired_anchor_hash)
VALUES (1, 0, zeroblob(32), 0, zeroblob(32));
