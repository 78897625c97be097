-- Master key rotation. A new key is recorded as 'rotating' beside the current one until every
-- data key is re-wrapped under it. Meanwhile each of the two keys is stored sealed under the
-- other, so that a service holding either one can learn both; the rotation destroys both
-- sealed copies when it finishes. Data keys wrapped under a retired key are refused, so a
-- service that missed the rotation fails loudly instead of writing what nobody can read.

ALTER TABLE master_keys ADD COLUMN state TEXT NOT NULL DEFAULT 'current'
    CHECK (state IN ('current', 'rotating', 'retired'));
ALTER TABLE master_keys ADD COLUMN sealed_by_previous BLOB;
ALTER TABLE master_keys ADD COLUMN previous_sealed BLOB;

UPDATE master_keys SET state = 'retired' WHERE retired_at IS NOT NULL;

CREATE UNIQUE INDEX master_keys_one_per_state ON master_keys (state) WHERE state <> 'retired';

CREATE TRIGGER contacts_refuse_retired_key_on_insert BEFORE INSERT ON contacts
WHEN EXISTS (SELECT 1 FROM master_keys WHERE id = NEW.key_id AND state = 'retired')
BEGIN
    SELECT RAISE(ABORT, 'data key wrapped under a retired master key');
END;

CREATE TRIGGER contacts_refuse_retired_key_on_update BEFORE UPDATE OF key_id ON contacts
WHEN EXISTS (SELECT 1 FROM master_keys WHERE id = NEW.key_id AND state = 'retired')
BEGIN
    SELECT RAISE(ABORT, 'data key wrapped under a retired master key');
END;

CREATE TRIGGER outbox_refuse_retired_key_on_insert BEFORE INSERT ON outbox
WHEN EXISTS (SELECT 1 FROM master_keys WHERE id = NEW.own_key_id AND state = 'retired')
BEGIN
    SELECT RAISE(ABORT, 'data key wrapped under a retired master key');
END;

CREATE TRIGGER outbox_refuse_retired_key_on_update BEFORE UPDATE OF own_key_id ON outbox
WHEN EXISTS (SELECT 1 FROM master_keys WHERE id = NEW.own_key_id AND state = 'retired')
BEGIN
    SELECT RAISE(ABORT, 'data key wrapped under a retired master key');
END;
