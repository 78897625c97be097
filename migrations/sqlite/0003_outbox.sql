-- The outbox: every text Textline sends, written in the transaction that caused it.
-- Lane 0 (conversation) always goes before lane 1 (campaign).

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    ticket_id INTEGER REFERENCES tickets (id),
    message_id INTEGER REFERENCES messages (id),
    campaign_id INTEGER,
    channel TEXT NOT NULL,
    lane INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    unsolicited BOOLEAN NOT NULL,
    -- 'standard' or 'discreet' for catalog texts, 'free' for what a caseworker wrote.
    form TEXT NOT NULL,
    sealed_body BLOB,
    -- The last text to an erased contact carries its own key and number, destroyed once sent.
    own_key_id TEXT,
    own_wrapped_key BLOB,
    own_sealed_number BLOB,
    segments INTEGER NOT NULL,
    encoding TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled', 'unknown', 'expired')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    expires_at INTEGER,
    claimed_by TEXT,
    claimed_at INTEGER,
    provider_message_id TEXT,
    delivery_status TEXT,
    error_code TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (campaign_id, contact_id)
);

CREATE INDEX outbox_due ON outbox (status, lane, next_attempt_at);
CREATE INDEX outbox_contact ON outbox (contact_id, status);
CREATE INDEX outbox_provider ON outbox (channel, provider_message_id);
