-- 0009: read state and notification levels per membership (issue 16). last_read_seq: the
-- member has read the group up to this seq (it only moves forward); notify: which new
-- messages notify them (all, those that mention them, none).
ALTER TABLE memberships
    ADD COLUMN IF NOT EXISTS last_read_seq BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER start_pos,
    ADD COLUMN IF NOT EXISTS notify ENUM('all', 'mentions', 'none') NOT NULL DEFAULT 'all' AFTER last_read_seq;
