-- Master key rotation. A new key is recorded as 'rotating' beside the current one until every
-- data key is re-wrapped under it. Meanwhile each of the two keys is stored sealed under the
-- other, so that a service holding either one can learn both; the rotation destroys both
-- sealed copies when it finishes. Data keys wrapped under a retired key are refused, so a
-- service that missed the rotation fails loudly instead of writing what nobody can read.

ALTER TABLE master_keys ADD COLUMN state TEXT NOT NULL DEFAULT 'current'
    CHECK (state IN ('current', 'rotating', 'retired'));
ALTER TABLE master_keys ADD COLUMN sealed_by_previous BYTEA;
ALTER TABLE master_keys ADD COLUMN previous_sealed BYTEA;

UPDATE master_keys SET state = 'retired' WHERE retired_at IS NOT NULL;

CREATE UNIQUE INDEX master_keys_one_per_state ON master_keys (state) WHERE state <> 'retired';

-- Volatile, so each run reads the key states committed by then, not an older snapshot.
CREATE FUNCTION refuse_retired_master_key() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    wrapped_under TEXT;
BEGIN
    IF TG_TABLE_NAME = 'contacts' THEN
        wrapped_under := NEW.key_id;
    ELSE
        wrapped_under := NEW.own_key_id;
    END IF;
    IF EXISTS (SELECT 1 FROM master_keys WHERE id = wrapped_under AND state = 'retired') THEN
        RAISE EXCEPTION 'data key wrapped under a retired master key';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER contacts_refuse_retired_key BEFORE INSERT OR UPDATE OF key_id ON contacts
    FOR EACH ROW EXECUTE FUNCTION refuse_retired_master_key();

CREATE TRIGGER outbox_refuse_retired_key BEFORE INSERT OR UPDATE OF own_key_id ON outbox
    FOR EACH ROW EXECUTE FUNCTION refuse_retired_master_key();
