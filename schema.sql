-- tornado_chat schema: the readable whole, kept equal to what the migrations in
-- migrations/ build (tests/test_migrations.py compares the two). It is no longer
-- applied directly: a schema change is a new migration, and this file is updated
-- in the same commit.
-- utf8mb4 throughout, so emoji and every script are stored as typed.
-- Times are UTC, DATETIME(3) (milliseconds), written by the application.

CREATE TABLE IF NOT EXISTS users (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    -- ASCII letters, digits and '_'; the case-insensitive collation makes the
    -- unique key ignore case while the column keeps the name as typed.
    username      VARCHAR(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    password_hash VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at    DATETIME(3) NOT NULL,
    -- a closed account keeps its row (its name stays taken) and can no longer sign in
    closed_at     DATETIME(3) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY users_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A session is known only by the SHA-256 (hex) of its random token: a leaked table
-- cannot be replayed as cookies or Bearer tokens. last_used_at is refreshed at most
-- every few minutes (not on every request); a session idle too long is refused.
CREATE TABLE IF NOT EXISTS sessions (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id      BIGINT UNSIGNED NOT NULL,
    token_hash   CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at   DATETIME(3) NOT NULL,
    last_used_at DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY sessions_token_hash (token_hash),
    KEY sessions_user (user_id),
    KEY sessions_last_used (last_used_at),
    CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- `groups` is a reserved word in MySQL 8, hence chat_groups.
-- name_key is the trimmed, NFC-normalised, case-folded name compared bytewise:
-- SQL collations treat many distinct emoji as equal, Python's casefold does not.
-- last_seq is the seq of the group's newest message; the send transaction
-- locks this row, so seq is gap-free and ordered whichever process sends.
CREATE TABLE IF NOT EXISTS chat_groups (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name        VARCHAR(66) NOT NULL,  -- 64 for a group; a direct group's is two usernames and ", "
    name_key    VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,  -- NULL for a direct group
    kind        ENUM('public', 'private', 'direct') NOT NULL DEFAULT 'public',
    topic       VARCHAR(250) NOT NULL DEFAULT '',
    -- A direct group's pair of users (lo <= hi; equal for a user's own): one group per pair.
    direct_lo   BIGINT UNSIGNED NULL,
    direct_hi   BIGINT UNSIGNED NULL,
    created_by  BIGINT UNSIGNED NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    last_seq    BIGINT UNSIGNED NOT NULL DEFAULT 0,
    -- last_pos: the group's newest position in its log of persistent changes (a new
    -- message or a change to one), taken under the same row lock as seq.
    last_pos    BIGINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY chat_groups_name_key (name_key),
    UNIQUE KEY chat_groups_direct_pair (direct_lo, direct_hi),
    CONSTRAINT chat_groups_creator_fk FOREIGN KEY (created_by) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per current membership. Leaving deletes the row; joining again makes
-- a new row (a new id) whose start_seq is where that member's view begins:
-- they see messages with seq > start_seq. A group has one owner (none once everyone left).
CREATE TABLE IF NOT EXISTS memberships (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    group_id    BIGINT UNSIGNED NOT NULL,
    user_id     BIGINT UNSIGNED NOT NULL,
    role        ENUM('owner', 'moderator', 'member') NOT NULL DEFAULT 'member',
    start_seq   BIGINT UNSIGNED NOT NULL,
    joined_at   DATETIME(3) NOT NULL,
    start_pos   BIGINT UNSIGNED NOT NULL DEFAULT 0,  -- where in the group's log the view starts
    -- read up to this seq (only ever forward); which new messages notify the member
    last_read_seq BIGINT UNSIGNED NOT NULL DEFAULT 0,
    notify      ENUM('all', 'mentions', 'none') NOT NULL DEFAULT 'all',
    PRIMARY KEY (id),
    UNIQUE KEY memberships_group_user (group_id, user_id),
    KEY memberships_user (user_id),
    CONSTRAINT memberships_group_fk FOREIGN KEY (group_id) REFERENCES chat_groups (id) ON DELETE CASCADE,
    CONSTRAINT memberships_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- seq counts a group's messages 1, 2, 3, ... (unique per group); client_id makes
-- a send idempotent per (group, user). NULL client_ids never collide.
CREATE TABLE IF NOT EXISTS messages (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    group_id    BIGINT UNSIGNED NOT NULL,
    seq         BIGINT UNSIGNED NOT NULL,
    user_id     BIGINT UNSIGNED NOT NULL,
    kind        ENUM('text', 'image') NOT NULL,
    body        TEXT NULL,
    client_id   VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    created_at  DATETIME(3) NOT NULL,
    -- version counts the message's states (1 when stored, +1 at each edit, delete or
    -- reaction); pos is where its creation stands in the group's log.
    version      INT UNSIGNED NOT NULL DEFAULT 1,
    pos          BIGINT UNSIGNED NOT NULL DEFAULT 0,
    edited_at    DATETIME(3) NULL,
    deleted_at   DATETIME(3) NULL,
    reply_to_seq BIGINT UNSIGNED NULL,
    PRIMARY KEY (id),
    UNIQUE KEY messages_group_seq (group_id, seq),
    UNIQUE KEY messages_idempotency (group_id, user_id, client_id),
    KEY messages_group_pos (group_id, pos),
    FULLTEXT KEY messages_body_search (body),  -- search: any case and accents (the collation's)
    CONSTRAINT messages_group_fk FOREIGN KEY (group_id) REFERENCES chat_groups (id) ON DELETE CASCADE,
    CONSTRAINT messages_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A user is online while this row is fresh (last_seen within 45 s). Rows are
-- written in batches and expired by a periodic sweep.
CREATE TABLE IF NOT EXISTS presence (
    user_id     BIGINT UNSIGNED NOT NULL,
    last_seen   DATETIME(3) NOT NULL,
    PRIMARY KEY (user_id),
    KEY presence_last_seen (last_seen),
    CONSTRAINT presence_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The bytes of image messages, in MySQL so that every process on every machine
-- serves them with no other service. image_key is random and unguessable; it is
-- served only to members who may see the message.
CREATE TABLE IF NOT EXISTS images (
    message_id   BIGINT UNSIGNED NOT NULL,
    image_key    CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    content_type VARCHAR(32) CHARACTER SET ascii NOT NULL,
    width        INT UNSIGNED NOT NULL,
    height       INT UNSIGNED NOT NULL,
    data         LONGBLOB NOT NULL,
    thumb_type   VARCHAR(32) CHARACTER SET ascii NOT NULL,
    thumb        MEDIUMBLOB NOT NULL,
    PRIMARY KEY (message_id),
    UNIQUE KEY images_key (image_key),
    CONSTRAINT images_message_fk FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

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

-- A member removed by someone else (removed_by), and whether they may come back: a
-- banned user cannot join or be added until the ban is lifted. Joining or being added
-- again clears a removal that was not a ban.
CREATE TABLE IF NOT EXISTS group_removals (
    group_id    BIGINT UNSIGNED NOT NULL,
    user_id     BIGINT UNSIGNED NOT NULL,
    removed_by  BIGINT UNSIGNED NULL,
    banned      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (group_id, user_id),
    KEY group_removals_user (user_id),
    CONSTRAINT group_removals_group_fk FOREIGN KEY (group_id) REFERENCES chat_groups (id) ON DELETE CASCADE,
    CONSTRAINT group_removals_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT group_removals_by_fk FOREIGN KEY (removed_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
