-- 0002: what a message needs to change (issue 13). version counts its states (1 when
-- stored); pos is where its creation stands in the group's log of persistent changes
-- (below, 0004); edited_at and deleted_at say when it was last edited and deleted;
-- reply_to_seq names the message it answers. One statement: it applies whole or not at all.
ALTER TABLE messages
    ADD COLUMN version      INT UNSIGNED NOT NULL DEFAULT 1,
    ADD COLUMN pos          BIGINT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN edited_at    DATETIME(3) NULL,
    ADD COLUMN deleted_at   DATETIME(3) NULL,
    ADD COLUMN reply_to_seq BIGINT UNSIGNED NULL,
    ADD KEY messages_group_pos (group_id, pos);
