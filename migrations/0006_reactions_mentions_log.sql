-- 0006: reactions, mentions, and the group log's recorded entries.
-- A reaction is a row of its own, unique per (message, user, emoji): two people
-- reacting at once add two rows, never rewrite one shared value. id orders them.
CREATE TABLE IF NOT EXISTS reactions (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    message_id  BIGINT UNSIGNED NOT NULL,
    user_id     BIGINT UNSIGNED NOT NULL,
    emoji       VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY reactions_message_user_emoji (message_id, user_id, emoji),
    KEY reactions_user (user_id),
    CONSTRAINT reactions_message_fk FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE,
    CONSTRAINT reactions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Who a text message mentions (members of the group when it was written or last edited).
CREATE TABLE IF NOT EXISTS mentions (
    message_id  BIGINT UNSIGNED NOT NULL,
    user_id     BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (message_id, user_id),
    KEY mentions_user (user_id),
    CONSTRAINT mentions_message_fk FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE,
    CONSTRAINT mentions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The group log's entries as they were sent: each change to a message (its event JSON
-- at that version), and a message's first version, written when it first changes. A
-- message never changed has no row here: its creation entry is its row in messages
-- (version 1, at its pos). So replaying a cursor gives every version exactly once.
CREATE TABLE IF NOT EXISTS group_log (
    group_id    BIGINT UNSIGNED NOT NULL,
    pos         BIGINT UNSIGNED NOT NULL,
    seq         BIGINT UNSIGNED NOT NULL,
    event       MEDIUMTEXT NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (group_id, pos),
    CONSTRAINT group_log_group_fk FOREIGN KEY (group_id) REFERENCES chat_groups (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
