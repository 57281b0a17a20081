-- 0003: a group's log position: every persistent change in a group (a new message, a
-- change to one) takes the next pos under the group's row lock, as a message takes the
-- next seq. A membership records where in the log its view starts.
ALTER TABLE chat_groups ADD COLUMN last_pos BIGINT UNSIGNED NOT NULL DEFAULT 0;
