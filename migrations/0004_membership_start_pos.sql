-- 0004: where a membership's view starts in its group's log (see 0003).
ALTER TABLE memberships ADD COLUMN start_pos BIGINT UNSIGNED NOT NULL DEFAULT 0;
